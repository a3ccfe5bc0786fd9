"""The `anchorwatch` command line: thin commands over the Python API."""

from __future__ import annotations

import typer

from anchorwatch import __version__
from anchorwatch.cli import analysis, awards, care, data, demo, members, reports, signals
from anchorwatch.cli.common import console
from anchorwatch.i18n import t

app = typer.Typer(
    name="anchorwatch",
    help=t("cli.app_help"),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
data.register(app)
demo.register(app)
signals.register(app)
analysis.register(app)
members.register(app)
reports.register(app)
awards.register(app)
care.register(app)


@app.command("version", help=t("cli.version.help"))
def version() -> None:
    console.print(f"anchorwatch {__version__}")


def main() -> None:
    app()
