"""Proxies: the ``no_proxy`` rules, and a real proxy between client and server.

Each proxy test runs twice: against ``proxy.py`` (installed by pip with the
test extra) and against Debian's ``tinyproxy`` (skipped where it is missing,
with the command that installs it; ``.ci/run`` installs it and requires it).
Each starts on a free loopback port with a log of its own, from which the
test reads that each request went through it: ``GET http://...`` for plain
http (forwarding), ``CONNECT host:port`` for https (a tunnel). The fixtures
are in ``conftest.py``. The tests of a request through a proxy run with
``aio.HttpxTransport`` too (``make_either_transport``).
"""

from __future__ import annotations

import socket
import ssl
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from loopback_server import LoopbackServer, Reply
from proxy_server import Capture, Proxy, free_port, outward_address

import cave_auth as ca
from cave_auth.cli import main
from cave_auth.testing import FakeAuthServer
from cave_auth.transport import Urllib3Transport
from cave_auth.transport.proxy import ProxyRules, proxy_settings_from_env

REMOTE_NAME = "proxy.corp.example"

pytestmark = pytest.mark.timeout(60)

TOKEN = "tok-0123456789abcdef0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    server = LoopbackServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def ca_() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca_: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca_.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def tls_server(ca_: trustme.CA) -> Iterator[LoopbackServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca_.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    server = LoopbackServer(ssl_context=context)
    yield server
    server.stop()


@pytest.fixture
def capture() -> Iterator[Capture]:
    capture = Capture()
    yield capture
    capture.stop()


@pytest.fixture(params=["name", "address"])
def remote_proxy_host(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> str:
    """A proxy host, not loopback by name or address, that reaches the capture.

    Either a name this test's resolver maps to 127.0.0.1, or this machine's
    outward address.
    """
    if request.param == "address":
        address = outward_address()
        if address is None:
            pytest.skip("this machine has no non-loopback address")
        return address
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host == REMOTE_NAME else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return REMOTE_NAME


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


# --------------------------------------------------------------------------
# The rules, without a proxy
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("no_proxy", "host", "port", "bypassed"),
    [
        ("*", "anything.org", 443, True),
        ("example.org", "example.org", 443, True),
        ("example.org", "api.example.org", 443, True),
        (".example.org", "api.example.org", 443, True),
        (".example.org", "example.org", 443, True),
        ("example.org", "badexample.org", 443, False),
        ("EXAMPLE.org", "example.org", 443, True),
        ("example.org:8443", "example.org", 8443, True),
        ("example.org:8443", "example.org", 443, False),
        ("10.0.0.0/8", "10.1.2.3", 443, True),
        ("10.0.0.0/8", "11.1.2.3", 443, False),
        ("192.168.1.5", "192.168.1.5", 443, True),
        ("::1", "::1", 443, True),
        ("[::1]:8080", "::1", 8080, True),
        ("localhost, 127.0.0.1", "127.0.0.1", 80, True),
        ("a.org b.org", "b.org", 80, True),
        ("", "example.org", 443, False),
    ],
)
def test_no_proxy_follows_curl_and_requests(
    no_proxy: str, host: str, port: int, bypassed: bool
) -> None:
    """NO_PROXY matches names with their subdomains, IPs, CIDR blocks and ports."""
    rules = ProxyRules.build("http://proxy.example:3128", no_proxy)
    expected = None if bypassed else "http://proxy.example:3128"
    assert rules.proxy_for("https", host, port) == expected


def test_environment_proxies_lower_case_first_and_all_proxy_as_fallback() -> None:
    """https_proxy wins over HTTPS_PROXY; ALL_PROXY covers a scheme left unset."""
    proxies, no_proxy = proxy_settings_from_env(
        {
            "HTTPS_PROXY": "http://upper:1",
            "https_proxy": "http://lower:2",
            "ALL_PROXY": "http://every:3",
            "NO_PROXY": "internal.org",
        }
    )
    assert proxies == {"https": "http://lower:2", "http": "http://every:3"}
    assert no_proxy == "internal.org"
    assert proxy_settings_from_env({}) == ({}, None)


