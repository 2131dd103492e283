"""Streaming text checks for raw CSV files: encoding, binary junk, header line, transcoding.

DuckDB reads only UTF-8 CSV offline, so a GB18030/GBK export is transcoded here to a UTF-8
copy, chunk by chunk (bounded memory, any file size). The same pass finds what would
otherwise surface as mojibake or a cryptic reader error: bytes that are not valid in the
chosen encoding (a few such lines are quarantined as `invalid_encoding`, the file read through
a copy with U+FFFD in their place; a file mostly invalid is an error naming the encoding),
NUL bytes (binary files), UTF-16 text, and files without line breaks.

Chunks are cut at line breaks: byte 0x0A never occurs inside a multi-byte character in
UTF-8, GBK or GB18030, so every piece decodes on its own.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from retail_tiers.errors import RetailTiersError

ENCODINGS: tuple[str, ...] = ("utf-8", "gb18030", "gbk")
CHUNK_BYTES = 4 << 20
MAX_LINE_BYTES = 64 << 20
SUGGEST_WINDOW_BYTES = 1 << 20
UTF8_EVIDENCE_CHARS = 1000
CJK = re.compile("[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef\U00020000-\U0003134f]")
UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
MAX_LISTED_LINES = 20
# Bad lines are quarantined only while they are fewer than the valid non-ASCII lines (counted
# up to this many): a file most of whose non-ASCII lines are bad is in another encoding.
VALID_LINES_COUNTED = 10_000
# bytes >= 0x80 all become 0x80, the others stay (_non_ascii_lines)
_HIGH_BYTES_MARKED = bytes(range(128)) + b"\x80" * 128
REPLACEMENT = "\ufffd"


@dataclass(frozen=True)
class TextScan:
    """What one streaming pass learned about a text file."""

    header_line: str  # the first line, decoded, without BOM and line break
    has_bom: bool
    byte_count: int  # bytes of the (uncompressed) file
    has_data: bool  # a non-blank line after the header
    non_ascii: bool  # any byte >= 0x80 (so the encoding mattered)
    # lines that are not valid in the encoding, in a file whose other non-ASCII lines are;
    # a copy gets them with U+FFFD in place of the bad bytes, and staging quarantines them
    invalid_lines: tuple[int, ...] = ()  # the first MAX_LISTED_LINES of them
    invalid_line_count: int = 0
    # BLAKE2b (128 bits) of the bytes read, as increments.file_digest computes it: for a
    # plain file its content digest, so a build need not read the file again to get it
    digest: str = ""


def normalize_encoding(encoding: str) -> str:
    name = encoding.strip().lower().replace("_", "-")
    name = {"utf8": "utf-8", "utf-8-sig": "utf-8"}.get(name, name)
    if name not in ENCODINGS:
        raise RetailTiersError(
            f"--encoding {encoding}: not supported (use one of {', '.join(ENCODINGS)})"
        )
    return name


def open_bytes(path: Path) -> BinaryIO:
    """The file's bytes; `.gz` files are decompressed on the fly."""
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def scan_text(path: Path, display: str, encoding: str = "utf-8",
              out: BinaryIO | None = None) -> TextScan:
    """Stream `path`, validating it as `encoding`; with `out`, write it there as UTF-8.

    Raises RetailTiersError naming `display` (the file name shown to the user) and the byte
    offset and line of the first problem.
    """
    encoding = normalize_encoding(encoding)
    scanner = _Scanner(display, encoding, out)
    try:
        with scanner.digest, open_bytes(path) as stream:
            carry = b""
            while True:
                chunk = stream.read(CHUNK_BYTES)
                if not chunk:
                    break
                buffer = carry + chunk if carry else chunk
                cut = buffer.rfind(b"\n") + 1
                if cut == 0:
                    if len(buffer) > MAX_LINE_BYTES:
                        raise RetailTiersError(
                            f"{display}: no line break in the first "
                            f"{MAX_LINE_BYTES >> 20} MiB: not a CSV text file"
                        )
                    carry = buffer
                    continue
                scanner.feed(buffer[:cut])
                carry = buffer[cut:]
            if carry:
                scanner.feed(carry)
    except (OSError, EOFError, zlib.error) as error:
        raise RetailTiersError(f"{display}: cannot be read: {error}") from error
    return scanner.result()


