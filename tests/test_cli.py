"""Tests for the ``cave-auth`` command, run in-process through ``cli.main``.

Every run gets its own streams, an environment dict, and either a
``MemoryStore`` or a ``FileStore`` over ``tmp_path`` (never the real home);
HTTP goes to a ``FakeTransport`` or the loopback ``FakeAuthServer``. The
helper ``run`` returns the exit code and both outputs, so each test can check
what a user would see, and that no token leaks into it.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
from recorded import NORM_FULL_RECORD

from cave_auth import FileStore, MemoryStore, TransportError
from cave_auth.cli import (
    EXIT_AUTH_REJECTED,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_NO_TOKEN,
    EXIT_OK,
    EXIT_USAGE,
    main,
)
from cave_auth.testing import FakeAuthServer, FakeTransport, json_response

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


def saved_store() -> MemoryStore:
    """A store where TOKEN is saved for SERVER, as ``setup`` would leave it."""
    return MemoryStore({SERVER_FILE: {"token": TOKEN}, DEFAULT_FILE: {"token": TOKEN}})


def assert_one_error_line(result: Result) -> None:
    lines = result.err.strip().splitlines()
    assert lines, "expected an error line"
    assert lines[-1].startswith("cave-auth: error: ")
    assert "Traceback" not in result.err


# ------------------------------------------------------------------ help


def test_help_lists_commands_and_exit_codes() -> None:
    """``--help`` exits 0 and documents every command, examples and exit codes."""
    result = run("--help", common=False)
    assert result.code == EXIT_OK
    for command in ("setup", "status", "whoami", "tokens", "token", "save", "demo"):
        assert command in result.out
    assert "exit codes:" in result.out
    assert "examples:" in result.out
    assert "CAVE_TOKEN" in result.out


@pytest.mark.parametrize(
    "command", ["setup", "status", "whoami", "tokens", "token", "save", "demo"]
)
def test_every_command_has_help(command: str) -> None:
    """Each subcommand's ``--help`` exits 0 with a description and examples."""
    result = run(command, "--help", common=False)
    assert result.code == EXIT_OK
    assert f"usage: cave-auth {command}" in result.out
    assert "examples:" in result.out
    assert "exit codes:" in result.out
    if command != "demo":
        assert "--server" in result.out
        assert "--secrets-dir" in result.out


def test_no_command_is_a_usage_error() -> None:
    """Running without a command shows help on stderr and exits 2."""
    result = run(common=False)
    assert result.code == EXIT_USAGE
    assert "usage: cave-auth" in result.err


def test_unknown_command_is_a_usage_error() -> None:
    """An unknown command exits 2 with a one-line error."""
    result = run("nonsense", common=False)
    assert result.code == EXIT_USAGE
    assert_one_error_line(result)


def test_unknown_option_is_a_usage_error() -> None:
    """An unknown option exits 2 with a one-line error."""
    result = run("status", "--frobnicate")
    assert result.code == EXIT_USAGE
    assert_one_error_line(result)


def test_malformed_server_is_a_usage_error() -> None:
    """A --server that is not http(s) exits 2 and names the problem."""
    result = run("status", "--server", "ftp://x", common=False)
    assert result.code == EXIT_USAGE
    assert_one_error_line(result)
    assert "http or https" in result.err


def test_plain_http_to_remote_server_is_refused() -> None:
    """The real transport refuses to send a token over plain http to a remote host."""
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["whoami", "--server", "http://cave.example.org", "--secrets-dir", SECRETS],
        stdout=out,
        stderr=err,
        environ={"CAVE_TOKEN": TOKEN},
        store=MemoryStore(),
    )
    assert code == EXIT_USAGE
    assert "https://" in err.getvalue()
    assert TOKEN not in out.getvalue() + err.getvalue()


