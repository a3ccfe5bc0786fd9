"""File uploads of ``/import`` and ``POST /api/v1/imports``.

An upload is refused before its body is read when the request says it is too
big (``Content-Length`` over the limit; a request without one is refused
too), and again while it is copied.  The client's file name is never used as
given: it is cut to its last component, reduced to letters, digits, ``.``,
``-`` and ``_``, and must end in an extension of the formats ``anchorwatch
import`` reads; an XLSX must be a ZIP container.  The file goes to a private
temporary folder (``mkdtemp``: mode 0700) that is deleted when the import
ends, whatever happens.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from anchorwatch.ingest import FORMATS
from anchorwatch.ingest.registry import SourceError, open_source
from anchorwatch.records import resolve_timezone
from anchorwatch.store import Store
from anchorwatch.web.jobs import Job, JobBusy, JobRunner, import_work

SOURCE_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".txt", ".xlsx", ".xlsm")
MAPPING_SUFFIXES = (".yaml", ".yml")
FORMAT_CHOICES = ("auto", *FORMATS)
MAPPING_MAX_BYTES = 2**20
#: Room for the form fields and the multipart framing around the files.
OVERHEAD_BYTES = MAPPING_MAX_BYTES + 64 * 2**10
DEFAULT_TIMEZONE = "Asia/Shanghai"
_CHUNK = 2**20
#: SourceError codes whose CLI wording names a command-line option.
_WEB_WORDING = {
    "error.unknown_format": "web.import.error.unknown_format",
    "error.mapping_required": "web.import.error.mapping_required",
}


class UploadError(Exception):
    """An upload refused; ``code`` is an i18n key, ``status`` the HTTP status."""

    def __init__(self, code: str, status: int = 400, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.status = status
        self.params = params


def max_mb(limit: int) -> str:
    return f"{limit / 2**20:,.0f}"


def check_length(request: Request, limit: int) -> None:
    """Refuse (411/413) before reading the body of a too-big upload."""
    raw = request.headers.get("content-length")
    if raw is None:
        raise UploadError("error.upload_length", 411)
    try:
        length = int(raw)
    except ValueError:
        raise UploadError("error.upload_length", 411) from None
    if length > limit + OVERHEAD_BYTES:
        raise UploadError("error.upload_too_big", 413, max_mb=max_mb(limit))


def safe_name(filename: str | None) -> str:
    """A file name made only of safe characters, from whatever the client sent.

    >>> safe_name("../../etc/passwd"), safe_name("C:\\\\数据\\\\车主群 3月.jsonl")
    ('passwd', '车主群_3月.jsonl')
    """
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    name = re.sub(r"[^\w.\-]+", "_", name).strip("._-")
    if len(name) > 100:
        stem, dot, suffix = name.rpartition(".")
        name = (
            f"{stem[: 99 - len(suffix)]}{dot}{suffix}" if dot and len(suffix) < 10 else name[:100]
        )
    return name or "upload"


def _copy(src: IO[bytes], dest: Path, limit: int) -> int:
    size = 0
    with dest.open("xb") as out:
        while chunk := src.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise UploadError("error.upload_too_big", 413, max_mb=max_mb(limit))
            out.write(chunk)
    return size


async def save_upload(
    upload: Any, directory: Path, suffixes: tuple[str, ...], limit: int
) -> tuple[Path, str]:
    """Copy ``upload`` into ``directory`` under a safe name; ``(path, name)``."""
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise UploadError("error.upload_missing")
    name = safe_name(upload.filename)
    suffix = Path(name).suffix.lower()
    if suffix not in suffixes:
        raise UploadError("error.upload_type", 415, name=name, allowed=" ".join(suffixes))
    if upload.size is not None and upload.size > limit:
        raise UploadError("error.upload_too_big", 413, max_mb=max_mb(limit))
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    await upload.seek(0)
    size = await run_in_threadpool(_copy, upload.file, path, limit)
    if size == 0:
        raise UploadError("error.upload_empty", name=name)
    if suffix in (".xlsx", ".xlsm"):
        with path.open("rb") as fh:
            if fh.read(4) != b"PK\x03\x04":
                raise UploadError("error.upload_unreadable", name=name)
    return path, name


def _field(form: Mapping[str, Any], name: str, default: str = "") -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else default


async def submit_import(
    runner: JobRunner,
    store: Store,
    form: Mapping[str, Any],
    *,
    user: str,
    locale: str,
    limit: int,
) -> Job:
    """Check the form, save its files, open the source and start the import.

    ``form`` holds ``file`` (required), ``format`` (``auto`` or one of
    :data:`anchorwatch.ingest.FORMATS`), ``mapping`` (a YAML column-mapping
    file, for CSV and XLSX), ``channel`` (WeChat exports) and ``timezone``.
    Raises :class:`UploadError` or :class:`~anchorwatch.web.jobs.JobBusy`.
    """
    fmt = _field(form, "format") or "auto"
    if fmt not in FORMAT_CHOICES:
        raise UploadError("error.upload_format", value=fmt, allowed=", ".join(FORMAT_CHOICES))
    tz_name = _field(form, "timezone") or DEFAULT_TIMEZONE
    try:
        timezone = resolve_timezone(tz_name)
    except Exception:
        raise UploadError("error.bad_timezone", value=tz_name[:60]) from None
    channel = _field(form, "channel")[:200] or None
    running = runner.current
    if running is not None and running.running:
        raise JobBusy(running)
    directory = Path(tempfile.mkdtemp(prefix="anchorwatch-upload-"))
    try:
        path, label = await save_upload(form.get("file"), directory, SOURCE_SUFFIXES, limit)
        mapping = form.get("mapping")
        mapping_path = None
        if isinstance(mapping, UploadFile) and mapping.filename:
            mapping_path, _ = await save_upload(
                mapping, directory / "mapping", MAPPING_SUFFIXES, MAPPING_MAX_BYTES
            )
        try:
            source = await run_in_threadpool(
                open_source, path, fmt, mapping=mapping_path, channel=channel
            )
        except SourceError as exc:
            params: dict[str, Any] = dict(exc.params)
            if "path" in params:
                params["path"] = label
            raise UploadError(_WEB_WORDING.get(exc.code, exc.code), **params) from None
        except Exception:
            raise UploadError("error.upload_unreadable", name=label) from None
        work = import_work(
            store, source, timezone=timezone, locale=locale, rejects_dir=runner.workdir
        )
        return runner.start("import", user, work, label=label, cleanup=directory)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
