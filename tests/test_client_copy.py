"""Tests for copying and pickling ``cave_auth.AuthClient`` (issue 10).

CAVEclient deep-copies its clients (its own test suite does
``copy.deepcopy(client)``) and hands them to Dask or ``spawn`` workers, so
the drop-in must survive ``copy.copy``, ``copy.deepcopy`` and ``pickle``
with its settings and token, while its lock and the transport it opened stay
with the original.
"""

from __future__ import annotations

import copy
import multiprocessing
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import cave_auth as ca
from cave_auth.testing import FakeAuthServer, FakeTransport

TOKEN = "0123456789abcdef0123456789abcdef"
OTHER = "fedcba9876543210fedcba9876543210"


def _pickled(protocol: int) -> Callable[[Any], Any]:
    def round_trip(value: Any) -> Any:
        return pickle.loads(pickle.dumps(value, protocol=protocol))

    return round_trip


COPIES = {
    "copy": copy.copy,
    "deepcopy": copy.deepcopy,
    **{f"pickle-{p}": _pickled(p) for p in range(2, pickle.HIGHEST_PROTOCOL + 1)},
}
ALL_COPIES = pytest.mark.parametrize("make_copy", COPIES.values(), ids=COPIES.keys())
SEPARATE_COPIES = pytest.mark.parametrize(
    "make_copy",
    [v for k, v in COPIES.items() if k != "copy"],
    ids=[k for k in COPIES if k != "copy"],
)


@pytest.fixture
def live() -> Iterator[FakeAuthServer]:
    """A running fake auth server."""
    with FakeAuthServer() as server:
        yield server


def _client(**kwargs: Any) -> ca.AuthClient:
    settings: dict[str, Any] = {"store": ca.MemoryStore(), "environ": {}}
    return ca.AuthClient(**{**settings, **kwargs})


@ALL_COPIES
def test_a_copy_keeps_every_setting_and_the_token(make_copy, tmp_path):
    """A copy has the same server, token, key, file, local server and token source."""
    token_file = str(tmp_path / "team.json")
    original = _client(
        token_file=token_file,
        token_key="fanc",
        token=TOKEN,
        server_address="https://cave.example.org",
        local_server="https://local.example.org",
    )
    clone = make_copy(original)
    assert clone is not original
    assert clone.config == original.config
    assert clone.token == TOKEN
    assert clone.token_source == original.token_source
    assert clone.request_header == {"Authorization": f"Bearer {TOKEN}"}
    assert clone.local_server == "https://local.example.org"
    assert clone.config.token_file == token_file
    assert clone.config.token_key == "fanc"


@ALL_COPIES
def test_a_copy_changes_apart_from_the_original(make_copy):
    """Setting the token of a copy leaves the original's token alone."""
    original = _client(token=TOKEN)
    clone = make_copy(original)
    clone.token = OTHER
    assert original.token == TOKEN
    assert clone.token == OTHER


@ALL_COPIES
def test_the_token_stays_out_of_every_repr_on_the_way(make_copy):
    """Neither the copy, its config, nor the state that pickle carries shows the token."""
    original = _client(token=TOKEN)
    clone = make_copy(original)
    for text in (
        repr(clone),
        str(clone),
        repr(clone.config),
        repr(original.__getstate__()),
        repr(clone.__getstate__()),
    ):
        assert TOKEN not in text


def test_copy_shares_the_store_and_deepcopy_snapshots_it():
    """copy.copy saves into the caller's store; deepcopy's store starts equal, then differs."""
    path = "~/.cloudvolume/secrets/cave-secret.json"
    store = ca.MemoryStore()
    original = _client(token=TOKEN, store=store)
    copy.copy(original).save_token(token=TOKEN)
    assert store.read_secrets(path) == {"token": TOKEN}
    deep = copy.deepcopy(original)
    deep.save_token(token=OTHER, overwrite=True)
    assert store.read_secrets(path) == {"token": TOKEN}
    deep.token = None
    deep.get_token()
    assert deep.token == OTHER
    original.get_token()
    assert original.token == TOKEN


def test_a_pickled_client_on_real_files_reads_the_same_files(tmp_path):
    """A FileStore client, unpickled, finds the same saved token again."""
    original = ca.AuthClient(
        store=ca.FileStore(), environ={"CLOUD_VOLUME_DIR": str(tmp_path)}
    )
    original.save_token(token=TOKEN)
    clone = pickle.loads(pickle.dumps(original))
    clone.token = None
    clone.get_token()
    assert clone.token == TOKEN
    assert (
        clone.token_source
        == f"{tmp_path}/secrets/global.daf-apis.com-cave-secret.json#token"
    )


class _Recorder:
    """Records the transports AuthClients open and the ones closed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.opened: list[ca.Urllib3Transport] = []
        self.closed: list[ca.Urllib3Transport] = []
        real_from_env = ca.Urllib3Transport.from_env.__func__  # type: ignore[attr-defined]
        real_close = ca.Urllib3Transport.close

        def from_env(cls: Any, *args: Any, **kwargs: Any) -> Any:
            transport = real_from_env(cls, *args, **kwargs)
            self.opened.append(transport)
            return transport

        def close(transport: Any) -> None:
            self.closed.append(transport)
            real_close(transport)

        monkeypatch.setattr(ca.Urllib3Transport, "from_env", classmethod(from_env))
        monkeypatch.setattr(ca.Urllib3Transport, "close", close)


@ALL_COPIES
def test_a_copy_opens_its_own_transport_and_closing_it_spares_the_original(
    make_copy, live, monkeypatch
):
    """A copy of a client that has connected opens its own pool; closing the copy leaves the original's open."""
    recorder = _Recorder(monkeypatch)
    original = _client(server_address=live.url, token=live.user_token)
    assert original.whoami()["name"] == "Norm User"
    clone = make_copy(original)
    assert clone.whoami()["name"] == "Norm User"
    assert len(recorder.opened) == 2
    mine, theirs = recorder.opened
    clone.close()
    assert recorder.closed == [theirs]
    assert original.whoami()["name"] == "Norm User"
    original.close()
    assert recorder.closed == [theirs, mine]


