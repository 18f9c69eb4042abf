"""Urllib3Transport against a failing server: bursts, drops, slowness, refusal."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import cave_auth as ca
from cave_auth.testing import FakeAuthServer

pytestmark = pytest.mark.reliability

ME = "/auth/api/v1/user/me"
TOKENS = "/auth/api/v1/user/token"


def _record_arrivals(
    server: FakeAuthServer, monkeypatch: pytest.MonkeyPatch
) -> list[float]:
    """Note the monotonic time at which each request reaches the server."""
    arrivals: list[float] = []
    admit = server._admit

    def timed_admit(record: Any) -> Any:
        arrivals.append(time.monotonic())
        return admit(record)

    monkeypatch.setattr(server, "_admit", timed_admit)
    return arrivals


def _config(server: FakeAuthServer) -> ca.Config:
    return ca.Config(server_address=server.url, token=server.admin_token)


@pytest.mark.parametrize("status", [502, 503, 504])
def test_burst_shorter_than_retry_budget_is_absorbed(fake_server, status):
    """A burst of as many gateway errors as there are retries is retried away and the call succeeds."""
    retries = 3
    http = ca.Urllib3Transport(retries=retries, backoff_factor=0.01)
    fake_server.fail_next(retries, status)  # attempts 1..3 fail, attempt 4 works
    user = ca.whoami(_config(fake_server), http)
    attempts = fake_server.count("GET", ME)
    print(f"burst of {retries} x {status}: absorbed after {attempts} attempts")
    assert user.name == "Ada Admin"
    assert attempts == retries + 1


@pytest.mark.parametrize("status", [502, 503, 504])
def test_burst_longer_than_retry_budget_raises_server_error(
    fake_server, status, monkeypatch
):
    """A burst longer than the retry budget gives ServerError after retries+1 attempts, waiting at least the sum of urllib3's backoffs."""
    retries, factor = 3, 0.1
    http = ca.Urllib3Transport(retries=retries, backoff_factor=factor)
    arrivals = _record_arrivals(fake_server, monkeypatch)
    fake_server.fail_next(100, status)
    started = time.monotonic()
    with pytest.raises(ca.ServerError) as info:
        ca.whoami(_config(fake_server), http)
    elapsed = time.monotonic() - started
    fake_server.clear_faults()
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    # As documented: no wait before the first retry (urllib3's rule), then
    # factor * 2**(n-1): 0, 0.2, 0.4 s for factor 0.1.
    backoffs = [0.0] + [factor * 2**n for n in range(1, retries)]
    print(
        f"burst > budget ({status}): ServerError after {len(arrivals)} attempts in "
        f"{elapsed:.3f} s; gaps {[round(g, 3) for g in gaps]} s, expected at least "
        f"{backoffs} (sum {sum(backoffs):.2f} s)"
    )
    assert info.value.status == status
    assert len(arrivals) == retries + 1
    for gap, backoff in zip(gaps, backoffs, strict=True):
        assert gap >= backoff - 0.005
    assert elapsed >= sum(backoffs) - 0.005
    assert elapsed < sum(backoffs) + 5.0


def test_retry_after_is_honoured_up_to_its_cap(fake_server, monkeypatch):
    """A 503 with Retry-After: 3600 is retried after retry_after_max (1 s), not an hour."""
    http = ca.Urllib3Transport(retries=2, backoff_factor=0.01, retry_after_max=1)
    arrivals = _record_arrivals(fake_server, monkeypatch)
    fake_server.fail_next(1, 503, headers={"Retry-After": "3600"})
    user = ca.whoami(_config(fake_server), http)
    gap = arrivals[1] - arrivals[0]
    print(f"Retry-After 3600 capped at 1 s: retried after {gap:.3f} s")
    assert user.name == "Ada Admin"
    assert len(arrivals) == 2
    assert 1 - 0.005 <= gap < 1 + 5  # not the hour it asked for


@pytest.mark.parametrize(
    "value", ["soon", "-1", "1.5", "Thu, 01 Jan 1970 00:00:00 GMT"]
)
def test_odd_retry_after_values_stay_cave_auth_errors(fake_server, value):
    """A Retry-After the client cannot use never escapes as a urllib3 or parsing error."""
    http = ca.Urllib3Transport(retries=1, backoff_factor=0.01, retry_after_max=1)
    fake_server.fail_next(100, 503, headers={"Retry-After": value})
    started = time.monotonic()
    with pytest.raises(ca.CaveAuthError) as info:
        ca.whoami(_config(fake_server), http)
    elapsed = time.monotonic() - started
    print(f"Retry-After {value!r}: {type(info.value).__name__} in {elapsed:.2f} s")
    assert isinstance(info.value, ca.ServerError | ca.TransportError)
    assert elapsed < 1 + 5  # at most one capped wait


