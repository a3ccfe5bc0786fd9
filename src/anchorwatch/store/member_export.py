"""One member's copy of everything held about them (DESIGN 3.5, PIPL / GDPR access).

:func:`export_member` gathers, as one JSON document: the profile and the
member's own canonical records (their messages exactly as imported, joins,
reactions, content metrics), the signals of their messages, the acts they did
and the acts that served them, the episodes about them, the ledger with the
value index and burnout risk (with drivers) per month, the anti-gaming
findings, the care log, their venting channels and messages (decrypted: it is
their own copy) and their award nominations.  docs/privacy.md describes every
field.

>>> doc = export_member(store, "u0042", vault=Vault.from_env())  # doctest: +SKIP
>>> doc["version"], len(doc["messages"])                         # doctest: +SKIP
('anchorwatch.member_export.v1', 118)
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import polars as pl
from sqlalchemy import or_, select

from anchorwatch.care.vault import Vault, VaultError
from anchorwatch.records import Join, Member, Message, Metric, Reaction, record_to_dict
from anchorwatch.signals.labels import LABELS
from anchorwatch.store import Store, schema
from anchorwatch.store.erasure import resolve_member
from anchorwatch.store.reader import iter_episodes, iter_records

EXPORT_VERSION = "anchorwatch.member_export.v1"


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat(timespec="seconds") + "Z"


def export_member(
    store: Store,
    member: str,
    *,
    vault: Vault | None = None,
    by: str | None = None,
    awards: bool = True,
) -> dict[str, Any]:
    """Everything ``store`` holds about ``member`` (an id or unique display name).

    Parameters
    ----------
    vault:
        Decrypts the member's venting messages.  Without one the messages are
        listed with ``text: null`` and ``venting.decrypted`` is false.
    by:
        Who exports (a staff user name); when given, an ``export_member``
        audit entry records who and when (never the data).
    awards:
        Include award nominations (computing them reads the whole store once
        per year of history).
    """
    member = resolve_member(store, member)
    records = list(iter_records(store, member=member))
    profile = next(r for r in records if isinstance(r, Member))
    messages = [r for r in records if isinstance(r, Message)]
    doc: dict[str, Any] = {
        "type": "member_export",
        "version": EXPORT_VERSION,
        "exported_at": _iso(datetime.now(UTC).replace(tzinfo=None, microsecond=0)),
        "member": member,
        "profile": record_to_dict(profile),
        "messages": [record_to_dict(r) for r in messages],
        "joins": [record_to_dict(r) for r in records if isinstance(r, Join)],
        "reactions": [record_to_dict(r) for r in records if isinstance(r, Reaction)],
        "metrics": [record_to_dict(r) for r in records if isinstance(r, Metric)],
    }
    doc["signals"] = _signals(store, member)
    doc["acts_done"], doc["acts_received"] = _acts(store, member)
    doc["episodes"] = [ep for ep in iter_episodes(store) if ep["subject"] == member]
    doc.update(_members_stage(store, member, awards))
    doc["care_log"] = _care_log(store, member)
    doc["venting"] = _venting(store, member, vault)
    if by is not None:
        from anchorwatch.store.audit import audit

        audit(store, by, "export_member", member=member)
    return doc


def write_member_export(doc: dict[str, Any], out: Path) -> None:
    """Write the document as indented UTF-8 JSON."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")


def _signals(store: Store, member: str) -> list[dict[str, Any]]:
    m, s, th = schema.messages, schema.message_signals, schema.message_threads
    stmt = (
        select(s, th.c.thread)
        .join(m, m.c.id == s.c.message)
        .outerjoin(th, th.c.message == s.c.message)
        .where(m.c.author == member)
        .order_by(m.c.sent_at, m.c.id)
    )
    with store.engine.connect() as conn:
        return [
            {
                "message": r.message,
                "backend": r.backend,
                "thread": r.thread,
                "labels": list(r.labels or []),
                "scores": {label: round(float(r._mapping[f"p_{label}"]), 4) for label in LABELS},
                "evidence": r.evidence or {},
            }
            for r in conn.execute(stmt)
        ]


