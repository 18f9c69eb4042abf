"""Replay of the cases recorded against the real middle_auth server.

The conformance tests of this package replay the cases recorded against the real
server (``middle_auth-api.md``; ``section`` and ``name`` of a :class:`Case` are
that file's section numbers and case titles), each test module the cases of the
part of the fake it covers.  Request and expected response are pasted from the
recording: tokens and the recording's ``127.0.0.1:5055`` are mapped to this
server's, JSON bodies are compared by shape (key sets and type names,
recursively; error objects exactly), short text bodies and headers exactly.
Cases that change the server's state are replayed in order on a fresh server
(``SEQUENCES`` of a test module).  Only the standard library's HTTP clients
are used.
"""

from __future__ import annotations

import html
import http.client
import json
import re
from dataclasses import dataclass, field
from string import Template
from typing import Any
from urllib.parse import quote

import pytest

from cave_auth.testing import INVALID_TOKEN, FakeAuthServer

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
        "dataset_admin": server.dataset_admin_token,
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


def case_params(cases: list[Case]) -> list[Any]:
    """Pytest parameters for cases, with ids ``<section>:<name>``."""
    return [pytest.param(c, id=f"{c.section}:{c.name}") for c in cases]


def check_case(case: Case, shared: FakeAuthServer) -> None:
    """Replay one stateless case on the shared server (or a fresh one if marked)."""
    if case.fresh:
        with FakeAuthServer() as fresh:
            replay(fresh, case, token_vars(fresh))
    else:
        replay(shared, case, token_vars(shared))


def check_sequence(cases: list[Case], server: FakeAuthServer) -> None:
    """Replay cases that change state in order, sharing saved values."""
    values = token_vars(server)
    for case in cases:
        replay(server, case, values)
