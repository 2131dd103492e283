"""`retail-tiers check`: a folder of raw files against the data contract (DESIGN section 1).

Per contract file: rows, columns found, missing and extra columns, empty and unparseable
values per column, encoding. Unparseable values are counted by DuckDB with the very macros
staging uses (macros/parsing.sql rendered with plain Jinja), so `check` and `build` agree.

`inspect_input(..., count_values=False)` is the fast structural part that `build --input`
runs first: file discovery, encoding, header, field counts, row counts. An Excel workbook
(`.xlsx`) is converted to a typed Parquet copy in the cache folder (retail_tiers/excel.py)
and from then on checked and read like a Parquet file.
"""

from __future__ import annotations

import csv
import re
import shlex
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import jinja2

from retail_tiers.check_memo import CheckMemo, FileFacts, file_identity
from retail_tiers.contract import RAW_FILES, SUFFIXES, RawFile, amount_form, file_format
from retail_tiers.encoding import normalize_encoding, scan_text, transcode_to_cache
from retail_tiers.errors import RetailTiersError
from retail_tiers.presets import PresetResult, apply_preset, load_preset
from retail_tiers.project import project_dir

PARSERS: dict[str, str | None] = {
    "text": None,
    "integer": "parse_integer",
    "decimal": "parse_decimal",
    "timestamp": "parse_timestamp",
    "date": "parse_timestamp",
    "boolean": "parse_boolean",
}
DELIMITER_NAMES = {";": "semicolons (;)", "\t": "tabs", "|": "pipes (|)"}


@dataclass
class ColumnStats:
    name: str
    type: str
    required: str  # yes / no (a column with an alternative is `yes`)
    empty: int | None = None
    unparseable: int | None = None  # None: text column (anything parses) or not counted


@dataclass
class FileCheck:
    """One contract file: where it is, what it holds, what is wrong with it."""

    spec: RawFile
    path: Path | None = None  # the user's file; None when absent
    file_format: str = "csv"  # csv, parquet or xlsx
    read_path: Path | None = None  # what DuckDB reads: the file, its UTF-8 or Parquet copy
    encoding_note: str = ""
    invalid_lines: tuple[int, ...] = ()  # lines not valid in the encoding (first few)
    invalid_line_count: int = 0
    header: list[str] = field(default_factory=list)
    rows: int | None = None
    # the file's content digest (increments.file_digest) when the check read every byte of
    # it anyway (a plain CSV file); None: a build computes it
    digest: str | None = None
    column_stats: list[ColumnStats] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # shown instead of the file name: transactions/2026-11.csv, a preset's made file
    label: str | None = None
    entry_extra: dict[str, Any] = field(default_factory=dict)  # more raw_files entry keys
    parts: list[FileCheck] = field(default_factory=list)  # the files of transactions/

    @property
    def display(self) -> str:
        if self.label:
            return self.label
        return self.path.name if self.path else self.spec.name

    @property
    def present(self) -> list[str]:
        return [name for name in self.spec.column_names if name in self.header]

    @property
    def missing_required(self) -> list[str]:
        if self.path is None:
            return []
        return self.spec.missing_required(self.header)

    @property
    def missing_optional(self) -> list[str]:
        if self.path is None or not self.header:
            return []
        return [column.name for column in self.spec.columns
                if not column.required and column.name not in self.header]

    @property
    def extra_columns(self) -> list[str]:
        return [name for name in self.header if name not in self.spec.column_names]

    @property
    def status(self) -> str:
        if self.errors:
            return "error"
        if self.path is None:
            return "absent"
        if self.rows == 0:
            return "empty"
        return "ok"

    def raw_files_entry(self, parts: list[FileCheck] | None = None) -> dict[str, Any]:
        """This file's entry in the build input `raw_files` (macros/raw_input.sql): one file,
        or the given parts of a file split in several (all of them by default), with the
        name each part's rows are recorded under (`file_names`)."""
        entry = {
            "path": str(self.read_path.resolve()) if self.read_path else None,
            # a workbook is read through its typed Parquet copy
            "format": "parquet" if self.file_format == "xlsx" else self.file_format,
            "columns": self.spec.column_names,
            "present": self.present if self.read_path else [],
            "header": self.header if self.read_path else [],
            "invalid_text": bool(self.invalid_line_count) and self.read_path is not None,
            "file_name": self.display,
            # the rows the check counted in its own full read of the file: the row
            # accounting test (tests/dbt/assert_raw_rows_reconcile.sql) holds staging to them
            "rows": self.rows if self.read_path else 0,
            **self.entry_extra,
        }
        if self.parts and self.read_path:
            chosen = self.parts if parts is None else parts
            entry["paths"] = [str(part.read_path.resolve()) for part in chosen
                              if part.read_path]
            entry["file_names"] = [part.display for part in chosen if part.read_path]
            entry["invalid_text"] = any(part.invalid_line_count for part in chosen)
            entry["rows"] = sum(part.rows or 0 for part in chosen if part.read_path)
        return entry


