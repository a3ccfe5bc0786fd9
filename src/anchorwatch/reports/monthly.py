"""The monthly community emotional-health report: what it says, not how it looks.

A brand's operations team reads one report a month: how the community felt
(mood and heat, day by day, against the months before), which situations came
up and how they ended (episodes and their outcomes, against the month before),
who carried the emotional work (the anchors, by emotional value index beside
their content value), whether members' empathy calms angry owners better than
the brand's own service (the buffer effect), and who is in line for this
year's awards.  The **care edition** adds the burnout watchlist, which
DESIGN 4 keeps to care roles: the **community edition** never carries a risk.

The module follows the stage shape of the rest of the product: the store is
read once at the edge (:func:`load_report_frames`), everything else is a pure
function over frames (:func:`assemble_report` and the section functions it
calls), so a test can build a report from frames made by hand.  Months are UTC
calendar months, as in the members ledger (``2026-06`` is the month the
ledger's ``period`` calls ``2026-06``).

>>> month_bounds("2026-06")
(datetime.datetime(2026, 6, 1, 0, 0), datetime.datetime(2026, 7, 1, 0, 0))
>>> context_months("2026-02", 3)
['2025-12', '2026-01', '2026-02']
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import polars as pl

from anchorwatch.episodes.batch import HEAT
from anchorwatch.episodes.buffer import BUFFER_COLUMNS, OVERALL, buffer_effect
from anchorwatch.episodes.config import EpisodesConfig, episodes_config
from anchorwatch.records import STAFF_ROLES

if TYPE_CHECKING:
    from anchorwatch.engines.members import MemberFrames
    from anchorwatch.store import Store

EDITIONS = ("community", "care")
"""``community``: for the operations team and the brand; ``care``: adds the
burnout watchlist, for care staff only (DESIGN 4: care, not surveillance)."""

SECTIONS = ("summary", "mood", "episodes", "anchors", "buffer", "awards", "watchlist")
"""Every section, in reading order; ``watchlist`` only in the care edition."""

KINDS = ("newcomer_question", "arrival", "complaint", "conflict")
"""Episode kinds in the order the report lists them (DESIGN 3.3)."""

OUTCOMES: dict[str, tuple[str, ...]] = {
    "newcomer_question": ("answered", "replied", "thanked", "returned_7d", "returned_30d"),
    "arrival": ("welcomed", "first_post", "returned_7d", "returned_30d"),
    "complaint": ("converted", "details_given", "moved_to_channel", "calmer", "spreading"),
    "conflict": ("intervened", "attacks_stopped", "agreement", "cooled"),
}
"""The yes/no outcomes reported per kind, as shares of the kind's episodes.

