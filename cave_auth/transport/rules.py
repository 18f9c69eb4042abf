"""The rules both real transports follow, written once. No network I/O.

:class:`~cave_auth.transport.Urllib3Transport` and
:class:`~cave_auth.aio.HttpxTransport` differ in how they send a request and
read its answer, not in what they send or where a token may go. Here, for
both: the checks of their settings, the request as it leaves (JSON body,
query string, whether it carries a token), the refusal of a token on plain
http past this machine, which redirect is followed and as which method, and
the words and types of the errors they raise (``Failure``).
"""

from __future__ import annotations

import json as _json
import os
import re
from typing import TYPE_CHECKING, Any, NamedTuple

from .._redact import scrub_url
from ..errors import (
    InsecureTransportError,
    InvalidInputError,
    ResponseTooLargeError,
    TransportError,
)
from .base import is_loopback_host, may_follow_redirect, split_url
from .proxy import proxy_settings_from_env
from .trust import ca_paths_from_env

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .base import Response

__all__ = [
    "DEFAULT_MAX_BODY_SIZE",
    "Failure",
    "Outgoing",
    "check_count",
    "check_plain_http",
    "check_positive",
    "os_error_text",
    "prepare",
    "redirect",
    "seconds",
    "settings_from_env",
    "tls_failure_text",
    "too_many_redirects",
]

DEFAULT_MAX_BODY_SIZE = 16 * 1024 * 1024
"""The largest answer read by default: 16 MiB, far above any of this server's."""

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_ERRNO_TEXT = re.compile(r"\[Errno (-?\d+)\] ([^'\")]+)")


def check_positive(name: str, value: float | None, *, zero: bool = False) -> None:
    """Refuse a setting that is not a number > 0 (>= 0 with ``zero``); None passes.

    Raises:
        InvalidInputError: Naming the setting and the value given.
    """
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInputError(f"{name} must be a number, not {type(value).__name__}")
    if value < 0 or (value == 0 and not zero) or value != value:
        raise InvalidInputError(f"{name} must be > 0, got {value!r}")


def check_count(name: str, value: int, least: int) -> None:
    """Refuse a setting that is not an int >= ``least``.

    Raises:
        InvalidInputError: Naming the setting and the value given.
    """
    if type(value) is not int or value < least:
        raise InvalidInputError(f"{name} must be an int >= {least}, got {value!r}")


class Outgoing(NamedTuple):
    """A request as it goes on the wire, hop after hop.

    A named tuple: one is made per call, on the path of every request.

    Attributes:
        method: The method, in upper case.
        url: The absolute URL, query string included.
        headers: The headers to send (a copy; the caller's stay untouched).
        body: The body, or None.
        has_token: Whether ``headers`` hold an ``Authorization``, in any case.
    """

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    has_token: bool


def prepare(
    method: str,
    url: str,
    headers: Mapping[str, str],
    params: Mapping[str, str] | None,
    json: Any,
) -> Outgoing:
    """Build the request of a ``Transport.request`` call's arguments.

    ``json`` becomes the body, with ``Content-Type: application/json`` in
    place of any the caller gave; ``params`` are appended to the query,
    commas kept as they are (the id lists of the API are comma-separated).
    """
    send_headers = dict(headers)
    body: bytes | None = None
    if json is not None:
        body = _json.dumps(json).encode()
        _drop_header(send_headers, "content-type")
        send_headers["Content-Type"] = "application/json"
    if params:
        from urllib.parse import urlencode

        url = f"{url}{'&' if '?' in url else '?'}{urlencode(params, safe=',')}"
    has_token = any(name.lower() == "authorization" for name in send_headers)
    return Outgoing(method.upper(), url, send_headers, body, has_token)


def check_plain_http(
    request: Outgoing, host: str, proxy: str | None, shown_proxy: str | None
) -> None:
    """Refuse a token on plain http past this machine, on any hop.

    ``host`` is the request's (its URL is http), ``proxy`` the proxy it
    would go through, ``shown_proxy`` that proxy as a message may show it.

    Raises:
        InsecureTransportError: If ``request`` carries a token and ``host``
            or ``proxy`` is not on loopback.
    """
    if not request.has_token:
        return
    if not is_loopback_host(host):
        raise InsecureTransportError(
            f"Refusing to send a token over plain http to {host}: use "
            "https, or create the transport with allow_insecure_http=True"
        )
    # A forwarding proxy reads the whole request, token included. Whether it
    # is on this machine is decided, as for the server, by the name or
    # address given, never by a DNS answer.
    if proxy is not None and not is_loopback_host(split_url(proxy)[1]):
        raise InsecureTransportError(
            f"Refusing to send a token over plain http through the proxy "
            f"{shown_proxy}, which is not on this machine: use an https:// server "
            f"address, a proxy on this machine (localhost, 127.0.0.1, ::1), "
            f"or add {host} to NO_PROXY",
            proxy=shown_proxy,
        )


