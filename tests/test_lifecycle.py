"""Tests for the lifecycle workflows: login, rotate_token and logout_token."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from chromium import INSTALL as CHROMIUM_INSTALL
from chromium import Chromium
from lifecycle_support import (
    DEFAULT_FILE,
    LOGIN,
    OLD,
    PREFIX,
    SERVER_FILE,
    Browser,
    HeadlessBrowser,
    TokenServer,
    config,
    saved,
    store_,
)

import cave_auth as ca
from cave_auth.errors import LoginError
from cave_auth.lifecycle import (
    default_description,
    login,
    logout_token,
    rotate_token,
    token_expiry,
)
from cave_auth.loopback import LoopbackListener
from cave_auth.testing import (
    FakeAuthServer,
    FakeRequest,
    FakeTransport,
    text_response,
)


def test_login_saves_a_verified_api_key_and_ends_the_login_token():
    """Login exchanges the login token for a key, ends it, saves the key in both files."""
    server = TokenServer()
    store = store_(None)
    result = login(config(), store, server.transport, opener=Browser(), timeout=10)
    key = result.config.token
    assert key in server.keys
    assert key != LOGIN
    assert LOGIN not in server.login_tokens
    assert result.login_token_ended
    assert result.exchanged
    assert result.user.name == "Norm User"
    assert store.files == {SERVER_FILE: {"token": key}, DEFAULT_FILE: {"token": key}}
    assert server.descriptions[key].startswith("cave-auth on ")
    assert key not in repr(result)


def test_login_without_exchange_saves_the_login_token():
    """With exchange=False the 7-day login token itself is saved and kept alive."""
    server = TokenServer()
    store = store_(None)
    result = login(
        config(), store, server.transport, opener=Browser(), timeout=10, exchange=False
    )
    assert result.config.token == LOGIN
    assert LOGIN in server.login_tokens
    assert not result.exchanged
    assert saved(store) == {LOGIN}
    assert server.transport.requests_to("POST", f"{PREFIX}/user/token") == []


def test_login_refuses_to_replace_a_saved_token_before_opening_a_browser():
    """A token already saved under the key stops login before the browser opens."""
    server = TokenServer()
    browser = Browser()
    with pytest.raises(ca.TokenKeyExistsError):
        login(config(), store_(), server.transport, opener=browser, timeout=10)
    assert browser.opened == []
    assert server.transport.requests == []


def test_login_into_a_directory_others_can_write_stops_before_the_browser(tmp_path):
    """A secrets directory others can write stops login (even with overwrite) before the browser opens."""
    tmp_path.chmod(0o770)
    server = TokenServer()
    browser = Browser()
    cfg = attrs.evolve(config(), secrets_dir=str(tmp_path))
    with pytest.raises(ca.TokenFileError, match=f"chmod 700 {tmp_path}"):
        login(cfg, ca.FileStore(), server.transport, opener=browser, overwrite=True)
    assert browser.opened == []
    assert server.transport.requests == []
    assert list(tmp_path.iterdir()) == []


def test_login_with_overwrite_replaces_the_saved_token():
    """With overwrite the new key replaces the saved one."""
    server = TokenServer()
    store = store_()
    result = login(
        config(), store, server.transport, opener=Browser(), timeout=10, overwrite=True
    )
    assert saved(store) == {result.config.token}


@pytest.mark.parametrize(
    ("browser", "timeout", "error"),
    [
        (Browser(state="forged"), 1, "No login arrived"),
        (Browser(token=None), 10, "without a token"),
    ],
)
def test_failed_callback_saves_nothing_and_calls_no_server(browser, timeout, error):
    """A wrong state (ignored while the wait lasts) or no token: LoginError, nothing changes."""
    server = TokenServer()
    store = store_(None)
    with pytest.raises(LoginError, match=error):
        login(config(), store, server.transport, opener=browser, timeout=timeout)
    assert store.files == {}
    assert server.transport.requests == []


def test_login_timeout_saves_nothing():
    """No browser coming back within the timeout is a LoginError; nothing saved."""
    store = store_(None)
    with pytest.raises(LoginError, match="No login arrived"):
        login(
            config(),
            store,
            TokenServer().transport,
            opener=lambda url: None,
            timeout=0.1,
        )
    assert store.files == {}


@pytest.mark.parametrize("step", ["POST /user/token", "GET /user/me"])
def test_login_failing_at_a_server_step_saves_nothing_and_leaves_no_key(step):
    """A failing create or verify leaves no new key behind and nothing saved."""
    server = TokenServer()
    store = store_(None)
    if step == "GET /user/me":
        original = server.handle

        def fail_key_verification(request: FakeRequest) -> Any:
            if request.path.endswith("/user/me") and request.token not in (LOGIN,):
                return text_response("boom", status=500)
            return original(request)

        server.transport = FakeTransport(handler=fail_key_verification)
    else:
        server.fail.add(step)
    with pytest.raises(ca.ServerError):
        login(config(), store, server.transport, opener=Browser(), timeout=10)
    assert store.files == {}
    assert set(server.keys) == {OLD}


def test_login_failing_to_save_deletes_the_new_key():
    """A save that fails (read-only store) deletes the key made for it."""
    server = TokenServer()
    store = store_(None, writable=False)
    with pytest.raises(ca.TokenFileError):
        login(config(), store, server.transport, opener=Browser(), timeout=10)
    assert set(server.keys) == {OLD}


def test_default_description_fits_the_server_limit():
    """The default description names host and date, within 120 characters."""
    assert default_description("lab-pc", dt.date(2026, 3, 1)) == (
        "cave-auth on lab-pc, 2026-03-01"
    )
    long = default_description("h" * 300, dt.date(2026, 3, 1))
    assert len(long) == 120
    assert long.endswith("…, 2026-03-01")


def test_rotate_saves_the_new_key_then_deletes_the_old():
    """Rotation saves a verified new key everywhere and only then deletes the old."""
    server = TokenServer()
    store = store_()
    result = rotate_token(config(), store, server.transport, description="rotated")
    new = result.config.token
    assert new in server.keys
    assert OLD not in server.keys
    assert result.old_token_ended
    assert result.problem is None
    assert saved(store) == {new}
    assert server.descriptions[new] == "rotated"
    methods = [r.method for r in server.transport.requests]
    assert methods.index("DELETE") > methods.index("POST")


def test_rotate_keep_old_leaves_the_old_key_valid():
    """With keep_old the old key is not deleted."""
    server = TokenServer()
    result = rotate_token(config(), store_(), server.transport, keep_old=True)
    assert OLD in server.keys
    assert not result.old_token_ended


@pytest.mark.parametrize("step", ["POST /user/token", "GET /user/me", "save"])
def test_rotate_failing_before_the_save_keeps_the_old_token(step):
    """If create, verify or save fails, the old token stays saved and valid; no new key remains."""
    server = TokenServer()
    store = store_(writable=step != "save")
    if step != "save":
        server.fail.add(step)
    with pytest.raises(ca.CaveAuthError):
        rotate_token(config(), store, server.transport)
    assert saved(store) == {OLD}
    assert set(server.keys) == {OLD}


def test_rotate_failing_to_delete_the_old_key_reports_it():
    """If deleting the old key fails, the new one is saved and the problem named."""
    server = TokenServer()
    server.fail.add("DELETE /user/token/<id>")
    store = store_()
    result = rotate_token(config(), store, server.transport)
    assert saved(store) == {result.config.token}
    assert not result.old_token_ended
    assert "still valid" in result.problem
    assert OLD not in result.problem
    assert OLD in server.keys


def test_rotate_from_a_login_token_ends_it():
    """A login token being rotated away is ended with /logout."""
    server = TokenServer()
    store = store_(LOGIN)
    result = rotate_token(config(), store, server.transport)
    assert LOGIN not in server.login_tokens
    assert result.old_token_ended


def test_rotate_without_a_token_is_missing_token():
    """Rotating with nothing saved says how to get a token."""
    with pytest.raises(ca.MissingTokenError):
        rotate_token(config(), store_(None), TokenServer().transport)


def test_logout_deletes_an_api_key_and_forgets_it():
    """An API key is deleted on the server and removed from both files."""
    server = TokenServer()
    store = store_()
    result = logout_token(config(), store, server.transport)
    assert OLD not in server.keys
    assert result.kind == "api key"
    assert result.ended_on_server
    assert store.files == {SERVER_FILE: {}, DEFAULT_FILE: {}}


def test_logout_ends_a_login_token_and_forgets_it():
    """A login token is ended with /logout and removed locally."""
    server = TokenServer()
    store = store_(LOGIN)
    result = logout_token(config(), store, server.transport)
    assert LOGIN not in server.login_tokens
    assert result.kind == "login token"
    assert saved(store) == {None}


def test_logout_of_a_dead_token_still_forgets_it():
    """A token the server already rejects is forgotten, and the result says so."""
    server = TokenServer()
    store = store_("d" * 32)
    result = logout_token(config(), store, server.transport)
    assert result.already_dead
    assert not result.ended_on_server
    assert result.forgotten.removed == (SERVER_FILE, DEFAULT_FILE)


def test_logout_keep_remote_only_forgets():
    """With keep_remote the server is not asked and the key stays valid."""
    server = TokenServer()
    store = store_()
    logout_token(config(), store, server.transport, keep_remote=True)
    assert OLD in server.keys
    assert server.transport.requests == []
    assert saved(store) == {None}


def test_logout_when_the_server_fails_forgets_nothing():
    """A server error (not a rejection) leaves the local files alone."""
    server = TokenServer()
    server.fail.add("GET /user/token")
    store = store_()
    with pytest.raises(ca.ServerError):
        logout_token(config(), store, server.transport)
    assert saved(store) == {OLD}


def test_token_expiry_of_an_api_key_is_none_and_never_puts_it_in_a_url():
    """An API key is found in the user's key list; no request path or query holds it."""
    server = TokenServer()
    assert token_expiry(config(token=OLD), server.transport) is None
    assert server.transport.requests
    assert all(OLD not in f"{r.url}?{r.params}" for r in server.transport.requests)


