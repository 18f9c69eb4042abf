"""A cache shared by a fleet of processes, on Redis (the ``redis`` extra).

:class:`RedisCache` is a :class:`~cave_auth.service.cache.CheckerCache`: give
it to a :class:`~cave_auth.service.Checker` (or set ``TOKEN_CACHE_REDIS_URL``
for the Flask drop-in) and every process of every pod shares one answer per
token, so that a new token costs one lookup of the auth service per TTL for
the whole fleet, not one per process.

How it works:

* **Keys** are ``{prefix}user:{digest}`` for a token's user record, where
  the digest is the keyed BLAKE2 of the token
  (:func:`~cave_auth.service.cache.token_key`), and ``{prefix}{kind}:{hash}``
  for table and public answers (a hash of the need, whose token is again a
  digest). No token is ever written to Redis, in a key or a value.
* **Values** are the records the local cache holds, as JSON, with the wall
  clock time they expire at; Redis expires them ``stale_if_error`` seconds
  after that (a rejection after the short ``rejected_ttl``).
* **Single flight across processes**: a process that misses takes a lock
  for the key (``SET NX PX``, redis-py's :class:`~redis.lock.Lock`) and
  looks the fact up; the others poll for its answer every 20 ms, and look it
  up themselves if the lock goes away without an answer or ``lock_timeout``
  passes (they never fail because of the wait).
* **A local copy in front**: an answer is served from this process's memory
  for ``local_ttl`` seconds (1 s by default) before Redis is asked again, so
  a hot token costs one Redis round trip per second per process.
  :meth:`RedisCache.peek` reads only that copy (no I/O).
* **Invalidation**: :meth:`RedisCache.invalidate` deletes a token's record
  and publishes its digest; a subscriber thread in every process (started
  at the first lookup, and again in a forked child, which never shares its
  parent's connections or thread) drops the local copies at once.
* **Redis down or slow** never fails a request: calls have short socket
  timeouts and no retries (:meth:`RedisCache.from_url`), a failure opens a
  circuit breaker for ``retry_interval`` seconds during which the process
  answers from its own copies (kept for the whole TTL) and the auth service,
  one warning is logged when the outage starts and one when Redis answers
  again.

The digest key is shared by the fleet, or the keys of two processes would
not match: it is ``secret`` if given (e.g. from a Kubernetes Secret), else
32 random bytes stored once in Redis at ``{prefix}secret`` by the first
process (and read back by the others, again after an outage). Who can read
that Redis can therefore test a guessed token against the keys; CAVE tokens
are 32 random characters, so guessing is hopeless, and the digest's job is
to keep a usable credential out of Redis, its dumps and its monitoring.
Whoever can *write* to that Redis can make any token pass as any user, as
whoever can write to the auth server's own Redis can: run it where only the
service's pods reach it, with a password or TLS (``rediss://``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import threading
import time
from typing import TYPE_CHECKING, Any

try:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry
except ImportError as error:
    raise ImportError(
        "cave_auth.service.redis needs redis-py: pip install 'cave-auth[redis]'"
    ) from error

from ._shared import Breaker, encode_record, read_record, shared_key
from .cache import MISSING, LookupCache, token_key, user_key

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

    from redis.lock import Lock

__all__ = ["RedisCache"]

_log = logging.getLogger("cave_auth.service")

_POLL = 0.02
"""How often a process waiting for another's lookup looks for its answer."""


