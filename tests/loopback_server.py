"""A scripted HTTP/1.1 keep-alive server on loopback, for the transport tests.

Every answer has a ``Content-Length``, each connection is served by a daemon
thread, and nothing is logged. A test scripts the answers it wants (status,
headers, body, a delay, dropping or resetting the connection, cutting the
body short) and reads back the request log, which records the method, path,
headers, body and client address of every request, so connection reuse can
be asserted from the client port.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import socketserver
import ssl
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclasses.dataclass(frozen=True)
class Reply:
    """One scripted answer of the test server."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] | Sequence[tuple[str, str]] = ()
    delay: float = 0.0
    drop: bool = False
    """Read the request, then close the connection without answering."""
    truncate: bool = False
    """Send the headers and half the body, then close the connection."""
    reset: bool = False
    """Read the request, then reset the connection (RST) without answering."""

    def header_items(self) -> list[tuple[str, str]]:
        if isinstance(self.headers, Mapping):
            return list(self.headers.items())
        return list(self.headers)


@dataclasses.dataclass(frozen=True)
class Logged:
    """One request as the test server received it."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    client: tuple[str, int]
    at: float

    def header_values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def header(self, name: str) -> str | None:
        values = self.header_values(name)
        return values[0] if values else None


Responder = Reply | Callable[[Logged], Reply]


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], owner: LoopbackServer) -> None:
        self.owner = owner
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup; skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out and hang up make the handler fail; stay quiet.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 5.0  # idle keep-alive connections are closed after this
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's
        # algorithm and delayed ACKs add ~40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.owner._opened(self.connection, self.client_address)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner._closed(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        reply = owner._record(
            Logged(
                method=self.command,
                path=self.path,
                headers=tuple(self.headers.items()),
                body=body,
                client=(str(self.client_address[0]), int(self.client_address[1])),
                at=time.monotonic(),
            )
        )
        if reply.delay and owner._stopping.wait(reply.delay):
            self.close_connection = True
            return
        if reply.drop:
            self.close_connection = True
            return
        if reply.reset:
            # SO_LINGER with a zero timeout: close() sends RST, not FIN.
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
            self.connection.close()
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in reply.header_items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if reply.truncate:
            self.wfile.write(reply.body[: len(reply.body) // 2])
            self.close_connection = True
            return
        self.wfile.write(reply.body)

    do_GET = do_HEAD = do_POST = do_PUT = _serve  # noqa: N815
    do_PATCH = do_DELETE = do_OPTIONS = _serve  # noqa: N815


class LoopbackServer:
    """A scripted HTTP/1.1 keep-alive server on a loopback address."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._script: deque[Responder] = deque()
        self._stopping = threading.Event()
        self._open: set[socket.socket] = set()
        self.default: Responder = Reply(200, b"ok")
        self.requests: list[Logged] = []
        self.connections: list[tuple[str, int]] = []
        self.max_open = 0
        self._httpd = _HTTPServer((host, 0), self)
        if ssl_context is not None:
            self._httpd.socket = ssl_context.wrap_socket(
                self._httpd.socket, server_side=True
            )
        self.host = host
        self.port = int(self._httpd.server_address[1])
        self.scheme = "https" if ssl_context is not None else "http"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"loopback-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def url(self, path: str = "/", *, host: str | None = None) -> str:
        return f"{self.scheme}://{host or self.host}:{self.port}{path}"

    def script(self, *replies: Responder) -> None:
        with self._lock:
            self._script.extend(replies)

    @property
    def open_count(self) -> int:
        with self._lock:
            return len(self._open)

    @property
    def client_ports(self) -> list[int]:
        return [entry.client[1] for entry in self.requests]

    def wait_open_count(self, count: int, timeout: float = 3.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.open_count == count:
                return True
            time.sleep(0.01)
        return self.open_count == count

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        with self._lock:
            conns = list(self._open)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()
        self._thread.join(5)

    def _record(self, entry: Logged) -> Reply:
        with self._lock:
            self.requests.append(entry)
            responder = self._script.popleft() if self._script else self.default
        return responder(entry) if callable(responder) else responder

    def _opened(self, conn: socket.socket, client: tuple[str, int]) -> None:
        with self._lock:
            self._open.add(conn)
            self.connections.append(client)
            self.max_open = max(self.max_open, len(self._open))

    def _closed(self, conn: socket.socket) -> None:
        with self._lock:
            self._open.discard(conn)
