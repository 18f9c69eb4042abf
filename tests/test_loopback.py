"""Tests for the loopback login listener (cave_auth.loopback)."""

from __future__ import annotations

import os
import select
import socket
import stat
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from cave_auth.errors import CaveAuthError, LoginError
from cave_auth.loopback import (
    CONNECTION_TIMEOUT,
    MAX_CONNECTIONS,
    LoopbackListener,
    authorize_url,
    receive_token,
    token_from_reply,
)
from cave_auth.testing import login_page_target

LOGIN_TOKEN = "3fea0d24afc04be0778c14c861c84362"


class _Authorize(BaseHTTPRequestHandler):
    """Answers /sticky_auth/api/v1/authorize as the real server does after Google."""

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path != "/sticky_auth/api/v1/authorize":
            self.send_error(404)
            return
        redirect = urllib.parse.parse_qs(query)["redirect"][0]
        parts = urllib.parse.urlsplit(redirect)
        extra = self.server.extra  # type: ignore[attr-defined]
        merged = parts.query + ("&" + urllib.parse.urlencode(extra) if extra else "")
        self.send_response(302)
        self.send_header("Location", parts._replace(query=merged).geturl())
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""


@pytest.fixture
def stand_in() -> Iterator[ThreadingHTTPServer]:
    """A tiny loopback stand-in for the server's authorize route."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Authorize)
    server.extra = {  # type: ignore[attr-defined]
        "middle_auth_token": LOGIN_TOKEN,
        "middle_auth_url": "127.0.0.1/sticky_auth",
        "token": LOGIN_TOKEN,
    }
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _address(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


class HeadlessBrowser:
    """An opener that follows the login page with urllib, as a browser would."""

    def __init__(self) -> None:
        self.pages: list[tuple[int, dict[str, str], str]] = []
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def __call__(self, url: str) -> bool:
        if url.startswith("file:"):
            url = login_page_target(url)
        try:
            with self._opener.open(url, timeout=10) as answer:
                status, headers, body = answer.status, answer.headers, answer.read()
        except urllib.error.HTTPError as error:
            status, headers, body = error.code, error.headers, error.read()
        self.pages.append((status, dict(headers), body.decode()))
        return True


def test_whole_login_returns_the_token_and_shows_a_safe_page(stand_in):
    """The browser is sent home with the token; its page says where to go, not the token."""
    browser = HeadlessBrowser()
    token = receive_token(_address(stand_in), browser, timeout=10)
    assert token == LOGIN_TOKEN
    [(status, headers, body)] = browser.pages
    assert status == 200
    assert "return to the" in body
    assert "terminal" in body
    assert LOGIN_TOKEN not in body
    assert headers["Cache-Control"] == "no-store"
    assert headers["Referrer-Policy"] == "no-referrer"


def test_listener_is_bound_before_the_opener_runs(stand_in):
    """When the opener is called, the redirect port already accepts connections."""
    seen: list[str] = []

    def opener(url: str) -> None:
        target = urllib.parse.urlsplit(login_page_target(url))
        redirect = urllib.parse.parse_qs(target.query)["redirect"]
        port = urllib.parse.urlsplit(redirect[0]).port
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            seen.append(redirect[0])
        HeadlessBrowser()(url)

    assert receive_token(_address(stand_in), opener, timeout=10) == LOGIN_TOKEN
    assert seen
    assert seen[0].startswith("http://127.0.0.1:")
    assert "/callback?state=" in seen[0]


def test_login_url_carries_the_encoded_redirect():
    """The authorize URL is on the sticky instance and encodes the redirect."""
    url = authorize_url("https://x.org", "http://127.0.0.1:5/callback?state=ab")
    assert url == (
        "https://x.org/sticky_auth/api/v1/authorize?redirect="
        "http%3A%2F%2F127.0.0.1%3A5%2Fcallback%3Fstate%3Dab"
    )


@pytest.mark.parametrize(
    "forged",
    ["state=forged&", "", "state=&", "state=a&state=b&"],
    ids=["wrong", "missing", "empty", "repeated"],
)
def test_a_callback_without_this_logins_state_is_ignored(stand_in, forged):
    """A wrong or missing state is answered 400; the real callback still logs in."""
    browser = HeadlessBrowser()
    attacker = "a77ac4e2" * 4
    with LoopbackListener() as listener:
        browser(f"http://127.0.0.1:{listener.port}/callback?{forged}token={attacker}")
        browser(
            f"http://127.0.0.1:{listener.port}/callback?{forged}"
            f"middle_auth_token={attacker}"
        )
        assert not listener.finished
        browser(authorize_url(_address(stand_in), listener.redirect_url))
        assert listener.wait(5) == LOGIN_TOKEN
    assert [page[0] for page in browser.pages] == [400, 400, 200]
    assert "was ignored" in browser.pages[0][2]
    assert attacker not in browser.pages[0][2]


def _page_path(url: str) -> Path:
    assert url.startswith("file:///")
    return Path(urllib.request.url2pathname(urllib.parse.urlsplit(url).path))


def test_the_opener_gets_a_private_local_page_not_the_state(stand_in):
    """The opener's URL is a 0600 file in a 0700 directory; only the file holds the state."""
    seen: list[tuple[str, int, int, list[str]]] = []

    def opener(url: str) -> None:
        path = _page_path(url)
        seen.append(
            (
                url,
                stat.S_IMODE(path.stat().st_mode),
                stat.S_IMODE(path.parent.stat().st_mode),
                os.listdir(path.parent),
            )
        )
        HeadlessBrowser()(url)

    with LoopbackListener() as listener:
        assert receive_token(_address(stand_in), opener, listener=listener) == (
            LOGIN_TOKEN
        )
        state = listener.state
    [(url, file_mode, directory_mode, names)] = seen
    assert state not in url
    assert urllib.parse.quote(state) not in url
    assert file_mode == 0o600
    assert directory_mode == 0o700
    assert names == ["login.html"]
    assert not _page_path(url).parent.exists()


