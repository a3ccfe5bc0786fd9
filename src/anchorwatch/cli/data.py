"""Store commands: init, import, stats, export (DESIGN 3.3), retention apply."""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from anchorwatch.cli.common import (
    DbOption,
    UserError,
    console,
    err_console,
    progress_bar,
    user_errors,
)
from anchorwatch.i18n import t
from anchorwatch.ingest import FORMATS, Source, open_source
from anchorwatch.ingest.loader import ImportSummary, default_rejects_path, import_source
from anchorwatch.records import resolve_timezone
from anchorwatch.store import Store, open_store
from anchorwatch.store.reader import (
    community_stats,
    export_episodes,
    export_members,
    export_records,
)

EXPORTS = ("records", "episodes", "members")
REJECTS_PRINTED = 20


retention_app = typer.Typer(help=t("cli.retention.help"), no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("init", help=t("cli.init.help"))(init)
    app.command("import", help=t("cli.import.help"))(import_file)
    app.command("stats", help=t("cli.stats.help"))(stats)
    app.command("export", help=t("cli.export.help"))(export)
    app.add_typer(retention_app, name="retention")


@user_errors
def init(db: DbOption = None) -> None:
    store = open_store(db)
    revision = store.revision()
    console.print(t("cli.init.done", url=store.display_url, revision=revision))


@user_errors
def import_file(
    file: Annotated[Path, typer.Argument(help="JSONL / CSV / XLSX / WeChat export")],
    db: DbOption = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help=t("cli.import.format_help"))] = "auto",
    mapping: Annotated[
        Path | None, typer.Option("--mapping", "-m", help=t("cli.import.mapping_help"))
    ] = None,
    channel: Annotated[
        str | None, typer.Option("--channel", help=t("cli.import.channel_help"))
    ] = None,
    timezone: Annotated[
        str, typer.Option("--timezone", help=t("cli.import.timezone_help"))
    ] = "Asia/Shanghai",
    rejects: Annotated[
        Path | None, typer.Option("--rejects", help=t("cli.import.rejects_help"))
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar")] = False,
) -> None:
    if fmt != "auto" and fmt not in FORMATS:
        raise UserError("error.bad_option", detail=f"--format {fmt}: {'/'.join(FORMATS)}")
    try:
        tz = resolve_timezone(timezone)
    except Exception:
        raise UserError("error.bad_timezone", value=timezone) from None
    source = open_source(file, fmt, mapping=mapping, channel=channel)
    store = open_store(db)
    summary = run_import(store, source, file, rejects=rejects, timezone=tz, quiet=quiet)
    print_summary(summary)
    raise typer.Exit(summary.exit_code)


def run_import(
    store: Store,
    source: Source,
    file: Path,
    *,
    rejects: Path | None,
    timezone: tzinfo,
    quiet: bool,
) -> ImportSummary:
    """Import with a progress bar on stderr (shared by `import` and `quickstart`)."""
    rejects_path = rejects or default_rejects_path(file)
    with progress_bar(in_bytes=True, quiet=quiet) as bar:
        task = bar.add_task(t("cli.import.progress", name=source.name), total=source.total)
        return import_source(
            store,
            source,
            rejects_path=rejects_path,
            timezone=timezone,
            progress=lambda pos: bar.update(task, completed=pos),
        )


def print_summary(summary: ImportSummary) -> None:
    table = Table(title=t("cli.import.summary_title", name=summary.source), show_header=False)
    table.add_column(justify="left")
    table.add_column(justify="right")
    table.add_row(t("cli.import.read"), f"{summary.read:,}")
    for name, n in summary.new.items():
        if n:
            table.add_row(f"{t('cli.import.new')}: {t('cli.stats.' + name)}", f"{n:,}")
    table.add_row(t("cli.import.unchanged"), f"{summary.unchanged:,}")
    table.add_row(t("cli.import.rejected"), f"{summary.rejected:,}")
    if summary.erased:
        table.add_row(t("cli.import.erased"), f"{summary.erased:,}")
    if summary.skipped:
        kinds = ", ".join(f"{k} {n:,}" for k, n in summary.skipped.items())
        table.add_row(t("cli.import.skipped"), f"{sum(summary.skipped.values()):,} ({kinds})")
    console.print(table)
    if summary.rejected:
        rej = Table(show_header=True)
        rej.add_column(t("cli.import.line_header"), justify="right")
        rej.add_column(t("cli.import.reason"))
        for r in sorted(summary.rejects, key=lambda r: r.line)[:REJECTS_PRINTED]:
            rej.add_row(str(r.line), r.reason)
        console.print(rej)
        if summary.rejected > REJECTS_PRINTED:
            console.print(t("cli.import.rejects_more", count=summary.rejected - REJECTS_PRINTED))
        if summary.rejects_path:
            console.print(
                t("cli.import.rejects_written", count=summary.rejected, path=summary.rejects_path)
            )
    if summary.landed == 0 and summary.rejected:
        err_console.print(t("cli.import.nothing"))


