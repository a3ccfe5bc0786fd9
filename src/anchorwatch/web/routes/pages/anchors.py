"""``/anchors``: the content/emotional value quadrant and the ranking by
emotional value (every role)."""

from __future__ import annotations

import json
from typing import Any

import polars as pl
from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from anchorwatch.members.value import QUADRANTS
from anchorwatch.web.pages import PageDep
from anchorwatch.web.views import views_of

router = APIRouter(include_in_schema=False)

COLOURS = {
    "invisible_anchor": "#d1432f",
    "star": "#2f6f73",
    "creator": "#1f5fbf",
    "quiet": "#9fb3c8",
}


def quadrant_chart(rows: pl.DataFrame, t: Any) -> str:
    datasets = []
    for q in QUADRANTS:
        part = rows.filter(pl.col("quadrant") == q)
        datasets.append(
            {
                "label": t(f"quadrant.{q}"),
                "data": [
                    {"x": c, "y": v, "name": n}
                    for c, v, n in zip(
                        part["content_index"], part["value_index"], part["name"], strict=True
                    )
                ],
                "backgroundColor": COLOURS[q],
                "pointRadius": 4,
            }
        )
    config = {
        "type": "scatter",
        "data": {"datasets": datasets},
        "options": {
            "scales": {
                "x": {
                    "min": 0,
                    "max": 100,
                    "title": {"display": True, "text": t("web.anchors.content")},
                },
                "y": {
                    "min": 0,
                    "max": 100,
                    "title": {"display": True, "text": t("web.anchors.value")},
                },
            },
        },
    }
    return json.dumps(config, ensure_ascii=False)


@router.get("/anchors", response_class=HTMLResponse)
def anchors(page: PageDep) -> HTMLResponse:
    views = views_of(page.request)
    rows = views.members("month").rows
    periods: list[str] = views.cache.get(
        "periods:month",
        lambda: sorted(rows.filter(pl.col("messages") > 0)["period"].unique().to_list()),
    )
    # Only known values reach the cache key.
    asked = page.request.query_params.get("period")
    period = asked if asked in periods else (periods[-1] if periods else None)
    quadrant = page.request.query_params.get("quadrant")
    quadrant = quadrant if quadrant in QUADRANTS else None
    if period is None:
        return page.render("pages/empty.html")

    def context() -> dict[str, Any]:
        frames = views.frames()
        staff = frames.staff
        names = pl.DataFrame(
            {"member": list(frames.names), "name": list(frames.names.values())},
            schema={"member": pl.String, "name": pl.String},
        )
        month = (
            rows.filter((pl.col("period") == period) & ~pl.col("member").is_in(list(staff)))
            .filter(pl.col("episodes_served") + pl.col("reads") + pl.col("messages") > 0)
            .join(names, on="member", how="left")
        )
        # The chart shows the members with any value, the strongest 1,500 at most:
        # past that a scatter is ink, and the page would carry megabytes.
        plotted = (
            month.filter(pl.col("value_index") + pl.col("content_index") > 0)
            .sort(pl.col("value_index") + pl.col("content_index"), descending=True)
            .head(1500)
        )
        chart = quadrant_chart(plotted, page.t)
        ranked = month.filter(pl.col("value_index") > 0)
        if quadrant is not None:
            ranked = ranked.filter(pl.col("quadrant") == quadrant)
        ranked = ranked.sort(["value_index", "member"], descending=[True, False]).head(100)
        counts = {q: month.filter(pl.col("quadrant") == q).height for q in QUADRANTS}
        return {
            "period": period,
            "periods": periods[-13:],
            "quadrant": quadrant,
            "quadrants": QUADRANTS,
            "counts": counts,
            "chart": chart,
            "rows": ranked.to_dicts(),
        }

    return page.render_cached("pages/anchors.html", f"anchors:{period}:{quadrant}", context)
