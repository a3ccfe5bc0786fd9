"""Which adapter reads which file.

``open_source`` is the one place that maps a format name (or a file extension)
to an adapter, so the CLI, the web upload and tests all pick adapters the same
way.
"""

from __future__ import annotations

from pathlib import Path

from anchorwatch.ingest.base import Source

FORMATS = ("jsonl", "csv", "xlsx", "wechat")


class SourceError(ValueError):
    """A whole source cannot be opened (unknown format, missing mapping...).

    ``code`` is an ``error.*`` key of the i18n catalogue.
    """

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def guess_format(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".ndjson", ".json"}:
        return "jsonl"
    if suffix in {".xlsx", ".xlsm"}:
        return "xlsx"
    if suffix in {".csv", ".tsv", ".txt"}:
        from anchorwatch.ingest.wechat import looks_like_wechat_export

        return "wechat" if looks_like_wechat_export(path) else "csv"
    return None


def open_source(
    path: Path,
    fmt: str = "auto",
    *,
    mapping: Path | None = None,
    channel: str | None = None,
) -> Source:
    """Open ``path`` with the adapter for ``fmt`` (``auto`` guesses by extension)."""
    path = Path(path)
    if not path.is_file():
        raise SourceError("error.file_not_found", path=str(path))
    if fmt == "auto":
        guessed = guess_format(path)
        if guessed is None:
            raise SourceError("error.unknown_format", path=str(path))
        fmt = guessed
    if fmt == "jsonl":
        from anchorwatch.ingest.jsonl import JsonlSource

        return JsonlSource(path)
    if fmt in {"csv", "xlsx"}:
        from anchorwatch.ingest.tabular import TabularSource, load_mapping

        if mapping is None:
            raise SourceError("error.mapping_required")
        return TabularSource(path, load_mapping(mapping), kind=fmt)
    if fmt == "wechat":
        from anchorwatch.ingest.wechat import WeChatSource

        return WeChatSource(path, channel=channel)
    raise SourceError("error.unknown_format", path=str(path))
