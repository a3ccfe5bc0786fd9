"""The members stage: ledger, value index and burnout risk over a store.

Reads the frames once (:func:`load_member_frames`: the I/O edge), applies the
anti-gaming rules, and hands them to the pure functions of
``anchorwatch.members``.  Used by the ``members``, ``member``, ``watchlist``,
``backtest`` and ``export --what members`` commands and by the web app.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import polars as pl

from anchorwatch.members.backtest import BacktestConfig, backtest_config
from anchorwatch.members.burnout import (
    DRIVERS,
    BurnoutConfig,
    burnout_config,
    burnout_risk,
    daily_activity,
    day_date,
    day_number,
    driver_evidence,
    drivers_of,
)
from anchorwatch.members.gaming import GamingRules, discount, gaming_rules
from anchorwatch.members.ledger import ACTS, ledger, period_of
from anchorwatch.members.value import ValueConfig, channel_weights, members_config, value_index
from anchorwatch.records import STAFF_ROLES
from anchorwatch.store import Store


@dataclass
class MemberFrames:
    """Everything the members stage reads, after the anti-gaming rules."""

    acts: pl.DataFrame
    aimed: pl.DataFrame
    messages: pl.DataFrame
    metrics: pl.DataFrame
    care: pl.DataFrame
    names: dict[str, str]
    findings: pl.DataFrame
    #: Labels of opted-in private venting messages (``burnout.VENT_SCHEMA``).
    vents: pl.DataFrame | None = None
    #: Brand staff in the community (role ``official`` or ``operator``): their
    #: labour is paid, so member rankings leave them out.
    staff: frozenset[str] = frozenset()

    @property
    def end_day(self) -> int | None:
        """The day after the last message: "now" for the history."""
        if self.messages.height == 0:
            return None
        return day_number(self.messages["at"].max()) + 1  # type: ignore[arg-type]


def load_member_frames(store: Store, rules: GamingRules | None = None) -> MemberFrames:
    """Read the ledger frames and the care log, and apply the anti-gaming rules."""
    from sqlalchemy import select

    from anchorwatch.store import schema
    from anchorwatch.store.analysis import (
        care_frame,
        ledger_acts,
        ledger_aimed,
        ledger_messages,
        ledger_metrics,
    )
    from anchorwatch.store.retention import SURROGATE_PREFIX

    messages = ledger_messages(store)
    acts, aimed, findings = discount(
        ledger_acts(store), ledger_aimed(store), messages, rules or gaming_rules()
    )
    # A text the retention policy removed stood in as its fingerprint for the
    # reply-spam rule; from here on it is empty (no dossier quotes it).
    removed = pl.col("text").str.starts_with(SURROGATE_PREFIX)
    acts = acts.with_columns(
        pl.when(removed).then(pl.lit("")).otherwise(pl.col("text")).alias("text")
    )
    with store.engine.connect() as conn:
        names: dict[str, str] = {}
        staff: set[str] = set()
        m = schema.members
        for mid, name, role in conn.execute(select(m.c.id, m.c.name, m.c.role)):
            names[mid] = name or mid
            if role in STAFF_ROLES:
                staff.add(mid)
    from anchorwatch.members.burnout import VENT_SCHEMA
    from anchorwatch.store.venting import opted_in_labels

    vents = pl.DataFrame(opted_in_labels(store), schema=VENT_SCHEMA, orient="row")
    return MemberFrames(
        acts,
        aimed,
        messages,
        ledger_metrics(store),
        care_frame(store),
        names,
        findings,
        vents,
        frozenset(staff),
    )


@dataclass
class MembersTable:
    """Ledger, value and risk per member and period, with the evidence."""

    rows: pl.DataFrame
    evidence: dict[tuple[str, str], dict[str, list[str]]]
    period: str
    #: The frames and settings the table was made from, so that evidence the
    #: table did not keep (members below the medium level) can be found later.
    frames: MemberFrames | None = field(default=None, repr=False)
    cfg: BurnoutConfig | None = field(default=None, repr=False)

    def drivers(self, member: str, period: str, *, complete: bool = False) -> list[dict[str, Any]]:
        """The member's drivers in ``period``; ``complete`` finds their evidence
        even where the table kept none (it keeps it for members at risk)."""
        row = self.rows.filter((pl.col("member") == member) & (pl.col("period") == period))
        if row.height == 0:
            return []
        found = row.row(0, named=True)
        evidence = self.evidence.get((member, period))
        if evidence is None and complete:
            evidence = self._evidence_of(found)
        return drivers_of(found, evidence or {})

    def _evidence_of(self, row: dict[str, Any]) -> dict[str, list[str]]:
        if self.frames is None or row.get("risk_day") is None:
            return {}
        member = row["member"]
        point = pl.DataFrame(
            {"member": [member], "day": [row["risk_day"]]},
            schema={"member": pl.String, "day": pl.Int32},
        )
        mine = pl.col("member") == member
        ev = driver_evidence(
            self.frames.messages.filter(mine),
            self.frames.acts.filter(mine),
            self.frames.aimed.filter(pl.col("target") == member),
            point,
            self.cfg or burnout_config(),
        )
        return {d: list(ids) for d, ids in zip(ev["driver"], ev["evidence"], strict=True)}


def frames_until(frames: MemberFrames, until: datetime) -> MemberFrames:
    """The frames as they stood before ``until`` (naive UTC): what a figure
    "as of" a date may see (a June report's award nominations must not
    know July)."""
    cut = pl.col("at") < until
    return replace(
        frames,
        messages=frames.messages.filter(cut),
        acts=frames.acts.filter(cut),
        aimed=frames.aimed.filter(cut),
        care=frames.care.filter(cut),
        metrics=frames.metrics.filter(pl.col("period") < f"{until:%Y-%m}"),
        vents=None if frames.vents is None else frames.vents.filter(cut),
    )


def _period_ends(messages: pl.DataFrame, period: str) -> pl.DataFrame:
    every = {"week": "1w", "month": "1mo", "year": "1y"}[period]
    return (
        messages.select(
            period_of(pl.col("at"), period).alias("period"),
            pl.col("at").dt.truncate(every).dt.offset_by(every).dt.date().alias("_end"),
        )
        .unique("period")
        .select("period", pl.col("_end").cast(pl.Int32).alias("day"))
    )


def risk_at(
    frames: MemberFrames, points: pl.DataFrame, cfg: BurnoutConfig | None = None
) -> pl.DataFrame:
    """The risk (``members.burnout.burnout_risk``) at each (member, day) of ``points``."""
    cfg = cfg or burnout_config()
    daily = daily_activity(
        frames.messages, frames.acts, frames.aimed, frames.care, cfg, frames.vents
    )
    return burnout_risk(daily, points, cfg, care_in_use=frames.care.height > 0)


def members_table(
    frames: MemberFrames,
    period: str = "month",
    value_cfg: ValueConfig | None = None,
    cfg: BurnoutConfig | None = None,
    evidence: bool = True,
) -> MembersTable:
    """Every member and period: the ledger, the value index and the burnout
    risk at the end of the period (or at the end of the history, for the
    period still running)."""
    value_cfg = value_cfg or members_config()
    cfg = cfg or burnout_config()
    table = ledger(frames.acts, frames.aimed, frames.messages, frames.metrics, period)
    weights = channel_weights(frames.acts, frames.messages, period, value_cfg)
    table = value_index(table, value_cfg, weights)
    end = frames.end_day
    if end is None:
        return MembersTable(table, {}, period)
    ends = _period_ends(frames.messages, period).with_columns(pl.col("day").clip(upper_bound=end))
    points = table.select("member", "period").join(ends, on="period")
    risk = risk_at(frames, points.select("member", "day"), cfg)
    keep = ["member", "day", "burnout_risk", "level", "dimension", "care_action", "watched"]
    keep += [f"hazard_{d}" for d in ("exhaustion", "cynicism", "inefficacy", "withdrawal")]
    keep += [f"{d}_{part}" for d in DRIVERS for part in ("value", "baseline", "score")]
    risk = risk.select(keep).unique(["member", "day"])
    rows = table.join(points, on=["member", "period"], how="left").join(
        risk, on=["member", "day"], how="left"
    )
    found: dict[tuple[str, str], dict[str, list[str]]] = {}
    if evidence:
        at_risk = rows.filter(pl.col("level").is_in(["medium", "high"])).select(
            "member", "period", "day"
        )
        ev = driver_evidence(frames.messages, frames.acts, frames.aimed, at_risk, cfg)
        ev = ev.join(at_risk, on=["member", "day"])
        for member, per, driver, ids in ev.select(
            "member", "period", "driver", "evidence"
        ).iter_rows():
            found.setdefault((member, per), {})[driver] = list(ids)
    return MembersTable(rows.rename({"day": "risk_day"}), found, period, frames, cfg)


def watchlist(
    frames: MemberFrames,
    at: date | None = None,
    cfg: BurnoutConfig | None = None,
    levels: tuple[str, ...] = ("medium", "high"),
) -> tuple[pl.DataFrame, dict[str, dict[str, list[str]]]]:
    """Watched members at ``levels`` on ``at`` (default: the end of the
    history), riskiest first, with each one's driver evidence."""
    cfg = cfg or burnout_config()
    end = frames.end_day
    if end is None:
        return pl.DataFrame(), {}
    day = day_number(at) if at else end
    members = frames.messages.select("member").unique()
    points = members.with_columns(pl.lit(day, pl.Int32).alias("day"))
    risk = risk_at(frames, points, cfg).filter(pl.col("watched") & pl.col("level").is_in(levels))
    risk = risk.sort(["burnout_risk", "member"], descending=[True, False])
    ev = driver_evidence(frames.messages, frames.acts, frames.aimed, risk, cfg)
    found: dict[str, dict[str, list[str]]] = {}
    for member, driver, ids in ev.select("member", "driver", "evidence").iter_rows():
        found.setdefault(member, {})[driver] = list(ids)
    return risk, found


