"""One mechanism for every user-facing string, zh-CN first.

Catalogues are JSON files beside this module (``zh-CN.json``, ``en.json``) with
``str.format`` placeholders.  The locale comes from the argument, else the
``ANCHORWATCH_LOCALE`` environment variable, else zh-CN.  A key missing from a
catalogue falls back to zh-CN, then to the key itself, so a gap shows up in the
interface instead of crashing it; ``tests/test_i18n.py`` keeps both complete.

>>> t("reject.missing", locale="en", field="text")
'missing required field "text"'
"""

from __future__ import annotations

import json
import os
from functools import cache
from importlib import resources
from typing import Any

DEFAULT_LOCALE = "zh-CN"
LOCALES = ("zh-CN", "en")


@cache
def catalogue(locale: str) -> dict[str, str]:
    """The flat key → template mapping of one locale."""
    path = resources.files(__package__).joinpath(f"{locale}.json")
    data: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return data


def current_locale(locale: str | None = None) -> str:
    value = locale or os.environ.get("ANCHORWATCH_LOCALE") or DEFAULT_LOCALE
    if value.lower().startswith("en"):
        return "en"
    return DEFAULT_LOCALE


def t(key: str, locale: str | None = None, **params: Any) -> str:
    """Translate ``key`` into ``locale`` and fill its placeholders."""
    loc = current_locale(locale)
    template = catalogue(loc).get(key) or catalogue(DEFAULT_LOCALE).get(key) or key
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return template
