"""The demo files under seeds/demo as `retail-tiers build` reads them: the `raw_files` build input
(macros/raw_input.sql, macros/build_input.sql) that points staging at the files themselves."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from retail_tiers.contract import RAW_FILES

DEMO_DESCRIPTION = "demo data (seeds/demo)"


def demo_raw_files(project: Path) -> dict[str, Any]:
    """`raw_files` for the demo files under `project`/seeds/demo.

    `retail-tiers build` reads them like a user's CSV files instead of loading them as dbt
    seeds first (5 seed nodes, about a second of a 10-second demo build); a plain `dbt build`
    still loads the seeds. Each file keeps the name its rows carry in a seed build
    (`seeds/demo/raw_<file>.csv`), so both builds give the same tables (tests/test_build.py).
    The demo files are generated, UTF-8 with a header row, and are not checked again; a
    contract file the demo has no file for (customer_identities) is absent, as in a user's
    folder.
    """
    from retail_tiers.check import FileCheck  # what `--input` builds use to make an entry

    raw_files: dict[str, Any] = {}
    for spec in RAW_FILES:
        path = project / "seeds" / "demo" / f"raw_{spec.name}.csv"
        header: list[str] = []
        if path.is_file():
            with path.open(newline="", encoding="utf-8") as handle:
                header = next(csv.reader(handle), [])
        found = path if header else None
        # rows left unset: the row accounting test counts the demo files itself
        raw_files[spec.name] = FileCheck(
            spec=spec, path=found, read_path=found, header=header,
            label=f"seeds/demo/raw_{spec.name}.csv").raw_files_entry()
    raw_files["transactions"]["input_description"] = DEMO_DESCRIPTION
    return raw_files
