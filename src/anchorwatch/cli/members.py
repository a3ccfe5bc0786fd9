"""`anchorwatch members`, `member show|export|erase`, `watchlist`, `backtest`:
DESIGN 1.3-1.5, issues 5 and 10."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import polars as pl
import typer
from rich.table import Table
from typer.core import TyperGroup

from anchorwatch.cli.common import DbOption, UserError, console, user_errors
from anchorwatch.i18n import t

PERIODS = ("week", "month", "year")
LEVELS = ("low", "medium", "high")
SORTS = ("value", "risk", "content", "acts")

PeriodOption = Annotated[str, typer.Option("--period", help=t("cli.members.period_help"))]
TableOut = Annotated[Path | None, typer.Option("--output", "-o", help=t("cli.members.output_help"))]
JsonFlag = Annotated[bool, typer.Option("--json", help=t("cli.members.json_help"))]


class MemberGroup(TyperGroup):
    """``anchorwatch member``: ``show``, ``export``, ``erase``.

    ``anchorwatch member ID [options]`` is the shorthand of ``member show ID``
    it always was: a first word that names no subcommand (or an option other
    than ``--help``) is read as ``show``'s.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["show", *args]
        return super().parse_args(ctx, args)


member_app = typer.Typer(cls=MemberGroup, help=t("cli.member.group_help"), no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("members", help=t("cli.members.help"))(members)
    app.add_typer(member_app, name="member")
    app.command("watchlist", help=t("cli.watchlist.help"))(watchlist)
    app.command("backtest", help=t("cli.backtest.help"))(backtest)


def _check(value: str | None, allowed: tuple[str, ...], option: str) -> None:
    if value is not None and value not in allowed:
        raise UserError("error.bad_choice", option=option, value=value, allowed=", ".join(allowed))


def _frames(db: str | None) -> Any:
    from anchorwatch.engines.members import load_member_frames
    from anchorwatch.store import open_store

    store = open_store(db)
    frames = load_member_frames(store)
    if frames.messages.height == 0:
        raise UserError("error.no_messages")
    return store, frames


def _save(frame: pl.DataFrame, out: Path | None, sheet: str) -> None:
    from anchorwatch.store.tables import TABLE_SUFFIXES, write_table

    if out is None:
        return
    if out.suffix.lower() not in TABLE_SUFFIXES:
        raise UserError("error.table_suffix", path=out.name)
    write_table(frame, out, sheet)
    console.print(t("cli.report.saved", path=out, rows=frame.height))


def _num(x: Any, fmt: str = "{:.0f}") -> str:
    return "–" if x is None else fmt.format(x)


MEMBER_COLUMNS = (
    "member",
    "name",
    "period",
    "value_index",
    "content_index",
    "quadrant",
    "burnout_risk",
    "level",
    "care_action",
    "episodes_served",
    "conflicts_calmed",
    "complaints_converted",
    "newcomers_stayed",
    "repeated_answered",
    "thanks_received",
    "attacks_received",
    "accusations_received",
    "acts_discounted",
    "thanks_discounted",
    "first_response_s",
    "messages",
    "reads",
    "plays",
    "leads",
    "channel_weight",
)


@user_errors
def members(
    db: DbOption = None,
    period: PeriodOption = "month",
    at: Annotated[str | None, typer.Option("--at", help=t("cli.members.at_help"))] = None,
    quadrant: Annotated[
        str | None, typer.Option("--quadrant", help=t("cli.members.quadrant_help"))
    ] = None,
    level: Annotated[str | None, typer.Option("--level", help=t("cli.members.level_help"))] = None,
    min_value: Annotated[
        float, typer.Option("--min-value", help=t("cli.members.min_value_help"))
    ] = 0.0,
    sort: Annotated[str, typer.Option("--sort", help=t("cli.members.sort_help"))] = "value",
    top: Annotated[int, typer.Option("--top", help=t("cli.members.top_help"))] = 30,
    include_staff: Annotated[
        bool, typer.Option("--include-staff", help=t("cli.members.include_staff_help"))
    ] = False,
    out: TableOut = None,
) -> None:
    """Members of one period ranked by emotional value (or risk), filterable."""
    from anchorwatch.engines.members import members_table
    from anchorwatch.members.value import QUADRANTS

    _check(period, PERIODS, "--period")
    _check(quadrant, QUADRANTS, "--quadrant")
    _check(level, LEVELS, "--level")
    _check(sort, SORTS, "--sort")
    _store, frames = _frames(db)
    table = members_table(frames, period, evidence=False)
    rows = table.rows
    chosen = at or rows.filter(pl.col("messages") > 0)["period"].max()
    rows = rows.filter(pl.col("period") == chosen)
    if rows.height == 0:
        raise UserError("error.no_period", period=chosen)
    names = pl.DataFrame(
        {"member": list(frames.names), "name": list(frames.names.values())},
        schema={"member": pl.String, "name": pl.String},
    )
    rows = rows.join(names, on="member", how="left")
    if not include_staff:
        rows = rows.filter(~pl.col("member").is_in(list(frames.staff)))
    if quadrant:
        rows = rows.filter(pl.col("quadrant") == quadrant)
    if level:
        rows = rows.filter(pl.col("level") == level)
    rows = rows.filter(pl.col("value_index") >= min_value)
    key = {
        "value": "value_index",
        "risk": "burnout_risk",
        "content": "content_index",
        "acts": "episodes_served",
    }[sort]
    rows = rows.sort([key, "member"], descending=[True, False], nulls_last=True)
    out_rows = rows.select(MEMBER_COLUMNS)
    view = Table(title=t("cli.members.title", period=chosen, n=rows.height))
    for col in ("member", "value", "content", "quadrant", "risk", "level", "served", "outcomes"):
        view.add_column(t(f"cli.members.col_{col}"), justify="left" if col == "member" else "right")
    for row in out_rows.head(top).iter_rows(named=True):
        outcomes = row["conflicts_calmed"] + row["complaints_converted"] + row["newcomers_stayed"]
        view.add_row(
            f"{row['name']} ({row['member']})",
            _num(row["value_index"], "{:.1f}"),
            _num(row["content_index"], "{:.1f}"),
            t(f"quadrant.{row['quadrant']}"),
            _num(row["burnout_risk"]),
            t(f"level.{row['level']}") if row["level"] else "–",
            f"{row['episodes_served']:,}",
            f"{outcomes:,}",
        )
    console.print(view)
    _save(out_rows, out, "members")


def _texts(store: Any, ids: list[str]) -> dict[str, str]:
    from sqlalchemy import select

    from anchorwatch.store import schema
    from anchorwatch.store.retention import removed_text

    if not ids:
        return {}
    m = schema.messages
    stmt = select(m.c.id, m.c.text, m.c.text_removed_at).where(m.c.id.in_(ids))
    with store.engine.connect() as conn:
        return {
            mid: removed_text() if removed is not None else text
            for mid, text, removed in conn.execute(stmt)
        }


def _driver_table(drivers: list[dict[str, Any]], texts: dict[str, str]) -> Table:
    view = Table(title=t("cli.member.drivers"))
    for col in ("dimension", "driver", "value", "baseline", "score", "evidence"):
        view.add_column(t(f"cli.member.col_{col}"), overflow="fold")
    for d in drivers:
        example = texts.get(d["evidence"][0], "") if d["evidence"] else ""
        ev = ", ".join(d["evidence"])
        view.add_row(
            t(f"dimension.{d['dimension']}"),
            t(f"driver.{d['name']}"),
            _num(d["value"], "{:.2f}"),
            _num(d["baseline"], "{:.2f}"),
            f"{d['score']:.2f}",
            f"{ev}\n「{example[:50]}」" if example else ev,
        )
    return view


@member_app.command("show", help=t("cli.member.help"))
@user_errors
def member(
    member_id: Annotated[str, typer.Argument(metavar="ID", help=t("cli.member.id_help"))],
    db: DbOption = None,
    period: PeriodOption = "month",
    at: Annotated[str | None, typer.Option("--at", help=t("cli.members.at_help"))] = None,
    as_json: JsonFlag = False,
) -> None:
    """One member: ledger, value, burnout risk and its drivers with evidence."""
    from anchorwatch.engines.members import member_record, members_table
    from anchorwatch.members.value import members_config

    _check(period, PERIODS, "--period")
    store, frames = _frames(db)
    if member_id not in frames.names:
        # Members may be addressed by display name too.
        from anchorwatch.store.erasure import ErasureError, resolve_member

        try:
            member_id = resolve_member(store, member_id)
        except ErasureError as exc:
            raise UserError(exc.code, **exc.params) from None
    table = members_table(frames, period)
    mine = table.rows.filter(pl.col("member") == member_id)
    if mine.height == 0:
        raise UserError("error.no_member", member=member_id)
    chosen = at or str(mine["period"].max())
    if mine.filter(pl.col("period") == chosen).height == 0:
        raise UserError("error.no_period", period=chosen)
    record = member_record(table, member_id, chosen)
    findings = frames.findings.filter(pl.col("member") == member_id)
    record["gaming"] = findings.select("rule", "discounted", "reason").to_dicts()
    if as_json:
        console.print_json(orjson.dumps(record).decode())
        return
    name = frames.names.get(member_id, member_id)
    console.print(t("cli.member.title", name=name, member=member_id, period=chosen))
    ledger_view = Table(show_header=False, title=t("cli.member.ledger"))
    ledger_view.add_column()
    ledger_view.add_column(justify="right")
    from anchorwatch.members.ledger import SUMMARY_COLUMNS

    for key in SUMMARY_COLUMNS:
        ledger_view.add_row(t(f"ledger.{key}"), _num(record[key]))
    for act, n in record["acts"].items():
        ledger_view.add_row(t(f"ledger.acts_{act}"), f"{n:,}")
    console.print(ledger_view)
    row = mine.filter(pl.col("period") == chosen).row(0, named=True)
    value_view = Table(title=t("cli.member.value"), show_header=False)
    value_view.add_column()
    value_view.add_column(justify="right")
    value_view.add_row(t("cli.members.col_value"), _num(record["value_index"], "{:.1f}"))
    value_view.add_row(t("cli.members.col_content"), _num(record["content_index"], "{:.1f}"))
    value_view.add_row(t("cli.members.col_quadrant"), t(f"quadrant.{record['quadrant']}"))
    value_view.add_row(t("cli.member.channel_weight"), f"{row['channel_weight']:.2f}")
    for col in members_config().value_weights:
        part = row.get(f"value_{col}") or 0.0
        if part > 0:
            value_view.add_row(f"  + {t(f'ledger.{col}')}", f"{part:.2f}")
    console.print(value_view)
    if record["burnout_risk"] is None:
        console.print(t("cli.member.no_baseline"))
    else:
        console.print(
            t(
                "cli.member.risk",
                risk=record["burnout_risk"],
                level=t(f"level.{record['level']}"),
            )
        )
        if record["care_action"]:
            console.print(t("cli.member.care", action=t(f"care_action.{record['care_action']}")))
        ids = [i for d in record["drivers"] for i in d["evidence"][:1]]
        console.print(_driver_table(record["drivers"], _texts(store, ids)))
    for f in record["gaming"]:
        console.print(t("cli.member.gaming", reason=f["reason"], n=f["discounted"]))


ByOption = Annotated[
    str | None, typer.Option("--by", help=t("cli.member.by_help"), show_default=False)
]


def _by(by: str | None) -> str:
    """Who acts, for the audit log: ``--by``, else ``cli:`` and the OS user."""
    if by:
        return by
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in a bare container
        return "cli"


@member_app.command("export", help=t("cli.member.export_help"))
@user_errors
def member_export(
    member_id: Annotated[str, typer.Argument(metavar="ID", help=t("cli.member.id_help"))],
    db: DbOption = None,
    out: Annotated[
        Path | None, typer.Option("--output", "-o", help=t("cli.member.export_output_help"))
    ] = None,
    by: ByOption = None,
    no_awards: Annotated[
        bool, typer.Option("--no-awards", help=t("cli.member.no_awards_help"))
    ] = False,
) -> None:
    """Everything held about one member, as one JSON document (DESIGN 3.5)."""
    import sys

    from anchorwatch.care.vault import ENV_KEY_FILE, Vault, VaultError
    from anchorwatch.store import open_store
    from anchorwatch.store.erasure import ErasureError
    from anchorwatch.store.member_export import export_member, write_member_export

    store = open_store(db)
    vault: Vault | None = None
    try:
        vault = Vault.from_env()
    except VaultError as exc:
        if exc.code != "error.key_not_set":
            raise UserError(exc.code, **exc.params) from None
    try:
        doc = export_member(store, member_id, vault=vault, by=_by(by), awards=not no_awards)
    except ErasureError as exc:
        raise UserError(exc.code, **exc.params) from None
    if doc["venting"]["messages"] and not doc["venting"]["decrypted"]:
        raise UserError("error.export_needs_key", name=ENV_KEY_FILE)
    if out is None:
        sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")
        sys.stdout.flush()
        return
    write_member_export(doc, out)
    console.print(
        t(
            "cli.member.exported",
            member=doc["member"],
            path=out,
            messages=len(doc["messages"]),
            episodes=len(doc["episodes"]),
            vents=len(doc["venting"]["messages"]),
        )
    )


@member_app.command("erase", help=t("cli.member.erase_help"))
@user_errors
def member_erase(
    member_id: Annotated[str, typer.Argument(metavar="ID", help=t("cli.member.id_help"))],
    db: DbOption = None,
    yes: Annotated[bool, typer.Option("--yes", help=t("cli.member.yes_help"))] = False,
    by: ByOption = None,
    no_analyze: Annotated[
        bool, typer.Option("--no-analyze", help=t("cli.member.no_analyze_help"))
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Erase one member and everything derived from them; no copy stays (DESIGN 3.5)."""
    from anchorwatch.store import open_store
    from anchorwatch.store.erasure import (
        ErasureError,
        compact_pending,
        erase_member,
        erasure_preview,
    )

    store = open_store(db)
    try:
        if not yes:
            counts = erasure_preview(store, member_id)
            summary = ", ".join(f"{t('cli.member.erase_' + k)} {n:,}" for k, n in counts.items())
            console.print(t("cli.member.erase_preview", member=member_id, summary=summary))
            if not typer.confirm(t("cli.member.erase_confirm", member=member_id), default=False):
                raise typer.Abort()
        report = erase_member(store, member_id, by=_by(by), reanalyze=not no_analyze)
    except ErasureError as exc:
        # Erased already, with the files left to compact: finish that.
        if exc.code == "error.already_erased" and compact_pending(store):
            console.print(t("cli.member.compacted", member=member_id))
            return
        raise UserError(exc.code, **exc.params) from None
    if as_json:
        console.print_json(orjson.dumps(report.as_dict()).decode())
        return
    view = Table(title=t("cli.member.erased_title", ref=report.member), show_header=False)
    view.add_column()
    view.add_column(justify="right")
    for table, n in report.deleted.items():
        if n:
            view.add_row(t("cli.member.erased_rows", table=table), f"{n:,}")
    view.add_row(t("cli.member.erased_tombstoned"), f"{report.tombstoned:,}")
    view.add_row(t("cli.member.erased_titles"), f"{report.titles_cleared:,}")
    view.add_row(t("cli.member.erased_reopened"), f"{report.reopened:,}")
    view.add_row(t("cli.member.erased_seconds"), f"{report.seconds:.2f}")
    console.print(view)
    if not report.reanalysed:
        console.print(t("cli.member.erased_analyze"))


def _parse_day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise UserError("error.bad_date", value=value) from None


@user_errors
def watchlist(
    db: DbOption = None,
    at: Annotated[str | None, typer.Option("--at", help=t("cli.watchlist.at_help"))] = None,
    level: Annotated[str, typer.Option("--level", help=t("cli.watchlist.level_help"))] = "medium",
    out: TableOut = None,
    as_json: JsonFlag = False,
) -> None:
    """Watched members whose burnout risk is at or above a level, riskiest first."""
    from anchorwatch.engines.members import watchlist as compute
    from anchorwatch.members.burnout import watchlist_records

    _check(level, ("medium", "high"), "--level")
    store, frames = _frames(db)
    levels = ("medium", "high") if level == "medium" else ("high",)
    risk, evidence = compute(frames, _parse_day(at), levels=levels)
    records = watchlist_records(risk, evidence, frames.names)
    if as_json:
        console.print_json(orjson.dumps(records).decode())
    else:
        view = Table(title=t("cli.watchlist.title", n=len(records)))
        for col in ("member", "risk", "level", "dimension", "care", "drivers"):
            view.add_column(t(f"cli.watchlist.col_{col}"), overflow="fold")
        for r in records:
            top = ", ".join(t(f"driver.{d['name']}") for d in r["drivers"][:3])
            view.add_row(
                f"{r['name']} ({r['member']})",
                str(r["burnout_risk"]),
                t(f"level.{r['level']}"),
                t(f"dimension.{r['dimension']}"),
                t(f"care_action.{r['care_action']}") if r["care_action"] else "–",
                top,
            )
        console.print(view)
    if out is not None:
        flat = pl.DataFrame(
            [
                {
                    **{k: v for k, v in r.items() if k != "drivers"},
                    "drivers": ", ".join(d["name"] for d in r["drivers"]),
                    "evidence": ", ".join(i for d in r["drivers"] for i in d["evidence"]),
                }
                for r in records
            ],
            schema={
                "member": pl.String,
                "name": pl.String,
                "burnout_risk": pl.Int64,
                "level": pl.String,
                "dimension": pl.String,
                "care_action": pl.String,
                "drivers": pl.String,
                "evidence": pl.String,
            },
        )
        _save(flat, out, "watchlist")
    del store


@user_errors
def backtest(
    db: DbOption = None,
    out: Annotated[
        Path | None, typer.Option("--output", "-o", help=t("cli.backtest.output_help"))
    ] = None,
) -> None:
    """Does the burnout risk at a day predict withdrawal in the next 60 days?"""
    from anchorwatch.engines.members import backtest as run

    _store, frames = _frames(db)
    report = run(frames)
    if report is None:
        raise UserError("error.short_history")
    data = report.as_dict()
    head = Table(title=t("cli.backtest.title"), show_header=False)
    head.add_column()
    head.add_column(justify="right")
    head.add_row(t("cli.backtest.points"), f"{report.points:,}")
    head.add_row(t("cli.backtest.members"), f"{report.members:,}")
    head.add_row(t("cli.backtest.positives"), f"{report.positives:,}")
    head.add_row(t("cli.backtest.days"), f"{report.days:,}")
    console.print(head)
    view = Table()
    view.add_column(t("cli.backtest.metric"))
    view.add_column(t("cli.backtest.risk"), justify="right")
    view.add_column(t("cli.backtest.baseline"), justify="right")
    for metric in ("roc_auc", "precision_at_10", "precision_at_50", "median_lead_days"):
        view.add_row(
            t(f"cli.backtest.{metric}"),
            _num(getattr(report.risk, metric), "{:.3f}"),
            _num(getattr(report.baseline, metric), "{:.3f}"),
        )
    view.add_row(
        t("cli.backtest.alerted"),
        f"{report.risk.alerted}/{report.risk.withdrawals}",
        f"{report.baseline.alerted}/{report.baseline.withdrawals}",
    )
    console.print(view)
    for model in (report.risk, report.baseline):
        cal = Table(title=t("cli.backtest.calibration", model=t(f"cli.backtest.{model.name}")))
        for col in ("risk", "points", "mean_risk", "withdrew"):
            cal.add_column(t(f"cli.backtest.col_{col}"), justify="right")
        for row in model.calibration.iter_rows(named=True):
            cal.add_row(
                row["risk"],
                f"{row['points']:,}",
                f"{row['mean_risk']:.1f}",
                f"{row['withdrew']:.3f}",
            )
        console.print(cal)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
        console.print(t("cli.backtest.saved", path=out))