@dataclass
class CheckReport:
    input_dir: Path
    encoding: str
    files: list[FileCheck]
    errors: list[str] = field(default_factory=list)  # about the folder, not one file
    ignored_files: list[str] = field(default_factory=list)
    values_counted: bool = True
    sheet: str | None = None  # the sheet read in Excel workbooks (None: the first)
    preset: PresetResult | None = None  # what an import preset made of the folder

    @property
    def all_errors(self) -> list[str]:
        return self.errors + [error for check in self.files for error in check.errors]

    @property
    def usable(self) -> bool:
        return not self.all_errors

    def first_error(self) -> str:
        errors = self.all_errors
        if not errors:
            return ""
        more = len(errors) - 1
        return errors[0] + (f" (and {more} more problem{'s' if more > 1 else ''})"
                            if more else "")

    def file(self, name: str) -> FileCheck:
        for check in self.files:
            if check.spec.name == name:
                return check
        raise KeyError(name)


def check_input(input_dir: Path, encoding: str | None = None, sheet: str | None = None,
                preset: str | None = None) -> CheckReport:
    """The full check: structure plus empty/unparseable value counts; leaves no files."""
    with tempfile.TemporaryDirectory(prefix="retail-tiers-check-") as scratch:
        return inspect_input(input_dir, encoding, count_values=True, cache_dir=Path(scratch),
                             sheet=sheet, preset=preset)


