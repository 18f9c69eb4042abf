"""Reading an answer's body: within a size cap and the call's deadline.

The body is read in pieces of 64 KiB, until ``Content-Length`` bytes have
come (or the end, without one). A ``Content-Length`` over the cap is refused
before any of it is read, and a body without one is refused as soon
as it passes the cap, so a huge answer never sits in memory. The socket's
timeout is the attempt's read limit; before each piece it is shortened to
what is left of the call's budget once that is shorter (by more than 50 ms),
so a server that sends a byte now and then cannot stretch a call past its
deadline.
"""

from __future__ import annotations

import time
from types import ModuleType
from typing import TYPE_CHECKING, Any

from .base import Response
from .failures import AttemptLimits, Failure, os_error_text

if TYPE_CHECKING:
    import urllib3

__all__ = ["read_body"]

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

    ``deadline`` is the call's, on the monotonic clock; ``limits.read``
    bounds each wait; ``exceptions`` is ``urllib3.exceptions``, which the
    caller has imported. Once the whole answer is read, the connection goes
    back to its pool.

    Raises:
        Failure: If the body is too large, stalls past a limit, or the
            connection breaks; the caller closes the connection.
    """
    length = raw.headers.get("Content-Length", "")
    expected = int(length) if length.isdigit() else None
    if expected is not None and expected > max_body_size:
        raise Failure(
            "too large",
            f"the {raw.status} answer of {expected} bytes is larger than "
            f"max_body_size={max_body_size}; it was not read",
        )
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
                raise Failure(
                    "too large",
                    f"the {raw.status} answer is larger than "
                    f"max_body_size={max_body_size}; reading stopped there",
                )
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
