"""Tests of ``cave_auth._fakeserver`` with the standard library's HTTP clients only.

The conformance test replays the cases recorded against the real middle_auth server
(``middle_auth-api.md``; ``section`` and ``name`` below are that file's section
numbers and case titles).  Request and expected response are pasted from the
recording: tokens and the recording's ``127.0.0.1:5055`` are mapped to this server's,
JSON bodies are compared by shape (key sets and type names, recursively; error
objects exactly), short text bodies and headers exactly.  Cases that change the
server's state are replayed in order on a fresh server (``SEQUENCES``).
"""

from __future__ import annotations

import html
import http.client
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from string import Template
from typing import Any
from urllib.parse import quote

import pytest

from cave_auth.testing import (
    INVALID_TOKEN,
    FakeApiKey,
    FakeAuthServer,
    FakeGroup,
    FakeMembership,
    FakeSeed,
    FakeUser,
)

REC_NETLOC = "127.0.0.1:5055"
# The recording's tokens, by the name this test file uses for them.
REC_TOKENS = {
    "54b722d3c4e741a03d1d3bc6c06ee58d": "admin",
    "a51143b9ac1093e8ef17af837d69d653": "user",
    "1947981fe617aa124144a7fdb532e335": "user2",
    "423a9cd2ffcbe03b73e6c17ed3fca838": "temp",
    "a8710cdf5a76e7292a800800999cd635": "sa",
    "e7653b0d07087ac2dd63b51acf458ea8": "group_admin",
    "9f35df9c4cf1139a9b47f40f128c2792": "refresh",
    "047996343fae98152ac3a4eb5b956f52": "nokey",
}
BROWSER = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0",
}
EXPOSE = "WWW-Authenticate, X-Requested-With"
DESC_121 = '{"description": "' + "d" * 121 + '"}'

NO_TOKEN = '{"error":"no_token","message":"Unauthorized - No Token Provided"}'
BAD_TOKEN = (
    '{"error":"invalid_token","message":"Unauthorized - Token is Invalid or Expired"}'
)
BAD_HEADER = (
    '{"error":"bad_auth_header",'
    '"message":"Authorization header must begin with \'Bearer\'"}'
)
REALM = 'Bearer realm="https://127.0.0.1:5055/sticky_auth/api/v1/authorize"'
REALM_INVALID = (
    REALM + ', error="invalid_token", error_description="Invalid/Expired Token"'
)
REALM_BAD_HEADER = (
    REALM + ', error="invalid_request", error_description="Header must begin with '
    "'Bearer'\""
)
PAGE_404 = (
    "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n"
    "<h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you "
    "entered the URL manually please check your spelling and try again.</p>\n"
)
PAGE_405 = (
    "<!doctype html>\n<html lang=en>\n<title>405 Method Not Allowed</title>\n"
    "<h1>Method Not Allowed</h1>\n<p>The method is not allowed for the requested "
    "URL.</p>\n"
)
PAGE_500 = (
    "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n"
    "<h1>Internal Server Error</h1>\n<p>The server encountered an internal error and "
    "was unable to complete your request. Either the server is overloaded or there "
    "is an error in the application.</p>\n"
)
# Parts of recorded values that are random on every request.
_VARYING = re.compile(
    r"(?<=state=)(?P<state>[A-Za-z0-9]+)"
    r"|(?<=session=)(?P<session>[\w-]+)"
    r"|(?<=Expires=)(?P<expires>[^;]+)"
)
_VARYING_PATTERNS = {
    "state": r"[A-Za-z0-9]{30}",
    "session": r"[\w-]+",
    "expires": r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT",
}


@dataclass(frozen=True)
class Case:
    """One recorded request and what the real server answered.

    The first seven fields are given positionally in the tables below.

    ``token`` names the token sent as ``Authorization: Bearer`` (``None``: no
    header); ``${name}`` in ``path``, ``headers`` and ``contains`` is replaced by a
    token or by a value saved earlier in a sequence.  ``sample`` is the recorded
    JSON body (its text), ``text`` the recorded non-JSON body, ``contains`` recorded fragments
    of a long HTML body, ``expect`` recorded headers, ``like`` recorded headers
    with random parts (OAuth state, session cookie), ``body_like`` likewise for the
    body.  ``save`` stores the JSON string answered (a new token) under that name,
    and its key id under ``<name>_id``.
    """

    section: str
    name: str
    method: str
    path: str
    token: str | None
    status: int
    ctype: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    sample: str | None = None
    text: str | None = None
    contains: tuple[str, ...] = ()
    expect: dict[str, str] = field(default_factory=dict)
    like: dict[str, str] = field(default_factory=dict)
    body_like: str | None = None
    fresh: bool = False
    save: str | None = None


@dataclass
class Reply:
    """What came back for one request."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        """The body as text."""
        return self.body.decode()

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


def fetch(
    server: FakeAuthServer,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: str | bytes | None = None,
) -> Reply:
    """Send one request on a new connection; redirects are not followed."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return Reply(response.status, response.msg, response.read())
    finally:
        conn.close()


def bearer(token: str) -> dict[str, str]:
    """An ``Authorization`` header."""
    return {"Authorization": "Bearer " + token}


def token_vars(server: FakeAuthServer) -> dict[str, str]:
    """Token names used by the cases -> this server's tokens."""
    return {
        "admin": server.admin_token,
        "user": server.user_token,
        "user2": server.user_token2,
        "temp": server.temp_token,
        "sa": server.service_account_token,
        "group_admin": server.group_admin_token,
        "refresh": server.refresh_user_token,
        "nokey": server.nokey_temp_token,
        "invalid": INVALID_TOKEN,
        "norm_key_id": "3",
    }


def localize(recorded: str, server: FakeAuthServer) -> str:
    """Map the recording's address and tokens to this server's."""
    netloc = f"127.0.0.1:{server.port}"
    out = recorded.replace(REC_NETLOC, netloc)
    out = out.replace(quote(REC_NETLOC, safe=""), quote(netloc, safe=""))
    tokens = token_vars(server)
    for rec, name in REC_TOKENS.items():
        out = out.replace(rec, tokens[name])
    return out


def like(recorded: str, server: FakeAuthServer) -> re.Pattern[str]:
    """A pattern for a recorded value whose random parts may differ."""
    recorded = localize(recorded, server)
    pieces, pos = [], 0
    for match in _VARYING.finditer(recorded):
        pieces.append(re.escape(recorded[pos : match.start()]))
        pieces.append(_VARYING_PATTERNS[match.lastgroup or ""])
        pos = match.end()
    pieces.append(re.escape(recorded[pos:]))
    return re.compile("".join(pieces))


