"""The emotional-labour ledger: what each member did for others, per period.

Pure functions over frames the engine reads from the store (acts attributed to
episodes, messages aimed at members, content metrics); no I/O.  Periods are
calendar weeks (``2026-W09``), months (``2026-03``) or years (``2026``) of the
UTC timestamps.

Columns of :func:`ledger` (one row per member and period):

- ``acts_<act>``: acts of each kind the member performed (DESIGN 1.1);
- ``episodes_served``: distinct episodes they acted in;
- ``conflicts_calmed``: conflicts they de-escalated after which attacks stopped;
- ``complaints_converted``: complaints they served whose complainer gave
  details or moved to the official channel;
- ``newcomers_stayed``: newcomer questions they answered whose asker came
  back within 30 days;
- ``first_response_s``: median latency of their acts (seconds since the
  served member's last message);
- ``repeated_answered``: answers to questions asked before (same cluster);
- ``thanks_received``, ``attacks_received``, ``accusations_received``:
  gratitude, personal attacks and bias accusations aimed at them;
- ``acts_discounted``, ``thanks_discounted``: acts and thanks the anti-gaming
  rules (``members.gaming``) did not count (rows whose ``discounted`` is true);
- ``messages``: messages they wrote;
- ``reads``, ``plays``, ``leads``: their content metrics (monthly records,
  summed over the period).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from anchorwatch.signals.labels import ACTS

PERIODS = ("week", "month", "year")

#: ``acts``: one row per attributed act, with the episode's outcome and the
#: act message's channel and text (for the anti-gaming rules).
ACT_SCHEMA: dict[str, pl.DataType] = {
    "member": pl.String(),
    "message": pl.String(),
    "at": pl.Datetime("us"),
    "act": pl.String(),
    "episode": pl.String(),
    "kind": pl.String(),
    "channel": pl.String(),
    "latency_s": pl.Int64(),
    "attacks_stopped": pl.Boolean(),
    "converted": pl.Boolean(),
    "returned_30d": pl.Boolean(),
    "times_asked_before": pl.Int64(),
    "text": pl.String(),
}
#: ``aimed``: one row per message aimed at a member (by reply or @mention).
AIMED_SCHEMA: dict[str, pl.DataType] = {
    "target": pl.String(),
    "giver": pl.String(),
    "message": pl.String(),
    "at": pl.Datetime("us"),
    "gratitude": pl.Boolean(),
    "personal_attack": pl.Boolean(),
    "bias_accusation": pl.Boolean(),
}
#: ``messages``: one row per message: its author, UTC time and the author's UTC
#: offset in minutes (for local hours), channel, length in characters and the
#: signal labels it carries.
MESSAGE_SCHEMA: dict[str, pl.DataType] = {
    "member": pl.String(),
    "message": pl.String(),
    "at": pl.Datetime("us"),
    "offset_min": pl.Int32(),
    "channel": pl.String(),
    "chars": pl.Int32(),
    "labels": pl.List(pl.String()),
}
#: ``metrics``: the monthly content records.
METRIC_SCHEMA: dict[str, pl.DataType] = {
    "member": pl.String(),
    "period": pl.String(),
    "reads": pl.Int64(),
    "plays": pl.Int64(),
    "leads": pl.Int64(),
}
ACT_COLUMNS = tuple(ACT_SCHEMA)
AIMED_COLUMNS = tuple(AIMED_SCHEMA)
MESSAGE_COLUMNS = tuple(MESSAGE_SCHEMA)
METRIC_COLUMNS = tuple(METRIC_SCHEMA)

#: The ledger as a person reads it about one member (``anchorwatch member``,
#: the member page), acts by kind listed after.
SUMMARY_COLUMNS = (
    "episodes_served",
    "conflicts_calmed",
    "complaints_converted",
    "newcomers_stayed",
    "repeated_answered",
    "first_response_s",
    "thanks_received",
    "attacks_received",
    "accusations_received",
    "messages",
    "reads",
    "plays",
    "leads",
)

_DEESCALATE = ("deescalate_humor", "deescalate_summary", "deescalate_redirect")
_CONVERT = ("empathy", "guide_details", "guide_channel")


def period_of(at: pl.Expr, period: str) -> pl.Expr:
    """The period label of a timestamp column."""
    if period == "week":
        return pl.format("{}-W{}", at.dt.iso_year(), at.dt.week().cast(pl.String).str.zfill(2))
    if period == "month":
        return at.dt.strftime("%Y-%m")
    if period == "year":
        return at.dt.year().cast(pl.String)
    raise ValueError(f"period must be one of {PERIODS}, not {period!r}")


def _counted(frame: pl.DataFrame) -> pl.Expr:
    """Rows the anti-gaming rules left standing (all, when not applied)."""
    if "discounted" in frame.columns:
        return ~pl.col("discounted").fill_null(False)
    return pl.lit(True)


def _acts_part(acts: pl.DataFrame, period: str) -> pl.DataFrame:
    a = acts.with_columns(
        period_of(pl.col("at"), period).alias("period"), _counted(acts).alias("_counted")
    )
    dropped = (
        a.filter(~pl.col("_counted"))
        .group_by("member", "period")
        .agg(pl.len().cast(pl.Int64).alias("acts_discounted"))
    )
    a = a.filter(pl.col("_counted"))
    counts = [(pl.col("act") == act).sum().cast(pl.Int64).alias(f"acts_{act}") for act in ACTS]
    calmed = (
        pl.col("episode")
        .filter(
            (pl.col("kind") == "conflict")
            & pl.col("act").is_in(_DEESCALATE)
            & pl.col("attacks_stopped").fill_null(False)
        )
        .n_unique()
    )
    converted = (
        pl.col("episode")
        .filter(
            (pl.col("kind") == "complaint")
            & pl.col("act").is_in(_CONVERT)
            & pl.col("converted").fill_null(False)
        )
        .n_unique()
    )
    stayed = (
        pl.col("episode")
        .filter(
            (pl.col("kind") == "newcomer_question")
            & (pl.col("act") == "newcomer_answer")
            & pl.col("returned_30d").fill_null(False)
        )
        .n_unique()
    )
    repeated = (
        pl.col("episode")
        .filter((pl.col("act") == "newcomer_answer") & (pl.col("times_asked_before") > 0))
        .n_unique()
    )
    counted = a.group_by("member", "period").agg(
        *counts,
        pl.col("episode").n_unique().cast(pl.Int64).alias("episodes_served"),
        calmed.cast(pl.Int64).alias("conflicts_calmed"),
        converted.cast(pl.Int64).alias("complaints_converted"),
        stayed.cast(pl.Int64).alias("newcomers_stayed"),
        pl.col("latency_s").median().alias("first_response_s"),
        repeated.cast(pl.Int64).alias("repeated_answered"),
    )
    return counted.join(dropped, on=["member", "period"], how="full", coalesce=True)


def ledger(
    acts: pl.DataFrame,
    aimed: pl.DataFrame,
    messages: pl.DataFrame,
    metrics: pl.DataFrame,
    period: str = "month",
) -> pl.DataFrame:
    """One row per member and period with everything the module docstring lists.

    Members appear in a period when they wrote, acted, were aimed at or have
    content metrics in it; missing counts are 0, a missing response time null.
    ``acts`` and ``aimed`` may carry a ``discounted`` column
    (:func:`anchorwatch.members.gaming.discount`): those rows are counted
    apart, not as labour or thanks.
    """
    acts_part = _acts_part(acts, period)
    counted = _counted(aimed)
    aimed_part = (
        aimed.with_columns(period_of(pl.col("at"), period).alias("period"))
        .group_by("target", "period")
        .agg(
            (pl.col("gratitude") & counted).sum().cast(pl.Int64).alias("thanks_received"),
            (pl.col("gratitude") & ~counted).sum().cast(pl.Int64).alias("thanks_discounted"),
            pl.col("personal_attack").sum().cast(pl.Int64).alias("attacks_received"),
            pl.col("bias_accusation").sum().cast(pl.Int64).alias("accusations_received"),
        )
        .rename({"target": "member"})
    )
    msg_part = (
        messages.with_columns(period_of(pl.col("at"), period).alias("period"))
        .group_by("member", "period")
        .agg(pl.len().cast(pl.Int64).alias("messages"))
    )
    month_start = pl.col("period").str.strptime(pl.Datetime("us"), "%Y-%m")
    metric_part = (
        metrics.with_columns(period_of(month_start, period).alias("period"))
        .group_by("member", "period")
        .agg(pl.col("reads", "plays", "leads").sum().cast(pl.Int64))
    )
    parts = [acts_part, aimed_part, msg_part, metric_part]
    keys = pl.concat([p.select("member", "period") for p in parts]).unique()
    out = keys
    for part in parts:
        out = out.join(part, on=["member", "period"], how="left")
    counts = [c for c in out.columns if c not in ("member", "period", "first_response_s")]
    out = out.with_columns(pl.col(counts).fill_null(0))
    return out.select(ledger_columns()).sort("member", "period")


def ledger_columns() -> Sequence[str]:
    """The ledger's columns in order."""
    return (
        "member",
        "period",
        *(f"acts_{a}" for a in ACTS),
        "episodes_served",
        "conflicts_calmed",
        "complaints_converted",
        "newcomers_stayed",
        "first_response_s",
        "repeated_answered",
        "acts_discounted",
        "thanks_received",
        "thanks_discounted",
        "attacks_received",
        "accusations_received",
        "messages",
        "reads",
        "plays",
        "leads",
    )
