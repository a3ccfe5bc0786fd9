"""`anchorwatch awards`: ranked nominees with dossiers, rewards and citations
(DESIGN 1.4, issue 6).  Thin over ``anchorwatch.engines.awards``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import polars as pl
import typer
from rich.table import Table

from anchorwatch.cli.common import DbOption, UserError, console, user_errors
from anchorwatch.i18n import catalogue, current_locale, t

#: How many of the members who were not eligible the terminal shows.
EXCLUDED_SHOWN = 10

JSONL_SUFFIXES = (".jsonl", ".json")


def register(app: typer.Typer) -> None:
    app.command("awards", help=t("cli.awards.help"))(awards)


def field_label(name: str) -> str:
    """A ledger or award field in words (its ``ledger.*`` or ``awards.field.*`` text)."""
    loc = current_locale()
    for key in (f"ledger.{name}", f"awards.field.{name}"):
        if key in catalogue(loc) or key in catalogue("zh-CN"):
            return t(key)
    return name


def _flat(report: Any) -> pl.DataFrame:
    """One row per nomination, for CSV / XLSX."""
    rows = [
        {
            "category": n.category,
            "category_name": n.category_name,
            "rank": n.rank,
            "recipient": n.recipient,
            "member": n.member,
            "name": n.name,
            "score": n.score,
            "parts": orjson.dumps(n.parts).decode(),
            "burnout_risk": n.burnout_risk,
            "level": n.level,
            **n.dossier.outcomes,
            "thanks_received": n.dossier.thanks_received,
            "thanks_givers": n.dossier.thanks_givers,
            "episodes": ", ".join(e.id for e in n.dossier.episodes),
            "rewards": ", ".join(r.name for r in n.rewards),
            "citation": n.citation,
        }
        for n in report.nominations
    ]
    return pl.DataFrame(rows, infer_schema_length=None)


def _save(report: Any, out: Path) -> None:
    suffix = out.suffix.lower()
    from anchorwatch.store.tables import TABLE_SUFFIXES, write_table

    if suffix in JSONL_SUFFIXES:
        out.parent.mkdir(parents=True, exist_ok=True)
        lines = [n.as_dict() for n in report.nominations] + [e.as_dict() for e in report.excluded]
        out.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
        console.print(t("cli.awards.saved", path=out, n=len(lines)))
    elif suffix in TABLE_SUFFIXES:
        frame = _flat(report)
        write_table(frame, out, "awards")
        console.print(t("cli.report.saved", path=out, rows=frame.height))
    else:
        raise UserError("error.awards_output", path=out.name)


def _risk(n: Any) -> str:
    if n.burnout_risk is None:
        return "–"
    return f"{n.burnout_risk} {t(f'level.{n.level}')}" if n.level else str(n.burnout_risk)


def _print(report: Any, categories: list[Any], elsewhere: dict[str, list[Any]]) -> None:
    by_category: dict[str, list[Any]] = {}
    for n in report.nominations:
        by_category.setdefault(n.category, []).append(n)
    for cat in categories:
        mine = by_category.get(cat.key, [])
        view = Table(
            title=t("cli.awards.title", year=report.year, category=cat.name(), n=len(mine))
        )
        for col in ("rank", "member", "score", "parts", "outcomes", "thanks", "risk", "reward"):
            view.add_column(t(f"cli.awards.col_{col}"), overflow="fold")
        for n in mine:
            facts = [
                f"{field_label(f)} {n.dossier.outcomes.get(f, 0)}"
                for f in cat.citation_facts
                if n.dossier.outcomes.get(f)
            ]
            parts = sorted(n.parts.items(), key=lambda kv: -kv[1])
            view.add_row(
                f"{n.rank} ★ {t('cli.awards.recipient')}" if n.recipient else str(n.rank),
                f"{n.name} ({n.member})",
                f"{n.score:.1f}",
                "\n".join(f"{field_label(k)} {v:.1f}" for k, v in parts if v > 0),
                "\n".join(facts[:3]) or "–",
                f"{n.dossier.thanks_received} ({n.dossier.thanks_givers})",
                _risk(n),
                n.rewards[0].name if n.rewards else "–",
            )
        console.print(view)
        if not mine:
            console.print(t("cli.awards.none"))
        for moved in elsewhere.get(cat.key, []):
            console.print(
                t(
                    "cli.awards.elsewhere",
                    name=f"{moved['name']} ({moved['member']})",
                    place=moved["place"],
                    category=moved["held_name"],
                )
            )
        for n in mine:
            if n.recipient:
                console.print(f"[bold]{t('cli.awards.citation', name=n.name)}[/]")
                console.print(n.citation, highlight=False)
                episodes = ", ".join(e.id for e in n.dossier.episodes)
                if episodes:
                    console.print(t("cli.awards.evidence", episodes=episodes), highlight=False)
        console.print()
    if report.excluded:
        shown = report.excluded[:EXCLUDED_SHOWN]
        view = Table(title=t("cli.awards.excluded_title", n=len(shown), total=len(report.excluded)))
        for col in ("member", "value", "reasons"):
            view.add_column(t(f"cli.awards.col_{col}"), overflow="fold")
        for e in shown:
            view.add_row(f"{e.name} ({e.member})", f"{e.value_index:.1f}", "; ".join(e.details))
        console.print(view)


@user_errors
def awards(
    db: DbOption = None,
    year: Annotated[int | None, typer.Option("--year", help=t("cli.awards.year_help"))] = None,
    category: Annotated[
        str | None, typer.Option("--category", help=t("cli.awards.category_help"))
    ] = None,
    top: Annotated[int, typer.Option("--top", help=t("cli.awards.top_help"))] = 3,
    as_json: Annotated[bool, typer.Option("--json", help=t("cli.awards.json_help"))] = False,
    out: Annotated[
        Path | None, typer.Option("--output", "-o", help=t("cli.awards.output_help"))
    ] = None,
) -> None:
    """Nominees of a year in each award category, with dossiers and citations."""
    from anchorwatch.care.awards import awards_config, rewards_config
    from anchorwatch.engines.awards import award_report, latest_year
    from anchorwatch.engines.members import load_member_frames
    from anchorwatch.store import open_store

    cfg, rewards = awards_config(), rewards_config()
    if category is not None and category not in cfg.keys:
        raise UserError(
            "error.bad_choice", option="--category", value=category, allowed=", ".join(cfg.keys)
        )
    if top < 1:
        raise UserError("error.bad_top", value=top)
    if out is not None and out.suffix.lower() not in (*JSONL_SUFFIXES, ".csv", ".xlsx"):
        raise UserError("error.awards_output", path=out.name)
    store = open_store(db)
    frames = load_member_frames(store)
    if frames.messages.height == 0:
        raise UserError("error.no_messages")
    chosen = year if year is not None else latest_year(frames)
    if chosen is None or frames.messages.filter(pl.col("at").dt.year() == chosen).height == 0:
        raise UserError("error.no_period", period=str(chosen))
    report = award_report(
        store, chosen, top=top, category=category, frames=frames, cfg=cfg, rewards=rewards
    )
    categories = [c for c in cfg.categories if category in (None, c.key)]
    elsewhere: dict[str, list[dict[str, Any]]] = {}
    for moved in report.elsewhere:
        elsewhere.setdefault(moved["category"], []).append(moved)
    if as_json:
        data = {
            "version": report.version,
            "rewards_version": rewards.version,
            "year": report.year,
            "nominations": [n.as_dict() for n in report.nominations],
            "elsewhere": report.elsewhere,
            "excluded": [e.as_dict() for e in report.excluded],
        }
        typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
    else:
        console.print(t("cli.awards.rules", version=report.version, rewards=rewards.version))
        _print(report, categories, elsewhere)
    if out is not None:
        _save(report, out)
