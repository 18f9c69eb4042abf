"""Tests for ``cave-auth logout``, ``cave-auth list`` and ``cave-auth rotate``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import (
    DEFAULT_FILE,
    SERVER_FILE,
    me_status,
    run,
    run_live,
    secret_files,
)
from lifecycle_support import LOGIN, OLD, TokenServer, saved, store_

from cave_auth import Config, FileStore, MemoryStore, save_token
from cave_auth.cli import EXIT_AUTH_REJECTED, EXIT_ERROR, EXIT_NO_TOKEN, EXIT_OK
from cave_auth.testing import FakeAuthServer

DEAD = "d" * 32


def test_logout_deletes_an_api_key_and_forgets_it():
    """An API key is deleted on the server and removed from both files."""
    server = TokenServer()
    store = store_(OLD)
    result = run("logout", store=store, transport=server.transport)
    assert result.code == EXIT_OK, result.err
    assert OLD not in server.keys
    assert "Deleted the API key aaaa…aaaa" in result.out
    assert SERVER_FILE in result.out
    assert saved(store) == {None}
    assert OLD not in result.both


def test_logout_ends_a_login_token():
    """A login token is ended with /logout, then forgotten."""
    server = TokenServer()
    store = store_(LOGIN)
    result = run("logout", "--json", store=store, transport=server.transport)
    data = json.loads(result.out)
    assert data["kind"] == "login token"
    assert data["ended_on_server"] is True
    assert data["removed"] == [SERVER_FILE, DEFAULT_FILE]
    assert LOGIN not in server.login_tokens


def test_logout_of_a_dead_token_still_forgets_it_and_says_so():
    """A token the server rejects is forgotten locally; the output says it was dead."""
    store = store_(DEAD)
    result = run("logout", store=store, transport=TokenServer().transport)
    assert result.code == EXIT_OK
    assert "already logged out" in result.out
    assert saved(store) == {None}


def test_logout_keep_remote_leaves_the_key_valid():
    """--keep-remote forgets locally and asks the server nothing."""
    server = TokenServer()
    store = store_(OLD)
    result = run("logout", "--keep-remote", store=store, transport=server.transport)
    assert result.code == EXIT_OK
    assert OLD in server.keys
    assert server.transport.requests == []


def test_logout_without_a_token_exits_3():
    """No token to log out: exit 3."""
    result = run("logout", store=MemoryStore(), transport=TokenServer().transport)
    assert result.code == EXIT_NO_TOKEN


def _two_servers() -> MemoryStore:
    return MemoryStore(
        {
            SERVER_FILE: {"token": OLD},
            DEFAULT_FILE: {"token": OLD},
            "/secrets/other.org-cave-secret.json": {"token": DEAD},
            "/secrets/.other.org-cave-secret.json.lock": {},
        }
    )


def test_list_shows_every_saved_token_masked():
    """The list shows each file's tokens, masked; no lock files; no server call."""
    server = TokenServer()
    result = run("list", store=_two_servers(), transport=server.transport)
    assert result.code == EXIT_OK
    assert "aaaa…aaaa" in result.out
    assert "dddd…dddd" in result.out
    assert ".lock" not in result.out
    assert OLD not in result.out
    assert server.transport.requests == []


def test_list_json_gives_server_file_key_and_mask():
    """--json lists server, path, key and the masked token of each entry."""
    result = run(
        "list", "--json", store=_two_servers(), transport=TokenServer().transport
    )
    data = json.loads(result.out)
    assert [(d["server"], d["key"], d["token"]) for d in data] == [
        (None, "token", "aaaa…aaaa"),
        ("https://cave.example.org", "token", "aaaa…aaaa"),
        ("https://other.org", "token", "dddd…dddd"),
    ]


def test_list_check_exits_4_when_a_token_is_rejected():
    """--check asks each server; a rejected token makes the exit code 4."""
    server = TokenServer()
    result = run(
        "list", "--check", "--json", store=_two_servers(), transport=server.transport
    )
    assert result.code == EXIT_AUTH_REJECTED
    data = json.loads(result.out)
    checks = {d["server"]: d["check"] for d in data}
    assert checks["https://cave.example.org"]["valid"] is True
    assert checks["https://cave.example.org"]["expires"] == "never"
    assert checks["https://cave.example.org"]["user"] == "Norm User"
    assert checks["https://other.org"]["valid"] is False


