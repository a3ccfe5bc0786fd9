"""CSV/XLSX with a column mapping: mappings, encodings, line numbers, derived ids,
broken rows reported while good rows land."""

from __future__ import annotations

import codecs
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from anchorwatch.ingest.base import RawRow
from anchorwatch.ingest.loader import import_source
from anchorwatch.ingest.registry import SourceError, guess_format, open_source
from anchorwatch.ingest.tabular import (
    ColumnMapping,
    TabularSource,
    iter_csv_records,
    load_mapping,
    mapping_from_dict,
    parse_time,
)
from anchorwatch.records import Message, RecordError, parse_record
from anchorwatch.store import Store

from ..conftest import FIXTURES

TAB = FIXTURES / "tabular"
KEFU = TAB / "kefu_gbk.csv"
COMPLAINTS = TAB / "complaints_utf8bom.csv"
FORUM = TAB / "forum_export.tsv"

BASIC = {"columns": {"发送人": "author_name", "发送时间": "sent_at", "内容": "text"}}


def rows_of(source: TabularSource) -> list[RawRow]:
    return list(source)


def data(rows: list[RawRow], kind: str) -> list[dict[str, Any]]:
    return [r.data for r in rows if r.data is not None and r.data["type"] == kind]


def errors(rows: list[RawRow]) -> dict[int, str]:
    return {r.line: r.error.code for r in rows if r.error is not None}


def write_csv(tmp_path: Path, text: str, name: str = "t.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


# ------------------------------------------------------------------ mapping files


def test_mapping_file_with_chinese_headers() -> None:
    m = load_mapping(TAB / "kefu.yaml")
    assert m.columns["发送人"] == "author_name" and m.columns["回复消息ID"] == "reply_to"
    assert m.constants == {"channel": "app:车主群"}
    assert m.roles == {"车主": "member", "官方客服": "official", "版主": "koc"}
    assert m.keep_extra is True and m.time_format is None


def test_mapping_file_in_gbk_is_read(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_bytes("columns:\n  发送人: author\n  时间: sent_at\n  内容: text\n".encode("gbk"))
    assert load_mapping(path).columns == {"发送人": "author", "时间": "sent_at", "内容": "text"}


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ([1, 2], "YAML mapping"),
        ({"columns": {"内容": "text", "时间": "sent_at"}}, "author"),
        ({"columns": {"内容": "text", "作者": "author"}}, "sent_at"),
        ({**BASIC, "colums": {}}, "unknown keys"),
        ({"columns": {**BASIC["columns"], "昵称": "sender"}}, "unknown field 'sender'"),
        ({"columns": {**BASIC["columns"], "正文": "text"}}, "mapped twice"),
        ({**BASIC, "constants": {"author_name": "x"}}, "both a column"),
        ({**BASIC, "constants": {"text": "x"}}, "constants.text"),
        ({**BASIC, "time_format": "yyyy-mm-dd"}, "time_format"),
        ({**BASIC, "timezone": "Mars/Olympus"}, "timezone"),
        ({**BASIC, "delimiter": ";;"}, "delimiter"),
        ({**BASIC, "encoding": "klingon"}, "encoding"),
        ({**BASIC, "header_row": 0}, "header_row"),
        ({**BASIC, "keep_extra": "yes please"}, "keep_extra"),
        ({**BASIC, "roles": {"客服": "staff"}}, "roles"),
    ],
)
def test_bad_mapping_is_refused_with_a_detail(doc: Any, needle: str) -> None:
    with pytest.raises(SourceError) as info:
        mapping_from_dict(doc)
    assert info.value.code == "error.bad_mapping"
    assert needle in str(info.value.params["detail"])


