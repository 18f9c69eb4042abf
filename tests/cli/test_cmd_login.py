"""Tests for ``cave-auth login``."""

from __future__ import annotations

import io
import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from cli_support import (
    DEFAULT_FILE,
    SECRETS,
    SERVER,
    SERVER_FILE,
    me_status,
    run,
    run_live,
    secret_files,
)
from lifecycle_support import (
    LOGIN,
    OLD,
    Browser,
    HeadlessBrowser,
    TokenServer,
    saved,
    store_,
)

from cave_auth import Config, MemoryStore, whoami
from cave_auth.cli import EXIT_ERROR, EXIT_OK, main
from cave_auth.loopback import new_state
from cave_auth.testing import FakeAuthServer, login_page_target
from cave_auth.transport import Urllib3Transport


def _no_leak(result, *tokens: str) -> None:
    for token in tokens:
        assert token not in result.both


def test_login_with_a_browser_saves_an_api_key_and_names_the_user():
    """The browser comes back, a key is saved in both files; output names user and files."""
    server = TokenServer()
    store = store_(None)
    result = run("login", store=store, transport=server.transport, opener=Browser())
    assert result.code == EXIT_OK, result.err
    [key] = {s["token"] for s in store.files.values()}
    assert key in server.keys
    assert "Logged in to https://cave.example.org as Norm User" in result.out
    assert SERVER_FILE in result.out
    assert DEFAULT_FILE in result.out
    _no_leak(result, key, LOGIN)


def test_login_json_reports_masked_key_andsecret_files():
    """--json gives the kind, the masked key and the files written."""
    server = TokenServer()
    store = store_(None)
    result = run(
        "login", "--json", store=store, transport=server.transport, opener=Browser()
    )
    assert result.code == EXIT_OK
    data = json.loads(result.out)
    assert "Opened a browser" in result.err
    assert data["kind"] == "api_key"
    assert data["user"]["name"] == "Norm User"
    assert data["written"] == [SERVER_FILE, DEFAULT_FILE]
    assert "…" in data["token"]
    assert data["login_token_ended"] is True


def test_the_browser_gets_a_local_page_and_only_the_terminal_the_address():
    """The opener is handed a file:// page without the state; the address is printed."""
    browser = Browser()
    result = run(
        "login", store=store_(None), transport=TokenServer().transport, opener=browser
    )
    assert result.code == EXIT_OK, result.err
    [opened] = browser.opened
    assert opened.startswith("file:///")
    printed = re.search(r"^(https://\S+/authorize\?redirect=\S+)$", result.out, re.M)
    assert printed is not None
    assert "If no login page appears, open this address" in result.out
    redirect = urllib.parse.parse_qs(urllib.parse.urlsplit(printed[1]).query)[
        "redirect"
    ]
    state = urllib.parse.parse_qs(urllib.parse.urlsplit(redirect[0]).query)["state"][0]
    assert len(state) >= 40
    assert state not in opened
    assert browser.targets == [printed[1]]


def test_keep_login_token_saves_the_login_token():
    """--keep-login-token saves the 7-day token and makes no key."""
    server = TokenServer()
    store = store_(None)
    result = run(
        "login",
        "--keep-login-token",
        store=store,
        transport=server.transport,
        opener=Browser(),
    )
    assert result.code == EXIT_OK
    assert saved(store) == {LOGIN}
    assert "login token (valid 7 days)" in result.out


def test_a_valid_saved_token_needs_overwrite_when_not_interactive():
    """A valid saved token is not replaced without --overwrite; no browser opens."""
    server = TokenServer()
    store = store_(OLD)
    result = run("login", store=store, transport=server.transport)
    assert result.code == EXIT_ERROR
    assert "--overwrite" in result.err
    assert "Norm User" in result.err
    assert saved(store) == {OLD}
    _no_leak(result, OLD)


def test_overwrite_replaces_a_valid_saved_token():
    """--overwrite replaces the saved token with the new key."""
    server = TokenServer()
    store = store_(OLD)
    result = run(
        "login",
        "--overwrite",
        store=store,
        transport=server.transport,
        opener=Browser(),
    )
    assert result.code == EXIT_OK
    assert saved(store) != {OLD}


def test_a_rejected_saved_token_is_replaced_and_said_so():
    """A saved token the server rejects is replaced, with a line saying so."""
    server = TokenServer()
    store = store_("d" * 32)
    result = run("login", store=store, transport=server.transport, opener=Browser())
    assert result.code == EXIT_OK
    assert "rejected by the server; it will be replaced" in result.out
    assert saved(store) != {"d" * 32}


def test_timeout_is_an_error_with_advice_and_saves_nothing():
    """No browser coming back within --timeout: exit 1, advice, nothing saved."""
    store = store_(None)
    result = run(
        "login",
        "--timeout",
        "0.2",
        store=store,
        transport=TokenServer().transport,
        opener=lambda url: True,
    )
    assert result.code == EXIT_ERROR
    assert "No login arrived within 0.2 s" in result.err
    assert store.files == {}