Most are the stored outcome fields of docs/episodes.md; four are read off
them: ``converted`` (the complainer gave details or moved to the official
channel: the ledger's definition), ``calmer`` (their last message sounds
better than their first), ``spreading`` (other members joined in complaining:
the PR risk, where lower is better) and ``cooled`` (less heat after the
intervention, or in the second half, than before)."""

HEADLINE: dict[str, str] = {
    "newcomer_question": "answered",
    "arrival": "welcomed",
    "complaint": "converted",
    "conflict": "attacks_stopped",
}
"""The one outcome per kind that the summary and the chart show."""

LOWER_IS_BETTER = frozenset({"spreading"})
"""Outcomes where a falling share is the good news."""

RETURN_OUTCOMES = frozenset({"returned_7d", "returned_30d"})
"""Outcomes that need 30 days after the episode to be final."""

SIGNAL_SCHEMA: dict[str, pl.DataType] = {
    "member": pl.String(),
    "at": pl.Datetime("us"),
    "staff": pl.Boolean(),
    "labels": pl.List(pl.String()),
}
"""Scored messages as :func:`load_report_frames` reads them: author, UTC time,
whether the author is brand staff and the labels, plus a ``p_<label>``
probability (``Float64``) for each label the valence settings name."""

MOOD_SCHEMA: dict[str, pl.DataType] = {
    "member": pl.String(),
    "at": pl.Datetime("us"),
    "valence": pl.Float64(),
    "heated": pl.Boolean(),
}
"""One row per member message: its valence (-1..1) and whether it is heated."""

_FLAGS = (
    "answered",
    "replied",
    "thanked",
    "returned_7d",
    "returned_30d",
    "welcomed",
    "first_post",
    "details_given",
    "moved_to_channel",
    "intervened",
    "attacks_stopped",
    "agreement",
)
_NUMBERS = ("sentiment_first", "sentiment_last", "heat_before", "heat_after")

EPISODE_SCHEMA: dict[str, pl.DataType] = {
    "episode": pl.String(),
    "kind": pl.String(),
    "started_at": pl.Datetime("us"),
    **{name: pl.Boolean() for name in _FLAGS},
    "spread": pl.Int64(),
    **{name: pl.Float64() for name in _NUMBERS},
}
"""One row per episode with its stored outcome fields flattened (null where the
kind has no such field)."""

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class ReportError(ValueError):
    """A report that cannot be made, with an i18n message ``code`` and its params."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class ReportOptions:
    """How much the report shows; the defaults fit a page per section.

    ``context_months`` months (the report month and those before) give the
    trend of mood, heat and the buffer effect; ``rolling_days`` smooths the
    daily mood line (a day of a small group is a handful of messages);
    ``top_anchors``, ``nominees_per_category`` and ``top_drivers`` (per
    watched member) bound the tables.
    """

    context_months: int = 6
    rolling_days: int = 7
    top_anchors: int = 10
    nominees_per_category: int = 3
    top_drivers: int = 3

    def __post_init__(self) -> None:
        for name in (
            "context_months",
            "rolling_days",
            "top_anchors",
            "nominees_per_category",
            "top_drivers",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")


@dataclass(frozen=True)
class ReportFrames:
    """Everything the report reads from the store, for one month and its context."""

    signals: pl.DataFrame
    episodes: pl.DataFrame
    responses: pl.DataFrame
    members: MemberFrames
    awards: pl.DataFrame
    data_end: datetime | None
    staff: frozenset[str] = frozenset()


@dataclass(frozen=True)
class MonthlyReport:
    """One month's report, every section a frame (see :func:`assemble_report`).

    ``summary`` (:data:`SUMMARY_SCHEMA`), ``mood_daily`` (:func:`daily_mood`
    over the context window ``months``), ``mood_monthly``
    (:func:`monthly_mood`), ``episodes`` (:func:`episode_summary`),
    ``outcomes`` (:func:`outcome_rates` of this month and the one before),
    ``anchors`` (:func:`anchor_table`), ``quadrants``
    (:func:`quadrant_counts`), ``buffer`` (:func:`buffer_section`), ``awards``
    (:func:`nominee_table`, of ``award_year``) and ``watchlist``
    (:func:`watch_table`).  ``watchlist`` is ``None`` in the community
    edition: the section is not hidden there, it is never computed.
    ``data_end`` is the day of the store's last message.
    """

    month: str
    edition: str
    months: tuple[str, ...]
    data_end: date | None
    summary: pl.DataFrame
    mood_daily: pl.DataFrame
    mood_monthly: pl.DataFrame
    episodes: pl.DataFrame
    outcomes: pl.DataFrame
    anchors: pl.DataFrame
    quadrants: pl.DataFrame
    buffer: pl.DataFrame
    awards: pl.DataFrame
    award_year: int
    watchlist: pl.DataFrame | None = None
    options: ReportOptions = field(default_factory=ReportOptions)

    @property
    def previous_month(self) -> str:
        return shift_month(self.month, -1)

    @property
    def sections(self) -> tuple[str, ...]:
        """The sections this edition carries, in reading order."""
        return SECTIONS if self.watchlist is not None else SECTIONS[:-1]

    @property
    def returns_provisional(self) -> bool:
        """Whether returns within 30 days can still change: the history ends
        less than 30 days after the month."""
        if self.data_end is None:
            return True
        return self.data_end < month_bounds(self.month)[1].date() + timedelta(days=30)


# ---------------------------------------------------------------- months


def parse_month(month: str) -> tuple[int, int]:
    """``"2026-06"`` → ``(2026, 6)``; anything else raises :class:`ReportError`."""
    found = _MONTH.match(month or "")
    if not found:
        raise ReportError("error.bad_month", value=month)
    return int(found.group(1)), int(found.group(2))


def shift_month(month: str, by: int) -> str:
    """The month ``by`` months after (negative: before) ``month``.

    >>> shift_month("2026-01", -1)
    '2025-12'
    """
    year, mon = parse_month(month)
    index = year * 12 + mon - 1 + by
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The first instant of ``month`` and of the month after (naive UTC, as stored)."""
    year, mon = parse_month(month)
    nxt = shift_month(month, 1)
    return datetime(year, mon, 1), datetime(int(nxt[:4]), int(nxt[5:]), 1)


def context_months(month: str, n: int) -> list[str]:
    """The ``n`` months ending with ``month``, oldest first."""
    return [shift_month(month, k) for k in range(1 - n, 1)]


# ---------------------------------------------------------------- mood and heat


def message_mood(signals: pl.DataFrame, cfg: EpisodesConfig | None = None) -> pl.DataFrame:
    """Valence and heat of each member message (``MOOD_SCHEMA``); staff left out.

    Valence is the episodes stage's (``episodes.outcomes.valence``): the
    strongest positive label probability minus the strongest negative one,
    rounded to 0.01 and clipped to -1..1, so the report's mood and the
    complaint outcomes speak the same scale.  A message is heated when it
    carries a heat label (heated, offensive, personal attack).  Brand staff are
    left out: their scripted replies are the brand's voice, not the
    community's mood.
    """
    cfg = cfg or episodes_config()

    def strongest(labels: tuple[str, ...]) -> pl.Expr:
        cols = [pl.col(f"p_{name}") for name in labels if f"p_{name}" in signals.columns]
        return pl.max_horizontal(cols) if cols else pl.lit(0.0)

    return (
        signals.filter(~pl.col("staff").fill_null(False))
        .select(
            "member",
            "at",
            (strongest(cfg.valence_positive) - strongest(cfg.valence_negative))
            .round(2)
            .clip(-1.0, 1.0)
            .cast(pl.Float64)
            .alias("valence"),
            pl.col("labels").list.eval(pl.element().is_in(HEAT)).list.any().alias("heated"),
        )
        .with_columns(pl.col("heated").fill_null(False))
        .sort("at", "member")
    )


def daily_mood(mood: pl.DataFrame, start: date, end: date, window: int = 7) -> pl.DataFrame:
    """Mood and heat per day from ``start`` to ``end`` (exclusive), every day listed.

    ``mood`` and ``heat`` are the day's mean valence and heated share (null on
    a day without messages); ``mood_rolling`` and ``heat_rolling`` pool the
    last ``window`` days' messages, so that a quiet day with two messages does
    not swing the line.
    """
    days = pl.DataFrame(
        {"day": pl.date_range(start, end - timedelta(days=1), "1d", eager=True)},
        schema={"day": pl.Date()},
    )
    per_day = (
        mood.filter(pl.col("at").dt.date().is_between(start, end, closed="left"))
        .group_by(pl.col("at").dt.date().alias("day"))
        .agg(
            pl.len().cast(pl.Int64).alias("messages"),
            pl.col("valence").sum().alias("_valence"),
            pl.col("heated").sum().cast(pl.Int64).alias("_heated"),
        )
    )
    frame = days.join(per_day, on="day", how="left").with_columns(
        pl.col("messages").fill_null(0), pl.col("_valence").fill_null(0.0)
    )
    frame = frame.with_columns(pl.col("_heated").fill_null(0))
    pooled = {
        name: pl.col(name).rolling_sum(window, min_samples=1)
        for name in ("messages", "_valence", "_heated")
    }
    return frame.select(
        "day",
        "messages",
        _share(pl.col("_valence"), pl.col("messages")).alias("mood"),
        _share(pl.col("_heated"), pl.col("messages")).alias("heat"),
        _share(pooled["_valence"], pooled["messages"]).alias("mood_rolling"),
        _share(pooled["_heated"], pooled["messages"]).alias("heat_rolling"),
    )


def _share(part: pl.Expr, whole: pl.Expr) -> pl.Expr:
    return pl.when(whole > 0).then(part.cast(pl.Float64) / whole).otherwise(None)


def monthly_mood(mood: pl.DataFrame, months: list[str]) -> pl.DataFrame:
    """Per month of ``months``: messages, active members, mean mood, heated share."""
    per_month = mood.group_by(pl.col("at").dt.strftime("%Y-%m").alias("month")).agg(
        pl.len().cast(pl.Int64).alias("messages"),
        pl.col("member").n_unique().cast(pl.Int64).alias("members"),
        pl.col("valence").mean().alias("mood"),
        pl.col("heated").mean().alias("heat"),
    )
    frame = pl.DataFrame({"month": months}, schema={"month": pl.String()})
    return frame.join(per_month, on="month", how="left").with_columns(
        pl.col("messages").fill_null(0), pl.col("members").fill_null(0)
    )


# ---------------------------------------------------------------- episodes


def episode_flags(episodes: pl.DataFrame) -> pl.DataFrame:
    """Add the derived outcomes (``converted``, ``calmer``, ``spreading``,
    ``cooled``) and the ``month``, each null where its kind has no such field."""
    kind = pl.col("kind")
    return episodes.with_columns(
        pl.col("started_at").dt.strftime("%Y-%m").alias("month"),
        pl.when(kind == "complaint")
        .then(
            pl.col("details_given").fill_null(False) | pl.col("moved_to_channel").fill_null(False)
        )
        .alias("converted"),
        pl.when(kind == "complaint")
        .then(pl.col("sentiment_last") > pl.col("sentiment_first"))
        .alias("calmer"),
        pl.when(kind == "complaint").then(pl.col("spread") > 0).alias("spreading"),
        pl.when(kind == "conflict")
        .then(pl.col("heat_after") < pl.col("heat_before"))
        .alias("cooled"),
    )


def outcome_rates(episodes: pl.DataFrame, months: list[str]) -> pl.DataFrame:
    """Every kind, outcome and month of ``months``: episodes and the outcome's share.

    Long form, one row per (kind, outcome, month) in the order of
    :data:`OUTCOMES` and ``months``; ``rate`` is null for a month without
    episodes of the kind, so "none happened" never reads as "0% went well".
    """
    flagged = episode_flags(episodes).filter(pl.col("month").is_in(months))
    rows: list[dict[str, Any]] = []
    for kind, names in OUTCOMES.items():
        mine = flagged.filter(pl.col("kind") == kind)
        for name in names:
            stats = {
                r["month"]: r
                for r in mine.group_by("month")
                .agg(
                    pl.col(name).count().cast(pl.Int64).alias("n"),
                    pl.col(name).cast(pl.Float64).mean().alias("rate"),
                )
                .iter_rows(named=True)
            }
            for month in months:
                got = stats.get(month, {})
                rows.append(
                    {
                        "kind": kind,
                        "outcome": name,
                        "month": month,
                        "episodes": got.get("n", 0),
                        "rate": got.get("rate"),
                    }
                )
    return pl.DataFrame(
        rows,
        schema={
            "kind": pl.String(),
            "outcome": pl.String(),
            "month": pl.String(),
            "episodes": pl.Int64(),
            "rate": pl.Float64(),
        },
        orient="row",
    )


def episode_summary(episodes: pl.DataFrame, month: str) -> pl.DataFrame:
    """Per kind: episodes this month and the month before, and the headline outcome.

    Columns ``kind``, ``episodes``, ``episodes_previous``, ``headline`` (the
    outcome of :data:`HEADLINE`), ``rate``, ``rate_previous``.
    """
    previous = shift_month(month, -1)
    rates = outcome_rates(episodes, [previous, month])
    counts = (
        episode_flags(episodes)
        .filter(pl.col("month").is_in([previous, month]))
        .group_by("kind", "month")
        .len()
    )
    count = {(k, m): n for k, m, n in counts.iter_rows()}
    rate = {(k, o, m): r for k, o, m, _n, r in rates.iter_rows()}
    return pl.DataFrame(
        [
            {
                "kind": kind,
                "episodes": count.get((kind, month), 0),
                "episodes_previous": count.get((kind, previous), 0),
                "headline": HEADLINE[kind],
                "rate": rate.get((kind, HEADLINE[kind], month)),
                "rate_previous": rate.get((kind, HEADLINE[kind], previous)),
            }
            for kind in KINDS
        ],
        schema={
            "kind": pl.String(),
            "episodes": pl.Int64(),
            "episodes_previous": pl.Int64(),
            "headline": pl.String(),
            "rate": pl.Float64(),
            "rate_previous": pl.Float64(),
        },
        orient="row",
    )


# ---------------------------------------------------------------- anchors

ANCHOR_COLUMNS = (
    "member",
    "name",
    "value_index",
    "content_index",
    "quadrant",
    "episodes_served",
    "conflicts_calmed",
    "complaints_converted",
    "newcomers_stayed",
    "thanks_received",
)
"""What the anchors table shows: value beside content, and what it was made of.
No burnout risk: the community edition must not rank anyone by it."""


def _names_frame(names: dict[str, str]) -> pl.DataFrame:
    return pl.DataFrame(
        {"member": list(names), "name": list(names.values())},
        schema={"member": pl.String(), "name": pl.String()},
    )


def anchor_table(
    rows: pl.DataFrame, names: dict[str, str], month: str, top: int = 10
) -> pl.DataFrame:
    """The month's ``top`` members by emotional value index (ties by member id).

    ``rows`` are ``engines.members.members_table(frames, "month").rows``; only
    members who did emotional labour that month (value above 0) are listed.
    """
    mine = rows.filter((pl.col("period") == month) & (pl.col("value_index") > 0))
    mine = mine.join(_names_frame(names), on="member", how="left").with_columns(
        pl.col("name").fill_null(pl.col("member"))
    )
    return (
        mine.sort(["value_index", "member"], descending=[True, False])
        .head(top)
        .select(ANCHOR_COLUMNS)
    )


def quadrant_counts(rows: pl.DataFrame, month: str) -> pl.DataFrame:
    """How many of the month's labouring members fall in each quadrant."""
    from anchorwatch.members.value import QUADRANTS

    mine = rows.filter((pl.col("period") == month) & (pl.col("value_index") > 0))
    got = dict(mine.group_by("quadrant").len().iter_rows())
    return pl.DataFrame(
        {"quadrant": list(QUADRANTS), "members": [int(got.get(q, 0)) for q in QUADRANTS]},
        schema={"quadrant": pl.String(), "members": pl.Int64()},
    )


