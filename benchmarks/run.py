"""Measure cave_auth's speed and memory against baselines taken in the same run.

Run ``python benchmarks/run.py`` (add ``--quick`` for fewer repetitions). It
prints first the four figures of :mod:`figures` (cold start, cold token
resolution and peak RSS against their floors, and throughput against raw
urllib3), then the sections below. The
machine is shared and noisy, so every figure is a median over repeated runs
with its min-max range, and every target is a *ratio* (or a difference) to a
baseline measured alternately with it in this very run.

Sections:

1. Cold import: fresh interpreters, each measured at least 15 times.
2. Token resolution from real files, and header formatting, in microseconds;
   then the client-side work: structuring, and ``json.loads`` + structuring
   against ``json.loads`` alone, interleaved.
3. Endpoint throughput against ``FakeAuthServer`` (run in a separate process so
   the server does not compete for the client's GIL), over HTTP and HTTPS,
   sequential and with 4 threads: cave_auth vs raw ``urllib3.PoolManager`` +
   ``json.loads`` vs CAVEclient's ``AuthClient`` when installed.
   Then get_group_users' client CPU time per call, step by step from raw
   urllib3 to cave_auth.
4. Peak memory of a process that imports and makes one call.

The package is byte-compiled first and ``PYTHONDONTWRITEBYTECODE`` is dropped
for the child processes, so cave_auth is measured as an installed package is
run (its dependencies in site-packages are compiled at install).
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import contextlib
import datetime
import functools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import timeit
from collections.abc import AsyncIterator, Awaitable, Callable

from common import (
    ROOT,
    Row,
    child_env,
    has_caveclient,
    make_certificates,
    served,
    summarize,
)

sys.path.insert(0, str(ROOT))

import figures

import cave_auth as ca

TOKEN = "0123456789abcdef0123456789abcdef"


# 1. Cold import -------------------------------------------------------------


def cold_import(rows: list[Row], runs: int, secrets_dir: str) -> None:
    """Time fresh interpreters running one-line programs, interleaved."""
    compileall.compile_dir(str(ROOT / "cave_auth"), quiet=1)
    programs = {
        "python -c pass": "pass",
        "import attrs": "import attrs",
        "import cave_auth": "import cave_auth",
        "resolve from file + header": (
            "import cave_auth as ca\n"
            f"config = ca.Config(secrets_dir={secrets_dir!r})\n"
            "cfg = ca.with_token(config, ca.FileStore())\n"
            "ca.request_header(cfg.token)"
        ),
        "import urllib3": "import urllib3",
    }
    if has_caveclient():
        programs["from caveclient.auth import AuthClient"] = (
            "from caveclient.auth import AuthClient"
        )
    env = child_env()
    for code in programs.values():
        subprocess.run([sys.executable, "-c", code], env=env, check=True)
    samples: dict[str, list[float]] = {name: [] for name in programs}
    for _ in range(runs):
        for name, code in programs.items():
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], env=env, check=True)
            samples[name].append((time.perf_counter() - start) * 1000)
    attrs_median = statistics.median(samples["import attrs"])
    for name, values in samples.items():
        median, low, high = summarize(values)
        row = Row("cold start", name, median, low, high, "ms")
        if name == "import cave_auth":
            extra = median - attrs_median
            row.target = f"<= import attrs + 10 ms (is {extra:+.1f} ms)"
            row.met = extra <= 10
        rows.append(row)


# 2. Token resolution ---------------------------------------------------------


def per_call_us(
    function: Callable[[], object], repeat: int, number: int
) -> list[float]:
    """Microseconds per call, one sample per repetition."""
    timer = timeit.Timer(function)
    return [t / number * 1e6 for t in timer.repeat(repeat=repeat, number=number)]


def resolution(rows: list[Row], repeat: int) -> None:
    """Time resolve_token over real files and request_header."""
    store = ca.FileStore()
    with tempfile.TemporaryDirectory() as directory:
        server_dir = os.path.join(directory, "server")
        default_dir = os.path.join(directory, "default")
        empty_dir = os.path.join(directory, "empty")
        ca.save_token(ca.Config(secrets_dir=server_dir), store, TOKEN)
        ca.save_token(
            ca.Config(secrets_dir=default_dir), store, TOKEN, write_to_server_file=False
        )
        os.mkdir(empty_dir)
        cases = {
            "resolve: server file present": ca.Config(secrets_dir=server_dir),
            "resolve: only default file": ca.Config(secrets_dir=default_dir),
            "resolve: nothing found": ca.Config(secrets_dir=empty_dir),
        }
        for name, config in cases.items():
            median, low, high = summarize(
                per_call_us(lambda c=config: ca.resolve_token(c, store), repeat, 2000)
            )
            row = Row("resolution", name, median, low, high, "us/call")
            if "found" not in name:
                row.target, row.met = "<= 50 us", median <= 50
            rows.append(row)
    median, low, high = summarize(
        per_call_us(lambda: ca.request_header(TOKEN), repeat, 200_000)
    )
    rows.append(
        Row(
            "resolution",
            "request_header",
            median,
            low,
            high,
            "us/call",
            "<= 1 us",
            median <= 1,
        )
    )


def structuring(rows: list[Row], repeat: int) -> None:
    """Time the client-side work that raw urllib3 + json.loads does not do.

    Structuring the JSON into frozen models is what cave_auth adds per call;
    the PoolManager's per-request routing (parse the URL, find the host's
    pool) is what it saves by holding each host's pool.
    """
    import urllib3

    from cave_auth.models import converter

    members = [{"admin": False, "id": i, "name": f"User {i}"} for i in range(20)]
    users = [
        {
            "admin": False,
            "admin_datasets": [],
            "affiliations": [[]],
            "created": "Sat, 28 Nov 2026 04:59:28 GMT",
            "email": f"user{i}@example.org",
            "gdpr_consent": False,
            "id": i,
            "name": f"User {i}",
            "pi": "",
            "service_account": False,
        }
        for i in range(50)
    ]
    conv = converter()
    cases: dict[str, Callable[[], object]] = {
        "structure 20 group members": lambda: conv.structure(
            members, list[ca.GroupMember]
        ),
        "structure 50 users": lambda: conv.structure(users, list[ca.User]),
    }
    manager = urllib3.PoolManager()
    url = "http://127.0.0.1:9/auth/api/v1/user/me"
    cases["PoolManager routing per request (skipped)"] = lambda: (
        manager.connection_from_url(url)
    )
    for name, function in cases.items():
        median, low, high = summarize(per_call_us(function, repeat, 2000))
        rows.append(Row("client work", name, median, low, high, "us/call"))
    targets = {"20 group members": 3.0, "50 users": 2.5}
    bodies = {
        "20 group members": (json.dumps(members).encode(), list[ca.GroupMember]),
        "50 users": (json.dumps(users).encode(), list[ca.User]),
    }
    for label, (body, kind) in bodies.items():
        loads: list[float] = []
        both: list[float] = []
        for _ in range(repeat):
            loads += per_call_us(lambda b=body: json.loads(b), 1, 2000)
            both += per_call_us(
                lambda b=body, k=kind: conv.structure(json.loads(b), k), 1, 2000
            )
        for name, values in (("json.loads", loads), ("json.loads + structure", both)):
            median, low, high = summarize(values)
            figure = f"{name}, {label}"
            rows.append(Row("client work", figure, median, low, high, "us/call"))
        ratios = [whole / alone for whole, alone in zip(both, loads, strict=True)]
        median, low, high = summarize(ratios)
        rows.append(
            Row(
                "client work",
                f"json.loads + structure / json.loads, {label}",
                median,
                low,
                high,
                "x",
                f"<= {targets[label]}x",
                median <= targets[label],
            )
        )


# 3. Endpoint throughput ------------------------------------------------------


def clients(
    info: dict[str, object], ca_path: str | None
) -> dict[str, Callable[[str], Callable[[], object]]]:
    """Build, per contender, a factory of one-call functions for a route."""
    import urllib3

    url = str(info["url"])
    token = str(info["admin_token"])
    group_id = int(info["group_id"])  # type: ignore[call-overload]
    user_ids = list(info["user_ids"])  # type: ignore[call-overload]
    config = ca.Config(url, token=token)
    transport = ca.Urllib3Transport(ca_certs=ca_path, pool_maxsize=8)
    manager = urllib3.PoolManager(maxsize=8, ca_certs=ca_path)
    header = {"Authorization": f"Bearer {token}"}
    query = ",".join(map(str, user_ids))
    raw_urls = {
        "group": f"{url}/auth/api/v1/group/{group_id}/user",
        "users": f"{url}/auth/api/v1/user?id={query}",
    }

    def ours(route: str) -> Callable[[], object]:
        if route == "group":
            return lambda: ca.get_group_users(config, transport, group_id)
        return lambda: ca.get_user_information(config, transport, user_ids)

    def raw(route: str) -> Callable[[], object]:
        target = raw_urls[route]
        return lambda: json.loads(manager.request("GET", target, headers=header).data)

    def raw_timed(route: str) -> Callable[[], object]:
        target = raw_urls[route]
        return lambda: json.loads(
            manager.request("GET", target, headers=header, timeout=30.0).data
        )

    factories: dict[str, Callable[[str], Callable[[], object]]] = {
        "cave_auth": ours,
        "raw urllib3 + json.loads": raw,
        "raw urllib3 + json.loads, timeout=30": raw_timed,
    }
    if has_caveclient():
        from caveclient.auth import AuthClient

        peer = AuthClient(server_address=url, token=token)
        if ca_path is not None:
            os.environ["REQUESTS_CA_BUNDLE"] = ca_path

        def theirs(route: str) -> Callable[[], object]:
            if route == "group":
                return lambda: peer.get_group_users(group_id)
            return lambda: peer.get_user_information(user_ids)

        factories["caveclient"] = theirs
    return factories


def calls_per_second(call: Callable[[], object], calls: int, threads: int) -> float:
    """Run ``calls`` calls over ``threads`` threads; return calls per second."""
    per_thread = calls // threads

    def work() -> None:
        for _ in range(per_thread):
            call()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return per_thread * threads / (time.perf_counter() - start)


@contextlib.asynccontextmanager
async def async_clients(
    info: dict[str, object], ca_path: str | None
) -> AsyncIterator[dict[str, Callable[[], Awaitable[object]]]]:
    """Open the async contenders on get_group_users: cave_auth.aio, raw httpx."""
    import ssl

    import httpx

    from cave_auth import aio

    url = str(info["url"])
    token = str(info["admin_token"])
    group_id = int(info["group_id"])  # type: ignore[call-overload]
    config = ca.Config(url, token=token)
    target = f"{url}/auth/api/v1/group/{group_id}/user"
    header = {"Authorization": f"Bearer {token}"}
    verify = ssl.create_default_context(cafile=ca_path) if ca_path else True
    async with (
        aio.HttpxTransport(ca_certs=ca_path) as transport,
        httpx.AsyncClient(verify=verify, trust_env=False) as client,
    ):

        async def ours() -> object:
            return await aio.get_group_users(config, transport, group_id)

        async def raw() -> object:
            return json.loads((await client.get(target, headers=header)).content)

        yield {"aio": ours, "raw httpx": raw}


async def awaits_per_second(call: Callable[[], Awaitable[object]], calls: int) -> float:
    """Await ``calls`` calls one after the other; return calls per second."""
    start = time.perf_counter()
    for _ in range(calls):
        await call()
    return calls / (time.perf_counter() - start)


def interleaved(
    rates: dict[str, Callable[[], float]], rounds: int
) -> dict[str, list[float]]:
    """Measure each contender's rate once a round, in turn, so noise hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in rates}
    for _ in range(rounds):
        for name, rate in rates.items():
            samples[name].append(rate())
    return samples


