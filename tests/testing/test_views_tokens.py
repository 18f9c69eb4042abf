"""Tests of the fake server's views of API keys and login-style tokens.

Conformance cases of sections 2, 8, 9, 10, 11 and 18 (logout), and of sections 20
(token TTL) and 42 (``/logout``, ``/logout_all``) of the admin reference.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from cave_auth.testing import FakeAuthServer

from .conformance import (
    ADA_ME,
    BAD_TOKEN,
    DESC_121,
    NO_TOKEN,
    PAGE_404,
    PAGE_405,
    PAGE_500,
    REALM,
    REALM_INVALID,
    Case,
    bearer,
    case_params,
    check_case,
    check_sequence,
    fetch,
    token_vars,
)

# fmt: off
CASES: list[Case] = [
    Case("2", "admin", "GET", "/auth/api/v1/user/token", "admin", 200,
        "application/json", sample=('[{"created":"Sat, 28 Nov 2026 04:59:28 GMT",'
        '"description":"seed-token","id":2,'
        '"last_used":"Sat, 28 Nov 2026 04:59:46 GMT",'
        '"token":"54b722d3c4e741a03d1d3bc6c06ee58d",'
        '"updated":"Sat, 28 Nov 2026 04:59:46 GMT","user_id":1}]')),
    Case("2", "non-admin (two API keys)", "GET", "/auth/api/v1/user/token", "user", 200,
        "application/json", sample=('[{"created":"Sat, 28 Nov 2026 04:59:28 GMT",'
        '"description":"second seed token","id":6,"last_used":null,'
        '"token":"1947981fe617aa124144a7fdb532e335",'
        '"updated":"Sat, 28 Nov 2026 04:59:28 GMT","user_id":2},'
        '{"created":"Sat, 28 Nov 2026 04:59:28 GMT",'
        '"description":"seed-token","id":3,'
        '"last_used":"Sat, 28 Nov 2026 04:59:46 GMT",'
        '"token":"a51143b9ac1093e8ef17af837d69d653",'
        '"updated":"Sat, 28 Nov 2026 04:59:46 GMT","user_id":2}]'), fresh=True),
    Case("2", "service account (its key was made by create_account, description null)",
        "GET", "/auth/api/v1/user/token", "sa", 200, "application/json",
        sample=('[{"created":"Sat, 28 Nov 2026 04:59:28 GMT","description":null,'
        '"id":1,"last_used":"Sat, 28 Nov 2026 04:59:46 GMT",'
        '"token":"a8710cdf5a76e7292a800800999cd635",'
        '"updated":"Sat, 28 Nov 2026 04:59:46 GMT","user_id":3}]')),
    Case("2", "user with no API key (authenticated with a login-style token)", "GET",
        "/auth/api/v1/user/token", "nokey", 200, "application/json", sample="[]"),
    Case("2", "no token at all (plain curl, no extra headers)", "GET",
        "/auth/api/v1/user/token", None, 302, "text/html",
        expect={"Location": (
        "https://127.0.0.1:5055/sticky_auth/api/v1/authorize?redirect=http%3A//"
        "127.0.0.1%3A5055/auth/api/v1/user/token")}),
    Case("2", "no token, `X-Requested-With` set (programmatic)", "GET",
        "/auth/api/v1/user/token", None, 401, "application/json",
        headers={"X-Requested-With": "XMLHttpRequest"}, sample=NO_TOKEN,
        expect={"WWW-Authenticate": REALM}),
    Case("2", "invalid token", "GET", "/auth/api/v1/user/token", "invalid", 401,
        "application/json", sample=BAD_TOKEN,
        expect={"WWW-Authenticate": REALM_INVALID}),
    Case("2", "trailing slash", "GET", "/auth/api/v1/user/token/", "admin", 404,
        "text/html", text=PAGE_404),
    Case("8", "no token at all (plain curl, no extra headers)", "POST",
        "/auth/api/v1/user/token", None, 302, "text/html",
        headers={"Content-Type": "application/json"}, body='{"description": "x"}',
        expect={"Location": (
        "https://127.0.0.1:5055/sticky_auth/api/v1/authorize?redirect=http%3A//"
        "127.0.0.1%3A5055/auth/api/v1/user/token")}),
    Case("8", "no token, `X-Requested-With` set (programmatic)", "POST",
        "/auth/api/v1/user/token", None, 401, "application/json",
        headers={"X-Requested-With": "XMLHttpRequest",
        "Content-Type": "application/json"}, body='{"description": "x"}',
        sample=NO_TOKEN, expect={"WWW-Authenticate": REALM}),
    Case("8", "invalid token", "POST", "/auth/api/v1/user/token", "invalid", 401,
        "application/json", headers={"Content-Type": "application/json"},
        body='{"description": "x"}', sample=BAD_TOKEN,
        expect={"WWW-Authenticate": REALM_INVALID}),
    Case("9", "id 999999", "DELETE", "/auth/api/v1/user/token/999999", "admin", 404,
        "text/html", text="Token doesn't exist"),
    Case("9", "id `abc`", "DELETE", "/auth/api/v1/user/token/abc", "admin", 404,
        "text/html", text=PAGE_404),
    Case("9", "no token at all (plain curl, no extra headers)", "DELETE",
        "/auth/api/v1/user/token/9", None, 302, "text/html",
        expect={"Location": (
        "https://127.0.0.1:5055/sticky_auth/api/v1/authorize?redirect=http%3A//"
        "127.0.0.1%3A5055/auth/api/v1/user/token/9")}),
    Case("9", "no token, `X-Requested-With` set (programmatic)", "DELETE",
        "/auth/api/v1/user/token/9", None, 401, "application/json",
        headers={"X-Requested-With": "XMLHttpRequest"}, sample=NO_TOKEN,
        expect={"WWW-Authenticate": REALM}),
    Case("9", "invalid token", "DELETE", "/auth/api/v1/user/token/9", "invalid", 401,
        "application/json", sample=BAD_TOKEN,
        expect={"WWW-Authenticate": REALM_INVALID}),
    Case("10", "no token at all (plain curl, no extra headers)", "GET",
        "/auth/api/v1/create_token", None, 302, "text/html",
        expect={"Location": (
        "https://127.0.0.1:5055/sticky_auth/api/v1/authorize?redirect=http%3A//"
        "127.0.0.1%3A5055/auth/api/v1/create_token")}),
    Case("10", "no token, `X-Requested-With` set (programmatic)", "GET",
        "/auth/api/v1/create_token", None, 401, "application/json",
        headers={"X-Requested-With": "XMLHttpRequest"}, sample=NO_TOKEN,
        expect={"WWW-Authenticate": REALM}),
    Case("10", "invalid token", "GET", "/auth/api/v1/create_token", "invalid", 401,
        "application/json", sample=BAD_TOKEN,
        expect={"WWW-Authenticate": REALM_INVALID}),
    Case("10", "POST /auth/api/v1/create_token (route is GET-only)", "POST",
        "/auth/api/v1/create_token", "admin", 405, "text/html", text=PAGE_405,
        expect={"Allow": "HEAD, GET, OPTIONS"}),
    Case("11", "non-admin with two keys", "GET", "/auth/api/v1/refresh_token", "user",
        400, "text/html",
        text="Refresh token does not work for accounts with more than one API Key"),
    Case("11", "no token at all (plain curl, no extra headers)", "GET",
        "/auth/api/v1/refresh_token", None, 302, "text/html",
        expect={"Location": (
        "https://127.0.0.1:5055/sticky_auth/api/v1/authorize?redirect=http%3A//"
        "127.0.0.1%3A5055/auth/api/v1/refresh_token")}),
    Case("11", "no token, `X-Requested-With` set (programmatic)", "GET",
        "/auth/api/v1/refresh_token", None, 401, "application/json",
        headers={"X-Requested-With": "XMLHttpRequest"}, sample=NO_TOKEN,
        expect={"WWW-Authenticate": REALM}),
    Case("11", "invalid token", "GET", "/auth/api/v1/refresh_token", "invalid", 401,
        "application/json", sample=BAD_TOKEN,
        expect={"WWW-Authenticate": REALM_INVALID}),
    Case("18", "GET /auth/api/v1/logout with an API key", "GET", "/auth/api/v1/logout",
        "user", 422, "text/html", text="Can't logout an API Key."),
]

SEQUENCES: dict[str, list[Case]] = {
    "8": [
        Case("8", "admin, no body", "POST", "/auth/api/v1/user/token", "admin", 200,
            "application/json", sample='"0c2ae99e09ff26b68baa38840122926c"',
            save="new1"),
        Case("8", "admin, JSON body with Content-Type: application/json", "POST",
            "/auth/api/v1/user/token", "admin", 200, "application/json",
            headers={"Content-Type": "application/json"}, body='{"description": "x"}',
            sample='"4f1a365699947d71b5490bfc678b78f5"', save="new2"),
        Case("8",
            ("admin, same body with curl's default Content-Type (form): description "
            "dropped"), "POST", "/auth/api/v1/user/token", "admin", 200,
            "application/json",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            body='{"description": "no content-type"}',
            sample='"912397cdd7a09cd9c6066bca41d807b9"', save="new3"),
        Case("8", "admin, Content-Type json but invalid JSON", "POST",
            "/auth/api/v1/user/token", "admin", 200, "application/json",
            headers={"Content-Type": "application/json"}, body='{"description": ',
            sample='"24ef3ea7170d60e63a372697b8b1e6fc"', save="new4"),
        Case("8", "admin, description of 121 characters", "POST",
            "/auth/api/v1/user/token", "admin", 500, "text/html",
            headers={"Content-Type": "application/json"}, body=DESC_121, text=PAGE_500),
        Case("8", "admin, JSON body that is a list", "POST", "/auth/api/v1/user/token",
            "admin", 500, "text/html", headers={"Content-Type": "application/json"},
            body='["x"]', text=PAGE_500),
        Case("8", "non-admin, JSON body", "POST", "/auth/api/v1/user/token", "user",
            200, "application/json", headers={"Content-Type": "application/json"},
            body='{"description": "norm via POST"}',
            sample='"c92247e7c6327492a9117d5089c98978"', save="newu"),
        Case("8", "the new token works at once", "GET", "/auth/api/v1/user/me", "new2",
            200, "application/json", sample=ADA_ME),
        Case("8", "admin's list now (descriptions as stored)", "GET",
            "/auth/api/v1/user/token", "admin", 200, "application/json",
            sample=('[{"created":"Sat, 28 Nov 2026 04:59:48 GMT","description":null,'
            '"id":10,"last_used":null,"token":"24ef3ea7170d60e63a372697b8b1e6fc",'
            '"updated":"Sat, 28 Nov 2026 04:59:48 GMT","user_id":1},'
            '{"created":"Sat, 28 Nov 2026 04:59:48 GMT","description":null,"id":9,'
            '"last_used":null,"token":"912397cdd7a09cd9c6066bca41d807b9",'
            '"updated":"Sat, 28 Nov 2026 04:59:48 GMT","user_id":1},'
            '{"created":"Sat, 28 Nov 2026 04:59:48 GMT","description":"x","id":8,'
            '"last_used":"Sat, 28 Nov 2026 04:59:48 GMT",'
            '"token":"4f1a365699947d71b5490bfc678b78f5",'
            '"updated":"Sat, 28 Nov 2026 04:59:48 GMT","user_id":1},'
            '{"created":"Sat, 28 Nov 2026 04:59:48 GMT","description":null,"id":7,'
            '"last_used":null,"token":"0c2ae99e09ff26b68baa38840122926c",'
            '"updated":"Sat, 28 Nov 2026 04:59:48 GMT","user_id":1},'
            '{"created":"Sat, 28 Nov 2026 04:59:28 GMT",'
            '"description":"seed-token","id":2,'
            '"last_used":"Sat, 28 Nov 2026 04:59:48 GMT",'
            '"token":"54b722d3c4e741a03d1d3bc6c06ee58d",'
            '"updated":"Sat, 28 Nov 2026 04:59:48 GMT","user_id":1}]')),
    ],
    "9": [
        Case("9", "setup: the admin creates key NEW1 (as in §8)", "POST",
            "/auth/api/v1/user/token", "admin", 200, "application/json",
            sample='"0c2ae99e09ff26b68baa38840122926c"', save="new1"),
        Case("9", "setup: the admin creates key NEW2 (as in §8)", "POST",
            "/auth/api/v1/user/token", "admin", 200, "application/json",
            sample='"0c2ae99e09ff26b68baa38840122926c"', save="new2"),
        Case("9", "setup: the admin creates key NEW3 (as in §8)", "POST",
            "/auth/api/v1/user/token", "admin", 200, "application/json",
            sample='"0c2ae99e09ff26b68baa38840122926c"', save="new3"),
        Case("9", "admin deletes one of their keys", "DELETE",
            "/auth/api/v1/user/token/${new1_id}", "admin", 200, "application/json",
            sample='"success"'),
        Case("9", "same id again", "DELETE", "/auth/api/v1/user/token/${new1_id}",
            "admin", 404, "text/html", text="Token doesn't exist"),
        Case("9", "the deleted token no longer authenticates", "GET",
            "/auth/api/v1/user/me", "new1", 401, "application/json", sample=BAD_TOKEN,
            expect={"WWW-Authenticate": REALM_INVALID}),
        Case("9", "non-admin tries to delete the admin's key", "DELETE",
            "/auth/api/v1/user/token/${new3_id}", "user", 404, "text/html",
            text="Token doesn't exist"),
        Case("9",
            ("admin tries to delete the non-admin's key `$NORM_KEY_ID` (superadmin "
            "gets no exception)"), "DELETE", "/auth/api/v1/user/token/${norm_key_id}",
            "admin", 404, "text/html", text="Token doesn't exist"),
        Case("9", "key deletes itself (authenticated with the key being deleted)",
            "DELETE", "/auth/api/v1/user/token/${new2_id}", "new2", 200,
            "application/json", sample='"success"'),
        Case("9", "...then that key", "GET", "/auth/api/v1/user/me", "new2", 401,
            "application/json", sample=BAD_TOKEN,
            expect={"WWW-Authenticate": REALM_INVALID}),
        Case("9", "the token string instead of the id", "DELETE",
            "/auth/api/v1/user/token/${new3}", "admin", 404, "text/html",
            text=PAGE_404),
        Case("9", "GET on the same URL (method not allowed)", "GET",
            "/auth/api/v1/user/token/${new3_id}", "admin", 405, "text/html",
            text=PAGE_405, expect={"Allow": "DELETE, OPTIONS"}),
    ],
    "10": [
        Case("10", "admin", "GET", "/auth/api/v1/create_token", "admin", 200,
            "application/json", sample='"59bea529ef96cd48ec4675fafda88ab1"'),
        Case("10", "non-admin", "GET", "/auth/api/v1/create_token", "user", 200,
            "application/json", sample='"49bb4e61358a9b3d612591320441be70"'),
    ],
    "11": [
        Case("11", "user with exactly one key (Rita), listing before", "GET",
            "/auth/api/v1/user/token", "refresh", 200, "application/json",
            sample=('[{"created":"Sat, 28 Nov 2026 04:59:28 GMT",'
            '"description":"seed-token","id":5,'
            '"last_used":"Sat, 28 Nov 2026 04:59:49 GMT",'
            '"token":"9f35df9c4cf1139a9b47f40f128c2792",'
            '"updated":"Sat, 28 Nov 2026 04:59:49 GMT","user_id":5}]')),
        Case("11", "user with exactly one key: refresh", "GET",
            "/auth/api/v1/refresh_token", "refresh", 200, "application/json",
            sample='"dfa28a70cf4e67844ff50712bd6e42ce"', save="rita_new"),
        Case("11", "old token afterwards", "GET", "/auth/api/v1/user/me", "refresh",
            401, "application/json", sample=BAD_TOKEN,
            expect={"WWW-Authenticate": REALM_INVALID}),
        Case("11", "listing with the new token (same id, new token)", "GET",
            "/auth/api/v1/user/token", "rita_new", 200, "application/json",
            sample=('[{"created":"Sat, 28 Nov 2026 04:59:28 GMT",'
            '"description":"seed-token","id":5,'
            '"last_used":"Sat, 28 Nov 2026 04:59:49 GMT",'
            '"token":"dfa28a70cf4e67844ff50712bd6e42ce",'
            '"updated":"Sat, 28 Nov 2026 04:59:49 GMT","user_id":5}]')),
        Case("11", "user with no key (Tina, login-style token): a key is created",
            "GET", "/auth/api/v1/refresh_token", "nokey", 200, "application/json",
            sample='"94d6fd6903f879152afbb9a2aa621019"'),
        Case("11", "Tina's list afterwards", "GET", "/auth/api/v1/user/token", "nokey",
            200, "application/json",
            sample=('[{"created":"Sat, 28 Nov 2026 04:59:49 GMT","description":null,'
            '"id":14,"last_used":null,"token":"94d6fd6903f879152afbb9a2aa621019",'
            '"updated":"Sat, 28 Nov 2026 04:59:49 GMT","user_id":6}]')),
    ],
    "18": [
        Case("18", "GET /auth/api/v1/logout with a login-style token", "GET",
            "/auth/api/v1/logout", "temp", 200, "application/json", sample='"success"'),
        Case("18", "...that token afterwards", "GET", "/auth/api/v1/user/me", "temp",
            401, "application/json", sample=BAD_TOKEN,
            expect={"WWW-Authenticate": REALM_INVALID}),
    ],
}
# fmt: on


@pytest.mark.parametrize("case", case_params(CASES))
def test_conformance(case: Case, shared: FakeAuthServer) -> None:
    """Each stateless recorded case gets the recorded status, type, shape, headers."""
    check_case(case, shared)


@pytest.mark.parametrize("section", list(SEQUENCES))
def test_conformance_sequence(section: str, server: FakeAuthServer) -> None:
    """The recorded cases that change state replay in order on a fresh server."""
    check_sequence(SEQUENCES[section], server)


INVALID_TTL = (
    '{"error":"invalid_token",'
    '"message":"Token does not exist or is not asociated with your account."}'
)

# Admin reference, section 20: GET /user/token/<key>/ttl.
# fmt: off
TTL_CASES: list[Case] = [
    Case("20", "super admin, own API key", "GET", "/auth/api/v1/user/token/${admin}/ttl",
        "admin", 200, "application/json", text="-1\n"),
    Case("20", "plain user, own second API key (asked with the first)", "GET",
        "/auth/api/v1/user/token/${user2}/ttl", "user", 200, "application/json",
        text="-1\n"),
    Case("20", "plain user, the super admin's key", "GET",
        "/auth/api/v1/user/token/${admin}/ttl", "user", 404, "application/json",
        text=INVALID_TTL + "\n"),
    Case("20", "super admin, the plain user's key (no superadmin exception)", "GET",
        "/auth/api/v1/user/token/${user}/ttl", "admin", 404, "application/json",
        text=INVALID_TTL + "\n"),
    Case("20", "service account, own key", "GET", "/auth/api/v1/user/token/${sa}/ttl",
        "sa", 200, "application/json", text="-1\n"),
    Case("20", "unknown key", "GET", "/auth/api/v1/user/token/${invalid}/ttl", "admin",
        404, "application/json", text=INVALID_TTL + "\n"),
    Case("20", "no token, `X-Requested-With`", "GET",
        "/auth/api/v1/user/token/${admin}/ttl", None, 401, "application/json",
        headers={"X-Requested-With": "XMLHttpRequest"}, sample=NO_TOKEN,
        expect={"WWW-Authenticate": REALM}),
    Case("42", "POST /logout", "POST", "/auth/api/v1/logout", "temp", 405, "text/html",
        text=PAGE_405, expect={"Allow": "HEAD, GET, OPTIONS"}),
    Case("42", "POST /logout_all", "POST", "/auth/api/v1/logout_all", "refresh", 405,
        "text/html", text=PAGE_405, expect={"Allow": "HEAD, GET, OPTIONS"}),
    Case("42", "/logout_all, service account (nothing to delete)", "GET",
        "/auth/api/v1/logout_all", "sa", 200, "application/json", text='"success"\n'),
    Case("42", "/logout_all, no token, `X-Requested-With`", "GET",
        "/auth/api/v1/logout_all", None, 401, "application/json",
        headers={"X-Requested-With": "XMLHttpRequest"}, sample=NO_TOKEN,
        expect={"WWW-Authenticate": REALM}),
    Case("42", "/sticky_auth/api/v1/logout (same API on the sticky instance)", "GET",
        "/sticky_auth/api/v1/logout", "refresh", 422, "text/html",
        text="Can't logout an API Key."),
]
# fmt: on


@pytest.mark.parametrize("case", case_params(TTL_CASES))
def test_session_conformance(case: Case, shared: FakeAuthServer) -> None:
    """The recorded TTL and logout cases get the recorded answers."""
    check_case(case, shared)


@pytest.mark.parametrize("name", ["temp", "nokey"])
def test_ttl_of_an_own_login_token_counts_down_from_seven_days(
    name: str, shared: FakeAuthServer
) -> None:
    """A login-style token's TTL is the seconds left of its 7 days, as a bare int."""
    token = token_vars(shared)[name]
    reply = fetch(shared, "GET", f"/auth/api/v1/user/token/{token}/ttl", bearer(token))
    assert reply.status == 200
    assert 604800 - 60 < reply.json() <= 604800


