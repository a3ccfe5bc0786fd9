"""``/api/v1/imports`` and ``/api/v1/analyses``: what the ``/import`` page
does, for scripts (admin and operator).

``POST /api/v1/imports`` takes the file as ``multipart/form-data`` (the same
fields as the page) and answers 202 with the job; poll
``GET /api/v1/imports/{id}`` until ``state`` is ``done`` or ``failed``, then
read the summary there and every rejected row at ``.../rejects``.
``POST /api/v1/analyses`` runs ``analyze`` the same way.  One job runs at a
time per app (409 otherwise).  Messages follow ``Accept-Language``.
"""

from __future__ import annotations

from datetime import datetime
from itertools import islice
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel

from anchorwatch.i18n import current_locale, t
from anchorwatch.web.deps import UserDep, require_roles
from anchorwatch.web.jobs import Job, JobBusy, analyze_work, jobs_of
from anchorwatch.web.uploads import (
    DEFAULT_TIMEZONE,
    FORMAT_CHOICES,
    UploadError,
    check_length,
    submit_import,
)

router = APIRouter(
    prefix="/api/v1",
    tags=["imports"],
    dependencies=[Depends(require_roles("admin", "operator"))],
)

JobId = Annotated[str, Path(min_length=1, max_length=40)]

_MULTIPART: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "anchorwatch JSONL, CSV/XLSX, or a WeChat export",
                        },
                        "format": {"type": "string", "enum": list(FORMAT_CHOICES)},
                        "mapping": {
                            "type": "string",
                            "format": "binary",
                            "description": "YAML column mapping (CSV and XLSX)",
                        },
                        "channel": {"type": "string", "description": "WeChat exports"},
                        "timezone": {"type": "string", "default": DEFAULT_TIMEZONE},
                    },
                }
            }
        },
    }
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"description": "another import or analysis is running"},
    411: {"description": "no Content-Length"},
    413: {"description": "the file is over the upload limit"},
    415: {"description": "not a file type anchorwatch imports"},
}


class JobOut(BaseModel):
    """An import or analysis job and how far it got."""

    id: str
    kind: str
    state: str
    phase: str
    phase_label: str
    done: int
    total: int | None
    percent: float | None
    user: str
    label: str
    started_at: datetime
    finished_at: datetime | None
    summary: dict[str, Any] | None
    rejected: int
    error: str | None
    message: str | None


class RejectOut(BaseModel):
    """A rejected source row: its line, the reason (code and words) and the row."""

    line: int
    code: str
    reason: str
    raw: str | None


def _locale(request: Request) -> str:
    return current_locale(request.headers.get("accept-language") or "zh-CN")


def _problem(status: int, code: str, message: str) -> HTTPException:
    return HTTPException(status, detail={"code": code, "message": message})


def _busy(request: Request, job: Job) -> HTTPException:
    loc = _locale(request)
    message = t(
        "error.job_busy",
        loc,
        kind=t(f"web.job.kind.{job.kind}", loc),
        user=job.user,
        started=f"{job.started_at:%H:%M:%S}",
    )
    return _problem(409, "error.job_busy", message)


def _job(request: Request, job_id: str, kind: str) -> Job:
    job = jobs_of(request.app).get(job_id)
    if job is None or job.kind != kind:
        raise HTTPException(404, detail="error.no_job")
    return job


@router.post("/imports", status_code=202, openapi_extra=_MULTIPART, responses=_ERRORS)
async def create_import(request: Request, user: UserDep) -> JobOut:
    """Upload a file and import it in the background (like ``anchorwatch import``)."""
    app = request.app
    limit = app.state.settings.upload_max_bytes
    loc = _locale(request)
    try:
        check_length(request, limit)
        form = await request.form(max_files=2, max_fields=10)
        job = await submit_import(
            jobs_of(app), app.state.store, form, user=user.name, locale=loc, limit=limit
        )
    except UploadError as exc:
        raise _problem(exc.status, exc.code, t(exc.code, loc, **exc.params)) from None
    except JobBusy as exc:
        raise _busy(request, exc.job) from None
    return JobOut(**job.status(loc))


@router.get("/imports/{job_id}")
def import_status(request: Request, job_id: JobId) -> JobOut:
    """An import job: progress while it runs, then the summary."""
    return JobOut(**_job(request, job_id, "import").status(_locale(request)))


@router.get("/imports/{job_id}/rejects")
def import_rejects(
    request: Request,
    job_id: JobId,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[RejectOut]:
    """Every rejected row of a finished import, in source order."""
    job = _job(request, job_id, "import")
    rows = islice(job.iter_rejects(), offset, offset + limit)
    return [RejectOut.model_validate({k: r.get(k) for k in RejectOut.model_fields}) for r in rows]


@router.post("/analyses", status_code=202, responses={409: _ERRORS[409]})
def create_analysis(request: Request, user: UserDep) -> JobOut:
    """Run ``analyze`` (signals, episodes, outcomes) in the background; only
    what is new since the last run is scored."""
    app = request.app
    try:
        job = jobs_of(app).start("analyze", user.name, analyze_work(app.state.store))
    except JobBusy as exc:
        raise _busy(request, exc.job) from None
    return JobOut(**job.status(_locale(request)))


@router.get("/analyses/{job_id}")
def analysis_status(request: Request, job_id: JobId) -> JobOut:
    """An analysis job: progress while it runs, then the summary."""
    return JobOut(**_job(request, job_id, "analyze").status(_locale(request)))
