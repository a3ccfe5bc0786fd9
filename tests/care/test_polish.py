"""LLM polish of thank-you drafts against a local OpenAI-compatible stand-in:
kept when the facts survive, refused when the model drops them."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from anchorwatch.care.polish import facts_of, polish, polish_drafts
from anchorwatch.care.thanks import Draft
from anchorwatch.signals.llm import LLMDetector


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(body)  # type: ignore[attr-defined]
        text = body["messages"][-1]["content"]
        mode = self.server.mode  # type: ignore[attr-defined]
        content = "感谢您一直以来的付出！" if mode == "generic" else text.replace("幸亏", "多亏")
        reply = {
            "choices": [{"message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10},
        }
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def standin() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.requests = []  # type: ignore[attr-defined]
    server.mode = "edit"  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


DRAFT = Draft(
    "u1",
    "zh-CN",
    "warm",
    "老王您好！\n6月3日「续航虚标」那场争论，幸亏您出来打圆场，争吵很快平息了。\n谢谢您！",
    ["ep1"],
    ["m1"],
)


def _client(server: ThreadingHTTPServer) -> LLMDetector:
    return LLMDetector(f"http://127.0.0.1:{server.server_port}/v1", "stand-in", max_retries=0)


def test_a_polish_that_keeps_the_facts_is_used(standin: ThreadingHTTPServer) -> None:
    out, used = polish(DRAFT, _client(standin))
    assert used and "多亏" in out.text and "「续航虚标」" in out.text
    assert out.episodes == DRAFT.episodes
    body = standin.requests[0]  # type: ignore[attr-defined]
    assert "response_format" not in body and body["messages"][0]["role"] == "system"


def test_a_polish_that_drops_the_facts_is_refused(standin: ThreadingHTTPServer) -> None:
    standin.mode = "generic"  # type: ignore[attr-defined]
    out, used = polish(DRAFT, _client(standin))
    assert not used and out == DRAFT
    assert polish_drafts([DRAFT], _client(standin)) == [DRAFT]


def test_facts() -> None:
    assert facts_of(DRAFT) == ["续航虚标"]