def test_python_dash_m_runs_the_command() -> None:
    """``python -m cave_auth --help`` runs the same command."""
    completed = subprocess.run(
        [sys.executable, "-m", "cave_auth", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == EXIT_OK
    assert "usage: cave-auth" in completed.stdout


# ---------------------------------------------------------------- status


def test_status_without_token_exits_3() -> None:
    """Status lists the files searched, says how to get a token, and exits 3."""
    result = run("status")
    assert result.code == EXIT_NO_TOKEN
    assert "none found" in result.out
    assert SERVER_FILE in result.out
    assert DEFAULT_FILE in result.out
    assert f"{SERVER}/sticky_auth/settings/tokens" in result.out
    assert_one_error_line(result)


def test_status_shows_masked_token_and_source() -> None:
    """Status shows the token masked, the file it came from, and exits 0."""
    result = run("status", store=saved_store())
    assert result.code == EXIT_OK
    assert "0123…cdef" in result.out
    assert f"{SERVER_FILE}#token" in result.out
    assert TOKEN not in result.both


def test_status_json() -> None:
    """``status --json`` prints parseable JSON describing token and files."""
    result = run("status", "--json", store=saved_store())
    assert result.code == EXIT_OK
    data = json.loads(result.out)
    assert data["server_address"] == SERVER
    assert data["token"]["source"] == f"{SERVER_FILE}#token"
    assert data["token"]["masked"] == "0123…cdef"
    assert [f["path"] for f in data["files"]][:2] == [SERVER_FILE, DEFAULT_FILE]
    assert data["files"][0]["has_key"] is True
    assert data["files"][2]["exists"] is False
    assert TOKEN not in result.both


def test_status_json_without_token() -> None:
    """``status --json`` still prints JSON (token null) when no token is found."""
    result = run("status", "--json")
    assert result.code == EXIT_NO_TOKEN
    assert json.loads(result.out)["token"] is None


def test_status_reports_other_keys() -> None:
    """Status lists the key names a file holds, so a missing key is easy to see."""
    store = MemoryStore({DEFAULT_FILE: {"fanc": TOKEN}})
    result = run("status", store=store)
    assert result.code == EXIT_NO_TOKEN
    assert "keys: fanc" in result.out
    assert TOKEN not in result.both


def test_status_env_token() -> None:
    """Status reports a token taken from CAVE_TOKEN."""
    result = run("status", environ={"CAVE_TOKEN": TOKEN})
    assert result.code == EXIT_OK
    assert "env:CAVE_TOKEN" in result.out
    assert TOKEN not in result.both


def test_status_warns_about_readable_secrets_file(tmp_path: Path) -> None:
    """A secrets file readable by group or others gets a warning with the fix."""
    secret = tmp_path / "cave-secret.json"
    secret.write_text(json.dumps({"token": TOKEN}))
    secret.chmod(0o644)
    result = run(
        "status", "--secrets-dir", str(tmp_path), store=FileStore(), common=False
    )
    assert result.code == EXIT_OK
    assert "warning" in result.err
    assert f"chmod 600 {secret}" in result.err
    assert "0644" in result.out
    assert TOKEN not in result.both


def test_status_no_warning_for_private_file(tmp_path: Path) -> None:
    """A 0600 secrets file gets no warning."""
    secret = tmp_path / "cave-secret.json"
    secret.write_text(json.dumps({"token": TOKEN}))
    secret.chmod(0o600)
    result = run(
        "status",
        "--json",
        "--secrets-dir",
        str(tmp_path),
        store=FileStore(),
        common=False,
    )
    assert result.code == EXIT_OK
    assert result.err == ""
    assert json.loads(result.out)["warnings"] == []


def test_status_corrupt_file_exits_1(tmp_path: Path) -> None:
    """A corrupt secrets file is shown and makes status exit 1."""
    (tmp_path / "cave-secret.json").write_text("{oops")
    result = run(
        "status", "--secrets-dir", str(tmp_path), store=FileStore(), common=False
    )
    assert result.code == EXIT_ERROR
    assert "[!]" in result.out
    assert_one_error_line(result)


def test_status_check_calls_the_server() -> None:
    """``status --check`` asks the server who the token belongs to."""
    transport = server_transport()
    result = run("status", "--check", store=saved_store(), transport=transport)
    assert result.code == EXIT_OK
    assert "Norm User" in result.out
    assert len(transport.requests_to("GET", f"{API}/user/me")) == 1


def test_status_check_rejected_exits_4() -> None:
    """``status --check`` with a rejected token exits 4."""
    transport = FakeTransport({("GET", f"{API}/user/me"): REJECTED})
    result = run(
        "status", "--check", "--json", store=saved_store(), transport=transport
    )
    assert result.code == EXIT_AUTH_REJECTED
    assert json.loads(result.out)["error"]
    assert TOKEN not in result.both


# ---------------------------------------------------------------- whoami


def test_whoami_text() -> None:
    """Whoami names the user and where the token came from, masked."""
    result = run("whoami", store=saved_store(), transport=server_transport())
    assert result.code == EXIT_OK
    assert "Norm User <norm@example.org> (user id 2)" in result.out
    assert TOKEN not in result.both


def test_whoami_json_is_the_server_record() -> None:
    """``whoami --json`` prints the user object as the server sent it."""
    result = run("whoami", "--json", store=saved_store(), transport=server_transport())
    assert result.code == EXIT_OK
    assert json.loads(result.out) == ME


def test_whoami_without_token_exits_3() -> None:
    """Whoami without any token exits 3 and makes no request."""
    transport = server_transport()
    result = run("whoami", transport=transport)
    assert result.code == EXIT_NO_TOKEN
    assert_one_error_line(result)
    assert "sticky_auth/settings/tokens" in result.err
    assert transport.requests == []


def test_whoami_rejected_exits_4() -> None:
    """Whoami with a token the server rejects exits 4 without showing it."""
    transport = FakeTransport({("GET", f"{API}/user/me"): REJECTED})
    result = run("whoami", store=saved_store(), transport=transport)
    assert result.code == EXIT_AUTH_REJECTED
    assert_one_error_line(result)
    assert TOKEN not in result.both


def test_whoami_unreachable_server_exits_1() -> None:
    """A transport failure is one error line and exit 1."""
    transport = FakeTransport()
    transport.script(
        "GET", f"{API}/user/me", TransportError("GET ...: could not connect")
    )
    result = run("whoami", store=saved_store(), transport=transport)
    assert result.code == EXIT_ERROR
    assert_one_error_line(result)
    assert "could not connect" in result.err


def test_whoami_uses_cave_token_env() -> None:
    """CAVE_TOKEN from the environment is honoured."""
    transport = server_transport()
    result = run("whoami", environ={"CAVE_TOKEN": TOKEN}, transport=transport)
    assert result.code == EXIT_OK
    assert transport.requests[0].token == TOKEN


def test_whoami_env_server_and_key() -> None:
    """CAVE_SERVER_ADDRESS and CAVE_TOKEN_KEY set the defaults for the options."""
    store = MemoryStore({f"{SECRETS}/other.example.org-cave-secret.json": {"k": TOKEN}})
    transport = server_transport()
    result = run(
        "whoami",
        "--secrets-dir",
        SECRETS,
        environ={"CAVE_SERVER_ADDRESS": "other.example.org", "CAVE_TOKEN_KEY": "k"},
        store=store,
        transport=transport,
        common=False,
    )
    assert result.code == EXIT_OK
    assert transport.requests[0].url.startswith("https://other.example.org/")


# ---------------------------------------------------------------- tokens


def test_tokens_masked_by_default() -> None:
    """Tokens lists the user's keys with every token masked and marks the one in use."""
    result = run("tokens", store=saved_store(), transport=server_transport())
    assert result.code == EXIT_OK
    assert "0123…cdef" in result.out
    assert "fedc…3210" in result.out
    assert "*" in result.out
    assert TOKEN not in result.both
    assert OTHER not in result.both


def test_tokens_show_prints_tokens() -> None:
    """``tokens --show`` prints the tokens in full."""
    result = run("tokens", "--show", store=saved_store(), transport=server_transport())
    assert result.code == EXIT_OK
    assert TOKEN in result.out
    assert OTHER in result.out


def test_tokens_json() -> None:
    """``tokens --json`` prints the server's records, masked, with in_use."""
    result = run("tokens", "--json", store=saved_store(), transport=server_transport())
    assert result.code == EXIT_OK
    rows = json.loads(result.out)
    assert [row["id"] for row in rows] == [6, 3]
    assert [row["in_use"] for row in rows] == [False, True]
    assert rows[1]["token"] == "0123…cdef"
    assert TOKEN not in result.both


def test_tokens_json_show() -> None:
    """``tokens --json --show`` keeps the tokens in full."""
    result = run(
        "tokens", "--json", "--show", store=saved_store(), transport=server_transport()
    )
    assert [row["token"] for row in json.loads(result.out)] == [OTHER, TOKEN]


def test_tokens_empty() -> None:
    """A user without API keys gets a clear message."""
    transport = FakeTransport({("GET", f"{API}/user/token"): []})
    result = run("tokens", store=saved_store(), transport=transport)
    assert result.code == EXIT_OK
    assert "No API keys" in result.out


def test_tokens_without_token_exits_3() -> None:
    """Tokens without any token exits 3."""
    assert run("tokens").code == EXIT_NO_TOKEN


# ----------------------------------------------------------------- token


def test_token_prints_raw_token() -> None:
    """Token prints the raw token and nothing else, for scripts."""
    result = run("token", store=saved_store())
    assert result.code == EXIT_OK
    assert result.out == f"{TOKEN}\n"
    assert result.err == ""


def test_token_json() -> None:
    """``token --json`` prints the token and its source."""
    result = run("token", "--json", store=saved_store())
    assert json.loads(result.out) == {"token": TOKEN, "source": f"{SERVER_FILE}#token"}


def test_token_named_key() -> None:
    """``token --key`` reads another key."""
    store = MemoryStore({DEFAULT_FILE: {"token": TOKEN, "fanc": OTHER}})
    assert run("token", "--key", "fanc", store=store).out == f"{OTHER}\n"


def test_token_key_option_ignores_cave_token() -> None:
    """An explicit --key wins over CAVE_TOKEN."""
    store = MemoryStore({DEFAULT_FILE: {"fanc": OTHER}})
    result = run("token", "--key", "fanc", store=store, environ={"CAVE_TOKEN": TOKEN})
    assert result.out == f"{OTHER}\n"


def test_token_from_env() -> None:
    """Token prints CAVE_TOKEN when it is set."""
    result = run("token", store=saved_store(), environ={"CAVE_TOKEN": OTHER})
    assert result.out == f"{OTHER}\n"


def test_token_file_option(tmp_path: Path) -> None:
    """``--token-file`` is read before the standard files."""
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"token": OTHER}))
    result = run(
        "token",
        "--token-file",
        str(path),
        "--secrets-dir",
        str(tmp_path / "secrets"),
        store=FileStore(),
        common=False,
    )
    assert result.out == f"{OTHER}\n"


