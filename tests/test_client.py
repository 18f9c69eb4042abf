"""Tests for ``cave_auth.AuthClient``, the drop-in for CAVEclient's ``client.auth``.

Everything runs offline: secrets live in a ``MemoryStore`` (paths under the
default, unexpanded ``~/.cloudvolume/secrets``) or under ``tmp_path``, the
environment is a dict, HTTP goes to a ``FakeTransport`` or the loopback
``FakeAuthServer``, and the browser is a recording function.
"""

from __future__ import annotations

import inspect
import os
from typing import Any

import pytest
from recorded import NORM_FULL_RECORD

import cave_auth
from cave_auth import (
    AuthClient,
    AuthenticationError,
    Config,
    FileStore,
    InvalidInputError,
    MemoryStore,
    MissingTokenError,
    TokenKeyExistsError,
)
from cave_auth.testing import FakeAuthServer, FakeTransport, json_response

SECRETS = "~/.cloudvolume/secrets"
DEFAULT_FILE = f"{SECRETS}/cave-secret.json"
SERVER_FILE = f"{SECRETS}/global.daf-apis.com-cave-secret.json"
DEPRECATED_FILE = f"{SECRETS}/chunkedgraph-secret.json"
SERVER = "https://global.daf-apis.com"
API = "/auth/api/v1"

TOKEN_A = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
TOKEN_B = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
TOKEN_C = "cccccccccccccccccccccccccccccccc"

ME = NORM_FULL_RECORD
TOKENS = [
    {
        "created": "Sat, 28 Nov 2026 04:59:28 GMT",
        "description": "seed-token",
        "id": 3,
        "last_used": None,
        "token": TOKEN_A,
        "updated": "Sat, 28 Nov 2026 04:59:28 GMT",
        "user_id": 2,
    }
]
MEMBERS = [
    {"admin": True, "id": 1, "name": "Ada Admin"},
    {"admin": False, "id": 2, "name": "Norm User"},
]


class Browser:
    """Records the URLs it is asked to open instead of opening them."""

    def __init__(self) -> None:
        self.opened: list[str] = []

    def __call__(self, url: str) -> bool:
        self.opened.append(url)
        return True


def make_client(
    files: dict[str, dict[str, Any]] | None = None,
    *,
    environ: dict[str, str] | None = None,
    transport: Any = None,
    opener: Any = None,
    **kwargs: Any,
) -> AuthClient:
    return AuthClient(
        store=MemoryStore(files or {}),
        environ=environ or {},
        transport=transport,
        opener=opener or Browser(),
        **kwargs,
    )


def fake_server_transport() -> FakeTransport:
    return FakeTransport(
        {
            ("GET", f"{API}/user/me"): ME,
            ("GET", f"{API}/user/token"): TOKENS,
            ("GET", f"{API}/user"): [ME],
            ("GET", f"{API}/group/2/user"): MEMBERS,
            ("GET", f"{API}/group/999/user"): [],
        }
    )


# ------------------------------------------------------------- signature


def _public_members(cls: type) -> dict[str, Any]:
    return {
        name: inspect.getattr_static(cls, name)
        for name in dir(cls)
        if not name.startswith("_")
    }


def _signature_problems(theirs: Any, ours: Any) -> list[str]:
    """Compare two callables: same parameters, order and defaults; extras kw-only."""
    their_params = list(inspect.signature(theirs).parameters.values())
    our_params = list(inspect.signature(ours).parameters.values())
    problems = []
    for index, their in enumerate(their_params):
        if index >= len(our_params):
            problems.append(f"missing parameter {their.name}")
            continue
        our = our_params[index]
        if (our.name, our.kind, our.default) != (their.name, their.kind, their.default):
            problems.append(f"{their} != {our}")
    for extra in our_params[len(their_params) :]:
        if extra.kind is not inspect.Parameter.KEYWORD_ONLY:
            problems.append(f"extra parameter {extra.name} is not keyword-only")
        elif extra.default is inspect.Parameter.empty:
            problems.append(f"extra parameter {extra.name} has no default")
    return problems


