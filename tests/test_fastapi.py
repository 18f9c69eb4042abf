"""Tests for cave_auth.fastapi: the dependencies, their setup, and their doors.

The answers themselves are compared with middle_auth_client's in
test_service_conformance.py; here: what a handler gets, the configuration
from the environment (once, however many requests arrive first), and the
attacker's view: every method and the WebSocket refused without a token.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Request, WebSocket
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse

from cave_auth import fastapi as cafa
from cave_auth.service.configure import CheckerOptions
from cave_auth.testing import FakeAuthServer, FakeTransport, json_response

API = "/auth/api/v1"
RITA = {"id": 3, "name": "Rita", "groups": ["lab"], "permissions_v2": {"ds": ["view"]}}
AUTH_URL = "https://auth.example.org/auth"
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]

User = Annotated[dict[str, Any], Depends(cafa.auth_required)]


def fake_server() -> FakeTransport:
    def cache(request):
        if request.token == "rita":
            return RITA
        return json_response({"error": "invalid_token"}, status=401)

    return FakeTransport(
        {
            ("GET", API + "/user/cache"): cache,
            ("GET", API + "/service/datastack/table/t1/dataset"): "ds",
        }
    )


def make_api(
    ran: list[str] | None = None, *, setup: bool = True, **options: Any
) -> FastAPI:
    """An API with a handler per door; ``ran`` records each handler that ran."""
    ran = [] if ran is None else ran
    api = FastAPI()
    if setup:
        cafa.setup(api, **options)

    @api.api_route("/me", methods=[*METHODS, "OPTIONS"])
    def me(
        request: Request, user: User, token: Annotated[Any, Depends(cafa.auth_token)]
    ):
        ran.append(request.method)
        return {
            "user": user,
            "token": token,
            "state": [request.state.auth_user["id"], request.state.auth_token],
        }

    @api.get("/tables/{table_id}")
    def table(
        table_id: str,
        user: Annotated[Any, Depends(cafa.requires_permission("view"))],
    ):
        return {"table": table_id, "user": user["id"]}

    @api.get("/group")
    def group(user: User, member: Annotated[Any, Depends(cafa.requires_group("nope"))]):
        return {"user": user["id"]}

    @api.websocket("/ws")
    async def socket(
        websocket: WebSocket, user: Annotated[Any, Depends(cafa.auth_required)]
    ):
        ran.append("websocket")
        await websocket.accept()
        await websocket.send_json({"secret": "data", "user": user["id"]})
        await websocket.close()

    return api


def explicit(ran=None):
    return make_api(ran, auth_url=AUTH_URL, transport=fake_server())


BEARER = {"Authorization": "Bearer rita"}


def test_the_dependencies_give_the_user_and_the_token():
    """auth_required is the /user/cache record, auth_token the token; both in request.state."""
    with TestClient(explicit()) as client:
        answer = client.get("/me", headers=BEARER).json()
    assert answer == {"user": RITA, "token": "rita", "state": [3, "rita"]}


def test_requires_permission_reads_the_table_from_the_path():
    """requires_permission looks the path's table_id up and checks the permission."""
    with TestClient(explicit()) as client:
        served = client.get("/tables/t1", headers=BEARER)
        unknown = client.get("/tables/t2", headers=BEARER)
    assert served.json() == {"table": "t1", "user": 3}
    assert (unknown.status_code, unknown.json()["error"]) == (400, "invalid_table_id")


def test_a_second_dependency_checks_only_its_own_rule():
    """Stacked on auth_required, requires_group refuses a member of other groups with 403."""
    with TestClient(explicit()) as client:
        refused = client.get("/group", headers=BEARER)
    assert refused.status_code == 403
    assert refused.text == "Requires membership of group: nope"


