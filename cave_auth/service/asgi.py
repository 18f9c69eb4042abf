"""Check tokens in front of any ASGI application (plain ASGI, no Starlette).

:class:`AuthASGIMiddleware` wraps an ASGI app like
:class:`~cave_auth.service.wsgi.AuthMiddleware` wraps a WSGI one, and
answers ``OPTIONS`` alike. An allowed request reaches the app with
``scope["state"]["auth_user"]`` and ``scope["state"]["auth_token"]``
(``request.state.auth_user`` in Starlette and FastAPI); a denial or redirect
is answered directly.

A WebSocket handshake is checked like a ``GET`` of its path (the token from
the ``Authorization`` header, the query parameter or the cookie: a browser
cannot set headers on a WebSocket), but it cannot follow a redirect, so it
is always answered as a program: where HTTP would redirect a browser, the
socket gets the JSON 401 or 403 a program would. A refused handshake is
closed before the app runs: with that HTTP answer where the server offers
the ``websocket.http.response`` extension, otherwise with close code 1008
(policy violation), or 1013 (try again later) during an auth service outage.
``lifespan`` passes unchecked; any other scope type raises ``ValueError``
without calling the app, as the ASGI specification asks of a scope an
application does not understand.

The event loop never blocks: each fact the decision needs is taken from the
checker's cache in the loop (from this process's memory: a shared cache's
``peek`` does no I/O), and only a miss is looked up. Given an
:class:`~cave_auth.AsyncTransport`, the lookup is a coroutine
(:class:`~cave_auth.service.lookups.AsyncTransportLookups`, the same route
flows as the checker's sync lookups) and its answer is
kept in the checker's cache with the checker's TTLs; without one, the
checker's own (blocking) lookup runs in a worker thread
(:func:`asyncio.to_thread`). A ``user_lookup`` override of the checker is a
plain function, so it always runs in a worker thread. With a shared cache
(:class:`~cave_auth.service.redis.RedisCache`), a miss goes to a worker
thread too, for the Redis round trips and the wait for another process's
lookup; the lookup itself is still the coroutine, run in the loop. The
checker's bound on lookups in flight, its counters and stale-if-error hold
on every path. Either way concurrent
misses of one fact are joined in the loop (one future per key), so fifty
coroutines with a new token make one lookup. A body the decision needs
(public roots listed in JSON) is read first and replayed to the app.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from .._drive import adrive
from ._http import (
    OPTIONS_ALLOW,
    current_url,
    options_policy,
    parse_cookies,
    parse_query,
    render,
    route_all,
    route_method,
)
from .cache import MISSING
from .decision import evaluate, unavailable
from .lookups import AsyncTransportLookups, AuthServiceUnavailable, ask
from .values import Allow, Deny, RefreshNeed, Request, UserNeed

if TYPE_CHECKING:
    from collections.abc import Hashable

    from ..transport import AsyncTransport
    from ._http import OptionsPolicy, Route
    from .checker import Checker
    from .lookups import AsyncLookups
    from .values import Decision, Need, Redirect

__all__ = ["AuthASGIMiddleware", "request_from_scope"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def request_from_scope(
    scope: Scope, body: bytes = b"", path_params: dict[str, Any] | None = None
) -> Request:
    """Describe an ASGI HTTP request or WebSocket handshake for the decision.

    Args:
        scope: The ASGI scope.
        body: The request body, if it was read.
        path_params: The view's path parameters, if known.

    Returns:
        The request description.
    """
    headers: dict[str, str] = {}
    for name, value in scope.get("headers", ()):
        headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    query = scope.get("query_string", b"").decode("latin-1")

    def url() -> str:
        host = headers.get("host")
        if host is None:
            server = scope.get("server") or ("localhost", None)
            host = server[0] if server[1] is None else f"{server[0]}:{server[1]}"
        return current_url(
            scope.get("scheme", "http"),
            host,
            scope.get("root_path", ""),
            scope.get("path", ""),
            query,
        )

    return Request(
        scope.get("method", "GET"),
        url,
        headers,
        parse_query(query.encode("latin-1").decode("utf-8", "replace")),
        parse_cookies(headers.get("cookie")),
        path_params or {},
        body,
        programmatic=scope.get("type") == "websocket",
    )


class AuthASGIMiddleware:
    """An ASGI middleware that checks the CAVE token of each request and socket.

    Args:
        app: The ASGI application.
        checker: The checker (settings, lookups, cache).
        route: Which rule each ``(method, path)`` needs (a WebSocket is
            asked as ``GET``); every request needs a valid token if omitted.
        transport: An async transport to look facts up with, at the
            checker's ``auth_url``; without
            one, the checker's lookups run in a worker thread.
        timeout: The time budget of each async lookup, in seconds.
        options: What an ``OPTIONS`` request gets, as for
            :class:`~cave_auth.service.wsgi.AuthMiddleware`.

    Attributes:
        async_lookups: The coroutine lookups, or ``None`` (worker thread).
    """

    def __init__(
        self,
        app: ASGIApp,
        checker: Checker,
        route: Route | None = None,
        *,
        transport: AsyncTransport | None = None,
        timeout: float | None = 5.0,
        options: OptionsPolicy = "answer",
    ) -> None:
        self.app = app
        self.checker = checker
        self.route = route or route_all()
        self.options = options_policy(options)
        self.async_lookups: AsyncLookups | None = None
        if transport is not None:
            self.async_lookups = AsyncTransportLookups(
                checker.settings.auth_url, transport, timeout
            )
        self._flights: dict[Hashable, asyncio.Future[Any]] = {}

    def __repr__(self) -> str:
        return f"AuthASGIMiddleware({self.app!r})"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check a request or socket, then call the app or answer the denial.

        Args:
            scope: The ASGI scope.
            receive: The ASGI receive callable.
            send: The ASGI send callable.

        Raises:
            ValueError: For a scope type other than ``http``, ``websocket``
                and ``lifespan`` (the app is not called).
        """
        kind = scope["type"]
        if kind == "lifespan":
            await self.app(scope, receive, send)
            return
        if kind == "http":
            method = route_method(scope.get("method", "GET"))
        elif kind == "websocket":
            method = "GET"  # the handshake is a GET (RFC 6455)
        else:
            raise ValueError(
                f"AuthASGIMiddleware does not know the ASGI scope type {kind!r}, "
                "so it did not call the app: it checks 'http' and 'websocket' "
                "and passes 'lifespan'"
            )
        if method == "OPTIONS" and self.options != "check":
            if self.options == "pass":
                await self.app(scope, receive, send)
            else:
                await _respond(send, "http.", 204, [("Allow", OPTIONS_ALLOW)], b"")
            return
        found = self.route(method, scope.get("path", ""))
        if found is None:
            await self.app(scope, receive, send)
            return
        rule, params = found
        body = b""
        if kind == "http" and rule.public_node_json_key is not None:
            body, receive = await _buffer(receive)
        decision = await self.check(request_from_scope(scope, body, dict(params)), rule)
        if isinstance(decision, Allow):
            state = scope.setdefault("state", {})
            state["auth_user"] = decision.user
            state["auth_token"] = decision.token
            await self.app(scope, receive, send)
        elif kind == "websocket":
            await _refuse_socket(scope, receive, send, decision)
        else:
            status, _, headers, payload = render(decision)
            await _respond(send, "http.", status, headers, payload)

    async def check(self, request: Request, rule: Any) -> Decision:
        """Decide about one request without blocking the event loop.

        Args:
            request: What the request carries.
            rule: What the route demands.

        Returns:
            The decision (a 503 when the auth service could not answer).
        """
        steps = evaluate(request, rule, self.checker.settings, check_options=True)
        try:
            return await adrive(steps, self._answer)
        except AuthServiceUnavailable:
            return unavailable(self.checker.settings)

    async def _answer(self, need: Need) -> Any:
        """Answer a need from the checker's cache in the loop, or by a flight."""
        answer = self.checker.cached(need)
        return await self._flight(need) if answer is MISSING else answer

    async def _flight(self, need: Need) -> Any:
        key: Hashable = (isinstance(need, RefreshNeed), self.checker.key(need))
        pending = self._flights.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._flights[key] = future
        try:
            answer = await self._lookup(need)
        except BaseException as error:
            future.set_exception(error)
            future.exception()
            raise
        else:
            future.set_result(answer)
            return answer
        finally:
            del self._flights[key]

    async def _lookup(self, need: Need) -> Any:
        """Answer a need that missed the cache: a coroutine, or a worker thread."""
        checker, lookups = self.checker, self.async_lookups
        user_need = isinstance(need, (UserNeed, RefreshNeed))
        if lookups is None or (user_need and checker.user_lookup is not None):
            return await asyncio.to_thread(checker.fetch, need)
        if checker.cache.shared:
            # A shared cache waits on the network (Redis, another process's
            # lookup): that happens in a worker thread, and the lookup itself
            # runs here in the loop, as a coroutine.
            loop = asyncio.get_running_loop()

            def lookup(asked: Any) -> Any:
                coroutine = ask(lookups, asked)
                return asyncio.run_coroutine_threadsafe(coroutine, loop).result()

            return await asyncio.to_thread(checker.fetch, need, lookup)
        asked = checker.refreshed(need)
        if asked is None:
            return None
        key = checker.key(asked)
        cached = checker.cache.peek(key)
        if cached is not MISSING:
            return cached
        try:
            with checker.upstream():
                answer = await ask(lookups, asked)
        except AuthServiceUnavailable as error:
            return checker.stale(key, error)
        checker.cache.put(key, answer, checker.ttl(asked, answer))
        return answer


