"""`anchorwatch analyze`: run the analysis stages over the store (DESIGN 3.3)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.table import Table

from anchorwatch.cli.common import DbOption, UserError, console, progress_bar, user_errors
from anchorwatch.cli.signals import BackendOption, _detector
from anchorwatch.i18n import t


def register(app: typer.Typer) -> None:
    app.command("analyze", help=t("cli.analyze.help"))(analyze)
    app.command("questions", help=t("cli.questions.help"))(questions)
    app.command("buffer", help=t("cli.buffer.help"))(buffer)


@user_errors
def analyze(
    db: DbOption = None,
    backend: BackendOption = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", help=t("cli.analyze.batch_help"))
    ] = 2_000,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar")] = False,
) -> None:
    from anchorwatch.engines.episodes import run_episodes
    from anchorwatch.engines.local import run_signals
    from anchorwatch.engines.members import load_member_frames, watchlist
    from anchorwatch.store import open_store

    store = open_store(db)
    detector = _detector(backend, None)
    with progress_bar(quiet=quiet) as bar:
        task = bar.add_task(t("cli.analyze.signals"), total=None)
        run = run_signals(
            store,
            detector,
            batch_messages=batch_size,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
        bar.update(task, visible=False)
        ep_task = bar.add_task(t("cli.analyze.episodes"), total=None)
        # The encoder the detector already loaded, with the embeddings it cached.
        encoder = getattr(detector, "encoder", detector)
        eps = run_episodes(
            store,
            embedder=getattr(encoder, "embedder", None),
            progress=lambda done, total: bar.update(ep_task, completed=done, total=total),
        )
        bar.update(ep_task, visible=False)
        bar.add_task(t("cli.analyze.members"), total=None)
        frames = load_member_frames(store)
        watched, _evidence = watchlist(frames) if frames.messages.height else (None, {})
    table = Table(title=t("cli.analyze.title", backend=run.backend), show_header=False)
    table.add_column()
    table.add_column(justify="right")
    table.add_row(t("cli.analyze.scored"), f"{run.scored:,}")
    table.add_row(t("cli.analyze.already"), f"{run.already:,}")
    if run.scored:
        table.add_row(t("cli.analyze.rate"), f"{run.messages_per_s:,.0f}")
        table.add_row(t("cli.analyze.escalated"), f"{run.escalated / run.scored:.1%}")
    for label, n in sorted(run.fired.items(), key=lambda kv: -kv[1]):
        if n:
            table.add_row(f"  {label}", f"{n:,}")
    table.add_row(t("cli.analyze.threaded"), f"{eps.messages:,}")
    table.add_row(t("cli.analyze.episodes_written"), f"{eps.episodes_written:,}")
    for kind, n in sorted(eps.kinds.items()):
        table.add_row(f"  {t('episode.kind.' + kind)}", f"{n:,}")
    table.add_row(t("cli.analyze.returned_updated"), f"{eps.returned_updated:,}")
    table.add_row(t("cli.analyze.questions_embedded"), f"{eps.questions_embedded:,}")
    if eps.recomputed_all:
        table.add_row(t("cli.analyze.recomputed_all"), "✓")
    labour = frames.acts.filter(~frames.acts["discounted"])["member"].n_unique()
    table.add_row(t("cli.analyze.members_with_labour"), f"{labour:,}")
    table.add_row(t("cli.analyze.watchlist"), f"{0 if watched is None else watched.height:,}")
    console.print(table)


OutOption = Annotated[Path | None, typer.Option("--output", "-o", help=t("cli.report.output_help"))]


def _save(frame: pl.DataFrame, out: Path | None) -> None:
    if out is None:
        return
    from anchorwatch.store.tables import TABLE_SUFFIXES, write_table

    if out.suffix.lower() not in TABLE_SUFFIXES:
        raise UserError("error.table_suffix", path=out.name)
    write_table(frame, out)
    console.print(t("cli.report.saved", path=out, rows=frame.height))


@user_errors
def questions(
    db: DbOption = None,
    top: Annotated[int, typer.Option("--top", help=t("cli.questions.top_help"))] = 20,
    out: OutOption = None,
) -> None:
    """The most repeated newcomer questions and who keeps answering them."""
    from anchorwatch.episodes.faq import faq, repeat_answerers
    from anchorwatch.store import open_store
    from anchorwatch.store.analysis import answer_frame, question_frame

    store = open_store(db)
    table = faq(question_frame(store), top)
    if table.is_empty():
        console.print(t("cli.questions.none"))
        return
    view = Table(title=t("cli.questions.title", n=table.height))
    for col in ("cluster", "asked", "answered_share", "last_asked", "example"):
        view.add_column(t(f"cli.questions.{col}"), overflow="fold")
    for row in table.iter_rows(named=True):
        view.add_row(
            row["cluster"],
            f"{row['asked']:,}",
            f"{row['answered_share']:.0%}",
            row["last_asked"].strftime("%Y-%m-%d"),
            row["example"][:60],
        )
    console.print(view)
    helpers = repeat_answerers(answer_frame(store), top)
    view = Table(title=t("cli.questions.answerers"))
    for col in ("member", "answers", "repeats", "most_same", "most_same_cluster"):
        view.add_column(t(f"cli.questions.{col}"), justify="left" if col == "member" else "right")
    for row in helpers.iter_rows(named=True):
        view.add_row(
            row["member"],
            f"{row['answers']:,}",
            f"{row['repeats']:,}",
            f"{row['most_same']:,}",
            row["most_same_cluster"],
        )
    console.print(view)
    _save(table, out)


@user_errors
def buffer(
    db: DbOption = None,
    by: Annotated[str, typer.Option("--by", help=t("cli.buffer.by_help"))] = "channel",
    out: OutOption = None,
) -> None:
    """Complainers' next-message sentiment after official replies vs member empathy."""
    from anchorwatch.episodes.buffer import buffer_effect
    from anchorwatch.store import open_store
    from anchorwatch.store.analysis import complaint_responses

    keys = tuple(k.strip() for k in by.split(",") if k.strip())
    if any(k not in ("channel", "month") for k in keys):
        raise UserError("error.unknown_by", by=by, allowed="channel, month, channel,month")
    store = open_store(db)
    table = buffer_effect(complaint_responses(store), by=keys)
    if table.is_empty():
        console.print(t("cli.buffer.none"))
        return
    view = Table(title=t("cli.buffer.title"))
    for col in (*keys, "n_official", "mean_official", "n_member", "mean_member", "difference"):
        view.add_column(t(f"cli.buffer.{col}"), justify="left" if col in keys else "right")
    view.add_column(t("cli.buffer.ci"), justify="right")

    def num(x: float | None) -> str:
        return "–" if x is None else f"{x:+.2f}"

    for row in table.iter_rows(named=True):
        ci = "–" if row["ci_low"] is None else f"[{row['ci_low']:+.2f}, {row['ci_high']:+.2f}]"
        view.add_row(
            *(row[k] for k in keys),
            f"{row['n_official']:,}",
            num(row["mean_official"]),
            f"{row['n_member']:,}",
            num(row["mean_member"]),
            num(row["difference"]),
            ci,
        )
    console.print(view)
    _save(table, out)
