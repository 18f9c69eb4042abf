"""Interoperability with the real CAVEclient package (``caveclient.auth``).

Two questions, answered against the installed CAVEclient:

* Files: a token saved by ``cave_auth`` (default file, server file, named
  key, explicit file, local-server file) is the token CAVEclient's
  ``AuthClient`` loads for the same arguments, and the other way round.
  CAVEclient expands ``~/.cloudvolume/secrets`` when it runs, so every test
  points ``HOME`` at ``tmp_path``; ``cave_auth`` gets the same directory
  through ``Config(secrets_dir=...)`` or, for its ``AuthClient``, through the
  same ``HOME`` (its ``FileStore`` expands ``~`` at I/O time too).
* Endpoints: both ``AuthClient`` classes return equal results from the same
  ``FakeAuthServer`` (CAVEclient through ``requests``, ``cave_auth`` through
  urllib3).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import cave_auth
from cave_auth import Config, FileStore
from cave_auth.testing import FakeAuthServer, HeadlessBrowser

caveclient_auth = pytest.importorskip(
    "caveclient.auth",
    reason="the interop tests compare against CAVEclient: pip install caveclient",
)

pytestmark = pytest.mark.interop

TOKEN = "0123456789abcdef0123456789abcdef"
OTHER = "fedcba9876543210fedcba9876543210"
GLOBAL = "https://global.daf-apis.com"
MINNIE = "https://minnie.example.org"
LOCAL = "https://local.example.org"


@pytest.fixture
def secrets_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point HOME at tmp_path and return the secrets directory both libraries use."""
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("CAVE_TOKEN", "CAVE_SERVER_ADDRESS", "CAVE_TOKEN_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("CLOUD_VOLUME_DIR", raising=False)
    return tmp_path / ".cloudvolume" / "secrets"


def theirs(**kwargs: Any) -> Any:
    """CAVEclient's AuthClient."""
    return caveclient_auth.AuthClient(**kwargs)


def ours(**kwargs: Any) -> cave_auth.AuthClient:
    """cave_auth's AuthClient on real files, with an empty environment."""
    return cave_auth.AuthClient(store=FileStore(), environ={}, **kwargs)


def cave_auth_save(
    secrets_dir: Path,
    token: str,
    *,
    server_address: str = GLOBAL,
    local_server: str | None = None,
    **save_kwargs: Any,
) -> None:
    """Save with the functional API, into ``secrets_dir``."""
    config = Config(
        server_address=server_address,
        secrets_dir=str(secrets_dir),
        local_server=local_server,
    )
    cave_auth.save_token(config, FileStore(), token, **save_kwargs)


def read(path: Path) -> Any:
    return json.loads(path.read_text())


# --------------------------------------------------- cave_auth writes


def test_default_save_is_loaded_by_caveclient(secrets_dir: Path) -> None:
    """A default cave_auth save is what CAVEclient loads, for this and other servers."""
    cave_auth_save(secrets_dir, TOKEN)
    assert read(secrets_dir / "cave-secret.json") == {"token": TOKEN}
    assert read(secrets_dir / "global.daf-apis.com-cave-secret.json") == {
        "token": TOKEN
    }
    assert theirs().token == TOKEN
    assert theirs(server_address=MINNIE).token == TOKEN
    assert ours().token == TOKEN


def test_default_file_only_is_loaded_by_caveclient(secrets_dir: Path) -> None:
    """A save without the server file still reaches CAVEclient via cave-secret.json."""
    cave_auth_save(secrets_dir, TOKEN, write_to_server_file=False)
    assert not (secrets_dir / "global.daf-apis.com-cave-secret.json").exists()
    assert theirs().token == TOKEN


def test_server_file_is_loaded_by_caveclient(secrets_dir: Path) -> None:
    """A token in one server's file is CAVEclient's token for that server only."""
    cave_auth_save(secrets_dir, OTHER, write_to_server_file=False)
    server_file = secrets_dir / "minnie.example.org-cave-secret.json"
    cave_auth_save(
        secrets_dir, TOKEN, server_address=MINNIE, token_file=str(server_file)
    )
    assert theirs(server_address=MINNIE).token == TOKEN
    assert theirs(server_address="minnie.example.org").token == TOKEN
    assert theirs().token == OTHER
    assert ours(server_address=MINNIE).token == TOKEN
    assert ours().token == OTHER


def test_named_key_is_loaded_by_caveclient(secrets_dir: Path) -> None:
    """A token saved under a named key is CAVEclient's token for that key."""
    cave_auth_save(secrets_dir, TOKEN)
    cave_auth_save(secrets_dir, OTHER, token_key="fanc_production")
    assert theirs(token_key="fanc_production").token == OTHER
    assert theirs().token == TOKEN
    assert ours(token_key="fanc_production").token == OTHER


def test_explicit_token_file_is_loaded_by_caveclient(
    secrets_dir: Path, tmp_path: Path
) -> None:
    """A token saved to an explicit file is what CAVEclient reads from that file."""
    path = tmp_path / "elsewhere" / "my-secret.json"
    cave_auth_save(secrets_dir, TOKEN, token_file=str(path), write_to_server_file=False)
    assert theirs(token_file=str(path)).token == TOKEN
    assert ours(token_file=str(path)).token == TOKEN


def test_local_server_file_is_loaded_by_caveclient(secrets_dir: Path) -> None:
    """The local-server file cave_auth syncs is where CAVEclient looks for it."""
    cave_auth_save(secrets_dir, TOKEN, local_server=LOCAL)
    their_client = theirs(local_server=LOCAL)
    assert read(Path(their_client.local_server_filepath)) == {"token": TOKEN}
    assert theirs(server_address=LOCAL).token == TOKEN
    assert ours(local_server=LOCAL).local_server_filepath == (
        their_client.local_server_filepath
    )


def test_auth_client_save_is_loaded_by_caveclient(secrets_dir: Path) -> None:
    """AuthClient.save_token with CAVEclient's arguments writes what CAVEclient reads."""
    # The second save adds a named key without overwrite, which CAVEclient
    # itself refuses once the server file exists (it writes that file twice);
    # cave_auth writes each file once and allows it.
    client = ours(local_server=LOCAL)
    client.save_token(TOKEN)
    client.save_token(OTHER, token_key="fanc")
    assert theirs().token == TOKEN
    assert theirs(token_key="fanc").token == OTHER
    assert theirs(server_address=LOCAL).token == TOKEN


# ---------------------------------------------------- CAVEclient writes


def test_caveclient_default_save_is_found(secrets_dir: Path) -> None:
    """A default CAVEclient save is what cave_auth resolves, with its source."""
    theirs().save_token(TOKEN)
    config = Config(secrets_dir=str(secrets_dir))
    found = cave_auth.resolve_token(config, FileStore())
    assert found is not None
    assert found.token == TOKEN
    assert found.path == str(secrets_dir / "global.daf-apis.com-cave-secret.json")
    assert ours().token == TOKEN


def test_caveclient_named_key_is_found(secrets_dir: Path) -> None:
    """A CAVEclient save under a named key is found under that key."""
    theirs().save_token(TOKEN)
    # overwrite=True: CAVEclient writes the server file twice when it is also
    # its token file, and the second write trips its own guard on a new key.
    theirs().save_token(OTHER, token_key="fanc", overwrite=True)
    config = Config(secrets_dir=str(secrets_dir), token_key="fanc")
    assert cave_auth.with_token(config, FileStore()).token == OTHER
    assert ours(token_key="fanc").token == OTHER
    assert ours().token == TOKEN


def test_caveclient_server_file_is_found(secrets_dir: Path) -> None:
    """A CAVEclient save for another server is found for that server."""
    theirs(server_address=MINNIE).save_token(TOKEN)
    config = Config(server_address=MINNIE, secrets_dir=str(secrets_dir))
    found = cave_auth.resolve_token(config, FileStore())
    assert found is not None
    assert found.path == str(secrets_dir / "minnie.example.org-cave-secret.json")
    assert ours(server_address=MINNIE).token == TOKEN


def test_caveclient_token_file_is_found(secrets_dir: Path, tmp_path: Path) -> None:
    """A CAVEclient save to an explicit file is read back from that file."""
    path = tmp_path / "elsewhere" / "my-secret.json"
    path.parent.mkdir()
    theirs().save_token(TOKEN, token_file=str(path), write_to_server_file=False)
    assert ours(token_file=str(path)).token == TOKEN


def test_caveclient_local_server_save_is_found(secrets_dir: Path) -> None:
    """CAVEclient's local-server file is the one cave_auth reads for that server."""
    theirs(local_server=LOCAL).save_token(TOKEN)
    assert ours(server_address=LOCAL).token == TOKEN
    assert ours(local_server=LOCAL).local_server_filepath == (
        theirs(local_server=LOCAL).local_server_filepath
    )


def test_overwrite_guard_matches_caveclient(secrets_dir: Path) -> None:
    """Both refuse to replace a different token without overwrite, as ValueError."""
    theirs().save_token(TOKEN)
    with pytest.raises(ValueError, match="already exists"):
        theirs().save_token(OTHER)
    with pytest.raises(ValueError, match="already exists"):
        ours().save_token(OTHER)
    ours().save_token(OTHER, overwrite=True)
    assert theirs().token == OTHER


def test_deprecated_file_is_read_by_both(secrets_dir: Path) -> None:
    """Both read the deprecated chunkedgraph-secret.json as a last resort."""
    secrets_dir.mkdir(parents=True)
    (secrets_dir / "chunkedgraph-secret.json").write_text(json.dumps({"token": TOKEN}))
    assert theirs().token == TOKEN
    assert ours().token == TOKEN


def test_cave_auth_finds_a_superset(secrets_dir: Path) -> None:
    """Where CAVEclient stops at a server file lacking the key, cave_auth goes on."""
    # CAVEclient reads only the server file once it exists; cave_auth moves on
    # to cave-secret.json when the server file lacks the key. This is the
    # documented difference: cave_auth finds a token in strictly more cases.
    secrets_dir.mkdir(parents=True)
    (secrets_dir / "global.daf-apis.com-cave-secret.json").write_text(
        json.dumps({"fanc": OTHER})
    )
    (secrets_dir / "cave-secret.json").write_text(json.dumps({"token": TOKEN}))
    assert theirs().token is None
    assert ours().token == TOKEN


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"server_address": MINNIE},
        {"token_key": "fanc"},
        {"token": OTHER},
        {"local_server": LOCAL},
    ],
)
def test_both_clients_agree_on_a_typical_layout(
    secrets_dir: Path, kwargs: dict[str, str]
) -> None:
    """For the same arguments both clients load the same token and header."""
    theirs().save_token(TOKEN)
    theirs().save_token(OTHER, token_key="fanc", overwrite=True)
    theirs(server_address=MINNIE).save_token(OTHER, overwrite=True)
    their_client, our_client = theirs(**kwargs), ours(**kwargs)
    assert our_client.token == their_client.token
    assert our_client.request_header == their_client.request_header
    assert our_client.local_server_filepath == their_client.local_server_filepath


