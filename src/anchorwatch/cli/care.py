"""Care commands (DESIGN 1.4, 3.4, 3.5): `thanks`, `care log|history`,
`vent invite|revoke|list`, `user add|list`, `token create|revoke`,
`key create|rotate|reencrypt|retire`, `serve`."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table

from anchorwatch.cli.common import DbOption, UserError, console, user_errors
from anchorwatch.i18n import t

care_app = typer.Typer(help=t("cli.care.help"), no_args_is_help=True)
vent_app = typer.Typer(help=t("cli.vent.help"), no_args_is_help=True)
user_app = typer.Typer(help=t("cli.user.help"), no_args_is_help=True)
token_app = typer.Typer(help=t("cli.token.help"), no_args_is_help=True)
key_app = typer.Typer(help=t("cli.key.help"), no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("thanks", help=t("cli.thanks.help"))(thanks)
    app.add_typer(care_app, name="care")
    app.add_typer(vent_app, name="vent")
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")
    app.add_typer(key_app, name="key")
    app.command("serve", help=t("cli.serve.help"))(serve)


def _member_id(store: Any, member: str) -> tuple[str, str]:
    """``(id, display name)`` of a member given by ID or unique display name."""
    from sqlalchemy import select

    from anchorwatch.store import schema
    from anchorwatch.store.erasure import ErasureError, resolve_member

    try:
        member_id = resolve_member(store, member)
    except ErasureError as exc:
        raise UserError(exc.code, **exc.params) from None
    m = schema.members
    with store.engine.connect() as conn:
        name = conn.execute(select(m.c.name).where(m.c.id == member_id)).scalar()
    return member_id, name or member_id


# -- thanks ------------------------------------------------------------------------------


@user_errors
def thanks(
    member: Annotated[str, typer.Argument(metavar="MEMBER", help=t("cli.member.id_help"))],
    db: DbOption = None,
    period: Annotated[
        str | None, typer.Option("--period", help=t("cli.thanks.period_help"))
    ] = None,
    tone: Annotated[str | None, typer.Option("--tone", help=t("cli.thanks.tone_help"))] = None,
    locale: Annotated[
        str | None, typer.Option("--locale", help=t("cli.thanks.locale_help"))
    ] = None,
    polish: Annotated[bool, typer.Option("--polish", help=t("cli.thanks.polish_help"))] = False,
    log: Annotated[bool, typer.Option("--log", help=t("cli.thanks.log_help"))] = False,
    text_file: Annotated[
        Path | None, typer.Option("--text-file", help=t("cli.thanks.text_file_help"))
    ] = None,
    staff: Annotated[str | None, typer.Option("--staff", help=t("cli.thanks.staff_help"))] = None,
    as_json: Annotated[bool, typer.Option("--json", help=t("cli.members.json_help"))] = False,
) -> None:
    """Thank-you drafts that name the member's concrete events of a period."""
    from anchorwatch.care.thanks import LOCALES, NoEvidence, care_settings, drafts, period_bounds
    from anchorwatch.store import open_store
    from anchorwatch.store.analysis import thanks_events
    from anchorwatch.store.care import log_care_action

    store = open_store(db)
    member_id, name = _member_id(store, member)
    cfg = care_settings()
    if tone is not None and tone not in cfg["tones"]:
        raise UserError(
            "error.bad_choice", option="--tone", value=tone, allowed=", ".join(cfg["tones"])
        )
    if locale is not None and locale not in LOCALES:
        raise UserError(
            "error.bad_choice", option="--locale", value=locale, allowed=", ".join(LOCALES)
        )
    if period is None:
        period = _latest_month(store, member_id)
    try:
        start, end = period_bounds(period)
    except ValueError:
        raise UserError("error.bad_period", value=period) from None
    events = thanks_events(store, member_id, start, end)
    try:
        found = drafts(
            member_id,
            name,
            events,
            today=min(end, datetime.now()),
            period=period,
            tones=(tone,) if tone else None,
            locales=(locale,) if locale else LOCALES,
        )
    except NoEvidence:
        raise UserError("error.no_labour", member=member, period=period) from None
    if polish:
        from anchorwatch.care.polish import polish_drafts
        from anchorwatch.signals.llm import LLMError

        try:
            found = polish_drafts(found)
        except LLMError as exc:
            raise UserError(exc.key, **exc.params) from None
    if log:
        text = text_file.read_text(encoding="utf-8").strip() if text_file else found[0].text
        cid = log_care_action(
            store,
            member_id,
            "thanks",
            staff=staff,
            episode=found[0].episodes[0] if found[0].episodes else None,
            note=text,
            evidence=[*found[0].episodes, *found[0].messages],
        )
        console.print(t("cli.thanks.logged", id=cid, member=member_id))
        return
    if as_json:
        console.print_json(orjson.dumps([d.as_dict() for d in found]).decode())
        return
    for d in found:
        console.rule(f"{d.locale} · {t('tone.' + d.tone)}")
        console.print(d.text, markup=False)
        console.print(t("cli.thanks.evidence", episodes=", ".join(d.episodes)), style="dim")


