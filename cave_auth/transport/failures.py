"""Why an attempt failed, in words a person can read. This module does no I/O.

urllib3's exceptions carry object reprs, memory addresses and its own
wording ("read timeout" for a stalled TLS handshake). The transport turns
each into a ``Failure``: a kind that decides whether a retry may help,
and a text that names what failed (connect, TLS, proxy, read), and the limit
that was hit under the name of its setting; ``Failure.error`` makes the
:class:`~cave_auth.TransportError` that leaves the transport. URLs reach
messages only through :func:`cave_auth._redact.scrub_url`, which masks query
secrets and the bearer token.
"""

from __future__ import annotations

import http.client
import re
from collections.abc import Mapping
from typing import NamedTuple

from .._redact import scrub_url
from ..errors import ResponseTooLargeError, TransportError

__all__ = [
    "AttemptLimits",
    "Failure",
    "classify",
    "os_error_text",
    "seconds",
]

_ERRNO_TEXT = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")


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
        self, method: str, url: str, headers: Mapping[str, str], attempts: int
    ) -> TransportError:
        """Make the error that leaves the transport: text only, nothing chained.

        ``raise ... from None`` only hides the exception being handled: it
        stays in ``__context__``. So this error is raised outside any
        ``except`` block, and so is each ``Failure``, so that no urllib3
        exception (whose ``url`` holds the request's path, the token on the
        TTL route) travels with it. ``url`` is shown with query secrets and
        the bearer token of ``headers`` masked.
        """
        shown = scrub_url(url, headers)
        tries = f", after {attempts} attempts" if attempts > 1 else ""
        kind = ResponseTooLargeError if self.kind == "too large" else TransportError
        return kind(f"{method} {shown}: {self.text}{tries}", method=method, url=shown)


class AttemptLimits(NamedTuple):
    """The limits of one attempt, and the settings a message names them by.

    A named tuple rather than an attrs class: one is made per attempt, on
    the path of every request.

    Attributes:
        connect: Seconds to connect (TLS handshake and proxy tunnel included).
        read: Seconds to wait for each piece of the answer.
        connect_setting: ``"connect_timeout"``, or ``"timeout"`` when what
            was left of the call's budget was shorter.
        read_setting: ``"read_timeout"`` or ``"timeout"``, likewise.
        budget: The call's ``timeout``.
    """

    connect: float
    read: float
    connect_setting: str
    read_setting: str
    budget: float

    @property
    def connect_label(self) -> str:
        """The connect limit as a message names it, e.g. ``connect_timeout=5 s``."""
        value = self.budget if self.connect_setting == "timeout" else self.connect
        return f"{self.connect_setting}={seconds(value)}"

    @property
    def read_label(self) -> str:
        """The read limit as a message names it, e.g. ``timeout=30 s``."""
        value = self.budget if self.read_setting == "timeout" else self.read
        return f"{self.read_setting}={seconds(value)}"


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
        if isinstance(current, OSError) and current.strerror:
            return str(current.strerror).lower()
        match = _ERRNO_TEXT.search(str(current))
        if match:
            return match.group(1).strip().lower()
        current = current.__cause__ or current.__context__
    return ""


def _ssl_text(exc: BaseException) -> str:
    current: BaseException | None = exc
    while current is not None:
        reason = getattr(current, "reason", None)
        verify = getattr(current, "verify_message", None)
        if verify:
            return f"certificate verify failed: {verify}"
        if isinstance(reason, str) and reason:
            return reason.lower().replace("_", " ")
        current = current.__cause__ or current.__context__
    return "handshake failed"


def classify(
    exc: BaseException,
    *,
    proxy: str | None,
    limits: AttemptLimits,
    reused: bool,
) -> Failure:
    """Turn what urllib3 raised into a :class:`Failure` with a readable text.

    ``proxy`` is the proxy the request went through, as it may be shown;
    ``reused`` whether the attempt used a pooled, already used connection.
    """
    import urllib3.exceptions as exceptions

    connect_text = limits.connect_label
    if isinstance(exc, exceptions.ProxyError):
        original = exc.original_error
        shown = proxy or "the proxy"
        if isinstance(original, exceptions.ConnectTimeoutError) and not isinstance(
            original, exceptions.NewConnectionError
        ):
            return Failure(
                "connect", f"connecting to the proxy {shown} timed out ({connect_text})"
            )
        detail = os_error_text(original) or str(original).split(":")[-1].strip()
        tunnel = re.search(r"Tunnel connection failed: (.+)", str(original))
        if tunnel:
            return Failure(
                "connect",
                f"the proxy {shown} refused the tunnel ({tunnel.group(1).strip()})",
            )
        return Failure("connect", f"could not connect to the proxy {shown} ({detail})")
    via = f" through the proxy {proxy}" if proxy else ""
    if isinstance(exc, exceptions.SSLError):
        detail = _ssl_text(exc)
        return Failure("tls", f"TLS failed{via} ({detail})")
    if isinstance(exc, exceptions.NameResolutionError):
        return Failure("connect", "could not connect (the host name did not resolve)")
    if isinstance(exc, exceptions.NewConnectionError):
        detail = os_error_text(exc) or "connection failed"
        return Failure("connect", f"could not connect{via} ({detail})")
    if isinstance(exc, exceptions.ConnectTimeoutError):
        if getattr(exc, "handshake", False):
            what = "the proxy tunnel or TLS handshake" if proxy else "the TLS handshake"
            return Failure("connect", f"{what} timed out ({connect_text})")
        return Failure("connect", f"connecting timed out{via} ({connect_text})")
    if isinstance(exc, exceptions.ReadTimeoutError):
        return Failure(
            "read",
            f"the server did not answer in time ({limits.read_label})",
        )
    if isinstance(exc, exceptions.ProtocolError):
        cause = exc.args[1] if len(exc.args) > 1 else exc
        closed = isinstance(cause, http.client.RemoteDisconnected)
        reset = not closed and isinstance(
            cause, ConnectionResetError | BrokenPipeError | ConnectionAbortedError
        )
        if closed:
            detail = "the server closed it without an answer"
        else:
            detail = os_error_text(cause) or "the answer was malformed"
        return Failure(
            "broke",
            f"the connection broke ({detail})",
            stale=reused and reset,
        )
    return Failure("broke", f"the request failed ({type(exc).__name__})")
