"""The loopback end of a browser login: a one-shot listener on 127.0.0.1.

This module is an edge: it listens on a loopback socket and writes one
short-lived file. It prints nothing and opens no browser; the caller hands in
an ``opener`` (``webbrowser.open`` in the CLI,
:class:`~cave_auth.testing.HeadlessBrowser` in tests and the demo).

The real server's sticky instance sends a browser to
``{server}/sticky_auth/api/v1/authorize?redirect=<URL>``; after the Google
sign-in it answers a 302 to that URL with ``middle_auth_token=<token>``
merged into the URL's own query. There is no whitelist of redirect hosts, so
``http://127.0.0.1:PORT/callback?state=RANDOM`` brings the token home.

The reasoning behind the shape:

* The listener is bound **before** the opener runs: the opener may block
  until the browser has been sent back (a headless opener does exactly
  that), so the callback is served on another thread and the result handed
  over through a lock-guarded slot and an event.
* ``state`` is 32 random bytes, URL-safe, compared with
  :func:`hmac.compare_digest`. Whoever knows it can send the listener a token
  of their own choosing, so it never appears on a command line or in an
  environment, where other local users can read it (``/proc/<pid>/cmdline``):
  the opener is handed the ``file://`` URL of a page that sends the browser
  on with ``<meta http-equiv="refresh">``, as Jupyter hides its token. The
  page is mode 0600 in a fresh directory of the system's temporary directory
  that only the user can enter (0700), and is removed when the login ends,
  however it ends. A person who opens a browser by hand is shown the address
  in the terminal.
* A callback with a wrong or missing state is answered 400 and ignored; the
  login goes on waiting for the browser. Ending the login there would let
  anyone who can reach the port break every login.
* A connection that sends nothing must not keep the callback out: each one
  gets :data:`CONNECTION_TIMEOUT` seconds to deliver its request, and at
  most :data:`MAX_CONNECTIONS` are served at once; more wait in the listen
  queue for a free slot, so a flood of connections starts no more threads.
* The browser gets a short 200 page saying to return to the terminal. It
  never shows the token, and it is sent with ``Cache-Control: no-store`` and
  ``Referrer-Policy: no-referrer``; a script drops the query from the
  address bar. The request line (which holds the token) is never logged.
* A remote browser (SSH, HPC) cannot load the loopback page, but the address
  it ended on holds the token. :func:`token_from_reply` accepts that address,
  or the bare token, as pasted text; :meth:`LoopbackListener.submit` feeds it
  to a running listener, which keeps listening meanwhile.
"""

from __future__ import annotations

import contextlib
import hmac
import html
import os
import pathlib
import secrets
import socket
import string
import sys
import tempfile
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .config import token_problem
from .errors import LoginError

__all__ = [
    "CALLBACK_PATH",
    "CONNECTION_TIMEOUT",
    "MAX_CONNECTIONS",
    "LoopbackListener",
    "authorize_url",
    "new_state",
    "receive_token",
    "token_from_reply",
]

CALLBACK_PATH = "/callback"
"""The path of the loopback URL the server redirects the browser to."""

CONNECTION_TIMEOUT = 10.0
"""Seconds a connection to the listener has to deliver its request."""

MAX_CONNECTIONS = 16
"""How many connections the listener serves at once; more wait their turn."""

_TOKEN_PARAMETERS = ("middle_auth_token", "token")

_DONE_PAGE = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cave-auth: signed in</title>
<script>history.replaceState(null, "", "/callback");</script></head>
<body style="font-family: sans-serif; margin: 3em">
<h1>Signed in</h1>
<p>cave-auth received your login. You can close this tab and return to the
terminal.</p></body></html>
"""

_IGNORED_PAGE = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cave-auth: ignored</title>
<script>history.replaceState(null, "", "/callback");</script></head>
<body style="font-family: sans-serif; margin: 3em">
<h1>Not this login</h1>
<p>This address does not carry the state of the login cave-auth is waiting
for, so it was ignored. To log in, finish the sign-in in the tab cave-auth
opened.</p></body></html>
"""

