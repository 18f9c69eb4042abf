"""Tests for ``cave-auth demo``."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from cli_support import run

from cave_auth.cli import EXIT_OK


def test_demo_walks_through_every_step() -> None:
    """The demo exits 0, prints each numbered step, and never a full token."""
    result = run("demo", common=False)
    assert result.code == EXIT_OK, result.err
    for step in range(1, 9):
        assert f"[{step}/8]" in result.out
    for word in (
        "cave_auth.login",
        "save_token",
        "resolve_token",
        "whoami",
        "get_tokens",
        "rotate_token",
    ):
        assert word in result.out
    assert "Norm User" in result.out
    assert "Gail Groupadmin" in result.out
    assert "Ada Admin" in result.out
    assert "rejected" in result.out
    assert "Done" in result.out
    assert result.err == ""


def test_demo_logs_in_and_rotates_against_the_fake_server() -> None:
    """The login saves a new key in both files; the rotation replaces it by another."""
    result = run("demo", common=False)
    assert "Norm User is logged in" in result.out
    assert "-cave-secret.json (mode 0600)" in result.out
    login_key = re.search(r"key #(\d+): \S+  cave-auth demo$", result.out, re.M)
    rotated = re.search(r"Norm's keys now: #(\d+), #6, #3$", result.out, re.M)
    assert login_key is not None
    assert rotated is not None
    assert int(rotated[1]) > int(login_key[1])
    assert "deleted on the server" in result.out


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
