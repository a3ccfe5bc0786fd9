"""The emotional value index and the content-versus-emotion quadrant (DESIGN 1.4).

A transparent composite: each ledger column is taken through ``log1p``
(diminishing returns on volume), weighted (``config/members.yaml``; outcomes
over volume), summed, and scaled to 0-100 against the period's
``value_scale_quantile``.  Each member's components are kept, so the index can
be explained line by line.  Pure functions over the ledger frame.

Channels differ in size: a big group offers many more questions to answer
than a small one, so raw volume favours whoever happens to sit in the big
group.  :func:`channel_weights` gives each member and period the mean of
``(median channel size / size of the act's channel) ** exponent`` over their
acts (clipped), and the raw value is multiplied by it before scaling.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import polars as pl

from anchorwatch.config import read_settings

QUADRANTS = ("invisible_anchor", "star", "creator", "quiet")


@dataclass(frozen=True)
class ValueConfig:
    version: str
    value_weights: dict[str, float]
    content_weights: dict[str, float]
    scale_quantile: float
    quadrant_high: float
    channel_exponent: float = 0.0
    channel_clip: tuple[float, float] = (0.5, 2.0)


def parse_value_config(raw: dict[str, Any]) -> ValueConfig:
    return ValueConfig(
        version=str(raw["version"]),
        value_weights={k: float(v) for k, v in raw["value_weights"].items()},
        content_weights={k: float(v) for k, v in raw["content_weights"].items()},
        scale_quantile=float(raw["value_scale_quantile"]),
        quadrant_high=float(raw["quadrant_high"]),
        channel_exponent=float(raw["channel_size"]["exponent"]),
        channel_clip=(float(raw["channel_size"]["min"]), float(raw["channel_size"]["max"])),
    )


@cache
def members_settings() -> dict[str, Any]:
    """The packaged ``members.yaml``, or the file named by ``ANCHORWATCH_MEMBERS_CONFIG``."""
    return read_settings("members.yaml", "ANCHORWATCH_MEMBERS_CONFIG")


def members_config() -> ValueConfig:
    """The value-index settings."""
    return parse_value_config(members_settings())


def _scaled(raw: pl.Expr, quantile: float) -> pl.Expr:
    # The quantile among members who did any labour: most members of a big
    # community did none, and counting them would put every anchor at 100.
    top = pl.when(raw > 0).then(raw).quantile(quantile).over("period")
    return pl.when(top > 0).then((raw / top).clip(0.0, 1.0) * 100).otherwise(0.0).round(1)


def channel_weights(
    acts: pl.DataFrame, messages: pl.DataFrame, period: str, cfg: ValueConfig
) -> pl.DataFrame:
    """``member``, ``period``, ``channel_weight`` (1.0 = a channel of median size).

    Sizes are messages per channel and period; ``acts`` and ``messages`` are
    the ledger frames, discounted acts left out.
    """
    from anchorwatch.members.ledger import period_of

    sizes = (
        messages.with_columns(period_of(pl.col("at"), period).alias("period"))
        .group_by("channel", "period")
        .agg(pl.len().alias("size"))
        .with_columns(pl.col("size").median().over("period").alias("median"))
        .with_columns(
            (pl.col("median") / pl.col("size"))
            .pow(cfg.channel_exponent)
            .clip(*cfg.channel_clip)
            .alias("w")
        )
    )
    if "discounted" in acts.columns:
        acts = acts.filter(~pl.col("discounted").fill_null(False))
    return (
        acts.with_columns(period_of(pl.col("at"), period).alias("period"))
        .join(sizes, on=["channel", "period"], how="left")
        .group_by("member", "period")
        .agg(pl.col("w").fill_null(1.0).mean().alias("channel_weight"))
    )


def value_index(
    ledger: pl.DataFrame, cfg: ValueConfig | None = None, weights: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The ledger with ``value_<column>`` components, ``value_index``,
    ``content_index`` (0-100) and ``quadrant``.

    Quadrants: ``invisible_anchor`` (high emotional, low content value: the
    members this product exists to find), ``star`` (both high), ``creator``
    (content only), ``quiet`` (neither).  ``weights``
    (:func:`channel_weights`) adds ``channel_weight`` and scales the raw value
    by it; without them every weight is 1.
    """
    cfg = cfg or members_config()
    if weights is not None:
        ledger = ledger.join(weights, on=["member", "period"], how="left")
    ledger = ledger.with_columns(
        pl.col("channel_weight").fill_null(1.0)
        if "channel_weight" in ledger.columns
        else pl.lit(1.0).alias("channel_weight")
    )
    parts = [
        (pl.col(col).cast(pl.Float64).log1p() * w).alias(f"value_{col}")
        for col, w in cfg.value_weights.items()
    ]
    content = [
        (pl.col(col).cast(pl.Float64).log1p() * w).alias(f"content_{col}")
        for col, w in cfg.content_weights.items()
    ]
    out = ledger.with_columns(*parts, *content)
    raw_value = pl.sum_horizontal([f"value_{c}" for c in cfg.value_weights]) * pl.col(
        "channel_weight"
    )
    raw_content = pl.sum_horizontal([f"content_{c}" for c in cfg.content_weights])
    out = out.with_columns(
        _scaled(raw_value, cfg.scale_quantile).alias("value_index"),
        _scaled(raw_content, cfg.scale_quantile).alias("content_index"),
    ).drop([f"content_{c}" for c in cfg.content_weights])
    high_v = pl.col("value_index") >= cfg.quadrant_high
    high_c = pl.col("content_index") >= cfg.quadrant_high
    return out.with_columns(
        pl.when(high_v & ~high_c)
        .then(pl.lit("invisible_anchor"))
        .when(high_v & high_c)
        .then(pl.lit("star"))
        .when(high_c)
        .then(pl.lit("creator"))
        .otherwise(pl.lit("quiet"))
        .alias("quadrant")
    )
