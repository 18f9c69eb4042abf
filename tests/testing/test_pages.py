"""Tests of the fake server's HTML pages: token page, login, ToS form.

Conformance cases of sections 15 and 17 (the ToS form and its acceptance), and of
section 43 of the admin reference (the login that stands in for Google).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from cave_auth.testing import FakeAuthServer

from .conformance import (
    BAD_TOKEN,
    BROWSER,
    NO_TOKEN,
    PAGE_404,
    PAGE_500,
    REALM,
    REALM_INVALID,
    Case,
    Reply,
    bearer,
    case_params,
    check_case,
    check_sequence,
    fetch,
    flask_redirect_page,
)

# fmt: off
CASES: list[Case] = [
    Case("15", "/auth/settings/tokens, admin token", "GET", "/auth/settings/tokens",
        "admin", 404, "text/html", text=PAGE_404),
    Case("15", "/auth/settings/tokens, no token", "GET", "/auth/settings/tokens", None,
        404, "text/html", text=PAGE_404),
    Case("15", "/sticky_auth/settings/tokens, non-admin token in header", "GET",
        "/sticky_auth/settings/tokens", "user", 200, "text/html",
        contains=("<span>Norm User - norm@example.org</span",
        "<div><span>token: ${user2}</span></div>", 'data-token-id="6"',
        "<div><span>token: ${user}</span></div>", 'data-token-id="3"',
        "token: tokenValue,", 'middle_auth_url: "127.0.0.1:5055/auth",',
        '"127.0.0.1:5055/auth-cave-secret.json"')),
    Case("15", "/sticky_auth/settings/tokens, cookie (browser after login)", "GET",
        "/sticky_auth/settings/tokens", None, 200, "text/html",
        headers={"Cookie": "middle_auth_token=${user}", **BROWSER},
        contains=("<span>Norm User - norm@example.org</span",
        "<div><span>token: ${user2}</span></div>", 'data-token-id="6"',
        "<div><span>token: ${user}</span></div>", 'data-token-id="3"',
        "token: tokenValue,", 'middle_auth_url: "127.0.0.1:5055/auth",',
        '"127.0.0.1:5055/auth-cave-secret.json"')),
    Case("15", "/sticky_auth/settings/tokens, browser, no token", "GET",
        "/sticky_auth/settings/tokens", None, 302, "text/html", headers=BROWSER,
        expect={"Location": (
        "https://127.0.0.1:5055/sticky_auth/api/v1/authorize?redirect=http%3A//"
        "127.0.0.1%3A5055/sticky_auth/settings/tokens")}),
    Case("15", "/sticky_auth/settings/tokens?middle_auth_token=..., browser", "GET",
        "/sticky_auth/settings/tokens?middle_auth_token=${user}", None, 302,
        "text/html", headers=BROWSER,
        expect={"Location": "http://127.0.0.1:5055/sticky_auth/settings/tokens",
        "Set-Cookie": (
        "middle_auth_token=a51143b9ac1093e8ef17af837d69d653; Secure; HttpOnly; "
        "Path=/")}),
    Case("15", "/sticky_auth/settings/tokens, no token + X-Requested-With", "GET",
        "/sticky_auth/settings/tokens", None, 401, "application/json",
        headers={"X-Requested-With": "XMLHttpRequest"}, sample=NO_TOKEN,
        expect={"WWW-Authenticate": REALM}),
    Case("15", "/sticky_auth/settings/tokens, invalid token", "GET",
        "/sticky_auth/settings/tokens", "invalid", 401, "application/json",
        sample=BAD_TOKEN, expect={"WWW-Authenticate": REALM_INVALID}),
    Case("15", "the API under the sticky prefix: /sticky_auth/api/v1/user/token", "GET",
        "/sticky_auth/api/v1/user/token", "sa", 200, "application/json",
        sample=('[{"created":"Sat, 28 Nov 2026 04:59:28 GMT","description":null,'
        '"id":1,"last_used":"Sat, 28 Nov 2026 04:59:49 GMT",'
        '"token":"a8710cdf5a76e7292a800800999cd635",'
        '"updated":"Sat, 28 Nov 2026 04:59:49 GMT","user_id":3}]')),
    Case("15", "/auth/api/v1/authorize (not registered without STICKY_AUTH)", "GET",
        "/auth/api/v1/authorize", None, 404, "text/html", text=PAGE_404),
    Case("17", "ToS form: GET /sticky_auth/api/v1/tos/2/accept (non-admin)", "GET",
        "/sticky_auth/api/v1/tos/2/accept", "user", 200, "text/html",
        contains=("<h2>Test ToS's Terms of Service</h2>",
        "Before you can access Test ToS, you need to accept its Terms of",
        '<form\n      id="form"\n      action="accept"\n      method="POST"',
        ('<label for="checkbox-1"><p>By using <strong>test_tos_ds</strong> you '
        "agree to nothing at all.</p></label>"),
        ('<button id="register" class="mdc-button mdc-button--unelevated" '
        "disabled>")),
        like={"Set-Cookie": (
        "session=DdbFXnQHpRnvUuzvNb9HyueNwGt8PgzQsLC3DVyhMxc; Expires=Tue, 29 "
        "Dec 2026 04:59:50 GMT; HttpOnly; Path=/")}, expect={"Vary": "Cookie"}),
    Case("17", "ToS form for an unknown ToS id", "GET",
        "/sticky_auth/api/v1/tos/999/accept", "user", 404, "text/html",
        text="Terms of Service does not exist",
        like={"Set-Cookie": (
        "session=WJxHOpMiDAePODoUPqSATmP7jYc9XKjM7_adivLutkE; Expires=Tue, 29 "
        "Dec 2026 04:59:50 GMT; HttpOnly; Path=/")}, expect={"Vary": "Cookie"}),
]

# With no user to sign in, /authorize answers as recorded: a 302 to Google.
GOOGLE_CASES: list[Case] = [
    Case("15", ("/sticky_auth/api/v1/authorize (where 302s point; redirect to Google, "
        "not followed)"), "GET",
        "/sticky_auth/api/v1/authorize?redirect=http://127.0.0.1/x", None, 302,
        "text/html",
        like={"Location": (
        "https://accounts.google.com/o/oauth2/auth?response_type=code&"
        "client_id=dummy-client-id.apps.googleusercontent.com&"
        "redirect_uri=https%3A%2F%2F127.0.0.1%3A5055%2Fsticky_auth%2Fapi%2Fv1%2"
        "Foauth2callback&scope=openid+https%3A%2F%2Fwww.googleapis.com%2Fauth%2"
        "Fuserinfo.email+https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fuserinfo.pro"
        "file&state=l0Gnhf4ia6molYOnTKXqA5WVjhhb3R&access_type=offline&"
        "include_granted_scopes=true&prompt=consent"),
        "Set-Cookie": (
        "session=NWU-8SwnP21p6wceqgCrzOmnAt3Dkm_1NwiGDOLOyZM; Expires=Tue, 29 "
        "Dec 2026 04:59:49 GMT; HttpOnly; Path=/")}, expect={"Vary": "Cookie"}),
    Case("15", ("/sticky_auth/api/v1/authorize with `X-Requested-With`: the Google URL "
        "as a text body"), "GET", "/sticky_auth/api/v1/authorize", None, 200,
        "text/html", headers={"X-Requested-With": "XMLHttpRequest"},
        body_like=("https://accounts.google.com/o/oauth2/auth?response_type=code&"
        "client_id=dummy-client-id.apps.googleusercontent.com&"
        "redirect_uri=https%3A%2F%2F127.0.0.1%3A5055%2Fsticky_auth%2Fapi%2Fv1%2"
        "Foauth2callback&scope=openid+https%3A%2F%2Fwww.googleapis.com%2Fauth%2"
        "Fuserinfo.email+https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fuserinfo.pro"
        "file&state=ufHoQ3mQI0rVcs7iGsXA5fEDYu5SpF&access_type=offline&"
        "include_granted_scopes=true&prompt=consent"),
        like={"Set-Cookie": (
        "session=rrA2rWSWWfCPeyxqc0nJ6JOEfyatieEEiTM77OBUKBQ; Expires=Tue, 29 "
        "Dec 2026 04:59:49 GMT; HttpOnly; Path=/")}, expect={"Vary": "Cookie"}),
]

SEQUENCES: dict[str, list[Case]] = {
    "17": [
        Case("17", ("accept it: POST /sticky_auth/api/v1/tos/2/accept (Gail). 500 = "
            "`TemplateNotFound: msg.html` (the template is msg.jinja), raised "
            "after the acceptance was committed"), "POST",
            "/sticky_auth/api/v1/tos/2/accept", "group_admin", 500, "text/html",
            text=PAGE_500),
        Case("17", "...afterwards Gail passes", "GET", "/tosdemo/test_tos_ds/view",
            "group_admin", 200, "application/json",
            sample=(
            '{"datastack":"test_tos_ds","ok":true,"permission":"view","user_id":4}')),
        Case("17", "...and POST again", "POST", "/sticky_auth/api/v1/tos/2/accept",
            "group_admin", 200, "text/html",
            contains=("<h2>Test ToS's Terms of Service</h1>",
            "<span>You have already accepted the Terms of Service</span>")),
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


@pytest.fixture(scope="module")
def google() -> Iterator[FakeAuthServer]:
    """A server with nobody to sign in: /authorize sends browsers to Google."""
    with FakeAuthServer(login_user_id=None) as server:
        yield server


@pytest.mark.parametrize("case", case_params(GOOGLE_CASES))
def test_conformance_without_a_login_user(case: Case, google: FakeAuthServer) -> None:
    """Without a user to sign in, /authorize answers the recorded 302 to Google."""
    check_case(case, google)


RECORDED_LOGIN_PAGE = """<script type="text/javascript">
        if (window.opener) {
            window.opener.postMessage({"token": "2a6aaf0289045037405007e69dd67dba", \
"app_urls": ["https://neuroglancer.example.org", "http://127.0.0.1:9999"]}, "*");
        }
        </script>"""
AUTHORIZE = "/sticky_auth/api/v1/authorize"
HEX32 = re.compile(r"[0-9a-f]{32}")


def _authorize(server: FakeAuthServer, redirect: str, **headers: str) -> Reply:
    return fetch(server, "GET", f"{AUTHORIZE}?redirect={quote(redirect)}", headers)


def test_login_redirects_home_with_a_new_login_token(server: FakeAuthServer) -> None:
    """/authorize 302s to the redirect with the token merged in, state kept."""
    reply = _authorize(server, "http://127.0.0.1:9999/cb?state=abc")
    assert reply.status == 302
    location = reply.headers["Location"]
    match = re.fullmatch(
        r"http://127\.0\.0\.1:9999/cb\?state=abc&middle_auth_token=(?P<t>\w+)"
        rf"&middle_auth_url=127\.0\.0\.1:{server.port}/sticky_auth&token=(?P<u>\w+)",
        location,
    )
    assert match is not None, location
    token = match["t"]
    assert HEX32.fullmatch(token)
    assert match["u"] == token
    assert reply.text == flask_redirect_page(location)
    cookies = reply.headers.get_all("Set-Cookie") or []
    assert f"middle_auth_token={token}; Secure; HttpOnly; Path=/" in cookies
    assert any(c.startswith("session=") for c in cookies)
    me = fetch(server, "GET", "/auth/api/v1/user/me", bearer(token))
    assert me.json()["name"] == "Norm User"
    listed = fetch(server, "GET", "/auth/api/v1/user/token", bearer(token)).json()
    assert token not in {key["token"] for key in listed}
    ttl = fetch(server, "GET", f"/auth/api/v1/user/token/{token}/ttl", bearer(token))
    assert 604800 - 60 < ttl.json() <= 604800
    assert fetch(server, "GET", "/auth/api/v1/logout", bearer(token)).status == 200
    assert fetch(server, "GET", "/auth/api/v1/user/me", bearer(token)).status == 401


def test_login_replaces_same_name_parameters_in_place_and_keeps_the_fragment(
    server: FakeAuthServer,
) -> None:
    """As yarl's update_query: a repeated name is replaced once, in place."""
    reply = _authorize(server, "http://h.example/cb?token=old&a=1&token=x&b=%20#frag")
    location = reply.headers["Location"]
    token = location.split("token=")[1].split("&")[0]
    assert location == (
        f"http://h.example/cb?token={token}&a=1&b=%20&middle_auth_token={token}"
        f"&middle_auth_url=127.0.0.1:{server.port}/sticky_auth#frag"
    )