class _PastingStdin(io.StringIO):
    """Stdin that pastes the address the browser would end on, once the URL is shown."""

    def __init__(self, stdout: io.StringIO, *, state: str | None = None) -> None:
        super().__init__()
        self.stdout = stdout
        self.state = state
        self.lines: list[str] = []

    def isatty(self) -> bool:
        return False

    def readline(self, size: int = -1) -> str:
        if self.lines:
            return self.lines.pop(0)
        for _ in range(500):
            match = re.search(
                r"^(https?://\S+authorize\S+)$", self.stdout.getvalue(), re.M
            )
            if match:
                break
            threading.Event().wait(0.01)
        else:
            return ""
        if self.state == "used":
            return ""
        query = urllib.parse.urlsplit(match.group(1)).query
        redirect = urllib.parse.parse_qs(query)["redirect"][0]
        if self.state is not None:
            bad = redirect.split("?")[0] + "?state=" + self.state
            self.lines.append(f"{redirect}&middle_auth_token={LOGIN}\n")
            self.state = "used"
            return f"{bad}&middle_auth_token={LOGIN}\n"
        self.state = "used"
        return f"{redirect}&middle_auth_token={LOGIN}&token={LOGIN}\n"


def _run_pasting(*argv: str, state: str | None = None, opener=None):
    server = TokenServer()
    store = store_(None)
    out, err = io.StringIO(), io.StringIO()

    def no_browser(url: str) -> object:
        raise AssertionError("opened a browser")

    code = main(
        [*argv, "--server", SERVER, "--secrets-dir", SECRETS],
        stdin=_PastingStdin(out, state=state),
        stdout=out,
        stderr=err,
        environ={},
        store=store,
        transport=server.transport,
        opener=opener or no_browser,
    )
    return code, out.getvalue(), err.getvalue(), store


def test_no_browser_prints_the_url_alone_and_accepts_the_pasted_address():
    """--no-browser prints the URL on its own line; the pasted address logs in."""
    code, out, err, store = _run_pasting("login", "--no-browser")
    assert code == EXIT_OK, err
    assert re.search(
        r"^https://cave\.example\.org/sticky_auth/api/v1/authorize\?redirect=\S+$",
        out,
        re.M,
    )
    assert "paste the address the browser ended on" in out
    assert len(saved(store)) == 1
    assert LOGIN not in out + err


def test_when_no_browser_opens_the_paste_flow_starts_by_itself():
    """An opener that reports failure (no browser, SSH) falls back to pasting."""
    code, out, _, store = _run_pasting("login", opener=lambda url: False)
    assert code == EXIT_OK
    assert "Open this address in a browser on any machine" in out
    assert len(saved(store)) == 1


def test_a_pasted_address_with_the_wrong_state_is_refused_then_retried():
    """A pasted address of another login is refused with a warning; the next paste works."""
    code, _, err, store = _run_pasting("login", "--no-browser", state="forged")
    assert code == EXIT_OK
    assert "different state" in err
    assert "Try again" in err
    assert len(saved(store)) == 1


def test_closed_input_in_the_paste_flow_is_an_error():
    """Stdin closing before any login arrived ends the login with advice."""
    result = run(
        "login",
        "--no-browser",
        store=MemoryStore(),
        transport=TokenServer().transport,
    )
    assert result.code == EXIT_ERROR
    assert "standard input closed before a login arrived" in result.err


# ---------------------------------------------------- against FakeAuthServer


@pytest.fixture
def live() -> Iterator[FakeAuthServer]:
    """A running fake auth server."""
    with FakeAuthServer() as server:
        yield server


def test_live_login_with_a_headless_browser(live, tmp_path):
    """cave-auth login against the fake server: the key is saved in both files."""
    browser = HeadlessBrowser()
    result = run_live(live, tmp_path, "login", opener=browser)
    assert result.code == EXIT_OK, result.err
    files = secret_files(tmp_path)
    netloc = live.url.removeprefix("http://")
    assert set(files) == {f"{netloc}-cave-secret.json", "cave-secret.json"}
    [key] = {f["token"] for f in files.values()}
    assert f"Logged in to {live.url} as Norm User" in result.out
    assert me_status(live, key) == 200
    assert me_status(live, browser.login_token) == 401
    _no_leak(result, key, browser.login_token)


def _status(url: str) -> int:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        error.close()
        return error.code


def test_live_login_ignores_forged_callbacks_that_arrive_first(live, tmp_path):
    """Another user's token sent first with a wrong or no state is refused; yours is saved."""
    attacker = live.nokey_temp_token  # a login token of Tina Tokenless
    browser = HeadlessBrowser()
    forged: list[int] = []

    def opener(url: str) -> bool:
        # Another local user finds the port (ss, /proc/net/tcp), not the state,
        # and races the browser to the callback.
        redirect = urllib.parse.parse_qs(
            urllib.parse.urlsplit(login_page_target(url)).query
        )["redirect"][0]
        port = urllib.parse.urlsplit(redirect).port
        for state in (f"state={new_state()}&", "state=&", ""):
            forged.append(
                _status(
                    f"http://127.0.0.1:{port}/callback?{state}"
                    f"middle_auth_token={attacker}&token={attacker}"
                )
            )
        return browser(url)

    result = run_live(live, tmp_path, "login", opener=opener)
    assert result.code == EXIT_OK, result.err
    assert forged == [400, 400, 400]
    assert f"Logged in to {live.url} as Norm User" in result.out
    assert "Tina" not in result.both
    saved_tokens = {v for f in secret_files(tmp_path).values() for v in f.values()}
    assert attacker not in saved_tokens
    [key] = saved_tokens
    with Urllib3Transport() as http:
        me = whoami(Config(server_address=live.url, token=key), http)
    assert me.name == "Norm User"
    _no_leak(result, key, attacker)