def backtest(
    frames: MemberFrames, cfg: BurnoutConfig | None = None, bt: BacktestConfig | None = None
) -> Any:
    """Run the backtest of ``members.backtest`` over the whole history."""
    from anchorwatch.members.backtest import backtest_points, evaluate

    cfg = cfg or burnout_config()
    bt = bt or backtest_config()
    daily = daily_activity(frames.messages, frames.acts, frames.aimed, frames.care, cfg)
    points = backtest_points(daily, frames.messages, cfg, bt, care_in_use=frames.care.height > 0)
    if points.height == 0:
        return None
    return evaluate(points, cfg, bt)


def member_record(table: MembersTable, member: str, period: str) -> dict[str, Any]:
    """One member and period in the export form of DESIGN 3.3."""
    row = table.rows.filter((pl.col("member") == member) & (pl.col("period") == period)).row(
        0, named=True
    )
    return _record(row, table.evidence.get((member, period), {}))


def _record(row: dict[str, Any], evidence: dict[str, list[str]]) -> dict[str, Any]:
    risk = row.get("burnout_risk")
    return {
        "type": "member",
        "member": row["member"],
        "period": row["period"],
        "acts": {a: row[f"acts_{a}"] for a in ACTS if row[f"acts_{a}"]},
        "episodes_served": row["episodes_served"],
        "conflicts_calmed": row["conflicts_calmed"],
        "complaints_converted": row["complaints_converted"],
        "newcomers_stayed": row["newcomers_stayed"],
        "first_response_s": row["first_response_s"],
        "repeated_answered": row["repeated_answered"],
        "thanks_received": row["thanks_received"],
        "attacks_received": row["attacks_received"],
        "accusations_received": row["accusations_received"],
        "messages": row["messages"],
        "reads": row["reads"],
        "plays": row["plays"],
        "leads": row["leads"],
        "value_index": row["value_index"],
        "content_index": row["content_index"],
        "quadrant": row["quadrant"],
        "burnout_risk": None if risk is None else int(risk),
        "level": row.get("level"),
        "care_action": row.get("care_action"),
        "drivers": drivers_of(row, evidence) if risk is not None else [],
    }


def member_records(table: MembersTable) -> list[dict[str, Any]]:
    """Every row of the table in the export form, by member and period."""
    return [
        _record(row, table.evidence.get((row["member"], row["period"]), {}))
        for row in table.rows.sort("member", "period").iter_rows(named=True)
    ]


__all__ = [
    "MemberFrames",
    "MembersTable",
    "backtest",
    "day_date",
    "frames_until",
    "load_member_frames",
    "member_record",
    "member_records",
    "members_table",
    "risk_at",
    "watchlist",
]
