"""The report's charts, drawn with matplotlib (Agg) and returned as PNG bytes.

Each chart is a pure function of one section frame of
:class:`~anchorwatch.reports.monthly.MonthlyReport`; titles and legends come
from the i18n catalogue in the current locale.  Figures are built on
``matplotlib.figure.Figure`` on an Agg canvas directly, never through
``pyplot``, so nothing global changes (not even pyplot's backend) and two
reports can be drawn side by side, as a web app would.

Every series has its own colour in :data:`PALETTE`, chosen far apart in hue so
that a reader tells them apart on paper and a test can find each chart in a
rendered page by its colour.  Text needs a CJK-capable font: the first of
:data:`CJK_FONTS` that matplotlib can find, else a warning and DejaVu Sans
(Chinese names then show as boxes; install ``fonts-noto-cjk``).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from typing import Any

import matplotlib
import polars as pl
from matplotlib import dates as mdates
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from anchorwatch.i18n import t
from anchorwatch.reports.monthly import MonthlyReport

PALETTE: dict[str, str] = {
    "mood": "#1F5FBF",
    "heat": "#E8452C",
    "episodes": "#7B3FC4",
    "episodes_previous": "#CDB8EC",
    "outcome": "#12A37A",
    "outcome_previous": "#A9DEC9",
    "value": "#F2A81D",
    "content": "#8A9BB0",
    "official": "#4E5D70",
    "member": "#C2188F",
    "month_band": "#EEF1F6",
    "grid": "#D9DEE5",
    "text": "#2B3440",
}
"""Series colours, one hue per series (see :data:`SIGNATURES`)."""

SIGNATURES: dict[str, tuple[str, ...]] = {
    "mood": ("mood", "heat"),
    "episodes": ("episodes", "outcome"),
    "anchors": ("value",),
    "buffer": ("member",),
}
"""The colours that show a chart is on a rendered page: saturated hues used
nowhere else in the report (the greys of ``content`` and ``official`` are
close to the text colours and are not signatures).  The tests look for them."""

CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "PingFang SC",
    "SimHei",
)
"""CJK families tried in order; the first installed one draws every label."""

WIDTH_IN = 7.2
DPI = 160


class MissingCJKFont(UserWarning):
    """No CJK font was found: Chinese text in charts will not render."""


@cache
def chart_fonts() -> tuple[str, ...]:
    """The font families charts use: a CJK family (first found), then DejaVu Sans
    for the glyphs it lacks.  Warns once when no CJK family is installed."""
    for family in CJK_FONTS:
        try:
            font_manager.findfont(
                font_manager.FontProperties(family=family), fallback_to_default=False
            )
        except ValueError:
            continue
        return (family, "DejaVu Sans")
    warnings.warn(
        "no CJK font found (tried " + ", ".join(CJK_FONTS) + "): Chinese text in the "
        "report charts will not render; install Noto Sans CJK (fonts-noto-cjk)",
        MissingCJKFont,
        stacklevel=2,
    )
    return ("DejaVu Sans",)


@contextmanager
def _style() -> Iterator[None]:
    rc: dict[Any, Any] = {
        "font.family": list(chart_fonts()),
        "font.size": 8.5,
        "axes.titlesize": 9.5,
        "axes.titleweight": "bold",
        "axes.titlelocation": "left",
        "axes.edgecolor": PALETTE["grid"],
        "axes.labelcolor": PALETTE["text"],
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "axes.axisbelow": True,
        "grid.color": PALETTE["grid"],
        "grid.linewidth": 0.6,
        "xtick.color": PALETTE["text"],
        "ytick.color": PALETTE["text"],
        "legend.frameon": False,
        "legend.fontsize": 8,
        "axes.unicode_minus": False,
        "svg.hashsalt": "anchorwatch",
    }
    with matplotlib.rc_context(rc):
        yield


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)  # Agg explicitly, without switching pyplot's global backend
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None}, facecolor="white")
    return buf.getvalue()


def _empty(ax: Axes, key: str = "report.chart.no_data") -> None:
    ax.text(0.5, 0.5, t(key), ha="center", va="center", transform=ax.transAxes, color="#8895A7")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def mood_heat_chart(daily: pl.DataFrame, month: str, window: int = 7) -> bytes:
    """Mood (mean valence) and heat (heated share) per day over the context
    window, as ``window``-day rolling means, with the report month shaded.

    ``daily`` is ``MonthlyReport.mood_daily``.
    """
    with _style():
        fig = Figure(figsize=(WIDTH_IN, 3.9), layout="constrained")
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(1.15, 1))
        days = [datetime(d.year, d.month, d.day) for d in daily["day"].to_list()]
        if not days:
            _empty(top)
            _empty(bottom)
            return _png(fig)
        start = datetime(int(month[:4]), int(month[5:]), 1)
        band_end = days[-1]
        for ax in (top, bottom):
            ax.axvspan(start, band_end, color=PALETTE["month_band"], zorder=0, lw=0)
        mood = daily["mood_rolling"].to_list()
        heat = daily["heat_rolling"].to_list()
        top.axhline(0, color="#9AA5B4", lw=0.8, zorder=1)
        top.plot(days, daily["mood"].to_list(), "o", ms=1.8, color=PALETTE["mood"], alpha=0.25)
        top.plot(days, mood, color=PALETTE["mood"], lw=2.6, label=t("report.chart.mood"))
        top.set_title(t("report.chart.mood_title", days=window))
        top.set_ylabel(t("report.chart.mood_axis"))
        lo = min([v for v in mood if v is not None] + [-0.1])
        hi = max([v for v in mood if v is not None] + [0.1])
        pad = (hi - lo) * 0.15
        top.set_ylim(max(-1.0, lo - pad), min(1.0, hi + pad))
        bottom.fill_between(days, [v or 0.0 for v in heat], color=PALETTE["heat"], alpha=0.12, lw=0)
        bottom.plot(days, heat, color=PALETTE["heat"], lw=2.6, label=t("report.chart.heat"))
        bottom.set_title(t("report.chart.heat_title"))
        bottom.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        bottom.set_ylim(0, max([v for v in heat if v is not None] + [0.05]) * 1.2)
        bottom.xaxis.set_major_locator(mdates.MonthLocator())
        bottom.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
        bottom.text(
            start,
            bottom.get_ylim()[1],
            " " + t("report.chart.this_month"),
            va="top",
            ha="left",
            fontsize=7.5,
            color="#6B7685",
        )
        return _png(fig)


def _grouped(
    ax: Axes,
    labels: list[str],
    now: list[float | None],
    before: list[float | None],
    colours: tuple[str, str],
    names: tuple[str, str],
    share: bool = False,
) -> None:
    xs = list(range(len(labels)))
    width = 0.38
    for offset, values, colour, name in (
        (-width / 2, before, colours[1], names[1]),
        (width / 2, now, colours[0], names[0]),
    ):
        heights = [0.0 if v is None else v for v in values]
        bars = ax.bar([x + offset for x in xs], heights, width, color=colour, label=name)
        for bar, value in zip(bars, values, strict=True):
            text = "–" if value is None else (f"{value:.0%}" if share else f"{value:,.0f}")
            ax.annotate(
                text,
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=7,
                color=PALETTE["text"],
            )
    ax.set_xticks(xs, labels)
    ax.grid(axis="x", visible=False)


def episodes_chart(episodes: pl.DataFrame) -> bytes:
    """Episodes per kind, and each kind's headline outcome rate, this month
    beside the month before (``MonthlyReport.episodes``)."""
    with _style():
        fig = Figure(figsize=(WIDTH_IN, 3.0), layout="constrained")
        left, right = fig.subplots(1, 2)
        kinds = [_wrap(t(f"episode.kind.{k}")) for k in episodes["kind"].to_list()]
        names = (t("report.chart.this_month"), t("report.chart.previous_month"))
        _grouped(
            left,
            kinds,
            episodes["episodes"].to_list(),
            episodes["episodes_previous"].to_list(),
            (PALETTE["episodes"], PALETTE["episodes_previous"]),
            names,
        )
        left.set_title(t("report.chart.episodes_title"))
        top = max(episodes["episodes"].to_list() + episodes["episodes_previous"].to_list() + [1])
        left.set_ylim(0, top * 1.2)
        left.legend(loc="upper left", ncols=2)
        _grouped(
            right,
            [
                f"{kind}\n{t('report.outcome.' + h)}"
                for kind, h in zip(kinds, episodes["headline"].to_list(), strict=True)
            ],
            episodes["rate"].to_list(),
            episodes["rate_previous"].to_list(),
            (PALETTE["outcome"], PALETTE["outcome_previous"]),
            names,
            share=True,
        )
        right.set_title(t("report.chart.outcomes_title"))
        right.set_ylim(0, 1.18)
        right.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        right.tick_params(axis="x", labelsize=7)
        right.legend(loc="upper left", ncols=2)
        return _png(fig)


def anchors_chart(anchors: pl.DataFrame) -> bytes:
    """The month's anchors: emotional value index beside content index, one
    pair of bars per member, highest value on top (``MonthlyReport.anchors``)."""
    with _style():
        rows = max(anchors.height, 3)
        fig = Figure(figsize=(WIDTH_IN, 0.9 + 0.3 * rows), layout="constrained")
        ax = fig.subplots()
        if anchors.height == 0:
            _empty(ax, "report.anchors.none")
            return _png(fig)
        names = [_short(n) for n in anchors["name"].to_list()][::-1]
        value = anchors["value_index"].to_list()[::-1]
        content = anchors["content_index"].to_list()[::-1]
        ys = list(range(len(names)))
        height = 0.38
        ax.barh(
            [y + height / 2 for y in ys],
            value,
            height,
            color=PALETTE["value"],
            label=t("report.col.value_index"),
        )
        ax.barh(
            [y - height / 2 for y in ys],
            content,
            height,
            color=PALETTE["content"],
            label=t("report.col.content_index"),
        )
        for y, v in zip(ys, value, strict=True):
            ax.annotate(
                f"{v:.0f}",
                (v, y + height / 2),
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
                fontsize=7,
            )
        ax.set_yticks(ys, names)
        ax.set_xlim(0, 108)
        ax.axvline(50, color="#9AA5B4", lw=0.8, ls="--")
        ax.grid(axis="y", visible=False)
        ax.set_title(t("report.chart.anchors_title"))
        ax.legend(loc="lower right")
        return _png(fig)


def _wrap(label: str, width: int = 12) -> str:
    """Break a long (English) axis label onto two lines at a space."""
    if len(label) <= width or " " not in label:
        return label
    cut = label.rfind(" ", 0, width + 1)
    cut = cut if cut > 0 else label.find(" ")
    return label[:cut] + "\n" + label[cut + 1 :]


def _short(name: str, limit: int = 14) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def buffer_chart(buffer: pl.DataFrame) -> bytes:
    """The complainer's next-message sentiment after an official first reply
    and after a member's empathy, per month and over the window
    (``MonthlyReport.buffer``), with the count of answers under each month."""
    with _style():
        fig = Figure(figsize=(WIDTH_IN, 2.9), layout="constrained")
        ax = fig.subplots()
        if buffer.height == 0:
            _empty(ax, "report.buffer.none")
            return _png(fig)
        months = buffer["month"].to_list()
        rows = list(buffer.iter_rows(named=True))
        order = rows[1:] + rows[:1]  # the months, then the whole window last
        labels = [
            (t("report.chart.window") if r["month"] == months[0] else r["month"][2:])
            + f"\n{r['n_official']}/{r['n_member']}"
            for r in order
        ]
        xs = list(range(len(order)))
        width = 0.38
        for offset, side in ((-width / 2, "official"), (width / 2, "member")):
            values = [r[f"mean_{side}"] for r in order]
            ax.bar(
                [x + offset for x in xs],
                [0.0 if v is None else v for v in values],
                width,
                color=PALETTE[side],
                label=t(f"report.buffer.{side}"),
            )
        overall = order[-1]
        if overall["ci_low"] is not None and overall["mean_official"] is not None:
            x = xs[-1] + width / 2
            mid = overall["mean_official"] + overall["difference"]
            ax.errorbar(
                [x],
                [mid],
                yerr=[
                    [mid - (overall["mean_official"] + overall["ci_low"])],
                    [overall["mean_official"] + overall["ci_high"] - mid],
                ],
                fmt="none",
                ecolor=PALETTE["text"],
                capsize=3,
                lw=1,
            )
        ax.axvline(xs[-1] - 0.5, color="#9AA5B4", lw=0.8, ls=":")
        ax.axhline(0, color="#9AA5B4", lw=0.8)
        ax.set_xticks(xs, labels)
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="x", visible=False)
        ax.set_title(t("report.chart.buffer_title"))
        ax.set_ylabel(t("report.chart.mood_axis"))
        ax.legend(loc="best", ncols=2)
        return _png(fig)


def report_charts(report: MonthlyReport) -> dict[str, bytes]:
    """Every chart of a report, by section name."""
    return {
        "mood": mood_heat_chart(report.mood_daily, report.month, report.options.rolling_days),
        "episodes": episodes_chart(report.episodes),
        "anchors": anchors_chart(report.anchors),
        "buffer": buffer_chart(report.buffer),
    }


__all__ = [
    "CJK_FONTS",
    "PALETTE",
    "SIGNATURES",
    "MissingCJKFont",
    "anchors_chart",
    "buffer_chart",
    "chart_fonts",
    "episodes_chart",
    "mood_heat_chart",
    "report_charts",
]
