"""Tests for ``cave-auth tokens``."""

from __future__ import annotations

import json

from cli_support import API, OTHER, TOKEN, run, saved_store, server_transport

from cave_auth.cli import EXIT_NO_TOKEN, EXIT_OK
from cave_auth.testing import FakeTransport


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
