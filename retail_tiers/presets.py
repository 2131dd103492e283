"""Import presets: a platform's or an ERP's order export turned into the transactions contract.

A preset is a mapping file (presets/<name>.yml, or any .yml file an analyst copied and
edited): which files to read and in which encoding, which of their columns is which contract
column, which order statuses are not sales (and under which quarantine reason), and how an
order-level paid amount is spread over the order's lines. This module holds no platform's
names: everything it knows comes from the mapping (docs/import.md describes every key).

`apply_preset` reads the files with DuckDB (CSV through the same encoding checks and UTF-8
copy as a contract file, Excel through its typed Parquet copy), writes one transactions file
in the contract's columns (every value as text) to the build's cache folder, and returns it;
`check` and `build` then read it like any transactions file. Nothing is dropped here: lines
of an excluded status are written with their status, and staging quarantines them with the
preset's reason (the raw_files var carries the status -> reason rules), so row_accounting
counts them.
"""

from __future__ import annotations

import csv
import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import yaml

from retail_tiers.contract import TRANSACTIONS
from retail_tiers.encoding import normalize_encoding, scan_text, transcode_to_cache
from retail_tiers.errors import RetailTiersError
from retail_tiers.project import project_dir

# the reasons a preset may give an excluded status (each is a staging quarantine reason)
EXCLUSION_REASONS: tuple[str, ...] = ("order_unpaid", "order_closed", "order_superseded")
PRESET_KEYS = {"title", "encoding", "unwrap_excel_text", "orders", "lines",
               "excluded_statuses"}
SECTION_KEYS = {"files", "required", "columns", "constants", "allocation"}
ALLOCATION_KEYS = {"order_amount", "weight", "decimals"}


@dataclass(frozen=True)
class Section:
    """One source file of a preset: `orders` (one row per order) or `lines` (per item)."""

    name: str
    files: tuple[str, ...]
    required: bool
    columns: dict[str, str]  # contract column -> source header
    constants: dict[str, str]
    order_amount: str | None = None  # allocation: the order-level amount's header
    weight: tuple[str, ...] = ()  # allocation: headers multiplied into each line's weight
    decimals: int = 2


@dataclass(frozen=True)
class Preset:
    name: str
    path: Path
    title: str
    encoding: str
    unwrap_excel_text: bool
    orders: Section | None
    lines: Section | None
    excluded_statuses: dict[str, str]  # status -> quarantine reason


@dataclass
class PresetResult:
    """What applying a preset to a folder produced."""

    preset: Preset
    transactions: Path  # the contract-shaped file (Parquet, every column text)
    sources: list[tuple[str, int, str]] = field(default_factory=list)  # file, rows, note
    claimed: set[str] = field(default_factory=set)  # file names the preset read
    lines_by_status: dict[str | None, int] = field(default_factory=dict)

    def raw_files_extra(self) -> dict[str, Any]:
        """What the transactions entry of the raw_files var adds (macros/staging_helpers)."""
        return {"excluded_statuses": dict(self.preset.excluded_statuses),
                "preset": self.preset.name}


# ---- loading ------------------------------------------------------------------------------


def preset_path(name: str, project: Path | None = None) -> Path:
    """`taobao` -> presets/taobao.yml in the project; a path to a .yml file as it is."""
    candidate = Path(name).expanduser()
    if name.endswith((".yml", ".yaml")) or candidate.parent != Path("."):
        if not candidate.is_file():
            raise RetailTiersError(f"--preset {name}: no such file")
        return candidate
    folder = (project or project_dir()) / "presets"
    path = folder / f"{name}.yml"
    if not path.is_file():
        known = sorted(found.stem for found in folder.glob("*.yml"))
        raise RetailTiersError(f"--preset {name}: unknown preset (known: {', '.join(known)}; "
                               "or give the path of your own .yml file)")
    return path


