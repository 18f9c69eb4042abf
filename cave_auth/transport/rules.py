"""The rules both real transports keep, written once. No network I/O.

Redirects are followed only to the same origin (or from http:80 to https:443
of the same host); no token goes over plain http past this machine (host or
proxy) unless allowed; errors name what failed, the method, the URL and the
limit hit, never a token or a repr, and chain no client exception.
"""

from __future__ import annotations

import json as _json
import os
import re
from typing import TYPE_CHECKING, Any, NamedTuple

import attrs

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
    from .proxy import ProxyRules

__all__ = [
    "DEFAULT_MAX_BODY_SIZE",
    "Failure",
    "Outgoing",
    "answered",
    "check_count",
    "check_plain_http",
    "check_positive",
    "os_error_text",
    "prepare",
    "proxy_for",
    "redirect",
    "seconds",
    "settings_from_env",
    "tls_failure_text",
    "too_large",
    "too_many_redirects",
]

DEFAULT_MAX_BODY_SIZE = 16 * 1024 * 1024
"""The largest answer read by default: 16 MiB, far above any of this server's."""

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# A pattern, not a compiled one: only a failure needs it, and re caches it
# then; a cold start that succeeds does not pay for compiling it.
_ERRNO_TEXT = r"\[Errno (-?\d+)\] ([^'\")]+)"


def check_positive(name: str, value: float | None, *, zero: bool = False) -> None:
    """Refuse a setting that is not a number > 0 (>= 0 with ``zero``); None passes."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInputError(f"{name} must be a number, not {type(value).__name__}")
    if value < 0 or (value == 0 and not zero) or value != value:
        raise InvalidInputError(f"{name} must be > 0, got {value!r}")


def check_count(name: str, value: int, least: int) -> None:
    """Refuse a setting that is not an int >= ``least``."""
    if type(value) is not int or value < least:
        raise InvalidInputError(f"{name} must be an int >= {least}, got {value!r}")


class Outgoing(NamedTuple):
    """A request as it goes out, hop after hop: a named tuple, one per call."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    redirected: bool = False


def prepare(
    method: str,
    url: str,
    headers: Mapping[str, str],
    params: Mapping[str, str] | None,
    json: Any,
) -> Outgoing:
    """Build what ``Transport.request``'s arguments send; commas in ``params`` stay."""
    send_headers = dict(headers)
    body: bytes | None = None
    if json is not None:
        body = _json.dumps(json).encode()
        _drop_header(send_headers, "content-type")
        send_headers["Content-Type"] = "application/json"
    if params:
        from urllib.parse import urlencode

        url = f"{url}{'&' if '?' in url else '?'}{urlencode(params, safe=',')}"
    return Outgoing(method.upper(), url, send_headers, body)


def proxy_for(
    request: Outgoing,
    origin: tuple[str, str, int, str],
    proxies: ProxyRules,
    allow_insecure_http: bool,
) -> str | None:
    """Return the proxy of a hop (or None), after :func:`check_plain_http`."""
    proxy = proxies.proxy_for(*origin[:3])
    plain = origin[0] == "http" and not allow_insecure_http
    if plain and any(name.lower() == "authorization" for name in request.headers):
        check_plain_http(origin[1], proxy, proxies.shown.get("http"))
    return proxy


def check_plain_http(host: str, proxy: str | None, shown_proxy: str | None) -> None:
    """Refuse a token on plain http to ``host``, or via ``proxy``, past this machine."""
    if not is_loopback_host(host):
        raise InsecureTransportError(
            f"Refusing to send a token over plain http to {host}: use "
            "https, or create the transport with allow_insecure_http=True"
        )
    # A forwarding proxy reads the whole request, token included. Whether it is
    # on this machine is decided by the name or address given, never by DNS.
    if proxy is not None and not is_loopback_host(split_url(proxy)[1]):
        raise InsecureTransportError(
            f"Refusing to send a token over plain http through the proxy "
            f"{shown_proxy}, which is not on this machine: use an https:// server "
            f"address, a proxy on this machine (localhost, 127.0.0.1, ::1), "
            f"or add {host} to NO_PROXY",
            proxy=shown_proxy,
        )