# ---------------------------------------------------------------- buffer effect


def buffer_section(responses: pl.DataFrame, months: list[str]) -> pl.DataFrame:
    """The buffer effect per month of ``months`` and over all of them (``month == "*"``).

    A month holds only a few complaints with a first responder, so the
    interval over the whole window is the one to read; the months show the
    trend.  Every month of the window is listed, with zero counts where it had
    none.
    """
    inside = responses.filter(pl.col("month").is_in(months))
    table = buffer_effect(inside, by=("month",))
    frame = pl.DataFrame({"month": [OVERALL, *months]}, schema={"month": pl.String()})
    joined = frame.join(table, on="month", how="left")
    counts = ("n_official", "n_member", "silent_official", "silent_member")
    return joined.with_columns(pl.col(c).fill_null(0) for c in counts).select(
        "month", *BUFFER_COLUMNS
    )


# ---------------------------------------------------------------- awards and watchlist

AWARD_COLUMNS = ("category", "category_name", "rank", "member", "name", "score")
"""The columns of ``engines.awards.award_table``, in the order the report shows them."""


def nominee_table(awards: pl.DataFrame, per_category: int = 3) -> pl.DataFrame:
    """The first ``per_category`` nominees of each award category, by category
    and rank (the awards engine decides eligibility, ranks and scores)."""
    if awards.height == 0:
        return pl.DataFrame(
            schema={
                "category": pl.String(),
                "category_name": pl.String(),
                "rank": pl.Int64(),
                "member": pl.String(),
                "name": pl.String(),
                "score": pl.Float64(),
            }
        )
    order = {c: i for i, c in enumerate(awards["category"].unique(maintain_order=True))}
    return (
        awards.filter(pl.col("rank") <= per_category)
        .with_columns(pl.col("category").replace_strict(order, return_dtype=pl.Int64).alias("_o"))
        .sort("_o", "rank", "member")
        .select(
            pl.col("category").cast(pl.String),
            pl.col("category_name").cast(pl.String),
            pl.col("rank").cast(pl.Int64),
            pl.col("member").cast(pl.String),
            pl.col("name").cast(pl.String),
            pl.col("score").cast(pl.Float64),
        )
    )


