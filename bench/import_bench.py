"""Import throughput and peak memory: N demo messages into a fresh SQLite file.

    python bench/import_bench.py                  # 1,000,000 messages
    python bench/import_bench.py --messages 100000
    python bench/import_bench.py --data my.jsonl  # an existing file

The demo file is generated first (not timed); the import runs in a child
process so that its peak RSS is its own.  Figures are printed with the machine
and the data size; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import describe

CHILD = """
import json, sys, time
from anchorwatch.ingest.jsonl import JsonlSource
from anchorwatch.ingest.loader import import_source
from anchorwatch.store import open_store
store = open_store(sys.argv[2])
t0 = time.perf_counter()
s = import_source(store, JsonlSource(sys.argv[1]), rejects_path=None)
print(json.dumps({"seconds": time.perf_counter() - t0, "read": s.read,
                  "new": s.new, "rejected": s.rejected}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data", type=Path, help="import this JSONL instead of demo data")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="anchorwatch-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    data = args.data
    if data is None:
        from anchorwatch.demo import generate_community

        data = workdir / f"demo-{args.messages}.jsonl"
        if not data.exists():
            t0 = time.perf_counter()
            generate_community(
                data, workdir / "truth.jsonl", messages=args.messages, seed=args.seed
            )
            print(f"generated {data} in {time.perf_counter() - t0:.1f} s")
    db = workdir / "bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)

    wall0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(data), f"sqlite:///{db}"],
        check=True,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - wall0
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    messages = result["new"]["messages"]
    print(f"machine: {describe()}")
    print(
        f"data: {data} ({data.stat().st_size / 1e6:.0f} MB, {result['read']:,} records, "
        f"{messages:,} messages)"
    )
    print(f"store: SQLite file {db} ({db.stat().st_size / 1e6:.0f} MB after import)")
    print(f"import time: {result['seconds']:.1f} s (process wall {wall:.1f} s)")
    print(
        f"throughput: {messages / result['seconds']:,.0f} messages/s "
        f"({result['read'] / result['seconds']:,.0f} records/s)"
    )
    print(f"peak RSS: {peak_mib:,.0f} MiB")
    print(f"rejected: {result['rejected']}")
    if os.environ.get("BENCH_JSON"):
        Path(os.environ["BENCH_JSON"]).write_text(
            json.dumps(
                {
                    "messages_per_s": messages / result["seconds"],
                    "peak_rss_mib": peak_mib,
                    "messages": messages,
                    "seconds": result["seconds"],
                    "machine": describe(),
                }
            )
        )


if __name__ == "__main__":
    main()