def redirect(
    request: Outgoing, response: Response, origin: tuple[str, str, int]
) -> Outgoing | None:
    """Return the request a redirect asks for, or None to return ``response``.

    Only a redirect to the same origin (see
    :func:`~cave_auth.transport.base.may_follow_redirect`) is followed, so
    that the token never leaves it. A 303, and a 301 or 302 after a POST,
    become a GET without a body, as browsers and requests do; 307 and 308
    repeat the request as it was.
    """
    location = response.header("location")
    if response.status not in _REDIRECT_STATUSES or not location:
        return None
    from urllib.parse import urljoin

    url = urljoin(request.url, location)
    if not may_follow_redirect(origin, url):
        return None
    if response.status == 303 or (
        response.status in (301, 302) and request.method == "POST"
    ):
        headers = dict(request.headers)
        _drop_header(headers, "content-type")
        return request._replace(method="GET", url=url, headers=headers, body=None)
    return request._replace(url=url)


def too_many_redirects(request: Outgoing, max_redirects: int) -> TransportError:
    """Make the error of a request redirected more than ``max_redirects`` times."""
    shown = scrub_url(request.url, request.headers)
    return TransportError(
        f"{request.method} {shown}: more than {max_redirects} redirects",
        method=request.method,
        url=shown,
    )


class Failure(Exception):
    """An attempt that got no usable answer, classified for retry and message.

    Attributes:
        kind: ``connect``, ``tls``, ``read``, ``broke`` or ``too large``.
        text: What happened, for the message, without any URL or repr.
        stale: Whether a reused connection broke before any answer byte.
    """

    def __init__(self, kind: str, text: str, *, stale: bool = False) -> None:
        super().__init__(text)
        self.kind = kind
        self.text = text
        self.stale = stale

    def error(
        self, method: str, url: str, headers: Mapping[str, str], attempts: int = 1
    ) -> TransportError:
        """Make the error that leaves the transport: text only, nothing chained.

        ``raise ... from None`` only hides the exception being handled: it
        stays in ``__context__``. So this error is raised outside any
        ``except`` block, and so is each ``Failure``, so that no exception of
        the HTTP client (whose request holds the path, the token on the TTL
        route, and the ``Authorization`` header) travels with it. ``url`` is
        shown with query secrets and the bearer token of ``headers`` masked.
        """
        shown = scrub_url(url, headers)
        tries = f", after {attempts} attempts" if attempts > 1 else ""
        kind = ResponseTooLargeError if self.kind == "too large" else TransportError
        return kind(f"{method} {shown}: {self.text}{tries}", method=method, url=shown)


def seconds(value: float) -> str:
    """Write a duration for a message: ``"5 s"``, ``"0.3 s"``."""
    return f"{value:g} s"


def os_error_text(error: BaseException) -> str:
    """Find the operating system's words for a failure in an exception chain.

    Causes and contexts are searched too; ``""`` if none is found, else e.g.
    ``"connection refused"``.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        # The operating system's words for an errno, not asyncio's, which
        # add the address: "Connect call failed ('127.0.0.1', 9)".
        if isinstance(current, ConnectionError) and current.errno:
            return os.strerror(current.errno).lower()
        if isinstance(current, OSError) and current.strerror:
            return str(current.strerror).lower()
        match = _ERRNO_TEXT.search(str(current))
        if match:
            number = int(match.group(1))
            text = os.strerror(number) if number > 0 else match.group(2).strip()
            return text.lower()
        current = current.__cause__ or current.__context__
    return ""


def tls_failure_text(error: BaseException) -> str:
    """Find why a TLS handshake failed in an exception chain, in plain words."""
    current: BaseException | None = error
    while current is not None:
        reason = getattr(current, "reason", None)
        verify = getattr(current, "verify_message", None)
        if verify:
            return f"certificate verify failed: {verify}"
        if isinstance(reason, str) and reason:
            return reason.lower().replace("_", " ")
        current = current.__cause__ or current.__context__
    return "handshake failed"


def settings_from_env(
    environ: Mapping[str, str], overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """Return a transport's arguments from the proxy and CA bundle variables.

    The one place the real transports' ``from_env`` read ``environ``; an
    argument in ``overrides`` wins over the variables it stands for. Asks
    the file system only whether a CA bundle variable names a directory.
    """
    settings: dict[str, Any] = {}
    settings["proxy"], settings["no_proxy"] = proxy_settings_from_env(environ)
    if "ca_certs" not in overrides and "ca_cert_dir" not in overrides:
        settings["ca_certs"], settings["ca_cert_dir"] = ca_paths_from_env(environ)
    settings.update(overrides)
    return settings


def _drop_header(headers: dict[str, str], name: str) -> None:
    for key in [key for key in headers if key.lower() == name]:
        del headers[key]
