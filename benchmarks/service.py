"""Measure the service side against middle_auth_client 3.19.2, in one run.

Run ``python benchmarks/service.py`` (``--quick`` for fewer repetitions).
Every figure is a median over repeated, interleaved runs, with its range:

1. The added cost of a cached check per Flask test-client request:
   ``auth_required`` and ``auth_requires_permission`` of both libraries,
   minus the same undecorated route, in this thread's CPU time; and the
   ratio cave_auth / middle_auth_client as the median of paired rounds (one
   round of each library, alternating which goes first) against the goal of
   at most 0.5x. cave_auth is measured with its own cache and with a
   ``RedisCache`` answering from its front copy in process memory (needs
   Debian's ``redis-server``).
2. The pure core: ``decide`` with its facts given, and ``Checker.check``
   answering from its cache, in microseconds.
3. Upstream ``/user/cache`` calls made by a burst of 50 concurrent requests
   carrying one new token, through a FakeAuthServer over HTTPS answering
   after 50 ms.
4. A fleet (needs Debian's ``redis-server``): upstream lookups per token per
   TTL for N forked processes, each with its own cache and with one
   ``RedisCache`` on a local redis-server, side by side; the latency of a
   check answered from Redis against one answered from the process's
   memory; and what they imply for 50 pods x 8 workers.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import pathlib
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import flask  # noqa: E402
import trustme  # noqa: E402

import cave_auth as ca  # noqa: E402
from cave_auth import flask as caf  # noqa: E402
from cave_auth.service import (  # noqa: E402
    Checker,
    LookupCache,
    Request,
    Rule,
    Settings,
    TransportLookups,
    UserNeed,
    decide,
)
from cave_auth.testing import FakeAuthServer, FakeTransport  # noqa: E402
from cave_auth.transport import Urllib3Transport  # noqa: E402

TOKEN = ""
"""Rita's API key on the running server (view on test_ds only); set by main."""
USER: dict[str, object] = {}
"""Her /user/cache record, as the server sends it; set by main."""


def median_range(samples: list[float]) -> str:
    """Format median [min-max]."""
    return f"{statistics.median(samples):7.1f}  [{min(samples):.1f}-{max(samples):.1f}]"


def build(lib: object, kind: str) -> flask.Flask:
    """One app with one route: plain, auth_required or auth_requires_permission."""
    app = flask.Flask(f"bench_{kind}")

    def view() -> str:
        return "ok"

    if kind == "login":
        view = lib.auth_required(view)  # type: ignore[attr-defined]
    elif kind == "permission":
        view = lib.auth_requires_permission("view", dataset="test_ds")(view)  # type: ignore[attr-defined]
    app.add_url_rule("/r", view_func=view)
    return app


def per_request_us(client: object, headers: dict[str, str], n: int) -> float:
    """Microseconds per test-client GET."""
    start = time.perf_counter()
    for _ in range(n):
        client.get("/r", headers=headers)  # type: ignore[attr-defined]
    return (time.perf_counter() - start) / n * 1e6


TARGET = 0.5
"""The goal: a cached check adds at most half what middle_auth_client's adds."""