def load_preset(name: str, project: Path | None = None) -> Preset:
    """The preset named `name` (or at path `name`), validated; one-line errors name the key."""
    path = preset_path(name, project)
    where = f"preset {path.name}"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else "unreadable"
        raise RetailTiersError(f"{where}: cannot be read as YAML ({first})") from None
    if not isinstance(data, dict):
        raise RetailTiersError(f"{where}: expected a mapping of keys (title, orders, ...)")
    unknown = sorted(set(data) - PRESET_KEYS)
    if unknown:
        raise RetailTiersError(f"{where}: unknown key {unknown[0]} "
                               f"(known: {', '.join(sorted(PRESET_KEYS))})")
    orders = _section(data, "orders", where)
    lines = _section(data, "lines", where)
    if orders is None and lines is None:
        raise RetailTiersError(f"{where}: needs an `orders` or a `lines` section")
    if orders is None and lines is not None and not lines.required:
        raise RetailTiersError(f"{where}: lines.required: false needs an `orders` section")
    if orders is not None and lines is not None and "line_amount" in orders.columns \
            and not lines.order_amount and "line_amount" not in lines.columns:
        raise RetailTiersError(f"{where}: orders.columns.line_amount is an order's amount: "
                               "give lines.allocation to spread it over the lines (or map "
                               "lines.columns.line_amount)")
    statuses = data.get("excluded_statuses") or {}
    if not isinstance(statuses, dict):
        raise RetailTiersError(f"{where}: excluded_statuses: expected status: reason pairs")
    for status, reason in statuses.items():
        if reason not in EXCLUSION_REASONS:
            raise RetailTiersError(f"{where}: excluded_statuses: {status}: reason {reason!r} "
                                   f"is not one of {', '.join(EXCLUSION_REASONS)}")
    if statuses and not any(section and "order_status" in section.columns
                            for section in (orders, lines)):
        raise RetailTiersError(f"{where}: excluded_statuses needs a column mapped to "
                               "order_status")
    try:
        encoding = normalize_encoding(str(data.get("encoding") or "utf-8"))
    except RetailTiersError as error:
        raise RetailTiersError(f"{where}: encoding: {error}") from None
    return Preset(name=path.stem, path=path, title=str(data.get("title") or path.stem),
                  encoding=encoding, unwrap_excel_text=bool(data.get("unwrap_excel_text")),
                  orders=orders, lines=lines,
                  excluded_statuses={str(key): str(value) for key, value in statuses.items()})


def _section(data: dict[str, Any], name: str, where: str) -> Section | None:
    raw = data.get(name)
    if raw is None:
        return None
    where = f"{where}: {name}"
    if not isinstance(raw, dict):
        raise RetailTiersError(f"{where}: expected keys files, columns, ...")
    unknown = sorted(set(raw) - SECTION_KEYS)
    if unknown:
        raise RetailTiersError(f"{where}: unknown key {unknown[0]} "
                               f"(known: {', '.join(sorted(SECTION_KEYS))})")
    files = raw.get("files")
    if isinstance(files, str):
        files = [files]
    if not files or not all(isinstance(pattern, str) for pattern in files):
        raise RetailTiersError(f"{where}: files: expected a list of file name patterns")
    columns = _names(raw.get("columns"), f"{where}: columns")
    constants = _names(raw.get("constants") or {}, f"{where}: constants")
    contract = set(TRANSACTIONS.column_names)
    for column in [*columns, *constants]:
        if column not in contract:
            raise RetailTiersError(f"{where}: {column} is not a transactions column "
                                   f"(one of {', '.join(sorted(contract))})")
    if "order_id" not in columns:
        raise RetailTiersError(f"{where}: columns: order_id must be mapped")
    section = Section(name=name, files=tuple(files), required=bool(raw.get("required", True)),
                      columns=columns, constants=constants)
    allocation = raw.get("allocation")
    if allocation is None:
        return section
    if name != "lines" or not isinstance(allocation, dict):
        raise RetailTiersError(f"{where}: allocation: belongs to the lines section, with keys "
                               f"{', '.join(sorted(ALLOCATION_KEYS))}")
    unknown = sorted(set(allocation) - ALLOCATION_KEYS)
    weight = allocation.get("weight") or []
    weight = [weight] if isinstance(weight, str) else weight
    decimals = allocation.get("decimals", 2)
    if unknown or not allocation.get("order_amount") or not weight \
            or not isinstance(decimals, int) or not 0 <= decimals <= 4:
        raise RetailTiersError(f"{where}: allocation: needs order_amount (a header), weight (a "
                               "list of headers) and decimals (0 to 4)")
    return Section(name=name, files=section.files, required=section.required,
                   columns=columns, constants=constants,
                   order_amount=str(allocation["order_amount"]),
                   weight=tuple(str(item) for item in weight), decimals=decimals)


def _names(raw: Any, where: str) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(isinstance(value, (str, int)) and value != ""
                                            for value in raw.values()):
        raise RetailTiersError(f"{where}: expected contract_column: header pairs")
    return {str(key): str(value) for key, value in raw.items()}


# ---- applying -----------------------------------------------------------------------------


@dataclass
class _Source:
    section: Section
    path: Path
    relation: str  # a DuckDB relation with the file's columns as text, and `_row`
    header: list[str]
    rows: int
    note: str