def test_token_missing_exits_3() -> None:
    """Token without any token exits 3 with the way to get one."""
    result = run("token")
    assert result.code == EXIT_NO_TOKEN
    assert result.out == ""
    assert_one_error_line(result)


# ------------------------------------------------------------------ save


def test_save_from_stdin() -> None:
    """``save --token-stdin`` saves in the server file and the default file."""
    store = MemoryStore()
    result = run("save", "--token-stdin", stdin=f"{NEW}\n", store=store)
    assert result.code == EXIT_OK
    assert store.files == {SERVER_FILE: {"token": NEW}, DEFAULT_FILE: {"token": NEW}}
    assert SERVER_FILE in result.out
    assert NEW not in result.both


def test_save_from_hidden_prompt() -> None:
    """Without --token-stdin, save reads the token with the hidden prompt."""
    store = MemoryStore()
    prompts: list[str] = []

    def prompt(text: str) -> str:
        prompts.append(text)
        return NEW

    result = run("save", store=store, prompt=prompt)
    assert result.code == EXIT_OK
    assert prompts
    assert store.files[DEFAULT_FILE] == {"token": NEW}
    assert NEW not in result.both


def test_save_named_key_without_server_file() -> None:
    """``--key`` and ``--no-server-file`` choose where the token goes."""
    store = MemoryStore()
    result = run(
        "save", "--token-stdin", "--key", "fanc", "--no-server-file",
        stdin=NEW, store=store,
    )  # fmt: skip
    assert result.code == EXIT_OK
    assert store.files == {DEFAULT_FILE: {"fanc": NEW}}


