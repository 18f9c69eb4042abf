"""Tests for cave_auth.service.asgi: the ASGI middleware, bare and under FastAPI."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from asgi_doors import door_api, door_checker
from fastapi import FastAPI
from fastapi import Request as FastAPIRequest
from fastapi.testclient import TestClient
from starlette.middleware.cors import CORSMiddleware

from cave_auth.errors import InvalidInputError
from cave_auth.service import Checker, Rule, Settings, TransportLookups
from cave_auth.service.asgi import AuthASGIMiddleware
from cave_auth.testing import FakeAsyncTransport, FakeTransport, json_response

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


SERVICE = "5e41cee00a4e0ce1b3cd0a2a8e8e2c7b"
ROOT = 720575940000000001  # beyond 2**53


class SlowAsyncTransport:
    """A FakeAsyncTransport that yields to the loop before it answers."""

    def __init__(self, fake):
        self.fake = fake

    async def request(self, *args, **kwargs):
        await asyncio.sleep(0.02)
        return await self.fake.request(*args, **kwargs)


def async_world(transport_wrapper=None):
    """A checker whose sync lookups must not run, and an async fake server."""

    def cache(request):
        if request.token == "good":
            return USER
        return json_response({"error": "invalid_token"}, status=401)

    fake = FakeAsyncTransport(
        {
            ("GET", API + "/user/cache"): cache,
            ("GET", API + "/service/datastack/table/t/dataset"): "ds",
            ("GET", API + f"/table/t/root/{ROOT}/is_public"): True,
        }
    )
    unused = FakeTransport(handler=lambda request: pytest.fail("sync lookup used"))
    settings = Settings("https://auth.example.org/auth", service_token=SERVICE)
    checker = Checker(settings, TransportLookups(settings.auth_url, unused))
    transport = fake if transport_wrapper is None else transport_wrapper(fake)
    return checker, fake, transport


@pytest.fixture
def no_threads(monkeypatch):
    """Fail if anything hands work to a worker thread."""

    async def refuse(*args, **kwargs):
        raise AssertionError("a worker thread was used")

    monkeypatch.setattr(asyncio, "to_thread", refuse)


def test_async_transport_allows_denies_and_redirects_in_the_loop(no_threads):
    """With an async transport, lookups run as coroutines: no worker thread."""
    checker, fake, transport = async_world()
    middleware = AuthASGIMiddleware(app, checker, transport=transport, timeout=2.0)

    async def run():
        ok = await call(middleware, [("Authorization", "Bearer good")])
        again = await call(middleware, [("Authorization", "Bearer good")])
        bad = await call(middleware, [("Authorization", "Bearer bad")])
        browser = await call(middleware, [("Host", "svc.example.org")])
        return ok, again, bad, browser

    ok, again, bad, browser = asyncio.run(run())
    assert (ok[0], json.loads(ok[2])) == (200, {"user": USER})
    assert again == ok
    assert bad[0] == 401
    assert json.loads(bad[2])["error"] == "invalid_token"
    assert browser[0] == 302
    cache_calls = fake.requests_to("GET", API + "/user/cache")
    assert len(cache_calls) == 2  # good once (then cached), bad once
    assert {r.timeout for r in cache_calls} == {2.0}


def test_async_single_flight_across_coroutines(no_threads):
    """Fifty coroutines with a new token make one upstream call through aio."""
    checker, fake, transport = async_world(SlowAsyncTransport)
    middleware = AuthASGIMiddleware(app, checker, transport=transport)

    async def run():
        return await asyncio.gather(
            *(call(middleware, [("Authorization", "Bearer good")]) for _ in range(50))
        )

    results = asyncio.run(run())
    assert [status for status, _, _ in results] == [200] * 50
    assert len(fake.requests) == 1


def test_async_outage_is_503_and_not_cached(no_threads):
    """A 5xx through aio answers 503 and the next request asks again."""
    checker, fake, transport = async_world()
    fake.script("GET", API + "/user/cache", 503)
    middleware = AuthASGIMiddleware(app, checker, transport=transport)

    async def run():
        first = await call(middleware, [("Authorization", "Bearer good")])
        second = await call(middleware, [("Authorization", "Bearer good")])
        return first, second

    first, second = asyncio.run(run())
    assert first[0] == 503
    assert second[0] == 200
    assert len(fake.requests) == 2


def test_async_dataset_and_64_bit_public_root(no_threads):
    """Dataset and public-root lookups go through aio; a 64-bit root stays exact."""
    checker, fake, transport = async_world()
    public = Rule(
        "permission",
        permission="view",
        public_table_key="table_id",
        public_node_key="root_id",
        service_token=SERVICE,
    )

    def route(method, path):
        return public, {"table_id": "t", "root_id": ROOT}

    middleware = AuthASGIMiddleware(app, checker, route, transport=transport)
    status, _, body = asyncio.run(call(middleware, [("X-Requested-With", "x")]))
    assert status == 200
    assert json.loads(body)["user"]["id"] == 0
    (asked,) = fake.requests_to("GET", API + f"/table/t/root/{ROOT}/is_public")
    assert asked.headers["Authorization"] == "Bearer " + SERVICE


def test_without_async_transport_lookups_run_in_a_worker_thread():
    """Without an async transport the checker's blocking lookup runs off the loop."""
    checker, fake = make_checker()
    middleware = AuthASGIMiddleware(app, checker)
    assert middleware.async_lookups is None
    loop_thread = []

    def cache(request):
        loop_thread.append(threading.current_thread() is threading.main_thread())
        return USER

    fake.add_route("GET", API + "/user/cache", cache)
    status, _, _ = asyncio.run(call(middleware, [("Authorization", "Bearer good")]))
    assert status == 200
    assert loop_thread == [False]


