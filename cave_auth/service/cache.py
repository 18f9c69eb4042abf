"""The caches a checker keeps answers in, and a per-key rate limiter.

:class:`CheckerCache` is the protocol the
:class:`~cave_auth.service.Checker` depends on. :class:`LookupCache` is its
per-process implementation; :class:`cave_auth.service.redis.RedisCache`
(the ``redis`` extra) shares one cache across a fleet of processes, with a
:class:`LookupCache` in front.

:class:`LookupCache` keeps answers of the auth service for a while: bounded
(least recently used entries go first), each entry with its own time to live
(a rejected token gets a short one, so a token that becomes valid works
within seconds), an injectable clock, one lock around every change (held
for a dictionary operation, never during a lookup), and single flight:
concurrent misses of one key make one call of the loader, and every waiter
gets its result or its exception. An exception is never cached, so an
outage is retried by the next request. With ``stale_if_error`` (RFC 5861's
name), an entry is kept that long after it expires, for
:meth:`~LookupCache.stale` to hand out while the auth service is down.

:class:`RefreshLimiter` counts, per key and with its own lock, how often a
denied user's record may be fetched again (``TOKEN_CACHE_SKIP_LIMIT`` per
``TOKEN_CACHE_SKIP_WINDOW_SEC``, each key with its own window): beyond the
limit it says no, and the caller answers from what it has; it never raises.

Keys are whatever the caller builds; :func:`token_key` turns a token into a
keyed digest, so that no printed key or repr holds a token, and
:func:`user_key` is the key of a token's user record.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

__all__ = [
    "MISSING",
    "CheckerCache",
    "LookupCache",
    "RefreshLimiter",
    "token_key",
    "user_key",
]

MISSING: Any = type("_Missing", (), {"__repr__": lambda self: "MISSING"})()
"""What :meth:`LookupCache.peek` returns for a key it does not hold."""


class CheckerCache(Protocol):
    """What a :class:`~cave_auth.service.Checker` needs of its cache.

    :class:`LookupCache` (one process) and
    :class:`~cave_auth.service.redis.RedisCache` (a fleet) implement it; see
    :class:`LookupCache` for what each member does.

    Attributes:
        ttl: How long an answer is kept, in seconds.
        rejected_ttl: How long a rejection is kept, in seconds.
        stale_if_error: How long an expired answer is kept for
            :meth:`stale`, in seconds (0: not at all).
        shared: Whether the cache reaches beyond this process, so that
            :meth:`get_or_load`, :meth:`put`, :meth:`stale` and
            :meth:`discard` may wait on the network (``peek`` never does);
            the ASGI middleware calls them in a worker thread then.
    """

    ttl: float
    rejected_ttl: float
    stale_if_error: float
    shared: bool

    def key(self, token: str) -> bytes:
        """Return the digest standing for ``token`` in this cache's keys."""
        ...

    def peek(self, key: Hashable) -> Any:
        """Return a live entry from this process's memory, or :data:`MISSING`."""
        ...

    def get_or_load(
        self, key: Hashable, load: Callable[[], tuple[Any, float | None]]
    ) -> Any:
        """Return the live entry for ``key``, or load it once for all callers."""
        ...

    def put(self, key: Hashable, value: Any, ttl: float | None) -> None:
        """Store a value for ``ttl`` seconds (``None`` or ≤ 0: not at all)."""
        ...

    def stale(self, key: Hashable) -> Any:
        """Return an entry expired less than ``stale_if_error`` ago, or MISSING."""
        ...

    def discard(self, key: Hashable) -> None:
        """Drop one entry, if present."""
        ...

    def invalidate(self, token: str) -> None:
        """Drop the user record of ``token``: the token is checked afresh."""
        ...

    def counters(self) -> dict[str, int]:
        """Return the cache's own counters, by name."""
        ...


def token_key(secret: bytes, token: str) -> bytes:
    """Return a keyed digest of a token, for use in cache keys.

    Args:
        secret: A per-cache random key (so digests mean nothing elsewhere).
        token: The token.

    Returns:
        16 bytes.
    """
    return hashlib.blake2b(
        token.encode("utf-8", "surrogatepass"), key=secret, digest_size=16
    ).digest()


def user_key(digest: bytes) -> tuple[str, bytes]:
    """Return the cache key of a user record, from its token's digest.

    Args:
        digest: The token's digest (:meth:`LookupCache.key`).

    Returns:
        ``("user", digest)``.
    """
    return ("user", digest)


class _Flight:
    __slots__ = ("done", "error", "value")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None