def test_dropped_connection_on_get_is_retried(fake_server):
    """A GET whose connection the server closes without answering is retried and succeeds."""
    http = ca.Urllib3Transport(retries=2, backoff_factor=0.01)
    fake_server.drop_next(1)
    user = ca.whoami(_config(fake_server), http)
    attempts = fake_server.count("GET", ME)
    print(f"dropped GET: succeeded after {attempts} attempts")
    assert user.name == "Ada Admin"
    assert attempts == 2


def test_dropped_connection_on_post_is_never_retried(fake_server):
    """A POST (create_token) whose connection is dropped raises TransportError and reaches the server exactly once."""
    config = _config(fake_server)
    http = ca.Urllib3Transport(retries=3, backoff_factor=0.01)
    before = len(ca.get_tokens(config, http))
    fake_server.drop_next(1)
    with pytest.raises(ca.TransportError):
        ca.create_token(config, http, "must not be sent twice")
    posts = fake_server.count("POST", TOKENS)
    after = len(ca.get_tokens(config, http))
    print(
        f"dropped POST: {posts} request(s) reached the server, keys {before}->{after}"
    )
    assert posts == 1
    assert after == before


class _TruncatingServer:
    """A raw HTTP server whose first ``bad`` answers stop halfway through the body."""

    BODY = b'{"id": 1, "name": "Ada Admin"}'

    def __init__(self, bad: int) -> None:
        self.bad = bad
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as rfile:
            while True:
                request_line = rfile.readline()
                if not request_line:
                    return
                length = 0
                while (line := rfile.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                rfile.read(length)
                with self._lock:
                    self.requests.append(request_line.split()[0].decode())
                    truncate = len(self.requests) <= self.bad
                head = (
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(self.BODY)}\r\n\r\n"
                ).encode()
                if truncate:
                    conn.sendall(head + self.BODY[:10])
                    return
                conn.sendall(head + self.BODY)

    def close(self) -> None:
        self._sock.close()


@pytest.fixture
def truncating() -> Iterator[_TruncatingServer]:
    server = _TruncatingServer(bad=1)
    yield server
    server.close()


def test_get_cut_mid_body_is_retried(truncating):
    """A GET whose answer is cut off in the middle of the body is retried and succeeds."""
    config = ca.Config(
        server_address=f"http://127.0.0.1:{truncating.port}", token="a" * 32
    )
    user = ca.whoami(config, ca.Urllib3Transport(retries=2, backoff_factor=0.01))
    print(f"GET cut mid-body: succeeded after {len(truncating.requests)} attempts")
    assert user.name == "Ada Admin"
    assert truncating.requests == ["GET", "GET"]


def test_post_cut_mid_body_is_not_retried(truncating):
    """A POST whose answer is cut off mid-body raises TransportError after exactly one request."""
    config = ca.Config(
        server_address=f"http://127.0.0.1:{truncating.port}", token="a" * 32
    )
    with pytest.raises(ca.TransportError):
        ca.create_token(config, ca.Urllib3Transport(retries=3, backoff_factor=0.01))
    print(f"POST cut mid-body: {len(truncating.requests)} request(s) sent")
    assert truncating.requests == ["POST"]


def test_slow_server_hits_read_timeout(fake_server):
    """A server slower than the read timeout gives TransportError at the timeout, not at its answer (retries=0)."""
    timeout = 0.5
    http = ca.Urllib3Transport(timeout=timeout, retries=0)
    fake_server.set_delay(60)
    started = time.monotonic()
    with pytest.raises(ca.TransportError) as info:
        ca.whoami(_config(fake_server), http)
    elapsed = time.monotonic() - started
    fake_server.clear_faults()
    print(
        f"slow server: TransportError after {elapsed:.2f} s (read timeout {timeout} s)"
    )
    assert "did not answer in time" in str(info.value)
    assert timeout <= elapsed < timeout + 5


def test_per_call_timeout_overrides_the_default(fake_server):
    """A per-call timeout shorter than the transport's default is the one applied."""
    http = ca.Urllib3Transport(timeout=30, retries=0)
    fake_server.set_delay(60)
    started = time.monotonic()
    with pytest.raises(ca.TransportError):
        ca.whoami(_config(fake_server), http, timeout=0.3)
    elapsed = time.monotonic() - started
    fake_server.clear_faults()
    print(f"per-call timeout 0.3 s: TransportError after {elapsed:.2f} s")
    assert 0.3 <= elapsed < 0.3 + 5  # the default would wait 30 s


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("retries", [0, 3])
def test_connection_refused_fails_fast(retries):
    """Connecting to a closed port gives TransportError at once, retries included (only the backoff waits)."""
    port = _closed_port()
    config = ca.Config(server_address=f"http://127.0.0.1:{port}", token="a" * 32)
    http = ca.Urllib3Transport(retries=retries)
    started = time.monotonic()
    with pytest.raises(ca.TransportError) as info:
        ca.whoami(config, http)
    elapsed = time.monotonic() - started
    print(f"connection refused (retries={retries}): TransportError in {elapsed:.3f} s")
    assert "could not connect" in str(info.value)
    assert elapsed < 4  # backoff 0 + 0.2 + 0.4 s; a connect timeout is 5 s a try