def test_token_expiry_of_a_login_token_asks_its_ttl():
    """A login token, absent from the key list, expires when its TTL says (7 days here)."""
    server = TokenServer()
    before = dt.datetime.now(dt.UTC)
    ends = token_expiry(config(token=LOGIN), server.transport)
    assert ends is not None
    assert before + dt.timedelta(days=6) < ends < before + dt.timedelta(days=8)
    assert [r.path for r in server.transport.requests if LOGIN in r.url] == [
        f"{PREFIX}/user/token/{LOGIN}/ttl"
    ]


def test_token_expiry_without_a_token_asks_nothing():
    """No token: MissingTokenError before any request."""
    server = TokenServer()
    with pytest.raises(ca.MissingTokenError):
        token_expiry(config(), server.transport)
    assert server.transport.requests == []


def test_login_accepts_a_pasted_address_through_a_given_listener():
    """A caller-owned listener can be fed the pasted address; login then saves."""
    from cave_auth.loopback import LoopbackListener

    server = TokenServer()
    store = store_(None)
    with LoopbackListener() as listener:

        def paste(url: str) -> None:
            listener.submit(f"{listener.redirect_url}&middle_auth_token={LOGIN}")

        result = login(
            config(), store, server.transport, opener=paste, listener=listener
        )
    assert saved(store) == {result.config.token}
    assert result.login_token_ended


