"""Repeated newcomer questions as an operator reads them: an FAQ to write, and
the members who answer the same question again and again.

Pure functions over frames the engine reads from the store (see
``anchorwatch.store.analysis``).
"""

from __future__ import annotations

import polars as pl

#: ``questions``: one row per newcomer-question episode.
QUESTION_SCHEMA: dict[str, pl.DataType] = {
    "episode": pl.String(),
    "cluster": pl.String(),
    "asked_at": pl.Datetime("us"),
    "text": pl.String(),
    "answered": pl.Boolean(),
    "times_asked_before": pl.Int64(),
}
#: ``answers``: one row per answer act attributed to a newcomer question.
ANSWER_SCHEMA: dict[str, pl.DataType] = {
    "member": pl.String(),
    "episode": pl.String(),
    "cluster": pl.String(),
    "times_asked_before": pl.Int64(),
    "at": pl.Datetime("us"),
}
QUESTION_COLUMNS = tuple(QUESTION_SCHEMA)
ANSWER_COLUMNS = tuple(ANSWER_SCHEMA)


def faq(questions: pl.DataFrame, n: int = 20, min_asked: int = 2) -> pl.DataFrame:
    """The ``n`` most repeated questions, most asked first.

    Per cluster: how often it was asked, the share answered, when first and
    last, and its earliest wording as the example an FAQ entry starts from.
    """
    if questions.is_empty():
        return pl.DataFrame(
            schema={
                "cluster": pl.String,
                "asked": pl.UInt32,
                "answered_share": pl.Float64,
                "first_asked": pl.Datetime("us"),
                "last_asked": pl.Datetime("us"),
                "example": pl.String,
            }
        )
    return (
        questions.sort("asked_at", "episode")
        .group_by("cluster", maintain_order=True)
        .agg(
            pl.len().alias("asked"),
            pl.col("answered").cast(pl.Float64).mean().round(3).alias("answered_share"),
            pl.col("asked_at").min().alias("first_asked"),
            pl.col("asked_at").max().alias("last_asked"),
            pl.col("text").first().alias("example"),
        )
        .filter(pl.col("asked") >= min_asked)
        .sort(["asked", "cluster"], descending=[True, False])
        .head(n)
    )


def repeat_answerers(answers: pl.DataFrame, n: int = 20) -> pl.DataFrame:
    """Members who answered repeated questions, most repeats first.

    ``answers`` counts every answer act; ``repeats`` those to a question asked
    before; ``most_same`` is the largest number of answers one member gave to
    one question cluster ("answered the same question for the 40th time").
    """
    if answers.is_empty():
        return pl.DataFrame(
            schema={
                "member": pl.String,
                "answers": pl.UInt32,
                "repeats": pl.UInt32,
                "clusters": pl.UInt32,
                "most_same": pl.UInt32,
                "most_same_cluster": pl.String,
            }
        )
    per_cluster = (
        answers.group_by("member", "cluster")
        .agg(pl.col("episode").n_unique().alias("same"))
        .sort(["member", "same", "cluster"], descending=[False, True, False])
        .group_by("member", maintain_order=True)
        .agg(
            pl.col("same").first().alias("most_same"),
            pl.col("cluster").first().alias("most_same_cluster"),
            pl.len().alias("clusters"),
        )
    )
    totals = answers.group_by("member").agg(
        pl.col("episode").n_unique().alias("answers"),
        pl.col("episode").filter(pl.col("times_asked_before") > 0).n_unique().alias("repeats"),
    )
    return (
        totals.join(per_cluster, on="member")
        .select("member", "answers", "repeats", "clusters", "most_same", "most_same_cluster")
        .sort(["repeats", "answers", "member"], descending=[True, True, False])
        .head(n)
    )
