"""The monthly report: its pure assembly on frames made by hand, then end to
end on a year of demo community (HTML, XLSX and a PDF looked at as pages)."""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
import warnings
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from markupsafe import escape
from openpyxl import load_workbook
from PIL import Image
from typer.testing import CliRunner

from anchorwatch.cli import app
from anchorwatch.episodes.buffer import INPUT_SCHEMA, OVERALL
from anchorwatch.i18n import t
from anchorwatch.reports import charts
from anchorwatch.reports.monthly import (
    ANCHOR_COLUMNS,
    EPISODE_SCHEMA,
    HEADLINE,
    KINDS,
    MonthlyReport,
    ReportError,
    anchor_table,
    buffer_section,
    context_months,
    daily_mood,
    episode_summary,
    message_mood,
    month_bounds,
    monthly_mood,
    monthly_report,
    nominee_table,
    outcome_rates,
    parse_month,
    quadrant_counts,
    shift_month,
    summary_table,
    watch_table,
)
from anchorwatch.reports.render import (
    fmt_change,
    fmt_score,
    render_html,
    render_xlsx,
    write_report,
)
from anchorwatch.store import open_store

from ..conftest import copy_demo_year

# ---------------------------------------------------------------- months


def test_months_are_calendar_months_in_utc() -> None:
    assert parse_month("2026-06") == (2026, 6)
    assert shift_month("2026-01", -1) == "2025-12"
    assert shift_month("2025-12", 1) == "2026-01"
    assert context_months("2026-02", 4) == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert month_bounds("2026-12") == (datetime(2026, 12, 1), datetime(2027, 1, 1))
    for bad in ("2026-13", "2026-6", "June", ""):
        with pytest.raises(ReportError) as err:
            parse_month(bad)
        assert err.value.code == "error.bad_month"


# ---------------------------------------------------------------- mood and heat


def _signals(rows: list[tuple[str, datetime, bool, float, float, list[str]]]) -> pl.DataFrame:
    """Scored messages: member, time, staff, p_gratitude, p_complaint, labels."""
    return pl.DataFrame(
        rows,
        schema={
            "member": pl.String(),
            "at": pl.Datetime("us"),
            "staff": pl.Boolean(),
            "p_gratitude": pl.Float64(),
            "p_complaint": pl.Float64(),
            "labels": pl.List(pl.String()),
        },
        orient="row",
    )


def test_mood_is_the_valence_of_member_messages_and_heat_their_heated_share() -> None:
    signals = _signals(
        [
            ("u1", datetime(2026, 6, 1, 9), False, 0.9, 0.1, ["gratitude"]),
            ("u2", datetime(2026, 6, 1, 10), False, 0.0, 0.8, ["complaint", "heated"]),
            ("cs", datetime(2026, 6, 1, 11), True, 0.0, 0.0, []),
            ("u3", datetime(2026, 6, 3, 8), False, 0.0, 0.3, ["personal_attack"]),
        ]
    )
    mood = message_mood(signals)
    assert mood["member"].to_list() == ["u1", "u2", "u3"]  # staff are the brand's voice
    assert mood["valence"].to_list() == pytest.approx([0.8, -0.8, -0.3])
    assert mood["heated"].to_list() == [False, True, True]

    daily = daily_mood(mood, date(2026, 6, 1), date(2026, 6, 5), window=3)
    assert daily["day"].to_list() == [date(2026, 6, d) for d in range(1, 5)]
    assert daily["messages"].to_list() == [2, 0, 1, 0]
    assert daily["mood"][0] == pytest.approx(0.0) and daily["mood"][1] is None
    assert daily["heat"].to_list()[::2] == pytest.approx([0.5, 1.0])
    # The rolling line pools the last three days' messages, not their means.
    assert daily["mood_rolling"].to_list() == pytest.approx([0.0, 0.0, -0.1, -0.3])
    assert daily["heat_rolling"].to_list() == pytest.approx([0.5, 0.5, 2 / 3, 1.0])

    monthly = monthly_mood(mood, ["2026-05", "2026-06"])
    may, june = monthly.rows(named=True)
    assert may == {"month": "2026-05", "messages": 0, "members": 0, "mood": None, "heat": None}
    assert june["messages"] == 3 and june["members"] == 3
    assert june["mood"] == pytest.approx(-0.1) and june["heat"] == pytest.approx(2 / 3)


