"""The fake server's route table and the application that dispatches on it.

This module does no I/O. ``ROUTES`` lists every path the fake serves, with a
view per method (an ``OpenView``, or a ``View`` behind a ``Guard``), in the
manner of a moto ``urls.py``. ``App`` matches a request against it the way
Flask/werkzeug does:

* ``<int:...>`` parameters match digits only, so ``/group/abc/user`` is Flask's
  HTML 404 page before any auth check;
* a known path with another method is a 405 with ``Allow``; ``HEAD`` follows
  ``GET`` and ``OPTIONS`` is answered for every known path, without auth;
* an exception in a view is werkzeug's 500 page, as Flask turns any exception
  into one (a non-numeric id in ``/username?id=`` for instance);
* the CORS headers flask-cors adds are added to everything under ``/auth`` and
  ``/sticky_auth`` (not to ``/tosdemo``, a downstream service without it).

One ``App`` serves one server: it holds that server's ``Backend``, and the
route table itself holds no state.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from . import pages, views_groups, views_tables, views_tokens, views_users
from .backend import Backend
from .guards import Caller, Guard, check
from .messages import AppRequest, AppResponse, error_page

__all__ = ["ROUTES", "App", "GuardedFn", "OpenFn", "OpenView", "Route", "View"]

_EXPOSE_HEADERS: Final = "WWW-Authenticate, X-Requested-With"
_CORS_METHODS: Final = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
_METHOD_ORDER: Final = ("HEAD", "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


GuardedFn = Callable[[Backend, AppRequest, Caller, dict[str, str]], AppResponse]
"""A view behind a guard: ``fn(backend, req, caller, params)``."""

OpenFn = Callable[[Backend, AppRequest, dict[str, str]], AppResponse]
"""A view anyone may call: ``fn(backend, req, params)``."""


@dataclass(frozen=True)
class View:
    """A route handler and the guard it runs behind.

    Attributes:
        guard: Who may call it.
        fn: The view.
    """

    guard: Guard
    fn: GuardedFn


@dataclass(frozen=True)
class OpenView:
    """A route handler anyone may call, with or without a token.

    Attributes:
        fn: The view.
    """

    fn: OpenFn


@dataclass(frozen=True)
class Route:
    """A path pattern and its views by method.

    Attributes:
        pattern: Matched against the whole path; named groups are parameters.
        views: Method -> view.
        cors: Whether flask-cors adds its headers (``False``: not middle_auth).
    """

    pattern: re.Pattern[str]
    views: Mapping[str, View | OpenView]
    cors: bool = True


def _route(pattern: str, cors: bool = True, **views: View | OpenView) -> Route:
    """A route from a regular expression and ``METHOD=View`` pairs."""
    return Route(re.compile(pattern), MappingProxyType(views), cors)


_API: Final = r"/(?:auth|sticky_auth)/api/v1"
_STICKY: Final = r"/sticky_auth"
_ID: Final = r"(?P<id>\d+)"
_NAME: Final = r"[^/]+"
_SERVICE_TABLE: Final = (
    _API + rf"/service/(?P<service>{_NAME})/table/(?P<table>{_NAME})/dataset"
)
_TABLE: Final = _API + rf"/table/(?P<table>{_NAME})"

ROUTES: Final[tuple[Route, ...]] = (
    _route(r"/(?:auth|sticky_auth)/version", GET=OpenView(views_users.version)),
    _route(_API + "/user/me", GET=View("login", views_users.user_me)),
    _route(_API + "/user/cache", GET=View("login", views_users.my_permissions)),
    _route(_API + "/my_permissions", GET=View("login", views_users.my_permissions)),
    _route(_API + "/user/missing", GET=View("login", views_users.user_missing)),
    _route(
        _API + "/user/token",
        GET=View("login", views_tokens.list_tokens),
        POST=View("login", views_tokens.create_token),
    ),
    _route(
        _API + "/user/token/" + _ID, DELETE=View("login", views_tokens.delete_token)
    ),
    _route(
        _API + "/user/token/(?P<key>[^/]+)/ttl",
        GET=View("login", views_tokens.token_ttl),
    ),
    _route(_API + "/create_token", GET=View("login", views_tokens.create_token)),
    _route(_API + "/refresh_token", GET=View("login", views_tokens.refresh_token)),
    _route(_API + "/logout", GET=View("login", views_tokens.logout)),
    _route(_API + "/logout_all", GET=View("login", views_tokens.logout_all)),
    _route(_API + "/user", GET=View("some_admin", views_users.users_by_filter)),
    _route(_API + "/username", GET=View("login", views_users.usernames)),
    _route(_API + "/user/" + _ID, GET=View("login", views_users.user_by_id)),
    _route(
        _API + "/user/" + _ID + "/group",
        GET=View("some_admin", views_users.user_groups),
    ),
    _route(
        _API + "/user/" + _ID + "/permissions",
        GET=View("some_admin", views_users.user_permissions),
    ),
    _route(_API + "/group/" + _ID, GET=View("some_admin", views_groups.group)),
    _route(
        _API + "/group/" + _ID + "/user",
        GET=View("some_admin", views_groups.group_users),
    ),
    _route(
        _API + "/group/" + _ID + "/service_account",
        GET=View("some_admin", views_groups.group_service_accounts),
    ),
    _route(
        _API + "/service_account/" + _ID,
        GET=View("superadmin", views_groups.service_account),
    ),
    _route(_SERVICE_TABLE, GET=View("login", views_tables.table_dataset)),
    _route(
        _SERVICE_TABLE + rf"/(?P<dataset>{_NAME})",
        POST=View("superadmin", views_tables.map_table_dataset),
        DELETE=View("superadmin", views_tables.delete_table_dataset),
    ),
    _route(_TABLE + "/has_public", GET=View("login", views_tables.has_public)),
    _route(_TABLE + "/get_public_roots", GET=View("login", views_tables.public_roots)),
    _route(
        _TABLE + r"/root/(?P<root>\d+)/is_public",
        GET=View("login", views_tables.is_public),
    ),
    _route(
        _TABLE + "/root_all_public", POST=View("login", views_tables.root_all_public)
    ),
    _route(_STICKY + "/settings/tokens", GET=View("login", pages.tokens_page)),
    _route(
        _STICKY + "/api/v1/authorize",
        GET=OpenView(pages.authorize),
        POST=OpenView(pages.authorize),
    ),
    _route(
        _STICKY + "/api/v1/tos/" + _ID + "/accept",
        GET=View("login", pages.tos_form),
        POST=View("login", pages.tos_accept),
    ),
    _route(
        r"/tosdemo/(?P<datastack>[^/]+)/(?P<permission>view|edit)",
        cors=False,
        GET=View("login", views_groups.tosdemo),
    ),
)
"""Every route the fake serves, in matching order."""


class App:
    """The fake middle_auth application of one server: request in, response out.

    Not thread-safe by itself; ``FakeAuthServer`` calls it under its lock.

    Args:
        backend: The server's data.

    Attributes:
        backend: The server's data.
        routes: The route table (``ROUTES`` unless given).
    """

    def __init__(self, backend: Backend, routes: tuple[Route, ...] = ROUTES) -> None:
        self.backend = backend
        self.routes = routes

    def handle(self, req: AppRequest) -> AppResponse:
        """Answer one request.

        Args:
            req: The parsed request.

        Returns:
            The response, CORS headers included.
        """
        cors = req.path.startswith(("/auth/", "/sticky_auth/"))
        try:
            allowed: set[str] = set()
            response: AppResponse | None = None
            method = "GET" if req.method == "HEAD" else req.method
            for route in self.routes:
                match = route.pattern.fullmatch(req.path)
                if match is None:
                    continue
                cors = cors and route.cors
                allowed |= set(route.views) | {"OPTIONS"}
                if "GET" in route.views:
                    allowed.add("HEAD")
                if method in route.views:
                    response = self._run(req, route.views[method], match.groupdict())
                    break
            if response is None:
                if not allowed:
                    response = error_page(404)
                elif req.method == "OPTIONS":
                    response = AppResponse(200, headers=[("Allow", _allow(allowed))])
                else:
                    response = error_page(405, [("Allow", _allow(allowed))])
        except Exception:  # Flask turns any exception into a 500
            response = error_page(500)
        if cors and response.cors:
            _add_cors(req, response)
        response.headers += response.late_headers
        return response

    def _run(
        self, req: AppRequest, view: View | OpenView, params: dict[str, str]
    ) -> AppResponse:
        """Apply the view's guard, then call it."""
        if isinstance(view, OpenView):
            return view.fn(self.backend, req, params)
        caller = check(view.guard, self.backend, req)
        if isinstance(caller, AppResponse):
            return caller
        return view.fn(self.backend, req, caller, params)


def _add_cors(req: AppRequest, response: AppResponse) -> None:
    """Add the headers flask-cors adds on the real server."""
    origin = req.headers.get("origin")
    response.headers.append(("Access-Control-Allow-Origin", origin or "*"))
    response.headers.append(("Access-Control-Expose-Headers", _EXPOSE_HEADERS))
    if req.method == "OPTIONS" and "access-control-request-method" in req.headers:
        requested = req.headers.get("access-control-request-headers")
        if requested:
            response.headers.append(("Access-Control-Allow-Headers", requested))
        response.headers.append(("Access-Control-Allow-Methods", _CORS_METHODS))
    if origin:
        response.headers.append(("Vary", "Origin"))


def _allow(methods: set[str]) -> str:
    """An ``Allow`` header value in werkzeug's order for the recorded routes."""
    return ", ".join(m for m in _METHOD_ORDER if m in methods)
