"""Tests for cave_auth.service.cache: bounded TTL cache, single flight, limiter."""

from __future__ import annotations

import threading
import time

import pytest

from cave_auth.service.cache import (
    MISSING,
    LookupCache,
    RefreshLimiter,
    token_key,
    user_key,
)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_after_their_own_ttl():
    """An entry lives for the TTL it was stored with, then is gone."""
    clock = Clock()
    cache = LookupCache(ttl=10, rejected_ttl=1, clock=clock)
    cache.put("long", 1, cache.ttl)
    cache.put("short", None, cache.rejected_ttl)
    clock.now = 1.5
    assert cache.peek("short") is MISSING
    assert cache.peek("long") == 1
    clock.now = 10.5
    assert cache.peek("long") is MISSING


def test_size_is_bounded_least_recently_used_first():
    """Beyond maxsize the least recently used entry is dropped."""
    cache = LookupCache(maxsize=2)
    cache.put("a", 1, 60)
    cache.put("b", 2, 60)
    cache.peek("a")
    cache.put("c", 3, 60)
    assert (cache.peek("a"), cache.peek("b"), cache.peek("c")) == (1, MISSING, 3)
    assert len(cache) == 2


def test_a_ttl_of_none_is_not_stored():
    """A loader answering ttl None is not kept."""
    cache = LookupCache()
    calls = []
    for _ in range(2):
        cache.get_or_load("k", lambda: (calls.append(1), None))
    assert len(calls) == 2


def test_single_flight_makes_one_call_for_concurrent_misses():
    """Fifty threads missing one key share one load."""
    cache = LookupCache()
    calls = []
    gate = threading.Event()

    def load():
        calls.append(1)
        gate.wait(2)
        return "v", 60

    results = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get_or_load("k", load)))
        for _ in range(50)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.05)
    gate.set()
    for thread in threads:
        thread.join()
    assert calls == [1]
    assert results == ["v"] * 50


def test_a_failed_load_reaches_every_waiter_and_is_not_cached():
    """An exception from the loader is raised to all waiters and retried later."""
    cache = LookupCache()

    def fail():
        raise RuntimeError("down")

    with pytest.raises(RuntimeError):
        cache.get_or_load("k", fail)
    assert cache.peek("k") is MISSING
    assert cache.get_or_load("k", lambda: ("up", 60)) == "up"


def test_stress_with_tiny_cache_and_expiring_entries_raises_nothing():
    """Sixteen threads on a two-entry cache whose entries expire make no errors."""
    cache = LookupCache(maxsize=2, ttl=0.001)
    errors = []

    def work(n):
        try:
            for i in range(2000):
                key = (n + i) % 7
                assert cache.get_or_load(key, lambda k=key: (k, cache.ttl)) == key
                cache.peek(key)
                if i % 50 == 0:
                    cache.discard(key)
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(cache) <= 2


def test_refresh_limiter_counts_per_key_and_window():
    """Each key gets its own limit per window; a new window starts afresh."""
    clock = Clock()
    limiter = RefreshLimiter(limit=2, window=10, clock=clock)
    assert [limiter.allow("a") for _ in range(3)] == [True, True, False]
    assert limiter.allow("b") is True
    clock.now = 11
    assert limiter.allow("a") is True


def test_token_key_is_a_keyed_digest():
    """Token digests depend on the cache's secret and never contain the token."""
    cache = LookupCache()
    other = LookupCache()
    key = cache.key("secret-token")
    assert key == token_key(cache.secret, "secret-token")
    assert key != other.key("secret-token")
    assert b"secret" not in key


def test_stale_entries_are_kept_for_stale_if_error_after_expiry():
    """An expired entry is no hit, but stale() hands it out within the window."""
    clock = Clock()
    cache = LookupCache(ttl=10, clock=clock, stale_if_error=30)
    cache.put("k", "v", 10)
    clock.now = 11
    assert cache.peek("k") is MISSING
    assert cache.stale("k") == "v"
    assert cache.get_or_load("k", lambda: ("new", 10)) == "new"
    clock.now = 100
    assert cache.stale("k") is MISSING
    assert len(cache) == 1  # kept no longer than the window: peek drops it
    cache.peek("k")
    assert len(cache) == 0


def test_without_stale_if_error_nothing_stale_is_kept():
    """By default an expired entry is gone for stale() too."""
    clock = Clock()
    cache = LookupCache(ttl=10, clock=clock)
    cache.put("k", "v", 10)
    clock.now = 10.5
    assert cache.stale("k") is MISSING


def test_invalidate_drops_the_user_record_of_a_token():
    """invalidate(token) drops that token's user record, and nothing else."""
    cache = LookupCache()
    cache.put(user_key(cache.key("tok-a")), {"id": 1}, 60)
    cache.put(user_key(cache.key("tok-b")), {"id": 2}, 60)
    cache.put("other", 3, 60)
    cache.invalidate("tok-a")
    assert cache.peek(user_key(cache.key("tok-a"))) is MISSING
    assert cache.peek(user_key(cache.key("tok-b"))) == {"id": 2}
    assert cache.peek("other") == 3


def test_waits_count_the_callers_that_joined_a_load():
    """Callers waiting for another's load of their key are counted."""
    cache = LookupCache()
    gate = threading.Event()
    threads = [
        threading.Thread(
            target=cache.get_or_load, args=("k", lambda: (gate.wait(5), 60))
        )
        for _ in range(5)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while cache.waits < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    gate.set()
    for thread in threads:
        thread.join()
    assert cache.counters() == {"single_flight_waits": 4}
    assert cache.loads == 1