def inspect_input(input_dir: Path, encoding: str | None = None, *, count_values: bool = True,
                  cache_dir: Path, sheet: str | None = None,
                  preset: str | None = None, memo: CheckMemo | None = None) -> CheckReport:
    """Check every contract file in `input_dir`; non-UTF-8 CSVs get a UTF-8 copy in cache_dir,
    Excel workbooks a typed Parquet copy of their first sheet, or of the sheet `sheet`.
    With `preset` (a preset name or .yml path), the preset's files make the transactions
    file (retail_tiers/presets.py); `encoding` then defaults to the preset's for its files.

    A missing or unreadable folder raises RetailTiersError; problems with files are
    collected in the report (`report.usable`, `report.first_error()`). With `memo` (the
    build's structural check), what a plain UTF-8 CSV file holds is remembered and not read
    again while the file is unchanged (retail_tiers/check_memo.py).
    """
    preset_encoding = encoding
    encoding = normalize_encoding(encoding or "utf-8")
    loaded = load_preset(preset) if preset else None
    folder = Path(input_dir).expanduser()
    if not folder.exists():
        raise RetailTiersError(f"input folder {folder} does not exist")
    if not folder.is_dir():
        raise RetailTiersError(f"input {folder} is not a folder")
    folder = folder.resolve()
    report = CheckReport(input_dir=folder, encoding=encoding, files=[],
                         values_counted=count_values, sheet=sheet)
    claimed: set[str] = set()
    if loaded is not None:
        report.preset = apply_preset(loaded, folder, cache_dir, preset_encoding, sheet)
        claimed |= report.preset.claimed
    macros = _parsing_macros() if count_values else None
    memo = memo if memo is not None and not count_values else CheckMemo(None)
    con = duckdb.connect()
    try:
        con.execute("set enable_progress_bar = false")
        for spec in RAW_FILES:
            check = FileCheck(spec=spec)
            report.files.append(check)
            found = [folder / f"{spec.name}{suffix}" for suffix in SUFFIXES
                     if (folder / f"{spec.name}{suffix}").is_file()]
            claimed.update(path.name for path in found)
            if report.preset is None and (part_files := split_files(folder, spec.name)):
                _inspect_parts(check, found + part_files, folder, con, macros, encoding,
                               cache_dir, sheet, memo)
                continue
            if report.preset is not None and spec.name == "transactions":
                if found:
                    check.errors.append(
                        f"{found[0].name}: the folder holds a transactions file and the files "
                        f"of preset {loaded.name}: remove one, or run without --preset")
                    continue
                _use_preset_file(check, report.preset)
                _inspect_file(check, con, macros, encoding, cache_dir, sheet, memo)
                continue
            if len(found) > 1:
                check.errors.append(
                    f"{spec.name}: found {' and '.join(path.name for path in found)}: "
                    "keep only one of them"
                )
                continue
            if not found:
                if spec.required:
                    expected = {spec.name + suffix for suffix in SUFFIXES}
                    near = sorted(path.name for path in folder.iterdir()
                                  if path.name.lower() in expected)
                    hint = ""
                    if near and (folder / near[0]).is_dir():
                        hint = f"; {near[0]} is a folder, not a file"
                    elif near:
                        hint = f"; found {near[0]}: file names are lower case"
                    report.errors.append(
                        f"{folder}: no {spec.name} file (expected "
                        f"{', '.join(sorted(expected))}{hint})"
                    )
                continue
            check.path = found[0]
            check.file_format = file_format(check.path)
            _inspect_file(check, con, macros, encoding, cache_dir, sheet, memo)
        memo.save()
    finally:
        con.close()
    report.ignored_files = sorted(
        path.name for path in folder.iterdir()
        if path.is_file() and path.name not in claimed and not path.name.startswith(".")
    )
    return report


def split_files(folder: Path, name: str) -> list[Path]:
    """The files of a contract file given as a folder (`transactions/2026-11.csv`, ...), in
    name order; only transactions may be split (one file per period, added as they come)."""
    parts = folder / name
    if name != "transactions" or not parts.is_dir():
        return []
    return sorted(path for path in parts.iterdir()
                  if path.is_file() and not path.name.startswith(".")
                  and any(path.name.endswith(suffix) for suffix in SUFFIXES))


def _inspect_file(check: FileCheck, con: duckdb.DuckDBPyConnection, macros: Any,
                  encoding: str, cache_dir: Path, sheet: str | None, memo: CheckMemo) -> None:
    """Check one file by its format; a problem goes to check.errors."""
    try:
        if check.file_format == "parquet":
            _inspect_parquet(check, con, macros)
        elif check.file_format == "xlsx":
            _inspect_excel(check, con, macros, cache_dir, sheet)
        else:
            _inspect_csv(check, con, macros, encoding, cache_dir, memo)
    except RetailTiersError as error:
        check.errors.append(str(error))
        check.read_path = None


