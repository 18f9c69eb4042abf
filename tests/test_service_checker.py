"""Tests for cave_auth.service.checker and lookups, over a FakeTransport."""

from __future__ import annotations

import logging
import threading

import attrs

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


def status(decision):
    return 200 if isinstance(decision, Allow) else decision.status


def test_stale_if_error_serves_a_recent_answer_while_the_server_is_down():
    """During an outage an answer expired less than stale_if_error ago still counts."""
    clock = Clock()
    fake = FakeTransport()
    user_route(fake)
    checker = make(fake, ttl=10, clock=clock, stale_if_error=60)
    assert checker.check(bearer(), Rule()) == Allow(USER, TOK)
    fake.script("GET", API + "/user/cache", *[503] * 4)
    clock.now = 30
    assert checker.check(bearer(), Rule()) == Allow(USER, TOK)
    assert checker.check(bearer("never-seen"), Rule()).status == 503
    clock.now = 71
    assert checker.check(bearer(), Rule()).status == 503
    assert checker.counters()["stale_served"] == 1


def test_stale_if_error_is_off_by_default():
    """Without stale_if_error an expired answer is a 503 during an outage."""
    clock = Clock()
    fake = FakeTransport()
    user_route(fake)
    checker = make(fake, ttl=10, clock=clock)
    assert checker.check(bearer(), Rule()) == Allow(USER, TOK)
    fake.script("GET", API + "/user/cache", 503)
    clock.now = 10.5
    assert checker.check(bearer(), Rule()).status == 503


def test_stale_if_error_never_serves_a_rejection_or_a_revoked_token():
    """A token last seen rejected, or refused since, is not let in by an outage."""
    clock = Clock()
    fake = FakeTransport()
    user_route(fake, valid="other")
    checker = make(fake, ttl=10, rejected_ttl=5, clock=clock, stale_if_error=60)
    assert checker.check(bearer(), Rule()).status == 401
    fake.script("GET", API + "/user/cache", 503)
    clock.now = 6
    assert checker.check(bearer(), Rule()).status == 503


def test_stale_answers_are_logged_once_per_outage(caplog):
    """The first stale answer of an outage is logged, and the end of the outage."""
    clock = Clock()
    fake = FakeTransport()
    user_route(fake)
    checker = make(fake, ttl=10, clock=clock, stale_if_error=600)
    checker.check(bearer(), Rule())
    with caplog.at_level(logging.WARNING, logger="cave_auth.service"):
        for _ in range(2):
            clock.now += 20
            fake.script("GET", API + "/user/cache", *[503] * 5)
            for _ in range(5):
                clock.now += 11
                assert checker.check(bearer(), Rule()) == Allow(USER, TOK)
            clock.now += 11
            assert checker.check(bearer(), Rule()) == Allow(USER, TOK)
    stale = [r for r in caplog.records if "stale_if_error" in r.getMessage()]
    back = [r for r in caplog.records if "answers again" in r.getMessage()]
    assert (len(stale), len(back)) == (2, 2)
    assert checker.counters()["stale_served"] == 10


def test_lookups_in_flight_are_bounded_and_the_rest_answered_503_at_once():
    """Beyond max_lookups a new token is 503 at once, not one more waiting thread."""
    gate = threading.Event()

    def hang(request):
        gate.wait(10)
        return USER

    fake = FakeTransport({("GET", API + "/user/cache"): hang})
    settings = Settings("https://auth.example.org/auth")
    checker = Checker(
        settings, TransportLookups(settings.auth_url, fake), max_lookups=2
    )
    threads = [
        threading.Thread(target=checker.check, args=(bearer(f"slow-{n}"), Rule()))
        for n in range(2)
    ]
    for thread in threads:
        thread.start()
    while len(fake.requests) < 2:
        threading.Event().wait(0.01)
    refused = checker.check(bearer("one-more"), Rule())
    assert not gate.is_set()  # answered while both lookups still hang
    gate.set()
    for thread in threads:
        thread.join()
    assert refused.status == 503
    assert refused.error == "auth_service_unavailable"
    assert len(fake.requests) == 2
    assert checker.counters()["upstream_refused"] == 1


