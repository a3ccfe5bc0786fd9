"""Signal commands: score (DESIGN 3.2), train, eval."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import orjson
import typer
from rich.table import Table

from anchorwatch.cli.common import UserError, console, err_console, user_errors
from anchorwatch.i18n import t

BackendOption = Annotated[str | None, typer.Option("--backend", help=t("cli.score.backend_help"))]
ModelDirOption = Annotated[
    Path | None, typer.Option("--model-dir", help=t("cli.score.model_dir_help"))
]


def register(app: typer.Typer) -> None:
    app.command("score", help=t("cli.score.help"))(score)
    app.command("train", help=t("cli.train.help"))(train)
    app.command("eval", help=t("cli.eval.help"))(evaluate)


def _detector(backend: str | None, model_dir: Path | None) -> Any:
    from anchorwatch.signals.llm import LLMError
    from anchorwatch.signals.registry import UnknownBackend, backends, get_detector

    try:
        return get_detector(backend, model_dir)
    except LLMError as exc:
        raise UserError(exc.key, **exc.params) from None
    except UnknownBackend:
        raise UserError(
            "error.unknown_backend", name=backend, allowed=", ".join(backends())
        ) from None
    except FileNotFoundError as exc:
        raise UserError("error.no_model", path=str(exc.filename)) from None


@user_errors
def score(
    infile: Annotated[Path, typer.Argument(help="IN.jsonl: {id, text, context}")],
    out: Annotated[Path, typer.Option("--output", "-o", help="OUT.jsonl")],
    backend: BackendOption = None,
    model_dir: ModelDirOption = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", help=t("cli.score.batch_help"))
    ] = None,
) -> None:
    from anchorwatch.signals import detect_batches
    from anchorwatch.signals.registry import signals_config

    batch_size = batch_size or int(signals_config().get("batch_size") or 512)

    if not infile.is_file():
        raise UserError("error.file_not_found", path=str(infile))
    detector = _detector(backend, model_dir)
    bad = 0
    written = 0
    started = time.perf_counter()
    out.parent.mkdir(parents=True, exist_ok=True)
    with infile.open("rb") as fh, out.open("wb") as sink:
        batch: list[tuple[Any, str, str | None]] = []

        def flush() -> None:
            nonlocal written
            if not batch:
                return
            det = detect_batches(detector, [b[1] for b in batch], [b[2] for b in batch], batch_size)
            for rec in det.records([b[0] for b in batch]):
                sink.write(orjson.dumps(rec) + b"\n")
            written += len(batch)
            batch.clear()

        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = orjson.loads(line)
                text = obj["text"]
                context = obj.get("context")
                if not isinstance(text, str) or not (context is None or isinstance(context, str)):
                    raise TypeError
            except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
                bad += 1
                err_console.print(t("cli.score.bad_line", line=lineno))
                continue
            batch.append((obj.get("id", lineno), text, context))
            if len(batch) >= batch_size * 8:
                flush()
        flush()
    seconds = time.perf_counter() - started
    console.print(
        t(
            "cli.score.done",
            count=f"{written:,}",
            path=out,
            rate=f"{written / max(seconds, 1e-9):,.0f}",
        )
    )
    if bad:
        raise typer.Exit(3 if written else 1)


@user_errors
def train(
    out: Annotated[Path, typer.Option("--out", help=t("cli.train.out_help"))] = Path(
        "src/anchorwatch/signals/models"
    ),
    data: Annotated[Path, typer.Option("--data", help=t("cli.train.data_help"))] = Path(
        "data/labelled"
    ),
    shared: Annotated[Path, typer.Option("--shared", help=t("cli.train.shared_help"))] = Path(
        "../shared/datasets"
    ),
    cache: Annotated[Path | None, typer.Option("--cache", help=t("cli.train.cache_help"))] = None,
    teacher: Annotated[
        str | None, typer.Option("--teacher", help=t("cli.train.teacher_help"))
    ] = None,
    unlabelled: Annotated[
        Path | None, typer.Option("--unlabelled", help=t("cli.train.unlabelled_help"))
    ] = None,
) -> None:
    from anchorwatch.signals.train import train as run_training

    for path in (data, shared / "COLD"):
        if not path.exists():
            raise UserError("error.file_not_found", path=str(path))
    extra = None
    if teacher is not None:
        extra = _teacher_rows(teacher, unlabelled)
    report = run_training(
        out, data_root=data, shared_root=shared, cache_dir=cache, extra=extra, log=console.print
    )
    console.print(t("cli.train.done", path=out, seconds=f"{report.seconds:.0f}"))


def _teacher_rows(teacher: str, unlabelled: Path | None) -> Any:
    """Label unlabelled messages ({text, context} JSONL) with a teacher backend."""
    from anchorwatch.signals.teacher import label_with_teacher

    if unlabelled is None or not unlabelled.is_file():
        raise UserError("error.teacher_needs_data")
    name = "llm.v1" if teacher == "llm" else teacher
    detector = _detector(name, None)
    texts: list[str] = []
    contexts: list[str | None] = []
    with unlabelled.open("rb") as fh:
        for line in fh:
            if line.strip():
                obj = orjson.loads(line)
                texts.append(obj["text"])
                contexts.append(obj.get("context"))
    rows = label_with_teacher(detector, texts, contexts)
    usage = getattr(detector, "usage", None)
    if usage is not None:
        console.print(str(usage.summary()))
    return rows


@user_errors
def evaluate(
    backend: BackendOption = None,
    model_dir: ModelDirOption = None,
    data: Annotated[Path, typer.Option("--data", help=t("cli.train.data_help"))] = Path(
        "data/labelled"
    ),
    shared: Annotated[Path, typer.Option("--shared", help=t("cli.train.shared_help"))] = Path(
        "../shared/datasets"
    ),
    json_out: Annotated[Path | None, typer.Option("--json", help=t("cli.eval.json_help"))] = None,
    limit: Annotated[int | None, typer.Option("--limit", help=t("cli.eval.limit_help"))] = None,
) -> None:
    from anchorwatch.signals.data import load_cold, load_cped, load_own
    from anchorwatch.signals.evaluate import evaluate_sets

    if not data.exists():
        raise UserError("error.file_not_found", path=str(data))
    detector = _detector(backend, model_dir)
    own = load_own(data, split="dev")
    sets = [
        own.subset(np.array([lang == "zh" for lang in own.langs]), "own-dev:zh"),
        own.subset(np.array([lang == "en" for lang in own.langs]), "own-dev:en"),
    ]
    if (shared / "COLD").exists():
        sets.append(load_cold("dev", shared))
    if (shared / "CPED").exists():
        sets.append(load_cped(shared))
    if limit:
        sets = [s.subset(np.arange(len(s)) < limit) for s in sets]
    report = evaluate_sets(detector, sets)
    for name, res in report["sets"].items():
        table = Table(title=f"{name} · {res['rows']:,} rows · {res['messages_per_s']:,.0f} msg/s")
        for col in ("label", "n+", "P", "R", "F1", "acc", "TP", "FP", "FN", "TN"):
            table.add_column(col, justify="left" if col == "label" else "right")
        for s in res["labels"]:
            table.add_row(
                s["label"],
                str(s["support"]),
                f"{s['precision']:.3f}",
                f"{s['recall']:.3f}",
                f"{s['f1']:.3f}",
                f"{s['accuracy']:.3f}",
                str(s["tp"]),
                str(s["fp"]),
                str(s["fn"]),
                str(s["tn"]),
            )
        console.print(table)
        console.print(
            f"macro-F1 acts {res['macro_f1_acts']:.3f} · contexts {res['macro_f1_contexts']:.3f}"
            + (f" · escalated {res['escalated_share']:.1%}" if "escalated_share" in res else "")
        )
    if json_out:
        json_out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