def test_instruction_urls_match(capsys: pytest.CaptureFixture[str]) -> None:
    """The pages the instruction methods point at are CAVEclient's."""
    their_client = theirs(server_address=MINNIE, token=TOKEN)
    our_client = cave_auth.AuthClient(
        server_address=MINNIE,
        token=TOKEN,
        store=FileStore(),
        environ={},
        opener=lambda url: None,
    )
    assert our_client.get_token_page(open=False) == their_client.get_token_page(
        open=False
    )
    their_result = their_client.get_new_token()
    their_text = capsys.readouterr().out
    our_result = our_client.get_new_token()
    our_text = capsys.readouterr().out
    assert our_result is their_result is None
    their_url = next(w for w in their_text.split() if w.startswith("https://"))
    assert their_url in our_text


# ------------------------------------------------------------ endpoints


@pytest.fixture(scope="module")
def server() -> Iterator[FakeAuthServer]:
    """One fake auth server for the endpoint comparisons."""
    with FakeAuthServer() as running:
        yield running


@pytest.fixture
def clients(
    server: FakeAuthServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Any, cave_auth.AuthClient]]:
    """CAVEclient's and cave_auth's clients for the admin, on the fake server."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    their_client = theirs(server_address=server.url, token=server.admin_token)
    with cave_auth.AuthClient(
        server_address=server.url,
        token=server.admin_token,
        store=cave_auth.MemoryStore(),
        environ={},
    ) as our_client:
        yield their_client, our_client


def _without_usage_times(tokens: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop ``last_used``/``updated``: each request updates them, to the second."""
    return [
        {k: v for k, v in token.items() if k not in ("last_used", "updated")}
        for token in tokens
    ]