@pytest.mark.parametrize("given", ["", "   \n", "two words", "line\nbreak"])
def test_save_rejects_malformed_token(given: str) -> None:
    """An empty or whitespace-holding token exits 1 and saves nothing."""
    store = MemoryStore()
    result = run("save", "--token-stdin", stdin=given, store=store)
    assert result.code == EXIT_ERROR
    assert_one_error_line(result)
    assert store.files == {}
    if given.strip():
        assert given.strip() not in result.err


def test_save_refuses_to_overwrite() -> None:
    """Saving over a different token exits 1, writes nothing, and hints --overwrite."""
    store = saved_store()
    result = run("save", "--token-stdin", stdin=NEW, store=store)
    assert result.code == EXIT_ERROR
    assert "--overwrite" in result.err
    assert store.files[DEFAULT_FILE] == {"token": TOKEN}
    assert NEW not in result.both
    assert TOKEN not in result.both


def test_save_overwrite() -> None:
    """``--overwrite`` replaces the saved token."""
    store = saved_store()
    result = run("save", "--token-stdin", "--overwrite", stdin=NEW, store=store)
    assert result.code == EXIT_OK
    assert store.files[SERVER_FILE] == {"token": NEW}


def test_save_verify_rejected_saves_nothing() -> None:
    """``save --verify`` with a rejected token exits 4 and saves nothing."""
    store = MemoryStore()
    transport = FakeTransport({("GET", f"{API}/user/me"): REJECTED})
    result = run(
        "save", "--token-stdin", "--verify", stdin=NEW, store=store, transport=transport
    )
    assert result.code == EXIT_AUTH_REJECTED
    assert store.files == {}


