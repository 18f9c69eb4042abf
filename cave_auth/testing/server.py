"""A loopback stand-in for the CAVE ``middle_auth`` server, for tests and benchmarks.

Design
------
``FakeAuthServer`` serves, over plain HTTP on ``127.0.0.1`` and a free port, the
routes of the real server (CAVEconnectome/middle_auth 2.30.3) that a client of the
auth service meets, with the status codes, content types, headers and bodies recorded
in ``middle_auth-api.md`` (the section numbers below refer to it).  It is built from
the standard library only and imports nothing from ``cave_auth``, so that it can be
re-exported by ``cave_auth.testing`` and used by any test suite.

Three layers, one lock:

* **Data** (``FakeSeed`` and its row dataclasses): users, groups, memberships, API
  keys, login-style tokens, datasets with per-group permissions, and Terms of
  Service.  ``FakeSeed.default()`` mirrors the recording (users 1-6, groups 1-3, API
  keys 1-6, datasets ``test_ds`` and ``test_tos_ds``) with fresh random tokens.  The
  server works on a deep copy, so a seed can be reused.
* **Application** (``_App``): request in, response out, over that data (the only
  code that reads or changes it).  A small route table matches paths the way
  Flask/werkzeug does (``<int:...>`` parameters only match digits, so anything else
  is Flask's HTML 404 page before any auth check; a known path with another method
  is a 405 with ``Allow``; ``HEAD`` and ``OPTIONS`` are automatic).  Each route
  declares its guard: none, ``auth_required`` (middle_auth_client's token rules of
  section 1: Bearer header, query parameter, cookie, programmatic detection, 302 to
  the sticky login page, 400/401 JSON), ``requires_some_admin`` (403 ``Requires
  admin privilege.``) or ``auth_requires_admin`` (403 ``Requires superadmin
  privilege.``).  JSON bodies are written like Flask's ``jsonify`` (sorted keys,
  compact separators, trailing newline); other errors are ``text/html`` plain
  strings.  CORS headers are added as flask-cors does for everything under
  ``/auth`` and ``/sticky_auth``.
* **Transport** (``_HTTPServer``/``_Handler``): a ``ThreadingHTTPServer`` speaking
  HTTP/1.1 with keep-alive (always a ``Content-Length``, one ``write`` per
  response, ``TCP_NODELAY``), daemon threads, a 5 s idle timeout per connection, and
  every open connection shut down by ``stop()`` so it returns at once.  Before the
  application runs, every request is appended to the request log and the fault
  switches (``fail_next``, ``drop_next``, ``delay``) are consulted.

All state (data, request log, fault switches) is guarded by one re-entrant lock; the
optional delay is slept outside it, so delayed requests still run concurrently.

Not reproduced
--------------
Recorded cases (by section of the reference) that the fake deliberately does not
reproduce, and why:

* Section 1, the python ``requests`` walk-through: it records what a *client* does
  (a ``Secure`` cookie not sent back over http, an ``SSLError`` when following the
  302 to ``https://``).  The fake sends the same 302s and cookie; it does not
  speak TLS, so following them fails for a client too, but no test replays it.
* Section 8, "the 500 above still left a token in Redis ... and it works": the
  behaviour is reproduced (a description over 120 characters, or a list/object
  description, answers 500 and still leaves a working token that no list shows),
  but the recorded case finds that token with ``redis-cli`` and ``psql``, which
  have no counterpart here, so the case itself is not replayed.
* Section 15, the token page (8920 bytes) and section 17, the ToS form (3036 bytes)
  and the "already accepted" page (769 bytes): the fake serves small pages that
  contain the recorded key lines (``<span>Name - email</span``, ``token: ...``,
  ``data-token-id``, ``middle_auth_url``, ``...-cave-secret.json``; the ToS title,
  form and checkbox label), not byte-exact copies of the templates.
* Section 15, ``/sticky_auth/api/v1/authorize``: the Location (Google OAuth URL
  with a dummy client id), the random ``state`` and the ``session`` cookie have the
  recorded form, but there is no OAuth flow behind them (no ``oauth2callback``).
* Sections 6, 13, 14: the order of permission names inside ``permissions_v2``
  follows the seed (group order, then grant order), so Ada gets
  ``["view","edit"]`` where the recording shows ``["edit","view"]`` (PostgreSQL's
  ``GROUP BY`` order; the recording shows both orders for the same grants).
* Every case: nginx's ``Server: nginx/1.22.1`` and ``Connection: keep-alive``
  headers (the fake sends its own ``Server`` and keeps connections alive without
  saying so); dates and ids of keys made during a test come from the fake's clock
  and counter.

Also simplified, beyond the recording:

* ``/user/cache`` returns the copy of the permission cache kept in Redis, which can
  lag behind the database; the fake computes it fresh, so it always equals
  ``/my_permissions``.  ``/user?from=&to=`` takes Unix seconds (PostgreSQL's
  ``to_timestamp`` on the real server) and answers ``[]`` for anything else.
* Login-style tokens never expire (real ones live 7 days in Redis).  The server's
  source has a ``/user/token/<key>/ttl`` route, but the reference records no token
  TTL route, so the fake has none: it answers Flask's 404 page.
* The ToS acceptance (``POST .../tos/<id>/accept``) answers the recorded 500
  (``TemplateNotFound``) the first time and the "already accepted" page after, and
  ``?client=ng`` the postMessage script; the session-based redirect after
  acceptance is not modelled.  Integer and boolean token descriptions are stored in
  their PostgreSQL text form.
* Not modelled: dataset admins (``admin_datasets``/``datasets_admin`` are always
  ``[]`` and a dataset admin is not "some admin"), read-only service accounts, and
  every route the recording does not show (user/group/dataset/ToS administration,
  ``logout_all``, SCIM, flask-admin, ``/table/...``): those answer Flask's 404
  page, or a 405 where the fake serves the path with another method (``POST
  /user``, ``PUT /user/<id>``).  Paths outside ``/auth``, ``/sticky_auth`` and
  ``/tosdemo`` get Flask's 404 page without CORS headers (nginx would send its
  own page), and the request URL embedded in redirects is rebuilt from the
  ``Host`` header and the raw path, without werkzeug's re-quoting.
"""

from __future__ import annotations

import contextlib
import copy
import html
import json
import math
import re
import secrets
import socket
import socketserver
import string
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Final, cast
from urllib.parse import parse_qsl, quote, urlencode

if TYPE_CHECKING:
    import ssl

__all__ = [
    "INVALID_TOKEN",
    "SEED_TIME",
    "FakeApiKey",
    "FakeAuthServer",
    "FakeDataset",
    "FakeGroup",
    "FakeMembership",
    "FakeSeed",
    "FakeTos",
    "FakeUser",
    "RecordedRequest",
]

#: A well-formed token that no fake server knows (the one used in the recording).
INVALID_TOKEN: Final = "0123456789abcdef0123456789abcdef"

#: When the default seed's rows were "created" (the date of the recording).
SEED_TIME: Final = datetime(2026, 11, 28, 4, 59, 28, tzinfo=UTC)

_VERSION_TEXT: Final = "neuroglance_auth -- version 2.30.3"
_TOKEN_NAME: Final = "middle_auth_token"
_JSON: Final = "application/json"
_HTML: Final = "text/html; charset=utf-8"
_EXPOSE_HEADERS: Final = "WWW-Authenticate, X-Requested-With"
_CORS_METHODS: Final = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
_METHOD_ORDER: Final = ("HEAD", "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_DEFAULT_TOKEN_NAMES: Final = (
    "admin",
    "user",
    "user2",
    "temp",
    "service_account",
    "group_admin",
    "refresh_user",
    "nokey_temp",
)