@user_errors
def stats(db: DbOption = None) -> None:
    store = open_store(db)
    s = community_stats(store)
    if not s.totals["messages"] and not s.totals["members"]:
        console.print(t("cli.stats.empty"))
        return
    totals = Table(show_header=False)
    totals.add_column()
    totals.add_column(justify="right")
    for name, n in s.totals.items():
        totals.add_row(t(f"cli.stats.{name}"), f"{n:,}")
    console.print(totals)
    roles = Table(title=t("cli.stats.roles"))
    roles.add_column(t("cli.stats.role"))
    roles.add_column(t("cli.stats.members"), justify="right")
    for role, n in s.by_role:
        roles.add_row(role, f"{n:,}")
    console.print(roles)
    channels = Table(title=t("cli.stats.by_channel"))
    channels.add_column(t("cli.stats.channel"))
    channels.add_column(t("cli.stats.conversations"), justify="right")
    channels.add_column(t("cli.stats.messages"), justify="right")
    channels.add_column(t("cli.stats.authors"), justify="right")
    for ch in s.by_channel:
        channels.add_row(
            ch.channel or t("cli.stats.no_channel"),
            f"{ch.conversations:,}",
            f"{ch.messages:,}",
            f"{ch.authors:,}",
        )
    console.print(channels)
    months = Table(title=t("cli.stats.by_month"))
    months.add_column(t("cli.stats.month"))
    months.add_column(t("cli.stats.messages"), justify="right")
    for month, n in s.by_month:
        months.add_row(month, f"{n:,}")
    console.print(months)


@user_errors
def export(
    db: DbOption = None,
    out: Annotated[Path, typer.Option("--output", "-o", help="OUT.jsonl")] = Path(
        "anchorwatch-export.jsonl"
    ),
    what: Annotated[str, typer.Option("--what", help=t("cli.export.what_help"))] = "records",
    period: Annotated[str, typer.Option("--period", help=t("cli.export.period_help"))] = "month",
) -> None:
    if period not in ("week", "month", "year"):
        raise UserError(
            "error.bad_choice", option="--period", value=period, allowed="week, month, year"
        )
    if what not in EXPORTS:
        raise UserError("error.unknown_what", what=what, allowed=", ".join(EXPORTS))
    store = open_store(db)
    if what == "members":
        count = export_members(store, out, period)
    elif what == "episodes":
        count = export_episodes(store, out)
    else:
        count = export_records(store, out)
    console.print(t("cli.export.done", count=f"{count:,}", path=out))


@retention_app.command("apply", help=t("cli.retention.apply_help"))
@user_errors
def retention_apply(
    db: DbOption = None,
    months: Annotated[
        int | None,
        typer.Option("--months", help=t("cli.retention.months_help"), show_default=False),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help=t("cli.retention.dry_run_help"))
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help=t("cli.members.json_help"))] = False,
) -> None:
    """Empty the text of messages older than the retention policy allows."""
    import orjson

    from anchorwatch.store.retention import RetentionError, apply_retention

    store = open_store(db)
    try:
        report = apply_retention(store, months, dry_run=dry_run)
    except RetentionError as exc:
        raise UserError(exc.code, **exc.params) from None
    if as_json:
        console.print_json(orjson.dumps({**report.as_dict(), "dry_run": dry_run}).decode())
        return
    title = "cli.retention.title_dry" if dry_run else "cli.retention.title"
    view = Table(
        title=t(title, months=report.months, cutoff=f"{report.cutoff:%Y-%m-%d}"), show_header=False
    )
    view.add_column()
    view.add_column(justify="right")
    view.add_row(t("cli.retention.removed"), f"{report.removed:,}")
    view.add_row(t("cli.retention.already"), f"{report.already:,}")
    view.add_row(t("cli.retention.waiting"), f"{report.waiting:,}")
    if report.vectors_deleted:
        view.add_row(t("cli.retention.vectors"), f"{report.vectors_deleted:,}")
    console.print(view)
    if report.waiting:
        console.print(t("cli.retention.run_analyze", n=f"{report.waiting:,}"))