def test_save_does_not_verify_by_default() -> None:
    """Save makes no request unless --verify is given."""
    transport = server_transport()
    result = run("save", "--token-stdin", stdin=NEW, transport=transport)
    assert result.code == EXIT_OK
    assert transport.requests == []


def test_save_warns_when_cave_token_is_set() -> None:
    """Saving while CAVE_TOKEN is set warns that the variable wins."""
    result = run("save", "--token-stdin", stdin=NEW, environ={"CAVE_TOKEN": TOKEN})
    assert result.code == EXIT_OK
    assert "CAVE_TOKEN" in result.err
    assert TOKEN not in result.both


def test_save_read_only_store_fails() -> None:
    """A read-only store makes save fail clearly instead of skipping silently."""
    result = run("save", "--token-stdin", stdin=NEW, store=MemoryStore(writable=False))
    assert result.code == EXIT_ERROR
    assert_one_error_line(result)


# ----------------------------------------------------------------- setup


def test_setup_with_token_stdin() -> None:
    """Setup shows the page, verifies the token, saves it and names the user."""
    store = MemoryStore()
    transport = server_transport()
    result = run("setup", "--token-stdin", stdin=NEW, store=store, transport=transport)
    assert result.code == EXIT_OK
    assert f"{SERVER}/auth/api/v1/create_token" in result.out
    assert "Norm User" in result.out
    assert transport.requests[0].token == NEW
    assert store.files == {SERVER_FILE: {"token": NEW}, DEFAULT_FILE: {"token": NEW}}
    assert NEW not in result.both


