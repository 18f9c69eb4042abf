"""Tests for ``cave-auth status``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import (
    API,
    DEFAULT_FILE,
    REJECTED,
    SERVER,
    SERVER_FILE,
    TOKEN,
    assert_one_error_line,
    run,
    run_live,
    saved_store,
    server_transport,
)

from cave_auth import Config, FileStore, MemoryStore, save_token
from cave_auth.cli import EXIT_AUTH_REJECTED, EXIT_ERROR, EXIT_NO_TOKEN, EXIT_OK
from cave_auth.testing import FakeAuthServer, FakeTransport


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


def test_status_asks_the_store_for_file_modes() -> None:
    """Status shows and warns about the mode the store reports, for any store."""
    store = MemoryStore({DEFAULT_FILE: {"token": TOKEN}}, modes={DEFAULT_FILE: 0o640})
    # The shared file's token belongs to the default server (no server's own
    # file holds it), so the server is made the default one.
    result = run("status", store=store, environ={"CAVE_SERVER_ADDRESS": SERVER})
    assert result.code == EXIT_OK
    assert f"{DEFAULT_FILE} (has key 'token'; keys: token; mode 0640)" in result.out
    assert f"fix it with: chmod 600 {DEFAULT_FILE}" in result.err
    assert TOKEN not in result.both


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


def test_status_names_a_secrets_directory_others_can_write(tmp_path: Path) -> None:
    """A group-writable secrets directory gets a warning with the chmod fix, in text and JSON."""
    (tmp_path / "cave-secret.json").write_text(json.dumps({"token": TOKEN}))
    (tmp_path / "cave-secret.json").chmod(0o600)
    tmp_path.chmod(0o770)
    argv = ("status", "--secrets-dir", str(tmp_path))
    text = run(*argv, store=FileStore(), common=False)
    assert text.code == EXIT_OK
    fix = f"(mode 0770), so other users can replace the tokens in it; fix it with: chmod 700 {tmp_path}"
    assert (
        f"cave-auth: warning: the secrets directory {tmp_path} is writable" in text.err
    )
    assert fix in text.err
    data = run(*argv, "--json", store=FileStore(), common=False)
    [warning] = json.loads(data.out)["warnings"]
    assert fix in warning
    assert TOKEN not in text.both + data.both


@pytest.fixture
def live() -> Iterator[FakeAuthServer]:
    """A running fake auth server."""
    with FakeAuthServer() as server:
        yield server


@pytest.mark.parametrize(
    ("kind", "api_key"), [("user_token", True), ("temp_token", False)]
)
def test_live_status_check_asks_the_ttl_route_only_for_a_login_token(
    live: FakeAuthServer, tmp_path: Path, kind: str, api_key: bool
) -> None:
    """``status --check`` never puts an API key in a request path; a login token's expiry is still shown."""
    token = getattr(live, kind)
    config = Config(server_address=live.url, secrets_dir=str(tmp_path))
    save_token(config, FileStore(), token)
    live.clear_log()
    result = run_live(live, tmp_path, "status", "--check")
    assert result.code == EXIT_OK, result.err
    targets = [f"{r.path}?{r.query}" for r in live.requests]
    assert any(path.endswith("/user/me?") for path in targets)
    holding = [target for target in targets if token in target]
    if api_key:
        assert "Expires:    never (an API key)" in result.out
        assert holding == []
    else:
        assert "(a login token)" in result.out
        assert [path.rpartition("/")[2] for path in holding] == ["ttl?"]
    assert token not in result.both
