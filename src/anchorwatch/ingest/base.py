"""What every import adapter produces: canonical rows tagged with their source line.

An adapter reads one source (a JSONL file, a CSV/XLSX sheet, a chat export)
and yields :class:`RawRow` items, each either a canonical dictionary in the
format of DESIGN 3.1 (still unvalidated: :mod:`anchorwatch.ingest.loader`
validates and lands them) or the error that made the source row unusable.
One source row may yield several canonical rows (a chat line gives a member and
a message), all carrying the same line number.

Adapters stream: they never hold the whole source in memory, and report how far
they are (:attr:`Source.position` against :attr:`Source.total`) for the progress
bar.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from anchorwatch.records import RecordError

#: Bytes sniffed to guess a text encoding.
SNIFF_BYTES = 256 * 1024


@dataclass(slots=True)
class RawRow:
    """One canonical row from a source, or the reason it could not be read.

    ``line`` is the 1-based line (JSONL, chat export) or data-row number plus
    header (CSV, XLSX: the row number a spreadsheet shows) in the source.
    ``raw`` is the source text of the row, kept for the rejects file.
    """

    line: int
    data: dict[str, Any] | None = None
    error: RecordError | None = None
    raw: str | None = None


class Source(Protocol):
    """A stream of :class:`RawRow` from one input, with progress in bytes."""

    name: str
    format: str

    def __iter__(self) -> Iterator[RawRow]: ...

    @property
    def total(self) -> int | None: ...

    @property
    def position(self) -> int: ...


class ByteCounter(io.RawIOBase):
    """Wrap a binary file and count the bytes read through it (for progress)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.count += n
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


def detect_encoding(sample: bytes) -> str:
    """Guess the encoding of a Chinese text sample.

    UTF-8 (with or without BOM) first, because it is what modern tools write;
    then the GB family.  GBK and GB2312 are read as GB18030, their superset, so
    that a rare character beyond GBK does not break a row.

    >>> detect_encoding("发送人,内容".encode("gbk"))
    'gb18030'
    >>> detect_encoding(codecs.BOM_UTF8 + "内容".encode())
    'utf-8-sig'
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A sample cut in the middle of a multi-byte character is still UTF-8.
        if exc.start >= len(sample) - 3:
            try:
                sample[: exc.start].decode("utf-8")
                return "utf-8"
            except UnicodeDecodeError:
                pass
    try:
        sample.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is None:
        return "gb18030"
    enc = best.encoding.lower().replace("_", "-")
    if enc in {"gbk", "gb2312", "gb18030", "cp936", "hz"}:
        return "gb18030"
    return enc


def sniff_file_encoding(path: Path) -> str:
    with path.open("rb") as fh:
        return detect_encoding(fh.read(SNIFF_BYTES))


def stable_id(prefix: str, *parts: object) -> str:
    """A deterministic id for sources that carry none (chat exports, CSV).

    The same source row always gets the same id, so re-importing a file or a
    later export that overlaps it in time adds nothing twice.

    >>> stable_id("m", "车主1群", "老张", "2026-03-01 10:00:00", "在吗") == stable_id(
    ...     "m", "车主1群", "老张", "2026-03-01 10:00:00", "在吗")
    True
    """
    import hashlib

    h = hashlib.blake2b(digest_size=10)
    for part in parts:
        h.update(str(part).encode("utf-8"))
        h.update(b"\x1f")
    return f"{prefix}_{h.hexdigest()}"
