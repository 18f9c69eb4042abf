"""Tests for ``cave-auth logout``, ``cave-auth list`` and ``cave-auth rotate``."""

from __future__ import annotations

import json

from cli_support import DEFAULT_FILE, SERVER_FILE, run
from lifecycle_support import LOGIN, OLD, TokenServer, saved, store_

from cave_auth import MemoryStore
from cave_auth.cli import EXIT_AUTH_REJECTED, EXIT_ERROR, EXIT_NO_TOKEN, EXIT_OK

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
