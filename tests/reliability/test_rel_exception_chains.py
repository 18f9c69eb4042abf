"""No exception that leaves cave_auth holds the token, anywhere in its chain.

Every kind of failure is made for real: a closed port, a server that stalls,
drops the connection, answers 5xx or garbage (echoing the path and the
``Authorization`` header it was sent, as error pages do), a certificate
nobody trusts, an unreachable proxy, a proxy on another machine, an answer
over ``max_body_size``. Each is met on the TTL route (the token in the path)
and on a normal one, through :mod:`cave_auth.api`, :mod:`cave_auth.aio` (over
``aio.HttpxTransport``) and the service side's lookups.

``raise ... from None`` only hides the exception being handled: it stays in
``__context__``. So the whole chain is searched, ``__cause__`` and
``__context__`` whether shown or not, and in each exception its ``str``,
``repr``, ``args`` and every attribute, and what those hold, a few levels
deep.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs
import pytest
import trustme
from loopback_server import Logged, LoopbackServer, Reply
from reliability_support import CANARY, leaks

import cave_auth as ca
from cave_auth import aio, api
from cave_auth.service import (
    AsyncTransportLookups,
    AuthServiceUnavailable,
    TransportLookups,
)

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(120)]

_DEPTH = 4
"""How deep the objects an exception holds are searched."""


def chain_texts(error: BaseException) -> Iterator[tuple[str, str]]:
    """Yield ``(where, text)`` for everything an exception chain holds."""
    seen: set[int] = set()
    todo: list[tuple[str, BaseException]] = [("raised", error)]
    while todo:
        where, current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        name = f"{where} {type(current).__name__}"
        yield f"str({name})", str(current)
        yield f"repr({name})", repr(current)
        held = {"args": current.args, **vars(current)}
        for attribute, value in held.items():
            yield from _held_texts(f"{name}.{attribute}", value, seen, todo, _DEPTH)
        for link in ("__cause__", "__context__"):
            chained = getattr(current, link)
            if chained is not None:
                todo.append((f"{name}.{link} ->", chained))


def _held_texts(
    where: str,
    value: object,
    seen: set[int],
    todo: list[tuple[str, BaseException]],
    depth: int,
) -> Iterator[tuple[str, str]]:
    if isinstance(value, BaseException):
        todo.append((where, value))
        return
    if isinstance(value, str | bytes):
        yield (
            where,
            value.decode("utf-8", "replace") if isinstance(value, bytes) else value,
        )
        return
    if value is None or isinstance(value, int | float) or id(value) in seen:
        return
    seen.add(id(value))
    try:
        yield f"repr({where})", repr(value)
    except Exception as exc:  # a half-built object's repr may fail
        yield f"repr({where})", f"<repr failed: {type(exc).__name__}>"
    if depth == 0:
        return
    items: Any
    if isinstance(value, Mapping):
        items = [(repr(key), item) for key, item in value.items()]
        items += [(f"key {index}", key) for index, key in enumerate(value)]
    elif isinstance(value, list | tuple | set | frozenset):
        items = list(enumerate(value))
    else:
        try:
            items = list(vars(value).items())
        except TypeError:
            return
    for key, item in items:
        yield from _held_texts(f"{where}[{key}]", item, seen, todo, depth - 1)


def leaked(error: BaseException) -> list[str]:
    """Name every place in ``error``'s chain that holds the canary."""
    return [where for where, text in chain_texts(error) if leaks(text)]


# ------------------------------------------------------------------- servers


def _echo(status: int, *, as_json: bool = False) -> Callable[[Logged], Reply]:
    """Answer with what the request carried: its path and Authorization."""

    def answer(request: Logged) -> Reply:
        said = f"no route {request.path} for {request.header('Authorization')}"
        body = json.dumps(said) if as_json else f"<html><p>{said}</p></html>"
        return Reply(status, body.encode())

    return answer


