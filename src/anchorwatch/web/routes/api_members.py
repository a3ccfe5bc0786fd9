"""``/api/v1/members``: the ledger and the emotional value index per member
and period (every role), and ``/api/v1/care/members/{id}/risk``: a member's
burnout risk with its drivers (care roles only, every read audited).

The figures are those of the members stage
(:func:`anchorwatch.engines.members.members_table`), computed once per state
of the store (``web/views.py``).  ``settings_version`` names the
``members.yaml`` version that made them (``members.v1``, or a site version
such as ``members.v1+site.3`` after an admin changed the weights).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Annotated, Any, Literal

import polars as pl
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel

from anchorwatch.members.burnout import DIMENSIONS, day_date
from anchorwatch.members.ledger import ACTS
from anchorwatch.members.value import members_config
from anchorwatch.store import schema
from anchorwatch.store.audit import audit
from anchorwatch.web.deps import CareUserDep, current_user, require_care
from anchorwatch.web.views import Views, views_of

router = APIRouter(prefix="/api/v1", tags=["members"], dependencies=[Depends(current_user)])

Period = Literal["week", "month", "year"]
Quadrant = Literal["invisible_anchor", "star", "creator", "quiet"]
Sort = Literal[
    "value_index",
    "content_index",
    "episodes_served",
    "conflicts_calmed",
    "complaints_converted",
    "newcomers_stayed",
    "repeated_answered",
    "thanks_received",
    "messages",
]
COUNTS = (
    "episodes_served",
    "conflicts_calmed",
    "complaints_converted",
    "newcomers_stayed",
    "repeated_answered",
    "thanks_received",
    "messages",
)
DETAIL_COUNTS = (
    "attacks_received",
    "accusations_received",
    "acts_discounted",
    "thanks_discounted",
    "reads",
    "plays",
    "leads",
)
MemberId = Annotated[str, Path(min_length=1, max_length=200)]


class MemberRow(BaseModel):
    """One member in one period: the value index, the quadrant and the ledger counts."""

    member: str
    name: str
    role: str | None
    period: str
    value_index: float
    content_index: float
    quadrant: str
    acts: dict[str, int]
    episodes_served: int
    conflicts_calmed: int
    complaints_converted: int
    newcomers_stayed: int
    repeated_answered: int
    thanks_received: int
    messages: int


class MembersPage(BaseModel):
    period: Period
    at: str | None
    settings_version: str
    total: int
    offset: int
    limit: int
    items: list[MemberRow]


class LedgerPeriod(BaseModel):
    """A member's ledger of one period with each weighted part of the index."""

    period: str
    value_index: float
    content_index: float
    quadrant: str
    channel_weight: float
    value_parts: dict[str, float]
    acts: dict[str, int]
    episodes_served: int
    conflicts_calmed: int
    complaints_converted: int
    newcomers_stayed: int
    repeated_answered: int
    thanks_received: int
    messages: int
    first_response_s: float | None
    attacks_received: int
    accusations_received: int
    acts_discounted: int
    thanks_discounted: int
    reads: int
    plays: int
    leads: int


class MemberDetail(BaseModel):
    member: str
    name: str
    role: str | None
    joined_at: datetime | None
    period: Period
    settings_version: str
    ledger: list[LedgerPeriod]


class Driver(BaseModel):
    """One driver of the risk against the member's own baseline, with evidence messages."""

    dimension: str
    name: str
    value: float | None
    baseline: float | None
    score: float
    evidence: list[str]


class Risk(BaseModel):
    member: str
    name: str
    period: str
    at: date | None
    burnout_risk: int | None
    level: str | None
    dimension: str | None
    care_action: str | None
    watched: bool
    hazards: dict[str, float | None]
    drivers: list[Driver]
    settings_version: str


def _roles(views: Views) -> dict[str, str | None]:
    def load() -> dict[str, str | None]:
        m = schema.members
        with views.store.engine.connect() as conn:
            rows = conn.execute(m.select().with_only_columns(m.c.id, m.c.role))
            return {mid: role for mid, role in rows}

    return views.cache.get("api:member_roles", load)


def _periods(views: Views, period: str) -> list[str]:
    return views.cache.get(
        f"api:periods:{period}",
        lambda: sorted(views.members(period).rows["period"].unique().drop_nulls().to_list()),
    )


def _acts(row: dict[str, Any]) -> dict[str, int]:
    return {a: int(row[f"acts_{a}"]) for a in ACTS if row.get(f"acts_{a}")}


def _slice(views: Views, period: str, at: str) -> pl.DataFrame:
    """The rows of one period, value first, with names and roles (cached)."""

    def build() -> pl.DataFrame:
        rows = views.members(period).rows.filter(pl.col("period") == at)
        names, roles = views.frames().names, _roles(views)
        keep = ["member", "period", "value_index", "content_index", "quadrant"]
        keep += [f"acts_{a}" for a in ACTS] + list(COUNTS)
        return (
            rows.select(keep)
            .with_columns(
                pl.col("member").replace_strict(names, default=pl.col("member")).alias("name"),
                pl.col("member")
                .replace_strict(roles, default=None, return_dtype=pl.String)
                .alias("role"),
            )
            .sort(["value_index", "member"], descending=[True, False])
        )

    return views.cache.get(f"api:members:{period}:{at}", build)