class _Scanner:
    """Checks and decodes pieces of whole lines, tracking byte offsets and line numbers."""

    def __init__(self, display: str, encoding: str, out: BinaryIO | None) -> None:
        self.display = display
        self.encoding = encoding
        self.out = out
        self.offset = 0
        self.lines = 0
        self.digest = _BackgroundDigest()
        self.header_line: str | None = None
        self.has_bom = False
        self.has_data = False
        self.non_ascii = False
        # Only for a non-UTF-8 encoding: is the file UTF-8 Chinese after all? Weighed on the
        # first non-ASCII characters: valid UTF-8 that decodes to mostly CJK text is UTF-8
        # (a GB text rarely decodes as UTF-8 at all, and then not to CJK).
        self.weigh_utf8 = encoding != "utf-8"
        self.utf8_chars = 0
        self.utf8_cjk_chars = 0
        self.utf8_bad_chars = 0
        self.first_bad_utf8_line: int | None = None
        # Lines not valid in the encoding: quarantined while they are a minority of the
        # non-ASCII lines; otherwise the file is in another encoding and `result` says so.
        self.invalid_lines: list[int] = []
        self.invalid_line_count = 0
        self.valid_non_ascii_lines = 0
        self.first_invalid: RetailTiersError | None = None

    def feed(self, piece: bytes) -> None:
        self.digest.update(piece)
        if self.offset == 0:
            piece = self._start(piece)
        nul = piece.find(b"\x00")
        if nul >= 0:
            raise RetailTiersError(
                f"{self.display}: binary data (NUL byte at byte {self.offset + nul}, "
                f"line {self._line_at(piece, nul)}): not a CSV text file"
            )
        text: str | None = None
        if piece.isascii():
            out_bytes = piece
        else:
            self.non_ascii = True
            if self.weigh_utf8:
                self._weigh_utf8(piece)
            invalid_before = self.invalid_line_count
            text = self._decode(piece)
            out_bytes = (piece if self.encoding == "utf-8"
                         and self.invalid_line_count == invalid_before
                         else text.encode("utf-8"))
        if self.header_line is None or not self.has_data:
            self._note_lines(text if text is not None else piece.decode("ascii"))
        if self.out is not None:
            self.out.write(out_bytes)
        self.offset += len(piece)
        self.lines += piece.count(b"\n")

    def _note_lines(self, text: str) -> None:
        if self.header_line is None:
            first, _, rest = text.partition("\n")
            self.header_line = first.rstrip("\r").lstrip("\ufeff")
            self.has_data = bool(rest.strip())
        elif text.strip():
            self.has_data = True

    def _weigh_utf8(self, piece: bytes) -> None:
        """Weigh the piece as UTF-8, line by line in effect: a few lines that are not UTF-8
        (one GBK line pasted into a UTF-8 file) must not hide that the rest is UTF-8."""
        text = piece.decode("utf-8", errors="replace")
        bad = text.count("\ufffd")
        if bad and self.first_bad_utf8_line is None:
            self.first_bad_utf8_line = self.lines + text[:text.index("\ufffd")].count("\n") + 1
        self.utf8_bad_chars += bad
        self.utf8_chars += len(text) - len(text.encode("ascii", "ignore")) - bad
        self.utf8_cjk_chars += len(CJK.findall(text))
        if self.utf8_chars >= UTF8_EVIDENCE_CHARS:
            self._judge_utf8()

    def _judge_utf8(self) -> None:
        self.weigh_utf8 = False
        if self.utf8_chars and self.utf8_cjk_chars * 2 > self.utf8_chars \
                and self.utf8_cjk_chars > self.utf8_bad_chars:
            bad_line = (f" except line {self.first_bad_utf8_line}, which is not valid UTF-8 and "
                        "will be quarantined:" if self.first_bad_utf8_line else ":")
            raise RetailTiersError(
                f"{self.display}: is UTF-8 text, not {self.encoding.upper()},{bad_line} "
                f"run without --encoding (read as {self.encoding.upper()}, every Chinese "
                "character would change)"
            )

    def _start(self, piece: bytes) -> bytes:
        if piece.startswith(UTF16_BOMS):
            raise RetailTiersError(
                f"{self.display}: is UTF-16 text: save it as UTF-8 (or GB18030) CSV"
            )
        if _looks_like_utf16(piece):
            raise RetailTiersError(
                f"{self.display}: is UTF-16 text without a byte order mark (every other byte "
                "is 0): save it as UTF-8 (or GB18030) CSV"
            )
        if piece.startswith(UTF8_BOM):
            self.has_bom = True
            if self.encoding != "utf-8":
                raise RetailTiersError(
                    f"{self.display}: starts with a UTF-8 byte order mark, so it is UTF-8, "
                    f"not {self.encoding}: run without --encoding"
                )
            # The BOM is kept in a UTF-8 copy (DuckDB skips it) and counted in offsets.
        return piece

    def _decode(self, piece: bytes) -> str:
        try:
            text = piece.decode(self.encoding)
        except UnicodeDecodeError as error:
            if self.first_invalid is None:
                self.first_invalid = self._invalid_error(piece, error)
            return self._decode_by_line(piece)
        if self.valid_non_ascii_lines < VALID_LINES_COUNTED:
            self.valid_non_ascii_lines += _non_ascii_lines(piece)
        return text

    def _decode_by_line(self, piece: bytes) -> str:
        """The piece decoded line by line: a bad line is noted and decoded with U+FFFD."""
        parts = []
        for number, line in enumerate(piece.split(b"\n"), start=self.lines + 1):
            try:
                parts.append(line.decode(self.encoding))
                if not line.isascii():
                    self.valid_non_ascii_lines += 1
            except UnicodeDecodeError:
                self.invalid_line_count += 1
                if len(self.invalid_lines) < MAX_LISTED_LINES:
                    self.invalid_lines.append(number)
                parts.append(line.decode(self.encoding, errors="replace"))
        return "\n".join(parts)

    def _invalid_error(self, piece: bytes, error: UnicodeDecodeError) -> RetailTiersError:
        """The error for a file most of whose non-ASCII lines are not valid in the encoding
        (raised by `result` only then: otherwise the bad lines are quarantined)."""
        where = f"byte {self.offset + error.start} (line {self._line_at(piece, error.start)})"
        if self.encoding == "utf-8":
            if _decodes_as_gb18030(piece, error.start):
                return RetailTiersError(
                    f"{self.display}: not valid UTF-8 at {where}; the bytes read as "
                    "GB18030 (Chinese Windows/POS export): rerun with --encoding gb18030"
                )
            return RetailTiersError(
                f"{self.display}: not valid UTF-8 at {where}: save it as UTF-8 CSV"
            )
        return RetailTiersError(
            f"{self.display}: not valid {self.encoding.upper()} at {where}: "
            "check --encoding or save the file as UTF-8 CSV"
        )

    def _line_at(self, piece: bytes, position: int) -> int:
        return self.lines + piece.count(b"\n", 0, position) + 1

    def result(self) -> TextScan:
        if self.weigh_utf8:
            self._judge_utf8()
        if self.first_invalid is not None \
                and self.invalid_line_count >= self.valid_non_ascii_lines:
            raise self.first_invalid
        return TextScan(
            header_line=self.header_line or "",
            has_bom=self.has_bom,
            byte_count=self.offset,
            has_data=self.has_data,
            non_ascii=self.non_ascii,
            invalid_lines=tuple(self.invalid_lines),
            invalid_line_count=self.invalid_line_count,
            digest=self.digest.hexdigest(),
        )


