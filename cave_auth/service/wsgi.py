"""Check tokens in front of any WSGI application (standard library only).

:class:`AuthMiddleware` wraps a WSGI app: for each request its
:data:`~cave_auth.service._http.Route` names the rule to check (every request
needs a valid token by default); a denial or redirect is answered directly,
exactly as the Flask decorators answer it, and an allowed request reaches the
app with ``environ["cave_auth.user"]`` (the ``/user/cache`` record) and
``environ["cave_auth.token"]``.

A request reaches the app unchecked only where the service said so: a route
function answering ``None``, or ``OPTIONS`` with ``options="pass"``. By
default the middleware answers ``OPTIONS`` itself (204, no body); a CORS
layer goes outside it, so that it answers preflights first.

Example:
    >>> from cave_auth.service import Checker, Settings, TransportLookups
    >>> from cave_auth.testing import FakeTransport
    >>> settings = Settings("https://auth.example.org/auth")
    >>> checker = Checker(settings, TransportLookups(settings.auth_url,
    ...                                              FakeTransport()))
    >>> def app(environ, start_response):
    ...     start_response("200 OK", [])
    ...     return [b"hello"]
    >>> protected = AuthMiddleware(app, checker)
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
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
from .values import Allow, Request

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ._http import OptionsPolicy, Route
    from .checker import Checker

__all__ = ["AuthMiddleware", "request_from_environ"]

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def _text(value: str) -> str:
    return value.encode("latin-1").decode("utf-8", "replace")


def request_from_environ(
    environ: dict[str, Any], path_params: Mapping[str, Any] | None = None
) -> Request:
    """Describe a WSGI request for the decision.

    The body is read only if the decision asks for it, and is then put back
    in ``environ["wsgi.input"]`` for the app.

    Args:
        environ: The WSGI environ.
        path_params: The view's path parameters, if known.

    Returns:
        The request description.
    """
    headers = {
        key[5:].replace("_", "-").lower(): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }

    def url() -> str:
        host = environ.get("HTTP_HOST") or (
            f"{environ.get('SERVER_NAME', '')}:{environ.get('SERVER_PORT', '')}"
        )
        return current_url(
            environ.get("wsgi.url_scheme", "http"),
            host,
            _text(environ.get("SCRIPT_NAME", "")),
            _text(environ.get("PATH_INFO", "")),
            environ.get("QUERY_STRING", ""),
        )

    def body() -> bytes:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        data = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(data)
        return bytes(data)

    return Request(
        environ.get("REQUEST_METHOD", "GET"),
        url,
        headers,
        parse_query(_text(environ.get("QUERY_STRING", ""))),
        parse_cookies(environ.get("HTTP_COOKIE")),
        path_params or {},
        body,
    )


class AuthMiddleware:
    """A WSGI middleware that checks each request's CAVE token.

    Args:
        app: The WSGI application.
        checker: The checker (settings, lookups, cache).
        route: Which rule each ``(method, path)`` needs; every request
            needs a valid token if omitted.
        options: What an ``OPTIONS`` request gets (an
            :data:`~cave_auth.service._http.OptionsPolicy`): ``"answer"``
            (204 from the middleware), ``"check"`` or ``"pass"``.
    """

    def __init__(
        self,
        app: WSGIApp,
        checker: Checker,
        route: Route | None = None,
        *,
        options: OptionsPolicy = "answer",
    ) -> None:
        self.app = app
        self.checker = checker
        self.route = route or route_all()
        self.options = options_policy(options)

    def __repr__(self) -> str:
        return f"AuthMiddleware({self.app!r})"

    def __call__(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        """Check the request, then call the app or answer the denial.

        Args:
            environ: The WSGI environ.
            start_response: The WSGI callable.

        Returns:
            The response body.
        """
        method = route_method(environ.get("REQUEST_METHOD", "GET"))
        if method == "OPTIONS" and self.options != "check":
            if self.options == "pass":
                return self.app(environ, start_response)
            start_response("204 No Content", [("Allow", OPTIONS_ALLOW)])
            return []
        found = self.route(method, _text(environ.get("PATH_INFO", "")))
        if found is None:
            return self.app(environ, start_response)
        rule, params = found
        decision = self.checker.check(
            request_from_environ(environ, params), rule, check_options=True
        )
        if isinstance(decision, Allow):
            environ["cave_auth.user"] = decision.user
            environ["cave_auth.token"] = decision.token
            return self.app(environ, start_response)
        _, line, headers, body = render(decision)
        start_response(line, headers)
        return [body]