WATCH_SCHEMA: dict[str, pl.DataType] = {
    "member": pl.String(),
    "name": pl.String(),
    "burnout_risk": pl.Int64(),
    "level": pl.String(),
    "dimension": pl.String(),
    "care_action": pl.String(),
    "drivers": pl.List(pl.String()),
}


def watch_table(risk: pl.DataFrame, names: dict[str, str], top_drivers: int = 3) -> pl.DataFrame:
    """The watchlist rows of ``engines.members.watchlist``, riskiest first, each
    with its ``top_drivers`` strongest drivers (``members.burnout.drivers_of``)."""
    from anchorwatch.members.burnout import watchlist_records

    rows = [
        {**r, "drivers": [d["name"] for d in r["drivers"]]}
        for r in watchlist_records(risk, {}, names, top_drivers)
    ]
    frame = pl.DataFrame(rows, schema=WATCH_SCHEMA, orient="row")
    return frame.sort(["burnout_risk", "member"], descending=[True, False])


# ---------------------------------------------------------------- summary

SUMMARY_SCHEMA: dict[str, pl.DataType] = {
    "metric": pl.String(),
    "value": pl.Float64(),
    "previous": pl.Float64(),
    "format": pl.String(),
}
"""One row per headline figure: ``format`` is ``count``, ``share`` (0..1) or
``score`` (-1..1); ``previous`` is the month before (null when unknown)."""