def throughput(rows: list[Row], rounds: int, calls: int, tls: bool) -> None:
    """Measure calls/s of each contender, interleaved round by round."""
    scheme = "https" if tls else "http"
    with tempfile.TemporaryDirectory() as directory:
        ca_path = make_certificates(directory) if tls else None
        with served(directory if tls else None) as info:
            factories = clients(info, ca_path)
            for route, label in (("group", "group (20)"), ("users", "users (50)")):
                for threads in (1, 4):
                    functions = {name: make(route) for name, make in factories.items()}
                    for function in functions.values():
                        function()
                    rates = {
                        name: functools.partial(
                            calls_per_second,
                            function,
                            max(
                                threads * 4,
                                calls // (10 if name == "caveclient" else 1),
                            ),
                            threads,
                        )
                        for name, function in functions.items()
                    }
                    samples = interleaved(rates, rounds)
                    ours = statistics.median(samples["cave_auth"])
                    for name, values in samples.items():
                        median, low, high = summarize(values)
                        figure = f"{scheme} {label}, {threads} thread(s): {name}"
                        row = Row("throughput", figure, median, low, high, "calls/s")
                        if name == "raw urllib3 + json.loads":
                            ratio = ours / median
                            row.target = f"cave_auth >= 1.0x (is {ratio:.2f}x)"
                            row.met = ratio >= 1.0
                        elif name == "raw urllib3 + json.loads, timeout=30":
                            ratio = ours / median
                            row.target = f"no target (cave_auth is {ratio:.2f}x)"
                        elif name == "caveclient":
                            need = 50 if tls else 3
                            ratio = ours / median
                            row.target = f"cave_auth >= {need}x (is {ratio:.1f}x)"
                            row.met = ratio >= need
                        rows.append(row)
                if route == "group":
                    async_throughput(rows, info, ca_path, rounds, calls, scheme)
    os.environ.pop("REQUESTS_CA_BUNDLE", None)


