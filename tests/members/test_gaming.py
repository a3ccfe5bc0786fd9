"""Anti-gaming rules on constructed histories."""

from __future__ import annotations

import polars as pl

from anchorwatch.members.gaming import (
    GamingRules,
    discounted_thanks,
    gaming_rules,
    spam_acts,
    thanking_accounts,
    thanks_rings,
)

RULES = GamingRules()


def _thanks(pairs: list[tuple[str, str, int]]) -> pl.DataFrame:
    rows = [(g, t, f"{g}-{t}-{k}") for g, t, n in pairs for k in range(n)]
    return pl.DataFrame(rows, schema=["giver", "target", "message"], orient="row")


def _messages(counts: dict[str, int]) -> pl.DataFrame:
    return pl.DataFrame(
        {"member": list(counts), "messages": list(counts.values())},
        schema={"member": pl.String, "messages": pl.Int64},
    )


def test_a_thanks_ring_is_found_and_its_thanks_do_not_count() -> None:
    thanks = _thanks(
        [("a", "b", 6), ("b", "a", 5), ("new1", "mentor", 1), ("new2", "mentor", 1), ("x", "a", 1)]
    )
    ring = thanks_rings(thanks, RULES)
    assert ring.select("a", "b", "a_to_b", "b_to_a").rows() == [("a", "b", 6, 5)]
    assert "thanks ring" in ring["reason"][0]
    kept = discounted_thanks(thanks, RULES, _messages({"a": 50, "b": 50}))
    assert kept.group_by("target").len().sort("target").rows() == [("a", 1), ("mentor", 2)]


def test_genuine_mutual_thanks_are_not_a_ring() -> None:
    # a and b thank each other, but most of what each receives comes from others
    thanks = _thanks(
        [
            ("a", "b", 3),
            ("b", "a", 3),
            *((f"n{i}", "a", 1) for i in range(8)),
            *((f"m{i}", "b", 1) for i in range(8)),
        ]
    )
    assert thanks_rings(thanks, RULES).height == 0


def test_a_thanking_account_is_found() -> None:
    thanks = _thanks([("alt", "star", 9), ("alt", "other", 1), ("fan", "star", 6)])
    found = thanking_accounts(thanks, _messages({"alt": 11, "fan": 200}), RULES)
    assert found.select("giver", "target", "thanks").rows() == [("alt", "star", 9)]
    kept = discounted_thanks(thanks, RULES, _messages({"alt": 11, "fan": 200}))
    assert kept.filter(pl.col("giver") == "alt").height == 1  # only the other thanks stays


def test_reply_spam_counts_once() -> None:
    acts = pl.DataFrame(
        {
            "member": ["s"] * 5 + ["ok"] * 2,
            "message": [f"m{i}" for i in range(7)],
            "act": ["newcomer_answer"] * 7,
            "text": ["看置顶！"] * 2 + ["看 置顶"] * 3 + ["看置顶", "重启试试"],
        }
    )
    spam = spam_acts(acts, RULES)
    assert spam["message"].to_list() == ["m1", "m2", "m3", "m4"]
    assert spam["reason"][0] == "reply spam: the same text 5 times"


def test_rules_come_from_the_config() -> None:
    assert gaming_rules() == RULES  # the documented defaults


def test_discount_marks_rows_and_explains_each_finding() -> None:
    from datetime import datetime, timedelta

    from anchorwatch.members.gaming import discount
    from anchorwatch.members.ledger import ACT_SCHEMA, AIMED_SCHEMA, MESSAGE_SCHEMA

    d = datetime(2026, 3, 1)
    aimed_rows = []
    for k in range(4):  # a and b thank only each other
        aimed_rows.append(("b", "a", f"ab{k}", d, True, False, False))
        aimed_rows.append(("a", "b", f"ba{k}", d, True, False, False))
    aimed_rows.append(("a", "c", "ca", d, True, False, False))  # one genuine thanks
    aimed = pl.DataFrame(aimed_rows, schema=AIMED_SCHEMA, orient="row")
    acts = pl.DataFrame(
        [
            {
                "member": "spammer",
                "message": f"s{k}",
                "at": d + timedelta(minutes=k),
                "act": "newcomer_answer",
                "episode": f"e{k}",
                "kind": "newcomer_question",
                "channel": "g",
                "text": "+1 同问，看置顶！",
                "latency_s": 60,
            }
            for k in range(6)
        ],
        schema=ACT_SCHEMA,
    )
    messages = pl.DataFrame(
        [(m, f"{m}{k}", d, 0, "g", 5, []) for m in "abc" for k in range(20)],
        schema=MESSAGE_SCHEMA,
        orient="row",
    )
    acts2, aimed2, findings = discount(acts, aimed, messages, RULES)
    assert aimed2.filter(pl.col("discounted"))["message"].len() == 8
    assert not aimed2.filter(pl.col("message") == "ca")["discounted"][0]
    assert acts2["discounted"].to_list() == [False] + [True] * 5
    rules = dict(zip(findings["member"], findings["rule"], strict=False))
    assert rules == {"a": "thanks_ring", "b": "thanks_ring", "spammer": "reply_spam"}
    assert all(findings["reason"].str.len_chars() > 10)
