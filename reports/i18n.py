"""Every word of the report in English and Chinese, kept in reports/messages/<lang>.yml
(segment names and actions come from the seed segment_rules through the marts).

`Messages(lang)(key, **values)` fills `{name}` placeholders with str.format; the template
escapes the result like any other text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from reports.formats import Lang

MESSAGES_DIR = Path(__file__).resolve().parent / "messages"
# libyaml's parser when PyYAML has it (about ten times faster on the 450-message files; the
# same safe constructors, so the same values), else PyYAML's own
SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """yaml.safe_load, with libyaml's parser when there is one."""
    return yaml.load(text, Loader=SAFE_LOADER)  # a safe loader: plain data only


def load_messages(lang: Lang) -> dict[str, str]:
    """The message table of one language."""
    path = MESSAGES_DIR / f"{lang}.yml"
    table = safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(key): str(value) for key, value in table.items()}


class Messages:
    """Look up a message of one language and fill its placeholders."""

    def __init__(self, lang: Lang) -> None:
        self.lang = lang
        self.table = load_messages(lang)

    def __call__(self, key: str, **values: object) -> str:
        text = self.table.get(key)
        if text is None:
            raise KeyError(f"no {self.lang} message {key!r}")
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in self.table
