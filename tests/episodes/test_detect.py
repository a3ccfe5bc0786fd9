"""Episodes and outcomes per kind on small hand-made conversations, zh and en."""

from __future__ import annotations

from anchorwatch.episodes.batch import JoinEvent
from anchorwatch.episodes.config import EpisodesConfig
from anchorwatch.episodes.detect import thread_episodes
from anchorwatch.episodes.outcomes import returned_within, valence
from tests.episodes.conftest import T0, make_batch


def _episodes(batch, cfg, **kw):
    idx = list(range(len(batch)))
    return thread_episodes(batch, idx, batch.conversation, cfg, valence(batch, cfg), **kw)


def _one(eps, kind):
    found = [e for e in eps if e.kind == kind]
    assert len(found) == 1, [(e.kind, e.subject) for e in eps]
    return found[0]


def test_newcomer_question_answered_and_thanked_zh(cfg: EpisodesConfig) -> None:
    batch = make_batch(
        [
            ("m1", "new", 0, "新手求助：车机黑屏了怎么办？", ["newcomer_question"]),
            ("m2", "mentor", 5, "长按音量键十秒重启就好，别担心", ["newcomer_answer"], "m1"),
            ("m3", "new", 9, "好了！谢谢老哥", ["gratitude"], "m2"),
        ],
        newcomers=["new"],
    )
    ep = _one(_episodes(batch, cfg), "newcomer_question")
    assert ep.subject == "new" and ep.question == "m1"
    assert ep.messages == ["m1", "m2", "m3"]
    assert ep.outcome == {
        "replied": True,
        "thanked": True,
        "answered": True,
        "first_response_s": 300,
    }
    (act,) = ep.acts
    assert act["member"] == "mentor" and act["act"] == "newcomer_answer"
    assert act["served"] == "new" and act["latency_s"] == 300


def test_newcomer_question_ignored_en(cfg: EpisodesConfig) -> None:
    batch = make_batch(
        [("m1", "new", 0, "How do I book the first service?", [])], newcomers=["new"]
    )
    ep = _one(_episodes(batch, cfg), "newcomer_question")  # a question by form
    assert ep.outcome["answered"] is False and ep.outcome["first_response_s"] is None
    assert ep.outcome["replied"] is False and ep.acts == []


def test_a_veteran_asking_is_not_a_newcomer_question(cfg: EpisodesConfig) -> None:
    batch = make_batch([("m1", "old", 0, "车机黑屏了怎么办？", ["newcomer_question"])])
    assert _episodes(batch, cfg) == []


def test_follow_up_question_stays_in_the_episode(cfg: EpisodesConfig) -> None:
    batch = make_batch(
        [
            ("m1", "new", 0, "首保去哪做？", ["newcomer_question"]),
            ("m2", "mentor", 3, "APP里预约就行", ["newcomer_answer"]),
            ("m3", "new", 6, "那要带什么吗？", ["newcomer_question"]),
            ("m4", "mentor", 8, "带上行驶证", ["newcomer_answer"]),
        ],
        newcomers=["new"],
    )
    ep = _one(_episodes(batch, cfg), "newcomer_question")
    assert len(ep.acts) == 2 and ep.outcome["replied"] is True


def test_conflict_calmed_and_agreement_zh(cfg: EpisodesConfig) -> None:
    batch = make_batch(
        [
            ("m1", "a", 0, "高速领航比人开得稳多了", []),
            ("m2", "b", 1, "@a 你懂什么，智驾就是噱头", ["heated"]),
            ("m3", "a", 2, "@b 你脑子有问题吧", ["heated", "personal_attack"]),
            ("m4", "b", 3, "@a 杠精本精，赶紧退群", ["heated", "personal_attack"]),
            ("m5", "peace", 4, "打住打住，咱们就事论事聊智驾", ["deescalate_redirect"]),
            ("m6", "a", 6, "行吧，我刚才话说重了，抱歉", []),
        ]
    )
    ep = _one(_episodes(batch, cfg), "conflict")
    assert ep.subject == "a" and ep.anchor == "m1"  # the one whose claim drew the heat
    out = ep.outcome
    assert out["intervened"] is True and out["attacks_stopped"] is True
    assert out["heat_before"] == 0.75 and out["heat_after"] == 0.0
    assert out["agreement"] is True
    (act,) = ep.acts
    assert act["member"] == "peace" and act["act"] == "deescalate_redirect"


def test_conflict_not_calmed_en(cfg: EpisodesConfig) -> None:
    batch = make_batch(
        [
            ("m1", "a", 0, "you clearly never drove one", ["heated"]),
            ("m2", "b", 1, "shut up, idiot", ["heated", "personal_attack", "offensive"]),
            ("m3", "a", 2, "what a moron", ["heated", "personal_attack"]),
            ("m4", "b", 3, "whatever", ["heated"]),
        ]
    )
    ep = _one(_episodes(batch, cfg), "conflict")
    assert ep.subject == "a"
    assert ep.outcome["intervened"] is False and ep.outcome["attacks_stopped"] is False
    assert ep.outcome["agreement"] is False


def test_one_rude_joke_is_not_a_conflict(cfg: EpisodesConfig) -> None:
    batch = make_batch(
        [
            ("m1", "a", 0, "哈哈笑死", ["personal_attack"]),
            ("m2", "b", 1, "好好好", ["heated"]),
            ("m3", "c", 2, "周末去哪玩", []),
        ]
    )
    assert [e.kind for e in _episodes(batch, cfg)] == []