def _inspect_parts(check: FileCheck, paths: list[Path], folder: Path,
                   con: duckdb.DuckDBPyConnection, macros: Any, encoding: str,
                   cache_dir: Path, sheet: str | None, memo: CheckMemo) -> None:
    """A contract file given as several files (transactions.csv and/or transactions/*):
    each part is checked on its own; together they are one file whose rows are the parts'
    rows in name order (transactions.csv first). The parts must share format and header."""
    for path in paths:
        part = FileCheck(spec=check.spec, path=path,
                         label=path.relative_to(folder).as_posix())
        part.file_format = file_format(path)
        _inspect_file(part, con, macros, encoding,
                      cache_dir / "parts" / part.display.replace("/", "__"), sheet, memo)
        check.parts.append(part)
    first = check.parts[0]
    check.path, check.file_format, check.header = first.path, first.file_format, first.header
    check.label = f"{check.spec.name} ({len(paths)} files)"
    check.errors = [error for part in check.parts for error in part.errors]
    for part in check.parts[1:]:
        if not part.errors and not first.errors and (
                part.file_format, part.header) != (first.file_format, first.header):
            differs = "format" if part.file_format != first.file_format else "header"
            check.errors.append(
                f"{part.display}: its {differs} differs from {first.display}'s: every "
                "transactions file needs the same columns in the same order, in one format")
    if check.errors:
        return
    check.read_path = first.read_path
    check.rows = sum(part.rows or 0 for part in check.parts)
    check.invalid_line_count = sum(part.invalid_line_count for part in check.parts)
    notes = sorted({part.encoding_note for part in check.parts})
    check.encoding_note = "; ".join(notes)
    if macros is not None:
        check.column_stats = [
            ColumnStats(stat.name, stat.type, stat.required,
                        sum(part.column_stats[index].empty or 0 for part in check.parts),
                        None if stat.unparseable is None else
                        sum(part.column_stats[index].unparseable or 0 for part in check.parts))
            for index, stat in enumerate(first.column_stats)]


def _inspect_csv(check: FileCheck, con: duckdb.DuckDBPyConnection, macros: Any,
                 encoding: str, cache_dir: Path, memo: CheckMemo) -> None:
    path, display = check.path, check.display
    assert path is not None
    if path.stat().st_size == 0:
        raise RetailTiersError(f"{display}: empty file (0 bytes, no header row)")
    plain = encoding == "utf-8" and macros is None and not path.name.endswith(".gz")
    identity = file_identity(path) if plain else None
    if identity is not None and (facts := memo.recall(path, identity)) is not None:
        check.read_path, check.digest, check.encoding_note = path, facts.digest, facts.encoding_note
        check.header = facts.header
        _check_columns(check)
        _counted(check, facts.rows, [])
        return
    if encoding == "utf-8":
        scan = scan_text(path, display, encoding)
        check.read_path = path
        if not path.name.endswith(".gz"):
            check.digest = scan.digest
        check.encoding_note = ("UTF-8 with BOM" if scan.has_bom
                               else "UTF-8" if scan.non_ascii else "ASCII")
        if scan.invalid_line_count:
            # a copy with U+FFFD in place of the bad bytes, so those lines can be quarantined
            check.read_path, scan = transcode_to_cache(path, display, encoding, cache_dir,
                                                       check.spec.name)
    else:
        check.read_path, scan = transcode_to_cache(path, display, encoding, cache_dir,
                                                   check.spec.name)
        check.encoding_note = (f"{encoding.upper()} (read via a UTF-8 copy)"
                               if scan.non_ascii else "ASCII")
    check.invalid_lines, check.invalid_line_count = scan.invalid_lines, scan.invalid_line_count
    if scan.invalid_line_count:
        listed = ", ".join(str(line) for line in scan.invalid_lines)
        more = "" if scan.invalid_line_count == len(scan.invalid_lines) else ", ..."
        check.encoding_note += (
            f"; {scan.invalid_line_count:,} line{'s' if scan.invalid_line_count > 1 else ''} "
            f"not valid {encoding.upper()} quarantined as invalid_encoding "
            f"(line {listed}{more})")
    if not scan.header_line.strip():
        raise RetailTiersError(
            f"{display}: empty file (0 bytes, no header row)" if scan.byte_count == 0
            else f"{display}: the first line is empty: expected a header row"
        )
    check.header = _reading_names(_parse_header(scan.header_line, check), check)
    _check_columns(check)
    relation = csv_relation(check.read_path, check.header)
    _count(check, con, macros, relation)
    if identity is not None and check.read_path == path and check.digest and not check.errors:
        memo.remember(path, FileFacts(check.digest, check.header, int(check.rows or 0),
                                      check.encoding_note), identity)


