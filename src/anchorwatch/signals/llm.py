"""``llm.v1``: any OpenAI-compatible chat endpoint as a detector (off by default).

The embedded backends never leave the machine.  This one sends each member's
message, and the message it replies to, to the endpoint you configure (DeepSeek,
Qwen/DashScope compatible mode, a local vLLM or Ollama server...) and asks the
model for a probability per label plus the exact words that show it.  It is
never the default; it is built only when asked for by name, with the endpoint
from arguments or from ``ANCHORWATCH_LLM_URL`` / ``ANCHORWATCH_LLM_MODEL`` /
``ANCHORWATCH_LLM_KEY`` (see ``docs/llm.md``).

The shape of one call::

    texts ─► cache? ─► batches of ``batch_size`` ─► POST {base_url}/chat/completions
                 │                                   (retries with backoff on 429/5xx)
                 │                          reply ─► lenient JSON ─► scores + quotes
                 └──────────────────────────────────◄ quotes located in the text ◄┘

A reply that cannot be read never fails the batch: the items it lacks are asked
again one by one, and an item that still has no answer scores 0 (counted in
:attr:`LLMDetector.usage`, not cached).  Only the endpoint itself failing (wrong
key, unreachable after the retries) raises :class:`LLMError`; batches answered
before that are cached, so running again resumes.

>>> from anchorwatch.signals.llm import LLMDetector                  # doctest: +SKIP
>>> det = LLMDetector("http://127.0.0.1:11434/v1", "qwen2.5:7b")     # doctest: +SKIP
>>> det.detect(["换作是我也会很生气，可以在APP里提个工单"], [None]).labels_of(0)  # doctest: +SKIP
['empathy', 'guide_channel']
"""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import json
import logging
import math
import os
import random
import re
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from email.message import Message
from email.utils import parsedate_to_datetime
from functools import cache
from pathlib import Path
from typing import IO, Any, NoReturn

import numpy as np

from anchorwatch.signals.detector import Detections, Span
from anchorwatch.signals.labels import LABELS, load_labels
from anchorwatch.signals.normalize import normalize, normalize_with_offsets, span_in_original

NAME = "llm.v1"
#: Bump when the wording of the prompt changes meaningfully.  The cache key also
#: carries a hash of the rendered prompt, so an edit of ``labels.yaml`` or of the
#: examples below can never be answered from a cache filled under the old text.
PROMPT_VERSION = "llm.v1/prompt.1"

ENV_URL = "ANCHORWATCH_LLM_URL"
ENV_MODEL = "ANCHORWATCH_LLM_MODEL"
ENV_KEY = "ANCHORWATCH_LLM_KEY"
ENV_CACHE = "ANCHORWATCH_LLM_CACHE"

#: Characters of a message (and of its context) put in the prompt.  Bounds the
#: token bill of a pasted log or a 10,000-character rant; quotes are still
#: located in the whole text.
MAX_TEXT_CHARS = 2000
MAX_CONTEXT_CHARS = 500
#: Quotes kept per label, and occurrences of one quote turned into spans.
MAX_QUOTES = 3
#: A reply larger than this is not an answer to 8 messages; read no further.
MAX_RESPONSE_BYTES = 8 * 2**20
#: Exponential backoff: attempt k waits between d/2 and d, d = base·2^k ≤ cap,
#: so waits grow monotonically and clients that failed together spread out.
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 30.0
RETRY_AFTER_CAP_S = 60.0
#: Statuses worth another try: rate limits, timeouts and server trouble.
RETRY_STATUSES = frozenset({408, 409, 425, 429})

_log = logging.getLogger(__name__)


# -- errors -------------------------------------------------------------------------


class LLMError(RuntimeError):
    """The endpoint refused or could not be reached; the batch cannot be scored.

    ``key`` and ``params`` name the message in the i18n catalogue, so that the
    CLI can show it in the user's language (``t(err.key, **err.params)``); the
    exception text itself is English.  Neither ever contains the API key.
    """

    def __init__(self, message: str, *, key: str = "llm.error", **params: Any) -> None:
        super().__init__(message)
        self.key = key
        self.params = params


class LLMNotConfigured(LLMError):
    """A required setting (endpoint URL or model name) is missing."""


