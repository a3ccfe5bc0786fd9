"""CSV and XLSX exports read through a column-mapping file (DESIGN 3.1).

Operations teams get their history as spreadsheets from the brand app, a CRM or
a customer-service desk, each with its own headers (发送人 / 发送时间 / 内容 ...).
A small YAML file says which header is which canonical field of a message;
:class:`TabularSource` then streams the sheet row by row and yields canonical
rows: a ``conversation`` the first time a conversation is seen, a ``member`` the
first time an author is seen (when names or roles are mapped), and the
``message``.  Validation of the values (empty text, too long, ...) is left to the
loader; this module reports only what it cannot map at all: a row with the wrong
number of columns, undecodable bytes, a time it cannot read.

Line numbers are the ones a person sees: for CSV the physical line where the
record starts (a quoted cell may span several lines), for XLSX the sheet row.

Examples
--------
>>> m = mapping_from_dict({"columns": {"发送人": "author_name", "发送时间": "sent_at",
...                                    "内容": "text"},
...                        "constants": {"channel": "app:投诉建议"}})
>>> m.columns["内容"], m.constants["channel"]
('text', 'app:投诉建议')
>>> parse_time("2026/3/1 9:05")
'2026-03-01T09:05:00'
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any, BinaryIO, Final

import yaml

from anchorwatch.ingest.base import (
    SNIFF_BYTES,
    ByteCounter,
    RawRow,
    detect_encoding,
    sniff_file_encoding,
    stable_id,
)
from anchorwatch.ingest.registry import SourceError
from anchorwatch.records import DEFAULT_TIMEZONE, ROLES, RecordError, resolve_timezone

#: Canonical message fields a column (or a constant) may be mapped to.
FIELDS: Final = (
    "id",
    "conversation",
    "channel",
    "author",
    "author_name",
    "sent_at",
    "text",
    "reply_to",
    "role",
)
#: Fields that make sense as one value for the whole file.
CONSTANT_FIELDS: Final = ("channel", "conversation", "author", "author_name", "role")
#: Named time formats besides strptime patterns.
TIME_FORMATS: Final = ("auto", "excel", "epoch", "epoch_s", "epoch_ms")
RAW_KEEP: Final = 2_000  # characters of a bad row kept for the rejects file
#: Distinct timestamps remembered for counting repeated rows; see _Occurrences.
OCCURRENCE_WINDOW: Final = 4_096
#: Conversations and authors remembered as already announced; see _Recent.
SEEN_KEYS: Final = 200_000

_MAPPING_KEYS: Final = frozenset(
    {
        "version",
        "columns",
        "constants",
        "time_format",
        "timezone",
        "sheet",
        "delimiter",
        "encoding",
        "header_row",
        "keep_extra",
        "stream",
        "roles",
    }
)
_DELIMITER_NAMES: Final = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """How the columns of one CSV/XLSX layout become canonical message fields.

    Attributes
    ----------
    columns:
        Source header → canonical field (one of :data:`FIELDS`).
    constants:
        Canonical field → value used for every row (e.g. ``channel``).
    time_format:
        ``None`` (auto), ``"excel"``, ``"epoch"``, ``"epoch_s"``, ``"epoch_ms"`` or a
        :func:`~datetime.datetime.strptime` pattern.
    timezone:
        Zone in which absolute times (Unix epochs) are written out, so that the
        local hour survives; times read from text stay as written.
    sheet:
        XLSX sheet name (default: the first sheet).
    delimiter:
        CSV delimiter (default: guessed from the header line).
    encoding:
        CSV encoding (default: sniffed; UTF-8 with/without BOM, GBK/GB18030).
    header_row:
        1-based record (CSV) or sheet row (XLSX) holding the headers.
    keep_extra:
        Put unmapped columns into the message's ``extra``.
    stream:
        Mark conversations as chat streams; default: true when the conversation
        is the channel (no conversation column), else unset.
    roles:
        Source role value → canonical role (``官方客服: official``).
    """

    columns: dict[str, str]
    constants: dict[str, str] = field(default_factory=dict)
    time_format: str | None = None
    timezone: str = DEFAULT_TIMEZONE
    sheet: str | None = None
    delimiter: str | None = None
    encoding: str | None = None
    header_row: int = 1
    keep_extra: bool = False
    stream: bool | None = None
    roles: dict[str, str] = field(default_factory=dict)


def _bad(detail: str) -> SourceError:
    return SourceError("error.bad_mapping", detail=detail)


def _scalar_str(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _bad(f"{where}: expected a text value, got {type(value).__name__}")
    return str(value)


def mapping_from_dict(data: Any) -> ColumnMapping:
    """Validate a decoded mapping document and return a :class:`ColumnMapping`.

    The web upload and notebooks build mappings from dictionaries; the CLI goes
    through :func:`load_mapping`.  Every problem raises
    ``SourceError("error.bad_mapping", detail=...)`` naming the offending key.

    Parameters
    ----------
    data:
        The decoded YAML document: ``columns`` (required), ``constants``,
        ``time_format``, ``timezone``, ``sheet``, ``delimiter``, ``encoding``,
        ``header_row``, ``keep_extra``, ``stream``, ``roles``.

    Returns
    -------
    ColumnMapping

    Examples
    --------
    >>> mapping_from_dict({"columns": {"时间": "sent_at", "内容": "text",
    ...                                "用户": "author"}, "delimiter": "tab"}).delimiter
    '\\t'
    >>> mapping_from_dict({"columns": {"内容": "text"}})
    Traceback (most recent call last):
    ...
    anchorwatch.ingest.registry.SourceError: error.bad_mapping
    """
    if not isinstance(data, dict):
        raise _bad("the file must be a YAML mapping with a 'columns' section")
    unknown = sorted(str(k) for k in data if k not in _MAPPING_KEYS)
    if unknown:
        raise _bad(f"unknown keys {unknown}; allowed: {sorted(_MAPPING_KEYS)}")
    raw_columns = data.get("columns")
    if not isinstance(raw_columns, dict) or not raw_columns:
        raise _bad("'columns' must map source headers to fields, e.g. 内容: text")
    columns: dict[str, str] = {}
    mapped: dict[str, str] = {}
    for header, target in raw_columns.items():
        name = _scalar_str(header, "columns").strip()
        fld = _scalar_str(target, f"columns.{name}").strip()
        if fld not in FIELDS:
            raise _bad(f"columns.{name}: unknown field '{fld}'; allowed: {', '.join(FIELDS)}")
        if fld in mapped:
            raise _bad(f"field '{fld}' is mapped twice ('{mapped[fld]}' and '{name}')")
        mapped[fld] = name
        columns[name] = fld
    constants: dict[str, str] = {}
    raw_constants = data.get("constants") or {}
    if not isinstance(raw_constants, dict):
        raise _bad("'constants' must map fields to values, e.g. channel: app:投诉建议")
    for key, value in raw_constants.items():
        fld = _scalar_str(key, "constants").strip()
        if fld not in CONSTANT_FIELDS:
            raise _bad(f"constants.{fld}: allowed fields are {', '.join(CONSTANT_FIELDS)}")
        if fld in mapped:
            raise _bad(f"field '{fld}' is both a column ('{mapped[fld]}') and a constant")
        constants[fld] = _scalar_str(value, f"constants.{fld}").strip()
    for required in ("text", "sent_at"):
        if required not in mapped:
            raise _bad(f"no column is mapped to '{required}'")
    if not ({"author", "author_name"} & (set(mapped) | set(constants))):
        raise _bad("no column is mapped to 'author' or 'author_name'")

    time_format = data.get("time_format")
    if time_format is not None:
        time_format = _scalar_str(time_format, "time_format")
        if time_format == "auto":
            time_format = None
        elif time_format not in TIME_FORMATS and "%" not in time_format:
            raise _bad(
                f"time_format: '{time_format}' is neither a strptime pattern nor one "
                f"of {', '.join(TIME_FORMATS)}"
            )
    tz_name = _scalar_str(data.get("timezone", DEFAULT_TIMEZONE), "timezone")
    try:
        resolve_timezone(tz_name)
    except (KeyError, ValueError):
        raise _bad(f"timezone: unknown zone '{tz_name}'") from None

    delimiter = data.get("delimiter")
    if delimiter is not None:
        delimiter = _scalar_str(delimiter, "delimiter")
        delimiter = _DELIMITER_NAMES.get(delimiter.lower(), delimiter)
        if len(delimiter) != 1:
            raise _bad("delimiter: one character, or tab / comma / semicolon / pipe")
    encoding = data.get("encoding")
    if encoding is not None:
        encoding = _scalar_str(encoding, "encoding").strip()
        if encoding.lower() == "auto":
            encoding = None
        else:
            try:
                encoding = codecs.lookup(encoding).name
            except LookupError:
                raise _bad(f"encoding: unknown encoding '{encoding}'") from None
            if encoding in {"gbk", "gb2312", "cp936"}:
                encoding = "gb18030"  # superset: a rare character beyond GBK still reads
    header_row = data.get("header_row", 1)
    if isinstance(header_row, bool) or not isinstance(header_row, int) or header_row < 1:
        raise _bad("header_row: a positive whole number")
    for flag in ("keep_extra", "stream"):
        if data.get(flag) is not None and not isinstance(data.get(flag), bool):
            raise _bad(f"{flag}: true or false")
    raw_roles = data.get("roles") or {}
    if not isinstance(raw_roles, dict):
        raise _bad("'roles' must map source values to roles, e.g. 官方客服: official")
    roles: dict[str, str] = {}
    for key, value in raw_roles.items():
        role = _scalar_str(value, f"roles.{key}").strip()
        if role not in ROLES:
            raise _bad(f"roles.{key}: '{role}' is not one of {', '.join(ROLES)}")
        roles[_scalar_str(key, "roles").strip()] = role
    sheet = data.get("sheet")
    return ColumnMapping(
        columns=columns,
        constants=constants,
        time_format=time_format,
        timezone=tz_name,
        sheet=None if sheet is None else _scalar_str(sheet, "sheet"),
        delimiter=delimiter,
        encoding=encoding,
        header_row=header_row,
        keep_extra=bool(data.get("keep_extra", False)),
        stream=data.get("stream"),
        roles=roles,
    )


def load_mapping(path: Path | str) -> ColumnMapping:
    """Read a YAML column-mapping file.

    The file may be UTF-8 (with or without BOM) or GBK, as Windows editors
    still write it.

    Parameters
    ----------
    path:
        The ``.yaml`` file (see ``docs/import-formats.md``).

    Returns
    -------
    ColumnMapping

    Raises
    ------
    SourceError
        ``error.bad_mapping`` with a detail naming the problem.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False,
    ...                                  encoding="utf-8") as fh:
    ...     _ = fh.write("columns:\\n  发送人: author_name\\n  发送时间: sent_at\\n"
    ...                  "  内容: text\\nconstants:\\n  channel: 'app:投诉建议'\\n")
    >>> load_mapping(fh.name).columns["发送人"]
    'author_name'
    >>> os.unlink(fh.name)
    """
    path = Path(path)
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise _bad(f"{path}: {exc.strerror or exc}") from None
    text = blob.decode(detect_encoding(blob[:SNIFF_BYTES]), "replace").lstrip("\ufeff")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise _bad(f"not valid YAML{where}: {problem}") from None
    return mapping_from_dict(data)


# --------------------------------------------------------------------------- times

_EXCEL_EPOCH: Final = datetime(1899, 12, 30)  # Excel's day 0 (absorbs its 1900 leap bug)
_NUMBER_RE: Final = re.compile(r"[+-]?\d+(?:\.\d+)?")
_LOOSE_DATE_RE: Final = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:(?:\s+|T|\s*日\s*)(\d{1,2})\s*[:：时]\s*(\d{1,2})"
    r"(?:\s*[:：分]\s*(\d{1,2})(?:[.,](\d{1,6}))?\s*秒?)?)?\s*"
)


def _from_number(value: float, fmt: str | None, tz: tzinfo) -> str:
    # Guessing: serials 20000..100000 are the years 1954..2173; a smaller number
    # in a time column is a mistake, better rejected than read as 1900.
    if fmt == "excel" or (fmt is None and 20_000 < value < 100_000):
        # Spreadsheet serial day; rounded to the second because 10:00 is
        # stored as 0.41666... and would otherwise read as 09:59:59.999.
        return (_EXCEL_EPOCH + timedelta(seconds=round(value * 86_400))).isoformat()
    if fmt == "epoch_ms" or (fmt in (None, "epoch") and 1e12 <= abs(value) < 1e14):
        value /= 1000.0
    elif not (fmt in ("epoch", "epoch_s") or (fmt is None and 1e8 <= abs(value) < 1e11)):
        raise ValueError(value)
    # An epoch is an instant; write it in the mapping's zone so the local hour
    # (late-night load) is the one the members lived.
    return datetime.fromtimestamp(value, tz).isoformat()


def parse_time(value: Any, fmt: str | None = None, tz: tzinfo | None = None) -> str | None:
    """Turn one time cell into an ISO 8601 string (without offset unless known).

    Parameters
    ----------
    value:
        A string, a number (Excel serial day, Unix seconds or milliseconds) or a
        ``datetime``/``date`` from an XLSX cell.  Empty gives ``None``.
    fmt:
        ``None``/``"auto"`` to guess: ISO 8601, ``2026/3/1 10:00``,
        ``2026-03-01 10:00:00``, ``2026年3月1日 10:00``, Excel serials and epochs;
        ``"excel"``, ``"epoch"`` (s or ms by size), ``"epoch_s"``, ``"epoch_ms"``;
        or a ``strptime`` pattern.
    tz:
        Zone for epochs (default Asia/Shanghai).

    Returns
    -------
    str or None

    Raises
    ------
    ValueError
        When the value is not a time in that format.

    Examples
    --------
    >>> parse_time("2026-03-01 10:00:00")
    '2026-03-01T10:00:00'
    >>> parse_time("2026年3月1日 22:15")
    '2026-03-01T22:15:00'
    >>> parse_time(46082.4166666667)
    '2026-03-01T10:00:00'
    >>> parse_time("1772330400")
    '2026-03-01T10:00:00+08:00'
    >>> parse_time("01.03.2026 10:00", "%d.%m.%Y %H:%M")
    '2026-03-01T10:00:00'
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return datetime.combine(value, time()).isoformat()
    zone = tz or resolve_timezone(DEFAULT_TIMEZONE)
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        return _from_number(float(value), fmt, zone)
    text = str(value).strip()
    if not text:
        return None
    if fmt is None or fmt == "auto":
        if _NUMBER_RE.fullmatch(text):
            try:
                return _from_number(float(text), None, zone)
            except ValueError:
                pass  # 20260301 is a date, not a number
        try:
            return datetime.fromisoformat(text).isoformat()
        except ValueError:
            pass
        m = _LOOSE_DATE_RE.fullmatch(text)
        if m is None:
            raise ValueError(text)
        y, mo, d, h, mi, s, frac = m.groups()
        micro = int((frac or "0").ljust(6, "0"))
        return datetime(
            int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), micro
        ).isoformat()
    if fmt in TIME_FORMATS:
        return _from_number(float(text), fmt, zone)
    return datetime.strptime(text, fmt).isoformat()


