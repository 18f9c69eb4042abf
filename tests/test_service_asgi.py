"""Tests for cave_auth.service.asgi: the ASGI middleware, bare and under FastAPI."""

from __future__ import annotations

import asyncio
import json
import threading

from fastapi import FastAPI
from fastapi import Request as FastAPIRequest
from fastapi.testclient import TestClient

from cave_auth.service import Checker, Rule, Settings, TransportLookups
from cave_auth.service.asgi import AuthASGIMiddleware
from cave_auth.testing import FakeTransport, json_response

API = "/auth/api/v1"
USER = {"id": 5, "groups": []}


def make_checker(gate=None):
    def cache(request):
        if gate is not None:
            gate.wait(2)
        if request.token == "good":
            return USER
        return json_response({"error": "invalid_token"}, status=401)

    fake = FakeTransport({("GET", API + "/user/cache"): cache})
    settings = Settings("https://auth.example.org/auth")
    return Checker(settings, TransportLookups(settings.auth_url, fake)), fake


async def app(scope, receive, send):
    user = scope.get("state", {}).get("auth_user")
    body = json.dumps({"user": user}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def call(middleware, headers=(), path="/x", query=b""):
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": query,
        "scheme": "http",
        "server": ("testserver", 80),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
    }
    await middleware(scope, receive, send)
    start, body = sent
    return start["status"], dict(start["headers"]), body["body"]


def test_allow_deny_redirect():
    """The ASGI middleware allows, denies and redirects like the decorators."""
    checker, _ = make_checker()
    middleware = AuthASGIMiddleware(app, checker)

    async def run():
        ok = await call(middleware, [("Authorization", "Bearer good")])
        bad = await call(middleware, [("Authorization", "Bearer bad")])
        browser = await call(middleware, [("Host", "svc.example.org")])
        return ok, bad, browser

    ok, bad, browser = asyncio.run(run())
    assert ok[0] == 200
    assert json.loads(ok[2]) == {"user": USER}
    assert bad[0] == 401
    assert json.loads(bad[2])["error"] == "invalid_token"
    assert browser[0] == 302
    assert browser[1][b"location"] == (
        b"https://auth.example.org/auth/api/v1/authorize?redirect=http%3A//svc.example.org/x"
    )


def test_fifty_coroutines_one_lookup():
    """Fifty concurrent requests with a new token make one upstream call."""
    gate = threading.Event()
    checker, fake = make_checker(gate)
    middleware = AuthASGIMiddleware(app, checker)

    async def run():
        tasks = [
            asyncio.create_task(call(middleware, [("Authorization", "Bearer good")]))
            for _ in range(50)
        ]
        await asyncio.sleep(0.05)
        gate.set()
        return await asyncio.gather(*tasks)

    results = asyncio.run(run())
    assert [status for status, _, _ in results] == [200] * 50
    assert len(fake.requests) == 1


def test_fastapi_reads_the_user_from_request_state():
    """Under FastAPI the user is request.state.auth_user; unrouted paths pass."""
    checker, _ = make_checker()
    api = FastAPI()

    @api.get("/me")
    def me(request: FastAPIRequest):
        return {"id": request.state.auth_user["id"]}

    @api.get("/health")
    def health():
        return "ok"

    def route(method, path):
        return None if path == "/health" else (Rule(), {})

    api.add_middleware(AuthASGIMiddleware, checker=checker, route=route)
    client = TestClient(api)
    assert client.get("/me", headers={"Authorization": "Bearer good"}).json() == {
        "id": 5
    }
    assert client.get("/me", headers={"X-Requested-With": "x"}).status_code == 401
    assert client.get("/health").json() == "ok"
