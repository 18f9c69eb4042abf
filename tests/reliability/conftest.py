"""Fixtures of the reliability suite: fake servers, a canary-seeded server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from reliability_support import CANARY

from cave_auth.testing import FakeAuthServer, FakeSeed


def canary_seed(label: str = "admin") -> FakeSeed:
    """Return the default seed with one labelled API key replaced by CANARY."""
    seed = FakeSeed.default()
    old = seed.named_tokens[label]
    for key in seed.api_keys:
        if key.token == old:
            key.token = CANARY
    seed.named_tokens[label] = CANARY
    return seed


@pytest.fixture
def fake_server() -> Iterator[FakeAuthServer]:
    """A FakeAuthServer with the default seed, stopped after the test."""
    with FakeAuthServer() as server:
        yield server


@pytest.fixture
def canary_user_server() -> Iterator[FakeAuthServer]:
    """A FakeAuthServer on which CANARY is Norm User's (user 2, no admin) API key."""
    with FakeAuthServer(canary_seed("user")) as server:
        assert server.user_token == CANARY
        yield server


@pytest.fixture
def canary_server() -> Iterator[FakeAuthServer]:
    """A FakeAuthServer on which CANARY is Ada Admin's (user 1) API key."""
    with FakeAuthServer(canary_seed()) as server:
        assert server.admin_token == CANARY
        yield server
