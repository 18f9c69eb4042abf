"""FastAPI dependencies that check the CAVE token, answering as the Flask drop-in.

:func:`setup` prepares an app once; then a route depends on
:func:`auth_required` (any valid token; the dependency's value is the
user's ``/user/cache`` record, what ``flask.g.auth_user`` would be), or on
what :func:`requires_permission` and its siblings return, which take the
arguments of the ``cave_auth.flask`` decorators. A denial is answered with
the status, headers and body the Flask drop-in (and ``middle_auth_client``
3.19.2) gives: the JSON 401 with ``WWW-Authenticate``, the 403s, the 302 to
the login page or the terms of service for a browser, the 503 of an auth
service outage. Path parameters (``table_id``, ``root_id``) are read from
the request's ``path_params``. An allowed request finds the user and the
token in ``request.state.auth_user`` and ``request.state.auth_token``
(:func:`auth_token` returns the token), as behind the ASGI middleware.

A WebSocket route takes the same dependencies: its handshake is checked
like a ``GET`` and refused as by
:class:`~cave_auth.service.asgi.AuthASGIMiddleware` (the JSON answer a
program gets, as the handshake's HTTP answer where the server offers it,
else close code 1008, or 1013 during an outage).

``OPTIONS`` differs from Flask on purpose: a route listing ``OPTIONS`` is
answered 204 with an ``Allow`` header and its handler does not run, where a
Flask view runs unchecked. A browser's CORS preflight belongs to a CORS
middleware, which answers it before any route.

The decision never blocks the event loop: it is made by an
:class:`~cave_auth.service.async_checker.AsyncChecker` (answers from the
cache in the loop, one lookup per token however many requests wait for it,
lookups in a worker thread or, with an async transport, as coroutines).

This module is an edge: without explicit settings, :func:`setup` leaves
the configuration to the first checked request, which reads the variables
of the Flask drop-in from ``os.environ`` (see
:mod:`cave_auth.service.configure`), once per app however many requests
arrive first together.
"""

from __future__ import annotations

from importlib.util import find_spec

# FastAPI is an extra: without it, say which one to install rather than let
# the first ``import fastapi`` below fail with a bare "No module named".
if find_spec("fastapi") is None:
    raise ModuleNotFoundError(
        "cave_auth.fastapi needs FastAPI, which is not installed: "
        "pip install 'cave-auth[fastapi]'",
        name="fastapi",
    )

import asyncio
import copy
import os
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs
from fastapi import FastAPI
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from .service._http import OPTIONS_ALLOW, render
from .service.asgi import refuse_socket, request_from_scope
from .service.async_checker import AsyncChecker
from .service.configure import CheckerOptions
from .service.values import ANONYMOUS_USER, DISABLED_USER, Allow, Rule

if TYPE_CHECKING:
    from .service.cache import CheckerCache
    from .service.checker import Checker
    from .service.values import Deny, Redirect
    from .transport import AsyncTransport, Transport

__all__ = [
    "AuthRefused",
    "FastAPIAuth",
    "auth_required",
    "auth_token",
    "requires_admin",
    "requires_dataset_admin",
    "requires_group",
    "requires_login",
    "requires_permission",
    "setup",
]

STATE = "cave_auth"
"""The name of an app's :class:`FastAPIAuth` in ``app.state``."""

Dependency = Callable[[HTTPConnection], Awaitable[Mapping[str, Any] | None]]
"""A guard to pass to ``fastapi.Depends``; its value is the user's record."""