def _latest_month(store: Any, member: str) -> str:
    from sqlalchemy import func, select

    from anchorwatch.store import schema

    a = schema.episode_acts
    with store.engine.connect() as conn:
        last = conn.execute(select(func.max(a.c.at)).where(a.c.member == member)).scalar()
    if last is None:
        raise UserError("error.no_labour", member=member, period="–")
    return f"{last:%Y-%m}"


# -- care log ----------------------------------------------------------------------------


@care_app.command("log", help=t("cli.care.log_help"))
@user_errors
def care_log(
    member: Annotated[str, typer.Argument(metavar="MEMBER", help=t("cli.member.id_help"))],
    action: Annotated[str, typer.Option("--action", help=t("cli.care.action_help"))],
    db: DbOption = None,
    note: Annotated[str | None, typer.Option("--note", help=t("cli.care.note_help"))] = None,
    staff: Annotated[str | None, typer.Option("--staff", help=t("cli.thanks.staff_help"))] = None,
    episode: Annotated[
        str | None, typer.Option("--episode", help=t("cli.care.episode_help"))
    ] = None,
    evidence: Annotated[
        list[str] | None, typer.Option("--evidence", help=t("cli.care.evidence_help"))
    ] = None,
    at: Annotated[str | None, typer.Option("--at", help=t("cli.care.at_help"))] = None,
) -> None:
    from anchorwatch.care.actions import CARE_ACTIONS
    from anchorwatch.store import open_store
    from anchorwatch.store.care import log_care_action

    if action not in CARE_ACTIONS:
        raise UserError(
            "error.bad_choice", option="--action", value=action, allowed=", ".join(CARE_ACTIONS)
        )
    when = None
    if at is not None:
        try:
            when = datetime.fromisoformat(at)
        except ValueError:
            raise UserError("error.bad_date", value=at) from None
    store = open_store(db)
    member_id, _name = _member_id(store, member)
    cid = log_care_action(
        store,
        member_id,
        action,
        at=when,
        staff=staff,
        episode=episode,
        note=note,
        evidence=evidence or [],
    )
    console.print(t("cli.care.logged", id=cid, action=t("care.action." + action), member=member_id))


@care_app.command("history", help=t("cli.care.history_help"))
@user_errors
def care_history_cmd(
    member: Annotated[
        str | None, typer.Argument(metavar="[MEMBER]", help=t("cli.member.id_help"))
    ] = None,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help=t("cli.members.json_help"))] = False,
) -> None:
    from anchorwatch.store import open_store
    from anchorwatch.store.care import care_history

    store = open_store(db)
    member_id = _member_id(store, member)[0] if member else None
    rows = care_history(store, member_id)
    if as_json:
        console.print_json(
            orjson.dumps(
                [{**r.__dict__, "at": r.at.isoformat(timespec="seconds") + "Z"} for r in rows]
            ).decode()
        )
        return
    view = Table(title=t("cli.care.history_title", n=len(rows)))
    for col in ("at", "member", "action", "staff", "note", "evidence"):
        view.add_column(t(f"cli.care.col_{col}"), overflow="fold")
    for r in rows:
        view.add_row(
            f"{r.at:%Y-%m-%d %H:%M}",
            r.member,
            t("care.action." + r.action),
            r.staff or "–",
            (r.note or "")[:80],
            ", ".join(r.evidence[:3]),
        )
    console.print(view)


# -- venting channel -----------------------------------------------------------------------


