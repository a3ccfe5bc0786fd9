"""Background jobs of the web app: an import or an analysis, one at a time.

A job runs in a thread of the app's process and reports its progress into a
:class:`Job` that the ``/import`` page (through a small JSON status endpoint)
and ``/api/v1/imports`` read.  Only one job runs per app: a second one is
refused with :class:`JobBusy`, because two writers on one store (and two
analyses competing for the CPU) help no one.  The work is the same as the
CLI's: :func:`anchorwatch.ingest.loader.import_source` and the ``analyze``
stages (:func:`anchorwatch.engines.local.run_signals`,
:func:`anchorwatch.engines.episodes.run_episodes`).

The rejects file of an import stays in the runner's private folder (for
download) until a newer job pushes it out or the app stops; the uploaded file
is deleted as soon as its import ends.
"""

from __future__ import annotations

import heapq
import logging
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI

from anchorwatch.i18n import t
from anchorwatch.ingest.base import Source
from anchorwatch.store import Store

log = logging.getLogger(__name__)

KINDS = ("import", "analyze")
#: Finished jobs remembered (with their rejects files).
KEEP = 10


class JobBusy(RuntimeError):
    """Another job is running."""

    def __init__(self, job: Job) -> None:
        super().__init__(f"job {job.id} ({job.kind}) is running")
        self.job = job


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class Job:
    """One import or analysis and how far it got."""

    id: str
    kind: str
    user: str
    label: str = ""
    state: str = "running"
    phase: str = "start"
    done: int = 0
    total: int | None = None
    started_at: datetime = field(default_factory=_now)
    finished_at: datetime | None = None
    summary: dict[str, Any] | None = None
    #: The first rejected rows (line, code, reason, raw); all are in ``rejects_file``.
    rejects: list[dict[str, Any]] = field(default_factory=list)
    rejects_file: Path | None = None
    error: tuple[str, dict[str, Any]] | None = None

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def percent(self) -> float | None:
        if self.state == "done":
            return 100.0
        if not self.total:
            return None
        return round(min(100.0, 100.0 * self.done / self.total), 1)

    def progress(self, phase: str, done: int, total: int | None) -> None:
        self.phase, self.done, self.total = phase, done, total

    def message(self, locale: str | None) -> str | None:
        if self.error is None:
            return None
        code, params = self.error
        return t(code, locale, **params)

    def status(self, locale: str | None = None) -> dict[str, Any]:
        """The job as JSON (the page's poll and the API answer this)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "phase": self.phase,
            "phase_label": t(f"web.job.phase.{self.phase}", locale),
            "done": self.done,
            "total": self.total,
            "percent": self.percent,
            "user": self.user,
            "label": self.label,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "summary": self.summary,
            "rejected": int((self.summary or {}).get("rejected") or 0),
            "error": self.error[0] if self.error else None,
            "message": self.message(locale),
        }

    def iter_rejects(self) -> Iterator[dict[str, Any]]:
        """Every rejected row (from the rejects file), in source-line order.

        The file is in the order rows were rejected: the main pass in line
        order, then the rows held back for a reply or reaction target that
        never came.  Those sorted runs are merged, so memory stays bounded.
        """
        if self.rejects_file is None or not self.rejects_file.is_file():
            yield from sorted(self.rejects, key=lambda r: int(r["line"]))
            return
        path = self.rejects_file
        starts, previous, position = [0], -1, 0
        with path.open("rb") as fh:
            for raw in fh:
                if raw.strip():
                    line = int(orjson.loads(raw)["line"])
                    if line < previous:
                        starts.append(position)
                    previous = line
                position += len(raw)
        ends = [*starts[1:], position]

        def run(start: int, end: int) -> Iterator[dict[str, Any]]:
            with path.open("rb") as fh:
                fh.seek(start)
                while fh.tell() < end:
                    raw = fh.readline()
                    if raw.strip():
                        yield orjson.loads(raw)

        runs = [run(a, b) for a, b in zip(starts, ends, strict=True)]
        yield from heapq.merge(*runs, key=lambda r: int(r["line"]))


class JobRunner:
    """Runs at most one job at a time over one store."""

    def __init__(self, store: Store, on_finish: Callable[[Job], None] | None = None) -> None:
        self.store = store
        self.on_finish = on_finish
        self.workdir = Path(tempfile.mkdtemp(prefix="anchorwatch-jobs-"))
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    @property
    def current(self) -> Job | None:
        """The running job, else the latest one."""
        with self._lock:
            jobs = list(self._jobs.values())
        running = [j for j in jobs if j.running]
        return running[0] if running else (jobs[-1] if jobs else None)

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def start(
        self,
        kind: str,
        user: str,
        work: Callable[[Job], None],
        *,
        label: str = "",
        cleanup: Path | None = None,
    ) -> Job:
        """Start ``work(job)`` in a thread; :class:`JobBusy` if a job runs."""
        if kind not in KINDS:
            raise ValueError(kind)
        with self._lock:
            for job in self._jobs.values():
                if job.running:
                    raise JobBusy(job)
            job = Job(secrets.token_hex(8), kind, user, label)
            self._jobs[job.id] = job
            self._prune()
        thread = threading.Thread(
            target=self._run, args=(job, work, cleanup), name=f"anchorwatch-{kind}", daemon=True
        )
        self._threads = [th for th in self._threads if th.is_alive()] + [thread]
        thread.start()
        return job

    def _prune(self) -> None:
        finished = [j for j in self._jobs.values() if not j.running]
        for job in finished[: max(0, len(self._jobs) - KEEP)]:
            del self._jobs[job.id]
            if job.rejects_file is not None:
                job.rejects_file.unlink(missing_ok=True)

    def _run(self, job: Job, work: Callable[[Job], None], cleanup: Path | None) -> None:
        try:
            work(job)
            job.state = "done"
            job.phase = "done"
        except Exception as exc:
            log.exception("%s job %s failed", job.kind, job.id)
            job.state = "failed"
            job.phase = "failed"
            code = getattr(exc, "code", None)
            if isinstance(code, str) and code.startswith("error."):
                job.error = (code, dict(getattr(exc, "params", {}) or {}))
            else:
                job.error = ("error.job_failed", {"detail": str(exc)[:300] or type(exc).__name__})
        finally:
            job.finished_at = _now()
            if cleanup is not None:
                shutil.rmtree(cleanup, ignore_errors=True)
            if self.on_finish is not None:
                self.on_finish(job)

    def wait(self, timeout: float = 30.0) -> bool:
        """Wait for the running job (tests, shutdown); ``False`` on time-out."""
        deadline = time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(th.is_alive() for th in self._threads)

    def close(self) -> None:
        """Forget the finished jobs and their files (the app stops)."""
        shutil.rmtree(self.workdir, ignore_errors=True)


_create_lock = threading.Lock()


def jobs_of(app: FastAPI) -> JobRunner:
    """The app's job runner (made on first use); finished jobs clear the views."""
    found: JobRunner | None = getattr(app.state, "jobs", None)
    if found is None:
        with _create_lock:
            found = getattr(app.state, "jobs", None)
            if found is None:
                views = app.state.views
                found = JobRunner(app.state.store, on_finish=lambda _job: views.clear())
                app.state.jobs = found
    return found