def summary_table(
    mood_monthly: pl.DataFrame,
    episodes: pl.DataFrame,
    anchors_rows: pl.DataFrame,
    month: str,
    buffer: pl.DataFrame,
    watchlist: pl.DataFrame | None = None,
    watch_previous: int | None = None,
) -> pl.DataFrame:
    """The headline figures of the month beside the month before."""
    previous = shift_month(month, -1)
    by_month = {r["month"]: r for r in mood_monthly.iter_rows(named=True)}
    now, before = by_month.get(month, {}), by_month.get(previous, {})

    def labouring(period: str, quadrant: str | None = None) -> float:
        mine = anchors_rows.filter((pl.col("period") == period) & (pl.col("value_index") > 0))
        if quadrant:
            mine = mine.filter(pl.col("quadrant") == quadrant)
        return float(mine.height)

    rows: list[tuple[str, float | None, float | None, str]] = [
        ("messages", now.get("messages"), before.get("messages"), "count"),
        ("members", now.get("members"), before.get("members"), "count"),
        ("mood", now.get("mood"), before.get("mood"), "score"),
        ("heat", now.get("heat"), before.get("heat"), "share"),
    ]
    for r in episodes.iter_rows(named=True):
        rows.append((f"episodes.{r['kind']}", r["episodes"], r["episodes_previous"], "count"))
        rows.append((f"outcome.{r['kind']}", r["rate"], r["rate_previous"], "share"))
    rows.append(("anchors", labouring(month), labouring(previous), "count"))
    rows.append(
        (
            "invisible_anchors",
            labouring(month, "invisible_anchor"),
            labouring(previous, "invisible_anchor"),
            "count",
        )
    )
    overall = buffer.filter(pl.col("month") == OVERALL)
    if overall.height:
        rows.append(("buffer_difference", overall["difference"][0], None, "score"))
    if watchlist is not None:
        prev = None if watch_previous is None else float(watch_previous)
        rows.append(("watchlist", float(watchlist.height), prev, "count"))
    return pl.DataFrame(
        [
            (m, None if v is None else float(v), None if p is None else float(p), f)
            for m, v, p, f in rows
        ],
        schema=SUMMARY_SCHEMA,
        orient="row",
    )


