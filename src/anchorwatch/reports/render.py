"""The monthly report as one HTML file, a PDF and an XLSX workbook.

The HTML is self-contained (styles inline, charts as ``data:`` URIs), so it can
be mailed or archived as one file; the PDF is the same HTML laid out by
WeasyPrint for A4 with the print rules of the same stylesheet, so the two never
drift apart; the XLSX gives operators the numbers behind every section, one
sheet each.  Text comes from the i18n catalogue in the current locale
(``ANCHORWATCH_LOCALE``, zh-CN by default).

Output is deterministic: the same report renders to the same bytes (no clock
in the HTML, fixed timestamps in the XLSX archive), so a report can be
regenerated and compared.
"""

from __future__ import annotations

import base64
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from anchorwatch import __version__
from anchorwatch.episodes.buffer import OVERALL
from anchorwatch.i18n import current_locale, t
from anchorwatch.reports.charts import report_charts
from anchorwatch.reports.monthly import (
    HEADLINE,
    KINDS,
    LOWER_IS_BETTER,
    OUTCOMES,
    MonthlyReport,
    month_bounds,
)

REPORT_SUFFIXES = (".html", ".pdf", ".xlsx")
"""The formats :func:`write_report` chooses from by the file's suffix."""

# ---------------------------------------------------------------- numbers as text


def fmt_count(value: float | None) -> str:
    """``1234`` → ``"1,234"``; unknown → ``"–"``."""
    return "–" if value is None else f"{value:,.0f}"


def fmt_share(value: float | None) -> str:
    """``0.123`` → ``"12.3%"``."""
    return "–" if value is None else f"{value:.1%}"


def fmt_score(value: float | None) -> str:
    """A valence in -1..1 with its sign: ``-0.18`` → ``"-0.18"``, ``0.1`` → ``"+0.10"``."""
    if value is None:
        return "–"
    return "0.00" if round(value, 2) == 0 else f"{value:+.2f}"


