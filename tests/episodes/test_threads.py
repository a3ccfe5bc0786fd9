"""Separating interleaved chat-group conversations."""

from __future__ import annotations

from anchorwatch.episodes.batch import JoinEvent, mentions, topic_tokens
from anchorwatch.episodes.config import EpisodesConfig
from anchorwatch.episodes.threads import assign_threads
from tests.episodes.conftest import T0, make_batch

NAMES = {"小新": "new", "老张": "mentor", "阿强": "a", "大刘": "b", "Tom": "tom", "Ann": "ann"}


def _groups(batch, threads):
    out: dict[str, list[str]] = {}
    for mid, th in zip(batch.id, threads, strict=True):
        out.setdefault(th, []).append(mid)
    return sorted(out.values())


def test_interleaved_question_and_quarrel_zh(cfg: EpisodesConfig) -> None:
    batch = make_batch(
        [
            ("q1", "new", 0, "新手求助：冬天续航掉得厉害正常吗？", ["newcomer_question"]),
            ("h1", "a", 1, "高速领航比人开得稳多了，这群里全是托", ["heated"]),
            ("h2", "b", 2, "@阿强 你懂什么，领航就是噱头", ["heated"]),
            ("q2", "mentor", 3, "冬天续航打七折正常，开座椅加热更省电", ["newcomer_answer"]),
            ("h3", "a", 4, "@大刘 你脑子有问题", ["heated", "personal_attack"]),
            ("q3", "new", 5, "谢谢@老张，学到了", ["gratitude"]),
        ],
        stream=True,
        newcomers=["new"],
    )
    threads = assign_threads(batch, [], NAMES, cfg.threads)
    assert _groups(batch, threads) == [["h1", "h2", "h3"], ["q1", "q2", "q3"]]
    assert threads[0] == "c1#q1" and threads[1] == "c1#h1"  # named by their first message


def test_interleaved_english_small_talk_and_question(cfg: EpisodesConfig) -> None:
    batch = make_batch(
        [
            ("a1", "tom", 0, "anyone driving to the lake this weekend", []),
            ("b1", "new", 1, "How do I reset the screen when it freezes?", ["newcomer_question"]),
            ("a2", "ann", 2, "@Tom count me in, lake trip sounds great", []),
            (
                "b2",
                "mentor",
                3,
                "hold the volume knob for ten seconds to reset the screen",
                ["newcomer_answer"],
            ),
            ("a3", "tom", 4, "@Ann great, the lake at nine", []),
            ("b3", "new", 5, "it worked, thanks!", ["gratitude"]),
        ],
        stream=True,
        newcomers=["new"],
    )
    threads = assign_threads(batch, [], NAMES, cfg.threads)
    assert _groups(batch, threads) == [["a1", "a2", "a3"], ["b1", "b2", "b3"]]


def test_quoted_reply_follows_its_parent(cfg: EpisodesConfig) -> None:
    batch = make_batch(
        [
            ("m1", "a", 0, "有人去过青海湖吗", []),
            ("m2", "b", 30, "今天超充排队好久", []),
            ("m3", "c", 31, "去过，路很好走", [], "m1"),
        ],
        stream=True,
    )
    threads = assign_threads(batch, [], NAMES, cfg.threads)
    assert threads[2] == threads[0] != threads[1]


def test_a_join_opens_a_thread_and_welcomes_find_it(cfg: EpisodesConfig) -> None:
    join = JoinEvent("join:new:abc:1", "new", "小新", T0)
    batch = make_batch(
        [
            ("x1", "a", 0, "今天超充排队好久", []),
            ("w1", "mentor", 1, "欢迎@小新 ！", ["welcome"]),
            ("x2", "b", 2, "@阿强 哪个站？", []),
        ],
        stream=True,
    )
    threads = assign_threads(batch, [join], NAMES, cfg.threads)
    assert threads[1] == f"c1#{join.key}"
    assert threads[0] == threads[2] != threads[1]


def test_a_long_gap_starts_a_new_thread(cfg: EpisodesConfig) -> None:
    later = cfg.threads.horizon_s // 60 + 5
    batch = make_batch(
        [("m1", "a", 0, "续航怎么样", []), ("m2", "a", later, "续航怎么样", [])], stream=True
    )
    threads = assign_threads(batch, [], NAMES, cfg.threads)
    assert threads[0] != threads[1]


def test_known_threads_are_kept(cfg: EpisodesConfig) -> None:
    batch = make_batch(
        [("m1", "a", 0, "续航怎么样", []), ("m2", "b", 1, "续航还行", [])], stream=True
    )
    batch.thread = ["c1#old", None]
    threads = assign_threads(batch, [], NAMES, cfg.threads)
    assert threads == ["c1#old", "c1#old"]


def test_text_helpers() -> None:
    assert mentions("谢谢@老张 和 @Tom，学到了") == ["老张", "Tom"]
    assert "续航" in topic_tokens("冬天续航@老张") and "老张" not in topic_tokens("@老张 你好")
    assert "range" in topic_tokens("The range is bad")
