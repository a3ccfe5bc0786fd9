"""MemoTrace (留痕) WeChat group exports: joins from system lines, quoted replies,
non-text rows skipped, broken lines reported, stable ids across overlapping exports."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path
from typing import Any

import pytest

from anchorwatch.ingest.base import RawRow, stable_id
from anchorwatch.ingest.loader import import_source
from anchorwatch.ingest.registry import SourceError, guess_format, open_source
from anchorwatch.ingest.wechat import (
    WECHAT_COLUMNS,
    WeChatSource,
    looks_like_wechat_export,
    parse_join,
    parse_quote,
)
from anchorwatch.records import parse_record
from anchorwatch.store import Store

from ..conftest import FIXTURES

WX = FIXTURES / "wechat"
GROUP = WX / "澜舟L7车主1群_utf8.csv"
MALFORMED = WX / "malformed_utf8.csv"
OVERLAP_A = WX / "overlap_a_utf8.csv"
OVERLAP_B = WX / "overlap_b_utf8.csv"


def uid(wxid: str) -> str:
    return stable_id("u", "wechat", wxid)


def of(rows: list[RawRow], kind: str) -> list[tuple[int, dict[str, Any]]]:
    return [(r.line, r.data) for r in rows if r.data is not None and r.data["type"] == kind]


def message_by_text(rows: list[RawRow], start: str) -> dict[str, Any]:
    return next(d for _, d in of(rows, "message") if d["text"].startswith(start))


@pytest.fixture(scope="module")
def group_rows() -> list[RawRow]:
    return list(WeChatSource(GROUP))


def wechat_csv(tmp_path: Path, rows: list[list[object]], name: str = "车主群_utf8.csv") -> Path:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    writer.writerow(WECHAT_COLUMNS)
    writer.writerows(rows)
    path = tmp_path / name
    path.write_bytes(codecs.BOM_UTF8 + buf.getvalue().encode("utf-8"))
    return path


def row(n: int, type_: int, content: str, who: tuple[str, str, str], *, sub: int = 0,
        sender: int = 0, t: int = 0) -> list[object]:  # fmt: skip
    create = 1772330400 + t
    minute, second = divmod(t, 60)
    return [n, 5, type_, sub, sender, create, 3, content,
            f"2026-03-01 10:{minute:02d}:{second:02d}", *who]  # fmt: skip


# ----------------------------------------------------------------------- format


def test_header_sniffing() -> None:
    assert looks_like_wechat_export(GROUP) and looks_like_wechat_export(MALFORMED)
    assert not looks_like_wechat_export(FIXTURES / "tabular" / "kefu_gbk.csv")
    assert not looks_like_wechat_export(WX / "does-not-exist.csv")
    assert guess_format(GROUP) == "wechat"
    assert isinstance(open_source(GROUP), WeChatSource)


def test_not_a_wechat_export(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("发送人,内容\n老张,hi\n", encoding="utf-8")
    with pytest.raises(SourceError) as info:
        WeChatSource(path)
    assert info.value.code == "error.unknown_format"


def test_group_becomes_one_stream_conversation(group_rows: list[RawRow]) -> None:
    assert [r for r in group_rows if r.error] == []
    assert of(group_rows, "conversation") == [
        (
            2,
            {
                "type": "conversation",
                "id": "wechat:澜舟L7车主1群",
                "channel": "wechat:澜舟L7车主1群",
                "title": "澜舟L7车主1群",
                "stream": True,
            },
        )
    ]
    assert {d["conversation"] for _, d in of(group_rows, "message")} == {"wechat:澜舟L7车主1群"}
    for r in group_rows:
        assert r.data is not None
        parse_record(r.data)


@pytest.mark.parametrize("channel", ["澜舟L7车主1群", "wechat:澜舟L7车主1群"])
def test_channel_argument_names_the_group(tmp_path: Path, channel: str) -> None:
    copy = tmp_path / "export.csv"
    copy.write_bytes(GROUP.read_bytes())
    src = WeChatSource(copy, channel=channel)
    assert src.channel == "wechat:澜舟L7车主1群"
    ids = [d["id"] for _, d in of(list(src), "message")]
    assert ids == [d["id"] for _, d in of(list(WeChatSource(GROUP)), "message")]


def test_members_from_wxid_with_names_and_remarks(group_rows: list[RawRow]) -> None:
    members = {d["id"]: (line, d) for line, d in of(group_rows, "member")}
    line, zhang = members[uid("wxid_zhang88")]
    assert line == 3
    assert zhang == {
        "type": "member",
        "id": uid("wxid_zhang88"),
        "name": "老张-L7车主",
        "extra": {"wxid": "wxid_zhang88", "remark": "老张_L7_上海"},
    }
    # Someone who left the group: MemoTrace writes the wxid everywhere, no name.
    assert "name" not in members[uid("wxid_left_9x8")][1]
    assert len(members) == len({d["id"] for _, d in of(group_rows, "member")})
    authors = {d["author"] for _, d in of(group_rows, "message")}
    assert authors <= set(members)
    # The exporting operator (IsSender=1) is a member like any other.
    welcome = message_by_text(group_rows, "欢迎李四")
    assert welcome["author"] == uid("wxid_lanzhou_xiaolan")


def test_same_wxid_is_the_same_member_in_another_group(tmp_path: Path) -> None:
    zhang = ("老张_L7_上海", "老张-L7车主", "wxid_zhang88")
    path = wechat_csv(tmp_path, [row(1, 1, "L9群也有人黑屏吗", zhang)], "澜舟L9车主群_utf8.csv")
    rows = list(WeChatSource(path))
    assert of(rows, "message")[0][1]["author"] == uid("wxid_zhang88")
    assert of(rows, "conversation")[0][1]["id"] == "wechat:澜舟L9车主群"


# ------------------------------------------------------------------------ joins


def test_joins_from_system_lines(group_rows: list[RawRow]) -> None:
    joins = of(group_rows, "join")
    by_member = {d["member"]: (line, d) for line, d in joins}
    channel = "wechat:澜舟L7车主1群"
    # 你邀请"李四"加入了群聊: resolved to 李四's wxid once she speaks.
    assert by_member[uid("wxid_lisi_2024")] == (
        2,
        {"type": "join", "member": uid("wxid_lisi_2024"), "channel": channel,
         "at": "2026-03-01T09:58:00", "via": "invite"},
    )  # fmt: skip
    # "小周"通过扫描"老张-L7车主"分享的二维码加入群聊
    line, zhou = by_member[uid("wxid_zhou_xm")]
    assert line == 42 and zhou["via"] == "qrcode" and zhou["inviter_name"] == "老张-L7车主"
    # "陈姐"邀请"阿杰、Mia"加入了群聊: two joins; Mia never speaks, so her id
    # comes from her name and a member record carries it.
    line, ajie = by_member[uid("wxid_ajie_007")]
    assert line == 68 and ajie["inviter_name"] == "陈姐"
    mia_id = stable_id("u", channel, "name", "Mia")
    assert by_member[mia_id][0] == 68
    assert (68, {"type": "member", "id": mia_id, "name": "Mia"}) in of(group_rows, "member")
    assert len(joins) == 4


def test_join_precedes_nothing_it_should_follow(group_rows: list[RawRow]) -> None:
    """A join waiting for its member is emitted right after that member record."""
    kinds = [(r.data["type"], r.data.get("id") or r.data.get("member")) for r in group_rows
             if r.data is not None]  # fmt: skip
    i = kinds.index(("member", uid("wxid_lisi_2024")))
    assert kinds[i + 1] == ("join", uid("wxid_lisi_2024"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"张三"邀请"李四"加入了群聊', (["李四"], "张三", "invite")),
        ('"张三"邀请"李四、王五"加入了群聊', (["李四", "王五"], "张三", "invite")),
        ('你邀请"李四"加入了群聊', (["李四"], "\x00self", "invite")),
        ('"张三"邀请你加入了群聊', (["\x00self"], "张三", "invite")),
        ('"张三"邀请你和"李四"加入了群聊', (["李四", "\x00self"], "张三", "invite")),
        ('"王五"通过扫描"张三"分享的二维码加入群聊', (["王五"], "张三", "qrcode")),
        ('"王五"通过扫描你分享的二维码加入群聊', (["王五"], "\x00self", "qrcode")),
        ('"赵六" 撤回了一条消息', None),
        ('你修改群名为"澜舟L7车主1群"', None),
    ],
)
def test_parse_join(text: str, expected: Any) -> None:
    assert parse_join(text) == expected


def test_invited_exporter_joins_with_their_own_id(tmp_path: Path) -> None:
    me = ("澜舟小蓝", "澜舟小蓝", "wxid_lanzhou_xiaolan")
    path = wechat_csv(tmp_path, [
        row(1, 10000, '"陈姐"邀请你加入了群聊', ("", "", "")),
        row(2, 1, "大家好，我是澜舟运营小蓝", me, sender=1, t=60),
    ])  # fmt: skip
    rows = list(WeChatSource(path))
    assert of(rows, "join") == [
        (2, {"type": "join", "member": uid("wxid_lanzhou_xiaolan"),
             "channel": "wechat:车主群", "at": "2026-03-01T10:00:00", "via": "invite",
             "inviter_name": "陈姐"}),
    ]  # fmt: skip


# ---------------------------------------------------------------- quoted replies


def test_quoted_replies_point_at_the_quoted_message(group_rows: list[RawRow]) -> None:
    question = message_by_text(group_rows, "请问一下，怎么开启哨兵模式")
    answer = message_by_text(group_rows, "在中控屏 设置-安全-哨兵模式")
    assert answer["author"] == uid("wxid_chenjie")
    assert answer["reply_to"] == question["id"]
    assert answer["extra"]["quote"] == {"sender": "李四", "content": question["text"]}
    kefu = message_by_text(group_rows, "各位车主好")
    assert message_by_text(group_rows, "工单在哪里提交呀")["reply_to"] == kefu["id"]


def test_quote_not_in_the_export_keeps_text_and_quote(group_rows: list[RawRow]) -> None:
    reply = message_by_text(group_rows, "去年那批车也是这样")
    assert reply["reply_to"] is None
    assert reply["extra"] == {"quote": {"sender": "老车主", "content": "等了三周才修好"}}


def test_quote_of_a_quote_matches_its_title(tmp_path: Path) -> None:
    li = ("李四", "李四", "wxid_lisi")
    chen = ("陈姐_KOC", "陈姐", "wxid_chen")

    def xml(title: str, who: str, name: str, content: str, ref_type: int = 1) -> str:
        inner = content.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return (f"<msg><appmsg><title>{title}</title><type>57</type><refermsg>"
                f"<type>{ref_type}</type><chatusr>{who}</chatusr><displayname>{name}"
                f"</displayname><content>{inner}</content></refermsg></appmsg></msg>")  # fmt: skip

    first = xml("设置里打开", "wxid_lisi", "李四", "哨兵模式在哪")
    second = xml("谢谢！", "wxid_chen", "陈姐", first, ref_type=49)
    path = wechat_csv(tmp_path, [
        row(1, 1, "哨兵模式在哪", li),
        row(2, 49, first, chen, sub=57, t=30),
        row(3, 49, second, li, sub=57, t=60),
    ])  # fmt: skip
    msgs = [d for _, d in of(list(WeChatSource(path)), "message")]
    assert msgs[1]["reply_to"] == msgs[0]["id"]
    assert msgs[2]["reply_to"] == msgs[1]["id"]
    assert msgs[2]["extra"]["quote"]["content"] == "设置里打开"


def test_parse_quote_rejects_non_xml() -> None:
    assert parse_quote("普通文本") is None
    assert parse_quote("<msg><appmsg>broken") is None
    assert parse_quote("<msg><img/></msg>") is None
    assert parse_quote("<msg><appmsg><title>没有引用</title></appmsg></msg>") == ("没有引用", None)


# ------------------------------------------------------------- skipped non-text


def test_non_text_rows_are_skipped_and_counted_not_rejected() -> None:
    src = WeChatSource(GROUP)
    rows = list(src)
    assert not any(r.error for r in rows)
    assert dict(src.skipped) == {
        "image": 1,
        "sticker": 2,
        "voice": 1,
        "video": 1,
        "link": 1,
        "file": 1,
        "recalled": 1,
        "quote_without_text": 1,
        "system": 2,  # a group rename and a pat
    }
    texts = [d["text"] for _, d in of(rows, "message")]
    assert len(texts) == 25
    assert not any(t.lstrip().startswith("<") for t in texts)
    assert not any("撤回" in t for t in texts)
    # Iterating again starts the counts afresh.
    list(src)
    assert src.skipped["sticker"] == 2


def test_line_numbers_are_physical_lines(group_rows: list[RawRow]) -> None:
    lines = {d["text"][:8]: line for line, d in of(group_rows, "message")}
    assert lines["车机又黑屏了，重"] == 3
    assert lines["大家好，新人报到"] == 12  # after a 7-line image row (5-11)
    assert lines["黑屏的问题我打了"] == 44  # a 3-line message: 44-46
    assert lines["各位车主好，车机"] == 47


def test_repeated_message_in_the_same_second_lands_twice(group_rows: list[RawRow]) -> None:
    plus = [d for _, d in of(group_rows, "message") if d["text"] == "+1"]
    assert len(plus) == 2 and plus[0]["id"] != plus[1]["id"]
    assert plus[0]["sent_at"] == plus[1]["sent_at"]


# ------------------------------------------------------------------- malformed


def test_malformed_lines_are_reported_with_their_line() -> None:
    rows = list(WeChatSource(MALFORMED))
    errs = {r.line: r.error for r in rows if r.error is not None}
    assert {n: e.code for n, e in errs.items()} == {
        4: "bad_columns",
        5: "wrong_type",
        6: "bad_time",
        7: "bad_encoding",
    }
    assert errs[4].params == {"expected": 12, "found": 8}
    assert errs[5].params == {"field": "Type", "expected": "integer"}
    assert errs[6].params == {"field": "StrTime", "value": "昨天下午"}
    assert all(r.raw for r in rows if r.error is not None)
    assert [(line, d["text"]) for line, d in of(rows, "message")] == [
        (3, "车机又黑屏了，重启也没用，有人遇到过吗？"),
        (8, "这一行\n有两行"),
        (10, "我上周也是，OTA之后就这样"),
    ]


def test_gbk_and_bomless_copies_read_the_same(tmp_path: Path) -> None:
    text = GROUP.read_bytes().decode("utf-8-sig")
    gbk = tmp_path / "gbk.csv"
    # 🚗 and 🙏 are outside GBK; GB18030 (what GBK files are read as) has them.
    gbk.write_bytes(text.encode("gb18030"))
    plain = tmp_path / "plain.csv"
    plain.write_bytes(text.encode("utf-8"))
    expected = [r.data for r in WeChatSource(GROUP, channel="g")]
    for path in (gbk, plain):
        src = WeChatSource(path, channel="g")
        assert [r.data for r in src] == expected


def test_strtime_missing_falls_back_to_createtime_in_china_time(tmp_path: Path) -> None:
    li = ("李四", "李四", "wxid_lisi")
    r = row(1, 1, "在吗", li)
    r[8] = ""
    rows = list(WeChatSource(wechat_csv(tmp_path, [r])))
    assert of(rows, "message")[0][1]["sent_at"] == "2026-03-01T10:00:00+08:00"


# ------------------------------------------------- overlapping exports, same ids


def test_overlapping_exports_give_identical_ids() -> None:
    def ids(path: Path) -> list[tuple[str, str]]:
        rows = list(WeChatSource(path, "澜舟L7车主1群"))
        return [(d["sent_at"], d["id"]) for _, d in of(rows, "message")]

    a, b = ids(OVERLAP_A), ids(OVERLAP_B)
    start_b, end_a = b[0][0], a[-1][0]
    in_a = [i for t, i in a if t >= start_b]
    in_b = [i for t, i in b if t <= end_a]
    assert len(in_a) == 11 and in_a == in_b
    # localId and TalkerId differ between the two files for the same messages.
    first_a = OVERLAP_A.read_text("utf-8-sig").splitlines()[1].split(",")[:2]
    first_b = OVERLAP_B.read_text("utf-8-sig").splitlines()[1].split(",")[:2]
    assert first_a == ["18233", "5"] and first_b == ["40117", "7"]
    # Both are cut from the full export, whose ids they share.
    full = {i for _, i in ids(GROUP)}
    assert {i for _, i in a} <= full and {i for _, i in b} <= full


def test_reimporting_an_overlapping_export_adds_only_new_messages(store: Store) -> None:
    first = import_source(store, WeChatSource(OVERLAP_A, channel="澜舟L7车主1群"))
    assert first.rejected == 0
    n_a = first.new["messages"]
    second = import_source(store, WeChatSource(OVERLAP_B, channel="澜舟L7车主1群"))
    assert second.rejected == 0
    only_b = {d["id"] for _, d in of(list(WeChatSource(OVERLAP_B, "澜舟L7车主1群")), "message")}
    only_b -= {d["id"] for _, d in of(list(WeChatSource(OVERLAP_A, "澜舟L7车主1群")), "message")}
    assert second.new["messages"] == len(only_b) > 0
    assert store.count("messages") == n_a + len(only_b)
    full = import_source(store, WeChatSource(GROUP))
    assert full.new.get("messages", 0) == 0


def test_full_export_imports_cleanly(store: Store) -> None:
    summary = import_source(store, WeChatSource(GROUP))
    assert summary.rejected == 0 and summary.exit_code == 0
    assert summary.new["messages"] == 25
    assert summary.new["joins"] == 4
    assert summary.new["conversations"] == 1