def fmt_decimal(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


FORMATS: dict[str, Callable[[float | None], str]] = {
    "count": fmt_count,
    "share": fmt_share,
    "score": fmt_score,
}


def fmt_change(value: float | None, previous: float | None, kind: str) -> str:
    """The change against the month before, in the unit a reader expects:
    counts in units, shares in percentage points, scores in score points."""
    if value is None or previous is None:
        return "–"
    diff = value - previous
    if kind == "share":
        return t("report.unit.pp", value=f"{diff * 100:+.1f}")
    if kind == "score":
        return f"{diff:+.2f}"
    return f"{diff:+,.0f}"


GOOD_WHEN_UP = {"mood": True, "heat": False, "anchors": True, "invisible_anchors": True}
"""Summary metrics whose direction is good or bad news (others are neutral);
outcome rates are good news when they rise, ``watchlist`` when it falls."""


def _tone(metric: str, value: float | None, previous: float | None) -> str:
    if value is None or previous is None or abs(value - previous) < 1e-9:
        return ""
    up = value > previous
    if metric.startswith("outcome."):
        good = up
    elif metric == "watchlist":
        good = not up
    elif metric in GOOD_WHEN_UP:
        good = up == GOOD_WHEN_UP[metric]
    else:
        return ""
    return "good" if good else "bad"


# ---------------------------------------------------------------- view model


def month_name(month: str) -> str:
    """``2026-06`` as the locale writes it (``2026年6月``, ``June 2026``)."""
    year, mon = int(month[:4]), int(month[5:])
    return t("report.month_name", year=year, month=mon, month_word=t(f"report.month.{mon}"))


def _metric_label(metric: str) -> str:
    if metric.startswith("episodes."):
        return t("report.metric.episodes", kind=t("episode.kind." + metric.split(".", 1)[1]))
    if metric.startswith("outcome."):
        kind = metric.split(".", 1)[1]
        return t("report.metric.outcome", outcome=t(f"report.outcome.{HEADLINE[kind]}"))
    return t(f"report.metric.{metric}")


def summary_rows(report: MonthlyReport) -> list[dict[str, str]]:
    """The summary figures as text: label, value, previous, change and its tone."""
    rows = []
    for r in report.summary.iter_rows(named=True):
        show = FORMATS[r["format"]]
        rows.append(
            {
                "metric": r["metric"],
                "label": _metric_label(r["metric"]),
                "value": show(r["value"]),
                "previous": show(r["previous"]),
                "change": fmt_change(r["value"], r["previous"], r["format"]),
                "tone": _tone(r["metric"], r["value"], r["previous"]),
            }
        )
    return rows


CARD_METRICS = (
    "messages",
    "members",
    "mood",
    "heat",
    "anchors",
    "invisible_anchors",
    "buffer_difference",
    "watchlist",
)
"""The summary figures shown as cards on the first page."""


def _cards(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    cards = []
    for row in rows:
        if row["metric"] not in CARD_METRICS:
            continue
        if row["metric"] == "buffer_difference":
            delta = t("report.card.buffer_note")
        elif row["change"] == "–":
            delta = t("report.card.no_previous")
        else:
            delta = t("report.card.change", change=row["change"])
        cards.append(
            {"label": row["label"], "value": row["value"], "delta": delta, "tone": row["tone"]}
        )
    return cards


def _direction(value: float | None, previous: float | None, up_is_good: bool) -> str:
    if value is None or previous is None or abs(value - previous) < 0.005:
        return t("report.finding.steady")
    better = (value > previous) == up_is_good
    return t("report.finding.better" if better else "report.finding.worse")


def findings(report: MonthlyReport) -> list[str]:
    """The few sentences a busy reader takes away, in plain words."""
    by = {r["metric"]: r for r in report.summary.iter_rows(named=True)}
    lines = []
    mood, heat = by.get("mood", {}), by.get("heat", {})
    lines.append(
        t(
            "report.finding.mood",
            mood=fmt_score(mood.get("value")),
            previous=fmt_score(mood.get("previous")),
            direction=_direction(mood.get("value"), mood.get("previous"), True),
            heat=fmt_share(heat.get("value")),
            heat_change=fmt_change(heat.get("value"), heat.get("previous"), "share"),
        )
    )
    total = int(report.episodes["episodes"].sum())
    # The headline outcome that moved most since last month is the news.
    moved = (
        report.episodes.filter(pl.col("rate").is_not_null() & pl.col("rate_previous").is_not_null())
        .with_columns((pl.col("rate") - pl.col("rate_previous")).abs().alias("_moved"))
        .sort(["_moved", "kind"], descending=[True, False])
    )
    if total and moved.height:
        top = moved.row(0, named=True)
        lines.append(
            t(
                "report.finding.episodes",
                n=total,
                previous=int(report.episodes["episodes_previous"].sum()),
                kind=t("episode.kind." + top["kind"]),
                outcome=t("report.outcome." + top["headline"]),
                rate=fmt_share(top["rate"]),
                rate_previous=fmt_share(top["rate_previous"]),
            )
        )
    if report.anchors.height:
        first = report.anchors.row(0, named=True)
        invisible = int(
            report.quadrants.filter(pl.col("quadrant") == "invisible_anchor")["members"].sum()
        )
        lines.append(
            t(
                "report.finding.anchor",
                name=first["name"],
                value=fmt_decimal(first["value_index"]),
                served=first["episodes_served"],
                invisible=invisible,
            )
        )
    lines.append(buffer_sentence(report))
    if report.watchlist is not None:
        lines.append(t("report.finding.watchlist", n=report.watchlist.height))
    return lines


def buffer_sentence(report: MonthlyReport) -> str:
    """What the buffer effect over the window says, and how sure it is."""
    overall = report.buffer.filter(pl.col("month") == OVERALL)
    n = len(report.months)
    if overall.height == 0 or overall["difference"][0] is None:
        return t("report.buffer.too_few", months=n)
    row = overall.row(0, named=True)
    diff = row["difference"]
    if row["ci_low"] is None:
        return t("report.buffer.no_interval", months=n, difference=fmt_score(diff))
    key = (
        "report.buffer.member_better"
        if row["ci_low"] > 0
        else "report.buffer.official_better"
        if row["ci_high"] < 0
        else "report.buffer.unclear"
    )
    return t(
        key,
        months=n,
        difference=fmt_score(diff),
        low=fmt_score(row["ci_low"]),
        high=fmt_score(row["ci_high"]),
    )


def outcome_rows(report: MonthlyReport) -> list[dict[str, Any]]:
    """The outcome table: every kind and outcome, this month beside the month before."""
    rate = {(r["kind"], r["outcome"], r["month"]): r for r in report.outcomes.iter_rows(named=True)}
    count = {r["kind"]: r for r in report.episodes.iter_rows(named=True)}
    rows = []
    for kind in KINDS:
        for i, outcome in enumerate(OUTCOMES[kind]):
            now = rate.get((kind, outcome, report.month), {})
            before = rate.get((kind, outcome, report.previous_month), {})
            label = t(f"report.outcome.{outcome}")
            if outcome in LOWER_IS_BETTER:
                label += t("report.outcome.lower_better")
            rows.append(
                {
                    "first": i == 0,
                    "kind": t("episode.kind." + kind)
                    + t("report.episodes.count", n=count.get(kind, {}).get("episodes", 0)),
                    "outcome": label,
                    "headline": outcome == HEADLINE[kind],
                    "now": _rate_text(now),
                    "before": _rate_text(before),
                }
            )
    return rows


def _rate_text(row: dict[str, Any]) -> str:
    if not row or row.get("rate") is None:
        return "–"
    return f"{row['rate']:.0%} ({row['episodes']})"


def buffer_rows(report: MonthlyReport) -> list[dict[str, Any]]:
    rows = []
    for r in report.buffer.iter_rows(named=True):
        overall = r["month"] == OVERALL
        ci = (
            "–" if r["ci_low"] is None else f"[{fmt_score(r['ci_low'])}, {fmt_score(r['ci_high'])}]"
        )
        rows.append(
            {
                "overall": overall,
                "month": t("report.buffer.window", months=len(report.months))
                if overall
                else r["month"],
                "n_official": fmt_count(r["n_official"]),
                "n_member": fmt_count(r["n_member"]),
                "mean_official": fmt_score(r["mean_official"]),
                "mean_member": fmt_score(r["mean_member"]),
                "difference": fmt_score(r["difference"]),
                "ci": ci,
            }
        )
    # The whole window reads last, under the months it sums up.
    return rows[1:] + rows[:1]


def award_groups(report: MonthlyReport) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for r in report.awards.iter_rows(named=True):
        group = groups.setdefault(r["category"], {"name": r["category_name"], "rows": []})
        group["rows"].append(r)
    return list(groups.values())


def watch_rows(report: MonthlyReport) -> list[dict[str, Any]]:
    if report.watchlist is None:
        return []
    sep = t("report.list_sep")
    return [
        {
            **r,
            "drivers_text": sep.join(t(f"driver.{d}") for d in r["drivers"]) or "–",
        }
        for r in report.watchlist.iter_rows(named=True)
    ]


def quadrant_line(report: MonthlyReport) -> str:
    sep = t("report.list_sep")
    parts = [
        t("report.quadrant_count", quadrant=t(f"quadrant.{q}"), n=n)
        for q, n in report.quadrants.iter_rows()
    ]
    return t("report.anchors.quadrants", counts=sep.join(parts))


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _context(report: MonthlyReport, charts: dict[str, bytes]) -> dict[str, Any]:
    summary = summary_rows(report)
    end = month_bounds(report.month)[1].date()
    watch_day = min(end, report.data_end + timedelta(days=1)) if report.data_end else end
    return {
        "report": report,
        "lang": current_locale(),
        "version": __version__,
        "title": t("report.title"),
        "edition": report.edition,
        "edition_name": t(f"report.edition.{report.edition}"),
        "month_name": month_name(report.month),
        "window_name": t(
            "report.window", first=month_name(report.months[0]), last=month_name(report.month)
        ),
        "through": report.data_end.isoformat() if report.data_end else "–",
        "charts": {name: _data_uri(png) for name, png in charts.items()},
        "cards": _cards(summary),
        "findings": findings(report),
        "outcome_rows": outcome_rows(report),
        "buffer_rows": buffer_rows(report),
        "buffer_line": buffer_sentence(report),
        "award_groups": award_groups(report),
        "watch_rows": watch_rows(report),
        "watch_day": watch_day.isoformat(),
        "quadrant_line": quadrant_line(report),
        "awards_through": _awards_through(report),
    }


def _awards_through(report: MonthlyReport) -> str:
    """The last day the nominees were computed from: the year to date as the
    month closed (or the end of the data, when that comes first)."""
    if report.data_end is None:
        return "–"
    month_end = month_bounds(report.month)[1].date() - timedelta(days=1)
    return min(report.data_end, month_end).isoformat()


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("anchorwatch.reports", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(count=fmt_count, share=fmt_share, score=fmt_score, decimal=fmt_decimal)
    env.globals["t"] = t
    return env


# ---------------------------------------------------------------- the formats


def render_html(report: MonthlyReport, charts: dict[str, bytes] | None = None) -> str:
    """The report as one self-contained HTML document (charts inline)."""
    charts = charts if charts is not None else report_charts(report)
    return _environment().get_template("monthly.html").render(**_context(report, charts))


def render_pdf(report: MonthlyReport, charts: dict[str, bytes] | None = None) -> bytes:
    """The report as an A4 PDF: the HTML of :func:`render_html` laid out by
    WeasyPrint with the stylesheet's print rules (page header, page numbers)."""
    from weasyprint import HTML

    html = render_html(report, charts)
    pdf = HTML(string=html, base_url=None).write_pdf()
    assert pdf is not None
    return bytes(pdf)


SHEETS = ("summary", "mood", "episodes", "anchors", "buffer", "awards", "watchlist")
"""The workbook's sheets, one per section; ``watchlist`` only in the care edition."""

_NUMBER = {"count": "#,##0", "share": "0.0%", "score": "+0.00;-0.00;0.00"}
_CHANGE = {"count": "+#,##0;-#,##0;0", "share": "+0.0%;-0.0%;0.0%", "score": "+0.00;-0.00;0.00"}
TEXT = "@"


@dataclass(frozen=True)
class Sheet:
    """One worksheet: a header row, data rows and a number format per column
    (``TEXT`` for none).  ``row_formats`` overrides the formats of the given
    columns row by row (the summary mixes counts, shares and scores)."""

    header: list[str]
    rows: list[list[Any]]
    formats: list[str]
    row_formats: dict[int, list[str]] = field(default_factory=dict)

    def format(self, row: int, column: int) -> str:
        if column in self.row_formats:
            return self.row_formats[column][row]
        return self.formats[column]


def sheet_tables(report: MonthlyReport) -> dict[str, Sheet]:
    """Every sheet of the workbook, by the names of :data:`SHEETS`, in order.

    Values stay numbers (shares as fractions shown with a percent format), so
    an operator can sort, filter and chart them in a spreadsheet.
    """

    def col(key: str) -> str:
        return t(f"report.col.{key}")

    kinds = report.summary["format"].to_list()
    sheets: dict[str, Sheet] = {}
    sheets["summary"] = Sheet(
        [col("metric"), report.month, report.previous_month, col("change")],
        [
            [
                _metric_label(r["metric"]),
                r["value"],
                r["previous"],
                None if r["value"] is None or r["previous"] is None else r["value"] - r["previous"],
            ]
            for r in report.summary.iter_rows(named=True)
        ],
        [TEXT, TEXT, TEXT, TEXT],
        {
            1: [_NUMBER[k] for k in kinds],
            2: [_NUMBER[k] for k in kinds],
            3: [_CHANGE[k] for k in kinds],
        },
    )
    sheets["mood"] = Sheet(
        [col(c) for c in ("day", "messages", "mood", "heat", "mood_rolling", "heat_rolling")],
        [list(r) for r in report.mood_daily.iter_rows()],
        ["yyyy-mm-dd", _NUMBER["count"], _NUMBER["score"], "0.0%", _NUMBER["score"], "0.0%"],
    )
    sheets["episodes"] = Sheet(
        [col(c) for c in ("kind", "outcome", "month", "episodes", "rate")],
        [
            [t("episode.kind." + k), t(f"report.outcome.{o}"), m, n, r]
            for k, o, m, n, r in report.outcomes.iter_rows()
        ],
        [TEXT, TEXT, TEXT, _NUMBER["count"], "0.0%"],
    )
    sheets["anchors"] = Sheet(
        [
            col("member_id"),
            col("member"),
            col("value_index"),
            col("content_index"),
            col("quadrant"),
            *(
                t(f"ledger.{c}")
                for c in (
                    "episodes_served",
                    "conflicts_calmed",
                    "complaints_converted",
                    "newcomers_stayed",
                    "thanks_received",
                )
            ),
        ],
        [[*r[:4], t(f"quadrant.{r[4]}"), *r[5:]] for r in report.anchors.iter_rows()],
        [TEXT, TEXT, "0.0", "0.0", TEXT, *[_NUMBER["count"]] * 5],
    )
    window = t("report.buffer.window", months=len(report.months))
    sheets["buffer"] = Sheet(
        [col(c) for c in report.buffer.columns],
        [[window if r[0] == OVERALL else r[0], *r[1:]] for r in report.buffer.iter_rows()],
        [TEXT, *[_NUMBER["count"]] * 4, *[_NUMBER["score"]] * 7],
    )
    sheets["awards"] = Sheet(
        [col(c) for c in ("category", "category_name", "rank", "member_id", "member", "score")],
        [list(r) for r in report.awards.iter_rows()],
        [TEXT, TEXT, "0", TEXT, TEXT, "0.0"],
    )
    if report.watchlist is not None:
        sheets["watchlist"] = Sheet(
            [
                col(c)
                for c in (
                    "member_id",
                    "member",
                    "risk",
                    "level",
                    "dimension",
                    "care_action",
                    "drivers",
                )
            ],
            [
                [
                    r["member"],
                    r["name"],
                    r["burnout_risk"],
                    t(f"level.{r['level']}"),
                    t(f"dimension.{r['dimension']}"),
                    t(f"care_action.{r['care_action']}") if r["care_action"] else None,
                    r["drivers_text"],
                ]
                for r in watch_rows(report)
            ],
            [TEXT, TEXT, "0", TEXT, TEXT, TEXT, TEXT],
        )
    return sheets


def render_xlsx(report: MonthlyReport) -> bytes:
    """The report's numbers as a workbook, one sheet per section (:data:`SHEETS`)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.writer.excel import ExcelWriter

    book = Workbook()
    book.remove(book.active)
    head_font = Font(bold=True, color="1F2933")
    head_fill = PatternFill("solid", fgColor="EEF1F6")
    for name, sheet in sheet_tables(report).items():
        ws = book.create_sheet(t(f"report.sheet.{name}")[:31])
        ws.append(sheet.header)
        for cell in ws[1]:
            cell.font = head_font
            cell.fill = head_fill
            cell.alignment = Alignment(vertical="center", wrap_text=True)
        for i, row in enumerate(sheet.rows):
            ws.append([_cell(v) for v in row])
            for j in range(len(row)):
                fmt = sheet.format(i, j)
                if fmt != TEXT:
                    ws.cell(row=i + 2, column=j + 1).number_format = fmt
        ws.freeze_panes = "A2"
        for j, title in enumerate(sheet.header):
            values = [str(title)] + [str(r[j]) for r in sheet.rows[:200] if r[j] is not None]
            width = max(_display_width(v) for v in values) + 2
            ws.column_dimensions[get_column_letter(j + 1)].width = min(max(width, 8), 60)
    # Fixed document times (the month's end), so the same report is the same file.
    stamp = month_bounds(report.month)[1]
    book.properties.title = f"{t('report.title')} · {month_name(report.month)}"
    book.properties.subject = t(f"report.edition.{report.edition}")
    book.properties.creator = f"anchorwatch {__version__}"
    book.properties.created = stamp
    book.properties.modified = stamp
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(book, archive).save()
    return _fixed_zip(buf.getvalue())


def _cell(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    return value


def _display_width(text: str) -> int:
    """Columns a text takes in a spreadsheet: CJK characters count double."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _fixed_zip(data: bytes) -> bytes:
    """The same archive with every entry's timestamp fixed, so equal workbooks
    are equal files (zip entries otherwise carry the time of writing)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2000, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def write_report(report: MonthlyReport, path: Path) -> Path:
    """Write ``report`` to ``path`` in the format its suffix names
    (:data:`REPORT_SUFFIXES`); ``ValueError`` for any other suffix."""
    suffix = path.suffix.lower()
    if suffix not in REPORT_SUFFIXES:
        raise ValueError(f"unsupported report file {path.name}: use {', '.join(REPORT_SUFFIXES)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".html":
        path.write_text(render_html(report), encoding="utf-8")
    elif suffix == ".pdf":
        path.write_bytes(render_pdf(report))
    else:
        path.write_bytes(render_xlsx(report))
    return path


__all__ = [
    "REPORT_SUFFIXES",
    "SHEETS",
    "Sheet",
    "render_html",
    "render_pdf",
    "render_xlsx",
    "sheet_tables",
    "write_report",
]