def apply_preset(preset: Preset, folder: Path, cache_dir: Path, encoding: str | None = None,
                 sheet: str | None = None) -> PresetResult:
    """Read the preset's files in `folder` and write the contract transactions file to
    `cache_dir`; one-line errors name the file and the column."""
    encoding = normalize_encoding(encoding) if encoding else preset.encoding
    cache_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        con.execute("set enable_progress_bar = false")
        sources: dict[str, _Source] = {}
        for section in (preset.orders, preset.lines):
            if section is None:
                continue
            path = _find(section, folder, preset)
            if path is not None:
                sources[section.name] = _read(con, section, path, encoding, cache_dir, sheet)
        if "orders" not in sources and "lines" not in sources:
            raise RetailTiersError(f"{folder}: no file for preset {preset.name}")
        for source in sources.values():
            _check_headers(source, preset, sources)
        out = cache_dir / "preset_transactions.parquet"
        sql = _transactions_sql(preset, sources)
        quoted = str(out).replace("'", "''")
        try:
            con.execute(f"copy ({sql}) to '{quoted}' (format parquet)")
        except duckdb.Error as error:
            raise RetailTiersError(f"preset {preset.name}: the files cannot be combined "
                                   f"({str(error).strip().splitlines()[0]})") from None
        counts = dict(con.execute(
            f"select order_status, count(*) from read_parquet('{quoted}') group by all"
        ).fetchall())
    finally:
        con.close()
    return PresetResult(
        preset=preset, transactions=out,
        sources=[(source.path.name, source.rows, source.note) for source in sources.values()],
        claimed={source.path.name for source in sources.values()},
        lines_by_status=counts)


def _find(section: Section, folder: Path, preset: Preset) -> Path | None:
    found = sorted({path for pattern in section.files for path in folder.iterdir()
                    if path.is_file() and fnmatch.fnmatch(path.name, pattern)})
    if len(found) > 1:
        raise RetailTiersError(
            f"{folder}: {' and '.join(path.name for path in found)} all match the "
            f"{section.name} file of preset {preset.name}: keep only one of them")
    if not found:
        if section.required:
            raise RetailTiersError(
                f"{folder}: no {section.name} file for preset {preset.name} (expected a name "
                f"like {', '.join(section.files)})")
        return None
    return found[0]


def _read(con: duckdb.DuckDBPyConnection, section: Section, path: Path, encoding: str,
          cache_dir: Path, sheet: str | None) -> _Source:
    from retail_tiers.check import csv_relation, quote_identifier, sql_literal

    display = path.name
    if path.stat().st_size == 0:
        raise RetailTiersError(f"{display}: empty file (0 bytes, no header row)")
    if path.name.endswith(".xlsx"):
        from retail_tiers.excel import sheet_to_parquet

        copy = sheet_to_parquet(path, display, cache_dir / f"preset_{section.name}.parquet",
                                sheet, _unique_names)
        header, relation = copy.header, f"read_parquet({sql_literal(str(copy.path))})"
        note = f"Excel sheet {copy.sheet!r}"
    else:
        if encoding == "utf-8":
            scan = scan_text(path, display, encoding)
            read_path = path
            if scan.invalid_line_count:
                read_path, scan = transcode_to_cache(path, display, encoding, cache_dir,
                                                     f"preset_{section.name}")
        else:
            read_path, scan = transcode_to_cache(path, display, encoding, cache_dir,
                                                 f"preset_{section.name}")
        if scan.invalid_line_count:
            raise RetailTiersError(f"{display}: {scan.invalid_line_count} lines are not valid "
                                   f"{encoding.upper()} (line {scan.invalid_lines[0]}): check "
                                   "--encoding")
        if not scan.header_line.strip():
            raise RetailTiersError(f"{display}: the first line is empty: expected a header row")
        header = _unique_names(next(csv.reader([scan.header_line])))
        relation = csv_relation(read_path, header)
        note = encoding.upper() if scan.non_ascii else "ASCII"
    numbered = ("(select row_number() over () as _row, "
                + ", ".join(f"cast({quote_identifier(name)} as varchar) as "
                            f"{quote_identifier(name)}" for name in header)
                + f" from {relation})")
    try:
        rows = con.execute(f"select count(*) from {numbered}").fetchone()[0]
    except duckdb.Error as error:
        from retail_tiers.check import _read_error

        raise RetailTiersError(_read_error(display, error)) from None
    return _Source(section=section, path=path, relation=numbered, header=header, rows=rows,
                   note=note)