# ---------------------------------------------------------------- episodes


def _episodes(rows: list[dict[str, object]]) -> pl.DataFrame:
    full = [
        {"episode": f"e{i}", **{k: None for k in EPISODE_SCHEMA if k != "episode"}, **row}
        for i, row in enumerate(rows)
    ]
    return pl.DataFrame(full, schema=EPISODE_SCHEMA, orient="row")


def test_outcome_rates_per_kind_this_month_and_the_month_before() -> None:
    june, may = datetime(2026, 6, 10), datetime(2026, 5, 10)
    episodes = _episodes(
        [
            {"kind": "complaint", "started_at": june, "details_given": True, "spread": 0,
             "moved_to_channel": False, "sentiment_first": -0.8, "sentiment_last": 0.1},
            {"kind": "complaint", "started_at": june, "details_given": False, "spread": 2,
             "moved_to_channel": False, "sentiment_first": -0.5, "sentiment_last": -0.6},
            {"kind": "complaint", "started_at": may, "details_given": False, "spread": 0,
             "moved_to_channel": True, "sentiment_first": -0.5, "sentiment_last": -0.5},
            {"kind": "conflict", "started_at": june, "intervened": True,
             "attacks_stopped": True, "agreement": False, "heat_before": 0.8, "heat_after": 0.2},
            {"kind": "newcomer_question", "started_at": may, "answered": False},
        ]
    )  # fmt: skip
    rates = {
        (k, o, m): (n, r)
        for k, o, m, n, r in outcome_rates(episodes, ["2026-05", "2026-06"]).iter_rows()
    }
    assert rates[("complaint", "converted", "2026-06")] == (2, 0.5)
    assert rates[("complaint", "converted", "2026-05")] == (1, 1.0)  # moved to the channel
    assert rates[("complaint", "calmer", "2026-06")] == (2, 0.5)
    assert rates[("complaint", "spreading", "2026-06")] == (2, 0.5)
    assert rates[("conflict", "cooled", "2026-06")] == (1, 1.0)
    # No arrival in June: "none happened", never "0% went well".
    assert rates[("arrival", "welcomed", "2026-06")] == (0, None)

    summary = episode_summary(episodes, "2026-06")
    assert summary["kind"].to_list() == list(KINDS)
    by = {r["kind"]: r for r in summary.iter_rows(named=True)}
    assert by["complaint"] == {
        "kind": "complaint",
        "episodes": 2,
        "episodes_previous": 1,
        "headline": HEADLINE["complaint"],
        "rate": 0.5,
        "rate_previous": 1.0,
    }
    assert (
        by["newcomer_question"]["rate"] is None and by["newcomer_question"]["rate_previous"] == 0.0
    )


# ---------------------------------------------------------- anchors, buffer, awards, watchlist


def _member_rows() -> pl.DataFrame:
    rows = [
        ("u1", "2026-06", 80.0, 10.0, "invisible_anchor"),
        ("u2", "2026-06", 80.0, 70.0, "star"),
        ("u3", "2026-06", 0.0, 90.0, "creator"),
        ("u4", "2026-06", 12.0, 5.0, "quiet"),
        ("u1", "2026-05", 99.0, 1.0, "invisible_anchor"),
    ]
    frame = pl.DataFrame(
        rows,
        schema=["member", "period", "value_index", "content_index", "quadrant"],
        orient="row",
    )
    counts = [c for c in ANCHOR_COLUMNS if c not in frame.columns and c != "name"]
    return frame.with_columns(pl.lit(1, pl.Int64).alias(c) for c in counts).with_columns(
        pl.lit(55.0).alias("burnout_risk"), pl.lit("medium").alias("level")
    )