def shape(value: Any) -> Any:
    """Key sets and type names of a JSON value, recursively."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


def flask_redirect_page(location: str) -> str:
    """The body of ``flask.redirect(location)``."""
    escaped = html.escape(location)
    return (
        "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n"
        "<h1>Redirecting...</h1>\n<p>You should be redirected automatically to the "
        f'target URL: <a href="{escaped}">{escaped}</a>. If not, click the link.\n'
    )


def replay(server: FakeAuthServer, case: Case, values: dict[str, str]) -> Reply:
    """Send a case's request and check the answer against the recording."""
    where = f"§{case.section} {case.name}"
    headers = {k: Template(v).substitute(values) for k, v in case.headers.items()}
    if case.token is not None:
        headers["Authorization"] = "Bearer " + values[case.token]
    path = Template(case.path).substitute(values)
    reply = fetch(server, case.method, path, headers, case.body)

    assert reply.status == case.status, where
    ctype = reply.headers.get("Content-Type", "")
    assert ctype.startswith(case.ctype), where
    full = "application/json" if case.ctype == "application/json" else None
    assert ctype == (full or "text/html; charset=utf-8"), where
    if case.sample is not None:
        assert reply.body.endswith(b"\n"), where
        expected = json.loads(localize(case.sample, server))
        assert shape(reply.json()) == shape(expected), where
        if isinstance(expected, dict) and "error" in expected:
            assert reply.json() == expected, where
    if case.text is not None:
        assert reply.text == localize(case.text, server), where
    for fragment in case.contains:
        wanted = localize(Template(fragment).substitute(values), server)
        assert wanted in reply.text, (where, fragment)
    if case.body_like is not None:
        assert like(case.body_like, server).fullmatch(reply.text), where
    for name, value in case.expect.items():
        assert reply.headers.get(name) == localize(value, server), (where, name)
    for name, value in case.like.items():
        assert like(value, server).fullmatch(reply.headers.get(name, "")), where
    if case.status == 302:
        assert reply.text == flask_redirect_page(reply.headers["Location"]), where
    if case.path.startswith("/tosdemo/"):  # not middle_auth: no flask-cors there
        assert reply.headers.get("Access-Control-Allow-Origin") is None, where
    else:
        origin = case.expect.get("Access-Control-Allow-Origin", "*")
        assert reply.headers.get("Access-Control-Allow-Origin") == origin, where
        assert reply.headers.get("Access-Control-Expose-Headers") == EXPOSE, where
    if case.save is not None:
        token = reply.json()
        values[case.save] = token
        listing = fetch(server, "GET", "/auth/api/v1/user/token", headers)
        if listing.status != 200:  # the creator's token was replaced (refresh)
            listing = fetch(server, "GET", "/auth/api/v1/user/token", bearer(token))
        ids = [k["id"] for k in listing.json() if k["token"] == token]
        values[case.save + "_id"] = str(ids[0]) if ids else "0"
    return reply


