"""Tests for cave_auth.service.redis: one cache for a fleet, on a real redis-server.

Each :class:`RedisCache` stands for one process (its own memory in front of
the shared Redis); the auth server is a FakeTransport. The fleet under real
gunicorn workers is ``test_service_fleet.py``.
"""

from __future__ import annotations

import logging
import multiprocessing
import socket
import subprocess
import sys
import threading
import time

import pytest
from redis_support import RedisServer, emptied, serve

from cave_auth.service import (
    Allow,
    Checker,
    DatasetNeed,
    PublicNeed,
    Request,
    Rule,
    Settings,
    TransportLookups,
)
from cave_auth.service.cache import MISSING, user_key
from cave_auth.service.redis import RedisCache
from cave_auth.testing import FakeTransport, json_response

pytestmark = pytest.mark.timeout(60)


API = "/auth/api/v1"
TOK = "tok-ada-7f3c9b2e41d8a6c5"
USER = {"id": 2, "name": "Ada", "groups": ["g"], "permissions_v2": {"ds": ["view"]}}


def auth_server(valid=TOK, gate=None):
    """A FakeTransport answering /user/cache, a table and a public root."""

    def user_cache(request):
        if gate is not None:
            gate.wait(10)
        if request.token == valid:
            return USER
        return json_response({"error": "invalid_token"}, status=401)

    fake = FakeTransport(
        {
            ("GET", API + "/service/datastack/table/tbl/dataset"): "ds",
            ("GET", API + "/table/tbl/root/9/is_public"): True,
        }
    )
    fake.add_route("GET", API + "/user/cache", user_cache)
    return fake


def checker(cache, fake, **options):
    settings = Settings("https://auth.example.org/auth")
    lookups = TransportLookups(settings.auth_url, fake)
    return Checker(settings, lookups, cache=cache, **options)


def bearer(token=TOK):
    return Request("GET", headers={"authorization": f"Bearer {token}"})


def status(decision):
    return 200 if isinstance(decision, Allow) else decision.status


def user_lookups(fake):
    return len(fake.requests_to("GET", API + "/user/cache"))


@pytest.fixture(scope="module")
def redis_server():
    yield from serve()


@pytest.fixture
def redis_url(redis_server):
    return emptied(redis_server)


@pytest.fixture
def caches(redis_url):
    made = []

    def make(**options):
        cache = RedisCache.from_url(redis_url, **options)
        made.append(cache)
        return cache

    yield make
    for cache in made:
        cache.close()


def test_two_processes_share_one_lookup(caches):
    """A token looked up by one process is answered from Redis in another."""
    fake = auth_server()
    first, second = checker(caches(), fake), checker(caches(), fake)
    assert first.check(bearer(), Rule()) == Allow(USER, TOK)
    assert second.check(bearer(), Rule()) == Allow(USER, TOK)
    assert user_lookups(fake) == 1
    assert second.counters()["redis_hits"] == 1


def test_every_process_computes_the_same_keys(caches):
    """Processes without a configured secret share the one stored in Redis."""
    assert caches().key(TOK) == caches().key(TOK)
    assert caches(secret=b"s" * 32).key(TOK) != caches().key(TOK)


def test_a_rejection_is_shared_for_the_rejected_ttl_only(caches, redis_server):
    """An invalid token's answer lives in Redis for rejected_ttl, an answer for ttl."""
    fake = auth_server(valid="someone-else")
    cache = caches(ttl=300, rejected_ttl=5)
    assert checker(cache, fake).check(bearer(), Rule()).status == 401
    client = redis_server.client()
    name = f"cave_auth:user:{cache.key(TOK).hex()}"
    assert 0 < client.pttl(name) <= 5000
    assert checker(caches(), fake).check(bearer(), Rule()).status == 401
    assert user_lookups(fake) == 1
    good = "tok-grace-0c1d2e3f4a5b6c7d"
    checker(cache, auth_server(valid=good)).check(bearer(good), Rule())
    assert 295_000 < client.pttl(f"cave_auth:user:{cache.key(good).hex()}") <= 300_000
    client.close()


def test_nothing_in_redis_holds_a_token(caches, redis_server):
    """Keys and values in Redis hold digests of tokens, never a token."""
    fake = auth_server()
    service = "svc-token-91ab3cd0e2f4"
    check = checker(caches(), fake)
    rule = Rule(
        "permission",
        permission="view",
        public_table_key="table_id",
        public_node_key="root_id",
        service_token=service,
    )
    request = Request(
        "GET",
        headers={"authorization": f"Bearer {TOK}"},
        path_params={"table_id": "tbl", "root_id": 9},
    )
    assert isinstance(check.check(request, rule), Allow)
    check.answer(DatasetNeed("datastack", "tbl", TOK))
    check.answer(PublicNeed("root", "tbl", 9, TOK))
    entries = redis_server.dump()
    assert len(entries) >= 4
    for key, value in entries:
        for token in (TOK, service):
            assert token.encode() not in key
            assert token.encode() not in value


