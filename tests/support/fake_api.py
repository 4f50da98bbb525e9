"""A local fake of the OpenAI and Anthropic HTTP APIs that the official SDKs can talk to.

Point a client at it with ``base_url`` (``server.openai_base_url`` / ``server.anthropic_base_url``) or
the ``OPENAI_BASE_URL`` / ``ANTHROPIC_BASE_URL`` variables. Each request takes the next mode from a
script (``push("429", "ok")``; ``ok`` once the script is empty), or, with ``fault_rate`` > 0, a
seeded random transient fault. Every request is recorded in ``calls``; ``paid_calls`` counts the
200 responses. Modes: ok, 429 (retry-after 0.1 s), 500, 529, 401, 400, 413, quota, slow (answers
after ``slow_seconds``), reset (closes the socket without answering), invalid_json,
schema_violation, not_verbatim, stall (waits ``slow_seconds`` before taking the request, like a
vendor's queue: a client that hangs up meanwhile pays nothing, else ``ok``; ``stalled`` counts them). With ``context_window``, an analysis request whose content and
reserved output (``tokens``, recorded per call) exceed it gets the vendor's 400, as the real APIs do.
Like a real account, ``latency`` makes every answer take that long, and ``rpm`` allows that many
requests per rolling minute, answering ``429`` with a ``retry-after`` (seconds until a request leaves
the window) beyond it; ``in_flight``/``max_in_flight`` count the requests being answered at once.

Standalone, for end-to-end tests with the daemon in another process::

    python -m tests.support.fake_api --port 8765 --fault-rate 0.3 --seed 1 --log calls.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import signal
import socket
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.support import fake_api_bodies as bodies

logger = logging.getLogger(__name__)
TRANSIENT_FAULTS = ("429", "500", "reset")


def _parse_multipart(content_type: str, raw: bytes) -> dict[str, Any]:
    """Form fields of a multipart body; the file part is summarised (name, size), not kept."""
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        if part.get_filename():
            fields[name] = {
                "filename": part.get_filename(),
                "size": len(data),
                "content_type": part.get_content_type(),
            }
        else:
            fields[name] = data.decode()
    return fields


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        logger.debug(format, *args)

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        fake = self.server.fake
        with fake._lock:
            fake.in_flight += 1
            fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
        try:
            self._post()
        finally:
            with fake._lock:
                fake.in_flight -= 1

    def _post(self) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        path = self.path.split("?", 1)[0]
        content_type = self.headers.get("content-type", "")
        try:
            request = (
                _parse_multipart(content_type, raw)
                if "multipart" in content_type
                else json.loads(raw or b"{}")
            )
        except ValueError:
            request = {}
        fake = self.server.fake
        mode = fake.next_mode(path)
        retry_after = fake.over_rate() if mode == "ok" else None
        if retry_after is not None:
            mode = "rate_limited"
        if mode == "stall":
            if not self._client_waits(fake):
                fake.record(
                    {
                        "path": path,
                        "mode": mode,
                        "status": None,
                        "paid": False,
                        "at": time.time(),
                        "tokens": None,
                        "request": request,
                    }
                )
                self.close_connection = True
                return
            mode = "ok"
        key = self.headers.get("x-api-key") or self.headers.get("authorization", "").removeprefix("Bearer ")
        tokens = bodies.request_tokens(request) if path in (bodies.CHAT, bodies.MESSAGES) else None
        if retry_after is not None:
            status, headers, body = bodies.error_response("429", path, key)
            headers = {"retry-after": f"{retry_after:.2f}"}
        elif tokens is not None and fake.context_window is not None and tokens > fake.context_window:
            status, headers, body = bodies.context_exceeded(path, tokens, fake.context_window)
        else:
            status, headers, body = self._respond_to(path, mode, request, key, len(raw))
        answered = mode != "reset"  # a reset connection never gets a response: nothing was paid for
        fake.record(
            {
                "path": path,
                "mode": mode,
                "status": status if answered else None,
                "paid": answered and status == 200,
                "at": time.time(),
                "retry_after": retry_after,
                "tokens": tokens,
                "request": request,
            }
        )
        if mode == "reset":
            # SO_LINGER 0: closing sends RST, the client sees the connection die without a response.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        if mode == "slow":
            time.sleep(fake.slow_seconds)
        elif status == 200 and fake.latency:
            time.sleep(fake.latency)
        payload = json.dumps(body).encode()
        try:
            self.send_response(status)
            for name, value in {**headers, "content-type": "application/json"}.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:  # the client gave up (slow mode): nothing to answer
            self.close_connection = True

    def _client_waits(self, fake: FakeAPI) -> bool:
        """Wait ``slow_seconds``; False as soon as the client closes its connection."""
        with fake._lock:
            fake.stalled += 1
        deadline = time.monotonic() + fake.slow_seconds
        self.connection.settimeout(0.1)
        try:
            while time.monotonic() < deadline:
                try:
                    if self.connection.recv(1, socket.MSG_PEEK) == b"":
                        return False
                    time.sleep(0.1)  # pipelined bytes: still there
                except TimeoutError:
                    continue
                except OSError:
                    return False
            return True
        finally:
            self.connection.settimeout(None)

    def _respond_to(
        self, path: str, mode: str, request: Any, key: str, size: int
    ) -> tuple[int, dict[str, str], Any]:
        if path not in (bodies.TRANSCRIBE, bodies.CHAT, bodies.MESSAGES):
            return 404, {}, {"error": {"message": f"unknown path {path}", "type": "invalid_request_error"}}
        if mode in bodies.ERRORS or mode == "quota":
            return bodies.error_response(mode, path, key)
        if path == bodies.TRANSCRIBE:
            file_size = request.get("file", {}).get("size", 0) if isinstance(request, dict) else 0
            return 200, {}, bodies.transcription(self.server.fake.next_text(), file_size)
        if path == bodies.CHAT:
            return 200, {}, bodies.chat_completion(request, mode, size)
        return 200, {}, bodies.message(request, mode, size)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a slow-mode handler must not hold up shutdown
    fake: FakeAPI


class FakeAPI:
    """The fake API on ``127.0.0.1``; a context manager that serves from a background thread."""

    def __init__(
        self,
        *,
        port: int = 0,
        fault_rate: float = 0.0,
        seed: int = 0,
        slow_seconds: float = 1.0,
        stt_text: Callable[[int], str] = lambda n: f"part {n}",
        log_path: Path | None = None,
        context_window: int | None = None,
        latency: float = 0.0,
        rpm: int | None = None,
        window: float = 60.0,
    ) -> None:
        self.window = window
        self.latency = latency
        self.rpm = rpm
        self.in_flight = 0
        self.max_in_flight = 0
        self._window: deque[float] = deque()  # arrival times of the requests let through this minute
        self.calls: list[dict[str, Any]] = []
        self.stalled = 0
        self.context_window = context_window
        self.fault_rate = fault_rate
        self.slow_seconds = slow_seconds
        self._stt_text = stt_text
        self._stt_count = 0
        self._script: deque[str] = deque()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._log_path = log_path
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.fake = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.url

    @property
    def paid_calls(self) -> int:
        with self._lock:
            return sum(1 for call in self.calls if call["paid"])

    def push(self, *modes: str) -> FakeAPI:
        """Queue the modes of the next requests, in order."""
        with self._lock:
            self._script.extend(modes)
        return self

    def clear(self) -> FakeAPI:
        """Drop the modes still queued: the next requests answer ``ok`` (the outage is over)."""
        with self._lock:
            self._script.clear()
        return self

    def next_mode(self, path: str) -> str:
        with self._lock:
            if self._script:
                return self._script.popleft()
            if self.fault_rate and self._rng.random() < self.fault_rate:
                faults = (*TRANSIENT_FAULTS, "529") if path == bodies.MESSAGES else TRANSIENT_FAULTS
                return self._rng.choice(faults)
            return "ok"

    def over_rate(self) -> float | None:
        """Seconds until a request would fit in the rolling minute, or None (it fits and is counted)."""
        if self.rpm is None:
            return None
        now = time.monotonic()
        with self._lock:
            while self._window and self._window[0] <= now - self.window:
                self._window.popleft()
            if len(self._window) >= self.rpm:
                return max(0.01, self._window[0] + self.window - now)
            self._window.append(now)
            return None

    @property
    def rate_limited(self) -> int:
        with self._lock:
            return sum(1 for call in self.calls if call["mode"] == "rate_limited")

    def next_text(self) -> str:
        with self._lock:
            self._stt_count += 1
            return self._stt_text(self._stt_count)

    def record(self, call: dict[str, Any]) -> None:
        with self._lock:
            self.calls.append(call)
            if self._log_path is not None:
                summary = [{k: v for k, v in c.items() if k != "request"} for c in self.calls]
                tmp = self._log_path.with_suffix(".tmp")
                tmp.write_text(json.dumps({"calls": summary}))
                os.replace(tmp, self._log_path)  # atomic: a reader never sees half a file

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.05)

    def __enter__(self) -> FakeAPI:
        self._thread = threading.Thread(target=self.serve_forever, name="fake-api", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--slow-seconds", type=float, default=1.0)
    parser.add_argument("--log", type=Path, default=None, help="JSON file rewritten after every request")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds every answer takes")
    parser.add_argument("--rpm", type=int, default=None, help="requests allowed per rolling minute")
    parser.add_argument("--context-window", type=int, default=None, help="tokens an analysis request may use")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s fake_api %(message)s")
    fake = FakeAPI(
        port=args.port,
        fault_rate=args.fault_rate,
        seed=args.seed,
        slow_seconds=args.slow_seconds,
        log_path=args.log,
        context_window=args.context_window,
        latency=args.latency,
        rpm=args.rpm,
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    logger.info("serving on %s (fault rate %.2f)", fake.url, args.fault_rate)
    try:
        fake.serve_forever()
    finally:
        fake._server.server_close()


if __name__ == "__main__":
    main()