def _acts(store: Store, member: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    ea = schema.episode_acts
    stmt = (
        select(ea)
        .where(or_(ea.c.member == member, ea.c.served == member))
        .order_by(ea.c.at, ea.c.message, ea.c.act)
    )
    done: list[dict[str, Any]] = []
    received: list[dict[str, Any]] = []
    with store.engine.connect() as conn:
        for a in conn.execute(stmt):
            row = {
                "episode": a.episode,
                "message": a.message,
                "act": a.act,
                "member": a.member,
                "served": a.served,
                "at": _iso(a.at),
                "score": a.score,
                "latency_s": a.latency_s,
                "evidence": a.evidence or [],
            }
            if a.member == member:
                done.append(row)
            if a.served == member:
                received.append(row)
    return done, received


def _members_stage(store: Store, member: str, awards: bool) -> dict[str, Any]:
    """Ledger, value and risk per month; anti-gaming findings; nominations."""
    from anchorwatch.engines.members import (
        MembersTable,
        load_member_frames,
        member_records,
        members_table,
    )

    frames = load_member_frames(store)
    out: dict[str, Any] = {
        "ledger": [],
        "burnout_risk": None,
        "discounts": [],
        "award_nominations": [],
    }
    if frames.messages.height == 0:
        return out
    table = members_table(frames, "month")
    mine = table.rows.filter(pl.col("member") == member)
    evidence = {k: v for k, v in table.evidence.items() if k[0] == member}
    out["ledger"] = member_records(MembersTable(mine, evidence, "month"))
    latest = [r for r in out["ledger"] if r["burnout_risk"] is not None]
    if latest:
        last = latest[-1]
        out["burnout_risk"] = {
            k: last[k] for k in ("period", "burnout_risk", "level", "care_action", "drivers")
        }
    findings = frames.findings.filter(pl.col("member") == member)
    out["discounts"] = findings.select("rule", "discounted", "reason").to_dicts()
    if awards and mine.height:
        from anchorwatch.engines.awards import award_report

        years = sorted({int(str(p)[:4]) for p in mine["period"].to_list()})
        for year in years:
            report = award_report(store, year, frames=frames)
            out["award_nominations"] += [
                n.as_dict() for n in report.nominations if n.member == member
            ]
            out["award_nominations"] += [x.as_dict() for x in report.excluded if x.member == member]
    return out


def _care_log(store: Store, member: str) -> list[dict[str, Any]]:
    from anchorwatch.store.care import care_history

    return [
        {
            "id": c.id,
            "at": _iso(c.at),
            "action": c.action,
            "staff": c.staff,
            "episode": c.episode,
            "note": c.note,
            "evidence": c.evidence,
        }
        for c in care_history(store, member)
    ]


def _venting(store: Store, member: str, vault: Vault | None) -> dict[str, Any]:
    vc, vm, u = schema.vent_channels, schema.vent_messages, schema.users
    with store.engine.connect() as conn:
        channels = conn.execute(
            select(vc, u.c.name.label("care_name"))
            .outerjoin(u, u.c.id == vc.c.care_user)
            .where(vc.c.member == member)
            .order_by(vc.c.created_at, vc.c.id)
        ).all()
        rows = conn.execute(
            select(vm).where(vm.c.member == member).order_by(vm.c.at, vm.c.id)
        ).all()
    messages = []
    decrypted = vault is not None
    for r in rows:
        text: str | None = None
        if vault is not None:
            try:
                text = vault.decrypt(r.key_id, r.ciphertext)
            except VaultError:
                decrypted = False
        messages.append(
            {
                "id": r.id,
                "channel": r.channel,
                "author": r.author,
                "at": _iso(r.at),
                "text": text,
                "labels": r.labels,
            }
        )
    return {
        "decrypted": decrypted or not rows,
        "channels": [
            {
                "id": c.id,
                "care_user": c.care_name,
                "created_at": _iso(c.created_at),
                "expires_at": _iso(c.expires_at),
                "revoked_at": _iso(c.revoked_at),
                "opt_in_risk": bool(c.opt_in_risk),
            }
            for c in channels
        ],
        "messages": messages,
    }


__all__ = ["EXPORT_VERSION", "export_member", "write_member_export"]