@pytest.fixture(scope="module")
def http_server() -> Iterator[LoopbackServer]:
    server = LoopbackServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tls_server() -> Iterator[LoopbackServer]:
    """An https server whose certificate no default trust store accepts."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("localhost").configure_cert(context)
    server = LoopbackServer(ssl_context=context)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@attrs.frozen
class Scene:
    """One kind of failure, ready to meet."""

    server: str
    """The server address of the Config."""
    transport: Mapping[str, Any]
    """Arguments of Urllib3Transport; HttpxTransport takes those it has."""
    error: type[ca.CaveAuthError]
    """What api and aio raise."""
    timeout: float | None = None


KINDS = [
    "connect refused",
    "read timeout",
    "connection dropped",
    "TLS failure",
    "proxy unreachable",
    "proxy not on this machine",
    "body too large",
    "5xx after retries",
    "not JSON",
    "JSON of another shape",
]


@pytest.fixture
def scene(
    request: pytest.FixtureRequest,
    http_server: LoopbackServer,
    tls_server: LoopbackServer,
    closed_port: int,
) -> Iterator[Scene]:
    kind = request.param
    local = http_server.url("", host="localhost")
    closed = f"http://127.0.0.1:{closed_port}"
    quick = {"retries": 2, "backoff_factor": 0, "timeout": 10}
    answers: dict[str, Any] = {
        "read timeout": Reply(200, b"late", delay=3),
        "connection dropped": Reply(drop=True),
        "body too large": _echo(200),
        "5xx after retries": _echo(503),
        "not JSON": _echo(200),
        "JSON of another shape": _echo(200, as_json=True),
    }
    scenes = {
        "connect refused": Scene(closed, quick, ca.TransportError),
        "read timeout": Scene(local, quick, ca.TransportError, timeout=0.4),
        "connection dropped": Scene(local, quick, ca.TransportError),
        "TLS failure": Scene(
            tls_server.url("", host="localhost"), quick, ca.TransportError
        ),
        "proxy unreachable": Scene(
            local, {**quick, "proxy": closed}, ca.TransportError
        ),
        "proxy not on this machine": Scene(
            local,
            {**quick, "proxy": "http://proxy.corp.example:3128"},
            ca.InsecureTransportError,
        ),
        "body too large": Scene(
            local, {**quick, "max_body_size": 16}, ca.ResponseTooLargeError
        ),
        "5xx after retries": Scene(local, quick, ca.ServerError),
        "not JSON": Scene(local, quick, ca.ResponseFormatError),
        "JSON of another shape": Scene(local, quick, ca.ResponseFormatError),
    }
    http_server.default = answers.get(kind, Reply(200, b"unexpected"))
    yield scenes[kind]
    http_server.default = Reply(200, b"ok")


ROUTES = {
    "TTL route": "get_token_ttl",
    "normal route": "whoami",
}


# Urllib3Transport's settings that HttpxTransport has too (it does not retry).
HTTPX_SETTINGS = ("timeout", "proxy", "max_body_size")


def _raised(call: Callable[[], Any]) -> BaseException:
    with pytest.raises(ca.CaveAuthError) as info:
        call()
    return info.value


async def _with_httpx(scene: Scene, use: Callable[[Any], Any]) -> Any:
    """Run ``use(transport)`` over aio.HttpxTransport, set up as the scene says."""
    settings = {k: v for k, v in scene.transport.items() if k in HTTPX_SETTINGS}
    async with aio.HttpxTransport(**settings) as http:
        return await use(http)


# --------------------------------------------------------------------- tests


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("scene", KINDS, indirect=True)
def test_api_errors_hold_no_token_in_their_chain(scene: Scene, route: str) -> None:
    """Whatever failed, the error api raises holds the token nowhere in its chain."""
    config = ca.Config(scene.server, token=CANARY)
    endpoint = getattr(api, ROUTES[route])
    with ca.Urllib3Transport(**scene.transport) as http:
        error = _raised(lambda: endpoint(config, http, timeout=scene.timeout))
    assert type(error) is scene.error, error
    assert leaked(error) == []


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("scene", KINDS, indirect=True)
def test_aio_errors_hold_no_token_in_their_chain(scene: Scene, route: str) -> None:
    """Over aio.HttpxTransport, the error aio raises holds the token nowhere in its chain."""
    config = ca.Config(scene.server, token=CANARY)
    endpoint = getattr(aio, ROUTES[route])

    def use(http: Any) -> Any:
        return endpoint(config, http, timeout=scene.timeout)

    error = _raised(lambda: asyncio.run(_with_httpx(scene, use)))
    assert type(error) is scene.error, error
    assert leaked(error) == []


@pytest.mark.parametrize("scene", KINDS, indirect=True)
def test_service_lookups_hold_no_token_in_their_chain(scene: Scene) -> None:
    """When the auth service cannot answer, the lookup's error holds the token nowhere in its chain."""
    with ca.Urllib3Transport(**scene.transport) as http:
        lookups = TransportLookups(f"{scene.server}/auth", http, scene.timeout or 10)
        with pytest.raises(AuthServiceUnavailable) as info:
            lookups.user(CANARY)
    assert leaked(info.value) == []


@pytest.mark.parametrize("scene", KINDS, indirect=True)
def test_async_service_lookups_hold_no_token_in_their_chain(scene: Scene) -> None:
    """The async lookups' error, over aio.HttpxTransport, holds the token nowhere in its chain."""

    def use(http: Any) -> Any:
        lookups = AsyncTransportLookups(
            f"{scene.server}/auth", http, scene.timeout or 10
        )
        return lookups.user(CANARY)

    with pytest.raises(AuthServiceUnavailable) as info:
        asyncio.run(_with_httpx(scene, use))
    assert leaked(info.value) == []


def test_the_chain_walk_finds_a_token_hidden_by_from_none() -> None:
    """The walk sees a token that ``from None`` only hides from the display."""

    class Holder:
        def __init__(self) -> None:
            self.detail = {"url": f"/user/token/{CANARY}/ttl"}

    def fail() -> None:
        try:
            raise OSError("inner", Holder())
        except OSError:
            raise ca.TransportError("outer") from None

    with pytest.raises(ca.TransportError) as info:
        fail()
    where = "raised TransportError.__context__ -> OSError.args[1][detail]['url']"
    assert where in leaked(info.value)
