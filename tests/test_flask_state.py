"""Tests for cave_auth.flask.state: an app's state, from init_app or the env.

Without :func:`cave_auth.flask.init_app`, the first checked request builds the
app's transport with ``Urllib3Transport.from_env``: proxies and CA bundle
variables count as they do for ``middle_auth_client``'s requests. The
end-to-end test runs a trustme FakeAuthServer over HTTPS behind Debian's
``tinyproxy`` (see ``test_transport_proxy.py``). A cold burst of first
requests builds the state once: in threads released together, and under real
gunicorn workers.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import flask
import pytest
import trustme
from proxy_server import Proxy
from redis_support import RedisServer, emptied, serve

from cave_auth import flask as caf
from cave_auth.flask import state as flask_state
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
    proxy: Proxy,
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


def test_a_cold_burst_builds_one_state_and_looks_the_token_up_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Fifty simultaneous first requests build the app's state once and make one lookup."""
    built: list[caf.FlaskAuth] = []
    build = flask_state.init_from_env

    def counting(app: flask.Flask, environ: Mapping[str, str]) -> caf.FlaskAuth:
        built.append(build(app, environ))
        return built[-1]

    monkeypatch.setattr(flask_state, "init_from_env", counting)
    with FakeAuthServer() as server:
        server.set_delay(0.2)  # the lookups of a herd would overlap
        monkeypatch.setenv("AUTH_URL", f"{server.url}/auth")
        app, _ = guarded_app()
        bearer = {"Authorization": f"Bearer {server.user_token}"}
        barrier = threading.Barrier(50)
        statuses: list[int] = []

        def first_request() -> None:
            client = app.test_client()
            barrier.wait(timeout=30)
            statuses.append(client.get("/", headers=bearer).status_code)

        threads = [threading.Thread(target=first_request) for _ in range(50)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        lookups = server.count("GET", "/auth/api/v1/user/cache")
    assert statuses == [200] * 50
    assert len(built) == 1
    assert app.extensions["cave_auth"] is built[0]
    assert lookups == 1


def test_the_cache_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """TOKEN_CACHE_STALE_IF_ERROR and TOKEN_CACHE_MAX_LOOKUPS set the checker up."""
    monkeypatch.setenv("TOKEN_CACHE_STALE_IF_ERROR", "120")
    monkeypatch.setenv("TOKEN_CACHE_MAX_LOOKUPS", "7")
    app, _ = guarded_app()
    app.test_client().get("/")
    checker = app.extensions["cave_auth"].checker
    assert (checker.cache.stale_if_error, checker.max_lookups) == (120.0, 7)
    assert not checker.cache.shared
    monkeypatch.setenv("TOKEN_CACHE_MAX_LOOKUPS", "0")
    other, _ = guarded_app()
    other.test_client().get("/")
    assert other.extensions["cave_auth"].checker.max_lookups is None


def test_init_app_uses_the_cache_it_is_given() -> None:
    """init_app(cache=...) keeps answers in that cache."""
    from cave_auth.service import LookupCache

    cache = LookupCache(ttl=42)
    fake = FakeTransport({("GET", "/auth/api/v1/user/cache"): {"id": 3}})
    app, seen = guarded_app()
    state = caf.init_app(app, auth_url="a.example/auth", transport=fake, cache=cache)
    assert state.checker.cache is cache
    app.test_client().get("/", headers={"Authorization": "Bearer t-1"})
    assert seen["user"] == {"id": 3}
    assert len(cache) == 1


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    yield from serve()


def test_token_cache_redis_url_makes_the_cache_shared(
    monkeypatch: pytest.MonkeyPatch, redis_server: RedisServer
) -> None:
    """With TOKEN_CACHE_REDIS_URL two apps (two processes) share one lookup."""
    from cave_auth.service.redis import RedisCache

    with FakeAuthServer() as server:
        monkeypatch.setenv("AUTH_URL", f"{server.url}/auth")
        monkeypatch.setenv("TOKEN_CACHE_REDIS_URL", emptied(redis_server))
        monkeypatch.setenv("TOKEN_CACHE_LOCAL_TTL", "2.5")
        monkeypatch.setenv("TOKEN_CACHE_TTL", "60")
        bearer = {"Authorization": f"Bearer {server.user_token}"}
        apps = [guarded_app()[0] for _ in range(2)]
        assert [a.test_client().get("/", headers=bearer).status_code for a in apps] == [
            200,
            200,
        ]
        lookups = server.count("GET", "/auth/api/v1/user/cache")
    caches = [a.extensions["cave_auth"].checker.cache for a in apps]
    assert all(isinstance(cache, RedisCache) for cache in caches)
    assert [(c.local_ttl, c.ttl) for c in caches] == [(2.5, 60.0)] * 2
    assert lookups == 1
    for cache in caches:
        cache.close()


BURST_APP = """
import os

import flask

from cave_auth.flask import auth_required

app = flask.Flask(__name__)


@app.route("/ping")
def ping():
    return "pong"


@app.route("/me")
@auth_required
def me():
    return {"id": flask.g.auth_user["id"], "pid": os.getpid()}
"""


def serving_port(log: Path, workers: int, deadline: float) -> int:
    """Wait until gunicorn listens and has booted ``workers``; return its port."""
    while time.monotonic() < deadline:
        text = log.read_text()
        listening = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", text)
        if listening and text.count("Booting worker") >= workers:
            port = int(listening.group(1))
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                connection.request("GET", "/ping")  # unchecked: builds no state
                if connection.getresponse().status == 200:
                    return port
            except OSError:
                pass
            finally:
                connection.close()
        time.sleep(0.1)
    raise AssertionError(f"gunicorn did not start:\n{log.read_text()}")


def test_a_cold_burst_under_gunicorn_costs_one_lookup_per_worker(
    tmp_path: Path,
) -> None:
    """64 first requests to gunicorn (2 workers x 8 threads) make one lookup per worker."""
    (tmp_path / "burst_app.py").write_text(BURST_APP)
    log = tmp_path / "gunicorn.log"
    with FakeAuthServer() as server:
        server.set_delay(0.3)  # the lookups of a herd would overlap
        environ = {**os.environ, "AUTH_URL": f"{server.url}/auth"}
        command = [
            *(sys.executable, "-m", "gunicorn", "--chdir", str(tmp_path)),
            *("--workers", "2", "--threads", "8", "--bind", "127.0.0.1:0"),
            "burst_app:app",
        ]
        with log.open("wb") as out:
            gunicorn = subprocess.Popen(
                command, env=environ, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            port = serving_port(log, 2, time.monotonic() + 30)
            barrier = threading.Barrier(64)
            answers: list[tuple[int, int]] = []

            def first_request() -> None:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                barrier.wait(timeout=30)
                bearer = {"Authorization": f"Bearer {server.user_token}"}
                connection.request("GET", "/me", headers=bearer)
                response = connection.getresponse()
                answers.append((response.status, json.loads(response.read())["pid"]))
                connection.close()

            threads = [threading.Thread(target=first_request) for _ in range(64)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=40)
        finally:
            gunicorn.terminate()
            gunicorn.wait(timeout=30)
        lookups = server.count("GET", "/auth/api/v1/user/cache")
    assert [status for status, _ in answers] == [200] * 64
    workers = {pid for _, pid in answers}
    assert 1 <= len(workers) <= 2
    assert 1 <= lookups <= len(workers)
