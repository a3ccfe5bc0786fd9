"""The buffer effect: hand-computed means, a Welch interval checked against scipy, grouping."""

from __future__ import annotations

import doctest
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from scipy import stats

from anchorwatch.episodes import buffer
from anchorwatch.episodes.buffer import BUFFER_COLUMNS, OVERALL, buffer_effect


def _frame(rows: Sequence[tuple[str, str, str, float, float | None]]) -> pl.DataFrame:
    """Rows of (channel, month, responder, before, after); episode ids are numbered."""
    return pl.DataFrame(
        {
            "episode": [f"e{i}" for i in range(len(rows))],
            "channel": [r[0] for r in rows],
            "month": [r[1] for r in rows],
            "responder": [r[2] for r in rows],
            "sentiment_before": [r[3] for r in rows],
            "sentiment_after": [r[4] for r in rows],
        },
        schema={
            "episode": pl.String,
            "channel": pl.String,
            "month": pl.String,
            "responder": pl.String,
            "sentiment_before": pl.Float64,
            "sentiment_after": pl.Float64,
        },
    )


OFFICIAL_AFTER = [0.1, -0.2, 0.0, 0.3]
MEMBER_AFTER = [0.5, 0.2, 0.6]


def _two_sides(channel: str = "wechat", month: str = "2024-05") -> pl.DataFrame:
    rows = [(channel, month, "official", -0.5, a) for a in OFFICIAL_AFTER]
    rows += [(channel, month, "member", -0.7, a) for a in MEMBER_AFTER]
    return _frame(rows)


def _welch(a: list[float], b: list[float], confidence: float) -> tuple[float, float]:
    """The textbook Welch interval for mean(a) - mean(b), written out by hand."""
    va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    se = math.sqrt(va + vb)
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    t = stats.t.ppf((1 + confidence) / 2, dof)
    diff = float(np.mean(a) - np.mean(b))
    return diff - t * se, diff + t * se


def _only(out: pl.DataFrame, **where: str) -> dict[str, Any]:
    rows = out.filter(*(pl.col(k) == v for k, v in where.items()))
    assert rows.height == 1, rows
    return rows.row(0, named=True)


def test_hand_computed_means_counts_and_lifts() -> None:
    row = buffer_effect(_two_sides(), by=()).row(0, named=True)
    assert row["n_official"] == 4
    assert row["n_member"] == 3
    assert row["silent_official"] == row["silent_member"] == 0
    assert row["mean_official"] == pytest.approx(0.05)  # (0.1 - 0.2 + 0 + 0.3) / 4
    assert row["mean_member"] == pytest.approx(13 / 30)  # (0.5 + 0.2 + 0.6) / 3
    assert row["difference"] == pytest.approx(13 / 30 - 0.05)
    assert row["lift_official"] == pytest.approx(0.55)  # 0.05 - (-0.5)
    assert row["lift_member"] == pytest.approx(13 / 30 + 0.7)


@pytest.mark.parametrize("confidence", [0.95, 0.9, 0.99])
def test_interval_is_welch(confidence: float) -> None:
    row = buffer_effect(_two_sides(), by=(), confidence=confidence).row(0, named=True)
    low, high = _welch(MEMBER_AFTER, OFFICIAL_AFTER, confidence)
    assert row["ci_low"] == pytest.approx(low, rel=1e-12)
    assert row["ci_high"] == pytest.approx(high, rel=1e-12)
    # and scipy's own Welch test agrees (member - official)
    ci = stats.ttest_ind(MEMBER_AFTER, OFFICIAL_AFTER, equal_var=False).confidence_interval(
        confidence
    )
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert row["ci_low"] < row["difference"] < row["ci_high"]


def test_wider_confidence_gives_wider_interval() -> None:
    narrow = buffer_effect(_two_sides(), by=(), confidence=0.8).row(0, named=True)
    wide = buffer_effect(_two_sides(), by=(), confidence=0.99).row(0, named=True)
    assert wide["ci_low"] < narrow["ci_low"] < narrow["ci_high"] < wide["ci_high"]


def test_silent_complainers_are_counted_but_not_averaged() -> None:
    frame = pl.concat(
        [
            _two_sides(),
            _frame(
                [
                    ("wechat", "2024-05", "official", -0.9, None),
                    ("wechat", "2024-05", "official", -0.9, None),
                    ("wechat", "2024-05", "member", -0.9, float("nan")),  # NaN = no score
                ]
            ),
        ]
    )
    row = buffer_effect(frame, by=()).row(0, named=True)
    plain = buffer_effect(_two_sides(), by=()).row(0, named=True)
    assert (row["silent_official"], row["silent_member"]) == (2, 1)
    assert (row["n_official"], row["n_member"]) == (4, 3)
    for name in ("mean_official", "mean_member", "difference", "ci_low", "ci_high"):
        assert row[name] == pytest.approx(plain[name]), name
    # silent rows leave the lift alone too: it needs an "after"
    assert row["lift_official"] == pytest.approx(plain["lift_official"])