class RedisCache:
    """A :class:`~cave_auth.service.cache.CheckerCache` shared through Redis.

    Args:
        client: The Redis client. Give it short socket timeouts and no
            retries (as :meth:`from_url` does): a slow Redis must not hold a
            request longer than the auth service would.
        maxsize: The most entries kept in this process's memory.
        ttl: How long an answer is kept, in seconds (``TOKEN_CACHE_TTL``).
        rejected_ttl: How long a rejection is kept, in seconds.
        stale_if_error: How long an answer is kept after it expires, in Redis
            and locally, for :meth:`stale` (``TOKEN_CACHE_STALE_IF_ERROR``).
        local_ttl: How long this process answers from its own copy before it
            asks Redis again, in seconds (``TOKEN_CACHE_LOCAL_TTL``).
        prefix: The start of every Redis key and channel name of this cache.
        secret: The key of the token digests, shared by the fleet; if
            omitted, the one stored in Redis (created by the first process).
        lock_timeout: How long one process's lookup holds the fleet's lock
            of a key, and so how long the others wait for it, in seconds.
        retry_interval: How long Redis is left alone after a failure, in
            seconds.

    Example:
        >>> cache = RedisCache.from_url("redis://redis:6379/0", stale_if_error=600)
        ... # doctest: +SKIP
    """

    shared = True

    def __init__(
        self,
        client: redis.Redis,
        *,
        maxsize: int = 1024,
        ttl: float = 300.0,
        rejected_ttl: float = 5.0,
        stale_if_error: float = 0.0,
        local_ttl: float = 1.0,
        prefix: str = "cave_auth:",
        secret: bytes | None = None,
        lock_timeout: float = 5.0,
        retry_interval: float = 5.0,
    ) -> None:
        if local_ttl <= 0:
            raise ValueError("local_ttl must be positive")
        self.client = client
        self.ttl = float(ttl)
        self.rejected_ttl = float(rejected_ttl)
        self.stale_if_error = float(stale_if_error)
        self.local_ttl = float(local_ttl)
        self.prefix = prefix
        self.lock_timeout = float(lock_timeout)
        self.channel = prefix + "invalidate"
        # Answers served without asking Redis: for local_ttl at most.
        self._front = LookupCache(maxsize, local_ttl, local_ttl)
        # Answers for the whole TTL and the stale window: what this process
        # answers from while Redis is down.
        self._fallback = LookupCache(
            maxsize, ttl, rejected_ttl, stale_if_error=stale_if_error
        )
        self._breaker = Breaker(_describe(client), retry_interval)
        self._secret_given = secret is not None
        self._secret = secret if secret is not None else secrets.token_bytes(32)
        self._listener_pid: int | None = None
        self._listener_lock = threading.Lock()
        self._stop = threading.Event()
        self._owns_client = False
        self._waits = 0
        self._redis_hits = 0
        self._redis_fallbacks = 0
        if not self._secret_given:
            self._read_secret()

    @classmethod
    def from_url(
        cls, url: str, *, socket_timeout: float = 0.5, **options: Any
    ) -> RedisCache:
        """Connect to Redis at ``url`` (``redis://``, ``rediss://``, ``unix://``).

        Args:
            url: The Redis URL (``TOKEN_CACHE_REDIS_URL``); a password in it
                is never logged.
            socket_timeout: The connect and read timeout of each Redis call,
                in seconds; a failed call is not retried.
            **options: The options of :class:`RedisCache`.

        Returns:
            The cache; :meth:`close` closes its connections.
        """
        client = redis.Redis.from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            retry=Retry(NoBackoff(), 0),
        )
        cache = cls(client, **options)
        cache._owns_client = True
        return cache

    def __repr__(self) -> str:
        return (
            f"RedisCache({self._breaker.name}, ttl={self.ttl}, "
            f"rejected_ttl={self.rejected_ttl}, local_ttl={self.local_ttl})"
        )

    def __enter__(self) -> RedisCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop this process's subscriber thread, and close the connections.

        The client is closed only if :meth:`from_url` made it.
        """
        self._stop.set()
        self._listener_pid = None
        if self._owns_client:
            self.client.close()

    def key(self, token: str) -> bytes:
        """Return the digest standing for ``token``, the same in every process.

        Args:
            token: A token.

        Returns:
            A keyed digest (see :func:`~cave_auth.service.cache.token_key`).
        """
        return token_key(self._secret, token)

    def peek(self, key: Hashable) -> Any:
        """Return this process's copy of an entry, without I/O.

        The copy of the last ``local_ttl`` seconds; while Redis is down, any
        live copy.

        Args:
            key: The key.

        Returns:
            The value, or :data:`~cave_auth.service.cache.MISSING`.
        """
        found = self._front.peek(key)
        if found is MISSING and self._breaker.down:
            found = self._fallback.peek(key)
        return found

    def get_or_load(
        self, key: Hashable, load: Callable[[], tuple[Any, float | None]]
    ) -> Any:
        """Return the entry from this process, else from Redis, else ``load`` it.

        One thread of the process asks Redis for a key at a time (the others
        wait for its answer), and one process of the fleet calls ``load``
        (the others wait up to ``lock_timeout`` for its answer). While Redis
        is down, this process's own copy answers, else ``load``.

        Args:
            key: The key.
            load: Returns ``(value, ttl)``; ``ttl`` None means do not keep.
                An exception it raises is not cached.

        Returns:
            The value.
        """
        if self._listener_pid != os.getpid():
            self._listen_here()
        return self._front.get_or_load(key, lambda: self._load(key, load))

    def put(self, key: Hashable, value: Any, ttl: float | None) -> None:
        """Store a value here and in Redis for ``ttl`` seconds (``None``: not at all).

        Args:
            key: The key.
            value: The value (JSON; any other value is kept only here).
            ttl: Its time to live.
        """
        if ttl is None or ttl <= 0:
            return
        self._keep(key, value, ttl)
        self._front.put(key, value, min(ttl, self.local_ttl))

    def stale(self, key: Hashable) -> Any:
        """Return an entry expired less than ``stale_if_error`` ago (or live).

        This process's copy first, else the one in Redis.

        Args:
            key: The key.

        Returns:
            The value, or :data:`~cave_auth.service.cache.MISSING`.
        """
        found = self._fallback.stale(key)
        if found is not MISSING or not self._breaker.allow():
            return found
        try:
            record = read_record(self.client.get(shared_key(self.prefix, key)))
        except redis.RedisError as error:
            self._breaker.failed(error)
            return MISSING
        self._breaker.succeeded(self._read_secret)
        return MISSING if record is None else record[0]

    def discard(self, key: Hashable) -> None:
        """Drop an entry here and in Redis (the other processes' copies expire).

        Args:
            key: The key.
        """
        self._front.discard(key)
        self._fallback.discard(key)
        if self._breaker.allow():
            try:
                self.client.delete(shared_key(self.prefix, key))
            except redis.RedisError as error:
                self._breaker.failed(error)
            else:
                self._breaker.succeeded(self._read_secret)

    def invalidate(self, token: str) -> None:
        """End a token's cached user record in every process of the fleet, now.

        Deletes the record in Redis and publishes its digest: each process
        drops its own copy as the message arrives, and the next request
        with the token is checked by the auth service. Call it when an API
        key is deleted or a user loses access.

        Args:
            token: The token.

        Raises:
            redis.RedisError: If Redis could not be told (the processes then
                keep their copies for up to the TTL).
        """
        digest = self.key(token)
        key = user_key(digest)
        self._front.discard(key)
        self._fallback.discard(key)
        with self.client.pipeline() as pipe:
            pipe.delete(shared_key(self.prefix, key))
            pipe.publish(self.channel, digest.hex())
            pipe.execute()

    def counters(self) -> dict[str, int]:
        """Return the cache's counters by name.

        ``single_flight_waits`` (waits for another thread's or process's
        lookup), ``redis_hits`` (answers found in Redis), ``redis_fallbacks``
        (loads that could not use Redis), ``redis_outages`` (times Redis
        stopped answering).

        Returns:
            The counters.
        """
        return {
            "single_flight_waits": self._front.waits + self._waits,
            "redis_hits": self._redis_hits,
            "redis_fallbacks": self._redis_fallbacks,
            "redis_outages": self._breaker.outages,
        }

    def _load(
        self, key: Hashable, load: Callable[[], tuple[Any, float | None]]
    ) -> tuple[Any, float | None]:
        """The front cache's loader: Redis, another process's lookup, or ``load``."""
        name = shared_key(self.prefix, key)
        lock: Lock | None = None
        record = None
        shared = self._breaker.allow()
        if shared:
            try:
                record = read_record(self.client.get(name), fresh=True)
                if record is None:
                    lock = self.client.lock(
                        name + ":lock",
                        timeout=self.lock_timeout,
                        blocking=False,
                        thread_local=False,
                    )
                    if not lock.acquire():
                        lock = None
                        record = self._wait(name)
            except redis.RedisError as error:
                self._breaker.failed(error)
                shared = False
            else:
                self._breaker.succeeded(self._read_secret)
        if record is not None:
            self._redis_hits += 1
            value, ttl = record
            self._fallback.put(key, value, ttl)
            return value, min(ttl, self.local_ttl)
        if not shared:
            self._redis_fallbacks += 1
            found = self._fallback.peek(key)
            if found is not MISSING:
                return found, self.local_ttl
        try:
            value, keep = load()
        except BaseException:
            _release(lock)
            raise
        if keep is not None and keep > 0:
            self._keep(key, value, keep)
            keep = min(keep, self.local_ttl)
        _release(lock)
        return value, keep

    def _wait(self, name: str) -> tuple[Any, float] | None:
        """Wait for the lookup another process holds the lock of ``name`` for.

        Returns:
            Its answer, or ``None`` if the lock went away without one or
            ``lock_timeout`` passed: the caller looks it up itself.

        Raises:
            redis.RedisError: If Redis fails.
        """
        self._waits += 1
        deadline = time.monotonic() + self.lock_timeout
        while time.monotonic() < deadline:
            time.sleep(_POLL)
            raw, locked = self.client.mget(name, name + ":lock")
            record = read_record(raw, fresh=True)
            if record is not None or locked is None:
                return record
        return None

    def _keep(self, key: Hashable, value: Any, ttl: float) -> None:
        """Store an answer in this process's fallback copy and in Redis."""
        self._fallback.put(key, value, ttl)
        data = encode_record(value, ttl)
        if data is None or not self._breaker.allow():
            return
        keep_ms = max(1, int((ttl + self.stale_if_error) * 1000))
        try:
            self.client.set(shared_key(self.prefix, key), data, px=keep_ms)
        except redis.RedisError as error:
            self._breaker.failed(error)
        else:
            self._breaker.succeeded(self._read_secret)

    def _read_secret(self) -> None:
        """Use the fleet's digest key from Redis, creating it if none is there."""
        if self._secret_given:
            return
        name = self.prefix + "secret"
        try:
            with self.client.pipeline() as pipe:
                pipe.set(name, secrets.token_bytes(32), nx=True)
                pipe.get(name)
                _, secret = pipe.execute()
        except redis.RedisError as error:
            self._breaker.failed(error)
            return
        if isinstance(secret, bytes) and secret != self._secret:
            self._secret = secret

    def _listen_here(self) -> None:
        """Start this process's subscriber thread (again, in a forked child)."""
        with self._listener_lock:
            pid = os.getpid()
            if self._listener_pid == pid:
                return
            # A forked child inherits no thread and must not read its parent's
            # subscription: a new event and a new connection from redis-py's
            # pool, which makes new connections in a new process.
            self._stop = threading.Event()
            self._listener_pid = pid
            threading.Thread(
                target=self._listen,
                args=(self._stop,),
                name="cave_auth-redis-invalidations",
                daemon=True,
            ).start()

    def _listen(self, stop: threading.Event) -> None:
        """Drop the local copies of each token invalidated anywhere."""
        missed = False
        while not stop.is_set():
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
            try:
                pubsub.subscribe(self.channel)
                if missed:
                    # Messages may have been lost while unsubscribed.
                    self._front.clear()
                    self._fallback.clear()
                    self._read_secret()
                    missed = False
                while not stop.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._dropped(message["data"])
            # Not only RedisError: close() closes the connection under the
            # read, and redis-py then raises OSError or ValueError.
            except Exception:
                missed = True
                stop.wait(self._breaker.retry_interval)
            finally:
                with contextlib.suppress(Exception):
                    pubsub.close()

    def _dropped(self, data: Any) -> None:
        try:
            digest = bytes.fromhex(data.decode("ascii"))
        except (AttributeError, ValueError):
            return
        self._front.discard(user_key(digest))
        self._fallback.discard(user_key(digest))


def _release(lock: Lock | None) -> None:
    if lock is None:
        return
    # Expired, or Redis is down: then it expires by itself.
    with contextlib.suppress(redis.RedisError):
        lock.release()


def _describe(client: redis.Redis) -> str:
    """Name a Redis server for log lines, without its password."""
    options = client.connection_pool.connection_kwargs
    if "path" in options:
        return f"unix:{options['path']}"
    return f"{options.get('host', 'localhost')}:{options.get('port', 6379)}"
