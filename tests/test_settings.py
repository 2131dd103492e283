"""Typed settings: every dbt var has a type and a range or choices (retail_tiers/settings.py),
checked before dbt starts; a bad value is one line and nothing is built."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import yaml
from conftest import PROJECT_DIR, Workspace, run_cli

from retail_tiers.build import parse_extra_vars
from retail_tiers.errors import RetailTiersError
from retail_tiers.settings import RESERVED, SETTINGS, check_defaults, setting


def project_vars() -> dict:
    config = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    return dict(config["vars"])


def test_settings_list_every_var_of_dbt_project() -> None:
    declared = set(project_vars()) - set(RESERVED)
    typed = {item.name for item in SETTINGS}
    assert declared - typed == set(), "vars of dbt_project.yml without a type in SETTINGS"
    assert typed - declared == set(), "SETTINGS lists vars dbt_project.yml does not declare"
    assert len(typed) == len(SETTINGS), "a var is listed twice in SETTINGS"


def test_defaults_are_valid_values() -> None:
    check_defaults(project_vars())
    with pytest.raises(RetailTiersError, match=r"dbt_project\.yml var churn_days: must be"):
        check_defaults({**project_vars(), "churn_days": 0})
    with pytest.raises(RetailTiersError, match="var mystery: has no entry in"):
        check_defaults({"mystery": 1})


KNOWN = {item.name for item in SETTINGS}


@pytest.mark.parametrize(("argument", "expected"), [
    ("churn_days=120", 120),
    ("churn_days=+7", 7),
    ("default_gross_margin=0.4", 0.4),
    ("clv_monthly_discount_rate=1e-2", 0.01),
    ("segment_scheme=rfm8", "rfm8"),
    ("segment_scheme='rfm8'", "rfm8"),
    ("check_segment_invariants=false", False),
    ("rfm8_recency_days_threshold=null", None),
    ("load_date=2024-07-01", "2024-07-01"),
    ("reporting_time_zone=Europe/Berlin", "Europe/Berlin"),
])
def test_valid_values_pass_typed(argument: str, expected: object) -> None:
    name = argument.partition("=")[0]
    value = parse_extra_vars((argument,), KNOWN)[name]
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(("argument", "message"), [
    ("churn_days=0", "var churn_days: must be an integer from 1 to 3650, not '0'"),
    ("churn_days='{{ 7*7 }}'", "var churn_days: must be an integer from 1 to 3650, "
                               "not '{{ 7*7 }}'"),
    ("churn_days=(select count(*) from read_text('/etc/passwd'))",
     "var churn_days: must be an integer from 1 to 3650, not '(select count(*) from "
     "read_text('/etc/passwd'))'"),
    ("churn_days={% do run_query('create table pwned as select 1') %}",
     "var churn_days: must be an integer"),
    ("churn_days=49.0", "var churn_days: must be an integer from 1 to 3650, not '49.0'"),
    ("segment_scheme=foo", "var segment_scheme: must be one of rfm_grid, rfm8, not 'foo'"),
    ("segment_scheme=rfm_grid' or 'a'='a", "var segment_scheme: must be one of rfm_grid, rfm8"),
    ("rfm_window_days=0", "var rfm_window_days: must be an integer from 1 to 3650, not '0'"),
    ("default_gross_margin=1.5", "var default_gross_margin: must be a number from 0 to 1, "
                                 "not '1.5'"),
    ("default_gross_margin=nan", "var default_gross_margin: must be a number from 0 to 1"),
    ("churn_days=null", "var churn_days: must be an integer from 1 to 3650, not 'null'"),
    ("rfm8_recency_days_threshold=-5", "var rfm8_recency_days_threshold: must be an integer "
                                       "from 1 to 3650, or null, not '-5'"),
    ("load_date=2024-02-30", "var load_date: must be a date as YYYY-MM-DD, or null, "
                             "not '2024-02-30'"),
    ("check_segment_invariants=yes", "var check_segment_invariants: must be true or false"),
    ("reporting_time_zone=Mars/Olympus", "var reporting_time_zone: must be a time zone name "
                                         "such as Asia/Shanghai, not 'Mars/Olympus'"),
    ("reporting_time_zone=UTC'); drop table x; --", "var reporting_time_zone: must be"),
])
def test_bad_values_are_refused(argument: str, message: str) -> None:
    with pytest.raises(RetailTiersError) as raised:
        parse_extra_vars((argument,), KNOWN)
    assert str(raised.value).startswith(message), str(raised.value)


@pytest.mark.parametrize("argument", ["churn_days=0", "churn_days='{{ 7*7 }}'",
                                      "segment_scheme=foo", "rfm_window_days=0"])
def test_build_refuses_before_dbt_starts(workspace: Workspace, argument: str) -> None:
    result = run_cli(["build", "--var", argument], workspace)
    assert result.exit_code == 1
    assert result.error.startswith(f"error: var {argument.partition('=')[0]}: must be ")
    assert not workspace.warehouse.parent.exists()


def test_every_setting_describes_itself() -> None:
    for item in SETTINGS:
        assert item.kind in {"integer", "number", "boolean", "date", "time_zone", "choice",
                             "scheme"}, item
        assert item.expected()
        if item.kind in ("integer", "number"):
            assert item.low is not None and item.high is not None, item
        if item.kind == "choice":
            assert item.choices, item
    assert setting("churn_days") is not None and setting("no_such_var") is None


# values that are not plain: a template, SQL in a quoted word, a subquery
NOT_PLAIN = {"churn_days": "{{ 7*7 }}", "segment_scheme": "rfm_grid' or 'a'='a",
             "rfm_window_days": "(select count(*) from read_text('/etc/passwd'))"}


def test_plain_dbt_refuses_values_that_are_not_plain(workspace: Workspace) -> None:
    """The on-run-start guard (macros/build_runs.sql) stops a plain `dbt build --vars` with a
    template or SQL in a value before any model runs, and names every such var on one line
    (one dbt run for the three kinds of value; a plain value beside them is not named)."""
    workspace.root.mkdir(parents=True)
    done = subprocess.run(
        [str(PROJECT_DIR / ".venv" / "bin" / "dbt"), "build", "--select", "raw_customers",
         "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR),
         "--vars", json.dumps({**NOT_PLAIN, "history_months": 6})],
        env={**os.environ, **workspace.env}, capture_output=True, text=True, timeout=300,
        check=False)
    assert done.returncode != 0
    refused = next(line for line in done.stdout.splitlines() if "not a plain value" in line)
    for name, value in NOT_PLAIN.items():
        assert (f"var {name}: not a plain value (a number, true/false, a date or a word): "
                f"{value[:60]}") in refused
    assert "history_months" not in refused
    assert "START seed" not in done.stdout
