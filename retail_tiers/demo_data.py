"""The demo dataset committed under seeds/demo: one generator configuration, used by
`make demo-data` to write it and by the tests to prove the committed files are its output."""

from __future__ import annotations

import sys
from pathlib import Path

from retail_tiers.generate import GeneratorConfig, write_dataset

DEMO_CONFIG = GeneratorConfig(customers=3000, months=24, seed=42, file_prefix="raw_")


def write_demo_seeds(out_dir: Path) -> dict[str, object]:
    """Write raw_<file>.csv and manifest.json for the demo into out_dir."""
    return write_dataset(DEMO_CONFIG, out_dir)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("seeds/demo")
    manifest = write_demo_seeds(target)
    print(f"wrote demo seeds to {target}: {manifest['rows']}")
