"""The members stage on an analysed store: time, memory and the backtest.

    python bench/members_bench.py --db sqlite:///path/analysed.db

The store must have been analysed (``anchorwatch analyze``); build one with
``python bench/analyze_bench.py --dir D`` or ``anchorwatch quickstart``.
Times reading the frames, the monthly members table (ledger, value index,
burnout risk with evidence), the watchlist and the backtest, and prints the
backtest figures of the burnout risk against the activity-decline baseline.
Nothing is asserted.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import describe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="an analysed store (SQLAlchemy URL)")
    args = parser.parse_args()

    from anchorwatch.engines.members import (
        backtest,
        load_member_frames,
        members_table,
        watchlist,
    )
    from anchorwatch.store import open_store

    print("machine:", describe())
    store = open_store(args.db)
    t0 = time.perf_counter()
    frames = load_member_frames(store)
    t_load = time.perf_counter() - t0
    print(
        f"data: {frames.messages.height:,} messages, {frames.acts.height:,} acts, "
        f"{frames.aimed.height:,} aimed messages, {len(frames.names):,} members"
    )
    t0 = time.perf_counter()
    table = members_table(frames, "month")
    t_table = time.perf_counter() - t0
    t0 = time.perf_counter()
    risk, _evidence = watchlist(frames)
    t_watch = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = backtest(frames)
    t_bt = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"read frames + anti-gaming rules: {t_load:.1f} s")
    print(f"members table (month, {table.rows.height:,} rows): {t_table:.1f} s")
    print(f"watchlist ({risk.height} members): {t_watch:.1f} s")
    print(f"backtest: {t_bt:.1f} s; peak RSS {peak:,.0f} MiB")
    if report is None:
        print("backtest: the history is too short")
        return
    print(
        f"backtest: {report.points:,} points, {report.members:,} members, "
        f"{report.positives:,} followed by withdrawal within the horizon"
    )
    print(f"{'':18} {'ROC-AUC':>8} {'P@10':>6} {'P@50':>6} {'lead d':>7} {'alerted':>9}")
    for m in (report.risk, report.baseline):
        print(
            f"{m.name:18} {m.roc_auc:8.3f} {m.precision_at_10:6.3f} {m.precision_at_50:6.3f}"
            f" {m.median_lead_days:7.1f} {m.alerted:>4}/{m.withdrawals:<4}"
        )
    for m in (report.risk, report.baseline):
        print(f"calibration, {m.name}:")
        for row in m.calibration.iter_rows(named=True):
            print(
                f"  {row['risk']:>7}  {row['points']:>6,} points  mean {row['mean_risk']:5.1f}"
                f"  withdrew {row['withdrew']:.3f}"
            )


if __name__ == "__main__":
    main()
