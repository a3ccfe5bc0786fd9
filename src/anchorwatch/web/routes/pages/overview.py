"""``/``: the community overview: mood and heat over time, episodes and their
outcomes, the buffer effect and the repeated questions (every role)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from anchorwatch.web.pages import PageDep
from anchorwatch.web.views import views_of

router = APIRouter(include_in_schema=False)

#: Chart colours, shared with the reports so a brand sees one palette.
MOOD, HEAT, BAR, BAR_PREV = "#1f5fbf", "#d1432f", "#2f6f73", "#9fb3c8"


def mood_chart(daily: Any, t: Any) -> str:
    days = [d.isoformat() for d in daily["day"]]
    config = {
        "type": "line",
        "data": {
            "labels": days,
            "datasets": [
                {
                    "label": t("web.overview.mood"),
                    "data": [None if v is None else round(v, 3) for v in daily["mood_rolling"]],
                    "borderColor": MOOD,
                    "yAxisID": "mood",
                    "pointRadius": 0,
                    "borderWidth": 2,
                },
                {
                    "label": t("web.overview.heat"),
                    "data": [None if v is None else round(v, 3) for v in daily["heat_rolling"]],
                    "borderColor": HEAT,
                    "yAxisID": "heat",
                    "pointRadius": 0,
                    "borderWidth": 2,
                },
            ],
        },
        "options": {
            "interaction": {"mode": "index", "intersect": False},
            "scales": {
                "mood": {"position": "left", "min": -1, "max": 1},
                "heat": {"position": "right", "min": 0, "grid": {"drawOnChartArea": False}},
                "x": {"ticks": {"maxTicksLimit": 8}},
            },
        },
    }
    return json.dumps(config, ensure_ascii=False)


def episodes_chart(episodes: Any, t: Any) -> str:
    kinds = list(episodes["kind"])
    config = {
        "type": "bar",
        "data": {
            "labels": [t(f"episode.kind.{k}") for k in kinds],
            "datasets": [
                {
                    "label": t("web.overview.this_month"),
                    "data": list(episodes["episodes"]),
                    "backgroundColor": BAR,
                },
                {
                    "label": t("web.overview.previous_month"),
                    "data": [v or 0 for v in episodes["episodes_previous"]],
                    "backgroundColor": BAR_PREV,
                },
            ],
        },
    }
    return json.dumps(config, ensure_ascii=False)


@router.get("/", response_class=HTMLResponse)
def overview(page: PageDep) -> HTMLResponse:
    views = views_of(page.request)
    month = page.request.query_params.get("month") or views.latest_month()
    if month is None:
        return page.render("pages/empty.html")
    from anchorwatch.reports.monthly import ReportError

    try:
        report = views.report(month)
    except ReportError:
        return page.render("pages/empty.html", month=month, status_code=404)
    return page.render_cached(
        "pages/overview.html",
        f"overview:{month}",
        lambda: {
            "month": month,
            "report": report,
            "summary": {r["metric"]: r for r in report.summary.iter_rows(named=True)},
            "mood_chart": mood_chart(report.mood_daily, page.t),
            "episodes_chart": episodes_chart(report.episodes, page.t),
            "faq": views.faq(10).to_dicts(),
            "buffer": report.buffer.to_dicts(),
        },
    )