def test_list_check_exits_0_when_all_are_valid_and_shows_login_expiry():
    """All valid: exit 0; a login token shows when it expires."""
    store = store_(LOGIN)
    result = run("list", "--check", store=store, transport=TokenServer().transport)
    assert result.code == EXIT_OK
    assert "valid, Norm User, expires 20" in result.out
    assert "never" not in result.out


def test_list_names_a_secrets_directory_others_can_write(tmp_path):
    """``list`` warns about a world-writable secrets directory; --json puts it on each entry."""
    (tmp_path / "cave-secret.json").write_text(json.dumps({"token": OLD}))
    tmp_path.chmod(0o777)
    argv = ("list", "--secrets-dir", str(tmp_path))
    text = run(*argv, store=FileStore(), common=False)
    assert text.code == EXIT_OK
    fix = f"fix it with: chmod 700 {tmp_path}"
    assert text.err.count(fix) == 1
    assert text.err.startswith(f"cave-auth: warning: the secrets directory {tmp_path}")
    data = run(*argv, "--json", store=FileStore(), common=False)
    [entry] = json.loads(data.out)
    assert fix in entry["warning"]
    assert "(mode 0777)" in entry["warning"]
    assert fix in data.err
    assert OLD not in text.both + data.both


def test_list_json_has_no_warning_for_a_private_directory(tmp_path):
    """A 0700 secrets directory gives ``warning: null`` and nothing on stderr."""
    (tmp_path / "cave-secret.json").write_text(json.dumps({"token": OLD}))
    result = run(
        "list",
        "--json",
        "--secrets-dir",
        str(tmp_path),
        store=FileStore(),
        common=False,
    )
    assert [entry["warning"] for entry in json.loads(result.out)] == [None]
    assert result.err == ""


def test_rotate_saves_a_new_key_and_deletes_the_old():
    """rotate: new key saved in both files, old key deleted, masked output only."""
    server = TokenServer()
    store = store_(OLD)
    result = run("rotate", "--json", store=store, transport=server.transport)
    assert result.code == EXIT_OK, result.err
    data = json.loads(result.out)
    [new] = saved(store)
    assert new != OLD
    assert OLD not in server.keys
    assert data["old_token_ended"] is True
    assert data["written"] == [SERVER_FILE, DEFAULT_FILE]
    assert new not in result.both


def test_rotate_failing_keeps_the_old_token_and_exits_1():
    """A failing create leaves the old token saved and valid; exit 1."""
    server = TokenServer()
    server.fail.add("POST /user/token")
    store = store_(OLD)
    result = run("rotate", store=store, transport=server.transport)
    assert result.code == EXIT_ERROR
    assert saved(store) == {OLD}
    assert OLD in server.keys


def test_rotate_reports_an_old_key_it_could_not_delete():
    """If the old key cannot be deleted, the new one is saved and the exit code is 1."""
    server = TokenServer()
    server.fail.add("DELETE /user/token/<id>")
    store = store_(OLD)
    result = run("rotate", store=store, transport=server.transport)
    assert result.code == EXIT_ERROR
    assert "still valid" in result.err
    assert saved(store) != {OLD}


# ---------------------------------------------------- against FakeAuthServer


@pytest.fixture
def live() -> Iterator[FakeAuthServer]:
    """A running fake auth server."""
    with FakeAuthServer() as server:
        yield server


def _save(server: FakeAuthServer, secrets: Path, token: str, key: str = "token"):
    config = Config(server_address=server.url, secrets_dir=str(secrets))
    save_token(config, FileStore(), token, token_key=key)


def _tokens(secrets: Path) -> set[str]:
    return {t for f in secret_files(secrets).values() for t in f.values()}


@pytest.mark.parametrize(
    ("kind", "says"),
    [("user_token2", "Deleted the API key"), ("temp_token", "login token")],
)
def test_live_logout_of_both_token_kinds(live, tmp_path, kind, says):
    """An API key is deleted, a login token ended; both are forgotten locally."""
    token = getattr(live, kind)
    _save(live, tmp_path, token)
    result = run_live(live, tmp_path, "logout")
    assert result.code == EXIT_OK, result.err
    assert says in result.out
    assert me_status(live, token) == 401
    assert me_status(live, live.user_token) == 200
    assert _tokens(tmp_path) == set()
    assert token not in result.both