@router.get("/members")
def list_members(
    request: Request,
    period: Period = "month",
    at: Annotated[str | None, Query(max_length=10, description="default: the latest")] = None,
    quadrant: Quadrant | None = None,
    sort: Sort = "value_index",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> MembersPage:
    """Members of one period ranked by ``sort`` (highest first)."""
    views = views_of(request)
    periods = _periods(views, period)
    at = at or (periods[-1] if periods else None)
    version = members_config().version
    if at is None:
        return MembersPage(
            period=period,
            at=None,
            settings_version=version,
            total=0,
            offset=offset,
            limit=limit,
            items=[],
        )
    if at not in periods:
        raise HTTPException(404, detail="error.no_period")
    rows = _slice(views, period, at)
    if quadrant is not None:
        rows = rows.filter(pl.col("quadrant") == quadrant)
    if sort != "value_index":
        rows = rows.sort([sort, "member"], descending=[True, False], nulls_last=True)
    page = rows.slice(offset, limit)
    items = [
        MemberRow(**{k: r[k] for k in MemberRow.model_fields if k != "acts"}, acts=_acts(r))
        for r in page.iter_rows(named=True)
    ]
    return MembersPage(
        period=period,
        at=at,
        settings_version=version,
        total=rows.height,
        offset=offset,
        limit=limit,
        items=items,
    )


def _aware(at: datetime | None, offset: int | None) -> datetime | None:
    """A stored time (naive UTC) in the offset it was written in."""
    if at is None:
        return None
    return at.replace(tzinfo=UTC).astimezone(timezone(timedelta(minutes=offset or 0)))


def _profile(views: Views, member: str) -> Any:
    m = schema.members
    with views.store.engine.connect() as conn:
        return conn.execute(
            m.select()
            .with_only_columns(m.c.id, m.c.name, m.c.role, m.c.joined_at, m.c.joined_offset)
            .where(m.c.id == member)
        ).first()


@router.get("/members/{member_id}")
def member_detail(request: Request, member_id: MemberId, period: Period = "month") -> MemberDetail:
    """A member's ledger and value index, every period, oldest first
    (no burnout risk: that is under ``/api/v1/care/``)."""
    views = views_of(request)
    profile = _profile(views, member_id)
    if profile is None:
        raise HTTPException(404, detail="error.no_member")
    cfg = members_config()
    rows = views.members(period).rows.filter(pl.col("member") == member_id).sort("period")
    ledger = []
    for r in rows.iter_rows(named=True):
        ledger.append(
            LedgerPeriod(
                period=r["period"],
                value_index=r["value_index"],
                content_index=r["content_index"],
                quadrant=r["quadrant"],
                channel_weight=round(float(r["channel_weight"]), 4),
                value_parts={
                    c: round(float(r[f"value_{c}"] or 0.0), 4)
                    for c in cfg.value_weights
                    if f"value_{c}" in r
                },
                acts=_acts(r),
                first_response_s=r["first_response_s"],
                **{k: int(r[k] or 0) for k in (*COUNTS, *DETAIL_COUNTS)},
            )
        )
    return MemberDetail(
        member=profile.id,
        name=profile.name or profile.id,
        role=profile.role,
        joined_at=_aware(profile.joined_at, profile.joined_offset),
        period=period,
        settings_version=cfg.version,
        ledger=ledger,
    )


@router.get(
    "/care/members/{member_id}/risk",
    tags=["care"],
    dependencies=[Depends(require_care)],
)
def member_risk(
    request: Request,
    user: CareUserDep,
    member_id: MemberId,
    period: Period = "month",
    at: Annotated[str | None, Query(max_length=10, description="default: the latest")] = None,
) -> Risk:
    """The member's burnout risk at the end of a period (the latest: at the end
    of the history), its level, the dimension that weighs most, the suggested
    care action and every driver with its evidence.  Care roles only; audited."""
    views = views_of(request)
    profile = _profile(views, member_id)
    if profile is None:
        raise HTTPException(404, detail="error.no_member")
    table = views.members(period)
    rows = table.rows.filter(pl.col("member") == member_id).sort("period")
    if at is not None:
        rows = rows.filter(pl.col("period") == at)
    if rows.height == 0:
        raise HTTPException(404, detail="error.no_period")
    row = rows.row(rows.height - 1, named=True)
    audit(views.store, user.name, "view_risk", member=member_id, detail={"period": row["period"]})
    risk = row.get("burnout_risk")
    day = row.get("risk_day")
    return Risk(
        member=member_id,
        name=profile.name or member_id,
        period=row["period"],
        at=None if day is None else day_date(int(day)),
        burnout_risk=None if risk is None else int(risk),
        level=row.get("level"),
        dimension=row.get("dimension"),
        care_action=row.get("care_action"),
        watched=bool(row.get("watched")),
        hazards={d: row.get(f"hazard_{d}") for d in DIMENSIONS},
        drivers=[Driver(**d) for d in table.drivers(member_id, row["period"])]
        if risk is not None
        else [],
        settings_version=members_config().version,
    )
