"""The canonical records of DESIGN 3.1, validated at the edge.

Every source (JSONL, CSV/XLSX, chat-group exports) is first mapped onto plain
dictionaries in the canonical import format; :func:`parse_record` turns one such
dictionary into a typed record or raises :class:`RecordError` with a reason a
person can act on.  Nothing downstream ever sees an unvalidated row.

Times are kept as a UTC instant plus the UTC offset the source wrote them in, so
the local hour (late-night load) survives and export reproduces the original
offset.

Examples
--------
>>> rec = parse_record({"type": "message", "id": "m1", "conversation": "t1",
...                     "author": "u1", "sent_at": "2026-03-01T23:10:00+08:00",
...                     "text": "车机黑屏了怎么办", "client": "ios"})
>>> rec.author, rec.sent_at.utc.isoformat(), rec.extra
('u1', '2026-03-01T15:10:00', {'client': 'ios'})
>>> record_to_dict(rec)["sent_at"]
'2026-03-01T23:10:00+08:00'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any, Final
from zoneinfo import ZoneInfo

ROLES: Final = ("member", "koc", "official", "operator")
#: Roles of the brand's own accounts: their labour is paid, so rankings,
#: awards and the community's mood leave them out.
STAFF_ROLES: Final = ("official", "operator")
RECORD_TYPES: Final = ("member", "conversation", "message", "join", "reaction", "metric")
#: Longest message text accepted; longer rows are rejected, not truncated, so
#: that nothing is silently altered.  Overridable per import.
MAX_TEXT_CHARS: Final = 20_000
MAX_ID_CHARS: Final = 200
DEFAULT_TIMEZONE: Final = "Asia/Shanghai"

_PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class RecordError(ValueError):
    """A row that cannot become a canonical record.

    ``code`` is a key of the i18n catalogue (``reject.<code>``) and ``params``
    fill its placeholders, so the reason can be shown in zh-CN or en.
    """

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params

    def reason(self, locale: str | None = None) -> str:
        from anchorwatch.i18n import t

        return t(f"reject.{self.code}", locale=locale, **self.params)


@dataclass(frozen=True, slots=True)
class Instant:
    """A moment in time: naive UTC plus the offset (minutes) it was written in."""

    utc: datetime
    offset_min: int

    def isoformat(self) -> str:
        tz = timezone(timedelta(minutes=self.offset_min))
        return self.utc.replace(tzinfo=UTC).astimezone(tz).isoformat()

    @property
    def local(self) -> datetime:
        """Wall-clock time where the message was written (naive)."""
        return self.utc + timedelta(minutes=self.offset_min)

    @classmethod
    def from_aware(cls, value: datetime) -> Instant:
        offset = value.utcoffset()
        assert offset is not None
        return cls(
            utc=value.astimezone(UTC).replace(tzinfo=None),
            offset_min=int(offset.total_seconds() // 60),
        )


@dataclass(slots=True)
class Member:
    id: str
    name: str | None = None
    joined_at: Instant | None = None
    role: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Conversation:
    id: str
    channel: str | None = None
    title: str | None = None
    started_at: Instant | None = None
    stream: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Message:
    id: str
    conversation: str
    author: str
    sent_at: Instant
    text: str
    reply_to: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Join:
    member: str
    channel: str
    at: Instant
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Reaction:
    message: str
    member: str
    kind: str
    at: Instant | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Metric:
    member: str
    period: str
    reads: int = 0
    plays: int = 0
    leads: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


Record = Member | Conversation | Message | Join | Reaction | Metric

_KNOWN_FIELDS: Final[dict[str, frozenset[str]]] = {
    "member": frozenset({"type", "id", "name", "joined_at", "role", "extra"}),
    "conversation": frozenset({"type", "id", "channel", "title", "started_at", "stream", "extra"}),
    "message": frozenset(
        {"type", "id", "conversation", "author", "reply_to", "sent_at", "text", "extra"}
    ),
    "join": frozenset({"type", "member", "channel", "at", "extra"}),
    "reaction": frozenset({"type", "message", "member", "kind", "at", "extra"}),
    "metric": frozenset({"type", "member", "period", "reads", "plays", "leads", "extra"}),
}

_tz_cache: dict[str, tzinfo] = {}


def resolve_timezone(name: str) -> tzinfo:
    """Return a tzinfo for an IANA name (``Asia/Shanghai``) or a ``+08:00`` offset."""
    if name not in _tz_cache:
        m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", name)
        if m:
            minutes = int(m.group(2)) * 60 + int(m.group(3))
            sign = -1 if m.group(1) == "-" else 1
            _tz_cache[name] = timezone(timedelta(minutes=sign * minutes))
        else:
            _tz_cache[name] = ZoneInfo(name)
    return _tz_cache[name]


def parse_instant(value: Any, field_name: str, default_tz: tzinfo) -> Instant:
    """Parse an ISO 8601 time; a time without offset is read in ``default_tz``."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise RecordError("bad_time", field=field_name, value=value[:40]) from None
    else:
        raise RecordError("wrong_type", field=field_name, expected="string")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=default_tz)
    return Instant.from_aware(dt)