def test_a_mapping_sets_a_proxy_per_scheme() -> None:
    """``{"https": ...}`` proxies https only; ``"all"`` fills the other scheme."""
    rules = ProxyRules.build({"https": "http://p:1"})
    assert rules.proxy_for("https", "h.org", 443) == "http://p:1"
    assert rules.proxy_for("http", "h.org", 80) is None
    rules = ProxyRules.build({"all": "http://a:1", "http": "http://h:2"})
    assert rules.proxy_for("http", "h.org", 80) == "http://h:2"
    assert rules.proxy_for("https", "h.org", 443) == "http://a:1"


@pytest.mark.parametrize(
    ("proxy", "message"),
    [
        ("socks5://127.0.0.1:1080", "SOCKS proxies are not supported"),
        ("socks5h://u:secret@127.0.0.1:1080", "SOCKS proxies are not supported"),
        ("ftp://127.0.0.1:21", "Not a proxy URL"),
        ("http://127.0.0.1:notaport", "Not a proxy URL"),
    ],
)
def test_unusable_proxy_urls_are_refused_clearly(proxy: str, message: str) -> None:
    """A SOCKS or malformed proxy URL is an InvalidInputError, credentials hidden."""
    with pytest.raises(ca.InvalidInputError, match=message) as info:
        Urllib3Transport(proxy=proxy)
    assert "secret" not in str(info.value)


def test_proxy_credentials_never_show(
    make_transport: Callable[..., Urllib3Transport],
) -> None:
    """The repr shows the proxy without its user and password."""
    transport = make_transport(proxy="http://alice:s3cr3t@127.0.0.1:3128")
    text = repr(transport)
    assert "s3cr3t" not in text
    assert "alice" not in text
    assert "http://***@127.0.0.1:3128" in text
    assert "s3cr3t" not in repr(transport.proxy_rules)


def test_direct_construction_ignores_the_environment(
    monkeypatch: pytest.MonkeyPatch,
    server: LoopbackServer,
    make_transport: Callable[..., Urllib3Transport],
) -> None:
    """``Urllib3Transport()`` gets exactly what it is given, whatever os.environ says."""
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")
    response = make_transport().request("GET", server.url("/direct"), headers=AUTH)
    assert response.status == 200
    assert server.requests[0].path == "/direct"