def test_setup_verification_failure_saves_nothing() -> None:
    """A token the server rejects exits 4 and nothing is saved."""
    store = MemoryStore()
    transport = FakeTransport({("GET", f"{API}/user/me"): REJECTED})
    result = run("setup", "--token-stdin", stdin=NEW, store=store, transport=transport)
    assert result.code == EXIT_AUTH_REJECTED
    assert "nothing was saved" in result.err
    assert store.files == {}
    assert NEW not in result.both


def test_setup_unreachable_server_saves_nothing() -> None:
    """If the server cannot be reached, setup exits 1, saves nothing, hints --no-verify."""
    store = MemoryStore()
    transport = FakeTransport()
    transport.script("GET", f"{API}/user/me", TransportError("could not connect"))
    result = run("setup", "--token-stdin", stdin=NEW, store=store, transport=transport)
    assert result.code == EXIT_ERROR
    assert "--no-verify" in result.err
    assert store.files == {}


def test_setup_no_verify() -> None:
    """``--no-verify`` saves without asking the server."""
    store = MemoryStore()
    transport = server_transport()
    result = run(
        "setup",
        "--token-stdin",
        "--no-verify",
        stdin=NEW,
        store=store,
        transport=transport,
    )
    assert result.code == EXIT_OK
    assert transport.requests == []
    assert store.files[DEFAULT_FILE] == {"token": NEW}


def test_setup_hidden_prompt() -> None:
    """Without --token-stdin, setup reads the token with the hidden prompt."""
    store = MemoryStore()
    result = run(
        "setup", store=store, transport=server_transport(), prompt=lambda _: NEW
    )
    assert result.code == EXIT_OK
    assert store.files[DEFAULT_FILE] == {"token": NEW}


def test_setup_interrupted_exits_130() -> None:
    """Ctrl-C at the prompt exits 130 with one line and saves nothing."""
    store = MemoryStore()

    def interrupted(text: str) -> str:
        raise KeyboardInterrupt

    result = run("setup", store=store, prompt=interrupted)
    assert result.code == EXIT_INTERRUPTED
    assert_one_error_line(result)
    assert store.files == {}


def test_setup_open_uses_the_opener() -> None:
    """``--open`` opens the token page through the injected opener."""
    opened: list[str] = []
    result = run(
        "setup",
        "--token-stdin",
        "--open",
        stdin=NEW,
        transport=server_transport(),
        opener=opened.append,
    )
    assert result.code == EXIT_OK
    assert opened == [f"{SERVER}/auth/api/v1/create_token"]


def test_setup_existing_shows_token_page() -> None:
    """``--existing`` points at the page that lists existing tokens."""
    result = run(
        "setup", "--existing", "--token-stdin", stdin=NEW, transport=server_transport()
    )
    assert result.code == EXIT_OK
    assert f"{SERVER}/sticky_auth/settings/tokens" in result.out


def test_setup_positional_server() -> None:
    """``setup SERVER`` sets up that server."""
    store = MemoryStore()
    transport = server_transport()
    result = run(
        "setup",
        "minnie.example.org",
        "--token-stdin",
        "--secrets-dir",
        SECRETS,
        stdin=NEW,
        store=store,
        transport=transport,
        common=False,
    )
    assert result.code == EXIT_OK
    assert transport.requests[0].url.startswith("https://minnie.example.org/")
    assert f"{SECRETS}/minnie.example.org-cave-secret.json" in store.files


def test_setup_conflicting_servers_is_a_usage_error() -> None:
    """Giving two different servers is a usage error."""
    result = run("setup", "other.example.org", "--token-stdin", stdin=NEW)
    assert result.code == EXIT_USAGE
    assert_one_error_line(result)


