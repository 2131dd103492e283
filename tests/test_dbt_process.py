"""The leaner dbt invocation (retail_tiers.dbt_process): compiled Jinja served from a cache on
disk renders exactly what a fresh compile renders, is keyed so that a different template or a
different kind of environment never gets another's code, and any failure of the cache falls
back to compiling; the collector's settings come back after the invocation."""

from __future__ import annotations

import gc
from pathlib import Path

import jinja2
import pytest
from dbt_common.clients.jinja import get_template

from retail_tiers.dbt_process import jinja_cache_dir, jinja_code_cache, quiet_collector

TEMPLATE = """
{%- set rows = [] -%}
{%- for name, amount in pairs -%}
{%- do rows.append(name ~ '=' ~ '%.2f' | format(amount)) -%}
{%- endfor -%}
select {{ rows | join(', ') }}{% if flag %} where true{% endif %}
"""
CONTEXT = {"pairs": [("a", 1.5), ("b", 20)], "flag": True}


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The sources Jinja really compiles (the cache calls the compiler it found)."""
    seen: list[str] = []
    real = jinja2.Environment.compile

    def counting(self: jinja2.Environment, source: object, *args: object) -> object:
        seen.append(str(source))
        return real(self, source, *args)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    return seen


def render(source: str, native: bool = False) -> object:
    return get_template(source, dict(CONTEXT), native=native).render(dict(CONTEXT))


def test_a_cached_template_renders_what_a_fresh_compile_renders(
        tmp_path: Path, compiles: list[str]) -> None:
    fresh = render(TEMPLATE)
    assert fresh == "select a=1.50, b=20.00 where true"
    compiles.clear()
    with jinja_code_cache(tmp_path):
        assert render(TEMPLATE) == fresh  # compiled and stored
        assert render(TEMPLATE) == fresh  # served
        assert compiles == [TEMPLATE]
        changed = TEMPLATE.replace("where true", "where false")
        assert render(changed) == "select a=1.50, b=20.00 where false"
        assert compiles == [TEMPLATE, changed]
    assert len(list(tmp_path.rglob("*.code"))) == 2
    assert jinja2.Environment.compile.__name__ == "counting"  # put back


def test_the_kind_of_environment_is_part_of_the_key(tmp_path: Path) -> None:
    # dbt's native environment compiles the same text to code that returns Python values
    with jinja_code_cache(tmp_path):
        assert render("{{ flag }}") == "True"
        assert render("{{ flag }}", native=True) is True
        assert render("{{ flag }}") == "True"


def test_damaged_entries_are_compiled_again(tmp_path: Path, compiles: list[str]) -> None:
    with jinja_code_cache(tmp_path):
        render(TEMPLATE)
    for entry in tmp_path.rglob("*.code"):
        entry.write_bytes(b"not marshal data")
    compiles.clear()
    with jinja_code_cache(tmp_path):
        assert render(TEMPLATE) == "select a=1.50, b=20.00 where true"
    assert compiles == [TEMPLATE]


def test_a_cache_that_cannot_be_written_is_skipped(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    with jinja_code_cache(blocker / "cache"):
        assert render(TEMPLATE) == "select a=1.50, b=20.00 where true"
        assert render(TEMPLATE) == "select a=1.50, b=20.00 where true"


def test_the_cache_folder_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RETAIL_TIERS_JINJA_CACHE", "off")
    assert jinja_cache_dir() is None
    monkeypatch.setenv("RETAIL_TIERS_JINJA_CACHE", str(tmp_path / "here"))
    assert jinja_cache_dir() == tmp_path / "here"
    monkeypatch.delenv("RETAIL_TIERS_JINJA_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert jinja_cache_dir() == tmp_path / "xdg" / "retail-tiers" / "jinja"


def test_the_collector_settings_come_back() -> None:
    before = gc.get_threshold()
    with quiet_collector():
        assert gc.get_threshold()[0] > before[0]
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
