"""Fixtures for every test: no test may see the real home or environment."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def private_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Point HOME at a fresh directory and clear the variables cave_auth reads."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for name in (
        "CLOUD_VOLUME_DIR",
        "CAVE_TOKEN",
        "CAVE_SERVER_ADDRESS",
        "CAVE_TOKEN_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    return home
