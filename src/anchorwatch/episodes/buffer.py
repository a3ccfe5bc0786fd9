"""The buffer effect (DESIGN 1.2): does a member's empathy calm an angry owner more than the brand?

When a member complains angrily, the first answer comes either from the brand's
official customer service or from a fellow member who answers with empathy.  A
member who takes the heat first acts as a buffer between the angry owner and the
brand; this module measures whether that buffer works, by comparing how the
complainer sounds in their *next* message after that first answer.

Input: one row per complaint episode, already reduced to its first response::

    episode           str    the episode id (one row per episode)
    channel           str    where it happened (a group, a forum board)
    month             str    "YYYY-MM" of the complaint
    responder         str    "official" or "member": who answered first
    sentiment_before  float  sentiment of the complaint itself, -1..1
    sentiment_after   float  sentiment of the complainer's next message, -1..1,
                             or null when they never wrote again

Output: one row per group, with counts, the mean "after" sentiment of each side,
their difference (member − official), a Welch confidence interval for that
difference, and each side's mean lift (after − before).  See
:func:`buffer_effect`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
from scipy import stats

SIDES = ("official", "member")
"""The two kinds of first responder, in the order their columns appear."""

OVERALL = "*"
"""The value of every ``by`` column in the overall row."""

INPUT_SCHEMA: dict[str, pl.DataType] = {
    "episode": pl.String(),
    "channel": pl.String(),
    "month": pl.String(),
    "responder": pl.String(),
    "sentiment_before": pl.Float64(),
    "sentiment_after": pl.Float64(),
}
"""The types of an input frame (as the store's reader builds it)."""

INPUT_COLUMNS = tuple(INPUT_SCHEMA)
"""The columns an input frame carries (only ``responder``, the two sentiments and
the ``by`` columns are read)."""

BUFFER_COLUMNS = (
    "n_official",
    "n_member",
    "silent_official",
    "silent_member",
    "mean_official",
    "mean_member",
    "difference",
    "ci_low",
    "ci_high",
    "lift_official",
    "lift_member",
)
"""The statistics :func:`buffer_effect` returns, in order, after the ``by`` columns."""

_COUNT_COLUMNS = frozenset(("n_official", "n_member", "silent_official", "silent_member"))
_AFTER = "sentiment_after"
_BEFORE = "sentiment_before"


def buffer_effect(
    responses: pl.DataFrame,
    *,
    by: Sequence[str] = ("channel", "month"),
    confidence: float = 0.95,
    min_n: int = 2,
) -> pl.DataFrame:
    """Compare the complainer's next sentiment after an official vs a member first answer.

    For each group of ``by`` and each side (``official``, ``member``):

    * ``n_<side>``: episodes whose complainer wrote again (``sentiment_after``
      not null); these are the observations behind the mean and the interval.
    * ``silent_<side>``: episodes whose complainer never wrote again.  They are
      kept out of the means (there is no "after" to average) but counted,
      because falling silent is itself an outcome: an owner who gives up on the
      brand reads very differently from one who calms down.  ``n + silent`` is
      every episode of that side.
    * ``mean_<side>``: mean ``sentiment_after``; null when ``n`` is 0.
    * ``lift_<side>``: mean of ``sentiment_after - sentiment_before`` over the
      episodes where both are known.  The raw mean compares sides that may have
      started from different levels of anger (members may pick the milder
      complaints); the lift measures how far each side moved the complainer.

    ``difference`` is ``mean_member - mean_official``: positive means a member's
    empathy left the complainer in a better mood than the brand's answer did.
    ``ci_low``/``ci_high`` is the Welch two-sample *t* interval for that
    difference at ``confidence``, which does not assume the two sides share a
    variance (official answers are scripted and uniform, member answers vary)::

        se² = s_o²/n_o + s_m²/n_m          (s² with ddof = 1)
        dof = se⁴ / ((s_o²/n_o)²/(n_o-1) + (s_m²/n_m)²/(n_m-1))
        CI  = difference ± t_{(1+confidence)/2, dof} · se

    The interval is null when either side has fewer than ``min_n`` non-null
    ``sentiment_after`` values, and also when both sides are constant (every
    value equal within each side): then ``se`` is 0 and ``dof`` is 0/0, and
    rather than report a zero-width interval that claims certainty from a
    handful of identical scores, we report none.  A side is constant when its
    minimum equals its maximum, tested exactly, so rounding in the variance
    cannot turn "constant" into a spuriously narrow interval.  One constant side
    is fine: its variance is 0 and ``dof`` becomes ``n - 1`` of the other side.

    NaN sentiments are treated as null (a scorer that failed is not a score).
    Input sentiments are used as given; they are expected in -1..1.

    Parameters
    ----------
    responses
        One row per complaint episode, with the columns of :data:`INPUT_COLUMNS`
        (only ``responder``, the two sentiments and the ``by`` columns are read).
        ``responder`` must be ``"official"`` or ``"member"``.
    by
        Columns to group by.  ``()`` gives a single overall row.  Otherwise the
        result holds one row per group, sorted by the ``by`` columns (nulls
        last), preceded by one overall row over every episode whose ``by``
        columns all read :data:`OVERALL` (``"*"``).  The ``by`` columns come back
        as strings so that the overall row fits.
    confidence
        Two-sided confidence level of the interval, strictly between 0 and 1.
    min_n
        Fewest non-null ``sentiment_after`` values a side needs for an interval;
        at least 2 (a sample variance needs two values).

    Returns
    -------
    pl.DataFrame
        The ``by`` columns then :data:`BUFFER_COLUMNS`; counts are ``Int64``,
        the rest ``Float64``.  An empty input gives an empty frame (no overall
        row either: there is nothing to summarise) with the same columns.

    Raises
    ------
    ValueError
        A needed column is missing, a ``by`` column is named twice or clashes
        with an output column, ``responder`` holds anything but the two sides,
        or ``confidence`` / ``min_n`` is out of range.

    Examples
    --------
    >>> frame = pl.DataFrame(
    ...     {
    ...         "episode": ["e1", "e2", "e3", "e4", "e5"],
    ...         "channel": ["wechat"] * 5,
    ...         "month": ["2024-05"] * 5,
    ...         "responder": ["official", "official", "member", "member", "member"],
    ...         "sentiment_before": [-0.8, -0.6, -0.9, -0.7, -0.5],
    ...         "sentiment_after": [-0.4, -0.2, 0.1, 0.3, None],
    ...     }
    ... )
    >>> out = buffer_effect(frame, by=())
    >>> out.select("n_official", "n_member", "silent_member").row(0)
    (2, 2, 1)
    >>> [round(v, 2) for v in out.select("mean_official", "mean_member", "difference").row(0)]
    [-0.3, 0.2, 0.5]
    """
    keys = (by,) if isinstance(by, str) else tuple(by)
    _check_arguments(responses, keys, confidence, min_n)

    if responses.height == 0:
        return pl.DataFrame(schema=_output_schema(keys))

    frame = responses.select(
        pl.col("responder").cast(pl.String),
        *(pl.col(name).cast(pl.Float64).fill_nan(None) for name in (_BEFORE, _AFTER)),
        *(pl.col(key).cast(pl.String) for key in keys),
    )
    unknown = frame.filter(~pl.col("responder").is_in(SIDES) | pl.col("responder").is_null())
    if unknown.height:
        seen = unknown.get_column("responder").unique(maintain_order=True).head(5).to_list()
        raise ValueError(
            f"responder must be one of {SIDES}; found {seen} in {unknown.height} row(s)"
        )

    aggregations = [expr for side in SIDES for expr in _side_aggregations(side)]
    overall = frame.select(aggregations)
    if keys:
        groups = frame.group_by(keys).agg(aggregations).sort(keys, nulls_last=True)
        overall = overall.select(*(pl.lit(OVERALL).alias(key) for key in keys), pl.all())
        summary = pl.concat([overall, groups], how="vertical")
    else:
        summary = overall
    return _with_interval(summary, confidence, min_n).select(*keys, *BUFFER_COLUMNS)


def _check_arguments(
    responses: pl.DataFrame, keys: tuple[str, ...], confidence: float, min_n: int
) -> None:
    """Fail early and by name, before polars fails later with a less helpful message."""
    needed = ("responder", _BEFORE, _AFTER, *keys)
    missing = [name for name in dict.fromkeys(needed) if name not in responses.columns]
    if missing:
        raise ValueError(f"responses lacks column(s) {missing}")
    if len(set(keys)) != len(keys):
        raise ValueError(f"by names a column twice: {list(keys)}")
    clash = [key for key in keys if key in BUFFER_COLUMNS]
    if clash:
        raise ValueError(f"by column(s) {clash} clash with output columns")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")
    if isinstance(min_n, bool) or not isinstance(min_n, int) or min_n < 2:
        raise ValueError(f"min_n must be an integer of at least 2, got {min_n!r}")


def _output_schema(keys: tuple[str, ...]) -> dict[str, pl.DataType]:
    schema: dict[str, pl.DataType] = {key: pl.String() for key in keys}
    for name in BUFFER_COLUMNS:
        schema[name] = pl.Int64() if name in _COUNT_COLUMNS else pl.Float64()
    return schema


def _side_aggregations(side: str) -> list[pl.Expr]:
    """Per-side aggregations; the ``_var``/``_flat`` helpers feed the interval only."""
    on_side = pl.col("responder") == side
    after = pl.col(_AFTER).filter(on_side)
    return [
        after.count().cast(pl.Int64).alias(f"n_{side}"),
        (on_side & pl.col(_AFTER).is_null()).sum().cast(pl.Int64).alias(f"silent_{side}"),
        after.mean().alias(f"mean_{side}"),
        (pl.col(_AFTER) - pl.col(_BEFORE)).filter(on_side).mean().alias(f"lift_{side}"),
        after.var(ddof=1).alias(f"_var_{side}"),
        (after.max() == after.min()).alias(f"_flat_{side}"),
    ]


def _with_interval(summary: pl.DataFrame, confidence: float, min_n: int) -> pl.DataFrame:
    """Add ``difference`` and the Welch interval; rows without a valid interval get nulls."""
    share: dict[str, tuple[pl.Expr, pl.Expr]] = {}
    for side in SIDES:
        n = pl.col(f"n_{side}").cast(pl.Float64)
        variance = pl.when(pl.col(f"_flat_{side}")).then(0.0).otherwise(pl.col(f"_var_{side}"))
        share[side] = (variance / n, n)  # s²/n, n
    (q_o, n_o), (q_m, n_m) = share["official"], share["member"]
    se2 = q_o + q_m
    valid = (
        (pl.col("n_official") >= min_n) & (pl.col("n_member") >= min_n) & (se2 > 0.0)
    ).fill_null(False)
    dof = se2.pow(2) / (q_o.pow(2) / (n_o - 1.0) + q_m.pow(2) / (n_m - 1.0))

    staged = summary.with_columns(
        (pl.col("mean_member") - pl.col("mean_official")).alias("difference"),
        pl.when(valid).then(se2.sqrt()).alias("_se"),
        pl.when(valid).then(dof).alias("_dof"),
    )
    dofs = staged.get_column("_dof").to_numpy().astype(np.float64)  # null -> nan
    quantile = np.full(dofs.shape, np.nan)
    ok = np.isfinite(dofs)
    quantile[ok] = stats.t.ppf(0.5 + confidence / 2.0, dofs[ok])
    half = pl.Series("_t", quantile, dtype=pl.Float64).fill_nan(None) * staged.get_column("_se")
    return staged.with_columns(
        (pl.col("difference") - half).alias("ci_low"),
        (pl.col("difference") + half).alias("ci_high"),
    )