class FastAPIAuth:
    """One app's token checking, built at :func:`setup` or at first use.

    Args:
        build: Makes the decision maker; called once, at the first use.
    """

    def __init__(self, build: Callable[[], AsyncChecker]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._deciding: AsyncChecker | None = None

    def __repr__(self) -> str:
        return f"FastAPIAuth({self._deciding!r})"

    @property
    def built(self) -> bool:
        """Whether the checker exists yet."""
        return self._deciding is not None

    def build(self) -> AsyncChecker:
        """Return the decision maker, built the first time (once, under a lock)."""
        deciding = self._deciding
        if deciding is None:
            # Threads serving the app with their own event loops may all
            # arrive first: one builds, the others wait and use its checker.
            with self._lock:
                if self._deciding is None:
                    self._deciding = self._build()
                deciding = self._deciding
        return deciding

    @property
    def deciding(self) -> AsyncChecker:
        """The decision maker (see :meth:`build`)."""
        return self.build()

    @property
    def checker(self) -> Checker:
        """The checker (settings, cache, lookups, counters)."""
        return self.deciding.checker


class AuthRefused(Exception):
    """A request the dependencies refused; :func:`setup`'s handler answers it.

    Attributes:
        decision: The denial or redirect, or ``None`` for an ``OPTIONS``
            request (answered 204).
    """

    def __init__(self, decision: Deny | Redirect | None) -> None:
        super().__init__(None if decision is None else decision.status)
        self.decision = decision


def setup(
    app: FastAPI,
    environ: Mapping[str, str] | None = None,
    *,
    transport: Transport | None = None,
    async_transport: AsyncTransport | None = None,
    cache: CheckerCache | None = None,
    service_token: str | None = None,
    service_namespace: str | None = None,
    **options: Any,
) -> FastAPIAuth:
    """Prepare an app for the dependencies of this module; call it once.

    It registers the exception handler that answers a refused request, and
    configures the checking: from ``options`` if given, else from
    ``environ`` if given (now), else from ``os.environ`` at the first
    checked request.

    Args:
        app: The FastAPI app.
        environ: The environment mapping to read now (the variables of
            :meth:`~cave_auth.service.configure.CheckerOptions.from_env`).
        transport: The HTTP transport of the lookups, used exactly as given;
            if omitted, a :class:`~cave_auth.Urllib3Transport` from the
            environment's proxy and CA variables, or with ``options``' own
            ``timeout`` and ``ca_certs`` (no environment is read).
        async_transport: An async transport for coroutine lookups; without
            one, lookups run in a worker thread.
        cache: The cache, used exactly as given; if omitted, one made of
            the cache settings.
        service_token: The service's own token, for table lookups and
            public checks: what a Flask app sets as
            ``app.config["AUTH_TOKEN"]``. It joins either configuration.
        service_namespace: The default namespace of table lookups
            (``app.config["AUTH_SERVICE_NAMESPACE"]`` in Flask).
        **options: Explicit settings: ``auth_url`` and the other fields of
            :class:`~cave_auth.service.configure.CheckerOptions`.

    Returns:
        The app's state, also in ``app.state.cave_auth``.

    Raises:
        TypeError: If ``options`` has no ``auth_url`` or an unknown name.
        ValueError: If a number variable of ``environ`` is malformed.
    """
    if options and "auth_url" not in options:
        raise TypeError("setup(app, **options) needs auth_url, the auth service")

    def configured() -> AsyncChecker:
        if options:
            settings = CheckerOptions(**options)
            http = transport or settings.transport()
        else:
            found = os.environ if environ is None else environ
            settings = CheckerOptions.from_env(found)
            http = transport or settings.transport_from_env(found)
        if service_token is not None or service_namespace is not None:
            settings = attrs.evolve(
                settings,
                service_token=service_token or settings.service_token,
                service_namespace=service_namespace or settings.service_namespace,
            )
        checker = settings.checker(settings.lookups(http), cache=cache)
        return AsyncChecker(
            checker, transport=async_transport, timeout=settings.timeout
        )

    state = FastAPIAuth(configured)
    if options or environ is not None:
        state.build()  # now, so that bad settings fail here
    # One handler answers requests and WebSockets; Starlette types the two apart.
    app.add_exception_handler(AuthRefused, _answer)  # type: ignore[arg-type]
    setattr(app.state, STATE, state)
    return state


async def _answer(connection: HTTPConnection, error: Exception) -> Response | None:
    """Answer a refused request or WebSocket handshake."""
    decision = error.decision if isinstance(error, AuthRefused) else None
    if decision is None:
        return Response(status_code=204, headers={"Allow": OPTIONS_ALLOW})
    if isinstance(connection, WebSocket):
        await refuse_socket(
            connection.scope, connection.receive, connection.send, decision
        )
        return None
    status, _, headers, body = render(decision)
    return Response(body, status, headers=dict(headers))


async def _state(connection: HTTPConnection) -> FastAPIAuth:
    state = getattr(connection.app.state, STATE, None)
    if not isinstance(state, FastAPIAuth):
        # Without setup's exception handler a refusal would be a bare 500;
        # every checked request fails instead, saying what is missing.
        raise RuntimeError(
            "cave_auth.fastapi.setup(app) was not called for this app: call it "
            "once where the app is made, before serving"
        )
    if not state.built:
        # The first build reads the environment and may wait for another
        # thread's build: off the event loop.
        await asyncio.to_thread(state.build)
    return state


def _fresh(user: Mapping[str, Any]) -> Mapping[str, Any]:
    # The shared anonymous and disabled users must not be changed by a handler.
    if user is ANONYMOUS_USER or user is DISABLED_USER:
        return copy.deepcopy(dict(user))
    return user


async def _check(connection: HTTPConnection, rule: Rule) -> Mapping[str, Any] | None:
    """Check one request against one rule; the user, or raise AuthRefused."""
    if connection.scope.get("method") == "OPTIONS":
        raise AuthRefused(None)
    state = connection.state
    stacked = hasattr(state, "auth_token")
    if stacked and rule.kind == "login":
        return state.auth_user  # type: ignore[no-any-return]
    deciding = (await _state(connection)).deciding
    body = b""
    if rule.public_node_json_key is not None and isinstance(connection, Request):
        body = await connection.body()
    request = request_from_scope(connection.scope, body, dict(connection.path_params))
    authenticated = (state.auth_user, state.auth_token) if stacked else None
    decision = await deciding.check(request, rule, authenticated=authenticated)
    if not isinstance(decision, Allow):
        raise AuthRefused(decision)
    user = decision.user
    if authenticated is None:
        state.auth_user = _fresh(user)  # type: ignore[arg-type]
        state.auth_token = decision.token
    elif user is not authenticated[0] and user is not DISABLED_USER:
        state.auth_user = user  # a refresh after a denial found a newer record
    return state.auth_user  # type: ignore[no-any-return]


def _guard(rule: Rule) -> Dependency:
    async def guard(connection: HTTPConnection) -> Mapping[str, Any] | None:
        return await _check(connection, rule)

    return guard


_LOGIN = Rule()
_ADMIN = Rule("admin")


async def auth_required(connection: HTTPConnection) -> Mapping[str, Any] | None:
    """Require a valid token; the value is the user's ``/user/cache`` record.

    Args:
        connection: The request or WebSocket (FastAPI passes it).

    Returns:
        The user's record (a copy of the disabled user with
        ``AUTH_DISABLED``).

    Raises:
        AuthRefused: For a denial, answered by :func:`setup`'s handler.
    """
    return await _check(connection, _LOGIN)


async def auth_token(connection: HTTPConnection) -> str | None:
    """Require a valid token, as :func:`auth_required`; the value is the token.

    Args:
        connection: The request or WebSocket (FastAPI passes it).

    Returns:
        The token (``None`` for public access without one, ``AUTH_DISABLED``
        with ``AUTH_DISABLED``).

    Raises:
        AuthRefused: For a denial, answered by :func:`setup`'s handler.
    """
    await _check(connection, _LOGIN)
    return connection.state.auth_token  # type: ignore[no-any-return]


async def requires_admin(connection: HTTPConnection) -> Mapping[str, Any] | None:
    """Require a superadmin (403 ``Requires superadmin privilege.``).

    Same as :func:`auth_required` but for ``auth_requires_admin``'s rule.
    """
    return await _check(connection, _ADMIN)


def requires_login(
    *,
    required_permission: str | None = None,
    public_table_key: str | None = None,
    public_node_key: str | None = None,
    public_node_json_key: str | None = None,
    service_token: str | None = None,
) -> Dependency:
    """Same as :func:`cave_auth.flask.auth_required` with options, but a dependency.

    Returns:
        The dependency; its value is the user's record.
    """
    return _guard(
        Rule(
            "login",
            permission=required_permission,
            public_table_key=public_table_key,
            public_node_key=public_node_key,
            public_node_json_key=public_node_json_key,
            service_token=service_token,
        )
    )


def requires_permission(
    permission: str,
    *,
    table_arg: str = "table_id",
    public_table_key: str | None = None,
    public_node_key: str | None = None,
    public_node_json_key: str | None = None,
    service_token: str | None = None,
    dataset: str | None = None,
    table_id: Any = None,
    resource_namespace: str | None = None,
    ignore_tos: bool = False,
) -> Dependency:
    """Same as :func:`cave_auth.flask.auth_requires_permission`, but a dependency.

    ``permission`` is that decorator's ``required_permission``; the others
    are its options, ``table_arg`` naming a path parameter.

    Returns:
        The dependency; its value is the user's record.
    """
    return _guard(
        Rule(
            "permission",
            permission=permission,
            public_table_key=public_table_key,
            public_node_key=public_node_key,
            public_node_json_key=public_node_json_key,
            service_token=service_token,
            dataset=dataset,
            table_arg=table_arg,
            table_id=table_id,
            resource_namespace=resource_namespace,
            ignore_tos=ignore_tos,
        )
    )


def requires_dataset_admin(
    *,
    service_token: str | None = None,
    dataset: str | None = None,
    table_arg: str = "table_id",
    table_id: Any = None,
    resource_namespace: str | None = None,
) -> Dependency:
    """Same as :func:`cave_auth.flask.auth_requires_dataset_admin`, but a dependency.

    Returns:
        The dependency; its value is the user's record.
    """
    return _guard(
        Rule(
            "dataset_admin",
            service_token=service_token,
            dataset=dataset,
            table_arg=table_arg,
            table_id=table_id,
            resource_namespace=resource_namespace,
        )
    )


def requires_group(group: str) -> Dependency:
    """Same as :func:`cave_auth.flask.auth_requires_group`, but a dependency.

    Returns:
        The dependency; its value is the user's record.
    """
    return _guard(Rule("group", group=group))