def test_mapping_that_is_not_yaml(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("columns: [unclosed\n", encoding="utf-8")
    with pytest.raises(SourceError) as info:
        load_mapping(path)
    assert "line" in str(info.value.params["detail"])
    with pytest.raises(SourceError):
        load_mapping(tmp_path / "missing.yaml")


def test_mapped_header_missing_from_file_fails_at_open(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "发送人,时间,内容\n老张,2026-03-01 10:00,hi\n")
    with pytest.raises(SourceError) as info:
        TabularSource(path, mapping_from_dict(BASIC))
    assert info.value.code == "error.bad_mapping"
    assert "发送时间" in str(info.value.params["detail"])


# ------------------------------------------------------------------------ times


@pytest.mark.parametrize(
    ("value", "fmt", "expected"),
    [
        ("2026-03-01T10:00:00+08:00", None, "2026-03-01T10:00:00+08:00"),
        ("2026-03-01 10:00:00", None, "2026-03-01T10:00:00"),
        ("2026-03-01 10:00", None, "2026-03-01T10:00:00"),
        ("2026/3/1 10:00", None, "2026-03-01T10:00:00"),
        ("2026/03/01 9:05:07", None, "2026-03-01T09:05:07"),
        ("2026-3-1 10:20:30", None, "2026-03-01T10:20:30"),
        ("2026.3.1 10:00", None, "2026-03-01T10:00:00"),
        ("2026年3月1日 22:15", None, "2026-03-01T22:15:00"),
        ("2026年3月1日", None, "2026-03-01T00:00:00"),
        ("20260301", None, "2026-03-01T00:00:00"),
        ("1772330400", None, "2026-03-01T10:00:00+08:00"),
        ("1772330400000", None, "2026-03-01T10:00:00+08:00"),
        (1772330400, None, "2026-03-01T10:00:00+08:00"),
        (46082.416666666664, None, "2026-03-01T10:00:00"),
        ("46082.5", "excel", "2026-03-01T12:00:00"),
        ("1772330400000", "epoch_ms", "2026-03-01T10:00:00+08:00"),
        ("1772330400", "epoch", "2026-03-01T10:00:00+08:00"),
        ("01.03.2026 10:00", "%d.%m.%Y %H:%M", "2026-03-01T10:00:00"),
        (datetime(2026, 3, 1, 10, 0), None, "2026-03-01T10:00:00"),
        ("", None, None),
        (None, None, None),
    ],
)
def test_parse_time(value: Any, fmt: str | None, expected: str | None) -> None:
    assert parse_time(value, fmt) == expected


@pytest.mark.parametrize(
    ("value", "fmt"),
    [("三月一日上午", None), ("2026/13/45 10:00", None), ("12", None), ("x", "epoch"),
     ("2026-03-01", "%d.%m.%Y"), (True, None)],
)  # fmt: skip
def test_parse_time_refuses(value: Any, fmt: str | None) -> None:
    with pytest.raises(ValueError):
        parse_time(value, fmt)


def test_epoch_times_use_the_mapping_zone() -> None:
    from anchorwatch.records import resolve_timezone

    assert parse_time("1772330400", None, resolve_timezone("UTC")) == "2026-03-01T02:00:00+00:00"


# ------------------------------------------------------------------- CSV files


def test_gbk_export_with_broken_rows_reports_them_and_keeps_the_good_ones() -> None:
    src = TabularSource(KEFU, load_mapping(TAB / "kefu.yaml"))
    assert src.encoding == "gb18030"
    rows = rows_of(src)
    assert errors(rows) == {6: "bad_columns", 7: "bad_encoding", 9: "bad_time"}
    bad = {r.line: r for r in rows if r.error is not None}
    assert bad[6].error is not None and bad[6].error.params == {"expected": 9, "found": 4}
    assert bad[6].raw == "k1005,L7车主群,u_wang,王五"
    assert bad[9].error is not None and bad[9].error.params["value"] == "三月一日上午"
    messages = data(rows, "message")
    assert [m["id"] for m in messages] == [
        "k1001", "k1002", "k1003", "k1004", "k1007", "k1009", "k1010", "k1011", "k1012",
    ]  # fmt: skip
    first = messages[0]
    assert first == {
        "type": "message",
        "id": "k1001",
        "conversation": "L7车主群",
        "author": "u_zhang",
        "reply_to": None,
        "sent_at": "2026-03-01T10:00:00",
        "text": "车机又黑屏了，有人遇到过吗",
        "extra": {"来源": "安卓"},
    }
    assert messages[1]["reply_to"] == "k1001"
    assert messages[-1]["sent_at"] == "2026-03-01T10:20:30"
    # The empty text cell is the loader's to reject (missing text), at its line.
    empty = next(r for r in rows if r.data is not None and r.data.get("id") == "k1007")
    assert empty.line == 8
    with pytest.raises(RecordError) as info:
        parse_record(empty.data)
    assert info.value.code == "missing" and info.value.params == {"field": "text"}
    members = {m["id"]: m for m in data(rows, "member")}
    assert members["u_kefu01"] == {
        "type": "member",
        "id": "u_kefu01",
        "name": "小舟",
        "role": "official",
    }
    assert members["u_chen"]["role"] == "koc"
    conversations = data(rows, "conversation")
    assert conversations == [
        {"type": "conversation", "id": "L7车主群", "channel": "app:车主群"},
        {"type": "conversation", "id": "L9车主群", "channel": "app:车主群"},
    ]


def test_every_canonical_row_validates() -> None:
    for path, mapping in [(KEFU, "kefu.yaml"), (COMPLAINTS, "complaints.yaml"),
                          (FORUM, "forum.yaml")]:  # fmt: skip
        for row in TabularSource(path, load_mapping(TAB / mapping)):
            if row.data is not None and row.data.get("text") != "":
                parse_record(row.data)


def test_utf8_bom_export_without_ids_or_conversations() -> None:
    src = TabularSource(COMPLAINTS, load_mapping(TAB / "complaints.yaml"))
    assert src.encoding == "utf-8-sig"
    rows = rows_of(src)
    assert errors(rows) == {}
    assert data(rows, "conversation") == [
        {"type": "conversation", "id": "app:投诉建议", "channel": "app:投诉建议", "stream": True}
    ]
    messages = data(rows, "message")
    lines = [r.line for r in rows if r.data is not None and r.data["type"] == "message"]
    assert lines == [2, 3, 6, 7, 8, 9]  # the 3-line cell starts at 3
    assert messages[1]["text"] == "同样的问题\n而且导航也会卡\n客服只会说下周"
    assert {m["conversation"] for m in messages} == {"app:投诉建议"}
    # Two genuine "+1" rows are two messages; the ids are the same on every read.
    assert messages[2]["text"] == messages[3]["text"] == "+1"
    assert messages[2]["id"] != messages[3]["id"]
    again = data(rows_of(TabularSource(COMPLAINTS, load_mapping(TAB / "complaints.yaml"))),
                 "message")  # fmt: skip
    assert [m["id"] for m in messages] == [m["id"] for m in again]
    assert messages[5]["sent_at"] == "2026-03-01T10:12:00+08:00"
    assert messages[0]["extra"] == {"点赞数": "12", "设备": "L7"}
    assert "extra" in messages[4] and messages[4]["extra"] == {"点赞数": "20"}
    # Members are named; the author id is derived from the name within the channel.
    members = data(rows, "member")
    assert [m["name"] for m in members] == ["老张", "王五", "赵六", "陈姐", "李四"]
    assert messages[0]["author"] == members[0]["id"]


def test_derived_ids_do_not_depend_on_how_the_time_is_written(tmp_path: Path) -> None:
    a = write_csv(tmp_path, "发送人,发送时间,内容\n老张,2026/3/1 10:00,在吗\n", "a.csv")
    b = write_csv(tmp_path, "发送人,发送时间,内容\n老张,2026-03-01 10:00:00,在吗\n", "b.csv")
    m = mapping_from_dict({**BASIC, "constants": {"channel": "app:车主群"}})
    ids = [data(rows_of(TabularSource(p, m)), "message")[0]["id"] for p in (a, b)]
    assert ids[0] == ids[1]


def test_tab_separated_epoch_ms_forum_dump() -> None:
    src = TabularSource(FORUM, load_mapping(TAB / "forum.yaml"))
    assert src.delimiter == "\t" and src.encoding == "utf-8"
    rows = rows_of(src)
    assert data(rows, "conversation") == [
        {"type": "conversation", "id": "t-冬季续航", "channel": "forum:车友论坛"}
    ]
    assert [m["sent_at"] for m in data(rows, "message")] == [
        "2026-03-01T10:00:00+08:00",
        "2026-03-01T10:05:00+08:00",
        "2026-03-01T10:10:00+08:00",
    ]


def test_delimiter_is_guessed_and_padding_is_not_an_error(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        "发送人;发送时间;内容\r\n老张;2026-03-01 10:00;在吗;;\r\n王五;2026-03-01 10:01;在;x\r\n",
    )
    src = TabularSource(path, mapping_from_dict(BASIC))
    assert src.delimiter == ";"
    rows = rows_of(src)
    assert errors(rows) == {3: "bad_columns"}
    assert [m["text"] for m in data(rows, "message")] == ["在吗"]


def test_no_channel_anywhere_falls_back_to_the_file_name(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "发送人,发送时间,内容\n老张,2026-03-01 10:00,在吗\n", "群导出.csv")
    rows = rows_of(TabularSource(path, mapping_from_dict(BASIC)))
    assert data(rows, "message")[0]["conversation"] == "csv:群导出"


def test_author_only_emits_no_member_and_keeps_the_id(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "uid,time,body,extra\n42,2026-03-01 10:00,hi,ios\n")
    m = mapping_from_dict({"columns": {"uid": "author", "time": "sent_at", "body": "text"}})
    rows = rows_of(TabularSource(path, m))
    assert data(rows, "member") == []
    assert data(rows, "message")[0]["author"] == "42"
    assert "extra" not in data(rows, "message")[0]  # keep_extra is off


def test_undecodable_utf8_line_in_a_multiline_record(tmp_path: Path) -> None:
    blob = '发送人,发送时间,内容\n老张,2026-03-01 10:00,"第一行\n第二行'.encode() + b'\xff"\n'
    blob += "王五,2026-03-01 10:01,好的\n".encode()
    path = tmp_path / "t.csv"
    path.write_bytes(codecs.BOM_UTF8 + blob)
    rows = rows_of(TabularSource(path, mapping_from_dict(BASIC)))
    assert errors(rows) == {2: "bad_encoding"}
    assert [(r.line, r.data["text"]) for r in rows if r.data and r.data["type"] == "message"] == [
        (4, "好的")
    ]


def test_iter_csv_records_reports_parser_errors_and_continues() -> None:
    import io

    big = "x" * 200_000
    blob = f'a,b\n1,"{big}"\n2,ok\n'.encode()
    out = list(iter_csv_records(io.BytesIO(blob), "utf-8"))
    assert out[0] == (1, ["a", "b"], None)
    assert out[1][0] == 2 and out[1][1] is None and "field larger" in str(out[1][2])
    assert out[-1] == (3, ["2", "ok"], None)


def test_progress_reaches_the_file_size() -> None:
    src = TabularSource(KEFU, load_mapping(TAB / "kefu.yaml"))
    assert src.position == 0
    for _ in src:
        pass
    assert src.position == src.total == KEFU.stat().st_size


# ----------------------------------------------------------------------- XLSX


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    """An operator's spreadsheet: a notes sheet first, a title row above the header,
    real datetime cells, a serial-number time, numeric ids, an empty row."""
    from openpyxl import Workbook

    wb = Workbook()
    notes = wb.active
    assert notes is not None
    notes.title = "说明"
    notes.append(["本表由运营后台导出"])
    ws = wb.create_sheet("聊天记录")
    ws.append(["车主群聊天记录 导出时间：2026-03-02"])
    ws.append(["消息ID", "发送人", "发送时间", "内容", "回复消息ID", "城市"])
    ws.append([1001, "老张", datetime(2026, 3, 1, 10, 0), "车机黑屏怎么办", None, "上海"])
    ws.append([1002, "陈姐", datetime(2026, 3, 1, 10, 2, 30), "先试试长按音量键重启", 1001, None])
    ws.append([None, None, None, None, None, None])
    ws.append([1003, "老张", 46082.42013888889, 666, 1002, "上海"])
    ws.append([1004, "王五", "明天", "时间写错了", None, None])
    path = tmp_path / "运营导出.xlsx"
    wb.save(path)
    return path


XLSX_MAPPING = {
    "columns": {
        "消息ID": "id",
        "发送人": "author_name",
        "发送时间": "sent_at",
        "内容": "text",
        "回复消息ID": "reply_to",
    },
    "constants": {"channel": "wechat:L7车主群"},
    "sheet": "聊天记录",
    "header_row": 2,
    "keep_extra": True,
}


def test_xlsx_sheet_rows_cells_and_serial_times(workbook: Path) -> None:
    src = TabularSource(workbook, mapping_from_dict(XLSX_MAPPING), kind="xlsx")
    rows = rows_of(src)
    assert errors(rows) == {7: "bad_time"}
    msgs = [(r.line, r.data) for r in rows if r.data is not None and r.data["type"] == "message"]
    assert [line for line, _ in msgs] == [3, 4, 6]
    assert [d["id"] for _, d in msgs] == ["1001", "1002", "1003"]
    assert [d["sent_at"] for _, d in msgs] == [
        "2026-03-01T10:00:00",
        "2026-03-01T10:02:30",
        "2026-03-01T10:05:00",
    ]
    assert msgs[1][1]["reply_to"] == "1001"
    assert msgs[2][1]["text"] == "666"
    assert msgs[0][1]["extra"] == {"城市": "上海"}
    assert "extra" not in msgs[1][1]
    assert src.position == src.total
    for _, d in msgs:
        assert isinstance(parse_record(d), Message)


def test_xlsx_written_without_dimensions_still_finishes_progress(tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)  # streaming writers often omit the dimension tag
    ws = wb.create_sheet("Sheet1")
    ws.append(["发送人", "发送时间", "内容"])
    for i in range(50):
        ws.append(["老张", datetime(2026, 3, 1, 10, i), f"第{i}条"])
    path = tmp_path / "big.xlsx"
    wb.save(path)
    src = TabularSource(path, mapping_from_dict(BASIC), kind="xlsx")
    first = [r.line for r in src if r.data is not None and r.data["type"] == "message"]
    assert first == list(range(2, 52)) and src.position == src.total
    second = [r.data["id"] for r in src if r.data is not None and r.data["type"] == "message"]
    assert len(set(second)) == 50


def test_xlsx_unknown_sheet_and_broken_file(workbook: Path, tmp_path: Path) -> None:
    with pytest.raises(SourceError) as info:
        TabularSource(workbook, mapping_from_dict({**XLSX_MAPPING, "sheet": "Sheet9"}), "xlsx")
    assert "说明, 聊天记录" in str(info.value.params["detail"])
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(b"not a zip")
    with pytest.raises(SourceError) as info:
        TabularSource(fake, mapping_from_dict(XLSX_MAPPING), "xlsx")
    assert info.value.code == "error.unknown_format"


def test_registry_opens_mapped_csv_and_xlsx(workbook: Path, tmp_path: Path) -> None:
    assert guess_format(KEFU) == "csv"
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "columns: {消息ID: id, 发送人: author_name, 发送时间: sent_at, 内容: text}\n"
        "sheet: 聊天记录\nheader_row: 2\n",
        encoding="utf-8",
    )
    src = open_source(workbook, mapping=mapping)
    assert isinstance(src, TabularSource) and src.format == "xlsx"
    assert isinstance(src.mapping, ColumnMapping)
    with pytest.raises(SourceError):
        open_source(KEFU)  # a CSV needs a mapping


# --------------------------------------------------------------- through the loader


def test_import_lands_good_rows_rejects_bad_ones_and_is_idempotent(
    store: Store, tmp_path: Path
) -> None:
    mapping = load_mapping(TAB / "kefu.yaml")
    summary = import_source(store, TabularSource(KEFU, mapping))
    assert {r.line: r.code for r in summary.rejects} == {
        6: "bad_columns",
        7: "bad_encoding",
        8: "missing",
        9: "bad_time",
    }
    assert summary.new["messages"] == 8 and summary.exit_code == 3
    again = import_source(store, TabularSource(KEFU, mapping))
    assert sum(again.new.values()) == 0
    complaints = load_mapping(TAB / "complaints.yaml")
    first = import_source(store, TabularSource(COMPLAINTS, complaints))
    assert first.new["messages"] == 6 and first.rejected == 0
    second = import_source(store, TabularSource(COMPLAINTS, complaints))
    assert sum(second.new.values()) == 0
