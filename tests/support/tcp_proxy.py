"""A TCP proxy on 127.0.0.1 that a test can partition: ``cut()`` blackholes every byte both ways.

Put it between a process and a server (a Celery worker and Redis) to make a network partition with
both ends alive: while cut, the proxy keeps the connections open and accepts new ones but forwards
nothing, so clients see timeouts, not resets, as behind a dead switch. ``heal()`` forwards again.
"""

from __future__ import annotations

import logging
import selectors
import socket
import threading
from types import TracebackType

logger = logging.getLogger(__name__)


class TcpProxy:
    """Forwards ``127.0.0.1:<port>`` to ``upstream`` from a background thread until closed."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._cut = threading.Event()
        self._closed = threading.Event()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ, None)
        self._peers: dict[socket.socket, socket.socket] = {}
        self._thread = threading.Thread(target=self._loop, name="tcp-proxy", daemon=True)
        self.connections = 0

    def cut(self) -> None:
        """From now on, forward nothing (bytes arriving either way are read and dropped)."""
        self._cut.set()

    def heal(self) -> None:
        self._cut.clear()

    def _accept(self) -> None:
        client, _ = self._listener.accept()
        try:
            server = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            client.close()
            return
        self.connections += 1
        server.settimeout(None)
        self._peers[client], self._peers[server] = server, client
        self._selector.register(client, selectors.EVENT_READ, None)
        self._selector.register(server, selectors.EVENT_READ, None)

    def _drop(self, sock: socket.socket) -> None:
        for one in (sock, self._peers.get(sock)):
            if one is not None and one in self._peers:
                self._selector.unregister(one)
                self._peers.pop(one)
                one.close()

    def _loop(self) -> None:
        while not self._closed.is_set():
            for key, _ in self._selector.select(timeout=0.1):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock is self._listener:
                    self._accept()
                    continue
                if sock not in self._peers:
                    continue
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    self._drop(sock)
                elif not self._cut.is_set():
                    try:
                        self._peers[sock].sendall(data)
                    except OSError:
                        self._drop(sock)

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._closed.set()
        self._thread.join(timeout=5)
        for sock in list(self._peers):
            sock.close()
        self._listener.close()
        self._selector.close()
