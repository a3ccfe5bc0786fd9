"""What every command shares: the Typer app, the --db option, user errors."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console

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
    from anchorwatch.store import StoreError

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (UserError, SourceError, StoreError) as exc:
            fail(exc.code, **exc.params)
        except FileNotFoundError as exc:
            fail("error.file_not_found", path=exc.filename or str(exc))
        except KeyboardInterrupt:
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]