def test_concurrent_misses_in_four_processes_make_one_lookup(caches):
    """Twenty threads in each of four processes, one new token: one lookup."""
    gate = threading.Event()
    fake = auth_server(gate=gate)
    checkers = [checker(caches(), fake) for _ in range(4)]
    results = []
    threads = [
        threading.Thread(target=lambda c=c: results.append(c.check(bearer(), Rule())))
        for c in checkers
        for _ in range(20)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    gate.set()
    for thread in threads:
        thread.join(20)
    assert results == [Allow(USER, TOK)] * 80
    assert user_lookups(fake) == 1
    waits = sum(c.counters()["single_flight_waits"] for c in checkers)
    assert waits >= 3


def test_a_failed_lookup_releases_the_others_to_look_up_themselves(caches):
    """When the lookup holding the lock fails, a waiting process asks itself."""
    fake = auth_server()
    fake.script("GET", API + "/user/cache", 503)
    first = checker(caches(), fake)
    assert first.check(bearer(), Rule()).status == 503
    assert checker(caches(), fake).check(bearer(), Rule()) == Allow(USER, TOK)


def test_invalidate_ends_a_token_in_every_process_at_once(caches):
    """invalidate() drops the copies every process holds, within a second."""
    fake = auth_server()
    processes = [caches(local_ttl=60) for _ in range(3)]
    checkers = [checker(cache, fake) for cache in processes]
    for check in checkers:
        assert check.check(bearer(), Rule()) == Allow(USER, TOK)
    key = user_key(processes[0].key(TOK))
    assert all(cache.peek(key) == USER for cache in processes)
    fake.add_route(
        "GET", API + "/user/cache", json_response({"error": "x"}, status=401)
    )
    caches().invalidate(TOK)
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        if all(cache.peek(key) is MISSING for cache in processes):
            break
        time.sleep(0.01)
    assert [cache.peek(key) for cache in processes] == [MISSING] * 3
    assert [c.check(bearer(), Rule()).status for c in checkers] == [401] * 3


def test_a_remembered_allow_ends_with_invalidate_in_every_process(caches):
    """The front copy answers like a process's own cache, until invalidate()."""
    fake = auth_server()
    processes = [caches(local_ttl=60) for _ in range(2)]
    checkers = [checker(cache, fake) for cache in processes]
    header, rule = f"Bearer {TOK}", Rule("permission", permission="view", dataset="ds")
    for check in checkers:
        for _ in range(2):
            assert check.check(bearer(), rule) == Allow(USER, TOK)
        assert check.remembered(header, rule, check.settings) == (USER, TOK)
    revoke = json_response({"error": "x"}, status=401)
    fake.add_route("GET", API + "/user/cache", revoke)
    caches().invalidate(TOK)
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline and any(
        check.remembered(header, rule, check.settings) for check in checkers
    ):
        time.sleep(0.01)
    assert [c.check(bearer(), rule).status for c in checkers] == [401] * 2


def test_stale_answers_outlive_the_ttl_in_redis(caches):
    """During an outage a process never holding a token gets it stale from Redis."""
    fake = auth_server()
    first = checker(caches(ttl=0.3, stale_if_error=60), fake)
    assert first.check(bearer(), Rule()) == Allow(USER, TOK)
    time.sleep(0.5)
    fake.script("GET", API + "/user/cache", *[503] * 10)
    other = checker(caches(ttl=0.3, stale_if_error=60), fake)
    assert other.check(bearer(), Rule()) == Allow(USER, TOK)
    assert other.counters()["stale_served"] == 1
    assert other.check(bearer("never-seen-token"), Rule()).status == 503


def test_redis_down_never_fails_a_request_and_is_logged_once(caplog):
    """Killing Redis mid-run loses no request; one warning, one when it is back."""
    server = RedisServer().start()
    fake = auth_server()
    cache = RedisCache.from_url(server.url, retry_interval=0.2)
    check = checker(cache, fake)
    try:
        with caplog.at_level(logging.WARNING, logger="cave_auth.service"):
            assert check.check(bearer(), Rule()) == Allow(USER, TOK)
            server.kill()
            statuses = []
            for n in range(30):
                statuses.append(status(check.check(bearer(), Rule())))
                statuses.append(status(check.check(bearer(f"other-{n}"), Rule())))
                time.sleep(0.02)
            assert statuses == [200, 401] * 30
            down = [r for r in caplog.records if "unavailable" in r.getMessage()]
            assert len(down) == 1
            assert f"127.0.0.1:{server.port}" in down[0].getMessage()
            assert check.counters()["redis_fallbacks"] >= 1
            server.start()
            time.sleep(0.3)
            before = check.counters()["redis_hits"]
            deadline = time.monotonic() + 10
            while check.counters()["redis_hits"] == before:
                assert time.monotonic() < deadline, "Redis was not used again"
                check.check(bearer(f"again-{time.monotonic()}"), Rule())
                checker(cache, fake).check(bearer(), Rule())
                time.sleep(1.1)  # past the local copy
        back = [r for r in caplog.records if "answers again" in r.getMessage()]
        assert len(back) == 1
        assert TOK not in caplog.text
    finally:
        cache.close()
        server.kill()


def test_a_silent_redis_costs_a_timeout_not_a_failure():
    """A Redis that accepts and never answers: requests are answered after a timeout."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        cache = RedisCache.from_url(url, socket_timeout=0.2, retry_interval=30)
        fake = auth_server()
        check = checker(cache, fake)
        start = time.monotonic()
        results = [check.check(bearer(), Rule()) for _ in range(5)]
        elapsed = time.monotonic() - start
        cache.close()
    assert results == [Allow(USER, TOK)] * 5
    assert elapsed < 3  # one or two timeouts of 0.2 s, then the breaker is open
    assert user_lookups(fake) == 1


def _child(url, ready, done):
    """A forked process: fill its copy, then wait for the parent's invalidation."""
    cache = CACHE_IN_PARENT[0]
    key = user_key(cache.key(TOK))
    cache.get_or_load(key, lambda: (USER, 60))
    ready.set()
    deadline = time.monotonic() + 10
    while cache.peek(key) is not MISSING:
        if time.monotonic() > deadline:
            sys.exit(2)
        time.sleep(0.01)
    done.set()
    sys.exit(0)


CACHE_IN_PARENT: list = []


def test_a_forked_child_subscribes_on_its_own_connection(redis_url):
    """After fork (gunicorn --preload), the child's copies are invalidated too."""
    cache = RedisCache.from_url(redis_url, local_ttl=60)
    key = user_key(cache.key(TOK))
    cache.get_or_load(key, lambda: (USER, 60))  # the parent's subscriber runs
    CACHE_IN_PARENT[:] = [cache]
    context = multiprocessing.get_context("fork")
    ready, done = context.Event(), context.Event()
    child = context.Process(target=_child, args=(redis_url, ready, done))
    child.start()
    try:
        assert ready.wait(10)
        time.sleep(0.2)  # the child's subscription is made
        RedisCache.from_url(redis_url).invalidate(TOK)
        child.join(15)
        assert child.exitcode == 0
        assert cache.peek(key) is MISSING  # the parent's subscriber still works
    finally:
        if child.is_alive():
            child.kill()
        cache.close()
        CACHE_IN_PARENT.clear()


def test_importing_without_redis_names_the_extra():
    """Without redis-py the import fails with the pip command that installs it."""
    code = (
        "import sys; sys.modules['redis'] = None\n"
        "try:\n"
        "    import cave_auth.service.redis\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "pip install 'cave-auth[redis]'" in out


def test_the_url_password_is_never_logged_or_shown(caplog):
    """An unreachable Redis with a password in its URL: the password shows nowhere."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with caplog.at_level(logging.WARNING, logger="cave_auth.service"):
        cache = RedisCache.from_url(f"redis://:hunter2pw@127.0.0.1:{port}/0")
        checker(cache, auth_server()).check(bearer(), Rule())
    assert "hunter2pw" not in caplog.text + repr(cache)
    assert f"127.0.0.1:{port}" in caplog.text
    cache.close()


def test_asgi_processes_share_one_lookup_and_keep_the_loop_free(caches):
    """Two ASGI apps on one Redis: one coroutine lookup, Redis off the loop."""
    import asyncio

    from cave_auth.service.asgi import AuthASGIMiddleware
    from cave_auth.testing import FakeAsyncTransport

    async_server = FakeAsyncTransport({("GET", API + "/user/cache"): USER})
    lookup_threads = []

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    def unused(request):
        raise AssertionError("the sync lookup was used")

    processes = [
        AuthASGIMiddleware(
            app,
            checker(caches(), FakeTransport(handler=unused)),
            transport=async_server,
        )
        for _ in range(2)
    ]
    real_request = async_server.request

    async def request(*args, **kwargs):
        lookup_threads.append(threading.current_thread() is threading.main_thread())
        return await real_request(*args, **kwargs)

    async_server.request = request

    async def get(middleware):
        sent = []

        async def receive():
            return {"type": "http.request", "body": b""}

        async def send(message):
            sent.append(message)

        scope = {
            "type": "http",
            "method": "GET",
            "path": "/",
            "query_string": b"",
            "headers": [(b"authorization", f"Bearer {TOK}".encode())],
        }
        await middleware(scope, receive, send)
        return sent[0]["status"]

    async def run():
        statuses = await asyncio.gather(*(get(m) for m in processes for _ in range(10)))
        return statuses + [await get(m) for m in processes]

    assert asyncio.run(run()) == [200] * 22
    assert len(async_server.requests) == 1
    assert lookup_threads == [True]  # the lookup ran in the loop's thread
