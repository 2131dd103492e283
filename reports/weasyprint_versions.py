"""Which WeasyPrint versions the report's layout and drawing shortcuts were checked against.

Each shortcut (`blank_leaders`, `content_widths`, `svg_text`) replaces one WeasyPrint
function with a faster one that gives the same pages, checked on these major versions only;
on any other version WeasyPrint's own function stays in use.
"""

from __future__ import annotations

from typing import Any

CHECKED_MAJOR_VERSIONS = frozenset({70})


def is_checked(weasyprint: Any) -> bool:
    """Whether this WeasyPrint module's major version is one the shortcuts were checked on."""
    try:
        major = int(str(weasyprint.__version__).split(".")[0])
    except ValueError:
        return False
    return major in CHECKED_MAJOR_VERSIONS
