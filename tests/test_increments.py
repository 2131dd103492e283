"""The plan of an incremental build: files by content, full rebuild on any change, with why."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from retail_tiers.encoding import CHUNK_BYTES, scan_text
from retail_tiers.increments import (
    BuildInputs,
    InputFile,
    file_digest,
    input_files,
    plan_build,
    project_digest,
)

PROJECT = Path(__file__).resolve().parents[1]


def inputs(*files: tuple[str, str], project: str = "p1", identities: str | None = None,
           read_as: str = "utf-8", as_of: str | None = "") -> BuildInputs:
    lookups = (() if identities is None
               else (InputFile("customer_identities.csv", identities),))
    return BuildInputs(tuple(InputFile(name, digest) for name, digest in files), project,
                       lookups, read_as=read_as, as_of=as_of)


def test_file_digest_is_blake2b_of_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    content = b"transaction_id,order_id\n" + b"x" * (9 << 20)  # more than one read chunk
    path.write_bytes(content)
    assert file_digest(path) == hashlib.blake2b(content, digest_size=16).hexdigest()


def test_input_files_are_named_relative_to_the_folder_in_name_order(tmp_path: Path) -> None:
    (tmp_path / "transactions").mkdir()
    for name in ("2026-11.csv", "2026-10.csv"):
        (tmp_path / "transactions" / name).write_text(name)
    found = input_files(tmp_path, (tmp_path / "transactions").iterdir())
    assert [item.name for item in found] == ["transactions/2026-10.csv",
                                            "transactions/2026-11.csv"]
    assert found[0].digest == file_digest(tmp_path / "transactions" / "2026-10.csv")


def test_the_checks_scan_gives_the_same_digest(tmp_path: Path) -> None:
    """The check reads every byte of a CSV to validate its encoding; the digest it takes on
    the way must be the file's content digest, or the next build would see a changed file."""
    path = tmp_path / "transactions.csv"
    lines = [f"T{n},O{n},顾客{n},2026-01-0{n % 9 + 1}" for n in range(400_000)]
    content = ("transaction_id,order_id,customer_id,ordered_at\n" + "\n".join(lines)).encode()
    assert len(content) > 2 * CHUNK_BYTES and not content.endswith(b"\n")  # chunks and a carry
    path.write_bytes(content)
    scan = scan_text(path, path.name)
    assert scan.digest == hashlib.blake2b(content, digest_size=16).hexdigest()
    assert scan.digest == file_digest(path)


def test_known_digests_are_not_computed_again(tmp_path: Path) -> None:
    path = tmp_path / "transactions.csv"
    path.write_text("a\n")
    assert input_files(tmp_path, [path], {path: "recorded"})[0].digest == "recorded"
    assert input_files(tmp_path, [path], {})[0].digest == file_digest(path)


