"""The monthly PDF report (`retail-tiers report`). Every figure comes from a mart.

- data: the queries (aggregated in DuckDB) that read one report month from the marts
- formats, i18n (+ messages/*.yml): number formats and every word, in English and Chinese
- theme: the one palette, fonts and page geometry of the tables, tiles and charts
- sections: turns mart rows into the template's text, tables, headlines and chart jobs
- charts (matplotlib, SVG with text kept as text), chartjobs, chart_worker: the charts,
  drawn in a worker process alongside the rest of the work
- render: Jinja templates (templates/) -> WeasyPrint PDF, written atomically
- thumbnails: README pictures of report pages (`make thumbnails`)
"""