def test_ttl_of_own_login_token_asked_with_an_api_key(shared: FakeAuthServer) -> None:
    """Norm's API key may ask for the TTL of Norm's login token, not Tina's."""
    own = f"/auth/api/v1/user/token/{shared.temp_token}/ttl"
    assert 0 < fetch(shared, "GET", own, bearer(shared.user_token)).json() <= 604800
    other = f"/auth/api/v1/user/token/{shared.nokey_temp_token}/ttl"
    reply = fetch(shared, "GET", other, bearer(shared.user_token))
    assert (reply.status, reply.text) == (404, INVALID_TTL + "\n")


def _login_token(server: FakeAuthServer, user_id: int) -> str:
    """A new login-style token for a user, through the authorize stand-in."""
    server.login_user_id = user_id
    reply = fetch(
        server,
        "GET",
        "/sticky_auth/api/v1/authorize?redirect=http://127.0.0.1:9/cb",
        {"X-Requested-With": "XMLHttpRequest"},
    )
    return parse_qs(urlsplit(reply.text).query)["middle_auth_token"][0]


def test_logout_and_logout_all_as_recorded(server: FakeAuthServer) -> None:
    """Section 42: /logout ends one login token, /logout_all all of them, keys stay."""
    values = token_vars(server)
    values.update({f"L{n}": _login_token(server, 5) for n in range(1, 4)})

    def step(method: str, path: str, token: str, status: int, body: str) -> None:
        reply = fetch(server, method, path, bearer(values[token]))
        assert (reply.status, reply.text) == (status, body), (path, token)

    ttl = "/auth/api/v1/user/token/${L1}/ttl"
    assert 0 < fetch(server, "GET", ttl.replace("${L1}", values["L1"]),
                     bearer(values["L1"])).json() <= 604800  # fmt: skip
    step("GET", "/auth/api/v1/logout", "refresh", 422, "Can't logout an API Key.")
    still = fetch(server, "GET", "/auth/api/v1/user/me", bearer(values["refresh"]))
    assert (still.status, still.json()["name"]) == (200, "Rita Refresh")
    step("GET", "/auth/api/v1/logout", "L1", 200, '"success"\n')
    step("GET", "/auth/api/v1/user/me", "L1", 401, BAD_TOKEN + "\n")
    step("GET", "/auth/api/v1/logout", "L1", 401, BAD_TOKEN + "\n")
    assert (
        fetch(server, "GET", "/auth/api/v1/user/me", bearer(values["L2"])).status == 200
    )
    step("GET", "/auth/api/v1/logout_all", "refresh", 200, '"success"\n')
    for gone in ("L2", "L3"):
        step("GET", "/auth/api/v1/user/me", gone, 401, BAD_TOKEN + "\n")
    refresh_ttl = f"/auth/api/v1/user/token/{values['refresh']}/ttl"
    step("GET", refresh_ttl, "refresh", 200, "-1\n")
    values["L4"] = _login_token(server, 5)
    step("GET", "/auth/api/v1/logout_all", "L4", 200, '"success"\n')
    step("GET", "/auth/api/v1/user/me", "L4", 401, BAD_TOKEN + "\n")
    # Other users' login tokens are untouched.
    assert (
        fetch(server, "GET", "/auth/api/v1/user/me", bearer(values["temp"])).status
        == 200
    )


def test_an_expired_login_token_is_gone(server: FakeAuthServer) -> None:
    """After its 7 days a login-style token no longer authenticates."""
    backend = server._app.backend
    backend.login_expiry[server.temp_token] -= timedelta(days=8)
    reply = fetch(server, "GET", "/auth/api/v1/user/me", bearer(server.temp_token))
    assert reply.status == 401
    assert server.temp_token not in backend.login_tokens
