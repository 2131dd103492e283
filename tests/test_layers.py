"""The model layers never read backwards: staging -> intermediate -> predictions -> marts.

A model may read seeds, models of its own layer and models of earlier layers; an
intermediate that read a mart (as the CLV patterns once read the model fit) would make the
marts' order of building and their meaning depend on each other.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

MODELS = Path(__file__).resolve().parents[1] / "models"
LAYERS = ["staging", "intermediate", "predictions", "marts"]  # marts/report: report-shaped marts
REF = re.compile(r"""\bref\(\s*['"]([a-z0-9_]+)['"]\s*\)""")


def layer_of(path: Path) -> int:
    return LAYERS.index(path.relative_to(MODELS).parts[0])


MODEL_FILES = {path.stem: path for path in sorted(MODELS.rglob("*"))
               if path.suffix in (".sql", ".py")}


def test_every_model_sits_in_a_known_layer() -> None:
    assert MODEL_FILES
    for path in MODEL_FILES.values():
        assert path.relative_to(MODELS).parts[0] in LAYERS, path


@pytest.mark.parametrize("name", sorted(MODEL_FILES))
def test_a_model_reads_only_its_own_or_earlier_layers(name: str) -> None:
    path = MODEL_FILES[name]
    for parent in REF.findall(path.read_text(encoding="utf-8")):
        if parent not in MODEL_FILES:  # a seed
            continue
        assert layer_of(MODEL_FILES[parent]) <= layer_of(path), (
            f"{path.relative_to(MODELS)} reads {MODEL_FILES[parent].relative_to(MODELS)}, "
            "a later layer")


def test_the_report_exposure_lists_every_table_the_report_reads() -> None:
    """The dbt exposure monthly_report (models/marts/report/exposures.yml) declares the PDF's
    inputs, so `dbt ls --select +exposure:monthly_report` is what the report needs."""
    import yaml

    from reports.data import REQUIRED_TABLES

    exposures = yaml.safe_load((MODELS / "marts" / "report" / "exposures.yml").read_text())
    [report] = [item for item in exposures["exposures"] if item["name"] == "monthly_report"]
    declared = {re.fullmatch(r"ref\('([a-z0-9_]+)'\)", item).group(1)
                for item in report["depends_on"]}
    written_by_the_run_end_hook = {"build_runs", "build_results"}
    assert declared == set(REQUIRED_TABLES) - written_by_the_run_end_hook
