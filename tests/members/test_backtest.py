"""The backtest's outcome, metrics and baseline on constructed histories."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from anchorwatch.members.backtest import (
    BacktestConfig,
    backtest_config,
    backtest_points,
    calibration,
    evaluate,
    lead_times,
    precision_at,
    roc_auc,
    withdrawals,
)
from anchorwatch.members.burnout import burnout_config, daily_activity, day_number
from anchorwatch.members.ledger import MESSAGE_SCHEMA

from .test_burnout import History

CFG = burnout_config()


def _messages(rows: list[tuple[str, datetime]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "member": m,
                "message": f"{m}{i}",
                "at": at,
                "offset_min": 0,
                "channel": "c",
                "chars": 10,
                "labels": [],
            }
            for i, (m, at) in enumerate(rows)
        ],
        schema=MESSAGE_SCHEMA,
    )


def test_withdrawal_is_the_last_message_before_a_long_silence() -> None:
    d = datetime(2026, 1, 1)
    msgs = _messages(
        [("a", d), ("a", d + timedelta(days=10)), ("a", d + timedelta(days=50))]
        + [("b", d + timedelta(days=k)) for k in range(0, 100, 5)]
    )
    end = day_number(d + timedelta(days=100))
    gone = withdrawals(msgs, 30, end)
    # a: silent 40 days after day 10, then silent to the end (50 days) after day 50.
    assert sorted(gone.filter(pl.col("member") == "a")["withdrew"].to_list()) == [
        day_number(d + timedelta(days=10)),
        day_number(d + timedelta(days=50)),
    ]
    assert gone.filter(pl.col("member") == "b").height == 0


def test_roc_auc_matches_scikit_learn_with_ties() -> None:
    rng = np.random.default_rng(3)
    score = rng.integers(0, 5, 300).astype(float)
    label = rng.random(300) < 0.2 + 0.1 * score
    assert roc_auc(score, label) == pytest.approx(roc_auc_score(label, score))
    assert np.isnan(roc_auc(score, np.zeros(300, dtype=bool)))


def _points() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "member": ["a", "b", "c", "a", "b", "c"],
            "day": [1, 1, 1, 8, 8, 8],
            "burnout_risk": [90.0, 10.0, 50.0, 80.0, 20.0, 30.0],
            "baseline_score": [0.1, 0.9, 0.2, 0.3, 0.8, 0.1],
            "withdrew": [20, None, None, 20, None, None],
            "label": [True, False, False, True, False, False],
        }
    )


def test_precision_lead_time_and_calibration() -> None:
    p = _points()
    assert precision_at(p, "burnout_risk", 1) == 1.0
    assert precision_at(p, "baseline_score", 1) == 0.0
    assert precision_at(p, "burnout_risk", 3) == pytest.approx(1 / 3)
    median, hit, total = lead_times(p, pl.col("burnout_risk") >= 65, 60)
    assert (median, hit, total) == (19.0, 1, 1)  # first alert on day 1, withdrew day 20
    cal = calibration(p, "burnout_risk")
    assert cal["points"].sum() == 6 and cal.filter(pl.col("risk") == "80-100")["withdrew"][0] == 1


def test_evaluate_reports_both_models() -> None:
    report = evaluate(_points(), CFG, backtest_config())
    assert report.risk.roc_auc == 1.0 and report.baseline.roc_auc < 0.5
    data = report.as_dict()
    assert set(data) >= {"burnout_risk", "activity_decline", "points", "withdrew_within_horizon"}
    assert (
        data["burnout_risk"]["calibration"][0]["risk"].endswith("-20")
        or data["burnout_risk"]["calibration"]
    )


def test_backtest_points_on_a_history_where_one_member_burns_out() -> None:
    h = History()
    for m in ("steady1", "steady2", "steady3"):
        h.live(m)
    # The burning member: fatigue words and short replies in the recent window,
    # then silence; the history goes on long enough to see it.
    h.live("burning", lambda d: replace(d, labels=("fatigue",), chars=5), every=3)
    last = max(m["at"] for m in h.messages)
    for m in ("steady1", "steady2", "steady3"):
        for k in range(1, 100):
            at = last + timedelta(days=k)
            h.messages.append(
                {
                    "member": m,
                    "message": f"{m}-late-{k}",
                    "at": at,
                    "offset_min": 480,
                    "channel": "group",
                    "chars": 40,
                    "labels": [],
                }
            )
    messages, acts, aimed, care = h.frames()
    # A shorter baseline, so that points exist before the decline begins.
    cfg = replace(CFG, baseline_days=56)
    daily = daily_activity(messages, acts, aimed, care, cfg)
    bt = BacktestConfig(horizon_days=60, silence_days=30, every_days=7, active_days=14)
    points = backtest_points(daily, messages, cfg, bt)
    burning = points.filter(pl.col("member") == "burning")
    assert burning.height and burning["label"].all()
    assert not points.filter(pl.col("member") != "burning")["label"].any()
    top = points.sort("burnout_risk", descending=True).row(0, named=True)
    assert top["member"] == "burning"


def test_too_short_a_history_gives_no_points() -> None:
    d = datetime(2026, 1, 1)
    msgs = _messages([("a", d + timedelta(days=k)) for k in range(30)])
    daily = daily_activity(
        msgs,
        History().frames()[1],
        History().frames()[2],
        History().frames()[3],
        CFG,
    )
    assert backtest_points(daily, msgs, CFG, backtest_config()).height == 0
