"""Tests for cave_auth.service.asgi: WebSocket handshakes are checked like requests."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
import uvicorn
from asgi_doors import door_api, door_checker
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from cave_auth.service import Rule
from cave_auth.service.asgi import AuthASGIMiddleware


def refusal(client, url, headers=None):
    """Open a WebSocket that must be refused on its handshake; return the refusal."""
    with (
        pytest.raises(WebSocketDenialResponse) as refused,
        client.websocket_connect(url, headers=dict(headers or {})),
    ):
        pass
    return refused.value


def test_websocket_without_a_valid_token_is_refused_before_the_app_runs():
    """A WebSocket with no or a bad token is refused with the HTTP request's answer."""
    client = TestClient(door_api(door_checker()))
    for headers in ({}, {"Authorization": "Bearer bad"}, {"Origin": "http://x"}):
        refused = refusal(client, "/ws", headers)
        http = client.get("/data", headers={"X-Requested-With": "x", **headers})
        assert refused.status_code == http.status_code == 401
        assert refused.content == http.content
        assert b"secret" not in refused.content
        assert refused.headers["www-authenticate"].startswith("Bearer realm=")
    for url, headers in (
        ("/ws?middle_auth_token=bad", {}),
        ("/ws?middle_auth_token=good", {"Authorization": "Bearer bad"}),
        ("/ws?middle_auth_token=bad", {"Cookie": "middle_auth_token=good"}),
    ):  # header over query over cookie, as for HTTP
        refused = refusal(client, url, headers)
        assert refused.status_code == 401
        assert refused.json()["error"] == "invalid_token"


def test_websocket_with_a_valid_token_reaches_the_app_with_the_user():
    """A valid token in the header, the query or the cookie opens the socket."""
    client = TestClient(door_api(door_checker()))
    for url, headers in (
        ("/ws", {"Authorization": "Bearer good"}),
        ("/ws?middle_auth_token=good", {}),
        ("/ws?middle_auth_token=good", {"Origin": "http://x"}),
        ("/ws", {"Cookie": "middle_auth_token=good"}),
    ):
        with client.websocket_connect(url, headers=headers) as socket:
            assert socket.receive_json() == {"secret": "data", "user": 5}


def test_websocket_is_denied_where_a_browser_would_be_redirected():
    """Where HTTP redirects a browser (login, terms), a WebSocket is denied."""
    rule = Rule("permission", permission="view", dataset="ds")
    client = TestClient(
        door_api(door_checker(), route=lambda method, path: (rule, {})),
        follow_redirects=False,
    )
    for headers, status, error in (
        ({}, 401, "no_token"),
        ({"Cookie": "middle_auth_token=tos"}, 403, "missing_tos"),
    ):
        assert client.get("/data", headers=headers).status_code == 302
        refused = refusal(client, "/ws", headers)
        assert (refused.status_code, refused.json()["error"]) == (status, error)


def test_a_page_elsewhere_cannot_open_a_websocket_with_the_cookie():
    """A handshake from another origin is refused before the app if only the cookie vouches."""
    client = TestClient(door_api(door_checker()))
    cookie = {"Cookie": "middle_auth_token=good"}
    for origin in ("http://evil.example", "https://testserver.evil.example", "null"):
        refused = refusal(client, "/ws", {"Origin": origin, **cookie})
        assert refused.status_code == 403
        assert refused.json()["error"] == "foreign_origin"
        assert refused.json()["data"] == {"origin": origin}
        assert b"good" not in refused.content
    # The same request over HTTP is answered as middle_auth_client answers it.
    http = client.get("/data", headers={"Origin": "http://evil.example", **cookie})
    assert http.json() == {"secret": "data", "user": 5}


def test_the_services_own_pages_and_trusted_origins_open_a_websocket_with_the_cookie():
    """The service's own origin, a trusted one, and a token given on purpose are served."""
    checker = door_checker(trusted_origins=["https://viewer.example:8443"])
    client = TestClient(door_api(checker))
    cookie = {"Cookie": "middle_auth_token=good"}
    for url, headers in (
        ("/ws", {"Origin": "http://testserver", **cookie}),  # TestClient's host
        ("/ws", {"Origin": "https://testserver", **cookie}),  # TLS ended in front
        ("/ws", {"Origin": "https://Viewer.example:8443", **cookie}),
        ("/ws", cookie),  # no Origin: not a browser
        ("/ws?middle_auth_token=good", {"Origin": "http://evil.example", **cookie}),
    ):
        with client.websocket_connect(url, headers=headers) as socket:
            assert socket.receive_json() == {"secret": "data", "user": 5}
    refused = refusal(client, "/ws", {"Origin": "https://viewer.example", **cookie})
    assert refused.status_code == 403  # the trusted origin's port is part of it


async def socket_app(scope, receive, send):
    """A bare ASGI WebSocket app that sends its data to whoever it accepts."""
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    user = scope.get("state", {}).get("auth_user")
    await send(
        {"type": "websocket.send", "text": json.dumps({"user": user and user["id"]})}
    )