def _inspect_parquet(check: FileCheck, con: duckdb.DuckDBPyConnection, macros: Any) -> None:
    path, display = check.path, check.display
    assert path is not None
    if path.stat().st_size == 0:
        raise RetailTiersError(f"{display}: empty file (0 bytes)")
    check.read_path = path
    check.encoding_note = "made by the preset" if check.label else "Parquet"
    relation = f"read_parquet({sql_literal(str(path))})"
    try:
        described = con.execute(f"describe select * from {relation}").fetchall()
    except duckdb.Error as error:
        raise RetailTiersError(
            f"{display}: not a readable Parquet file ({_first_line(error)})"
        ) from None
    check.header = _reading_names([str(row[0]) for row in described], check)
    _check_columns(check)
    _count(check, con, macros, relation)


def _use_preset_file(check: FileCheck, result: PresetResult) -> None:
    """The transactions file a preset made, checked and read like a Parquet file."""
    check.path = result.transactions
    check.file_format = "parquet"
    check.label = f"transactions (preset {result.preset.name})"
    check.entry_extra = result.raw_files_extra()


def _inspect_excel(check: FileCheck, con: duckdb.DuckDBPyConnection, macros: Any,
                   cache_dir: Path, sheet: str | None) -> None:
    """A workbook's sheet as a typed Parquet copy, then checked like a Parquet file."""
    from retail_tiers.excel import sheet_to_parquet

    path, display = check.path, check.display
    assert path is not None
    if path.stat().st_size == 0:
        raise RetailTiersError(f"{display}: empty file (0 bytes)")
    copy = sheet_to_parquet(path, display, cache_dir / f"{check.spec.name}.xlsx.parquet",
                            sheet, lambda header: _reading_names(header, check))
    check.read_path = copy.path
    starts = "" if copy.header_row == 1 else f", header in row {copy.header_row}"
    check.encoding_note = (f"Excel sheet {copy.sheet!r}{starts} (data row n is Excel row "
                           f"{copy.header_row} + n)")
    check.header = copy.header
    _check_columns(check)
    _count(check, con, macros, f"read_parquet({sql_literal(str(copy.path))})")


def _parse_header(line: str, check: FileCheck) -> list[str]:
    names = next(csv.reader([line]))
    if len(names) == 1:
        for delimiter, description in DELIMITER_NAMES.items():
            if delimiter in line:
                raise RetailTiersError(
                    f"{check.display}: columns are separated by {description}; "
                    "expected a comma-separated file"
                )
    return names


def _reading_names(header: list[str], check: FileCheck) -> list[str]:
    """The names the file is read with: a contract column under its contract name whatever
    its case or surrounding spaces (`CATEGORY`, ` Unit_Cost`); blank and repeated extra
    names renamed (`column7`, `note_2`), as extra columns are carried but never used. A
    contract column given twice (in any case) is a one-line error."""
    canonical = {name.lower(): name for name in check.spec.column_names}
    keys = [name.strip().lower() for name in header]
    repeated = [key for key in canonical if keys.count(key) > 1]
    if repeated:
        raise RetailTiersError(
            f"{check.display}: column {canonical[repeated[0]]} appears "
            f"{keys.count(repeated[0])} times in the header"
        )
    used: set[str] = set()
    names = []
    for position, (name, key) in enumerate(zip(header, keys, strict=True), start=1):
        base = canonical.get(key) or name.strip() or f"column{position}"
        candidate, number = base, 1
        while candidate.lower() in used:
            number += 1
            candidate = f"{base}_{number}"
        used.add(candidate.lower())
        names.append(candidate)
    return names


