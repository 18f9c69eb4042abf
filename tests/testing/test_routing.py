"""Tests of the fake server's route matching, 404/405/OPTIONS and CORS.

Conformance cases of unknown routes.
"""

from __future__ import annotations

import pytest

from cave_auth.testing import FakeAuthServer, FakeSeed
from cave_auth.testing.backend import Backend
from cave_auth.testing.messages import AppRequest
from cave_auth.testing.routing import ROUTES, App

from .conformance import (
    PAGE_404,
    PAGE_405,
    PAGE_500,
    Case,
    bearer,
    case_params,
    check_case,
    fetch,
)

# fmt: off
CASES: list[Case] = [
    Case("16", "unknown route /auth/api/v1/nope", "GET", "/auth/api/v1/nope", "admin",
        404, "text/html", text=PAGE_404),
]
# fmt: on


@pytest.mark.parametrize("case", case_params(CASES))
def test_conformance(case: Case, shared: FakeAuthServer) -> None:
    """Each stateless recorded case gets the recorded status, type, shape, headers."""
    check_case(case, shared)


def test_head_and_options_follow_get(shared: FakeAuthServer) -> None:
    """HEAD answers GET's status and Content-Length without a body; OPTIONS skips auth."""
    get = fetch(shared, "GET", "/auth/api/v1/user/me", bearer(shared.admin_token))
    head = fetch(shared, "HEAD", "/auth/api/v1/user/me", bearer(shared.admin_token))
    assert head.status == 200
    assert head.body == b""
    assert head.headers["Content-Length"] == get.headers["Content-Length"]
    options = fetch(shared, "OPTIONS", "/auth/api/v1/user/token")
    assert options.status == 200
    assert options.headers["Allow"] == "HEAD, GET, POST, OPTIONS"


def test_unrecorded_method_and_route(shared: FakeAuthServer) -> None:
    """A method the fake does not serve is a 405 and an unknown path a Flask 404."""
    token = bearer(shared.admin_token)
    reply = fetch(shared, "PUT", "/auth/api/v1/user/2", token)
    assert (reply.status, reply.text) == (405, PAGE_405)
    assert reply.headers["Allow"] == "HEAD, GET, OPTIONS"
    reply = fetch(shared, "GET", "/auth/api/v1/user/token/abc/expiry", token)
    assert (reply.status, reply.text) == (404, PAGE_404)
    reply = fetch(shared, "GET", "/elsewhere")
    assert (reply.status, reply.text) == (404, PAGE_404)
    assert reply.headers.get("Access-Control-Allow-Origin") is None


def _app_request(method: str, path: str, **headers: str) -> AppRequest:
    return AppRequest(method, path, "", headers, b"", "http://127.0.0.1:1" + path)


def test_app_dispatches_without_a_socket() -> None:
    """App.handle answers a parsed request; int parameters match digits only."""
    seed = FakeSeed.default()
    app = App(Backend(seed))
    admin = "Bearer " + seed.named_tokens["admin"]
    reply = app.handle(_app_request("GET", "/auth/api/v1/group/2", authorization=admin))
    assert (reply.status, reply.body) == (200, b'{"id":2,"name":"testgroup"}\n')
    assert ("Access-Control-Allow-Origin", "*") in reply.headers
    assert app.handle(_app_request("GET", "/auth/api/v1/group/x")).status == 404


def test_one_app_per_backend_shares_no_state() -> None:
    """Two apps on two backends do not see each other's changes."""
    first, second = App(Backend(FakeSeed.default())), App(Backend(FakeSeed.default()))
    first.backend.users.clear()
    assert second.backend.users
    assert first.routes is second.routes is ROUTES


def test_a_failing_view_is_a_flask_500() -> None:
    """An exception inside a view becomes werkzeug's 500 page, CORS included."""
    seed = FakeSeed.default()
    app = App(Backend(seed))
    reply = app.handle(
        AppRequest(
            "GET",
            "/auth/api/v1/username",
            "id=abc",
            {"authorization": "Bearer " + seed.named_tokens["user"]},
            b"",
            "http://127.0.0.1:1/auth/api/v1/username?id=abc",
        )
    )
    assert (reply.status, reply.body.decode()) == (500, PAGE_500)
    assert ("Access-Control-Allow-Origin", "*") in reply.headers