# Doors: OPTIONS, HEAD, other scope types (issue 15, item 2; WebSockets
# are in test_service_asgi_websocket.py).


def test_lifespan_passes_and_unknown_scope_types_are_refused():
    """Only lifespan scopes pass unchecked; any other unknown type raises."""
    seen = []

    async def recorder(scope, receive, send):
        seen.append(scope["type"])

    middleware = AuthASGIMiddleware(recorder, door_checker())
    asyncio.run(middleware({"type": "lifespan"}, None, None))
    assert seen == ["lifespan"]
    with pytest.raises(ValueError, match="'webtransport'"):
        asyncio.run(middleware({"type": "webtransport", "path": "/"}, None, None))
    assert seen == ["lifespan"]


def test_options_is_answered_by_the_middleware_by_default():
    """OPTIONS never reaches the app unchecked: the middleware answers 204."""
    client = TestClient(door_api(door_checker()))
    answer = client.options("/data")
    assert answer.status_code == 204
    assert answer.content == b""
    assert "GET" in answer.headers["allow"]
    assert client.get("/data", headers={"Origin": "x"}).status_code == 401
    good = client.get("/data", headers={"Authorization": "Bearer good"})
    assert good.json() == {"secret": "data", "user": 5}


def test_options_check_and_pass_are_explicit():
    """options="check" checks OPTIONS like GET; options="pass" hands it over."""
    checked = TestClient(door_api(door_checker(), options="check"))
    assert checked.options("/data", headers={"Origin": "x"}).status_code == 401
    served = checked.options("/data", headers={"Authorization": "Bearer good"})
    assert served.json() == {"secret": "data", "user": 5}
    passed = TestClient(door_api(door_checker(), options="pass"))
    assert passed.options("/data").json() == {"secret": "data", "user": None}
    assert passed.get("/data", headers={"Origin": "x"}).status_code == 401
    with pytest.raises(InvalidInputError, match="'answer', 'check' or 'pass'"):
        AuthASGIMiddleware(app, door_checker(), options="skip")


