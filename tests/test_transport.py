"""``Urllib3Transport`` against real loopback servers started by these tests.

The tests of the rules ``aio.HttpxTransport`` shares (requests as sent,
redirects, plain http, TLS) run with both transports
(``make_either_transport``).

The server below is a small threaded HTTP/1.1 keep-alive server built on
``http.server``: every answer has a ``Content-Length``, each connection is
served by a daemon thread, and nothing is logged. Each test scripts the
answers it wants (status, headers, body, a delay, or dropping the connection)
and reads back the request log, which records the method, path, headers,
body and client address of every request, so connection reuse can be
asserted from the client port.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import json
import socket
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import trustme
import urllib3.util.connection
from loopback_server import Logged, LoopbackServer, Reply

from cave_auth.errors import (
    InsecureTransportError,
    InvalidInputError,
    TransportError,
)
from cave_auth.transport import (
    Response,
    Transport,
    Urllib3Transport,
    is_loopback_host,
)
from cave_auth.transport.base import may_follow_redirect

pytestmark = pytest.mark.timeout(30)

TOKEN = "tok-0123456789abcdef0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
EPS = 0.02
"""Slack for clock granularity when asserting a minimum wait."""
SLACK = 5.0
"""Room above an expected duration, for a loaded CI machine; each failure these
bounds guard against (waiting out a 60 s delay or Retry-After) takes longer."""


# --------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------


@pytest.fixture
def make_server() -> Iterator[Callable[..., LoopbackServer]]:
    servers: list[LoopbackServer] = []

    def make(
        host: str = "127.0.0.1", ssl_context: ssl.SSLContext | None = None
    ) -> LoopbackServer:
        server = LoopbackServer(host, ssl_context)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def server(make_server: Callable[..., LoopbackServer]) -> LoopbackServer:
    return make_server()


@pytest.fixture
def make_transport() -> Iterator[Callable[..., Urllib3Transport]]:
    transports: list[Urllib3Transport] = []

    def make(**kwargs: Any) -> Urllib3Transport:
        transport = Urllib3Transport(**kwargs)
        transports.append(transport)
        return transport

    yield make
    for transport in transports:
        transport.close()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def tls_server(
    make_server: Callable[..., LoopbackServer], ca: trustme.CA
) -> LoopbackServer:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return make_server(ssl_context=context)


@pytest.fixture
def connect_attempts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Replace urllib3's and httpcore's socket openers: record each attempt, then refuse it."""
    import httpcore
    from httpcore._backends.anyio import AnyIOBackend

    attempts: list[tuple[str, int]] = []

    def refuse(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        attempts.append(address)
        raise ConnectionRefusedError("the test blocked this connection")

    async def refuse_async(
        backend: Any, host: str, port: int, *args: Any, **kwargs: Any
    ) -> Any:
        attempts.append((host, port))
        raise httpcore.ConnectError("the test blocked this connection")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", refuse)
    monkeypatch.setattr(AnyIOBackend, "connect_tcp", refuse_async)
    return attempts


def closed_port(host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def broken(fault: str) -> Reply:
    """An answer whose connection breaks: ``"drop"``ped or ``"truncate"``d."""
    return Reply(200, b"0123456789", drop=fault == "drop", truncate=fault == "truncate")


def gaps(entries: Sequence[Logged]) -> list[float]:
    return [b.at - a.at for a, b in itertools.pairwise(entries)]


# --------------------------------------------------------------------------
# Plain requests
# --------------------------------------------------------------------------


def test_get_returns_status_headers_body_and_url(
    server: LoopbackServer, make_either_transport: Callable[..., Any]
) -> None:
    """A GET returns the status, lower-cased headers, the body and the URL."""
    server.script(
        Reply(
            201,
            b'{"id": 7}',
            headers={"Content-Type": "application/json", "X-Request-ID": "abc"},
        )
    )
    transport = make_either_transport()
    url = server.url("/auth/api/v1/user/7")

    response = transport.request("GET", url, headers=AUTH)

    assert response.status == 201
    assert response.body == b'{"id": 7}'
    assert response.url == url
    assert response.redirected is False
    assert all(name == name.lower() for name in response.headers)
    assert response.headers["x-request-id"] == "abc"
    assert response.header("Content-Type") == "application/json"
    assert response.header("CONTENT-LENGTH") == "9"
    assert response.header("x-absent") is None
    [entry] = server.requests
    assert (entry.method, entry.path) == ("GET", "/auth/api/v1/user/7")
    assert entry.header("Authorization") == f"Bearer {TOKEN}"
    assert entry.body == b""
    assert entry.header("Content-Type") is None


def test_repeated_response_headers_are_all_kept(
    server: LoopbackServer, make_either_transport: Callable[..., Any]
) -> None:
    """A header the server sends twice keeps both values, comma-joined."""
    server.script(
        Reply(
            200,
            headers=[
                ("Warning", '299 - "first"'),
                ("Warning", '299 - "second"'),
                ("Set-Cookie", "a=1"),
                ("Set-Cookie", "b=2"),
            ],
        )
    )
    response = make_either_transport().request("GET", server.url(), headers=AUTH)
    assert response.header("warning") == '299 - "first", 299 - "second"'
    assert response.header("set-cookie") == "a=1, b=2"


def test_params_are_encoded_in_the_query(
    server: LoopbackServer, make_either_transport: Callable[..., Any]
) -> None:
    """Query parameters are URL-encoded, except commas, which stay readable."""
    transport = make_either_transport()
    response = transport.request(
        "GET",
        server.url("/auth/api/v1/users"),
        headers=AUTH,
        params={"id": "1,2,3", "q": "a b&c=d/é"},
    )
    expected = "/auth/api/v1/users?id=1,2,3&q=a+b%26c%3Dd%2F%C3%A9"
    assert server.requests[0].path == expected
    assert response.url == server.url(expected)


def test_params_on_a_url_without_path_go_to_the_root(
    server: LoopbackServer, make_either_transport: Callable[..., Any]
) -> None:
    """Params added to a URL with no path are sent as ``/?...`` to that host."""
    base = f"http://127.0.0.1:{server.port}"
    response = make_either_transport().request(
        "GET", base, headers=AUTH, params={"id": "4"}
    )
    assert response.status == 200
    assert server.requests[0].path == "/?id=4"


def test_fragment_is_not_sent(
    server: LoopbackServer, make_either_transport: Callable[..., Any]
) -> None:
    """A URL fragment stays on the client and never reaches the server."""
    make_either_transport().request("GET", server.url("/page#section"), headers=AUTH)
    assert server.requests[0].path == "/page"


def test_json_body_is_sent_with_json_content_type(
    server: LoopbackServer, make_either_transport: Callable[..., Any]
) -> None:
    """A JSON body is serialised and sent with Content-Type application/json."""
    payload = {"name": "é", "ids": [1, 2]}
    make_either_transport().request(
        "POST", server.url("/x"), headers=AUTH, json=payload
    )
    [entry] = server.requests
    assert entry.method == "POST"
    assert entry.header_values("Content-Type") == ["application/json"]
    assert json.loads(entry.body) == payload
    assert entry.header("Content-Length") == str(len(entry.body))


def test_json_content_type_replaces_a_caller_header_in_any_case(
    server: LoopbackServer, make_either_transport: Callable[..., Any]
) -> None:
    """With a JSON body exactly one Content-Type is sent, whatever the caller's."""
    headers = {**AUTH, "content-type": "text/plain"}
    make_either_transport().request("POST", server.url(), headers=headers, json={})
    [entry] = server.requests
    assert entry.header_values("Content-Type") == ["application/json"]
    assert entry.body == b"{}"


def test_no_json_means_no_body(
    server: LoopbackServer, make_either_transport: Callable[..., Any]
) -> None:
    """Without ``json`` a request carries no body and no Content-Type."""
    make_either_transport().request("DELETE", server.url("/k"), headers=AUTH)
    [entry] = server.requests
    assert entry.method == "DELETE"
    assert entry.body == b""
    assert entry.header("Content-Type") is None


def test_sequential_requests_reuse_one_connection(
    server: LoopbackServer, make_either_transport: Callable[..., Any]
) -> None:
    """Sequential requests from one transport share one keep-alive connection."""
    transport = make_either_transport()
    for i in range(5):
        response = transport.request("GET", server.url(f"/{i}"), headers=AUTH)
        assert response.status == 200
    transport.request("POST", server.url("/p"), headers=AUTH, json=[1])
    assert len(server.requests) == 6
    assert len(set(server.client_ports)) == 1
    assert len(server.connections) == 1


# --------------------------------------------------------------------------
# Retries
# --------------------------------------------------------------------------


def test_get_retries_503_with_exponential_backoff(
    server: LoopbackServer, make_either_transport: Callable[..., Any]
) -> None:
    """A GET answered 503 is retried with growing waits until it succeeds."""
    server.script(Reply(503), Reply(503), Reply(503), Reply(200, b"done"))
    transport = make_either_transport(retries=3, backoff_factor=0.05)

    start = time.monotonic()
    response = transport.request("GET", server.url(), headers=AUTH)
    elapsed = time.monotonic() - start

    assert (response.status, response.body) == (200, b"done")
    assert len(server.requests) == 4
    # urllib3 retries the first failure at once, then waits factor * 2**n.
    _first, second, third = gaps(server.requests)
    assert second >= 0.1 - EPS
    assert third >= 0.2 - EPS
    assert 0.3 - EPS <= elapsed < 0.3 + SLACK
    assert len(set(server.client_ports)) == 1  # the 503s kept the connection


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_are_retried(
    status: int,
    server: LoopbackServer,
    make_either_transport: Callable[..., Any],
) -> None:
    """502, 503 and 504 answers to a GET are retried, then the success returned."""
    server.script(Reply(status), Reply(status), Reply(200, b"ok"))
    transport = make_either_transport(retries=2, backoff_factor=0.05)
    start = time.monotonic()
    response = transport.request("GET", server.url(), headers=AUTH)
    elapsed = time.monotonic() - start
    assert response.status == 200
    assert len(server.requests) == 3
    assert 0.1 - EPS <= elapsed < 0.1 + SLACK


def test_500_is_not_retried(
    server: LoopbackServer, make_either_transport: Callable[..., Any]
) -> None:
    """A 500 is not a gateway error: it is returned after a single attempt."""
    server.script(Reply(500, b"boom"), Reply(200))
    response = make_either_transport(retries=3).request(
        "GET", server.url(), headers=AUTH
    )
    assert (response.status, response.body) == (500, b"boom")
    assert len(server.requests) == 1


def test_retry_after_is_honoured(
    server: LoopbackServer, make_either_transport: Callable[..., Any]
) -> None:
    """A 503 with ``Retry-After: 1`` makes the retry wait one second."""
    server.script(Reply(503, headers={"Retry-After": "1"}), Reply(200))
    transport = make_either_transport(retries=2, backoff_factor=0.01)
    start = time.monotonic()
    response = transport.request("GET", server.url(), headers=AUTH)
    elapsed = time.monotonic() - start
    assert response.status == 200
    assert gaps(server.requests)[0] >= 1.0 - EPS
    assert 1.0 - EPS <= elapsed < 1.0 + SLACK


def test_retry_after_is_capped_by_retry_after_max(
    server: LoopbackServer, make_either_transport: Callable[..., Any]
) -> None:
    """A ``Retry-After`` longer than ``retry_after_max`` waits only the cap."""
    server.script(Reply(503, headers={"Retry-After": "3600"}), Reply(200))
    transport = make_either_transport(
        retries=2, backoff_factor=0.01, retry_after_max=0.4
    )
    start = time.monotonic()
    response = transport.request("GET", server.url(), headers=AUTH)
    elapsed = time.monotonic() - start
    assert response.status == 200
    assert 0.4 - EPS <= elapsed < 0.4 + SLACK


@pytest.mark.parametrize("status", [413, 429])
def test_retry_after_on_429_and_413_is_honoured_for_get(
    status: int,
    server: LoopbackServer,
    make_either_transport: Callable[..., Any],
) -> None:
    """A 429 or 413 with ``Retry-After`` is retried after the wait, for a GET."""
    server.script(Reply(status, headers={"Retry-After": "60"}), Reply(200))
    transport = make_either_transport(retries=2, retry_after_max=0.2)
    start = time.monotonic()
    response = transport.request("GET", server.url(), headers=AUTH)
    assert response.status == 200
    assert len(server.requests) == 2
    assert 0.2 - EPS <= time.monotonic() - start < 0.2 + SLACK


@pytest.mark.parametrize(
    ("method", "headers"),
    [("POST", {"Retry-After": "1"}), ("GET", {})],
    ids=["post-with-retry-after", "get-without-retry-after"],
)
def test_429_is_returned_when_not_retryable(
    method: str,
    headers: dict[str, str],
    server: LoopbackServer,
    make_either_transport: Callable[..., Any],
) -> None:
    """A 429 to a POST, or without ``Retry-After``, is returned after one try."""
    server.script(Reply(429, headers=headers), Reply(200))
    response = make_either_transport(retries=2).request(
        method, server.url(), headers=AUTH
    )
    assert response.status == 429
    assert len(server.requests) == 1


def test_malformed_retry_after_falls_back_to_the_backoff(
    server: LoopbackServer, make_either_transport: Callable[..., Any]
) -> None:
    """A ``Retry-After`` that is not a number or a date is ignored, not raised."""
    server.script(
        Reply(503, headers={"Retry-After": "soon"}),
        Reply(503, headers={"Retry-After": "soon"}),
        Reply(200, b"ok"),
    )
    transport = make_either_transport(retries=2, backoff_factor=0.05)
    start = time.monotonic()
    response = transport.request("GET", server.url(), headers=AUTH)
    assert (response.status, response.body) == (200, b"ok")
    assert len(server.requests) == 3
    assert 0.1 - EPS <= time.monotonic() - start < 0.1 + SLACK


def test_persistent_5xx_returns_the_last_answer_after_the_budget(
    server: LoopbackServer, make_either_transport: Callable[..., Any]
) -> None:
    """A 503 that outlasts the retries is returned, not raised, after retries+1."""
    server.default = lambda entry: Reply(503, f"try {len(server.requests)}".encode())
    transport = make_either_transport(retries=2, backoff_factor=0.01)
    response = transport.request("GET", server.url(), headers=AUTH)
    assert response.status == 503
    assert response.body == b"try 3"
    assert len(server.requests) == 3


def test_no_wait_after_the_last_attempt(
    server: LoopbackServer,
    make_transport: Callable[..., Urllib3Transport],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Once the budget is spent the last 503 is returned without a last wait."""
    waits: list[float] = []
    sleep = time.sleep
    monkeypatch.setattr(time, "sleep", lambda s: (waits.append(s), sleep(s)))
    server.default = Reply(503, headers={"Retry-After": "1"})
    transport = make_transport(retries=1, retry_after_max=0.5)
    start = time.monotonic()
    response = transport.request("GET", server.url(), headers=AUTH)
    elapsed = time.monotonic() - start
    assert response.status == 503
    assert len(server.requests) == 2
    assert waits == [0.5]  # one wait, between the two attempts
    assert 0.5 - EPS <= elapsed < 0.5 + SLACK


def test_post_is_not_retried_on_503(
    server: LoopbackServer, make_either_transport: Callable[..., Any]
) -> None:
    """A POST answered 503 is not sent again: the 503 comes back at once."""
    server.script(Reply(503), Reply(200))
    transport = make_either_transport(retries=3, backoff_factor=0.01)
    response = transport.request("POST", server.url(), headers=AUTH, json={"a": 1})
    assert response.status == 503
    assert len(server.requests) == 1


@pytest.mark.parametrize("fault", ["drop", "truncate"])
def test_post_is_not_retried_when_the_connection_breaks(
    fault: str,
    server: LoopbackServer,
    make_either_transport: Callable[..., Any],
) -> None:
    """A POST whose connection breaks before a full answer raises, sent once."""
    server.script(broken(fault), Reply(200))
    transport = make_either_transport(retries=3, backoff_factor=0.01)
    url = server.url("/auth/api/v1/create_token")
    with pytest.raises(TransportError, match="connection broke") as info:
        transport.request("POST", url, headers=AUTH, json={"a": 1})
    assert len(server.requests) == 1
    assert info.value.method == "POST"
    assert info.value.url == url
    assert TOKEN not in str(info.value)


@pytest.mark.parametrize("fault", ["drop", "truncate"])
def test_get_is_retried_when_the_connection_breaks(
    fault: str,
    server: LoopbackServer,
    make_either_transport: Callable[..., Any],
) -> None:
    """A GET whose connection breaks before a full answer is retried and succeeds."""
    server.script(broken(fault), Reply(200, b"second"))
    transport = make_either_transport(retries=1, backoff_factor=0.01)
    response = transport.request("GET", server.url(), headers=AUTH)
    assert (response.status, response.body) == (200, b"second")
    assert len(server.requests) == 2


# --------------------------------------------------------------------------
# Timeouts and unreachable servers
# --------------------------------------------------------------------------


def test_read_timeout_raises_transport_error(
    server: LoopbackServer, make_either_transport: Callable[..., Any]
) -> None:
    """A server slower than the read timeout makes the request fail in time."""
    server.default = Reply(200, delay=60.0)
    transport = make_either_transport(timeout=0.3, retries=0)
    start = time.monotonic()
    with pytest.raises(TransportError, match="did not answer in time"):
        transport.request("GET", server.url(), headers=AUTH)
    elapsed = time.monotonic() - start
    assert 0.3 - EPS <= elapsed < 0.3 + SLACK
    assert len(server.requests) == 1


def test_read_timeout_of_get_is_retried(
    server: LoopbackServer, make_transport: Callable[..., Urllib3Transport]
) -> None:
    """A GET that timed out is tried again, each attempt with the full read_timeout."""
    server.default = Reply(200, delay=60.0)
    transport = make_transport(
        timeout=30.0, read_timeout=0.3, retries=1, backoff_factor=0.01
    )
    start = time.monotonic()
    with pytest.raises(TransportError, match="did not answer in time"):
        transport.request("GET", server.url(), headers=AUTH)
    elapsed = time.monotonic() - start
    assert len(server.requests) == 2
    assert 0.6 - EPS <= elapsed < 0.6 + SLACK


def test_read_timeout_of_post_is_not_retried(
    server: LoopbackServer, make_either_transport: Callable[..., Any]
) -> None:
    """A POST that timed out may have been processed, so it is not sent again."""
    server.default = Reply(200, delay=60.0)
    transport = make_either_transport(timeout=0.3, retries=3, backoff_factor=0.01)
    start = time.monotonic()
    with pytest.raises(TransportError, match="did not answer in time"):
        transport.request("POST", server.url(), headers=AUTH, json={})
    assert time.monotonic() - start < 0.3 + SLACK
    assert len(server.requests) == 1


def test_per_request_timeout_overrides_a_long_default(
    server: LoopbackServer, make_transport: Callable[..., Urllib3Transport]
) -> None:
    """``timeout=`` on one request shortens the transport's default read timeout."""
    server.default = Reply(200, delay=60.0)
    transport = make_transport(timeout=30.0, retries=0)
    start = time.monotonic()
    with pytest.raises(TransportError):
        transport.request("GET", server.url(), headers=AUTH, timeout=0.3)
    assert 0.3 - EPS <= time.monotonic() - start < 0.3 + SLACK


def test_per_request_timeout_overrides_a_short_default(
    server: LoopbackServer, make_transport: Callable[..., Urllib3Transport]
) -> None:
    """``timeout=`` on one request lengthens the transport's default read timeout."""
    server.default = Reply(200, b"late", delay=0.5)
    transport = make_transport(timeout=0.1, retries=0)
    response = transport.request("GET", server.url(), headers=AUTH, timeout=5.0)
    assert (response.status, response.body) == (200, b"late")


def test_connection_refused_fails_fast_and_names_the_url(
    make_either_transport: Callable[..., Any],
) -> None:
    """A refused connection is a TransportError naming the URL, never the token."""
    url = f"http://127.0.0.1:{closed_port()}/auth/api/v1/user/token"
    transport = make_either_transport(retries=2, backoff_factor=0.01)
    start = time.monotonic()
    with pytest.raises(TransportError) as info:
        transport.request("GET", url, headers=AUTH)
    assert time.monotonic() - start < 5.0  # a connect timeout would take 5 s a try
    error = info.value
    assert not isinstance(error, InsecureTransportError)
    assert url in str(error)
    assert "could not connect" in str(error)
    assert "timed out" not in str(error)
    assert (error.method, error.url) == ("GET", url)
    assert TOKEN not in str(error)
    assert TOKEN not in repr(error)
    assert error.__cause__ is None


# --------------------------------------------------------------------------
# Redirects
# --------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_same_host_redirect_is_followed_with_the_token(
    status: int,
    server: LoopbackServer,
    make_either_transport: Callable[..., Any],
) -> None:
    """A redirect to the same host is followed, Authorization still sent."""
    server.script(Reply(status, headers={"Location": "/final?x=1"}), Reply(200, b"!"))
    transport = make_either_transport()
    response = transport.request("GET", server.url("/start"), headers=AUTH)
    assert (response.status, response.body) == (200, b"!")
    assert response.redirected is True
    assert response.url == server.url("/final?x=1")
    assert [e.path for e in server.requests] == ["/start", "/final?x=1"]
    tokens = [e.header("Authorization") for e in server.requests]
    assert tokens == [AUTH["Authorization"]] * 2


@pytest.mark.parametrize(
    ("bind", "name"),
    [
        ("127.0.0.1", "localhost"),
        ("127.0.0.2", "127.0.0.2"),
        ("127.0.0.1", "127.0.0.1"),  # same host name, another port
    ],
    ids=["localhost", "127.0.0.2", "other-port"],
)
def test_cross_origin_redirect_is_not_followed(
    bind: str,
    name: str,
    make_server: Callable[..., LoopbackServer],
    make_either_transport: Callable[..., Any],
) -> None:
    """A redirect to another host or port is returned, and nothing reaches it."""
    server_a = make_server()
    server_b = make_server(host=bind)
    target = server_b.url("/steal", host=name)
    server_a.script(Reply(302, headers={"Location": target}))
    transport = make_either_transport()

    response = transport.request("GET", server_a.url("/start"), headers=AUTH)

    assert response.status == 302
    assert response.header("location") == target
    assert response.redirected is False
    assert response.url == server_a.url("/start")
    time.sleep(0.05)
    assert server_b.requests == []
    assert server_b.connections == []


@pytest.mark.parametrize(
    ("status", "method", "has_body"),
    [
        (301, "GET", False),
        (302, "GET", False),
        (303, "GET", False),
        (307, "POST", True),
        (308, "POST", True),
    ],
)
def test_redirect_after_post(
    status: int,
    method: str,
    has_body: bool,
    server: LoopbackServer,
    make_either_transport: Callable[..., Any],
) -> None:
    """After a POST, 301/302/303 become a bodiless GET; 307/308 repeat the POST."""
    server.script(Reply(status, headers={"Location": "/done"}), Reply(200))
    transport = make_either_transport()
    response = transport.request(
        "POST", server.url("/submit"), headers=AUTH, json={"k": "v"}
    )
    assert response.status == 200
    assert response.redirected is True
    first, second = server.requests
    assert (first.method, second.method, second.path) == ("POST", method, "/done")
    assert second.header("Authorization") == AUTH["Authorization"]
    if has_body:
        assert second.body == first.body == b'{"k": "v"}'
        assert second.header("Content-Type") == "application/json"
    else:
        assert second.body == b""
        assert second.header("Content-Type") is None
        assert second.header("Content-Length") in (None, "0")


def test_too_many_redirects_raise(
    server: LoopbackServer, make_either_transport: Callable[..., Any]
) -> None:
    """A redirect loop ends in a TransportError after max_redirects hops."""
    server.default = lambda entry: Reply(302, headers={"Location": entry.path + "x"})
    transport = make_either_transport(max_redirects=3)
    with pytest.raises(TransportError, match="more than 3 redirects") as info:
        transport.request("GET", server.url("/r"), headers=AUTH)
    assert [e.path for e in server.requests] == ["/r", "/rx", "/rxx", "/rxxx"]
    assert TOKEN not in str(info.value)


# --------------------------------------------------------------------------
# Plain http and loopback
# --------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["Authorization", "authorization"])
def test_token_over_http_to_a_remote_host_is_refused(
    header: str,
    connect_attempts: list[tuple[str, int]],
    make_either_transport: Callable[..., Any],
) -> None:
    """A token over plain http to a remote host is refused before connecting."""
    transport = make_either_transport(retries=0)
    with pytest.raises(InsecureTransportError) as info:
        transport.request(
            "GET",
            "http://example.org/auth/api/v1/user/token",
            headers={header: f"Bearer {TOKEN}"},
        )
    assert isinstance(info.value, InvalidInputError)
    assert isinstance(info.value, ValueError)
    assert not isinstance(info.value, TransportError)
    assert "example.org" in str(info.value)
    assert TOKEN not in str(info.value)
    assert connect_attempts == []


def test_allow_insecure_http_skips_the_check(
    connect_attempts: list[tuple[str, int]],
    make_either_transport: Callable[..., Any],
) -> None:
    """``allow_insecure_http=True`` lets the token go to the remote host."""
    transport = make_either_transport(retries=0, allow_insecure_http=True)
    with pytest.raises(TransportError) as info:
        transport.request("GET", "http://example.org/x", headers=AUTH)
    assert not isinstance(info.value, InsecureTransportError)
    assert connect_attempts == [("example.org", 80)]


@pytest.mark.parametrize(
    "url",
    ["http://example.org/x", "https://example.org/x"],
    ids=["http-no-token", "https-token"],
)
def test_requests_that_expose_no_token_are_sent(
    url: str,
    connect_attempts: list[tuple[str, int]],
    make_either_transport: Callable[..., Any],
) -> None:
    """Plain http without a token, and https with one, pass the insecure check."""
    headers = AUTH if url.startswith("https") else {"Accept": "application/json"}
    with pytest.raises(TransportError) as info:
        make_either_transport(retries=0).request("GET", url, headers=headers)
    assert not isinstance(info.value, InsecureTransportError)
    assert len(connect_attempts) == 1


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://127.0.0.1:9/x", ("127.0.0.1", 9)),
        ("http://127.8.9.10:9/x", ("127.8.9.10", 9)),
        ("http://localhost:9/x", ("localhost", 9)),
        ("http://LocalHost:9/x", ("localhost", 9)),
        ("http://[::1]:9/x", ("::1", 9)),
    ],
)
def test_token_over_http_to_loopback_is_allowed(
    url: str,
    address: tuple[str, int],
    connect_attempts: list[tuple[str, int]],
    make_either_transport: Callable[..., Any],
) -> None:
    """A token over plain http to a loopback host passes the insecure check."""
    with pytest.raises(TransportError) as info:
        make_either_transport(retries=0).request("GET", url, headers=AUTH)
    assert not isinstance(info.value, InsecureTransportError)
    assert connect_attempts == [address]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_token_over_http_to_a_loopback_server(
    host: str,
    server: LoopbackServer,
    make_either_transport: Callable[..., Any],
) -> None:
    """A real loopback server over plain http receives the token."""
    response = make_either_transport().request(
        "GET", server.url("/t", host=host), headers=AUTH
    )
    assert response.status == 200
    assert server.requests[0].header("Authorization") == AUTH["Authorization"]


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("localhost", True),
        ("LOCALHOST", True),
        ("localhost.", True),
        ("api.localhost", False),
        ("127.0.0.1", True),
        ("127.255.255.254", True),
        ("::1", True),
        ("[::1]", True),
        ("0:0:0:0:0:0:0:1", True),
        ("example.org", False),
        ("localhost.example.org", False),
        ("notlocalhost", False),
        ("127.0.0.1.nip.io", False),
        ("10.0.0.1", False),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
    ],
)
def test_is_loopback_host(host: str, expected: bool) -> None:
    """Only 127.0.0.0/8, ::1 and localhost names count as loopback."""
    assert is_loopback_host(host) is expected


