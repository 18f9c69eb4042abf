"""``Urllib3Transport`` on bad networks: deadlines, messages, stale connections.

Also answers too large to read. Every server here is on loopback, started by
the test. The deadline, message and size-cap tests run with
``aio.HttpxTransport`` too (``make_either_transport``), which follows the
same rules.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import trustme
from loopback_server import LoopbackServer, Reply

import cave_auth as ca
from cave_auth.transport import Urllib3Transport
from cave_auth.transport.retry import backoff_wait, parse_retry_after

pytestmark = pytest.mark.timeout(60)

TOKEN = "tok-0123456789abcdef0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class SilentServer:
    """Accepts connections and never sends a byte (nor reads one)."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self._listener.accept()
                self.accepted.append(conn)

    def close(self) -> None:
        self._listener.close()
        for conn in self.accepted:
            conn.close()


class StreamingServer:
    """Answers every connection with headers, then zeros until the client leaves.

    ``sent`` counts the body bytes that reached the socket.
    """

    def __init__(self, content_length: int | None = None) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.content_length = content_length
        self.sent = 0
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        conn, _ = self._listener.accept()
        with conn:
            conn.recv(65536)
            length = (
                f"Content-Length: {self.content_length}\r\n"
                if self.content_length is not None
                else ""
            )
            conn.sendall(
                f"HTTP/1.1 200 OK\r\n{length}Connection: close\r\n\r\n".encode()
            )
            chunk = b"\0" * 65536
            with contextlib.suppress(OSError):
                while self.sent < 256 * 1024 * 1024:
                    conn.sendall(chunk)
                    self.sent += len(chunk)
        self.done.set()

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    server = LoopbackServer()
    yield server
    server.stop()


@pytest.fixture
def make_transport() -> Iterator[Callable[..., Urllib3Transport]]:
    made: list[Urllib3Transport] = []

    def make(**kwargs: Any) -> Urllib3Transport:
        transport = Urllib3Transport(**kwargs)
        made.append(transport)
        return transport

    yield make
    for transport in made:
        transport.close()


def assert_readable(message: str) -> None:
    """A message names no object repr, memory address or token."""
    assert TOKEN not in message
    assert " at 0x" not in message
    assert "HTTPConnection" not in message
    assert "object" not in message


# --------------------------------------------------------------------------
# One deadline per call
# --------------------------------------------------------------------------


@pytest.mark.parametrize("retries", [0, 3, 10])
def test_a_server_that_never_answers_fails_within_the_timeout(
    retries: int,
    silent: SilentServer,
    make_either_transport: Callable[..., Any],
) -> None:
    """``timeout`` bounds the whole call, however many retries are allowed."""
    transport = make_either_transport(timeout=1.5, retries=retries, backoff_factor=0.01)
    start = time.monotonic()
    with pytest.raises(ca.TransportError) as info:
        transport.request("GET", f"http://127.0.0.1:{silent.port}/", headers=AUTH)
    elapsed = time.monotonic() - start
    # With retries, a full timeout per attempt would take 4 x 1.5 s and more.
    assert 1.5 - 0.05 <= elapsed < 1.5 + 3.0
    assert "did not answer in time" in str(info.value)
    assert "timeout=1.5 s" in str(info.value)
    assert_readable(str(info.value))


def test_a_per_call_timeout_bounds_retries_and_backoff(
    server: LoopbackServer, make_transport: Callable[..., Urllib3Transport]
) -> None:
    """A 503 that keeps coming is returned when the budget cannot fit another wait."""
    server.default = Reply(503, headers={"Retry-After": "60"})
    transport = make_transport(retries=10, retry_after_max=120.0)
    start = time.monotonic()
    response = transport.request("GET", server.url(), headers=AUTH, timeout=1.0)
    assert response.status == 503
    assert time.monotonic() - start < 1.0 + 5.0  # waiting would take 60 s
    assert len(server.requests) == 1