async def _respond(
    send: Send, prefix: str, status: int, headers: list[tuple[str, str]], body: bytes
) -> None:
    """Send a whole HTTP answer (``prefix`` ``http.`` or ``websocket.http.``)."""
    await send(
        {
            "type": prefix + "response.start",
            "status": status,
            "headers": [(n.lower().encode(), v.encode()) for n, v in headers],
        }
    )
    await send({"type": prefix + "response.body", "body": body})


async def _refuse_socket(
    scope: Scope, receive: Receive, send: Send, decision: Deny | Redirect
) -> None:
    """Close a WebSocket handshake with a denial, before the app runs."""
    if (await receive())["type"] != "websocket.connect":
        return  # the client left before its handshake was answered
    status, _, headers, body = render(decision)
    if "websocket.http.response" in (scope.get("extensions") or {}):
        await _respond(send, "websocket.http.", status, headers, body)
        return
    # Only a close code reaches the client; the reason names the error.
    error = isinstance(decision, Deny) and decision.data and decision.data["error"]
    await send(
        {
            "type": "websocket.close",
            "code": 1013 if status == 503 else 1008,
            "reason": error or HTTPStatus(status).phrase,
        }
    )


async def _buffer(receive: Receive) -> tuple[bytes, Receive]:
    chunks = []
    message: Message = {}
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            if message.get("type") == "http.disconnect":
                return message
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay
