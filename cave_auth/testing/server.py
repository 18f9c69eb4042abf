"""``FakeAuthServer``: a loopback stand-in for the CAVE ``middle_auth`` server.

:class:`FakeAuthServer` serves, over plain HTTP (or HTTPS, given an
``ssl_context``) on ``127.0.0.1`` and a free port, the routes of the real server
(CAVEconnectome/middle_auth 2.30.3) that a client of the auth service meets,
and those a service asks about a request (the dataset of a service table, the
public roots: sections 39 and 40 of ``middle_auth-admin-api.md``), with the
status codes, content types, headers and bodies recorded in
``middle_auth-api.md`` (the section numbers below refer to it). It is built
from the standard library only and imports nothing from the rest of
``cave_auth``, so any test suite can use it.

This module holds the server's lifecycle (start, stop, context manager), its
labelled tokens, the request log and the fault switches (``fail_next``,
``drop_next``, ``delay``). The rest lives in one module per concern: the data
in :mod:`~cave_auth.testing.seed` and :mod:`~cave_auth.testing.backend`, the
route table and dispatch in :mod:`~cave_auth.testing.routing`, the auth guards
in :mod:`~cave_auth.testing.guards`, the JSON views in the ``views_*`` modules
(:mod:`~cave_auth.testing.views_tables` for what a service asks),
the HTML pages in :mod:`~cave_auth.testing.pages`, and the sockets in
:mod:`~cave_auth.testing.wire`.

Each server owns one application object (its ``App`` and the ``Backend``
built from a deep copy of its seed); no state is shared between servers. All
of a server's state (data, request log, fault switches) is guarded by one
re-entrant lock; the optional delay is slept outside it, so delayed requests
still run concurrently. Before the application runs, every request is appended
to the request log and the fault switches are consulted.

**Not reproduced.** Recorded cases (by section of the reference) that the fake
deliberately does not reproduce, and why:

* Section 1, the python ``requests`` walk-through: it records what a *client* does
  (a ``Secure`` cookie not sent back over http, an ``SSLError`` when following the
  302 to ``https://``).  The fake sends the same 302s and cookie; without an
  ``ssl_context`` it does not speak TLS, so following them fails for a client too,
  but no test replays it.
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
* ``/sticky_auth/api/v1/authorize`` stands in for Google (``login_user_id``): it
  signs that user in at once, so there is no Google page, no ``oauth2callback``
  (404 here), no OAuth ``state`` check and no username form for new accounts
  (admin reference, section 43 and 44). Its 302 to ``redirect`` carries the
  recorded query parameters and cookie; for ``X-Requested-With`` the 200 body
  is that URL where the real server gives Google's; a POSTed ``tos_agree``
  accepts nothing. With ``login_user_id=None`` it answers the recorded 302 to
  Google (a dummy client id, a random ``state``, the ``session`` cookie) with
  nothing behind it (section 15).
* Sections 6, 13, 14: the order of permission names inside ``permissions_v2``
  follows the seed (group order, then grant order), so Ada gets
  ``["view","edit"]`` where the recording shows ``["edit","view"]`` (PostgreSQL's
  ``GROUP BY`` order; the recording shows both orders for the same grants).
* Every case: nginx's ``Server: nginx/1.22.1`` and ``Connection: keep-alive``
  headers (the fake sends its own ``Server`` and keeps connections alive without
  saying so); dates and ids of keys made during a test come from the fake's clock
  and counter.

**Also simplified**, beyond the recording:

* ``/user/cache`` returns the copy of the permission cache kept in Redis, which can
  lag behind the database; the fake computes it fresh, so it always equals
  ``/my_permissions``.  ``/user?from=&to=`` takes Unix seconds (PostgreSQL's
  ``to_timestamp`` on the real server) and answers ``[]`` for anything else.
* Login-style tokens live 7 days from their creation (the seed's from the
  server's construction), counted by the wall clock; ``/user/token/<key>/ttl``
  counts down from 604800 as Redis does, in whole seconds.
* The ToS acceptance (``POST .../tos/<id>/accept``) answers the recorded 500
  (``TemplateNotFound``) the first time and the "already accepted" page after, and
  ``?client=ng`` the postMessage script; the session-based redirect after
  acceptance is not modelled.  Integer and boolean token descriptions are stored in
  their PostgreSQL text form.
* ``root_all_public`` with a body that is not JSON answers werkzeug's generic 400
  page (the real one names the decoding error); not recorded.
* Not modelled: read-only service accounts, the staleness of the cached
  record after a dataset or group admin is added (the fake computes it fresh),
  and every route the recording does not show (user/group/dataset/ToS
  administration, SCIM, flask-admin): those answer Flask's 404
  page, or a 405 where the fake serves the path with another method (``POST
  /user``, ``PUT /user/<id>``).  Paths outside ``/auth``, ``/sticky_auth`` and
  ``/tosdemo`` get Flask's 404 page without CORS headers (nginx would send its
  own page), and the request URL embedded in redirects is rebuilt from the
  ``Host`` header and the raw path, without werkzeug's re-quoting.
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .backend import Backend
from .messages import AppRequest, AppResponse, RecordedRequest, error_page
from .routing import App
from .seed import INVALID_TOKEN, FakeSeed, add_extra_users
from .wire import Admission, LoopbackHTTPServer

if TYPE_CHECKING:
    import ssl

__all__ = ["FakeAuthServer"]


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
        login_user_id: int | None = 2,
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
            login_user_id: The seed user that ``/sticky_auth/api/v1/authorize``
                signs in at once, standing in for Google (default 2, Norm
                User, the plain user); ``None`` answers the recorded 302 to
                Google instead.  Settable later as ``login_user_id``.

        Raises:
            ValueError: If a count is negative.
        """
        if extra_users < 0 or extra_group_members < 0:
            raise ValueError("extra_users and extra_group_members must be >= 0")
        data = copy.deepcopy(seed) if seed is not None else FakeSeed.default()
        self.big_group_id: int | None = add_extra_users(
            data, extra_users, extra_group_members
        )
        self._named = dict(data.named_tokens)
        self._app = App(Backend(data))
        self._app.backend.login_user_id = login_user_id
        self._lock = threading.RLock()
        self._log: list[RecordedRequest] = []
        self._delay = 0.0
        self._drop_left = 0
        self._fail_left = 0
        self._fail_status = 503
        self._fail_body: bytes | None = None
        self._fail_headers: list[tuple[str, str]] = []
        self._fail_method: str | None = None
        self._fail_path: re.Pattern[str] | None = None
        self._ssl_context = ssl_context
        self._scheme = "http" if ssl_context is None else "https"
        self._httpd: LoopbackHTTPServer | None = None
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
            httpd = LoopbackHTTPServer(
                ("127.0.0.1", 0),
                scheme=self._scheme,
                # Looked up per request, so that a test may wrap ``_admit``.
                admit=lambda record: self._admit(record),
                answer=self._answer,
            )
            if self._ssl_context is not None:
                httpd.socket = self._ssl_context.wrap_socket(
                    httpd.socket, server_side=True, do_handshake_on_connect=False
                )
            self._app.backend.netloc = httpd.netloc
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
        return f"{self._scheme}://{self._app.backend.netloc}"

    @property
    def port(self) -> int:
        """The TCP port the server listens on.

        Raises:
            RuntimeError: If the server is not running.
        """
        return int(self.url.rsplit(":", 1)[1])

    @property
    def login_user_id(self) -> int | None:
        """Whom a browser login signs in (``None``: the recorded 302 to Google)."""
        with self._lock:
            return self._app.backend.login_user_id

    @login_user_id.setter
    def login_user_id(self, user_id: int | None) -> None:
        with self._lock:
            self._app.backend.login_user_id = user_id

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
    def dataset_admin_token(self) -> str:
        """Login-style token of user 6, Tina, admin of dataset ``test_ds``."""
        return self.token("dataset_admin")

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
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        r"""Answer the next ``n`` requests with an error instead.

        Args:
            n: How many requests; 0 turns the switch off.
            status: Status code to answer, e.g. 429, 500, 502, 503, 504.
            body: Body; ``None`` means werkzeug's HTML page for ``status``.
            headers: Extra headers, e.g. ``{"Retry-After": "1"}``.
            method: Only requests with this method count (any case); ``None``:
                any method.
            path: Only requests whose path (without the query) fully matches
                this regular expression count, e.g.
                ``r"/auth/api/v1/user/token/\d+"``; ``None``: any path.
                Other requests are served as usual meanwhile.

        Raises:
            ValueError: If ``n`` is negative or ``status`` is not in 200..599.
        """
        if n < 0 or not 200 <= status <= 599:
            raise ValueError("need n >= 0 and 200 <= status <= 599")
        with self._lock:
            self._fail_method = None if method is None else method.upper()
            self._fail_path = None if path is None else re.compile(path)
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

    def _admit(self, record: RecordedRequest) -> Admission:
        """Log a request and decide its fate: serve, fail or drop."""
        with self._lock:
            self._log.append(record)
            if self._drop_left > 0:
                self._drop_left -= 1
                return Admission(self._delay, drop=True)
            if self._fail_left > 0 and self._fails(record):
                self._fail_left -= 1
                if self._fail_body is None:
                    failure = error_page(self._fail_status)
                else:
                    failure = AppResponse(self._fail_status, self._fail_body)
                failure.headers += self._fail_headers
                return Admission(self._delay, failure=failure)
            return Admission(self._delay)

    def _fails(self, record: RecordedRequest) -> bool:
        """Whether ``fail_next``'s method and path filters match a request."""
        return (self._fail_method is None or record.method == self._fail_method) and (
            self._fail_path is None
            or self._fail_path.fullmatch(record.path) is not None
        )

    def _answer(self, request: AppRequest) -> AppResponse:
        """Run the application under the lock."""
        with self._lock:
            return self._app.handle(request)
