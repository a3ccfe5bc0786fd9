"""`anchorwatch report`: the monthly community emotional-health report (issue 6).

Thin over :mod:`anchorwatch.reports`: checks what the user typed before any
heavy read (the file's suffix, the month, the edition), builds the report and
writes it in the format the suffix names.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from anchorwatch.cli.common import DbOption, UserError, console, user_errors
from anchorwatch.i18n import t


def register(app: typer.Typer) -> None:
    app.command("report", help=t("cli.report.help"))(report)


@user_errors
def report(
    month: Annotated[str, typer.Option("--month", help=t("cli.report.month_help"))],
    out: Annotated[Path, typer.Option("--output", "-o", help=t("cli.report.file_help"))],
    edition: Annotated[
        str, typer.Option("--edition", help=t("cli.report.edition_help"))
    ] = "community",
    db: DbOption = None,
) -> None:
    """The monthly report of an analysed store as HTML, PDF or XLSX."""
    from anchorwatch.reports import (
        EDITIONS,
        REPORT_SUFFIXES,
        ReportError,
        monthly_report,
        parse_month,
        write_report,
    )
    from anchorwatch.store import open_store

    if out.suffix.lower() not in REPORT_SUFFIXES:
        raise UserError("error.report_suffix", path=out.name)
    if edition not in EDITIONS:
        raise UserError(
            "error.bad_choice", option="--edition", value=edition, allowed=", ".join(EDITIONS)
        )
    started = time.perf_counter()
    try:
        parse_month(month)
        built = monthly_report(open_store(db), month, edition)
    except ReportError as exc:
        raise UserError(exc.code, **exc.params) from None
    write_report(built, out)
    console.print(
        t(
            "cli.report.written",
            month=month,
            edition=t(f"report.edition.{edition}"),
            path=out,
            seconds=f"{time.perf_counter() - started:.1f}",
        ),
        highlight=False,
    )
