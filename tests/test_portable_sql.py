"""The models run on DuckDB and on Spark (issue 19): no model holds DuckDB-only SQL. Every
DuckDB-specific construct goes through a dispatch macro in macros/cross_db/ (a `duckdb__` and
a `spark__` version), and every macro in macros/ whose body is DuckDB SQL hands over to its
`spark__` version on another engine.

The scanner reads the SQL a model holds itself: Jinja comments, `{{ ... }}` calls and
`{% ... %}` statements are left out (a macro call is the portable way), so are SQL comments
and string literals. Each pattern has a planted example below, so a pattern that stopped
matching fails here too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CROSS_DB = ROOT / "macros" / "cross_db"

# DuckDB-only SQL (no Spark SQL equivalent under the same spelling), with a planted example.
DUCKDB_ONLY: dict[str, tuple[str, str]] = {
    "strptime / try_strptime": (r"\b(try_)?strptime\s*\(", "select try_strptime(x, '%Y')"),
    "strftime": (r"\bstrftime\s*\(", "select strftime(d, '%Y')"),
    "generate_series": (r"\bgenerate_series\s*\(", "select generate_series(1, 3)"),
    "range()": (r"\brange\s*\(", "select unnest(range(1, 6))"),
    "unnest": (r"\bunnest\s*\(", "select unnest(xs) as x"),
    "list functions": (r"\b(list|array)_[a-z_]+\s*\(", "select list_sort(xs)"),
    "list()": (r"\blist\s*\(", "select list(x) from t"),
    "json functions": (r"\bjson_[a-z_]+\s*\(", "select json_object('a', 1)"),
    "read_csv / read_parquet / read_json": (
        r"\bread_(csv|csv_auto|parquet|json|json_auto)\s*\(", "select * from read_csv('a.csv')"),
    ":: casts": (r"::\s*[a-z]", "select x::integer"),
    "struct literal": (r"\{\s*'", "select {'a': 1} as s"),
    "list literal or index": (r"\[", "select xs[1]"),
    "* exclude / * replace": (r"\*\s*(exclude|replace)\s*\(", "select * exclude (a) from t"),
    "columns()": (r"\bcolumns\s*\(", "select max(columns(*)) from t"),
    "union by name": (r"\bunion\s+(all\s+)?by\s+name\b", "select 1 union all by name select 2"),
    "materialized CTE": (r"\bas\s+materialized\b", "with a as materialized (select 1)"),
    "quantile functions": (r"\bquantile(_cont|_disc)?\s*\(", "select quantile_cont(x, 0.5)"),
    "datediff with a part": (r"\bdate_?diff\s*\(\s*'", "select datediff('month', a, b)"),
    "regexp_full_match / regexp_matches": (
        r"\bregexp_(full_match|matches)\s*\(", "select regexp_matches(x, 'a')"),
    "timestamptz / varchar / hugeint types": (
        r"\b(timestamptz|varchar|hugeint|ubigint|utinyint)\b", "select cast(x as varchar)"),
    "row_number() over ()": (r"\brow_number\s*\(\s*\)\s*over\s*\(\s*\)", "row_number() over ()"),
    "positional / asof joins": (r"\b(positional|asof)\s+join\b", "from a positional join b"),
    "string_agg / arg_max / arg_min": (
        r"\b(string_agg|arg_max|arg_min)\s*\(", "select arg_max(a, b) from t"),
    "interval with parentheses": (r"\binterval\s*\(", "select d - interval (3) month"),
    "epoch / make_date / make_timestamp": (
        r"\b(epoch|epoch_ms|make_date|make_timestamp)\s*\(", "select make_date(2024, 1, 1)"),
    "timezone()": (r"\btimezone\s*\(", "select timezone('UTC', ts)"),
    "to_months / to_days": (r"\bto_(months|days|years|weeks)\s*\(", "select d - to_months(3)"),
    "// integer division": (r"//", "select a // 7"),
    "isfinite / isinf": (r"\bis(finite|inf)\s*\(", "where isfinite(x)"),
}

# Macros in macros/ whose body is DuckDB SQL and that only the DuckDB side of a handing-over
# macro calls (never a model): the DuckDB raw read, and the build record's helpers.
DUCKDB_SIDE_HELPERS = {"raw_relation", "raw_file_scan", "empty_text_table"}


def portable_text(source: str) -> str:
    """The SQL a file holds itself: no Jinja (comments, calls, statements), no SQL comments,
    no string literals."""
    text = re.sub(r"\{#.*?#\}", " ", source, flags=re.DOTALL)
    text = re.sub(r"\{\{.*?\}\}", " ", text, flags=re.DOTALL)
    text = re.sub(r"\{%.*?%\}", " ", text, flags=re.DOTALL)
    text = re.sub(r"--[^\n]*", " ", text)
    return re.sub(r"'(?:[^']|'')*'", "''", text)


def duckdb_only_constructs(source: str) -> list[str]:
    text = portable_text(source).lower()
    return [name for name, (pattern, _) in DUCKDB_ONLY.items() if re.search(pattern, text)]


def macro_bodies(path: Path) -> dict[str, str]:
    source = path.read_text(encoding="utf-8")
    found = re.finditer(
        r"\{%-?\s*(?:macro|test)\s+(\w+)\s*\(.*?\)\s*-?%\}(.*?)\{%-?\s*end(?:macro|test)\s*-?%\}",
        source,
        flags=re.DOTALL)
    return {match.group(1): match.group(2) for match in found}


def cross_db_macros() -> set[str]:
    names: set[str] = set()
    for path in CROSS_DB.glob("*.sql"):
        names |= set(macro_bodies(path))
    return names


@pytest.mark.parametrize("name", sorted(DUCKDB_ONLY))
def test_each_pattern_finds_its_planted_example(name: str) -> None:
    _, example = DUCKDB_ONLY[name]
    assert name in duckdb_only_constructs(example)


def test_the_scanner_leaves_out_jinja_comments_and_strings() -> None:
    source = (
        "{# unnest(range(1, 6)) #} select {{ unnest_range(1, 6) }} as score, "
        "'a::b [x]' as label -- quantile_cont(x, 0.5)\nfrom t"
    )
    assert duckdb_only_constructs(source) == []
    assert duckdb_only_constructs(source + " where xs[1] > 0") == ["list literal or index"]


def model_files() -> list[Path]:
    return sorted((ROOT / "models").rglob("*.sql")) + sorted((ROOT / "tests" / "dbt").glob("*.sql"))


@pytest.mark.parametrize("path", model_files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_no_model_holds_duckdb_only_sql(path: Path) -> None:
    found = duckdb_only_constructs(path.read_text(encoding="utf-8"))
    assert not found, (
        f"{path.relative_to(ROOT)} holds DuckDB-only SQL ({', '.join(found)}): "
        "call a macro of macros/cross_db instead (docs/spark.md)")


def rule_texts(value: object) -> list[str]:
    """Every string inside a yml's data tests (row rules, their `where`, test arguments)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in rule_texts(item)]
    if isinstance(value, list):
        return [text for item in value for text in rule_texts(item)]
    return []


