"""Tests for cave_auth.service.async_checker: the checker's decision in an event loop.

Its lookups, flights and outages are tested through the ASGI middleware
(test_service_asgi.py) and the FastAPI dependencies (test_fastapi.py); here,
what it shares with Checker.check: the allows it remembers.
"""

from __future__ import annotations

import asyncio

from cave_auth.service import (
    Allow,
    Checker,
    LookupCache,
    Request,
    Rule,
    Settings,
    TransportLookups,
)
from cave_auth.service.async_checker import AsyncChecker
from cave_auth.testing import FakeTransport, json_response

API = "/auth/api/v1"
TOK = "user-token-abc"
USER = {"id": 2, "groups": ["g"], "permissions_v2": {"ds": ["view"]}}
VIEW = Rule("permission", permission="view", dataset="ds")


def make() -> tuple[AsyncChecker, FakeTransport]:
    def answer(request):
        if request.token == TOK:
            return USER
        return json_response({"error": "invalid_token"}, status=401)

    fake = FakeTransport({("GET", API + "/user/cache"): answer})
    settings = Settings("https://auth.example.org/auth")
    lookups = TransportLookups(settings.auth_url, fake)
    return AsyncChecker(Checker(settings, lookups, cache=LookupCache())), fake


def bearer(token: str = TOK) -> Request:
    return Request("GET", headers={"authorization": f"Bearer {token}"})


def test_an_allow_is_remembered_in_the_loop_as_by_the_sync_checker():
    """An allow on the cached record alone is remembered, answered again and counted a hit."""
    deciding, fake = make()
    checker = deciding.checker
    assert asyncio.run(deciding.check(bearer(), VIEW)) == Allow(USER, TOK)
    assert checker.remembered(f"Bearer {TOK}", VIEW, checker.settings) == (USER, TOK)
    assert asyncio.run(deciding.check(bearer(), VIEW)) == Allow(USER, TOK)
    # Asking remembered() counts a hit too, as the check it stands for would.
    assert (checker.counters()["hits"], len(fake.requests)) == (2, 1)


def test_a_remembered_allow_in_the_loop_ends_with_the_record_and_its_rule():
    """Another rule is decided on its own, and an invalidated token is refused."""
    deciding, fake = make()
    asyncio.run(deciding.check(bearer(), VIEW))
    admin = asyncio.run(deciding.check(bearer(), Rule("admin")))
    assert admin.status == 403
    fake.add_route("GET", API + "/user/cache", json_response({"e": 1}, status=401))
    deciding.checker.cache.invalidate(TOK)
    assert asyncio.run(deciding.check(bearer(), VIEW)).status == 401
