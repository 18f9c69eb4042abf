"""Tests for ``cave-auth whoami``."""

from __future__ import annotations

import json

from cli_support import (
    API,
    ME,
    REJECTED,
    SECRETS,
    TOKEN,
    assert_one_error_line,
    run,
    saved_store,
    server_transport,
)

from cave_auth import MemoryStore, TransportError
from cave_auth.cli import EXIT_AUTH_REJECTED, EXIT_ERROR, EXIT_NO_TOKEN, EXIT_OK
from cave_auth.testing import FakeTransport


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