def test_signatures_match_caveclient() -> None:
    """Every public member of CAVEclient's AuthClient exists with the same signature."""
    caveclient_auth = pytest.importorskip(
        "caveclient.auth", reason="caveclient is needed to compare signatures"
    )
    theirs = _public_members(caveclient_auth.AuthClient)
    ours = _public_members(AuthClient)
    assert set(theirs) <= set(ours)
    problems: dict[str, list[str]] = {}
    for name, their in theirs.items():
        our = ours[name]
        if isinstance(their, property):
            assert isinstance(our, property), name
            assert (our.fset is None) == (their.fset is None), name
            continue
        problems[name] = _signature_problems(their, our)
    problems["__init__"] = _signature_problems(
        caveclient_auth.AuthClient.__init__, AuthClient.__init__
    )
    assert {name: p for name, p in problems.items() if p} == {}


def test_every_public_member_has_a_docstring() -> None:
    """Every public method and property of AuthClient is documented."""
    for name, member in _public_members(AuthClient).items():
        doc = getattr(member, "__doc__", None) or getattr(
            getattr(member, "__func__", None), "__doc__", None
        )
        assert doc, name


def test_exported_from_package() -> None:
    """``cave_auth.AuthClient`` is this class."""
    assert cave_auth.AuthClient is AuthClient


# ------------------------------------------------------- construction


def test_construction_does_no_network_and_opens_no_browser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Building a client neither creates a transport nor opens a browser."""
    import cave_auth.transport

    def forbidden(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a transport was created")

    monkeypatch.setattr(cave_auth.transport, "Urllib3Transport", forbidden)
    browser = Browser()
    client = make_client(opener=browser)
    assert client.token is None
    assert browser.opened == []


def test_default_server_address() -> None:
    """The default server is CAVEclient's global server."""
    assert make_client().config.server_address == SERVER


def test_server_address_without_scheme_gets_https() -> None:
    """A bare host gets ``https://``, as CAVEclient does."""
    client = make_client(server_address="minnie.example.org")
    assert client.config.server_address == "https://minnie.example.org"


def test_explicit_token_wins_over_files() -> None:
    """A token passed in is used even when files hold another one."""
    client = make_client({DEFAULT_FILE: {"token": TOKEN_A}}, token=TOKEN_B)
    assert client.token == TOKEN_B
    assert client.token_source == "config"


def test_token_file_wins_over_standard_files() -> None:
    """An explicit token_file is searched before the standard files."""
    files = {
        "/etc/cave/mine.json": {"token": TOKEN_C},
        SERVER_FILE: {"token": TOKEN_A},
        DEFAULT_FILE: {"token": TOKEN_B},
    }
    client = make_client(files, token_file="/etc/cave/mine.json")
    assert client.token == TOKEN_C
    assert client.token_source == "/etc/cave/mine.json#token"


def test_server_file_wins_over_default_file() -> None:
    """The server's own file is searched before cave-secret.json."""
    files = {SERVER_FILE: {"token": TOKEN_A}, DEFAULT_FILE: {"token": TOKEN_B}}
    assert make_client(files).token == TOKEN_A


def test_default_file_is_used_without_server_file() -> None:
    """cave-secret.json is used when the server has no file of its own."""
    assert make_client({DEFAULT_FILE: {"token": TOKEN_B}}).token == TOKEN_B


def test_deprecated_file_is_the_last_resort() -> None:
    """chunkedgraph-secret.json is still read when nothing else holds a token."""
    assert make_client({DEPRECATED_FILE: {"token": TOKEN_C}}).token == TOKEN_C


def test_named_token_key() -> None:
    """token_key selects another key of the secrets files."""
    files = {DEFAULT_FILE: {"token": TOKEN_A, "fanc": TOKEN_B}}
    assert make_client(files, token_key="fanc").token == TOKEN_B


def test_no_token_anywhere_gives_none() -> None:
    """Without any token the client has None, like CAVEclient."""
    client = make_client()
    assert client.token is None
    assert client.token_source is None
    assert client.request_header == {}