def redirect(
    request: Outgoing, response: Response, origin: tuple[str, str, int, str]
) -> Outgoing | None:
    """Return the request a redirect from ``origin`` asks for, or None to return it.

    303, and 301 or 302 after a POST, become a bodiless GET, as in browsers.
    """
    location = response.header("location")
    if response.status not in _REDIRECT_STATUSES or not location:
        return None
    from urllib.parse import urljoin

    url = urljoin(request.url, location)
    if not may_follow_redirect(origin[:3], url):
        return None
    if response.status == 303 or (
        response.status in (301, 302) and request.method == "POST"
    ):
        headers = dict(request.headers)
        _drop_header(headers, "content-type")
        get = request._replace(method="GET", headers=headers, body=None)
        return get._replace(url=url, redirected=True)
    return request._replace(url=url, redirected=True)


def answered(response: Response, request: Outgoing) -> Response:
    """Return ``response`` to ``request``, marked if a redirect led to it."""
    return attrs.evolve(response, redirected=True) if request.redirected else response


def too_many_redirects(request: Outgoing, max_redirects: int) -> TransportError:
    """Make the error of a request redirected more than ``max_redirects`` times."""
    failure = Failure("redirects", f"more than {max_redirects} redirects")
    return failure.error(request.method, request.url, request.headers)


class Failure(Exception):
    """An attempt that got no usable answer, classified for retry and message.

    ``kind``: ``connect``, ``tls``, ``read``, ``broke`` or ``too large``;
    ``stale``: a reused connection broke before any answer byte.
    """

    def __init__(self, kind: str, text: str, *, stale: bool = False) -> None:
        super().__init__(text)
        self.kind = kind
        self.text = text
        self.stale = stale

    def error(
        self, method: str, url: str, headers: Mapping[str, str], attempts: int = 1
    ) -> TransportError:
        """Make the error that leaves the transport: text only, ``url`` masked.

        Raise it outside any ``except`` block: ``from None`` would leave the
        client's exception, which holds the token, in ``__context__``.
        """
        shown = scrub_url(url, headers)
        tries = f", after {attempts} attempts" if attempts > 1 else ""
        kind = ResponseTooLargeError if self.kind == "too large" else TransportError
        return kind(f"{method} {shown}: {self.text}{tries}", method=method, url=shown)


def too_large(status: int, max_body_size: int, length: int | None = None) -> Failure:
    """The failure of an answer over the cap: by its ``length``, or once past it."""
    what = "answer is" if length is None else f"answer of {length} bytes is"
    end = "reading stopped there" if length is None else "it was not read"
    text = f"the {status} {what} larger than max_body_size={max_body_size}; {end}"
    return Failure("too large", text)


def seconds(value: float) -> str:
    """Write a duration for a message: ``"5 s"``, ``"0.3 s"``."""
    return f"{value:g} s"


def os_error_text(error: BaseException) -> str:
    """Find the operating system's words in an exception chain (``""`` if none)."""
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
        match = re.search(_ERRNO_TEXT, str(current))
        if match:
            number = int(match.group(1))
            text = os.strerror(number) if number > 0 else match.group(2).strip()
            return text.lower()
        current = current.__cause__ or current.__context__
    return ""


def tls_failure_text(error: BaseException) -> str:
    """Find why a TLS handshake failed in an exception chain, or ``""``."""
    current: BaseException | None = error
    while current is not None:
        reason = getattr(current, "reason", None)
        verify = getattr(current, "verify_message", None)
        if verify:
            return f"certificate verify failed: {verify}"
        if isinstance(reason, str) and reason:
            return reason.lower().replace("_", " ")
        current = current.__cause__ or current.__context__
    return ""


def settings_from_env(
    environ: Mapping[str, str], overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """Return the proxy and CA settings of ``environ``, updated by ``overrides``."""
    settings: dict[str, Any] = {}
    settings["proxy"], settings["no_proxy"] = proxy_settings_from_env(environ)
    if "ca_certs" not in overrides and "ca_cert_dir" not in overrides:
        settings["ca_certs"], settings["ca_cert_dir"] = ca_paths_from_env(environ)
    settings.update(overrides)
    return settings


def _drop_header(headers: dict[str, str], name: str) -> None:
    for key in [key for key in headers if key.lower() == name]:
        del headers[key]
