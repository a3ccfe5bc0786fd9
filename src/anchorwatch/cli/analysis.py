"""`anchorwatch analyze`: run the analysis stages over the store (DESIGN 3.3)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from anchorwatch.cli.common import DbOption, console, progress_bar, user_errors
from anchorwatch.cli.signals import BackendOption, _detector
from anchorwatch.i18n import t


def register(app: typer.Typer) -> None:
    app.command("analyze", help=t("cli.analyze.help"))(analyze)


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
        eps = run_episodes(
            store,
            progress=lambda done, total: bar.update(ep_task, completed=done, total=total),
        )
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
    console.print(table)
