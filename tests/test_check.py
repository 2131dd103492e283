"""`retail-tiers check`: rows, columns and unparseable values per file, against hand-counted
answers; streaming encoding checks against Python's whole-file decoding."""

from __future__ import annotations

import gzip
import random
import re
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import Workspace, csv_text, run_cli, transaction

from retail_tiers import encoding
from retail_tiers.check import check_input, format_report
from retail_tiers.errors import RetailTiersError

MakeRaw = Callable[..., Path]

# Six transaction lines whose values are judged by hand against DESIGN section 1.
HAND_ROWS = [
    # quantity, unit_price, ordered_at
    ("1", "1", "2024-01-01"),             # all fine
    ("2", "1.50", "2024/02/03 10:00"),    # all fine
    ("x", "$3", "20240304"),              # quantity and price unparseable, date fine
    ("", "", ""),                         # empty, not unparseable
    ("2.0", ".5", "2023-02-29"),          # 2.0 is an integer; 2023-02-29 does not exist
    ("2.5", "1,000", "yesterday"),        # all three unparseable
]


def hand_rows() -> list[dict[str, str]]:
    rows = []
    for number, (quantity, price, ordered_at) in enumerate(HAND_ROWS, start=1):
        row = transaction(number, quantity=quantity, unit_price=price, ordered_at=ordered_at)
        del row["discount_amount"]
        row["memo"] = "extra"
        rows.append(row)
    return rows


def test_report_counts_rows_columns_and_unparseable_values(make_raw: MakeRaw) -> None:
    folder = make_raw({"transactions.csv": hand_rows(), "notes.txt": "not a contract file"})
    report = check_input(folder)
    assert report.usable, report.all_errors
    transactions = report.file("transactions")
    assert transactions.rows == len(HAND_ROWS)
    assert transactions.missing_optional == ["discount_amount", "order_status"]
    assert transactions.extra_columns == ["memo"]
    stats = {stat.name: stat for stat in transactions.column_stats}
    assert (stats["quantity"].unparseable, stats["quantity"].empty) == (2, 1)
    assert (stats["unit_price"].unparseable, stats["unit_price"].empty) == (2, 1)
    assert (stats["ordered_at"].unparseable, stats["ordered_at"].empty) == (2, 1)
    assert stats["transaction_id"].unparseable is None  # text: nothing to parse
    assert report.file("customers").status == "absent"
    assert report.ignored_files == ["notes.txt"]
    text = format_report(report)
    assert "extra columns (ignored): memo" in text
    assert "missing optional columns: discount_amount" in text
    summary = text[text.index("summary"):]
    transactions_line = next(line for line in summary.splitlines()
                             if line.strip().startswith("transactions"))
    assert transactions_line.split()[-2:] == [str(2 + 2 + 2), "ok"]


def test_check_command_prints_report_and_exits_zero(workspace: Workspace,
                                                    make_raw: MakeRaw) -> None:
    folder = make_raw({"transactions.csv": hand_rows()})
    result = run_cli(["check", "--input", str(folder)], workspace)
    assert result.exit_code == 0, result.stderr
    assert "transactions.csv (required): 6 rows" in result.stdout
    assert "the input is usable" in result.stdout
    assert result.stderr == ""
    assert not workspace.warehouse.exists()


def test_check_command_reports_then_fails_with_one_line(workspace: Workspace,
                                                        make_raw: MakeRaw) -> None:
    folder = make_raw({"transactions.csv": [transaction(1)], "customers.csv": b""})
    result = run_cli(["check", "--input", str(folder)], workspace)
    assert result.exit_code == 1
    assert "transactions.csv (required): 1 row," in result.stdout
    assert result.error == "error: customers.csv: empty file (0 bytes, no header row)"


