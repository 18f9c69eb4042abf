"""Tests for ``cave-auth demo``."""

from __future__ import annotations

import os
from typing import Any

import pytest
from cli_support import run

from cave_auth.cli import EXIT_OK


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
