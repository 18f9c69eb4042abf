"""Tests for cave_auth.ownership: whose a saved token is, and where a save goes."""

from __future__ import annotations

import pytest

import cave_auth as ca
from cave_auth.errors import TokenFileError
from cave_auth.lifecycle import login, rotate_token
from cave_auth.ownership import (
    Servers,
    owner_of,
    plan_shared,
    replace_copies,
    resolve_for_server,
    save_for_server,
)

SECRETS = "/s"
A = "https://a.example.org"
B = "http://127.0.0.1:5055"
A_FILE = f"{SECRETS}/a.example.org-cave-secret.json"
B_FILE = f"{SECRETS}/127.0.0.1:5055-cave-secret.json"
SHARED = f"{SECRETS}/cave-secret.json"
TA = "a" * 32
TB = "b" * 32
NEW = "c" * 32
SERVERS = Servers("https://global.daf-apis.com", (B,))


def cfg(server: str, **kwargs: object) -> ca.Config:
    return ca.Config(server_address=server, secrets_dir=SECRETS, **kwargs)  # type: ignore[arg-type]


def a_saved() -> ca.MemoryStore:
    """A's token saved by setup A: in A's own file and the shared file."""
    return ca.MemoryStore({A_FILE: {"token": TA}, SHARED: {"token": TA}})


def test_a_shared_token_belongs_to_the_server_whose_file_holds_it():
    """The shared file's token is A's when A's file holds it, else the default server's."""
    store = a_saved()
    assert owner_of(cfg(B), store, TA, SERVERS) == A
    assert owner_of(cfg(B), store, TB, SERVERS) == "https://global.daf-apis.com"
    assert owner_of(cfg(B), store, TB, Servers(B)) == B


def test_a_known_scheme_is_kept():
    """A file named by host and port gets the scheme of a known address."""
    assert SERVERS.address("127.0.0.1:5055") == B
    assert SERVERS.address("a.example.org") == A


def test_lookup_for_b_never_returns_as_shared_token():
    """B gets no token from a shared file holding A's; the error names A."""
    with pytest.raises(ca.MissingTokenError, match=f"holds the token of {A}"):
        resolve_for_server(cfg(B), a_saved(), SERVERS)
    assert resolve_for_server(cfg(A), a_saved(), SERVERS).token == TA
    unclaimed = ca.MemoryStore({SHARED: {"token": TB}})
    assert resolve_for_server(cfg(B), unclaimed, Servers(B)).token == TB


def test_a_token_file_is_never_passed_over():
    """A token file without the key is an error naming it, not a reason to read others."""
    store = ca.MemoryStore({A_FILE: {"token": TA}, "/t.json": {"other": TB}})
    with pytest.raises(ca.MissingTokenError, match=r"/t\.json has no key 'token'"):
        resolve_for_server(cfg(A, token_file="/t.json"), store, SERVERS)
    with pytest.raises(ca.MissingTokenError, match=r"/u\.json does not exist"):
        resolve_for_server(cfg(A, token_file="/u.json"), store, SERVERS)


@pytest.mark.parametrize(
    ("files", "server", "options", "written", "reason"),
    [
        ({}, B, {}, True, "it held no token under key 'token'"),
        ({SHARED: {"token": TB}}, B, {}, True, "it already holds this token"),
        (
            {A_FILE: {"token": TA}, SHARED: {"token": TA}},
            B,
            {},
            False,
            f"it holds the token of {A}",
        ),
        (
            {A_FILE: {"token": TA}, SHARED: {"token": TA}},
            B,
            {"make_default": True},
            True,
            "asked to make",
        ),
        (
            {A_FILE: {"token": TA}, SHARED: {"token": TA}},
            B,
            {"overwrite": True},
            True,
            "--overwrite",
        ),
        (
            {A_FILE: {"token": TA}, SHARED: {"token": TA}},
            "https://global.daf-apis.com",
            {},
            True,
            "is the default server",
        ),
        (
            {B_FILE: {"x": NEW}, SHARED: {"token": NEW}},
            B,
            {},
            True,
            "this server's previous token",
        ),
        (
            {SHARED: {"token": NEW}},
            B,
            {},
            False,
            "no server's own file (its only copy)",
        ),
        (
            {SHARED: {"token": NEW}},
            "https://global.daf-apis.com",
            {"overwrite": True},
            True,
            "asked to replace",
        ),
    ],
)
def test_the_shared_file_is_written_only_when_fit(
    files, server, options, written, reason
):
    """The shared file takes B's token only when empty, B's, for the default server, or when asked."""
    plan = plan_shared(cfg(server), ca.MemoryStore(files), TB, SERVERS, **options)
    assert (plan.write, reason in plan.reason) == (written, True), plan