# ---------------------------------------------------- against FakeAuthServer


@pytest.fixture
def live(tmp_path) -> Iterator[tuple[FakeAuthServer, ca.Config, ca.Urllib3Transport]]:
    """A fake auth server, a Config saving under tmp_path, and a real transport."""
    cfg = ca.Config(secrets_dir=str(tmp_path / "secrets"))
    with FakeAuthServer() as server, ca.Urllib3Transport(timeout=10) as http:
        yield server, attrs.evolve(cfg, server_address=server.url), http


def _works(server: FakeAuthServer, http: ca.Urllib3Transport, token: str) -> bool:
    try:
        ca.whoami(ca.Config(server_address=server.url, token=token), http)
    except ca.AuthenticationError:
        return False
    return True


def _files(cfg: ca.Config) -> dict[str, Any]:
    root = Path(cfg.secrets_dir)
    if not root.exists():
        return {}
    return {
        p.name: json.loads(p.read_text())
        for p in sorted(root.iterdir())
        if p.name.endswith("cave-secret.json")
    }


def _key_ids(server: FakeAuthServer, http: ca.Urllib3Transport, token: str) -> set:
    cfg = ca.Config(server_address=server.url, token=token)
    return {info.id for info in ca.get_tokens(cfg, http)}


def test_live_login_follows_the_servers_redirect_and_saves_an_api_key(live):
    """The whole login against the fake server: key saved in both files, login ended."""
    server, cfg, http = live
    browser = HeadlessBrowser()
    result = login(cfg, ca.FileStore(), http, opener=browser, timeout=10)
    key = result.config.token
    netloc = server.url.removeprefix("http://")
    assert _files(cfg) == {
        f"{netloc}-cave-secret.json": {"token": key},
        "cave-secret.json": {"token": key},
    }
    assert result.user.name == "Norm User"
    assert browser.pages[0][0] == 200
    assert key not in browser.pages[0][1]
    login_token = browser.login_token
    assert login_token != key
    assert not _works(server, http, login_token)
    listed = ca.get_tokens(result.config, http)
    assert key in {info.token for info in listed}
    assert ca.get_token_ttl(result.config, http) is None