def test_anchors_are_the_months_labouring_members_by_value_without_risk() -> None:
    rows = _member_rows()
    table = anchor_table(rows, {"u1": "老张", "u2": "小李"}, "2026-06", top=2)
    assert table.columns == list(ANCHOR_COLUMNS)
    # Ties by member id; u3 did no labour; a member without a name shows the id.
    assert table["member"].to_list() == ["u1", "u2"]
    assert table["name"].to_list() == ["老张", "小李"]
    assert "burnout_risk" not in table.columns and "level" not in table.columns
    assert anchor_table(rows, {}, "2026-06", top=5)["name"].to_list() == ["u1", "u2", "u4"]
    counts = dict(quadrant_counts(rows, "2026-06").iter_rows())
    assert counts == {"invisible_anchor": 1, "star": 1, "creator": 0, "quiet": 1}


def test_buffer_section_lists_every_month_and_the_whole_window_first() -> None:
    responses = pl.DataFrame(
        {
            "episode": ["a", "b", "c", "d", "e"],
            "channel": ["g"] * 5,
            "month": ["2026-04", "2026-04", "2026-06", "2026-06", "2026-02"],
            "responder": ["official", "member", "official", "member", "member"],
            "sentiment_before": [-0.8, -0.8, -0.6, -0.6, -0.9],
            "sentiment_after": [-0.4, 0.2, -0.5, 0.1, 0.5],
        }
    )
    table = buffer_section(responses, ["2026-04", "2026-05", "2026-06"])
    assert table["month"].to_list() == [OVERALL, "2026-04", "2026-05", "2026-06"]
    overall = table.row(0, named=True)
    assert (overall["n_official"], overall["n_member"]) == (2, 2)  # February is outside
    assert overall["difference"] == pytest.approx(0.6)
    may = table.row(2, named=True)
    assert (may["n_official"], may["n_member"], may["mean_member"]) == (0, 0, None)


def test_nominees_keep_the_category_order_and_the_first_ranks() -> None:
    awards = pl.DataFrame(
        {
            "category": ["mentor", "mentor", "mentor", "peace", "peace"],
            "category_name": ["导师奖"] * 3 + ["和事佬奖"] * 2,
            "rank": [1, 2, 3, 1, 2],
            "member": ["u1", "u2", "u3", "u4", "u1"],
            "name": ["a", "b", "c", "d", "a"],
            "score": [90.0, 80.0, 70.0, 60.0, 50.0],
        }
    )
    table = nominee_table(awards, per_category=2)
    assert table.select("category", "rank").rows() == [
        ("mentor", 1),
        ("mentor", 2),
        ("peace", 1),
        ("peace", 2),
    ]
    assert nominee_table(awards.head(0)).height == 0


def test_watchlist_rows_carry_the_strongest_drivers_riskiest_first() -> None:
    risk = pl.DataFrame(
        {
            "member": ["u2", "u1"],
            "burnout_risk": [70.0, 88.0],
            "level": ["high", "high"],
            "dimension": ["cynicism", "exhaustion"],
            "care_action": ["listen", "lighten_load"],
            "fatigue_score": [0.9, 0.0],
            "curtness_score": [0.4, 0.0],
            "load_score": [0.0, 0.7],
            "late_night_score": [0.1, 0.2],
            "repeated_questions_score": [0.0, 0.5],
        }
    )
    table = watch_table(risk, {"u1": "老张"}, top_drivers=2)
    assert table["member"].to_list() == ["u1", "u2"]
    assert table["name"].to_list() == ["老张", "u2"]
    assert table["drivers"].to_list() == [["load", "repeated_questions"], ["fatigue", "curtness"]]


