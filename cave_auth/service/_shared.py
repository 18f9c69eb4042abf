"""The parts of a shared cache that need no Redis client.

The names and the JSON form of what :class:`~cave_auth.service.redis.RedisCache`
stores (no token in either: a token appears only as its keyed digest), and
the circuit breaker that decides when Redis is asked.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

__all__ = ["Breaker", "encode_record", "read_record", "shared_key"]

_log = logging.getLogger("cave_auth.service")


def shared_key(prefix: str, key: Hashable) -> str:
    """Return the Redis key of a cache key, the same in every process.

    A user record's is ``{prefix}user:{digest}``, so that an invalidation
    names it by the digest alone; any other's is ``{prefix}{kind}:{hash}``,
    a hash of the whole key (whose token is a digest already).
    """
    if isinstance(key, tuple) and len(key) == 2 and key[0] == "user":
        return f"{prefix}user:{key[1].hex()}"
    kind = key[0] if isinstance(key, tuple) and isinstance(key[0], str) else "key"
    canonical = json.dumps(_plain(key), separators=(",", ":"), default=str)
    digest = hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()
    return f"{prefix}{kind}:{digest}"


def encode_record(value: Any, ttl: float) -> str | None:
    """Return the JSON stored for an answer fresh for ``ttl`` seconds.

    ``None`` for a value JSON cannot hold (it is then kept in the process
    only). The expiry is wall clock time: the fleet shares no other clock.
    """
    try:
        return json.dumps(
            {"value": value, "expires": time.time() + ttl}, separators=(",", ":")
        )
    except (TypeError, ValueError):
        return None


def read_record(raw: Any, *, fresh: bool = False) -> tuple[Any, float] | None:
    """Parse a stored answer: ``(value, seconds it stays fresh)``, or ``None``.

    ``None`` for nothing, something unreadable, or (with ``fresh``) an
    answer kept only for stale-if-error.
    """
    if raw is None:
        return None
    try:
        record = json.loads(raw)
        left = float(record["expires"]) - time.time()
        value = record["value"]
    except (ValueError, TypeError, KeyError):
        return None
    if fresh and left <= 0:
        return None
    return value, left


def _plain(part: Any) -> Any:
    """A JSON form of a cache key; sets sorted, so every process agrees."""
    if isinstance(part, bytes):
        return part.hex()
    if isinstance(part, (frozenset, set)):
        return sorted((_plain(one) for one in part), key=repr)
    if isinstance(part, (tuple, list)):
        return [_plain(one) for one in part]
    return part


class Breaker:
    """Whether to ask Redis now; one warning per outage, one when it is back.

    Args:
        name: The server, for log lines (no password).
        retry_interval: How long Redis is left alone after a failure.

    Attributes:
        down: Whether Redis failed last time it was asked.
        outages: How many times it went down.
    """

    def __init__(self, name: str, retry_interval: float) -> None:
        self.name = name
        self.retry_interval = float(retry_interval)
        self.down = False
        self.outages = 0
        self._retry_at = 0.0
        self._lock = threading.Lock()

    def allow(self) -> bool:
        """Whether to ask Redis: always while up; once per interval while down."""
        if not self.down:
            return True
        now = time.monotonic()
        with self._lock:
            if now < self._retry_at:
                return False
            self._retry_at = now + self.retry_interval
            return True

    def failed(self, error: Exception) -> None:
        """Note a failure: Redis is down, and left alone for a while."""
        with self._lock:
            self._retry_at = time.monotonic() + self.retry_interval
            if self.down:
                return
            self.down = True
            self.outages += 1
        _log.warning(
            "Redis at %s is unavailable (%s: %s); answering from this process's "
            "cache and the auth service, and trying Redis again every %g s",
            self.name,
            type(error).__name__,
            error,
            self.retry_interval,
        )

    def succeeded(self, on_return: Callable[[], None]) -> None:
        """Note a success; after an outage, log it and call ``on_return``."""
        if not self.down:
            return
        with self._lock:
            if not self.down:
                return
            self.down = False
        _log.warning("Redis at %s answers again", self.name)
        on_return()
