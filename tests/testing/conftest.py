"""Fake servers for the tests of ``cave_auth.testing``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cave_auth.testing import FakeAuthServer


@pytest.fixture(scope="module")
def shared() -> Iterator[FakeAuthServer]:
    """One server for the cases that do not change state."""
    with FakeAuthServer() as server:
        yield server


@pytest.fixture
def server() -> Iterator[FakeAuthServer]:
    """A fresh server with the default seed."""
    with FakeAuthServer() as fresh:
        yield fresh
