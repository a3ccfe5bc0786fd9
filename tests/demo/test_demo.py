"""The demo-data generator: valid canonical JSONL, honest ground truth, deterministic."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import astuple, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from anchorwatch.demo import DemoSummary, generate_community, phrases
from anchorwatch.demo.drafts import ACT_LABELS, CONTEXT_LABELS
from anchorwatch.demo.personas import PERSONAS
from anchorwatch.demo.phrases import APP_BOARDS
from anchorwatch.demo.text import Voice
from anchorwatch.records import RecordError, parse_record

YEAR_START = datetime.fromisoformat("2026-01-01T00:00:00+08:00")
YEAR_END = datetime.fromisoformat("2027-01-01T00:00:00+08:00")
UTC8 = timedelta(hours=8)
DATA_TYPES = {"member", "conversation", "message", "join", "reaction", "metric"}
TRUTH_TYPES = {"message_labels", "thread", "episode", "persona", "burnout", "healthy_anchor"}
OUTCOME_FIELDS = {
    "complaint": {
        "details_given",
        "moved_to_channel",
        "spread",
        "sentiment_first",
        "sentiment_last",
    },
    "conflict": {"attacks_stopped", "agreement", "intervened"},
    "newcomer_question": {"replied", "thanked", "answered", "returned_7d", "returned_30d"},
    "arrival": {"welcomed", "first_post", "returned_7d", "returned_30d"},
}


@dataclass
class Demo:
    summary: DemoSummary
    data_path: Path
    truth_path: Path
    data: list[dict[str, Any]] = field(default_factory=list)
    truth: list[dict[str, Any]] = field(default_factory=list)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.data if r["type"] == kind]

    def truth_of(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.truth if r["type"] == kind]


def _read(path: Path) -> list[dict[str, Any]]:
    with path.open("rb") as fh:
        return [orjson.loads(line) for line in fh]


def _make(directory: Path, messages: int, seed: int) -> Demo:
    data, truth = directory / "demo.jsonl", directory / "truth.jsonl"
    summary = generate_community(data, truth, messages=messages, seed=seed)
    return Demo(summary, data, truth, _read(data), _read(truth))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    return _make(tmp_path_factory.mktemp("demo3k"), 3_000, 11)


@pytest.fixture(scope="module")
def demo5k(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    return _make(tmp_path_factory.mktemp("demo5k"), 5_000, 2)


def _time(value: str) -> datetime:
    t = datetime.fromisoformat(value)
    assert t.utcoffset() == UTC8, value
    return t


# -- determinism and size --------------------------------------------------------------


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    runs = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        (tmp_path / name).mkdir()
        data, truth = tmp_path / name / "d.jsonl", tmp_path / name / "t.jsonl"
        generate_community(data, truth, messages=2_000, seed=seed)
        runs.append((data.read_bytes(), truth.read_bytes()))
    assert runs[0] == runs[1]
    assert runs[0][0] != runs[2][0]
    assert runs[0][1] != runs[2][1]


@pytest.mark.parametrize("messages", [1_000, 2_000, 5_000])
def test_size_within_ten_percent(tmp_path: Path, messages: int) -> None:
    calls: list[int] = []
    summary = generate_community(
        tmp_path / "d.jsonl", tmp_path / "t.jsonl", messages=messages, seed=3, progress=calls.append
    )
    assert abs(summary.messages - messages) <= messages * 0.10
    lines = _read(tmp_path / "d.jsonl")
    assert sum(1 for r in lines if r["type"] == "message") == summary.messages
    assert calls and calls[-1] == summary.messages
    assert calls == sorted(calls)


def test_summary_counts_what_was_written(demo: Demo) -> None:
    s = demo.summary
    assert s.messages == len(demo.of("message"))
    assert s.members == len(demo.of("member"))
    assert s.conversations == len(demo.of("conversation"))
    assert s.reactions == len(demo.of("reaction"))
    assert s.joins == len(demo.of("join"))
    assert s.metrics == len(demo.of("metric"))
    assert s.episodes == len(demo.truth_of("episode"))
    assert s.channels == len({c["channel"] for c in demo.of("conversation")})


def test_refuses_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate_community(tmp_path / "d.jsonl", tmp_path / "t.jsonl", messages=999)
    with pytest.raises(ValueError):
        generate_community(tmp_path / "d.jsonl", tmp_path / "t.jsonl", messages=1_000_001)
    with pytest.raises(ValueError):
        generate_community(tmp_path / "same.jsonl", tmp_path / "same.jsonl", messages=1_000)


# -- the data file is valid canonical JSONL --------------------------------------------------


def test_every_line_is_a_valid_canonical_record(demo: Demo) -> None:
    for rec in demo.data:
        assert rec["type"] in DATA_TYPES
        try:
            parse_record(rec)
        except RecordError as exc:  # pragma: no cover - shows the reason
            pytest.fail(f"{rec}: {exc.code} {exc.params}")


def test_fields_types_and_times(demo: Demo) -> None:
    required: dict[str, dict[str, type | tuple[type, ...]]] = {
        "member": {"id": str, "name": str, "joined_at": str, "role": str},
        "conversation": {"id": str, "channel": str, "started_at": str},
        "message": {
            "id": str,
            "conversation": str,
            "author": str,
            "reply_to": (str, type(None)),
            "sent_at": str,
            "text": str,
        },
        "join": {"member": str, "channel": str, "at": str},
        "reaction": {"message": str, "member": str, "kind": str, "at": str},
        "metric": {"member": str, "period": str, "reads": int, "plays": int, "leads": int},
    }
    for rec in demo.data:
        for name, kind in required[rec["type"]].items():
            assert isinstance(rec[name], kind), (name, rec)
        for name in ("joined_at", "started_at", "sent_at", "at"):
            if name in rec:
                t = _time(rec[name])
                if name != "joined_at":
                    assert YEAR_START <= t < YEAR_END, rec
        if rec["type"] == "member":
            assert rec["role"] in ("member", "koc", "official", "operator")
        if rec["type"] == "message":
            assert rec["text"].strip()
        if rec["type"] == "metric":
            assert rec["period"].startswith("2026-")
            assert min(rec["reads"], rec["plays"], rec["leads"]) >= 0
        if rec["type"] == "reaction":
            assert rec["kind"] in ("like", "thanks")


def test_references_point_to_earlier_records(demo: Demo) -> None:
    members: set[str] = set()
    convs: dict[str, dict[str, Any]] = {}
    messages: dict[str, dict[str, Any]] = {}
    last = YEAR_START
    for rec in demo.data:
        kind = rec["type"]
        if kind == "member":
            members.add(rec["id"])
        elif kind == "conversation":
            assert rec["id"] not in convs
            convs[rec["id"]] = rec
        elif kind == "message":
            assert rec["id"] not in messages
            assert rec["author"] in members
            conv = convs[rec["conversation"]]
            sent = _time(rec["sent_at"])
            assert sent >= _time(conv["started_at"])
            assert sent >= last  # messages come in time order
            last = sent
            parent_id = rec["reply_to"]
            if parent_id is not None:
                parent = messages[parent_id]  # exists and came earlier
                assert parent["conversation"] == rec["conversation"]
                assert _time(parent["sent_at"]) < sent
            messages[rec["id"]] = rec
        elif kind == "reaction":
            target = messages[rec["message"]]
            assert rec["member"] in members
            assert rec["member"] != target["author"]
            assert _time(rec["at"]) > _time(target["sent_at"])
        elif kind in ("join", "metric"):
            assert rec["member"] in members
    reactions = [(r["message"], r["member"], r["kind"]) for r in demo.of("reaction")]
    assert len(reactions) == len(set(reactions))


# -- channels, personas, episodes -----------------------------------------------------------


def test_channels_streams_and_forum_threads(demo: Demo) -> None:
    convs = {c["id"]: c for c in demo.of("conversation")}
    channels = {c["channel"] for c in convs.values()}
    assert set(APP_BOARDS) <= channels
    groups = {c for c in channels if c.startswith("wechat:")}
    assert len(groups) >= 2
    for c in convs.values():
        assert bool(c.get("stream")) == c["channel"].startswith("wechat:")
        if not c.get("stream"):
            assert c.get("title")
    assert sum(1 for c in convs.values() if c.get("stream")) == len(groups)  # one per group
    stream_msgs = [m for m in demo.of("message") if convs[m["conversation"]].get("stream")]
    forum_msgs = [m for m in demo.of("message") if not convs[m["conversation"]].get("stream")]
    quoted = sum(1 for m in stream_msgs if m["reply_to"])
    assert 0 < quoted < 0.3 * len(stream_msgs)  # streams mostly lack reply_to
    first_of: dict[str, str] = {}
    for m in forum_msgs:
        first = first_of.setdefault(m["conversation"], m["id"])
        assert (m["reply_to"] is None) == (m["id"] == first)


def test_personas_and_roles(demo: Demo) -> None:
    persona = {p["member"]: p["persona"] for p in demo.truth_of("persona")}
    assert set(persona.values()) == set(PERSONAS)
    members = {m["id"]: m for m in demo.of("member")}
    assert set(persona) == set(members)
    for mid, p in persona.items():
        role = members[mid]["role"]
        if p == "official":
            assert role in ("official", "operator")
        if p == "creator":
            assert role == "koc"
    newcomers = [m for m, p in persona.items() if p == "newcomer"]
    joined = {j["member"] for j in demo.of("join")}
    assert set(newcomers) == joined
    months = {members[m]["joined_at"][:7] for m in newcomers}
    assert len(months) >= 10  # newcomers arrive all year


def test_creators_have_reads_anchors_have_labour(demo: Demo) -> None:
    persona = {p["member"]: p["persona"] for p in demo.truth_of("persona")}
    reads: dict[str, list[int]] = defaultdict(list)
    for m in demo.of("metric"):
        reads[persona[m["member"]]].append(m["reads"])
    creator = sum(reads["creator"]) / len(reads["creator"])
    mentor = sum(reads["mentor"]) / len(reads["mentor"])
    assert creator > 10 * mentor
    acts = Counter(persona[a["member"]] for e in demo.truth_of("episode") for a in e["acts"])
    assert acts["mentor"] + acts["peacemaker"] + acts["welcomer"] > 5 * acts["creator"]


def test_episodes_are_consistent(demo: Demo) -> None:
    messages = {m["id"]: m for m in demo.of("message")}
    labels = {r["message"]: r["labels"] for r in demo.truth_of("message_labels")}
    episodes = demo.truth_of("episode")
    assert {e["kind"] for e in episodes} == set(OUTCOME_FIELDS)
    seen_ids: set[str] = set()
    for e in episodes:
        assert e["id"] not in seen_ids
        seen_ids.add(e["id"])
        assert OUTCOME_FIELDS[e["kind"]] <= set(e["outcome"])
        for mid in e["messages"]:
            assert messages[mid]["conversation"] == e["conversation"]
        for act in e["acts"]:
            assert act["message"] in e["messages"]
            assert act["act"] in ACT_LABELS
            assert act["act"] in labels[act["message"]]
            assert messages[act["message"]]["author"] == act["member"]
        if e["kind"] == "newcomer_question":
            assert e["question_cluster"].startswith("q")
            first = messages[e["messages"][0]]
            assert first["author"] == e["subject"]
            assert "newcomer_question" in labels[first["id"]]
            others = [m for m in e["messages"] if messages[m]["author"] != e["subject"]]
            assert e["outcome"]["answered"] == bool(others)
            wrote_back = bool(others) and any(
                messages[m]["author"] == e["subject"] and m > others[0] for m in e["messages"]
            )  # message ids are sequential in time
            assert e["outcome"]["replied"] == wrote_back
        if e["kind"] == "complaint":
            assert -1 <= e["outcome"]["sentiment_first"] <= 1
        if e["kind"] == "arrival":
            posted = any(messages[m]["author"] == e["subject"] for m in e["messages"])
            assert e["outcome"]["first_post"] == posted


def test_outcomes_vary(demo: Demo) -> None:
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in demo.truth_of("episode"):
        by_kind[e["kind"]].append(e["outcome"])
    for kind, name in (
        ("conflict", "intervened"),
        ("conflict", "attacks_stopped"),
        ("complaint", "details_given"),
        ("complaint", "moved_to_channel"),
        ("newcomer_question", "replied"),
        ("newcomer_question", "answered"),
        ("newcomer_question", "returned_7d"),
        ("arrival", "welcomed"),
        ("arrival", "first_post"),
    ):
        values = {o[name] for o in by_kind[kind]}
        assert values == {True, False}, (kind, name)
    assert any(o["spread"] >= 2 for o in by_kind["complaint"])


def test_the_same_questions_recur_in_other_words(demo: Demo) -> None:
    messages = {m["id"]: m for m in demo.of("message")}
    asked: dict[str, list[str]] = defaultdict(list)
    for e in demo.truth_of("episode"):
        if e["kind"] == "newcomer_question":
            asked[e["question_cluster"]].append(messages[e["messages"][0]]["text"])
    assert len(asked) >= 8
    recurring = [texts for texts in asked.values() if len(texts) >= 3]
    assert recurring
    for texts in recurring:
        assert len(set(texts)) >= 0.8 * len(texts)


def test_every_label_is_present(demo: Demo) -> None:
    found = Counter(label for r in demo.truth_of("message_labels") for label in r["labels"])
    for label in (*ACT_LABELS, *CONTEXT_LABELS):
        assert found[label] > 0, label
    messages = {m["id"] for m in demo.of("message")}
    members = {m["id"] for m in demo.of("member")}
    for r in demo.truth_of("message_labels"):
        assert r["message"] in messages
        assert r["labels"] and set(r["labels"]) <= set(ACT_LABELS) | set(CONTEXT_LABELS)
        if "target" in r:
            assert r["target"] in members


def test_every_stream_message_has_a_thread(demo: Demo) -> None:
    streams = {c["id"] for c in demo.of("conversation") if c.get("stream")}
    stream_msgs = {m["id"] for m in demo.of("message") if m["conversation"] in streams}
    threads = {t["message"]: t["thread"] for t in demo.truth_of("thread")}
    assert set(threads) == stream_msgs
    # episodes and chit-chat interleave: some thread starts before the previous one ended
    by_conv: dict[str, list[str]] = defaultdict(list)
    for m in demo.of("message"):
        if m["conversation"] in streams:
            by_conv[m["conversation"]].append(threads[m["id"]])
    switches_back = 0
    for seq in by_conv.values():
        for a, b, c in zip(seq, seq[1:], seq[2:], strict=False):
            switches_back += a == c != b
    assert switches_back > 0


def test_texts_are_varied_and_chinese_first(demo: Demo) -> None:
    texts = [m["text"] for m in demo.of("message")]
    distinct = len(set(texts)) / len(texts)
    assert distinct >= 0.85, distinct
    joined = "".join(texts)
    for word in ("车机", "OTA", "续航", "提车", "4S店", "充电桩", "😂", "👍", "🙏"):
        assert word in joined, word
    assert any(ch in joined for ch in "車機問題這個")  # some 繁體
    english = [t for t in texts if t.isascii() and len(t.split()) >= 4]
    assert english  # a few members write only in English


def test_truth_is_a_separate_file(demo: Demo) -> None:
    assert demo.data_path != demo.truth_path
    assert {r["type"] for r in demo.data} <= DATA_TYPES
    assert {r["type"] for r in demo.truth} <= TRUTH_TYPES
    assert {r["type"] for r in demo.truth} >= {"message_labels", "thread", "episode", "persona"}


# -- burnout ---------------------------------------------------------------------------------


def test_burning_out_anchors_fade_and_go_silent(demo5k: Demo) -> None:
    persona = {p["member"]: p["persona"] for p in demo5k.truth_of("persona")}
    burnout = demo5k.truth_of("burnout")
    healthy = demo5k.truth_of("healthy_anchor")
    assert burnout and healthy
    anchors = {"mentor", "peacemaker", "welcomer"}
    assert {persona[b["member"]] for b in burnout} <= anchors
    assert {persona[h["member"]] for h in healthy} <= anchors
    assert len(burnout) + len(healthy) == sum(1 for p in persona.values() if p in anchors)
    times: dict[str, list[datetime]] = defaultdict(list)
    for m in demo5k.of("message"):
        times[m["author"]].append(_time(m["sent_at"]))
    before = after = 0
    for b in burnout:
        onset, left = _time(b["onset"]), _time(b["left_at"])
        own = times[b["member"]]
        assert max(own) == left  # left_at is the last message
        assert onset < left <= YEAR_END - timedelta(days=30)  # then silent for good
        window = min(timedelta(days=90), onset - YEAR_START)
        before += sum(1 for t in own if onset - window <= t < onset)
        after += sum(1 for t in own if onset <= t < onset + window)
    assert after < 0.7 * before  # the same span of time after onset holds far fewer messages
    for h in healthy:
        assert max(times[h["member"]]) >= YEAR_END - timedelta(days=45)


def test_burning_out_anchors_show_the_signs(demo5k: Demo) -> None:
    labels = demo5k.truth_of("message_labels")
    authors = {m["id"]: m["author"] for m in demo5k.of("message")}
    burning = {b["member"] for b in demo5k.truth_of("burnout")}
    healthy = {h["member"] for h in demo5k.truth_of("healthy_anchor")}
    fatigue = Counter(authors[r["message"]] for r in labels if "fatigue" in r["labels"])
    assert all(fatigue[m] > 0 for m in burning)
    per_burning = sum(fatigue[m] for m in burning) / len(burning)
    per_healthy = sum(fatigue[m] for m in healthy) / len(healthy)
    assert per_burning > 2 * per_healthy
    accused = Counter(r.get("target") for r in labels if "bias_accusation" in r["labels"])
    assert sum(accused[m] for m in burning) > 0


# -- phrase banks -----------------------------------------------------------------------------


def _templates() -> list[tuple[str, bool]]:
    """Every template of every bank, with whether it is filled from the English banks."""
    out: list[tuple[str, bool]] = []
    for bank in phrases.ZH.values():
        out.extend((t, False) for t in bank)
    for bank in phrases.EN.values():
        out.extend((t, True) for t in bank)
    for topic in (*phrases.QUESTIONS, *phrases.CONFLICTS, *phrases.COMPLAINTS, *phrases.CHATS):
        for value in astuple(topic):
            if isinstance(value, tuple):
                out.extend((t, False) for t in value if isinstance(t, str))
    for bank in (
        phrases.CREATOR_TITLE,
        phrases.CREATOR_BODY,
        phrases.CREATOR_SHARE,
        phrases.CREATOR_REPLY,
        phrases.ANNOUNCE,
        phrases.COMPLAINT_VENT_END,
        phrases.CHAT_REPLY_TAIL,
    ):
        out.extend((t, False) for t in bank)
    return out


def test_every_template_renders() -> None:
    voice = Voice(random.Random(0))
    ctx = {"who": "老王", "a": "甲", "b": "乙", "sa": "观点一", "sb": "观点二", "issue": "续航"}
    templates = _templates()
    assert len(templates) > 800
    for template, english in templates:
        for _ in range(3):
            text = voice.fill((template,), english, creator="老K说车", **ctx)
            assert "{" not in text and "}" not in text, template
