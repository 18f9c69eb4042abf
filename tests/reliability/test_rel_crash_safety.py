"""A writer killed with SIGKILL at a random moment never corrupts a secrets file."""

from __future__ import annotations

import json
import os
import random
import signal
import time

import pytest

import cave_auth as ca

pytestmark = pytest.mark.reliability

KILLS = 100
OTHER_KEYS = {f"other{i}": f"keep{i:02d}abcdef0123456789" for i in range(20)}


def _start_writer(path: str, seq: int) -> tuple[int, int]:
    """Fork a process that saves in a loop, acknowledging each save on a pipe.

    Forked rather than started anew: the child has cave_auth and filelock
    loaded, so the kill lands among saves, and a hundred kills take seconds.

    Returns:
        The child's pid and the pipe's reading end.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child never returns into pytest
        try:
            os.close(read_end)
            store = ca.FileStore(lock_timeout=30)
            os.write(write_end, b"ready\n")
            while True:
                seq += 1
                store.set_secret(path, "target", f"value{seq:09d}")
                os.write(write_end, f"{seq}\n".encode())
        finally:
            os._exit(1)
    os.close(write_end)
    return pid, read_end


def _seq(value: str) -> int:
    assert value.startswith("value")
    return int(value[len("value") :])


def test_sigkill_mid_save_leaves_old_or_new_value(tmp_path):
    """Killing a saving process at a random moment leaves valid JSON holding the last acknowledged or the in-flight value, every other key intact, and no temp file after the next save."""
    path = tmp_path / "secrets" / "cave-secret.json"
    store = ca.FileStore(lock_timeout=5)
    for key, value in OTHER_KEYS.items():
        store.set_secret(str(path), key, value)
    store.set_secret(str(path), "target", f"value{0:09d}")
    rng = random.Random(20261128)
    seq = 0
    stray_temp_files = 0
    in_flight_won = 0
    acknowledged_total = 0
    started = time.perf_counter()
    for _ in range(KILLS):
        pid, read_end = _start_writer(str(path), seq)
        with os.fdopen(read_end, "rb") as pipe:
            try:
                assert pipe.readline() == b"ready\n"
                time.sleep(rng.uniform(0.005, 0.050))
            finally:
                os.kill(pid, signal.SIGKILL)
                _, status = os.waitpid(pid, 0)
            out = pipe.read()
        assert os.WIFSIGNALED(status)
        assert os.WTERMSIG(status) == signal.SIGKILL
        acknowledged = [int(line) for line in out.split()]
        acknowledged_total += len(acknowledged)
        last_ack = acknowledged[-1] if acknowledged else seq

        secrets = json.loads(path.read_bytes())  # always valid JSON
        found = _seq(secrets["target"])
        assert found in (last_ack, last_ack + 1), (found, last_ack)
        in_flight_won += found == last_ack + 1
        assert {k: v for k, v in secrets.items() if k != "target"} == OTHER_KEYS
        stray_temp_files += sum(1 for p in path.parent.iterdir() if p.suffix == ".tmp")

        # The next successful save removes whatever the killed writer left.
        seq = found + 1
        assert store.set_secret(str(path), "target", f"value{seq:09d}") is True
        assert [p.name for p in path.parent.iterdir() if p.suffix == ".tmp"] == []
    elapsed = time.perf_counter() - started
    print(
        f"crash safety: {KILLS}/{KILLS} kills left valid JSON with the old or new "
        f"value and {len(OTHER_KEYS)} other keys intact; {acknowledged_total} saves "
        f"acknowledged, in-flight save already visible {in_flight_won} times, "
        f"{stray_temp_files} stray temp files, all removed by the next save; "
        f"{elapsed:.1f} s"
    )
    assert elapsed < 60