# ----------------------------------------------------------------------- CSV lines


def _decoded_lines(raw: BinaryIO, encoding: str, bad: list[int]) -> Iterator[str]:
    """Decode a byte stream line by line, noting lines that are not ``encoding``.

    Decoding each physical line on its own keeps one broken byte from spoiling
    the rest of the file, and lets the caller name the line.  Splitting the
    bytes at ``\\n`` is safe for UTF-8 and the GB family: neither uses 0x0A
    inside a multi-byte character.
    """
    enc = "utf-8" if encoding == "utf-8-sig" else encoding
    lines = iter(raw)
    first = next(lines, None)
    if first is None:
        return
    if first.startswith(codecs.BOM_UTF8):
        first = first[3:]
    lineno = 1
    for line in itertools.chain((first,), lines):
        try:
            yield line.decode(enc)
        except UnicodeDecodeError:
            bad.append(lineno)
            yield line.decode(enc, "replace")
        lineno += 1


def iter_csv_records(
    raw: BinaryIO, encoding: str, delimiter: str = ","
) -> Iterator[tuple[int, list[str] | None, str | None]]:
    """Stream the records of a CSV byte stream with their starting line.

    Yields ``(line, fields, problem)``: ``line`` is the physical line where the
    record starts; ``problem`` is ``None``, ``"encoding"`` (some line of the
    record is not valid in ``encoding``; the fields are decoded with
    replacement characters) or a CSV parser message (then ``fields`` is
    ``None``).  Blank lines are skipped.

    Examples
    --------
    >>> import io
    >>> data = 'a,b\\n1,"two\\nlines"\\n\\n3,x\\n'.encode()
    >>> [(n, f) for n, f, _ in iter_csv_records(io.BytesIO(data), "utf-8")]
    [(1, ['a', 'b']), (2, ['1', 'two\\nlines']), (5, ['3', 'x'])]
    """
    if encoding.lower().startswith("utf-16"):
        # Not line-splittable as bytes; decode as one stream (rare: Excel
        # "Unicode text" exports).  Bad bytes become U+FFFD without a reject.
        text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
        lines: Iterator[str] = iter(text)
        bad: list[int] = []
    else:
        bad = []
        lines = _decoded_lines(raw, encoding, bad)
    reader = csv.reader(lines, delimiter=delimiter)
    end = 0
    while True:
        start = end + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            end = reader.line_num
            while bad and bad[0] <= end:
                bad.pop(0)  # reported with this record, not a later one
            yield start, None, str(exc)[:120]
            continue
        end = reader.line_num
        if not fields:
            continue
        problem = None
        if bad and bad[0] <= end:
            problem = "encoding"
            while bad and bad[0] <= end:
                bad.pop(0)
        yield start, fields, problem