def _unique_names(header: list[str]) -> list[str]:
    """Header cells trimmed (exports pad them), blank ones `column<n>`, repeats `<name>_<n>`."""
    names: list[str] = []
    for position, cell in enumerate(header, start=1):
        base = cell.strip().lstrip("\ufeff") or f"column{position}"
        name, number = base, 1
        while name in names:
            number += 1
            name = f"{base}_{number}"
        names.append(name)
    return names


def _check_headers(source: _Source, preset: Preset, sources: dict[str, _Source]) -> None:
    section = source.section
    needed = {header: f"maps it to {column}" for column, header in section.columns.items()}
    if section.order_amount and (section.order_amount not in source.header
                                 and "orders" not in sources):
        needed[section.order_amount] = "spreads it over the lines"
    needed.update({header: "weighs the lines by it" for header in section.weight})
    for header, use in needed.items():
        if header not in source.header:
            raise RetailTiersError(f"{source.path.name}: missing column {header} (preset "
                                   f"{preset.name} {use})")
    if section.order_amount and section.order_amount not in source.header \
            and section.order_amount not in sources["orders"].header:
        raise RetailTiersError(f"{source.path.name}: missing column {section.order_amount} "
                               f"here and in {sources['orders'].path.name} (preset "
                               f"{preset.name} spreads it over the lines)")


def _transactions_sql(preset: Preset, sources: dict[str, _Source]) -> str:
    """One select that yields the contract's columns (text) plus order_status."""
    from retail_tiers.check import quote_identifier as q
    from retail_tiers.check import sql_literal

    def value(alias: str, header: str) -> str:
        text = f"{alias}.{q(header)}"
        if preset.unwrap_excel_text:
            text = f"regexp_replace({text}, '^\\s*=\"(.*)\"\\s*$', '\\1')"
        return f"nullif(trim({text}, ' \t'), '')"

    def contract_value(column: str, aliases: list[tuple[str, Section]]) -> str:
        found = [value(alias, section.columns[column]) for alias, section in aliases
                 if column in section.columns]
        found += [sql_literal(section.constants[column]) for _, section in aliases
                  if column in section.constants]
        if not found:
            return "cast(null as varchar)"
        return found[0] if len(found) == 1 else f"coalesce({', '.join(found)})"

    # the contract columns the preset fills (unmapped ones stay out of the file, so `check`
    # reports them as absent and says which form of amounts the file has)
    mapped = {column for section in (preset.orders, preset.lines) if section is not None
              for column in [*section.columns, *section.constants]}
    if preset.lines is not None and preset.lines.order_amount:
        mapped.add("line_amount")
    columns = [column for column in TRANSACTIONS.column_names
               if column in mapped or column == "transaction_id"]
    excluded = ", ".join(sql_literal(status) for status in preset.excluded_statuses) or "null"
    orders, lines = sources.get("orders"), sources.get("lines")
    if lines is None:
        assert orders is not None
        # every order is one line: its paid amount is the line's
        selects = {column: contract_value(column, [("o", orders.section)])
                   for column in columns}
        selects["transaction_id"] = selects["transaction_id"] if "transaction_id" in \
            orders.section.columns else f"{selects['order_id']} || '-1'"
        listed = ", ".join(f"{expression} as {column}" for column, expression in
                           selects.items())
        return f"select {listed} from {orders.relation} as o order by o._row"

    section = lines.section
    parts = [("l", section)] + ([("o", orders.section)] if orders else [])
    selects = {column: contract_value(column, parts) for column in columns}
    join = ""
    if orders is not None:
        order_key = value("o", orders.section.columns["order_id"])
        join = (f"left join {orders.relation} as o on {order_key}"
                f" = {value('l', section.columns['order_id'])}")
    if section.order_amount:
        # line_amount comes from the allocation only: the order's total is not a line's
        selects.pop("line_amount")
        alias = "l" if section.order_amount in lines.header else "o"
        amount = f"try_cast({value(alias, section.order_amount)} as decimal(18, 4))"
        raw_amount = value(alias, section.order_amount)
        weight = " * ".join(f"coalesce(try_cast({value('l', header)} as decimal(18, 4)), 0)"
                            for header in section.weight)
    base_columns = ", ".join(f"{expression} as {column}"
                             for column, expression in selects.items())
    extra = ""
    if section.order_amount:
        extra = (f", {amount} as _order_amount, {raw_amount} as _raw_order_amount, "
                 f"cast({weight} as decimal(38, 8)) as _weight")
    base = f"select l._row as _row, {base_columns}{extra} from {lines.relation} as l {join}"
    # order-level rows whose order has no line in the lines file: one line each
    orphans = ""
    if orders is not None:
        order_selects = {column: contract_value(column, [("o", orders.section)])
                         for column in columns if column in selects}
        order_key = value("o", orders.section.columns["order_id"])
        line_key = value("l2", section.columns["order_id"])
        order_columns = ", ".join(f"{order_selects[column]} as {column}"
                                  for column in selects)
        orphan_extra = ""
        if section.order_amount:
            order_amount_header = section.order_amount if section.order_amount in \
                orders.header else None
            raw = value("o", order_amount_header) if order_amount_header else "null"
            orphan_extra = (f", try_cast({raw} as decimal(18, 4)) as _order_amount, "
                            f"{raw} as _raw_order_amount, cast(1 as decimal(38, 8)) as _weight")
        orphans = (f"union all by name select 1000000000000 + o._row as _row, {order_columns}"
                   f"{orphan_extra} from {orders.relation} as o where not exists (select 1 "
                   f"from {lines.relation} as l2 where {line_key} = {order_key})")
    numbered = f"""
        select
            *,
            row_number() over (partition by order_id order by _row) as _line_number
        from ({base} {orphans})
    """
    if "transaction_id" in section.columns:
        transaction_id = "transaction_id"
    else:
        transaction_id = "order_id || '-' || _line_number"
    if not section.order_amount:
        listed = ", ".join(f"{transaction_id} as transaction_id" if column == "transaction_id"
                           else column for column in columns)
        return f"select {listed} from ({numbered}) order by _row"
    factor = 10 ** section.decimals
    allocated = f"""
        select
            *,
            coalesce(order_status not in ({excluded}), true) as _shares,
            count(*) filter (where coalesce(order_status not in ({excluded}), true))
                over (partition by order_id) as _sharing_lines,
            sum(case when coalesce(order_status not in ({excluded}), true) then _weight end)
                over (partition by order_id) as _order_weight,
            count(*) filter (where coalesce(order_status not in ({excluded}), true))
                over (partition by order_id order by _row
                      rows between unbounded preceding and current row) as _share_number
        from ({numbered})
    """
    share = (f"case when _order_weight > 0 then round(_order_amount * _weight / _order_weight"
             f" * {factor}) / {factor} else round(_order_amount / _sharing_lines * {factor}) / "
             f"{factor} end")
    shared = f"""
        select
            *,
            case when _shares and _share_number < _sharing_lines then {share} end as _share
        from ({allocated})
    """
    final_amount = f"""
        case
            when not _shares then null
            when _sharing_lines = 1 then _raw_order_amount
            when _share_number < _sharing_lines
                then cast(cast(_share as decimal(18, {section.decimals})) as varchar)
            else cast(cast(_order_amount - coalesce(sum(_share) over (partition by order_id), 0)
                           as decimal(18, {section.decimals})) as varchar)
        end
    """
    listed = ", ".join(
        f"{transaction_id} as transaction_id" if column == "transaction_id"
        else f"{final_amount} as line_amount" if column == "line_amount" else column
        for column in columns)
    return f"select {listed} from ({shared}) order by _row"