def test_get_tokens_equal(clients: tuple[Any, cave_auth.AuthClient]) -> None:
    """get_tokens returns the same records from both clients."""
    their_client, our_client = clients
    their_tokens, our_tokens = their_client.get_tokens(), our_client.get_tokens()
    assert [sorted(t) for t in our_tokens] == [sorted(t) for t in their_tokens]
    assert _without_usage_times(our_tokens) == _without_usage_times(their_tokens)


def test_get_user_information_equal(clients: tuple[Any, cave_auth.AuthClient]) -> None:
    """get_user_information([1, 2]) returns the same users from both clients."""
    their_client, our_client = clients
    expected = their_client.get_user_information([1, 2])
    assert [user["id"] for user in expected] == [1, 2]
    assert our_client.get_user_information([1, 2]) == expected


@pytest.mark.parametrize("group_id", [2, 1, 3, 999])
def test_get_group_users_equal(
    clients: tuple[Any, cave_auth.AuthClient], group_id: int
) -> None:
    """get_group_users returns the same members (or []) from both clients."""
    their_client, our_client = clients
    assert our_client.get_group_users(group_id) == their_client.get_group_users(
        group_id
    )


def test_group_results_are_not_trivially_empty(
    clients: tuple[Any, cave_auth.AuthClient],
) -> None:
    """The comparison above covers a real group, an empty one and an unknown one."""
    _, our_client = clients
    assert [m["id"] for m in our_client.get_group_users(2)] == [1, 2, 4]
    assert our_client.get_group_users(3) == []
    assert our_client.get_group_users(999) == []


def test_same_request_header(server: FakeAuthServer) -> None:
    """Both clients build the same Authorization header."""
    their_client = theirs(server_address=server.url, token=server.user_token)
    our_client = cave_auth.AuthClient(
        server_address=server.url,
        token=server.user_token,
        store=cave_auth.MemoryStore(),
        environ={},
    )
    assert our_client.request_header == their_client.request_header


def test_token_saved_by_login_is_caveclients_token(
    secrets_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key `cave_auth.login` saves is what CAVEclient loads, and it works there."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with FakeAuthServer() as server, cave_auth.Urllib3Transport(timeout=10) as http:
        config = Config(server_address=server.url)
        result = cave_auth.login(
            config, FileStore(), http, opener=HeadlessBrowser(), timeout=10
        )
        key = result.config.token
        assert (secrets_dir / "cave-secret.json").exists()
        client = theirs(server_address=server.url)
        assert client.token == key
        assert theirs().token == key
        assert key in {t["token"] for t in client.get_tokens()}
