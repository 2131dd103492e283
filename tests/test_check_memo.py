"""The build's input check remembers an unchanged file's facts and reads a changed one again
(retail_tiers/check_memo.py): a monthly build does not read the lines it already has."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import transaction

from retail_tiers import check
from retail_tiers.check import inspect_input
from retail_tiers.check_memo import MEMO_NAME, CheckMemo, FileFacts, file_identity
from retail_tiers.increments import file_digest

MakeRaw = Callable[..., Path]


def structural_check(folder: Path, cache: Path, recall: bool = True) -> check.CheckReport:
    """What `retail-tiers build --input` runs before dbt (build.prepare_input)."""
    return inspect_input(folder, count_values=False, cache_dir=cache,
                         memo=CheckMemo(cache, recall=recall))


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files the check reads byte by byte, in order."""
    seen: list[str] = []
    real = check.scan_text

    def counting(path: Path, display: str, *args: object, **kwargs: object) -> object:
        seen.append(display)
        return real(path, display, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(check, "scan_text", counting)
    return seen


def rows(count: int) -> list[dict[str, str]]:
    return [transaction(number) for number in range(1, count + 1)]


def test_an_unchanged_file_is_not_read_again(make_raw: MakeRaw, tmp_path: Path,
                                             scans: list[str]) -> None:
    folder = make_raw({"transactions.csv": rows(5)})
    (folder / "transactions").mkdir()
    (folder / "transactions" / "2026-11.csv").write_text(
        (folder / "transactions.csv").read_text(encoding="utf-8").replace("T", "N"),
        encoding="utf-8")
    cache = tmp_path / "cache"
    first = structural_check(folder, cache)
    assert scans == ["transactions.csv", "transactions/2026-11.csv"]
    assert (cache / MEMO_NAME).is_file()
    scans.clear()
    second = structural_check(folder, cache)
    assert scans == []  # both files remembered
    for before, after in zip(first.file("transactions").parts,
                             second.file("transactions").parts, strict=True):
        assert (after.digest, after.header, after.rows, after.encoding_note, after.read_path) \
            == (before.digest, before.header, before.rows, before.encoding_note,
                before.read_path)
        assert after.digest == file_digest(after.path)  # the content digest, as if read
    assert second.file("transactions").rows == 10
    # --full-refresh reads every file again
    structural_check(folder, cache, recall=False)
    assert scans == ["transactions.csv", "transactions/2026-11.csv"]


def test_a_file_rewritten_in_place_is_read_again(make_raw: MakeRaw, tmp_path: Path,
                                                 scans: list[str]) -> None:
    """Same name, same size, the old modification time put back: the status-change time
    still differs, so the file is read again and its new digest seen."""
    folder = make_raw({"transactions.csv": rows(3)})
    path = folder / "transactions.csv"
    cache = tmp_path / "cache"
    first = structural_check(folder, cache)
    stat = path.stat()
    content = path.read_bytes()
    changed = content.replace(b"T00001,", b"X00001,", 1)
    assert changed != content and len(changed) == len(content)
    path.write_bytes(changed)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_mtime_ns == stat.st_mtime_ns
    scans.clear()
    second = structural_check(folder, cache)
    assert scans == ["transactions.csv"]
    assert second.file("transactions").digest == file_digest(path) != first.file(
        "transactions").digest


def test_a_file_with_an_invalid_line_is_not_remembered(make_raw: MakeRaw, tmp_path: Path,
                                                       scans: list[str]) -> None:
    """Its lines are read through a UTF-8 copy, made on each check."""
    folder = make_raw({"transactions.csv": [
        {**row, "category": "服装"} for row in rows(6)]})  # UTF-8 Chinese
    path = folder / "transactions.csv"
    path.write_bytes(path.read_bytes().replace("服装".encode(), "服装".encode("gbk"), 1))
    cache = tmp_path / "cache"
    structural_check(folder, cache)
    scans.clear()
    report = structural_check(folder, cache)
    assert scans == ["transactions.csv"]
    assert report.file("transactions").invalid_line_count == 1


def test_memo_keeps_only_the_files_it_saw(tmp_path: Path) -> None:
    kept, gone = tmp_path / "kept.csv", tmp_path / "gone.csv"
    kept.write_text("a\n1\n", encoding="utf-8")
    gone.write_text("a\n2\n", encoding="utf-8")
    memo = CheckMemo(tmp_path / "cache")
    for path in (kept, gone):
        memo.remember(path, FileFacts("d-" + path.stem, ["a"], 1, "ASCII"), file_identity(path))
    memo.save()
    again = CheckMemo(tmp_path / "cache")
    assert again.recall(kept, file_identity(kept)) == FileFacts("d-kept", ["a"], 1, "ASCII")
    again.save()
    last = CheckMemo(tmp_path / "cache")
    assert last.recall(kept, file_identity(kept)) is not None
    assert last.recall(gone, file_identity(gone)) is None


def test_a_file_changed_while_it_was_read_is_not_remembered(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a\n1\n", encoding="utf-8")
    identity = file_identity(path)
    path.write_text("a\n1\n2\n", encoding="utf-8")
    memo = CheckMemo(tmp_path / "cache")
    memo.remember(path, FileFacts("d", ["a"], 1, "ASCII"), identity)
    assert memo.recall(path, file_identity(path)) is None