# ---------------------------------------------------------------- assembly


def assemble_report(
    frames: ReportFrames,
    month: str,
    edition: str = "community",
    options: ReportOptions | None = None,
    cfg: EpisodesConfig | None = None,
) -> MonthlyReport:
    """Build every section of ``month``'s report from frames (no I/O).

    Raises :class:`ReportError` for an unknown edition or a month without
    analysed messages.
    """
    from anchorwatch.engines.members import members_table

    options = options or ReportOptions()
    if edition not in EDITIONS:
        raise ReportError(
            "error.bad_choice", option="--edition", value=edition, allowed=", ".join(EDITIONS)
        )
    start, end = month_bounds(month)
    months = context_months(month, options.context_months)
    mood = message_mood(frames.signals, cfg)
    in_month = mood.filter(pl.col("at").is_between(start, end, closed="left"))
    if in_month.height == 0:
        raise ReportError("error.report_no_data", month=month)
    window_start = month_bounds(months[0])[0]
    daily = daily_mood(mood, window_start.date(), end.date(), options.rolling_days)
    per_month = monthly_mood(
        mood.filter(pl.col("at").is_between(window_start, end, closed="left")), months
    )
    episodes = episode_summary(frames.episodes, month)
    outcomes = outcome_rates(frames.episodes, [shift_month(month, -1), month])
    # Brand staff answer complaints for a living: their labour is paid and is
    # not what the anchors section is for.
    table = members_table(frames.members, "month", evidence=False).rows.filter(
        ~pl.col("member").is_in(sorted(frames.staff))
    )
    anchors = anchor_table(table, frames.members.names, month, options.top_anchors)
    buffer = buffer_section(frames.responses, months)
    watch: pl.DataFrame | None = None
    watch_previous: int | None = None
    if edition == "care":
        watch = watch_table(
            _watch_at(frames.members, end), frames.members.names, options.top_drivers
        )
        watch_previous = _watch_at(frames.members, start).height
    summary = summary_table(per_month, episodes, table, month, buffer, watch, watch_previous)
    return MonthlyReport(
        month=month,
        edition=edition,
        months=tuple(months),
        data_end=frames.data_end.date() if frames.data_end else None,
        summary=summary,
        mood_daily=daily,
        mood_monthly=per_month,
        episodes=episodes,
        outcomes=outcomes,
        anchors=anchors,
        quadrants=quadrant_counts(table, month),
        buffer=buffer,
        awards=nominee_table(frames.awards, options.nominees_per_category),
        award_year=start.year,
        watchlist=watch,
        options=options,
    )


