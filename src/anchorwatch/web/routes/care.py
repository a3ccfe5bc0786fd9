"""``/api/v1/care/``: what only care roles may see (DESIGN 3.4).

The router's dependency admits the ``care`` and ``admin`` roles; others get
403, anyone without a valid token 401.  Venting messages are stricter still:
only the care user assigned to the member's channel may read or answer them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from anchorwatch.care.actions import CARE_ACTIONS
from anchorwatch.store import venting
from anchorwatch.store.audit import audit
from anchorwatch.store.care import care_history, log_care_action
from anchorwatch.web.deps import CareUserDep, StoreDep, VaultDep, require_care

router = APIRouter(prefix="/api/v1/care", tags=["care"], dependencies=[Depends(require_care)])


@router.get("/vents")
def read_vents(
    user: CareUserDep, store: StoreDep, vault: VaultDep, member: str = Query(...)
) -> list[dict[str, Any]]:
    """A member's venting messages, oldest first (their assigned care user only)."""
    try:
        found = [m.as_dict() for m in venting.care_read(store, vault, user, member)]
    except venting.VentError as exc:
        raise HTTPException(exc.status, detail=exc.code) from None
    audit(store, user.name, "view_vents", member, {"messages": len(found), "via": "api"})
    return found


class Reply(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


@router.post("/vents/{channel_id}/replies", status_code=201)
def reply(
    channel_id: int, body: Reply, user: CareUserDep, store: StoreDep, vault: VaultDep
) -> dict[str, int]:
    """Answer the member in their channel (the assigned care user only)."""
    try:
        channel = venting.channel_by_id(store, channel_id)
        mid = venting.write(store, vault, channel, body.text, author="care", care_user=user)
    except venting.VentError as exc:
        raise HTTPException(exc.status, detail=exc.code) from None
    return {"id": mid}


@router.get("/channels")
def channels(user: CareUserDep, store: StoreDep) -> list[dict[str, Any]]:
    """The venting channels assigned to the caller."""
    return [
        {
            "id": c.id,
            "member": c.member,
            "created_at": c.created_at.isoformat(timespec="seconds") + "Z",
            "expires_at": c.expires_at.isoformat(timespec="seconds") + "Z",
            "revoked": c.revoked_at is not None,
            "opt_in": c.opt_in_risk,
        }
        for c in venting.care_channels(store, user)
    ]


class CareEntry(BaseModel):
    member: str
    action: str
    note: str | None = None
    episode: str | None = None
    evidence: list[str] = Field(default_factory=list)
    at: datetime | None = None


@router.get("/log")
def read_log(
    _user: CareUserDep, store: StoreDep, member: str | None = None
) -> list[dict[str, Any]]:
    """The care log (one member's, or everyone's), oldest first."""
    return [
        {
            "id": a.id,
            "member": a.member,
            "at": a.at.isoformat(timespec="seconds") + "Z",
            "action": a.action,
            "staff": a.staff,
            "episode": a.episode,
            "note": a.note,
            "evidence": a.evidence,
        }
        for a in care_history(store, member)
    ]


@router.post("/log", status_code=201)
def write_log(entry: CareEntry, user: CareUserDep, store: StoreDep) -> dict[str, int]:
    """Log a care action as the caller."""
    if entry.action not in CARE_ACTIONS:
        raise HTTPException(422, detail=f"action must be one of {', '.join(CARE_ACTIONS)}")
    try:
        cid = log_care_action(
            store,
            entry.member,
            entry.action,
            at=entry.at,
            staff=user.name,
            episode=entry.episode,
            note=entry.note,
            evidence=entry.evidence,
        )
    except KeyError:
        raise HTTPException(404, detail="error.no_member") from None
    return {"id": cid}
