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


def test_channel_size_normalisation() -> None:
    from datetime import datetime

    from anchorwatch.members.ledger import ACT_SCHEMA, MESSAGE_SCHEMA
    from anchorwatch.members.value import channel_weights

    d = datetime(2026, 3, 3)
    sizes = {"big": 400, "mid": 100, "small": 25}
    messages = pl.DataFrame(
        [("x", f"{c}{k}", d, 0, c, 5, []) for c, n in sizes.items() for k in range(n)],
        schema=MESSAGE_SCHEMA,
        orient="row",
    )
    acts = pl.DataFrame(
        [
            {"member": f"in_{c}", "message": f"{c}0", "at": d, "act": "empathy", "channel": c}
            for c in sizes
        ],
        schema=ACT_SCHEMA,
    )
    cfg = members_config()
    weights = channel_weights(acts, messages, "month", cfg)
    w = dict(zip(weights["member"], weights["channel_weight"], strict=True))
    assert w["in_mid"] == 1.0 and w["in_big"] == 0.5 and w["in_small"] == 2.0
    same = _ledger([{"member": f"in_{c}", "acts_empathy": 3} for c in sizes])
    idx = value_index(same, cfg, channel_weights(acts, messages, "month", cfg))
    v = dict(zip(idx["member"], idx["value_index"], strict=True))
    assert v["in_small"] > v["in_mid"] > v["in_big"]
