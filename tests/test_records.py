"""Canonical records (DESIGN 3.1): validation at the edge and the JSON form."""

from __future__ import annotations

from datetime import datetime

import pytest

from anchorwatch.records import (
    Instant,
    Message,
    RecordError,
    parse_record,
    record_to_dict,
    resolve_timezone,
)


def msg(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "type": "message",
        "id": "m1",
        "conversation": "t1",
        "author": "u1",
        "sent_at": "2026-03-01T23:30:00+08:00",
        "text": "提车第一天，车机就黑屏了😭",
    }
    base.update(fields)
    return base


def test_message_keeps_offset_and_local_hour() -> None:
    rec = parse_record(msg())
    assert isinstance(rec, Message)
    assert rec.sent_at.utc == datetime(2026, 3, 1, 15, 30)
    assert rec.sent_at.offset_min == 480
    assert rec.sent_at.local.hour == 23  # late-night load needs the writer's hour
    assert record_to_dict(rec)["sent_at"] == "2026-03-01T23:30:00+08:00"


def test_naive_time_read_in_default_zone_and_z_suffix() -> None:
    naive = parse_record(msg(sent_at="2026-03-01 10:00:00"))
    assert isinstance(naive, Message)
    assert naive.sent_at.offset_min == 480
    utc = parse_record(msg(sent_at="2026-03-01T02:00:00Z"), default_tz=resolve_timezone("+08:00"))
    assert isinstance(utc, Message)
    assert utc.sent_at.utc == datetime(2026, 3, 1, 2, 0)
    assert utc.sent_at.offset_min == 0


def test_unknown_fields_kept_as_extra_and_written_back() -> None:
    rec = parse_record(msg(client="ios", extra={"quoted": "wx-9"}))
    assert rec.extra == {"quoted": "wx-9", "client": "ios"}
    out = record_to_dict(rec)
    assert out["client"] == "ios" and out["quoted"] == "wx-9"
    assert parse_record(out).extra == rec.extra


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"text": None}, "missing"),
        ({"text": "  \n"}, "missing"),
        ({"author": None}, "missing"),
        ({"sent_at": None}, "missing"),
        ({"sent_at": "上周五"}, "bad_time"),
        ({"sent_at": 1700000000}, "wrong_type"),
        ({"text": 42}, "wrong_type"),
        ({"author": ["u1"]}, "wrong_type"),
        ({"text": "长" * 20_001}, "too_long"),
        ({"id": "x" * 201}, "too_long"),
    ],
)
def test_bad_messages_raise_with_code(fields: dict[str, object], code: str) -> None:
    with pytest.raises(RecordError) as info:
        parse_record(msg(**fields))
    assert info.value.code == code
    assert info.value.reason("en") and info.value.reason("zh-CN")


@pytest.mark.parametrize(
    ("obj", "code"),
    [
        ({"type": "member", "id": "u1", "role": "vip"}, "bad_role"),
        ({"type": "metric", "member": "u1", "period": "2026-13"}, "bad_period"),
        ({"type": "metric", "member": "u1", "period": "2026-01", "reads": -1}, "bad_count"),
        ({"type": "metric", "member": "u1", "period": "2026-01", "reads": "many"}, "wrong_type"),
        ({"type": "conversation", "id": "t1", "stream": "yes"}, "wrong_type"),
        ({"type": "join", "member": "u1", "channel": "wechat:g"}, "missing"),
        ({"type": "thread"}, "unknown_type"),
        ({"id": "x"}, "missing"),
        (["not", "a", "dict"], "not_object"),
    ],
)
def test_other_record_errors(obj: object, code: str) -> None:
    with pytest.raises(RecordError) as info:
        parse_record(obj)
    assert info.value.code == code


def test_every_record_type_round_trips() -> None:
    rows = [
        {
            "type": "member",
            "id": "u1",
            "name": "老张",
            "joined_at": "2026-01-03T10:00:00+08:00",
            "role": "koc",
        },
        {
            "type": "conversation",
            "id": "t1",
            "channel": "wechat:车主1群",
            "title": "车机黑屏怎么办",
            "started_at": "2026-01-03T10:00:00+08:00",
            "stream": True,
        },
        msg(reply_to="m0"),
        {
            "type": "join",
            "member": "u5",
            "channel": "wechat:车主1群",
            "at": "2026-01-04T08:00:00+08:00",
        },
        {
            "type": "reaction",
            "message": "m1",
            "member": "u2",
            "kind": "like",
            "at": "2026-01-04T08:01:00+08:00",
        },
        {
            "type": "metric",
            "member": "u1",
            "period": "2026-03",
            "reads": 1200,
            "plays": 0,
            "leads": 2,
        },
    ]
    for row in rows:
        assert record_to_dict(parse_record(row)) == row


def test_instant_isoformat_negative_offset() -> None:
    inst = Instant(datetime(2026, 3, 1, 15, 0), -300)
    assert inst.isoformat() == "2026-03-01T10:00:00-05:00"