def async_throughput(
    rows: list[Row],
    info: dict[str, object],
    ca_path: str | None,
    rounds: int,
    calls: int,
    scheme: str,
) -> None:
    """Beside the sync figure: aio over HttpxTransport against raw httpx."""
    with asyncio.Runner() as runner:
        opened = async_clients(info, ca_path)
        functions = runner.run(opened.__aenter__())
        try:
            for function in functions.values():
                runner.run(function())
            rates = {
                name: functools.partial(
                    lambda call: runner.run(awaits_per_second(call, calls)), function
                )
                for name, function in functions.items()
            }
            samples = interleaved(rates, rounds)
        finally:
            runner.run(opened.__aexit__(None, None, None))
    median, low, high = summarize(samples["aio"])
    raw = statistics.median(samples["raw httpx"])
    # The ratio of each round, then their median: a round's two figures
    # share the machine's load of that moment, which moves by tens of
    # percent on a shared machine.
    ratio = statistics.median(
        ours / theirs
        for ours, theirs in zip(samples["aio"], samples["raw httpx"], strict=True)
    )
    figure = (
        f"{scheme} group (20), sequential awaits: aio get_group_users over "
        f"HttpxTransport vs raw httpx.AsyncClient + json.loads ({raw:.4g} calls/s)"
    )
    row = Row("throughput", figure, median, low, high, "calls/s")
    row.target = f">= 0.97x (is {ratio:.2f}x, median of paired rounds)"
    row.met = ratio >= 0.97
    rows.append(row)


