"""Tests of the fake server's HTTP wire: keep-alive, concurrency, prompt stop, TLS."""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import quote

import pytest

from cave_auth.testing import INVALID_TOKEN, FakeAuthServer

from .conformance import bearer


def test_urllib_client_sees_json(shared: FakeAuthServer) -> None:
    """A urllib.request client gets the user record and an HTTPError for 401."""
    request = urllib.request.Request(
        shared.url + "/auth/api/v1/user/me", headers=bearer(shared.user_token)
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.load(response)["email"] == "norm@example.org"
    request = urllib.request.Request(
        shared.url + "/auth/api/v1/user/me", headers=bearer(INVALID_TOKEN)
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)
    assert info.value.code == 401
    info.value.close()


def test_keep_alive_serves_two_requests_on_one_connection(
    shared: FakeAuthServer,
) -> None:
    """Two requests on one http.client connection reuse the same socket."""
    conn = http.client.HTTPConnection("127.0.0.1", shared.port, timeout=10)
    try:
        conn.request("GET", "/auth/api/v1/user/me", headers=bearer(shared.admin_token))
        first = conn.getresponse()
        assert first.status == 200
        first.read()
        sock = conn.sock
        assert sock is not None
        local = sock.getsockname()
        conn.request(
            "GET", "/auth/api/v1/user/token", headers=bearer(shared.admin_token)
        )
        second = conn.getresponse()
        assert second.status == 200
        second.read()
        assert conn.sock is sock
        assert sock.getsockname() == local
        assert second.headers.get("Connection") is None
    finally:
        conn.close()


def test_many_keep_alive_clients_and_prompt_stop() -> None:
    """16 threads hammering the server all succeed and stop() returns promptly."""
    server = FakeAuthServer().start()
    token = bearer(server.admin_token)
    errors: list[BaseException] = []
    conns: list[http.client.HTTPConnection] = []
    lock = threading.Lock()

    def hammer() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        with lock:
            conns.append(conn)
        try:
            for _ in range(25):
                conn.request("GET", "/auth/api/v1/user?id=1,2", headers=token)
                response = conn.getresponse()
                assert response.status == 200
                assert len(response.read()) > 0
        except BaseException as exc:  # collected for the main thread
            errors.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert server.request_count == 16 * 25
    start = time.monotonic()
    server.stop()  # the 16 connections are still open and idle
    assert time.monotonic() - start < 5.0  # waiting on them would never end
    for conn in conns:
        conn.close()


def test_tls_with_ssl_context() -> None:
    """Given an ssl_context the server speaks HTTPS and its url says so."""
    import ssl

    trustme = pytest.importorskip("trustme")
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1")
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    certificate.configure_cert(server_context)
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)
    with FakeAuthServer(ssl_context=server_context) as server:
        assert server.url.startswith("https://127.0.0.1:")
        conn = http.client.HTTPSConnection(
            "127.0.0.1", server.port, timeout=10, context=client_context
        )
        try:
            for _ in range(2):  # keep-alive over TLS
                conn.request("GET", "/auth/api/v1/user/me")
                response = conn.getresponse()
                assert response.status == 302
                response.read()
            here = f"127.0.0.1:{server.port}"
            assert response.headers["Location"] == (
                f"https://{here}/sticky_auth/api/v1/authorize?redirect="
                + quote(f"https://{here}/auth/api/v1/user/me")
            )
        finally:
            conn.close()
