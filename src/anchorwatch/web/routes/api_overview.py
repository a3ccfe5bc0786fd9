"""``/api/v1/overview``: the monthly figures of the overview page (every role).

The same figures as the monthly report's community edition
(:func:`anchorwatch.reports.monthly.monthly_report`): headline figures beside
the month before, daily and monthly mood and heat, episodes and their
outcomes, the quadrant counts, the buffer effect and the most repeated
newcomer questions.  Computed once per state of the store (``web/views.py``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel

from anchorwatch.web.deps import current_user
from anchorwatch.web.views import views_of

router = APIRouter(prefix="/api/v1", tags=["overview"], dependencies=[Depends(current_user)])

MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"


class Figure(BaseModel):
    """A headline figure: ``format`` is ``count``, ``share`` (0..1) or ``score`` (-1..1)."""

    metric: str
    value: float | None
    previous: float | None
    format: str


class DailyMood(BaseModel):
    day: date
    messages: int
    mood: float | None
    heat: float | None
    mood_rolling: float | None
    heat_rolling: float | None


class MonthlyMood(BaseModel):
    month: str
    messages: int
    members: int
    mood: float | None
    heat: float | None


class EpisodeFigures(BaseModel):
    """Episodes of one kind this month and last, with the headline outcome rate."""

    kind: str
    episodes: int
    episodes_previous: int | None
    headline: str
    rate: float | None
    rate_previous: float | None


class QuadrantCount(BaseModel):
    quadrant: str
    members: int


class BufferRow(BaseModel):
    """The buffer effect of a month (``*``: every month of the window)."""

    month: str
    n_official: int
    n_member: int
    mean_official: float | None
    mean_member: float | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None


class RepeatedQuestion(BaseModel):
    cluster: str
    asked: int
    answered_share: float | None
    first_asked: datetime
    last_asked: datetime
    example: str


class Overview(BaseModel):
    month: str
    previous_month: str
    months: list[str]
    data_end: date | None
    summary: list[Figure]
    mood_daily: list[DailyMood]
    mood_monthly: list[MonthlyMood]
    episodes: list[EpisodeFigures]
    quadrants: list[QuadrantCount]
    buffer: list[BufferRow]
    repeated_questions: list[RepeatedQuestion]


def _rows(frame: Any, model: type[BaseModel]) -> list[Any]:
    keep = [c for c in model.model_fields if c in frame.columns]
    return [model.model_validate(r) for r in frame.select(keep).iter_rows(named=True)]


@router.get("/overview")
def overview(
    request: Request,
    month: Annotated[
        str | None, Query(pattern=MONTH, description="YYYY-MM; default: the latest")
    ] = None,
) -> Overview:
    """The monthly figures of ``month`` (default: the latest month with messages)."""
    from anchorwatch.reports.monthly import ReportError

    views = views_of(request)
    month = month or views.latest_month()
    if month is None:
        raise HTTPException(404, detail="error.report_no_data")

    def build() -> Overview:
        report = views.report(month)
        return Overview(
            month=report.month,
            previous_month=report.previous_month,
            months=list(report.months),
            data_end=report.data_end,
            summary=_rows(report.summary, Figure),
            mood_daily=_rows(report.mood_daily, DailyMood),
            mood_monthly=_rows(report.mood_monthly, MonthlyMood),
            episodes=_rows(report.episodes, EpisodeFigures),
            quadrants=_rows(report.quadrants, QuadrantCount),
            buffer=_rows(report.buffer, BufferRow),
            repeated_questions=_rows(views.faq(10), RepeatedQuestion),
        )

    try:
        found: Overview = views.cache.get(f"api:overview:{month}", build)
    except ReportError as exc:
        raise HTTPException(404, detail=exc.code) from None
    return found
