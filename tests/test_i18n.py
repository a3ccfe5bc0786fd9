"""Both catalogues carry the same keys and placeholders."""

from __future__ import annotations

import re

from anchorwatch.i18n import LOCALES, catalogue, t

PLACEHOLDER = re.compile(r"{(\w+)}")


def test_catalogues_have_the_same_keys() -> None:
    zh, en = (catalogue(loc) for loc in LOCALES)
    assert set(zh) == set(en)


def test_placeholders_match() -> None:
    zh, en = (catalogue(loc) for loc in LOCALES)
    for key in zh:
        assert set(PLACEHOLDER.findall(zh[key])) == set(PLACEHOLDER.findall(en[key])), key


def test_zh_cn_is_default(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("ANCHORWATCH_LOCALE", raising=False)
    assert t("reject.missing", field="text") == "缺少必填字段「text」"
    monkeypatch.setenv("ANCHORWATCH_LOCALE", "en_US.UTF-8")
    assert t("reject.missing", field="text") == 'missing required field "text"'
