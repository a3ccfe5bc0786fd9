"""``/import``: upload a file, watch the import run, read its summary and its
rejects, then run the analysis (admin and operator).

The upload is imported by the same loader as ``anchorwatch import``, in a
background job (``web/jobs.py``); the page polls ``/import/jobs/ID`` from
``/static/import.js`` and shows the finished summary when the job ends.  One
import or analysis runs at a time per app.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from sqlalchemy import select

from anchorwatch.store import Store, schema
from anchorwatch.web.jobs import Job, JobBusy, analyze_work, jobs_of
from anchorwatch.web.pages import SECURITY_HEADERS, Page, page_roles
from anchorwatch.web.uploads import (
    FORMAT_CHOICES,
    MAPPING_SUFFIXES,
    SOURCE_SUFFIXES,
    UploadError,
    check_length,
    max_mb,
    submit_import,
)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    runner = getattr(app.state, "jobs", None)
    if runner is not None:
        runner.close()


router = APIRouter(include_in_schema=False, lifespan=_lifespan)

ImportPage = Annotated[Page, Depends(page_roles("admin", "operator"))]
#: Rows of the rejects table on the page (the download has them all).
REJECTS_SHOWN = 50
RECENT_IMPORTS = 8
#: Spreadsheet programs run cells that start with these: prefix them with '.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _busy(page: Page, job: Job) -> str:
    return page.t(
        "error.job_busy",
        kind=page.t(f"web.job.kind.{job.kind}"),
        user=job.user,
        started=f"{job.started_at:%H:%M:%S}",
    )


def _recent_imports(store: Store) -> list[dict[str, Any]]:
    imp = schema.imports
    with store.engine.connect() as conn:
        rows = conn.execute(select(imp).order_by(imp.c.id.desc()).limit(RECENT_IMPORTS)).all()
    out = []
    for r in rows:
        counts = dict(r.counts or {})
        out.append(
            {
                "source": Path(r.source).name,
                "format": r.format,
                "started_at": r.started_at,
                "finished_at": r.finished_at,
                "read": counts.get("read"),
                "new_messages": (counts.get("new") or {}).get("messages"),
                "rejected": counts.get("rejected"),
            }
        )
    return out


def _render(
    page: Page, job: Job | None, *, error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    request = page.request
    limit = request.app.state.settings.upload_max_bytes
    runner = jobs_of(request.app)
    running = runner.current
    return page.render(
        "pages/import.html",
        status_code=status_code,
        job=job,
        status=job.status(page.locale) if job else None,
        rejects=(job.rejects[:REJECTS_SHOWN] if job else []),
        busy=running is not None and running.running,
        error=error,
        formats=FORMAT_CHOICES,
        accept=",".join((*SOURCE_SUFFIXES,)),
        accept_mapping=",".join(MAPPING_SUFFIXES),
        max_bytes=limit,
        max_mb=max_mb(limit),
        recent=_recent_imports(request.app.state.store),
    )


@router.get("/import", response_class=HTMLResponse)
def import_page(page: ImportPage, job: str | None = None) -> HTMLResponse:
    runner = jobs_of(page.request.app)
    shown = runner.get(job) if job else runner.current
    return _render(page, shown)


@router.post("/import", response_model=None)
async def upload(page: ImportPage) -> Response:
    app = page.request.app
    limit = app.state.settings.upload_max_bytes
    runner = jobs_of(app)
    try:
        # Only a header is read here: a too-big upload is refused before its
        # body is; nothing changes before the CSRF check of page.form().
        check_length(page.request, limit)
    except UploadError as exc:
        return _render(
            page, runner.current, error=page.t(exc.code, **exc.params), status_code=exc.status
        )
    form = await page.form()
    try:
        job = await submit_import(
            runner, app.state.store, form, user=page.user.name, locale=page.locale, limit=limit
        )
    except UploadError as exc:
        return _render(
            page, runner.current, error=page.t(exc.code, **exc.params), status_code=exc.status
        )
    except JobBusy as exc:
        return _render(page, exc.job, error=_busy(page, exc.job), status_code=409)
    return RedirectResponse(f"/import?job={job.id}", status_code=303)


@router.post("/import/analyze", response_model=None)
async def analyze(page: ImportPage) -> Response:
    await page.form()
    app = page.request.app
    runner = jobs_of(app)
    try:
        job = runner.start("analyze", page.user.name, analyze_work(app.state.store))
    except JobBusy as exc:
        return _render(page, exc.job, error=_busy(page, exc.job), status_code=409)
    return RedirectResponse(f"/import?job={job.id}", status_code=303)


def _job_or_404(page: Page, job_id: str) -> Job | None:
    return jobs_of(page.request.app).get(job_id)


@router.get("/import/jobs/{job_id}", response_model=None)
def job_status(page: ImportPage, job_id: str) -> Response:
    """The job's progress as JSON (polled by ``/static/import.js``)."""
    job = _job_or_404(page, job_id)
    if job is None:
        return JSONResponse({"detail": "not found"}, status_code=404, headers=SECURITY_HEADERS)
    return JSONResponse(job.status(page.locale), headers=SECURITY_HEADERS)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def _csv_rows(job: Job) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    yield "\ufeff"  # so that spreadsheet programs read UTF-8
    writer.writerow(["line", "code", "reason", "raw"])
    for r in job.iter_rejects():
        writer.writerow(
            [r.get("line"), _cell(r.get("code")), _cell(r.get("reason")), _cell(r.get("raw"))]
        )
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
    yield buf.getvalue()


def _jsonl_rows(job: Job) -> Iterator[bytes]:
    import orjson

    for r in job.iter_rejects():
        yield orjson.dumps(r) + b"\n"


@router.get("/import/jobs/{job_id}/rejects.{ext}", response_model=None)
def rejects_download(page: ImportPage, job_id: str, ext: str) -> Response:
    """Every rejected row of an import: line, code, reason and the raw row."""
    job = _job_or_404(page, job_id)
    if job is None or job.kind != "import" or ext not in ("csv", "jsonl"):
        return JSONResponse({"detail": "not found"}, status_code=404, headers=SECURITY_HEADERS)
    headers = {
        **SECURITY_HEADERS,
        "Content-Disposition": f'attachment; filename="rejects-{job.id}.{ext}"',
    }
    if ext == "csv":
        return StreamingResponse(
            _csv_rows(job), media_type="text/csv; charset=utf-8", headers=headers
        )
    return StreamingResponse(_jsonl_rows(job), media_type="application/x-ndjson", headers=headers)
