"""WeChat group chats exported as CSV by MemoTrace / 留痕 (LC044/WeChatMsg).

MemoTrace (the open-source v2.0 line of github.com/LC044/WeChatMsg, file
``app/util/exporter/exporter_csv.py``) is what Chinese community operators most
often use to get a group chat out of PC WeChat 3.x.  Its CSV export writes
``聊天记录/<群名>/<群名>_utf8.csv`` in UTF-8 with BOM, one row per row of
WeChat's ``MSG`` table, with these columns::

    localId,TalkerId,Type,SubType,IsSender,CreateTime,Status,StrContent,StrTime,Remark,NickName,Sender

``Type``/``SubType`` say what a row is (1 text, 3 image, 34 voice, 43 video,
47 sticker, 49 app message with ``SubType`` 57 a quoted reply, 10000 system
line ...); ``CreateTime`` is the Unix time WeChat stored, ``StrTime`` the same
instant written in the exporting PC's local time; ``Remark``/``NickName``/
``Sender`` describe the sender (the exporter's own remark for them, their
nickname, their wxid).  See ``docs/import-formats.md`` for the full table.

What becomes what:

* the group → one ``conversation`` with ``"stream": true`` and channel
  ``wechat:<群名>``;
* a sender → a ``member`` whose id derives from the wxid (or, without one, from
  the nickname within the group);
* a text row (Type 1) → a ``message``; a quoted reply (49/57) whose
  ``StrContent`` carries WeChat's ``<appmsg>`` XML → a message whose
  ``reply_to`` is the quoted message when it is found by sender and content;
* ``"张三"邀请"李四"加入了群聊`` and ``"王五"通过扫描"张三"分享的二维码加入群聊`` →
  ``join`` records for the members who joined;
* images, voice, stickers, video, files, links, recalled messages and other
  system lines are not text: they are skipped and counted in
  :attr:`WeChatSource.skipped`, never rejected.

Message ids never use ``localId``: MemoTrace merges WeChat's sharded
``MSG0.db``, ``MSG1.db``... into one table by plain ``INSERT``, so ``localId`` is
renumbered whenever the databases are decrypted again.  Ids come from what a
later export reproduces exactly: group, ``CreateTime``, sender, type and text
(plus a repeat count for identical rows in the same second), so re-importing
an overlapping export adds only the new messages.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections import Counter, OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from anchorwatch.ingest.base import (
    ByteCounter,
    RawRow,
    detect_encoding,
    sniff_file_encoding,
    stable_id,
)
from anchorwatch.ingest.registry import SourceError
from anchorwatch.ingest.tabular import RAW_KEEP, _Occurrences, iter_csv_records
from anchorwatch.records import DEFAULT_TIMEZONE, RecordError, resolve_timezone

#: The header MemoTrace writes (``exporter_csv.py``, ``columns = [...]``).
WECHAT_COLUMNS: Final = (
    "localId",
    "TalkerId",
    "Type",
    "SubType",
    "IsSender",
    "CreateTime",
    "Status",
    "StrContent",
    "StrTime",
    "Remark",
    "NickName",
    "Sender",
)
_SIGNATURE: Final = frozenset(
    {"localId", "TalkerId", "Type", "SubType", "IsSender", "CreateTime", "StrContent"}
)
_REQUIRED: Final = frozenset({"Type", "SubType", "IsSender", "CreateTime", "StrContent", "StrTime"})

TEXT: Final = 1
APP: Final = 49
SYSTEM: Final = 10000
QUOTE_SUBTYPE: Final = 57

#: Message types that carry no text, by the name they are counted under.
SKIPPED_TYPES: Final[dict[int, str]] = {
    3: "image",
    34: "voice",
    37: "friend_request",
    42: "card",
    43: "video",
    47: "sticker",
    48: "location",
    50: "call",
    62: "video",
    10002: "system",  # XML system notices: pat (拍一拍), revoke receipts, ...
}
#: ``Type`` 49 app messages by ``SubType``.
SKIPPED_APP_SUBTYPES: Final[dict[int, str]] = {
    3: "music",
    4: "link",
    5: "link",
    6: "file",
    8: "sticker",
    19: "chat_history",
    33: "mini_program",
    36: "mini_program",
    51: "channels",
    2000: "transfer",
    2001: "red_packet",
}

#: Quotes and recent messages remembered to resolve quoted replies; a reply
#: further back than this keeps its quote in ``extra`` only.
RECENT_MESSAGES: Final = 100_000
#: Largest ``StrContent`` parsed as XML (a quote is a few kB).
MAX_XML_CHARS: Final = 200_000

_SELF: Final = "\x00self"  # "你" in system lines: the account that exported
_QUOTED_NAME = re.compile(r'"(.+?)"')
_INVITE_RE = re.compile(r'^(?:"(?P<by>.+?)"|(?P<by_self>你))\s*邀请(?P<who>.+?)加入了群聊')
_QRCODE_RE = re.compile(
    r'^(?:"(?P<who>.+?)"|(?P<who_self>你))\s*通过扫描(?:"(?P<by>.+?)"|(?P<by_self>你))'
    r"分享的二维码加入群聊"
)
_RECALL_RE = re.compile(r"撤回了一条消息")


def group_name_from_path(path: Path) -> str:
    """The group name MemoTrace put in the file name (``<群名>_utf8.csv``).

    >>> group_name_from_path(Path("聊天记录/车主交流群/车主交流群_utf8.csv"))
    '车主交流群'
    """
    stem = path.stem
    for suffix in ("_utf8", "_utf-8", "_gbk"):
        if stem.lower().endswith(suffix):
            return stem[: -len(suffix)] or stem
    return stem


def channel_for(group: str) -> str:
    """``wechat:<群名>``; a name already carrying the prefix is kept.

    >>> channel_for("车主1群"), channel_for("wechat:车主1群")
    ('wechat:车主1群', 'wechat:车主1群')
    """
    return group if group.startswith("wechat:") else f"wechat:{group}"


def looks_like_wechat_export(path: Path) -> bool:
    """Whether ``path`` starts with MemoTrace's CSV header.

    Used by :func:`anchorwatch.ingest.registry.guess_format` so that ``import
    chat.csv`` needs no ``--format wechat``.

    Parameters
    ----------
    path:
        Any file; unreadable or non-CSV files give ``False``.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False,
    ...                                  encoding="utf-8-sig") as fh:
    ...     _ = fh.write(",".join(WECHAT_COLUMNS) + "\\n")
    >>> looks_like_wechat_export(Path(fh.name))
    True
    >>> os.unlink(fh.name)
    """
    try:
        with Path(path).open("rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    first = head.split(b"\n", 1)[0]
    text = first.decode(detect_encoding(head), "replace").lstrip("\ufeff")
    names = {c.strip().strip('"').strip() for c in text.split(",")}
    return _SIGNATURE.issubset(names)


@dataclass(frozen=True, slots=True)
class Quote:
    """The message a quoted reply (49/57) points at, as WeChat wrote it."""

    sender_wxid: str
    sender_name: str
    content: str


def parse_quote(content: str) -> tuple[str, Quote | None] | None:
    """Read a quoted reply's ``<appmsg>`` XML: its own text and the quote.

    WeChat stores a quoted reply as ``<msg><appmsg><title>reply</title>
    <type>57</type><refermsg><chatusr>wxid</chatusr><displayname>name
    </displayname><content>quoted text</content>...</refermsg></appmsg></msg>``.

    Returns
    -------
    tuple or None
        ``(reply text, Quote or None)``, or ``None`` when ``content`` is not
        such XML.

    Examples
    --------
    >>> xml = ('<msg><appmsg><title>去服务站刷一下就好</title><type>57</type>'
    ...        '<refermsg><type>1</type><chatusr>wxid_laozhang</chatusr>'
    ...        '<displayname>老张</displayname><content>车机又黑屏了</content>'
    ...        '</refermsg></appmsg></msg>')
    >>> text, quote = parse_quote(xml)
    >>> text, quote.sender_wxid, quote.content
    ('去服务站刷一下就好', 'wxid_laozhang', '车机又黑屏了')
    """
    start = content.find("<")
    if start < 0 or len(content) > MAX_XML_CHARS:
        return None
    try:
        root = ET.fromstring(content[start:])
    except ET.ParseError:
        return None
    appmsg = root if root.tag == "appmsg" else root.find("appmsg")
    if appmsg is None:
        return None
    title = appmsg.findtext("title") or ""
    refer = appmsg.find("refermsg")
    if refer is None:
        return title, None
    quoted = refer.findtext("content") or ""
    if refer.findtext("type") == str(APP):
        # Quoting a quote: the quoted "content" is that reply's own XML; what
        # people saw, and what we indexed, is its title.
        inner = parse_quote(quoted)
        quoted = inner[0] if inner else quoted
    wxid = refer.findtext("chatusr") or ""
    if not wxid:
        fromusr = refer.findtext("fromusr") or ""
        wxid = "" if fromusr.endswith("@chatroom") else fromusr
    quote = Quote(
        sender_wxid=wxid.strip(),
        sender_name=(refer.findtext("displayname") or "").strip(),
        content=quoted.strip(),
    )
    return title, quote


def parse_join(text: str) -> tuple[list[str], str | None, str] | None:
    """Who joined, who brought them and how, from a system line.

    ``你`` (the exporting account) comes back as an internal marker; names are
    split at ``、`` as WeChat lists several invitees.

    Examples
    --------
    >>> parse_join('"张三"邀请"李四、赵六"加入了群聊')
    (['李四', '赵六'], '张三', 'invite')
    >>> parse_join('"王五"通过扫描"张三"分享的二维码加入群聊')
    (['王五'], '张三', 'qrcode')
    >>> parse_join('"李四" 撤回了一条消息') is None
    True
    """
    text = text.strip()
    m = _INVITE_RE.match(text)
    if m:
        segment = m.group("who")
        joined = [n for q in _QUOTED_NAME.findall(segment) for n in q.split("、") if n]
        if "你" in _QUOTED_NAME.sub("", segment):
            joined.append(_SELF)
        by = _SELF if m.group("by_self") else m.group("by")
        return joined, by, "invite"
    m = _QRCODE_RE.match(text)
    if m:
        who = _SELF if m.group("who_self") else m.group("who")
        by = _SELF if m.group("by_self") else m.group("by")
        return [who], by, "qrcode"
    return None


class WeChatSource:
    """Stream a MemoTrace group-chat CSV as canonical rows.

    Parameters
    ----------
    path:
        The ``<群名>_utf8.csv`` file.
    channel:
        Group name (or ``wechat:<群名>``); default: from the file name.  Use the
        same value for every export of one group: it is part of the ids.

    Attributes
    ----------
    skipped:
        Rows without text, by kind (``image``, ``sticker``, ``recalled``,
        ``system``, ``quote_without_text`` ...), filled while iterating.

    Examples
    --------
    >>> import tempfile, os
    >>> rows = [",".join(WECHAT_COLUMNS),
    ...         '1,5,1,0,0,1772330400,2,在吗,2026-03-01 10:00:00,老张,老张,wxid_laozhang',
    ...         '2,5,3,0,0,1772330460,2,,2026-03-01 10:01:00,老张,老张,wxid_laozhang']
    >>> with tempfile.NamedTemporaryFile("w", suffix="_utf8.csv", delete=False,
    ...                                  encoding="utf-8-sig", prefix="车主群") as fh:
    ...     _ = fh.write("\\n".join(rows) + "\\n")
    >>> src = WeChatSource(Path(fh.name), channel="车主1群")
    >>> [(r.line, r.data["type"]) for r in src]
    [(2, 'conversation'), (2, 'member'), (2, 'message')]
    >>> dict(src.skipped)
    {'image': 1}
    >>> os.unlink(fh.name)
    """

    format = "wechat"

    def __init__(self, path: Path, channel: str | None = None) -> None:
        self.path = Path(path)
        self.name = self.path.name
        self.group = (channel or "").removeprefix("wechat:") or group_name_from_path(self.path)
        self.channel = channel_for(channel or self.group)
        self.encoding = sniff_file_encoding(self.path)
        self.skipped: Counter[str] = Counter()
        self._counter: ByteCounter | None = None
        self._size = self.path.stat().st_size
        header = self._header()
        self._columns = {name: i for i, name in enumerate(header) if name}
        if not _REQUIRED.issubset(self._columns):
            raise SourceError("error.unknown_format", path=str(self.path))
        self._width = len(header)

    @property
    def total(self) -> int | None:
        return self._size

    @property
    def position(self) -> int:
        return self._counter.count if self._counter else 0

    def _header(self) -> list[str]:
        with self.path.open("rb") as fh:
            for _, fields, _problem in iter_csv_records(fh, self.encoding):
                return [f.strip().lstrip("\ufeff") for f in fields or []]
        return []

    def __iter__(self) -> Iterator[RawRow]:
        self.skipped = Counter()
        with self.path.open("rb") as fh:
            self._counter = ByteCounter(fh)
            raw = io.BufferedReader(self._counter, buffer_size=1 << 20)
            state = _ChatState(self.channel, self.group, self.skipped)
            records = iter_csv_records(raw, self.encoding)
            next(records, None)  # the header
            for line, fields, problem in records:
                yield from self._rows(state, line, fields, problem)
            yield from state.flush_pending()

    def _rows(
        self, state: _ChatState, line: int, fields: list[str] | None, problem: str | None
    ) -> list[RawRow]:
        if fields is None:
            return [RawRow(line, error=RecordError("unmapped", detail=problem))]
        if problem is not None:
            err = RecordError("bad_encoding", encoding=self.encoding)
            return [RawRow(line, error=err, raw=_raw(fields))]
        if len(fields) != self._width:
            if len(fields) == 1 and not fields[0].strip():
                return []
            err = RecordError("bad_columns", expected=self._width, found=len(fields))
            return [RawRow(line, error=err, raw=_raw(fields))]
        col = self._columns
        try:
            type_ = int(fields[col["Type"]])
        except ValueError:
            err = RecordError("wrong_type", field="Type", expected="integer")
            return [RawRow(line, error=err, raw=_raw(fields))]
        try:
            sub = int(fields[col["SubType"]] or 0)
        except ValueError:
            sub = -1
        content = fields[col["StrContent"]]

        if type_ == SYSTEM:
            return state.system_line(line, fields, col, content)
        if type_ == APP and sub == QUOTE_SUBTYPE:
            parsed = parse_quote(content) if "<" in content else None
            if parsed is None and not content.strip():
                # MemoTrace v2.0 writes quoted replies with an empty StrContent
                # (the XML sits in CompressContent, which it does not export).
                self.skipped["quote_without_text"] += 1
                return []
            text, quote = parsed if parsed is not None else (content, None)
            return state.message(line, fields, col, type_, text, quote)
        if type_ == TEXT:
            return state.message(line, fields, col, type_, content, None)
        if type_ == APP:
            self.skipped[SKIPPED_APP_SUBTYPES.get(sub, "app")] += 1
        else:
            self.skipped[SKIPPED_TYPES.get(type_, "other")] += 1
        return []


def _raw(fields: list[str]) -> str:
    """The row as the rejects file shows it (cells joined, not re-quoted)."""
    return ",".join(fields)[:RAW_KEEP]


class _ChatState:
    """What one pass over an export remembers: members, names, recent messages."""

    def __init__(self, channel: str, group: str, skipped: Counter[str]) -> None:
        self.channel = channel
        self.group = group
        self.skipped = skipped
        self.tz = resolve_timezone(DEFAULT_TIMEZONE)
        self.conversation_sent = False
        self.members: dict[str, str] = {}  # wxid (or "\0name") → member id
        self.names: dict[str, str] = {}  # nickname / remark → member id
        self.self_id: str | None = None
        # Joins of people not seen yet, by the name the system line used.
        self.pending: dict[str, list[tuple[int, str, dict[str, Any]]]] = {}
        self.recent: OrderedDict[int, str] = OrderedDict()
        self.occurrences = _Occurrences()

    # -- helpers
    def _conversation(self, line: int, out: list[RawRow]) -> None:
        if not self.conversation_sent:
            self.conversation_sent = True
            conv = {
                "type": "conversation",
                "id": self.channel,
                "channel": self.channel,
                "title": self.group,
                "stream": True,
            }
            out.append(RawRow(line, data=conv))

    def _time(self, fields: list[str], col: dict[str, int]) -> tuple[str | None, str | None, str]:
        """``(sent_at, id time key, raw)``; ``sent_at`` None when unreadable."""
        str_time = fields[col["StrTime"]].strip()
        create = fields[col["CreateTime"]].strip()
        key = create if create.isdigit() else None
        try:
            # StrTime is the exporting PC's wall clock: kept naive so the
            # import's time zone applies.
            return datetime.fromisoformat(str_time).isoformat(), key or str_time, str_time
        except ValueError:
            pass
        if key is not None:
            # Only the instant is readable; write it in China time, where the
            # group lives, rather than guess the exporting PC's zone.
            return datetime.fromtimestamp(int(key), self.tz).isoformat(), key, str_time
        return None, None, str_time or create

    def _author(
        self, line: int, fields: list[str], col: dict[str, int], out: list[RawRow]
    ) -> str | None:
        def cell(name: str) -> str:
            i = col.get(name)
            return fields[i].strip() if i is not None else ""

        wxid = cell("Sender")
        nick = cell("NickName")
        remark = cell("Remark")
        if wxid and nick == wxid:
            # MemoTrace's stand-in for a sender with no contact entry (someone
            # who left): every column is the wxid, which is not a name.
            nick = remark = ""
        key = wxid or ("\x00" + (nick or remark))
        mid = self.members.get(key)
        if mid is not None:
            return mid
        name = nick or remark
        if wxid:
            mid = stable_id("u", "wechat", wxid)
        elif name:
            mid = stable_id("u", self.channel, "name", name)
        else:
            return None
        self.members[key] = mid
        member: dict[str, Any] = {"type": "member", "id": mid}
        if name:
            member["name"] = name
        extra = {}
        if wxid:
            extra["wxid"] = wxid
        if remark and remark != nick:
            extra["remark"] = remark  # the exporter's own label for them
        if extra:
            member["extra"] = extra
        out.append(RawRow(line, data=member))
        aliases = [n for n in (nick, remark) if n]
        if cell("IsSender") == "1":
            self.self_id = mid
            aliases.append(_SELF)
        for alias in aliases:
            self.names[alias] = mid
            for jline, at, jextra in self.pending.pop(alias, ()):
                out.append(RawRow(jline, data=self._join(mid, at, jextra)))
        return mid

    def _join(self, member: str, at: str, extra: dict[str, Any]) -> dict[str, Any]:
        return {"type": "join", "member": member, "channel": self.channel, "at": at, **extra}

    # -- rows
    def message(
        self,
        line: int,
        fields: list[str],
        col: dict[str, int],
        type_: int,
        text: str,
        quote: Quote | None,
    ) -> list[RawRow]:
        sent_at, time_key, raw_time = self._time(fields, col)
        if sent_at is None:
            err = RecordError("bad_time", field="StrTime", value=raw_time[:40])
            return [RawRow(line, error=err, raw=_raw(fields))]
        out: list[RawRow] = []
        self._conversation(line, out)
        author = self._author(line, fields, col, out)
        occ = self.occurrences.next(time_key, (author, type_, text))
        msg_id = stable_id("m", self.channel, time_key, author, type_, text, occ)
        msg: dict[str, Any] = {
            "type": "message",
            "id": msg_id,
            "conversation": self.channel,
            "author": author,
            "reply_to": None,
            "sent_at": sent_at,
            "text": text,
        }
        if quote is not None:
            msg["reply_to"] = self._resolve(quote)
            msg["extra"] = {"quote": {"sender": quote.sender_name, "content": quote.content[:500]}}
        out.append(RawRow(line, data=msg))
        if author is not None:
            self._remember(author, text, msg_id)
        return out

    def _remember(self, author: str, text: str, msg_id: str) -> None:
        # Keyed by a 64-bit hash, not the text, so 100,000 remembered messages
        # cost a few MB; a collision would need two texts with equal hashes
        # within that window, which we accept.
        key = hash((author, text.strip()))
        self.recent[key] = msg_id
        self.recent.move_to_end(key)
        if len(self.recent) > RECENT_MESSAGES:
            self.recent.popitem(last=False)

    def _resolve(self, quote: Quote) -> str | None:
        if not quote.content:
            return None
        candidates = []
        if quote.sender_wxid and quote.sender_wxid in self.members:
            candidates.append(self.members[quote.sender_wxid])
        if quote.sender_name and quote.sender_name in self.names:
            candidates.append(self.names[quote.sender_name])
        for author in candidates:
            hit = self.recent.get(hash((author, quote.content)))
            if hit is not None:
                return hit
        return None

    def system_line(
        self, line: int, fields: list[str], col: dict[str, int], content: str
    ) -> list[RawRow]:
        if _RECALL_RE.search(content):
            self.skipped["recalled"] += 1
            return []
        parsed = parse_join(content)
        if parsed is None:
            self.skipped["system"] += 1
            return []
        sent_at, _key, raw_time = self._time(fields, col)
        if sent_at is None:
            err = RecordError("bad_time", field="StrTime", value=raw_time[:40])
            return [RawRow(line, error=err, raw=_raw(fields))]
        joined, by, via = parsed
        extra: dict[str, Any] = {"via": via}
        if by is not None and by != _SELF:
            extra["inviter_name"] = by
        out: list[RawRow] = []
        self._conversation(line, out)
        for who in joined:
            mid = self.names.get(who)
            if mid is not None:
                out.append(RawRow(line, data=self._join(mid, sent_at, extra)))
            else:
                # Usually the newcomer has not spoken yet: wait until they do,
                # so the join carries the same (wxid-based) id as their messages.
                self.pending.setdefault(who, []).append((line, sent_at, extra))
        return out

    def flush_pending(self) -> Iterator[RawRow]:
        """Joins of members who never spoke in this export: ids from their names."""
        for name, joins in self.pending.items():
            if name == _SELF:
                self.skipped["join_unresolved"] += len(joins)
                continue
            mid = stable_id("u", self.channel, "name", name)
            first = joins[0][0]
            yield RawRow(first, data={"type": "member", "id": mid, "name": name})
            for jline, at, extra in joins:
                yield RawRow(jline, data=self._join(mid, at, extra))
        self.pending.clear()
