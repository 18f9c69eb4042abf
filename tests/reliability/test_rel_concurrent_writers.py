"""Many processes (and threads) saving into one secrets file at once."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import threading
import time

import pytest
from reliability_support import child_env, examples, python

import cave_auth as ca

pytestmark = pytest.mark.reliability

WRITERS = 8
SAVES = examples(100)
"""Saves per writer: 100 in a full run, 30 in a default one (each save fsyncs
twice, so the count is what the test's time goes to)."""
THREAD_SAVES = examples(50)

WRITER = """
import os, sys, time
from cave_auth.store import FileStore
path, worker, count, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
store = FileStore(lock_timeout=60)
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.001)
for i in range(count):
    store.set_secret(path, f"w{worker}-k{i}", f"tok{worker}x{i:04d}abcdef", overwrite=False)
"""

READER = """
import json, os, stat, sys
path, stop = sys.argv[1], sys.argv[2]
reads = failures = missing = shrank = bad_mode = 0
largest = last = 0
print("ready", flush=True)
while True:
    stopping = os.path.exists(stop)
    try:
        with open(path, "rb") as file:
            mode = stat.S_IMODE(os.fstat(file.fileno()).st_mode)
            data = file.read()
    except FileNotFoundError:
        missing += 1
    else:
        try:
            secrets = json.loads(data)
            assert isinstance(secrets, dict)
        except (ValueError, AssertionError):
            failures += 1
        else:
            reads += 1
            shrank += len(secrets) < last
            last = len(secrets)
            largest = max(largest, last)
        bad_mode += mode != 0o600
    if stopping:
        break
print(json.dumps(dict(reads=reads, failures=failures, missing=missing,
                      shrank=shrank, bad_mode=bad_mode, largest=largest)))
"""


def _expected(worker: int, i: int) -> str:
    return f"tok{worker}x{i:04d}abcdef"


def test_eight_processes_save_distinct_keys(tmp_path):
    """8 processes x SAVES saves of distinct keys into one new file keep every key, and a polling reader never sees invalid JSON."""
    # The directories do not exist yet: the writers race to create them too.
    path = tmp_path / "home" / ".cloudvolume" / "secrets" / "cave-secret.json"
    go, stop = tmp_path / "go", tmp_path / "stop"
    env = child_env()
    reader = subprocess.Popen(
        python(READER, str(path), str(stop)), stdout=subprocess.PIPE, text=True, env=env
    )
    writers = [
        subprocess.Popen(
            python(WRITER, str(path), str(w), str(SAVES), str(go)),
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for w in range(WRITERS)
    ]
    try:
        for proc in [reader, *writers]:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"
        started = time.perf_counter()
        go.touch()
        for proc in writers:
            assert proc.wait(timeout=90) == 0
        elapsed = time.perf_counter() - started
        stop.touch()
        out, _ = reader.communicate(timeout=30)
    finally:
        for proc in [reader, *writers]:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    stats = json.loads(out)

    secrets = json.loads(path.read_text())
    present = sum(
        secrets.get(f"w{w}-k{i}") == _expected(w, i)
        for w in range(WRITERS)
        for i in range(SAVES)
    )
    mode = stat.S_IMODE(os.stat(path).st_mode)
    leftovers = [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    print(
        f"concurrent writers: {present}/{WRITERS * SAVES} keys in {elapsed:.2f} s, "
        f"{stats['failures']} parse failures in {stats['reads']} reads "
        f"(file missing in {stats['missing']} polls before the first save, "
        f"key count shrank {stats['shrank']} times), mode {mode:04o}"
    )
    assert present == WRITERS * SAVES
    assert len(secrets) == WRITERS * SAVES
    assert stats["reads"] > 0
    assert stats["failures"] == 0
    assert stats["shrank"] == 0  # no lost update was ever visible
    assert stats["bad_mode"] == 0
    assert stats["largest"] == WRITERS * SAVES
    assert mode == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert leftovers == []


def test_threads_sharing_one_filestore(tmp_path):
    """16 threads sharing one FileStore save THREAD_SAVES distinct keys each and lose none."""
    path = str(tmp_path / "secrets" / "cave-secret.json")
    store = ca.FileStore()
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(THREAD_SAVES):
                store.set_secret(path, f"t{worker}-{i}", _expected(worker, i))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    secrets = store.read_secrets(path) or {}
    present = sum(
        secrets.get(f"t{w}-{i}") == _expected(w, i)
        for w in range(16)
        for i in range(THREAD_SAVES)
    )
    print(f"threaded writers: {present}/{16 * THREAD_SAVES} keys, {len(errors)} errors")
    assert errors == []
    assert present == 16 * THREAD_SAVES