def test_all_silent_side_has_null_mean_and_interval() -> None:
    frame = _frame(
        [
            ("wechat", "2024-05", "official", -0.5, None),
            ("wechat", "2024-05", "official", -0.5, None),
            ("wechat", "2024-05", "member", -0.5, 0.1),
            ("wechat", "2024-05", "member", -0.5, 0.3),
        ]
    )
    row = buffer_effect(frame, by=()).row(0, named=True)
    assert (row["n_official"], row["silent_official"]) == (0, 2)
    assert row["mean_official"] is None and row["lift_official"] is None
    assert row["difference"] is None
    assert row["ci_low"] is None and row["ci_high"] is None
    assert row["mean_member"] == pytest.approx(0.2)


def test_group_with_one_side_missing_has_null_interval() -> None:
    frame = pl.concat(
        [
            _two_sides("wechat"),
            _frame(
                [
                    ("forum", "2024-05", "member", -0.5, 0.1),
                    ("forum", "2024-05", "member", -0.5, 0.4),
                ]
            ),
        ]
    )
    out = buffer_effect(frame, by=("channel",))
    forum = _only(out, channel="forum")
    assert forum["n_official"] == 0 and forum["n_member"] == 2
    assert forum["mean_official"] is None and forum["mean_member"] == pytest.approx(0.25)
    assert forum["difference"] is None
    assert forum["ci_low"] is None and forum["ci_high"] is None
    wechat = _only(out, channel="wechat")
    assert wechat["ci_low"] is not None and wechat["ci_high"] is not None


def test_min_n_guards_the_interval() -> None:
    frame = _frame(
        [
            ("wechat", "2024-05", "official", -0.5, 0.1),
            ("wechat", "2024-05", "member", -0.5, 0.2),
            ("wechat", "2024-05", "member", -0.5, 0.6),
        ]
    )
    row = buffer_effect(frame, by=()).row(0, named=True)
    assert row["difference"] == pytest.approx(0.3)  # the means still show
    assert row["ci_low"] is None and row["ci_high"] is None  # one official value: no variance
    # raising min_n removes an interval that the default allows
    assert buffer_effect(_two_sides(), by=(), min_n=3).row(0, named=True)["ci_low"] is not None
    assert buffer_effect(_two_sides(), by=(), min_n=4).row(0, named=True)["ci_low"] is None


def test_both_sides_constant_gives_null_interval() -> None:
    frame = _frame(
        [("w", "2024-05", "official", -0.5, 0.1)] * 3 + [("w", "2024-05", "member", -0.5, 0.4)] * 3
    )
    row = buffer_effect(frame, by=()).row(0, named=True)
    assert row["difference"] == pytest.approx(0.3)
    assert row["ci_low"] is None and row["ci_high"] is None


def test_one_side_constant_uses_the_other_sides_degrees_of_freedom() -> None:
    frame = _frame(
        [("w", "2024-05", "official", -0.5, 0.1)] * 3
        + [("w", "2024-05", "member", -0.5, a) for a in MEMBER_AFTER]
    )
    row = buffer_effect(frame, by=()).row(0, named=True)
    se = math.sqrt(np.var(MEMBER_AFTER, ddof=1) / 3)
    half = stats.t.ppf(0.975, 2) * se
    assert row["ci_low"] == pytest.approx(row["difference"] - half, rel=1e-12)
    assert row["ci_high"] == pytest.approx(row["difference"] + half, rel=1e-12)


def _mixed() -> pl.DataFrame:
    """Two channels by two months, with a silent complainer and uneven sides."""
    return pl.concat(
        [
            _two_sides("wechat", "2024-05"),
            _frame(
                [
                    ("wechat", "2024-06", "official", -0.6, -0.3),
                    ("wechat", "2024-06", "official", -0.6, -0.1),
                    ("wechat", "2024-06", "member", -0.8, 0.2),
                    ("wechat", "2024-06", "member", -0.8, None),
                    ("forum", "2024-05", "member", -0.4, 0.4),
                    ("forum", "2024-05", "official", -0.4, 0.0),
                    ("forum", "2024-06", "official", -0.9, -0.5),
                    ("forum", "2024-06", "official", -0.9, -0.7),
                    ("forum", "2024-06", "member", -0.9, 0.1),
                    ("forum", "2024-06", "member", -0.9, 0.3),
                    ("forum", "2024-06", "member", -0.9, 0.2),
                ]
            ),
        ]
    )


@pytest.mark.parametrize("by", [("channel", "month"), ("channel",), ("month",)])
def test_each_group_equals_the_overall_of_its_rows(by: tuple[str, ...]) -> None:
    frame = _mixed()
    out = buffer_effect(frame, by=by)
    assert out.columns == [*by, *BUFFER_COLUMNS]
    groups = frame.select(by).unique().sort(by)
    assert out.height == groups.height + 1
    body = out.slice(1)
    assert_frame_equal(body.select(by), groups)  # sorted by the by columns
    for key in groups.iter_rows(named=True):
        alone = frame.filter(*(pl.col(k) == v for k, v in key.items()))
        expected = buffer_effect(alone, by=()).row(0, named=True)
        got = _only(body, **key)
        for name in BUFFER_COLUMNS:
            if expected[name] is None:
                assert got[name] is None, (key, name)
            else:
                assert got[name] == pytest.approx(expected[name], rel=1e-12), (key, name)


