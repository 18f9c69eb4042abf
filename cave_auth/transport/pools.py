"""urllib3 connection pools that tell the transport what happened to them.

Two things urllib3 does not say: whether the connection a request used had
been used before (a reused connection that is reset may be stale, see
:mod:`cave_auth.transport.urllib3_transport`), and that a TLS handshake or a
proxy tunnel timed out (urllib3 reports it as a *read* timeout). The pool
classes here record the first in a thread-local ``handout.reused`` and raise
the second as a connect timeout. They are created on first use, so that
urllib3 is imported only when a transport is.
"""

from __future__ import annotations

import functools
import queue
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import urllib3

__all__ = ["HANDSHAKE_TIMED_OUT", "close_idle_connections", "pool_classes"]

HANDSHAKE_TIMED_OUT = "handshake timed out"
"""The message of the connect timeout raised for a stalled handshake."""


@functools.cache
def pool_classes() -> dict[str, type[urllib3.HTTPConnectionPool]]:
    """Return, by scheme, pool classes that say whether a connection was reused.

    They also report a TLS handshake (or proxy tunnel) that timed out as a
    connect timeout, which urllib3 calls a read timeout. They are created
    once, when the first transport is.
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
