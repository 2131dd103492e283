"""`make thumbnails`: PNG pictures of report pages for the README, rendered from a real PDF
with pypdfium2 (in the test extra).

    python -m reports.thumbnails REPORT.pdf --page 2=summary --page 5=segments \\
        --out docs/img --prefix report-en
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

THUMBNAIL_WIDTH_PX = 900


def page_pictures(pdf: Path, pages: dict[int, str], out_dir: Path, prefix: str,
                  width_px: int = THUMBNAIL_WIDTH_PX) -> list[Path]:
    """Render the given 1-based pages of `pdf` to out_dir/<prefix>-<name>.png."""
    import pypdfium2 as pdfium

    out_dir.mkdir(parents=True, exist_ok=True)
    document = pdfium.PdfDocument(str(pdf))
    written = []
    try:
        for number, name in pages.items():
            if not 1 <= number <= len(document):
                raise SystemExit(f"{pdf}: has {len(document)} pages, no page {number}")
            page = document[number - 1]
            scale = width_px / page.get_width()
            target = out_dir / f"{prefix}-{name}.png"
            page.render(scale=scale).to_pil().save(target, optimize=True)
            written.append(target)
    finally:
        document.close()
    return written


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pdf", type=Path)
    parser.add_argument("--page", action="append", required=True, metavar="NUMBER=NAME",
                        help="a 1-based page number and the picture's name (repeatable)")
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    parser.add_argument("--prefix", default="report")
    parser.add_argument("--width", type=int, default=THUMBNAIL_WIDTH_PX)
    args = parser.parse_args(argv)
    pages = {}
    for item in args.page:
        number, _, name = item.partition("=")
        pages[int(number)] = name or f"page{number}"
    for path in page_pictures(args.pdf, pages, args.out, args.prefix, args.width):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
