"""Tests of the fake server's HTML pages: token page, login start, ToS form.

Conformance cases of sections 15 and 17 (the ToS form and its acceptance).
"""

from __future__ import annotations

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
    case_params,
    check_case,
    check_sequence,
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
