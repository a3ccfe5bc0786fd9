"""Anti-gaming rules for the emotional value index (DESIGN 1.4, issue 5).

Recognition that can be rewarded will be gamed.  Three patterns are found and
discounted, each with the reason shown to the operator:

- **thanks rings**: two members who thank each other a lot, where those thanks
  are most of what each receives; their mutual thanks do not count;
- **thanking accounts** (likely alternate accounts or hired praise): a member
  whose messages are mostly thanks, nearly all to one member; those thanks do
  not count;
- **reply spam**: acts whose text the same member already used many times
  count once (pasting "+1 同问 看置顶" does not make an anchor).

Pure functions over frames; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

#: ``thanks``: one row per gratitude message aimed at a member.
THANKS_COLUMNS = ("giver", "target", "message")
#: ``acts``: one row per act with its text.
ACT_TEXT_COLUMNS = ("member", "message", "act", "text")


@dataclass(frozen=True)
class GamingRules:
    ring_min_each: int = 3
    ring_share: float = 0.5
    sock_min_thanks: int = 5
    sock_share: float = 0.9
    sock_message_share: float = 0.6
    spam_max_repeats: int = 3

    @classmethod
    def from_config(cls, raw: dict[str, Any]) -> GamingRules:
        return cls(
            ring_min_each=int(raw["ring_min_each"]),
            ring_share=float(raw["ring_share"]),
            sock_min_thanks=int(raw["sock_min_thanks"]),
            sock_share=float(raw["sock_share"]),
            sock_message_share=float(raw["sock_message_share"]),
            spam_max_repeats=int(raw["spam_max_repeats"]),
        )


def gaming_rules() -> GamingRules:
    """The rules of ``config/members.yaml`` (section ``gaming``)."""
    from anchorwatch.members.value import members_settings

    return GamingRules.from_config(members_settings()["gaming"])


def thanks_rings(thanks: pl.DataFrame, rules: GamingRules) -> pl.DataFrame:
    """Pairs ``(a, b)`` (``a < b``) in a thanks ring, with their counts.

    Columns: ``a``, ``b``, ``a_to_b``, ``b_to_a``, ``reason``.
    """
    pairs = thanks.group_by("giver", "target").agg(pl.len().alias("n"))
    received = thanks.group_by("target").agg(pl.len().alias("received"))
    pairs = pairs.join(received, on="target").with_columns(
        (pl.col("n") / pl.col("received")).alias("share")
    )
    back = pairs.select(
        pl.col("giver").alias("target"),
        pl.col("target").alias("giver"),
        pl.col("n").alias("n_back"),
        pl.col("share").alias("share_back"),
    )
    ring = (
        pairs.join(back, on=["giver", "target"])
        .filter(
            (pl.col("giver") < pl.col("target"))
            & (pl.col("n") >= rules.ring_min_each)
            & (pl.col("n_back") >= rules.ring_min_each)
            & (pl.col("share") >= rules.ring_share)
            & (pl.col("share_back") >= rules.ring_share)
        )
        .select(
            pl.col("giver").alias("a"),
            pl.col("target").alias("b"),
            pl.col("n").alias("a_to_b"),
            pl.col("n_back").alias("b_to_a"),
        )
    )
    return ring.with_columns(
        pl.format(
            "thanks ring: {} thanked {} {} times and got {} back", "a", "b", "a_to_b", "b_to_a"
        ).alias("reason")
    ).sort("a", "b")


def thanking_accounts(
    thanks: pl.DataFrame, messages_per_member: pl.DataFrame, rules: GamingRules
) -> pl.DataFrame:
    """Members whose messages are mostly thanks to one member.

    ``messages_per_member``: ``member``, ``messages``.  Columns: ``giver``,
    ``target``, ``thanks``, ``reason``.
    """
    given = thanks.group_by("giver").agg(pl.len().alias("given"))
    top = (
        thanks.group_by("giver", "target")
        .agg(pl.len().alias("thanks"))
        .sort(["giver", "thanks", "target"], descending=[False, True, False])
        .group_by("giver", maintain_order=True)
        .first()
    )
    out = (
        top.join(given, on="giver")
        .join(messages_per_member, left_on="giver", right_on="member", how="left")
        .filter(
            (pl.col("given") >= rules.sock_min_thanks)
            & (pl.col("thanks") / pl.col("given") >= rules.sock_share)
            & (
                pl.col("given") / pl.col("messages").fill_null(pl.col("given"))
                >= rules.sock_message_share
            )
        )
    )
    return out.select(
        "giver",
        "target",
        "thanks",
        pl.format(
            "thanking account: {} of {}'s {} messages thank {}",
            "thanks",
            "giver",
            "messages",
            "target",
        ).alias("reason"),
    ).sort("giver")


def discounted_thanks(
    thanks: pl.DataFrame, rules: GamingRules, messages_per_member: pl.DataFrame
) -> pl.DataFrame:
    """``thanks`` without the ones rings and thanking accounts produced."""
    ring = thanks_rings(thanks, rules)
    socks = thanking_accounts(thanks, messages_per_member, rules)
    drop = pl.concat(
        [
            ring.select(pl.col("a").alias("giver"), pl.col("b").alias("target")),
            ring.select(pl.col("b").alias("giver"), pl.col("a").alias("target")),
            socks.select("giver", "target"),
        ]
    ).unique()
    return thanks.join(drop, on=["giver", "target"], how="anti")


def spam_acts(acts: pl.DataFrame, rules: GamingRules) -> pl.DataFrame:
    """Acts beyond the first of a text the same member used too often.

    ``acts`` in time order; the text is compared lower-cased without spaces,
    punctuation and emoji.  Returns the rows of ``acts`` that do not count,
    with a ``reason``.
    """
    norm = pl.col("text").str.to_lowercase().str.replace_all(r"[\s\p{P}\p{S}]+", "")
    ranked = acts.with_columns(norm.alias("_norm")).with_columns(
        pl.int_range(pl.len()).over("member", "_norm").alias("_nth"),
        pl.len().over("member", "_norm").alias("_times"),
    )
    return (
        ranked.filter((pl.col("_nth") >= 1) & (pl.col("_times") > rules.spam_max_repeats))
        .with_columns(pl.format("reply spam: the same text {} times", "_times").alias("reason"))
        .drop("_norm", "_nth", "_times")
    )


#: ``findings``: one row per member a rule touched, with the reason shown.
FINDING_SCHEMA: dict[str, pl.DataType] = {
    "member": pl.String(),
    "rule": pl.String(),
    "discounted": pl.Int64(),
    "reason": pl.String(),
}


def discount(
    acts: pl.DataFrame, aimed: pl.DataFrame, messages: pl.DataFrame, rules: GamingRules
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Mark what the rules do not count.

    ``acts``, ``aimed`` and ``messages`` are the ledger frames
    (``members.ledger``); returns them with a boolean ``discounted`` column
    (``acts``, ``aimed``) and the findings (``FINDING_SCHEMA``): for a ring,
    both members; for a thanking account, the member it praised; for reply
    spam, the member who pasted.
    """
    thanks = aimed.filter(pl.col("gratitude")).select(
        pl.col("giver"), pl.col("target"), pl.col("message")
    )
    per_member = messages.group_by("member").agg(pl.len().alias("messages"))
    ring = thanks_rings(thanks, rules)
    socks = thanking_accounts(thanks, per_member, rules)
    pairs = pl.concat(
        [
            ring.select(pl.col("a").alias("giver"), pl.col("b").alias("target")),
            ring.select(pl.col("b").alias("giver"), pl.col("a").alias("target")),
            socks.select("giver", "target"),
        ]
    ).unique()
    dropped = thanks.join(pairs, on=["giver", "target"], how="semi").select("message")
    aimed = aimed.with_columns(
        (pl.col("gratitude") & pl.col("message").is_in(dropped["message"].implode())).alias(
            "discounted"
        )
    )
    spam = spam_acts(acts.sort("at"), rules)
    acts = acts.with_columns(pl.col("message").is_in(spam["message"].implode()).alias("discounted"))
    findings = pl.concat(
        [
            ring.select(
                pl.col("a").alias("member"),
                pl.lit("thanks_ring").alias("rule"),
                pl.col("b_to_a").cast(pl.Int64).alias("discounted"),
                "reason",
            ),
            ring.select(
                pl.col("b").alias("member"),
                pl.lit("thanks_ring").alias("rule"),
                pl.col("a_to_b").cast(pl.Int64).alias("discounted"),
                "reason",
            ),
            socks.select(
                pl.col("target").alias("member"),
                pl.lit("thanking_account").alias("rule"),
                pl.col("thanks").cast(pl.Int64).alias("discounted"),
                "reason",
            ),
            spam.group_by("member")
            .agg(pl.len().cast(pl.Int64).alias("discounted"), pl.col("reason").first())
            .select("member", pl.lit("reply_spam").alias("rule"), "discounted", "reason"),
        ]
    )
    return acts, aimed, findings.cast(FINDING_SCHEMA).sort("member", "rule")  # type: ignore[arg-type]
