"""What every command shares: the Typer app, the --db option, user errors."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from sqlalchemy.exc import SQLAlchemyError

from anchorwatch.i18n import t

console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

DbOption = Annotated[
    str | None,
    typer.Option("--db", help=t("cli.db_help"), show_default=False),
]


class UserError(Exception):
    """A mistake the user can fix; shown as one translated line, exit code 2."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def fail(code: str, exit_code: int = 2, **params: Any) -> NoReturn:
    err_console.print(f"[bold red]{t('error.prefix')}:[/] {t(code, **params)}", highlight=False)
    raise typer.Exit(exit_code)


def user_errors(func: F) -> F:
    """Turn known errors into a clear message and a non-zero exit, never a traceback."""
    from anchorwatch.ingest.registry import SourceError
    from anchorwatch.signals.llm import LLMError
    from anchorwatch.store import StoreError

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (UserError, SourceError, StoreError) as exc:
            fail(exc.code, **exc.params)
        except LLMError as exc:
            fail(exc.key, exit_code=1, **exc.params)
        except FileNotFoundError as exc:
            fail("error.file_not_found", path=exc.filename or str(exc))
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except SQLAlchemyError as exc:
            if os.environ.get("ANCHORWATCH_DEBUG"):
                raise
            detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            fail("error.db_failed", exit_code=1, detail=detail[:300])
        except Exception as exc:
            # An unexpected failure still gets one readable line; the traceback
            # is there for whoever sets ANCHORWATCH_DEBUG=1.
            if os.environ.get("ANCHORWATCH_DEBUG"):
                raise
            fail("error.unexpected", exit_code=1, kind=type(exc).__name__, detail=str(exc)[:300])

    return wrapper  # type: ignore[return-value]


def progress_bar(*, in_bytes: bool = False, quiet: bool = False) -> Progress:
    """The progress bar every long command shows on stderr: counts (or bytes and
    speed, for reading a file) and the time remaining; gone when done."""
    counts = (DownloadColumn(), TransferSpeedColumn()) if in_bytes else (MofNCompleteColumn(),)
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        *counts,
        TimeRemainingColumn(),
        console=err_console,
        disable=quiet,
        transient=True,
    )
