"""The demo community: `demo-data` writes it, `quickstart` runs the main job on it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from anchorwatch.cli.common import UserError, console, progress_bar, user_errors
from anchorwatch.i18n import t

MIN_MESSAGES = 1_000
MAX_MESSAGES = 1_000_000

MessagesOption = Annotated[int, typer.Option("--messages", "-n", help=t("cli.demo.messages_help"))]
SeedOption = Annotated[int, typer.Option("--seed", help=t("cli.demo.seed_help"))]


def register(app: typer.Typer) -> None:
    app.command("demo-data", help=t("cli.demo.help"))(demo_data)
    app.command("quickstart", help=t("cli.quickstart.help"))(quickstart)


def generate(out: Path, truth: Path | None, messages: int, seed: int) -> None:
    """Generate the demo community with a progress bar and print what was written."""
    from anchorwatch.demo import generate_community

    if not MIN_MESSAGES <= messages <= MAX_MESSAGES:
        raise UserError("error.too_many_messages", low=MIN_MESSAGES, high=f"{MAX_MESSAGES:,}")
    truth_path = truth or out.with_name(out.stem + ".truth.jsonl")
    out.parent.mkdir(parents=True, exist_ok=True)
    with progress_bar() as bar:
        task = bar.add_task("demo-data", total=messages)
        summary = generate_community(
            out,
            truth_path,
            messages=messages,
            seed=seed,
            progress=lambda n: bar.update(task, completed=n),
        )
    console.print(
        t(
            "cli.demo.done",
            messages=f"{summary.messages:,}",
            members=f"{summary.members:,}",
            path=out,
            truth=truth_path,
        )
    )


@user_errors
def demo_data(
    out: Annotated[Path, typer.Argument(help="OUT.jsonl")] = Path("demo/community.jsonl"),
    messages: MessagesOption = 30_000,
    seed: SeedOption = 7,
    truth: Annotated[Path | None, typer.Option("--truth", help=t("cli.demo.truth_help"))] = None,
) -> None:
    generate(out, truth, messages, seed)


@user_errors
def quickstart(
    workdir: Annotated[Path, typer.Option("--dir", help="Working directory")] = Path("demo"),
    messages: MessagesOption = 30_000,
    seed: SeedOption = 7,
    db: Annotated[str | None, typer.Option("--db", help=t("cli.db_help"))] = None,
    serve: Annotated[bool, typer.Option("--serve", help=t("cli.quickstart.serve_help"))] = False,
    host: Annotated[str, typer.Option("--host", help=t("cli.serve.host_help"))] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help=t("cli.serve.port_help"))] = 8000,
) -> None:
    from anchorwatch.cli.data import print_summary, run_import, stats
    from anchorwatch.ingest.jsonl import JsonlSource
    from anchorwatch.records import resolve_timezone
    from anchorwatch.store import open_store

    data = workdir / "community.jsonl"
    generate(data, None, messages, seed)
    db_url = db or str(workdir / "anchorwatch.db")
    store = open_store(db_url)
    summary = run_import(
        store,
        JsonlSource(data),
        data,
        rejects=None,
        timezone=resolve_timezone("Asia/Shanghai"),
        quiet=False,
    )
    print_summary(summary)
    stats(db=db_url)
    from anchorwatch.cli.analysis import analyze, questions

    analyze(db=db_url, backend=None, batch_size=2_000, quiet=False)
    questions(db=db_url, top=10, out=None)
    if serve:
        _serve_demo(store, workdir, db_url, host, port)


def _serve_demo(store: Any, workdir: Path, db_url: str, host: str, port: int) -> None:
    """Serve the demo with fresh logins: an admin and a care user, new
    passwords printed each run, and a venting key beside the database."""
    import os
    import secrets

    from anchorwatch.care.vault import ENV_KEY_FILE, create_key_file
    from anchorwatch.store.users import AccountError, add_user, set_password

    key_file = workdir / "keys.json"
    if not key_file.exists():
        create_key_file(key_file)
    os.environ[ENV_KEY_FILE] = str(key_file.resolve())
    logins = []
    for name, role in (("admin", "admin"), ("care", "care")):
        password = secrets.token_urlsafe(9)
        try:
            add_user(store, name, role, password)
        except AccountError:
            set_password(store, name, password)
        logins.append((name, role, password))
    console.rule(t("cli.quickstart.serving", url=f"http://{host}:{port}"))
    for name, role, password in logins:
        console.print(t("cli.quickstart.login", name=name, role=role, password=password))
    from anchorwatch.cli.care import serve as run_server

    run_server(db=db_url, host=host, port=port)