def test_parquet_and_gzip_files(make_raw: MakeRaw) -> None:
    table = pa.table({
        "transaction_id": ["T1", "T2"], "order_id": ["O1", "O1"], "customer_id": ["C1", None],
        "ordered_at": pa.array([1704103200000000, 1704189600000000], pa.timestamp("us")),
        "quantity": pa.array([2, -1], pa.int64()), "unit_price": [9.5, 9.5],
    })
    folder = make_raw({"customers.csv.gz": gzip.compress(b"customer_id,city\nC1,Hangzhou\n")})
    pq.write_table(table, folder / "transactions.parquet")
    report = check_input(folder)
    assert report.usable, report.all_errors
    transactions = report.file("transactions")
    assert (transactions.file_format, transactions.rows) == ("parquet", 2)
    assert all(stat.unparseable in (None, 0) for stat in transactions.column_stats)
    assert {stat.name: stat.empty for stat in transactions.column_stats}["customer_id"] == 1
    customers = report.file("customers")
    assert (customers.rows, customers.present) == (1, ["customer_id", "city"])


def test_utf8_bom_is_fine(make_raw: MakeRaw) -> None:
    folder = make_raw({"transactions.csv": b"\xef\xbb\xbf"
                       + csv_text([transaction(1, category="服装")]).encode("utf-8")})
    report = check_input(folder)
    assert report.usable, report.all_errors
    assert report.file("transactions").encoding_note == "UTF-8 with BOM"
    assert report.file("transactions").missing_required == []


def test_gbk_file_with_gbk_encoding(make_raw: MakeRaw) -> None:
    # 服 is B7 FE in GBK: never valid UTF-8, so reading it as UTF-8 must fail.
    folder = make_raw({"transactions.csv": [transaction(1, category="服装鞋帽")]},
                      encoding="gbk")
    assert check_input(folder, encoding="gbk").usable
    assert not check_input(folder).usable


def test_semicolon_separated_file(make_raw: MakeRaw) -> None:
    text = csv_text([transaction(1)]).replace(",", ";")
    report = check_input(make_raw({"transactions.csv": text}))
    assert report.first_error() == ("transactions.csv: columns are separated by semicolons (;); "
                                    "expected a comma-separated file")


def test_column_name_spacing_hint(make_raw: MakeRaw) -> None:
    text = csv_text([transaction(1)]).replace("order_id", "Order ID", 1)
    error = check_input(make_raw({"transactions.csv": text})).first_error()
    assert error.startswith("transactions.csv: missing required column order_id")
    assert "'Order ID'" in error and "underscores" in error


def test_column_names_match_in_any_case(make_raw: MakeRaw) -> None:
    text = csv_text([transaction(1, unit_cost="3.00")])
    text = text.replace("order_id", "Order_ID", 1).replace("category", "CATEGORY", 1)
    text = text.replace("unit_cost", " Unit_Cost ", 1)
    report = check_input(make_raw({"transactions.csv": text}))
    assert report.usable, report.all_errors
    checked = report.file("transactions")
    assert {"order_id", "category", "unit_cost"} <= set(checked.present)
    assert checked.missing_optional == ["order_status"] and checked.extra_columns == []


def test_contract_column_twice_in_any_case(make_raw: MakeRaw) -> None:
    text = csv_text([transaction(1)]).replace("category", "Category", 1)
    text = text.replace("\n", ",category\n", 1).replace("\n", ",x\n").replace(",x\n", "\n", 1)
    report = check_input(make_raw({"transactions.csv": text}))
    assert report.first_error() == ("transactions.csv: column category appears 2 times in the "
                                    "header")


def test_blank_and_repeated_extra_names_are_extra_columns(make_raw: MakeRaw) -> None:
    rows = csv_text([transaction(1)]).splitlines()
    text = rows[0] + ",note,,note,\n" + rows[1] + ",a,b,c,d\n"
    report = check_input(make_raw({"transactions.csv": text}))
    assert report.usable, report.all_errors
    checked = report.file("transactions")
    assert checked.extra_columns == ["note", "column14", "note_2", "column16"]
    assert checked.raw_files_entry()["header"][-4:] == checked.extra_columns


def test_gbk_text_that_happens_to_be_valid_utf8(make_raw: MakeRaw) -> None:
    # 鞋 is D0 AC in GBK, which is also the UTF-8 for the Cyrillic Ь: not UTF-8 Chinese.
    folder = make_raw({"transactions.csv": [transaction(1, category="鞋")]}, encoding="gbk")
    assert check_input(folder, encoding="gbk").usable


