"""Pieces of HTTP the WSGI and ASGI adapters share.

This module does no I/O: it parses a ``Cookie`` header and a query string
as werkzeug does (lenient, first value wins, UTF-8 with replacement),
rebuilds the request URL as ``werkzeug``'s ``Request.url`` does, turns a
decision into a status line, headers and a body, and holds what both
middlewares do before any check: the ``OPTIONS`` policy and the method a
route function is asked about.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, cast
from urllib.parse import quote, unquote, unquote_plus

from ..errors import InvalidInputError
from .values import Deny, Rule

if TYPE_CHECKING:
    from .values import Redirect

__all__ = [
    "OPTIONS_ALLOW",
    "OptionsPolicy",
    "Route",
    "current_url",
    "options_policy",
    "parse_cookies",
    "parse_query",
    "render",
    "route_all",
    "route_method",
]

Route: TypeAlias = Callable[[str, str], tuple[Rule, Mapping[str, Any]] | None]
"""Maps ``(method, path)`` to the rule and path parameters to check, or
``None`` to let the request through unchecked. The method is upper-case, and
``HEAD`` is asked as ``GET`` (see :func:`route_method`)."""

OptionsPolicy: TypeAlias = Literal["answer", "check", "pass"]
"""What a middleware does with an ``OPTIONS`` request: ``answer`` it itself
(204, an ``Allow`` header, no body; the app never sees it), ``check`` it
against its route's rule like any other method, or ``pass`` it to the app
unchecked (the app must then answer it without data)."""

OPTIONS_ALLOW = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
"""The ``Allow`` header of an answered ``OPTIONS``: the standard methods,
since a middleware cannot know which ones the app serves."""


def options_policy(value: str) -> OptionsPolicy:
    """Check an :data:`OptionsPolicy` given at run time.

    Args:
        value: The policy.

    Returns:
        The policy.

    Raises:
        InvalidInputError: If it is not one of the three.
    """
    if value not in ("answer", "check", "pass"):
        raise InvalidInputError(
            f"options must be 'answer', 'check' or 'pass', not {value!r}: 'answer'"
            " (the default) answers OPTIONS in the middleware, 'check' checks it"
            " like any method, 'pass' hands it to the app unchecked"
        )
    return cast(OptionsPolicy, value)


def route_method(method: str) -> str:
    """Return the method a :data:`Route` is asked about for a request.

    A route function must not leave open what the app serves under another
    spelling: werkzeug upper-cases the method before Flask routes it (a
    ``get`` is a ``GET``), and Flask and Starlette answer ``HEAD`` with the
    ``GET`` view, headers and side effects included.

    Args:
        method: The request method as the server gave it.

    Returns:
        The method upper-cased, ``GET`` for ``HEAD``.
    """
    method = method.upper()
    return "GET" if method == "HEAD" else method


def route_all(rule: Rule | None = None) -> Route:
    """Return a :data:`Route` checking every request against one rule.

    Args:
        rule: The rule; a valid token (``Rule()``) if omitted.

    Returns:
        The route function.
    """
    checked = rule or Rule()

    def route(method: str, path: str) -> tuple[Rule, Mapping[str, Any]]:
        return checked, {}

    return route


def parse_cookies(header: str | None) -> dict[str, str]:
    """Parse a ``Cookie`` header; the first cookie of a name wins.

    Args:
        header: The header value, or None.

    Returns:
        Values by name, quotes removed.
    """
    cookies: dict[str, str] = {}
    for piece in (header or "").split(";"):
        name, equals, value = piece.partition("=")
        name = name.strip()
        if not name or not equals:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        cookies.setdefault(name, value)
    return cookies


def parse_query(query: str) -> dict[str, str]:
    """Parse a query string; the first value of a name wins.

    Args:
        query: The raw query string.

    Returns:
        Values by name, decoded.
    """
    values: dict[str, str] = {}
    for piece in query.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        values.setdefault(
            unquote_plus(name, errors="replace"), unquote_plus(value, errors="replace")
        )
    return values


def current_url(scheme: str, host: str, root_path: str, path: str, query: str) -> str:
    """Rebuild the request URL as werkzeug's ``Request.url`` does.

    Args:
        scheme: ``http`` or ``https``.
        host: The ``Host`` header (or server name and port).
        root_path: The application's mount point.
        path: The decoded request path.
        query: The raw query string.

    Returns:
        The URL.
    """
    url = f"{scheme}://{host}"
    url += quote(root_path.rstrip("/"), safe="!$&'()*+,/:;=@%")
    url += "/" + quote(path.lstrip("/"), safe="!$&'()*+,/:;=@%")
    if query:
        url += "?" + quote(unquote(query, "latin-1"), safe="!$&'()*+,/:;=?@%")
    return url


def render(decision: Deny | Redirect) -> tuple[int, str, list[tuple[str, str]], bytes]:
    """Turn a denial or redirect into an HTTP answer.

    Args:
        decision: The decision.

    Returns:
        ``(status, status line, headers, body)``.
    """
    if isinstance(decision, Deny):
        body = decision.body
        headers = [("Content-Type", decision.content_type), *decision.headers]
    else:
        body = decision.body()
        headers = [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Location", decision.location),
        ]
        cookie = decision.set_cookie_header()
        if cookie is not None:
            headers.append(("Set-Cookie", cookie))
    headers.append(("Content-Length", str(len(body))))
    status = decision.status
    return status, f"{status} {HTTPStatus(status).phrase}", headers, body