@pytest.mark.parametrize(("previous", "current", "mode", "reason"), [
    (None, inputs(("a", "1")), "full", "records no earlier build"),
    (inputs(("a", "1")), inputs(("a", "1"), ("b", "2"), project="p2"), "full",
     "models, rules or settings changed"),
    (inputs(("a", "1"), ("b", "2")), inputs(("a", "1"), ("b", "3")), "full", "b changed"),
    (inputs(("a", "1"), ("b", "2")), inputs(("a", "1")), "full", "b no longer in the input"),
    (inputs(("a", "1")), inputs(("a", "1")), "full", "no new transactions file"),
    (inputs(("a", "1")), inputs(("a", "1"), ("b", "2"), ("c", "2")), "full",
     "b, c hold the same bytes"),
    (inputs(("a", "1")), inputs(("renamed", "1"), ("s", "2")), "append", "1 new file: s"),
    (inputs(("b", "1")), inputs(("a", "2"), ("b", "1")), "full",
     "a sorts before b, which was read already"),
    (inputs(("a", "1")), inputs(("a", "1"), ("b", "2"), ("c", "3")), "append",
     "2 new files: b, c"),
    # which ids are one customer reaches every month: a changed, new or removed identities
    # file reads everything again; the same one lets the build append
    (inputs(("a", "1"), identities="x"), inputs(("a", "1"), ("b", "2"), identities="y"),
     "full", "customer_identities.csv changed"),
    (inputs(("a", "1")), inputs(("a", "1"), ("b", "2"), identities="y"), "full",
     "customer_identities.csv changed"),
    (inputs(("a", "1"), identities="x"), inputs(("a", "1"), ("b", "2")), "full",
     "customer_identities.csv changed"),
    (inputs(("a", "1"), identities="x"), inputs(("a", "1"), ("b", "2"), identities="x"),
     "append", "1 new file: b"),
    # the same bytes read in another encoding or from another sheet are other rows: the
    # files read before are read again, as is a warehouse whose record predates read_as
    (inputs(("a", "1")), inputs(("a", "1"), ("b", "2"), read_as="gb18030"), "full",
     "the files are read as gb18030 now, as utf-8 before"),
    (inputs(("a", "1"), read_as="utf-8 sheet Orders"),
     inputs(("a", "1"), ("b", "2"), read_as="utf-8 sheet Sales"), "full",
     "read as utf-8 sheet Sales now, as utf-8 sheet Orders before"),
    (inputs(("a", "1"), read_as=""), inputs(("a", "1"), ("b", "2")), "full",
     "as an unrecorded encoding before"),
    (inputs(("a", "1"), read_as="gb18030"), inputs(("a", "1"), ("b", "2"), read_as="gb18030"),
     "append", "1 new file: b"),
    # each customer's state is kept as of the last build's date: another --as-of (or none
    # after one, or a record that predates it) reads everything again; the same one appends
    (inputs(("a", "1")), inputs(("a", "1"), ("b", "2"), as_of="2024-06-20"), "full",
     "the as-of date is --as-of 2024-06-20 now, the default (the latest complete month) "
     "before"),
    (inputs(("a", "1"), as_of="2024-05-31"), inputs(("a", "1"), ("b", "2")), "full",
     "the as-of date is the default (the latest complete month) now, --as-of 2024-05-31 "
     "before"),
    (inputs(("a", "1"), as_of=None), inputs(("a", "1"), ("b", "2")), "full",
     "now, not recorded before"),
    (inputs(("a", "1"), as_of="2024-06-20"), inputs(("a", "1"), ("b", "2"), as_of="2024-06-20"),
     "append", "1 new file: b"),
])
def test_plan(previous: BuildInputs | None, current: BuildInputs, mode: str,
              reason: str) -> None:
    plan = plan_build(previous, current)
    assert plan.mode == mode
    assert reason in plan.reason
    if plan.is_append:
        seen = {item.digest for item in previous.files} if previous else set()
        assert [item.digest for item in plan.new_files] == [
            item.digest for item in current.files if item.digest not in seen]


def test_full_refresh_wins() -> None:
    plan = plan_build(inputs(("a", "1")), inputs(("a", "1"), ("b", "2")), full_refresh=True)
    assert (plan.mode, plan.reason) == ("full", "--full-refresh")


def test_project_digest_follows_code_rules_and_settings(tmp_path: Path) -> None:
    copy = tmp_path / "project"
    for part in ("models", "macros", "seeds"):
        shutil.copytree(PROJECT / part, copy / part)
    shutil.copy(PROJECT / "dbt_project.yml", copy / "dbt_project.yml")
    base = project_digest(copy, {"churn_days": 180})
    assert project_digest(copy, {"churn_days": 180}) == base
    assert project_digest(copy, {"churn_days": 120}) != base
    rules = copy / "seeds" / "segment_rules.csv"
    rules.write_text(rules.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    edited_rules = project_digest(copy, {"churn_days": 180})
    assert edited_rules != base
    model = copy / "models" / "marts" / "customers.sql"
    model.write_text(model.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    edited_model = project_digest(copy, {"churn_days": 180})
    assert edited_model not in (base, edited_rules)
    (copy / "models" / "notes.txt").write_text("not part of the build")
    assert project_digest(copy, {"churn_days": 180}) == edited_model
