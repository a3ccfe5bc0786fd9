"""The emotional value index and the content-versus-emotion quadrant (DESIGN 1.4).

A transparent composite: each ledger column is taken through ``log1p``
(diminishing returns on volume), weighted (``config/members.yaml``; outcomes
over volume), summed, and scaled to 0-100 against the period's
``value_scale_quantile``.  Each member's components are kept, so the index can
be explained line by line.  Pure functions over the ledger frame.
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


def parse_value_config(raw: dict[str, Any]) -> ValueConfig:
    return ValueConfig(
        version=str(raw["version"]),
        value_weights={k: float(v) for k, v in raw["value_weights"].items()},
        content_weights={k: float(v) for k, v in raw["content_weights"].items()},
        scale_quantile=float(raw["value_scale_quantile"]),
        quadrant_high=float(raw["quadrant_high"]),
    )


@cache
def members_settings() -> dict[str, Any]:
    """The packaged ``members.yaml``, or the file named by ``ANCHORWATCH_MEMBERS_CONFIG``."""
    return read_settings("members.yaml", "ANCHORWATCH_MEMBERS_CONFIG")


def members_config() -> ValueConfig:
    """The value-index settings."""
    return parse_value_config(members_settings())


def _scaled(raw: pl.Expr, quantile: float) -> pl.Expr:
    top = raw.quantile(quantile).over("period")
    return pl.when(top > 0).then((raw / top).clip(0.0, 1.0) * 100).otherwise(0.0).round(1)


def value_index(ledger: pl.DataFrame, cfg: ValueConfig | None = None) -> pl.DataFrame:
    """The ledger with ``value_<column>`` components, ``value_index``,
    ``content_index`` (0-100) and ``quadrant``.

    Quadrants: ``invisible_anchor`` (high emotional, low content value: the
    members this product exists to find), ``star`` (both high), ``creator``
    (content only), ``quiet`` (neither).
    """
    cfg = cfg or members_config()
    parts = [
        (pl.col(col).cast(pl.Float64).log1p() * w).alias(f"value_{col}")
        for col, w in cfg.value_weights.items()
    ]
    content = [
        (pl.col(col).cast(pl.Float64).log1p() * w).alias(f"content_{col}")
        for col, w in cfg.content_weights.items()
    ]
    out = ledger.with_columns(*parts, *content)
    raw_value = pl.sum_horizontal([f"value_{c}" for c in cfg.value_weights])
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
