"""Tests for cave_auth.service.checker and lookups, over a FakeTransport."""

from __future__ import annotations

import logging
import threading

from cave_auth.errors import TransportError
from cave_auth.service import (
    Allow,
    Checker,
    LookupCache,
    RefreshLimiter,
    Request,
    Rule,
    Settings,
    TransportLookups,
)
from cave_auth.testing import FakeTransport, json_response

API = "/auth/api/v1"
TOK = "user-token-abc"
USER = {"id": 2, "groups": ["g"], "permissions_v2": {"ds": ["view"]}}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make(fake, **cache_args):
    settings = Settings("https://auth.example.org/auth")
    lookups = TransportLookups(settings.auth_url, fake)
    return Checker(settings, lookups, cache=LookupCache(**cache_args))


def bearer(token=TOK, **params):
    return Request(
        "GET", headers={"authorization": f"Bearer {token}"}, path_params=params
    )


def user_route(fake, valid=TOK):
    def answer(request):
        if request.token == valid:
            return USER
        return json_response({"error": "invalid_token"}, status=401)

    fake.add_route("GET", API + "/user/cache", answer)


def test_valid_token_is_looked_up_once_then_cached():
    """A valid token costs one /user/cache call, then none."""
    fake = FakeTransport()
    user_route(fake)
    checker = make(fake)
    for _ in range(3):
        assert checker.check(bearer(), Rule()) == Allow(USER, TOK)
    assert len(fake.requests_to("GET", API + "/user/cache")) == 1


def test_rejected_token_is_kept_only_for_the_short_ttl():
    """An invalid token is rejected from cache, and asked again after rejected_ttl."""
    clock = Clock()
    fake = FakeTransport()
    user_route(fake, valid="other")
    checker = make(fake, rejected_ttl=5, clock=clock)
    assert checker.check(bearer(), Rule()).status == 401
    assert checker.check(bearer(), Rule()).status == 401
    assert len(fake.requests) == 1
    user_route(fake)
    clock.now = 6
    assert checker.check(bearer(), Rule()) == Allow(USER, TOK)


def test_a_503_burst_is_not_cached_as_invalid():
    """5xx answers give a 503 naming the auth service, and are never cached."""
    fake = FakeTransport()
    user_route(fake)
    fake.script("GET", API + "/user/cache", 503, 503, TransportError("refused"))
    checker = make(fake)
    for _ in range(3):
        decision = checker.check(bearer(), Rule())
        assert decision.status == 503
        assert decision.error == "auth_service_unavailable"
        assert b"https://auth.example.org/auth" in decision.body
    assert checker.check(bearer(), Rule()) == Allow(USER, TOK)


def test_single_flight_fifty_threads_one_upstream_call():
    """Fifty concurrent checks of a fresh token make one upstream call."""
    gate = threading.Event()

    def slow(request):
        gate.wait(2)
        return USER

    fake = FakeTransport({("GET", API + "/user/cache"): slow})
    checker = make(fake)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(checker.check(bearer(), Rule())))
        for _ in range(50)
    ]
    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join()
    assert len(fake.requests) == 1
    assert results == [Allow(USER, TOK)] * 50


def test_dataset_and_public_lookups_use_the_right_routes_and_tokens():
    """Table and public lookups go to their routes with the rule's service token."""
    fake = FakeTransport(
        {
            ("GET", API + "/service/datastack/table/tbl/dataset"): "ds",
            ("GET", API + "/table/tbl/root/9/is_public"): True,
        }
    )
    checker = make(fake)
    rule = Rule(
        "permission",
        permission="view",
        public_table_key="table_id",
        public_node_key="root_id",
        service_token="svc-token",
    )
    request = Request(
        "GET",
        headers={"x-requested-with": "x"},
        path_params={"table_id": "tbl", "root_id": 9},
    )
    decision = checker.check(request, rule)
    assert isinstance(decision, Allow)
    assert decision.public is True
    assert {r.token for r in fake.requests} == {"svc-token"}


def test_roots_public_posts_the_ids():
    """A public-roots check POSTs the ids as a JSON list."""
    fake = FakeTransport({("POST", API + "/table/t/root_all_public"): True})
    checker = make(fake)
    rule = Rule(public_table_key="t", public_node_json_key="ids", service_token="s")
    request = Request(
        "POST", headers={"origin": "x"}, path_params={"t": "t"}, body=b'{"ids":[3]}'
    )
    assert checker.check(request, rule).public is True
    assert fake.requests[0].json == [3]


def test_unknown_table_is_invalid_table_id():
    """A 404 from the dataset route is a 400 invalid_table_id."""
    fake = FakeTransport()
    user_route(fake)
    checker = make(fake)
    decision = checker.check(
        bearer(table_id="x"), Rule("permission", permission="view")
    )
    assert decision.error == "invalid_table_id"


def test_refresh_after_denial_is_rate_limited_per_token():
    """Denials refresh the user at most limit times per window, and never fail."""
    fake = FakeTransport()
    user_route(fake)
    settings = Settings("https://auth.example.org/auth")
    checker = Checker(
        settings,
        TransportLookups(settings.auth_url, fake),
        refresh=RefreshLimiter(limit=3, window=300),
    )
    rule = Rule("permission", permission="edit", dataset="ds")
    for _ in range(10):
        assert checker.check(bearer(), rule).error == "missing_permission"
    assert len(fake.requests) == 1 + 3


def test_user_lookup_override_replaces_cache_and_lookup():
    """A user lookup function is called each time instead of the server."""
    fake = FakeTransport()
    calls = []
    settings = Settings("https://auth.example.org/auth")
    checker = Checker(
        settings,
        TransportLookups(settings.auth_url, fake),
        user_lookup=lambda token: calls.append(token) or USER,
    )
    checker.check(bearer(), Rule())
    checker.check(bearer(), Rule())
    assert len(calls) == 2
    assert fake.requests == []


def test_no_token_in_logs_or_reprs(caplog):
    """Neither log lines nor reprs of the checker show a token."""
    fake = FakeTransport()
    fake.script("GET", API + "/user/cache", 500)
    checker = make(fake)
    with caplog.at_level(logging.DEBUG):
        checker.check(bearer(), Rule())
    assert TOK not in caplog.text
    assert TOK not in repr(checker) + repr(checker.lookups) + repr(checker.cache)
    assert all(TOK.encode() not in repr(key).encode() for key in checker.cache._data)
