"""retail-tiers: customer tiering and customer value for retailers (dbt on DuckDB + a small CLI)."""

__version__ = "0.1.0"