def test_check_leaves_no_transcoded_copies(make_raw: MakeRaw, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    folder = make_raw({"transactions.csv": [transaction(1, category="服装")]},
                      encoding="gb18030")
    assert check_input(folder, encoding="gb18030").usable
    assert list(scratch.iterdir()) == []


# ---- the streaming scanner, with tiny chunks so every boundary case happens --------------------


@pytest.fixture
def tiny_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encoding, "CHUNK_BYTES", 7)


def gb_text() -> str:
    lines = ["transaction_id,category,city"]
    lines += [f"T{number},{'服装鞋帽𠀀食品'[number % 6:]},{'上海北京'[number % 3]}"
              for number in range(40)]
    return "\r\n".join(lines) + "\r\n"


def test_transcoding_equals_whole_file_decoding(tmp_path: Path, tiny_chunks: None) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(gb_text().encode("gb18030"))
    copy, scan = encoding.transcode_to_cache(source, "in.csv", "gb18030", tmp_path / "cache",
                                             "transactions")
    assert copy.read_bytes() == gb_text().encode("utf-8")
    assert scan.header_line == "transaction_id,category,city"
    assert scan.has_data and scan.non_ascii


def test_a_bad_line_is_listed_and_replaced_in_the_copy(tmp_path: Path,
                                                        tiny_chunks: None) -> None:
    good = gb_text().encode("gb18030")
    bad_at = good.index(b"\n", 200) + 1  # the start of a line past byte 200
    source = tmp_path / "in.csv"
    source.write_bytes(good[:bad_at] + b"\xff" + good[bad_at:])
    line = good[:bad_at].count(b"\n") + 1
    copy, scan = encoding.transcode_to_cache(source, "in.csv", "gb18030", tmp_path / "cache",
                                             "transactions")
    assert scan.invalid_lines == (line,) and scan.invalid_line_count == 1
    expected = gb_text().split("\n")
    expected[line - 1] = "\ufffd" + expected[line - 1]
    assert copy.read_bytes().decode("utf-8").split("\n") == expected
    # the cached copy is reused, and still knows which line was bad
    _, again = encoding.transcode_to_cache(source, "in.csv", "gb18030", tmp_path / "cache",
                                           "transactions")
    assert again.invalid_lines == (line,)


def test_decode_error_offset_and_line(tmp_path: Path, tiny_chunks: None) -> None:
    # most non-ASCII lines bad: the file is in another encoding, an error at the first one
    text = gb_text().encode("gb18030")
    bad_at = text.index(b"\n", 200) + 1
    lines = text[bad_at:].split(b"\n")
    data = text[:bad_at] + b"\n".join(b"\xff" + part if part else part for part in lines)
    source = tmp_path / "in.csv"
    source.write_bytes(data)
    line = text[:bad_at].count(b"\n") + 1
    with pytest.raises(RetailTiersError) as raised:
        encoding.scan_text(source, "in.csv", "gb18030")
    assert f"byte {bad_at} (line {line})" in str(raised.value)


def test_non_ascii_lines_are_counted_as_splitting_would() -> None:
    # the scanner's count of lines with a byte >= 0x80 (which decides whether a few bad lines
    # are quarantined or the file is in another encoding) against the plain definition
    rng = random.Random(7)
    alphabet = [b"a", b",", b"\n", b"\n", "价".encode(), b"\x80", b"\xff", b" "]
    for _ in range(2000):
        data = b"".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
        expected = sum(1 for line in data.split(b"\n") if not line.isascii())
        assert encoding._non_ascii_lines(data) == expected, data


def test_nul_byte_offset(tmp_path: Path, tiny_chunks: None) -> None:
    data = b"a,b\n1,2\n3,\x004\n"
    source = tmp_path / "in.csv"
    source.write_bytes(data)
    with pytest.raises(RetailTiersError, match=r"NUL byte at byte 10, line 3"):
        encoding.scan_text(source, "in.csv")


def test_header_only_and_blank_lines(tmp_path: Path, tiny_chunks: None) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(b"\xef\xbb\xbfa,b\r\n\r\n\n")
    scan = encoding.scan_text(source, "in.csv")
    assert (scan.header_line, scan.has_data, scan.has_bom) == ("a,b", False, True)


# ---- messages that name the right cause ------------------------------------------------------


def test_utf16_without_bom_is_named(make_raw: MakeRaw) -> None:
    text = csv_text([transaction(1)]).encode("utf-16-le")
    error = check_input(make_raw({"transactions.csv": text})).first_error()
    assert error == ("transactions.csv: is UTF-16 text without a byte order mark (every other "
                     "byte is 0): save it as UTF-8 (or GB18030) CSV")


