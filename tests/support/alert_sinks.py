"""Local alert sinks for the tests: an HTTP server that records webhook posts, an SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class WebhookSink:
    url: str
    posts: list[dict[str, Any]] = field(default_factory=list)
    fail_next: int = 0  # answer this many posts with HTTP 503 first

    @property
    def texts(self) -> list[str]:
        return [p["text"] for p in self.posts]


@contextmanager
def webhook_sink() -> Iterator[WebhookSink]:
    """An HTTP server on 127.0.0.1 that records each JSON body POSTed to /hook."""
    sink = WebhookSink(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if sink.fail_next > 0:
                sink.fail_next -= 1
                self.send_response(503)
            else:
                sink.posts.append(json.loads(body))
                self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    sink.url = f"http://127.0.0.1:{server.server_address[1]}/hook/T000-secret-token"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class SmtpSink:
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)  # each message as it came over the wire

    def bodies(self) -> list[str]:
        return [str(m.get_content()).replace("\r\n", "\n") for m in self.messages]


@contextmanager
def smtp_sink(auth: tuple[str, str] | None = None) -> Iterator[SmtpSink]:
    """An aiosmtpd server on 127.0.0.1 that records each message (optionally requiring AUTH)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    sink = SmtpSink(port=0)

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            sink.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
            sink.raw.append(envelope.original_content)
            sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            return "250 OK"

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and auth is not None
        ok = ok and (data.login.decode(), data.password.decode()) == auth
        return AuthResult(success=ok, handled=False)

    extra: dict[str, Any] = (
        {"authenticator": authenticator, "auth_require_tls": False, "auth_required": True} if auth else {}
    )
    with socket.socket() as probe:  # aiosmtpd's start() connects to its port: it needs a real one
        probe.bind(("127.0.0.1", 0))
        sink.port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=sink.port, **extra)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