def _guess_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


# -------------------------------------------------------------------- row mapping


class _Occurrences:
    """How many identical rows came before, for ids of rows that carry none.

    Two genuine "+1" messages by the same author in the same second must both
    land, so the derived id includes the repeat count.  Counting every row of
    a million-row file would hold them all in memory; identical rows share a
    timestamp, so counts are kept per timestamp for the most recent
    :data:`OCCURRENCE_WINDOW` timestamps only (exports are in time order, so a
    repeat is never further away than that in practice).
    """

    __slots__ = ("_by_time", "_window")

    def __init__(self, window: int = OCCURRENCE_WINDOW) -> None:
        self._by_time: OrderedDict[object, dict[tuple[object, ...], int]] = OrderedDict()
        self._window = window

    def next(self, when: object, key: tuple[object, ...]) -> int:
        bucket = self._by_time.get(when)
        if bucket is None:
            bucket = self._by_time[when] = {}
            if len(self._by_time) > self._window:
                self._by_time.popitem(last=False)
        n = bucket.get(key, 0)
        bucket[key] = n + 1
        return n


class _Recent:
    """Keys seen lately, at most ``size`` of them (least recently seen go first).

    Conversations and authors are announced once (a ``conversation`` or
    ``member`` row before their first message).  A forum dump can hold millions
    of threads, so the memory of what was announced is bounded; a key forgotten
    and seen again is announced again, which the loader treats as unchanged.
    """

    __slots__ = ("_keys", "_size")

    def __init__(self, size: int = SEEN_KEYS) -> None:
        self._keys: OrderedDict[object, None] = OrderedDict()
        self._size = size

    def first_time(self, key: object) -> bool:
        if key in self._keys:
            self._keys.move_to_end(key)
            return False
        self._keys[key] = None
        if len(self._keys) > self._size:
            self._keys.popitem(last=False)
        return True