def test_the_serverless_tutorial_settings_end_in_about_their_timeout(
    silent: SilentServer, make_transport: Callable[..., Urllib3Transport]
) -> None:
    """``Urllib3Transport(timeout=2, retries=2)`` gives up after ~2 s, not 3 x 2 s."""
    transport = make_transport(timeout=2.0, retries=2)
    start = time.monotonic()
    with pytest.raises(ca.TransportError):
        transport.request("GET", f"http://127.0.0.1:{silent.port}/", headers=AUTH)
    assert time.monotonic() - start < 2.0 + 3.0  # 3 x 2 s is what it must not take


def test_a_body_that_stalls_fails_at_the_deadline(
    make_either_transport: Callable[..., Any],
) -> None:
    """Headers then silence: the call ends at its deadline and says the body stalled."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    held: list[socket.socket] = []

    def serve() -> None:
        conn, _ = listener.accept()
        held.append(conn)
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")

    threading.Thread(target=serve, daemon=True).start()
    transport = make_either_transport(timeout=1.0, retries=0)
    start = time.monotonic()
    try:
        with pytest.raises(ca.TransportError) as info:
            transport.request("GET", f"http://127.0.0.1:{port}/", headers=AUTH)
    finally:
        listener.close()
        for conn in held:
            conn.close()
    assert time.monotonic() - start < 1.0 + 5.0  # else it waits for the held socket
    message = str(info.value)
    assert "did not answer in time: the body stalled after 3 bytes" in message
    assert_readable(message)


def test_a_body_that_trickles_cannot_stretch_the_call(
    make_either_transport: Callable[..., Any],
) -> None:
    """A byte every 0.2 s keeps each read alive, but the call still ends on time."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
            while not stop.wait(0.2):
                with contextlib.suppress(OSError):
                    conn.sendall(b"x")

    threading.Thread(target=serve, daemon=True).start()
    transport = make_either_transport(timeout=1.0, retries=0)
    start = time.monotonic()
    try:
        with pytest.raises(ca.TransportError, match="the body stalled"):
            transport.request("GET", f"http://127.0.0.1:{port}/", headers=AUTH)
    finally:
        stop.set()
        listener.close()
    assert time.monotonic() - start < 1.0 + 5.0  # 1000 bytes would take 200 s


# --------------------------------------------------------------------------
# Messages a person can read
# --------------------------------------------------------------------------


def test_a_full_backlog_gives_a_connect_timeout_message(
    make_transport: Callable[..., Urllib3Transport],
) -> None:
    """A listener that accepts nothing times out connecting, named as such."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.2)
    url = f"http://127.0.0.1:{port}/auth/api/v1/user/me"
    transport = make_transport(timeout=5.0, connect_timeout=0.4, retries=1)
    try:
        with pytest.raises(ca.TransportError) as info:
            transport.request("GET", url, headers=AUTH)
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
    message = str(info.value)
    assert message == (
        f"GET {url}: connecting timed out (connect_timeout=0.4 s), after 2 attempts"
    )
    assert (info.value.method, info.value.url) == ("GET", url)


def test_a_stalled_tls_handshake_is_named_a_handshake_timeout(
    silent: SilentServer, make_transport: Callable[..., Urllib3Transport]
) -> None:
    """A TLS server that never finishes the handshake is a connect-phase timeout."""
    url = f"https://127.0.0.1:{silent.port}/"
    transport = make_transport(timeout=5.0, connect_timeout=0.4, retries=0)
    with pytest.raises(ca.TransportError) as info:
        transport.request("GET", url, headers=AUTH)
    message = str(info.value)
    assert message == f"GET {url}: the TLS handshake timed out (connect_timeout=0.4 s)"


def test_a_read_timeout_names_the_setting_that_was_hit(
    silent: SilentServer, make_transport: Callable[..., Urllib3Transport]
) -> None:
    """With ``read_timeout`` shorter than the budget, the message names it."""
    url = f"http://127.0.0.1:{silent.port}/x"
    transport = make_transport(timeout=5.0, read_timeout=0.3, retries=0)
    with pytest.raises(ca.TransportError) as info:
        transport.request("POST", url, headers=AUTH, json={})
    assert str(info.value) == (
        f"POST {url}: the server did not answer in time (read_timeout=0.3 s)"
    )


def test_a_refused_connection_names_the_cause(
    make_either_transport: Callable[..., Any],
) -> None:
    """Connection refused reads as such, with no urllib3 object in it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    with pytest.raises(ca.TransportError) as info:
        make_either_transport(retries=0).request("GET", url, headers=AUTH)
    assert str(info.value) == f"GET {url}: could not connect (connection refused)"