def test_corrupt_file_raises_on_construction(tmp_path: Any) -> None:
    """A corrupt secrets file on the search path is reported, not skipped."""
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "cave-secret.json").write_text("{not json")
    with pytest.raises(cave_auth.TokenFileError, match="not valid JSON"):
        AuthClient(store=FileStore(), environ={"CLOUD_VOLUME_DIR": str(tmp_path)})


# ----------------------------------------------------------- environment


def test_env_token_is_used() -> None:
    """CAVE_TOKEN is used when no token, token_file or token_key is passed."""
    client = make_client(
        {DEFAULT_FILE: {"token": TOKEN_A}}, environ={"CAVE_TOKEN": TOKEN_B}
    )
    assert client.token == TOKEN_B
    assert client.token_source == "env:CAVE_TOKEN"


def test_explicit_token_wins_over_env_token() -> None:
    """An explicit token beats CAVE_TOKEN."""
    client = make_client(environ={"CAVE_TOKEN": TOKEN_B}, token=TOKEN_C)
    assert client.token == TOKEN_C


@pytest.mark.parametrize(
    "kwargs", [{"token_key": "fanc"}, {"token_file": "/etc/cave/mine.json"}]
)
def test_explicit_file_or_key_wins_over_env_token(kwargs: dict[str, str]) -> None:
    """Asking for a file or key explicitly ignores CAVE_TOKEN."""
    files = {
        DEFAULT_FILE: {"fanc": TOKEN_A},
        "/etc/cave/mine.json": {"token": TOKEN_A},
    }
    client = make_client(files, environ={"CAVE_TOKEN": TOKEN_B}, **kwargs)
    assert client.token == TOKEN_A


def test_env_server_address_replaces_the_default() -> None:
    """CAVE_SERVER_ADDRESS is used when server_address is left at its default."""
    client = make_client(environ={"CAVE_SERVER_ADDRESS": "https://other.example.org"})
    assert client.config.server_address == "https://other.example.org"


def test_explicit_server_address_wins_over_env() -> None:
    """An explicit server_address beats CAVE_SERVER_ADDRESS."""
    client = make_client(
        environ={"CAVE_SERVER_ADDRESS": "https://other.example.org"},
        server_address="https://mine.example.org",
    )
    assert client.config.server_address == "https://mine.example.org"


def test_env_token_key_and_cloud_volume_dir() -> None:
    """CAVE_TOKEN_KEY and CLOUD_VOLUME_DIR choose the key and the directory."""
    files = {"/data/cv/secrets/cave-secret.json": {"fanc": TOKEN_C}}
    client = make_client(
        files, environ={"CAVE_TOKEN_KEY": "fanc", "CLOUD_VOLUME_DIR": "/data/cv"}
    )
    assert client.config.secrets_dir == "/data/cv/secrets"
    assert client.token == TOKEN_C


def test_malformed_env_token_is_rejected() -> None:
    """A CAVE_TOKEN holding whitespace is an error that does not show the token."""
    with pytest.raises(InvalidInputError) as info:
        make_client(environ={"CAVE_TOKEN": "abc def"})
    assert "abc def" not in str(info.value)


def test_environ_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Changing the environment after construction changes nothing."""
    environ = {"CAVE_TOKEN": TOKEN_A}
    client = make_client(environ=environ)
    environ["CAVE_TOKEN"] = TOKEN_B
    assert client.token == TOKEN_A


def test_os_environ_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ``environ`` the process environment is read."""
    monkeypatch.setenv("CAVE_TOKEN", TOKEN_C)
    client = AuthClient(store=MemoryStore())
    assert client.token == TOKEN_C


# ------------------------------------------------------------ properties


def test_token_setter_switches_token() -> None:
    """Setting ``token`` uses it from then on, with source ``config``."""
    client = make_client({DEFAULT_FILE: {"token": TOKEN_A}})
    client.token = TOKEN_B
    assert client.token == TOKEN_B
    assert client.token_source == "config"
    assert client.request_header == {"Authorization": f"Bearer {TOKEN_B}"}


