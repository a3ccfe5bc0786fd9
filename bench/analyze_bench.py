"""The whole analysis of a demo community: time, memory and agreement with truth.

    python bench/analyze_bench.py                      # 1,000,000 demo messages
    python bench/analyze_bench.py --messages 30000 --seed 7

Generates a demo community (``anchorwatch demo-data``), imports it into a fresh
SQLite store, and runs ``anchorwatch analyze`` (signals, then episodes and
outcomes) in a child process, timing each and reporting the child's peak RSS.
Then compares the stored episodes and threads with the generator's ground
truth: precision and recall per episode kind, outcome agreement on matched
episodes, and the pairwise agreement of chat-stream threads.  A second
``analyze`` on the unchanged store shows the incremental no-op.  Nothing is
asserted.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import describe


def _run(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of a child command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    dt = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return dt, max(peak, before) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--dir", type=Path, default=None, help="keep the files here")
    args = ap.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="aw-analyze-"))
    work.mkdir(parents=True, exist_ok=True)
    data, truth, db = work / "community.jsonl", work / "truth.jsonl", work / "bench.db"
    db.unlink(missing_ok=True)
    exe = [sys.executable, "-m", "anchorwatch"]
    url = f"sqlite:///{db}"
    print(f"machine: {describe()}")
    gen_s, _ = _run(
        [
            *exe,
            "demo-data",
            str(data),
            "--messages",
            str(args.messages),
            "--seed",
            str(args.seed),
            "--truth",
            str(truth),
        ]
    )
    imp_s, imp_rss = _run([*exe, "import", str(data), "--db", url])
    ana_s, ana_rss = _run([*exe, "analyze", "--db", url, "--quiet"])
    again_s, _ = _run([*exe, "analyze", "--db", url, "--quiet"])

    from sqlalchemy import func, select

    from anchorwatch.demo.agreement import (
        cluster_agreement,
        episode_agreement,
        thread_agreement,
    )
    from anchorwatch.store import open_store, schema
    from anchorwatch.store.reader import iter_episodes

    store = open_store(url)
    with store.engine.connect() as conn:
        n_msgs = conn.execute(select(func.count()).select_from(schema.messages)).scalar_one()
        threads = dict(
            conn.execute(
                select(schema.message_threads.c.message, schema.message_threads.c.thread)
            ).all()
        )
    detected = list(iter_episodes(store))
    true_eps, true_threads = [], {}
    with truth.open(encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            if rec["type"] == "episode":
                true_eps.append(rec)
            elif rec["type"] == "thread":
                true_threads[rec["message"]] = rec["thread"]
    print(
        f"data: {n_msgs:,} messages (demo seed {args.seed}), "
        f"SQLite {db.stat().st_size / 2**20:,.0f} MiB"
    )
    print(f"demo-data {gen_s:,.1f} s; import {imp_s:,.1f} s (peak RSS {imp_rss:,.0f} MiB)")
    print(
        f"analyze (signals + episodes + outcomes): {ana_s:,.1f} s = {ana_s / 60:.1f} min, "
        f"{n_msgs / ana_s:,.0f} msg/s, peak RSS {ana_rss:,.0f} MiB"
    )
    print(f"analyze again on unchanged data: {again_s:,.1f} s")
    print(f"{'kind':<18} {'true':>6} {'found':>6} {'match':>6} {'prec':>6} {'recall':>6}  outcomes")
    for kind, row in episode_agreement(detected, true_eps).items():
        outs = ", ".join(f"{k} {v:.2f}" for k, v in row["outcomes"].items())
        print(
            f"{kind:<18} {row['true']:>6} {row['detected']:>6} {row['matched']:>6} "
            f"{row['precision']:>6.3f} {row['recall']:>6.3f}  {outs}"
        )
    ta = thread_agreement({k: v for k, v in threads.items() if k in true_threads}, true_threads)
    print(
        f"chat-stream threads: pairwise precision {ta['precision']:.3f}, recall {ta['recall']:.3f}"
    )
    ca = cluster_agreement(detected, true_eps)
    print("repeated questions: " + ", ".join(f"{k} {v}" for k, v in ca.items()))


if __name__ == "__main__":
    main()