def test_the_page_sends_the_browser_to_the_login_address_escaped():
    """The refresh and the link both hold the authorize URL, HTML-escaped."""
    server = "http://127.0.0.1:9/a\"b<c>&d'e"
    pages: list[str] = []

    def opener(url: str) -> None:
        pages.append(_page_path(url).read_text(encoding="utf-8"))

    with LoopbackListener() as listener:
        expected = authorize_url(server, listener.redirect_url)
        with pytest.raises(LoginError):
            receive_token(server, opener, timeout=0.05, listener=listener)
    [page] = pages
    assert '"b<c>' not in page
    assert "&d'" not in page
    found = _Tags()
    found.feed(page)
    assert found.refresh == [f"0;url={expected}"]
    assert found.links == [expected]


class _Tags(HTMLParser):
    """The refresh contents and link targets of a page, unescaped."""

    def __init__(self) -> None:
        super().__init__()
        self.refresh: list[str | None] = []
        self.links: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "meta" and values.get("http-equiv") == "refresh":
            self.refresh.append(values.get("content"))
        if tag == "a":
            self.links.append(values.get("href"))


class _Interrupt(Exception):
    """Stands in for Ctrl-C (a KeyboardInterrupt would stop pytest itself)."""


@pytest.mark.parametrize("ending", ["timeout", "no token", "interrupted", "ctrl-c"])
def test_the_page_is_removed_however_the_login_ends(stand_in, ending):
    """After a failed or interrupted login, the page and its directory are gone."""
    opened: list[str] = []
    browser = HeadlessBrowser()

    def opener(url: str) -> None:
        opened.append(url)
        if ending == "no token":
            stand_in.extra = {}  # type: ignore[attr-defined]
            browser(url)
        elif ending == "interrupted":
            raise _Interrupt
        elif ending == "ctrl-c":
            raise KeyboardInterrupt

    expected: type[BaseException] = {
        "interrupted": _Interrupt,
        "ctrl-c": KeyboardInterrupt,
    }.get(ending, LoginError)
    with pytest.raises(expected):
        receive_token(_address(stand_in), opener, timeout=0.2)
    [url] = opened
    assert not _page_path(url).exists()
    assert not _page_path(url).parent.exists()


def test_callback_without_token_is_an_error(stand_in):
    """A callback with the right state but no token says why that happens."""
    stand_in.extra = {}  # type: ignore[attr-defined]
    with pytest.raises(LoginError, match="without a token") as caught:
        receive_token(_address(stand_in), HeadlessBrowser(), timeout=5)
    assert "username" in str(caught.value)
    assert isinstance(caught.value, CaveAuthError)


def test_timeout_says_what_to_do():
    """No callback within the timeout is a LoginError naming the way out."""
    with pytest.raises(LoginError, match=r"within 0\.2 s") as caught:
        receive_token("https://x.org", lambda url: None, timeout=0.2)
    assert "--no-browser" in str(caught.value)