@pytest.mark.parametrize("bad", ["", "has space", "line\nbreak", "tab\tchar"])
def test_setting_a_bad_token_raises(bad: str) -> None:
    """A malformed token is refused with a ValueError and the old one is kept."""
    client = make_client(token=TOKEN_A)
    with pytest.raises(ValueError, match="token"):
        client.token = bad
    assert client.token == TOKEN_A


def test_setting_token_to_none_forgets_it() -> None:
    """Setting ``token`` to None leaves the client without a token."""
    client = make_client(token=TOKEN_A)
    client.token = None
    assert client.token is None
    assert client.request_header == {}


def test_request_header() -> None:
    """request_header is CAVEclient's Bearer header."""
    assert make_client(token=TOKEN_A).request_header == {
        "Authorization": f"Bearer {TOKEN_A}"
    }


def test_repr_hides_token() -> None:
    """The repr shows the settings but never the token."""
    client = make_client({DEFAULT_FILE: {"token": TOKEN_A}})
    text = repr(client)
    assert TOKEN_A not in text
    assert "token=<set>" in text
    assert SERVER in text
    client.token = TOKEN_B
    assert TOKEN_B not in repr(client)


def test_config_property_is_the_current_config() -> None:
    """``config`` is an immutable Config holding the current token."""
    client = make_client(token=TOKEN_A)
    assert isinstance(client.config, Config)
    assert client.config.token == TOKEN_A
    client.token = TOKEN_B
    assert client.config.token == TOKEN_B


def test_local_server_property_and_filepath() -> None:
    """local_server is settable and names its secrets file, ``~`` expanded."""
    client = make_client()
    assert client.local_server is None
    assert client.local_server_filepath is None
    client.local_server = "local.example.org"
    assert client.local_server == "https://local.example.org"
    assert client.local_server_filepath == os.path.expanduser(
        f"{SECRETS}/local.example.org-cave-secret.json"
    )
    client.local_server = None
    assert client.local_server_filepath is None


def test_local_server_from_constructor() -> None:
    """The local_server argument is kept in the Config."""
    client = make_client(local_server="https://local.example.org")
    assert client.config.local_server == "https://local.example.org"


def test_bad_local_server_raises() -> None:
    """A malformed local server address is refused."""
    client = make_client()
    with pytest.raises(InvalidInputError):
        client.local_server = "ftp://nope"


# ----------------------------------------------------------- get_token


def test_get_token_loads_another_key() -> None:
    """get_token(key) switches to the token stored under that key."""
    client = make_client({DEFAULT_FILE: {"token": TOKEN_A, "fanc": TOKEN_B}})
    assert client.get_token("fanc") is None
    assert client.token == TOKEN_B
    assert client.config.token_key == "fanc"


def test_get_token_missing_key_gives_none() -> None:
    """get_token with a key no file holds leaves the client without a token."""
    client = make_client({DEFAULT_FILE: {"token": TOKEN_A}})
    client.get_token("nope")
    assert client.token is None


def test_get_token_none_means_default_key() -> None:
    """get_token() reads the key ``token`` again, dropping a token set by hand."""
    client = make_client({DEFAULT_FILE: {"token": TOKEN_A}}, token=TOKEN_B)
    client.get_token()
    assert client.token == TOKEN_A


# ---------------------------------------------------------- save_token


def test_save_token_writes_server_and_default_file() -> None:
    """save_token writes the server's file and cave-secret.json, and returns None."""
    store = MemoryStore()
    client = AuthClient(store=store, environ={})
    assert client.save_token(token=TOKEN_A) is None
    assert store.files == {
        os.path.normpath(SERVER_FILE): {"token": TOKEN_A},
        os.path.normpath(DEFAULT_FILE): {"token": TOKEN_A},
    }
    assert client.token == TOKEN_A


def test_saved_token_is_found_by_a_new_client() -> None:
    """A token saved by one client is loaded by the next one."""
    store = MemoryStore()
    AuthClient(store=store, environ={}).save_token(token=TOKEN_A)
    assert AuthClient(store=store, environ={}).token == TOKEN_A