async def http_call(middleware, headers):
    """Answer a GET of /ws over HTTP through the middleware: (status, headers, body)."""
    sent = []

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/ws",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
    }
    await middleware(scope, None, send)
    start, body = sent
    return start["status"], start["headers"], body["body"]


async def websocket_call(middleware, headers=(), extensions=None, first="connect"):
    received, sent = [], []

    async def receive():
        received.append("websocket." + first)
        return {"type": "websocket." + first}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "websocket",
        "path": "/ws",
        "query_string": b"",
        "scheme": "ws",
        "server": ("testserver", 80),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
        "subprotocols": [],
    }
    if extensions is not None:
        scope["extensions"] = extensions
    await middleware(scope, receive, send)
    return received, sent


def test_raw_websocket_denial_with_the_http_response_extension():
    """Where the server offers it, a denial is an HTTP response on the handshake."""
    middleware = AuthASGIMiddleware(socket_app, door_checker())
    offer = {"websocket.http.response": {}}
    _, sent = asyncio.run(websocket_call(middleware, [("Origin", "x")], offer))
    status, headers, body = asyncio.run(http_call(middleware, [("Origin", "x")]))
    start, answer = sent
    assert start["type"] == "websocket.http.response.start"
    assert start["status"] == status == 401
    assert start["headers"] == headers
    assert answer == {"type": "websocket.http.response.body", "body": body}
    assert json.loads(body)["error"] == "no_token"
    _, sent = asyncio.run(
        websocket_call(middleware, [("Authorization", "Bearer good")], offer)
    )
    assert sent[0] == {"type": "websocket.accept"}
    assert json.loads(sent[1]["text"]) == {"user": 5}


def test_raw_websocket_denial_without_the_extension_closes_with_1008():
    """Without the extension, the handshake is received and closed with 1008."""
    middleware = AuthASGIMiddleware(socket_app, door_checker())
    for headers, error in (
        ([], "no_token"),
        ([("Authorization", "Bearer bad")], "invalid_token"),
    ):
        received, sent = asyncio.run(websocket_call(middleware, headers))
        assert received == ["websocket.connect"]
        assert sent == [{"type": "websocket.close", "code": 1008, "reason": error}]
    _, sent = asyncio.run(websocket_call(middleware, first="disconnect"))
    assert sent == []  # the client left: nothing to close
    good = [("Authorization", "Bearer good")]
    _, sent = asyncio.run(websocket_call(middleware, good))
    assert [message["type"] for message in sent] == [
        "websocket.accept",
        "websocket.send",
    ]


def test_websocket_during_an_auth_outage_is_refused_as_try_again_later():
    """An outage refuses a WebSocket with 503 (extension) or close code 1013."""
    middleware = AuthASGIMiddleware(socket_app, door_checker(fake_status=503))
    headers = [("Authorization", "Bearer good")]
    _, sent = asyncio.run(websocket_call(middleware, headers))
    assert sent == [
        {"type": "websocket.close", "code": 1013, "reason": "auth_service_unavailable"}
    ]
    offer = {"websocket.http.response": {}}
    _, sent = asyncio.run(websocket_call(middleware, headers, offer))
    assert sent[0]["status"] == 503
    assert (b"retry-after", b"1") in sent[0]["headers"]


def serve(api):
    """Run an app under uvicorn on loopback in a thread; return (server, port)."""
    server = uvicorn.Server(
        uvicorn.Config(api, host="127.0.0.1", port=0, lifespan="off", log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    return server, thread, server.servers[0].sockets[0].getsockname()[1]


def test_websocket_under_uvicorn_with_a_real_client():
    """Under uvicorn a real client is refused without a token or by a foreign cookie."""
    server, thread, port = serve(door_api(door_checker()))
    url = f"ws://127.0.0.1:{port}/ws"
    try:
        with pytest.raises(InvalidStatus) as refused:
            connect(url, origin="http://app.example", proxy=None, open_timeout=30)
        assert refused.value.response.status_code == 401
        assert json.loads(refused.value.response.body)["error"] == "no_token"
        with pytest.raises(InvalidStatus) as refused:
            connect(url + "?middle_auth_token=bad", proxy=None, open_timeout=30)
        assert refused.value.response.status_code == 401
        with connect(
            url + "?middle_auth_token=good", origin="http://app.example", proxy=None
        ) as socket:
            assert json.loads(socket.recv(timeout=30)) == {"secret": "data", "user": 5}
        cookie = [("Cookie", "middle_auth_token=good")]
        with pytest.raises(InvalidStatus) as refused:
            connect(
                url, origin="http://app.example", additional_headers=cookie, proxy=None
            )
        assert refused.value.response.status_code == 403
        assert json.loads(refused.value.response.body)["error"] == "foreign_origin"
        own = f"http://127.0.0.1:{port}"
        with connect(url, origin=own, additional_headers=cookie, proxy=None) as socket:
            assert json.loads(socket.recv(timeout=30)) == {"secret": "data", "user": 5}
    finally:
        server.should_exit = True
        thread.join(30)