@vent_app.command("invite", help=t("cli.vent.invite_help"))
@user_errors
def vent_invite(
    member: Annotated[str, typer.Argument(metavar="MEMBER", help=t("cli.member.id_help"))],
    care: Annotated[str, typer.Option("--care", help=t("cli.vent.care_help"))],
    db: DbOption = None,
    days: Annotated[int | None, typer.Option("--days", help=t("cli.vent.days_help"))] = None,
    base_url: Annotated[str, typer.Option("--base-url", help=t("cli.vent.base_url_help"))] = "",
) -> None:
    from anchorwatch.care.thanks import care_settings
    from anchorwatch.store import open_store
    from anchorwatch.store.users import AccountError
    from anchorwatch.store.venting import VentError, invite

    store = open_store(db)
    member_id, _name = _member_id(store, member)
    try:
        token, channel = invite(
            store, member_id, care, days or int(care_settings()["venting"]["invite_days"])
        )
    except (VentError, AccountError) as exc:
        raise UserError(exc.code, **exc.params) from None
    console.print(f"{base_url.rstrip('/')}/vent/{token}", markup=False, soft_wrap=True)
    err = t("cli.vent.invited", id=channel.id, expires=f"{channel.expires_at:%Y-%m-%d}")
    typer.echo(err, err=True)


@vent_app.command("revoke", help=t("cli.vent.revoke_help"))
@user_errors
def vent_revoke(
    channel: Annotated[int, typer.Argument(metavar="CHANNEL", help=t("cli.vent.channel_help"))],
    db: DbOption = None,
) -> None:
    from anchorwatch.store import open_store
    from anchorwatch.store.venting import VentError, revoke

    try:
        revoke(open_store(db), channel)
    except VentError as exc:
        raise UserError(exc.code, **exc.params) from None
    console.print(t("cli.vent.revoked", id=channel))


@vent_app.command("list", help=t("cli.vent.list_help"))
@user_errors
def vent_list(
    db: DbOption = None,
    care: Annotated[str | None, typer.Option("--care", help=t("cli.vent.care_help"))] = None,
) -> None:
    from anchorwatch.store import open_store, utc_now
    from anchorwatch.store.users import CARE_ROLES, get_user, list_users
    from anchorwatch.store.venting import care_channels

    store = open_store(db)
    users = (
        [get_user(store, care)] if care else [u for u in list_users(store) if u.role in CARE_ROLES]
    )
    view = Table(title=t("cli.vent.list_title"))
    for col in ("id", "member", "care", "expires", "state", "opt_in"):
        view.add_column(t(f"cli.vent.col_{col}"))
    for user in users:
        for c in care_channels(store, user):
            now = utc_now()
            state = "revoked" if c.revoked_at else ("expired" if c.expires_at <= now else "open")
            view.add_row(
                str(c.id),
                c.member,
                user.name,
                f"{c.expires_at:%Y-%m-%d}",
                t(f"cli.vent.state_{state}"),
                "✓" if c.opt_in_risk else "",
            )
    console.print(view)


# -- users, tokens, keys -------------------------------------------------------------------


