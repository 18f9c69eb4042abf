"""Tests of the fake server's auth guards: token rules, admin and superadmin checks.

Conformance cases of sections 1 (how a token is accepted) and 18 (superadmin-only routes).
"""

from __future__ import annotations

import pytest

from cave_auth.testing import FakeAuthServer, FakeSeed
from cave_auth.testing.backend import Backend
from cave_auth.testing.guards import Caller, authenticate, check, lookup
from cave_auth.testing.messages import AppRequest, AppResponse

from .conformance import (
    ADA_ME,
    BAD_HEADER,
    BAD_TOKEN,
    BROWSER,
    NO_TOKEN,
    NORM_ME,
    REALM,
    REALM_BAD_HEADER,
    REALM_INVALID,
    TESTBOT_ME,
    Case,
    case_params,
    check_case,
)

# fmt: off
CASES: list[Case] = [
    Case("1", "valid admin token in `Authorization: Bearer`", "GET",
        "/auth/api/v1/user/me", "admin", 200, "application/json", sample=ADA_ME),
    Case("1", "login-style (temporary, TTL) token works the same way", "GET",
        "/auth/api/v1/user/me", "temp", 200, "application/json", sample=NORM_ME),
    Case("1", "no token, plain curl", "GET", "/auth/api/v1/user/me", None, 302,
        "text/html",
        expect={"Location": (
        "https://127.0.0.1:5055/sticky_auth/api/v1/authorize?redirect=http%3A//"
        "127.0.0.1%3A5055/auth/api/v1/user/me")}),
    Case("1", "no token, `Accept: application/json` (still 302: Accept is ignored)",
        "GET", "/auth/api/v1/user/me", None, 302, "text/html",
        headers={"Accept": "application/json"},
        expect={"Location": (
        "https://127.0.0.1:5055/sticky_auth/api/v1/authorize?redirect=http%3A//"
        "127.0.0.1%3A5055/auth/api/v1/user/me")}),
    Case("1", "no token, browser-like request", "GET", "/auth/api/v1/user/me", None,
        302, "text/html", headers=BROWSER,
        expect={"Location": (
        "https://127.0.0.1:5055/sticky_auth/api/v1/authorize?redirect=http%3A//"
        "127.0.0.1%3A5055/auth/api/v1/user/me")}),
    Case("1", "no token, `X-Requested-With: XMLHttpRequest`", "GET",
        "/auth/api/v1/user/me", None, 401, "application/json",
        headers={"X-Requested-With": "XMLHttpRequest"}, sample=NO_TOKEN,
        expect={"WWW-Authenticate": REALM}),
    Case("1", "no token, `Origin` header", "GET", "/auth/api/v1/user/me", None, 401,
        "application/json", headers={"Origin": "http://localhost:8000"},
        sample=NO_TOKEN, expect={"WWW-Authenticate": REALM, "Vary": "Origin",
        "Access-Control-Allow-Origin": "http://localhost:8000"}),
    Case("1", "invalid token in `Authorization: Bearer`", "GET", "/auth/api/v1/user/me",
        "invalid", 401, "application/json", sample=BAD_TOKEN,
        expect={"WWW-Authenticate": REALM_INVALID}),
    Case("1", "invalid token, browser-like, no Authorization header (cookie)", "GET",
        "/auth/api/v1/user/me", None, 302, "text/html",
        headers={"Cookie": "middle_auth_token=${invalid}", **BROWSER},
        expect={"Location": (
        "https://127.0.0.1:5055/sticky_auth/api/v1/authorize?redirect=http%3A//"
        "127.0.0.1%3A5055/auth/api/v1/user/me")}),
    Case("1", "invalid token in cookie + `X-Requested-With`", "GET",
        "/auth/api/v1/user/me", None, 401, "application/json",
        headers={"Cookie": "middle_auth_token=${invalid}",
        "X-Requested-With": "XMLHttpRequest"}, sample=BAD_TOKEN,
        expect={"WWW-Authenticate": REALM_INVALID}),
    Case("1", "`Authorization` without scheme (raw token)", "GET",
        "/auth/api/v1/user/me", None, 400, "application/json",
        headers={"Authorization": "${admin}"}, sample=BAD_HEADER,
        expect={"WWW-Authenticate": REALM_BAD_HEADER}),
    Case("1", "`Authorization: bearer <token>` (lower-case scheme)", "GET",
        "/auth/api/v1/user/me", None, 400, "application/json",
        headers={"Authorization": "bearer ${admin}"}, sample=BAD_HEADER,
        expect={"WWW-Authenticate": REALM_BAD_HEADER}),
    Case("1", "`Authorization: Token <token>`", "GET", "/auth/api/v1/user/me", None,
        400, "application/json", headers={"Authorization": "Token ${admin}"},
        sample=BAD_HEADER, expect={"WWW-Authenticate": REALM_BAD_HEADER}),
    Case("1", "`Authorization: Bearer ` with nothing after it (curl sends `Bearer`)",
        "GET", "/auth/api/v1/user/me", None, 400, "application/json",
        headers={"Authorization": "Bearer "}, sample=BAD_HEADER,
        expect={"WWW-Authenticate": REALM_BAD_HEADER}),
    Case("1", "`Authorization: Bearer  <token>` (two spaces) makes the token empty",
        "GET", "/auth/api/v1/user/me", None, 401, "application/json",
        headers={"Authorization": "Bearer  ${admin}"}, sample=NO_TOKEN,
        expect={"WWW-Authenticate": REALM}),
    Case("1", ("`Authorization: Bearer <token> trailing-junk`: only the first word is "
        "used"), "GET", "/auth/api/v1/user/me", None, 200, "application/json",
        headers={"Authorization": "Bearer ${admin} trailing-junk"}, sample=ADA_ME),
    Case("1", "bad scheme beats a valid cookie", "GET", "/auth/api/v1/user/me", None,
        400, "application/json", headers={"Authorization": "Token x",
        "Cookie": "middle_auth_token=${admin}"}, sample=BAD_HEADER,
        expect={"WWW-Authenticate": REALM_BAD_HEADER}),
    Case("1", ("`?middle_auth_token=` only (no programmatic header): 302 plus "
        "Set-Cookie"), "GET", "/auth/api/v1/user/me?middle_auth_token=${admin}&x=1",
        None, 302, "text/html",
        expect={"Location": "http://127.0.0.1:5055/auth/api/v1/user/me?x=1",
        "Set-Cookie": (
        "middle_auth_token=54b722d3c4e741a03d1d3bc6c06ee58d; Secure; HttpOnly; "
        "Path=/")}),
    Case("1", "same with `Accept: application/json`: still 302", "GET",
        "/auth/api/v1/user/me?middle_auth_token=${admin}", None, 302, "text/html",
        headers={"Accept": "application/json"},
        expect={"Location": "http://127.0.0.1:5055/auth/api/v1/user/me",
        "Set-Cookie": (
        "middle_auth_token=54b722d3c4e741a03d1d3bc6c06ee58d; Secure; HttpOnly; "
        "Path=/")}),
    Case("1", ("`?middle_auth_token=<invalid>` only: still 302 and sets that cookie "
        "(no check first)"), "GET", "/auth/api/v1/user/me?middle_auth_token=${invalid}",
        None, 302, "text/html",
        expect={"Location": "http://127.0.0.1:5055/auth/api/v1/user/me",
        "Set-Cookie": (
        "middle_auth_token=0123456789abcdef0123456789abcdef; Secure; HttpOnly; "
        "Path=/")}),
    Case("1", "`?middle_auth_token=` + `X-Requested-With`: accepted directly", "GET",
        "/auth/api/v1/user/me?middle_auth_token=${admin}", None, 200,
        "application/json", headers={"X-Requested-With": "XMLHttpRequest"},
        sample=ADA_ME),
    Case("1", "`?middle_auth_token=<invalid>` + `X-Requested-With`", "GET",
        "/auth/api/v1/user/me?middle_auth_token=${invalid}", None, 401,
        "application/json", headers={"X-Requested-With": "XMLHttpRequest"},
        sample=BAD_TOKEN, expect={"WWW-Authenticate": REALM_INVALID}),
    Case("1", "cookie `middle_auth_token` only (what the 302 above sets): accepted",
        "GET", "/auth/api/v1/user/me", None, 200, "application/json",
        headers={"Cookie": "middle_auth_token=${admin}"}, sample=ADA_ME),
    Case("1", "header wins over cookie: invalid Bearer + valid cookie", "GET",
        "/auth/api/v1/user/me", "invalid", 401, "application/json",
        headers={"Cookie": "middle_auth_token=${admin}"}, sample=BAD_TOKEN,
        expect={"WWW-Authenticate": REALM_INVALID}),
    Case("1", "header wins over query: valid Bearer + invalid `?middle_auth_token=`",
        "GET", "/auth/api/v1/user/me?middle_auth_token=${invalid}", "admin", 200,
        "application/json", sample=ADA_ME),
    Case("1", "`?token=` is not read", "GET", "/auth/api/v1/user/me?token=${admin}",
        None, 401, "application/json", headers={"X-Requested-With": "XMLHttpRequest"},
        sample=NO_TOKEN, expect={"WWW-Authenticate": REALM}),
    Case("1", "CORS preflight (OPTIONS) needs no token", "OPTIONS",
        "/auth/api/v1/user/me", None, 200, "text/html",
        headers={"Origin": "http://localhost:8000",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"}, text="",
        expect={"Allow": "HEAD, GET, OPTIONS", "Vary": "Origin",
        "Access-Control-Allow-Origin": "http://localhost:8000",
        "Access-Control-Allow-Headers": "authorization",
        "Access-Control-Allow-Methods": (
        "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT")}),
    Case("18", "superadmin-only route, non-admin: GET /auth/api/v1/service_account/3",
        "GET", "/auth/api/v1/service_account/3", "user", 403, "text/html",
        text="Requires superadmin privilege."),
    Case("18", "superadmin-only route, group admin", "GET",
        "/auth/api/v1/service_account/3", "group_admin", 403, "text/html",
        text="Requires superadmin privilege."),
    Case("18", "superadmin-only route, admin", "GET", "/auth/api/v1/service_account/3",
        "admin", 200, "application/json", sample=TESTBOT_ME),
]
# fmt: on


@pytest.mark.parametrize("case", case_params(CASES))
def test_conformance(case: Case, shared: FakeAuthServer) -> None:
    """Each stateless recorded case gets the recorded status, type, shape, headers."""
    check_case(case, shared)


def _request(query: str = "", **headers: str) -> AppRequest:
    url = "http://127.0.0.1:1/auth/api/v1/user/me" + ("?" + query if query else "")
    return AppRequest("GET", "/auth/api/v1/user/me", query, headers, b"", url)


def test_check_applies_each_guard_in_turn() -> None:
    """Login admits any known token; some_admin and superadmin refuse with 403."""
    seed = FakeSeed.default()
    backend = Backend(seed)
    user = _request(authorization="Bearer " + seed.named_tokens["user"])
    gail = _request(authorization="Bearer " + seed.named_tokens["group_admin"])
    caller = check("login", backend, user)
    assert isinstance(caller, Caller)
    assert caller.user.id == 2
    refused = check("some_admin", backend, user)
    assert isinstance(refused, AppResponse)
    assert (refused.status, refused.body) == (403, b"Requires admin privilege.")
    assert isinstance(check("some_admin", backend, gail), Caller)
    refused = check("superadmin", backend, gail)
    assert isinstance(refused, AppResponse)
    assert (refused.status, refused.body) == (403, b"Requires superadmin privilege.")


def test_lookup_bumps_last_used_of_api_keys_only() -> None:
    """An API key's last_used is set on use; login-style tokens have no row."""
    seed = FakeSeed.default()
    backend = Backend(seed)
    key = next(k for k in seed.api_keys if k.token == seed.named_tokens["admin"])
    assert key.last_used is None
    found = lookup(backend, key.token)
    assert found is not None
    assert found.key is key
    assert key.last_used is not None
    temp = lookup(backend, seed.named_tokens["temp"])
    assert temp is not None
    assert (temp.user.id, temp.key) == (2, None)
    assert lookup(backend, "f" * 32) is None


def test_query_token_moves_into_a_secure_cookie() -> None:
    """A browser's ?middle_auth_token= is a 302 without it, setting the cookie."""
    backend = Backend(FakeSeed.default())
    reply = authenticate(backend, _request("a=1&middle_auth_token=t0k&token=x"))
    assert isinstance(reply, AppResponse)
    assert reply.status == 302
    assert ("Location", "http://127.0.0.1:1/auth/api/v1/user/me?a=1") in reply.headers
    assert ("Set-Cookie", "middle_auth_token=t0k; Secure; HttpOnly; Path=/") in (
        reply.headers
    )


def test_a_dataset_admin_is_some_admin_but_no_superadmin() -> None:
    """A dataset admin passes the some_admin guard and is refused superadmin routes."""
    seed = FakeSeed.default()
    backend = Backend(seed)
    tina = _request(authorization="Bearer " + seed.named_tokens["dataset_admin"])
    assert isinstance(check("some_admin", backend, tina), Caller)
    refused = check("superadmin", backend, tina)
    assert isinstance(refused, AppResponse)
    assert refused.status == 403
    seed = FakeSeed.default()
    seed.datasets[0].admins = []
    plain = _request(authorization="Bearer " + seed.named_tokens["dataset_admin"])
    assert isinstance(check("some_admin", Backend(seed), plain), AppResponse)
