"""The fake server's request and response values, and Flask's way of writing them.

This module does no I/O. The wire (:mod:`cave_auth.testing.wire`) turns bytes
into an ``AppRequest``, the application answers with an
``AppResponse``, and the wire writes that back. Between the two, responses
are built the way the real server's Flask and werkzeug build them:

* ``jsonify`` like ``flask.jsonify``: sorted keys, compact separators,
  a trailing newline, ``application/json``;
* ``text`` like ``flask.Response(text, status)``: the body as given,
  labelled ``text/html; charset=utf-8`` even when it is plain text;
* ``error_page`` like werkzeug's HTML error pages (``404 Not Found`` ...);
* ``redirect`` like ``flask.redirect(location)``, with its small HTML page;
* ``http_date`` like Flask's rendering of a datetime
  (``Sat, 28 Nov 2026 04:59:28 GMT``).

``RecordedRequest`` is the other value here: an entry of the server's
request log, as received, before any of this parsing.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http import HTTPStatus
from typing import Final
from urllib.parse import parse_qsl

__all__ = [
    "HTML",
    "JSON",
    "AppRequest",
    "AppResponse",
    "RecordedRequest",
    "error_page",
    "http_date",
    "jsonify",
    "now",
    "reason",
    "redirect",
    "text",
    "utc",
]

JSON: Final = "application/json"
HTML: Final = "text/html; charset=utf-8"

_ERRORS: Final[Mapping[int, tuple[str, str]]] = {
    400: (
        "Bad Request",
        "The browser (or proxy) sent a request that this server could not understand.",
    ),
    401: (
        "Unauthorized",
        "The server could not verify that you are authorized to access the URL "
        "requested. You either supplied the wrong credentials (e.g. a bad "
        "password), or your browser doesn't understand how to supply the "
        "credentials required.",
    ),
    403: (
        "Forbidden",
        "You don't have the permission to access the requested resource. It is "
        "either read-protected or not readable by the server.",
    ),
    404: (
        "Not Found",
        "The requested URL was not found on the server. If you entered the URL "
        "manually please check your spelling and try again.",
    ),
    405: ("Method Not Allowed", "The method is not allowed for the requested URL."),
    408: (
        "Request Timeout",
        "The server closed the network connection because the browser didn't "
        "finish the request within the specified time.",
    ),
    415: (
        "Unsupported Media Type",
        "Did not attempt to load JSON data because the request Content-Type was "
        "not &#39;application/json&#39;.",
    ),
    429: (
        "Too Many Requests",
        "This user has exceeded an allotted request count. Try again later.",
    ),
    500: (
        "Internal Server Error",
        "The server encountered an internal error and was unable to complete your "
        "request. Either the server is overloaded or there is an error in the "
        "application.",
    ),
    501: (
        "Not Implemented",
        "The server does not support the action requested by the browser.",
    ),
    502: (
        "Bad Gateway",
        "The proxy server received an invalid response from an upstream server.",
    ),
    503: (
        "Service Unavailable",
        "The server is temporarily unable to service your request due to "
        "maintenance downtime or capacity problems. Please try again later.",
    ),
    504: ("Gateway Timeout", "The connection to an upstream server timed out."),
}
_REASONS: Final[Mapping[int, str]] = {422: "Unprocessable Entity"}


_TOKEN_IN_PATH = re.compile(r"(/user/token/)[^/]+(/ttl)")


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake server received it (an entry of the request log).

    Attributes:
        method: HTTP method, e.g. ``"GET"``.
        path: Path without the query string, e.g. ``"/auth/api/v1/user"``.
        query: Raw query string without ``?`` (``""`` if none).
        headers: Request headers as sent (later duplicates win).
        body: Raw request body.
    """

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes = b""

    def __repr__(self) -> str:
        # The request log shows up in test failures: the token stays out of
        # it, wherever the request carried it (header, cookie, query, path).
        # The server side imports nothing of cave_auth, so it masks for itself.
        path = _TOKEN_IN_PATH.sub(r"\1<token>\2", self.path)
        query = "&".join(
            f"{name}=***" if "token" in name.lower() else f"{name}={value}"
            for name, value in parse_qsl(self.query, keep_blank_values=True)
        )
        headers = {
            name: "<hidden>" if name.lower() in ("authorization", "cookie") else value
            for name, value in self.headers.items()
        }
        target = path + ("?" + query if query else "")
        return (
            f"RecordedRequest({self.method!r}, {target!r}, "
            f"headers={headers!r}, body=<{len(self.body)} bytes>)"
        )