# ----------------------------------------------------------------- the work


def import_work(
    store: Store, source: Source, *, timezone: tzinfo, locale: str, rejects_dir: Path
) -> Callable[[Job], None]:
    """The work of an import job: land ``source``, keep the summary and the
    rejects (all of them in ``rejects_dir``, for download)."""

    def work(job: Job) -> None:
        from anchorwatch.ingest.loader import import_source

        job.rejects_file = rejects_dir / f"rejects-{job.id}.jsonl"
        job.progress("import", 0, source.total)
        summary = import_source(
            store,
            source,
            rejects_path=job.rejects_file,
            timezone=timezone,
            progress=lambda pos: job.progress("import", pos, source.total),
            locale=locale,
        )
        if summary.rejected == 0:
            job.rejects_file.unlink(missing_ok=True)
            job.rejects_file = None
        job.rejects = [
            {"line": r.line, "code": r.code, "reason": r.reason, "raw": r.raw}
            for r in sorted(summary.rejects, key=lambda r: r.line)
        ]
        job.summary = {
            "source": job.label or summary.source,
            "format": summary.format,
            "read": summary.read,
            "new": summary.new,
            "unchanged": summary.unchanged,
            "rejected": summary.rejected,
            "erased": summary.erased,
            "skipped": summary.skipped,
            "seconds": round(summary.seconds, 2),
            "exit_code": summary.exit_code,
        }

    return work


def analyze_work(store: Store) -> Callable[[Job], None]:
    """The work of an analysis job: signals, then episodes and outcomes
    (incremental: only what is new is scored)."""

    def work(job: Job) -> None:
        from anchorwatch.engines.episodes import run_episodes
        from anchorwatch.engines.local import run_signals
        from anchorwatch.signals.registry import get_detector

        job.progress("model", 0, None)
        detector = get_detector()
        job.progress("signals", 0, None)
        run = run_signals(
            store, detector, progress=lambda done, total: job.progress("signals", done, total)
        )
        job.progress("episodes", 0, None)
        encoder = getattr(detector, "encoder", detector)
        eps = run_episodes(
            store,
            embedder=getattr(encoder, "embedder", None),
            progress=lambda done, total: job.progress("episodes", done, total),
        )
        job.summary = {
            "backend": run.backend,
            "scored": run.scored,
            "already": run.already,
            "messages_per_s": round(run.messages_per_s, 1),
            "threaded": eps.messages,
            "episodes_written": eps.episodes_written,
            "kinds": dict(sorted(eps.kinds.items())),
            "recomputed_all": eps.recomputed_all,
            "seconds": round(run.seconds + eps.seconds, 2),
        }

    return work
