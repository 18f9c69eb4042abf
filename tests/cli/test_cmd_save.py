"""Tests for ``cave-auth save``."""

from __future__ import annotations

import pytest
from cli_support import (
    API,
    DEFAULT_FILE,
    NEW,
    REJECTED,
    SERVER_FILE,
    TOKEN,
    assert_one_error_line,
    run,
    saved_store,
    server_transport,
)

from cave_auth import MemoryStore
from cave_auth.cli import EXIT_AUTH_REJECTED, EXIT_ERROR, EXIT_OK
from cave_auth.testing import FakeTransport


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


def test_save_into_a_secrets_directory_others_can_write_exits_1(tmp_path) -> None:
    """``save`` refuses a world-writable secrets directory, names the fix, writes nothing."""
    from cave_auth import FileStore

    tmp_path.chmod(0o777)
    result = run(
        "save",
        "--token-stdin",
        "--secrets-dir",
        str(tmp_path),
        stdin=f"{NEW}\n",
        store=FileStore(),
        common=False,
    )
    assert result.code == EXIT_ERROR
    assert f"chmod 700 {tmp_path}" in result.err
    assert_one_error_line(result)
    assert list(tmp_path.iterdir()) == []
    assert NEW not in result.both
