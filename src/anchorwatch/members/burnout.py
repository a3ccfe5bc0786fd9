"""Burnout risk: the early warning of DESIGN 1.3.

Every member whose labour we watch gets a risk from 0 to 100 at a given day,
with a level and the drivers that raise it, on the three Maslach dimensions
plus the first signs of withdrawal:

==========  =======================  ===============================================
dimension   driver                   what rises
==========  =======================  ===============================================
exhaustion  ``load``                 labour acts per window
exhaustion  ``repeated_questions``   answers to questions asked before
exhaustion  ``late_night``           share of their messages written late at night
cynicism    ``negativity``           share of their messages that are heated,
                                     offensive, attacking or complaining
cynicism    ``curtness``             their messages get shorter
cynicism    ``fatigue``              share of their messages with fatigue words
inefficacy  ``thanks_per_act``       thanks per act falls
inefficacy  ``attacks_received``     personal attacks aimed at them
inefficacy  ``accusations_received`` bias accusations aimed at them ("托", "水军")
inefficacy  ``no_recognition``       days since the brand last recognised them
withdrawal  ``activity_decline``     their messages per window fall
withdrawal  ``slower_replies``       they take longer to answer
==========  =======================  ===============================================

Each driver compares the recent window (``recent_days`` before the day) with
the member's **own** baseline (the ``baseline_days`` before that), so a member
who always writes at night or always writes short is not flagged for it;
``no_recognition`` alone compares with a fixed grace period.  A driver scores
0 to 1 (1 at the configured ``full`` change), the weighted scores add up to a
hazard ``h`` and the risk is ``100 / (1 + exp(-risk_slope * (h - risk_midpoint)))``:
several moderate drivers together weigh as much as one strong one, and a
member needs more than one weak sign to reach the watchlist.  A care action logged within
``recognition_days`` lowers the risk by ``recognition_relief``.

Windows are sums over days, computed from per-member running totals with one
as-of join per window edge, so the risk at many days (the backtest) costs
little more than at one.  Pure functions over frames; no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl

DIMENSIONS = ("exhaustion", "cynicism", "inefficacy", "withdrawal")

#: driver -> dimension, in report order.
DRIVERS: dict[str, str] = {
    "load": "exhaustion",
    "repeated_questions": "exhaustion",
    "late_night": "exhaustion",
    "negativity": "cynicism",
    "curtness": "cynicism",
    "fatigue": "cynicism",
    "thanks_per_act": "inefficacy",
    "attacks_received": "inefficacy",
    "accusations_received": "inefficacy",
    "no_recognition": "inefficacy",
    "activity_decline": "withdrawal",
    "slower_replies": "withdrawal",
}
LEVELS = ("low", "medium", "high")

#: ``care``: one row per care action the brand logged for a member.
CARE_SCHEMA: dict[str, pl.DataType] = {
    "member": pl.String(),
    "at": pl.Datetime("us"),
    "action": pl.String(),
    # For an ``award``: the year it honours (awards for a year are often
    # given in the next one); null otherwise.
    "award_year": pl.Int32(),
}

#: ``vents``: the signal labels of opted-in private venting messages.
VENT_SCHEMA: dict[str, pl.DataType] = {
    "member": pl.String(),
    "at": pl.Datetime("us"),
    "labels": pl.List(pl.String()),
}

#: The per-day totals the windows sum.
DAILY_COLUMNS = (
    "messages",
    "log_chars",
    "late",
    "negative",
    "fatigue",
    "acts",
    "repeated",
    "log_latency",
    "timed_acts",
    "thanks",
    "attacks",
    "accusations",
    "care",
    "vent_messages",
    "vent_negative",
    "vent_fatigue",
)

_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class BurnoutConfig:
    recent_days: int
    baseline_days: int
    min_baseline_messages: int
    min_recent_messages: int
    watch_min_acts: int
    smoothing: float
    late_night: tuple[int, int]
    negative_labels: tuple[str, ...]
    fatigue_labels: tuple[str, ...]
    weights: dict[str, float]
    full: dict[str, float]
    decline_floor: float
    no_recognition_grace_days: int
    recognition_days: int
    recognition_relief: float
    risk_midpoint: float
    risk_slope: float
    medium: float
    high: float
    care_actions: dict[str, str]
    evidence: int

    @classmethod
    def from_config(cls, raw: dict[str, Any]) -> BurnoutConfig:
        drivers = raw["drivers"]
        missing = set(DRIVERS) - set(drivers)
        if missing:
            raise ValueError(f"burnout.drivers lacks {sorted(missing)}")
        return cls(
            recent_days=int(raw["recent_days"]),
            baseline_days=int(raw["baseline_days"]),
            min_baseline_messages=int(raw["min_baseline_messages"]),
            min_recent_messages=int(raw["min_recent_messages"]),
            watch_min_acts=int(raw["watch_min_acts"]),
            smoothing=float(raw["smoothing"]),
            late_night=(int(raw["late_night"][0]), int(raw["late_night"][1])),
            negative_labels=tuple(raw["negative_labels"]),
            fatigue_labels=tuple(raw["fatigue_labels"]),
            weights={k: float(drivers[k]["weight"]) for k in DRIVERS},
            full={k: float(drivers[k]["full"]) for k in DRIVERS},
            decline_floor=float(drivers["activity_decline"].get("floor", 0.0)),
            no_recognition_grace_days=int(raw["no_recognition_grace_days"]),
            recognition_days=int(raw["recognition_days"]),
            recognition_relief=float(raw["recognition_relief"]),
            risk_midpoint=float(raw["risk_midpoint"]),
            risk_slope=float(raw["risk_slope"]),
            medium=float(raw["levels"]["medium"]),
            high=float(raw["levels"]["high"]),
            care_actions={k: str(v) for k, v in raw["care_actions"].items()},
            evidence=int(raw["evidence_per_driver"]),
        )


def burnout_config() -> BurnoutConfig:
    """The ``burnout`` section of ``config/members.yaml``."""
    from anchorwatch.members.value import members_settings

    return BurnoutConfig.from_config(members_settings()["burnout"])


def day_number(at: datetime | date) -> int:
    """Days since 1970-01-01 of a (UTC) time: the ``day`` key of the frames."""
    d = at.date() if isinstance(at, datetime) else at
    return (d - _EPOCH).days


def day_date(day: int) -> date:
    return _EPOCH + timedelta(days=day)


def _day(at: pl.Expr) -> pl.Expr:
    return at.dt.date().cast(pl.Int32)


def _any_label(labels: tuple[str, ...]) -> pl.Expr:
    return pl.col("labels").list.set_intersection(pl.lit(list(labels))).list.len() > 0


def _late(cfg: BurnoutConfig) -> pl.Expr:
    start, end = cfg.late_night
    hour = (pl.col("at") + pl.duration(minutes=pl.col("offset_min").fill_null(0))).dt.hour()
    return (hour >= start) | (hour < end) if start > end else (hour >= start) & (hour < end)


def message_flags(messages: pl.DataFrame, cfg: BurnoutConfig) -> pl.DataFrame:
    """The ledger's ``messages`` with ``late``, ``negative`` and ``fatigue`` flags."""
    return messages.with_columns(
        _late(cfg).alias("late"),
        _any_label(cfg.negative_labels).alias("negative"),
        _any_label(cfg.fatigue_labels).alias("fatigue"),
    )


