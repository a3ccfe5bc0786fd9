"""Jinja2 templates of the web app, with the i18n catalogue as ``t``."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from anchorwatch.i18n import t


@cache
def _env() -> Environment:
    return Environment(
        loader=PackageLoader("anchorwatch.web", "templates"),
        autoescape=select_autoescape(["html"]),
    )


def render(name: str, locale: str, **context: Any) -> str:
    """Render ``name`` in ``locale``; templates call ``t(key, **params)``."""

    def tr(key: str, **params: Any) -> str:
        return t(key, locale, **params)

    return _env().get_template(name).render(t=tr, locale=locale, **context)