def test_other_paths_do_not_end_the_login(stand_in):
    """A request for another path (a favicon) gets a 404 and the login goes on."""
    browser = HeadlessBrowser()
    with LoopbackListener() as listener:
        browser(f"http://127.0.0.1:{listener.port}/favicon.ico")
        assert not listener.finished
        browser(authorize_url(_address(stand_in), listener.redirect_url))
        assert listener.wait(5) == LOGIN_TOKEN
    assert [page[0] for page in browser.pages] == [404, 200]


def test_a_second_callback_after_success_is_told_the_login_is_over(stand_in):
    """The listener is one-shot: a repeated callback gets a 410 page."""
    browser = HeadlessBrowser()
    with LoopbackListener() as listener:
        browser(authorize_url(_address(stand_in), listener.redirect_url))
        browser(authorize_url(_address(stand_in), listener.redirect_url))
        assert listener.wait(5) == LOGIN_TOKEN
    assert [page[0] for page in browser.pages] == [200, 410]


def test_nothing_is_logged_to_stderr(stand_in, capfd):
    """The request line holds the token, so the listener logs nothing."""
    receive_token(_address(stand_in), HeadlessBrowser(), timeout=10)
    out, err = capfd.readouterr()
    assert LOGIN_TOKEN not in out + err
    assert err == ""


def test_busy_port_is_a_login_error():
    """A port already in use gives an error suggesting another port."""
    with LoopbackListener() as first, pytest.raises(LoginError, match="--port"):
        LoopbackListener(port=first.port).start()


def test_repr_shows_no_state_or_token(stand_in):
    """The listener's repr names the port, never the state or the token."""
    with LoopbackListener() as listener:
        HeadlessBrowser()(authorize_url(_address(stand_in), listener.redirect_url))
        listener.wait(5)
        text = repr(listener)
    assert listener.state not in text
    assert LOGIN_TOKEN not in text
    assert "done=True" in text


@pytest.mark.parametrize(
    "pasted",
    [
        LOGIN_TOKEN,
        f"  {LOGIN_TOKEN}\n",
        f'"{LOGIN_TOKEN}"',
        f"'{LOGIN_TOKEN}'",
    ],
)
def test_pasted_token_is_accepted_without_quotes(pasted):
    """A pasted bare token is stripped of whitespace and JSON quotes."""
    assert token_from_reply(pasted, "s") == LOGIN_TOKEN


def test_pasted_address_is_accepted_with_the_right_state():
    """The whole address the browser ended on gives the token, state checked."""
    address = (
        "http://127.0.0.1:41234/callback?state=abc"
        f"&middle_auth_token={LOGIN_TOKEN}&middle_auth_url=x.org/sticky_auth"
        f"&token={LOGIN_TOKEN}"
    )
    assert token_from_reply(address, "abc") == LOGIN_TOKEN
    with pytest.raises(LoginError, match="different state"):
        token_from_reply(address, "abd")


@pytest.mark.parametrize(
    ("pasted", "message"),
    [
        ("", "Nothing was pasted"),
        ("  ''  ", "Nothing was pasted"),
        ("two words", "neither an address nor a token"),
        ("http://127.0.0.1:1/callback?state=s", "without a token"),
    ],
)
def test_unusable_paste_says_what_to_paste(pasted, message):
    """Pasted text with no usable token is a LoginError explaining what to paste."""
    with pytest.raises(LoginError, match=message):
        token_from_reply(pasted, "s")


def test_submit_completes_a_listening_login():
    """A pasted address ends the wait while the listener keeps its port."""
    with LoopbackListener() as listener:
        address = f"{listener.redirect_url}&middle_auth_token={LOGIN_TOKEN}"
        threading.Timer(0.05, listener.submit, [address]).start()
        assert listener.wait(5) == LOGIN_TOKEN


def test_bad_submit_leaves_the_listener_waiting(stand_in):
    """A wrong paste raises at once; the browser can still finish the login."""
    with LoopbackListener() as listener:
        with pytest.raises(LoginError):
            listener.submit("http://127.0.0.1:1/callback?state=wrong&token=abc")
        assert not listener.finished
        HeadlessBrowser()(authorize_url(_address(stand_in), listener.redirect_url))
        assert listener.wait(5) == LOGIN_TOKEN


def test_cancel_ends_the_wait_with_the_given_error():
    """Cancelling (input closed) makes wait raise that error."""
    with LoopbackListener() as listener:
        listener.cancel(LoginError("input closed"))
        with pytest.raises(LoginError, match="input closed"):
            listener.wait(5)