def test_login_user_is_chosen_by_the_server(server: FakeAuthServer) -> None:
    """login_user_id decides whose token the login hands out."""
    server.login_user_id = 6
    reply = _authorize(server, "http://127.0.0.1:1/cb")
    token = reply.headers["Location"].split("middle_auth_token=")[1].split("&")[0]
    me = fetch(server, "GET", "/auth/api/v1/user/me", bearer(token))
    assert me.json()["name"] == "Tina Tokenless"
    assert FakeAuthServer(login_user_id=4).login_user_id == 4


def test_login_with_x_requested_with_answers_the_url_as_text(
    server: FakeAuthServer,
) -> None:
    """Programmatic callers get the URL as a 200 text body, not a 302."""
    reply = _authorize(
        server,
        "http://127.0.0.1:1/cb",
        **{"X-Requested-With": "XMLHttpRequest", "Origin": "http://localhost:8000"},
    )
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    assert reply.text.startswith("http://127.0.0.1:1/cb?middle_auth_token=")
    assert reply.headers["Access-Control-Allow-Credentials"] == "true"
    assert reply.headers["Access-Control-Allow-Origin"] == "http://localhost:8000"


def test_login_without_redirect_is_the_recorded_post_message_page(
    server: FakeAuthServer,
) -> None:
    """No redirect: the byte-exact page that posts the token to window.opener."""
    reply = fetch(server, "GET", AUTHORIZE)
    assert reply.status == 200
    token = HEX32.search(reply.text)
    assert token is not None
    assert len(RECORDED_LOGIN_PAGE) == 254
    recorded = RECORDED_LOGIN_PAGE.replace("2a6aaf0289045037405007e69dd67dba", token[0])
    assert reply.text == recorded
    me = fetch(server, "GET", "/auth/api/v1/user/me", bearer(token[0]))
    assert me.status == 200


def test_login_with_tos_id_loses_the_redirect(server: FakeAuthServer) -> None:
    """tos_id sends the browser to the ToS form; the token is only in the cookie."""
    path = f"{AUTHORIZE}?redirect={quote('http://127.0.0.1:1/cb')}&tos_id=2"
    reply = fetch(server, "GET", path)
    assert reply.status == 302
    assert reply.headers["Location"] == "/sticky_auth/api/v1/tos/2/accept"
    cookie = reply.headers.get_all("Set-Cookie")[0]
    assert HEX32.fullmatch(cookie.split(";")[0].removeprefix("middle_auth_token="))


def test_login_is_not_on_the_auth_instance(server: FakeAuthServer) -> None:
    """/auth/api/v1/authorize is a 404 even with a redirect."""
    reply = fetch(
        server, "GET", "/auth/api/v1/authorize?redirect=http://127.0.0.1:9/cb"
    )
    assert reply.status == 404
