"""``FakeTransport``: an in-memory :class:`~cave_auth.Transport` for unit tests.

This module does no I/O. In the manner of httpx's ``MockTransport``, routes
map ``(method, path)`` to canned JSON, a :class:`~cave_auth.Response`, or a
function of the request; every request is recorded as a :class:`FakeRequest`
for assertions (its ``repr`` hides the ``Authorization`` header); failures
(statuses or exceptions) can be scripted to happen once, in order, before the
route's normal answer. An unmatched request gets Flask's 404 page, as from the
real server. An answer's ``url`` is the request's, unless it is a
:class:`~cave_auth.Response` that says it was ``redirected`` (it keeps the URL
it landed on). :func:`json_response` and :func:`text_response` build answers the
way the real server labels them.

It depends only on the public API of ``cave_auth`` and the standard library,
so users' own test suites can rely on it.
"""

from __future__ import annotations

import json as _json
import threading
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from .._redact import headers_repr
from ..transport import Response

__all__ = [
    "FakeRequest",
    "FakeTransport",
    "Handler",
    "json_response",
    "text_response",
]


@attrs.frozen
class FakeRequest:
    """A request a :class:`FakeTransport` received.

    Attributes:
        method: The HTTP method, upper case.
        url: The URL, without query string.
        path: The path part of ``url``.
        headers: The headers sent. ``repr`` hides ``Authorization``.
        params: The query parameters, or an empty mapping.
        json: The JSON body, or ``None``.
        timeout: The per-request timeout asked for, or ``None``.
    """

    method: str
    url: str
    path: str
    headers: Mapping[str, str] = attrs.field(repr=headers_repr)
    params: Mapping[str, str] = attrs.field(factory=dict)
    json: Any = None
    timeout: float | None = None

    @property
    def token(self) -> str | None:
        """The bearer token the request carried, or ``None``."""
        value = self.headers.get("Authorization")
        if value is None or not value.startswith("Bearer "):
            return None
        return value[len("Bearer ") :]


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """Build a JSON :class:`~cave_auth.Response`, as the server sends them.

    Args:
        data: The value to send as JSON.
        status: The status code.
        headers: Extra headers.

    Returns:
        The response, with ``content-type: application/json``.
    """
    all_headers = {"content-type": "application/json"}
    all_headers.update({name.lower(): value for name, value in (headers or {}).items()})
    return Response(
        status=status, headers=all_headers, body=_json.dumps(data).encode() + b"\n"
    )


def text_response(
    text: str, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """Build a text answer, like the server's plain-text errors.

    Args:
        text: The body.
        status: The status code.
        headers: Extra headers.

    Returns:
        The response, with ``content-type: text/html; charset=utf-8`` (what
        the real server labels its plain-text errors with).
    """
    all_headers = {"content-type": "text/html; charset=utf-8"}
    all_headers.update({name.lower(): value for name, value in (headers or {}).items()})
    return Response(status=status, headers=all_headers, body=text.encode())


Handler = Callable[[FakeRequest], Any]
"""A function that answers a request: returns a Response, JSON data, or raises."""


class FakeTransport:
    """An in-memory transport that answers from routes and records requests.

    Args:
        routes: ``{(method, path): answer}``. An answer is a
            :class:`~cave_auth.Response`, a function of the
            :class:`FakeRequest` returning one (or JSON data), or JSON data
            sent with status 200.
        handler: A function that answers every request no route matches.
            Without one, unmatched requests get a 404 like Flask's.

    Example:
        >>> me = {"id": 1, "name": "Ada"}
        >>> fake = FakeTransport({("GET", "/auth/api/v1/user/me"): me})
        >>> fake.request("GET", "https://x.org/auth/api/v1/user/me", headers={}).status
        200
    """

    def __init__(
        self,
        routes: Mapping[tuple[str, str], Any] | None = None,
        *,
        handler: Handler | None = None,
    ) -> None:
        self._routes: dict[tuple[str, str], Any] = {}
        self._scripts: dict[tuple[str, str], deque[Any]] = {}
        self._handler = handler
        self._lock = threading.Lock()
        self.requests: list[FakeRequest] = []
        for (method, path), answer in (routes or {}).items():
            self.add_route(method, path, answer)

    def __repr__(self) -> str:
        routes = sorted(self._routes)
        return f"FakeTransport(routes={routes!r}, requests={len(self.requests)})"

    def add_route(self, method: str, path: str, answer: Any) -> None:
        """Answer ``method path`` with ``answer`` from now on.

        Args:
            method: The HTTP method.
            path: The URL path, e.g. ``"/auth/api/v1/user/me"``.
            answer: A Response, a function of the request, or JSON data.
        """
        self._routes[(method.upper(), path)] = answer

    def script(self, method: str, path: str, *outcomes: Any) -> None:
        """Queue one-off outcomes for a route, used in order before its answer.

        Args:
            method: The HTTP method.
            path: The URL path.
            *outcomes: Each is an int status (an empty-bodied error), a
                Response, an exception instance to raise (e.g. a
                :class:`~cave_auth.TransportError`), or JSON data.
        """
        key = (method.upper(), path)
        answers = [
            text_response("", status=o)
            if isinstance(o, int) and not isinstance(o, bool)
            else o
            for o in outcomes
        ]
        with self._lock:
            self._scripts.setdefault(key, deque()).extend(answers)

    def requests_to(self, method: str, path: str) -> list[FakeRequest]:
        """Return the recorded requests for one route.

        Args:
            method: The HTTP method.
            path: The URL path.

        Returns:
            The matching requests, oldest first.
        """
        return [
            r for r in self.requests if r.method == method.upper() and r.path == path
        ]

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        params: Mapping[str, str] | None = None,
        json: Any = None,
        timeout: float | None = None,
    ) -> Response:
        """Same as :meth:`Transport.request <cave_auth.transport.Transport.request>`.

        The answer is the next scripted outcome, else the route's; the
        request is recorded (its ``timeout`` too, which is not applied).

        Raises:
            Exception: Whatever exception a script or handler supplies.
        """
        path = "/" + url.partition("://")[2].partition("/")[2].partition("?")[0]
        recorded = FakeRequest(
            method=method.upper(),
            url=url,
            path=path,
            headers=dict(headers),
            params=dict(params or {}),
            json=json,
            timeout=timeout,
        )
        key = (recorded.method, path)
        with self._lock:
            self.requests.append(recorded)
            queue = self._scripts.get(key)
            scripted = queue.popleft() if queue else _NOTHING
        if scripted is not _NOTHING:
            answer = scripted
        elif key in self._routes:
            answer = self._routes[key]
        elif self._handler is not None:
            answer = self._handler
        else:
            answer = text_response(_FLASK_404, status=404)
        response = _to_response(answer, recorded)
        if response.redirected:
            return response
        return attrs.evolve(response, url=url)


_NOTHING = object()

_FLASK_404 = (
    "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n"
    "<h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you "
    "entered the URL manually please check your spelling and try again.</p>\n"
)


def _to_response(answer: Any, request: FakeRequest) -> Response:
    if isinstance(answer, BaseException):
        raise answer
    if callable(answer) and not isinstance(answer, Response):
        answer = answer(request)
    if isinstance(answer, Response):
        return answer
    return json_response(answer)