class _BackgroundDigest:
    """BLAKE2b (128 bits) of the pieces given to `update`, in order, computed on a second
    thread while the scanner decodes the next piece (hashlib lets go of the interpreter lock
    for large inputs): at 1 GB the hash is about 1 s of a check's single-threaded 6 s.
    A context manager: leaving it waits for the last piece and stops the thread."""

    def __init__(self) -> None:
        self._digest = hashlib.blake2b(digest_size=16)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="digest")
        self._pending: Future[None] | None = None

    def update(self, piece: bytes) -> None:
        self._wait()
        self._pending = self._worker.submit(self._digest.update, piece)

    def hexdigest(self) -> str:
        self._wait()
        return self._digest.hexdigest()

    def _wait(self) -> None:
        if self._pending is not None:
            self._pending.result()
            self._pending = None

    def __enter__(self) -> _BackgroundDigest:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._worker.shutdown(wait=True)


def _non_ascii_lines(data: bytes) -> int:
    """How many of `data.split(b"\\n")` hold a byte >= 0x80, without a Python step per line:
    every such byte is marked alike (one C pass), then each marked line is found with `find`
    and skipped to its end. At 10M lines (948 MB, in 4 MiB pieces) with 3,146 Chinese ones:
    0.55 s, against 1.35 s for splitting every piece into lines."""
    if data.isascii():
        return 0
    marked = data.translate(_HIGH_BYTES_MARKED)
    count = 0
    position = marked.find(b"\x80")
    while position >= 0:
        count += 1
        line_end = marked.find(b"\n", position)
        if line_end < 0:
            break
        position = marked.find(b"\x80", line_end)
    return count


