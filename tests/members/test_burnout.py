"""Burnout risk on constructed member histories: every driver, its own
baseline, its evidence, recognition, levels and the care action."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import polars as pl
import pytest

from anchorwatch.members.burnout import (
    CARE_SCHEMA,
    DRIVERS,
    burnout_config,
    burnout_risk,
    daily_activity,
    day_number,
    driver_evidence,
    drivers_of,
)
from anchorwatch.members.ledger import ACT_SCHEMA, AIMED_SCHEMA, MESSAGE_SCHEMA

CFG = burnout_config()
START = datetime(2026, 1, 5, 2)  # 10:00 in Beijing (UTC+8)
NOW = START + timedelta(days=CFG.recent_days + CFG.baseline_days)
RECENT = NOW - timedelta(days=CFG.recent_days)


@dataclass
class Day:
    """What a member does on one day."""

    messages: int = 2
    chars: int = 40
    hour_shift: int = 0
    labels: tuple[str, ...] = ()
    acts: int | None = None  # how many of the messages are labour acts (None: all)
    asked_before: int = 0
    latency_s: int = 600
    thanks: int = 1
    attacks: int = 0
    accusations: int = 0


@dataclass
class History:
    messages: list[dict[str, Any]] = field(default_factory=list)
    acts: list[dict[str, Any]] = field(default_factory=list)
    aimed: list[dict[str, Any]] = field(default_factory=list)
    care: list[dict[str, Any]] = field(default_factory=list)

    def live(
        self,
        member: str,
        recent: Callable[[Day], Day] = lambda d: d,
        every: int = 1,
        base: Day | None = None,
    ) -> None:
        """A steady baseline of ``base`` days, then ``recent`` applied to each
        recent day (only every ``every``-th recent day is lived)."""
        base = base or Day()
        day = START
        n = 0
        while day < NOW:
            plan = recent(base) if day >= RECENT else base
            if (day - START).days % every == 0 or day < RECENT:
                for i in range(plan.messages):
                    n += 1
                    mid = f"{member}-{n}"
                    at = day + timedelta(hours=plan.hour_shift, minutes=i)
                    self.messages.append(
                        {
                            "member": member,
                            "message": mid,
                            "at": at,
                            "offset_min": 480,
                            "channel": "group",
                            "chars": plan.chars,
                            "labels": list(plan.labels),
                        }
                    )
                    if plan.acts is None or i < plan.acts:
                        self.acts.append(
                            {
                                "member": member,
                                "message": mid,
                                "at": at,
                                "act": "newcomer_answer",
                                "episode": f"ep-{mid}",
                                "kind": "newcomer_question",
                                "channel": "group",
                                "latency_s": plan.latency_s,
                                "times_asked_before": plan.asked_before,
                                "text": f"answer {n}",
                            }
                        )
                for kind, count in (
                    ("gratitude", plan.thanks),
                    ("personal_attack", plan.attacks),
                    ("bias_accusation", plan.accusations),
                ):
                    for j in range(count):
                        self.aimed.append(
                            {
                                "target": member,
                                "giver": f"other{j}",
                                "message": f"to-{member}-{kind}-{day:%j}-{j}",
                                "at": day + timedelta(hours=1, minutes=j),
                                "gratitude": kind == "gratitude",
                                "personal_attack": kind == "personal_attack",
                                "bias_accusation": kind == "bias_accusation",
                            }
                        )
            day += timedelta(days=1)

    def frames(self) -> tuple[pl.DataFrame, ...]:
        return (
            pl.DataFrame(self.messages, schema=MESSAGE_SCHEMA),
            pl.DataFrame(self.acts, schema=ACT_SCHEMA),
            pl.DataFrame(self.aimed, schema=AIMED_SCHEMA),
            pl.DataFrame(self.care, schema=CARE_SCHEMA),
        )


def _risk(history: History, member: str = "m", cfg: Any = CFG) -> dict[str, Any]:
    messages, acts, aimed, care = history.frames()
    daily = daily_activity(messages, acts, aimed, care, cfg)
    points = pl.DataFrame({"member": [member], "day": [day_number(NOW)]}).cast({"day": pl.Int32})
    out = burnout_risk(daily, points, cfg, care_in_use=care.height > 0)
    return out.row(0, named=True)


def _evidence(history: History, member: str = "m") -> dict[str, list[str]]:
    messages, acts, aimed, _care = history.frames()
    points = pl.DataFrame({"member": [member], "day": [day_number(NOW)]}).cast({"day": pl.Int32})
    ev = driver_evidence(messages, acts, aimed, points, CFG)
    return {d: list(ids) for d, ids in zip(ev["driver"], ev["evidence"], strict=True)}


def _community(recent: Callable[[Day], Day], every: int = 1, base: Day | None = None) -> History:
    """The member under test and two steady peers (the community's trend)."""
    h = History()
    h.live("m", recent, every, base)
    h.live("peer1")
    h.live("peer2")
    return h


#: driver -> how the member's recent days change to raise it.  Load rises
#: within the same number of messages: a member who simply writes more is, in
#: the near term, not withdrawing (``activity_decline`` scores below 0), so
#: the test isolates the labour share.
LOAD_BASE = Day(messages=4, acts=1)
CHANGES: dict[str, tuple[Callable[[Day], Day], int]] = {
    "load": (lambda d: replace(d, acts=4), 1),
    "repeated_questions": (lambda d: replace(d, asked_before=4), 1),
    "late_night": (lambda d: replace(d, hour_shift=14), 1),  # 00:00 in Beijing
    "negativity": (lambda d: replace(d, labels=("heated",)), 1),
    "curtness": (lambda d: replace(d, chars=4), 1),
    "fatigue": (lambda d: replace(d, labels=("fatigue",)), 1),
    "thanks_per_act": (lambda d: replace(d, thanks=0), 1),
    "attacks_received": (lambda d: replace(d, attacks=1), 1),
    "accusations_received": (lambda d: replace(d, accusations=1), 1),
    "activity_decline": (lambda d: d, 7),
    "slower_replies": (lambda d: replace(d, latency_s=8 * 3600), 1),
}


def test_a_steady_member_is_low_risk_with_no_driver() -> None:
    row = _risk(_community(lambda d: d))
    assert row["level"] == "low" and row["burnout_risk"] < CFG.medium
    assert all(row[f"{d}_score"] == 0 for d in DRIVERS if d != "activity_decline")
    assert row["care_action"] is None


@pytest.mark.parametrize("driver", sorted(CHANGES))
def test_each_driver_rises_against_the_own_baseline(driver: str) -> None:
    change, every = CHANGES[driver]
    base = LOAD_BASE if driver == "load" else None
    history = _community(change, every, base)
    row = _risk(history)
    assert row[f"{driver}_score"] > 0.3, row
    steady = _risk(_community(lambda d: d, base=base))
    assert steady[f"{driver}_score"] <= 0
    assert row["burnout_risk"] > steady["burnout_risk"]
    listed = drivers_of(row, _evidence(history))
    mine = next(d for d in listed if d["name"] == driver)
    assert mine["dimension"] == DRIVERS[driver]
    assert mine["value"] != mine["baseline"]
    # Evidence: messages of the recent window only.
    assert mine["evidence"], mine
    times = {m["message"]: m["at"] for m in history.messages} | {
        a["message"]: a["at"] for a in history.aimed
    }
    assert all(RECENT <= times[i] < NOW for i in mine["evidence"])


def test_a_silent_members_evidence_is_their_last_messages() -> None:
    h = _community(lambda d: replace(d, messages=0, thanks=0))
    row = _risk(h)
    assert row["activity_decline_score"] == 1.0
    last = [m["message"] for m in h.messages if m["member"] == "m"][-CFG.evidence :]
    assert set(_evidence(h)["activity_decline"]) == set(last)


def test_a_member_who_always_writes_at_night_is_not_flagged_for_it() -> None:
    h = History()
    h.live("m", lambda d: d)
    h.messages = [{**m, "at": m["at"] + timedelta(hours=14)} for m in h.messages]
    assert _risk(h)["late_night_score"] == 0


def test_no_recognition_counts_once_the_brand_keeps_a_care_log() -> None:
    h = _community(lambda d: d)
    assert _risk(h)["no_recognition_score"] == 0  # no care log: not held against anyone
    h.care.append({"member": "peer1", "at": NOW - timedelta(days=3), "action": "thanks"})
    assert _risk(h)["no_recognition_score"] > 0
    h.care.append({"member": "m", "at": NOW - timedelta(days=3), "action": "thanks"})
    assert _risk(h)["no_recognition_score"] == 0


def test_recent_recognition_lowers_the_risk() -> None:
    h = _community(CHANGES["fatigue"][0])
    before = _risk(h)
    h.care.append({"member": "m", "at": NOW - timedelta(days=5), "action": "call"})
    after = _risk(h)
    assert after["recognised"] and not before["recognised"]
    assert after["burnout_risk"] < before["burnout_risk"]
    h.care[-1]["at"] = NOW - timedelta(days=CFG.recognition_days + 10)
    assert _risk(h)["burnout_risk"] == before["burnout_risk"]


def test_a_community_wide_lull_is_not_one_members_withdrawal() -> None:
    h = History()
    for member in ("m", "peer1", "peer2"):
        h.live(member, lambda d: d, every=7)
    assert _risk(h)["activity_decline_score"] <= 0


def test_several_drivers_make_a_high_risk_with_a_care_action() -> None:
    def burning(d: Day) -> Day:
        return replace(d, labels=("fatigue",), chars=6, latency_s=6 * 3600, accusations=1)

    row = _risk(_community(burning, every=4))
    assert row["level"] == "high" and row["burnout_risk"] >= CFG.high
    assert row["care_action"] == CFG.care_actions[row["dimension"]]


def test_without_an_own_baseline_there_is_no_risk() -> None:
    h = History()
    h.live("m", lambda d: d)
    h.messages = [m for m in h.messages if m["at"] >= RECENT]
    row = _risk(h)
    assert row["burnout_risk"] is None and row["level"] is None


def test_discounted_acts_and_thanks_do_not_count() -> None:
    h = _community(lambda d: d)
    messages, acts, aimed, care = h.frames()
    acts = acts.with_columns(pl.lit(True).alias("discounted"))
    daily = daily_activity(messages, acts, aimed, care, CFG)
    assert daily["acts"].sum() == 0 and daily["thanks"].sum() > 0


def test_config_must_name_every_driver() -> None:
    from anchorwatch.members.burnout import BurnoutConfig
    from anchorwatch.members.value import members_settings

    raw = dict(members_settings()["burnout"])
    raw["drivers"] = {k: v for k, v in raw["drivers"].items() if k != "fatigue"}
    with pytest.raises(ValueError, match="fatigue"):
        BurnoutConfig.from_config(raw)