class _RemotePaste(io.StringIO):
    """Stdin of a user on SSH: opens the printed URL elsewhere, pastes where it ended."""

    def __init__(self, stdout: io.StringIO, *states: str | None) -> None:
        super().__init__()
        self.stdout = stdout
        self.states = list(states)
        self.browsers: list[HeadlessBrowser] = []

    def isatty(self) -> bool:
        return False

    def readline(self, size: int = -1) -> str:
        if not self.states:
            return ""
        for _ in range(500):
            found = re.search(
                r"^(http://\S+authorize\S+)$", self.stdout.getvalue(), re.M
            )
            if found:
                break
            threading.Event().wait(0.01)
        else:
            return ""
        browser = HeadlessBrowser(remote=True, state=self.states.pop(0))
        browser(found.group(1))
        self.browsers.append(browser)
        return browser.landed[-1] + "\n"


def test_live_paste_flow_through_stdin(live, tmp_path):
    """--no-browser: the URL is printed, the pasted final address logs in."""
    out = io.StringIO()
    stdin = _RemotePaste(out, None)
    result = run_live(live, tmp_path, "login", "--no-browser", stdin=stdin, stdout=out)
    assert result.code == EXIT_OK, result.err
    [key] = {f["token"] for f in secret_files(tmp_path).values()}
    assert me_status(live, key) == 200
    assert me_status(live, stdin.browsers[0].login_token) == 401
    _no_leak(result, key, stdin.browsers[0].login_token)


def test_live_paste_with_a_wrong_state_is_refused_then_the_right_one_works(
    live, tmp_path
):
    """A pasted address of another login is refused; the next paste logs in."""
    out = io.StringIO()
    stdin = _RemotePaste(out, "forged", None)
    result = run_live(live, tmp_path, "login", "--no-browser", stdin=stdin, stdout=out)
    assert result.code == EXIT_OK, result.err
    assert "different state" in result.err
    assert len(secret_files(tmp_path)) == 2
    _no_leak(result, *(b.login_token for b in stdin.browsers))


def test_live_paste_with_only_a_wrong_state_saves_nothing(live, tmp_path):
    """Only another login's address, then input closes: exit 1, nothing saved."""
    out = io.StringIO()
    stdin = _RemotePaste(out, "forged")
    result = run_live(live, tmp_path, "login", "--no-browser", stdin=stdin, stdout=out)
    assert result.code == EXIT_ERROR
    assert "standard input closed" in result.err
    assert secret_files(tmp_path) == {}


def test_live_login_timeout_saves_nothing(live, tmp_path):
    """A browser that never returns: exit 1 after --timeout, nothing saved."""
    result = run_live(
        live, tmp_path, "login", "--timeout", "0.3", opener=lambda url: True
    )
    assert result.code == EXIT_ERROR
    assert "No login arrived within 0.3 s" in result.err
    assert secret_files(tmp_path) == {}
    assert live.request_count == 0


def test_login_help_says_what_timeout_means_there() -> None:
    """The login help says --timeout is the browser wait; server calls keep 30 s."""
    result = run("login", "--help", common=False)
    assert result.code == EXIT_OK
    text = " ".join(result.out.split())
    assert "--timeout SECONDS for login: how long to wait for the browser" in text
    assert "each call to the server still gives up after 30 s" in text
    other = " ".join(run("whoami", "--help", common=False).out.split())
    assert "--timeout SECONDS give up on the server after this long" in other


@pytest.mark.parametrize("wait", ["0.5", "5", "900"])
def test_login_server_calls_keep_a_bounded_deadline(
    live, tmp_path, monkeypatch, wait
) -> None:
    """Whatever --timeout (the browser wait) is, each server call gets the 30 s deadline."""
    made: list[Urllib3Transport] = []
    real = Urllib3Transport.from_env.__func__  # type: ignore[attr-defined]

    def recording(cls: type, environ: Any, **overrides: Any) -> Urllib3Transport:
        transport = real(cls, environ, **overrides)
        made.append(transport)
        return transport

    monkeypatch.setattr(Urllib3Transport, "from_env", classmethod(recording))
    result = run_live(
        live, tmp_path, "login", "--timeout", wait, opener=HeadlessBrowser()
    )
    assert result.code == EXIT_OK, result.err
    assert [t.timeout for t in made] == [30.0]
    assert f"up to {float(wait):g} s" in result.out