def test_live_login_signs_in_the_servers_chosen_user(live):
    """The fake server decides who signs in; the result names that user."""
    server, cfg, http = live
    server.login_user_id = 6
    result = login(cfg, ca.FileStore(), http, opener=HeadlessBrowser(), timeout=10)
    assert result.user.name == "Tina Tokenless"


def test_live_login_keeping_the_login_token_saves_a_7_day_token(live):
    """Without the exchange the saved token is the login token, with about 7 days left."""
    _server, cfg, http = live
    browser = HeadlessBrowser()
    result = login(
        cfg, ca.FileStore(), http, opener=browser, timeout=10, exchange=False
    )
    assert result.config.token == browser.login_token
    assert 604800 - 60 < (ca.get_token_ttl(result.config, http) or 0) <= 604800
    assert browser.login_token not in {
        info.token for info in ca.get_tokens(result.config, http)
    }


def test_live_login_with_a_wrong_state_saves_nothing(live):
    """A callback carrying another state is refused; the wait ends with nothing written."""
    server, cfg, http = live
    browser = HeadlessBrowser(state="forged")
    with pytest.raises(LoginError, match="No login arrived"):
        login(cfg, ca.FileStore(), http, opener=browser, timeout=1)
    assert browser.pages[0][0] == 400
    assert _files(cfg) == {}
    assert server.count("POST", "/auth/api/v1/user/token") == 0


def _processes_showing(text: str) -> list[str]:
    """``<pid>/cmdline`` or ``<pid>/environ`` of every process whose one holds ``text``."""
    found = []
    for proc in Path("/proc").iterdir():
        for part in ("cmdline", "environ") if proc.name.isdigit() else ():
            with contextlib.suppress(OSError):
                if text.encode() in (proc / part).read_bytes():
                    found.append(f"{proc.name}/{part}")
    return found


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
def test_live_login_through_chromium_keeps_the_state_off_every_command_line(
    live, tmp_path, system_binary
):
    """Real Chromium follows the local page to the login; no process shows the state."""
    server, cfg, http = live
    chromium = Chromium(tmp_path, system_binary("chromium", CHROMIUM_INSTALL))
    pages: list[str] = []

    def opener(url: str) -> bool:
        pages.append(url)
        return chromium.open(url)

    try:
        with LoopbackListener() as listener:
            result = login(
                cfg, ca.FileStore(), http, opener=opener, timeout=60, listener=listener
            )
            showing_state = _processes_showing(listener.state)
            showing_page = _processes_showing(pages[0])
    finally:
        chromium.stop()
    assert result.user.name == "Norm User"
    assert _works(server, http, result.config.token or "")
    assert showing_state == []
    # The scan did see the browser's own command line, which holds the page.
    assert {int(entry.split("/")[0]) for entry in showing_page} >= set(chromium.pids)


def test_live_login_timeout_saves_nothing(live):
    """A browser that never comes back ends in a LoginError; nothing is written."""
    server, cfg, http = live
    with pytest.raises(LoginError, match="No login arrived"):
        login(cfg, ca.FileStore(), http, opener=lambda url: True, timeout=0.3)
    assert _files(cfg) == {}
    assert server.request_count == 0


ROTATE_STEPS = [
    ("POST", r"/auth/api/v1/user/token"),
    ("GET", r"/auth/api/v1/user/me"),
]


@pytest.mark.parametrize(("method", "path"), ROTATE_STEPS)
def test_live_rotate_failing_before_the_save_keeps_the_old_token(live, method, path):
    """Create or verify failing: the old key is still saved and works; no new key stays."""
    server, cfg, http = live
    old = server.user_token
    ca.save_token(cfg, ca.FileStore(), old)
    before = _key_ids(server, http, old)
    server.fail_next(1, 500, method=method, path=path)
    with pytest.raises(ca.CaveAuthError):
        rotate_token(cfg, ca.FileStore(), http)
    assert {v["token"] for v in _files(cfg).values()} == {old}
    assert _works(server, http, old)
    assert _key_ids(server, http, old) == before


