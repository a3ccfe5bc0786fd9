"""Awards on hand-built frames: eligibility and its reasons, anti-gaming,
ranking by the configured fields, one award per person, the dossier, reward
suggestions and citations (``anchorwatch.care.awards``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

import polars as pl
import pytest

from anchorwatch.care.awards import (
    PEOPLE_SCHEMA,
    RANKING_SCHEMA,
    AntiGaming,
    AwardCategory,
    AwardsConfig,
    CitedEpisode,
    Eligibility,
    RankField,
    RewardsConfig,
    act_quotes,
    allocate,
    award_fields,
    awarded_in,
    awards_config,
    awards_settings,
    best_episodes,
    citation,
    eligibility,
    held_elsewhere,
    rank_category,
    rewards_config,
    rewards_settings,
    suggest_rewards,
    thanks_quotes,
)
from anchorwatch.members.burnout import CARE_SCHEMA
from anchorwatch.members.gaming import FINDING_SCHEMA
from anchorwatch.members.ledger import (
    ACT_SCHEMA,
    AIMED_SCHEMA,
    MESSAGE_SCHEMA,
    METRIC_SCHEMA,
    ledger,
)
from anchorwatch.members.value import value_index

YEAR = 2026
OLD = datetime(2024, 5, 1)


class Community:
    """A small year of community, built act by act."""

    def __init__(self) -> None:
        self.acts: list[dict[str, Any]] = []
        self.aimed: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []
        self.people: list[dict[str, Any]] = []
        self.findings: list[dict[str, Any]] = []
        self.care: list[dict[str, Any]] = []
        self._n = 0

    def _id(self) -> str:
        self._n += 1
        return f"m{self._n:05d}"

    def person(self, member: str, role: str = "member", joined: datetime | None = OLD) -> None:
        self.people.append({"member": member, "role": role, "joined_at": joined})

    def say(self, member: str, at: datetime, text: str = "嗯嗯") -> str:
        mid = self._id()
        self.messages.append(
            {
                "member": member,
                "message": mid,
                "at": at,
                "offset_min": 480,
                "channel": "wechat:车友群",
                "chars": len(text),
                "labels": [],
            }
        )
        return mid

    def act(
        self,
        member: str,
        at: datetime,
        act: str,
        episode: str,
        kind: str,
        ok: bool = True,
        text: str | None = None,
        discounted: bool = False,
    ) -> str:
        text = text or f"{member} 的 {act}（{episode}）"
        mid = self.say(member, at, text)
        self.acts.append(
            {
                "member": member,
                "message": mid,
                "at": at,
                "act": act,
                "episode": episode,
                "kind": kind,
                "channel": "wechat:车友群",
                "latency_s": 60,
                "attacks_stopped": ok if kind == "conflict" else None,
                "converted": ok if kind == "complaint" else None,
                "returned_30d": ok if kind in ("newcomer_question", "arrival") else None,
                "times_asked_before": 0,
                "text": text,
                "discounted": discounted,
            }
        )
        return mid

    def thank(
        self, giver: str, target: str, at: datetime, text: str = "谢谢！", discounted: bool = False
    ) -> str:
        mid = self.say(giver, at, text)
        self.aimed.append(
            {
                "target": target,
                "giver": giver,
                "message": mid,
                "at": at,
                "gratitude": True,
                "personal_attack": False,
                "bias_accusation": False,
                "discounted": discounted,
            }
        )
        return mid

    def labourer(
        self, member: str, *, months: int = 6, kind: str = "conflict", act: str = "empathy"
    ) -> None:
        """One act a month (an episode each) for ``months`` months, and two
        thanks from different members."""
        for m in range(months):
            self.act(member, datetime(YEAR, m + 1, 10, 12), act, f"ep_{member}_{m}", kind)
        self.thank(f"{member}_fan1", member, datetime(YEAR, 2, 1))
        self.thank(f"{member}_fan2", member, datetime(YEAR, 3, 1))

    def frames(self) -> dict[str, pl.DataFrame]:
        acts = pl.DataFrame(self.acts, schema={**ACT_SCHEMA, "discounted": pl.Boolean()})
        aimed = pl.DataFrame(self.aimed, schema={**AIMED_SCHEMA, "discounted": pl.Boolean()})
        messages = pl.DataFrame(self.messages, schema=MESSAGE_SCHEMA)
        metrics = pl.DataFrame(schema=METRIC_SCHEMA)
        table = value_index(ledger(acts, aimed, messages, metrics, "year"))
        return {
            "year": table.filter(pl.col("period") == str(YEAR)),
            "acts": acts,
            "aimed": aimed,
            "messages": messages,
            "people": pl.DataFrame(self.people, schema=PEOPLE_SCHEMA),
            "findings": pl.DataFrame(self.findings, schema=FINDING_SCHEMA),
            "care": pl.DataFrame(self.care, schema=CARE_SCHEMA),
        }


@pytest.fixture(scope="module")
def cfg() -> AwardsConfig:
    return awards_config()


@pytest.fixture(scope="module")
def rewards() -> RewardsConfig:
    return rewards_config()


def fields_of(c: Community, cfg: AwardsConfig) -> pl.DataFrame:
    f = c.frames()
    return award_fields(f["year"], f["acts"], f["aimed"], f["messages"], f["people"], YEAR, cfg)


def checked(
    c: Community, cfg: AwardsConfig, rules: Eligibility | None = None
) -> dict[str, list[str]]:
    f = c.frames()
    fields = fields_of(c, cfg)
    out = eligibility(
        fields,
        f["findings"],
        awarded_in(f["care"], YEAR),
        rules or cfg.eligibility,
        cfg.anti_gaming,
        cfg.one_award_per_person,
    )
    return {m: list(r) for m, r in out.select("member", "reasons").iter_rows()}


# ---------------------------------------------------------------------- config


def test_config_is_versioned_with_the_four_default_categories(
    cfg: AwardsConfig, rewards: RewardsConfig
) -> None:
    assert cfg.version == "awards.v1" and rewards.version == "rewards.v1"
    names = {c.key: c.name("zh-CN") for c in cfg.categories}
    assert names == {
        "community_contribution": "年度最佳社群贡献奖",
        "newcomer_mentor": "最受新人欢迎导师奖",
        "peacemaker": "和事佬奖",
        "emotional_buffer": "情绪缓冲带奖",
    }
    assert cfg.one_award_per_person
    assert cfg.category("peacemaker").requires == {"conflicts_calmed": 1.0}
    assert "official" in cfg.eligibility.excluded_roles
    assert "operator" in cfg.eligibility.excluded_roles
    # A category may tighten one rule and keep the others.
    mentor = cfg.category("newcomer_mentor").eligibility
    assert mentor.min_tenure_days == 180 and mentor.min_acts == cfg.eligibility.min_acts
    kinds = {i.kind for i in rewards.catalogue}
    assert kinds == {"rest", "experience", "product"}
    assert {"hotel_stay", "spa_day", "concert_tickets"} <= {i.key for i in rewards.catalogue}


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("rank_by", "likes"), {"weight": 1.0}, "unknown"),
        (("rank_by", "conflicts_calmed"), {"weight": 1.0, "transform": "sqrt"}, "transform"),
        (("rank_by", "conflicts_calmed"), {"weight": 0}, "above 0"),
        (("requires",), {"fame": 1}, "unknown"),
        (("name",), {"zh-CN": "和事佬奖"}, "en"),
        (("eligibility",), {"min_karma": 3}, "unknown"),
    ],
)
def test_config_rejects_what_it_cannot_honour(
    path: tuple[str, ...], value: Any, message: str
) -> None:
    import copy

    raw = copy.deepcopy(awards_settings())
    spot = raw["categories"]["peacemaker"]
    for key in path[:-1]:
        spot = spot[key]
    spot[path[-1]] = value
    with pytest.raises(ValueError, match=message):
        AwardsConfig.from_config(raw)


def test_reward_hints_must_name_catalogue_items() -> None:
    import copy

    raw = copy.deepcopy(rewards_settings())
    raw["suggestions"]["category_hints"]["peacemaker"] = ["yacht"]
    with pytest.raises(ValueError, match="yacht"):
        RewardsConfig.from_config(raw)


# ---------------------------------------------------------------------- eligibility


def test_eligibility_gives_each_excluded_member_its_reason(cfg: AwardsConfig) -> None:
    c = Community()
    for m in ("anchor", "staff", "operator", "quiet", "brief", "awarded"):
        c.person(m, role={"staff": "official", "operator": "operator"}.get(m, "member"))
    c.labourer("anchor")
    c.labourer("staff")
    c.labourer("operator")
    c.labourer("awarded")
    # Too little activity: 2 acts and episodes, though active in 4 months.
    c.labourer("quiet", months=2)
    c.say("quiet", datetime(YEAR, 8, 1))
    c.say("quiet", datetime(YEAR, 9, 1))
    # Active in two months only, but plenty of acts.
    for i in range(8):
        c.act("brief", datetime(YEAR, 5 + i // 4, 3 + i), "empathy", f"ep_brief_{i}", "complaint")
    c.thank("x", "brief", datetime(YEAR, 5, 20))
    c.thank("y", "brief", datetime(YEAR, 5, 21))
    c.care.append({"member": "awarded", "at": datetime(YEAR, 3, 1), "action": "award"})
    # An award from last year and a thank-you note this year do not count.
    c.care.append({"member": "anchor", "at": datetime(YEAR - 1, 12, 20), "action": "award"})
    c.care.append({"member": "anchor", "at": datetime(YEAR, 3, 1), "action": "thanks"})
    reasons = checked(c, cfg)
    assert reasons["anchor"] == []
    assert reasons["staff"] == ["role"]
    assert reasons["operator"] == ["role"]
    assert reasons["awarded"] == ["awarded"]
    assert reasons["quiet"] == ["acts", "episodes"]
    assert reasons["brief"] == ["active_months"]
    # Members who did no labour are not candidates at all.
    assert "anchor_fan1" not in reasons


def test_tenure_counts_from_joining_or_first_message(cfg: AwardsConfig) -> None:
    c = Community()
    c.person("veteran", joined=datetime(2020, 1, 1))
    c.person("unknown", joined=None)
    c.person("newbie", joined=datetime(YEAR, 11, 1))
    c.labourer("veteran")
    c.labourer("unknown")
    for i in range(6):
        c.act("newbie", datetime(YEAR, 11, 2 + i), "welcome", f"ep_nb_{i}", "arrival")
    for i in range(3):
        c.act("newbie", datetime(YEAR, 12, 2 + i), "welcome", f"ep_nb2_{i}", "arrival")
    c.say("newbie", datetime(YEAR, 10, 31, 23))  # a third active month
    c.thank("a", "newbie", datetime(YEAR, 11, 20))
    c.thank("b", "newbie", datetime(YEAR, 11, 21))
    c.say("late", datetime(YEAR, 12, 31, 12))  # the history runs to the year's end
    fields = {r["member"]: r for r in fields_of(c, cfg).iter_rows(named=True)}
    assert (
        fields["veteran"]["tenure_days"] == (datetime(YEAR + 1, 1, 1) - datetime(2020, 1, 1)).days
    )
    # Without a join date, tenure starts at the first message (10 January).
    assert fields["unknown"]["tenure_days"] == 355
    reasons = checked(c, cfg)
    assert reasons["newbie"] == ["tenure"]
    assert reasons["veteran"] == [] and reasons["unknown"] == []


def test_tenure_stops_at_the_end_of_the_history_while_the_year_runs(cfg: AwardsConfig) -> None:
    c = Community()
    c.person("early", joined=None)
    c.labourer("early")  # first act 10 January, last 10 June: the history ends that day
    fields = {r["member"]: r for r in fields_of(c, cfg).iter_rows(named=True)}
    assert (
        fields["early"]["tenure_days"] == (datetime(YEAR, 6, 11) - datetime(YEAR, 1, 10, 12)).days
    )


def test_a_member_awarded_this_year_may_be_nominated_when_the_rule_is_off(
    cfg: AwardsConfig,
) -> None:
    c = Community()
    c.person("awarded")
    c.labourer("awarded")
    c.care.append({"member": "awarded", "at": datetime(YEAR, 3, 1), "action": "award"})
    f = c.frames()
    out = eligibility(
        fields_of(c, cfg),
        f["findings"],
        awarded_in(f["care"], YEAR),
        cfg.eligibility,
        cfg.anti_gaming,
        one_award_per_person=False,
    )
    assert out.filter(pl.col("member") == "awarded")["eligible"].item()


# ---------------------------------------------------------------------- anti-gaming


def test_anti_gaming_exclusions_with_reasons(cfg: AwardsConfig) -> None:
    c = Community()
    for m in ("honest", "ringer", "pasted", "clique", "sockpuppeted"):
        c.person(m)
        c.labourer(m)
    # A thanks ring flagged by members.gaming: excluded whatever their numbers.
    c.findings.append(
        {"member": "ringer", "rule": "thanks_ring", "discounted": 4, "reason": "thanks ring: …"}
    )
    c.findings.append(
        {"member": "sockpuppeted", "rule": "thanking_account", "discounted": 6, "reason": "…"}
    )
    # Reply spam is discounted by the ledger, not disqualifying by itself...
    c.findings.append({"member": "honest", "rule": "reply_spam", "discounted": 1, "reason": "…"})
    # ...but a member whose labour is mostly discounted is out.
    for i in range(5):
        c.act(
            "pasted", datetime(YEAR, 7, 1 + i), "empathy", f"ep_p{i}", "complaint", discounted=True
        )
    # Praise from a clique: many thanks, one giver (the fixed two fans' thanks
    # were discounted as a ring).
    c.aimed = [a for a in c.aimed if a["target"] != "clique"]
    for i in range(6):
        c.thank("bestie", "clique", datetime(YEAR, 4, 1 + i))
    c.thank("fan", "clique", datetime(YEAR, 4, 20), discounted=True)
    reasons = checked(c, cfg)
    assert reasons["honest"] == []
    assert reasons["ringer"] == ["gaming"]
    assert reasons["sockpuppeted"] == ["gaming"]
    assert reasons["pasted"] == ["discounted_share"]
    assert reasons["clique"] == ["thanks_givers"]
    fields = {r["member"]: r for r in fields_of(c, cfg).iter_rows(named=True)}
    assert fields["clique"]["thanks_received"] == 6 and fields["clique"]["thanks_givers"] == 1
    assert fields["pasted"]["discounted_share"] == pytest.approx(5 / (6 + 5 + 2))
    # The rules are configuration: a brand that wants no minimum sets 0.
    lenient = replace(cfg, anti_gaming=AntiGaming((), 0, 1.0))
    assert checked(c, lenient)["clique"] == [] and checked(c, lenient)["ringer"] == []


# ---------------------------------------------------------------------- ranking


def ranked(rows: dict[str, dict[str, float]], category: AwardCategory) -> pl.DataFrame:
    frame = pl.DataFrame([{"member": m, **v} for m, v in rows.items()])
    return rank_category(frame, category)


def peacemaker(**changes: Any) -> AwardCategory:
    return replace(awards_config().category("peacemaker"), **changes)


def test_ranking_follows_the_configured_fields_and_weights() -> None:
    rows = {
        "calmer": {"conflicts_calmed": 6, "deescalations": 6, "thanks_givers": 2},
        "talker": {"conflicts_calmed": 1, "deescalations": 30, "thanks_givers": 9},
        "nobody": {"conflicts_calmed": 0, "deescalations": 12, "thanks_givers": 3},
    }
    out = ranked(rows, peacemaker())
    # `requires: conflicts_calmed >= 1` keeps "nobody" out altogether.
    assert out["member"].to_list() == ["calmer", "talker"]
    assert out["place"].to_list() == [1, 2]
    top = out.row(0, named=True)
    assert top["score"] == 100.0
    assert sum(p["points"] for p in top["parts"]) == pytest.approx(100.0, abs=0.05)
    assert [p["field"] for p in top["parts"]] == [
        "conflicts_calmed",
        "deescalations",
        "thanks_givers",
    ]
    assert top["lead"] == pytest.approx(100.0 - out["score"][1])
    # Weigh the de-escalations, not the outcomes, and the order turns.
    volume = peacemaker(rank_by=(RankField("deescalations", 1.0),))
    assert ranked(rows, volume)["member"].to_list() == ["talker", "calmer"]
    # Linear instead of log1p: volume no longer has diminishing returns.
    linear = peacemaker(rank_by=(RankField("deescalations", 1.0, "linear"),))
    scores = ranked(rows, linear)["score"].to_list()
    assert scores == [100.0, pytest.approx(20.0)]


def test_ranking_is_deterministic_on_ties() -> None:
    rows = {m: {"conflicts_calmed": 3, "deescalations": 3, "thanks_givers": 3} for m in "dbca"}
    assert ranked(rows, peacemaker())["member"].to_list() == ["a", "b", "c", "d"]


def rankings(places: dict[str, list[tuple[str, float]]]) -> pl.DataFrame:
    rows = []
    for category, members in places.items():
        scores = [s for _, s in members]
        for i, (member, score) in enumerate(members):
            nxt = scores[i + 1] if i + 1 < len(scores) else 0.0
            rows.append((category, member, i + 1, score, score - nxt, []))
    return pl.DataFrame(rows, schema=RANKING_SCHEMA, orient="row")


def test_one_award_per_person_keeps_the_clearest_first_place(cfg: AwardsConfig) -> None:
    cats = cfg.categories
    ranks = rankings(
        {
            # Star leads the contribution award by 5 and the buffer award by 40:
            # they keep the buffer award, the contribution award goes on.
            "community_contribution": [("star", 100), ("second", 95), ("third", 60)],
            "newcomer_mentor": [("mentor", 100), ("star", 90)],
            "peacemaker": [("second", 100), ("calm", 97)],
            "emotional_buffer": [("star", 100), ("buffer", 60)],
        }
    )
    out = allocate(ranks, cats, top=3)
    firsts = out.filter(pl.col("rank") == 1).select("category", "member").rows()
    assert firsts == [
        ("community_contribution", "third"),
        ("newcomer_mentor", "mentor"),
        ("peacemaker", "second"),
        ("emotional_buffer", "star"),
    ]
    recipients = out.filter("recipient")["member"]
    assert recipients.n_unique() == recipients.len() == 4
    # A member who receives one award is not a nominee of another.
    assert out.filter(pl.col("member") == "star")["category"].to_list() == ["emotional_buffer"]
    mentor = out.filter(pl.col("category") == "newcomer_mentor")
    assert mentor["member"].to_list() == ["mentor"]
    # The operator is told who was moved, and where they went.
    moved = held_elsewhere(ranks, out).rows()
    assert ("community_contribution", "star", 1, "emotional_buffer") in moved
    assert ("community_contribution", "second", 2, "peacemaker") in moved


def test_rank_comes_before_lead_and_order_breaks_the_last_tie(cfg: AwardsConfig) -> None:
    cats = cfg.categories
    # First in the contribution award beats second in the mentor award.
    ranks = rankings(
        {
            "community_contribution": [("x", 100), ("y", 99)],
            "newcomer_mentor": [("z", 100), ("x", 99)],
        }
    )
    out = allocate(ranks, cats, top=3).filter("recipient")
    assert out.select("category", "member").rows() == [
        ("community_contribution", "x"),
        ("newcomer_mentor", "z"),
    ]
    # Same place, same lead: the category listed first in awards.yaml.
    tie = rankings(
        {
            "peacemaker": [("x", 100), ("p", 50)],
            "community_contribution": [("x", 100), ("c", 50)],
        }
    )
    out = allocate(tie, cats, top=3).filter("recipient")
    assert dict(out.select("member", "category").rows())["x"] == "community_contribution"


def test_without_the_rule_a_member_may_lead_several_categories(cfg: AwardsConfig) -> None:
    ranks = rankings(
        {"peacemaker": [("x", 100), ("p", 50)], "emotional_buffer": [("x", 100), ("b", 80)]}
    )
    out = allocate(ranks, cfg.categories, top=1, one_award_per_person=False)
    assert out.select("category", "member", "recipient").rows() == [
        ("peacemaker", "x", True),
        ("emotional_buffer", "x", True),
    ]


def test_several_winners_per_category(cfg: AwardsConfig) -> None:
    two = [replace(cfg.category("peacemaker"), winners=2)]
    ranks = rankings({"peacemaker": [("a", 100), ("b", 90), ("c", 80)]})
    out = allocate(ranks, two, top=3)
    assert out.select("member", "recipient").rows() == [("a", True), ("b", True), ("c", False)]


# ---------------------------------------------------------------------- dossier


def test_best_episodes_prefer_the_category_kind_and_what_went_well(cfg: AwardsConfig) -> None:
    c = Community()
    c.act("m", datetime(YEAR, 1, 5), "welcome", "ep_arrival", "arrival")
    c.act("m", datetime(YEAR, 2, 5), "deescalate_humor", "ep_fail", "conflict", ok=False)
    c.act("m", datetime(YEAR, 3, 5), "deescalate_summary", "ep_calm", "conflict", ok=True)
    c.act("m", datetime(YEAR, 3, 5, 1), "deescalate_redirect", "ep_calm", "conflict", ok=True)
    c.act("m", datetime(YEAR, 4, 5), "empathy", "ep_gamed", "conflict", discounted=True)
    c.act("m", datetime(YEAR - 1, 4, 5), "empathy", "ep_last_year", "conflict")
    nominees = pl.DataFrame({"category": ["peacemaker"], "member": ["m"]})
    best = best_episodes(c.frames()["acts"], nominees, YEAR, cfg.categories, 3)
    assert best["episode"].to_list() == ["ep_calm", "ep_fail", "ep_arrival"]
    first = best.row(0, named=True)
    assert first["success"] and first["acts"] == ["deescalate_redirect", "deescalate_summary"]
    assert len(first["messages"]) == 2
    # Their words: the best episode's act first, cut to length.
    quotes = act_quotes(c.frames()["acts"], nominees, best, YEAR, 2, chars=10)
    assert quotes["message"][0] == first["messages"][0]
    assert all(len(q) <= 10 for q in quotes["text"]) and quotes["text"][0].endswith("…")


def test_thanks_quotes_show_many_givers_before_one_enthusiast() -> None:
    c = Community()
    for day in range(1, 6):
        c.thank("fan", "m", datetime(YEAR, 5, day))
    c.thank("a", "m", datetime(YEAR, 2, 1))
    c.thank("b", "m", datetime(YEAR, 3, 1))
    c.thank("ring", "m", datetime(YEAR, 6, 1), discounted=True)
    out = thanks_quotes(c.frames()["aimed"], ["m"], YEAR, 3)
    assert out["giver"].to_list() == ["fan", "b", "a"]
    assert out["at"][0] == datetime(YEAR, 5, 5)


def test_award_fields_count_thanks_from_newcomers_and_newcomers_helped(cfg: AwardsConfig) -> None:
    c = Community()
    c.person("mentor")
    c.person("fresh", joined=datetime(YEAR, 4, 1))
    c.person("old", joined=OLD)
    c.act("mentor", datetime(YEAR, 4, 2), "newcomer_answer", "ep_q", "newcomer_question")
    c.act("mentor", datetime(YEAR, 4, 2, 1), "welcome", "ep_q", "newcomer_question")
    c.act("mentor", datetime(YEAR, 4, 3), "welcome", "ep_a", "arrival")
    c.act("mentor", datetime(YEAR, 5, 3), "empathy", "ep_c", "complaint")
    c.thank("fresh", "mentor", datetime(YEAR, 4, 5))
    c.thank("fresh", "mentor", datetime(YEAR, 9, 5))  # 157 days in: no longer new
    c.thank("old", "mentor", datetime(YEAR, 4, 6))
    row = fields_of(c, cfg).filter(pl.col("member") == "mentor").row(0, named=True)
    assert row["newcomers_helped"] == 2
    assert row["thanks_from_newcomers"] == 1
    assert row["thanks_givers"] == 2
    assert row["acts"] == 4 and row["active_months"] == 2


# ---------------------------------------------------------------------- rewards


def test_rewards_put_rest_first_for_a_nominee_at_risk(rewards: RewardsConfig) -> None:
    nominees = pl.DataFrame(
        {
            "category": ["newcomer_mentor", "newcomer_mentor", "newcomer_mentor"],
            "member": ["tired", "fine", "runner_up"],
            "recipient": [True, True, False],
            "level": ["high", "low", None],
        }
    )
    out = suggest_rewards(nominees, rewards)
    by = {m: g for (m,), g in out.group_by("member")}
    tired = by["tired"].sort("order")
    assert tired["kind"][0] == "rest" and tired["reason"][0] == "rest_first"
    assert tired["kind"].to_list()[:2] == ["rest", "rest"]
    fine = by["fine"].sort("order")
    # Not at risk: the category's own hints first.
    assert fine["item"].to_list()[:2] == ["factory_visit", "concert_tickets"]
    assert fine["reason"][0] == "category"
    runner = by["runner_up"]
    assert runner["value"].max() <= rewards.runner_up_max_value
    assert out.group_by("member").len()["len"].to_list() == [rewards.per_nominee] * 3


# ---------------------------------------------------------------------- citation


def test_citation_names_the_members_own_numbers_and_best_episode(
    cfg: AwardsConfig, rewards: RewardsConfig
) -> None:
    cat = cfg.category("peacemaker")
    episode = CitedEpisode(
        "conflict",
        date(YEAR, 5, 19),
        "澜舟S7车主1群",
        {"attacks_stopped": True, "agreement": False},
    )
    spa = rewards.item("spa_day")
    zh = citation(
        name="小孙",
        year=YEAR,
        category=cat,
        facts={"conflicts_calmed": 5, "deescalations": 13, "thanks_givers": 0},
        episode=episode,
        thanks_quote="谢谢兄弟，说出来好受多了",
        reward=spa,
        locale="zh-CN",
    )
    for part in (
        "小孙",
        "2026年「和事佬奖」",
        "平息了 5 场争吵",
        "13 次出面缓和气氛",
        "5月19日在「澜舟S7车主1群」的那次争吵",
        "人身攻击停了下来",
        "「谢谢兄弟，说出来好受多了」",
        "温泉 SPA 理疗一日",
        "感谢您在过去一年中，为一次次在争吵中站出来",
        "希望您能好好休息一下。",
    ):
        assert part in zh, part
    assert "位车友的感谢" not in zh  # zero is not a fact worth naming
    en = citation(
        name="Sun",
        year=YEAR,
        category=cat,
        facts={"conflicts_calmed": 1, "deescalations": 13},
        episode=episode,
        reward=spa,
        locale="en",
    )
    assert "calmed one quarrel, and eased the tension 13 times" in en
    assert "May 19" in en and "the personal attacks stopped" in en
    assert "We hope you can take a good rest." in en
    # Another member's citation reads differently: nothing generic about it.
    other = citation(
        name="老王",
        year=YEAR,
        category=cat,
        facts={"conflicts_calmed": 2, "deescalations": 4},
        reward=spa,
        locale="zh-CN",
    )
    assert "平息了 2 场争吵" in other and "平息了 5 场争吵" not in other
    assert other.replace("老王", "小孙") != zh


def test_citation_for_an_episode_with_no_recorded_success(cfg: AwardsConfig) -> None:
    text = citation(
        name="阿June",
        year=YEAR,
        category=cfg.category("emotional_buffer"),
        facts={"complaints_converted": 3},
        episode=CitedEpisode("complaint", date(YEAR, 2, 1), "车机黑屏", {"spread": 2}),
        locale="zh-CN",
    )
    assert "2月1日在「车机黑屏」的那次投诉：您一直陪到了最后。" in text
    assert "这个奖项是为了感谢您" in text and "awards." not in text


def test_an_award_counts_for_the_year_it_honours() -> None:
    from datetime import datetime

    from anchorwatch.care.awards import awarded_in

    care = pl.DataFrame(
        [
            {"member": "late", "at": datetime(2026, 1, 10), "action": "award", "award_year": 2025},
            {"member": "plain", "at": datetime(2026, 3, 1), "action": "award", "award_year": None},
            {"member": "call", "at": datetime(2026, 3, 1), "action": "call", "award_year": None},
        ],
        schema=CARE_SCHEMA,
    )
    assert awarded_in(care, 2025)["member"].to_list() == ["late"]
    assert awarded_in(care, 2026)["member"].to_list() == ["plain"]