def test_binary_junk_is_still_binary(make_raw: MakeRaw) -> None:
    data = csv_text([transaction(1)]).encode("utf-8") + b"\x00\x01\x02" * 10
    error = check_input(make_raw({"transactions.csv": data})).first_error()
    assert "binary data (NUL byte" in error


def test_folder_named_like_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "input"
    (folder / "transactions.csv").mkdir(parents=True)
    error = check_input(folder).first_error()
    assert error.endswith("; transactions.csv is a folder, not a file)")
    assert "lower case" not in error


def test_suggested_command_is_whole(make_raw: MakeRaw, workspace: Workspace) -> None:
    folder = make_raw({"transactions.csv": [transaction(1, category="服装")]},
                      encoding="gb18030")
    result = run_cli(["check", "--input", str(folder), "--encoding", "gb18030"], workspace)
    assert result.exit_code == 0, result.stderr
    assert f"run `retail-tiers build --input {folder} --encoding gb18030`" in result.stdout


# ---- strict decoding: a UTF-8 file with one GBK line is never read as GB18030 ---------------


def utf8_file_with_one_gbk_line(make_raw: MakeRaw) -> Path:
    lines = csv_text([transaction(number, category="生鲜食品")
                      for number in range(1, 40)]).encode("utf-8").split(b"\n")
    lines[20] = csv_text([transaction(99, category="服装")]).split("\n")[1].encode("gbk")
    return make_raw({"transactions.csv": b"\n".join(lines)})


def test_utf8_file_with_a_gbk_line_quarantines_that_line(make_raw: MakeRaw,
                                                          workspace: Workspace) -> None:
    folder = utf8_file_with_one_gbk_line(make_raw)
    report = check_input(folder)
    assert report.usable, report.first_error()
    [transactions] = [check for check in report.files if check.spec.name == "transactions"]
    assert transactions.invalid_lines == (21,)
    assert "1 line not valid UTF-8 quarantined as invalid_encoding (line 21)" \
        in transactions.encoding_note
    result = run_cli(["build", "--input", str(folder), "--as-of", "2024-12-31"], workspace)
    assert result.exit_code == 0, result.stderr
    assert "(line 21)" in result.stdout
    staged = workspace.query("select source_row_number, quarantine_reason, category "
                             "from staging.stg_transactions order by source_row_number")
    # line 21 of the file is data row 20; every other row keeps its Chinese category
    assert [row[:2] for row in staged if row[1] is not None] == [(20, "invalid_encoding")]
    assert {row[2] for row in staged if row[1] is None} == {"生鲜食品"}
    assert len(staged) == 39
    # the numbered lines a staging model holds store only what varies from line to line
    # (macros/staging_helpers.sql, numbered_raw_shape): here the flag of the bad line, but not
    # the contract columns the file lacks, nor the one file's name
    assert numbered_lines_columns(workspace, "stg_transactions") == [
        "source_row_number", *[f"raw_{name}" for name in transaction(1)], "has_invalid_text"]
    # the customers file is absent: nothing but the numbering
    assert numbered_lines_columns(workspace, "stg_customers") == ["source_row_number"]


def numbered_lines_columns(workspace: Workspace, model: str) -> list[str]:
    """The columns of the `numbered_lines` CTE of a staging model, as dbt compiled it."""
    compiled = next(workspace.root.glob(f"target/compiled/**/staging/{model}.sql"))
    body = compiled.read_text(encoding="utf-8").split("numbered_lines as materialized (", 1)[1]
    select_list = body.split("\n    from ", 1)[0]
    return re.findall(r" as (\w+)", select_list)


def test_utf8_file_with_a_gbk_line_is_not_read_as_gb18030(make_raw: MakeRaw) -> None:
    report = check_input(utf8_file_with_one_gbk_line(make_raw), encoding="gb18030")
    assert not report.usable
    assert report.first_error() == (
        "transactions.csv: is UTF-8 text, not GB18030, except line 21, which is not valid "
        "UTF-8 and will be quarantined: run without --encoding (read as GB18030, every "
        "Chinese character would change)")
