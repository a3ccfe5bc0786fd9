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


def _translator(locale: str) -> Any:
    def tr(key: str, **params: Any) -> str:
        return t(key, locale, **params)

    return tr


def render(name: str, locale: str, **context: Any) -> str:
    """Render ``name`` in ``locale``; templates call ``t(key, **params)``."""
    return _env().get_template(name).render(t=_translator(locale), locale=locale, **context)


def render_blocks(name: str, locale: str, **context: Any) -> tuple[str, str]:
    """The ``title`` and ``main`` blocks of a page template, rendered alone.

    What a page shows of the store is the same for every user of a role; the
    layout around it (the user's name, their CSRF token) is not.  Rendering
    the blocks apart lets the app cache the expensive part and wrap it per
    request (``Page.render_cached``).
    """
    template = _env().get_template(name)
    ctx = template.new_context({"t": _translator(locale), "locale": locale, **context})
    title = "".join(template.blocks["title"](ctx)) if "title" in template.blocks else ""
    main = "".join(template.blocks["main"](ctx))
    return title, main
