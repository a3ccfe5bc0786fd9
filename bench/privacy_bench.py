"""Privacy operations on a demo store: member export, erasure, retention.

    python bench/privacy_bench.py [--db URL] [--messages 4000] [--seed 3]

Generates the demo community (``--messages``), imports and analyses it into
``--db`` (default: a SQLite file in a temporary folder; give an empty
PostgreSQL database to time that engine), then times the export of the
busiest member, the erasure of that member (with the compaction of the
database files and the re-analysis of what the erasure reopened), and the
retention policy over the older half of the history.  Nothing is asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import describe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="an empty store (SQLAlchemy URL); default a temporary file")
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()

    from sqlalchemy import func, select

    from anchorwatch.demo import generate_community
    from anchorwatch.ingest.loader import import_source
    from anchorwatch.ingest.registry import open_source
    from anchorwatch.signals.registry import get_detector
    from anchorwatch.store import open_store, schema
    from anchorwatch.store.erasure import erase_member, reanalyse
    from anchorwatch.store.member_export import export_member
    from anchorwatch.store.retention import apply_retention

    print("machine:", describe())
    tmp = Path(tempfile.mkdtemp(prefix="aw-privacy-"))
    data = tmp / "community.jsonl"
    generate_community(data, tmp / "truth.jsonl", messages=args.messages, seed=args.seed)
    store = open_store(args.db or f"sqlite:///{tmp / 'aw.db'}")
    import_source(store, open_source(data), rejects_path=None)
    detector = get_detector()
    reanalyse(store, detector)
    m = schema.messages
    with store.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(m)).scalar_one()
        member, mine = conn.execute(
            select(m.c.author, func.count())
            .group_by(m.c.author)
            .order_by(func.count().desc(), m.c.author)
            .limit(1)
        ).one()
        first, last = conn.execute(select(func.min(m.c.sent_at), func.max(m.c.sent_at))).one()
    print(f"data: {total:,} messages ({store.dialect}); busiest member {member}: {mine:,}")

    t0 = time.perf_counter()
    doc = export_member(store, member)
    print(
        f"member export: {time.perf_counter() - t0:.2f} s "
        f"({len(doc['messages'])} messages, {len(doc['episodes'])} episodes, "
        f"{len(doc['award_nominations'])} nominations)"
    )
    report = erase_member(store, member, by="bench", detector=detector)
    print(
        f"erase (delete, compact, re-analyse): {report.seconds:.2f} s; "
        f"{sum(report.deleted.values()):,} rows deleted, {report.tombstoned} replies tombstoned, "
        f"{report.reopened} messages re-analysed"
    )
    middle = first + (last - first) / 2
    now = datetime.now(UTC).replace(tzinfo=None)
    months = max(1, round((now - middle).days / 30.44))
    t0 = time.perf_counter()
    kept = apply_retention(store, months)
    print(
        f"retention ({months} months): {time.perf_counter() - t0:.2f} s, "
        f"{kept.removed:,} texts removed"
    )
    t0 = time.perf_counter()
    reanalyse(store, detector)
    print(f"analyze after retention: {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