# werkzeug's names and descriptions for the error pages a client may meet.
_ERRORS: Final[Mapping[int, tuple[str, str]]] = {
    400: (
        "Bad Request",
        "The browser (or proxy) sent a request that this server could not understand.",
    ),
    401: (
        "Unauthorized",
        "The server could not verify that you are authorized to access the URL "
        "requested. You either supplied the wrong credentials (e.g. a bad "
        "password), or your browser doesn't understand how to supply the "
        "credentials required.",
    ),
    403: (
        "Forbidden",
        "You don't have the permission to access the requested resource. It is "
        "either read-protected or not readable by the server.",
    ),
    404: (
        "Not Found",
        "The requested URL was not found on the server. If you entered the URL "
        "manually please check your spelling and try again.",
    ),
    405: ("Method Not Allowed", "The method is not allowed for the requested URL."),
    408: (
        "Request Timeout",
        "The server closed the network connection because the browser didn't "
        "finish the request within the specified time.",
    ),
    429: (
        "Too Many Requests",
        "This user has exceeded an allotted request count. Try again later.",
    ),
    500: (
        "Internal Server Error",
        "The server encountered an internal error and was unable to complete your "
        "request. Either the server is overloaded or there is an error in the "
        "application.",
    ),
    501: (
        "Not Implemented",
        "The server does not support the action requested by the browser.",
    ),
    502: (
        "Bad Gateway",
        "The proxy server received an invalid response from an upstream server.",
    ),
    503: (
        "Service Unavailable",
        "The server is temporarily unable to service your request due to "
        "maintenance downtime or capacity problems. Please try again later.",
    ),
    504: ("Gateway Timeout", "The connection to an upstream server timed out."),
}
_REASONS: Final[Mapping[int, str]] = {422: "Unprocessable Entity"}


# --------------------------------------------------------------------------- data


@dataclass
class FakeUser:
    """A user account, or a service account when ``parent_id`` is set.

    Attributes:
        id: Row id.
        name: The raw ``user.name`` column (shown by ``/group/<id>/user``).
        email: Unique e-mail address (``...@serviceaccount`` for service accounts).
        pi: Principal investigator text.
        admin: Superadmin flag.
        custom_name: Public name chosen by the user; shown instead of ``name``
            everywhere except ``/group/<id>/user``.
        parent_id: Id of the owning user for a service account, else ``None``.
        gdpr_consent: The ``gdpr_consent`` flag of the full record.
        created: Creation time (UTC; a naive datetime is read as UTC).
        affiliations: Affiliation objects, e.g. ``{"id": 1, "name": "Test
            Institute", "start": "2026-11-28T04:59:28.770702"}``.
        accepted_tos: Ids of the Terms of Service this user has accepted (a
            service account inherits its parent's).
    """

    id: int
    name: str
    email: str
    pi: str | None = ""
    admin: bool = False
    custom_name: str | None = None
    parent_id: int | None = None
    gdpr_consent: bool = False
    created: datetime = SEED_TIME
    affiliations: list[dict[str, Any]] = field(default_factory=list)
    accepted_tos: list[int] = field(default_factory=list)


@dataclass
class FakeGroup:
    """A group.

    Attributes:
        id: Row id.
        name: Unique group name.
    """

    id: int
    name: str


@dataclass
class FakeMembership:
    """Membership of a user (or service account) in a group.

    Attributes:
        user_id: The member.
        group_id: The group.
        admin: Whether the member is an admin of that group.
    """

    user_id: int
    group_id: int
    admin: bool = False


@dataclass
class FakeApiKey:
    """An API key row (a token that does not expire and appears in token lists).

    Attributes:
        id: Row id (what ``DELETE /user/token/<id>`` takes).
        user_id: Owner.
        token: The secret, 32 hex characters on the real server.
        description: Free text or ``None``.
        created: Creation time (UTC).
        updated: Last update time; ``None`` means ``created``.
        last_used: Last time the key authenticated a request, or ``None``.
    """

    id: int
    user_id: int
    token: str
    description: str | None = None
    created: datetime = SEED_TIME
    updated: datetime | None = None
    last_used: datetime | None = None


@dataclass
class FakeTos:
    """Terms of Service.

    Attributes:
        id: Row id (used in ``/sticky_auth/api/v1/tos/<id>/accept``).
        name: Display name, e.g. ``"Test ToS"``.
        text: HTML fragment shown on the acceptance form.
    """

    id: int
    name: str
    text: str = ""


@dataclass
class FakeDataset:
    """A dataset (also used as the datastack name by the ``/tosdemo`` routes).

    Attributes:
        id: Row id.
        name: Dataset name, e.g. ``"test_ds"``.
        permissions: Group id -> permission names (``"view"``, ``"edit"``) that
            members of that group get on this dataset.
        tos_id: Terms of Service that must be accepted first, or ``None``.
    """

    id: int
    name: str
    permissions: dict[int, list[str]] = field(default_factory=dict)
    tos_id: int | None = None