def test_save_token_keeps_other_keys() -> None:
    """Saving under one key keeps the other keys of the file."""
    store = MemoryStore({DEFAULT_FILE: {"fanc": TOKEN_B}})
    AuthClient(store=store, environ={}).save_token(token=TOKEN_A)
    assert store.files[os.path.normpath(DEFAULT_FILE)] == {
        "fanc": TOKEN_B,
        "token": TOKEN_A,
    }


def test_save_token_without_switch_keeps_current_token() -> None:
    """switch_token=False saves but keeps using the current token."""
    client = make_client(token=TOKEN_A)
    client.save_token(token=TOKEN_B, switch_token=False)
    assert client.token == TOKEN_A


def test_save_token_none_saves_current_token() -> None:
    """save_token() without a token saves the one in use."""
    store = MemoryStore()
    client = AuthClient(store=store, environ={}, token=TOKEN_C)
    client.save_token()
    assert store.files[os.path.normpath(DEFAULT_FILE)] == {"token": TOKEN_C}


def test_save_token_without_any_token_raises() -> None:
    """Saving with no token at all raises instead of writing null."""
    with pytest.raises(MissingTokenError):
        make_client().save_token()


def test_save_token_refuses_to_overwrite() -> None:
    """A different token under the key is kept unless overwrite=True."""
    store = MemoryStore({DEFAULT_FILE: {"token": TOKEN_A}})
    client = AuthClient(store=store, environ={})
    with pytest.raises(TokenKeyExistsError) as info:
        client.save_token(token=TOKEN_B)
    assert isinstance(info.value, ValueError)
    assert TOKEN_A not in str(info.value)
    assert TOKEN_B not in str(info.value)
    assert os.path.normpath(SERVER_FILE) not in store.files
    client.save_token(token=TOKEN_B, overwrite=True)
    assert store.files[os.path.normpath(DEFAULT_FILE)] == {"token": TOKEN_B}


def test_save_token_named_key_and_file() -> None:
    """token_key and token_file choose where the token goes."""
    store = MemoryStore()
    client = AuthClient(store=store, environ={})
    client.save_token(
        token=TOKEN_A,
        token_key="fanc",
        token_file="/etc/cave/mine.json",
        write_to_server_file=False,
    )
    assert store.files == {"/etc/cave/mine.json": {"fanc": TOKEN_A}}
    assert client.config.token_file == "/etc/cave/mine.json"
    assert client.config.token_key == "fanc"


def test_save_token_syncs_local_server_file() -> None:
    """With a local server, its file gets the token too, unless local_server=False."""
    store = MemoryStore()
    local_file = os.path.normpath(f"{SECRETS}/local.example.org-cave-secret.json")
    client = AuthClient(store=store, environ={}, local_server="local.example.org")
    client.save_token(token=TOKEN_A, local_server=False)
    assert local_file not in store.files
    client.save_token(token=TOKEN_A)
    assert store.files[local_file] == {"token": TOKEN_A}


def test_save_token_read_only_store() -> None:
    """A read-only store is skipped by default and an error when asked."""
    store = MemoryStore(writable=False)
    client = AuthClient(store=store, environ={})
    client.save_token(token=TOKEN_A)
    assert store.files == {}
    with pytest.raises(cave_auth.TokenFileError):
        client.save_token(token=TOKEN_A, ignore_readonly=False)


def test_save_token_to_real_files(tmp_path: Any) -> None:
    """With a FileStore the files are written with mode 0600."""
    config = Config(secrets_dir=str(tmp_path))
    client = AuthClient.from_config(config, store=FileStore())
    client.save_token(token=TOKEN_A)
    path = tmp_path / "cave-secret.json"
    assert path.stat().st_mode & 0o777 == 0o600
    assert AuthClient.from_config(config, store=FileStore()).token == TOKEN_A


# -------------------------------------------------------- instructions