@pytest.mark.parametrize(
    ("environ", "http_proxy"),
    [
        ({"REQUEST_METHOD": "GET", "HTTP_PROXY": "http://evil:1"}, None),
        ({"REQUEST_METHOD": "", "HTTP_PROXY": "http://evil:1"}, None),
        ({"REQUEST_METHOD": "GET", "http_proxy": "http://ok:1"}, "http://ok:1"),
        (
            {
                "REQUEST_METHOD": "GET",
                "HTTP_PROXY": "http://evil:1",
                "http_proxy": "http://ok:1",
            },
            "http://ok:1",
        ),
        ({"HTTP_PROXY": "http://upper:1"}, "http://upper:1"),
    ],
)
def test_under_cgi_http_proxy_is_read_as_urllib_reads_it(
    monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], http_proxy: str | None
) -> None:
    """Under CGI, HTTP_PROXY (a client's Proxy: header) is ignored and http_proxy honoured, as by urllib."""
    for name in list(urllib.request.getproxies_environment()):
        for variable in (f"{name}_proxy", f"{name}_PROXY".upper()):
            monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv("REQUEST_METHOD", raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    proxies, _ = proxy_settings_from_env(environ)
    assert proxies.get("http") == http_proxy
    assert urllib.request.getproxies_environment().get("http") == http_proxy


def test_under_cgi_https_proxy_still_counts() -> None:
    """Under CGI, HTTPS_PROXY still counts: httpoxy concerns HTTP_PROXY alone."""
    environ = {"REQUEST_METHOD": "POST", "HTTPS_PROXY": "http://p:1"}
    assert proxy_settings_from_env(environ) == ({"https": "http://p:1"}, None)


# --------------------------------------------------------------------------
# Through a real proxy
# --------------------------------------------------------------------------


def test_under_cgi_a_proxy_header_cannot_pick_the_proxy(
    proxy: Proxy, server: LoopbackServer
) -> None:
    """A CGI script's transport goes direct despite HTTP_PROXY; http_proxy still routes it."""
    cgi = {"REQUEST_METHOD": "GET", "HTTP_PROXY": proxy.url}
    with Urllib3Transport.from_env(cgi) as transport:
        transport.request("GET", server.url("/direct"), headers=AUTH)
    assert proxy.requests() == []
    assert [entry.path for entry in server.requests] == ["/direct"]
    chosen = {"REQUEST_METHOD": "GET", "http_proxy": proxy.url}
    with Urllib3Transport.from_env(chosen) as transport:
        transport.request("GET", server.url("/proxied"), headers=AUTH)
    assert proxy.requests() == [f"GET {server.url('/proxied')}"]


def test_plain_http_goes_through_the_proxy(
    proxy: Proxy,
    server: LoopbackServer,
    make_either_transport: Callable[..., Any],
) -> None:
    """An http URL is forwarded by the proxy, which logs the absolute URL."""
    server.script(Reply(200, b"via proxy"))
    transport = make_either_transport(proxy=proxy.url)
    response = transport.request("GET", server.url("/a?b=1"), headers=AUTH)
    assert (response.status, response.body) == (200, b"via proxy")
    assert proxy.requests() == [f"GET {server.url('/a?b=1')}"]
    assert server.requests[0].path == "/a?b=1"
    assert server.requests[0].header("Authorization") == AUTH["Authorization"]


def test_https_goes_through_a_connect_tunnel(
    proxy: Proxy,
    tls_server: LoopbackServer,
    ca_file: str,
    make_either_transport: Callable[..., Any],
) -> None:
    """An https URL is tunnelled with CONNECT; TLS is end to end."""
    tls_server.script(Reply(200, b"secret"), Reply(200, b"again"))
    transport = make_either_transport(proxy=proxy.url, ca_certs=ca_file)
    url = tls_server.url("/s")
    assert transport.request("GET", url, headers=AUTH).body == b"secret"
    assert transport.request("GET", url, headers=AUTH).body == b"again"
    assert proxy.requests() == [f"CONNECT 127.0.0.1:{tls_server.port}"]
    assert len(set(tls_server.client_ports)) == 1


def test_from_env_reads_the_proxy_and_no_proxy(
    proxy: Proxy,
    server: LoopbackServer,
    tls_server: LoopbackServer,
    ca_file: str,
) -> None:
    """from_env proxies by scheme and bypasses hosts in NO_PROXY."""
    environ = {
        "HTTPS_PROXY": proxy.url,
        "http_proxy": proxy.url,
        "NO_PROXY": f"localhost:{server.port}",
        "REQUESTS_CA_BUNDLE": ca_file,
    }
    with Urllib3Transport.from_env(environ) as transport:
        transport.request("GET", tls_server.url("/tunnelled"), headers=AUTH)
        transport.request("GET", server.url("/direct", host="localhost"), headers=AUTH)
        transport.request("GET", server.url("/forwarded"), headers=AUTH)
    assert proxy.requests() == [
        f"CONNECT 127.0.0.1:{tls_server.port}",
        f"GET {server.url('/forwarded')}",
    ]
    assert [entry.path for entry in server.requests] == ["/direct", "/forwarded"]


def test_no_proxy_star_bypasses_everything(
    proxy: Proxy, server: LoopbackServer
) -> None:
    """``NO_PROXY=*`` sends every request direct."""
    environ = {"HTTP_PROXY": proxy.url, "NO_PROXY": "*"}
    with Urllib3Transport.from_env(environ) as transport:
        transport.request("GET", server.url("/x"), headers=AUTH)
    assert proxy.requests() == []
    assert len(server.requests) == 1


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_proxy_credentials_become_proxy_authorization(
    scheme: str,
    make_proxy: Callable[..., Proxy],
    server: LoopbackServer,
    tls_server: LoopbackServer,
    ca_file: str,
    make_either_transport: Callable[..., Any],
) -> None:
    """user:password in the proxy URL (percent-encoded) authenticates to it."""
    assert ProxyRules.build("http://a%40b:p%3As@p:1").headers["https"] == {
        "Proxy-Authorization": "Basic YUBiOnA6cw=="
    }
    proxy = make_proxy(basic_auth=("alice", "pass-1"))
    target = tls_server if scheme == "https" else server
    url = proxy.url.replace("http://", "http://alice:pass%2D1@")
    transport = make_either_transport(proxy=url, ca_certs=ca_file)
    response = transport.request("GET", target.url("/in"), headers=AUTH)
    assert response.status == 200
    assert len(target.requests) == 1
    assert target.requests[0].header("Proxy-Authorization") is None


def test_wrong_proxy_credentials_on_a_tunnel_say_the_proxy_refused(
    make_proxy: Callable[..., Proxy],
    tls_server: LoopbackServer,
    ca_file: str,
    make_either_transport: Callable[..., Any],
) -> None:
    """A refused CONNECT is a TransportError naming the proxy, never the password."""
    proxy = make_proxy(basic_auth=("alice", "right"))
    url = proxy.url.replace("http://", "http://alice:wrong@")
    transport = make_either_transport(proxy=url, ca_certs=ca_file, retries=0)
    with pytest.raises(ca.TransportError) as info:
        transport.request("GET", tls_server.url("/in"), headers=AUTH)
    message = str(info.value)
    assert f"the proxy http://***@127.0.0.1:{proxy.port} refused the tunnel" in message
    assert proxy.refused in message
    assert "wrong" not in message
    assert tls_server.requests == []


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_an_unreachable_proxy_is_named(
    scheme: str,
    server: LoopbackServer,
    tls_server: LoopbackServer,
    make_either_transport: Callable[..., Any],
) -> None:
    """When the proxy refuses connections, the error says it was the proxy."""
    port = free_port()
    transport = make_either_transport(proxy=f"http://u:pw@127.0.0.1:{port}", retries=1)
    target = (tls_server if scheme == "https" else server).url("/x")
    with pytest.raises(ca.TransportError) as info:
        transport.request("GET", target, headers=AUTH)
    message = str(info.value)
    assert f"could not connect to the proxy http://***@127.0.0.1:{port}" in message
    assert "connection refused" in message
    assert "pw" not in message.replace("http", "")
    assert TOKEN not in message


def test_auth_client_uses_the_proxy_of_its_environ(proxy: Proxy) -> None:
    """AuthClient builds its transport from the environ it was given."""
    with FakeAuthServer() as fake:
        client = ca.AuthClient(
            server_address=fake.url,
            token=fake.user_token,
            store=ca.MemoryStore(),
            environ={"HTTP_PROXY": proxy.url},
        )
        with client:
            assert client.whoami()["id"] > 0
        assert proxy.requests() == [f"GET {fake.url}/auth/api/v1/user/me"]


def test_the_cli_uses_the_environment_proxy(
    proxy: Proxy, capsys: pytest.CaptureFixture[str]
) -> None:
    """``cave-auth whoami`` goes through HTTP_PROXY from its environment."""
    with FakeAuthServer() as fake:
        status = main(
            ["whoami", "--server", fake.url, "--json", "--timeout", "10"],
            environ={"HTTP_PROXY": proxy.url, "CAVE_TOKEN": fake.user_token},
            store=ca.MemoryStore(),
        )
        assert status == 0, capsys.readouterr().err
        assert proxy.requests() == [f"GET {fake.url}/auth/api/v1/user/me"]


# --------------------------------------------------------------------------
# Plain http through a proxy on another machine
# --------------------------------------------------------------------------


def test_plain_http_through_a_remote_proxy_is_refused_before_a_byte(
    remote_proxy_host: str, capture: Capture, server: LoopbackServer
) -> None:
    """A token for http://localhost never goes to an HTTP_PROXY that is not on loopback."""
    shown = f"http://***@{remote_proxy_host}:{capture.port}"
    environ = {"HTTP_PROXY": f"http://alice:s3cret@{remote_proxy_host}:{capture.port}"}
    config = ca.Config(server.url("", host="localhost"), token=TOKEN)
    with (
        Urllib3Transport.from_env(environ, retries=0, timeout=5) as http,
        pytest.raises(ca.InsecureTransportError) as info,
    ):
        ca.whoami(config, http)
    message = str(info.value)
    assert f"through the proxy {shown}" in message
    assert "https://" in message
    assert "NO_PROXY" in message
    assert "s3cret" not in message
    assert TOKEN not in message
    assert info.value.proxy == shown
    assert (capture.connections, capture.received) == (0, b"")
    assert server.requests == []


def test_a_remote_proxy_still_carries_what_may_cross_it(
    remote_proxy_host: str, capture: Capture, tls_server: LoopbackServer
) -> None:
    """A remote proxy still gets https as a CONNECT without the token, and http once allowed."""
    proxy = f"http://{remote_proxy_host}:{capture.port}"
    with (
        Urllib3Transport(proxy=proxy, retries=0, timeout=5) as http,
        pytest.raises(ca.TransportError),
    ):
        http.request("GET", tls_server.url("/s", host="localhost"), headers=AUTH)
    assert capture.received.startswith(f"CONNECT localhost:{tls_server.port} ".encode())
    assert TOKEN.encode() not in capture.received
    capture.received = b""
    with (
        Urllib3Transport(
            proxy=proxy, retries=0, timeout=5, allow_insecure_http=True
        ) as http,
        pytest.raises(ca.TransportError),
    ):
        http.request("GET", "http://localhost:8000/x", headers=AUTH)
    assert capture.received.startswith(b"GET http://localhost:8000/x ")


@pytest.mark.parametrize("proxy_host", ["127.0.0.1", "localhost"])
def test_a_loopback_proxy_still_carries_plain_http_to_localhost(
    proxy_host: str,
    proxy: Proxy,
    server: LoopbackServer,
    make_either_transport: Callable[..., Any],
) -> None:
    """A proxy on this machine (by address or by the name localhost) forwards the token's call."""
    url = server.url("/ttl", host="localhost")
    transport = make_either_transport(proxy=proxy.url.replace("127.0.0.1", proxy_host))
    assert transport.request("GET", url, headers=AUTH).status == 200
    assert proxy.requests() == [f"GET {url}"]
    assert server.requests[0].header("Authorization") == AUTH["Authorization"]


def test_the_cli_names_the_remote_proxy_it_will_not_use(
    capture: Capture,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``cave-auth whoami`` against http://localhost with a remote HTTP_PROXY says which proxy and what to do."""
    real = socket.getaddrinfo
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, *a, **k: real(
            "127.0.0.1" if host == REMOTE_NAME else host, *a, **k
        ),
    )
    with FakeAuthServer() as fake:
        local = fake.url.replace("127.0.0.1", "localhost")
        status = main(
            ["whoami", "--server", local, "--timeout", "5"],
            environ={
                "HTTP_PROXY": f"http://{REMOTE_NAME}:{capture.port}",
                "CAVE_TOKEN": fake.user_token,
            },
            store=ca.MemoryStore(),
        )
    err = capsys.readouterr().err
    assert status == 2
    assert f"through the proxy http://{REMOTE_NAME}:{capture.port}" in err
    assert "NO_PROXY" in err
    assert capture.connections == 0
