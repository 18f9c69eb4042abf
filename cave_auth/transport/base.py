"""The transport protocols and the values they trade in. No I/O.

The URL helpers here are pure and shared by the real transport's redirect
and proxy rules.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

from ..errors import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "IDEMPOTENT_METHODS",
    "RETRY_STATUSES",
    "AsyncTransport",
    "Response",
    "Transport",
    "is_loopback_host",
]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
"""Methods a transport may send again after a failure; POST is not one."""

RETRY_STATUSES = frozenset({502, 503, 504})
"""Statuses a gateway answers when a retry may succeed."""


def _body_repr(body: bytes) -> str:
    return f"<{len(body)} bytes>"


@attrs.frozen
class Response:
    """An HTTP answer, read in full.

    Attributes:
        status: The status code.
        headers: The response headers, names in lower case.
        body: The raw body. ``repr`` shows only its length.
        url: The URL that gave this answer (after redirects).
        redirected: Whether a redirect was followed to get here.
    """

    status: int
    headers: Mapping[str, str] = attrs.field(factory=dict)
    body: bytes = attrs.field(default=b"", repr=_body_repr)
    url: str = ""
    redirected: bool = False

    def header(self, name: str) -> str | None:
        """Return the value of a header, whatever the case of its name, or None."""
        return self.headers.get(name.lower())


# The signature of ``request`` is written out in each transport (the
# protocols, Urllib3Transport, the fakes), so that a type checker holds each
# to it; its docstring is written here once, and the others point to it.


@runtime_checkable
class Transport(Protocol):
    """Sends one HTTP request and returns its answer; the network, abstracted."""

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
        """Send a request and return the answer, read in full, whatever its status.

        ``url`` is absolute, without query string (``params`` are added); ``json``
        is a value to send as the JSON body, ``None`` for none; ``timeout`` is this
        call's whole budget in seconds (connecting, retries and reading included),
        instead of the transport's default.

        Raises:
            TransportError: If no answer was received (refused, timed out, TLS
                failure); an adapter maps its client's exceptions to it.
            InsecureTransportError: If the request would expose a token.
        """


@runtime_checkable
class AsyncTransport(Protocol):
    """The async twin of :class:`Transport`, which :mod:`cave_auth.aio` runs on.

    ``aio.HttpxTransport`` (the ``httpx`` extra) is one; wrap another async
    client (aiohttp, ...) in a class with this one coroutine method.
    """

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        params: Mapping[str, str] | None = None,
        json: Any = None,
        timeout: float | None = None,
    ) -> Response:
        """Same as :meth:`Transport.request`, awaited."""


@functools.lru_cache(maxsize=256)
def is_loopback_host(host: str) -> bool:
    """Tell whether ``host`` names this machine (127.0.0.0/8, ::1, localhost).

    IPv6 with or without brackets; names under ``.localhost`` are not trusted
    (the system resolver may map them anywhere).
    """
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost":
        return True
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def default_port(scheme: str) -> int:
    """Return the port a URL of ``scheme`` means when it names none."""
    return 443 if scheme == "https" else 80


@functools.lru_cache(maxsize=256)
def split_url(url: str) -> tuple[str, str, int, str]:
    """Split an absolute http(s) URL into ``(scheme, host, port, target)``.

    Scheme and host in lower case, the port (the scheme's default if absent),
    the path with its query (never the fragment). Cached: an endpoint's URL
    repeats, and splitting costs microseconds.

    Raises:
        InvalidInputError: If ``url`` is not an absolute http(s) URL.
    """
    from urllib.parse import urlsplit

    # Messages quote the scheme and host, never the path or query: the TTL
    # route carries the token in its path.
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        malformed = True
    else:
        malformed = False
    if malformed:
        raise InvalidInputError(f"URL {_origin(url)!r} has a malformed host or port")
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInputError(f"Not an http(s) URL: {_origin(url)!r}")
    host = parts.hostname
    if not host:
        raise InvalidInputError(f"URL has no host: {_origin(url)!r}")
    if port is None:
        port = default_port(scheme)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, host.lower(), port, target


def _origin(url: str) -> str:
    """Return the scheme and host part of ``url``: no credentials, path or query."""
    scheme, sep, rest = url.partition("://")
    authority = re.split(r"[/?#]", rest if sep else scheme, maxsplit=1)[0]
    return f"{scheme}://{authority.rpartition('@')[2]}" if sep else authority


def may_follow_redirect(origin: tuple[str, str, int], url: str) -> bool:
    """Tell whether a redirect to ``url`` may carry the request's token.

    Only to the scheme, host and port of ``origin`` (the URL that answered),
    or from http:80 up to https:443 of the same host, as requests allows.
    """
    try:
        scheme, host, port, _ = split_url(url)
    except InvalidInputError:
        return False
    if host != origin[1]:
        return False
    if (scheme, port) == (origin[0], origin[2]):
        return True
    return origin[0] == "http" and origin[2] == 80 and (scheme, port) == ("https", 443)