def test_get_new_token_prints_instructions(capsys: pytest.CaptureFixture[str]) -> None:
    """get_new_token prints CAVEclient's steps, opens nothing, and returns None."""
    browser = Browser()
    client = make_client(opener=browser)
    assert client.get_new_token() is None
    text = client.setup_instructions().text
    out = capsys.readouterr().out
    assert out == text + "\n"
    assert "New Tokens need to be acquired by hand" in out
    assert f"{SERVER}/auth/api/v1/create_token" in out
    assert browser.opened == []


def test_get_new_token_opens_browser_quietly(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """open=True opens the create-token page; no_text=True prints nothing."""
    browser = Browser()
    client = make_client(opener=browser)
    assert client.get_new_token(open=True, no_text=True) is None
    assert capsys.readouterr().out == ""
    assert browser.opened == [f"{SERVER}/auth/api/v1/create_token"]


def test_setup_token_new(capsys: pytest.CaptureFixture[str]) -> None:
    """setup_token() prints the new-token steps and opens the create page."""
    browser = Browser()
    client = make_client(opener=browser)
    assert client.setup_token() is None
    text = client.setup_instructions(make_new=True).text
    assert "New Tokens" in text
    assert capsys.readouterr().out == text + "\n"
    assert browser.opened == [f"{SERVER}/auth/api/v1/create_token"]


def test_setup_token_existing(capsys: pytest.CaptureFixture[str]) -> None:
    """setup_token(make_new=False) points at the page listing existing tokens."""
    browser = Browser()
    client = make_client(opener=browser)
    assert client.setup_token(make_new=False, open=False) is None
    text = client.setup_instructions(make_new=False).text
    out = capsys.readouterr().out
    assert out == text + "\n"
    assert "view a list of your existing tokens" in out
    assert f"{SERVER}/sticky_auth/settings/tokens" in out
    assert browser.opened == []
    client.setup_token(make_new=False)
    assert browser.opened == [f"{SERVER}/sticky_auth/settings/tokens"]


def test_get_token_page(capsys: pytest.CaptureFixture[str]) -> None:
    """get_token_page returns the token page URL and opens it unless open=False."""
    browser = Browser()
    client = make_client(opener=browser, server_address="minnie.example.org")
    url = "https://minnie.example.org/sticky_auth/settings/tokens"
    assert client.get_token_page(open=False) == url
    assert browser.opened == []
    assert client.get_token_page() == url
    assert browser.opened == [url]
    assert capsys.readouterr().out == ""


def test_default_opener_is_webbrowser(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without an opener, webbrowser.open is used, and only when asked."""
    import webbrowser

    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", opened.append)
    client = AuthClient(store=MemoryStore(), environ={})
    assert opened == []
    client.get_token_page()
    assert opened == [f"{SERVER}/sticky_auth/settings/tokens"]


# ----------------------------------------------------------- endpoints


def test_get_tokens_returns_server_dicts() -> None:
    """get_tokens returns the list of dicts the server sent."""
    transport = fake_server_transport()
    client = make_client(token=TOKEN_A, transport=transport)
    assert client.get_tokens() == TOKENS
    [request] = transport.requests
    assert request.url == f"{SERVER}{API}/user/token"
    assert request.token == TOKEN_A


def test_get_user_information_sends_ids() -> None:
    """get_user_information asks for ``id=1,2`` and returns the users."""
    transport = fake_server_transport()
    client = make_client(token=TOKEN_A, transport=transport)
    assert client.get_user_information([1, 2]) == [ME]
    assert transport.requests[0].params == {"id": "1,2"}


def test_get_user_information_empty_list_makes_no_request() -> None:
    """An empty id list returns [] without asking the server."""
    transport = fake_server_transport()
    client = make_client(token=TOKEN_A, transport=transport)
    assert client.get_user_information([]) == []
    assert transport.requests == []


def test_get_group_users() -> None:
    """get_group_users returns the members, [] for an unknown group."""
    transport = fake_server_transport()
    client = make_client(token=TOKEN_A, transport=transport)
    assert client.get_group_users(2) == MEMBERS
    assert client.get_group_users(999) == []


@pytest.mark.parametrize("bad", [-1, "2", True, 1.5])
def test_get_group_users_bad_id(bad: Any) -> None:
    """A group id that is not a non-negative int is refused before any request."""
    transport = fake_server_transport()
    client = make_client(token=TOKEN_A, transport=transport)
    with pytest.raises(InvalidInputError):
        client.get_group_users(bad)
    assert transport.requests == []


def test_whoami() -> None:
    """The whoami method returns the token's user record."""
    client = make_client(token=TOKEN_A, transport=fake_server_transport())
    assert client.whoami() == ME


def test_endpoint_without_token_raises_before_io() -> None:
    """Without a token, endpoint methods raise MissingTokenError and send nothing."""
    transport = fake_server_transport()
    client = make_client(transport=transport)
    with pytest.raises(MissingTokenError) as info:
        client.get_tokens()
    assert "sticky_auth/settings/tokens" in str(info.value)
    assert transport.requests == []


def test_rejected_token_raises_authentication_error() -> None:
    """A 401 becomes AuthenticationError whose message does not hold the token."""
    body = {"error": "invalid_token", "message": "Token is Invalid or Expired"}
    transport = FakeTransport(
        {("GET", f"{API}/user/token"): json_response(body, status=401)}
    )
    client = make_client(token=TOKEN_A, transport=transport)
    with pytest.raises(AuthenticationError) as info:
        client.get_tokens()
    assert TOKEN_A not in str(info.value)


def test_transport_is_created_lazily_and_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The default transport is made on the first call, once, and closed by close()."""
    import cave_auth.transport

    made: list[Any] = []

    class Recording(FakeTransport):
        closed = False

        def close(self) -> None:
            self.closed = True

    class Factory:
        @staticmethod
        def from_env(environ: object, **settings: object) -> Recording:
            transport = Recording({("GET", f"{API}/user/me"): ME})
            made.append(transport)
            return transport

    monkeypatch.setattr(cave_auth.transport, "Urllib3Transport", Factory)
    with make_client(token=TOKEN_A) as client:
        assert made == []
        client.whoami()
        client.whoami()
        assert len(made) == 1
    assert made[0].closed


def test_injected_transport_is_not_closed() -> None:
    """close() leaves a transport the caller passed in alone."""

    class Recording(FakeTransport):
        closed = False

        def close(self) -> None:
            self.closed = True

    transport = Recording({("GET", f"{API}/user/me"): ME})
    with make_client(token=TOKEN_A, transport=transport) as client:
        client.whoami()
    assert not transport.closed


def test_against_fake_server_with_real_http(tmp_path: Any) -> None:
    """With the default transport, every endpoint works over real loopback HTTP."""
    with FakeAuthServer() as server:
        client = AuthClient(
            server_address=server.url,
            store=FileStore(),
            environ={"CLOUD_VOLUME_DIR": str(tmp_path)},
        )
        assert client.token is None
        client.save_token(token=server.admin_token)
        with AuthClient(
            server_address=server.url,
            store=FileStore(),
            environ={"CLOUD_VOLUME_DIR": str(tmp_path)},
        ) as fresh:
            assert fresh.token == server.admin_token
            assert fresh.whoami()["id"] == 1
            assert [t["user_id"] for t in fresh.get_tokens()] == [1]
            users = fresh.get_user_information([1, 2])
            assert [u["id"] for u in users] == [1, 2]
            assert [m["id"] for m in fresh.get_group_users(2)] == [1, 2, 4]
            assert fresh.get_group_users(999) == []
            fresh.token = server.invalid_token
            with pytest.raises(AuthenticationError):
                fresh.whoami()


# -------------------------------------------------------------- extras


def test_from_config_reads_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """from_config builds a client from a Config and the store, ignoring os.environ."""
    monkeypatch.setenv("CAVE_TOKEN", TOKEN_C)
    store = MemoryStore({DEFAULT_FILE: {"token": TOKEN_A}})
    client = AuthClient.from_config(Config(), store=store)
    assert client.token == TOKEN_A
    assert client.token_source == f"{DEFAULT_FILE}#token"