def _watch_at(members: MemberFrames, at: datetime) -> pl.DataFrame:
    """The watchlist on ``at``, the first day after a month (or at the history's
    end, when that comes first): the risk as the month closed."""
    from anchorwatch.engines.members import watchlist
    from anchorwatch.members.burnout import day_date

    end = members.end_day
    if end is None:
        return pl.DataFrame()
    day = min(at.date(), day_date(end))
    risk, _evidence = watchlist(members, day)
    return risk


# ---------------------------------------------------------------- the store edge


def load_report_frames(
    store: Store, month: str, options: ReportOptions | None = None
) -> ReportFrames:
    """Read what ``month``'s report needs: the scored messages and the episodes
    of the context window, the complaint responses, the member frames, the
    brand staff and the award nominees of the month's year."""
    from sqlalchemy import Text, cast, func, select

    from anchorwatch.engines.awards import award_table
    from anchorwatch.engines.members import load_member_frames
    from anchorwatch.store import schema
    from anchorwatch.store.analysis import complaint_responses, read_frame

    options = options or ReportOptions()
    months = context_months(month, options.context_months)
    start, end = month_bounds(months[0])[0], month_bounds(month)[1]
    m, s, mem, e = schema.messages, schema.message_signals, schema.members, schema.episodes
    p_cols = [f"p_{name}" for name in dict.fromkeys(_valence_labels())]
    raw_schema = {
        **{k: v for k, v in SIGNAL_SCHEMA.items() if k != "labels"},
        **{c: pl.Float64() for c in p_cols},
        "labels": pl.String(),
    }
    stmt = (
        select(
            m.c.author,
            m.c.sent_at,
            mem.c.role.in_(STAFF_ROLES),
            *(s.c[c] for c in p_cols),
            cast(s.c.labels, Text),
        )
        .join(s, s.c.message == m.c.id)
        .outerjoin(mem, mem.c.id == m.c.author)
        .where(m.c.sent_at >= start, m.c.sent_at < end)
    )
    ep_stmt = select(e.c.id, e.c.kind, e.c.started_at, e.c.outcome).where(
        e.c.started_at >= start, e.c.started_at < end
    )
    with store.engine.connect() as conn:
        signals = read_frame(conn, stmt, raw_schema).with_columns(
            pl.col("labels").fill_null("[]").str.json_decode(pl.List(pl.String()))
        )
        episode_rows = [
            (
                eid,
                kind,
                started,
                *((outcome or {}).get(name) for name in _FLAGS),
                (outcome or {}).get("spread"),
                *((outcome or {}).get(name) for name in _NUMBERS),
            )
            for eid, kind, started, outcome in conn.execute(ep_stmt)
        ]
        data_end = conn.execute(select(func.max(m.c.sent_at))).scalar()
    episodes = pl.DataFrame(episode_rows, schema=EPISODE_SCHEMA, orient="row")
    year = int(month[:4])
    members = load_member_frames(store)
    return ReportFrames(
        signals=signals.sort("at", "member"),
        episodes=episodes.sort("started_at", "episode"),
        responses=complaint_responses(store),
        members=members,
        # The year to date as the month closed: a June report must not rank
        # on what happened in July.
        awards=award_table(store, year, until=end, frames=members),
        data_end=data_end,
        staff=members.staff,
    )