def test_live_rotate_failing_to_save_keeps_the_old_token(live):
    """The save failing (read-only store): the old key stays and the new is deleted."""
    server, cfg, http = live
    old = server.user_token
    files = {f"{cfg.secrets_dir}/cave-secret.json": {"token": old}}
    store = ca.MemoryStore(files, writable=False)
    before = _key_ids(server, http, old)
    with pytest.raises(ca.TokenFileError):
        rotate_token(cfg, store, http)
    assert store.files == files
    assert _works(server, http, old)
    assert _key_ids(server, http, old) == before


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", r"/auth/api/v1/user/token"), ("DELETE", r"/auth/api/v1/user/token/\d+")],
)
def test_live_rotate_failing_to_end_the_old_key_says_so(live, method, path):
    """After the save, a failing list or delete leaves the old key valid and named."""
    server, cfg, http = live
    old = server.user_token
    ca.save_token(cfg, ca.FileStore(), old)
    server.fail_next(1, 500, method=method, path=path)
    result = rotate_token(cfg, ca.FileStore(), http)
    new = result.config.token
    assert {v["token"] for v in _files(cfg).values()} == {new}
    assert not result.old_token_ended
    assert "still valid" in (result.problem or "")
    assert old not in (result.problem or "")
    assert _works(server, http, old)
    assert _works(server, http, new)


def test_live_rotate_replaces_the_key_on_the_server(live):
    """A rotation that succeeds leaves only the new key working."""
    server, cfg, http = live
    old = server.refresh_user_token
    ca.save_token(cfg, ca.FileStore(), old)
    result = rotate_token(cfg, ca.FileStore(), http, description="rotated")
    assert result.old_token_ended
    assert not _works(server, http, old)
    [info] = ca.get_tokens(result.config, http)
    assert (info.token, info.description) == (result.config.token, "rotated")


def test_live_logout_of_an_api_key_deletes_it(live):
    """logout_token deletes an API key on the server and forgets it locally."""
    server, cfg, http = live
    ca.save_token(cfg, ca.FileStore(), server.user_token2)
    result = logout_token(cfg, ca.FileStore(), http)
    assert (result.kind, result.ended_on_server) == ("api key", True)
    assert not _works(server, http, server.user_token2)
    assert _works(server, http, server.user_token)
    assert all("token" not in v for v in _files(cfg).values())


def test_live_logout_of_a_login_token_ends_it(live):
    """logout_token ends a login token with /logout and forgets it locally."""
    server, cfg, http = live
    ca.save_token(cfg, ca.FileStore(), server.temp_token)
    result = logout_token(cfg, ca.FileStore(), http)
    assert (result.kind, result.ended_on_server) == ("login token", True)
    assert not _works(server, http, server.temp_token)
    assert _works(server, http, server.user_token)
    assert all("token" not in v for v in _files(cfg).values())


def test_live_logout_of_a_dead_token_still_forgets_it(live):
    """A token the server no longer knows is forgotten; the result says it was dead."""
    server, cfg, http = live
    ca.save_token(cfg, ca.FileStore(), server.invalid_token)
    result = logout_token(cfg, ca.FileStore(), http)
    assert result.already_dead
    assert all("token" not in v for v in _files(cfg).values())


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", r"/auth/api/v1/user/token"), ("GET", r"/auth/api/v1/user/me")],
)
def test_live_login_failing_exchange_saves_nothing_and_ends_the_login(
    live, method, path
):
    """If the key cannot be made or verified, nothing is saved and no token lives on."""
    server, cfg, http = live
    if method == "GET":  # the first /user/me verifies the login token: let it pass
        real_admit = server._admit
        seen = []

        def second_me_fails(record):
            if record.method == "GET" and record.path == "/auth/api/v1/user/me":
                seen.append(record)
                if len(seen) == 2:
                    server.fail_next(1, 500, method=method, path=path)
            return real_admit(record)

        server._admit = second_me_fails  # type: ignore[method-assign]
    else:
        server.fail_next(1, 500, method=method, path=path)
    before = _key_ids(server, http, server.user_token)
    browser = HeadlessBrowser()
    with pytest.raises(ca.ServerError):
        login(cfg, ca.FileStore(), http, opener=browser, timeout=10)
    assert _files(cfg) == {}
    assert not _works(server, http, browser.login_token)
    assert _key_ids(server, http, server.user_token) == before
