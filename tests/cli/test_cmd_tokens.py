"""Tests for ``cave-auth tokens``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
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


@pytest.fixture
def utc_plus_1(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is UTC+1 for the test."""
    monkeypatch.setenv("TZ", "CET-1")  # POSIX form: no tz database needed
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_tokens_table_fits_its_content_with_local_dates(utc_plus_1: None) -> None:
    """The masked column is not padded to a full token; dates are local; last_used shows."""
    result = run("tokens", store=saved_store(), transport=server_transport())
    lines = result.out.splitlines()
    assert lines[0].split() == ["ID", "TOKEN", "CREATED", "LAST", "USED", "DESCRIPTION"]
    assert lines[1] == (
        " 6  fedc…3210  2026-11-28 05:59  never             second seed token"
    )
    assert lines[2] == (
        " 3  0123…cdef  2026-11-28 05:59  2026-11-28 06:00  seed-token *"
    )
    assert "GMT" not in result.out
    assert "(dates in local time)" in result.out


def test_tokens_json_dates_are_iso(utc_plus_1: None) -> None:
    """--json gives created, last_used and updated in ISO 8601 (UTC), null if never."""
    result = run("tokens", "--json", store=saved_store(), transport=server_transport())
    rows = json.loads(result.out)
    assert rows[0]["created"] == "2026-11-28T04:59:28+00:00"
    assert rows[0]["last_used"] is None
    assert rows[1]["last_used"] == "2026-11-28T05:00:00+00:00"
    assert rows[1]["updated"] == "2026-11-28T05:00:00+00:00"
