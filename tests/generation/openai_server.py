"""A small real OpenAI-compatible server for the HTTP backend's tests (http.server in a thread).

Each request takes the next scripted behavior (status, Retry-After, delay) or answers 200 with
a valid `/v1/chat/completions` or `/v1/completions` body. Every request is recorded (time,
path, headers, JSON body), and the most requests in flight at once is kept.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Behavior:
    status: int = 200
    retry_after: str | None = None
    delay_s: float = 0.0
    echo_auth: bool = False  # put the Authorization header in the error body (a bad server)


@dataclass
class Recorded:
    at: float
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeOpenAI:
    default: Behavior = field(default_factory=Behavior)
    script: deque[Behavior] = field(default_factory=deque)
    requests: list[Recorded] = field(default_factory=list)
    max_in_flight: int = 0
    url: str = ""
    _in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def then(self, *behaviors: Behavior) -> FakeOpenAI:
        self.script.extend(behaviors)
        return self

    def _next(self, recorded: Recorded) -> Behavior:
        with self._lock:
            self.requests.append(recorded)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            return self.script.popleft() if self.script else self.default

    def _done(self) -> None:
        with self._lock:
            self._in_flight -= 1


def _answer(path: str, body: dict[str, Any]) -> dict[str, Any]:
    seed = body.get("seed")
    if path.endswith("/chat/completions"):
        prompt = body["messages"][-1]["content"]
        choice: dict[str, Any] = {
            "index": 0,
            "message": {"role": "assistant", "content": f"reply to {prompt} (seed {seed})"},
            "finish_reason": "stop",
        }
    else:
        prompt = body["prompt"]
        choice = {
            "index": 0,
            "text": f" continues {prompt} (seed {seed})",
            "finish_reason": "length",
        }
    return {
        "id": f"cmpl-{seed}",
        "object": "chat.completion",
        "created": 0,
        "model": f"served/{body.get('model')}",
        "system_fingerprint": "fp_test_1",
        "choices": [choice],
        "usage": {"prompt_tokens": 7, "completion_tokens": 4, "total_tokens": 11},
    }


def _handler(server: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            behavior = server._next(
                Recorded(time.monotonic(), self.path, dict(self.headers.items()), body)
            )
            try:
                time.sleep(behavior.delay_s)
                if behavior.status == 200:
                    payload = _answer(self.path, body)
                else:
                    message = "overloaded"
                    if behavior.echo_auth:
                        message += f" for {self.headers.get('Authorization')}"
                    payload = {"error": {"message": message}}
                raw = json.dumps(payload).encode()
                self.send_response(behavior.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                if behavior.retry_after is not None:
                    self.send_header("Retry-After", behavior.retry_after)
                self.end_headers()
                self.wfile.write(raw)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)
            finally:
                server._done()

    return Handler


@contextmanager
def openai_server() -> Iterator[FakeOpenAI]:
    state = FakeOpenAI()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
