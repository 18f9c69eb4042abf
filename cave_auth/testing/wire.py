"""The fake server's HTTP wire: sockets in, bytes out.

This module does the I/O of :class:`~cave_auth.testing.FakeAuthServer`, and
knows nothing of routes or data. ``LoopbackHTTPServer`` is a
``ThreadingHTTPServer`` speaking HTTP/1.1 with keep-alive: always a
``Content-Length``, one ``write`` per response, ``TCP_NODELAY``, daemon
threads, a 5 s idle timeout per connection, a TLS handshake (when the socket
is wrapped) on the connection's own thread, and ``close_connections`` to
shut every open connection down so that stopping returns at once.

For each request the handler reads the body (``Content-Length`` or chunked),
then asks its owner twice, through the two callables the server was built
with: ``admit`` logs the request and decides its fate (an ``Admission``: a
delay, a dropped connection or a canned failure), and ``answer`` runs the
application on the parsed ``AppRequest``.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

from .messages import AppRequest, AppResponse, RecordedRequest, http_date, reason

__all__ = ["Admission", "LoopbackHTTPServer"]


@dataclass(frozen=True)
class Admission:
    """What to do with a request before the application sees it.

    Attributes:
        delay: Seconds to wait first (slept outside any lock).
        drop: Close the connection without any response.
        failure: A response to send instead of the application's.
    """

    delay: float = 0.0
    drop: bool = False
    failure: AppResponse | None = None


class LoopbackHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that can close its idle keep-alive connections.

    Args:
        address: ``(host, port)`` to bind; port 0 picks a free one.
        scheme: ``"http"`` or ``"https"``, for the request URLs views see.
        admit: Logs a request and returns its ``Admission``.
        answer: Runs the application.
    """

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        *,
        scheme: str,
        admit: Callable[[RecordedRequest], Admission],
        answer: Callable[[AppRequest], AppResponse],
    ) -> None:
        self.scheme = scheme
        self.admit = admit
        self.answer = answer
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    @property
    def netloc(self) -> str:
        """``host:port`` the server listens on."""
        host, port = self.server_address[:2]
        return f"{host!s}:{port}"

    def server_bind(self) -> None:
        """Bind without the reverse DNS lookup of ``HTTPServer.server_bind``."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Remember the connection, then serve it on a thread.

        Args:
            request: The accepted socket.
            client_address: The peer's address.
        """
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        """Forget the connection, then close it.

        Args:
            request: The socket.
        """
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet about clients that vanish mid-request.

        Args:
            request: The socket.
            client_address: The peer's address.
        """

    def close_connections(self) -> None:
        """Shut down every open connection so that its thread ends now."""
        with self._connections_lock:
            connections = list(self._connections)
        for sock in connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    """Reads a request, lets the owner answer it, writes the response."""

    protocol_version = "HTTP/1.1"
    timeout = 5

    def setup(self) -> None:
        """Turn Nagle off (one write per response); finish a TLS handshake here.

        With TLS the handshake runs on this connection's thread, under the idle
        timeout, rather than in the accept loop.
        """
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        do_handshake = getattr(self.connection, "do_handshake", None)
        if do_handshake is not None:
            do_handshake()

    def log_message(self, format: str, *args: Any) -> None:
        """Do not log requests to stderr."""

    def do_GET(self) -> None:
        """Serve GET."""
        self._serve()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET  # noqa: N815

    def _read_body(self) -> bytes:
        """The request body (``Content-Length`` or chunked)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        """Handle one parsed request line and headers."""
        server = cast(LoopbackHTTPServer, self.server)
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        path, _, query = self.path.partition("?")
        record = RecordedRequest(
            method=self.command,
            path=path,
            query=query,
            headers=dict(self.headers.items()),
            body=body,
        )
        admission = server.admit(record)
        if admission.delay > 0:
            time.sleep(admission.delay)
        if admission.drop:
            self.close_connection = True
            return
        response = admission.failure
        if response is None:
            headers: dict[str, str] = {}
            for name, value in self.headers.items():
                headers.setdefault(name.lower(), value.strip())
            host = headers.get("host") or server.netloc
            request = AppRequest(
                method=self.command,
                path=path,
                query=query,
                headers=headers,
                body=body,
                url=f"{server.scheme}://{host}{self.path}",
            )
            response = server.answer(request)
        self._send(response)

    def _send(self, response: AppResponse) -> None:
        """Write status line, headers and body in a single write."""
        status = response.status
        length = 0 if status in (204, 304) else len(response.body)
        body = response.body if length and self.command != "HEAD" else b""
        lines = [
            f"{self.protocol_version} {status} {reason(status)}",
            "Server: cave-auth-fakeserver",
            f"Date: {http_date(datetime.now(UTC))}",
            f"Content-Type: {response.content_type}",
            f"Content-Length: {length}",
        ]
        lines += [f"{name}: {value}" for name, value in response.headers]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        self.wfile.write(head + body)
