"""Streaming text checks for raw CSV files: encoding, binary junk, header line, transcoding.

DuckDB reads only UTF-8 CSV offline, so a GB18030/GBK export is transcoded here to a UTF-8
copy, chunk by chunk (bounded memory, any file size). The same pass finds what would
otherwise surface as mojibake or a cryptic reader error: bytes that are not valid in the
chosen encoding, NUL bytes (binary files), UTF-16 text, and files without line breaks.

Chunks are cut at line breaks: byte 0x0A never occurs inside a multi-byte character in
UTF-8, GBK or GB18030, so every piece decodes on its own.
"""

from __future__ import annotations

import gzip
import os
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from retail_tiers.errors import RetailTiersError

ENCODINGS: tuple[str, ...] = ("utf-8", "gb18030", "gbk")
CHUNK_BYTES = 4 << 20
MAX_LINE_BYTES = 64 << 20
SUGGEST_WINDOW_BYTES = 1 << 20
UTF8_EVIDENCE_CHARS = 1000
# UTF-8 mode: this many Chinese characters read as valid UTF-8 make a bad line a bad line,
# not a sign that the whole file is GB18030.
UTF8_CJK_EVIDENCE = 20
CJK = re.compile("[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef\U00020000-\U0003134f]")
UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class TextScan:
    """What one streaming pass learned about a text file."""

    header_line: str  # the first line, decoded, without BOM and line break
    has_bom: bool
    byte_count: int  # bytes of the (uncompressed) file
    has_data: bool  # a non-blank line after the header
    non_ascii: bool  # any byte >= 0x80 (so the encoding mattered)


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
        with open_bytes(path) as stream:
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
        # UTF-8 mode: Chinese characters read so far, evidence that the file is UTF-8
        self.cjk_read = 0

    def feed(self, piece: bytes) -> None:
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
            text = self._decode(piece)
            out_bytes = piece if self.encoding == "utf-8" else text.encode("utf-8")
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
            bad_line = (f" except line {self.first_bad_utf8_line}, which is not valid UTF-8: fix "
                        "or remove that line and" if self.first_bad_utf8_line else ":")
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
            where = (f"byte {self.offset + error.start} "
                     f"(line {self._line_at(piece, error.start)})")
            if self.encoding == "utf-8":
                self.cjk_read += len(CJK.findall(piece.decode("utf-8", errors="replace")))
                if self.cjk_read >= UTF8_CJK_EVIDENCE:
                    raise RetailTiersError(
                        f"{self.display}: not valid UTF-8 at {where}, but the rest of the "
                        "file is UTF-8 Chinese text: fix or remove that line (read as GB18030, "
                        "all the other Chinese text would change)"
                    ) from None
                if _decodes_as_gb18030(piece, error.start):
                    raise RetailTiersError(
                        f"{self.display}: not valid UTF-8 at {where}; the bytes read as "
                        "GB18030 (Chinese Windows/POS export): rerun with --encoding gb18030"
                    ) from None
                raise RetailTiersError(
                    f"{self.display}: not valid UTF-8 at {where}: save it as UTF-8 CSV"
                ) from None
            raise RetailTiersError(
                f"{self.display}: not valid {self.encoding.upper()} at {where}: "
                "check --encoding or save the file as UTF-8 CSV"
            ) from None
        if self.encoding == "utf-8" and self.cjk_read < UTF8_CJK_EVIDENCE:
            self.cjk_read += len(CJK.findall(text))
        return text

    def _line_at(self, piece: bytes, position: int) -> int:
        return self.lines + piece.count(b"\n", 0, position) + 1

    def result(self) -> TextScan:
        if self.weigh_utf8:
            self._judge_utf8()
        return TextScan(
            header_line=self.header_line or "",
            has_bom=self.has_bom,
            byte_count=self.offset,
            has_data=self.has_data,
            non_ascii=self.non_ascii,
        )


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
    if target.is_file() and stamp.is_file() and stamp.read_text() == source_stamp:
        # The source is unchanged: only the cheap header/data facts are recomputed.
        return target, scan_text(target, display, "utf-8")
    partial = cache_dir / f"{cache_name}.utf8.csv.partial"
    try:
        with partial.open("wb") as out:
            scan = scan_text(path, display, encoding, out=out)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    stamp.write_text(source_stamp)
    return target, scan


def _looks_like_utf16(piece: bytes) -> bool:
    """UTF-16 without a byte order mark: in its first bytes, one of the two byte positions is
    almost always 0 (ASCII text) and the other almost never."""
    sample = piece[:512]
    if len(sample) < 8:
        return False
    even, odd = sample[0::2], sample[1::2]
    zero_share = [part.count(0) / len(part) for part in (even, odd)]
    return max(zero_share) > 0.9 and min(zero_share) < 0.1