ADA_ME = (
    '{"admin":true,"admin_datasets":[],"affiliations":[[{"id":1,'
    '"name":"Test Institute","start":"2026-11-28T04:59:28.770702"}]],'
    '"created":"Sat, 28 Nov 2026 04:59:27 GMT","email":"ada@example.org",'
    '"gdpr_consent":false,"id":1,"name":"Ada Admin","pi":"PI Ada",'
    '"service_account":false}'
)
NORM_ME = (
    '{"admin":false,"admin_datasets":[],"affiliations":[[]],'
    '"created":"Sat, 28 Nov 2026 04:59:28 GMT","email":"norm@example.org",'
    '"gdpr_consent":false,"id":2,"name":"Norm User","pi":"PI Norm",'
    '"service_account":false}'
)
TESTBOT_ME = (
    '{"admin":false,"admin_datasets":[],"affiliations":[[]],'
    '"created":"Sat, 28 Nov 2026 04:59:28 GMT",'
    '"email":"testbot@serviceaccount","gdpr_consent":false,"id":3,'
    '"name":"testbot","parent":{"affiliations":[[{"id":1,'
    '"name":"Test Institute","start":"2026-11-28T04:59:28.770702"}]],'
    '"created":"Sat, 28 Nov 2026 04:59:27 GMT","id":1,"name":"Ada Admin",'
    '"pi":"PI Ada","service_account":false},"parent_id":1,"pi":"",'
    '"service_account":true}'
)
USERS_1_2_FULL = (
    '[{"admin":true,"admin_datasets":[],"affiliations":[[{"id":1,'
    '"name":"Test Institute","start":"2026-11-28T04:59:28.770702"}]],'
    '"created":"Sat, 28 Nov 2026 04:59:27 GMT","email":"ada@example.org",'
    '"gdpr_consent":false,"id":1,"name":"Ada Admin","pi":"PI Ada",'
    '"service_account":false},{"admin":false,"admin_datasets":[],'
    '"affiliations":[[]],"created":"Sat, 28 Nov 2026 04:59:28 GMT",'
    '"email":"norm@example.org","gdpr_consent":false,"id":2,'
    '"name":"Norm User","pi":"PI Norm","service_account":false}]'
)
GROUP_2_MEMBERS = (
    '[{"admin":true,"id":1,"name":"Ada Admin"},{"admin":false,"id":2,'
    '"name":"Norm User"},{"admin":true,"id":4,"name":"Gail Groupadmin"}]'
)
ADA_CACHE = (
    '{"admin":true,"affiliations":[[{"id":1,"name":"Test Institute",'
    '"start":"2026-11-28T04:59:28.770702"}]],"datasets_admin":[],'
    '"email":"ada@example.org","groups":["default","testgroup"],'
    '"groups_admin":["testgroup"],"id":1,"missing_tos":[],'
    '"name":"Ada Admin","parent_id":null,"permissions":{"test_ds":2,'
    '"test_tos_ds":1},"permissions_v2":{"test_ds":["edit","view"],'
    '"test_tos_ds":["view"]},"permissions_v2_ignore_tos":{"test_ds":["edit"'
    ',"view"],"test_tos_ds":["view"]},"pi":"PI Ada",'
    '"service_account":false}'
)
NORM_CACHE = (
    '{"admin":false,"affiliations":[[]],"datasets_admin":[],'
    '"email":"norm@example.org","groups":["default","testgroup"],'
    '"groups_admin":[],"id":2,"missing_tos":[{"dataset_id":2,'
    '"dataset_name":"test_tos_ds","tos_id":2,"tos_name":"Test ToS"}],'
    '"name":"Norm User","parent_id":null,"permissions":{"test_ds":2},'
    '"permissions_v2":{"test_ds":["view","edit"]},'
    '"permissions_v2_ignore_tos":{"test_ds":["view","edit"],'
    '"test_tos_ds":["view"]},"pi":"PI Norm","service_account":false}'
)
TESTBOT_CACHE = (
    '{"admin":false,"affiliations":[[]],"datasets_admin":[],'
    '"email":"testbot@serviceaccount","groups":["default","testgroup"],'
    '"groups_admin":[],"id":3,"missing_tos":[],"name":"testbot",'
    '"parent_id":1,"permissions":{"test_ds":2,"test_tos_ds":1},'
    '"permissions_v2":{"test_ds":["view","edit"],"test_tos_ds":["view"]},'
    '"permissions_v2_ignore_tos":{"test_ds":["view","edit"],'
    '"test_tos_ds":["view"]},"pi":"","service_account":true}'
)
NAMES_1_2 = '[{"id":1,"name":"Ada Admin"},{"id":2,"name":"Norm User"}]'
GROUPS_1_2 = '[{"id":1,"name":"default"},{"id":2,"name":"testgroup"}]'

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
    Case("3", "admin, id=1,2", "GET", "/auth/api/v1/user?id=1,2", "admin", 200,
        "application/json", sample=USERS_1_2_FULL),
    Case("3", "service account, id=1,2 (gets the full record)", "GET",
        "/auth/api/v1/user?id=1,2", "sa", 200, "application/json",
        sample=USERS_1_2_FULL),
    Case("3", "group admin (not superadmin), id=1,2: short record", "GET",
        "/auth/api/v1/user?id=1,2", "group_admin", 200, "application/json",
        sample=('[{"affiliations":[[{"id":1,"name":"Test Institute",'
        '"start":"2026-11-28T04:59:28.770702"}]],'
        '"created":"Sat, 28 Nov 2026 04:59:27 GMT","id":1,"name":"Ada Admin",'
        '"pi":"PI Ada","service_account":false},{"affiliations":[[]],'
        '"created":"Sat, 28 Nov 2026 04:59:28 GMT","id":2,"name":"Norm User",'
        '"pi":"PI Norm","service_account":false}]')),
    Case("3", "non-admin, id=1,2", "GET", "/auth/api/v1/user?id=1,2", "user", 403,
        "text/html", text="Requires admin privilege."),
    Case("3", "no token at all (plain curl, no extra headers)", "GET",
        "/auth/api/v1/user?id=1,2", None, 302, "text/html",
        expect={"Location": (
        "https://127.0.0.1:5055/sticky_auth/api/v1/authorize?redirect=http%3A//"
        "127.0.0.1%3A5055/auth/api/v1/user%3Fid%3D1%2C2")}),
    Case("3", "no token, `X-Requested-With` set (programmatic)", "GET",
        "/auth/api/v1/user?id=1,2", None, 401, "application/json",
        headers={"X-Requested-With": "XMLHttpRequest"}, sample=NO_TOKEN,
        expect={"WWW-Authenticate": REALM}),
    Case("3", "invalid token", "GET", "/auth/api/v1/user?id=1,2", "invalid", 401,
        "application/json", sample=BAD_TOKEN,
        expect={"WWW-Authenticate": REALM_INVALID}),
    Case("3", "admin, id=1,abc,,3 (junk dropped; 3 is a service account)", "GET",
        "/auth/api/v1/user?id=1,abc,,3", "admin", 200, "application/json",
        sample=('[{"admin":true,"admin_datasets":[],"affiliations":[[{"id":1,'
        '"name":"Test Institute","start":"2026-11-28T04:59:28.770702"}]],'
        '"created":"Sat, 28 Nov 2026 04:59:27 GMT","email":"ada@example.org",'
        '"gdpr_consent":false,"id":1,"name":"Ada Admin","pi":"PI Ada",'
        '"service_account":false},{"admin":false,"admin_datasets":[],'
        '"affiliations":[[]],"created":"Sat, 28 Nov 2026 04:59:28 GMT",'
        '"email":"testbot@serviceaccount","gdpr_consent":false,"id":3,'
        '"name":"testbot","parent":{"affiliations":[[{"id":1,'
        '"name":"Test Institute","start":"2026-11-28T04:59:28.770702"}]],'
        '"created":"Sat, 28 Nov 2026 04:59:27 GMT","id":1,"name":"Ada Admin",'
        '"pi":"PI Ada","service_account":false},"parent_id":1,"pi":"",'
        '"service_account":true}]')),
    Case("3", "admin, id=2,1 (order of result)", "GET", "/auth/api/v1/user?id=2,1",
        "admin", 200, "application/json", sample=USERS_1_2_FULL),
    Case("3", "admin, id=abc", "GET", "/auth/api/v1/user?id=abc", "admin", 200,
        "application/json", sample="[]"),
    Case("3", "admin, id=999 (unknown)", "GET", "/auth/api/v1/user?id=999", "admin",
        200, "application/json", sample="[]"),
    Case("3", "admin, id=-1,1", "GET", "/auth/api/v1/user?id=-1,1", "admin", 200,
        "application/json",
        sample=('[{"admin":true,"admin_datasets":[],"affiliations":[[{"id":1,'
        '"name":"Test Institute","start":"2026-11-28T04:59:28.770702"}]],'
        '"created":"Sat, 28 Nov 2026 04:59:27 GMT","email":"ada@example.org",'
        '"gdpr_consent":false,"id":1,"name":"Ada Admin","pi":"PI Ada",'
        '"service_account":false}]')),
    Case("3", "admin, empty id= (paginated object of all normal accounts, not a list)",
        "GET", "/auth/api/v1/user?id=", "admin", 200, "application/json",
        sample=('{"items":[{"affiliations":[[{"id":1,"name":"Test Institute",'
        '"start":"2026-11-28T04:59:28.770702"}]],'
        '"created":"Sat, 28 Nov 2026 04:59:27 GMT","id":1,"name":"Ada Admin",'
        '"pi":"PI Ada","service_account":false},{"affiliations":[[]],'
        '"created":"Sat, 28 Nov 2026 04:59:28 GMT","id":2,"name":"Norm User",'
        '"pi":"PI Norm","service_account":false},{"affiliations":[[]],'
        '"created":"Sat, 28 Nov 2026 04:59:28 GMT","id":4,'
        '"name":"gail_custom_name","pi":"PI Gail","service_account":false},'
        '{"affiliations":[[]],"created":"Sat, 28 Nov 2026 04:59:28 GMT",'
        '"id":5,"name":"Rita Refresh","pi":"","service_account":false},'
        '{"affiliations":[[]],"created":"Sat, 28 Nov 2026 04:59:28 GMT",'
        '"id":6,"name":"Tina Tokenless","pi":"","service_account":false}],'
        '"pages":1}')),
    Case("3", "admin, no query string at all, per_page=2", "GET",
        "/auth/api/v1/user?per_page=2", "admin", 200, "application/json",
        sample=('{"items":[{"affiliations":[[{"id":1,"name":"Test Institute",'
        '"start":"2026-11-28T04:59:28.770702"}]],'
        '"created":"Sat, 28 Nov 2026 04:59:27 GMT","id":1,"name":"Ada Admin",'
        '"pi":"PI Ada","service_account":false},{"affiliations":[[]],'
        '"created":"Sat, 28 Nov 2026 04:59:28 GMT","id":2,"name":"Norm User",'
        '"pi":"PI Norm","service_account":false}],"pages":3}')),
    Case("3", "admin, page=abc (int() of a query arg)", "GET",
        "/auth/api/v1/user?page=abc", "admin", 500, "text/html", text=PAGE_500),
    Case("3", "admin, email=norm (substring search; no id)", "GET",
        "/auth/api/v1/user?email=norm", "admin", 200, "application/json",
        sample=('[{"admin":false,"admin_datasets":[],"affiliations":[[]],'
        '"created":"Sat, 28 Nov 2026 04:59:28 GMT","email":"norm@example.org",'
        '"gdpr_consent":false,"id":2,"name":"Norm User","pi":"PI Norm",'
        '"service_account":false}]')),
    Case("3", "non-admin, id=1,abc,,3 (auth check first)", "GET",
        "/auth/api/v1/user?id=1,abc,,3", "user", 403, "text/html",
        text="Requires admin privilege."),
    Case("3", ("GET /auth/api/v1/user/2 (single user; any logged-in user, short "
        "record for non-admin)"), "GET", "/auth/api/v1/user/2", "user", 200,
        "application/json",
        sample=('{"affiliations":[[]],"created":"Sat, 28 Nov 2026 04:59:28 GMT",'
        '"id":2,"name":"Norm User","pi":"PI Norm","service_account":false}')),
    Case("3", "GET /auth/api/v1/user/3 (service-account id via the single-user route)",
        "GET", "/auth/api/v1/user/3", "admin", 404, "text/html",
        text="User doesn't exist"),
    Case("4", "admin, group 2", "GET", "/auth/api/v1/group/2/user", "admin", 200,
        "application/json", sample=GROUP_2_MEMBERS),
    Case("4", "group admin (not superadmin), group 2", "GET",
        "/auth/api/v1/group/2/user", "group_admin", 200, "application/json",
        sample=GROUP_2_MEMBERS),
    Case("4", "service account, group 2", "GET", "/auth/api/v1/group/2/user", "sa", 200,
        "application/json", sample=GROUP_2_MEMBERS),
    Case("4", "non-admin, group 2", "GET", "/auth/api/v1/group/2/user", "user", 403,
        "text/html", text="Requires admin privilege."),
    Case("4", "no token at all (plain curl, no extra headers)", "GET",
        "/auth/api/v1/group/2/user", None, 302, "text/html",
        expect={"Location": (
        "https://127.0.0.1:5055/sticky_auth/api/v1/authorize?redirect=http%3A//"
        "127.0.0.1%3A5055/auth/api/v1/group/2/user")}),
    Case("4", "no token, `X-Requested-With` set (programmatic)", "GET",
        "/auth/api/v1/group/2/user", None, 401, "application/json",
        headers={"X-Requested-With": "XMLHttpRequest"}, sample=NO_TOKEN,
        expect={"WWW-Authenticate": REALM}),
    Case("4", "invalid token", "GET", "/auth/api/v1/group/2/user", "invalid", 401,
        "application/json", sample=BAD_TOKEN,
        expect={"WWW-Authenticate": REALM_INVALID}),
    Case("4", "admin, group 1 (`default`, every normal user)", "GET",
        "/auth/api/v1/group/1/user", "admin", 200, "application/json",
        sample=('[{"admin":false,"id":1,"name":"Ada Admin"},{"admin":false,"id":2,'
        '"name":"Norm User"},{"admin":false,"id":4,"name":"Gail Groupadmin"},'
        '{"admin":false,"id":5,"name":"Rita Refresh"},{"admin":false,"id":6,'
        '"name":"Tina Tokenless"}]')),
    Case("4", "admin, group 3 (exists, no members)", "GET", "/auth/api/v1/group/3/user",
        "admin", 200, "application/json", sample="[]"),
    Case("4", "admin, group 999 (does not exist)", "GET", "/auth/api/v1/group/999/user",
        "admin", 200, "application/json", sample="[]"),
    Case("4", "admin, group id `abc`", "GET", "/auth/api/v1/group/abc/user", "admin",
        404, "text/html", text=PAGE_404),
    Case("4", "no token, group id `abc` (404 before auth)", "GET",
        "/auth/api/v1/group/abc/user", None, 404, "text/html", text=PAGE_404),
    Case("4", "admin, group id `-1`", "GET", "/auth/api/v1/group/-1/user", "admin", 404,
        "text/html", text=PAGE_404),
    Case("4", "admin, group id `2.0`", "GET", "/auth/api/v1/group/2.0/user", "admin",
        404, "text/html", text=PAGE_404),
    Case("4", ("admin, GET /auth/api/v1/group/999 (the group itself: here a missing "
        "one is 404)"), "GET", "/auth/api/v1/group/999", "admin", 404, "text/html",
        text="Group doesn't exist"),
    Case("4", "admin, GET /auth/api/v1/group/2/service_account", "GET",
        "/auth/api/v1/group/2/service_account", "admin", 200, "application/json",
        sample='[{"id":3,"name":"testbot"}]'),
    Case("5", "admin", "GET", "/auth/api/v1/user/me", "admin", 200, "application/json",
        sample=ADA_ME),
    Case("5", "non-admin", "GET", "/auth/api/v1/user/me", "user", 200,
        "application/json", sample=NORM_ME),
    Case("5", "group admin with a custom name", "GET", "/auth/api/v1/user/me",
        "group_admin", 200, "application/json",
        sample=('{"admin":false,"admin_datasets":[],"affiliations":[[]],'
        '"created":"Sat, 28 Nov 2026 04:59:28 GMT","email":"gail@example.org",'
        '"gdpr_consent":false,"id":4,"name":"gail_custom_name","pi":"PI Gail",'
        '"service_account":false}')),
    Case("5", ("service account (note `parent`; `read_only` is missing because of a "
        "bug in as_dict)"), "GET", "/auth/api/v1/user/me", "sa", 200,
        "application/json", sample=TESTBOT_ME),
    Case("5", "no token at all (plain curl, no extra headers)", "GET",
        "/auth/api/v1/user/me", None, 302, "text/html",
        expect={"Location": (
        "https://127.0.0.1:5055/sticky_auth/api/v1/authorize?redirect=http%3A//"
        "127.0.0.1%3A5055/auth/api/v1/user/me")}),
    Case("5", "no token, `X-Requested-With` set (programmatic)", "GET",
        "/auth/api/v1/user/me", None, 401, "application/json",
        headers={"X-Requested-With": "XMLHttpRequest"}, sample=NO_TOKEN,
        expect={"WWW-Authenticate": REALM}),
    Case("5", "invalid token", "GET", "/auth/api/v1/user/me", "invalid", 401,
        "application/json", sample=BAD_TOKEN,
        expect={"WWW-Authenticate": REALM_INVALID}),
    Case("6", "admin", "GET", "/auth/api/v1/user/cache", "admin", 200,
        "application/json", sample=ADA_CACHE),
    Case("6", "non-admin (has not accepted the ToS of test_tos_ds: see missing_tos)",
        "GET", "/auth/api/v1/user/cache", "user", 200, "application/json",
        sample=NORM_CACHE),
    Case("6", "service account (ToS acceptance inherited from parent)", "GET",
        "/auth/api/v1/user/cache", "sa", 200, "application/json", sample=TESTBOT_CACHE),
    Case("6", "no token at all (plain curl, no extra headers)", "GET",
        "/auth/api/v1/user/cache", None, 302, "text/html",
        expect={"Location": (
        "https://127.0.0.1:5055/sticky_auth/api/v1/authorize?redirect=http%3A//"
        "127.0.0.1%3A5055/auth/api/v1/user/cache")}),
    Case("6", "no token, `X-Requested-With` set (programmatic)", "GET",
        "/auth/api/v1/user/cache", None, 401, "application/json",
        headers={"X-Requested-With": "XMLHttpRequest"}, sample=NO_TOKEN,
        expect={"WWW-Authenticate": REALM}),
    Case("6", "invalid token", "GET", "/auth/api/v1/user/cache", "invalid", 401,
        "application/json", sample=BAD_TOKEN,
        expect={"WWW-Authenticate": REALM_INVALID}),
    Case("7", "admin, id=1,2", "GET", "/auth/api/v1/username?id=1,2", "admin", 200,
        "application/json", sample=NAMES_1_2),
    Case("7", "non-admin, id=1,2", "GET", "/auth/api/v1/username?id=1,2", "user", 200,
        "application/json", sample=NAMES_1_2),
    Case("7", "non-admin, id=4 (custom public name)", "GET",
        "/auth/api/v1/username?id=4", "user", 200, "application/json",
        sample='[{"id":4,"name":"gail_custom_name"}]'),
    Case("7", "admin, id=1,abc,,3", "GET", "/auth/api/v1/username?id=1,abc,,3", "admin",
        500, "text/html", text=PAGE_500),
    Case("7", "admin, id=,1,,3, (only empty items)", "GET",
        "/auth/api/v1/username?id=,1,,3,", "admin", 200, "application/json",
        sample='[{"id":1,"name":"Ada Admin"},{"id":3,"name":"testbot"}]'),
    Case("7", "admin, id=2,1,999", "GET", "/auth/api/v1/username?id=2,1,999", "admin",
        200, "application/json", sample=NAMES_1_2),
    Case("7", "admin, empty id=", "GET", "/auth/api/v1/username?id=", "admin", 200,
        "application/json", sample="[]"),
    Case("7", "admin, no id", "GET", "/auth/api/v1/username", "admin", 200,
        "application/json", sample="[]"),
    Case("7", "admin, id=-1", "GET", "/auth/api/v1/username?id=-1", "admin", 200,
        "application/json", sample="[]"),
    Case("7", "no token at all (plain curl, no extra headers)", "GET",
        "/auth/api/v1/username?id=1,2", None, 302, "text/html",
        expect={"Location": (
        "https://127.0.0.1:5055/sticky_auth/api/v1/authorize?redirect=http%3A//"
        "127.0.0.1%3A5055/auth/api/v1/username%3Fid%3D1%2C2")}),
    Case("7", "no token, `X-Requested-With` set (programmatic)", "GET",
        "/auth/api/v1/username?id=1,2", None, 401, "application/json",
        headers={"X-Requested-With": "XMLHttpRequest"}, sample=NO_TOKEN,
        expect={"WWW-Authenticate": REALM}),
    Case("7", "invalid token", "GET", "/auth/api/v1/username?id=1,2", "invalid", 401,
        "application/json", sample=BAD_TOKEN,
        expect={"WWW-Authenticate": REALM_INVALID}),
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
    Case("12", "admin, user 2", "GET", "/auth/api/v1/user/2/group", "admin", 200,
        "application/json", sample=GROUPS_1_2),
    Case("12", "group admin, user 2", "GET", "/auth/api/v1/user/2/group", "group_admin",
        200, "application/json", sample=GROUPS_1_2),
    Case("12", "service account, user 1", "GET", "/auth/api/v1/user/1/group", "sa", 200,
        "application/json", sample=GROUPS_1_2),
    Case("12", "non-admin, user 2 (even for themself)", "GET",
        "/auth/api/v1/user/2/group", "user", 403, "text/html",
        text="Requires admin privilege."),
    Case("12", "no token at all (plain curl, no extra headers)", "GET",
        "/auth/api/v1/user/2/group", None, 302, "text/html",
        expect={"Location": (
        "https://127.0.0.1:5055/sticky_auth/api/v1/authorize?redirect=http%3A//"
        "127.0.0.1%3A5055/auth/api/v1/user/2/group")}),
    Case("12", "no token, `X-Requested-With` set (programmatic)", "GET",
        "/auth/api/v1/user/2/group", None, 401, "application/json",
        headers={"X-Requested-With": "XMLHttpRequest"}, sample=NO_TOKEN,
        expect={"WWW-Authenticate": REALM}),
    Case("12", "invalid token", "GET", "/auth/api/v1/user/2/group", "invalid", 401,
        "application/json", sample=BAD_TOKEN,
        expect={"WWW-Authenticate": REALM_INVALID}),
    Case("12", "admin, user 999", "GET", "/auth/api/v1/user/999/group", "admin", 404,
        "text/html", text="User doesn't exist"),
    Case("12", "admin, user 3 (a service account)", "GET", "/auth/api/v1/user/3/group",
        "admin", 404, "text/html", text="User doesn't exist"),
    Case("12", "admin, user 6 (only in `default`)", "GET", "/auth/api/v1/user/6/group",
        "admin", 200, "application/json", sample='[{"id":1,"name":"default"}]'),
    Case("12", "admin, user `abc`", "GET", "/auth/api/v1/user/abc/group", "admin", 404,
        "text/html", text=PAGE_404),
    Case("13", "admin, user 2", "GET", "/auth/api/v1/user/2/permissions", "admin", 200,
        "application/json", sample=NORM_CACHE),
    Case("13", "group admin, user 1", "GET", "/auth/api/v1/user/1/permissions",
        "group_admin", 200, "application/json", sample=ADA_CACHE),
    Case("13", "non-admin, user 2", "GET", "/auth/api/v1/user/2/permissions", "user",
        403, "text/html", text="Requires admin privilege."),
    Case("13", "no token at all (plain curl, no extra headers)", "GET",
        "/auth/api/v1/user/2/permissions", None, 302, "text/html",
        expect={"Location": (
        "https://127.0.0.1:5055/sticky_auth/api/v1/authorize?redirect=http%3A//"
        "127.0.0.1%3A5055/auth/api/v1/user/2/permissions")}),
    Case("13", "no token, `X-Requested-With` set (programmatic)", "GET",
        "/auth/api/v1/user/2/permissions", None, 401, "application/json",
        headers={"X-Requested-With": "XMLHttpRequest"}, sample=NO_TOKEN,
        expect={"WWW-Authenticate": REALM}),
    Case("13", "invalid token", "GET", "/auth/api/v1/user/2/permissions", "invalid",
        401, "application/json", sample=BAD_TOKEN,
        expect={"WWW-Authenticate": REALM_INVALID}),
    Case("13", "admin, user 999", "GET", "/auth/api/v1/user/999/permissions", "admin",
        404, "text/html", text="User doesn't exist"),
    Case("13", "admin, user 3 (service account)", "GET",
        "/auth/api/v1/user/3/permissions", "admin", 404, "text/html",
        text="User doesn't exist"),
    Case("13", "admin, user `abc`", "GET", "/auth/api/v1/user/abc/permissions", "admin",
        404, "text/html", text=PAGE_404),
    Case("14", "admin", "GET", "/auth/api/v1/my_permissions", "admin", 200,
        "application/json", sample=ADA_CACHE),
    Case("14", "non-admin", "GET", "/auth/api/v1/my_permissions", "user", 200,
        "application/json", sample=NORM_CACHE),
    Case("14", "service account", "GET", "/auth/api/v1/my_permissions", "sa", 200,
        "application/json", sample=TESTBOT_CACHE),
    Case("14", "no token at all (plain curl, no extra headers)", "GET",
        "/auth/api/v1/my_permissions", None, 302, "text/html",
        expect={"Location": (
        "https://127.0.0.1:5055/sticky_auth/api/v1/authorize?redirect=http%3A//"
        "127.0.0.1%3A5055/auth/api/v1/my_permissions")}),
    Case("14", "no token, `X-Requested-With` set (programmatic)", "GET",
        "/auth/api/v1/my_permissions", None, 401, "application/json",
        headers={"X-Requested-With": "XMLHttpRequest"}, sample=NO_TOKEN,
        expect={"WWW-Authenticate": REALM}),
    Case("14", "invalid token", "GET", "/auth/api/v1/my_permissions", "invalid", 401,
        "application/json", sample=BAD_TOKEN,
        expect={"WWW-Authenticate": REALM_INVALID}),
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
    Case("16", "/auth/version", "GET", "/auth/version", None, 200, "text/html",
        text="neuroglance_auth -- version 2.30.3"),
    Case("16", "/sticky_auth/version", "GET", "/sticky_auth/version", None, 200,
        "text/html", text="neuroglance_auth -- version 2.30.3"),
    Case("16", "/auth/version with an invalid token (ignored)", "GET", "/auth/version",
        "invalid", 200, "text/html", text="neuroglance_auth -- version 2.30.3"),
    Case("16", "unknown route /auth/api/v1/nope", "GET", "/auth/api/v1/nope", "admin",
        404, "text/html", text=PAGE_404),
    Case("17", "server: GET /auth/api/v1/user/missing (non-admin)", "GET",
        "/auth/api/v1/user/missing", "user", 200, "application/json",
        sample=('[{"dataset_id":2,"dataset_name":"test_tos_ds","tos_id":2,'
        '"tos_name":"Test ToS"}]')),
    Case("17", "tosdemo, non-admin, view test_tos_ds (ToS not accepted)", "GET",
        "/tosdemo/test_tos_ds/view", "user", 403, "application/json",
        sample=('{"data":{"tos_form_url":"https://127.0.0.1:5055/sticky_auth/api/v1/'
        'tos/2/accept","tos_id":2,"tos_name":"Test ToS"},'
        '"error":"missing_tos","message":"Need to accept Terms of Service to '
        'access resource."}')),
    Case("17", "tosdemo, non-admin, browser-like with cookie", "GET",
        "/tosdemo/test_tos_ds/view", None, 302, "text/html",
        headers={"Cookie": "middle_auth_token=${user}", **BROWSER},
        expect={"Location": ("https://127.0.0.1:5055/sticky_auth/api/v1/tos/2/accept?"
        "redirect=http%3A//127.0.0.1%3A5055/tosdemo/test_tos_ds/view")}),
    Case("17", "tosdemo, non-admin, edit test_tos_ds (no edit even with ToS)", "GET",
        "/tosdemo/test_tos_ds/edit", "user", 403, "application/json",
        sample=('{"data":{"auth_dataset":"test_tos_ds","required_permission":"edit"},'
        '"error":"missing_permission","message":"Missing permission: edit for '
        'dataset test_tos_ds"}')),
    Case("17", "tosdemo, admin (accepted), view test_tos_ds", "GET",
        "/tosdemo/test_tos_ds/view", "admin", 200, "application/json",
        sample='{"datastack":"test_tos_ds","ok":true,"permission":"view","user_id":1}'),
    Case("17", "tosdemo, service account of admin, view test_tos_ds", "GET",
        "/tosdemo/test_tos_ds/view", "sa", 200, "application/json",
        sample='{"datastack":"test_tos_ds","ok":true,"permission":"view","user_id":3}'),
    Case("17", "tosdemo, non-admin, view test_ds (no ToS)", "GET",
        "/tosdemo/test_ds/view", "user", 200, "application/json",
        sample='{"datastack":"test_ds","ok":true,"permission":"view","user_id":2}'),
    Case("17", "tosdemo, Tina (only group default: view), edit test_ds", "GET",
        "/tosdemo/test_ds/edit", "nokey", 403, "application/json",
        sample=('{"data":{"auth_dataset":"test_ds","required_permission":"edit"},'
        '"error":"missing_permission","message":"Missing permission: edit for '
        'dataset test_ds"}')),
    Case("17", "tosdemo, unknown datastack", "GET", "/tosdemo/nope/view", "user", 400,
        "application/json",
        sample=('{"data":{"auth_dataset":null,"resource_namespace":"datastack",'
        '"table_id":"nope"},"error":"invalid_table_id",'
        '"message":"Invalid table_id for service"}')),
    Case("17", "tosdemo, no token (X-Requested-With)", "GET",
        "/tosdemo/test_tos_ds/view", None, 401, "application/json",
        headers={"X-Requested-With": "XMLHttpRequest"}, sample=NO_TOKEN,
        expect={"WWW-Authenticate": REALM}),
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
    Case("18", "superadmin-only route, non-admin: GET /auth/api/v1/service_account/3",
        "GET", "/auth/api/v1/service_account/3", "user", 403, "text/html",
        text="Requires superadmin privilege."),
    Case("18", "superadmin-only route, group admin", "GET",
        "/auth/api/v1/service_account/3", "group_admin", 403, "text/html",
        text="Requires superadmin privilege."),
    Case("18", "superadmin-only route, admin", "GET", "/auth/api/v1/service_account/3",
        "admin", 200, "application/json", sample=TESTBOT_ME),
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
    "18": [
        Case("18", "GET /auth/api/v1/logout with a login-style token", "GET",
            "/auth/api/v1/logout", "temp", 200, "application/json", sample='"success"'),
        Case("18", "...that token afterwards", "GET", "/auth/api/v1/user/me", "temp",
            401, "application/json", sample=BAD_TOKEN,
            expect={"WWW-Authenticate": REALM_INVALID}),
    ],
}
# fmt: on


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