def test_summary_carries_the_watchlist_only_when_given() -> None:
    mood = pl.DataFrame(
        {
            "month": ["2026-05", "2026-06"],
            "messages": [10, 12],
            "members": [3, 4],
            "mood": [-0.2, -0.1],
            "heat": [0.3, 0.2],
        }
    )
    episodes = episode_summary(_episodes([]), "2026-06")
    buffer = buffer_section(pl.DataFrame(schema=INPUT_SCHEMA), ["2026-06"])
    rows = _member_rows()
    community = summary_table(mood, episodes, rows, "2026-06", buffer)
    assert "watchlist" not in community["metric"].to_list()
    values = {m: (v, p) for m, v, p, _f in community.iter_rows()}
    assert values["messages"] == (12.0, 10.0)
    assert values["anchors"] == (3.0, 1.0) and values["invisible_anchors"] == (1.0, 1.0)
    care = summary_table(mood, episodes, rows, "2026-06", buffer, rows.head(2), 5)
    assert care.filter(pl.col("metric") == "watchlist").row(0) == (
        "watchlist",
        2.0,
        5.0,
        "count",
    )


def test_numbers_read_the_way_a_reader_expects(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANCHORWATCH_LOCALE", "en")
    assert fmt_score(-0.004) == "0.00" and fmt_score(0.1) == "+0.10" and fmt_score(None) == "–"
    assert fmt_change(0.25, 0.2, "share") == "+5.0 pp"
    assert fmt_change(12, 15, "count") == "-3" and fmt_change(1, None, "count") == "–"


def test_charts_fall_back_with_a_warning_without_a_cjk_font() -> None:
    charts.chart_fonts.cache_clear()
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(charts, "CJK_FONTS", ("No Such Font CJK",))
            with pytest.warns(charts.MissingCJKFont):
                assert charts.chart_fonts() == ("DejaVu Sans",)
    finally:
        charts.chart_fonts.cache_clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error", charts.MissingCJKFont)
        assert charts.chart_fonts()[0] == "Noto Sans CJK SC"  # installed here and in CI


def test_a_report_file_needs_a_known_suffix(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="html"):
        write_report(None, tmp_path / "report.docx")  # type: ignore[arg-type]


# ---------------------------------------------------------------- end to end

MONTH = "2026-06"


def invoke(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANCHORWATCH_LOCALE", "en")
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture(scope="module")
def year(demo_year_db: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A private copy of the session's demo year (tests/conftest.py)."""
    return copy_demo_year(demo_year_db, tmp_path_factory.mktemp("year"))


@pytest.fixture(scope="module")
def reports(year: str) -> dict[str, MonthlyReport]:
    """Both editions of the month, assembled once (award names in English)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("ANCHORWATCH_LOCALE", "en")
    store = open_store(year)
    built = {edition: monthly_report(store, MONTH, edition) for edition in ("community", "care")}
    mp.undo()
    return built


SECTION_IDS = re.compile(r'<section id="section-(\w+)"')


def test_html_has_every_section_and_only_the_care_edition_a_watchlist(
    reports: dict[str, MonthlyReport], monkeypatch: pytest.MonkeyPatch
) -> None:
    community, care = (render_html(reports[e]) for e in ("community", "care"))
    assert SECTION_IDS.findall(community) == [
        "summary",
        "mood",
        "episodes",
        "anchors",
        "buffer",
        "awards",
    ]
    assert SECTION_IDS.findall(care)[-1] == "watchlist"
    assert reports["community"].watchlist is None
    for leak in (
        t("report.section.watchlist"),
        t("report.col.risk"),
        t("report.care.confidential"),
    ):
        assert escape(leak) not in community and escape(leak) in care
    watched = reports["care"].watchlist
    assert watched is not None and watched.height >= 1
    assert all(escape(name) in care for name in watched["name"].to_list())
    # Every section has its content: the anchors and nominees by name, the outcomes.
    assert escape(reports["community"].anchors["name"][0]) in community
    awards = reports["community"].awards
    assert awards.height and escape(awards["name"][0]) in community
    assert t("report.outcome.attacks_stopped") in community
    # One self-contained file: every chart inline as a PNG, nothing fetched.
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', community)
    assert len(images) == 4
    for data in images:
        assert Image.open(io.BytesIO(base64.b64decode(data))).format == "PNG"
    assert not re.search(r'(src|href)="(https?:)?//', community)
    # Same report, same bytes.
    assert render_html(reports["community"]) == community
    # Chinese by default.
    monkeypatch.delenv("ANCHORWATCH_LOCALE")
    chinese = render_html(reports["community"])
    assert '<html lang="zh-CN">' in chinese and "社群情感健康月报 · 2026年6月" in chinese


def test_xlsx_has_one_sheet_per_section(
    year: str, reports: dict[str, MonthlyReport], tmp_path: Path
) -> None:
    out = tmp_path / "report.xlsx"
    text = invoke(CliRunner(), "report", "--month", MONTH, "-o", str(out), "--db", year)
    assert "report.xlsx" in text
    sheets = ["Summary", "Mood", "Episodes", "Anchors", "Buffer", "Awards"]
    book = load_workbook(out)
    assert book.sheetnames == sheets
    summary = {row[0]: row[1:] for row in book["Summary"].iter_rows(min_row=2, values_only=True)}
    month = reports["community"].mood_monthly.filter(pl.col("month") == MONTH).row(0, named=True)
    assert summary[t("report.metric.messages")][0] == month["messages"]
    mood = list(book["Mood"].iter_rows(min_row=2, values_only=True))
    assert mood[0][0] == datetime(2026, 1, 1) and mood[-1][0] == datetime(2026, 6, 30)
    anchors = list(book["Anchors"].iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in anchors] == reports["community"].anchors["member"].to_list()
    care = render_xlsx(reports["care"])
    assert load_workbook(io.BytesIO(care)).sheetnames == [*sheets, "Watchlist"]
    assert render_xlsx(reports["care"]) == care  # deterministic, to the byte


def _near(page: np.ndarray, colour: str, tolerance: int = 40) -> int:
    """How many pixels of ``page`` are within ``tolerance`` of ``colour``."""
    rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(page.astype(int) - rgb).max(axis=2) <= tolerance).sum())


def test_the_pdf_renders_to_pages_that_show_the_charts(year: str, tmp_path: Path) -> None:
    if shutil.which("pdftoppm") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pdftoppm (poppler-utils) is missing: CI must look at the PDF pages")
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    pdf = tmp_path / "report.pdf"
    invoke(CliRunner(), "report", "--month", MONTH, "-o", str(pdf), "--db", year)
    assert pdf.read_bytes().startswith(b"%PDF")
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(pdf), str(tmp_path / "page")], check=True)
    pages = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(tmp_path.glob("page-*.png"))]
    assert 5 <= len(pages) <= 8
    assert all(p.shape[:2] == (585, 414) for p in pages)  # A4 at 50 dpi
    # Each chart's own colours are drawn, all together, on some page after the
    # summary, in the order of the sections.
    found = {}
    for chart, colours in charts.SIGNATURES.items():
        hits = [min(_near(p, charts.PALETTE[c]) for c in colours) for p in pages]
        found[chart] = int(np.argmax(hits))
        assert max(hits) >= 150, (chart, hits)
    assert 0 not in found.values()
    assert list(found) == sorted(found, key=found.__getitem__)  # in reading order


def test_report_command_refuses_what_it_cannot_make(year: str, tmp_path: Path) -> None:
    runner = CliRunner()
    cases = [
        (["--month", MONTH, "-o", str(tmp_path / "r.docx")], ".pdf"),
        (["--month", "2026-13", "-o", str(tmp_path / "r.html")], "2026-13"),
        (["--month", "2027-01", "-o", str(tmp_path / "r.html")], "2027-01"),
        (
            ["--month", MONTH, "--edition", "boss", "-o", str(tmp_path / "r.html")],
            "community, care",
        ),
    ]
    for args, expected in cases:
        result = runner.invoke(app, ["report", *args, "--db", year])
        assert result.exit_code == 2, result.output
        assert expected in result.output and "Traceback" not in result.output
    assert not list(tmp_path.iterdir())