def test_cached_tokens_answer_while_a_slow_auth_server_holds_lookups():
    """Cached tokens are answered at once while eight lookups hang on the server."""
    from cave_auth.testing import FakeAuthServer
    from cave_auth.transport import Urllib3Transport

    with FakeAuthServer() as server, Urllib3Transport(timeout=30) as http:
        settings = Settings(f"{server.url}/auth")
        checker = Checker(
            settings, TransportLookups(settings.auth_url, http, 30), max_lookups=4
        )
        cached = server.user_token
        assert isinstance(checker.check(bearer(cached), Rule()), Allow)
        server.set_delay(1.5)
        done = []
        slow = [
            threading.Thread(
                target=lambda n=n: done.append(
                    checker.check(bearer(f"new-token-{n}"), Rule())
                )
            )
            for n in range(8)
        ]
        for thread in slow:
            thread.start()
        answers = [checker.check(bearer(cached), Rule()) for _ in range(200)]
        finished_meanwhile = len(done)
        for thread in slow:
            thread.join()
    assert all(isinstance(answer, Allow) for answer in answers)
    assert finished_meanwhile <= 4  # the cached answers did not wait for them
    assert sorted(status(d) for d in done) == [401] * 4 + [503] * 4


def test_counters_report_what_the_checker_did():
    """Hits, misses, lookups and failures are counted and readable as a dict."""
    fake = FakeTransport()
    user_route(fake)
    checker = make(fake)
    for _ in range(3):
        checker.check(bearer(), Rule())
    fake.script("GET", API + "/user/cache", 503)
    checker.check(bearer("down"), Rule())
    assert checker.counters() == {
        "hits": 2,
        "misses": 2,
        "upstream_lookups": 2,
        "upstream_failures": 1,
        "upstream_refused": 0,
        "stale_served": 0,
        "single_flight_waits": 0,
    }


VIEW = Rule("permission", permission="view", dataset="ds")
HEADER = f"Bearer {TOK}"


def revoke(fake):
    """Make the auth server refuse every token from now on."""
    fake.add_route(
        "GET", API + "/user/cache", json_response({"error": "x"}, status=401)
    )


def test_a_remembered_allow_is_answered_again_and_counted_as_a_hit():
    """A bearer token a rule allowed on its cached record is allowed again, a hit."""
    fake = FakeTransport()
    user_route(fake)
    checker = make(fake)
    assert checker.remembered(HEADER, VIEW, checker.settings) is None
    assert checker.check(bearer(), VIEW) == Allow(USER, TOK)
    assert checker.remembered(HEADER, VIEW, checker.settings) == (USER, TOK)
    assert checker.check(bearer(), VIEW) == Allow(USER, TOK)
    counters = checker.counters()
    assert (counters["hits"], counters["misses"]) == (2, 1)
    assert len(fake.requests) == 1


def test_a_remembered_allow_ends_when_the_record_expires():
    """Once the token's record expires, the token is looked up (and refused) again."""
    clock = Clock()
    fake = FakeTransport()
    user_route(fake)
    checker = make(fake, ttl=10, clock=clock)
    for _ in range(2):
        assert checker.check(bearer(), VIEW) == Allow(USER, TOK)
    revoke(fake)
    clock.now = 9.9
    assert checker.check(bearer(), VIEW) == Allow(USER, TOK)
    clock.now = 10
    assert checker.remembered(HEADER, VIEW, checker.settings) is None
    assert checker.check(bearer(), VIEW).error == "invalid_token"


def test_a_remembered_allow_ends_when_the_token_is_invalidated():
    """cache.invalidate() refuses a remembered token at its next request."""
    fake = FakeTransport()
    user_route(fake)
    checker = make(fake)
    for _ in range(2):
        assert checker.check(bearer(), VIEW) == Allow(USER, TOK)
    revoke(fake)
    checker.cache.invalidate(TOK)
    assert checker.check(bearer(), VIEW).error == "invalid_token"


def test_a_remembered_allow_answers_only_its_own_rule_and_settings():
    """Another dataset, permission, rule or settings is decided on its own."""
    fake = FakeTransport()
    user_route(fake)
    checker = make(fake)
    assert checker.check(bearer(), VIEW) == Allow(USER, TOK)
    other_dataset = Rule("permission", permission="view", dataset="other")
    edit = Rule("permission", permission="edit", dataset="ds")
    group = Rule("group", group="other")
    for rule in (other_dataset, edit, group):
        assert checker.remembered(HEADER, rule, checker.settings) is None
    assert checker.check(bearer(), other_dataset).error == "missing_permission"
    assert checker.check(bearer(), edit).error == "missing_permission"
    assert checker.check(bearer(), group).status == 403
    variant = attrs.evolve(checker.settings, service_token="svc")
    assert checker.remembered(HEADER, VIEW, variant) is None
    disabled = attrs.evolve(checker.settings, disabled=True)
    assert checker.check(bearer(), VIEW, settings=disabled).token == "AUTH_DISABLED"