@pytest.mark.parametrize(
    "url",
    ["ftp://127.0.0.1/x", "127.0.0.1/x", "http:///x", "http://127.0.0.1:port/"],
)
def test_malformed_url_is_invalid_input(
    url: str, make_either_transport: Callable[..., Any]
) -> None:
    """A URL that is not a usable http(s) URL is an InvalidInputError."""
    with pytest.raises(InvalidInputError):
        make_either_transport().request("GET", url, headers=AUTH)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://127.0.0.1:8o00/user/token/{}/ttl", "URL 'http://127.0.0.1:8o00' has"),
        ("http://127.0.0.1:99999/user/token/{}/ttl", "URL 'http://127.0.0.1:99999' "),
        ("ftp://u:pw@127.0.0.1/user/token/{}/ttl", "http(s) URL: 'ftp://127.0.0.1'"),
        ("http://[::1/user/token/{}/ttl", "URL 'http://[::1' has"),
    ],
)
def test_a_malformed_url_is_named_without_its_path(
    url: str, shown: str, make_either_transport: Callable[..., Any]
) -> None:
    """The error for a malformed URL quotes its scheme and host, never the path holding the token."""
    with pytest.raises(InvalidInputError) as info:
        make_either_transport().request("GET", url.format(TOKEN), headers=AUTH)
    assert shown in str(info.value)
    assert TOKEN not in str(info.value)
    assert "pw" not in str(info.value)
    assert info.value.__context__ is None


