"""The member's side of the private venting channel: ``/vent/TOKEN``.

No account: the unguessable link is the key.  ``GET`` shows the conversation
(HTML, or JSON when the client asks for ``application/json``); ``POST`` takes
``text`` (a form field or JSON) and, optionally, ``opt_in`` (let these
messages count in my own burnout risk).  Unknown links answer 404, expired or
revoked ones 410, a member writing too fast 429.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from anchorwatch.i18n import t
from anchorwatch.store import venting
from anchorwatch.web.deps import StoreDep, VaultDep
from anchorwatch.web.templating import render

router = APIRouter(tags=["vent"])


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _locale(request: Request) -> str:
    return "en" if request.query_params.get("lang") == "en" else "zh-CN"


def _refuse(request: Request, exc: venting.VentError) -> Response:
    locale = _locale(request)
    if _wants_json(request) or request.headers.get("content-type", "").startswith(
        "application/json"
    ):
        return JSONResponse({"detail": exc.code}, status_code=exc.status)
    html = render(
        "vent_closed.html", locale, message=t(exc.code, locale, **exc.params), status=exc.status
    )
    return HTMLResponse(html, status_code=exc.status)


@router.get("/vent/{token}", response_model=None)
def read_channel(token: str, request: Request, store: StoreDep, vault: VaultDep) -> Response:
    try:
        channel = venting.open_channel(store, token)
    except venting.VentError as exc:
        return _refuse(request, exc)
    messages = venting.thread(store, vault, channel)
    if _wants_json(request):
        return JSONResponse(
            {
                "opt_in": channel.opt_in_risk,
                "expires_at": channel.expires_at.isoformat(timespec="seconds") + "Z",
                "messages": [
                    {k: v for k, v in m.as_dict().items() if k in ("author", "at", "text")}
                    for m in messages
                ],
            }
        )
    locale = _locale(request)
    return HTMLResponse(
        render(
            "vent.html",
            locale,
            messages=messages,
            channel=channel,
            token=token,
            sent=request.query_params.get("sent") == "1",
        ),
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def _labels(request: Request, text: str) -> list[str]:
    """The signal labels of a member's message (the lexical heads: fast, offline)."""
    detector = getattr(request.app.state, "vent_detector", None)
    if detector is None:
        from anchorwatch.signals.registry import get_detector

        detector = get_detector("lexical.v1")
        request.app.state.vent_detector = detector
    return list(detector.detect([text], [None]).labels_of(0))


@router.post("/vent/{token}", response_model=None)
async def write_channel(token: str, request: Request, store: StoreDep, vault: VaultDep) -> Response:
    payload: dict[str, Any]
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            payload = dict(await request.json())
        except ValueError:
            raise HTTPException(400, detail="body is not JSON") from None
    else:
        payload = dict(await request.form())
    text = str(payload.get("text") or "")
    opt_in = str(payload.get("opt_in", "")).lower() in ("1", "true", "on", "yes")
    settings = request.app.state.settings
    try:
        channel = venting.open_channel(store, token)
        if opt_in != channel.opt_in_risk and "opt_in" in payload:
            venting.set_opt_in(store, channel, opt_in)
            channel = venting.open_channel(store, token)
        labels = _labels(request, text) if channel.opt_in_risk and text.strip() else None
        mid = venting.write(
            store,
            vault,
            channel,
            text,
            labels=labels,
            max_chars=settings.vent_max_chars,
            max_per_hour=settings.vent_max_per_hour,
        )
    except venting.VentError as exc:
        return _refuse(request, exc)
    if request.headers.get("content-type", "").startswith("application/json"):
        return JSONResponse({"id": mid, "opt_in": channel.opt_in_risk}, status_code=201)
    lang = "&lang=en" if _locale(request) == "en" else ""
    return RedirectResponse(f"/vent/{token}?sent=1{lang}", status_code=303)