@pytest.mark.parametrize(
    "case", [pytest.param(c, id=f"{c.section}:{c.name}") for c in CASES]
)
def test_conformance(case: Case, shared: FakeAuthServer) -> None:
    """Each stateless recorded case gets the recorded status, type, shape, headers."""
    if case.fresh:
        with FakeAuthServer() as fresh:
            replay(fresh, case, token_vars(fresh))
    else:
        replay(shared, case, token_vars(shared))


@pytest.mark.parametrize("section", list(SEQUENCES))
def test_conformance_sequence(section: str, server: FakeAuthServer) -> None:
    """The recorded cases that change state replay in order on a fresh server."""
    values = token_vars(server)
    for case in SEQUENCES[section]:
        replay(server, case, values)


# ------------------------------------------------------------ beyond the recording


def test_head_and_options_follow_get(shared: FakeAuthServer) -> None:
    """HEAD answers GET's status and Content-Length without a body; OPTIONS skips auth."""
    get = fetch(shared, "GET", "/auth/api/v1/user/me", bearer(shared.admin_token))
    head = fetch(shared, "HEAD", "/auth/api/v1/user/me", bearer(shared.admin_token))
    assert head.status == 200
    assert head.body == b""
    assert head.headers["Content-Length"] == get.headers["Content-Length"]
    options = fetch(shared, "OPTIONS", "/auth/api/v1/user/token")
    assert options.status == 200
    assert options.headers["Allow"] == "HEAD, GET, POST, OPTIONS"


