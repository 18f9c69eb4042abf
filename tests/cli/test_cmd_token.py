"""Tests for ``cave-auth token``."""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import (
    OTHER,
    SERVER_FILE,
    TOKEN,
    assert_one_error_line,
    run,
    saved_store,
)

from cave_auth import FileStore, MemoryStore
from cave_auth.cli import EXIT_NO_TOKEN, EXIT_OK


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
    store = MemoryStore({SERVER_FILE: {"token": TOKEN, "fanc": OTHER}})
    assert run("token", "--key", "fanc", store=store).out == f"{OTHER}\n"


def test_token_key_option_ignores_cave_token() -> None:
    """An explicit --key wins over CAVE_TOKEN."""
    store = MemoryStore({SERVER_FILE: {"fanc": OTHER}})
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