def test_query_secrets_never_reach_a_message(
    silent: SilentServer, make_either_transport: Callable[..., Any]
) -> None:
    """A token in the query or the path is masked in the error's URL."""
    url = f"http://127.0.0.1:{silent.port}/auth/api/v1/user/token/{TOKEN}/ttl"
    transport = make_either_transport(timeout=0.3, retries=0)
    with pytest.raises(ca.TransportError) as info:
        transport.request("GET", url, headers=AUTH, params={"middle_auth_token": "s3"})
    message = str(info.value)
    assert TOKEN not in message
    assert "s3" not in message.replace("0.3 s", "")
    assert "/user/token/<token>/ttl?middle_auth_token=***" in message


# --------------------------------------------------------------------------
# Stale keep-alive connections
# --------------------------------------------------------------------------


def test_a_post_on_a_reused_connection_that_is_reset_is_sent_again(
    server: LoopbackServer, make_transport: Callable[..., Urllib3Transport]
) -> None:
    """A pooled connection reset by the far side does not fail the next POST."""
    server.script(Reply(200, b"warm"), Reply(reset=True), Reply(200, b"created"))
    transport = make_transport(retries=0)
    assert transport.request("GET", server.url(), headers=AUTH).body == b"warm"
    response = transport.request("POST", server.url("/t"), headers=AUTH, json={})
    assert (response.status, response.body) == (200, b"created")
    assert [entry.method for entry in server.requests] == ["GET", "POST", "POST"]
    first, reset, fresh = server.client_ports
    assert first == reset
    assert fresh != reset


def test_a_post_reset_on_a_fresh_connection_is_not_sent_again(
    server: LoopbackServer, make_transport: Callable[..., Urllib3Transport]
) -> None:
    """A reset on a connection's first request may mean the server got it: no retry."""
    server.script(Reply(reset=True), Reply(200))
    transport = make_transport(retries=3)
    with pytest.raises(ca.TransportError, match="the connection broke"):
        transport.request("POST", server.url("/t"), headers=AUTH, json={})
    assert len(server.requests) == 1


def test_the_stale_retry_can_be_turned_off(
    server: LoopbackServer, make_transport: Callable[..., Urllib3Transport]
) -> None:
    """``retry_stale_connections=False`` lets the reset POST fail."""
    server.script(Reply(200), Reply(reset=True), Reply(200))
    transport = make_transport(retries=0, retry_stale_connections=False)
    transport.request("GET", server.url(), headers=AUTH)
    with pytest.raises(ca.TransportError, match="the connection broke"):
        transport.request("POST", server.url("/t"), headers=AUTH, json={})
    assert len(server.requests) == 2


# --------------------------------------------------------------------------
# The size cap
# --------------------------------------------------------------------------


def test_a_64_mib_answer_with_a_length_is_refused_unread(
    make_either_transport: Callable[..., Any],
) -> None:
    """A Content-Length over the cap is refused before the body is read."""
    streaming = StreamingServer(content_length=64 * 1024 * 1024)
    url = f"http://127.0.0.1:{streaming.port}/big"
    try:
        with pytest.raises(ca.ResponseTooLargeError) as info:
            make_either_transport().request("GET", url, headers=AUTH)
        assert streaming.done.wait(10)
    finally:
        streaming.close()
    assert isinstance(info.value, ca.TransportError)
    assert "67108864 bytes is larger than max_body_size=16777216" in str(info.value)
    assert streaming.sent < 16 * 1024 * 1024


