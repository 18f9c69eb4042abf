"""Tests of FakeAuthServer's lifecycle, labelled tokens, request log and fault switches."""

from __future__ import annotations

import re
import time

import pytest

from cave_auth.testing import FakeAuthServer

from .conformance import bearer, fetch


def test_lifecycle() -> None:
    """The url needs a running server; start and stop are idempotent."""
    server = FakeAuthServer()
    with pytest.raises(RuntimeError):
        _ = server.url
    assert server.start() is server.start()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url)
    server.stop()
    server.stop()
    with pytest.raises(RuntimeError):
        _ = server.url


def test_tokens_are_random_per_server() -> None:
    """Every server draws its own 32-hex-character tokens."""
    first, second = FakeAuthServer(), FakeAuthServer()
    assert first.admin_token != second.admin_token
    assert re.fullmatch(r"[0-9a-f]{32}", first.temp_token)


def test_fail_next_answers_errors_then_recovers(server: FakeAuthServer) -> None:
    """fail_next(n) answers n requests with the status, a Flask page and headers."""
    server.fail_next(2, 503, headers={"Retry-After": "1"})
    for _ in range(2):
        reply = fetch(server, "GET", "/auth/api/v1/user/me", bearer(server.admin_token))
        assert reply.status == 503
        assert reply.headers["Retry-After"] == "1"
        assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
        assert "<title>503 Service Unavailable</title>" in reply.text
    reply = fetch(server, "GET", "/auth/api/v1/user/me", bearer(server.admin_token))
    assert reply.status == 200
    server.fail_next(1, 429, body="slow down")
    reply = fetch(server, "GET", "/auth/version")
    assert (reply.status, reply.text) == (429, "slow down")
    assert server.request_count == 4


def test_fail_next_can_target_one_route(server: FakeAuthServer) -> None:
    """With method and path, only matching requests fail; others are served."""
    admin = bearer(server.admin_token)
    server.fail_next(1, 500, method="delete", path=r"/auth/api/v1/user/token/\d+")
    assert fetch(server, "GET", "/auth/api/v1/user/token", admin).status == 200
    assert fetch(server, "DELETE", "/auth/api/v1/user/token/99", admin).status == 500
    assert fetch(server, "DELETE", "/auth/api/v1/user/token/99", admin).status == 404


def test_fail_next_rejects_bad_arguments(server: FakeAuthServer) -> None:
    """fail_next, drop_next and set_delay refuse negative counts and odd statuses."""
    with pytest.raises(ValueError, match="status"):
        server.fail_next(1, 99)
    with pytest.raises(ValueError, match="n must"):
        server.drop_next(-1)
    with pytest.raises(ValueError, match="seconds"):
        server.set_delay(-0.1)


def test_delay_slows_every_answer(server: FakeAuthServer) -> None:
    """delay(s) waits before each answer and delay(0) turns it off."""
    server.delay(0.2)
    start = time.monotonic()
    assert fetch(server, "GET", "/auth/version").status == 200
    assert time.monotonic() - start >= 0.2
    server.set_delay(30)
    server.set_delay(0)
    start = time.monotonic()
    assert fetch(server, "GET", "/auth/version").status == 200
    assert time.monotonic() - start < 5.0  # a delay left on would take 30 s


def test_drop_next_closes_without_answer(server: FakeAuthServer) -> None:
    """drop_next(n) closes the connection of n requests without any response."""
    server.drop_next(1)
    with pytest.raises(ConnectionError):
        fetch(server, "GET", "/auth/version")
    assert fetch(server, "GET", "/auth/version").status == 200
    assert server.count("GET", "/auth/version") == 2


def test_clear_faults_turns_everything_off(server: FakeAuthServer) -> None:
    """clear_faults cancels pending failures, drops and the delay."""
    server.fail_next(5)
    server.drop_next(5)
    server.delay(5)
    server.clear_faults()
    assert fetch(server, "GET", "/auth/version").status == 200


def test_request_log_records_every_request(server: FakeAuthServer) -> None:
    """The log keeps method, path, query, headers and body; clear_log empties it."""
    fetch(server, "GET", "/auth/api/v1/user?id=1,2", bearer(server.admin_token))
    fetch(
        server,
        "POST",
        "/auth/api/v1/user/token",
        {**bearer(server.user_token), "Content-Type": "application/json"},
        '{"description": "logged"}',
    )
    first, second = server.requests
    assert (first.method, first.path, first.query) == (
        "GET",
        "/auth/api/v1/user",
        "id=1,2",
    )
    assert first.headers["Authorization"] == "Bearer " + server.admin_token
    assert (second.method, second.body) == ("POST", b'{"description": "logged"}')
    assert server.request_count == 2
    assert server.count("post", "/auth/api/v1/user/token") == 1
    assert server.count("GET", "/auth/api/v1/user/token") == 0
    server.clear_log()
    assert (server.requests, server.request_count) == ([], 0)