def test_live_logout_json_of_a_dead_token(live, tmp_path):
    """A token the server no longer knows: forgotten, and --json says it was dead."""
    _save(live, tmp_path, live.invalid_token)
    result = run_live(live, tmp_path, "logout", "--json")
    assert result.code == EXIT_OK, result.err
    data = json.loads(result.out)
    assert data["already_dead"] is True
    assert data["ended_on_server"] is False
    assert _tokens(tmp_path) == set()


def test_live_list_check_all_valid_exits_0(live, tmp_path):
    """Valid tokens: exit 0, who they belong to, and when they expire."""
    _save(live, tmp_path, live.user_token)
    _save(live, tmp_path, live.temp_token, key="login")
    result = run_live(live, tmp_path, "list", "--check", "--json")
    assert result.code == EXIT_OK, result.err
    data = json.loads(result.out)
    checks = {(d["key"], d["check"]["expires"] == "never") for d in data}
    assert checks == {("token", True), ("login", False)}
    assert {d["check"]["user"] for d in data} == {"Norm User"}
    assert {d["server"] for d in data} == {live.url, None}
    text = run_live(live, tmp_path, "list", "--check")
    assert text.code == EXIT_OK
    assert "valid, Norm User, expires never" in text.out
    assert live.user_token not in text.both + result.both


def test_live_list_check_with_a_rejected_token_exits_4(live, tmp_path):
    """One rejected token makes the exit code 4; --json marks it invalid."""
    _save(live, tmp_path, live.user_token)
    _save(live, tmp_path, live.invalid_token, key="old")
    result = run_live(live, tmp_path, "list", "--check", "--json")
    assert result.code == EXIT_AUTH_REJECTED
    valid = {d["key"]: d["check"]["valid"] for d in json.loads(result.out)}
    assert valid == {"token": True, "old": False}
    text = run_live(live, tmp_path, "list", "--check")
    assert text.code == EXIT_AUTH_REJECTED
    assert f"REJECTED by {live.url}" in text.out


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", r"/auth/api/v1/user/token"), ("GET", r"/auth/api/v1/user/me")],
)
def test_live_rotate_failing_keeps_the_old_token(live, tmp_path, method, path):
    """Rotate failing to create or verify: exit 1, the old key saved and working."""
    old = live.user_token
    _save(live, tmp_path, old)
    live.fail_next(1, 500, method=method, path=path)
    result = run_live(live, tmp_path, "rotate")
    assert result.code == EXIT_ERROR
    assert _tokens(tmp_path) == {old}
    assert me_status(live, old) == 200


def test_live_rotate_replaces_the_saved_key(live, tmp_path):
    """rotate: the new key is saved and works, the old one is gone on the server."""
    old = live.refresh_user_token
    _save(live, tmp_path, old)
    result = run_live(live, tmp_path, "rotate", "--json")
    assert result.code == EXIT_OK, result.err
    [new] = _tokens(tmp_path)
    assert new != old
    assert me_status(live, new) == 200
    assert me_status(live, old) == 401
    assert json.loads(result.out)["old_token_ended"] is True
    assert new not in result.both


def _paths_holding(server: FakeAuthServer, token: str) -> list[str]:
    """The request targets (path and query) of the server's log that hold ``token``."""
    return [
        f"{r.path}?{r.query}" for r in server.requests if token in f"{r.path}?{r.query}"
    ]


def test_live_list_check_never_puts_an_api_key_in_a_url(live, tmp_path):
    """An API key is recognised as one without a request whose path holds it; a login token still gets its expiry."""
    _save(live, tmp_path, live.user_token)
    _save(live, tmp_path, live.temp_token, key="login")
    live.clear_log()
    result = run_live(live, tmp_path, "list", "--check", "--json")
    assert result.code == EXIT_OK, result.err
    expires = {d["key"]: d["check"]["expires"] for d in json.loads(result.out)}
    assert expires["token"] == "never"
    assert expires["login"].startswith("20")
    assert live.request_count > 0
    assert _paths_holding(live, live.user_token) == []
    assert len(_paths_holding(live, live.temp_token)) == 1
