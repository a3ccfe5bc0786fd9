"""``llm.v1`` against a real HTTP stand-in on 127.0.0.1 (``llm_standin.py``).

No network, no real sleeping: the detector's ``sleep`` is a recorder.  The
shared detector contract runs here too, unchanged, against the stand-in.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from anchorwatch.signals import LABELS
from anchorwatch.signals.detector import Detector
from anchorwatch.signals.labels import load_labels
from anchorwatch.signals.llm import (
    MAX_TEXT_CHARS,
    LLMDetector,
    LLMError,
    LLMNotConfigured,
    LLMUsage,
    locate_quotes,
    parse_reply,
    system_prompt,
)
from anchorwatch.signals.teacher import label_with_teacher
from tests.signals import test_detector_contract as contract
from tests.signals.llm_standin import HIT, MISS, Standin

L = {label: j for j, label in enumerate(LABELS)}


@pytest.fixture
def standin() -> Iterator[Standin]:
    with Standin() as server:
        yield server


Make = Callable[..., tuple[LLMDetector, list[float]]]


@pytest.fixture
def make() -> Make:
    """A detector factory whose sleeps are recorded instead of slept."""

    def build(server: Standin, **kwargs: object) -> tuple[LLMDetector, list[float]]:
        sleeps: list[float] = []
        det = LLMDetector(server.base_url, "standin-1", sleep=sleeps.append, **kwargs)
        return det, sleeps

    return build


# -- the shared contract, unchanged -------------------------------------------------------

CONTRACT_CHECKS = [
    fn for name, fn in sorted(vars(contract).items()) if name.startswith("test_") and callable(fn)
]


@pytest.fixture(scope="module")
def contract_detector() -> Iterator[LLMDetector]:
    with Standin() as server:
        yield LLMDetector(server.base_url, "standin-1", sleep=lambda s: None)


@pytest.mark.parametrize("check", CONTRACT_CHECKS, ids=lambda fn: fn.__name__)
def test_detector_contract(check: Callable[[Detector], None], contract_detector: Detector) -> None:
    # Every check takes the detector alone; a new check with other fixtures
    # must be wired here on purpose rather than silently skipped.
    assert list(inspect.signature(check).parameters) == ["detector"]
    check(contract_detector)


def test_the_contract_battery_is_complete() -> None:
    assert len(CONTRACT_CHECKS) >= 7


# -- well-formed answers ------------------------------------------------------------------


def test_every_label_scored_in_unit_interval(standin: Standin, make: Make) -> None:
    det, _ = make(standin)
    texts = ["天天回答同样的问题，心累", "可以在APP里提个工单", "今天天气不错"]
    scores = det.predict_proba(texts, [None, "车机黑屏了", None])
    assert scores.shape == (3, len(LABELS)) and scores.dtype == np.float32
    assert ((scores >= 0) & (scores <= 1)).all()
    assert scores[0, L["fatigue"]] == pytest.approx(HIT)
    assert scores[1, L["guide_channel"]] == pytest.approx(HIT)
    assert scores[2].max() == pytest.approx(MISS)
    assert isinstance(det, Detector) and det.name == "llm.v1" and det.labels == LABELS


def test_request_is_openai_chat_format(standin: Standin, make: Make) -> None:
    det, _ = make(standin, api_key="sk-test")
    det.predict_proba(["心累"], ["在吗"])
    body = standin.seen[0].body
    assert body["model"] == "standin-1" and body["temperature"] == 0
    assert body["response_format"] == {"type": "json_object"}
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert standin.seen[0].authorization == "Bearer sk-test"
    assert standin.seen[0].items == [{"i": 0, "context": "在吗", "text": "心累"}]


def test_prompt_defines_every_label_in_both_languages() -> None:
    prompt = system_prompt()
    for label in load_labels():
        assert label.name in prompt and label.zh in prompt and label.definition in prompt
    assert "只输出一个 JSON 对象" in prompt and "Output one JSON object only" in prompt


def test_long_text_is_clipped_in_the_prompt(standin: Standin, make: Make) -> None:
    det, _ = make(standin)
    text = "长" * 10_000 + "心累"
    det.predict_proba([text], [None])
    sent = standin.seen[0].items[0]["text"]
    assert len(sent) < MAX_TEXT_CHARS + 30


def test_empty_texts_are_not_sent(standin: Standin, make: Make) -> None:
    det, _ = make(standin)
    scores = det.predict_proba(["", "   "], [None, "x"])
    assert not standin.seen and (scores == 0).all() and det.usage.empty == 2


# -- evidence -----------------------------------------------------------------------------


def test_evidence_points_at_the_quoted_substring(standin: Standin, make: Make) -> None:
    det, _ = make(standin)
    texts = ["换作是我也会很生气，可以提个工单", "車機又黑屏了，售後一直推", "Thanks a lot!"]
    got = det.detect(texts, [None] * 3)
    ev = got.evidence
    assert [texts[0][s:e] for s, e in ev[0]["empathy"]] == ["换作是我"]
    assert [texts[0][s:e] for s, e in ev[0]["guide_channel"]] == ["工单"]
    # quoted in simplified, found through normalisation, shown as written
    assert [texts[1][s:e] for s, e in ev[1]["complaint"]] == ["黑屏", "售後一直推"]
    assert [texts[2][s:e] for s, e in ev[2]["gratitude"]] == ["Thanks"]
    for i, text in enumerate(texts):
        assert set(ev[i]) == set(got.labels_of(i))
        assert all(0 <= s < e <= len(text) for spans in ev[i].values() for s, e in spans)


def test_quotes_not_in_the_text_fall_back_to_the_whole_text(standin: Standin, make: Make) -> None:
    det, _ = make(standin)
    text = "[[invent]] 心累"
    got = det.detect([text], [None])
    assert got.evidence[0] == {"fatigue": [(0, len(text))]}


def test_locate_quotes_handles_ellipsis_and_quote_marks() -> None:
    text = "刚提车三天，请问冬天续航掉得厉害正常吗？"
    spans = locate_quotes(
        text, {"newcomer_question": ["「刚提车……续航掉得厉害」"], "welcome": ["欢迎"]}
    )
    assert spans == {"newcomer_question": [(0, 3), (10, 16)]}


# -- malformed replies --------------------------------------------------------------------

STYLES = [
    ("fence",),
    ("prose",),
    ("think",),
    ("trailing_comma",),
    ("single_quotes",),
    ("string_scores",),
    ("percent",),
    ("out_of_range",),
    ("omit_zero",),
    ("fence", "single_quotes", "trailing_comma", "percent"),
]
STYLE_TEXTS = ["心累，不想管了", "换作是我也会很生气，可以提个工单", "欢迎新朋友", "今天天气不错"]


@pytest.mark.parametrize("styles", STYLES, ids=lambda s: "+".join(s))
def test_malformed_replies_are_read(styles: tuple[str, ...], make: Make) -> None:
    with Standin() as plain_server, Standin(styles=styles) as odd_server:
        plain, _ = make(plain_server)
        odd, _ = make(odd_server)
        want = plain.detect(STYLE_TEXTS, [None] * 4)
        got = odd.detect(STYLE_TEXTS, [None] * 4)
    assert len(odd_server.seen) == 1, "one request: nothing needed asking again"
    assert odd.usage.bad_replies == 0 and odd.usage.failed_items == 0
    assert np.array_equal(got.fired, want.fired)
    assert got.evidence == want.evidence
    assert ((got.scores >= 0) & (got.scores <= 1)).all()
    if styles in (("out_of_range",),):
        assert set(np.unique(got.scores)) == {0.0, 1.0}


def test_missing_item_is_asked_alone(standin: Standin, make: Make) -> None:
    det, _ = make(standin)
    texts = ["心累", "[[drop]] 可以提个工单", "欢迎"]
    scores = det.predict_proba(texts, [None] * 3)
    assert standin.batch_sizes() == [3, 1]
    assert scores[1, L["guide_channel"]] == pytest.approx(HIT)
    assert (det.usage.reasks, det.usage.bad_replies, det.usage.failed_items) == (1, 1, 0)
    assert not det.unanswered_.any()


def test_never_answered_item_scores_zero_and_is_counted(
    standin: Standin, make: Make, caplog: pytest.LogCaptureFixture
) -> None:
    det, _ = make(standin)
    texts = ["心累", "[[never]] 工单"]
    with caplog.at_level(logging.WARNING, logger="anchorwatch.signals.llm"):
        got = det.detect(texts, [None, None])
    assert (got.scores[1] == 0).all() and got.scores[0, L["fatigue"]] == pytest.approx(HIT)
    assert det.usage.failed_items == 1 and det.unanswered_.tolist() == [False, True]
    assert "no usable answer" in caplog.text and "工单" not in caplog.text
    assert standin.batch_sizes() == [2, 1]
    # a failure is not cached: the next call asks again (and once more, alone)
    det.detect(texts[1:], [None])
    assert standin.batch_sizes() == [2, 1, 1, 1]


def test_non_json_reply_is_retried_then_zero(standin: Standin, make: Make) -> None:
    det, _ = make(standin)
    scores = det.predict_proba(["心累", "[[garbage]] 工单"], [None, None])
    # the batch reply is prose; each message is asked alone; only one recovers
    assert standin.batch_sizes() == [2, 1, 1]
    assert scores[0, L["fatigue"]] == pytest.approx(HIT) and (scores[1] == 0).all()
    assert det.usage.failed_items == 1 and det.usage.bad_replies == 2


@pytest.mark.parametrize("action", ["garbage", "html"])
def test_unreadable_200_is_asked_again(standin: Standin, make: Make, action: str) -> None:
    det, _ = make(standin)
    standin.script.extend([action])
    scores = det.predict_proba(["心累"], [None])
    assert scores[0, L["fatigue"]] == pytest.approx(HIT) and len(standin.seen) == 2


def test_truncated_reply_keeps_complete_items(make: Make) -> None:
    with Standin(styles=("truncate",)) as server:
        det, _ = make(server)
        scores = det.predict_proba(["心累", "工单", "欢迎"], [None] * 3)
    assert server.batch_sizes() == [3, 1, 1]  # the first item survived the cut
    assert scores[0, L["fatigue"]] == scores[1, L["guide_channel"]] == pytest.approx(HIT)
    assert scores[2, L["welcome"]] == pytest.approx(HIT)


def test_parse_reply_unit_cases() -> None:
    assert parse_reply("", 2) == {} and parse_reply("no json here", 1) == {}
    reply = '{"results": [{"i": 0, "scores": {"empathy": 0.9}}, {"i": 7, "scores": {}}]}'
    assert list(parse_reply(reply, 2)) == [0]  # item numbers outside the batch ignored
    bare = '{results: [{i: "1", scores: {共情安抚: 0.7, "guide-channel": "85%", x: 1}},]}'
    item = parse_reply(bare, 2)[1]
    assert item.scores["empathy"] == 0.7 and item.scores["guide_channel"] == 0.85
    assert len(item.scores) == len(LABELS)
    one = parse_reply('{"empathy": 1.2, "evidence": {"empathy": "换作是我"}}', 1)[0]
    assert one.scores["empathy"] == 1.0 and one.quotes == {"empathy": ["换作是我"]}


# -- transport: retries, auth, 400 -------------------------------------------------------


def test_429_then_success_backs_off(standin: Standin, make: Make) -> None:
    det, sleeps = make(standin)
    standin.script.extend(["429"])
    scores = det.predict_proba(["心累"], [None])
    assert scores[0, L["fatigue"]] == pytest.approx(HIT)
    assert len(sleeps) == 1 and 0.25 <= sleeps[0] <= 0.5
    assert (det.usage.requests, det.usage.retries) == (2, 1)


def test_retry_after_is_honoured(make: Make) -> None:
    with Standin(retry_after=3) as server:
        det, sleeps = make(server)
        server.script.extend(["429"])
        det.predict_proba(["心累"], [None])
    assert sleeps == [3.0]


def test_500_twice_then_success_backs_off_exponentially(standin: Standin, make: Make) -> None:
    det, sleeps = make(standin)
    standin.script.extend(["500", "503"])
    det.predict_proba(["心累"], [None])
    assert len(sleeps) == 2 and sleeps[0] <= sleeps[1]
    assert 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0
    assert det.usage.retries == 2 and det.usage.backoff_seconds == pytest.approx(sum(sleeps))


def test_backoff_jitter_is_seeded(standin: Standin, make: Make) -> None:
    runs = []
    for _ in range(2):
        det, sleeps = make(standin, seed=7)
        standin.script.extend(["500", "500"])
        det.predict_proba(["心累"], [None])
        runs.append(sleeps)
    assert runs[0] == runs[1]


@pytest.mark.parametrize("action", ["drop", "slow"])
def test_connection_errors_and_timeouts_are_retried(
    make: Make, action: str, standin: Standin
) -> None:
    standin.slow_seconds = 0.4
    det, sleeps = make(standin, timeout=0.15)
    standin.script.extend([action])
    scores = det.predict_proba(["心累"], [None])
    assert scores[0, L["fatigue"]] == pytest.approx(HIT)
    assert det.usage.retries == 1 and len(sleeps) == 1


def test_gives_up_after_max_retries(standin: Standin, make: Make) -> None:
    det, sleeps = make(standin, max_retries=2)
    standin.script.extend(["500"] * 10)
    with pytest.raises(LLMError, match="failed 3 times") as err:
        det.predict_proba(["心累"], [None])
    assert err.value.key == "llm.unreachable" and len(standin.seen) == 3 and len(sleeps) == 2


def test_unreachable_server_raises(make: Make) -> None:
    with Standin() as server:
        url = server.base_url
    det = LLMDetector(url, "m", max_retries=1, sleep=lambda s: None)
    with pytest.raises(LLMError, match="connection failed"):
        det.predict_proba(["心累"], [None])


@pytest.mark.parametrize("status", ["401", "403"])
def test_auth_failure_raises_without_retry(standin: Standin, make: Make, status: str) -> None:
    det, sleeps = make(standin, api_key="sk-secret-value")
    standin.script.extend([status])
    with pytest.raises(LLMError) as err:
        det.predict_proba(["心累"], [None])
    assert err.value.key == "llm.auth" and f"HTTP {status}" in str(err.value)
    assert "sk-secret-value" not in str(err.value) and "sk-secret" not in repr(det)
    assert len(standin.seen) == 1 and sleeps == [] and det.usage.retries == 0


def test_wrong_key_is_401(make: Make) -> None:
    with Standin(api_key="right") as server:
        det, _ = make(server, api_key="wrong")
        with pytest.raises(LLMError, match="ANCHORWATCH_LLM_KEY"):
            det.predict_proba(["心累"], [None])


def test_404_names_the_url_setting(standin: Standin, make: Make) -> None:
    det, _ = make(standin)
    standin.script.extend(["404"])
    with pytest.raises(LLMError, match="ANCHORWATCH_LLM_URL") as err:
        det.predict_proba(["心累"], [None])
    assert err.value.key == "llm.not_found"


def test_400_for_response_format_is_retried_without_it(make: Make) -> None:
    with Standin(reject_response_format=True) as server:
        det, sleeps = make(server)
        scores = det.predict_proba(["心累"], [None])
        det.predict_proba(["工单"], [None])
    assert scores[0, L["fatigue"]] == pytest.approx(HIT)
    assert ["response_format" in s.body for s in server.seen] == [True, False, False]
    assert det.json_mode_ is False and sleeps == []


# -- cache, accounting, batching, determinism ----------------------------------------------


def test_cache_avoids_a_second_request(standin: Standin, make: Make) -> None:
    det, _ = make(standin)
    texts, contexts = ["心累", "工单", "心累"], [None, None, None]
    first = det.detect(texts, contexts)
    assert standin.batch_sizes() == [2]  # the repeat in the same call is asked once
    second = det.detect(texts, contexts)
    assert len(standin.seen) == 1 and det.usage.cache_hits == 1 + 3
    assert np.array_equal(first.scores, second.scores) and first.evidence == second.evidence


def test_context_is_part_of_the_key(standin: Standin, make: Make) -> None:
    det, _ = make(standin)
    det.predict_proba(["好的", "好的"], [None, "车机黑屏了"])
    assert standin.batch_sizes() == [2]


def test_cache_file_persists_without_member_text(
    standin: Standin, make: Make, tmp_path: Path
) -> None:
    path = tmp_path / "llm-cache.jsonl"
    texts = ["天天回答同样的问题，心累", "換作是我也會很生氣"]
    det, _ = make(standin, cache_path=path)
    first = det.detect(texts, [None, None])
    assert "心累" not in path.read_text(encoding="utf-8")
    with path.open("a", encoding="utf-8") as fh:
        fh.write('{"key": "cut-short-by-a-cra')  # a crash mid-line is tolerated
    again, _ = make(standin, cache_path=path)
    second = again.detect(texts, [None, None])
    assert len(standin.seen) == 1 and again.usage.cache_hits == 2
    assert np.array_equal(first.scores, second.scores) and first.evidence == second.evidence
    other, _ = make(standin, cache_path=path)
    other.model = "another-model"
    other.predict_proba(texts, [None, None])
    assert len(standin.seen) == 2


def test_usage_counters_add_up(standin: Standin, make: Make) -> None:
    det, _ = make(standin, batch_size=2)
    standin.script.extend(["429", "500"])
    det.predict_proba(["心累", "工单", "欢迎", "", "心累"], [None] * 5)
    det.predict_proba(["工单", "[[drop]] 谢谢", "洗地"], [None] * 3)
    u = det.usage
    # call 1: [心累, 工单] after a 429 and a 500 (3), [欢迎] (1);
    # call 2: [drop, 洗地] and the dropped one alone (2)
    assert u.requests == len(standin.seen) == 3 + 1 + 2
    assert u.retries == 2
    assert u.messages == u.sent + u.cache_hits + u.empty == 8
    assert (u.sent, u.cache_hits, u.empty, u.reasks) == (5, 2, 1, 1)
    assert u.prompt_tokens == sum(s.usage["prompt_tokens"] for s in standin.answered)
    assert u.completion_tokens == sum(s.usage["completion_tokens"] for s in standin.answered)
    assert u.total_tokens == u.as_dict()["total_tokens"] > 0
    assert u.seconds > 0 and "8 messages" in u.summary()
    assert isinstance(u, LLMUsage)


def test_batching_splits_requests(standin: Standin, make: Make) -> None:
    det, _ = make(standin, batch_size=3)
    texts = [f"第{i}条 心累" for i in range(7)]
    det.predict_proba(texts, [None] * 7)
    assert standin.batch_sizes() == [3, 3, 1]
    assert [it["i"] for it in standin.seen[1].items] == [0, 1, 2]


def test_deterministic_across_fresh_detectors(make: Make) -> None:
    texts = contract.TEXTS
    contexts = contract.CONTEXTS
    runs = []
    for batch_size in (1, 4):
        with Standin() as server:
            det, _ = make(server, batch_size=batch_size)
            runs.append(det.detect(texts, contexts))
    assert np.array_equal(runs[0].scores, runs[1].scores)
    assert runs[0].evidence == runs[1].evidence


# -- configuration ------------------------------------------------------------------------


def test_from_env_names_the_missing_variable(tmp_path: Path) -> None:
    with pytest.raises(LLMNotConfigured, match="ANCHORWATCH_LLM_URL") as err:
        LLMDetector.from_env({})
    assert err.value.params == {"name": "ANCHORWATCH_LLM_URL"}
    with pytest.raises(LLMNotConfigured, match="ANCHORWATCH_LLM_MODEL"):
        LLMDetector.from_env({"ANCHORWATCH_LLM_URL": "http://127.0.0.1:11434/v1"})
    det = LLMDetector.from_env(
        {
            "ANCHORWATCH_LLM_URL": "https://api.example.com/v1/",
            "ANCHORWATCH_LLM_MODEL": "deepseek-chat",
            "ANCHORWATCH_LLM_KEY": "sk-x",
            "ANCHORWATCH_LLM_CACHE": str(tmp_path / "c.jsonl"),
        },
        batch_size=4,
    )
    assert det.endpoint == "https://api.example.com/v1/chat/completions"
    assert (det.model, det.api_key, det.batch_size) == ("deepseek-chat", "sk-x", 4)
    assert det.cache_path == tmp_path / "c.jsonl"


def test_from_env_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANCHORWATCH_LLM_URL", "http://127.0.0.1:8000/v1/chat/completions")
    monkeypatch.setenv("ANCHORWATCH_LLM_MODEL", "qwen")
    monkeypatch.delenv("ANCHORWATCH_LLM_KEY", raising=False)
    det = LLMDetector.from_env()
    assert det.endpoint == "http://127.0.0.1:8000/v1/chat/completions" and det.api_key is None


@pytest.mark.parametrize("url", ["file:///etc/passwd", "127.0.0.1:11434", "ftp://x/v1"])
def test_only_http_urls(url: str) -> None:
    with pytest.raises(LLMError, match="http"):
        LLMDetector(url, "m")


# -- teacher ------------------------------------------------------------------------------


class _Fixed:
    """A detector that returns a given matrix (columns in ``labels`` order)."""

    name = "fixed"

    def __init__(self, p: np.ndarray, labels: tuple[str, ...] = LABELS) -> None:
        self.p = p.astype(np.float32)
        self.labels = labels
        self.thresholds = np.full(len(labels), 0.5, np.float32)

    def predict_proba(self, texts: object, contexts: object) -> np.ndarray:
        return self.p

    def detect(self, texts: object, contexts: object) -> object:
        raise NotImplementedError


def test_teacher_matrix() -> None:
    p = np.full((4, len(LABELS)), 0.5)
    p[0, L["empathy"]], p[0, L["fatigue"]] = 0.8, 0.2  # exactly at the cut-offs
    p[1, L["welcome"]] = 0.79  # still unknown: row 1 has only unknowns
    p[2] = 0.05  # confidently nothing
    p[3, L["gratitude"]] = 0.99
    texts = ["a", "b", "c", "Thanks!"]
    data = label_with_teacher(
        _Fixed(p), texts, [None, "x", None, "y"], ids=["m0", "m1", "m2", "m3"]
    )
    assert data.texts == ["a", "c", "Thanks!"] and data.contexts == [None, None, "y"]
    assert data.ids == ["m0", "m2", "m3"] and data.name == "teacher:fixed"
    assert data.y.dtype == np.int8 and data.y.shape == (3, len(LABELS))
    want = np.full((3, len(LABELS)), -1, np.int8)
    want[0, L["empathy"]], want[0, L["fatigue"]] = 1, 0
    want[1] = 0
    want[2, L["gratitude"]] = 1
    assert np.array_equal(data.y, want)
    assert data.langs == ["en", "en", "en"] and len(data.groups) == 3


def test_teacher_aligns_labels_by_name() -> None:
    order = tuple(reversed(LABELS))
    p = np.zeros((1, len(LABELS)))
    p[0, order.index("empathy")] = 0.95
    data = label_with_teacher(_Fixed(p, order), ["换作是我"], [None])
    assert data.y[0, L["empathy"]] == 1 and (np.delete(data.y[0], L["empathy"]) == 0).all()
    assert data.langs == ["zh"]


def test_teacher_rejects_bad_confidence() -> None:
    for bad in (0.5, 0.3, 1.2):
        with pytest.raises(ValueError, match="min_confidence"):
            label_with_teacher(
                _Fixed(np.zeros((1, len(LABELS)))), ["a"], [None], min_confidence=bad
            )


def test_teacher_with_the_llm_drops_unanswered_rows(standin: Standin, make: Make) -> None:
    det, _ = make(standin)
    texts = ["天天回答，心累", "[[never]] 工单", "今天天气不错"]
    data = label_with_teacher(det, texts, [None] * 3, min_confidence=0.9)
    assert data.texts == [texts[0], texts[2]]
    assert data.y[0, L["fatigue"]] == 1 and data.y[0, L["empathy"]] == 0
    assert (data.y[1] == 0).all()


def test_teacher_empty_input(standin: Standin, make: Make) -> None:
    det, _ = make(standin)
    data = label_with_teacher(det, [], [])
    assert len(data) == 0 and data.y.shape == (0, len(LABELS))


def test_usage_round_trips_as_json(standin: Standin, make: Make) -> None:
    det, _ = make(standin)
    det.predict_proba(["心累"], [None])
    assert json.loads(json.dumps(det.usage.as_dict()))["requests"] == 1
