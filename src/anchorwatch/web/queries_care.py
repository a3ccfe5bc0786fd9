"""Small reads for the care and awards pages: the state of a care user's
venting channels (from the message metadata: no text is decrypted), the
latest care actions, the months a member laboured in, and the awards the
care log shows given.  Plain SELECTs on indexed columns."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from anchorwatch.store import Store, schema, utc_now
from anchorwatch.store.care import CareAction
from anchorwatch.store.venting import Channel


def member_names(store: Store, ids: Iterable[str]) -> dict[str, str]:
    """Display names of ``ids`` (a member without a name shows their id)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    m = schema.members
    with store.engine.connect() as conn:
        rows = conn.execute(select(m.c.id, m.c.name).where(m.c.id.in_(wanted))).all()
    return {mid: name or mid for mid, name in rows}


def member_name(store: Store, member: str) -> str | None:
    """The member's display name, or ``None`` when no such member exists."""
    return member_names(store, [member]).get(member)


@dataclass(frozen=True)
class ChannelState:
    """A venting channel as the inbox lists it.

    ``awaiting`` counts the member's messages since the care user last
    answered: what is still waiting for a reply (the store keeps no read
    receipts; an answer is what closes a message).
    """

    channel: Channel
    name: str
    status: str  # "open", "expired" or "revoked"
    messages: int
    awaiting: int
    latest_at: datetime | None
    latest_author: str | None

    def as_dict(self) -> dict[str, Any]:
        c = self.channel
        return {
            "id": c.id,
            "member": c.member,
            "name": self.name,
            "status": self.status,
            "created_at": _iso(c.created_at),
            "expires_at": _iso(c.expires_at),
            "opt_in": c.opt_in_risk,
            "messages": self.messages,
            "awaiting_reply": self.awaiting,
            "latest_at": _iso(self.latest_at),
            "latest_author": self.latest_author,
        }


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat(timespec="seconds") + "Z"


def channel_status(channel: Channel, now: datetime | None = None) -> str:
    if channel.revoked_at is not None:
        return "revoked"
    return "expired" if channel.expires_at <= (now or utc_now()) else "open"


def channel_states(store: Store, channels: list[Channel]) -> list[ChannelState]:
    """Each channel with its message count, what awaits a reply and its latest
    message; those awaiting a reply first, then the most recently active."""
    if not channels:
        return []
    vm = schema.vent_messages
    ids = [c.id for c in channels]
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(vm.c.channel, vm.c.author, vm.c.at)
            .where(vm.c.channel.in_(ids))
            .order_by(vm.c.at, vm.c.id)
        ).all()
    seen: dict[int, list[tuple[str, datetime]]] = {}
    for channel, author, at in rows:
        seen.setdefault(channel, []).append((author, at))
    names = member_names(store, [c.member for c in channels])
    now = utc_now()
    out = []
    for c in channels:
        msgs = seen.get(c.id, [])
        awaiting = 0
        for author, _at in msgs:
            awaiting = 0 if author == "care" else awaiting + 1
        latest = msgs[-1] if msgs else None
        out.append(
            ChannelState(
                c,
                names.get(c.member, c.member),
                channel_status(c, now),
                len(msgs),
                awaiting,
                latest[1] if latest else None,
                latest[0] if latest else None,
            )
        )
    out.sort(key=lambda s: s.latest_at or datetime.min, reverse=True)
    # Stable: within each group the most recently active stay first.
    return sorted(out, key=lambda s: (s.awaiting == 0, s.status != "open"))


def _action(row: Any) -> CareAction:
    return CareAction(
        row.id,
        row.member,
        row.at,
        row.action,
        row.staff,
        row.episode,
        row.note,
        list((row.extra or {}).get("evidence", [])),
    )


def recent_care(store: Store, limit: int = 20) -> list[CareAction]:
    """The latest care actions of the whole log, newest first."""
    ca = schema.care_actions
    with store.engine.connect() as conn:
        rows = conn.execute(select(ca).order_by(ca.c.at.desc(), ca.c.id.desc()).limit(limit))
        return [_action(r) for r in rows]


def care_count_since(store: Store, since: datetime) -> int:
    ca = schema.care_actions
    with store.engine.connect() as conn:
        return int(
            conn.execute(select(func.count()).select_from(ca).where(ca.c.at >= since)).scalar_one()
        )


def last_care(store: Store, members: Iterable[str]) -> dict[str, CareAction]:
    """The latest care action of each of ``members`` that has one."""
    wanted = sorted(set(members))
    if not wanted:
        return {}
    ca = schema.care_actions
    latest = (
        select(ca.c.member, func.max(ca.c.id).label("id"))
        .where(ca.c.member.in_(wanted))
        .group_by(ca.c.member)
        .subquery()
    )
    with store.engine.connect() as conn:
        rows = conn.execute(select(ca).join(latest, latest.c.id == ca.c.id)).all()
    return {r.member: _action(r) for r in rows}


def labour_months(store: Store, member: str) -> list[str]:
    """``YYYY-MM`` months in which ``member`` did emotional labour, newest first."""
    a = schema.episode_acts
    with store.engine.connect() as conn:
        ats = conn.execute(select(a.c.at).where(a.c.member == member)).scalars()
        months = {f"{at:%Y-%m}" for at in ats if at is not None}
    return sorted(months, reverse=True)


@dataclass(frozen=True)
class GivenAward:
    """An award the care log shows given (action ``award``)."""

    id: int
    member: str
    at: datetime
    staff: str | None
    citation: str
    evidence: list[str]
    year: int
    category: str | None
    reward: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "member": self.member,
            "at": _iso(self.at),
            "staff": self.staff,
            "citation": self.citation,
            "evidence": self.evidence,
            "year": self.year,
            "category": self.category,
            "reward": self.reward,
        }


def given_awards(store: Store, year: int) -> list[GivenAward]:
    """The awards of ``year`` in the care log, oldest first.

    An award given from the web app carries its year, category and reward
    (``extra.award``); one logged by hand (``care log --action award``)
    counts for the year it was logged in, as the award rules count it.
    """
    ca = schema.care_actions
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(ca).where(ca.c.action == "award").order_by(ca.c.at, ca.c.id)
        ).all()
    out = []
    for r in rows:
        award = dict((r.extra or {}).get("award") or {})
        given_for = int(award.get("year") or r.at.year)
        if given_for != year:
            continue
        out.append(
            GivenAward(
                r.id,
                r.member,
                r.at,
                r.staff,
                r.note or "",
                list((r.extra or {}).get("evidence", [])),
                given_for,
                award.get("category"),
                award.get("reward"),
            )
        )
    return out


def message_years(store: Store) -> list[int]:
    """The years with messages, newest first."""
    m = schema.messages
    with store.engine.connect() as conn:
        # Two statements: SQLite answers each from the index, but scans the
        # whole table for min and max asked together.
        first = conn.execute(select(func.min(m.c.sent_at))).scalar()
        last = conn.execute(select(func.max(m.c.sent_at))).scalar()
    if first is None or last is None:
        return []
    return list(range(last.year, first.year - 1, -1))