def test_an_endless_answer_is_cut_at_the_cap(
    make_either_transport: Callable[..., Any],
) -> None:
    """Without a length, reading stops once the body passes ``max_body_size``."""
    streaming = StreamingServer()
    url = f"http://127.0.0.1:{streaming.port}/endless"
    try:
        with pytest.raises(ca.ResponseTooLargeError, match="reading stopped there"):
            make_either_transport(max_body_size=1024 * 1024).request(
                "GET", url, headers=AUTH
            )
        assert streaming.done.wait(10)
    finally:
        streaming.close()
    assert streaming.sent < 32 * 1024 * 1024


def test_an_answer_under_the_cap_is_read_whole(
    server: LoopbackServer, make_either_transport: Callable[..., Any]
) -> None:
    """A body of exactly ``max_body_size`` bytes is fine."""
    server.script(Reply(200, b"x" * 4096))
    response = make_either_transport(max_body_size=4096).request(
        "GET", server.url(), headers=AUTH
    )
    assert response.body == b"x" * 4096


# --------------------------------------------------------------------------
# Retry rules and settings
# --------------------------------------------------------------------------


def test_backoff_doubles_after_the_first_immediate_retry() -> None:
    """The waits are 0, then factor * 2 ** (n - 1), capped."""
    assert [backoff_wait(n, 0.1, 0.5) for n in (1, 2, 3, 4, 5)] == [
        0.0,
        0.2,
        0.4,
        0.5,
        0.5,
    ]


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("3", 3.0),
        (" 1.5 ", 1.5),
        ("-4", 0.0),
        ("soon", None),
        (None, None),
        ("Thu, 01 Jan 1970 00:01:40 GMT", 40.0),
        ("nan", None),
    ],
)
def test_retry_after_is_read_as_seconds_or_a_date(
    value: str | None, seconds: float | None
) -> None:
    """``Retry-After`` takes seconds or an HTTP date; anything else is ignored."""
    assert parse_retry_after(value, now=60.0) == seconds


@pytest.mark.parametrize(
    "settings",
    [
        {"timeout": 0},
        {"timeout": -1},
        {"connect_timeout": "5"},
        {"retries": -1},
        {"retries": 1.5},
        {"pool_maxsize": 0},
        {"max_body_size": 0},
        {"read_timeout": float("nan")},
    ],
)
def test_bad_settings_are_refused(settings: dict[str, Any]) -> None:
    """A setting out of range is an InvalidInputError naming it."""
    with pytest.raises(ca.InvalidInputError, match=next(iter(settings))):
        Urllib3Transport(**settings)


def test_a_call_timeout_must_be_positive(
    make_transport: Callable[..., Urllib3Transport],
) -> None:
    """``request(timeout=0)`` is refused before any I/O."""
    with pytest.raises(ca.InvalidInputError, match="timeout"):
        make_transport().request("GET", "http://127.0.0.1:1/", headers={}, timeout=0)


def test_tls_failure_message_is_readable(
    make_transport: Callable[..., Urllib3Transport], tmp_path: Any
) -> None:
    """An untrusted certificate says so, without reprs."""
    ca_ = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca_.issue_cert("127.0.0.1").configure_cert(context)
    tls = LoopbackServer(ssl_context=context)
    other = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    try:
        with pytest.raises(ca.TransportError) as info:
            make_transport(ca_certs=str(other)).request(
                "GET", tls.url("/"), headers=AUTH
            )
    finally:
        tls.stop()
    message = str(info.value)
    assert message.startswith(f"GET {tls.url('/')}: TLS failed (certificate verify")
    assert_readable(message)