def _req_str(obj: dict[str, Any], key: str, *, max_len: int = MAX_ID_CHARS) -> str:
    value = obj.get(key)
    if value is None or value == "":
        raise RecordError("missing", field=key)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise RecordError("wrong_type", field=key, expected="string")
    text = str(value)
    if len(text) > max_len:
        raise RecordError("too_long", field=key, limit=max_len)
    return text


def _opt_str(obj: dict[str, Any], key: str, *, max_len: int = 2_000) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise RecordError("wrong_type", field=key, expected="string")
    text = str(value)
    if len(text) > max_len:
        raise RecordError("too_long", field=key, limit=max_len)
    return text


def _count(obj: dict[str, Any], key: str) -> int:
    value = obj.get(key, 0)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordError("wrong_type", field=key, expected="integer")
    if value < 0 or int(value) != value:
        raise RecordError("bad_count", field=key, value=value)
    return int(value)


def _extra(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    known = _KNOWN_FIELDS[kind]
    extra = obj.get("extra")
    if extra is not None and not isinstance(extra, dict):
        raise RecordError("wrong_type", field="extra", expected="object")
    out: dict[str, Any] = dict(extra) if extra else {}
    for key, value in obj.items():
        if key not in known:
            out[key] = value
    return out


def parse_record(
    obj: Any,
    *,
    default_tz: tzinfo | None = None,
    max_text_chars: int = MAX_TEXT_CHARS,
) -> Record:
    """Validate one canonical dictionary and return its typed record.

    Parameters
    ----------
    obj:
        A decoded JSON object in the format of DESIGN 3.1.
    default_tz:
        Time zone for times written without an offset (default Asia/Shanghai,
        where most chat-group exports are written).
    max_text_chars:
        Messages with longer text are rejected.

    Raises
    ------
    RecordError
        With a catalogue code (``missing``, ``wrong_type``, ``bad_time``, ...).
    """
    if not isinstance(obj, dict):
        raise RecordError("not_object")
    tz = default_tz or resolve_timezone(DEFAULT_TIMEZONE)
    kind = obj.get("type")
    if kind is None:
        raise RecordError("missing", field="type")
    if kind == "message":
        text = obj.get("text")
        if text is None or (isinstance(text, str) and not text.strip()):
            raise RecordError("missing", field="text")
        if not isinstance(text, str):
            raise RecordError("wrong_type", field="text", expected="string")
        if len(text) > max_text_chars:
            raise RecordError("too_long", field="text", limit=max_text_chars)
        if obj.get("sent_at") in (None, ""):
            raise RecordError("missing", field="sent_at")
        return Message(
            id=_req_str(obj, "id"),
            conversation=_req_str(obj, "conversation"),
            author=_req_str(obj, "author"),
            sent_at=parse_instant(obj["sent_at"], "sent_at", tz),
            text=text,
            reply_to=_opt_str(obj, "reply_to", max_len=MAX_ID_CHARS),
            extra=_extra(obj, "message"),
        )
    if kind == "member":
        role = _opt_str(obj, "role")
        if role is not None and role not in ROLES:
            raise RecordError("bad_role", value=role[:40], allowed="/".join(ROLES))
        joined = obj.get("joined_at")
        return Member(
            id=_req_str(obj, "id"),
            name=_opt_str(obj, "name", max_len=200),
            joined_at=parse_instant(joined, "joined_at", tz) if joined else None,
            role=role,
            extra=_extra(obj, "member"),
        )
    if kind == "conversation":
        started = obj.get("started_at")
        stream = obj.get("stream", False)
        if stream is None:
            stream = False
        if not isinstance(stream, bool):
            raise RecordError("wrong_type", field="stream", expected="boolean")
        return Conversation(
            id=_req_str(obj, "id"),
            channel=_opt_str(obj, "channel", max_len=200),
            title=_opt_str(obj, "title"),
            started_at=parse_instant(started, "started_at", tz) if started else None,
            stream=stream,
            extra=_extra(obj, "conversation"),
        )
    if kind == "join":
        if obj.get("at") in (None, ""):
            raise RecordError("missing", field="at")
        return Join(
            member=_req_str(obj, "member"),
            channel=_req_str(obj, "channel"),
            at=parse_instant(obj["at"], "at", tz),
            extra=_extra(obj, "join"),
        )
    if kind == "reaction":
        at = obj.get("at")
        return Reaction(
            message=_req_str(obj, "message"),
            member=_req_str(obj, "member"),
            kind=_req_str(obj, "kind", max_len=40),
            at=parse_instant(at, "at", tz) if at else None,
            extra=_extra(obj, "reaction"),
        )
    if kind == "metric":
        period = _req_str(obj, "period")
        if not _PERIOD_RE.match(period):
            raise RecordError("bad_period", value=period[:20])
        return Metric(
            member=_req_str(obj, "member"),
            period=period,
            reads=_count(obj, "reads"),
            plays=_count(obj, "plays"),
            leads=_count(obj, "leads"),
            extra=_extra(obj, "metric"),
        )
    raise RecordError("unknown_type", value=str(kind)[:40])


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        out[key] = value


def record_to_dict(rec: Record) -> dict[str, Any]:
    """The canonical JSON form of a record (inverse of :func:`parse_record`).

    ``extra`` fields are written back at the top level, as they came in.
    """
    out: dict[str, Any]
    if isinstance(rec, Message):
        out = {
            "type": "message",
            "id": rec.id,
            "conversation": rec.conversation,
            "author": rec.author,
            "reply_to": rec.reply_to,
            "sent_at": rec.sent_at.isoformat(),
            "text": rec.text,
        }
    elif isinstance(rec, Member):
        out = {"type": "member", "id": rec.id}
        _put(out, "name", rec.name)
        _put(out, "joined_at", rec.joined_at.isoformat() if rec.joined_at else None)
        _put(out, "role", rec.role)
    elif isinstance(rec, Conversation):
        out = {"type": "conversation", "id": rec.id}
        _put(out, "channel", rec.channel)
        _put(out, "title", rec.title)
        _put(out, "started_at", rec.started_at.isoformat() if rec.started_at else None)
        if rec.stream:
            out["stream"] = True
    elif isinstance(rec, Join):
        out = {"type": "join", "member": rec.member, "channel": rec.channel}
        out["at"] = rec.at.isoformat()
    elif isinstance(rec, Reaction):
        out = {"type": "reaction", "message": rec.message, "member": rec.member}
        out["kind"] = rec.kind
        _put(out, "at", rec.at.isoformat() if rec.at else None)
    else:
        out = {"type": "metric", "member": rec.member, "period": rec.period}
        out.update(reads=rec.reads, plays=rec.plays, leads=rec.leads)
    for key, value in rec.extra.items():
        out.setdefault(key, value)
    return out
