"""Tests for cave_auth.flask.state: an app's transport, from init_app or the env.

Without :func:`cave_auth.flask.init_app`, the first checked request builds the
app's transport with ``Urllib3Transport.from_env``: proxies and CA bundle
variables count as they do for ``middle_auth_client``'s requests. The
end-to-end test runs a trustme FakeAuthServer over HTTPS behind Debian's
``tinyproxy`` (see ``test_transport_proxy.py``).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import flask
import pytest
import trustme
from proxy_server import TinyProxy

from cave_auth import flask as caf
from cave_auth.testing import FakeAuthServer, FakeTransport

pytestmark = pytest.mark.timeout(60)

NETWORK_VARIABLES = (
    "AUTH_URL",
    "AUTH_URI",
    "STICKY_AUTH_URL",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    *(
        name
        for base in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
        for name in (base, base.upper())
    ),
)


@pytest.fixture(autouse=True)
def clean_network_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start every test without the machine's proxy, CA or auth variables."""
    for name in NETWORK_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def bundle(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def tls_server(ca: trustme.CA) -> Iterator[FakeAuthServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with FakeAuthServer(ssl_context=context) as server:
        yield server


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[TinyProxy]:
    workdir = tmp_path / "proxy"
    workdir.mkdir()
    proxy = TinyProxy(workdir)
    yield proxy
    proxy.stop()


def guarded_app() -> tuple[flask.Flask, dict[str, object]]:
    app = flask.Flask(__name__)
    seen: dict[str, object] = {}

    @app.route("/")
    @caf.auth_required
    def index() -> str:
        seen["user"] = flask.g.auth_user
        return "ok"

    return app, seen


def test_the_environment_transport_is_built_at_the_first_request(
    monkeypatch: pytest.MonkeyPatch, bundle: str
) -> None:
    """Proxy, NO_PROXY and CA bundle set after the app is built count."""
    app, _ = guarded_app()
    monkeypatch.setenv("AUTH_URL", "auth.example.org/auth")
    monkeypatch.setenv("HTTPS_PROXY", "http://ada:pw@proxy.example.org:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example.org")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", bundle)
    assert "cave_auth" not in app.extensions
    assert app.test_client().get("/").status_code == 302
    transport = app.extensions["cave_auth"].transport
    assert dict(transport.proxy_rules.proxies) == {
        "https": "http://proxy.example.org:3128"
    }
    assert transport.proxy_rules.proxy_for("https", "internal.example.org", 443) is None
    assert transport.proxy_rules.proxy_for("https", "auth.example.org", 443) == (
        "http://proxy.example.org:3128"
    )
    assert transport.ca_certs == bundle
    assert (transport.timeout, transport.retries) == (5.0, 3)
    assert not transport.allow_insecure_http


@pytest.mark.parametrize("variable", ["CURL_CA_BUNDLE", "SSL_CERT_FILE"])
def test_the_other_ca_bundle_variables_count_as_in_requests(
    monkeypatch: pytest.MonkeyPatch, bundle: str, variable: str
) -> None:
    """CURL_CA_BUNDLE and SSL_CERT_FILE name the bundle without REQUESTS_CA_BUNDLE."""
    app, _ = guarded_app()
    monkeypatch.setenv(variable, bundle)
    app.test_client().get("/")
    assert app.extensions["cave_auth"].transport.ca_certs == bundle


def test_an_http_auth_url_from_the_environment_allows_plain_http(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """AUTH_URL with http:// gets a transport that may send tokens over http."""
    app, _ = guarded_app()
    monkeypatch.setenv("AUTH_URL", "http://127.0.0.1:9/auth")
    app.test_client().get("/")
    assert app.extensions["cave_auth"].transport.allow_insecure_http


def test_checks_go_through_the_environment_proxy_and_trust_its_ca_bundle(
    monkeypatch: pytest.MonkeyPatch,
    tls_server: FakeAuthServer,
    proxy: TinyProxy,
    bundle: str,
) -> None:
    """A check tunnels through HTTPS_PROXY and trusts REQUESTS_CA_BUNDLE."""
    monkeypatch.setenv("AUTH_URL", f"127.0.0.1:{tls_server.port}/auth")
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", bundle)
    app, seen = guarded_app()
    response = app.test_client().get(
        "/", headers={"Authorization": f"Bearer {tls_server.user_token}"}
    )
    assert response.status_code == 200
    assert seen["user"]["name"] == "Norm User"  # type: ignore[index]
    assert proxy.requests() == [f"CONNECT 127.0.0.1:{tls_server.port}"]


def test_without_the_ca_bundle_the_check_is_a_503_not_a_401(
    monkeypatch: pytest.MonkeyPatch, tls_server: FakeAuthServer
) -> None:
    """An untrusted certificate is an unavailable auth service, not a bad token."""
    monkeypatch.setenv("AUTH_URL", f"127.0.0.1:{tls_server.port}/auth")
    app, _ = guarded_app()
    response = app.test_client().get(
        "/", headers={"Authorization": f"Bearer {tls_server.user_token}"}
    )
    assert response.status_code == 503


def test_an_explicit_transport_is_used_exactly_as_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """init_app keeps the transport it is given and reads no environment."""
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.org:3128")
    fake = FakeTransport({})
    state = caf.init_app(flask.Flask(__name__), auth_url="a/auth", transport=fake)
    assert state.transport is fake
    built = caf.init_app(flask.Flask(__name__), auth_url="a/auth", timeout=2.0)
    assert dict(built.transport.proxy_rules.proxies) == {}  # type: ignore[attr-defined]
    assert built.transport.timeout == 2.0  # type: ignore[attr-defined]
