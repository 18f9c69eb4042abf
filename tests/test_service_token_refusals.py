"""A token the auth service refuses, through every adapter: rejected, never an outage.

The WSGI middleware, the ASGI middleware (its lookups in a worker thread or
through an async transport) and the Flask drop-in answer alike: a token
lookup answered 400, 413, 414 or 431 (what nginx in front of the real server
answers to a header too large) is an invalid token, 401, kept for
``rejected_ttl``; a token over 2,048 characters is refused without asking.
Each adapter runs behind the real client of its kind (werkzeug's, Starlette's,
Flask's) over a counting ``FakeTransport``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import flask
import pytest
from fastapi.testclient import TestClient
from werkzeug.test import Client

from cave_auth import flask as caf
from cave_auth.service import Checker, LookupCache, Settings, TransportLookups
from cave_auth.service.asgi import AuthASGIMiddleware
from cave_auth.service.wsgi import AuthMiddleware
from cave_auth.testing import (
    FakeAsyncTransport,
    FakeRequest,
    FakeTransport,
    text_response,
)

AUTH = "https://auth.example.org/auth"
USER_CACHE = "/auth/api/v1/user/cache"
USER = {"id": 5, "groups": []}
OVERSIZE = "t" * 9000
REJECTED_TTL = 60.0
NGINX_400 = (
    "<html>\r\n<head><title>400 Request Header Or Cookie Too Large</title></head>\r\n"
    "<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n</body>\r\n</html>\r\n"
)
INVALID_TOKEN = {
    "error": "invalid_token",
    "message": "Unauthorized - Token is Invalid or Expired",
}

Get = Callable[[str], tuple[int, bytes, str | None]]
"""Send one request with a bearer token; return (status, body, WWW-Authenticate)."""


def nginx_like(request: FakeRequest) -> object:
    """Answer like the real server behind nginx: 400 to a header over 8 KiB."""
    if len(request.token or "") > 8000:
        return text_response(NGINX_400, status=400)
    if request.token == "good":
        return USER
    return text_response("", status=401)


def cache() -> LookupCache:
    return LookupCache(rejected_ttl=REJECTED_TTL)


def wsgi(fake: FakeTransport, _: FakeAsyncTransport) -> Get:
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(environ["cave_auth.user"]).encode()]

    checker = Checker(Settings(AUTH), TransportLookups(AUTH, fake), cache=cache())
    client = Client(AuthMiddleware(app, checker))

    def get(token: str) -> tuple[int, bytes, str | None]:
        response = client.get("/x", headers={"Authorization": f"Bearer {token}"})
        return (
            response.status_code,
            response.data,
            response.headers.get("WWW-Authenticate"),
        )

    return get


async def asgi_app(scope, receive, send):
    body = json.dumps(scope["state"]["auth_user"]).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def asgi_get(middleware: AuthASGIMiddleware) -> Get:
    client = TestClient(middleware)

    def get(token: str) -> tuple[int, bytes, str | None]:
        response = client.get("/x", headers={"Authorization": f"Bearer {token}"})
        return (
            response.status_code,
            response.content,
            response.headers.get("www-authenticate"),
        )

    return get


def asgi_threads(fake: FakeTransport, _: FakeAsyncTransport) -> Get:
    checker = Checker(Settings(AUTH), TransportLookups(AUTH, fake), cache=cache())
    return asgi_get(AuthASGIMiddleware(asgi_app, checker))


def asgi_aio(sync: FakeTransport, fake: FakeAsyncTransport) -> Get:
    checker = Checker(Settings(AUTH), TransportLookups(AUTH, sync), cache=cache())
    return asgi_get(AuthASGIMiddleware(asgi_app, checker, transport=fake))


def flask_drop_in(fake: FakeTransport, _: FakeAsyncTransport) -> Get:
    app = flask.Flask(__name__)
    caf.init_app(app, auth_url=AUTH, transport=fake, rejected_ttl=REJECTED_TTL)

    @app.route("/x")
    @caf.auth_required
    def view():
        return flask.g.auth_user

    client = app.test_client()

    def get(token: str) -> tuple[int, bytes, str | None]:
        response = client.get("/x", headers={"Authorization": f"Bearer {token}"})
        return (
            response.status_code,
            response.data,
            response.headers.get("WWW-Authenticate"),
        )

    return get


ADAPTERS = {
    "wsgi": wsgi,
    "asgi-threads": asgi_threads,
    "asgi-aio": asgi_aio,
    "flask": flask_drop_in,
}


def world(adapter: str, answer: Callable[[FakeRequest], object]):
    """Return ``get`` through ``adapter`` and the transport it looks tokens up with."""
    sync = FakeTransport({("GET", USER_CACHE): answer})
    asynchronous = FakeAsyncTransport({("GET", USER_CACHE): answer})
    get = ADAPTERS[adapter](sync, asynchronous)
    return get, (asynchronous if adapter == "asgi-aio" else sync)


def assert_invalid_token(answer: tuple[int, bytes, str | None]) -> None:
    status, body, realm = answer
    assert status == 401
    assert json.loads(body) == INVALID_TOKEN
    assert realm is not None
    assert 'error="invalid_token"' in realm


@pytest.mark.parametrize("status", [400, 413, 414, 431])
@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
def test_a_lookup_refused_as_too_large_is_one_cached_rejection(adapter, status, caplog):
    """20 requests whose token lookup is refused with a 4xx: one lookup, 20 401s, no warning."""
    get, transport = world(adapter, lambda request: text_response("", status=status))
    with caplog.at_level(logging.DEBUG):
        answers = [get("a" * 40) for _ in range(20)]
    for answer in answers:
        assert_invalid_token(answer)
    assert len(transport.requests) == 1
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
def test_an_oversize_token_is_refused_without_asking(adapter, caplog):
    """A 9,000-character token is a 401 invalid_token, 20 times, with no upstream call."""
    get, transport = world(adapter, nginx_like)
    with caplog.at_level(logging.DEBUG):
        answers = [get(OVERSIZE) for _ in range(20)]
    for answer in answers:
        assert_invalid_token(answer)
    assert transport.requests == []
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    status, body, _ = get("good")
    assert (status, json.loads(body)) == (200, USER)
    assert len(transport.requests) == 1


def test_an_oversize_token_never_reaches_a_lookup_override():
    """A 9,000-character token is refused before a permission_lookup override runs."""
    asked: list[int] = []

    def lookup(token: str) -> object:
        asked.append(len(token))
        return USER if token == "good" else None

    app = flask.Flask(__name__)
    caf.init_app(
        app, auth_url=AUTH, transport=FakeTransport(), permission_lookup=lookup
    )

    @app.route("/x")
    @caf.auth_required
    def view():
        return flask.g.auth_user

    client = app.test_client()
    oversize = client.get("/x", headers={"Authorization": f"Bearer {OVERSIZE}"})
    assert oversize.status_code == 401
    assert oversize.get_json() == INVALID_TOKEN
    assert client.get("/x", headers={"Authorization": "Bearer good"}).status_code == 200
    assert asked == [4]
