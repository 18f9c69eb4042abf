"""The four figures cave_auth is held to, each paired with its floor in one run.

Run ``python benchmarks/figures.py`` (``--quick`` for fewer rounds), or
``python benchmarks/run.py``, which prints them first. The machine is shared
and noisy, so every figure is measured in alternating rounds, A B A B ...,
against a floor measured in the same rounds, and given as the median of the
per-round ratios (or differences) with their range:

1. **Serverless cold start**: a new process imports cave_auth and makes its
   first ``whoami`` over HTTPS to a ``FakeAuthServer`` with its own CA,
   against the stack floor: a new process importing urllib3, attrs, cattrs
   and json that makes the same call and structures the answer into an
   attrs class with the same fields. Goal <= 1.05x.
2. **Cold token resolution**: a new process that imports cave_auth, resolves
   the token from a secrets file and builds the header, against
   ``python -c "import attrs"``. Goal <= 1.10x.
3. **Peak RSS** of the cold-start process of 1, over the stack floor's (the
   kernel's ``VmHWM`` of each child). Goal <= +0.5 MiB.
4. **Throughput**: ``get_group_users`` (20 members) calls per second, one
   thread, over keep-alive HTTP, against raw ``urllib3.PoolManager`` +
   ``json.loads`` of the same route. Goal >= 1.0x.

Each process is started with ``subprocess`` and timed with
``time.perf_counter`` from the parent, start to exit; the package is
byte-compiled first, as an installed package is. With ``--instructions``,
figures 1, 2 and 4 are also counted in instructions with valgrind's
callgrind (the whole child process for 1 and 2; for 4, the difference between
600 and 200 calls in one process, per call), which a loaded machine hardly
moves; those rows end in "(instructions)".
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

from common import ROOT, Row, child_env, make_certificates, served

sys.path.insert(0, str(ROOT))

TOKEN = "0123456789abcdef0123456789abcdef"

# Appended to every child: its peak resident set, for figure 3.
_PEAK = (
    "\nimport re as _re\n"
    "_status = open('/proc/self/status').read()\n"
    "print(_re.search(r'VmHWM:\\s+(\\d+)', _status).group(1))\n"
)


def cold_start_programs(url: str, token: str, ca_path: str) -> dict[str, str]:
    """Return the cave_auth program and the stack floor's, for one server."""
    ours = (
        "import cave_auth as ca\n"
        f"http = ca.Urllib3Transport(ca_certs={ca_path!r})\n"
        f"user = ca.whoami(ca.Config({url!r}, token={token!r}), http)\n"
        "assert user.id\n"
    )
    floor = (
        "import json\n"
        "import attrs, cattrs, urllib3\n"
        "@attrs.frozen(kw_only=True)\n"
        "class User:\n"
        "    id: int\n"
        "    name: str\n"
        "    email: str | None = None\n"
        "    admin: bool | None = None\n"
        "    pi: str | None = None\n"
        "    created: str | None = None\n"
        "    service_account: bool | None = None\n"
        "    gdpr_consent: bool | None = None\n"
        "    admin_datasets: tuple[str, ...] | None = None\n"
        "    affiliations: list[list[str]] | None = None\n"
        "    parent_id: int | None = None\n"
        f"http = urllib3.PoolManager(ca_certs={ca_path!r})\n"
        f"answer = http.request('GET', {url + '/auth/api/v1/user/me'!r},\n"
        f"    headers={{'Authorization': 'Bearer ' + {token!r}}}, timeout=30.0)\n"
        "data = json.loads(answer.data)\n"
        "known = attrs.fields_dict(User)\n"
        "user = cattrs.structure({k: v for k, v in data.items() if k in known}, User)\n"
        "assert user.id\n"
    )
    return {"cave_auth": ours, "stack floor": floor}


def run_child(code: str, env: dict[str, str]) -> tuple[float, float]:
    """Run ``code`` in a new interpreter; return its wall seconds and peak MiB."""
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", code + _PEAK],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    return elapsed, int(result.stdout.split()[-1]) / 1024