def _cell_text(value: Any) -> str | None:
    """A cell as text: XLSX numbers that are whole (ids, 666) lose their ``.0``."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


@dataclass(slots=True)
class _Plan:
    """Column positions resolved against the file's header, once per file."""

    index: dict[str, int]
    extra: list[tuple[str, int]]
    width: int


def _plan(mapping: ColumnMapping, header: Sequence[Any]) -> _Plan:
    names = [(_cell_text(h) or "").strip().lstrip("\ufeff") for h in header]
    while names and not names[-1]:
        names.pop()  # trailing empty header cells (Excel pads rows)
    position: dict[str, int] = {}
    folded: dict[str, int] = {}
    for i, name in enumerate(names):
        if name:
            position.setdefault(name, i)
            folded.setdefault(name.casefold(), i)
    index: dict[str, int] = {}
    missing: list[str] = []
    for col, fld in mapping.columns.items():
        at = position.get(col, folded.get(col.casefold()))
        if at is None:
            missing.append(col)
        else:
            index[fld] = at
    if missing:
        found = ", ".join(n for n in names if n)[:300]
        raise _bad(f"columns {missing} are not in the file header (found: {found})")
    used = set(index.values())
    extra = [(n, i) for i, n in enumerate(names) if i not in used and n]
    return _Plan(index=index, extra=extra if mapping.keep_extra else [], width=len(names))