@dataclass
class FakeSeed:
    """Everything a ``FakeAuthServer`` starts with.

    Attributes:
        users: Users and service accounts.
        groups: Groups.
        memberships: Who is in which group.
        api_keys: API keys (listed, deletable, never expire).
        login_tokens: Login-style tokens (token -> user id): they authenticate but
            appear in no token list, and ``/logout`` ends them.
        datasets: Datasets with per-group permissions.
        terms: Terms of Service.
        named_tokens: Labels for some of the tokens above (label -> token); the
            ``*_token`` attributes of ``FakeAuthServer`` read them.
    """

    users: list[FakeUser] = field(default_factory=list)
    groups: list[FakeGroup] = field(default_factory=list)
    memberships: list[FakeMembership] = field(default_factory=list)
    api_keys: list[FakeApiKey] = field(default_factory=list)
    login_tokens: dict[str, int] = field(default_factory=dict)
    datasets: list[FakeDataset] = field(default_factory=list)
    terms: list[FakeTos] = field(default_factory=list)
    named_tokens: dict[str, str] = field(default_factory=dict)

    @classmethod
    def default(cls) -> FakeSeed:
        """The seed of the recording, with fresh random tokens.

        Users: 1 Ada Admin (superadmin, has accepted ToS 2), 2 Norm User (plain),
        3 testbot (service account of 1), 4 Gail (admin of group 2, public name
        ``gail_custom_name``), 5 Rita (exactly one API key), 6 Tina (no API key,
        login-style token only).  Groups: 1 ``default`` (everyone), 2 ``testgroup``
        (1 and 4 as admins, 2, 3), 3 ``emptygroup``.  API keys 1-6 as recorded.
        Datasets: ``test_ds`` (view for ``default``, view+edit for ``testgroup``) and
        ``test_tos_ds`` (view for ``testgroup``, behind ToS 2 "Test ToS").

        Named tokens: ``admin``, ``user``, ``user2``, ``temp`` (login-style, user 2),
        ``service_account``, ``group_admin``, ``refresh_user`` and ``nokey_temp``
        (login-style, user 6).

        Returns:
            A new seed; every call draws new tokens.
        """
        tok = {name: secrets.token_hex(16) for name in _DEFAULT_TOKEN_NAMES}
        institute = {
            "id": 1,
            "name": "Test Institute",
            "start": "2026-11-28T04:59:28.770702",
        }
        users = [
            FakeUser(
                id=1,
                name="Ada Admin",
                email="ada@example.org",
                pi="PI Ada",
                admin=True,
                created=SEED_TIME - timedelta(seconds=1),
                affiliations=[institute],
                accepted_tos=[2],
            ),
            FakeUser(id=2, name="Norm User", email="norm@example.org", pi="PI Norm"),
            FakeUser(id=3, name="testbot", email="testbot@serviceaccount", parent_id=1),
            FakeUser(
                id=4,
                name="Gail Groupadmin",
                email="gail@example.org",
                pi="PI Gail",
                custom_name="gail_custom_name",
            ),
            FakeUser(id=5, name="Rita Refresh", email="rita@example.org"),
            FakeUser(id=6, name="Tina Tokenless", email="tina@example.org"),
        ]
        memberships = [FakeMembership(user_id=uid, group_id=1) for uid in range(1, 7)]
        memberships += [
            FakeMembership(user_id=1, group_id=2, admin=True),
            FakeMembership(user_id=2, group_id=2),
            FakeMembership(user_id=3, group_id=2),
            FakeMembership(user_id=4, group_id=2, admin=True),
        ]
        keys = [
            FakeApiKey(id=1, user_id=3, token=tok["service_account"]),
            FakeApiKey(id=2, user_id=1, token=tok["admin"], description="seed-token"),
            FakeApiKey(id=3, user_id=2, token=tok["user"], description="seed-token"),
            FakeApiKey(
                id=4, user_id=4, token=tok["group_admin"], description="seed-token"
            ),
            FakeApiKey(
                id=5, user_id=5, token=tok["refresh_user"], description="seed-token"
            ),
            FakeApiKey(
                id=6, user_id=2, token=tok["user2"], description="second seed token"
            ),
        ]
        return cls(
            users=users,
            groups=[
                FakeGroup(id=1, name="default"),
                FakeGroup(id=2, name="testgroup"),
                FakeGroup(id=3, name="emptygroup"),
            ],
            memberships=memberships,
            api_keys=keys,
            login_tokens={tok["temp"]: 2, tok["nokey_temp"]: 6},
            datasets=[
                FakeDataset(
                    id=1, name="test_ds", permissions={1: ["view"], 2: ["view", "edit"]}
                ),
                FakeDataset(
                    id=2, name="test_tos_ds", permissions={2: ["view"]}, tos_id=2
                ),
            ],
            terms=[
                FakeTos(
                    id=2,
                    name="Test ToS",
                    text="<p>By using <strong>test_tos_ds</strong> you agree to "
                    "nothing at all.</p>",
                )
            ],
            named_tokens=tok,
        )


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake server received it (an entry of the request log).

    Attributes:
        method: HTTP method, e.g. ``"GET"``.
        path: Path without the query string, e.g. ``"/auth/api/v1/user"``.
        query: Raw query string without ``?`` (``""`` if none).
        headers: Request headers as sent (later duplicates win).
        body: Raw request body.
    """

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes = b""


def _add_extra_users(
    seed: FakeSeed, extra_users: int, group_members: int
) -> int | None:
    """Append generated users (and optionally a group of them) to ``seed``.

    Args:
        seed: The seed to extend in place.
        extra_users: How many users to add.
        group_members: How many of the added users to put into a new group.

    Returns:
        The id of the new group, or ``None`` when ``group_members`` is 0.
    """
    count = max(extra_users, group_members)
    first = max((u.id for u in seed.users), default=0) + 1
    default_group = next((g.id for g in seed.groups if g.name == "default"), None)
    new_ids = list(range(first, first + count))
    for uid in new_ids:
        seed.users.append(
            FakeUser(id=uid, name=f"Extra User {uid}", email=f"extra{uid}@example.org")
        )
        if default_group is not None:
            seed.memberships.append(FakeMembership(user_id=uid, group_id=default_group))
    if group_members == 0:
        return None
    group_id = max((g.id for g in seed.groups), default=0) + 1
    seed.groups.append(FakeGroup(id=group_id, name="biggroup"))
    for uid in new_ids[:group_members]:
        seed.memberships.append(FakeMembership(user_id=uid, group_id=group_id))
    return group_id


# ------------------------------------------------------------- request, response


@dataclass
class _Request:
    """What the application needs of an HTTP request."""

    method: str
    path: str
    query: str
    headers: dict[str, str]  # lower-case names, stripped values, first one wins
    body: bytes
    url: str  # Flask's request.url: http://<Host><path>[?<query>]

    @property
    def args(self) -> dict[str, str]:
        """Query arguments, first value of each (like ``flask.request.args.get``)."""
        out: dict[str, str] = {}
        for key, value in parse_qsl(self.query, keep_blank_values=True):
            out.setdefault(key, value)
        return out

    def cookie(self, name: str) -> str | None:
        """The first cookie called ``name``, if any."""
        for part in self.headers.get("cookie", "").split(";"):
            key, sep, value = part.strip().partition("=")
            if sep and key == name:
                return value.strip().strip('"')
        return None

    @property
    def programmatic(self) -> bool:
        """middle_auth_client's ``is_programmatic_access``."""
        return any(
            self.headers.get(h) for h in ("authorization", "x-requested-with", "origin")
        )


@dataclass
class _Response:
    """An HTTP response before serialisation."""

    status: int
    body: bytes = b""
    content_type: str = _HTML
    headers: list[tuple[str, str]] = field(default_factory=list)
    late_headers: list[tuple[str, str]] = field(default_factory=list)
    cors: bool = True


@dataclass
class _Auth:
    """The caller, once ``auth_required`` has let the request through."""

    user: FakeUser
    token: str
    key: FakeApiKey | None


@dataclass
class _View:
    """A route handler and the guard it runs behind."""

    guard: str  # "none" | "login" | "some_admin" | "superadmin"
    fn: Callable[..., _Response]


@dataclass
class _Route:
    """A path pattern and its handlers by method."""

    pattern: re.Pattern[str]
    views: dict[str, _View]
    cors: bool = True


def _reason(status: int) -> str:
    """Werkzeug's upper-case reason phrase for ``status``."""
    if status in _REASONS:
        return _REASONS[status].upper()
    try:
        return HTTPStatus(status).phrase.upper()
    except ValueError:
        return "UNKNOWN"


def _json(
    status: int, value: object, headers: list[tuple[str, str]] | None = None
) -> _Response:
    """A response like Flask's ``jsonify``."""
    body = json.dumps(value, sort_keys=True, separators=(",", ":")) + "\n"
    return _Response(status, body.encode(), _JSON, list(headers or []))


def _text(status: int, text: str) -> _Response:
    """A response like ``flask.Response(text, status)``."""
    return _Response(status, text.encode())


def _error_page(status: int, headers: list[tuple[str, str]] | None = None) -> _Response:
    """Werkzeug's HTML error page for ``status``."""
    name, description = _ERRORS.get(status, (_reason(status).title(), ""))
    page = (
        f"<!doctype html>\n<html lang=en>\n<title>{status} {name}</title>\n"
        f"<h1>{name}</h1>\n<p>{description}</p>\n"
    )
    return _Response(status, page.encode(), headers=list(headers or []))


def _redirect(location: str) -> _Response:
    """A response like ``flask.redirect(location, 302)``."""
    escaped = html.escape(location)
    page = (
        "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n"
        "<h1>Redirecting...</h1>\n<p>You should be redirected automatically to the "
        f'target URL: <a href="{escaped}">{escaped}</a>. If not, click the link.\n'
    )
    return _Response(302, page.encode(), headers=[("Location", location)])


def _utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _http_date(value: datetime | None) -> str | None:
    """Flask's rendering of a datetime: ``Sat, 28 Nov 2026 04:59:28 GMT``."""
    if value is None:
        return None
    return format_datetime(_utc(value), usegmt=True)


def _now() -> datetime:
    """The current time in UTC, to the second (as the database stores it)."""
    return datetime.now(UTC).replace(microsecond=0)


def _allow(methods: set[str]) -> str:
    """An ``Allow`` header value in werkzeug's order for the recorded routes."""
    return ", ".join(m for m in _METHOD_ORDER if m in methods)


# ------------------------------------------------------------------------ pages

_PAGE_TOKENS: Final = string.Template("""\


<html translate="no">
  <head>
    <meta charset="utf-8" />
    <title>API Tokens</title>
  </head>
  <body>
    <nav>
        <span>$user_label</span
        >
    </nav>
    <main>
      <h4>API Tokens</h4>
      <ul class="collection">
$items      </ul>
      <button id="create">Create new token</button>
    </main>
    <script>
      function createToken(description) {
        return fetch("../api/v1/user/token", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ description: description }),
        });
      }
      function deleteToken(id) {
        return fetch("../api/v1/user/token/" + id, { method: "DELETE" });
      }
      function downloadToken(tokenValue, description) {
        const data = {
            token: tokenValue,
            description: description,
            middle_auth_url: "$auth_url",
        };
        const link = document.createElement("a");
        link.href = URL.createObjectURL(
          new Blob([JSON.stringify(data)], { type: "application/json" })
        );
        link.download =
          "$auth_url-cave-secret.json";
        link.click();
      }
    </script>
  </body>
</html>
""")

_PAGE_TOKEN_ITEM: Final = string.Template("""\
        <li class="collection-item">
            <div><span>token: $token</span></div>
            <div><span>description: $description</span></div>
            <button
              class="delete-token"
              data-token-id="$id"
            >delete</button>
        </li>
""")