def test_unrecorded_method_and_route(shared: FakeAuthServer) -> None:
    """A method the fake does not serve is a 405 and an unknown path a Flask 404."""
    token = bearer(shared.admin_token)
    reply = fetch(shared, "PUT", "/auth/api/v1/user/2", token)
    assert (reply.status, reply.text) == (405, PAGE_405)
    assert reply.headers["Allow"] == "HEAD, GET, OPTIONS"
    reply = fetch(shared, "GET", "/auth/api/v1/user/token/abc/ttl", token)
    assert (reply.status, reply.text) == (404, PAGE_404)
    reply = fetch(shared, "GET", "/elsewhere")
    assert (reply.status, reply.text) == (404, PAGE_404)
    assert reply.headers.get("Access-Control-Allow-Origin") is None


def test_group_info_route(shared: FakeAuthServer) -> None:
    """GET /group/<id> returns {id, name} for admins and 403 for a plain user."""
    reply = fetch(shared, "GET", "/auth/api/v1/group/2", bearer(shared.admin_token))
    assert reply.json() == {"id": 2, "name": "testgroup"}
    reply = fetch(shared, "GET", "/auth/api/v1/group/2", bearer(shared.user_token))
    assert (reply.status, reply.text) == (403, "Requires admin privilege.")


def test_urllib_client_sees_json(shared: FakeAuthServer) -> None:
    """A urllib.request client gets the user record and an HTTPError for 401."""
    request = urllib.request.Request(
        shared.url + "/auth/api/v1/user/me", headers=bearer(shared.user_token)
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.load(response)["email"] == "norm@example.org"
    request = urllib.request.Request(
        shared.url + "/auth/api/v1/user/me", headers=bearer(INVALID_TOKEN)
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)
    assert info.value.code == 401
    info.value.close()


def test_fail_next_answers_errors_then_recovers(server: FakeAuthServer) -> None:
    """fail_next(n) answers n requests with the status, a Flask page and headers."""
    server.fail_next(2, 503, headers={"Retry-After": "1"})
    for _ in range(2):
        reply = fetch(server, "GET", "/auth/api/v1/user/me", bearer(server.admin_token))
        assert reply.status == 503
        assert reply.headers["Retry-After"] == "1"
        assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
        assert "<title>503 Service Unavailable</title>" in reply.text
    reply = fetch(server, "GET", "/auth/api/v1/user/me", bearer(server.admin_token))
    assert reply.status == 200
    server.fail_next(1, 429, body="slow down")
    reply = fetch(server, "GET", "/auth/version")
    assert (reply.status, reply.text) == (429, "slow down")
    assert server.request_count == 4


def test_fail_next_rejects_bad_arguments(server: FakeAuthServer) -> None:
    """fail_next, drop_next and set_delay refuse negative counts and odd statuses."""
    with pytest.raises(ValueError, match="status"):
        server.fail_next(1, 99)
    with pytest.raises(ValueError, match="n must"):
        server.drop_next(-1)
    with pytest.raises(ValueError, match="seconds"):
        server.set_delay(-0.1)


def test_delay_slows_every_answer(server: FakeAuthServer) -> None:
    """delay(s) waits before each answer and delay(0) turns it off."""
    server.delay(0.2)
    start = time.monotonic()
    assert fetch(server, "GET", "/auth/version").status == 200
    assert time.monotonic() - start >= 0.2
    server.set_delay(0)
    start = time.monotonic()
    assert fetch(server, "GET", "/auth/version").status == 200
    assert time.monotonic() - start < 0.2


def test_drop_next_closes_without_answer(server: FakeAuthServer) -> None:
    """drop_next(n) closes the connection of n requests without any response."""
    server.drop_next(1)
    with pytest.raises(ConnectionError):
        fetch(server, "GET", "/auth/version")
    assert fetch(server, "GET", "/auth/version").status == 200
    assert server.count("GET", "/auth/version") == 2


def test_clear_faults_turns_everything_off(server: FakeAuthServer) -> None:
    """clear_faults cancels pending failures, drops and the delay."""
    server.fail_next(5)
    server.drop_next(5)
    server.delay(5)
    server.clear_faults()
    assert fetch(server, "GET", "/auth/version").status == 200


def test_request_log_records_every_request(server: FakeAuthServer) -> None:
    """The log keeps method, path, query, headers and body; clear_log empties it."""
    fetch(server, "GET", "/auth/api/v1/user?id=1,2", bearer(server.admin_token))
    fetch(
        server,
        "POST",
        "/auth/api/v1/user/token",
        {**bearer(server.user_token), "Content-Type": "application/json"},
        '{"description": "logged"}',
    )
    first, second = server.requests
    assert (first.method, first.path, first.query) == (
        "GET",
        "/auth/api/v1/user",
        "id=1,2",
    )
    assert first.headers["Authorization"] == "Bearer " + server.admin_token
    assert (second.method, second.body) == ("POST", b'{"description": "logged"}')
    assert server.request_count == 2
    assert server.count("post", "/auth/api/v1/user/token") == 1
    assert server.count("GET", "/auth/api/v1/user/token") == 0
    server.clear_log()
    assert (server.requests, server.request_count) == ([], 0)


def test_keep_alive_serves_two_requests_on_one_connection(
    shared: FakeAuthServer,
) -> None:
    """Two requests on one http.client connection reuse the same socket."""
    conn = http.client.HTTPConnection("127.0.0.1", shared.port, timeout=10)
    try:
        conn.request("GET", "/auth/api/v1/user/me", headers=bearer(shared.admin_token))
        first = conn.getresponse()
        assert first.status == 200
        first.read()
        sock = conn.sock
        assert sock is not None
        local = sock.getsockname()
        conn.request(
            "GET", "/auth/api/v1/user/token", headers=bearer(shared.admin_token)
        )
        second = conn.getresponse()
        assert second.status == 200
        second.read()
        assert conn.sock is sock
        assert sock.getsockname() == local
        assert second.headers.get("Connection") is None
    finally:
        conn.close()


def test_many_keep_alive_clients_and_prompt_stop() -> None:
    """16 threads hammering the server all succeed and stop() returns promptly."""
    server = FakeAuthServer().start()
    token = bearer(server.admin_token)
    errors: list[BaseException] = []
    conns: list[http.client.HTTPConnection] = []
    lock = threading.Lock()

    def hammer() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        with lock:
            conns.append(conn)
        try:
            for _ in range(25):
                conn.request("GET", "/auth/api/v1/user?id=1,2", headers=token)
                response = conn.getresponse()
                assert response.status == 200
                assert len(response.read()) > 0
        except BaseException as exc:  # collected for the main thread
            errors.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert server.request_count == 16 * 25
    start = time.monotonic()
    server.stop()  # the 16 connections are still open and idle
    assert time.monotonic() - start < 1.0
    for conn in conns:
        conn.close()


def test_lifecycle() -> None:
    """The url needs a running server; start and stop are idempotent."""
    server = FakeAuthServer()
    with pytest.raises(RuntimeError):
        _ = server.url
    assert server.start() is server.start()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url)
    server.stop()
    server.stop()
    with pytest.raises(RuntimeError):
        _ = server.url


