"""``/api/v1/care/``: the JSON twins of the care pages (care roles only, like
every route under that prefix).

- ``GET /api/v1/care/inbox``: what ``/care`` shows (the members who need
  care, the caller's venting channels, the latest care actions);
- ``GET /api/v1/care/watchlist``: the members who need care;
- ``GET /api/v1/care/thanks/{member}``: the thank-you drafts of a period in
  every tone and language (or those asked for), with the evidence;
- ``GET /api/v1/care/vents/{channel}``: one channel and its conversation,
  ``POST /api/v1/care/vents/{channel}/revoke``: revoke its link (the
  assigned care user only).

Showing risk is audited (``view_watchlist``), reading a channel too
(``view_vents``).  Logging care goes through ``POST /api/v1/care/log``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from anchorwatch.care.thanks import LOCALES, NoEvidence, care_settings, drafts, period_bounds
from anchorwatch.store import venting
from anchorwatch.store.audit import audit
from anchorwatch.store.care import CareAction
from anchorwatch.web.care_views import watch_rows
from anchorwatch.web.deps import CareUserDep, StoreDep, VaultDep, require_care
from anchorwatch.web.queries_care import (
    channel_states,
    labour_months,
    member_name,
    member_names,
    recent_care,
)
from anchorwatch.web.views import views_of

router = APIRouter(prefix="/api/v1/care", tags=["care"], dependencies=[Depends(require_care)])


def _care_record(a: CareAction, names: dict[str, str]) -> dict[str, Any]:
    return {
        "id": a.id,
        "member": a.member,
        "name": names.get(a.member, a.member),
        "at": a.at.isoformat(timespec="seconds") + "Z",
        "action": a.action,
        "staff": a.staff,
        "episode": a.episode,
        "note": a.note,
        "evidence": a.evidence,
    }


@router.get("/watchlist")
def watchlist(request: Request, user: CareUserDep) -> list[dict[str, Any]]:
    """Members at medium or high burnout risk, riskiest first, with the
    suggested care action, the strongest drivers (with evidence) and the
    latest care action; audited."""
    views = views_of(request)
    rows = watch_rows(views)
    audit(
        views.store, user.name, "view_watchlist", None, {"api": "watchlist", "members": len(rows)}
    )
    return rows


@router.get("/inbox")
def inbox(
    request: Request, user: CareUserDep, limit: Annotated[int, Query(ge=1, le=200)] = 15
) -> dict[str, Any]:
    """What ``/care`` shows: ``watchlist``, the caller's ``channels`` (with
    ``awaiting_reply``: member messages since the last answer) and the
    ``recent`` care actions, newest first; audited."""
    views = views_of(request)
    store = views.store
    rows = watch_rows(views)
    audit(store, user.name, "view_watchlist", None, {"api": "inbox", "members": len(rows)})
    recent = recent_care(store, limit)
    names = member_names(store, [a.member for a in recent])
    return {
        "watchlist": rows,
        "channels": [
            s.as_dict() for s in channel_states(store, venting.care_channels(store, user))
        ],
        "recent": [_care_record(a, names) for a in recent],
    }


@router.get("/thanks/{member}")
def thanks_drafts(
    member: str,
    store: StoreDep,
    period: str | None = None,
    tone: str | None = None,
    language: str | None = None,
) -> dict[str, Any]:
    """The thank-you drafts for ``member`` of ``period`` (``YYYY-MM`` or
    ``YYYY``; default: the latest month they laboured in), in ``tone`` and
    ``language`` (default: all).  404 when the period holds nothing concrete
    to thank for: no generic thank-you is ever drafted."""
    from anchorwatch.store.analysis import thanks_events

    name = member_name(store, member)
    if name is None:
        raise HTTPException(404, detail="error.no_member")
    cfg = care_settings()
    if tone is not None and tone not in cfg["tones"]:
        raise HTTPException(422, detail=f"tone must be one of {', '.join(cfg['tones'])}")
    if language is not None and language not in LOCALES:
        raise HTTPException(422, detail=f"language must be one of {', '.join(LOCALES)}")
    if period is None:
        months = labour_months(store, member)
        if not months:
            raise HTTPException(404, detail="error.no_labour")
        period = months[0]
    try:
        start, end = period_bounds(period)
    except ValueError:
        raise HTTPException(422, detail="error.bad_period") from None
    events = thanks_events(store, member, start, end)
    try:
        found = drafts(
            member,
            name,
            events,
            today=min(end, datetime.now()),
            period=period,
            tones=(tone,) if tone else None,
            locales=(language,) if language else LOCALES,
        )
    except NoEvidence:
        raise HTTPException(404, detail="error.no_labour") from None
    named = {e for d in found for e in d.episodes}
    return {
        "member": member,
        "name": name,
        "period": period,
        "drafts": [d.as_dict() for d in found],
        "events": [
            {
                "episode": row["episode"],
                "kind": row["kind"],
                "started_at": row["started_at"].isoformat(timespec="seconds") + "Z",
                "conversation": row["conversation"],
                "title": row["title"],
                "acts": row["acts"],
                "messages": row["messages"],
            }
            for row in events.iter_rows(named=True)
            if row["episode"] in named
        ],
    }


def assigned_channel(channel_id: int, user: CareUserDep, store: StoreDep) -> venting.Channel:
    """The channel, for the care user assigned to it only (403 otherwise)."""
    try:
        channel = venting.channel_by_id(store, channel_id)
    except venting.VentError as exc:
        raise HTTPException(exc.status, detail=exc.code) from None
    if channel.care_user != user.id:
        raise HTTPException(403, detail="error.vent_forbidden")
    return channel


AssignedChannel = Annotated[venting.Channel, Depends(assigned_channel)]


@router.get("/vents/{channel_id}")
def read_channel(
    channel: AssignedChannel, user: CareUserDep, store: StoreDep, vault: VaultDep
) -> dict[str, Any]:
    """One channel (its state) and its conversation, oldest first; audited."""
    messages = venting.thread(store, vault, channel)
    audit(store, user.name, "view_vents", channel.member, {"channel": channel.id})
    return {
        "channel": channel_states(store, [channel])[0].as_dict(),
        "messages": [m.as_dict() for m in messages],
    }


@router.post("/vents/{channel_id}/revoke")
def revoke_channel(channel: AssignedChannel, store: StoreDep) -> dict[str, Any]:
    """Revoke the channel's link: the member can no longer open it."""
    if channel.revoked_at is None:
        venting.revoke(store, channel.id)
    return {"id": channel.id, "revoked": True}