def daily_activity(
    messages: pl.DataFrame,
    acts: pl.DataFrame,
    aimed: pl.DataFrame,
    care: pl.DataFrame,
    cfg: BurnoutConfig,
    vents: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Per member and day (``day`` = days since 1970): the ``DAILY_COLUMNS``.

    The frames are the ledger's (``members.ledger``) and ``CARE_SCHEMA``;
    discounted acts and thanks (``members.gaming.discount``) do not count.
    ``vents`` (``VENT_SCHEMA``) are the labels of the private venting messages
    of members who opted in to let them count: they add to the negativity
    and fatigue of the member's own words, never to their activity.
    """
    if "discounted" in acts.columns:
        acts = acts.filter(~pl.col("discounted").fill_null(False))
    if "discounted" in aimed.columns:
        aimed = aimed.filter(~pl.col("discounted").fill_null(False))
    i64 = pl.Int64
    msg = (
        message_flags(messages, cfg)
        .group_by("member", _day(pl.col("at")).alias("day"))
        .agg(
            pl.len().cast(i64).alias("messages"),
            pl.col("chars").cast(pl.Float64).log1p().sum().alias("log_chars"),
            pl.col("late").sum().cast(i64),
            pl.col("negative").sum().cast(i64),
            pl.col("fatigue").sum().cast(i64),
        )
    )
    act = acts.group_by("member", _day(pl.col("at")).alias("day")).agg(
        pl.len().cast(i64).alias("acts"),
        ((pl.col("act") == "newcomer_answer") & (pl.col("times_asked_before").fill_null(0) > 0))
        .sum()
        .cast(i64)
        .alias("repeated"),
        pl.col("latency_s").cast(pl.Float64).clip(0).log1p().sum().alias("log_latency"),
        pl.col("latency_s").is_not_null().sum().cast(i64).alias("timed_acts"),
    )
    aim = aimed.group_by(pl.col("target").alias("member"), _day(pl.col("at")).alias("day")).agg(
        pl.col("gratitude").sum().cast(i64).alias("thanks"),
        pl.col("personal_attack").sum().cast(i64).alias("attacks"),
        pl.col("bias_accusation").sum().cast(i64).alias("accusations"),
    )
    cared = care.group_by("member", _day(pl.col("at")).alias("day")).agg(
        pl.len().cast(i64).alias("care")
    )
    parts = [msg, act, aim, cared]
    if vents is not None and vents.height:
        parts.append(
            vents.group_by("member", _day(pl.col("at")).alias("day")).agg(
                pl.len().cast(i64).alias("vent_messages"),
                _any_label(cfg.negative_labels).sum().cast(i64).alias("vent_negative"),
                _any_label(cfg.fatigue_labels).sum().cast(i64).alias("vent_fatigue"),
            )
        )
    keys = pl.concat([p.select("member", "day") for p in parts]).unique()
    out = keys
    for part in parts:
        out = out.join(part, on=["member", "day"], how="left")
    missing = [c for c in DAILY_COLUMNS if c not in out.columns]
    out = out.with_columns(pl.lit(0, i64).alias(c) for c in missing)
    return out.with_columns(pl.col(DAILY_COLUMNS).fill_null(0)).sort("member", "day")


# The as-of joins below sort both sides by the join key first; with ``by``
# groups Polars cannot verify that itself, so the check is switched off.


def _window_totals(daily: pl.DataFrame, points: pl.DataFrame, shift: int, tag: str) -> pl.DataFrame:
    """Running totals up to ``day - 1 - shift`` for each (member, day) of ``points``."""
    running = (
        daily.sort("member", "day")
        .with_columns(pl.col(DAILY_COLUMNS).cum_sum().over("member"))
        .sort("day")
    )
    left = points.with_columns((pl.col("day") - 1 - shift).alias("_key")).sort("_key")
    joined = left.join_asof(
        running.rename({"day": "_key"}),
        on="_key",
        by="member",
        check_sortedness=False,
        strategy="backward",
    )
    return joined.select(
        "member",
        "day",
        *(pl.col(c).fill_null(0).alias(f"{tag}{c}") for c in DAILY_COLUMNS),
    )


def windows(daily: pl.DataFrame, points: pl.DataFrame, cfg: BurnoutConfig) -> pl.DataFrame:
    """For each (member, day) of ``points``: the recent window ``r_<col>``
    (``recent_days`` before ``day``) and the baseline window ``b_<col>``
    (``baseline_days`` before that), plus ``last_care`` (day of the latest care
    action before ``day``, null if none), and the whole community's messages
    and acts in the same windows (``c_r_messages``, ``c_b_messages``,
    ``c_r_acts``, ``c_b_acts``): a holiday month quiets everyone, and that is
    not one member's withdrawal."""
    community = (
        daily.group_by("day")
        .agg(pl.col(DAILY_COLUMNS).sum())
        .with_columns(pl.lit("").alias("member"))
        .select("member", "day", *DAILY_COLUMNS)
    )
    days = points.select(pl.lit("").alias("member"), pl.col("day")).unique()
    c_now = _window_totals(community, days, 0, "n_")
    c_mid = _window_totals(community, days, cfg.recent_days, "m_")
    c_old = _window_totals(community, days, cfg.recent_days + cfg.baseline_days, "o_")
    trend = (
        c_now.join(c_mid, on=["member", "day"])
        .join(c_old, on=["member", "day"])
        .select(
            "day",
            *(
                (pl.col(f"n_{c}") - pl.col(f"m_{c}")).alias(f"c_r_{c}")
                for c in ("messages", "acts")
            ),
            *(
                (pl.col(f"m_{c}") - pl.col(f"o_{c}")).alias(f"c_b_{c}")
                for c in ("messages", "acts")
            ),
        )
    )
    now = _window_totals(daily, points, 0, "n_")
    mid = _window_totals(daily, points, cfg.recent_days, "m_")
    old = _window_totals(daily, points, cfg.recent_days + cfg.baseline_days, "o_")
    out = now.join(mid, on=["member", "day"]).join(old, on=["member", "day"])
    out = out.select(
        "member",
        "day",
        *((pl.col(f"n_{c}") - pl.col(f"m_{c}")).alias(f"r_{c}") for c in DAILY_COLUMNS),
        *((pl.col(f"m_{c}") - pl.col(f"o_{c}")).alias(f"b_{c}") for c in DAILY_COLUMNS),
    )
    care_days = daily.filter(pl.col("care") > 0).select("member", pl.col("day").alias("_key"))
    care_days = care_days.with_columns(pl.col("_key").alias("last_care")).sort("_key")
    left = points.with_columns((pl.col("day") - 1).alias("_key")).sort("_key")
    last = left.join_asof(
        care_days, on="_key", by="member", check_sortedness=False, strategy="backward"
    ).select("member", "day", "last_care")
    return out.join(last, on=["member", "day"], how="left").join(trend, on="day", how="left")


def _clip01(x: pl.Expr) -> pl.Expr:
    return x.clip(0.0, 1.0)


def _log2(x: pl.Expr) -> pl.Expr:
    return x.log(2)


def driver_values(w: pl.DataFrame, cfg: BurnoutConfig, care_in_use: bool) -> pl.DataFrame:
    """``<driver>_value``, ``<driver>_baseline`` and ``<driver>_score`` (0-1) for
    each row of :func:`windows`.

    Values are per recent window; baselines are the member's own baseline
    brought to the same window length.  A driver without enough data to
    compare scores 0.  ``activity_decline`` alone may score below 0 (down to
    its ``floor``): a member writing more than their own baseline is, for
    now, not withdrawing, and that lowers the risk.
    """
    k = cfg.smoothing
    scale = cfg.recent_days / cfg.baseline_days
    r, b = (lambda c: pl.col(f"r_{c}")), (lambda c: pl.col(f"b_{c}") * scale)
    enough_recent = pl.col("r_messages") >= cfg.min_recent_messages
    enough_base = pl.col("b_messages") >= cfg.min_baseline_messages

    def trend(col: str) -> pl.Expr:
        """log2 of the community's recent / baseline rate (0 without history)."""
        ratio = (pl.col(f"c_r_{col}") + 1) / (pl.col(f"c_b_{col}") * scale + 1)
        return _log2(ratio).fill_null(0.0)

    def rise(col: str, name: str, smooth: float = k, vs_community: bool = False) -> list[pl.Expr]:
        change = _log2((r(col) + smooth) / (b(col) + smooth))
        if vs_community:
            change = change - trend(col)
        score = change / math.log2(cfg.full[name])
        return [
            r(col).cast(pl.Float64).alias(f"{name}_value"),
            b(col).alias(f"{name}_baseline"),
            _clip01(score).alias(f"{name}_score"),
        ]

    def share(col: str, name: str, vented: bool = False) -> list[pl.Expr]:
        # Opted-in venting messages count among the member's own words.
        extra = (lambda w: pl.col(f"{w}_vent_{col}")) if vented else (lambda w: pl.lit(0))
        words = (lambda w: pl.col(f"{w}_vent_messages")) if vented else (lambda w: pl.lit(0))
        now = (r(col) + extra("r")) / (pl.col("r_messages") + words("r")).clip(1)
        base = (pl.col(f"b_{col}") + extra("b")) / (pl.col("b_messages") + words("b")).clip(1)
        score = pl.when(enough_recent).then(_clip01((now - base) / cfg.full[name])).otherwise(0.0)
        return [
            now.alias(f"{name}_value"),
            base.alias(f"{name}_baseline"),
            score.alias(f"{name}_score"),
        ]

    mean_chars_r = r("log_chars") / pl.col("r_messages").clip(1)
    mean_chars_b = pl.col("b_log_chars") / pl.col("b_messages").clip(1)
    curt = _clip01((mean_chars_b - mean_chars_r) / math.log(cfg.full["curtness"]))

    per_act_r = r("thanks") / r("acts").clip(1)
    per_act_b = pl.col("b_thanks") / pl.col("b_acts").clip(1)
    eps = 0.05
    thanks_fall = _clip01(
        _log2((per_act_b + eps) / (per_act_r + eps)) / math.log2(cfg.full["thanks_per_act"])
    )
    thanks_ok = (pl.col("b_acts") >= 3) & (r("acts") >= 1)

    lat_r = r("log_latency") / r("timed_acts").clip(1)
    lat_b = pl.col("b_log_latency") / pl.col("b_timed_acts").clip(1)
    lat_ok = (r("timed_acts") >= 2) & (pl.col("b_timed_acts") >= 2)
    slower = _clip01((lat_r - lat_b) / math.log(cfg.full["slower_replies"]))

    since = (pl.col("day") - pl.col("last_care")).cast(pl.Float64)
    # Never recognised: counted from the start of the member's baseline window.
    since = since.fill_null(float(cfg.recent_days + cfg.baseline_days))
    grace = cfg.no_recognition_grace_days
    unrecognised = _clip01((since - grace) / (cfg.full["no_recognition"] - grace))

    decline = (_log2((b("messages") + k) / (r("messages") + k)) + trend("messages")) / math.log2(
        cfg.full["activity_decline"]
    )

    cols = [
        *rise("acts", "load", vs_community=True),
        *rise("repeated", "repeated_questions"),
        *share("late", "late_night"),
        *share("negative", "negativity", vented=True),
        pl.col("r_log_chars")
        .truediv(pl.col("r_messages").clip(1))
        .exp()
        .sub(1)
        .alias("curtness_value"),
        mean_chars_b.exp().sub(1).alias("curtness_baseline"),
        pl.when(enough_recent).then(curt).otherwise(0.0).alias("curtness_score"),
        *share("fatigue", "fatigue", vented=True),
        per_act_r.alias("thanks_per_act_value"),
        per_act_b.alias("thanks_per_act_baseline"),
        pl.when(thanks_ok).then(thanks_fall).otherwise(0.0).alias("thanks_per_act_score"),
        *rise("attacks", "attacks_received", 1.0),
        *rise("accusations", "accusations_received", 1.0),
        since.alias("no_recognition_value"),
        pl.lit(float(grace)).alias("no_recognition_baseline"),
        (unrecognised if care_in_use else pl.lit(0.0)).alias("no_recognition_score"),
        r("messages").cast(pl.Float64).alias("activity_decline_value"),
        b("messages").alias("activity_decline_baseline"),
        decline.clip(cfg.decline_floor, 1.0).alias("activity_decline_score"),
        (lat_r.exp() - 1).alias("slower_replies_value"),
        (lat_b.exp() - 1).alias("slower_replies_baseline"),
        pl.when(lat_ok).then(slower).otherwise(0.0).alias("slower_replies_score"),
    ]
    out = w.with_columns(cols)
    return out.with_columns(
        pl.when(enough_base)
        .then(pl.col(f"{d}_score").fill_nan(0.0).fill_null(0.0).round(3))
        .otherwise(0.0)
        .alias(f"{d}_score")
        for d in DRIVERS
    )


def burnout_risk(
    daily: pl.DataFrame, points: pl.DataFrame, cfg: BurnoutConfig, care_in_use: bool
) -> pl.DataFrame:
    """The risk for each (``member``, ``day``) of ``points``.

    Adds to the driver columns of :func:`driver_values`: ``hazard_<dimension>``,
    ``burnout_risk`` (0-100, null without an own baseline of
    ``min_baseline_messages`` messages), ``level``, ``dimension`` (the one
    that weighs most), ``care_action`` (its suggested care action, for
    members at medium or high level), ``recognised`` (a care action within
    ``recognition_days``) and ``watched`` (at least ``watch_min_acts`` acts in
    the two windows: a member whose labour we watch).
    """
    w = windows(daily, points, cfg)
    v = driver_values(w, cfg, care_in_use)
    hazards = [
        pl.sum_horizontal(
            [
                pl.col(f"{d}_score") * cfg.weights[d]
                for d, dim in DRIVERS.items()
                if dim == dimension
            ]
        ).alias(f"hazard_{dimension}")
        for dimension in DIMENSIONS
    ]
    v = v.with_columns(hazards)
    total = pl.sum_horizontal([f"hazard_{d}" for d in DIMENSIONS])
    recognised = (pl.col("day") - pl.col("last_care")).fill_null(10**9) <= cfg.recognition_days
    relief = pl.when(recognised).then(1.0 - cfg.recognition_relief).otherwise(1.0)
    has_base = pl.col("b_messages") >= cfg.min_baseline_messages
    curve = 100 / (1 + (-cfg.risk_slope * (total - cfg.risk_midpoint)).exp())
    risk = pl.when(has_base).then((curve * relief).round(0))
    v = v.with_columns(
        risk.alias("burnout_risk"),
        recognised.alias("recognised"),
        ((pl.col("r_acts") + pl.col("b_acts")) >= cfg.watch_min_acts).alias("watched"),
        pl.concat_list([f"hazard_{d}" for d in DIMENSIONS]).list.arg_max().alias("_top"),
    )
    level = (
        pl.when(pl.col("burnout_risk") >= cfg.high)
        .then(pl.lit("high"))
        .when(pl.col("burnout_risk") >= cfg.medium)
        .then(pl.lit("medium"))
        .when(pl.col("burnout_risk").is_not_null())
        .then(pl.lit("low"))
    )
    dim = pl.col("_top").replace_strict(
        list(range(len(DIMENSIONS))), list(DIMENSIONS), return_dtype=pl.String
    )
    action = dim.replace_strict(cfg.care_actions, default=None, return_dtype=pl.String)
    return v.with_columns(
        level.alias("level"),
        pl.when(pl.col("burnout_risk").is_not_null()).then(dim).alias("dimension"),
        pl.when(level.is_in(["medium", "high"])).then(action).alias("care_action"),
    ).drop("_top")


def driver_evidence(
    messages: pl.DataFrame,
    acts: pl.DataFrame,
    aimed: pl.DataFrame,
    points: pl.DataFrame,
    cfg: BurnoutConfig,
) -> pl.DataFrame:
    """The messages behind each driver in the recent window of each point.

    Returns ``member``, ``day``, ``driver``, ``evidence`` (up to
    ``evidence_per_driver`` message ids: the latest, or for ``curtness`` the
    shortest and for ``slower_replies`` the slowest; for
    ``activity_decline`` their last messages, from before the window too).
    ``no_recognition`` has no messages: it is the care log's silence.
    """
    if "discounted" in acts.columns:
        acts = acts.filter(~pl.col("discounted").fill_null(False))
    if "discounted" in aimed.columns:
        aimed = aimed.filter(~pl.col("discounted").fill_null(False))
    flagged = message_flags(messages, cfg)
    latest = -pl.col("at").dt.epoch("s")

    def rows(frame: pl.DataFrame, cond: pl.Expr, driver: str, key: pl.Expr) -> pl.DataFrame:
        return frame.filter(cond).select(
            "member",
            "message",
            "at",
            pl.lit(driver).alias("driver"),
            key.cast(pl.Float64).alias("_key"),
        )

    repeated = (pl.col("act") == "newcomer_answer") & (
        pl.col("times_asked_before").fill_null(0) > 0
    )
    targeted = aimed.with_columns(pl.col("target").alias("member"))
    events = pl.concat(
        [
            rows(acts, pl.lit(True), "load", latest),
            rows(acts, repeated, "repeated_questions", latest),
            rows(acts, pl.lit(True), "thanks_per_act", latest),
            rows(acts, pl.col("latency_s").is_not_null(), "slower_replies", -pl.col("latency_s")),
            rows(flagged, pl.col("late"), "late_night", latest),
            rows(flagged, pl.col("negative"), "negativity", latest),
            rows(flagged, pl.col("fatigue"), "fatigue", latest),
            rows(flagged, pl.lit(True), "curtness", pl.col("chars")),
            rows(flagged, pl.lit(True), "activity_decline", latest),
            rows(targeted, pl.col("personal_attack"), "attacks_received", latest),
            rows(targeted, pl.col("bias_accusation"), "accusations_received", latest),
        ]
    )
    end = pl.col("day").cast(pl.Int32)
    # A member who fell silent has no recent messages: the evidence of their
    # decline is the last things they wrote, however long ago.
    in_window = (_day(pl.col("at")) < end) & (
        (_day(pl.col("at")) >= end - cfg.recent_days) | (pl.col("driver") == "activity_decline")
    )
    return (
        events.join(points.select("member", "day"), on="member")
        .filter(in_window)
        .sort("_key", "message")
        .group_by("member", "day", "driver", maintain_order=True)
        .agg(pl.col("message").head(cfg.evidence).alias("evidence"))
    )


def drivers_of(row: dict[str, Any], evidence: dict[str, list[str]]) -> list[dict[str, Any]]:
    """The export form of a risk row's drivers (DESIGN 3.3): those that score,
    strongest first, each with dimension, name, value, baseline, score and
    evidence."""
    out = []
    for name, dimension in DRIVERS.items():
        score = row.get(f"{name}_score") or 0.0
        if score <= 0:
            continue
        out.append(
            {
                "dimension": dimension,
                "name": name,
                "value": _round(row.get(f"{name}_value")),
                "baseline": _round(row.get(f"{name}_baseline")),
                "score": round(float(score), 3),
                "evidence": list(evidence.get(name, [])),
            }
        )
    return sorted(out, key=lambda d: -d["score"])


def watchlist_records(
    risk: pl.DataFrame,
    evidence: dict[str, dict[str, list[str]]],
    names: dict[str, str],
    top_drivers: int | None = None,
) -> list[dict[str, Any]]:
    """The watchlist's rows (``engines.members.watchlist``) as the CLI, the
    pages and the report show them: member, name, burnout_risk, level,
    dimension, care_action and the drivers (strongest first, ``top_drivers``
    of them, with their evidence)."""
    return [
        {
            "member": row["member"],
            "name": names.get(row["member"], row["member"]),
            "burnout_risk": int(row["burnout_risk"]),
            "level": row["level"],
            "dimension": row["dimension"],
            "care_action": row["care_action"],
            "drivers": drivers_of(row, evidence.get(row["member"], {}))[:top_drivers],
        }
        for row in (risk.iter_rows(named=True) if risk.height else [])
    ]


def _round(x: Any) -> float | None:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return round(float(x), 3)