def test_save_for_b_keeps_as_shared_token_and_guards_bs_own():
    """Saving for B writes B's file only; a different token of B's needs overwrite."""
    store = a_saved()
    done = save_for_server(cfg(B), store, TB, SERVERS)
    assert done.saved.written == (B_FILE,)
    assert store.files[SHARED] == {"token": TA}
    with pytest.raises(ca.TokenKeyExistsError):
        save_for_server(cfg(B), store, NEW, SERVERS)
    assert store.files[B_FILE] == {"token": TB}
    assert save_for_server(cfg(B), store, NEW, SERVERS, overwrite=True).saved.written


def test_replace_copies_covers_every_file_and_key():
    """Every copy of the old token, under any key of any file, becomes the new one."""
    store = ca.MemoryStore(
        {B_FILE: {"token": TB, "fanc": TB}, SHARED: {"token": TA, "b": TB}}
    )
    changed, failed = replace_copies(cfg(B), store, TB, NEW)
    assert sorted(changed) == [(B_FILE, "fanc"), (B_FILE, "token"), (SHARED, "b")]
    assert failed == []
    assert store.files == {
        B_FILE: {"token": NEW, "fanc": NEW},
        SHARED: {"token": TA, "b": NEW},
    }


class _StuckFile(ca.MemoryStore):
    """A store where one file cannot be written."""

    def set_secret(self, path, key, value, *, overwrite=True):
        if path.endswith("/cave-secret.json"):
            raise TokenFileError(path, "cannot be written: stuck")
        return super().set_secret(path, key, value, overwrite=overwrite)


def test_rotate_keeps_the_old_key_when_a_copy_cannot_be_replaced():
    """A copy rotate cannot replace keeps the old key valid on the server, and says where."""
    from lifecycle_support import OLD, TokenServer, config

    server = TokenServer()
    store = _StuckFile(
        {
            "/secrets/cave.example.org-cave-secret.json": {"token": OLD},
            "/secrets/cave-secret.json": {"fanc": OLD},
        }
    )
    result = rotate_token(config(), store, server.transport)
    assert not result.old_token_ended
    assert OLD in server.keys
    assert "cave-secret.json could not be replaced" in (result.problem or "")
    assert OLD not in (result.problem or "")


def test_rotate_replaces_the_old_key_under_every_name():
    """rotate_token puts the new key under every key name the old one was saved as."""
    from lifecycle_support import OLD, TokenServer, config

    server = TokenServer()
    own = "/secrets/cave.example.org-cave-secret.json"
    store = ca.MemoryStore(
        {own: {"token": OLD, "fanc": OLD}, "/secrets/cave-secret.json": {"x": "d" * 32}}
    )
    result = rotate_token(config(), store, server.transport)
    new = result.config.token
    assert result.old_token_ended
    assert store.files[own] == {"token": new, "fanc": new}
    assert store.files["/secrets/cave-secret.json"] == {"x": "d" * 32}
    assert f"{own}#fanc" in result.copies


def test_login_for_another_server_leaves_the_shared_token():
    """login() for a server that is not the default keeps another server's shared token."""
    from lifecycle_support import Browser, TokenServer, config

    server = TokenServer()
    other = "/secrets/other.org-cave-secret.json"
    store = ca.MemoryStore(
        {other: {"token": TA}, "/secrets/cave-secret.json": {"token": TA}}
    )
    result = login(config(), store, server.transport, opener=Browser(), timeout=10)
    assert store.files["/secrets/cave-secret.json"] == {"token": TA}
    assert result.shared is not None
    assert not result.shared.write
    assert result.saved.written == ("/secrets/cave.example.org-cave-secret.json",)