def client_cpu(rows: list[Row], rounds: int, calls: int) -> None:
    """Split get_group_users' client CPU time per call into its parts.

    CPU time of the calling thread (``time.thread_time``) leaves out the wait
    for the server and most of the noise of a shared machine, so the steps
    from raw urllib3 to cave_auth can be told apart by a few microseconds.
    """
    import urllib3

    from cave_auth.models import converter

    with served(None) as info:
        url = str(info["url"])
        token = str(info["admin_token"])
        group_id = int(info["group_id"])  # type: ignore[call-overload]
        config = ca.Config(url, token=token)
        transport = ca.Urllib3Transport(pool_maxsize=8)
        manager = urllib3.PoolManager(maxsize=8)
        target = f"{url}/auth/api/v1/group/{group_id}/user"
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        conv = converter()
        kind = list[ca.GroupMember]
        steps: dict[str, Callable[[], object]] = {
            "raw urllib3 + json.loads": lambda: json.loads(
                manager.request("GET", target, headers=headers).data
            ),
            "Urllib3Transport.request + json.loads": lambda: json.loads(
                transport.request("GET", target, headers=headers).body
            ),
            "... + structure": lambda: conv.structure(
                json.loads(transport.request("GET", target, headers=headers).body),
                kind,
            ),
            "get_group_users": lambda: ca.get_group_users(config, transport, group_id),
        }
        samples: dict[str, list[float]] = {name: [] for name in steps}
        for step in steps.values():
            for _ in range(20):
                step()
        for _ in range(rounds):
            for name, step in steps.items():
                start = time.thread_time()
                for _ in range(calls):
                    step()
                samples[name].append((time.thread_time() - start) / calls * 1e6)
    for name, values in samples.items():
        median, low, high = summarize(values)
        figure = f"http group (20), client CPU: {name}"
        rows.append(Row("client CPU", figure, median, low, high, "us/call"))