_PAGE_TOS_FORM: Final = string.Template("""\
<html>
  <head>
    <base target="_blank" />
    <title>$name</title>
  </head>
  <body>
    <h2>$name's Terms of Service</h2>
    <span
      >Before you can access $name, you need to accept its Terms of
      Service.</span
    >
    <form
      id="form"
      action="accept"
      method="POST"
    >
      <div>
        <input type="checkbox" id="checkbox-1" />
        <label for="checkbox-1">$text</label>
      </div>

      <button id="register" class="mdc-button mdc-button--unelevated" disabled>
        Accept
      </button>
    </form>
  </body>
</html>
""")

_PAGE_MSG: Final = string.Template("""\
<html>
    <head>
        <base target="_blank">
        <title>$title</title>
    </head>
    <body>
        <h2>$title</h1>
        <span>$msg</span>
    </body>
</html>
""")

_PAGE_POST_MESSAGE: Final = """<script type="text/javascript">
        if (window.opener) {
            window.opener.postMessage("success", "*");
        }
        </script>"""


# -------------------------------------------------------------------- application


class _App:
    """The fake middle_auth application: request in, response out.

    Not thread-safe by itself; ``FakeAuthServer`` calls it under its lock.
    """

    def __init__(self, seed: FakeSeed) -> None:
        self.users = {u.id: u for u in seed.users}
        self.groups = {g.id: g for g in seed.groups}
        self.memberships = seed.memberships
        self.keys = {k.id: k for k in seed.api_keys}
        self.login_tokens = seed.login_tokens
        self.datasets = sorted(seed.datasets, key=lambda d: d.id)
        self.terms = {t.id: t for t in seed.terms}
        self.next_key_id = max(self.keys, default=0) + 1
        self.netloc = "127.0.0.1:0"
        self.routes = self._build_routes()

    # routing ---------------------------------------------------------------

    def _build_routes(self) -> list[_Route]:
        api = r"/(?:auth|sticky_auth)/api/v1"
        sticky = r"/sticky_auth"
        num = r"(?P<id>\d+)"

        def get(guard: str, fn: Callable[..., _Response]) -> dict[str, _View]:
            return {"GET": _View(guard, fn)}

        def route(
            pattern: str, views: dict[str, _View], *, cors: bool = True
        ) -> _Route:
            return _Route(re.compile(pattern), views, cors)

        return [
            route(r"/(?:auth|sticky_auth)/version", get("none", self.version)),
            route(api + "/user/me", get("login", self.user_me)),
            route(api + "/user/cache", get("login", self.my_permissions)),
            route(api + "/my_permissions", get("login", self.my_permissions)),
            route(api + "/user/missing", get("login", self.user_missing)),
            route(
                api + "/user/token",
                {
                    "GET": _View("login", self.list_tokens),
                    "POST": _View("login", self.create_token),
                },
            ),
            route(
                api + "/user/token/" + num,
                {"DELETE": _View("login", self.delete_token)},
            ),
            route(api + "/create_token", get("login", self.create_token)),
            route(api + "/refresh_token", get("login", self.refresh_token)),
            route(api + "/logout", get("login", self.logout)),
            route(api + "/user", get("some_admin", self.users_by_filter)),
            route(api + "/username", get("login", self.usernames)),
            route(api + "/user/" + num, get("login", self.user_by_id)),
            route(api + "/user/" + num + "/group", get("some_admin", self.user_groups)),
            route(
                api + "/user/" + num + "/permissions",
                get("some_admin", self.user_permissions),
            ),
            route(api + "/group/" + num, get("some_admin", self.group)),
            route(api + "/group/" + num + "/user", get("some_admin", self.group_users)),
            route(
                api + "/group/" + num + "/service_account",
                get("some_admin", self.group_service_accounts),
            ),
            route(
                api + "/service_account/" + num,
                get("superadmin", self.service_account),
            ),
            route(sticky + "/settings/tokens", get("login", self.tokens_page)),
            route(
                sticky + "/api/v1/authorize",
                {
                    "GET": _View("none", self.authorize),
                    "POST": _View("none", self.authorize),
                },
            ),
            route(
                sticky + "/api/v1/tos/" + num + "/accept",
                {
                    "GET": _View("login", self.tos_form),
                    "POST": _View("login", self.tos_accept),
                },
            ),
            route(
                r"/tosdemo/(?P<datastack>[^/]+)/(?P<permission>view|edit)",
                get("login", self.tosdemo),
                cors=False,
            ),
        ]

    def handle(self, req: _Request) -> _Response:
        """Answer one request.

        Args:
            req: The parsed request.

        Returns:
            The response, CORS headers included.
        """
        cors = req.path.startswith(("/auth/", "/sticky_auth/"))
        try:
            allowed: set[str] = set()
            response: _Response | None = None
            method = "GET" if req.method == "HEAD" else req.method
            for route in self.routes:
                match = route.pattern.fullmatch(req.path)
                if match is None:
                    continue
                cors = cors and route.cors
                allowed |= set(route.views) | {"OPTIONS"}
                if "GET" in route.views:
                    allowed.add("HEAD")
                if method in route.views:
                    response = self._run(req, route.views[method], match.groupdict())
                    break
            if response is None:
                if not allowed:
                    response = _error_page(404)
                elif req.method == "OPTIONS":
                    response = _Response(200, headers=[("Allow", _allow(allowed))])
                else:
                    response = _error_page(405, [("Allow", _allow(allowed))])
        except Exception:  # Flask turns any exception into a 500
            response = _error_page(500)
        if cors and response.cors:
            self._add_cors(req, response)
        response.headers += response.late_headers
        return response

    @staticmethod
    def _add_cors(req: _Request, response: _Response) -> None:
        """Add the headers flask-cors adds on the real server."""
        origin = req.headers.get("origin")
        response.headers.append(("Access-Control-Allow-Origin", origin or "*"))
        response.headers.append(("Access-Control-Expose-Headers", _EXPOSE_HEADERS))
        if req.method == "OPTIONS" and "access-control-request-method" in req.headers:
            requested = req.headers.get("access-control-request-headers")
            if requested:
                response.headers.append(("Access-Control-Allow-Headers", requested))
            response.headers.append(("Access-Control-Allow-Methods", _CORS_METHODS))
        if origin:
            response.headers.append(("Vary", "Origin"))

    def _run(self, req: _Request, view: _View, params: dict[str, str]) -> _Response:
        """Apply the view's guard, then call it."""
        if view.guard == "none":
            return view.fn(req, params)
        auth = self.authenticate(req)
        if isinstance(auth, _Response):
            return auth
        if view.guard == "some_admin" and not self.is_some_admin(auth.user):
            return _text(403, "Requires admin privilege.")
        if view.guard == "superadmin" and not auth.user.admin:
            return _text(403, "Requires superadmin privilege.")
        return view.fn(req, auth, params)

    # auth ------------------------------------------------------------------

    @property
    def sticky_url(self) -> str:
        """``STICKY_AUTH_URL``: where logins and ToS forms live (no scheme)."""
        return f"{self.netloc}/sticky_auth"

    def authenticate(self, req: _Request) -> _Auth | _Response:
        """middle_auth_client's ``auth_required`` (reference section 1).

        Args:
            req: The request.

        Returns:
            The caller, or the response that refuses the request.
        """
        realm = f'Bearer realm="https://{self.sticky_url}/api/v1/authorize"'
        token = req.cookie(_TOKEN_NAME)
        query_token = req.args.get(_TOKEN_NAME)
        if query_token:
            token = query_token
        header = req.headers.get("authorization")
        if header:
            if not header.startswith("Bearer "):
                error = (
                    realm + ', error="invalid_request", '
                    "error_description=\"Header must begin with 'Bearer'\""
                )
                return _json(
                    400,
                    {
                        "error": "bad_auth_header",
                        "message": "Authorization header must begin with 'Bearer'",
                    },
                    [("WWW-Authenticate", error)],
                )
            token = header.split(" ")[1]
        if req.programmatic:
            if not token:
                return _json(
                    401,
                    {
                        "error": "no_token",
                        "message": "Unauthorized - No Token Provided",
                    },
                    [("WWW-Authenticate", realm)],
                )
        elif query_token:
            kept = [
                (k, v)
                for k, v in parse_qsl(req.query, keep_blank_values=True)
                if k not in (_TOKEN_NAME, "token")
            ]
            target = req.url.partition("?")[0]
            if kept:
                target += "?" + urlencode(kept)
            response = _redirect(target)
            response.headers.append(
                ("Set-Cookie", f"{_TOKEN_NAME}={query_token}; Secure; HttpOnly; Path=/")
            )
            return response
        found = self.lookup(token) if token else None
        if found is not None:
            return found
        if not req.programmatic:
            return _redirect(
                f"https://{self.sticky_url}/api/v1/authorize?redirect={quote(req.url)}"
            )
        error = (
            realm + ', error="invalid_token", error_description="Invalid/Expired Token"'
        )
        return _json(
            401,
            {
                "error": "invalid_token",
                "message": "Unauthorized - Token is Invalid or Expired",
            },
            [("WWW-Authenticate", error)],
        )

    def lookup(self, token: str) -> _Auth | None:
        """Find the user of ``token``; an API key's ``last_used`` is bumped."""
        user_id = self.login_tokens.get(token)
        if user_id is not None:
            user = self.users.get(user_id)
            return _Auth(user, token, None) if user else None
        for key in self.keys.values():
            if key.token == token:
                user = self.users.get(key.user_id)
                if user is None:
                    return None
                key.last_used = key.updated = _now()
                return _Auth(user, token, key)
        return None

    def is_some_admin(self, user: FakeUser) -> bool:
        """``requires_some_admin``: superadmin, group admin or service account."""
        return (
            user.admin
            or user.parent_id is not None
            or any(m.admin for m in self.memberships if m.user_id == user.id)
        )

    # model helpers ---------------------------------------------------------

    def normal_user(self, user_id: int) -> FakeUser | None:
        """``User.user_get_by_id``: a user that is not a service account."""
        user = self.users.get(user_id)
        return user if user is not None and user.parent_id is None else None

    def user_dict(self, user: FakeUser, *, full: bool = False) -> dict[str, Any]:
        """``User.as_dict(full)``."""
        out: dict[str, Any] = {
            "id": user.id,
            "service_account": user.parent_id is not None,
            "name": user.custom_name or user.name,
            "created": _http_date(user.created),
            "pi": user.pi,
            "affiliations": [copy.deepcopy(user.affiliations)],
        }
        if full:
            out["gdpr_consent"] = user.gdpr_consent
            out["admin_datasets"] = []
            out["admin"] = user.admin
            out["email"] = user.email
            if user.parent_id is not None:
                parent = self.normal_user(user.parent_id)
                out["parent_id"] = user.parent_id
                out["parent"] = self.user_dict(parent) if parent else None
        return out

    def group_ids(self, user: FakeUser) -> list[int]:
        """Ids of the groups ``user`` belongs to, ascending."""
        return sorted({m.group_id for m in self.memberships if m.user_id == user.id})

    def permissions(self, user: FakeUser) -> dict[str, tuple[FakeDataset, list[str]]]:
        """Dataset name -> (dataset, permission names), ignoring ToS."""
        groups = self.group_ids(user)
        out: dict[str, tuple[FakeDataset, list[str]]] = {}
        for dataset in self.datasets:
            names: list[str] = []
            for group_id in groups:
                for name in dataset.permissions.get(group_id, []):
                    if name not in names:
                        names.append(name)
            if names:
                out[dataset.name] = (dataset, names)
        return out

    def accepted(self, user: FakeUser, tos_id: int) -> bool:
        """Whether ``user`` (or, for a service account, its parent) accepted it."""
        owner = self.users.get(user.parent_id) if user.parent_id else user
        return owner is not None and tos_id in owner.accepted_tos

    def missing_tos(self, user: FakeUser) -> list[dict[str, Any]]:
        """``User.datasets_missing_tos``."""
        out = []
        for dataset, _names in self.permissions(user).values():
            tos = self.terms.get(dataset.tos_id) if dataset.tos_id else None
            if tos is not None and not self.accepted(user, tos.id):
                out.append(
                    {
                        "dataset_id": dataset.id,
                        "dataset_name": dataset.name,
                        "tos_id": tos.id,
                        "tos_name": tos.name,
                    }
                )
        return out

    def cache(self, user: FakeUser) -> dict[str, Any]:
        """``User.create_cache``: the permission-cache object."""
        levels = {"none": 0, "view": 1, "edit": 2}
        ignoring = self.permissions(user)
        granted = {
            name: names
            for name, (dataset, names) in ignoring.items()
            if dataset.tos_id is None or self.accepted(user, dataset.tos_id)
        }
        groups = self.group_ids(user)
        admin_of = {
            m.group_id for m in self.memberships if m.user_id == user.id and m.admin
        }
        return {
            "id": user.id,
            "parent_id": user.parent_id,
            "service_account": user.parent_id is not None,
            "name": user.custom_name or user.name,
            "email": user.email,
            "admin": user.admin,
            "pi": user.pi,
            "affiliations": [copy.deepcopy(user.affiliations)],
            "groups": [self.groups[g].name for g in groups if g in self.groups],
            "permissions": {
                name: max(levels.get(p, 0) for p in names)
                for name, names in granted.items()
            },
            "permissions_v2": {name: list(names) for name, names in granted.items()},
            "permissions_v2_ignore_tos": {
                name: list(names) for name, (_d, names) in ignoring.items()
            },
            "missing_tos": self.missing_tos(user),
            "datasets_admin": [],
            "groups_admin": [
                self.groups[g].name
                for g in groups
                if g in admin_of and g in self.groups
            ],
        }

    def new_key(
        self, user_id: int, description: object
    ) -> tuple[str, _Response | None]:
        """``APIKey.generate``: a new API key row, or a 500 after the token exists.

        Returns:
            The new token and, when the database insert "fails", the 500 response.
        """
        token = secrets.token_hex(16)
        if isinstance(description, bool):
            description = "true" if description else "false"
        elif isinstance(description, (int, float)):
            description = str(description)
        if description is not None and (
            not isinstance(description, str) or len(description) > 120
        ):
            # Redis got the token before the INSERT failed: it works but is unlisted.
            self.login_tokens[token] = user_id
            return token, _error_page(500)
        now = _now()
        key_id = self.next_key_id
        self.next_key_id += 1
        self.keys[key_id] = FakeApiKey(
            id=key_id,
            user_id=user_id,
            token=token,
            description=description,
            created=now,
            updated=now,
        )
        return token, None

    # views -----------------------------------------------------------------

    def version(self, req: _Request, params: dict[str, str]) -> _Response:
        """``GET /version``."""
        return _text(200, _VERSION_TEXT)

    def user_me(self, req: _Request, auth: _Auth, params: dict[str, str]) -> _Response:
        """``GET /user/me``."""
        return _json(200, self.user_dict(auth.user, full=True))

    def my_permissions(
        self, req: _Request, auth: _Auth, params: dict[str, str]
    ) -> _Response:
        """``GET /my_permissions`` and ``GET /user/cache``."""
        return _json(200, self.cache(auth.user))

    def user_missing(
        self, req: _Request, auth: _Auth, params: dict[str, str]
    ) -> _Response:
        """``GET /user/missing``."""
        return _json(200, self.missing_tos(auth.user))

    def list_tokens(
        self, req: _Request, auth: _Auth, params: dict[str, str]
    ) -> _Response:
        """``GET /user/token``: the caller's API keys, newest first."""
        keys = sorted(
            (k for k in self.keys.values() if k.user_id == auth.user.id),
            key=lambda k: -k.id,
        )
        return _json(
            200,
            [
                {
                    "created": _http_date(k.created),
                    "description": k.description,
                    "id": k.id,
                    "last_used": _http_date(k.last_used),
                    "token": k.token,
                    "updated": _http_date(k.updated or k.created),
                    "user_id": k.user_id,
                }
                for k in keys
            ],
        )

    def create_token(
        self, req: _Request, auth: _Auth, params: dict[str, str]
    ) -> _Response:
        """``POST /user/token`` and ``GET /create_token``."""
        data: object = None
        mimetype = req.headers.get("content-type", "").split(";")[0].strip().lower()
        if mimetype == _JSON or (
            mimetype.startswith("application/") and mimetype.endswith("+json")
        ):
            try:
                data = json.loads(req.body)
            except ValueError:
                data = None
        data = data or {}
        if not isinstance(data, dict):
            return _error_page(500)  # "'list' object has no attribute 'get'"
        token, failure = self.new_key(auth.user.id, data.get("description"))
        return failure or _json(200, token)

    def delete_token(
        self, req: _Request, auth: _Auth, params: dict[str, str]
    ) -> _Response:
        """``DELETE /user/token/<id>``: only the caller's own keys."""
        key = self.keys.get(int(params["id"]))
        if key is None or key.user_id != auth.user.id:
            return _text(404, "Token doesn't exist")
        del self.keys[key.id]
        return _json(200, "success")

    def refresh_token(
        self, req: _Request, auth: _Auth, params: dict[str, str]
    ) -> _Response:
        """``GET /refresh_token``: replace the only key, or make a first one."""
        keys = [k for k in self.keys.values() if k.user_id == auth.user.id]
        if len(keys) > 1:
            return _text(
                400,
                "Refresh token does not work for accounts with more than one API Key",
            )
        if keys:
            keys[0].token = secrets.token_hex(16)
            keys[0].updated = _now()
            return _json(200, keys[0].token)
        token, failure = self.new_key(auth.user.id, None)
        return failure or _json(200, token)

    def logout(self, req: _Request, auth: _Auth, params: dict[str, str]) -> _Response:
        """``GET /logout``: ends a login-style token; API keys get 422."""
        if auth.key is not None:
            return _text(422, "Can't logout an API Key.")
        self.login_tokens.pop(auth.token, None)
        return _json(200, "success")

    def users_by_filter(
        self, req: _Request, auth: _Auth, params: dict[str, str]
    ) -> _Response:
        """``GET /user``: by ``id``, ``email``, ``name``, ``from``/``to``, or paged."""
        args = req.args
        ordered = sorted(self.users.values(), key=lambda u: u.id)
        normal = [u for u in ordered if u.parent_id is None]
        if args.get("id"):
            ids = {int(x) for x in args["id"].split(",") if x and x.isdigit()}
            users = [u for u in ordered if u.id in ids]
        elif args.get("email"):
            needle = args["email"].lower()
            users = [u for u in ordered if needle in u.email.lower()]
        elif args.get("name"):
            needle = args["name"].lower()
            users = [u for u in normal if needle in u.name.lower()]
        elif args.get("from") or args.get("to"):
            try:
                low = float(args["from"]) if args.get("from") else -math.inf
                high = float(args["to"]) if args.get("to") else math.inf
            except ValueError:
                return _json(200, [])
            users = [u for u in normal if low <= _utc(u.created).timestamp() <= high]
        else:
            page = int(args.get("page", "1"))
            per_page = int(args.get("per_page", "20"))
            if page < 1 or per_page < 1:
                return _error_page(404)
            items = normal[(page - 1) * per_page : page * per_page]
            if not items and page != 1:
                return _error_page(404)
            return _json(
                200,
                {
                    "items": [self.user_dict(u) for u in items],
                    "pages": math.ceil(len(normal) / per_page),
                },
            )
        full = auth.user.admin or auth.user.parent_id is not None
        return _json(200, [self.user_dict(u, full=full) for u in users])

    def usernames(
        self, req: _Request, auth: _Auth, params: dict[str, str]
    ) -> _Response:
        """``GET /username?id=...``: a non-numeric id is an unhandled 500."""
        raw = req.args.get("id")
        ids = {int(x) for x in raw.split(",") if x} if raw else set()
        return _json(
            200,
            [
                {"id": u.id, "name": u.custom_name or u.name}
                for u in sorted(self.users.values(), key=lambda u: u.id)
                if u.id in ids
            ],
        )

    def user_by_id(
        self, req: _Request, auth: _Auth, params: dict[str, str]
    ) -> _Response:
        """``GET /user/<id>``: any caller; full record for admins/service accounts."""
        user = self.normal_user(int(params["id"]))
        if user is None:
            return _text(404, "User doesn't exist")
        full = auth.user.admin or auth.user.parent_id is not None
        return _json(200, self.user_dict(user, full=full))

    def user_groups(
        self, req: _Request, auth: _Auth, params: dict[str, str]
    ) -> _Response:
        """``GET /user/<id>/group``."""
        user = self.normal_user(int(params["id"]))
        if user is None:
            return _text(404, "User doesn't exist")
        return _json(
            200,
            [
                {"id": g, "name": self.groups[g].name}
                for g in self.group_ids(user)
                if g in self.groups
            ],
        )

    def user_permissions(
        self, req: _Request, auth: _Auth, params: dict[str, str]
    ) -> _Response:
        """``GET /user/<id>/permissions``."""
        user = self.normal_user(int(params["id"]))
        if user is None:
            return _text(404, "User doesn't exist")
        return _json(200, self.cache(user))

    def group(self, req: _Request, auth: _Auth, params: dict[str, str]) -> _Response:
        """``GET /group/<id>``."""
        group = self.groups.get(int(params["id"]))
        if group is None:
            return _text(404, "Group doesn't exist")
        return _json(200, {"id": group.id, "name": group.name})

    def _members(
        self, group_id: int, *, service_accounts: bool
    ) -> list[tuple[FakeUser, bool]]:
        """Members of a group (normal users or service accounts) with admin flag."""
        found: dict[int, tuple[FakeUser, bool]] = {}
        for m in self.memberships:
            user = self.users.get(m.user_id)
            if m.group_id != group_id or user is None:
                continue
            if (user.parent_id is not None) == service_accounts:
                found[user.id] = (user, m.admin)
        return [found[k] for k in sorted(found)]

    def group_users(
        self, req: _Request, auth: _Auth, params: dict[str, str]
    ) -> _Response:
        """``GET /group/<id>/user``: raw names, ``[]`` for an unknown group."""
        members = self._members(int(params["id"]), service_accounts=False)
        return _json(
            200, [{"admin": admin, "id": u.id, "name": u.name} for u, admin in members]
        )

    def group_service_accounts(
        self, req: _Request, auth: _Auth, params: dict[str, str]
    ) -> _Response:
        """``GET /group/<id>/service_account``."""
        members = self._members(int(params["id"]), service_accounts=True)
        return _json(200, [{"id": u.id, "name": u.name} for u, _admin in members])

    def service_account(
        self, req: _Request, auth: _Auth, params: dict[str, str]
    ) -> _Response:
        """``GET /service_account/<id>`` (superadmin only)."""
        user = self.users.get(int(params["id"]))
        if user is None or user.parent_id is None:
            return _text(404, "Service account doesn't exist")
        return _json(200, self.user_dict(user, full=True))

    def tokens_page(
        self, req: _Request, auth: _Auth, params: dict[str, str]
    ) -> _Response:
        """``GET /sticky_auth/settings/tokens``: the HTML token page."""
        keys = sorted(
            (k for k in self.keys.values() if k.user_id == auth.user.id),
            key=lambda k: -k.id,
        )
        items = "".join(
            _PAGE_TOKEN_ITEM.substitute(
                token=html.escape(k.token),
                description=html.escape(k.description or ""),
                id=k.id,
            )
            for k in keys
        )
        user = auth.user
        page = _PAGE_TOKENS.substitute(
            user_label=html.escape(f"{user.custom_name or user.name} - {user.email}"),
            items=items,
            auth_url=f"{self.netloc}/auth",
        )
        return _Response(200, page.encode())

    def authorize(self, req: _Request, params: dict[str, str]) -> _Response:
        """``/sticky_auth/api/v1/authorize``: the start of the Google login."""
        callback = quote(f"https://{self.sticky_url}/api/v1/oauth2callback", safe="")
        state = "".join(
            secrets.choice(string.ascii_letters + string.digits) for _ in range(30)
        )
        url = (
            "https://accounts.google.com/o/oauth2/auth?response_type=code"
            "&client_id=dummy-client-id.apps.googleusercontent.com"
            f"&redirect_uri={callback}"
            "&scope=openid+https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fuserinfo.email"
            "+https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fuserinfo.profile"
            f"&state={state}&access_type=offline&include_granted_scopes=true"
            "&prompt=consent"
        )
        if req.headers.get("x-requested-with"):
            response = _text(200, url)
        else:
            response = _redirect(url)
        response.late_headers = self._session_cookie()
        return response

    @staticmethod
    def _session_cookie() -> list[tuple[str, str]]:
        """The headers of a Flask response that has modified the session."""
        expires = _http_date(_now() + timedelta(days=31))
        cookie = (
            f"session={secrets.token_urlsafe(32)}; Expires={expires}; HttpOnly; Path=/"
        )
        return [("Vary", "Cookie"), ("Set-Cookie", cookie)]

    def tos_form(self, req: _Request, auth: _Auth, params: dict[str, str]) -> _Response:
        """``GET /sticky_auth/api/v1/tos/<id>/accept``: the acceptance form."""
        tos = self.terms.get(int(params["id"]))
        if tos is None:
            response = _text(404, "Terms of Service does not exist")
        elif tos.id in auth.user.accepted_tos:
            response = self._already_accepted(tos)
        else:
            page = _PAGE_TOS_FORM.substitute(
                name=html.escape(tos.name, quote=False), text=tos.text
            )
            response = _Response(200, page.encode())
        response.late_headers = self._session_cookie()
        return response

    def tos_accept(
        self, req: _Request, auth: _Auth, params: dict[str, str]
    ) -> _Response:
        """``POST /sticky_auth/api/v1/tos/<id>/accept``: accept (500 as recorded)."""
        tos = self.terms.get(int(params["id"]))
        if tos is None:
            return _text(404, "Terms of Service does not exist")
        if tos.id in auth.user.accepted_tos:
            return self._already_accepted(tos)
        auth.user.accepted_tos.append(tos.id)
        if req.args.get("client") == "ng":
            return _Response(200, _PAGE_POST_MESSAGE.encode())
        return _error_page(500)  # TemplateNotFound: msg.html, after the commit

    @staticmethod
    def _already_accepted(tos: FakeTos) -> _Response:
        """The ``msg.jinja`` page for a ToS accepted before."""
        page = _PAGE_MSG.substitute(
            title=html.escape(f"{tos.name}'s Terms of Service", quote=False),
            msg="You have already accepted the Terms of Service",
        )
        return _Response(200, page.encode())

    def tosdemo(self, req: _Request, auth: _Auth, params: dict[str, str]) -> _Response:
        """``/tosdemo/<datastack>/view|edit``: middle_auth_client's permission check.

        This is what a downstream CAVE service answers (reference section 17), so
        the responses carry no CORS headers.
        """
        name, permission = params["datastack"], params["permission"]
        if not any(d.name == name for d in self.datasets):
            return self._no_cors(
                _json(
                    400,
                    {
                        "data": {
                            "auth_dataset": None,
                            "resource_namespace": "datastack",
                            "table_id": name,
                        },
                        "error": "invalid_table_id",
                        "message": "Invalid table_id for service",
                    },
                )
            )
        cache = self.cache(auth.user)
        if permission in cache["permissions_v2"].get(name, []):
            return self._no_cors(
                _json(
                    200,
                    {
                        "datastack": name,
                        "ok": True,
                        "permission": permission,
                        "user_id": auth.user.id,
                    },
                )
            )
        relevant = [
            t
            for t in cache["missing_tos"]
            if t["dataset_name"] == name
            and permission in cache["permissions_v2_ignore_tos"].get(name, [])
        ]
        if relevant:
            form = (
                f"https://{self.sticky_url}/api/v1/tos/{relevant[0]['tos_id']}/accept"
            )
            if not req.programmatic:
                return self._no_cors(_redirect(f"{form}?redirect={quote(req.url)}"))
            return self._no_cors(
                _json(
                    403,
                    {
                        "data": {
                            "tos_form_url": form,
                            "tos_id": relevant[0]["tos_id"],
                            "tos_name": relevant[0]["tos_name"],
                        },
                        "error": "missing_tos",
                        "message": (
                            "Need to accept Terms of Service to access resource."
                        ),
                    },
                )
            )
        return self._no_cors(
            _json(
                403,
                {
                    "data": {"auth_dataset": name, "required_permission": permission},
                    "error": "missing_permission",
                    "message": f"Missing permission: {permission} for dataset {name}",
                },
            )
        )

    @staticmethod
    def _no_cors(response: _Response) -> _Response:
        """Mark a response as coming from an app without flask-cors."""
        response.cors = False
        return response


