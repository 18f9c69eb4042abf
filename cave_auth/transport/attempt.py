"""One attempt over urllib3: its pools, its answer's body, and why it failed.

**Pools** (``pool_classes``) record whether a connection was reused (a reset
reused one may be stale), and raise a timed-out TLS handshake or proxy tunnel
as a connect timeout (urllib3 says read timeout). **Body**: read in 64 KiB
pieces; over the cap it is refused by its ``Content-Length`` before reading,
or once past the cap; the socket's timeout shrinks to what is left of the
call's budget, so a trickling server cannot stretch a call past its deadline.
**Failures**: each urllib3 exception becomes a ``Failure`` (see ``rules``),
whose kind decides whether a retry may help, and whose text names what
failed and the limit hit.
"""

from __future__ import annotations

import functools
import http.client
import queue
import re
import threading
import time
from typing import TYPE_CHECKING, Any, NamedTuple

from .base import Response
from .rules import Failure, os_error_text, seconds, tls_failure_text, too_large

if TYPE_CHECKING:
    from types import ModuleType

    import urllib3

__all__ = [
    "HANDSHAKE_TIMED_OUT",
    "AttemptLimits",
    "classify",
    "close_idle_connections",
    "pool_classes",
    "read_body",
]


class AttemptLimits(NamedTuple):
    """The limits of one attempt, and the settings a message names them by.

    (A named tuple: one is made per attempt, on the path of every request.)

    Attributes:
        connect: Seconds to connect (TLS handshake and proxy tunnel included).
        read: Seconds to wait for each piece of the answer.
        connect_setting: ``"connect_timeout"``, or ``"timeout"`` when the rest
            of the call's budget was shorter.
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


def classify(
    exc: BaseException,
    *,
    proxy: str | None,
    limits: AttemptLimits,
    reused: bool,
) -> Failure:
    """Turn what urllib3 raised into a ``Failure`` with a readable text.

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
        detail = tls_failure_text(exc) or "handshake failed"
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
            "read", f"the server did not answer in time ({limits.read_label})"
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
            "broke", f"the connection broke ({detail})", stale=reused and reset
        )
    return Failure("broke", f"the request failed ({type(exc).__name__})")


HANDSHAKE_TIMED_OUT = "handshake timed out"
"""The message of the connect timeout raised for a stalled handshake."""


@functools.cache
def pool_classes() -> dict[str, type[urllib3.HTTPConnectionPool]]:
    """Return, by scheme, pool classes that say whether a connection was reused.

    They also report a handshake or proxy tunnel that timed out as a connect
    timeout (urllib3 says read timeout). Created once, by the first transport.
    """
    import urllib3
    from urllib3.exceptions import ConnectTimeoutError

    class HandshakeTimeout(ConnectTimeoutError):
        """The TLS handshake or the proxy tunnel did not finish in time."""

        handshake = True

    class TrackingHTTPPool(urllib3.HTTPConnectionPool):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.handout = threading.local()

        def _get_conn(self, timeout: float | None = None) -> Any:
            conn = super()._get_conn(timeout)
            self.handout.reused = not conn.is_closed
            return conn

        def _validate_conn(self, conn: Any) -> None:
            try:
                super()._validate_conn(conn)
            except TimeoutError as exc:
                raise HandshakeTimeout(self, HANDSHAKE_TIMED_OUT) from exc

    class TrackingHTTPSPool(TrackingHTTPPool, urllib3.HTTPSConnectionPool):
        pass

    return {"http": TrackingHTTPPool, "https": TrackingHTTPSPool}


def close_idle_connections(pool: Any) -> None:
    """Close the idle connections of a urllib3 pool: one went stale, so may they.

    Connections in use are left alone; the pool opens fresh ones on demand.
    """
    idle = getattr(pool, "pool", None)
    if idle is None:
        return
    taken = []
    while True:
        try:
            taken.append(idle.get(block=False))
        except queue.Empty:
            break
    for conn in taken:
        if conn is not None:
            conn.close()
        idle.put(None)


_CHUNK = 64 * 1024
_SLACK = 0.05
"""How far past the deadline one wait may end before the socket's timeout is
shortened (each change of it costs a system call)."""


def read_body(
    raw: urllib3.BaseHTTPResponse,
    url: str,
    deadline: float,
    limits: AttemptLimits,
    max_body_size: int,
    exceptions: ModuleType,
) -> Response:
    """Read the body of ``raw`` (urllib3's answer from ``url``) within the limits.

    ``deadline`` is the call's (monotonic clock), ``limits.read`` bounds each
    wait, ``exceptions`` is ``urllib3.exceptions``. Once the whole answer is
    read, the connection goes back to its pool.

    Raises:
        Failure: If the body is too large, stalls past a limit, or the
            connection breaks; the caller closes the connection.
    """
    length = raw.headers.get("Content-Length", "")
    expected = int(length) if length.isdigit() else None
    if expected is not None and expected > max_body_size:
        raise too_large(raw.status, max_body_size, expected)
    if raw.headers.get("Content-Encoding", "identity") != "identity":
        expected = None
    chunks: list[bytes] = []
    size = 0
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    try:
        while expected is None or size < expected:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Failure(
                    "read",
                    f"the server did not answer in time: the body stalled after "
                    f"{size} bytes ({limits.read_label})",
                )
            if sock is not None and remaining + _SLACK < (sock.gettimeout() or 0):
                sock.settimeout(remaining)
            chunk = raw.read1(_CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > max_body_size:
                raise too_large(raw.status, max_body_size)
            chunks.append(chunk)
    except exceptions.ReadTimeoutError:
        failure: Failure | None = Failure(
            "read",
            f"the server did not answer in time: the body stalled after {size} "
            f"bytes ({limits.read_label})",
        )
    except (exceptions.ProtocolError, exceptions.DecodeError, OSError) as exc:
        detail = os_error_text(exc) or "the answer was cut short"
        failure = Failure(
            "broke", f"the connection broke after {size} bytes ({detail})"
        )
    else:
        failure = None
    if failure is not None:
        # Outside the except block, so that urllib3's exception (its url
        # may hold the token) does not travel as __context__.
        raise failure
    raw.release_conn()
    return Response(
        status=raw.status,
        headers=_lower_case(raw.headers),
        body=b"".join(chunks),
        url=url,
    )


def _lower_case(headers: Any) -> dict[str, str]:
    """Return urllib3's headers as a dict with lower-case names, repeats merged."""
    container = getattr(headers, "_container", None)
    if type(container) is dict:
        # urllib3's HTTPHeaderDict keeps {lower name: [name, value, ...]}.
        return {
            name: values[1] if len(values) == 2 else ", ".join(values[1:])
            for name, values in container.items()
        }
    return {name.lower(): value for name, value in headers.itermerged()}