# ------------------------------------------------ connections that hold on


def _connect(listener: LoopbackListener) -> socket.socket:
    return socket.create_connection(("127.0.0.1", listener.port), timeout=5)


def _callback_request(listener: LoopbackListener) -> bytes:
    target = f"{listener.redirect_url}&middle_auth_token={LOGIN_TOKEN}"
    path = target.removeprefix(f"http://127.0.0.1:{listener.port}")
    return f"GET {path} HTTP/1.0\r\n\r\n".encode()


def _answer_of(sock: socket.socket) -> bytes:
    """Read the whole answer, until the server closes the connection."""
    chunks = []
    while chunk := sock.recv(4096):
        chunks.append(chunk)
    return b"".join(chunks)


def _still_open(sock: socket.socket) -> bool:
    """Whether the server has neither answered nor hung up on ``sock``."""
    readable, _, _ = select.select([sock], [], [], 0)
    return not readable


def test_silent_connections_do_not_hold_up_the_callback():
    """With all but one slot taken by silent connections, the callback is served at once."""
    with LoopbackListener() as listener:
        silent = [_connect(listener) for _ in range(MAX_CONNECTIONS - 1)]
        try:
            with _connect(listener) as callback:
                callback.sendall(_callback_request(listener))
                assert _answer_of(callback).startswith(b"HTTP/1.0 200")
            assert listener.wait(5) == LOGIN_TOKEN
            # Served while every silent connection was still held open.
            assert all(_still_open(sock) for sock in silent)
        finally:
            for sock in silent:
                sock.close()


def test_at_most_max_connections_are_served_at_once():
    """A connection beyond MAX_CONNECTIONS waits for a slot, then is served."""
    with LoopbackListener() as listener:
        silent = [_connect(listener) for _ in range(MAX_CONNECTIONS)]
        try:
            with _connect(listener) as callback:
                callback.sendall(_callback_request(listener))
                callback.settimeout(1)
                with pytest.raises(socket.timeout):
                    callback.recv(100)
                assert not listener.finished
                silent.pop().close()
                callback.settimeout(CONNECTION_TIMEOUT)
                assert _answer_of(callback).startswith(b"HTTP/1.0 200")
            assert listener.wait(5) == LOGIN_TOKEN
        finally:
            for sock in silent:
                sock.close()


def _trickle(sock: socket.socket, cut: list[bool]) -> None:
    """Send a request one byte at a time, never finishing it, until cut off."""
    sock.sendall(b"GET /")
    for _ in range(240):  # at most 2 minutes
        readable, _, _ = select.select([sock], [], [], 0.5)
        try:
            if readable and sock.recv(100) == b"":
                break
            sock.sendall(b"a")
        except OSError:
            break
    else:
        return
    cut.append(True)


def test_silent_and_trickling_connections_are_cut_off_for_the_callback(
    monkeypatch: pytest.MonkeyPatch,
):
    """Connections that send nothing, or a byte now and then, lose their slot in time."""
    # The same cut-off at 2 s instead of 10 s: the tricklers send a byte every
    # 0.5 s, so only the whole-request deadline can cut them.
    import cave_auth.loopback

    monkeypatch.setattr(cave_auth.loopback, "CONNECTION_TIMEOUT", 2.0)
    monkeypatch.setattr(cave_auth.loopback._Handler, "timeout", 2.0)
    half = MAX_CONNECTIONS // 2
    cut: list[bool] = []
    with LoopbackListener() as listener:
        silent = [_connect(listener) for _ in range(half)]
        tricklers = [_connect(listener) for _ in range(MAX_CONNECTIONS - half)]
        threads = [
            threading.Thread(target=_trickle, args=(sock, cut), daemon=True)
            for sock in tricklers
        ]
        for thread in threads:
            thread.start()
        try:
            with _connect(listener) as callback:
                callback.sendall(_callback_request(listener))
                callback.settimeout(6 * CONNECTION_TIMEOUT)
                assert _answer_of(callback).startswith(b"HTTP/1.0 200")
            assert listener.wait(5) == LOGIN_TOKEN
            for sock in silent:
                sock.settimeout(6 * CONNECTION_TIMEOUT)
                assert sock.recv(100) == b""  # hung up on, not answered
            for thread in threads:
                thread.join(6 * CONNECTION_TIMEOUT)
            assert len(cut) == len(tricklers)
        finally:
            for sock in silent + tricklers:
                sock.close()