# ---- documentation ------------------------------------------------------------------------


def mapping_markdown(preset: Preset) -> str:
    """The preset's mapping as docs/import.md shows it (a test keeps the two equal)."""
    lines = [f"`{preset.name}`: {preset.title}. Encoding {preset.encoding.upper()}"
             + ("; values written as `=\"...\"` are unwrapped." if preset.unwrap_excel_text
                else "."), ""]
    lines += ["| file | names | contract column | from |", "|---|---|---|---|"]
    for section in (preset.orders, preset.lines):
        if section is None:
            continue
        label = section.name + ("" if section.required else " (optional)")
        names = ", ".join(f"`{pattern}`" for pattern in section.files)
        rows = [(column, header) for column, header in section.columns.items()]
        rows += [(column, f"always `{value}`") for column, value in section.constants.items()]
        if section.order_amount:
            rows.append(("line_amount", f"{section.order_amount} spread by "
                                        f"{' x '.join(section.weight)}, to "
                                        f"{section.decimals} decimals"))
        for number, (column, source) in enumerate(rows):
            first = (label, names) if number == 0 else ("", "")
            lines.append(f"| {first[0]} | {first[1]} | {column} | {source} |")
    lines += ["", "| excluded order status | quarantine reason |", "|---|---|"]
    lines += [f"| {status} | `{reason}` |" for status, reason in
              preset.excluded_statuses.items()]
    return "\n".join(lines) + "\n"


def preset_names(project: Path | None = None) -> list[str]:
    """The presets that ship with the project (presets/*.yml)."""
    return sorted(path.stem for path in ((project or project_dir()) / "presets").glob("*.yml"))