def test_a_remembered_allow_is_never_answered_for_another_token():
    """Each token is looked up for itself, however many others were allowed."""
    fake = FakeTransport()
    user_route(fake)
    checker = make(fake)
    for _ in range(2):
        assert checker.check(bearer(), VIEW) == Allow(USER, TOK)
    for other in (TOK + "x", TOK[:-1], TOK.upper()):
        assert checker.remembered(f"Bearer {other}", VIEW, checker.settings) is None
        assert checker.check(bearer(other), VIEW).error == "invalid_token"
    assert checker.remembered(f"Token {TOK}", VIEW, checker.settings) is None
    assert checker.remembered(f"Bearer  {TOK}", VIEW, checker.settings) is None


def test_a_refreshed_record_replaces_what_was_remembered_of_the_old_one():
    """A record looked up afresh after a denial decides the next request alone."""
    fake = FakeTransport()
    user_route(fake)
    checker = make(fake)
    for _ in range(2):
        assert checker.check(bearer(), VIEW) == Allow(USER, TOK)
    fake.add_route("GET", API + "/user/cache", {"id": 2, "groups": ["g"]})
    assert checker.check(bearer(), Rule("group", group="other")).status == 403
    assert checker.check(bearer(), VIEW).error == "missing_permission"


def test_a_lookup_override_set_later_replaces_what_was_remembered():
    """Setting a user lookup override decides with it, not with remembered checks."""
    fake = FakeTransport()
    user_route(fake)
    checker = make(fake)
    for _ in range(2):
        assert checker.check(bearer(), VIEW) == Allow(USER, TOK)
    checker.user_lookup = lambda token: None
    assert checker.remembered(HEADER, VIEW, checker.settings) is None
    assert checker.check(bearer(), VIEW).error == "invalid_token"


def test_checks_needing_more_than_the_record_are_not_remembered():
    """A table lookup, a cookie token or an OPTIONS pass leaves nothing to remember."""
    fake = FakeTransport({("GET", API + "/service/datastack/table/t1/dataset"): "ds"})
    user_route(fake)
    checker = make(fake)
    table = Rule("permission", permission="view")
    assert checker.check(bearer(table_id="t1"), table) == Allow(USER, TOK)
    assert checker.remembered(HEADER, table, checker.settings) is None
    cookie = Request("GET", cookies={"middle_auth_token": TOK}, programmatic=True)
    assert checker.check(cookie, Rule("group", group="g")) == Allow(USER, TOK)
    assert (
        checker.remembered(HEADER, Rule("group", group="g"), checker.settings) is None
    )
    options = Request("OPTIONS", headers={"authorization": HEADER})
    assert checker.check(options, Rule("admin")) == Allow(None)
    assert checker.check(options, Rule("admin"), check_options=True).status == 403


def test_stale_answers_are_served_and_counted_past_a_remembered_allow():
    """During an outage each request past the TTL is a stale answer, counted."""
    clock = Clock()
    fake = FakeTransport()
    user_route(fake)
    checker = make(fake, ttl=10, clock=clock, stale_if_error=60)
    for _ in range(2):
        assert checker.check(bearer(), VIEW) == Allow(USER, TOK)
    fake.script("GET", API + "/user/cache", *[503] * 4)
    clock.now = 30
    for _ in range(2):
        assert checker.check(bearer(), VIEW) == Allow(USER, TOK)
    assert checker.counters()["stale_served"] == 2


def test_the_memory_of_allowed_checks_holds_no_token():
    """What the checker remembers is keyed by the token's digest, never the token."""
    fake = FakeTransport()
    user_route(fake)
    checker = make(fake)
    checker.check(bearer(), VIEW)
    remembered = checker._allowed[(VIEW, checker.settings)]
    assert list(remembered) == [checker.cache.key(TOK)]
    assert TOK not in repr(checker._allowed)
