"""`dbt docs generate` works on a built warehouse (docs/engineering.md tells analytics
engineers to run it), and the documentation it writes is complete: every model has a
description in a yml file beside its SQL, and the columns documented there are exactly the
columns of the model's table or view in the warehouse (dbt's catalog), each with a
description; and every model has a data test of its own (a generic test in its yml, or a
singular test that reads it)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from conftest import PROJECT_DIR, Workspace, plain_dbt


def documentation_gaps(manifest: dict[str, Any], catalog: dict[str, Any]) -> list[str]:
    """What the docs miss or misstate, one line per model; empty when complete."""
    gaps = []
    models = {unique_id: node for unique_id, node in manifest["nodes"].items()
              if node["resource_type"] == "model"}
    for unique_id, node in sorted(models.items()):
        name = node["name"]
        yml = (node.get("patch_path") or "").split("://")[-1]
        if Path(yml).parent != Path(node["original_file_path"]).parent:
            gaps.append(f"{name}: documented in {yml or 'no yml file'}, not beside "
                        f"{node['original_file_path']}")
        if not node["description"].strip():
            gaps.append(f"{name}: no description")
        if unique_id not in catalog["nodes"]:
            gaps.append(f"{name}: not in the warehouse's catalog")
            continue
        in_warehouse = {column.lower() for column in catalog["nodes"][unique_id]["columns"]}
        documented = {column.lower(): spec for column, spec in node["columns"].items()}
        for column in sorted(in_warehouse - documented.keys()):
            gaps.append(f"{name}.{column}: in the warehouse, not documented")
        for column in sorted(documented.keys() - in_warehouse):
            gaps.append(f"{name}.{column}: documented, not in the warehouse")
        for column, spec in sorted(documented.items()):
            if column in in_warehouse and not spec["description"].strip():
                gaps.append(f"{name}.{column}: no description")
    return gaps


def untested_models(manifest: dict[str, Any]) -> list[str]:
    """The models no data test reads."""
    tested = {parent for node in manifest["nodes"].values() if node["resource_type"] == "test"
              for parent in node["depends_on"]["nodes"]}
    return sorted(node["name"] for unique_id, node in manifest["nodes"].items()
                  if node["resource_type"] == "model" and unique_id not in tested)


def test_docs_generate_documents_every_model_and_column(demo_workspace: Workspace,
                                                         tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"  # a copy: the session's warehouse stays as built
    shutil.copy(demo_workspace.warehouse, warehouse)
    # `dbt docs generate --profiles-dir .`, its output in tmp_path
    assert plain_dbt(PROJECT_DIR, warehouse, "docs generate", output=tmp_path)
    target = tmp_path / "target"
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    catalog = json.loads((target / "catalog.json").read_text(encoding="utf-8"))
    assert (target / "index.html").is_file()
    models = [node for node in manifest["nodes"].values() if node["resource_type"] == "model"]
    assert len(models) > 60
    assert documentation_gaps(manifest, catalog) == []
    assert untested_models(manifest) == []


def test_the_docs_check_finds_what_is_missing() -> None:
    """documentation_gaps and untested_models on a made-up manifest and catalog with one of
    each gap."""
    def model(name: str, folder: str, yml: str | None, description: str,
              columns: dict[str, str]) -> dict[str, Any]:
        return {"resource_type": "model", "name": name, "description": description,
                "original_file_path": f"models/{folder}/{name}.sql",
                "patch_path": f"retail_tiers://models/{yml}" if yml else None,
                "columns": {column: {"description": text} for column, text in columns.items()}}

    manifest = {"nodes": {
        "model.p.complete": model("complete", "marts", "marts/_marts.yml", "All here.",
                                  {"customer_id": "The customer."}),
        "model.p.far": model("far", "marts", "staging/_staging.yml", "Documented elsewhere.",
                             {"id": "An id."}),
        "model.p.bare": model("bare", "marts", None, "", {}),
        "model.p.drifted": model("drifted", "marts", "marts/_marts.yml", "Columns drifted.",
                                 {"old_name": "Renamed since.", "kept": ""}),
        "model.p.unbuilt": model("unbuilt", "marts", "marts/_marts.yml", "Not built.", {}),
        "test.p.some_test": {"resource_type": "test",
                             "depends_on": {"nodes": ["model.p.complete", "model.p.far"]}},
    }}
    catalog = {"nodes": {
        "model.p.complete": {"columns": {"CUSTOMER_ID": {}}},
        "model.p.far": {"columns": {"id": {}}},
        "model.p.bare": {"columns": {"x": {}}},
        "model.p.drifted": {"columns": {"new_name": {}, "kept": {}}},
    }}
    assert documentation_gaps(manifest, catalog) == [
        "bare: documented in no yml file, not beside models/marts/bare.sql",
        "bare: no description",
        "bare.x: in the warehouse, not documented",
        "drifted.new_name: in the warehouse, not documented",
        "drifted.old_name: documented, not in the warehouse",
        "drifted.kept: no description",
        "far: documented in models/staging/_staging.yml, not beside models/marts/far.sql",
        "unbuilt: not in the warehouse's catalog",
    ]
    assert untested_models(manifest) == ["bare", "drifted", "unbuilt"]