def _check_columns(check: FileCheck) -> None:
    missing = check.missing_required
    if missing:
        hints = []
        for name in missing:
            near = [found for found in check.header
                    if re.sub(r"[\s-]+", "_", found.strip().lower()) == name]
            if near:
                hints.append(f"{near[0]!r} is not {name!r}: column names match in any "
                             "case, but with underscores, not spaces or dashes")
        plural = "s" if len(missing) > 1 else ""
        hint = f" ({'; '.join(hints)})" if hints else ""
        raise RetailTiersError(
            f"{check.display}: missing required column{plural} {', '.join(missing)}{hint}"
        )


def _count(check: FileCheck, con: duckdb.DuckDBPyConnection, macros: Any,
           relation: str) -> None:
    """Rows (a full read, which also finds bad field counts) and, with macros, value counts."""
    stats = [ColumnStats(column.name, column.type, column.required_label.split(",")[0])
             for column in check.spec.columns if column.name in check.header]
    selects = ["count(*)"]
    if macros is not None:
        for stat in stats:
            value = f"cast({quote_identifier(stat.name)} as varchar)"
            selects.append(f"count_if({macros.clean_text(value)} is null)")
            parser = PARSERS.get(stat.type)
            if parser:
                parsed = getattr(macros, parser)(value)
                selects.append(f"count_if({macros.is_unparseable(value, parsed)})")
    try:
        row = con.execute(f"select {', '.join(selects)} from {relation}").fetchone()
    except duckdb.Error as error:
        raise RetailTiersError(_read_error(check.display, error)) from None
    assert row is not None
    values = iter(row[1:])
    if macros is not None:
        for stat in stats:
            stat.empty = int(next(values) or 0)
            if PARSERS.get(stat.type):
                stat.unparseable = int(next(values) or 0)
    _counted(check, int(row[0]), stats)


def _counted(check: FileCheck, rows: int, stats: list[ColumnStats]) -> None:
    check.rows = rows
    check.column_stats = stats
    if check.rows == 0 and check.spec.required:
        raise RetailTiersError(f"{check.display}: has a header but no data rows")


def _read_error(display: str, error: Exception) -> str:
    text = str(error)
    line = re.search(r"CSV Error on Line: (\d+)", text)
    fields = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
    if line and fields:
        return (f"{display}: line {line.group(1)} has {fields.group(2)} fields, "
                f"the header has {fields.group(1)} (a stray comma or quote?)")
    if line and "Value with unterminated quote" in text:
        return f"{display}: line {line.group(1)} has a quote that is never closed"
    where = f" at line {line.group(1)}" if line else ""
    return f"{display}: cannot be read{where}: {_first_line(error)}"


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    first = text.splitlines()[0] if text else type(error).__name__
    return re.sub(r"^[A-Za-z ]*Error: ", "", first)


def csv_relation(path: Path, names: list[str]) -> str:
    """A DuckDB read_csv call with the dialect and columns fixed (no sniffing)."""
    columns = ", ".join(f"{sql_literal(name)}: 'VARCHAR'" for name in names)
    return (f"read_csv({sql_literal(str(path))}, header = true, auto_detect = false, "
            f"delim = ',', quote = '\"', escape = '\"', columns = {{{columns}}})")


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _parsing_macros(project: Path | None = None) -> Any:
    """macros/parsing.sql as a plain-Jinja module: `.parse_integer("x")` returns SQL."""
    source = ((project or project_dir()) / "macros" / "parsing.sql").read_text(encoding="utf-8")
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    return environment.from_string(source).module


# ---- the printed report -------------------------------------------------------------------


