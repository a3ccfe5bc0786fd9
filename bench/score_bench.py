"""Detection speed and quality: the default configuration against the encoder
on every message.

    python bench/score_bench.py                    # 100,000 demo messages
    python bench/score_bench.py --messages 20000 --encoder-sample 500

Speed: messages/s and peak RSS of the default backend (cascade.v1) over N demo
messages (each with the text it replies to), in a child process each so the
peak RSS is the backend's own; the encoder on every message (e5-heads.v1) runs
on a sample because at tens of messages per second the full set takes most of
an hour.  Quality: macro-F1 over the act labels of both on the project's dev
split, Chinese and English (never trained on).  Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).parent))
from _machine import describe

CHILD = """
import json, sys, time, orjson
from anchorwatch.signals import get_detector, detect_batches
rows = [orjson.loads(l) for l in open(sys.argv[1], 'rb')]
det = get_detector(sys.argv[2])
texts = [r['text'] for r in rows]; ctx = [r.get('context') for r in rows]
det.predict_proba(texts[:8], ctx[:8])  # load the encoder before timing
t0 = time.perf_counter()
out = detect_batches(det, texts, ctx, 512)
dt = time.perf_counter() - t0
esc = sum(s != 'lexical.v1' for s in out.stage) / max(len(out.stage), 1)
if len(sys.argv) > 3:
    with open(sys.argv[3], 'w', encoding='utf-8') as fh:
        for r, i in zip(rows, range(len(rows))):
            fh.write(json.dumps({'id': r['id'], 'labels': out.labels_of(i)}) + '\\n')
print(json.dumps({'seconds': dt, 'n': len(texts), 'escalated': esc}))
"""


def demo_messages(path: Path, n: int) -> list[dict[str, object]]:
    """The first ``n`` demo messages with the text they reply to as context."""
    text_of: dict[str, str] = {}
    rows: list[dict[str, object]] = []
    with path.open("rb") as fh:
        for line in fh:
            rec = orjson.loads(line)
            if rec.get("type") != "message":
                continue
            text_of[rec["id"]] = rec["text"]
            ctx = text_of.get(rec.get("reply_to") or "")
            rows.append({"id": rec["id"], "text": rec["text"], "context": ctx})
            if len(rows) >= n:
                break
    return rows


def demo_agreement(truth_file: Path, fired_file: Path) -> None:
    """Per-label agreement of the default detector with the demo's ground truth.

    The demo community is written by templates that share nothing with the
    labelled training data, so this is a second measure on text the detectors
    never saw (with its own writing conventions: a joke outside an argument is
    not de-escalation there).
    """
    from anchorwatch.signals import ACTS, LABELS

    truth: dict[str, set[str]] = {}
    with truth_file.open("rb") as fh:
        for line in fh:
            rec = orjson.loads(line)
            if rec["type"] == "message_labels":
                truth[rec["message"]] = set(rec["labels"])
    fired = {}
    with fired_file.open("rb") as fh:
        for line in fh:
            rec = orjson.loads(line)
            fired[rec["id"]] = set(rec["labels"])
    f1s = {}
    print(f"agreement with the demo ground truth ({len(fired):,} messages, cascade.v1):")
    for label in LABELS:
        tp = sum(1 for m, p in fired.items() if label in p and label in truth.get(m, ()))
        fp = sum(1 for m, p in fired.items() if label in p and label not in truth.get(m, ()))
        fn = sum(1 for m, p in fired.items() if label not in p and label in truth.get(m, ()))
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec_ = tp / (tp + fn) if tp + fn else 0.0
        f1s[label] = 2 * prec * rec_ / (prec + rec_) if prec + rec_ else 0.0
        print(f"  {label:20s} truth {tp + fn:6,}  P {prec:.2f}  R {rec_:.2f}  F1 {f1s[label]:.2f}")
    print(f"  macro-F1 acts {sum(f1s[a] for a in ACTS) / len(ACTS):.3f}")


def run_child(
    rows_file: Path, backend: str, labels_out: Path | None = None
) -> tuple[dict[str, float], float]:
    extra = [str(labels_out)] if labels_out else []
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(rows_file), backend, *extra],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--encoder-sample", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="anchorwatch-score-"))
    workdir.mkdir(parents=True, exist_ok=True)

    from anchorwatch.demo import generate_community

    data = workdir / f"demo-{args.messages}.jsonl"
    if not data.exists():
        generate_community(
            data, workdir / "truth.jsonl", messages=int(args.messages * 1.05), seed=args.seed
        )
    rows = demo_messages(data, args.messages)
    full = workdir / "rows.jsonl"
    full.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    sample = workdir / "sample.jsonl"
    sample.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows[: args.encoder_sample]))

    print(f"machine: {describe()}")
    print(
        f"data: {len(rows):,} demo messages (seed {args.seed}), "
        f"{sum(1 for r in rows if r['context']):,} with a replied-to text"
    )
    fired_file = workdir / "fired.jsonl"
    default, rss_default = run_child(full, "cascade.v1", fired_file)
    print(
        f"cascade.v1 (default): {default['n'] / default['seconds']:,.0f} messages/s, "
        f"{default['escalated']:.1%} sent to the encoder, peak RSS {rss_default:,.0f} MiB "
        f"({default['n']:,} messages in {default['seconds']:.1f} s)"
    )
    lexical, _ = run_child(full, "lexical.v1")
    print(f"lexical.v1: {lexical['n'] / lexical['seconds']:,.0f} messages/s")
    enc, rss_enc = run_child(sample, "e5-heads.v1")
    print(
        f"e5-heads.v1 (encoder on every message, sample of {enc['n']:,}): "
        f"{enc['n'] / enc['seconds']:,.1f} messages/s, peak RSS {rss_enc:,.0f} MiB "
        f"(so {len(rows) / (enc['n'] / enc['seconds']) / 60:,.0f} min for all {len(rows):,})"
    )

    import numpy as np

    demo_agreement(workdir / "truth.jsonl", fired_file)

    from anchorwatch.signals import get_detector
    from anchorwatch.signals.data import load_own
    from anchorwatch.signals.evaluate import evaluate_sets

    dev = load_own(split="dev")
    sets = [
        dev.subset(np.array([lang == lg for lang in dev.langs]), f"own-dev:{lg}")
        for lg in ("zh", "en")
    ]
    for backend in ("cascade.v1", "e5-heads.v1", "lexical.v1"):
        rep = evaluate_sets(get_detector(backend), sets)
        figures = ", ".join(
            f"{name} {res['macro_f1_acts']:.3f}" for name, res in rep["sets"].items()
        )
        print(f"macro-F1 over acts, {backend}: {figures}")


if __name__ == "__main__":
    main()
