"""Check tokens in front of any ASGI application (plain ASGI, no Starlette).

:class:`AuthASGIMiddleware` wraps an ASGI app like
:class:`~cave_auth.service.wsgi.AuthMiddleware` wraps a WSGI one, and
answers ``OPTIONS`` alike. An allowed request reaches the app with
``scope["state"]["auth_user"]`` and ``scope["state"]["auth_token"]``
(``request.state.auth_user`` in Starlette and FastAPI); a denial or redirect
is answered directly.

A WebSocket handshake is checked like a ``GET`` of its path (the token from
the ``Authorization`` header, the query parameter or the cookie: a browser
cannot set headers on a WebSocket; the cookie counts only from the
service's own or a trusted origin), but it cannot follow a redirect, so it
is always answered as a program: where HTTP would redirect a browser, the
socket gets the JSON 401 or 403 a program would. A refused handshake is
closed before the app runs: with that HTTP answer where the server offers
the ``websocket.http.response`` extension, otherwise with close code 1008
(policy violation), or 1013 (try again later) during an auth service outage.
``lifespan`` passes unchecked; any other scope type raises ``ValueError``
without calling the app, as the ASGI specification asks of a scope an
application does not understand.

The event loop never blocks: the decision is made by an
:class:`~cave_auth.service.async_checker.AsyncChecker` (facts from the
cache in the loop, misses as one flight per key, looked up by coroutines
with an async transport or in a worker thread without one). A body the decision needs
(public roots listed in JSON) is read first and replayed to the app.

:meth:`AuthASGIMiddleware.from_env` builds the checker from the variables
the Flask drop-in reads (see :mod:`cave_auth.service.configure`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

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
from .async_checker import AsyncChecker
from .configure import CheckerOptions
from .values import Allow, Deny, Request

if TYPE_CHECKING:
    from ..transport import AsyncTransport
    from ._http import OptionsPolicy, Route
    from .checker import Checker
    from .lookups import AsyncLookups
    from .values import Decision, Redirect, Rule

__all__ = ["AuthASGIMiddleware", "refuse_socket", "request_from_scope"]

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
        websocket=scope.get("type") == "websocket",
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
        deciding: The :class:`~cave_auth.service.async_checker.AsyncChecker`
            deciding about each request.
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
        self.deciding = AsyncChecker(checker, transport=transport, timeout=timeout)

    @classmethod
    def from_env(
        cls,
        app: ASGIApp,
        environ: Mapping[str, str],
        *,
        route: Route | None = None,
        transport: AsyncTransport | None = None,
        options: OptionsPolicy = "answer",
    ) -> AuthASGIMiddleware:
        """Wrap an app, configured from the Flask drop-in's environment variables.

        The checker is built by
        :class:`~cave_auth.service.configure.CheckerOptions` from
        ``environ`` (``AUTH_URL``, ``STICKY_AUTH_URL``, ``TOKEN_CACHE_*``,
        ``TOKEN_CACHE_REDIS_URL``, the proxy and CA bundle variables, ...),
        with a :class:`~cave_auth.Urllib3Transport` from
        :meth:`~cave_auth.Urllib3Transport.from_env` for the lookups made
        in a worker thread.

        Args:
            app: The ASGI application.
            environ: The environment mapping, e.g. ``os.environ``.
            route: As for the constructor.
            transport: An async transport for coroutine lookups, used exactly
                as given, e.g. ``cave_auth.aio.HttpxTransport.from_env(environ)``;
                without one, lookups run in a worker thread. That is the
                default because it works whatever loop serves the app: an
                httpx pool belongs to the one event loop it was opened in.
            options: As for the constructor.

        Returns:
            The middleware.

        Raises:
            ValueError: If a number variable is malformed (it is named).
            InvalidInputError: If a proxy or CA bundle variable is malformed.
        """
        settings = CheckerOptions.from_env(environ)
        checker = settings.checker(
            settings.lookups(settings.transport_from_env(environ))
        )
        return cls(
            app,
            checker,
            route,
            transport=transport,
            timeout=settings.timeout,
            options=options,
        )

    def __repr__(self) -> str:
        return f"AuthASGIMiddleware({self.app!r})"

    @property
    def async_lookups(self) -> AsyncLookups | None:
        """The coroutine lookups, or ``None`` (worker thread)."""
        return self.deciding.async_lookups

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
            await refuse_socket(scope, receive, send, decision)
        else:
            status, _, headers, payload = render(decision)
            await _respond(send, "http.", status, headers, payload)

    async def check(self, request: Request, rule: Rule) -> Decision:
        """Decide about one request without blocking the event loop.

        ``OPTIONS`` is checked like any other method: the middleware
        decides about it before it checks.

        Args:
            request: What the request carries.
            rule: What the route demands.

        Returns:
            The decision (a 503 when the auth service could not answer).
        """
        return await self.deciding.check(request, rule, check_options=True)


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


async def refuse_socket(
    scope: Scope, receive: Receive, send: Send, decision: Deny | Redirect
) -> None:
    """Refuse a WebSocket handshake with a denial, before the app accepts it.

    With the ``websocket.http.response`` extension the denial is sent as the
    handshake's HTTP answer; otherwise the socket is closed with 1008, or
    1013 during an auth service outage, the error code as the reason.

    Args:
        scope: The ASGI scope of the socket.
        receive: The ASGI receive callable (its next message is the
            ``websocket.connect``).
        send: The ASGI send callable.
        decision: The denial or the redirect (answered as a program's).
    """
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
