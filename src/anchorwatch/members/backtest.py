"""Backtest of the burnout risk on a community's own history (issue 5).

At every point ``t`` (every ``every_days``) each watched member who is still
active (a message in the ``active_days`` before ``t``) and has an own
baseline gets the risk computed from data before ``t`` only.  The outcome is
**withdrawal**: the member's last message before a silence of
``silence_days`` or more falls within ``[t, t + horizon_days)``.  Points at
which such a silence has already begun are left out: too late to warn.  Points too
close to the end of the history to know the outcome are left out.

The same points are scored by a baseline that uses activity decline alone
(messages in the recent window against the member's own baseline), and both
are reported with ROC-AUC, precision at the top 10 and 50 of each point's
watchlist (averaged over points), the median lead time (days from the first
high-level alert within the horizon before a withdrawal to the withdrawal)
and a calibration table.  The baseline's alert threshold is set so that it
raises as many alerts as the risk does, so lead times compare like with like.

Pure functions over frames; no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from anchorwatch.members.burnout import BurnoutConfig, burnout_risk, day_number


@dataclass(frozen=True)
class BacktestConfig:
    horizon_days: int = 60
    silence_days: int = 30
    every_days: int = 7
    active_days: int = 14

    @classmethod
    def from_config(cls, raw: dict[str, Any]) -> BacktestConfig:
        return cls(
            **{
                k: int(raw[k])
                for k in ("horizon_days", "silence_days", "every_days", "active_days")
            }
        )


def backtest_config() -> BacktestConfig:
    """The ``backtest`` section of ``config/members.yaml``."""
    from anchorwatch.members.value import members_settings

    return BacktestConfig.from_config(members_settings()["backtest"])


def withdrawals(messages: pl.DataFrame, silence_days: int, end_day: int) -> pl.DataFrame:
    """``member``, ``withdrew`` (day of the last message before a silence of
    ``silence_days`` or more; a last message counts once the history runs
    ``silence_days`` past it)."""
    days = messages.select("member", pl.col("at").dt.date().cast(pl.Int32).alias("day")).unique()
    days = days.sort("member", "day").with_columns(
        pl.col("day").shift(-1).over("member").alias("next")
    )
    gap = pl.col("next").fill_null(end_day) - pl.col("day")
    return days.filter(gap >= silence_days).select("member", pl.col("day").alias("withdrew"))


def _last_message(messages: pl.DataFrame, points: pl.DataFrame) -> pl.DataFrame:
    days = (
        messages.select("member", pl.col("at").dt.date().cast(pl.Int32).alias("_key"))
        .unique()
        .with_columns(pl.col("_key").alias("last_message"))
        .sort("_key")
    )
    left = points.with_columns((pl.col("day") - 1).alias("_key")).sort("_key")
    return left.join_asof(
        days, on="_key", by="member", check_sortedness=False, strategy="backward"
    ).drop("_key")


def backtest_points(
    daily: pl.DataFrame,
    messages: pl.DataFrame,
    cfg: BurnoutConfig,
    bt: BacktestConfig,
    care_in_use: bool = False,
) -> pl.DataFrame:
    """Every scored point: ``member``, ``day``, ``burnout_risk``, ``level``,
    ``baseline_score`` (activity decline, higher = more decline), ``withdrew``
    (day of the next withdrawal or null) and ``label`` (withdrew within the
    horizon)."""
    if messages.height == 0:
        return pl.DataFrame()
    first = int(daily["day"].min())  # type: ignore[arg-type]
    end = day_number(messages["at"].max())  # type: ignore[arg-type]
    start = first + cfg.recent_days + cfg.baseline_days
    stop = end - bt.horizon_days - bt.silence_days
    if stop < start:
        return pl.DataFrame()
    days = pl.DataFrame(
        {"day": pl.int_range(start, stop + 1, bt.every_days, eager=True).cast(pl.Int32)}
    )
    acting = daily.filter(pl.col("acts") > 0).select("member").unique()
    points = acting.join(days, how="cross")
    scored = burnout_risk(daily, points, cfg, care_in_use)
    scored = _last_message(messages, scored).filter(
        pl.col("watched")
        & pl.col("burnout_risk").is_not_null()
        & (pl.col("day") - pl.col("last_message") <= bt.active_days)
    )
    k = cfg.smoothing
    scale = cfg.recent_days / cfg.baseline_days
    base = ((pl.col("b_messages") * scale + k) / (pl.col("r_messages") + k)).log(2)
    gone = withdrawals(messages, bt.silence_days, end).with_columns(
        pl.col("withdrew").alias("_key")
    )
    # The next silence after the member's latest message before the point.
    # When it has already begun (the latest message was the last before it),
    # the point is too late to warn and is left out: the backtest measures
    # warnings, not the detection of a silence under way.
    scored = scored.with_columns(base.alias("baseline_score")).sort("last_message")
    scored = scored.join_asof(
        gone.sort("_key"),
        left_on="last_message",
        right_on="_key",
        by="member",
        check_sortedness=False,
        strategy="forward",
    ).drop("_key")
    scored = scored.filter(pl.col("withdrew").is_null() | (pl.col("withdrew") >= pl.col("day")))
    label = pl.col("withdrew").is_not_null() & (
        pl.col("withdrew") < pl.col("day") + bt.horizon_days
    )
    return scored.select(
        "member", "day", "burnout_risk", "level", "baseline_score", "withdrew", label.alias("label")
    ).sort("day", "member")


def roc_auc(score: np.ndarray, label: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties shared); NaN with one class."""
    pos = int(label.sum())
    neg = len(label) - pos
    if pos == 0 or neg == 0:
        return float("nan")
    ranks = pl.Series(score).rank("average").to_numpy()
    return float((ranks[label].sum() - pos * (pos + 1) / 2) / (pos * neg))


def precision_at(points: pl.DataFrame, score: str, k: int) -> float:
    """Mean over points in time of the share of withdrawals among the top ``k``."""
    top = (
        points.sort(["day", score, "member"], descending=[False, True, False])
        .group_by("day", maintain_order=True)
        .head(k)
        .group_by("day")
        .agg(pl.col("label").mean())
    )
    return float(top["label"].mean()) if top.height else float("nan")  # type: ignore[arg-type]


def lead_times(points: pl.DataFrame, flagged: pl.Expr, horizon_days: int) -> tuple[float, int, int]:
    """Median days from the first alert within the horizon to the withdrawal,
    withdrawals alerted, and withdrawals with any point in their horizon."""
    before = points.filter(
        pl.col("withdrew").is_not_null() & (pl.col("withdrew") - pl.col("day") < horizon_days)
    )
    # Only alerts raised before the last message count as warnings.
    flagged = flagged & (pl.col("withdrew") >= pl.col("day"))
    events = before.group_by("member", "withdrew").agg(
        (pl.col("withdrew") - pl.col("day")).filter(flagged).max().alias("lead")
    )
    hit = events.filter(pl.col("lead").is_not_null())
    median = float(hit["lead"].median()) if hit.height else float("nan")  # type: ignore[arg-type]
    return median, hit.height, events.height


def calibration(points: pl.DataFrame, risk: str, bins: int = 5) -> pl.DataFrame:
    """Points per band of ``risk`` (0-100 in ``bins`` bands): count, mean risk
    and the share that withdrew."""
    width = 100 / bins
    band = (pl.col(risk) / width).floor().clip(0, bins - 1).cast(pl.Int32)
    return (
        points.group_by(band.alias("band"))
        .agg(
            pl.len().alias("points"),
            pl.col(risk).mean().round(1).alias("mean_risk"),
            pl.col("label").mean().round(3).alias("withdrew"),
        )
        .with_columns(
            pl.format(
                "{}-{}",
                (pl.col("band") * width).cast(pl.Int32),
                ((pl.col("band") + 1) * width).cast(pl.Int32),
            ).alias("risk")
        )
        .sort("band")
        .select("risk", "points", "mean_risk", "withdrew")
    )


@dataclass
class ModelScore:
    name: str
    roc_auc: float
    precision_at_10: float
    precision_at_50: float
    median_lead_days: float
    alerted: int
    withdrawals: int
    calibration: pl.DataFrame = field(repr=False)


@dataclass
class BacktestReport:
    points: int
    members: int
    positives: int
    days: int
    risk: ModelScore
    baseline: ModelScore

    def as_dict(self) -> dict[str, Any]:
        def model(m: ModelScore) -> dict[str, Any]:
            return {
                "roc_auc": _r(m.roc_auc),
                "precision_at_10": _r(m.precision_at_10),
                "precision_at_50": _r(m.precision_at_50),
                "median_lead_days": _r(m.median_lead_days),
                "alerted": m.alerted,
                "withdrawals": m.withdrawals,
                "calibration": m.calibration.to_dicts(),
            }

        return {
            "points": self.points,
            "members": self.members,
            "withdrew_within_horizon": self.positives,
            "points_in_time": self.days,
            "burnout_risk": model(self.risk),
            "activity_decline": model(self.baseline),
        }


def _r(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 3)


def evaluate(points: pl.DataFrame, cfg: BurnoutConfig, bt: BacktestConfig) -> BacktestReport:
    """Score the risk and the activity-decline baseline on the backtest points."""
    label = points["label"].to_numpy().astype(bool)
    high = pl.col("burnout_risk") >= cfg.high
    alert_rate = float(points.select(high.mean()).item()) if points.height else 0.0
    # The baseline alerts as often as the risk does.
    cut = points["baseline_score"].quantile(1 - alert_rate) if alert_rate > 0 else math.inf
    base_flag = pl.col("baseline_score") >= cut
    base_risk = (
        (pl.col("baseline_score") / math.log2(cfg.full["activity_decline"])).clip(0, 1) * 100
    ).alias("baseline_risk")
    with_base = points.with_columns(base_risk)

    def score(name: str, col: str, flag: pl.Expr, cal_col: str) -> ModelScore:
        lead, hit, total = lead_times(points, flag, bt.horizon_days)
        return ModelScore(
            name,
            roc_auc(points[col].to_numpy(), label),
            precision_at(points, col, 10),
            precision_at(points, col, 50),
            lead,
            hit,
            total,
            calibration(with_base, cal_col),
        )

    return BacktestReport(
        points=points.height,
        members=points["member"].n_unique(),
        positives=int(label.sum()),
        days=points["day"].n_unique(),
        risk=score("burnout_risk", "burnout_risk", high, "burnout_risk"),
        baseline=score("activity_decline", "baseline_score", base_flag, "baseline_risk"),
    )