def data_test_texts(document: object) -> list[str]:
    found: list[str] = []
    if isinstance(document, dict):
        for key, value in document.items():
            found += rule_texts(value) if key == "data_tests" else data_test_texts(value)
    elif isinstance(document, list):
        for item in document:
            found += data_test_texts(item)
    return found


YML_FILES = sorted((ROOT / "models").rglob("*.yml")) + sorted((ROOT / "seeds").rglob("*.yml"))


@pytest.mark.parametrize("path", YML_FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_no_data_test_rule_holds_duckdb_only_sql(path: Path) -> None:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    found = sorted({name for text in data_test_texts(document)
                    for name in duckdb_only_constructs(text)
                    if name != "list literal or index"})  # yml lists, not SQL
    assert not found, f"{path.relative_to(ROOT)}: a data test rule holds DuckDB-only SQL: {found}"


def test_the_rule_reader_finds_a_planted_rule() -> None:
    document = {"models": [{"name": "m", "data_tests": [
        {"row_rules": {"arguments": {"rules": ["x > 0", {"expression": "isfinite(y)"}]}}}]}]}
    texts = data_test_texts(document)
    assert "x > 0" in texts and "isfinite(y)" in texts
    assert "isfinite / isinf" in duckdb_only_constructs(texts[-1])


def test_every_duckdb_macro_hands_over_to_a_spark_version() -> None:
    spark_versions = cross_db_macros()
    problems = []
    for path in sorted((ROOT / "macros").glob("*.sql")):
        for name, body in macro_bodies(path).items():
            found = duckdb_only_constructs(body)
            if not found or name in DUCKDB_SIDE_HELPERS:
                continue
            hands_over = f"adapter.dispatch('{name}', 'retail_tiers')" in body
            if not (hands_over and f"spark__{name}" in spark_versions):
                problems.append(f"{path.name}: {name} ({', '.join(found)})")
    assert not problems, "DuckDB SQL in macros without a spark__ version: " + "; ".join(problems)


def test_the_duckdb_side_helpers_are_called_only_from_macros() -> None:
    callers = []
    for path in model_files():
        source = re.sub(r"\{#.*?#\}", " ", path.read_text(encoding="utf-8"), flags=re.DOTALL)
        callers += [f"{path.relative_to(ROOT)}: {name}" for name in DUCKDB_SIDE_HELPERS
                    if re.search(rf"\b{name}\s*\(", source)]
    assert not callers, "models call DuckDB-only helpers: " + "; ".join(callers)


def test_every_dispatched_macro_has_a_duckdb_and_a_spark_version() -> None:
    """A macro of macros/cross_db that dispatches has both engines' versions."""
    names = cross_db_macros()
    for path in CROSS_DB.glob("*.sql"):
        for name, body in macro_bodies(path).items():
            if f"adapter.dispatch('{name}'" in body:
                assert {f"duckdb__{name}", f"spark__{name}"} <= names, name