_LOGIN_PAGE = string.Template("""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="0;url=$url">
<title>cave-auth: log in</title></head>
<body style="font-family: sans-serif; margin: 3em">
<p>Taking you to the login page. If nothing happens,
<a href="$url">continue to the login page</a>.</p></body></html>
""")

_GONE_PAGE = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cave-auth</title></head>
<body style="font-family: sans-serif; margin: 3em">
<p>This login has already finished. Return to the terminal.</p></body></html>
"""

_FAILED_PAGE = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cave-auth: login failed</title>
<script>history.replaceState(null, "", "/callback");</script></head>
<body style="font-family: sans-serif; margin: 3em">
<h1>Login not completed</h1>
<p>This sign-in did not come back as cave-auth expected. Return to the
terminal for what to do next.</p></body></html>
"""


def new_state() -> str:
    """Return a fresh, unguessable ``state`` value for one login.

    Returns:
        43 URL-safe characters (32 random bytes).
    """
    return secrets.token_urlsafe(32)


def authorize_url(server_address: str, redirect: str) -> str:
    """Return the server page that starts a browser login.

    Args:
        server_address: A normalized server address (``Config.server_address``).
        redirect: Where the server sends the browser after the sign-in.

    Returns:
        ``{server}/sticky_auth/api/v1/authorize?redirect=<urlencoded redirect>``.
    """
    query = urllib.parse.urlencode({"redirect": redirect})
    return f"{server_address}/sticky_auth/api/v1/authorize?{query}"


def _state_matches(params: dict[str, list[str]], state: str) -> bool:
    got = params.get("state", [""])[-1]
    return hmac.compare_digest(got.encode(), state.encode())


def _token_in(params: dict[str, list[str]]) -> str:
    """Return the token a callback with the right state carries."""
    for name in _TOKEN_PARAMETERS:
        values = params.get(name)
        if values:
            token = values[0]
            problem = token_problem(token)
            if problem is not None:
                raise LoginError(
                    f"The login callback carried an unusable token ({problem}). "
                    "Run the login again."
                )
            return token
    raise LoginError(
        "The server sent the browser back without a token. This happens when "
        "the sign-in was cancelled, or a new account first had to choose a "
        "username or accept terms of service. Finish that in the browser, then "
        "run the login again."
    )


def _token_from_query(query: str, state: str) -> str:
    """Check the state in a pasted callback's query and return its token."""
    params = urllib.parse.parse_qs(query, keep_blank_values=True)
    if not _state_matches(params, state):
        raise LoginError(
            "The address carries a different state than this login started "
            "with, so its token was not accepted (an old browser tab, or another "
            "login's address). Paste the address the browser ended on after "
            "signing in for this login."
        )
    return _token_in(params)


