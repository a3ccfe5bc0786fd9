"""``/settings``: the versioned settings operators tune (admin only).

The value-index weights and the quadrant split, the burnout levels and
driver weights (``members.yaml``) and the award categories (``awards.yaml``).
Saving validates through the stages' own parsers, writes the next site
version into the settings directory (``anchorwatch.config.site``), points this
process at it, clears the cached views and records the change in the audit
log.  At start-up the app uses the latest saved version of each file unless
its ``ANCHORWATCH_*_CONFIG`` variable names another.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from anchorwatch.config import site
from anchorwatch.members.burnout import DRIVERS
from anchorwatch.store.audit import audit, audit_entries
from anchorwatch.web.pages import Page, page_roles

log = logging.getLogger(__name__)

#: Form sections: section → the settings file it edits.
SECTIONS = {"value": "members", "burnout": "members", "awards": "awards"}
HISTORY_SHOWN = 10


def settings_dir(app: FastAPI) -> Path:
    """``WebSettings.settings_dir``, else beside the SQLite file (see
    :func:`anchorwatch.config.site.default_dir`)."""
    explicit = getattr(app.state.settings, "settings_dir", None)
    if explicit:
        return Path(explicit)
    url = app.state.store.engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return site.default_dir(f"sqlite:///{url.database}")
    return site.default_dir(None)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    applied = site.apply_saved(settings_dir(app))
    for key, path in applied.items():
        log.info("settings: %s from %s", key, path)
    yield


router = APIRouter(include_in_schema=False, lifespan=_lifespan)

AdminPage = Annotated[Page, Depends(page_roles("admin"))]


def _number(form: dict[str, Any], name: str) -> float:
    raw = str(form.get(name) or "").strip().replace(",", ".")
    try:
        value = float(raw)
    except ValueError:
        raise site.SettingsError("error.settings_number", field=name) from None
    return int(value) if value.is_integer() and "." not in raw else value


def _apply_value(raw: dict[str, Any], form: dict[str, Any]) -> None:
    for section in ("value_weights", "content_weights"):
        for name in raw[section]:
            raw[section][name] = _number(form, f"{section}.{name}")
    raw["quadrant_high"] = _number(form, "quadrant_high")


def _apply_burnout(raw: dict[str, Any], form: dict[str, Any]) -> None:
    burnout = raw["burnout"]
    for level in ("medium", "high"):
        burnout["levels"][level] = _number(form, f"levels.{level}")
    for name in burnout["drivers"]:
        for part in ("weight", "full"):
            burnout["drivers"][name][part] = _number(form, f"drivers.{name}.{part}")


def _apply_awards(raw: dict[str, Any], form: dict[str, Any]) -> None:
    text = str(form.get("categories") or "")
    try:
        categories = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else "?"
        problem = getattr(exc, "problem", None) or str(exc)
        raise site.SettingsError("error.settings_yaml", line=line, detail=problem) from None
    if not isinstance(categories, dict) or not categories:
        raise site.SettingsError("error.settings_categories")
    raw["categories"] = categories


_APPLY = {"value": _apply_value, "burnout": _apply_burnout, "awards": _apply_awards}


def _categories_yaml(raw: dict[str, Any]) -> str:
    return yaml.safe_dump(raw["categories"], allow_unicode=True, sort_keys=False, width=100)


def _history(page: Page) -> list[dict[str, Any]]:
    entries = audit_entries(page.request.app.state.store, limit=500)
    out = []
    for e in entries:
        if e.action != "change_settings":
            continue
        out.append({"at": e.at, "user": e.user_name, **e.detail})
        if len(out) >= HISTORY_SHOWN:
            break
    return out


def _render(
    page: Page,
    *,
    typed: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    notice: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    members = site.current("members")
    awards = site.current("awards")
    directory = settings_dir(page.request.app)
    files = [
        {
            "key": key,
            "env": spec.env,
            "version": (members if key == "members" else awards).get("version"),
            "source": site.source(key),
            "path": directory / spec.filename,
        }
        for key, spec in site.EDITABLE.items()
    ]
    typed = typed or {}
    return page.render(
        "pages/settings.html",
        status_code=status_code,
        members=members,
        burnout=members["burnout"],
        drivers=DRIVERS,
        categories=typed.get("categories") or _categories_yaml(awards),
        awards_version=awards.get("version"),
        typed=typed,
        errors=errors or {},
        notice=notice or {},
        files=files,
        directory=directory,
        history=_history(page),
    )


@router.get("/settings", response_class=HTMLResponse)
def settings_page(page: AdminPage, saved: str | None = None) -> HTMLResponse:
    notice = {}
    if saved in SECTIONS:
        version = site.current(SECTIONS[saved]).get("version")
        notice[saved] = page.t("web.settings.saved", version=version)
    return _render(page, notice=notice)


@router.post("/settings/{section}", response_model=None)
async def save_settings(page: AdminPage, section: str) -> Response:
    form = await page.form()
    if section not in SECTIONS:
        return _render(page, status_code=404)
    key = SECTIONS[section]
    raw = site.current(key)
    app = page.request.app
    try:
        _APPLY[section](raw, form)
        saved = site.save(settings_dir(app), key, raw, user=page.user.name)
    except site.SettingsError as exc:
        typed = {k: v for k, v in form.items() if isinstance(v, str)}
        if exc.code == "error.settings_unchanged":
            return _render(page, typed=typed, notice={section: page.t(exc.code)})
        message = page.t(exc.code, **exc.params)
        return _render(page, typed=typed, errors={section: message}, status_code=422)
    audit(
        app.state.store,
        page.user.name,
        "change_settings",
        detail={
            "file": saved.file.filename,
            "section": section,
            "version": saved.version,
            "previous": saved.previous,
            "changes": [c.as_dict() for c in saved.changes[: site.MAX_CHANGES]],
        },
    )
    app.state.views.clear()
    return RedirectResponse(f"/settings?saved={section}#{section}", status_code=303)
