"""Thank-you drafts name the member's real events, in every tone and locale."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from anchorwatch.care.thanks import (
    EVENT_SCHEMA,
    NoEvidence,
    care_settings,
    compose,
    drafts,
    period_bounds,
    rank_events,
    topic_of,
)

TODAY = datetime(2026, 6, 30, 12)


def _events(rows: list[dict]) -> pl.DataFrame:
    base = {k: None for k in EVENT_SCHEMA}
    return pl.DataFrame([{**base, **r} for r in rows], schema=EVENT_SCHEMA)


EVENTS = _events(
    [
        {
            "episode": "ep_quarrel",
            "kind": "conflict",
            "started_at": datetime(2026, 6, 3, 20),
            "title": "续航虚标",
            "stream": False,
            "acts": ["deescalate_redirect"],
            "messages": ["m10"],
            "attacks_stopped": True,
            "agreement": True,
        },
        {
            "episode": "ep_screen",
            "kind": "complaint",
            "started_at": datetime(2026, 6, 25, 9),
            "title": None,
            "stream": True,
            "subject_text": "车机又黑屏了！！！开着开着屏幕全黑，太危险了",
            "acts": ["empathy", "guide_details", "guide_channel"],
            "messages": ["m20", "m21"],
            "details_given": True,
            "moved_to_channel": True,
            "sentiment_first": -0.8,
            "sentiment_last": 0.2,
        },
        {
            "episode": "ep_plus_one",
            "kind": "newcomer_question",
            "started_at": datetime(2026, 6, 29, 9),
            "title": "胎压",
            "stream": False,
            "acts": ["newcomer_answer"],
            "messages": ["m30"],
        },
    ]
)


def test_events_are_ranked_by_what_they_achieved() -> None:
    weights = {k: float(v) for k, v in care_settings()["event_weights"].items()}
    ranked = rank_events(EVENTS, weights)
    assert ranked["episode"].to_list()[-1] == "ep_plus_one"  # recent, but achieved least
    assert set(ranked["episode"].head(2)) == {"ep_quarrel", "ep_screen"}


def test_a_draft_names_the_concrete_events() -> None:
    d = compose("u1", "老王", EVENTS, today=TODAY, tone="warm", locale="zh-CN", period="2026-06")
    assert d.text.startswith("老王")
    assert "「续航虚标」" in d.text and "车机" in d.text
    assert "6月3日" in d.text  # when
    assert "官方" in d.text or "细节" in d.text  # what came of the complaint
    assert set(d.episodes) == {"ep_quarrel", "ep_screen"}
    assert {"m10", "m20", "m21"} <= set(d.messages)


def test_english_and_every_tone_read_differently_and_stably() -> None:
    all_drafts = drafts("u1", "Lao Wang", EVENTS, today=TODAY, period="2026-06")
    assert len(all_drafts) == len(care_settings()["tones"]) * 2
    texts = [d.text for d in all_drafts]
    assert len(set(texts)) == len(texts)
    english = [d for d in all_drafts if d.locale == "en"]
    assert all('"续航虚标"' in d.text and "June" in d.text for d in english)
    again = drafts("u1", "Lao Wang", EVENTS, today=TODAY, period="2026-06")
    assert [d.text for d in again] == texts


def test_different_members_get_different_wording() -> None:
    a = compose("u1", "甲", EVENTS, today=TODAY, period="2026-06").text.replace("甲", "")
    others = {
        compose(f"u{i}", "甲", EVENTS, today=TODAY, period="2026-06").text.replace("甲", "")
        for i in range(2, 8)
    }
    assert len(others | {a}) > 2


def test_no_events_no_generic_thanks() -> None:
    with pytest.raises(NoEvidence):
        compose("u1", "老王", EVENTS.clear(), today=TODAY)


def test_topics() -> None:
    assert topic_of("续航虚标", None, "zh-CN") == "续航虚标"
    long = topic_of(
        None, "请教大家，L9的胎压传感器一直显示--是坏了吗", "zh-CN", frozenset({"请教", "大家"})
    )
    assert "胎压" in long and "请教" not in long and len(long) <= 10
    assert topic_of(None, "Hi all, my OTA update failed twice", "en", frozenset({"hi", "all"})) == (
        "my OTA update failed twice"
    )
    assert topic_of(None, None, "en") == "that question"


def test_periods() -> None:
    assert period_bounds("2026-02") == (datetime(2026, 2, 1), datetime(2026, 3, 1))
    assert period_bounds("2026") == (datetime(2026, 1, 1), datetime(2027, 1, 1))
    with pytest.raises(ValueError):
        period_bounds("June")