@pytest.mark.parametrize("method", METHODS)
def test_every_method_is_refused_without_a_token_and_served_with_one(method):
    """No token: 401 for a program, 302 for a browser, the handler never runs; a token: 200."""
    ran: list[str] = []
    with TestClient(explicit(ran), base_url="http://localhost") as client:
        program = client.request(method, "/me", headers={"X-Requested-With": "x"})
        browser = client.request(method, "/me", follow_redirects=False)
        invalid = client.request(method, "/me", headers={"Authorization": "Bearer x"})
        assert ran == []
        served = client.request(method, "/me", headers=BEARER)
    assert program.status_code == 401
    assert program.headers["www-authenticate"].startswith('Bearer realm="')
    assert browser.status_code == 302
    assert browser.headers["location"].startswith(AUTH_URL + "/api/v1/authorize")
    assert invalid.status_code == 401
    if method != "HEAD":
        assert program.json()["error"] == "no_token"
        assert invalid.json()["error"] == "invalid_token"
        assert b"Rita" not in program.content + browser.content + invalid.content
    assert served.status_code == 200
    assert ran == [method]


def test_options_is_answered_without_running_the_handler():
    """OPTIONS on a route listing it gets 204 and Allow; the handler never runs."""
    ran: list[str] = []
    with TestClient(explicit(ran)) as client:
        answer = client.options("/me")
    assert answer.status_code == 204
    assert "GET" in answer.headers["allow"]
    assert answer.content == b""
    assert ran == []


def test_a_websocket_is_refused_without_a_token_and_served_with_one():
    """The handshake without a token gets the JSON 401; with one the socket is served."""
    ran: list[str] = []
    with TestClient(explicit(ran)) as client:
        with (
            pytest.raises(WebSocketDenialResponse) as refused,
            client.websocket_connect("/ws"),
        ):
            pass
        with (
            pytest.raises(WebSocketDenialResponse) as invalid,
            client.websocket_connect("/ws?middle_auth_token=wrong"),
        ):
            pass
        assert ran == []
        with client.websocket_connect("/ws?middle_auth_token=rita") as socket:
            served = socket.receive_json()
    assert (refused.value.status_code, refused.value.json()["error"]) == (
        401,
        "no_token",
    )
    assert (invalid.value.status_code, invalid.value.json()["error"]) == (
        401,
        "invalid_token",
    )
    assert served == {"secret": "data", "user": 3}


def test_a_page_elsewhere_cannot_open_a_websocket_with_the_cookie():
    """A foreign origin's handshake is refused before the handler; a trusted one is served."""
    ran: list[str] = []
    api = make_api(
        ran,
        auth_url=AUTH_URL,
        transport=fake_server(),
        trusted_origins="https://viewer.example",
    )
    cookie = {"Cookie": "middle_auth_token=rita"}
    with TestClient(api) as client:
        with (
            pytest.raises(WebSocketDenialResponse) as refused,
            client.websocket_connect(
                "/ws", headers={"Origin": "https://evil.example", **cookie}
            ),
        ):
            pass
        assert ran == []
        for origin in ("https://viewer.example", "http://testserver"):
            headers = {"Origin": origin, **cookie}
            with client.websocket_connect("/ws", headers=headers) as socket:
                assert socket.receive_json() == {"secret": "data", "user": 3}
    assert (refused.value.status_code, refused.value.json()["error"]) == (
        403,
        "foreign_origin",
    )


def test_without_the_denial_extension_a_websocket_is_closed_with_1008():
    """A server without websocket.http.response gets close code 1008 naming the error."""
    ran: list[str] = []
    api = explicit(ran)
    sent: list[dict[str, Any]] = []
    messages = [{"type": "websocket.connect"}]

    async def receive():
        return messages.pop(0) if messages else {"type": "websocket.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "websocket",
        "path": "/ws",
        "raw_path": b"/ws",
        "query_string": b"",
        "headers": [(b"host", b"svc")],
        "scheme": "ws",
        "server": ("svc", 80),
        "root_path": "",
    }
    asyncio.run(api(scope, receive, send))
    assert sent == [{"type": "websocket.close", "code": 1008, "reason": "no_token"}]
    assert ran == []


def test_without_setup_every_checked_request_fails_closed():
    """An app that never called setup() answers 500 and never runs the handler."""
    ran: list[str] = []
    api = make_api(ran, setup=False)
    with TestClient(api, raise_server_exceptions=False) as client:
        answer = client.get("/me", headers=BEARER)
    assert answer.status_code == 500
    assert ran == []
    with TestClient(api) as client, pytest.raises(RuntimeError, match=r"setup\(app\)"):
        client.get("/me", headers=BEARER)


