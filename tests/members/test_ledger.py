"""The ledger on constructed member histories."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from anchorwatch.members.ledger import (
    ACT_SCHEMA,
    AIMED_SCHEMA,
    MESSAGE_SCHEMA,
    METRIC_SCHEMA,
    ledger,
    ledger_columns,
    period_of,
)


def _acts(rows: list[tuple]) -> pl.DataFrame:
    """(member, at, act, episode, kind, latency_s, attacks_stopped, converted,
    returned_30d, times_asked_before) rows; message ids and texts made up."""
    full = [
        {
            "member": r[0],
            "message": f"m{i}",
            "at": r[1],
            "act": r[2],
            "episode": r[3],
            "kind": r[4],
            "channel": "group",
            "latency_s": r[5],
            "attacks_stopped": r[6],
            "converted": r[7],
            "returned_30d": r[8],
            "times_asked_before": r[9],
            "text": f"reply {i}",
        }
        for i, r in enumerate(rows)
    ]
    return pl.DataFrame(full, schema=ACT_SCHEMA)


D = datetime(2026, 3, 2, 10)
E = datetime(2026, 4, 5, 10)

ACTS = _acts(
    [
        ("zhang", D, "newcomer_answer", "q1", "newcomer_question", 60, None, None, True, 0),
        ("zhang", D, "newcomer_answer", "q2", "newcomer_question", 180, None, None, False, 3),
        ("zhang", D, "welcome", "a1", "arrival", 30, None, None, None, None),
        ("he", D, "deescalate_redirect", "c1", "conflict", 120, True, None, None, None),
        ("he", D, "deescalate_humor", "c2", "conflict", 60, False, None, None, None),
        ("ann", D, "empathy", "k1", "complaint", 300, None, True, None, None),
        ("ann", D, "guide_channel", "k1", "complaint", 360, None, True, None, None),
        ("ann", E, "empathy", "k2", "complaint", 100, None, False, None, None),
    ]
)
AIMED = pl.DataFrame(
    [
        ("zhang", "x", "t1", D, True, False, False),
        ("zhang", "y", "t2", D, True, False, False),
        ("he", "x", "t3", D, False, False, True),
        ("he", "y", "t4", D, False, True, False),
    ],
    schema=AIMED_SCHEMA,
    orient="row",
)
MESSAGES = pl.DataFrame(
    [
        (member, f"w{i}", at, 480, "group", 20, [])
        for i, (member, at) in enumerate(
            [
                ("zhang", D),
                ("zhang", D),
                ("zhang", D),
                ("he", D),
                ("ann", D),
                ("ann", E),
                ("lurk", E),
            ]
        )
    ],
    schema=MESSAGE_SCHEMA,
    orient="row",
)
METRICS = pl.DataFrame(
    [("creator", "2026-03", 1200, 30, 2), ("ann", "2026-04", 10, 0, 0)],
    schema=METRIC_SCHEMA,
    orient="row",
)


def _row(table: pl.DataFrame, member: str, period: str) -> dict:
    rows = table.filter((pl.col("member") == member) & (pl.col("period") == period))
    assert rows.height == 1
    return rows.row(0, named=True)


def test_monthly_ledger() -> None:
    table = ledger(ACTS, AIMED, MESSAGES, METRICS, "month")
    assert tuple(table.columns) == tuple(ledger_columns())
    zhang = _row(table, "zhang", "2026-03")
    assert zhang["acts_newcomer_answer"] == 2 and zhang["acts_welcome"] == 1
    assert zhang["episodes_served"] == 3 and zhang["newcomers_stayed"] == 1
    assert zhang["repeated_answered"] == 1 and zhang["first_response_s"] == 60
    assert zhang["thanks_received"] == 2 and zhang["messages"] == 3
    he = _row(table, "he", "2026-03")
    assert he["conflicts_calmed"] == 1  # the humour did not stop the attacks
    assert he["attacks_received"] == 1 and he["accusations_received"] == 1
    ann = _row(table, "ann", "2026-03")
    assert ann["complaints_converted"] == 1 and ann["episodes_served"] == 1
    assert _row(table, "ann", "2026-04")["complaints_converted"] == 0
    assert _row(table, "ann", "2026-04")["reads"] == 10
    creator = _row(table, "creator", "2026-03")
    assert creator["reads"] == 1200 and creator["messages"] == 0
    assert creator["first_response_s"] is None
    assert _row(table, "lurk", "2026-04")["episodes_served"] == 0


def test_year_and_week_periods() -> None:
    year = ledger(ACTS, AIMED, MESSAGES, METRICS, "year")
    assert _row(year, "ann", "2026")["acts_empathy"] == 2
    week = ledger(ACTS, AIMED, MESSAGES, METRICS, "week")
    assert set(week["period"]) == {"2026-W10", "2026-W14", "2026-W09"}


def test_period_of_rejects_unknown() -> None:
    with pytest.raises(ValueError):
        period_of(pl.col("at"), "decade")


def test_empty_inputs_give_an_empty_ledger() -> None:
    table = ledger(ACTS.clear(), AIMED.clear(), MESSAGES.clear(), METRICS.clear())
    assert table.height == 0 and tuple(table.columns) == tuple(ledger_columns())


def test_discounted_rows_are_counted_apart() -> None:
    acts = ACTS.with_columns((pl.col("member") == "zhang").alias("discounted"))
    aimed = AIMED.with_columns(pl.lit(True).alias("discounted"))
    table = ledger(acts, aimed, MESSAGES, METRICS, "month")
    zhang = _row(table, "zhang", "2026-03")
    assert zhang["acts_discounted"] == 3 and zhang["episodes_served"] == 0
    assert zhang["thanks_received"] == 0 and zhang["thanks_discounted"] == 2
    # Attacks are never discounted: gaming inflates praise, not abuse.
    assert _row(table, "he", "2026-03")["attacks_received"] == 1
