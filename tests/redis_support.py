"""A real redis-server on loopback, for the tests of the shared cache.

Debian's ``redis-server`` runs on a free port with no persistence, until the
test (or module) stops it; :meth:`RedisServer.kill` and
:meth:`RedisServer.start` make an outage and its end on the same port. No
fake Redis. Where redis-server is missing, :func:`need_redis_server` is the
one place that decides what happens to those tests.

A test module makes its fixtures from :func:`serve` and :func:`emptied`::

    @pytest.fixture(scope="module")
    def redis_server():
        yield from serve()
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator

from system_programs import require_binary

INSTALL = "sudo apt-get install -y redis-server"


def need_redis_server() -> str:
    """Return the path of redis-server, or skip (fail under CI) saying how to install it."""
    return require_binary("redis-server", INSTALL)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """A redis-server process on 127.0.0.1 without persistence."""

    def __init__(self) -> None:
        self.binary = need_redis_server()
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        command = [
            self.binary,
            *("--port", str(self.port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--daemonize", "no"),
            *("--loglevel", "warning", "--dir", "/tmp"),
        ]
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.02)
        self.kill()
        raise AssertionError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        """Stop the server at once (SIGKILL), as a crash would."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None

    def client(self):  # -> redis.Redis
        import redis

        return redis.Redis.from_url(self.url)

    def dump(self) -> list[tuple[bytes, bytes]]:
        """Every key and its value (strings as stored; others by type)."""
        client = self.client()
        entries = []
        for key in client.scan_iter(count=1000):
            kind = client.type(key)
            value = client.get(key) if kind == b"string" else kind
            entries.append((key, value or b""))
        client.close()
        return entries


def serve() -> Iterator[RedisServer]:
    """Run a redis-server for as long as the fixture that yields from it."""
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.kill()


def emptied(server: RedisServer) -> str:
    """Empty ``server`` and return its URL, for a test of its own."""
    client = server.client()
    client.flushall()
    client.close()
    return server.url
