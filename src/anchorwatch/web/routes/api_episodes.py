"""``/api/v1/episodes``: episodes with their outcomes, and one episode with its
acts and its messages (text and the labelled spans), every role.

Episodes are DESIGN 3.3's: a newcomer question, a conflict, a complaint or an
arrival, the member it is about (``subject``), the acts other members did in
it and the measured outcome.  Message text is member text, returned as
stored: a client that shows it must escape it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel
from sqlalchemy import func, or_, select

from anchorwatch.store import Store, schema
from anchorwatch.web.deps import current_user
from anchorwatch.web.views import views_of

router = APIRouter(prefix="/api/v1", tags=["episodes"], dependencies=[Depends(current_user)])

Kind = Literal["newcomer_question", "conflict", "complaint", "arrival"]


class EpisodeSummary(BaseModel):
    id: str
    kind: str
    conversation: str | None
    thread: str | None
    subject: str
    subject_name: str
    started_at: datetime
    ended_at: datetime
    message_count: int
    outcome: dict[str, Any]
    question_cluster: str | None = None
    times_asked_before: int | None = None


class EpisodesPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[EpisodeSummary]


class EpisodeAct(BaseModel):
    """An act in the episode: who did what, in which message, for whom."""

    message: str
    member: str
    name: str
    act: str
    score: float
    served: str
    latency_s: int | None
    evidence: list[list[int]]


class EpisodeMessage(BaseModel):
    """A message of the episode; ``spans`` are character ranges per label."""

    id: str
    author: str
    author_name: str
    sent_at: str
    reply_to: str | None
    text: str
    labels: list[str]
    spans: dict[str, list[list[int]]]
    acts: list[str]


class EpisodeDetail(EpisodeSummary):
    channel: str | None
    conversation_title: str | None
    acts: list[EpisodeAct]
    messages: list[EpisodeMessage]


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC)


def _local_iso(at: datetime, offset: int | None) -> str:
    tz = timezone(timedelta(minutes=offset or 0))
    return at.replace(tzinfo=UTC).astimezone(tz).isoformat()


def _names(conn: Any, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    m = schema.members
    rows = conn.execute(select(m.c.id, m.c.name).where(m.c.id.in_(sorted(ids))))
    return {mid: name or mid for mid, name in rows}


def _summary(row: Any, names: dict[str, str]) -> EpisodeSummary:
    return EpisodeSummary(
        id=row.id,
        kind=row.kind,
        conversation=row.conversation,
        thread=row.thread,
        subject=row.subject,
        subject_name=names.get(row.subject, row.subject),
        started_at=_utc(row.started_at),
        ended_at=_utc(row.ended_at),
        message_count=len(row.messages or []),
        outcome=dict(row.outcome or {}),
        question_cluster=row.question_cluster,
        times_asked_before=row.times_asked_before,
    )


def list_episodes(
    store: Store, kind: str | None, member: str | None, limit: int, offset: int
) -> EpisodesPage:
    """The newest episodes first, of one kind and/or about or served by one member."""
    e, a = schema.episodes, schema.episode_acts
    where = []
    if kind is not None:
        where.append(e.c.kind == kind)
    if member is not None:
        served = select(a.c.episode).where(a.c.member == member)
        where.append(or_(e.c.subject == member, e.c.id.in_(served)))
    with store.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(e).where(*where)).scalar_one()
        rows = conn.execute(
            select(e)
            .where(*where)
            .order_by(e.c.started_at.desc(), e.c.id.desc())
            .limit(limit)
            .offset(offset)
        ).all()
        names = _names(conn, {r.subject for r in rows})
    return EpisodesPage(
        total=int(total), offset=offset, limit=limit, items=[_summary(r, names) for r in rows]
    )


def episode_detail(store: Store, episode_id: str) -> EpisodeDetail | None:
    e, a, m, s = schema.episodes, schema.episode_acts, schema.messages, schema.message_signals
    c = schema.conversations
    with store.engine.connect() as conn:
        row = conn.execute(select(e).where(e.c.id == episode_id)).first()
        if row is None:
            return None
        acts = conn.execute(
            select(a).where(a.c.episode == episode_id).order_by(a.c.at, a.c.message, a.c.act)
        ).all()
        ids = list(dict.fromkeys([*(row.messages or []), *(x.message for x in acts)]))
        messages = conn.execute(
            select(
                m.c.id,
                m.c.author,
                m.c.sent_at,
                m.c.sent_offset,
                m.c.reply_to,
                m.c.text,
                s.c.labels,
                s.c.evidence,
            )
            .outerjoin(s, s.c.message == m.c.id)
            .where(m.c.id.in_(ids))
            .order_by(m.c.sent_at, m.c.id)
        ).all()
        conv = conn.execute(
            select(c.c.channel, c.c.title).where(c.c.id == row.conversation)
        ).first()
        names = _names(
            conn, {row.subject, *(x.member for x in acts), *(x.author for x in messages)}
        )
    acts_of: dict[str, list[str]] = {}
    for x in acts:
        acts_of.setdefault(x.message, []).append(x.act)
    base = _summary(row, names).model_dump()
    return EpisodeDetail(
        **base,
        channel=conv.channel if conv else None,
        conversation_title=conv.title if conv else None,
        acts=[
            EpisodeAct(
                message=x.message,
                member=x.member,
                name=names.get(x.member, x.member),
                act=x.act,
                score=round(float(x.score), 4),
                served=x.served,
                latency_s=x.latency_s,
                evidence=[list(map(int, sp)) for sp in (x.evidence or [])],
            )
            for x in acts
        ],
        messages=[
            EpisodeMessage(
                id=r.id,
                author=r.author,
                author_name=names.get(r.author, r.author),
                sent_at=_local_iso(r.sent_at, r.sent_offset),
                reply_to=r.reply_to,
                text=r.text,
                labels=list(r.labels or []),
                spans={
                    label: [list(map(int, sp)) for sp in spans]
                    for label, spans in (r.evidence or {}).items()
                },
                acts=acts_of.get(r.id, []),
            )
            for r in messages
        ],
    )


@router.get("/episodes")
def episodes(
    request: Request,
    kind: Kind | None = None,
    member: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> EpisodesPage:
    """Episodes, newest first; ``member``: those about the member or in which
    they acted."""
    views = views_of(request)
    key = f"api:episodes:{kind}:{member}:{limit}:{offset}"
    found: EpisodesPage = views.cache.get(
        key, lambda: list_episodes(views.store, kind, member, limit, offset)
    )
    return found


@router.get("/episodes/{episode_id}")
def episode(
    request: Request, episode_id: Annotated[str, Path(min_length=1, max_length=40)]
) -> EpisodeDetail:
    """One episode: its outcome, its acts and its messages with their spans."""
    found = episode_detail(views_of(request).store, episode_id)
    if found is None:
        raise HTTPException(404, detail="error.no_episode")
    return found