def test_by_month_and_channel_values_by_hand() -> None:
    frame = _mixed()
    june = _only(buffer_effect(frame, by=("month",)), month="2024-06")
    assert (june["n_official"], june["n_member"]) == (4, 4)
    assert june["silent_member"] == 1
    assert june["mean_official"] == pytest.approx((-0.3 - 0.1 - 0.5 - 0.7) / 4)
    assert june["mean_member"] == pytest.approx((0.2 + 0.1 + 0.3 + 0.2) / 4)
    forum = _only(buffer_effect(frame, by=("channel",)), channel="forum")
    assert (forum["n_official"], forum["n_member"]) == (3, 4)
    assert forum["lift_member"] == pytest.approx((0.8 + 1.0 + 1.2 + 1.1) / 4)


def test_overall_row_comes_first_and_matches_no_grouping() -> None:
    frame = _mixed()
    overall = buffer_effect(frame, by=())
    assert overall.height == 1 and overall.columns == list(BUFFER_COLUMNS)
    for by in [("channel", "month"), ("channel",), ("month",)]:
        out = buffer_effect(frame, by=by)
        first = out.row(0, named=True)
        assert all(first[k] == OVERALL for k in by)
        assert out.filter(pl.col(by[0]) == OVERALL).height == 1
        assert_frame_equal(out.slice(0, 1).select(BUFFER_COLUMNS), overall)
    # the default groups by channel and month
    assert_frame_equal(buffer_effect(frame), buffer_effect(frame, by=("channel", "month")))


def test_a_single_string_by_means_one_column() -> None:
    frame = _mixed()
    assert_frame_equal(buffer_effect(frame, by="channel"), buffer_effect(frame, by=("channel",)))


def test_null_group_keys_sort_last() -> None:
    frame = _two_sides().with_columns(
        pl.when(pl.col("responder") == "member")
        .then(None)
        .otherwise(pl.col("channel"))
        .alias("channel")
    )
    out = buffer_effect(frame, by=("channel",))
    assert out.get_column("channel").to_list() == [OVERALL, "wechat", None]


@pytest.mark.parametrize("by", [("channel", "month"), ("channel",), ("month",), ()])
def test_empty_input_gives_empty_frame_with_columns(by: tuple[str, ...]) -> None:
    out = buffer_effect(_two_sides().clear(), by=by)
    assert out.height == 0
    assert out.columns == [*by, *BUFFER_COLUMNS]
    for name in by:
        assert out.schema[name] == pl.String
    for name in BUFFER_COLUMNS:
        expected = pl.Int64 if name.startswith(("n_", "silent_")) else pl.Float64
        assert out.schema[name] == expected, name


def test_output_types_match_the_empty_schema() -> None:
    assert buffer_effect(_mixed()).schema == buffer_effect(_mixed().clear()).schema


def test_deterministic_and_order_free() -> None:
    frame = _mixed()
    first = buffer_effect(frame)
    assert_frame_equal(first, buffer_effect(frame))
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=7)
    assert_frame_equal(first, buffer_effect(shuffled), check_exact=False, rel_tol=1e-12)


def test_input_is_not_modified() -> None:
    frame = _mixed()
    copy = frame.clone()
    buffer_effect(frame)
    assert_frame_equal(frame, copy)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"confidence": 1.0}, "confidence"),
        ({"confidence": 0.0}, "confidence"),
        ({"min_n": 1}, "min_n"),
        ({"min_n": True}, "min_n"),
        ({"by": ("channel", "channel")}, "twice"),
        ({"by": ("n_member",)}, "clash"),
        ({"by": ("region",)}, "region"),
    ],
)
def test_bad_arguments_raise(kwargs: dict[str, Any], message: str) -> None:
    frame = _two_sides().with_columns(pl.lit(1).alias("n_member"))
    with pytest.raises(ValueError, match=message):
        buffer_effect(frame, **kwargs)


def test_missing_column_and_unknown_responder_raise() -> None:
    with pytest.raises(ValueError, match="sentiment_after"):
        buffer_effect(_two_sides().drop("sentiment_after"))
    bad = _two_sides().with_columns(
        pl.when(pl.col("episode") == "e0")
        .then(pl.lit("bot"))
        .otherwise(pl.col("responder"))
        .alias("responder")
    )
    with pytest.raises(ValueError, match="bot"):
        buffer_effect(bad)


def test_docstring_example_runs() -> None:
    result = doctest.testmod(buffer, verbose=False)
    assert result.attempted > 0 and result.failed == 0