# ---------------------------------------------------------------------- transport


class _HTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that can close its idle keep-alive connections."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], owner: FakeAuthServer) -> None:
        self.owner = owner
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        """Bind without the reverse DNS lookup of ``HTTPServer.server_bind``."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Remember the connection, then serve it on a thread."""
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        """Forget the connection, then close it."""
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet about clients that vanish mid-request."""

    def close_connections(self) -> None:
        """Shut down every open connection so that its thread ends now."""
        with self._connections_lock:
            connections = list(self._connections)
        for sock in connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    """Reads a request, lets ``FakeAuthServer`` answer it, writes the response."""

    protocol_version = "HTTP/1.1"
    timeout = 5

    def setup(self) -> None:
        """Turn Nagle off (one write per response); finish a TLS handshake here.

        With TLS the handshake runs on this connection's thread, under the idle
        timeout, rather than in the accept loop.
        """
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        do_handshake = getattr(self.connection, "do_handshake", None)
        if do_handshake is not None:
            do_handshake()

    def log_message(self, format: str, *args: Any) -> None:
        """Do not log requests to stderr."""

    def do_GET(self) -> None:
        """Serve GET."""
        self._serve()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET  # noqa: N815

    def _read_body(self) -> bytes:
        """The request body (``Content-Length`` or chunked)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        """Handle one parsed request line and headers."""
        owner = cast(_HTTPServer, self.server).owner
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        path, _, query = self.path.partition("?")
        record = RecordedRequest(
            method=self.command,
            path=path,
            query=query,
            headers=dict(self.headers.items()),
            body=body,
        )
        delay, action, failure = owner._admit(record)
        if delay > 0:
            time.sleep(delay)
        if action == "drop":
            self.close_connection = True
            return
        response = failure
        if response is None:
            headers: dict[str, str] = {}
            for name, value in self.headers.items():
                headers.setdefault(name.lower(), value.strip())
            host = headers.get("host") or owner._app.netloc
            request = _Request(
                method=self.command,
                path=path,
                query=query,
                headers=headers,
                body=body,
                url=f"{owner._scheme}://{host}{self.path}",
            )
            response = owner._answer(request)
        self._send(response)

    def _send(self, response: _Response) -> None:
        """Write status line, headers and body in a single write."""
        status = response.status
        length = 0 if status in (204, 304) else len(response.body)
        body = response.body if length and self.command != "HEAD" else b""
        lines = [
            f"{self.protocol_version} {status} {_reason(status)}",
            "Server: cave-auth-fakeserver",
            f"Date: {_http_date(datetime.now(UTC))}",
            f"Content-Type: {response.content_type}",
            f"Content-Length: {length}",
        ]
        lines += [f"{name}: {value}" for name, value in response.headers]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        self.wfile.write(head + body)