@user_app.command("add", help=t("cli.user.add_help"))
@user_errors
def user_add(
    name: Annotated[str, typer.Argument(metavar="NAME", help=t("cli.user.name_help"))],
    role: Annotated[str, typer.Option("--role", help=t("cli.user.role_help"))],
    db: DbOption = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help=t("cli.user.password_stdin_help"))
    ] = False,
) -> None:
    from anchorwatch.store import open_store
    from anchorwatch.store.users import ROLES, AccountError, add_user

    if role not in ROLES:
        raise UserError("error.bad_choice", option="--role", value=role, allowed=", ".join(ROLES))
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt(t("cli.user.password"), hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        raise UserError("error.password_short")
    try:
        user = add_user(open_store(db), name, role, password)
    except AccountError as exc:
        raise UserError(exc.code, **exc.params) from None
    console.print(t("cli.user.added", name=user.name, role=user.role))


@user_app.command("list", help=t("cli.user.list_help"))
@user_errors
def user_list(db: DbOption = None) -> None:
    from anchorwatch.store import open_store
    from anchorwatch.store.users import list_users

    view = Table(title=t("cli.user.list_title"))
    view.add_column(t("cli.user.col_name"))
    view.add_column(t("cli.user.col_role"))
    for u in list_users(open_store(db)):
        view.add_row(u.name, u.role)
    console.print(view)


@token_app.command("create", help=t("cli.token.create_help"))
@user_errors
def token_create(
    name: Annotated[str, typer.Argument(metavar="NAME", help=t("cli.user.name_help"))],
    db: DbOption = None,
) -> None:
    from anchorwatch.store import open_store
    from anchorwatch.store.users import AccountError, create_token

    try:
        token = create_token(open_store(db), name)
    except AccountError as exc:
        raise UserError(exc.code, **exc.params) from None
    typer.echo(token)


@token_app.command("revoke", help=t("cli.token.revoke_help"))
@user_errors
def token_revoke(
    name: Annotated[str, typer.Argument(metavar="NAME", help=t("cli.user.name_help"))],
    db: DbOption = None,
) -> None:
    from anchorwatch.store import open_store
    from anchorwatch.store.users import AccountError, revoke_tokens

    try:
        n = revoke_tokens(open_store(db), name)
    except AccountError as exc:
        raise UserError(exc.code, **exc.params) from None
    console.print(t("cli.token.revoked", n=n, name=name))


@key_app.command("create", help=t("cli.key.create_help"))
@user_errors
def key_create(
    path: Annotated[Path, typer.Argument(metavar="PATH", help=t("cli.key.path_help"))],
) -> None:
    from anchorwatch.care.vault import VaultError, create_key_file

    try:
        key_id = create_key_file(path)
    except VaultError as exc:
        raise UserError(exc.code, **exc.params) from None
    console.print(t("cli.key.created", path=path, key_id=key_id))


@key_app.command("rotate", help=t("cli.key.rotate_help"))
@user_errors
def key_rotate(
    path: Annotated[Path, typer.Argument(metavar="PATH", help=t("cli.key.path_help"))],
    reencrypt: Annotated[
        bool, typer.Option("--reencrypt", help=t("cli.key.reencrypt_flag_help"))
    ] = False,
    db: DbOption = None,
) -> None:
    from anchorwatch.care.vault import VaultError, rotate_key_file

    try:
        key_id = rotate_key_file(path)
    except VaultError as exc:
        raise UserError(exc.code, **exc.params) from None
    console.print(t("cli.key.rotated", path=path, key_id=key_id))
    if reencrypt:
        _reencrypt(path, db)


def _reencrypt(path: Path, db: str | None) -> None:
    from anchorwatch.care.vault import Vault, VaultError
    from anchorwatch.store import open_store
    from anchorwatch.store.venting import key_usage, reencrypt

    store = open_store(db)
    try:
        vault = Vault.load(path)
        moved = reencrypt(store, vault)
    except VaultError as exc:
        raise UserError(exc.code, **exc.params) from None
    console.print(
        t("cli.key.reencrypted", n=sum(moved.values()), key_id=vault.current, url=store.display_url)
    )
    unused = sorted(set(vault.keys) - set(key_usage(store)) - {vault.current})
    if unused:
        console.print(t("cli.key.retirable", keys=", ".join(unused), path=path))


@key_app.command("reencrypt", help=t("cli.key.reencrypt_help"))
@user_errors
def key_reencrypt(
    path: Annotated[Path, typer.Argument(metavar="PATH", help=t("cli.key.path_help"))],
    db: DbOption = None,
) -> None:
    _reencrypt(path, db)


@key_app.command("retire", help=t("cli.key.retire_help"))
@user_errors
def key_retire(
    path: Annotated[Path, typer.Argument(metavar="PATH", help=t("cli.key.path_help"))],
    key_id: Annotated[str, typer.Argument(metavar="KEY_ID", help=t("cli.key.key_id_help"))],
    db: DbOption = None,
) -> None:
    """Remove an old key from the key file, once no stored row uses it."""
    from anchorwatch.care.vault import VaultError, retire_key
    from anchorwatch.store import open_store
    from anchorwatch.store.venting import key_usage

    store = open_store(db)
    used = key_usage(store).get(key_id, 0)
    if used:
        raise UserError("error.key_in_use", key_id=key_id, n=used, url=store.display_url)
    try:
        retire_key(path, key_id)
    except VaultError as exc:
        raise UserError(exc.code, **exc.params) from None
    console.print(t("cli.key.retired", key_id=key_id, path=path))


@user_errors
def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option("--host", help=t("cli.serve.host_help"))] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help=t("cli.serve.port_help"))] = 8000,
) -> None:
    """Serve the web app and the API."""
    import uvicorn

    from anchorwatch.store import open_store
    from anchorwatch.web import create_app
    from anchorwatch.web.settings import WebSettings

    store = open_store(db)
    app = create_app(store, settings=WebSettings.from_env(db))
    if app.state.vault is None:
        typer.echo(t("cli.serve.no_key"), err=True)
    import threading

    from anchorwatch.web.views import warm

    # The whole-history views take seconds on a big store: compute them while
    # the server starts rather than on the first operator's click.
    threading.Thread(target=warm, args=(app,), daemon=True, name="warm-views").start()
    uvicorn.run(app, host=host, port=port, log_level="info")