def test_tokens_are_random_per_server() -> None:
    """Every server draws its own 32-hex-character tokens."""
    first, second = FakeAuthServer(), FakeAuthServer()
    assert first.admin_token != second.admin_token
    assert re.fullmatch(r"[0-9a-f]{32}", first.temp_token)


def test_custom_seed() -> None:
    """A custom seed is served as given, on a copy, with its own named tokens."""
    seed = FakeSeed(
        users=[
            FakeUser(id=10, name="Solo", email="solo@example.org", admin=True),
            FakeUser(id=11, name="Pal", email="pal@example.org"),
        ],
        groups=[FakeGroup(id=5, name="crew")],
        memberships=[
            FakeMembership(user_id=10, group_id=5, admin=True),
            FakeMembership(user_id=11, group_id=5),
        ],
        api_keys=[FakeApiKey(id=1, user_id=10, token="a" * 32)],
        login_tokens={"b" * 32: 11},
        named_tokens={"admin": "a" * 32, "pal": "b" * 32},
    )
    with FakeAuthServer(seed) as server:
        assert server.admin_token == "a" * 32
        assert server.token("pal") == "b" * 32
        with pytest.raises(KeyError, match="user"):
            _ = server.user_token
        me = fetch(server, "GET", "/auth/api/v1/user/me", bearer("b" * 32)).json()
        assert (me["id"], me["name"], me["admin"]) == (11, "Pal", False)
        members = fetch(server, "GET", "/auth/api/v1/group/5/user", bearer("a" * 32))
        assert members.json() == [
            {"admin": True, "id": 10, "name": "Solo"},
            {"admin": False, "id": 11, "name": "Pal"},
        ]
        deleted = fetch(server, "DELETE", "/auth/api/v1/user/token/1", bearer("a" * 32))
        assert deleted.json() == "success"
    assert len(seed.api_keys) == 1