# ------------------------------------------------------------------ public server


class FakeAuthServer:
    """A fake middle_auth server on ``http://127.0.0.1:<free port>``.

    Routes live under ``/auth/api/v1/...`` and ``/sticky_auth/api/v1/...`` as on the
    real deployment (plus ``/auth/version``, ``/sticky_auth/settings/tokens`` and
    the ``/tosdemo/<datastack>/view|edit`` routes of a downstream service).

    Example:
        >>> with FakeAuthServer() as server:
        ...     url = server.url + "/auth/api/v1/user/me"
        ...     headers = {"Authorization": "Bearer " + server.admin_token}

    Attributes:
        big_group_id: Id of the group made by ``extra_group_members``, else ``None``.
    """

    def __init__(
        self,
        seed: FakeSeed | None = None,
        *,
        extra_users: int = 0,
        extra_group_members: int = 0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """Prepare (but do not start) a server.

        Args:
            seed: Initial data; ``None`` means ``FakeSeed.default()`` (fresh random
                tokens).  The server works on a deep copy.
            extra_users: Users to add after the seed's (ids continue from the
                highest id; named ``Extra User <id>``; members of the group called
                ``default`` when there is one), e.g. for benchmarks.
            extra_group_members: How many of those extra users to put into a new
                group ``biggroup`` (id in ``big_group_id``).  If larger than
                ``extra_users``, more users are added.
            ssl_context: A server-side TLS context (certificate loaded) to serve
                HTTPS instead of HTTP; ``url`` then starts with ``https://``.

        Raises:
            ValueError: If a count is negative.
        """
        if extra_users < 0 or extra_group_members < 0:
            raise ValueError("extra_users and extra_group_members must be >= 0")
        data = copy.deepcopy(seed) if seed is not None else FakeSeed.default()
        self.big_group_id: int | None = _add_extra_users(
            data, extra_users, extra_group_members
        )
        self._named = dict(data.named_tokens)
        self._app = _App(data)
        self._lock = threading.RLock()
        self._log: list[RecordedRequest] = []
        self._delay = 0.0
        self._drop_left = 0
        self._fail_left = 0
        self._fail_status = 503
        self._fail_body: bytes | None = None
        self._fail_headers: list[tuple[str, str]] = []
        self._ssl_context = ssl_context
        self._scheme = "http" if ssl_context is None else "https"
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle -------------------------------------------------------------

    def start(self) -> FakeAuthServer:
        """Start serving on a daemon thread (no-op if already started).

        Returns:
            The server itself.
        """
        with self._lock:
            if self._httpd is not None:
                return self
            httpd = _HTTPServer(("127.0.0.1", 0), self)
            if self._ssl_context is not None:
                httpd.socket = self._ssl_context.wrap_socket(
                    httpd.socket, server_side=True, do_handshake_on_connect=False
                )
            self._app.netloc = f"127.0.0.1:{httpd.server_address[1]}"
            thread = threading.Thread(
                target=httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"FakeAuthServer:{httpd.server_address[1]}",
                daemon=True,
            )
            self._httpd, self._thread = httpd, thread
        thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the socket and every open connection (idempotent)."""
        with self._lock:
            httpd, thread = self._httpd, self._thread
            self._httpd = self._thread = None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        httpd.close_connections()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakeAuthServer:
        """Start the server.

        Returns:
            The server itself.
        """
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        """Stop the server."""
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, ``http://127.0.0.1:PORT`` (routes start with ``/auth/...``).

        ``https://`` when the server was given an ``ssl_context``.

        Raises:
            RuntimeError: If the server is not running.
        """
        if self._httpd is None:
            raise RuntimeError("FakeAuthServer is not running; call start()")
        return f"{self._scheme}://{self._app.netloc}"

    @property
    def port(self) -> int:
        """The TCP port the server listens on.

        Raises:
            RuntimeError: If the server is not running.
        """
        return int(self.url.rsplit(":", 1)[1])

    # tokens ----------------------------------------------------------------

    def token(self, name: str) -> str:
        """A labelled token of the seed (see ``FakeSeed.named_tokens``).

        Args:
            name: The label, e.g. ``"admin"``.

        Returns:
            The token as seeded (refreshing or deleting it later does not update
            this value).

        Raises:
            KeyError: If the seed has no token with that label.
        """
        try:
            return self._named[name]
        except KeyError:
            raise KeyError(f"the seed has no token named {name!r}") from None

    @property
    def admin_token(self) -> str:
        """API key of user 1, Ada Admin (superadmin)."""
        return self.token("admin")

    @property
    def user_token(self) -> str:
        """First API key of user 2, Norm User (plain user)."""
        return self.token("user")

    @property
    def user_token2(self) -> str:
        """Second API key of user 2."""
        return self.token("user2")

    @property
    def temp_token(self) -> str:
        """Login-style token of user 2 (authenticates, no API-key row)."""
        return self.token("temp")

    @property
    def service_account_token(self) -> str:
        """API key of user 3, testbot, service account of user 1."""
        return self.token("service_account")

    @property
    def group_admin_token(self) -> str:
        """API key of user 4, Gail (admin of group 2, not superadmin)."""
        return self.token("group_admin")

    @property
    def refresh_user_token(self) -> str:
        """The only API key of user 5, Rita."""
        return self.token("refresh_user")

    @property
    def nokey_temp_token(self) -> str:
        """Login-style token of user 6, Tina, who has no API key."""
        return self.token("nokey_temp")

    @property
    def invalid_token(self) -> str:
        """A well-formed token that this server does not know."""
        return INVALID_TOKEN

    # request log -----------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the request log (every request received, in order)."""
        with self._lock:
            return list(self._log)

    @property
    def request_count(self) -> int:
        """Requests received since start or the last ``clear_log()``."""
        with self._lock:
            return len(self._log)

    def count(self, method: str, path: str) -> int:
        """How many logged requests had this method and path.

        Args:
            method: HTTP method, any case.
            path: Exact path without query string, e.g. ``"/auth/api/v1/user"``.

        Returns:
            The number of matching requests.
        """
        method = method.upper()
        with self._lock:
            return sum(1 for r in self._log if r.method == method and r.path == path)

    def clear_log(self) -> None:
        """Empty the request log."""
        with self._lock:
            self._log.clear()

    # fault switches --------------------------------------------------------

    def fail_next(
        self,
        n: int,
        status: int = 503,
        body: str | bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next ``n`` requests (any route) with an error instead.

        Args:
            n: How many requests; 0 turns the switch off.
            status: Status code to answer, e.g. 429, 500, 502, 503, 504.
            body: Body; ``None`` means werkzeug's HTML page for ``status``.
            headers: Extra headers, e.g. ``{"Retry-After": "1"}``.

        Raises:
            ValueError: If ``n`` is negative or ``status`` is not in 200..599.
        """
        if n < 0 or not 200 <= status <= 599:
            raise ValueError("need n >= 0 and 200 <= status <= 599")
        with self._lock:
            self._fail_left = n
            self._fail_status = status
            self._fail_body = body.encode() if isinstance(body, str) else body
            self._fail_headers = list((headers or {}).items())

    def drop_next(self, n: int) -> None:
        """Close the connection of the next ``n`` requests without any response.

        Args:
            n: How many requests; 0 turns the switch off.

        Raises:
            ValueError: If ``n`` is negative.
        """
        if n < 0:
            raise ValueError("n must be >= 0")
        with self._lock:
            self._drop_left = n

    def set_delay(self, seconds: float) -> None:
        """Wait this long before answering every request (0 turns it off).

        Args:
            seconds: The delay.

        Raises:
            ValueError: If ``seconds`` is negative.
        """
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        with self._lock:
            self._delay = float(seconds)

    def delay(self, seconds: float) -> None:
        """Same as ``set_delay``.

        Args:
            seconds: The delay before every answer; 0 turns it off.
        """
        self.set_delay(seconds)

    def clear_faults(self) -> None:
        """Turn off ``fail_next``, ``drop_next`` and the delay."""
        with self._lock:
            self._fail_left = self._drop_left = 0
            self._delay = 0.0

    # called by the handler threads -------------------------------------------

    def _admit(self, record: RecordedRequest) -> tuple[float, str, _Response | None]:
        """Log a request and decide its fate: ``serve``, ``fail`` or ``drop``."""
        with self._lock:
            self._log.append(record)
            if self._drop_left > 0:
                self._drop_left -= 1
                return self._delay, "drop", None
            if self._fail_left > 0:
                self._fail_left -= 1
                if self._fail_body is None:
                    failure = _error_page(self._fail_status)
                else:
                    failure = _Response(self._fail_status, self._fail_body)
                failure.headers += self._fail_headers
                return self._delay, "fail", failure
            return self._delay, "serve", None

    def _answer(self, request: _Request) -> _Response:
        """Run the application under the lock."""
        with self._lock:
            return self._app.handle(request)