@pytest.mark.parametrize(
    "make_copy", [copy.copy, copy.deepcopy], ids=["copy", "deepcopy"]
)
def test_copies_share_a_transport_the_caller_gave(make_copy):
    """A given transport is the caller's: copies use it too, and no client closes it."""
    transport = FakeTransport({("GET", "/auth/api/v1/user/me"): {"id": 2, "name": "N"}})
    original = _client(token=TOKEN, transport=transport)
    clone = make_copy(original)
    assert clone.whoami()["name"] == "N"
    clone.close()
    assert original.whoami()["name"] == "N"
    assert len(transport.requests) == 2


@pytest.mark.parametrize("protocol", range(2, pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_leaves_a_given_transport_behind(protocol, live):
    """An unpickled client does not carry the caller's transport: it opens its own."""
    given = FakeTransport({("GET", "/auth/api/v1/user/me"): {"id": 9, "name": "Fake"}})
    original = _client(server_address=live.url, token=live.user_token, transport=given)
    assert original.whoami()["name"] == "Fake"
    clone = pickle.loads(pickle.dumps(original, protocol=protocol))
    with clone:
        assert clone.whoami()["name"] == "Norm User"
    assert len(given.requests) == 1


def test_a_copy_made_from_a_client_built_from_a_config_works(live):
    """from_config clients copy and pickle too."""
    config = ca.Config(server_address=live.url, token=live.user_token)
    original = ca.AuthClient.from_config(config, store=ca.MemoryStore())
    for clone in (copy.deepcopy(original), pickle.loads(pickle.dumps(original))):
        with clone:
            assert clone.whoami()["name"] == "Norm User"


# ------------------------------------------------ objects that hold a client


class CaveClientShaped:
    """What CAVEclient looks like to copy and pickle: a plain object with ``.auth``."""

    def __init__(self, auth: ca.AuthClient) -> None:
        self.auth = auth
        self.datastack_name = "minnie65_public"
        self.services = {"auth": auth}


@SEPARATE_COPIES
def test_an_object_holding_a_client_deep_copies_and_pickles(make_copy, live):
    """A CAVEclient-shaped holder survives deepcopy and pickle; its copy's client works and stays one object."""
    holder = CaveClientShaped(_client(server_address=live.url, token=live.user_token))
    holder.auth.whoami()
    clone = make_copy(holder)
    assert clone.auth is not holder.auth
    assert clone.services["auth"] is clone.auth
    assert clone.auth.token == live.user_token
    with clone.auth:
        assert clone.auth.whoami()["name"] == "Norm User"
    assert holder.auth.whoami()["name"] == "Norm User"


@pytest.mark.interop
@SEPARATE_COPIES
def test_a_real_caveclient_with_our_auth_client_deep_copies_and_pickles(
    make_copy, live, tmp_path, monkeypatch
):
    """CAVEclient 8's global client, built on cave_auth.AuthClient, survives deepcopy and pickle."""
    frameworkclient = pytest.importorskip("caveclient.frameworkclient")
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("CAVE_TOKEN", "CAVE_SERVER_ADDRESS", "CAVE_TOKEN_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("CLOUD_VOLUME_DIR", raising=False)
    monkeypatch.setattr(frameworkclient, "AuthClient", ca.AuthClient)
    client = frameworkclient.CAVEclient(
        server_address=live.url, auth_token=live.user_token, global_only=True
    )
    assert isinstance(client.auth, ca.AuthClient)
    assert client.auth.whoami()["name"] == "Norm User"
    clone = make_copy(client)
    assert isinstance(clone.auth, ca.AuthClient)
    assert clone.auth is not client.auth
    assert clone.auth.token == live.user_token
    with clone.auth:
        assert clone.auth.whoami()["name"] == "Norm User"
    assert client.auth.whoami()["name"] == "Norm User"


# ------------------------------------------------------- a spawn worker


def _whoami_in_worker(client: ca.AuthClient, answers: Any) -> None:
    with client:
        answers.put((client.whoami()["name"], repr(client), client.token))


@pytest.mark.timeout(120)
def test_a_spawn_worker_receives_a_client_and_uses_it(live, tmp_path: Path):
    """A client passed to a spawn-started process reaches the loopback server from there."""
    holder = CaveClientShaped(_client(server_address=live.url, token=live.user_token))
    holder.auth.whoami()  # the original has opened its transport
    context = multiprocessing.get_context("spawn")
    answers = context.Queue()
    worker = context.Process(target=_whoami_in_worker, args=(holder.auth, answers))
    worker.start()
    try:
        name, shown, token = answers.get(timeout=60)
    finally:
        worker.join(60)
    assert worker.exitcode == 0
    assert name == "Norm User"
    assert token == live.user_token
    assert live.user_token not in shown
    assert live.count("GET", "/auth/api/v1/user/me") == 2
    assert holder.auth.whoami()["name"] == "Norm User"