def added_us(clients: dict[str, object], headers: dict[str, str], n: int) -> dict:
    """One library's round: µs of CPU each decorated route adds to the undecorated.

    The routes take turns in batches of 50 requests, so that a change of the
    machine's load within the round reaches all of them alike, and each is
    timed in this thread's CPU time, which other processes do not add to.
    """
    spent = dict.fromkeys(clients, 0.0)
    for _ in range(max(1, n // 50)):
        for kind, client in clients.items():
            start = time.thread_time()
            for _ in range(50):
                client.get("/r", headers=headers)  # type: ignore[attr-defined]
            spent[kind] += time.thread_time() - start
    plain = spent.pop("plain")
    return {kind: (value - plain) / n * 1e6 for kind, value in spent.items()}


def flask_overhead(mac: object, rounds: int, n: int, redis_url: str | None) -> None:
    """Section 1: the added cost of a cached check, as a ratio per paired round.

    Each round measures middle_auth_client and then cave_auth (in alternating
    order from one round to the next), each library's added cost as its
    decorated route minus its undecorated one in that round; the ratio of the
    round is cave_auth's added cost over middle_auth_client's.
    """
    import cachetools.keys

    mac.token_to_user_cache[cachetools.keys.hashkey(TOKEN)] = USER  # type: ignore[attr-defined]
    fake = FakeTransport({("GET", "/auth/api/v1/user/cache"): USER})
    caches: dict[str, object] = {"": None}
    if redis_url is not None:
        from cave_auth.service.redis import RedisCache

        # A local_ttl longer than the run: every check is answered by the
        # front cache in this process's memory, the path a hot token takes.
        caches[" (RedisCache)"] = RedisCache.from_url(redis_url, local_ttl=3600)
    libraries: dict[str, dict[str, object]] = {"middle_auth_client": {}}
    for suffix in caches:
        libraries["cave_auth" + suffix] = {}
    for kind in ("plain", "login", "permission"):
        libraries["middle_auth_client"][kind] = build(mac, kind).test_client()
        for suffix, cache in caches.items():
            app = build(caf, kind)
            caf.init_app(
                app,
                auth_url="auth.example.org/auth",
                transport=fake,
                cache=cache,  # type: ignore[arg-type]
            )
            libraries["cave_auth" + suffix][kind] = app.test_client()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    for clients in libraries.values():
        for client in clients.values():
            per_request_us(client, headers, 200)
    added: dict[str, dict[str, list[float]]] = {
        name: {"login": [], "permission": []} for name in libraries
    }
    order = list(libraries)
    for round_ in range(rounds):
        for name in order if round_ % 2 == 0 else order[::-1]:
            for kind, value in added_us(libraries[name], headers, n).items():
                added[name][kind].append(value)
    print("\n1. The added cost of a cached check per Flask test-client request:")
    print(f"   decorated - undecorated, µs, median [min-max] of {rounds} paired,")
    print("   alternating rounds; the ratio is cave_auth's / middle_auth_client's")
    print("   of the same round")
    for name, kinds in added.items():
        for kind, values in kinds.items():
            print(f"   {name:32s} {kind:10s} added {median_range(values)}")
    for name in order[1:]:
        for kind in ("login", "permission"):
            ratios = [
                ours / theirs
                for ours, theirs in zip(
                    added[name][kind], added["middle_auth_client"][kind], strict=True
                )
            ]
            median = statistics.median(ratios)
            verdict = "met" if median <= TARGET else "NOT met"
            print(
                f"   ratio {name:26s} {kind:10s} {median:5.2f}x "
                f"[{min(ratios):.2f}-{max(ratios):.2f}]  target <= {TARGET}x: {verdict}"
            )
    if redis_url is None:
        print(
            "   (RedisCache not measured: redis-server is not installed;"
            " apt-get install redis-server)"
        )
    for cache in caches.values():
        if cache is not None:
            cache.close()  # type: ignore[attr-defined]


def pure_core(rounds: int, n: int) -> None:
    """Section 2: the pure decision and the cached checker, in µs."""
    settings = Settings("auth.example.org/auth")
    request = Request("GET", headers={"authorization": f"Bearer {TOKEN}"})
    # The same token in a cookie: the checker walks the decision every time
    # (it remembers only checks of an Authorization header).
    walked = Request("GET", cookies={"middle_auth_token": TOKEN}, programmatic=True)
    rule = Rule("permission", permission="view", dataset="test_ds")
    facts = {UserNeed(TOKEN): USER}
    fake = FakeTransport({("GET", "/auth/api/v1/user/cache"): USER})
    checker = Checker(settings, TransportLookups(settings.auth_url, fake))
    checker.check(request, rule)
    runs = {
        "decide": lambda: decide(request, rule, settings, facts),
        "Checker.check (cached, remembered)": lambda: checker.check(request, rule),
        "Checker.check (cached, walked)": lambda: checker.check(walked, rule),
    }
    timings: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, call in runs.items():
            start = time.perf_counter()
            for _ in range(n):
                call()
            timings[name].append((time.perf_counter() - start) / n * 1e6)
    print("\n2. Pure core (µs per decision, permission rule)")
    for name, values in timings.items():
        print(f"   {name:42s} {median_range(values)}")


def burst(mac: object, server: FakeAuthServer, bundle: str, rounds: int) -> None:
    """Section 3: upstream calls for 50 concurrent requests with a new token."""
    transport = Urllib3Transport(ca_certs=bundle, timeout=5, pool_maxsize=50)
    counts: dict[str, list[int]] = {"middle_auth_client": [], "cave_auth": []}
    server.set_delay(0.05)
    for _ in range(rounds):
        for name, lib in (("middle_auth_client", mac), ("cave_auth", caf)):
            mac.token_to_user_cache.clear()  # type: ignore[attr-defined]
            app = build(lib, "login")
            if lib is caf:
                caf.init_app(app, auth_url=os.environ["AUTH_URL"], transport=transport)
            client = app.test_client()
            before = server.count("GET", "/auth/api/v1/user/cache")
            barrier = threading.Barrier(50)

            def one(
                client: object = client, barrier: threading.Barrier = barrier
            ) -> None:
                barrier.wait()
                client.get("/r", headers={"Authorization": f"Bearer {TOKEN}"})  # type: ignore[attr-defined]

            threads = [threading.Thread(target=one) for _ in range(50)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            after = server.count("GET", "/auth/api/v1/user/cache")
            counts[name].append(after - before)
    server.set_delay(0.0)
    print("\n3. Upstream /user/cache calls for a burst of 50 requests, new token")
    for name, values in counts.items():
        print(
            f"   {name:20s} median {statistics.median(values):5.1f}  "
            f"[{min(values)}-{max(values)}]"
        )


LOOKUPS = ("GET", "/auth/api/v1/user/cache")


def start_redis() -> tuple[subprocess.Popen[bytes], str] | None:
    """A redis-server on a free loopback port without persistence, or None."""
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            break
        except OSError:
            time.sleep(0.02)
    return process, f"redis://127.0.0.1:{port}/0"


def fleet_process(
    auth_url: str,
    redis_url: str | None,
    tokens: list[str],
    mine: list[int],
    barrier: object,
) -> None:
    """One process of the fleet: its own checker, its share of the requests."""
    from cave_auth.service.redis import RedisCache

    http = Urllib3Transport(allow_insecure_http=True, pool_maxsize=8)
    settings = Settings(auth_url)
    cache = LookupCache() if redis_url is None else RedisCache.from_url(redis_url)
    checker = Checker(settings, TransportLookups(auth_url, http), cache=cache)
    requests = [
        Request("GET", headers={"authorization": f"Bearer {tokens[n]}"}) for n in mine
    ]
    barrier.wait()  # type: ignore[attr-defined]
    threads = [
        threading.Thread(
            target=lambda part=part: [checker.check(r, Rule()) for r in part]
        )
        for part in (requests[i::4] for i in range(4))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def fleet_lookups(
    server: FakeAuthServer, tokens: list[str], processes: int, redis_url: str | None
) -> float:
    """Upstream lookups per token when ``processes`` share 100 requests per token."""
    if redis_url is not None:
        import redis

        redis.Redis.from_url(redis_url).flushall()
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(processes)
    # Request r of each token goes to process r % processes: every process
    # sees every token, as behind a load balancer.
    share = [
        [t for r in range(100) for t in range(len(tokens)) if r % processes == p]
        for p in range(processes)
    ]
    before = server.count(*LOOKUPS)
    children = [
        context.Process(
            target=fleet_process,
            args=(
                f"{server.url}/auth",
                redis_url,
                tokens,
                share[p],
                barrier,
            ),
        )
        for p in range(processes)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join()
    return (server.count(*LOOKUPS) - before) / len(tokens)


def check_latency(redis_url: str, rounds: int, n: int) -> dict[str, list[float]]:
    """µs per cached check: process memory, RedisCache's local copy, Redis itself."""
    from cave_auth.service.redis import RedisCache

    settings = Settings("auth.example.org/auth")
    request = Request("GET", headers={"authorization": f"Bearer {TOKEN}"})
    fake = FakeTransport({("GET", "/auth/api/v1/user/cache"): USER})
    caches = {
        "process memory (LookupCache)": LookupCache(),
        "RedisCache, its local copy": RedisCache.from_url(redis_url, local_ttl=600),
        "RedisCache, from Redis": RedisCache.from_url(redis_url, local_ttl=1e-9),
    }
    checkers = {
        name: Checker(settings, TransportLookups(settings.auth_url, fake), cache=cache)
        for name, cache in caches.items()
    }
    timings: dict[str, list[float]] = {name: [] for name in checkers}
    for checker in checkers.values():
        checker.check(request, Rule())
    for _ in range(rounds):
        for name, checker in checkers.items():
            start = time.perf_counter()
            for _ in range(n):
                checker.check(request, Rule())
            timings[name].append((time.perf_counter() - start) / n * 1e6)
    return timings


def fleet_section(server: FakeAuthServer, quick: bool, redis_url: str | None) -> None:
    """Section 4: N processes without and with Redis; latency; projection."""
    print("\n4. A fleet: upstream /user/cache lookups per token per TTL window")
    if redis_url is None:
        print(
            "   skipped: redis-server is not installed (apt-get install redis-server)"
        )
        return
    owner = ca.Config(server.url, token=server.user_token)
    with Urllib3Transport(allow_insecure_http=True) as http:
        tokens = [ca.create_token(owner, http, f"bench {n}") for n in range(10)]
    server.set_delay(0.02)
    print("   10 tokens x 100 requests spread over N forked processes")
    print("   (4 threads each), auth server answering after 20 ms")
    print(f"   {'N processes':>12s} {'own caches':>12s} {'one Redis':>12s}")
    measured = {}
    for processes in (2, 4) if quick else (2, 4, 8):
        alone = fleet_lookups(server, tokens, processes, None)
        shared = fleet_lookups(server, tokens, processes, redis_url)
        measured[processes] = (alone, shared)
        print(f"   {processes:12d} {alone:12.1f} {shared:12.1f}")
    server.set_delay(0.0)
    rounds, n = (3, 300) if quick else (7, 2000)
    timings = check_latency(redis_url, rounds, n)
    print("\n   Checker.check answering a cached token (µs, median [min-max])")
    for name, values in timings.items():
        print(f"   {name:42s} {median_range(values)}")
    local = statistics.median(timings["process memory (LookupCache)"])
    remote = statistics.median(timings["RedisCache, from Redis"])
    print(f"   {'added by a Redis round trip':42s} {remote - local:7.1f}")
    print("   (a process asks Redis once per local_ttl, 1 s, per token it serves)")
    fleet_size, seen, ttl, active = 400, 100, 300, 1000
    reached = fleet_size * (1 - (1 - 1 / fleet_size) ** seen)
    shared = max(shared for _, shared in measured.values())
    print("\n   Projection for 50 pods x 8 workers (400 processes), TTL 300 s")
    print(f"   {'':42s} {'own caches':>12s} {'one Redis':>12s}")
    print(
        f"   {f'lookups for a new token seen {seen} times':42s} "
        f"{reached:12.1f} {shared:12.1f}"
    )
    print(
        f"   {f'lookups/s, {active} tokens active everywhere':42s} "
        f"{active * fleet_size / ttl:12.1f} {active * shared / ttl:12.1f}"
    )


def main() -> int:
    """Run the four sections."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args().quick
    started = start_redis()
    try:
        run(quick, None if started is None else started[1])
    finally:
        if started is not None:
            started[0].kill()
            started[0].wait()
    return 0


def run(quick: bool, redis_url: str | None) -> None:
    """The four sections, with a redis-server at ``redis_url`` if there is one."""
    rounds, n = (3, 500) if quick else (7, 3000)
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    with tempfile.TemporaryDirectory() as directory:
        bundle = os.path.join(directory, "ca.pem")
        authority.cert_pem.write_to_path(bundle)
        server = FakeAuthServer(ssl_context=context).start()
        global TOKEN, USER
        TOKEN = server.refresh_user_token
        config = ca.Config(server.url, token=TOKEN)
        with Urllib3Transport(ca_certs=bundle) as http:
            USER = ca.get_user_cache_data(config, http)
        auth = f"127.0.0.1:{server.port}/auth"
        os.environ.update(AUTH_URL=auth, AUTH_URI=auth, REQUESTS_CA_BUNDLE=bundle)
        import logging

        logging.getLogger("urllib3").setLevel(logging.ERROR)
        from importlib.metadata import version

        from middle_auth_client import decorators as mac

        print(
            f"python {sys.version.split()[0]}, flask {version('flask')}, "
            f"{os.cpu_count()} CPUs; median [min-max] of {rounds} rounds"
        )
        # Section 1's ratio is a median of paired rounds: more, shorter ones.
        flask_overhead(mac, rounds * 3, n // 2, redis_url)
        pure_core(rounds, n * 5)
        burst(mac, server, bundle, 3 if quick else 5)
        server.stop()
    with FakeAuthServer() as plain:
        fleet_section(plain, quick, redis_url)


if __name__ == "__main__":
    raise SystemExit(main())