def test_auth_disabled_gives_each_request_its_own_copy_of_the_disabled_user():
    """With AUTH_DISABLED a handler may change its user without changing the next one's."""
    api = FastAPI()
    cafa.setup(api, auth_url=AUTH_URL, transport=fake_server(), disabled=True)

    @api.get("/")
    def index(user: User):
        user["name"] = "changed"
        return user

    with TestClient(api) as client:
        client.get("/")
        answer = client.get("/").json()
    assert answer["name"] == "changed"
    assert answer["email"] == "AUTH_DISABLED@AUTH.DISABLED"
    with TestClient(api) as client:
        assert client.get("/").json()["id"] == 0


def test_setup_with_an_environ_reads_it_at_once():
    """setup(app, environ) configures now, and a malformed variable fails there."""
    api = FastAPI()
    state = cafa.setup(api, {"AUTH_URL": "a.example/auth", "TOKEN_CACHE_TTL": "9"})
    assert state.built
    assert state.checker.cache.ttl == 9.0
    with pytest.raises(ValueError, match="TOKEN_CACHE_TTL"):
        cafa.setup(FastAPI(), {"TOKEN_CACHE_TTL": "nine"})
    with pytest.raises(TypeError, match="auth_url"):
        cafa.setup(FastAPI(), token_name="t")


def test_the_environment_is_read_at_the_first_request_once_for_a_burst(monkeypatch):
    """Without settings, os.environ is read at the first checked request: once, for 4 loops x 10 requests."""
    reads: list[int] = []

    class CountingOptions(CheckerOptions):
        @classmethod
        def from_env(cls, environ):
            reads.append(1)
            return CheckerOptions.from_env(environ)

    monkeypatch.setattr(cafa, "CheckerOptions", CountingOptions)
    with FakeAuthServer() as server:
        server.set_delay(0.2)  # the lookups of a herd would overlap
        monkeypatch.setenv("AUTH_URL", f"{server.url}/auth")
        monkeypatch.setenv("TOKEN_CACHE_TTL", "77")
        api = make_api()
        state = api.state.cave_auth
        assert not state.built
        bearer = {"Authorization": f"Bearer {server.user_token}"}
        barrier = threading.Barrier(4)
        statuses: list[int] = []

        async def burst():
            transport = httpx.ASGITransport(app=api)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://svc"
            ) as client:
                barrier.wait(timeout=30)
                answers = await asyncio.gather(
                    *(client.get("/me", headers=bearer) for _ in range(10))
                )
            statuses.extend(answer.status_code for answer in answers)

        threads = [
            threading.Thread(target=asyncio.run, args=(burst(),)) for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        lookups = server.count("GET", "/auth/api/v1/user/cache")
    assert statuses == [200] * 40
    assert reads == [1]
    assert state.checker.cache.ttl == 77.0
    assert lookups == 1


@pytest.mark.parametrize(
    ("given", "namespace", "used"),
    [
        ({}, "datastack", "rita"),
        ({"service_token": "svc"}, "datastack", "svc"),
        ({"service_token": "svc", "service_namespace": "lab"}, "lab", "svc"),
    ],
)
def test_setup_gives_the_service_token_and_namespace_of_table_lookups(
    given, namespace, used
):
    """The service token and namespace given to setup serve table lookups, as in Flask."""
    seen = []

    def dataset(request):
        seen.append(request.token)
        return "ds"

    fake = fake_server()
    fake.add_route("GET", f"{API}/service/{namespace}/table/t1/dataset", dataset)
    api = FastAPI()
    cafa.setup(api, {"AUTH_URL": AUTH_URL}, transport=fake, **given)

    @api.get("/table/{table_id}")
    def table(
        table_id: str, user: Annotated[Any, Depends(cafa.requires_permission("view"))]
    ):
        return {"table": table_id}

    with TestClient(api) as client:
        answer = client.get("/table/t1", headers={"Authorization": "Bearer rita"})
    assert answer.status_code == 200
    assert seen == [used]