class LookupCache:
    """A bounded, thread-safe, single-flight cache with per-entry TTLs.

    The per-process :class:`CheckerCache`.

    Args:
        maxsize: The most entries kept (``TOKEN_CACHE_MAXSIZE``).
        ttl: How long an answer is kept, in seconds (``TOKEN_CACHE_TTL``).
        rejected_ttl: How long a rejection (an invalid token, an unknown
            table) is kept, in seconds.
        stale_if_error: How long an entry is kept after it expires, for
            :meth:`stale` (``TOKEN_CACHE_STALE_IF_ERROR``; 0: not at all).
        clock: A monotonic clock in seconds, for tests.

    Attributes:
        loads: How many times a loader was called.
        waits: How many callers waited for another's load of their key.

    Example:
        >>> cache = LookupCache(maxsize=2, ttl=60)
        >>> cache.get_or_load("k", lambda: ("v", cache.ttl))
        'v'
        >>> cache.peek("k")
        'v'
    """

    shared = False

    def __init__(
        self,
        maxsize: int = 1024,
        ttl: float = 300.0,
        rejected_ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        *,
        stale_if_error: float = 0.0,
    ) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        if stale_if_error < 0:
            raise ValueError("stale_if_error must not be negative")
        self.maxsize = maxsize
        self.ttl = float(ttl)
        self.rejected_ttl = float(rejected_ttl)
        self.stale_if_error = float(stale_if_error)
        self.clock = clock
        self.secret = secrets.token_bytes(16)
        self._lock = threading.Lock()
        # key -> (expires at, value); kept until expiry + stale_if_error.
        self._data: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._flights: dict[Hashable, _Flight] = {}
        self.loads = 0
        self.waits = 0

    def __repr__(self) -> str:
        return (
            f"LookupCache(maxsize={self.maxsize}, ttl={self.ttl}, "
            f"rejected_ttl={self.rejected_ttl}, size={len(self)})"
        )

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def key(self, token: str) -> bytes:
        """Return the digest standing for ``token`` in this cache's keys.

        Args:
            token: A token.

        Returns:
            A keyed digest (see :func:`token_key`).
        """
        return token_key(self.secret, token)

    def peek(self, key: Hashable) -> Any:
        """Return a live entry without loading it.

        Args:
            key: The key.

        Returns:
            The value, or :data:`MISSING`.
        """
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return MISSING
            if entry[0] <= self.clock():
                if entry[0] + self.stale_if_error <= self.clock():
                    del self._data[key]
                return MISSING
            self._data.move_to_end(key)
            return entry[1]

    def stale(self, key: Hashable) -> Any:
        """Return an entry, live or expired less than ``stale_if_error`` ago.

        Args:
            key: The key.

        Returns:
            The value, or :data:`MISSING`.
        """
        with self._lock:
            entry = self._data.get(key)
            if entry is None or entry[0] + self.stale_if_error <= self.clock():
                return MISSING
            return entry[1]

    def put(self, key: Hashable, value: Any, ttl: float | None) -> None:
        """Store a value for ``ttl`` seconds (``None`` or ≤ 0: not at all).

        Args:
            key: The key.
            value: The value.
            ttl: Its time to live.
        """
        if ttl is None or ttl <= 0:
            return
        with self._lock:
            self._store(key, value, ttl)

    def _store(self, key: Hashable, value: Any, ttl: float) -> None:
        data = self._data
        data[key] = (self.clock() + ttl, value)
        data.move_to_end(key)
        while len(data) > self.maxsize:
            data.popitem(last=False)

    def discard(self, key: Hashable) -> None:
        """Drop an entry, if present (its stale copy too).

        Args:
            key: The key.
        """
        with self._lock:
            self._data.pop(key, None)

    def invalidate(self, token: str) -> None:
        """Drop the user record of ``token``, so that it is checked afresh.

        Args:
            token: The token.
        """
        self.discard(user_key(self.key(token)))

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._data.clear()

    def counters(self) -> dict[str, int]:
        """Return ``single_flight_waits``: callers that joined another's load.

        Returns:
            The counters, by name.
        """
        return {"single_flight_waits": self.waits}

    def get_or_load(
        self, key: Hashable, load: Callable[[], tuple[Any, float | None]]
    ) -> Any:
        """Return the live entry for ``key``, or load it once for all callers.

        The lock is held only to look and to store, never while ``load``
        runs: a hit never waits behind another key's load.

        Args:
            key: The key.
            load: Returns ``(value, ttl)``; ``ttl`` None means do not keep.
                Called by one thread per missing key; an exception it raises
                reaches every caller waiting for that key, and is not cached.

        Returns:
            The value.
        """
        with self._lock:
            entry = self._data.get(key)
            if entry is not None:
                now = self.clock()
                if entry[0] > now:
                    self._data.move_to_end(key)
                    return entry[1]
                if entry[0] + self.stale_if_error <= now:
                    del self._data[key]
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
                self.loads += 1
            else:
                self.waits += 1
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            return flight.value
        try:
            value, ttl = load()
        except BaseException as error:
            flight.error = error
            with self._lock:
                del self._flights[key]
            flight.done.set()
            raise
        flight.value = value
        with self._lock:
            if ttl is not None and ttl > 0:
                self._store(key, value, ttl)
            del self._flights[key]
        flight.done.set()
        return value


class RefreshLimiter:
    """Allows ``limit`` refreshes per key per window; thread-safe, never raises.

    Args:
        limit: Refreshes allowed per key in one window.
        window: The window, in seconds; each key's starts at its first use.
        maxsize: The most keys tracked (the oldest are forgotten).
        clock: A monotonic clock in seconds, for tests.
    """

    def __init__(
        self,
        limit: int = 20,
        window: float = 300.0,
        maxsize: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = float(window)
        self.maxsize = maxsize
        self.clock = clock
        self._lock = threading.Lock()
        self._counts: OrderedDict[Hashable, list[float]] = OrderedDict()

    def __repr__(self) -> str:
        return f"RefreshLimiter(limit={self.limit}, window={self.window})"

    def allow(self, key: Hashable) -> bool:
        """Count one refresh of ``key`` and say whether it may happen.

        Args:
            key: The key (a token digest).

        Returns:
            Whether the refresh is within the limit.
        """
        now = self.clock()
        with self._lock:
            counts = self._counts
            state = counts.get(key)
            if state is None or now - state[0] > self.window:
                state = counts[key] = [now, 0.0]
            counts.move_to_end(key)
            while len(counts) > self.maxsize:
                counts.popitem(last=False)
            state[1] += 1
            return state[1] <= self.limit