def token_from_reply(text: str, state: str) -> str:
    """Return the token in what a user pasted after a remote login.

    Surrounding whitespace and quotes (as copied from a JSON page) are
    removed first.

    Args:
        text: Either the bare token, or the whole address the browser ended
            on (``http://127.0.0.1:PORT/callback?state=…&middle_auth_token=…``),
            which works even when that page could not load.
        state: The state this login started with; an address must carry it.

    Returns:
        The token.

    Raises:
        LoginError: If the text is empty, an address with another state or
            without a token, or not a usable token.
    """
    reply = text.strip().strip("\"'").strip()
    if not reply:
        raise LoginError(
            "Nothing was pasted. Paste the address the browser ended on, or "
            "the token, and press Enter."
        )
    if "://" in reply or "?" in reply or "middle_auth_token=" in reply:
        query = urllib.parse.urlsplit(reply).query or reply.partition("?")[2]
        return _token_from_query(query, state)
    problem = token_problem(reply)
    if problem is not None:
        raise LoginError(
            f"What was pasted is neither an address nor a token ({problem}). "
            "Paste the whole address from the browser's address bar, or the token."
        )
    return reply


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Connections beyond MAX_CONNECTIONS wait here; the callback among them.
    request_queue_size = 64
    listener: LoopbackListener

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _Handler)
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self.closing = threading.Event()

    def process_request(self, request: Any, client_address: Any) -> None:
        # Accept no more until a slot is free: each slot comes back within
        # CONNECTION_TIMEOUT, so the callback queued behind silent
        # connections is served within that time.
        while not self.slots.acquire(timeout=0.05):
            if self.closing.is_set():
                self.shutdown_request(request)
                return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-answer is no news; anything else is a bug.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "cave-auth"
    sys_version = ""
    timeout = CONNECTION_TIMEOUT  # for each read from the socket

    def handle(self) -> None:
        # The socket timeout bounds each read; this bounds the whole request,
        # so that a client sending a byte now and then cannot keep its slot.
        deadline = threading.Timer(CONNECTION_TIMEOUT, self._hang_up)
        deadline.start()
        try:
            super().handle()
        finally:
            deadline.cancel()

    def _hang_up(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path != CALLBACK_PATH:
            self._answer(404, b"Not found\n", "text/plain; charset=utf-8")
            return
        listener = self.server.listener
        if listener.finished:
            self._answer(410, _GONE_PAGE, "text/html; charset=utf-8")
            return
        params = urllib.parse.parse_qs(query, keep_blank_values=True)
        if not _state_matches(params, listener.state):
            # Not this login's callback (forged, or an old tab): the browser
            # this login opened may still come back.
            self._answer(400, _IGNORED_PAGE, "text/html; charset=utf-8")
            return
        try:
            token = _token_in(params)
        except LoginError as error:
            self._answer(400, _FAILED_PAGE, "text/html; charset=utf-8")
            listener._finish(error=error)
            return
        try:
            self._answer(200, _DONE_PAGE, "text/html; charset=utf-8")
        finally:  # a browser that hangs up early still brought the token
            listener._finish(token=token)

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing: the request line holds the token."""


class LoopbackListener:
    """A one-shot HTTP listener on 127.0.0.1 that receives a login callback.

    Use it as a context manager: the socket is bound on entry (so
    :attr:`redirect_url` is known before a browser is opened) and closed on
    exit. The callback is served on a daemon thread.

    Args:
        port: The port to listen on; 0 picks a free one.
        state: The state to expect; a fresh :func:`new_state` by default.

    Example:
        >>> with LoopbackListener() as listener:
        ...     listener.redirect_url.startswith("http://127.0.0.1:")
        True
    """

    def __init__(self, *, port: int = 0, state: str | None = None) -> None:
        self.state = state if state is not None else new_state()
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._token: str | None = None
        self._error: LoginError | None = None

    def __repr__(self) -> str:
        where = f"port={self.port}" if self._server is not None else "not started"
        return f"LoopbackListener({where}, done={self._done.is_set()})"

    @property
    def port(self) -> int:
        """The port the listener is bound to (after :meth:`start`)."""
        if self._server is None:
            raise LoginError("The login listener has not been started")
        return int(self._server.server_address[1])

    @property
    def redirect_url(self) -> str:
        """The loopback URL to give the server as ``redirect``, with the state."""
        query = urllib.parse.urlencode({"state": self.state})
        return f"http://127.0.0.1:{self.port}{CALLBACK_PATH}?{query}"

    def start(self) -> LoopbackListener:
        """Bind the socket and start serving on a daemon thread.

        Returns:
            The listener itself.

        Raises:
            LoginError: If the port cannot be bound (in use, or not allowed).
        """
        try:
            server = _Server(("127.0.0.1", self._port))
        except OSError as exc:
            raise LoginError(
                f"Cannot listen on 127.0.0.1 port {self._port}: {exc.strerror}. "
                "Choose another port (--port), or 0 for any free one."
            ) from None
        server.listener = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="cave-auth-login",
            daemon=True,
        )
        self._thread.start()
        return self

    @property
    def finished(self) -> bool:
        """Whether a token or an error has arrived (or the wait timed out)."""
        return self._done.is_set()

    def _finish(
        self, *, token: str | None = None, error: LoginError | None = None
    ) -> bool:
        with self._lock:
            if self._done.is_set():
                return False
            self._token, self._error = token, error
            self._done.set()
            return True

    def submit(self, text: str) -> None:
        """Hand the listener what a user pasted: an address or a token.

        The state in an address is checked. A bare token cannot carry the
        state; pasting it is the user's own statement, as with ``setup``.

        Args:
            text: The pasted text (see :func:`token_from_reply`).

        Raises:
            LoginError: If the text holds no usable token or the wrong state;
                the listener keeps waiting, so the user can try again.
        """
        self._finish(token=token_from_reply(text, self.state))

    def cancel(self, error: LoginError) -> None:
        """End the wait with ``error`` (for example, when input was closed).

        Args:
            error: What :meth:`wait` raises.
        """
        self._finish(error=error)

    def wait(self, timeout: float) -> str:
        """Wait for the callback (or a submitted reply) and return the token.

        Args:
            timeout: Seconds to wait at most.

        Returns:
            The token the browser brought back.

        Raises:
            LoginError: On a timeout or a callback without a token; the
                message says what to do next.
        """
        if not self._done.wait(timeout):
            self._finish(
                error=LoginError(
                    f"No login arrived within {timeout:g} s. Run the login again "
                    "and finish the sign-in in the browser, or paste the address "
                    "the browser ended on (use --no-browser on a remote machine), "
                    "or give a longer --timeout."
                )
            )
        with self._lock:
            if self._error is not None:
                raise self._error
            assert self._token is not None
            return self._token

    def close(self) -> None:
        """Stop serving and release the port; safe to call more than once."""
        server, self._server = self._server, None
        if server is None:
            return
        self._finish(error=LoginError("The login listener was closed"))
        server.closing.set()
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> LoopbackListener:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@contextlib.contextmanager
def _login_page(url: str) -> Iterator[str]:
    """Write a page that sends the browser to ``url``; yield its ``file://`` URL.

    The page is removed on exit, with the directory that holds it.
    """
    # mkdtemp makes the directory 0700; O_EXCL in a directory no one else can
    # enter leaves no room for a planted file or link.
    with tempfile.TemporaryDirectory(prefix="cave-auth-login-") as directory:
        path = os.path.join(directory, "login.html")
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(descriptor, "w", encoding="utf-8") as page:
            page.write(_LOGIN_PAGE.substitute(url=html.escape(url, quote=True)))
        yield pathlib.Path(path).as_uri()


def receive_token(
    server_address: str,
    opener: Callable[[str], object],
    *,
    port: int = 0,
    timeout: float = 300.0,
    listener: LoopbackListener | None = None,
) -> str:
    """Run a whole browser login and return the login token it brings back.

    The listener is bound first, then ``opener`` is called with the
    ``file://`` URL of a page that sends the browser on to the login URL (it
    may block until the browser is back), then the callback is awaited. The
    page is removed when this returns or raises.

    Args:
        server_address: A normalized server address.
        opener: Opens a URL in a browser (``webbrowser.open`` or a
            :class:`~cave_auth.testing.HeadlessBrowser`).
        port: The loopback port; 0 picks a free one.
        timeout: Seconds to wait for the callback.
        listener: A started listener to use instead of a new one (``port``
            is then ignored), so that the caller can also
            :meth:`~LoopbackListener.submit` pasted replies to it; the caller
            closes it.

    Returns:
        The login token.

    Raises:
        LoginError: On a timeout or a callback without a token.
    """
    if listener is None:
        with LoopbackListener(port=port) as own:
            return receive_token(server_address, opener, timeout=timeout, listener=own)
    with _login_page(authorize_url(server_address, listener.redirect_url)) as page:
        opener(page)
        return listener.wait(timeout)
