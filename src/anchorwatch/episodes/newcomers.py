"""Who is a newcomer when they write, and which first posts are arrivals.

Tenure counts from the earliest of a member's ``joined_at``, their first join
record and their first message.  Members first seen in the first days of an
imported history, with no ``joined_at`` and no join, were there before the
history starts and are not newcomers.  Brand staff and KOCs never are.
"""

from __future__ import annotations

import hashlib

import polars as pl

from anchorwatch.episodes.config import EpisodesConfig

NEVER_NEW = ("koc", "official", "operator")


def join_key(member: str, channel: str, t: int) -> str:
    """Stable key of a join record (member, channel, epoch seconds)."""
    ch = hashlib.blake2b(channel.encode(), digest_size=3).hexdigest()
    return f"join:{member}:{ch}:{t}"


def member_start(
    messages: pl.DataFrame, members: pl.DataFrame, joins: pl.DataFrame, warmup_end: int
) -> pl.DataFrame:
    """Per member: ``first_seen``, ``role``, ``has_join`` and ``established``.

    ``messages``: ``author``, ``t``; ``members``: ``id``, ``role``, ``joined_t``
    (null when unknown); ``joins``: ``member``, ``t``.  Times are epoch seconds;
    ``warmup_end`` is the history's first message time plus the warm-up.
    """
    first_msg = messages.group_by("author").agg(pl.col("t").min().alias("first_msg"))
    first_join = joins.group_by("member").agg(pl.col("t").min().alias("first_join"))
    out = (
        members.select("id", "role", "joined_t")
        .join(first_msg, left_on="id", right_on="author", how="full", coalesce=True)
        .join(first_join, left_on="id", right_on="member", how="left")
        .with_columns(
            pl.min_horizontal("joined_t", "first_join", "first_msg").alias("first_seen"),
            pl.col("first_join").is_not_null().alias("has_join"),
        )
    )
    return out.with_columns(
        (
            pl.col("joined_t").is_null() & ~pl.col("has_join") & (pl.col("first_msg") <= warmup_end)
        ).alias("established")
    )


def newcomer_flags(
    messages: pl.DataFrame, starts: pl.DataFrame, cfg: EpisodesConfig
) -> pl.DataFrame:
    """``messages`` (``id``, ``author``, ``t``) with ``newcomer`` and ``prior``.

    ``prior`` is how many earlier messages the author wrote.
    """
    ranked = messages.sort("t", "id").with_columns(
        pl.int_range(pl.len()).over("author").alias("prior")
    )
    joined = ranked.join(
        starts.select("id", "role", "first_seen", "established"),
        left_on="author",
        right_on="id",
        how="left",
    )
    new = (
        ~pl.col("role").fill_null("member").is_in(NEVER_NEW)
        & ~pl.col("established").fill_null(False)
        & (pl.col("t") - pl.col("first_seen") <= cfg.newcomer_tenure_s)
        & (pl.col("prior") < cfg.newcomer_max_prior)
    )
    return joined.select("id", "author", "t", "prior", new.fill_null(False).alias("newcomer"))


def first_post_arrivals(
    flags: pl.DataFrame,
    starts: pl.DataFrame,
    joins: pl.DataFrame,
    message_channel: pl.DataFrame,
    stream_channels: set[str],
    cfg: EpisodesConfig,
) -> dict[str, str]:
    """First posts that make an arrival: message id -> arrival key.

    A member with no join record arrives with their first message, when they
    are a newcomer then.  A member who joined a forum channel (one without a
    chat stream) arrives with their first post in that channel within the
    arrival window; joins of chat streams open their own thread instead.
    ``flags`` is :func:`newcomer_flags`' output, ``message_channel`` has ``id``
    and ``channel``, ``joins`` has ``member``, ``channel``, ``t``.
    """
    out: dict[str, str] = {}
    firsts = (
        flags.filter(pl.col("prior") == 0, pl.col("newcomer"))
        .join(starts.select("id", "has_join"), left_on="author", right_on="id", how="left")
        .filter(~pl.col("has_join").fill_null(False))
    )
    for mid, author in firsts.select("id", "author").iter_rows():
        out[mid] = f"first:{author}"
    forum_joins = joins.filter(~pl.col("channel").is_in(list(stream_channels)))
    if forum_joins.height:
        posts = (
            flags.join(message_channel, on="id")
            .join(forum_joins, left_on=["author", "channel"], right_on=["member", "channel"])
            .filter(
                pl.col("t") >= pl.col("t_right") - 3600,
                pl.col("t") <= pl.col("t_right") + cfg.arrival_s,
            )
            .sort("t", "id")
            .unique(subset=["author", "channel", "t_right"], keep="first", maintain_order=True)
        )
        for mid, author, channel, t in posts.select(
            "id", "author", "channel", "t_right"
        ).iter_rows():
            out[mid] = join_key(author, channel, t)
    return out
