"""A stand-in for an OpenAI-compatible chat endpoint, for the ``llm.v1`` tests.

A real HTTP server (``http.server.ThreadingHTTPServer`` in a thread) on
127.0.0.1 and an ephemeral port, answering ``POST /v1/chat/completions`` in the
OpenAI format.  There is no model: a label scores :data:`HIT` when one of its
keywords (:data:`KEYWORDS`) is in the normalised message (so traditional
characters read like simplified, as they do for a real LLM) and :data:`MISS`
otherwise, and the keyword is quoted as evidence.  Everything else is scripted:

* ``standin.script``: what the next requests get, one word each, then ``ok``:
  ``ok``, ``429`` (with ``Retry-After`` when ``retry_after`` is set), ``500``,
  ``503``, ``401``, ``403``, ``404``, ``drop`` (close without answering),
  ``slow`` (answer after ``slow_seconds``), ``garbage`` (200, prose instead of
  JSON), ``html`` (200, not JSON at all);
* ``styles``: how answers are dressed: ``fence``, ``prose``, ``think``,
  ``trailing_comma``, ``single_quotes``, ``string_scores``, ``percent``,
  ``out_of_range``, ``omit_zero``, ``truncate`` (cut after the first item when
  a request holds several);
* markers in a message's text: ``[[drop]]`` (left out of a reply to several
  messages, answered alone), ``[[never]]`` (never answered), ``[[garbage]]``
  (the whole reply is prose), ``[[invent]]`` (quotes words not in the text);
* ``api_key``: when set, any other ``Authorization`` gets 401;
* ``reject_response_format``: a body with ``response_format`` gets 400.

Loopback only and bounded: bodies over :data:`MAX_BODY` get 413, requests past
``max_requests`` get 503, and a silent client is dropped after 5 s.  Every
request is recorded (body, ``Authorization``, the usage it was billed).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from anchorwatch.signals.labels import LABELS
from anchorwatch.signals.normalize import normalize

HIT, MISS = 0.92, 0.03
MAX_BODY = 1 << 20
PATH = "/v1/chat/completions"

KEYWORDS: dict[str, tuple[str, ...]] = {
    "newcomer_answer": ("很正常", "别担心", "totally normal"),
    "welcome": ("欢迎", "welcome"),
    "deescalate_humor": ("哈哈", "😂"),
    "deescalate_summary": ("两边都有道理", "我理一下"),
    "deescalate_redirect": ("就事论事", "对事不对人"),
    "empathy": ("换作是我", "理解你", "i'd be furious"),
    "guide_details": ("车型", "版本", "which model"),
    "guide_channel": ("工单", "客服", "服务站", "hotline"),
    "newcomer_question": ("请问", "刚提车", "new owner"),
    "complaint": ("黑屏", "气死", "售后一直推"),
    "heated": ("气死", "瞎说"),
    "offensive": ("懂个屁", "韭菜", "idiot"),
    "personal_attack": ("你懂个屁", "you're an idiot"),
    "gratitude": ("感谢", "谢谢", "thanks"),
    "bias_accusation": ("洗地", "收了多少钱", "水军"),
    "fatigue": ("心累", "不想管了", "tired of"),
}
INVENTED = "这句话原文里没有"


def keyword_scores(text: str) -> tuple[dict[str, float], dict[str, list[str]]]:
    """What the stand-in answers for one message: scores and quoted keywords."""
    norm = normalize(text)
    scores: dict[str, float] = {}
    quotes: dict[str, list[str]] = {}
    for label in LABELS:
        hits = [kw for kw in KEYWORDS[label] if kw in norm]
        scores[label] = HIT if hits else MISS
        if hits:
            quotes[label] = [INVENTED] if "[[invent]]" in text else hits
    return scores, quotes


@dataclass
class Seen:
    """One request as the stand-in received it."""

    body: dict[str, Any]
    authorization: str | None
    items: list[dict[str, Any]]
    action: str
    usage: dict[str, int] = field(default_factory=dict)


class Standin:
    """The stand-in server; use as a context manager (see the module docs)."""

    def __init__(
        self,
        *,
        styles: tuple[str, ...] = (),
        api_key: str | None = None,
        reject_response_format: bool = False,
        retry_after: float | None = None,
        slow_seconds: float = 0.5,
        max_requests: int = 500,
    ) -> None:
        self.styles = set(styles)
        self.api_key = api_key
        self.reject_response_format = reject_response_format
        self.retry_after = retry_after
        self.slow_seconds = slow_seconds
        self.max_requests = max_requests
        self.script: deque[str] = deque()
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------
    def __enter__(self) -> Standin:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.standin = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    # -- bookkeeping ------------------------------------------------------------------
    @property
    def answered(self) -> list[Seen]:
        """Requests that got a 200 with an answer."""
        return [s for s in self.seen if s.usage]

    def batch_sizes(self) -> list[int]:
        return [len(s.items) for s in self.seen]

    def _next(self, body: dict[str, Any], authorization: str | None) -> Seen:
        items = _items_of(body)
        with self._lock:
            action = self.script.popleft() if self.script else "ok"
            if len(self.seen) >= self.max_requests:
                action = "503"
            seen = Seen(body, authorization, items, action)
            self.seen.append(seen)
        return seen

    # -- answers ----------------------------------------------------------------------
    def reply_content(self, items: list[dict[str, Any]]) -> str:
        if any("[[garbage]]" in str(it.get("text")) for it in items):
            return "抱歉，我无法完成这个请求。Sorry, I can't help with that."
        results = []
        for it in items:
            text = str(it.get("text") or "")
            if "[[never]]" in text or ("[[drop]]" in text and len(items) > 1):
                continue
            scores, quotes = keyword_scores(text)
            results.append({"i": it["i"], "scores": self._dress(scores), "evidence": quotes})
        if "truncate" in self.styles and len(results) > 1:
            whole = json.dumps({"results": results}, ensure_ascii=False)
            first = json.dumps(results[0], ensure_ascii=False)
            return whole[: whole.index(first) + len(first) + 30]
        return self._render({"results": results})

    def _dress(self, scores: dict[str, float]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for label, p in scores.items():
            if "omit_zero" in self.styles and p < 0.5:
                continue
            if "out_of_range" in self.styles:
                out[label] = 1.7 if p >= 0.5 else -0.3
            elif "percent" in self.styles:
                out[label] = f"{round(p * 100)}%"
            elif "string_scores" in self.styles:
                out[label] = str(p)
            else:
                out[label] = p
        return out

    def _render(self, obj: Any) -> str:
        if "single_quotes" in self.styles:
            text = repr(obj)
        elif "trailing_comma" in self.styles:
            text = _trailing_commas(obj)
        else:
            text = json.dumps(obj, ensure_ascii=False)
        if "fence" in self.styles:
            text = f"```json\n{text}\n```\n以上是打分结果，如有疑问请告诉我。"
        if "prose" in self.styles:
            text = f"好的，结果如下：{text} 希望对你有帮助！"
        if "think" in self.styles:
            text = '<think>先看第一条 {"results": []} 再看下一条</think>\n' + text
        return text


def _trailing_commas(obj: Any) -> str:
    """JSON with a comma after the last member of every container (a common slip)."""
    if isinstance(obj, dict) and obj:
        inner = "".join(f"{json.dumps(k)}: {_trailing_commas(v)}, " for k, v in obj.items())
        return "{" + inner + "}"
    if isinstance(obj, list) and obj:
        return "[" + "".join(f"{_trailing_commas(v)}, " for v in obj) + "]"
    return json.dumps(obj, ensure_ascii=False)


def _items_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The numbered messages: the JSON-array line of the last user message."""
    messages = body.get("messages") or []
    user = next((m for m in reversed(messages) if m.get("role") == "user"), None)
    for line in str((user or {}).get("content", "")).splitlines():
        if line.startswith("["):
            items = json.loads(line)
            return [it for it in items if isinstance(it, dict)]
    return []


