"""Reading an answer's body: within a size cap and the call's deadline.

The body is read in pieces of 64 KiB. A ``Content-Length`` over the cap is
refused before any of it is read, and a body without one is refused as soon
as it passes the cap, so a huge answer never sits in memory. Before each
piece the socket's timeout is set to what is left of the call's budget (or
the per-read limit, if shorter), so a server that sends a byte now and then
cannot stretch a call past its deadline.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from .base import Response
from .failures import AttemptLimits, Failure, os_error_text

if TYPE_CHECKING:
    import urllib3

__all__ = ["read_body"]

_CHUNK = 64 * 1024


def read_body(
    raw: urllib3.BaseHTTPResponse,
    url: str,
    deadline: float,
    limits: AttemptLimits,
    max_body_size: int,
) -> Response:
    """Read an answer's body within the size cap and the deadline.

    Args:
        raw: urllib3's answer, its body not read yet.
        url: The URL that answered.
        deadline: The call's deadline on the monotonic clock.
        limits: The attempt's limits; ``limits.read`` bounds each wait.
        max_body_size: The largest body accepted, in bytes.

    Returns:
        The whole answer. The connection goes back to its pool.

    Raises:
        Failure: If the body is too large, stalls past a limit, or the
            connection breaks; the caller closes the connection.
    """
    import urllib3.exceptions as exceptions

    length = raw.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > max_body_size:
        raise Failure(
            "too large",
            f"the {raw.status} answer of {int(length)} bytes is larger than "
            f"max_body_size={max_body_size}; it was not read",
        )
    chunks: list[bytes] = []
    size = 0
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Failure(
                    "read",
                    f"the server did not answer in time: the body stalled after "
                    f"{size} bytes ({limits.read_label})",
                )
            if sock is not None:
                sock.settimeout(min(limits.read, remaining))
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
        raise Failure(
            "read",
            f"the server did not answer in time: the body stalled after {size} "
            f"bytes ({limits.read_label})",
        ) from None
    except (exceptions.ProtocolError, exceptions.DecodeError, OSError) as exc:
        detail = os_error_text(exc) or "the answer was cut short"
        raise Failure(
            "broke", f"the connection broke after {size} bytes ({detail})"
        ) from None
    raw.release_conn()
    return Response(
        status=raw.status,
        headers={name.lower(): value for name, value in raw.headers.itermerged()},
        body=b"".join(chunks),
        url=url,
    )
