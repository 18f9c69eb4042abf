"""Tests for the lifecycle workflows: login, rotate_token and logout_token."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from lifecycle_support import (
    DEFAULT_FILE,
    LOGIN,
    OLD,
    PREFIX,
    SERVER_FILE,
    Browser,
    TokenServer,
    config,
    saved,
    store_,
)

import cave_auth as ca
from cave_auth.errors import LoginError
from cave_auth.lifecycle import default_description, login, logout_token, rotate_token
from cave_auth.testing import FakeRequest, FakeTransport, text_response


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


def test_login_with_overwrite_replaces_the_saved_token():
    """With overwrite the new key replaces the saved one."""
    server = TokenServer()
    store = store_()
    result = login(
        config(), store, server.transport, opener=Browser(), timeout=10, overwrite=True
    )
    assert saved(store) == {result.config.token}


@pytest.mark.parametrize(
    ("browser", "error"),
    [
        (Browser(state="forged"), "different state"),
        (Browser(token=None), "without a token"),
    ],
)
def test_failed_callback_saves_nothing_and_calls_no_server(browser, error):
    """A wrong state or a tokenless callback is a LoginError; nothing changes."""
    server = TokenServer()
    store = store_(None)
    with pytest.raises(LoginError, match=error):
        login(config(), store, server.transport, opener=browser, timeout=10)
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


def test_login_accepts_a_pasted_address_through_a_given_listener():
    """A caller-owned listener can be fed the pasted address; login then saves."""
    from cave_auth.login import LoopbackListener

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