class _RowMapper:
    """Per-file state that turns one row of values into canonical rows."""

    def __init__(self, mapping: ColumnMapping, plan: _Plan, default_channel: str) -> None:
        self.mapping = mapping
        self.plan = plan
        self.tz = resolve_timezone(mapping.timezone)
        self.default_channel = mapping.constants.get("channel", default_channel)
        ix = plan.index
        self.i_id = ix.get("id")
        self.i_conv = ix.get("conversation")
        self.i_channel = ix.get("channel")
        self.i_author = ix.get("author")
        self.i_name = ix.get("author_name")
        self.i_time = ix["sent_at"]
        self.i_text = ix["text"]
        self.i_reply = ix.get("reply_to")
        self.i_role = ix.get("role")
        self.const_conv = mapping.constants.get("conversation")
        self.const_author = mapping.constants.get("author")
        self.const_name = mapping.constants.get("author_name")
        self.const_role = mapping.constants.get("role")
        conv_from_channel = self.i_conv is None and self.const_conv is None
        self.stream = mapping.stream if mapping.stream is not None else conv_from_channel
        self.with_member = (
            self.i_name is not None
            or self.const_name is not None
            or self.i_role is not None
            or self.const_role is not None
        )
        self.seen_conv = _Recent()
        self.seen_author = _Recent()
        # Derived author ids, cached because hashing is the costliest step of a
        # row; cleared when it grows past SEEN_KEYS to keep memory bounded.
        self.name_ids: dict[tuple[str, str], str] = {}
        self.occurrences = _Occurrences()

    @staticmethod
    def _get(values: Sequence[Any], i: int | None) -> str | None:
        if i is None or i >= len(values):
            return None
        text = _cell_text(values[i])
        if text is None:
            return None
        text = text.strip()
        return text or None

    def rows(self, line: int, values: Sequence[Any]) -> list[RawRow]:
        get = self._get
        raw_time = values[self.i_time] if self.i_time < len(values) else None
        try:
            sent_at = parse_time(raw_time, self.mapping.time_format, self.tz)
        except (ValueError, OverflowError, OSError):
            err = RecordError("bad_time", field="sent_at", value=str(raw_time)[:40])
            return [RawRow(line, error=err, raw=_raw_of(values))]
        raw_text = values[self.i_text] if self.i_text < len(values) else None
        text = _cell_text(raw_text)
        channel = get(values, self.i_channel) or self.default_channel
        conv = get(values, self.i_conv) or self.const_conv or channel
        name = get(values, self.i_name) or self.const_name
        author = get(values, self.i_author) or self.const_author
        if author is None and name is not None:
            # Only a display name: scope it to the channel, where it is
            # (mostly) unique, so "小王" of two communities stay two people.
            author = self.name_ids.get((channel, name))
            if author is None:
                if len(self.name_ids) >= SEEN_KEYS:
                    self.name_ids.clear()
                author = self.name_ids[channel, name] = stable_id("u", channel, name)
        out: list[RawRow] = []
        if self.seen_conv.first_time(conv):
            c: dict[str, Any] = {"type": "conversation", "id": conv, "channel": channel}
            if self.stream:
                c["stream"] = True
            out.append(RawRow(line, data=c))
        if self.with_member and author is not None and self.seen_author.first_time(author):
            m: dict[str, Any] = {"type": "member", "id": author}
            if name is not None:
                m["name"] = name
            role = get(values, self.i_role) or self.const_role
            if role is not None:
                m["role"] = self.mapping.roles.get(role, role)
            out.append(RawRow(line, data=m))
        msg_id = get(values, self.i_id)
        if msg_id is None:
            key = (conv, author, text)
            occ = self.occurrences.next(sent_at, key)
            msg_id = stable_id("m", conv, author, sent_at, text, occ)
        msg: dict[str, Any] = {
            "type": "message",
            "id": msg_id,
            "conversation": conv,
            "author": author,
            "reply_to": get(values, self.i_reply),
            "sent_at": sent_at,
            "text": text,
        }
        if self.plan.extra:
            extra = {
                h: _json_value(values[i])
                for h, i in self.plan.extra
                if i < len(values) and values[i] not in (None, "")
            }
            if extra:
                msg["extra"] = extra
        out.append(RawRow(line, data=msg))
        return out


