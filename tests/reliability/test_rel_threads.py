"""One Config and one Urllib3Transport shared by many threads."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

import cave_auth as ca

pytestmark = pytest.mark.reliability

THREADS = 16
CALLS = 2000
POOL_MAXSIZE = 10


def _established_to(port: int) -> int:
    """Count this machine's ESTABLISHED TCP connections to 127.0.0.1:port."""
    count = 0
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            remote, state = fields[2], fields[3]
            if state == "01" and remote == f"0100007F:{port:04X}":
                count += 1
    return count


def _comparable(name: str, result: object) -> object:
    """Drop what legitimately changes between calls (a key's ``last_used``)."""
    if name == "get_tokens":
        return [(t.id, t.token, t.user_id, t.description, t.created) for t in result]
    return result


def test_sixteen_threads_share_config_and_transport(fake_server):
    """16 threads sharing one Config and one Urllib3Transport make 2,000 mixed calls that all succeed with correct results, over at most pool_maxsize connections."""
    config = ca.Config(server_address=fake_server.url, token=fake_server.admin_token)
    http = ca.Urllib3Transport(pool_maxsize=POOL_MAXSIZE, timeout=10)
    calls = {
        "whoami": lambda: ca.whoami(config, http),
        "get_tokens": lambda: ca.get_tokens(config, http),
        "get_group_users": lambda: ca.get_group_users(config, http, 2),
        "get_user_information": lambda: ca.get_user_information(config, http, [1, 2]),
        "get_usernames": lambda: ca.get_usernames(config, http, [1, 4]),
    }
    names = list(calls)
    expected = {name: _comparable(name, call()) for name, call in calls.items()}
    assert expected["whoami"].name == "Ada Admin"
    assert [m.id for m in expected["get_group_users"]] == [1, 2, 4]
    assert [u.name for u in expected["get_usernames"]] == [
        "Ada Admin",
        "gail_custom_name",
    ]
    fake_server.clear_log()

    lock = threading.Lock()
    next_call = iter(range(CALLS))
    done: Counter[str] = Counter()
    wrong: list[str] = []
    errors: list[BaseException] = []
    peak_established = 0
    start = threading.Barrier(THREADS)

    def work() -> None:
        nonlocal peak_established
        start.wait()
        while True:
            with lock:
                index = next(next_call, None)
            if index is None:
                return
            name = names[index % len(names)]
            try:
                result = calls[name]()
            except BaseException as exc:
                with lock:
                    errors.append(exc)
                continue
            established = _established_to(fake_server.port) if index % 50 == 0 else 0
            with lock:
                done[name] += 1
                peak_established = max(peak_established, established)
                if _comparable(name, result) != expected[name]:
                    wrong.append(name)

    began = time.perf_counter()
    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    elapsed = time.perf_counter() - began

    pools = list(http._pools.values())
    created = sum(pool.num_connections for pool in pools)
    idle = sum(pool.pool.qsize() for pool in pools if pool.pool is not None)
    served = fake_server.request_count
    http.close()
    print(
        f"threads: {sum(done.values())}/{CALLS} calls ok from {THREADS} threads in "
        f"{elapsed:.1f} s ({dict(done)}), {len(wrong)} wrong results, "
        f"{len(errors)} errors; {len(pools)} pool, {created} connections created "
        f"(pool_maxsize {POOL_MAXSIZE}), at most {peak_established} established at "
        f"once, {served} requests served"
    )
    assert errors == []
    assert wrong == []
    assert sum(done.values()) == CALLS
    assert served == CALLS
    assert len(pools) == 1
    assert 1 <= created <= POOL_MAXSIZE
    assert idle <= POOL_MAXSIZE
    assert peak_established <= POOL_MAXSIZE
