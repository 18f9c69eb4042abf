"""Shared constants and helpers of the reliability suite (not a test module)."""

from __future__ import annotations

import json
import os
import select
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings

import cave_auth

REPO_ROOT = str(Path(cave_auth.__file__).resolve().parent.parent)
"""The directory holding the ``cave_auth`` package, for child processes."""

CANARY = "canaryQ7xZ9kP2mW4vR8tY6uJ3hN5bLx"
"""A well-formed token that must never show up where it was not asked for."""

_WINDOW = 12


def leaks(text: object, secret: str = CANARY) -> bool:
    """Tell whether ``text`` holds the secret or any 12-character piece of it.

    ``mask_token`` shows 4 + 4 characters, so any longer piece is a leak.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = str(text)
    return any(
        secret[i : i + _WINDOW] in text for i in range(len(secret) - _WINDOW + 1)
    )


RANDOM = os.environ.get("CAVE_AUTH_RELIABILITY_RANDOM") == "1"
"""Explore new examples on every run (set the variable to 1); else derandomized."""


SCALE = float(os.environ.get("CAVE_AUTH_RELIABILITY_SCALE", "0.3"))
"""Multiply every property test's example count.

The default run (every ``pytest``, CI's on two cores) draws 30 % of each
test's full count, the same examples every time; 1 draws the full count (a
nightly run), 10 ten times as many (a deep local run).
"""


def examples(full: int) -> int:
    """Return how many examples a property test of ``full`` examples draws now."""
    return max(1, round(full * SCALE))


def hypothesis_settings(max_examples: int) -> settings:
    """Return the settings of a property test: no deadline, derandomized (stable CI).

    ``max_examples`` is the full count, scaled by :data:`SCALE`. With
    ``CAVE_AUTH_RELIABILITY_RANDOM=1`` every run draws new examples and keeps
    failing ones in the local example database.
    """
    return settings(
        max_examples=examples(max_examples),
        deadline=None,
        derandomize=not RANDOM,
        database=settings.default.database if RANDOM else None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.function_scoped_fixture,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
        print_blob=True,
    )


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Return an environment in which a child Python can import ``cave_auth``."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": REPO_ROOT,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra or {})
    return env


def python(script: str, *args: str) -> list[str]:
    """Return the command line that runs ``script`` with this interpreter."""
    return [sys.executable, "-c", script, *args]


def snapshot(root: Path, skip: Sequence[Path] = ()) -> dict[str, tuple[int, int]]:
    """Return every path under ``root`` (except ``skip``) with its size and mtime."""
    skipped = {str(p) for p in skip}
    found: dict[str, tuple[int, int]] = {}
    for directory, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if os.path.join(directory, d) not in skipped]
        for name in dirs + files:
            full = os.path.join(directory, name)
            st = os.lstat(full)
            found[full] = (st.st_size if name in files else 0, st.st_mtime_ns)
    return found


def run_as(
    uid: int,
    gid: int,
    function: Callable[..., Any],
    *args: Any,
    unset_env: Sequence[str] = (),
    cwd: str | None = None,
    timeout: float = 30,
) -> Any:
    """Run ``function(*args)`` in a forked child with another uid and gid.

    The suite runs as root, which ignores file permissions. A forked child
    that drops to an unprivileged user sees them as any user would, and
    needs no interpreter it could not read (the venv's Python may live under
    a home directory that user cannot enter). Import what ``function`` needs
    before calling this. Returns what the function returned (JSON-able), or
    raises AssertionError with the child's exception.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        status = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            for name in unset_env:
                os.environ.pop(name, None)
            if cwd is not None:
                os.chdir(cwd)
            try:
                payload = {"result": function(*args)}
            except BaseException as exc:
                payload = {"error": f"{type(exc).__name__}: {exc}"}
            with os.fdopen(write_end, "w") as pipe:
                json.dump(payload, pipe)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        ready, _, _ = select.select([pipe], [], [], timeout)
        if not ready:
            os.kill(pid, signal.SIGKILL)
        data = pipe.read() if ready else ""
    _, status = os.waitpid(pid, 0)
    assert data, f"the child (uid {uid}) gave no answer, status {status}"
    payload = json.loads(data)
    assert "error" not in payload, payload["error"]
    return payload["result"]