def paired(
    programs: dict[str, str], rounds: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Run two programs in alternating rounds; return their times and peaks."""
    env = child_env()
    times: dict[str, list[float]] = {name: [] for name in programs}
    peaks: dict[str, list[float]] = {name: [] for name in programs}
    for code in programs.values():  # warm the page cache and the bytecode
        run_child(code, env)
    for _ in range(rounds):
        for name, code in programs.items():
            elapsed, peak = run_child(code, env)
            times[name].append(elapsed)
            peaks[name].append(peak)
    return times, peaks


def ratio_row(
    figure: str,
    ours: list[float],
    floor: list[float],
    goal: float,
    *,
    at_least: bool = False,
) -> Row:
    """Return the median per-round ratio ours / floor, against ``goal``."""
    ratios = [a / b for a, b in zip(ours, floor, strict=True)]
    median = statistics.median(ratios)
    met = median >= goal if at_least else median <= goal
    target = f"{'>=' if at_least else '<='} {goal}x"
    return Row("figures", figure, median, min(ratios), max(ratios), "x", target, met)


def cold_start(rows: list[Row], rounds: int) -> None:
    """Figures 1 and 3: the serverless cold start and its peak RSS, paired."""
    with tempfile.TemporaryDirectory() as directory:
        ca_path = make_certificates(directory)
        with served(directory) as info:
            programs = cold_start_programs(
                str(info["url"]), str(info["admin_token"]), ca_path
            )
            times, peaks = paired(programs, rounds)
    rows.append(
        ratio_row(
            "1. serverless cold start (import + first whoami over HTTPS) / stack floor",
            times["cave_auth"],
            times["stack floor"],
            1.05,
        )
    )
    extra = [
        a - b for a, b in zip(peaks["cave_auth"], peaks["stack floor"], strict=True)
    ]
    median = statistics.median(extra)
    rows.append(
        Row(
            "figures",
            "3. peak RSS, import + one call, over the stack floor",
            median,
            min(extra),
            max(extra),
            "MiB",
            "<= +0.5 MiB",
            median <= 0.5,
        )
    )
    for name in programs:
        rows.append(_detail(f"cold start: {name}", times[name], 1000, "ms"))
        rows.append(_detail(f"peak RSS: {name}", peaks[name], 1, "MiB"))


def cold_resolution(rows: list[Row], rounds: int) -> None:
    """Figure 2: resolve a token from a file and build the header, cold."""
    import cave_auth as ca

    with tempfile.TemporaryDirectory() as secrets_dir:
        ca.save_token(ca.Config(secrets_dir=secrets_dir), ca.FileStore(), TOKEN)
        programs = {
            "cave_auth": (
                "import cave_auth as ca\n"
                f"config = ca.Config(secrets_dir={secrets_dir!r})\n"
                "ca.request_header(ca.with_token(config, ca.FileStore()).token)\n"
            ),
            "import attrs": "import attrs\n",
        }
        times, _ = paired(programs, rounds)
    rows.append(
        ratio_row(
            "2. cold resolve_token + request_header / python -c 'import attrs'",
            times["cave_auth"],
            times["import attrs"],
            1.10,
        )
    )
    for name in programs:
        rows.append(_detail(f"cold resolution: {name}", times[name], 1000, "ms"))


def throughput(rows: list[Row], rounds: int, calls: int) -> None:
    """Figure 4: get_group_users against raw urllib3 + json.loads, one thread."""
    import urllib3

    import cave_auth as ca

    with served(None) as info:
        url, token = str(info["url"]), str(info["admin_token"])
        group_id = int(info["group_id"])  # type: ignore[call-overload]
        config = ca.Config(url, token=token)
        transport = ca.Urllib3Transport()
        manager = urllib3.PoolManager()
        target = f"{url}/auth/api/v1/group/{group_id}/user"
        headers = {"Authorization": f"Bearer {token}"}
        contenders: dict[str, Callable[[], object]] = {
            "cave_auth": lambda: ca.get_group_users(config, transport, group_id),
            "raw": lambda: json.loads(
                manager.request("GET", target, headers=headers).data
            ),
        }
        rates: dict[str, list[float]] = {name: [] for name in contenders}
        for call in contenders.values():
            for _ in range(50):
                call()
        for _ in range(rounds):
            for name, call in contenders.items():
                start = time.perf_counter()
                for _ in range(calls):
                    call()
                rates[name].append(calls / (time.perf_counter() - start))
    rows.append(
        ratio_row(
            "4. get_group_users (20 members) calls/s / raw urllib3 + json.loads",
            rates["cave_auth"],
            rates["raw"],
            1.0,
            at_least=True,
        )
    )
    for name, values in rates.items():
        rows.append(_detail(f"throughput: {name}", values, 1, "calls/s"))


def _detail(figure: str, values: list[float], scale: float, unit: str) -> Row:
    scaled = [value * scale for value in values]
    return Row(
        "figure detail",
        figure,
        statistics.median(scaled),
        min(scaled),
        max(scaled),
        unit,
    )


_CALLGRIND = ("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null")


def instructions_of(code: str, runs: int = 2) -> int:
    """Count the instructions a new interpreter running ``code`` executes.

    The least of two runs: a process that talks to a server may wait (and
    poll) more when the machine is busy, which only adds instructions.
    """
    env = {**child_env(), "PYTHONHASHSEED": "0"}
    counts = []
    for _ in range(runs):
        result = subprocess.run(
            [*_CALLGRIND, sys.executable, "-c", code],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        counts.append(int(re.findall(r"Collected : (\d+)", result.stderr)[-1]))
    return min(counts)


def _calls_program(url: str, token: str, group_id: int, ours: bool, calls: int) -> str:
    setup = (
        "import cave_auth as ca\n"
        f"config = ca.Config({url!r}, token={token!r})\n"
        "http = ca.Urllib3Transport()\n"
        f"call = lambda: ca.get_group_users(config, http, {group_id})\n"
        if ours
        else "import json, urllib3\n"
        "manager = urllib3.PoolManager()\n"
        f"target = {url!r} + '/auth/api/v1/group/{group_id}/user'\n"
        f"headers = {{'Authorization': 'Bearer ' + {token!r}}}\n"
        "get = lambda: manager.request('GET', target, headers=headers)\n"
        "call = lambda: json.loads(get().data)\n"
    )
    return setup + f"for _ in range(50 + {calls}):\n    call()\n"


def instructions(rows: list[Row]) -> None:
    """Figures 1, 2 and 4 in instructions (callgrind): deterministic, paired."""
    import cave_auth as ca

    with tempfile.TemporaryDirectory() as directory:
        ca_path = make_certificates(directory)
        with served(directory) as info:
            programs = cold_start_programs(
                str(info["url"]), str(info["admin_token"]), ca_path
            )
            counts = {name: instructions_of(code) for name, code in programs.items()}
        ca.save_token(ca.Config(secrets_dir=directory), ca.FileStore(), TOKEN)
        resolve = (
            "import cave_auth as ca\n"
            f"config = ca.Config(secrets_dir={directory!r})\n"
            "ca.request_header(ca.with_token(config, ca.FileStore()).token)\n"
        )
        resolved = instructions_of(resolve)
    attrs_alone = instructions_of("import attrs")
    with served(None) as info:
        url, token = str(info["url"]), str(info["admin_token"])
        group_id = int(info["group_id"])  # type: ignore[call-overload]
        per_call = {}
        for ours in (True, False):
            many, few = (
                instructions_of(_calls_program(url, token, group_id, ours, n), 1)
                for n in (600, 200)
            )
            per_call[ours] = (many - few) / 400
    figures = [
        ("1. serverless cold start", counts["cave_auth"], counts["stack floor"], 1.05),
        ("2. cold resolve_token + request_header", resolved, attrs_alone, 1.10),
    ]
    for figure, ours_count, floor_count, goal in figures:
        ratio = ours_count / floor_count
        target = f"<= {goal}x ({ours_count:,} / {floor_count:,})"
        rows.append(
            Row(
                "figures",
                f"{figure} (instructions)",
                ratio,
                ratio,
                ratio,
                "x",
                target,
                ratio <= goal,
            )
        )
    # Fewer instructions a call is more calls a second: the ratio is inverted.
    ratio = per_call[False] / per_call[True]
    target = f">= 1.0x ({per_call[True]:,.0f} vs {per_call[False]:,.0f} a call)"
    rows.append(
        Row(
            "figures",
            "4. get_group_users calls / raw urllib3 + json.loads (instructions)",
            ratio,
            ratio,
            ratio,
            "x",
            target,
            ratio >= 1.0,
        )
    )


def measure(quick: bool, count_instructions: bool = False) -> list[Row]:
    """Measure the four figures; return their rows, then the raw medians."""
    compileall.compile_dir(str(ROOT / "cave_auth"), quiet=1)
    rows: list[Row] = []
    cold_start(rows, 10 if quick else 30)
    cold_resolution(rows, 10 if quick else 30)
    throughput(rows, 5 if quick else 15, 200)
    if count_instructions and shutil.which("valgrind"):
        instructions(rows)
    headline = [row for row in rows if row.section == "figures"]
    return sorted(headline, key=lambda row: row.figure) + [
        row for row in rows if row.section != "figures"
    ]


def main() -> int:
    """Measure and print the four figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument(
        "--instructions", action="store_true", help="also count with callgrind"
    )
    args = parser.parse_args()
    print("| section | figure | median | min-max | target | |")
    print("|---|---|---|---|---|---|")
    for row in measure(args.quick, args.instructions):
        print(row.render())
    print(f"(ran with {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