def test_extra_users_and_big_group() -> None:
    """extra_users adds users 7.. and extra_group_members fills big_group_id."""
    with FakeAuthServer(extra_users=50, extra_group_members=20) as server:
        assert server.big_group_id == 4
        admin = bearer(server.admin_token)
        path = f"/auth/api/v1/group/{server.big_group_id}/user"
        members = fetch(server, "GET", path, admin).json()
        assert [m["id"] for m in members] == list(range(7, 27))
        ids = ",".join(str(i) for i in range(7, 57))
        users = fetch(server, "GET", "/auth/api/v1/user?id=" + ids, admin).json()
        assert [u["id"] for u in users] == list(range(7, 57))
        everyone = fetch(server, "GET", "/auth/api/v1/group/1/user", admin).json()
        assert len(everyone) == 5 + 50
        page = fetch(server, "GET", "/auth/api/v1/user?id=", admin).json()
        assert page["pages"] == 3
    assert FakeAuthServer(extra_users=3).big_group_id is None
    with pytest.raises(ValueError, match=">= 0"):
        FakeAuthServer(extra_users=-1)


def test_tls_with_ssl_context() -> None:
    """Given an ssl_context the server speaks HTTPS and its url says so."""
    import ssl

    trustme = pytest.importorskip("trustme")
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1")
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    certificate.configure_cert(server_context)
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)
    with FakeAuthServer(ssl_context=server_context) as server:
        assert server.url.startswith("https://127.0.0.1:")
        conn = http.client.HTTPSConnection(
            "127.0.0.1", server.port, timeout=10, context=client_context
        )
        try:
            for _ in range(2):  # keep-alive over TLS
                conn.request("GET", "/auth/api/v1/user/me")
                response = conn.getresponse()
                assert response.status == 302
                response.read()
            here = f"127.0.0.1:{server.port}"
            assert response.headers["Location"] == (
                f"https://{here}/sticky_auth/api/v1/authorize?redirect="
                + quote(f"https://{here}/auth/api/v1/user/me")
            )
        finally:
            conn.close()
