"""Pieces of HTTP the WSGI and ASGI adapters share.

This module does no I/O: it parses a ``Cookie`` header and a query string
as werkzeug does (lenient, first value wins, UTF-8 with replacement),
rebuilds the request URL as ``werkzeug``'s ``Request.url`` does, and turns a
decision into a status line, headers and a body.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any, TypeAlias
from urllib.parse import quote, unquote, unquote_plus

from .values import Deny, Redirect, Rule

__all__ = [
    "Route",
    "current_url",
    "parse_cookies",
    "parse_query",
    "render",
    "route_all",
]

Route: TypeAlias = Callable[[str, str], tuple[Rule, Mapping[str, Any]] | None]
"""Maps ``(method, path)`` to the rule and path parameters to check, or
``None`` to let the request through unchecked."""


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