def _raw_of(values: Sequence[Any], delimiter: str = ",") -> str:
    return delimiter.join("" if v is None else str(v) for v in values)[:RAW_KEEP]


# ------------------------------------------------------------------------- source


class TabularSource:
    """Stream a CSV or XLSX file through a :class:`ColumnMapping`.

    The header is checked against the mapping when the source is opened, so a
    wrong mapping fails before anything is imported.

    Parameters
    ----------
    path:
        The ``.csv``/``.tsv``/``.txt`` or ``.xlsx`` file.
    mapping:
        From :func:`load_mapping`.
    kind:
        ``"csv"`` or ``"xlsx"``.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("wb", suffix=".csv", delete=False) as fh:
    ...     _ = fh.write("发送人,发送时间,内容\\n老张,2026/3/1 10:00,车机黑屏了\\n".encode("gbk"))
    >>> m = mapping_from_dict({"columns": {"发送人": "author_name", "发送时间": "sent_at",
    ...                                    "内容": "text"},
    ...                        "constants": {"channel": "app:投诉建议"}})
    >>> [r.data["type"] for r in TabularSource(Path(fh.name), m)]
    ['conversation', 'member', 'message']
    >>> os.unlink(fh.name)
    """

    def __init__(self, path: Path, mapping: ColumnMapping, kind: str = "csv") -> None:
        self.path = Path(path)
        self.name = self.path.name
        self.format = kind
        self.mapping = mapping
        self._counter: ByteCounter | None = None
        self._row = 0
        self._max_row: int | None = None
        self._done = False
        self._size = self.path.stat().st_size
        if kind == "csv":
            self.encoding = mapping.encoding or sniff_file_encoding(self.path)
            self.delimiter = mapping.delimiter or self._sniff_delimiter()
            header = self._csv_header()
        elif kind == "xlsx":
            self.encoding = "xlsx"
            self.delimiter = ","
            header = self._xlsx_header()
        else:
            raise SourceError("error.unknown_format", path=str(path))
        self._plan = _plan(mapping, header)
        suffix = "xlsx" if kind == "xlsx" else "csv"
        self._default_channel = f"{suffix}:{self.path.stem}"

    # -- progress
    @property
    def total(self) -> int | None:
        return self._size

    @property
    def position(self) -> int:
        if self._counter is not None:
            return self._counter.count
        if self._done:
            return self._size
        if self._max_row:
            # openpyxl does not expose bytes read; the row share is close enough.
            # (Sheets written without a dimension tag give no estimate.)
            return min(self._size, self._size * self._row // self._max_row)
        return 0

    # -- header
    def _sniff_delimiter(self) -> str:
        with self.path.open("rb") as fh:
            first = fh.readline(64 * 1024)
        return _guess_delimiter(first.decode(self.encoding, "replace"))

    def _csv_header(self) -> list[str]:
        with self.path.open("rb") as fh:
            for n, (_, fields, _problem) in enumerate(
                iter_csv_records(fh, self.encoding, self.delimiter), start=1
            ):
                if n == self.mapping.header_row:
                    return fields or []
        raise _bad(f"{self.name}: no header row {self.mapping.header_row} (empty file?)")

    def _open_sheet(self) -> tuple[Any, Any]:
        import zipfile

        import openpyxl
        from openpyxl.utils.exceptions import InvalidFileException

        try:
            wb = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
        except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError):
            raise SourceError("error.unknown_format", path=str(self.path)) from None
        sheet = self.mapping.sheet
        if sheet is None:
            ws = wb.worksheets[0]
        elif sheet in wb.sheetnames:
            ws = wb[sheet]
        else:
            wb.close()
            raise _bad(f"sheet '{sheet}' not found; sheets: {', '.join(wb.sheetnames)}")
        return wb, ws

    def _xlsx_header(self) -> list[Any]:
        wb, ws = self._open_sheet()
        try:
            hr = self.mapping.header_row
            for row in ws.iter_rows(min_row=hr, max_row=hr, values_only=True):
                return list(row)
            raise _bad(f"{self.name}: no header row {hr} (empty sheet?)")
        finally:
            wb.close()

    # -- rows
    def __iter__(self) -> Iterator[RawRow]:
        self._done = False
        mapper = _RowMapper(self.mapping, self._plan, self._default_channel)
        if self.format == "xlsx":
            yield from self._iter_xlsx(mapper)
        else:
            yield from self._iter_csv(mapper)

    def _iter_csv(self, mapper: _RowMapper) -> Iterator[RawRow]:
        width = self._plan.width
        header_row = self.mapping.header_row
        with self.path.open("rb") as fh:
            self._counter = ByteCounter(fh)
            raw = io.BufferedReader(self._counter, buffer_size=1 << 20)
            records = iter_csv_records(raw, self.encoding, self.delimiter)
            for n, (line, fields, problem) in enumerate(records, start=1):
                if n <= header_row:
                    continue
                if fields is None:
                    err = RecordError("unmapped", detail=problem)
                    yield RawRow(line, error=err, raw=None)
                    continue
                if problem is not None:
                    err = RecordError("bad_encoding", encoding=self.encoding)
                    yield RawRow(line, error=err, raw=_raw_of(fields, self.delimiter))
                    continue
                n_fields = len(fields)
                # Cells past the header are allowed only when empty: Excel pads
                # rows with trailing delimiters.
                if n_fields != width and (
                    n_fields < width or any(c.strip() for c in fields[width:])
                ):
                    if n_fields == 1 and not fields[0].strip():
                        continue  # a line of blanks
                    err = RecordError("bad_columns", expected=width, found=n_fields)
                    yield RawRow(line, error=err, raw=_raw_of(fields, self.delimiter))
                    continue
                yield from mapper.rows(line, fields)

    def _iter_xlsx(self, mapper: _RowMapper) -> Iterator[RawRow]:
        wb, ws = self._open_sheet()
        try:
            self._max_row = ws.max_row
            header_row = self.mapping.header_row
            rows = ws.iter_rows(min_row=header_row + 1, values_only=True)
            # read-only sheets fill missing rows, so the count is the sheet row.
            for line, values in enumerate(rows, start=header_row + 1):
                self._row = line
                if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                    continue
                yield from mapper.rows(line, values)
        finally:
            wb.close()
            self._done = True