def _valence_labels() -> tuple[str, ...]:
    cfg = episodes_config()
    return (*cfg.valence_positive, *cfg.valence_negative)


def month_has_data(store: Store, month: str) -> bool:
    """Whether ``month`` holds any analysed message (checked before the heavier reads)."""
    from sqlalchemy import select

    from anchorwatch.store import schema

    m, s = schema.messages, schema.message_signals
    start, end = month_bounds(month)
    stmt = (
        select(m.c.id)
        .join(s, s.c.message == m.c.id)
        .where(m.c.sent_at >= start, m.c.sent_at < end)
        .limit(1)
    )
    with store.engine.connect() as conn:
        return conn.execute(stmt).first() is not None


def monthly_report(
    store: Store,
    month: str,
    edition: str = "community",
    options: ReportOptions | None = None,
) -> MonthlyReport:
    """``month``'s report of an analysed store, in ``edition``.

    Raises :class:`ReportError` (``error.bad_month``, ``error.bad_choice``,
    ``error.report_no_data``) before reading more than it must.

    >>> from anchorwatch.store import open_store
    >>> monthly_report(open_store("sqlite://"), "2026-06")
    Traceback (most recent call last):
    ...
    anchorwatch.reports.monthly.ReportError: error.report_no_data
    """
    parse_month(month)
    if edition not in EDITIONS:
        raise ReportError(
            "error.bad_choice", option="--edition", value=edition, allowed=", ".join(EDITIONS)
        )
    if not month_has_data(store, month):
        raise ReportError("error.report_no_data", month=month)
    options = options or ReportOptions()
    return assemble_report(load_report_frames(store, month, options), month, edition, options)


__all__ = [
    "EDITIONS",
    "HEADLINE",
    "KINDS",
    "OUTCOMES",
    "SECTIONS",
    "MonthlyReport",
    "ReportError",
    "ReportFrames",
    "ReportOptions",
    "anchor_table",
    "assemble_report",
    "buffer_section",
    "context_months",
    "daily_mood",
    "episode_summary",
    "load_report_frames",
    "message_mood",
    "month_bounds",
    "month_has_data",
    "monthly_mood",
    "monthly_report",
    "nominee_table",
    "outcome_rates",
    "quadrant_counts",
    "shift_month",
    "summary_table",
    "watch_table",
]