class _Retryable(Exception):
    """A failure that another try may cure (429, 5xx, timeout, refused connection)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class _BadRequest(Exception):
    """HTTP 400: the server rejected the request body (often ``response_format``)."""


# -- accounting ---------------------------------------------------------------------


@dataclass
class LLMUsage:
    """What the endpoint cost so far, for ``anchorwatch eval`` and the benchmarks.

    Attributes
    ----------
    messages:
        Rows scored (every row of every call); ``messages == sent + cache_hits
        + empty``.
    sent:
        Distinct messages sent to the endpoint.
    cache_hits:
        Rows answered without a request (from the cache, or a repeat of a row
        earlier in the same call).
    empty:
        Empty or blank texts, scored 0 without asking.
    requests:
        HTTP requests made, retries included.
    retries:
        Requests repeated after a 429, 5xx, timeout or connection error.
    reasks:
        Messages asked again alone because a reply lacked them.
    bad_replies:
        Replies that could not be read at all or lacked some items.
    failed_items:
        Messages still without an answer after asking again: scored 0 and not
        cached (a warning is logged).
    prompt_tokens, completion_tokens:
        Summed from the ``usage`` of each response (0 when a server omits it).
    seconds:
        Wall time spent waiting for the endpoint.
    backoff_seconds:
        Time asked to sleep between retries.

    Examples
    --------
    >>> u = LLMUsage(messages=3, sent=2, cache_hits=1, requests=1,
    ...              prompt_tokens=900, completion_tokens=120, seconds=1.5)
    >>> u.total_tokens
    1020
    >>> for part in u.summary().split("; "):
    ...     print(part)
    llm.v1: 3 messages (2 sent, 1 from cache) in 1 requests (0 retries, 0 failed)
    tokens 900 in / 120 out
    1.5 s
    """

    messages: int = 0
    sent: int = 0
    cache_hits: int = 0
    empty: int = 0
    requests: int = 0
    retries: int = 0
    reasks: int = 0
    bad_replies: int = 0
    failed_items: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    backoff_seconds: float = 0.0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def as_dict(self) -> dict[str, float]:
        """Every counter, plus ``total_tokens``, as a flat mapping."""
        out: dict[str, float] = asdict(self)
        out["total_tokens"] = self.total_tokens
        return out

    def summary(self) -> str:
        """One line for the end of ``anchorwatch eval`` or a benchmark."""
        return (
            f"{NAME}: {self.messages} messages ({self.sent} sent, {self.cache_hits} from cache)"
            f" in {self.requests} requests ({self.retries} retries, {self.failed_items} failed);"
            f" tokens {self.prompt_tokens} in / {self.completion_tokens} out;"
            f" {self.seconds:.1f} s"
        )


# -- the prompt ---------------------------------------------------------------------

#: One short example per label, Chinese then English.  They anchor the model on
#: the register of car-owner groups, which the one-line definitions do not.
EXAMPLES: dict[str, tuple[str, str]] = {
    "newcomer_answer": (
        "刚提车冬天续航掉三成很正常，出门前在APP里预热一下电池就好，别担心～",
        "Totally normal for a new car in winter: preheat the battery in the app first.",
    ),
    "welcome": (
        "欢迎新朋友！提车多久啦？有问题随时在群里问",
        "Welcome aboard! Which trim did you get?",
    ),
    "deescalate_humor": (
        "别吵啦，再吵我的车机都要气黑屏了😂",
        "Easy folks, my car sulks less than this thread 😄",
    ),
    "deescalate_summary": (
        "我理一下：A 觉得是软件问题，B 觉得是用法不对，两边都有道理",
        "So A says it's the software and B says it's how it's used; both fair.",
    ),
    "deescalate_redirect": (
        "咱们就事论事，先别说人，说说这个异响到底怎么回事",
        "Let's stick to the rattle itself, not each other.",
    ),
    "empathy": (
        "换作是我也会很生气，黑屏三次谁受得了",
        "I'd be furious too, that sounds exhausting.",
    ),
    "guide_details": (
        "方便说下车型、软件版本和出问题的时间吗？",
        "Which model and software version, and when did it happen?",
    ),
    "guide_channel": (
        "建议在APP里提个工单，或者打客服热线，服务站会跟进",
        "Open a ticket in the app or call the service hotline.",
    ),
    "newcomer_question": (
        "刚提车，请问冬天续航掉得厉害正常吗？",
        "New owner here: is this range drop normal?",
    ),
    "complaint": (
        "车机又黑屏了，售后一直推，气死我了！",
        "Third time the screen died and service keeps stalling.",
    ),
    "heated": ("你根本没搞懂，还在这瞎说！", "You clearly have no idea what you're talking about!"),
    "offensive": ("买这车的都是韭菜", "Only idiots buy this brand."),
    "personal_attack": ("@老王 你懂个屁", "@Kevin you're an idiot."),
    "gratitude": ("感谢老张耐心解答🙏", "Thanks Kevin, your tip saved my commute!"),
    "bias_accusation": (
        "你收了多少钱在这洗地？水军吧",
        "How much is the brand paying you to defend them?",
    ),
    "fatigue": (
        "天天回答同样的问题，心累，不想管了",
        "Honestly I'm tired of answering the same thing every day.",
    ),
}

_OUTPUT_EXAMPLE = (
    '{"results": [{"i": 0, "scores": {"empathy": 0.9, "guide_channel": 0.85, "complaint": 0.1},'
    ' "evidence": {"empathy": ["换作是我也会很生气"], "guide_channel": ["提个工单"]}}]}'
)


def _label_line(name: str) -> str:
    label = next(lab for lab in load_labels() if lab.name == name)
    zh, en = EXAMPLES.get(name, ("", ""))
    example = f' 例 e.g.「{zh}」/ "{en}"' if zh else ""
    return f"- {label.name}（{label.zh} / {label.en}）：{label.definition}。{example}"


@cache
def system_prompt() -> str:
    """The instructions: task, every label with its definition and examples, format.

    Chinese first with the English beside it, so that a model stronger in either
    language reads the same rules.

    Examples
    --------
    >>> p = system_prompt()
    >>> all(label in p for label in LABELS), "共情安抚" in p, "Output format" in p
    (True, True, True)
    """
    acts = [lab.name for lab in load_labels() if lab.kind == "act"]
    contexts = [lab.name for lab in load_labels() if lab.kind == "context"]
    lines = [
        "你是汽车品牌车主社群的内容标注员。消息大多是中文（简体或繁体），也有英文和中英混写，"
        "常带表情、口语和车圈黑话。",
        "You annotate messages from car-owner communities: mostly Chinese (simplified or"
        " traditional), some English or mixed, with emoji and car-forum slang.",
        "",
        "任务：对每条消息（text），结合它所回复的上一条消息（context，可能为空），"
        "给出下列每个标签的概率（0 到 1）。",
        "Task: for each message (text), read together with the message it replies to"
        " (context, may be null), give the probability (0 to 1) of every label below.",
        "",
        "行为（acts）：发这条消息的人在为别人做情感劳动。"
        " / Acts: the writer does emotional work for others.",
        *(_label_line(name) for name in acts),
        "",
        "语境（contexts）：描述这条消息本身，不是 context 那条。"
        " / Contexts: describe this message itself, not its context.",
        *(_label_line(name) for name in contexts),
        "",
        "规则 / Rules:",
        "1. 只按消息实际做了什么来判断；一条消息可以有多个标签，也可以一个都没有。"
        " / Judge what the message actually does; it may have several labels or none.",
        "2. 分数是概率：明确符合 ≥ 0.8，可能符合 0.4–0.7，不符合 ≤ 0.1；分数为 0 的标签可以省略。"
        " / Scores are probabilities: clearly ≥ 0.8, possibly 0.4–0.7, absent ≤ 0.1;"
        " labels scored 0 may be left out.",
        "3. 对分数 ≥ 0.5 的标签，在 evidence 中给出触发它的原文片段：必须从 text 中逐字复制"
        "（不改写、不翻译、不做繁简转换），每个标签最多 3 段。"
        " / For every label scored ≥ 0.5, quote in evidence the substring(s) of text that"
        " show it, copied verbatim (no rewording, translation or script conversion),"
        " at most 3 per label.",
        "4. 只输出一个 JSON 对象，不要 Markdown，不要解释。"
        " / Output one JSON object only: no Markdown, no explanation.",
        "",
        "输出格式 / Output format:",
        _OUTPUT_EXAMPLE,
        "每条输入消息都要有一个结果，i 与输入编号一致。 / One result per input message, same i.",
    ]
    return "\n".join(lines)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…（已截断 / truncated）"


def user_prompt(items: Sequence[tuple[str, str | None]]) -> str:
    """The numbered messages of one request, as a one-line JSON array.

    JSON rather than free text so that quotes, newlines and brackets inside a
    member's message can never be mistaken for the prompt's own structure.

    Examples
    --------
    >>> print(user_prompt([("心累", "在吗")]).splitlines()[1])
    [{"i": 0, "context": "在吗", "text": "心累"}]
    """
    payload = [
        {
            "i": i,
            "context": _clip(context, MAX_CONTEXT_CHARS) if context else None,
            "text": _clip(text, MAX_TEXT_CHARS),
        }
        for i, (text, context) in enumerate(items)
    ]
    n = len(items)
    return "\n".join(
        [
            f"请为下面 {n} 条消息打分（JSON 数组，i 为编号）。"
            f" / Score these {n} messages (a JSON array; i is the number):",
            json.dumps(payload, ensure_ascii=False),
            f'请输出 {{"results": [...]}}，共 {n} 个结果。'
            f' / Reply with {{"results": [...]}} holding {n} results.',
        ]
    )


@cache
def prompt_version() -> str:
    """:data:`PROMPT_VERSION` plus a hash of the rendered prompt (the cache's key)."""
    rendered = system_prompt() + "\n" + user_prompt([("{text}", "{context}")])
    return f"{PROMPT_VERSION}:{hashlib.sha256(rendered.encode('utf-8')).hexdigest()[:12]}"


# -- reading replies ----------------------------------------------------------------


@dataclass(frozen=True)
class ParsedItem:
    """One message's answer as read from a reply: every label's score, raw quotes."""

    scores: dict[str, float]
    quotes: dict[str, list[str]] = field(default_factory=dict)


_FENCE_RE = re.compile(r"```[\w-]*[ \t]*\n?(.*?)```", re.S)
_THINK_RE = re.compile(r"<think>.*?</think>", re.S | re.I)
_WORD_RE = re.compile(r"[^\W\d]\w*")  # identifiers, Chinese label names included
_NUM_RE = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_LITERALS = {"True": "true", "False": "false", "None": "null"}
#: Candidate objects tried per reply; a reply is a few KiB, this bounds the work.
_MAX_STARTS = 64


def _repair(s: str) -> str:
    """Rewrite near-JSON (Python or JavaScript style) into JSON.

    One pass that knows where strings are, so nothing inside a member's quoted
    words is touched: single-quoted strings become double-quoted, trailing commas
    go, bare keys get quotes, ``True/False/None`` become JSON literals, ``85%``
    becomes the string ``"85%"`` (read as 0.85 later) and ``+0.5`` loses its
    sign.
    """
    out: list[str] = []
    i, n = 0, len(s)
    while i < n:
        ch = s[i]
        if ch in "\"'":
            j, buf = i + 1, []
            while j < n and s[j] != ch:
                c = s[j]
                if c == "\\" and j + 1 < n:
                    nxt = s[j + 1]
                    # JSON has no \' escape; a quote inside a double-quoted string is literal.
                    buf.append("'" if nxt == "'" else c + nxt)
                    j += 2
                    continue
                buf.append('\\"' if c == '"' else "\\n" if c == "\n" else c)
                j += 1
            out.append('"' + "".join(buf) + '"')
            i = j + 1
            continue
        if ch == ",":
            k = i + 1
            while k < n and s[k].isspace():
                k += 1
            if k >= n or s[k] in "}]":
                i += 1
                continue
        word = _WORD_RE.match(s, i) if (ch.isalpha() or ch == "_") else None
        if word:
            k = word.end()
            while k < n and s[k].isspace():
                k += 1
            token = word.group(0)
            out.append(json.dumps(token) if k < n and s[k] == ":" else _LITERALS.get(token, token))
            i = word.end()
            continue
        number = _NUM_RE.match(s, i) if (ch.isdigit() or ch in "+-.") else None
        if number:
            token = number.group(0).lstrip("+")
            end = number.end()
            if end < n and s[end] == "%":
                out.append(f'"{token}%"')
                end += 1
            else:
                out.append(token)
            i = end
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _loads(text: str) -> Any:
    """JSON, else repaired near-JSON, else ``None``."""
    for candidate in (text, None):
        try:
            return json.loads(candidate if candidate is not None else _repair(text), strict=False)
        except ValueError:
            continue
    return None


def _balanced_end(s: str, start: int) -> int | None:
    """End of the bracketed value opening at ``start``, skipping strings; None if unclosed."""
    closers = {"{": "}", "[": "]"}
    stack: list[str] = []
    quote: str | None = None
    escaped = False
    for k in range(start, len(s)):
        ch = s[k]
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
            continue
        if ch in "\"'":
            quote = ch
        elif ch in closers:
            stack.append(closers[ch])
        elif ch in "}]":
            if not stack or stack.pop() != ch:
                return None
            if not stack:
                return k + 1
    return None


def _bracketed(body: str, opener: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    start = body.find(opener)
    while start != -1 and len(spans) < _MAX_STARTS:
        end = _balanced_end(body, start)
        if end is not None:
            spans.append((start, end))
        start = body.find(opener, start + 1)
    return spans


def _label_lookup(labels: Sequence[str]) -> dict[str, str]:
    """Names a model may use for a label: ours, other spellings, the Chinese name."""
    lookup: dict[str, str] = {}
    zh = {lab.name: lab.zh for lab in load_labels()}
    for name in labels:
        for alias in (name, name.lower(), name.replace("_", "-"), name.replace("_", " ")):
            lookup[alias] = name
        if name in zh:
            lookup[zh[name]] = name
    return lookup


def _resolve(lookup: Mapping[str, str], key: Any) -> str | None:
    if not isinstance(key, str):
        return None
    k = key.strip()
    return lookup.get(k) or lookup.get(k.lower()) or lookup.get(k.lower().replace("-", "_"))


def _prob(value: Any) -> float:
    """A score as the model wrote it (0.8, "0.8", "80%", true, {"score": 0.8}) → [0, 1]."""
    if isinstance(value, dict):
        for key in ("score", "probability", "p", "value"):
            if key in value:
                return _prob(value[key])
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, str):
        s = value.strip().rstrip("。.").strip()
        scale = 1.0
        if s.endswith(("%", "％")):
            s, scale = s[:-1].strip(), 0.01
        try:
            value = float(s) * scale
        except ValueError:
            return 0.0
    if not isinstance(value, int | float) or math.isnan(value):
        return 0.0
    # Out-of-range values are clipped, not rescaled: a "1.3" is a confident yes,
    # and guessing that a bare 85 meant 85 % would misread a model that says 1–5.
    return float(min(max(value, 0.0), 1.0))


def _index(item: Mapping[str, Any], position: int) -> int | None:
    for key in ("i", "id", "index", "idx"):
        if key in item:
            try:
                return int(str(item[key]).strip().lstrip("#"))
            except ValueError:
                return None
    return position


def _items(obj: Any, lookup: Mapping[str, str]) -> list[dict[str, Any]]:
    """The per-message objects inside a parsed reply, whatever its wrapping."""
    if isinstance(obj, list):
        return [x for x in obj if isinstance(x, dict)]
    if not isinstance(obj, dict):
        return []
    for key in ("results", "items", "messages", "data", "output", "result"):
        if key in obj:
            return _items(obj[key], lookup)
    if "scores" in obj or any(_resolve(lookup, k) for k in obj):
        return [obj]
    # {"0": {...}, "1": {...}}: keyed by message number.
    if obj and all(isinstance(v, dict) for v in obj.values()):
        return [{"i": k, **v} for k, v in obj.items()]
    return []


def _salvage(content: str, lookup: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every complete item object in a reply that is not JSON as a whole.

    A reply cut off by the server's token limit still holds its first items
    intact; take those and let the missing ones be asked again.
    """
    found: list[dict[str, Any]] = []
    start = content.find("{")
    starts = 0
    while start != -1 and starts < _MAX_STARTS * 4:
        starts += 1
        end = _balanced_end(content, start)
        obj = _loads(content[start:end]) if end is not None else None
        if isinstance(obj, dict) and ("scores" in obj or "evidence" in obj):
            found.append(obj)
            start = content.find("{", end)
        else:
            start = content.find("{", start + 1)
    return found


def _item_answer(
    item: Mapping[str, Any], labels: Sequence[str], lookup: Mapping[str, str]
) -> ParsedItem | None:
    raw = item.get("scores", item)
    if not isinstance(raw, dict):
        return None
    scores = dict.fromkeys(labels, 0.0)
    known = 0
    for key, value in raw.items():
        label = _resolve(lookup, key)
        if label is not None:
            scores[label] = _prob(value)
            known += 1
    if not known and "scores" not in item:
        return None  # neither scores nor label keys: not an answer (e.g. {"i": 0, "error": ...})
    quotes: dict[str, list[str]] = {}
    evidence = item.get("evidence")
    if isinstance(evidence, dict):
        for key, value in evidence.items():
            label = _resolve(lookup, key)
            values = [value] if isinstance(value, str) else value
            if label is None or not isinstance(values, list):
                continue
            kept = [q for q in values if isinstance(q, str) and q.strip()][:MAX_QUOTES]
            if kept:
                quotes[label] = kept
    return ParsedItem(scores, quotes)


def parse_reply(content: str, n: int, labels: Sequence[str] = LABELS) -> dict[int, ParsedItem]:
    """Read a model's reply to ``n`` numbered messages, however it is dressed.

    Survives code fences, prose before or after the JSON, ``<think>`` blocks,
    single quotes, trailing commas, bare keys, scores as strings or percentages,
    out-of-range scores (clipped), missing labels (0.0), labels named in Chinese,
    and a reply cut off mid-way (the complete items are kept).  Items that cannot
    be read are simply absent from the result; nothing here raises.

    Parameters
    ----------
    content:
        The ``message.content`` of the chat completion.
    n:
        How many messages were asked; item numbers outside ``0..n-1`` are ignored.
    labels:
        The labels to fill in every item's scores.

    Returns
    -------
    dict
        Item number → :class:`ParsedItem`.

    Examples
    --------
    >>> reply = "```json\\n{'results': [{'i': 0, 'scores': {'fatigue': '90%',},},]}\\n```\\n好的"
    >>> item = parse_reply(reply, 1)[0]
    >>> item.scores["fatigue"], item.scores["empathy"]
    (0.9, 0.0)
    >>> parse_reply("Sorry, I cannot help with that.", 1)
    {}
    """
    lookup = _label_lookup(labels)
    content = _THINK_RE.sub("", content or "")
    bodies = [m.group(1) for m in _FENCE_RE.finditer(content)] + [content]
    items: list[dict[str, Any]] = []
    for body in bodies:
        whole = _loads(body.strip())
        if whole is not None:
            items = _items(whole, lookup)
        else:
            # Prose around the JSON: the first bracketed value that holds items.
            for s, e in _bracketed(body, "{") + _bracketed(body, "["):
                items = _items(_loads(body[s:e]), lookup)
                if items:
                    break
        if items:
            break
    # A reply cut off mid-way parses, at best, as its first item alone; the
    # item-by-item scan then finds more.
    salvaged = _salvage(content, lookup)
    if len(salvaged) > len(items):
        items = salvaged
    out: dict[int, ParsedItem] = {}
    for position, item in enumerate(items):
        index = _index(item, position)
        if index is None or not 0 <= index < n or index in out:
            continue
        answer = _item_answer(item, labels, lookup)
        if answer is not None:
            out[index] = answer
    return out


# -- evidence -----------------------------------------------------------------------

_QUOTE_MARKS = "\"'“”‘’「」『』《》`"
_ELLIPSIS_RE = re.compile(r"\.{3,}|…+|⋯+")


def _starts(haystack: str, needle: str) -> list[int]:
    found: list[int] = []
    start = haystack.find(needle)
    while start != -1 and len(found) < MAX_QUOTES:
        found.append(start)
        start = haystack.find(needle, start + 1)
    return found


def _merge(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for s, e in sorted(set(spans)):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def locate_quotes(text: str, quotes: Mapping[str, Sequence[str]]) -> dict[str, list[Span]]:
    """Spans of ``text`` for each label's quoted substrings; quotes not found are dropped.

    A quote is looked for as written first, then in the normalised text (so a
    quote the model wrote in simplified characters, another case or without the
    member's repeated ！！！ still points at what the member wrote).  A quote
    shortened with an ellipsis is located piece by piece.

    Examples
    --------
    >>> text = "售後一直推，我真的心累了"
    >>> locate_quotes(text, {"fatigue": ["心累"], "complaint": ["售后一直推"], "heated": ["吵架"]})
    {'fatigue': [(9, 11)], 'complaint': [(0, 5)]}
    """
    offsets: tuple[str, list[int]] | None = None
    out: dict[str, list[Span]] = {}
    for label, label_quotes in quotes.items():
        spans: list[Span] = []
        for quote in label_quotes:
            for piece in _ELLIPSIS_RE.split(quote):
                piece = piece.strip().strip(_QUOTE_MARKS).strip()
                if not piece:
                    continue
                found = [(s, s + len(piece)) for s in _starts(text, piece)]
                if not found:
                    if offsets is None:
                        offsets = normalize_with_offsets(text)
                    norm, origin = offsets
                    needle = normalize(piece)
                    if needle:
                        found = [
                            span_in_original(origin, text, s, s + len(needle))
                            for s in _starts(norm, needle)
                        ]
                spans.extend(found)
        merged = _merge(spans)
        if merged:
            out[label] = merged
    return out


# -- the detector -------------------------------------------------------------------


@dataclass(frozen=True)
class _Answer:
    """A message's scores (labels absent → 0) and located evidence: what is cached.

    Spans, not quotes, are kept, so the cache file holds no member text.
    """

    scores: Mapping[str, float]
    spans: Mapping[str, list[Span]]


_NO_ANSWER = _Answer({}, {})


@dataclass(frozen=True)
class _Pending:
    key: str
    text: str
    context: str | None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: urllib would replay the Authorization header to the new host."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _retry_after(headers: Message | None) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        raw = exc.read(2000).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException):
        return ""
    try:
        data = json.loads(raw)
        message = data.get("error", {}).get("message") if isinstance(data, dict) else None
        if isinstance(message, str):
            return message[:300]
    except (ValueError, AttributeError):
        pass
    return " ".join(raw.split())[:300]


def _content(reply: Any) -> str:
    """``choices[0].message.content``, as text, from any OpenAI-style response."""
    if not isinstance(reply, dict):
        return ""
    choices = reply.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return ""
    message = choices[0].get("message")
    content = message.get("content") if isinstance(message, dict) else choices[0].get("text")
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}]
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def _int(value: Any) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


class LLMDetector:
    """Scores from a chat model behind any OpenAI-compatible endpoint.

    Parameters
    ----------
    base_url:
        The API root, e.g. ``https://api.deepseek.com/v1``,
        ``https://dashscope.aliyuncs.com/compatible-mode/v1`` or
        ``http://127.0.0.1:11434/v1`` (Ollama); ``/chat/completions`` is added.
    model:
        The model name the server knows (``deepseek-chat``, ``qwen-plus``...).
    api_key:
        Sent as ``Authorization: Bearer ...``; ``None`` for local servers.
    batch_size:
        Messages per request.
    timeout:
        Seconds to wait for one response.
    max_retries:
        Further tries after a 429, 5xx, timeout or connection error.
    cache_path:
        A JSONL file that keeps answers across runs (hashes, scores and spans;
        no member text).  Answers are always cached in memory.
    temperature:
        Sampling temperature; 0 for repeatable answers.
    sleep:
        Called with the seconds to wait between retries (tests pass a recorder).
    seed:
        Seed of the backoff jitter.

    Attributes
    ----------
    usage:
        :class:`LLMUsage`: requests, retries, tokens, cache hits, seconds.
    json_mode_:
        Whether ``response_format`` is sent; turned off for good after a server
        answers it with HTTP 400.
    unanswered_:
        Rows of the last call that got no usable answer (scored 0).  The
        teacher leaves them out instead of learning zeros from them.

    Notes
    -----
    Requests are sent one after another; use one detector per thread.  The
    prompt and reply formats are :func:`system_prompt`, :func:`user_prompt`
    and :func:`parse_reply`.

    Examples
    --------
    >>> det = LLMDetector("http://127.0.0.1:11434/v1", "qwen2.5:7b", batch_size=16)
    >>> det.name, len(det.labels), float(det.thresholds[0])
    ('llm.v1', 16, 0.5)
    >>> det.detect(["换作是我也会很生气"], ["车机黑屏三次！"]).labels_of(0)  # doctest: +SKIP
    ['empathy']
    """

    name = NAME

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        *,
        batch_size: int = 8,
        timeout: float = 60,
        max_retries: int = 4,
        cache_path: str | Path | None = None,
        temperature: float = 0,
        sleep: Callable[[float], None] | None = None,
        seed: int = 0,
    ) -> None:
        # Settings are checked here, not at the first batch: a typo in the URL
        # should fail where it was configured, before any message is read.
        parts = urllib.parse.urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise LLMError(
                f"{ENV_URL} must be an http(s) URL such as http://127.0.0.1:11434/v1,"
                f" not {base_url!r}",
                key="llm.bad_url",
                url=base_url,
            )
        if not model.strip():
            raise LLMNotConfigured(
                f"{ENV_MODEL} is empty: name the model", key="llm.not_configured", name=ENV_MODEL
            )
        if batch_size < 1 or max_retries < 0 or timeout <= 0:
            raise ValueError("batch_size ≥ 1, max_retries ≥ 0 and timeout > 0 are required")
        self.base_url = base_url
        self.model = model
        self.api_key = api_key
        self.batch_size = batch_size
        self.timeout = timeout
        self.max_retries = max_retries
        self.cache_path = Path(cache_path) if cache_path is not None else None
        self.temperature = temperature
        self.sleep = sleep or time.sleep
        self.seed = seed
        self.labels: tuple[str, ...] = LABELS
        self.thresholds = np.full(len(self.labels), 0.5, dtype=np.float32)
        self.usage = LLMUsage()
        self.json_mode_ = True
        self.unanswered_ = np.zeros(0, dtype=bool)
        self._rng = random.Random(seed)
        self._cache: dict[str, _Answer] = {}
        self._cache_loaded = False
        self._lock = threading.Lock()
        self._opener: urllib.request.OpenerDirector | None = None

    def __repr__(self) -> str:
        key = "***" if self.api_key else None
        return (
            f"LLMDetector({self.base_url!r}, {self.model!r}, api_key={key},"
            f" batch_size={self.batch_size})"
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> LLMDetector:
        """Build from ``ANCHORWATCH_LLM_URL``, ``_MODEL``, ``_KEY`` (and ``_CACHE``).

        Parameters
        ----------
        environ:
            Where to read the variables (default: ``os.environ``).
        **kwargs:
            Further arguments of :class:`LLMDetector` (``batch_size``...).

        Raises
        ------
        LLMNotConfigured
            When the URL or the model is not set; the message names the variable.

        Examples
        --------
        >>> env = {"ANCHORWATCH_LLM_URL": "http://127.0.0.1:11434/v1",
        ...        "ANCHORWATCH_LLM_MODEL": "qwen2.5:7b"}
        >>> LLMDetector.from_env(env)
        LLMDetector('http://127.0.0.1:11434/v1', 'qwen2.5:7b', api_key=None, batch_size=8)
        >>> LLMDetector.from_env({})
        Traceback (most recent call last):
        ...
        anchorwatch.signals.llm.LLMNotConfigured: ANCHORWATCH_LLM_URL is not set: ...
        """
        env = os.environ if environ is None else environ
        values = {}
        for name, example in (
            (ENV_URL, "http://127.0.0.1:11434/v1"),
            (ENV_MODEL, "qwen2.5:7b"),
        ):
            value = (env.get(name) or "").strip()
            if not value:
                raise LLMNotConfigured(
                    f"{name} is not set: the {NAME} backend needs an OpenAI-compatible"
                    f" endpoint, e.g. {name}={example} (see docs/llm.md)",
                    key="llm.not_configured",
                    name=name,
                )
            values[name] = value
        if env.get(ENV_CACHE) and "cache_path" not in kwargs:
            kwargs["cache_path"] = Path(env[ENV_CACHE])
        return cls(values[ENV_URL], values[ENV_MODEL], env.get(ENV_KEY) or None, **kwargs)

    # -- Detector protocol ---------------------------------------------------------------
    def predict_proba(self, texts: Sequence[str], contexts: Sequence[str | None]) -> np.ndarray:
        """``(n, L)`` probabilities; see :meth:`detect`."""
        return self._matrix(self._answers(texts, contexts))

    def detect(self, texts: Sequence[str], contexts: Sequence[str | None]) -> Detections:
        """Probabilities, thresholds and evidence spans of a batch.

        Each fired label's evidence is the located quotes, or the whole text
        when the model quoted nothing that could be found in it.
        """
        answers = self._answers(texts, contexts)
        det = Detections(self.labels, self._matrix(answers), self.thresholds.copy())
        fired = det.fired
        det.evidence = [
            {
                label: list(answer.spans.get(label) or [(0, len(text))])
                for label, on in zip(self.labels, fired[i], strict=True)
                if on
            }
            for i, (text, answer) in enumerate(zip(texts, answers, strict=True))
        ]
        det.stage = [NAME] * len(texts)
        return det

    # -- scoring -------------------------------------------------------------------------
    def _matrix(self, answers: Sequence[_Answer]) -> np.ndarray:
        scores = np.zeros((len(answers), len(self.labels)), dtype=np.float32)
        for i, answer in enumerate(answers):
            for j, label in enumerate(self.labels):
                scores[i, j] = answer.scores.get(label, 0.0)
        return np.clip(scores, 0.0, 1.0)

    def _key(self, text: str, context: str | None) -> str:
        blob = json.dumps([self.model, prompt_version(), text, context], ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def _answers(self, texts: Sequence[str], contexts: Sequence[str | None]) -> list[_Answer]:
        if len(texts) != len(contexts):
            raise ValueError(f"{len(texts)} texts but {len(contexts)} contexts")
        self._load_cache()
        answers: list[_Answer | None] = [None] * len(texts)
        keys: list[str] = [""] * len(texts)
        todo: dict[str, _Pending] = {}
        for i, (text, context) in enumerate(zip(texts, contexts, strict=True)):
            self.usage.messages += 1
            if not text.strip():
                # Nothing to judge; asking would cost a request and invite invention.
                answers[i] = _NO_ANSWER
                self.usage.empty += 1
                continue
            keys[i] = key = self._key(text, context or None)
            if key in self._cache or key in todo:
                self.usage.cache_hits += 1
            else:
                todo[key] = _Pending(key, text, context or None)
        pending = list(todo.values())
        failed = 0
        for start in range(0, len(pending), self.batch_size):
            chunk = pending[start : start + self.batch_size]
            got = self._ask(chunk)
            self.usage.sent += len(chunk)
            fresh = [(p.key, a) for p, a in zip(chunk, got, strict=True) if a is not None]
            failed += len(chunk) - len(fresh)
            self._remember(fresh)
        if failed:
            _log.warning(
                "%s: %d message(s) got no usable answer after asking again; scored 0, not cached",
                NAME,
                failed,
            )
        unanswered = np.zeros(len(texts), dtype=bool)
        out: list[_Answer] = []
        for i, answer in enumerate(answers):
            if answer is None:
                answer = self._cache.get(keys[i])
                if answer is None:
                    unanswered[i] = True
                    answer = _NO_ANSWER
            out.append(answer)
        self.unanswered_ = unanswered
        return out

    def _ask(self, chunk: Sequence[_Pending]) -> list[_Answer | None]:
        """Answers for one batch; items a reply lacks are asked again, alone, once."""
        parsed = self._ask_once(chunk)
        out: list[_Answer | None] = [
            self._answer(p.text, parsed[j]) if j in parsed else None for j, p in enumerate(chunk)
        ]
        for j, p in enumerate(chunk):
            if out[j] is None:
                # Alone, the message gets the model's whole attention and a
                # short reply that a token limit cannot cut off.
                self.usage.reasks += 1
                again = self._ask_once([p])
                if 0 in again:
                    out[j] = self._answer(p.text, again[0])
                else:
                    self.usage.failed_items += 1
        return out

    def _ask_once(self, chunk: Sequence[_Pending]) -> dict[int, ParsedItem]:
        messages = [
            {"role": "system", "content": system_prompt()},
            {"role": "user", "content": user_prompt([(p.text, p.context) for p in chunk])},
        ]
        parsed = parse_reply(self._chat(messages), len(chunk), self.labels)
        if len(parsed) < len(chunk):
            self.usage.bad_replies += 1
        return parsed

    @staticmethod
    def _answer(text: str, item: ParsedItem) -> _Answer:
        scores = {label: p for label, p in item.scores.items() if p > 0.0}
        return _Answer(scores, locate_quotes(text, item.quotes))

    # -- transport -----------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        """The URL posted to: ``{base_url}/chat/completions``."""
        root = self.base_url.strip().rstrip("/")
        if root.endswith("/chat/completions"):
            return root
        return root + "/chat/completions"

    def _chat(self, messages: list[dict[str, str]]) -> str:
        """The reply's content; retries transient failures with backoff."""
        attempt = 0
        while True:
            body: dict[str, Any] = {
                "model": self.model,
                "messages": messages,
                "temperature": self.temperature,
            }
            if self.json_mode_:
                body["response_format"] = {"type": "json_object"}
            try:
                reply = self._post(body)
            except _Retryable as exc:
                if attempt >= self.max_retries:
                    raise LLMError(
                        f"{self.endpoint} failed {attempt + 1} times ({exc.reason});"
                        " the batches answered so far are cached, run again to resume",
                        key="llm.unreachable",
                        url=self.endpoint,
                        tries=attempt + 1,
                        reason=exc.reason,
                    ) from None
                delay = self._backoff(attempt, exc.retry_after)
                self.usage.retries += 1
                self.usage.backoff_seconds += delay
                self.sleep(delay)
                attempt += 1
                continue
            except _BadRequest as exc:
                if self.json_mode_:
                    # Some servers (older vLLM, some gateways) reject
                    # response_format; the prompt asks for JSON anyway.
                    _log.info("%s: server rejected response_format, sending without it", NAME)
                    self.json_mode_ = False
                    continue
                raise LLMError(
                    f"{self.endpoint} rejected the request (HTTP 400): {exc}",
                    key="llm.bad_request",
                    url=self.endpoint,
                    detail=str(exc),
                ) from None
            usage = reply.get("usage") if isinstance(reply, dict) else None
            if isinstance(usage, dict):
                self.usage.prompt_tokens += _int(usage.get("prompt_tokens"))
                self.usage.completion_tokens += _int(usage.get("completion_tokens"))
            return _content(reply)

    def complete(self, messages: list[dict[str, str]]) -> str:
        """One chat completion as plain text (no JSON mode), with the same
        retries, backoff and usage accounting as scoring.  Used to polish
        thank-you drafts."""
        json_mode, self.json_mode_ = self.json_mode_, False
        try:
            return self._chat(messages)
        finally:
            self.json_mode_ = json_mode

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2.0**attempt)
        delay = ceiling / 2 + self._rng.uniform(0, ceiling / 2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, RETRY_AFTER_CAP_S))
        return delay

    def _open(self) -> urllib.request.OpenerDirector:
        if self._opener is None:
            handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
            if _is_loopback(urllib.parse.urlsplit(self.endpoint).hostname or ""):
                # A local server is never behind the HTTP(S)_PROXY meant for the internet.
                handlers.append(urllib.request.ProxyHandler({}))
            self._opener = urllib.request.build_opener(*handlers)
        return self._opener

    def _post(self, body: dict[str, Any]) -> Any:
        """One HTTP request; the decoded JSON response (``{}`` if it is not JSON)."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(
            self.endpoint,
            data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
            headers=headers,
            method="POST",
        )
        self.usage.requests += 1
        started = time.perf_counter()
        try:
            with self._open().open(request, timeout=self.timeout) as response:
                raw = response.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            status, detail, retry_after = exc.code, _error_detail(exc), _retry_after(exc.headers)
            exc.close()
            self._raise_for(status, detail, retry_after)
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, ssl.SSLError):
                raise LLMError(
                    f"TLS failed for {self.endpoint}: {exc.reason}",
                    key="llm.tls",
                    url=self.endpoint,
                ) from None
            raise _Retryable(f"connection failed: {exc.reason}") from None
        except (TimeoutError, ConnectionError, http.client.HTTPException, OSError) as exc:
            raise _Retryable(f"{type(exc).__name__}: {exc}") from None
        finally:
            self.usage.seconds += time.perf_counter() - started
        if len(raw) > MAX_RESPONSE_BYTES:
            return {}
        try:
            return json.loads(raw.decode("utf-8", "replace"))
        except ValueError:
            return {}  # an HTML error page with status 200: a bad reply, asked again

    def _raise_for(self, status: int, detail: str, retry_after: float | None) -> NoReturn:
        if status in (401, 403):
            raise LLMError(
                f"{self.endpoint} refused the API key (HTTP {status}): check {ENV_KEY}",
                key="llm.auth",
                url=self.endpoint,
                status=status,
            )
        if status == 400:
            raise _BadRequest(detail)
        if status in RETRY_STATUSES or status >= 500:
            raise _Retryable(f"HTTP {status}", retry_after)
        if status == 404:
            raise LLMError(
                f"{self.endpoint} answered 404: check that {ENV_URL} ends with the API root"
                f" (often /v1) and that the model {self.model!r} exists. {detail}",
                key="llm.not_found",
                url=self.endpoint,
                model=self.model,
            )
        if 300 <= status < 400:
            raise LLMError(
                f"{self.endpoint} redirects (HTTP {status}); set {ENV_URL} to the final URL",
                key="llm.redirect",
                url=self.endpoint,
            )
        raise LLMError(
            f"{self.endpoint} answered HTTP {status}: {detail}",
            key="llm.http",
            url=self.endpoint,
            status=status,
        )

    # -- cache ---------------------------------------------------------------------------
    def _load_cache(self) -> None:
        """Read ``cache_path`` once, at first use (construction does no I/O)."""
        if self._cache_loaded:
            return
        self._cache_loaded = True
        if self.cache_path is None or not self.cache_path.exists():
            return
        with self.cache_path.open(encoding="utf-8") as fh:
            for line in fh:
                try:
                    entry = json.loads(line)
                    scores = {str(k): float(v) for k, v in entry["scores"].items()}
                    spans = {
                        str(k): [(int(s), int(e)) for s, e in v] for k, v in entry["spans"].items()
                    }
                    self._cache[str(entry["key"])] = _Answer(scores, spans)
                except (ValueError, KeyError, TypeError, AttributeError):
                    continue  # a line cut short by a crash: that message is asked again

    def _remember(self, fresh: Sequence[tuple[str, _Answer]]) -> None:
        """Cache new answers, appending them to ``cache_path`` batch by batch."""
        with self._lock:
            for key, answer in fresh:
                self._cache[key] = answer
            if self.cache_path is None or not fresh:
                return
            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            with self.cache_path.open("a", encoding="utf-8") as fh:
                for key, answer in fresh:
                    entry = {
                        "key": key,
                        "scores": dict(answer.scores),
                        "spans": {k: [list(s) for s in v] for k, v in answer.spans.items()},
                    }
                    fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