def test_setup_refuses_to_overwrite() -> None:
    """Setup over a different saved token exits 1 unless --overwrite."""
    store = saved_store()
    result = run(
        "setup", "--token-stdin", stdin=NEW, store=store, transport=server_transport()
    )
    assert result.code == EXIT_ERROR
    assert "--overwrite" in result.err
    assert store.files[DEFAULT_FILE] == {"token": TOKEN}


def test_setup_against_fake_server(tmp_path: Path) -> None:
    """Setup, status --check and whoami work end to end over real loopback HTTP."""
    with FakeAuthServer() as server:
        secrets = str(tmp_path / "secrets")
        options = ["--server", server.url, "--secrets-dir", secrets]

        def real(*argv: str, stdin: str = "") -> Result:
            out, err = io.StringIO(), io.StringIO()
            code = main(
                [*argv, *options],
                stdin=io.StringIO(stdin),
                stdout=out,
                stderr=err,
                environ={},
            )
            return Result(code, out.getvalue(), err.getvalue())

        rejected = real("setup", "--token-stdin", stdin=server.invalid_token)
        assert rejected.code == EXIT_AUTH_REJECTED
        assert not os.path.exists(secrets)

        result = real("setup", "--token-stdin", stdin=server.user_token)
        assert result.code == EXIT_OK
        assert "Norm User" in result.out
        assert (tmp_path / "secrets" / "cave-secret.json").stat().st_mode & 0o777 == (
            0o600
        )

        status = real("status", "--check", "--json")
        assert status.code == EXIT_OK
        assert json.loads(status.out)["user"]["id"] == 2
        assert json.loads(real("whoami", "--json").out)["name"] == "Norm User"
        assert len(json.loads(real("tokens", "--json").out)) == 2
        assert real("token").out == f"{server.user_token}\n"
        for output in (result, status):
            assert server.user_token not in output.out + output.err


# ------------------------------------------------------------------ demo


def test_demo_walks_through_every_step() -> None:
    """The demo exits 0, prints each numbered step, and never a full token."""
    result = run("demo", common=False)
    assert result.code == EXIT_OK, result.err
    for step in range(1, 8):
        assert f"[{step}/7]" in result.out
    for word in ("save_token", "resolve_token", "whoami", "get_tokens"):
        assert word in result.out
    assert "Norm User" in result.out
    assert "Gail Groupadmin" in result.out
    assert "Ada Admin" in result.out
    assert "rejected" in result.out
    assert "Done" in result.out
    assert result.err == ""


def test_demo_leaves_no_files_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's temporary secrets directory is gone afterwards."""
    import tempfile

    made: list[str] = []
    real = tempfile.TemporaryDirectory

    def recording(*args: Any, **kwargs: Any) -> Any:
        directory = real(*args, **kwargs)
        made.append(directory.name)
        return directory

    monkeypatch.setattr(tempfile, "TemporaryDirectory", recording)
    assert run("demo", common=False).code == EXIT_OK
    assert made
    assert not any(os.path.exists(path) for path in made)


# --------------------------------------------------------- token leakage


@pytest.mark.parametrize(
    "argv",
    [
        ("status",),
        ("status", "--json"),
        ("status", "--check"),
        ("whoami",),
        ("whoami", "--json"),
        ("tokens",),
        ("tokens", "--json"),
    ],
)
def test_token_never_printed_by_read_commands(argv: tuple[str, ...]) -> None:
    """Read commands other than ``token`` and ``tokens --show`` never print a token."""
    result = run(*argv, store=saved_store(), transport=server_transport())
    assert result.code == EXIT_OK
    assert TOKEN not in result.both
    assert OTHER not in result.both


def test_error_lines_never_hold_a_token() -> None:
    """Even a server message echoing the token is masked in the error line."""
    echo = json_response({"message": f"bad token {TOKEN}"}, status=500)
    transport = FakeTransport({("GET", f"{API}/user/me"): echo})
    result = run("whoami", store=saved_store(), transport=transport)
    assert result.code == EXIT_ERROR
    assert TOKEN not in result.both