class _Handler(BaseHTTPRequestHandler):
    timeout = 5  # a client that stops talking does not hold a thread for ever

    def log_message(self, format: str, *args: Any) -> None:
        return  # keep test output clean

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to answer

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, {"error": {"message": message, "type": "standin"}}, headers)

    def do_POST(self) -> None:
        standin: Standin = self.server.standin  # type: ignore[attr-defined]
        if self.client_address[0] != "127.0.0.1":
            return self._error(403, "loopback only")
        if self.path != PATH:
            return self._error(404, f"no route {self.path}")
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return self._error(413, "body too large")
        try:
            body = json.loads(self.rfile.read(length))
        except ValueError:
            return self._error(400, "body is not JSON")
        seen = standin._next(body, self.headers.get("Authorization"))
        action = seen.action
        if standin.api_key and seen.authorization != f"Bearer {standin.api_key}":
            action = "401"
        if action in ("401", "403", "404", "500", "503"):
            return self._error(int(action), f"scripted {action}")
        if action == "429":
            extra = {"Retry-After": str(standin.retry_after)} if standin.retry_after else {}
            return self._error(429, "rate limited", extra)
        if action == "drop":
            self.close_connection = True
            return None
        if standin.reject_response_format and "response_format" in body:
            seen.action = "400"
            return self._error(400, "response_format is not supported by this server")
        if action == "slow":
            time.sleep(standin.slow_seconds)
        if action == "html":
            return self._send(200, b"<html><body>Bad gateway</body></html>")
        content = (
            "Sorry, I can't help with that."
            if action == "garbage"
            else standin.reply_content(seen.items)
        )
        prompt_chars = sum(len(str(m.get("content", ""))) for m in body.get("messages", []))
        seen.usage = {
            "prompt_tokens": prompt_chars // 2 + 1,
            "completion_tokens": len(content) // 3 + 1,
        }
        seen.usage["total_tokens"] = seen.usage["prompt_tokens"] + seen.usage["completion_tokens"]
        reply = {
            "id": f"chatcmpl-standin-{len(standin.seen)}",
            "object": "chat.completion",
            "model": body.get("model"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": seen.usage,
        }
        return self._send(200, reply)