def _decodes_as_gb18030(piece: bytes, error_position: int) -> bool:
    """Whether the lines around the first bad UTF-8 byte are valid GB18030."""
    start = piece.rfind(b"\n", 0, error_position) + 1
    window = piece[start:start + SUGGEST_WINDOW_BYTES]
    if len(window) == SUGGEST_WINDOW_BYTES:
        cut = window.rfind(b"\n") + 1
        window = window[:cut] if cut > error_position - start else window
    try:
        window.decode("gb18030")
    except UnicodeDecodeError:
        return False
    return True


def transcode_to_cache(path: Path, display: str, encoding: str, cache_dir: Path,
                       cache_name: str) -> tuple[Path, TextScan]:
    """A UTF-8 copy of `path` in `cache_dir`, reused while the source file is unchanged."""
    stat = path.stat()
    key = f"{stat.st_size}-{stat.st_mtime_ns}-{encoding}"
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / f"{cache_name}.utf8.csv"
    stamp = cache_dir / f"{cache_name}.utf8.key"
    source_stamp = f"{path.resolve()}|{key}"
    if target.is_file() and stamp.is_file():
        recorded = _read_stamp(stamp)
        if recorded.get("source") == source_stamp:
            # The source is unchanged: the cheap header/data facts are recomputed; which
            # lines were invalid is known only from the source, so it is recorded.
            scan = scan_text(target, display, "utf-8")
            return target, replace(scan, invalid_lines=tuple(recorded["invalid_lines"]),
                                   invalid_line_count=recorded["invalid_line_count"])
    partial = cache_dir / f"{cache_name}.utf8.csv.partial"
    try:
        with partial.open("wb") as out:
            scan = scan_text(path, display, encoding, out=out)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    stamp.write_text(json.dumps({"source": source_stamp,
                                 "invalid_lines": list(scan.invalid_lines),
                                 "invalid_line_count": scan.invalid_line_count}))
    return target, scan


def _read_stamp(stamp: Path) -> dict:
    try:
        recorded = json.loads(stamp.read_text())
    except (OSError, ValueError):
        return {}
    return recorded if isinstance(recorded, dict) else {}


def _looks_like_utf16(piece: bytes) -> bool:
    """UTF-16 without a byte order mark: in its first bytes, one of the two byte positions is
    almost always 0 (ASCII text) and the other almost never."""
    sample = piece[:512]
    if len(sample) < 8:
        return False
    even, odd = sample[0::2], sample[1::2]
    zero_share = [part.count(0) / len(part) for part in (even, odd)]
    return max(zero_share) > 0.9 and min(zero_share) < 0.1