def test_complaint_turned_into_details_and_channel_zh(cfg: EpisodesConfig) -> None:
    batch = make_batch(
        [
            ("m1", "c", 0, "售后太差了，修个天窗等了11天，气死我了", ["complaint"]),
            ("m2", "koc", 3, "换我也会很生气，辛苦你了", ["empathy"]),
            ("m3", "koc", 4, "方便说下车型和哪天送修的吗", ["guide_details"]),
            ("m4", "c", 9, "S7，3月12号进的杭州服务中心，维修单号A123", []),
            ("m5", "koc", 10, "建议在APP提个工单", ["guide_channel"]),
            ("m6", "c", 40, "好，刚在APP提了工单，单号8899，等他们联系", ["gratitude"]),
        ]
    )
    ep = _one(_episodes(batch, cfg), "complaint")
    out = ep.outcome
    assert ep.subject == "c"
    assert out["details_given"] is True and out["moved_to_channel"] is True
    assert out["spread"] == 0
    assert out["sentiment_first"] < 0 < out["sentiment_last"]
    assert [a["act"] for a in ep.acts] == ["empathy", "guide_details", "guide_channel"]
    assert ep.response is not None and ep.response["responder"] == "member"
    assert ep.response["sentiment_after"] is not None


def test_complaint_ignored_and_spreading_en(cfg: EpisodesConfig) -> None:
    batch = make_batch(
        [
            ("m1", "c", 0, "Range dropped by half after the update, terrible", ["complaint"]),
            ("m2", "x", 5, "Same here, total scam", ["complaint"]),
            ("m3", "y", 6, "Mine too, never buying again", ["complaint"]),
            ("cs", "brand", 8, "Please open a ticket in the app", ["guide_channel"]),
        ],
        officials=["brand"],
    )
    ep = _one(_episodes(batch, cfg), "complaint")
    assert ep.outcome["spread"] == 2
    assert ep.outcome["details_given"] is False and ep.outcome["moved_to_channel"] is False
    assert ep.response is not None and ep.response["responder"] == "official"
    assert ep.response["sentiment_after"] is None  # the complainer never wrote again


def test_a_grumble_nobody_took_up_is_not_a_complaint(cfg: EpisodesConfig) -> None:
    batch = make_batch(
        [
            ("m1", "a", 0, "服务区的快充又坏了，白跑一趟", ["complaint"]),
            ("m2", "b", 1, "周末吃火锅去", []),
        ]
    )
    assert _episodes(batch, cfg) == []


def test_arrival_from_a_join_welcomed(cfg: EpisodesConfig) -> None:
    join = JoinEvent("join:new:abc:1", "new", "小新", T0)
    batch = make_batch(
        [
            ("m1", "w", 2, "欢迎@小新 入群！有问题随时问", ["welcome"]),
            ("m2", "new", 5, "谢谢大家，刚提车", ["gratitude"]),
        ],
        stream=True,
        newcomers=["new"],
    )
    ep = _one(_episodes(batch, cfg, join=join), "arrival")
    assert ep.subject == "new" and ep.anchor == join.key
    assert ep.outcome == {"welcomed": True, "first_post": True}
    assert [a["act"] for a in ep.acts] == ["welcome"]


def test_arrival_silent_and_unwelcomed(cfg: EpisodesConfig) -> None:
    join = JoinEvent("join:new:abc:1", "new", None, T0)
    ep = _one(_episodes(make_batch([]), cfg, join=join), "arrival")
    assert ep.messages == [] and ep.outcome == {"welcomed": False, "first_post": False}


def test_arrival_by_first_post_en(cfg: EpisodesConfig) -> None:
    batch = make_batch(
        [
            ("m1", "new", 0, "Hi all, just got my S7 today", []),
            ("m2", "w", 3, "Welcome aboard!", ["welcome"]),
        ],
        newcomers=["new"],
    )
    ep = _one(_episodes(batch, cfg, arrivals={"m1": "first:new"}), "arrival")
    assert ep.anchor == "first:new" and ep.outcome["welcomed"] is True


def test_episodes_close_after_a_quiet_life(cfg: EpisodesConfig) -> None:
    days = cfg.life_s // 60 + 60  # minutes: longer than an episode's life
    batch = make_batch(
        [
            ("m1", "new", 0, "充电桩怎么装？", ["newcomer_question"]),
            ("m2", "mentor", days, "找物业开证明就行", ["newcomer_answer"]),
        ],
        newcomers=["new"],
    )
    ep = _one(_episodes(batch, cfg), "newcomer_question")
    assert ep.messages == ["m1"] and ep.acts == []


def test_returned_within() -> None:
    import numpy as np

    ref = np.array([0, 0, 100], dtype=np.int64)
    times = [np.array([0, 3 * 86400]), np.array([10 * 86400]), np.array([], dtype=np.int64)]
    assert returned_within(ref, times, 7).tolist() == [True, False, False]
    assert returned_within(ref, times, 30).tolist() == [True, True, False]


def test_episode_ids_are_stable(cfg: EpisodesConfig) -> None:
    rows = [("m1", "new", 0, "首保免费吗？", ["newcomer_question"])]
    a = _episodes(make_batch(rows, newcomers=["new"]), cfg)
    b = _episodes(make_batch(rows, newcomers=["new"]), cfg)
    assert [e.id for e in a] == [e.id for e in b] and a[0].id.startswith("ep_")