def format_report(report: CheckReport) -> str:
    lines = [f"input: {report.input_dir} (encoding {report.encoding})", ""]
    if report.preset is not None:
        lines.extend(_format_preset(report.preset))
        lines.append("")
    for check in report.files:
        lines.extend(_format_file(check))
        lines.append("")
    if report.ignored_files:
        lines.append(f"ignored files (not in the contract): {', '.join(report.ignored_files)}")
        lines.append("")
    lines.append("summary")
    lines.extend(_format_summary(report))
    errors = report.all_errors
    lines.append("")
    if errors:
        lines.append(f"{len(errors)} problem{'s' if len(errors) > 1 else ''}:")
        lines.extend(f"  - {error}" for error in errors)
    else:
        options = f" --encoding {report.encoding}" if report.encoding != "utf-8" else ""
        if report.sheet is not None:
            options += f" --sheet {shlex.quote(report.sheet)}"
        if report.preset is not None:
            options += f" --preset {shlex.quote(report.preset.preset.name)}"
        lines.append("the input is usable: run `retail-tiers build --input "
                     f"{report.input_dir}{options}`")
    return "\n".join(lines)


def _format_preset(result: PresetResult) -> list[str]:
    preset = result.preset
    lines = [f"preset {preset.name}: {preset.title}"]
    for name, rows, note in result.sources:
        lines.append(f"  read {name}: {rows:,} row{'s' if rows != 1 else ''}, {note}")
    total = sum(result.lines_by_status.values())
    lines.append(f"  made {total:,} transaction line{'s' if total != 1 else ''}; by order status:")
    for status, count in sorted(result.lines_by_status.items(),
                                key=lambda item: (-item[1], str(item[0]))):
        reason = preset.excluded_statuses.get(str(status)) if status is not None else None
        kept = f"quarantined as {reason}" if reason else "kept"
        lines.append(f"    {status if status is not None else '(none)'}: {count:,} ({kept})")
    return lines


def _format_file(check: FileCheck) -> list[str]:
    kind = "required" if check.spec.required else "optional"
    if check.path is None and not check.errors:
        treated = "" if check.spec.required else "; treated as an empty table"
        return [f"{check.spec.name} ({kind}): absent{treated}"]
    if check.rows is None:
        return [f"{check.display} ({kind}): not usable"]
    rows = f"{check.rows:,} row{'s' if check.rows != 1 else ''}"
    empty = " (header only: treated as an empty table)" if check.rows == 0 else ""
    lines = [f"{check.display} ({kind}): {rows}{empty}, {len(check.header)} columns, "
             f"{check.encoding_note}"]
    if check.missing_optional:
        lines.append(f"  missing optional columns: {', '.join(check.missing_optional)}")
    if check.extra_columns:
        lines.append(f"  extra columns (ignored): {', '.join(check.extra_columns)}")
    if check.spec.name == "transactions" and check.header:
        lines.append(f"  {amount_form(check.header)}")
    if check.column_stats and check.column_stats[0].empty is not None:
        width = max(len(stat.name) for stat in check.column_stats)
        lines.append(f"  {'column':<{width}}  {'type':<9}  {'req':<3}  {'empty':>9}  "
                     f"{'unparseable':>11}")
        for stat in check.column_stats:
            bad = "-" if stat.unparseable is None else f"{stat.unparseable:,}"
            lines.append(f"  {stat.name:<{width}}  {stat.type:<9}  "
                         f"{stat.required:<3}  {stat.empty or 0:>9,}  "
                         f"{bad:>11}")
    return lines


def _format_summary(report: CheckReport) -> list[str]:
    header = ("file", "format", "rows", "columns", "missing required", "extra", "unparseable",
              "status")
    rows = [header]
    for check in report.files:
        present = check.path is not None and check.rows is not None
        unparseable = sum(stat.unparseable or 0 for stat in check.column_stats)
        rows.append((
            check.spec.name,
            check.file_format if check.path else "-",
            f"{check.rows:,}" if present else "-",
            f"{len(check.present)}/{len(check.spec.columns)}" if present else "-",
            ", ".join(check.missing_required) or "-",
            str(len(check.extra_columns)) if present else "-",
            f"{unparseable:,}" if present and report.values_counted else "-",
            check.status,
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    right = {2, 5, 6}
    return ["  " + "  ".join(cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
                             for i, cell in enumerate(row)).rstrip()
            for row in rows]