def test_cors_outside_answers_preflights_and_auth_still_guards_the_data():
    """A CORS layer outside the auth middleware answers preflights before auth."""
    api = door_api(door_checker())
    api.add_middleware(
        CORSMiddleware, allow_origins=["https://app.example"], allow_headers=["*"]
    )
    client = TestClient(api)
    origin = {"Origin": "https://app.example"}
    preflight = client.options(
        "/data",
        headers={**origin, "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    assert client.options("/data", headers=origin).status_code == 204
    assert client.get("/data", headers=origin).status_code == 401
    served = client.get("/data", headers={**origin, "Authorization": "Bearer good"})
    assert served.json()["secret"] == "data"
    assert served.headers["access-control-allow-origin"] == "https://app.example"


def test_head_and_odd_case_methods_are_routed_as_the_framework_serves_them():
    """HEAD is routed as GET and methods upper-cased, so a route keyed on GET holds."""
    rules = {("GET", "/page"): (Rule(), {})}
    client = TestClient(
        door_api(door_checker(), route=lambda method, path: rules.get((method, path)))
    )
    head = client.head("/page", headers={"Origin": "x"})
    assert head.status_code == 401
    good = client.head("/page", headers={"Authorization": "Bearer good"})
    assert good.status_code == 200
    assert good.headers["content-length"] == str(len(b'{"secret":"data"}'))
    middleware = AuthASGIMiddleware(app, door_checker(), lambda m, p: rules.get((m, p)))

    async def lower(headers):
        sent = []

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "get", "path": "/page", "headers": headers}
        await middleware(scope, None, send)
        return sent[0]["status"]

    assert asyncio.run(lower([(b"origin", b"x")])) == 401
    assert asyncio.run(lower([(b"authorization", b"Bearer good")])) == 200


def test_async_stale_if_error_and_counters_in_the_loop(no_threads):
    """In the loop too, an outage serves a recent answer when stale_if_error allows."""
    from cave_auth.service import LookupCache

    checker, fake, transport = async_world()
    checker.cache = LookupCache(ttl=0.05, stale_if_error=60)
    middleware = AuthASGIMiddleware(app, checker, transport=transport)

    async def run():
        first = await call(middleware, [("Authorization", "Bearer good")])
        await asyncio.sleep(0.1)
        fake.script("GET", API + "/user/cache", 503, 503)
        stale = await call(middleware, [("Authorization", "Bearer good")])
        unknown = await call(middleware, [("Authorization", "Bearer new")])
        return first[0], stale[0], unknown[0]

    assert asyncio.run(run()) == (200, 200, 503)
    counters = checker.counters()
    assert counters["stale_served"] == 1
    assert counters["upstream_failures"] == 2
    assert counters["misses"] == 3


def test_async_lookups_in_flight_are_bounded(no_threads):
    """Beyond max_lookups a coroutine with a new token gets 503 at once."""
    unbounded, fake, _ = async_world()
    checker = Checker(unbounded.settings, unbounded.lookups, max_lookups=2)

    class HangingTransport:
        """Holds every request until the test opens the gate."""

        def __init__(self):
            self.gate = asyncio.Event()
            self.started = 0

        async def request(self, *args, **kwargs):
            self.started += 1
            await self.gate.wait()
            return await fake.request(*args, **kwargs)

    async def run():
        hanging = HangingTransport()
        middleware = AuthASGIMiddleware(app, checker, transport=hanging)
        slow = [
            asyncio.create_task(call(middleware, [("Authorization", f"Bearer s{n}")]))
            for n in range(2)
        ]
        while hanging.started < 2:
            await asyncio.sleep(0.01)
        refused = await call(middleware, [("Authorization", "Bearer one-more")])
        hanging.gate.set()
        return refused[0], [status for status, _, _ in await asyncio.gather(*slow)]

    assert asyncio.run(run()) == (503, [401, 401])
    assert checker.counters()["upstream_refused"] == 1


def test_from_env_over_the_shipped_httpx_transport_checks_in_the_loop(no_threads):
    """from_env with aio.HttpxTransport serves a real server's token and refuses a wrong one, no thread used."""
    from cave_auth import aio
    from cave_auth.testing import FakeAuthServer

    async def run(server):
        environ = {"AUTH_URL": f"{server.url}/auth"}
        async with aio.HttpxTransport(allow_insecure_http=True) as http:
            middleware = AuthASGIMiddleware.from_env(app, environ, transport=http)
            token = server.refresh_user_token
            good = await call(middleware, [("Authorization", f"Bearer {token}")])
            wrong = await call(middleware, [("Authorization", "Bearer " + "0" * 32)])
        return middleware, good, wrong

    with FakeAuthServer() as server:
        middleware, good, wrong = asyncio.run(run(server))
    assert middleware.async_lookups is not None
    assert good[0] == 200
    assert json.loads(good[2])["user"]["id"] == 5  # Rita, whose key it is
    assert wrong[0] == 401
