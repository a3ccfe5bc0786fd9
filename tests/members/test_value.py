"""The emotional value index and quadrant on constructed ledgers."""

from __future__ import annotations

import polars as pl

from anchorwatch.members.ledger import ledger_columns
from anchorwatch.members.value import members_config, value_index


def _ledger(rows: list[dict]) -> pl.DataFrame:
    cols = [c for c in ledger_columns() if c not in ("member", "period", "first_response_s")]
    full = [{**dict.fromkeys(cols, 0), "period": "2026-03", **r} for r in rows]
    return pl.DataFrame(full).with_columns(pl.col(cols).cast(pl.Int64))


def test_outcomes_outweigh_volume() -> None:
    table = value_index(
        _ledger(
            [
                {
                    "member": "calmer",
                    "conflicts_calmed": 1,
                    "acts_deescalate_redirect": 1,
                    "episodes_served": 1,
                },
                {"member": "plus_one", "acts_newcomer_answer": 10, "episodes_served": 10},
            ]
        )
    )
    idx = dict(zip(table["member"], table["value_index"], strict=True))
    assert idx["calmer"] > idx["plus_one"]


def test_index_is_0_to_100_and_explained() -> None:
    table = value_index(
        _ledger(
            [{"member": f"m{i}", "thanks_received": i, "episodes_served": i} for i in range(20)]
        )
    )
    assert table["value_index"].min() == 0.0 and table["value_index"].max() == 100.0
    assert "value_thanks_received" in table.columns  # each component is kept


def test_quadrant_names_the_invisible_anchors() -> None:
    table = value_index(
        _ledger(
            [
                {"member": "anchor", "conflicts_calmed": 3, "newcomers_stayed": 5},
                {"member": "creator", "reads": 50_000, "plays": 9_000, "leads": 30},
                {
                    "member": "star",
                    "conflicts_calmed": 3,
                    "newcomers_stayed": 5,
                    "reads": 50_000,
                    "plays": 9_000,
                    "leads": 30,
                },
                {"member": "lurker", "messages": 2},
            ]
        )
    )
    q = dict(zip(table["member"], table["quadrant"], strict=True))
    assert q == {
        "anchor": "invisible_anchor",
        "creator": "creator",
        "star": "star",
        "lurker": "quiet",
    }


def test_packaged_config_is_versioned() -> None:
    cfg = members_config()
    assert cfg.version == "members.v1" and cfg.value_weights["conflicts_calmed"] > 1