# --------------------------------------------------------------------------
# TLS
# --------------------------------------------------------------------------


def test_tls_without_the_ca_fails(
    tls_server: LoopbackServer, make_either_transport: Callable[..., Any]
) -> None:
    """A server whose CA is not trusted fails with a TLS TransportError."""
    transport = make_either_transport()
    with pytest.raises(TransportError, match="TLS failed") as info:
        transport.request("GET", tls_server.url("/secure"), headers=AUTH)
    assert TOKEN not in str(info.value)
    assert tls_server.requests == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_tls_with_the_ca_succeeds(
    host: str,
    tls_server: LoopbackServer,
    ca_file: str,
    make_either_transport: Callable[..., Any],
) -> None:
    """With ``ca_certs`` naming the CA, the https request succeeds."""
    tls_server.script(Reply(200, b"secret stuff"))
    transport = make_either_transport(ca_certs=ca_file)
    response = transport.request("GET", tls_server.url("/s", host=host), headers=AUTH)
    assert (response.status, response.body) == (200, b"secret stuff")
    assert tls_server.requests[0].header("Authorization") == AUTH["Authorization"]
    transport.request("GET", tls_server.url("/s", host=host), headers=AUTH)
    assert len(set(tls_server.client_ports)) == 1


@pytest.fixture
def default_ports(
    monkeypatch: pytest.MonkeyPatch,
    server: LoopbackServer,
    ca: trustme.CA,
    make_server: Callable[..., LoopbackServer],
) -> tuple[LoopbackServer, LoopbackServer]:
    """Serve http on 127.0.0.2:80 and https on 127.0.0.2:443, by address mapping.

    urllib3's socket opener is wrapped so that connections to those two
    default ports reach two loopback servers on free ports: the URLs the
    transport sees carry the real default ports, with no privileged bind.
    """
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.2").configure_cert(context)
    tls = make_server(ssl_context=context)
    routes = {("127.0.0.2", 80): server.port, ("127.0.0.2", 443): tls.port}
    real = urllib3.util.connection.create_connection

    def mapped(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        port = routes.get((address[0], address[1]))
        return real(("127.0.0.1", port) if port else address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", mapped)
    return server, tls


def test_http_80_to_https_443_upgrade_on_the_same_host_is_followed(
    default_ports: tuple[LoopbackServer, LoopbackServer],
    ca_file: str,
    make_transport: Callable[..., Urllib3Transport],
) -> None:
    """A redirect from http on port 80 to https on 443 of the same host is followed."""
    plain, tls = default_ports
    plain.script(Reply(301, headers={"Location": "https://127.0.0.2/up"}))
    tls.script(Reply(200, b"upgraded"))
    transport = make_transport(ca_certs=ca_file)
    response = transport.request("GET", "http://127.0.0.2/plain", headers=AUTH)
    assert (response.status, response.body) == (200, b"upgraded")
    assert response.redirected is True
    assert response.url == "https://127.0.0.2/up"
    assert tls.requests[0].header("Authorization") == AUTH["Authorization"]


def test_http_to_https_on_another_port_is_not_followed(
    server: LoopbackServer,
    tls_server: LoopbackServer,
    ca_file: str,
    make_transport: Callable[..., Urllib3Transport],
) -> None:
    """A redirect from http to https on a port other than 443 keeps the token home."""
    server.script(Reply(301, headers={"Location": tls_server.url("/up")}))
    transport = make_transport(ca_certs=ca_file)
    response = transport.request("GET", server.url("/plain"), headers=AUTH)
    assert response.status == 301
    assert response.redirected is False
    assert tls_server.requests == []


@pytest.mark.parametrize(
    ("origin", "target", "follows"),
    [
        (("https", "h.org", 443), "https://h.org/x", True),
        (("https", "h.org", 443), "https://h.org:443/x", True),
        (("https", "h.org", 443), "https://h.org:8443/x", False),
        (("https", "h.org", 443), "http://h.org/x", False),
        (("http", "h.org", 80), "https://h.org/x", True),
        (("http", "h.org", 80), "https://h.org:8443/x", False),
        (("http", "h.org", 8080), "https://h.org/x", False),
        (("http", "h.org", 8080), "http://h.org:8080/y", True),
        (("https", "h.org", 443), "https://evil.org/x", False),
        (("https", "h.org", 443), "https://h.org.evil.org/x", False),
        (("https", "h.org", 443), "ftp://h.org/x", False),
    ],
)
def test_which_redirects_may_carry_the_token(
    origin: tuple[str, str, int], target: str, follows: bool
) -> None:
    """Only the same origin, or http:80 to https:443 of one host, keeps the token."""
    assert may_follow_redirect(origin, target) is follows


def test_https_to_http_downgrade_is_not_followed(
    server: LoopbackServer,
    tls_server: LoopbackServer,
    ca_file: str,
    make_either_transport: Callable[..., Any],
) -> None:
    """A redirect from https down to plain http is returned, not followed."""
    tls_server.script(Reply(302, headers={"Location": server.url("/down")}))
    transport = make_either_transport(ca_certs=ca_file)
    response = transport.request("GET", tls_server.url("/s"), headers=AUTH)
    assert response.status == 302
    assert response.redirected is False
    assert server.requests == []


# --------------------------------------------------------------------------
# Pool, lifecycle, repr
# --------------------------------------------------------------------------


def test_pool_maxsize_bounds_concurrent_connections(
    server: LoopbackServer, make_transport: Callable[..., Urllib3Transport]
) -> None:
    """With ``pool_maxsize=2``, 8 threads share at most 2 connections."""
    server.default = Reply(200, b"ok", delay=0.01)
    transport = make_transport(pool_maxsize=2)

    def fetch(i: int) -> int:
        return transport.request("GET", server.url(f"/{i}"), headers=AUTH).status

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(fetch, range(40)))

    assert statuses == [200] * 40
    assert len(server.requests) == 40
    assert server.max_open == 2
    assert len(set(server.client_ports)) == 2


def test_close_drops_connections_and_transport_is_reusable(
    server: LoopbackServer, make_transport: Callable[..., Urllib3Transport]
) -> None:
    """``close()`` closes pooled connections; the transport still works after."""
    transport = make_transport()
    transport.request("GET", server.url(), headers=AUTH)
    assert server.wait_open_count(1)
    transport.close()
    assert server.wait_open_count(0)
    response = transport.request("GET", server.url(), headers=AUTH)
    assert response.status == 200
    first, second = server.client_ports
    assert first != second
    transport.close()
    transport.close()  # closing twice is harmless


def test_context_manager_closes_the_transport(server: LoopbackServer) -> None:
    """Leaving a ``with`` block closes every pooled connection."""
    with Urllib3Transport() as transport:
        assert isinstance(transport, Urllib3Transport)
        assert transport.request("GET", server.url(), headers=AUTH).status == 200
        assert server.wait_open_count(1)
    assert server.wait_open_count(0)


def test_transport_satisfies_the_protocol() -> None:
    """``Urllib3Transport`` is a ``Transport``."""
    with Urllib3Transport() as transport:
        assert isinstance(transport, Transport)


def test_repr_shows_no_secrets(
    server: LoopbackServer,
    ca_file: str,
    make_transport: Callable[..., Urllib3Transport],
) -> None:
    """The transport's repr shows its settings and no token."""
    transport = make_transport(timeout=7.0, retries=1, ca_certs=ca_file)
    transport.request("GET", server.url(), headers=AUTH)
    text = repr(transport)
    assert text.startswith("Urllib3Transport(")
    assert "timeout=7.0" in text
    assert TOKEN not in text


def test_response_repr_hides_the_body(
    server: LoopbackServer, make_either_transport: Callable[..., Any]
) -> None:
    """A Response's repr gives the body's length, not its content."""
    body = json.dumps({"token": TOKEN}).encode()
    server.script(Reply(200, body))
    response = make_either_transport().request("GET", server.url(), headers=AUTH)
    assert response.body == body
    text = repr(response)
    assert TOKEN not in text
    assert f"<{len(body)} bytes>" in text
    assert "<0 bytes>" in repr(Response(204))


def test_creating_a_transport_masks_the_ttl_token_in_urllib3_debug_lines():
    """A new process that only creates an Urllib3Transport gets urllib3's request lines with the TTL route's token masked."""
    import subprocess
    import sys

    token = "638b16e348442ee3aee4d03ac8b0619b"
    code = (
        "import logging, sys, cave_auth as ca\n"
        "logging.basicConfig(stream=sys.stdout, level=logging.DEBUG)\n"
        "ca.Urllib3Transport()\n"
        "logging.getLogger('urllib3.connectionpool').debug("
        "'%s://%s:%s \"%s %s %s\" %s %s', 'https', 'x.org', 443, 'GET', "
        f"'/auth/api/v1/user/token/{token}/ttl', 'HTTP/1.1', 200, 3)\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert token not in shown
    assert "/auth/api/v1/user/token/<token>/ttl" in shown
