"""Shared helpers of the ``cave-auth`` tests, run in-process through ``cli.main``.

Every run gets its own streams, an environment dict, and either a
``MemoryStore`` or a ``FileStore`` over ``tmp_path`` (never the real home);
HTTP goes to a ``FakeTransport`` or the loopback ``FakeAuthServer``. The
helper ``run`` returns the exit code and both outputs, so each test can check
what a user would see, and that no token leaks into it.
"""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import attrs
from recorded import NORM_FULL_RECORD

from cave_auth import MemoryStore
from cave_auth.cli import main
from cave_auth.testing import FakeTransport, json_response

SERVER = "https://cave.example.org"
SECRETS = "/secrets"
SERVER_FILE = f"{SECRETS}/cave.example.org-cave-secret.json"
DEFAULT_FILE = f"{SECRETS}/cave-secret.json"
API = "/auth/api/v1"

TOKEN = "0123456789abcdef0123456789abcdef"
OTHER = "fedcba9876543210fedcba9876543210"
NEW = "aaaabbbbccccddddeeeeffff00001111"

ME = NORM_FULL_RECORD
TOKENS = [
    {
        "created": "Sat, 28 Nov 2026 04:59:28 GMT",
        "description": "second seed token",
        "id": 6,
        "last_used": None,
        "token": OTHER,
        "updated": "Sat, 28 Nov 2026 04:59:28 GMT",
        "user_id": 2,
    },
    {
        "created": "Sat, 28 Nov 2026 04:59:28 GMT",
        "description": "seed-token",
        "id": 3,
        "last_used": "Sat, 28 Nov 2026 05:00:00 GMT",
        "token": TOKEN,
        "updated": "Sat, 28 Nov 2026 05:00:00 GMT",
        "user_id": 2,
    },
]
REJECTED = json_response(
    {"error": "invalid_token", "message": "Unauthorized - Token is Invalid or Expired"},
    status=401,
)


@attrs.frozen
class Result:
    """What one run of the command produced."""

    code: int
    out: str
    err: str

    @property
    def both(self) -> str:
        return self.out + self.err


def server_transport(me: Any = ME) -> FakeTransport:
    """A fake transport answering /user/me and /user/token like the server."""
    return FakeTransport(
        {("GET", f"{API}/user/me"): me, ("GET", f"{API}/user/token"): TOKENS}
    )


def run(
    *argv: str,
    store: Any = None,
    transport: Any = None,
    environ: dict[str, str] | None = None,
    stdin: str = "",
    prompt: Callable[[str], str] | None = None,
    opener: Callable[[str], object] | None = None,
    common: bool = True,
) -> Result:
    """Run ``cave-auth`` in-process against fakes, with the test server options."""
    out, err = io.StringIO(), io.StringIO()

    def no_prompt(text: str) -> str:
        raise AssertionError("the command prompted unexpectedly")

    def no_browser(url: str) -> object:
        raise AssertionError("the command opened a browser unexpectedly")

    args = list(argv)
    if common:
        args += ["--server", SERVER, "--secrets-dir", SECRETS]
    code = main(
        args,
        stdin=io.StringIO(stdin),
        stdout=out,
        stderr=err,
        environ={} if environ is None else environ,
        store=MemoryStore() if store is None else store,
        transport=FakeTransport() if transport is None else transport,
        opener=no_browser if opener is None else opener,
        getpass=no_prompt if prompt is None else prompt,
    )
    return Result(code, out.getvalue(), err.getvalue())


def run_live(
    server: Any,
    secrets_dir: Any,
    *argv: str,
    opener: Callable[[str], object] | None = None,
    stdin: str | TextIO = "",
    stdout: io.StringIO | None = None,
) -> Result:
    """Run ``cave-auth`` against a running ``FakeAuthServer``, with real files.

    The transport is the real one the command builds for itself (an empty
    environment: no proxy), the store a ``FileStore`` over ``secrets_dir``.
    """
    out, err = stdout or io.StringIO(), io.StringIO()

    def no_browser(url: str) -> object:
        raise AssertionError("the command opened a browser unexpectedly")

    code = main(
        [*argv, "--server", server.url, "--secrets-dir", str(secrets_dir)],
        stdin=io.StringIO(stdin) if isinstance(stdin, str) else stdin,
        stdout=out,
        stderr=err,
        environ={},
        opener=no_browser if opener is None else opener,
    )
    return Result(code, out.getvalue(), err.getvalue())


def secret_files(secrets: Path) -> dict[str, Any]:
    """The secrets files in a directory, as ``{name: contents}``."""
    return {
        p.name: json.loads(p.read_text())
        for p in sorted(secrets.glob("*cave-secret.json"))
    }


def me_status(server: Any, token: str) -> int:
    """The status a FakeAuthServer answers to ``/user/me`` with this token."""
    request = urllib.request.Request(
        server.url + API + "/user/me", headers={"Authorization": f"Bearer {token}"}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code


def saved_store() -> MemoryStore:
    """A store where TOKEN is saved for SERVER, as ``setup`` would leave it."""
    return MemoryStore({SERVER_FILE: {"token": TOKEN}, DEFAULT_FILE: {"token": TOKEN}})


def assert_one_error_line(result: Result) -> None:
    lines = result.err.strip().splitlines()
    assert lines, "expected an error line"
    assert lines[-1].startswith("cave-auth: error: ")
    assert "Traceback" not in result.err