# 4. Memory ------------------------------------------------------------------

MEMORY_PROGRAMS = {
    "cave_auth: import + one call": (
        "import cave_auth as ca\n"
        "ca.get_tokens(ca.Config(URL, token=TOKEN), ca.Urllib3Transport())"
    ),
    "raw urllib3 + attrs + cattrs: one call": (
        "import json, attrs, cattrs, urllib3\n"
        "headers = {'Authorization': 'Bearer ' + TOKEN}\n"
        "answer = urllib3.PoolManager().request("
        "'GET', URL + '/auth/api/v1/user/token', headers=headers)\n"
        "json.loads(answer.data)"
    ),
    "caveclient: import + one call": (
        "from caveclient.auth import AuthClient\n"
        "AuthClient(server_address=URL, token=TOKEN).get_tokens()"
    ),
}


def memory(rows: list[Row], runs: int) -> None:
    """Peak RSS of a fresh process that imports a client and makes one call.

    The peak is the kernel's ``VmHWM`` of the child: ``ru_maxrss`` would
    report the parent's size, which a child inherits across fork and exec.
    """
    env = child_env()
    samples: dict[str, list[float]] = {}
    with served(None) as info:
        prelude = f"URL = {info['url']!r}\nTOKEN = {info['admin_token']!r}\n"
        epilogue = (
            "\nimport re\n"
            "status = open('/proc/self/status').read()\n"
            "print(re.search(r'VmHWM:\\s+(\\d+)', status).group(1))"
        )
        for name, body in MEMORY_PROGRAMS.items():
            if name.startswith("caveclient") and not has_caveclient():
                continue
            values = []
            for _ in range(runs):
                result = subprocess.run(
                    [sys.executable, "-c", prelude + body + epilogue],
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                )
                values.append(int(result.stdout.split()[-1]) / 1024)
            samples[name] = values
    baseline = statistics.median(samples["raw urllib3 + attrs + cattrs: one call"])
    for name, values in samples.items():
        median, low, high = summarize(values)
        row = Row("memory", name, median, low, high, "MiB peak RSS")
        if name.startswith("cave_auth"):
            extra = median - baseline
            row.target = f"<= raw + 1 MiB (is {extra:+.2f} MiB)"
            row.met = extra <= 1
        rows.append(row)


def main() -> int:
    """Run every section and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count the figures in instructions (needs valgrind)",
    )
    args = parser.parse_args()
    runs = 15 if args.quick else 25
    rows: list[Row] = figures.measure(args.quick, args.instructions)
    with tempfile.TemporaryDirectory() as secrets_dir:
        ca.save_token(ca.Config(secrets_dir=secrets_dir), ca.FileStore(), TOKEN)
        cold_import(rows, runs, secrets_dir)
    resolution(rows, 7 if args.quick else 15)
    structuring(rows, 7 if args.quick else 15)
    calls = 200 if args.quick else 400
    throughput(rows, 3 if args.quick else 5, calls, tls=False)
    throughput(rows, 3 if args.quick else 5, calls, tls=True)
    client_cpu(rows, 9 if args.quick else 25, calls // 2)
    memory(rows, 3 if args.quick else 5)
    print(
        f"cave_auth benchmarks, {datetime.date.today()}, {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print("| section | figure | median | min-max | target | |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(row.render())
    missed = [row for row in rows if row.met is False]
    print(f"\n{len(missed)} target(s) not met" if missed else "\nall targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