@dataclass
class AppRequest:
    """What the application needs of an HTTP request.

    Attributes:
        method: HTTP method, upper case.
        path: Path without the query string.
        query: Raw query string without ``?``.
        headers: Lower-case names, stripped values; the first of duplicates wins.
        body: Raw request body.
        url: Flask's ``request.url``: ``http://<Host><path>[?<query>]``.
    """

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    url: str

    @property
    def args(self) -> dict[str, str]:
        """Query arguments, first value of each (like ``flask.request.args.get``)."""
        out: dict[str, str] = {}
        for key, value in parse_qsl(self.query, keep_blank_values=True):
            out.setdefault(key, value)
        return out

    def cookie(self, name: str) -> str | None:
        """The first cookie called ``name``.

        Args:
            name: The cookie's name.

        Returns:
            Its value without surrounding quotes, or ``None``.
        """
        for part in self.headers.get("cookie", "").split(";"):
            key, sep, value = part.strip().partition("=")
            if sep and key == name:
                return value.strip().strip('"')
        return None

    @property
    def programmatic(self) -> bool:
        """middle_auth_client's ``is_programmatic_access``."""
        return any(
            self.headers.get(h) for h in ("authorization", "x-requested-with", "origin")
        )


@dataclass
class AppResponse:
    """An HTTP response before serialisation.

    Attributes:
        status: Status code.
        body: Body bytes.
        content_type: The ``Content-Type`` header.
        headers: Further headers, in order.
        late_headers: Headers Flask adds after CORS (the session cookie's).
        cors: ``False`` for an answer of an app without flask-cors.
    """

    status: int
    body: bytes = b""
    content_type: str = HTML
    headers: list[tuple[str, str]] = field(default_factory=list)
    late_headers: list[tuple[str, str]] = field(default_factory=list)
    cors: bool = True


def reason(status: int) -> str:
    """Werkzeug's upper-case reason phrase.

    Args:
        status: A status code.

    Returns:
        E.g. ``"NOT FOUND"``; ``"UNKNOWN"`` for a code without a phrase.
    """
    if status in _REASONS:
        return _REASONS[status].upper()
    try:
        return HTTPStatus(status).phrase.upper()
    except ValueError:
        return "UNKNOWN"


def jsonify(
    status: int, value: object, headers: list[tuple[str, str]] | None = None
) -> AppResponse:
    """A response like Flask's ``jsonify``.

    Args:
        status: Status code.
        value: The JSON value.
        headers: Extra headers.

    Returns:
        The response.
    """
    body = json.dumps(value, sort_keys=True, separators=(",", ":")) + "\n"
    return AppResponse(status, body.encode(), JSON, list(headers or []))


def text(status: int, body: str) -> AppResponse:
    """A response like ``flask.Response(body, status)``.

    Args:
        status: Status code.
        body: The text.

    Returns:
        The response, labelled ``text/html``.
    """
    return AppResponse(status, body.encode())


def error_page(
    status: int, headers: list[tuple[str, str]] | None = None
) -> AppResponse:
    """Werkzeug's HTML error page.

    Args:
        status: Status code.
        headers: Extra headers (e.g. ``Allow`` for a 405).

    Returns:
        The response.
    """
    name, description = _ERRORS.get(status, (reason(status).title(), ""))
    page = (
        f"<!doctype html>\n<html lang=en>\n<title>{status} {name}</title>\n"
        f"<h1>{name}</h1>\n<p>{description}</p>\n"
    )
    return AppResponse(status, page.encode(), headers=list(headers or []))


def redirect(location: str) -> AppResponse:
    """A response like ``flask.redirect(location, 302)``.

    Args:
        location: Where to.

    Returns:
        The 302 response with werkzeug's small HTML page.
    """
    escaped = html.escape(location)
    page = (
        "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n"
        "<h1>Redirecting...</h1>\n<p>You should be redirected automatically to the "
        f'target URL: <a href="{escaped}">{escaped}</a>. If not, click the link.\n'
    )
    return AppResponse(302, page.encode(), headers=[("Location", location)])


def utc(value: datetime) -> datetime:
    """A datetime in UTC.

    Args:
        value: A datetime; a naive one is taken to be UTC already.

    Returns:
        The same instant, in UTC.
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def http_date(value: datetime | None) -> str | None:
    """Flask's rendering of a datetime.

    Args:
        value: A datetime, or ``None``.

    Returns:
        E.g. ``"Sat, 28 Nov 2026 04:59:28 GMT"``, or ``None``.
    """
    if value is None:
        return None
    return format_datetime(utc(value), usegmt=True)


def now() -> datetime:
    """The current time in UTC, to the second (as the database stores it).

    Returns:
        The time.
    """
    return datetime.now(UTC).replace(microsecond=0)
