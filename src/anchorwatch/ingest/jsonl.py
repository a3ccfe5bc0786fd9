"""anchorwatch JSONL (DESIGN 3.1): one canonical record per line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson

from anchorwatch.ingest.base import ByteCounter, RawRow
from anchorwatch.records import RecordError

RAW_KEEP = 2_000  # characters of a bad line kept in the rejects file


class JsonlSource:
    """Stream a canonical JSONL file line by line.

    Blank lines are skipped; a line that is not valid UTF-8 JSON becomes a
    ``bad_json`` reject with its line number.  Lines are read as bytes so a
    single broken byte sequence spoils only its own line.
    """

    format = "jsonl"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.name = self.path.name
        self._counter: ByteCounter | None = None

    @property
    def total(self) -> int | None:
        return self.path.stat().st_size

    @property
    def position(self) -> int:
        return self._counter.count if self._counter else 0

    def __iter__(self) -> Iterator[RawRow]:
        with self.path.open("rb") as fh:
            self._counter = ByteCounter(fh)
            reader = _buffered(self._counter)
            for lineno, line in enumerate(reader, start=1):
                if lineno == 1 and line.startswith(b"\xef\xbb\xbf"):
                    line = line[3:]
                if not line.strip():
                    continue
                try:
                    obj = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raw = line.decode("utf-8", "replace").rstrip("\r\n")[:RAW_KEEP]
                    detail = str(exc).split(":")[0][:80]
                    yield RawRow(lineno, error=RecordError("bad_json", detail=detail), raw=raw)
                    continue
                if not isinstance(obj, dict):
                    raw = line.decode("utf-8", "replace").rstrip("\r\n")[:RAW_KEEP]
                    yield RawRow(lineno, error=RecordError("not_object"), raw=raw)
                    continue
                yield RawRow(lineno, data=obj)


def _buffered(counter: ByteCounter) -> Iterator[bytes]:
    import io

    reader = io.BufferedReader(counter, buffer_size=1 << 20)
    yield from reader
