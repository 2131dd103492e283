"""Where things are: the dbt project folder and the warehouse file."""

from __future__ import annotations

import os
from pathlib import Path

from retail_tiers.errors import RetailTiersError

DEFAULT_WAREHOUSE = Path("warehouse") / "retail_tiers.duckdb"


def project_dir() -> Path:
    """The folder holding dbt_project.yml (env RETAIL_TIERS_PROJECT_DIR overrides)."""
    override = os.environ.get("RETAIL_TIERS_PROJECT_DIR")
    folder = Path(override) if override else Path(__file__).resolve().parents[1]
    if not (folder / "dbt_project.yml").is_file():
        raise RetailTiersError(f"no dbt_project.yml in {folder}: set RETAIL_TIERS_PROJECT_DIR")
    return folder


def warehouse_path(project: Path | None = None) -> Path:
    """The DuckDB file: env RETAIL_TIERS_DB, else warehouse/retail_tiers.duckdb in the project."""
    override = os.environ.get("RETAIL_TIERS_DB")
    if override:
        return Path(override).expanduser().resolve()
    return (project or project_dir()) / DEFAULT_WAREHOUSE
