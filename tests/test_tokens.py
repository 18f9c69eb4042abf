"""Tests for cave_auth.tokens: resolution, saving, header and guidance."""

from __future__ import annotations

import json
import logging
import os

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cave_auth as ca
from cave_auth.config import token_problem
from cave_auth.tokens import missing_token_error

TOKEN = "0123456789abcdef0123456789abcdef"
OTHER = "fedcba9876543210fedcba9876543210"
THIRD = "aaaabbbbccccddddeeeeffff00001111"
SECRETS = "~/.cloudvolume/secrets"
DEFAULT_FILE = f"{SECRETS}/cave-secret.json"
SERVER_FILE = f"{SECRETS}/global.daf-apis.com-cave-secret.json"
DEPRECATED_FILE = f"{SECRETS}/chunkedgraph-secret.json"


@pytest.mark.parametrize(
    ("address", "name"),
    [
        ("https://global.daf-apis.com", "global.daf-apis.com-cave-secret.json"),
        ("global.daf-apis.com", "global.daf-apis.com-cave-secret.json"),
        ("http://localhost:8000/", "localhost:8000-cave-secret.json"),
        ("https://example.org/prefix", "example.org-cave-secret.json"),
    ],
)
def test_server_token_filename_matches_caveclient(address, name):
    """The server file is named {netloc}-cave-secret.json, port kept."""
    assert ca.server_token_filename(address) == name


def test_search_paths_in_order():
    """The candidate files are token_file, server file, default, deprecated."""
    config = ca.Config(token_file="/explicit.json")
    assert ca.token_search_paths(config) == (
        "/explicit.json",
        SERVER_FILE,
        DEFAULT_FILE,
        DEPRECATED_FILE,
    )
    assert ca.token_search_paths(ca.Config(token_file=DEFAULT_FILE))[0] == DEFAULT_FILE
    assert len(ca.token_search_paths(ca.Config(token_file=DEFAULT_FILE))) == 3


def test_explicit_token_wins_over_files():
    """config.token is used before any file, and its source says so."""
    store = ca.MemoryStore({SERVER_FILE: {"token": OTHER}})
    found = ca.resolve_token(ca.Config(token=TOKEN), store)
    assert found == ca.ResolvedToken(token=TOKEN, source="config")


def test_env_token_source_is_reported():
    """A token read from CAVE_TOKEN reports env:CAVE_TOKEN as its source."""
    found = ca.resolve_token(
        ca.Config.from_env({"CAVE_TOKEN": TOKEN}), ca.MemoryStore()
    )
    assert found is not None
    assert found.source == "env:CAVE_TOKEN"


def test_token_file_wins_over_standard_files():
    """An explicit token_file is looked in before the standard files."""
    store = ca.MemoryStore(
        {"/mine.json": {"token": TOKEN}, SERVER_FILE: {"token": OTHER}}
    )
    found = ca.resolve_token(ca.Config(token_file="/mine.json"), store)
    assert found is not None
    assert (found.token, found.source) == (TOKEN, "/mine.json#token")


def test_server_file_wins_over_default_file():
    """The server's own file is used before cave-secret.json."""
    store = ca.MemoryStore(
        {SERVER_FILE: {"token": TOKEN}, DEFAULT_FILE: {"token": OTHER}}
    )
    found = ca.resolve_token(ca.Config(), store)
    assert found is not None
    assert found.token == TOKEN
    assert found.path == SERVER_FILE


def test_default_file_when_server_file_lacks_key():
    """A server file without the key passes the search on to the default file."""
    store = ca.MemoryStore(
        {SERVER_FILE: {"other": TOKEN}, DEFAULT_FILE: {"token": OTHER}}
    )
    found = ca.resolve_token(ca.Config(), store)
    assert found is not None
    assert (found.token, found.source) == (OTHER, f"{DEFAULT_FILE}#token")


def test_deprecated_file_is_used_last_with_a_warning(caplog):
    """chunkedgraph-secret.json is read last and logs a deprecation warning."""
    store = ca.MemoryStore({DEPRECATED_FILE: {"token": TOKEN}})
    with caplog.at_level(logging.WARNING, logger="cave_auth"):
        found = ca.resolve_token(ca.Config(), store)
    assert found is not None
    assert found.token == TOKEN
    assert "deprecated" in caplog.text
    assert TOKEN not in caplog.text


def test_named_key_is_read():
    """token_key selects which key of the file holds the token."""
    store = ca.MemoryStore({DEFAULT_FILE: {"token": TOKEN, "fanc_production": OTHER}})
    found = ca.resolve_token(ca.Config(token_key="fanc_production"), store)
    assert found is not None
    assert found.token == OTHER


def test_null_under_key_passes_the_search_on():
    """A JSON null under the key counts as no token there, as CAVEclient reads it."""
    store = ca.MemoryStore(
        {SERVER_FILE: {"token": None}, DEFAULT_FILE: {"token": TOKEN}}
    )
    found = ca.resolve_token(ca.Config(), store)
    assert found is not None
    assert found.path == DEFAULT_FILE


def test_nothing_found_is_none():
    """With no token anywhere, resolve_token returns None."""
    assert ca.resolve_token(ca.Config(), ca.MemoryStore()) is None


@pytest.mark.parametrize("value", [42, ["a"], {"x": 1}, "", "has space", "new\nline"])
def test_unusable_value_under_key_is_a_token_file_error(value):
    """A non-string or malformed value under the key raises TokenFileError."""
    store = ca.MemoryStore({DEFAULT_FILE: {"token": value}})
    with pytest.raises(ca.TokenFileError, match="unusable") as info:
        ca.resolve_token(ca.Config(), store)
    if isinstance(value, str) and value:
        assert value not in str(info.value)


def test_with_token_fills_in_token_and_source():
    """with_token returns a Config carrying the found token and its source."""
    store = ca.MemoryStore({DEFAULT_FILE: {"token": TOKEN}})
    config = ca.with_token(ca.Config(), store)
    assert config.token == TOKEN
    assert config.token_source == f"{DEFAULT_FILE}#token"
    empty = ca.Config()
    assert ca.with_token(empty, ca.MemoryStore()) is empty


def test_resolved_token_repr_is_masked():
    """ResolvedToken's repr shows the token masked."""
    found = ca.ResolvedToken(token=TOKEN, source="config")
    assert TOKEN not in repr(found)
    assert "0123…cdef" in repr(found)


def test_request_header():
    """request_header gives the Bearer header, or nothing without a token."""
    assert ca.request_header(TOKEN) == {"Authorization": f"Bearer {TOKEN}"}
    assert ca.request_header(None) == {}


@pytest.mark.parametrize("bad", ["a\r\nX-Evil: 1", "two words", ""])
def test_request_header_refuses_header_injection(bad):
    """A token that could break the header is refused, not sent."""
    with pytest.raises(ca.InvalidInputError):
        ca.request_header(bad)


# Saving -------------------------------------------------------------------


def test_save_writes_server_and_default_file_and_switches_config():
    """A default save writes both files and returns a Config using the token."""
    store = ca.MemoryStore()
    result = ca.save_token(ca.Config(), store, TOKEN)
    assert result.written == (SERVER_FILE, DEFAULT_FILE)
    assert result.config.token == TOKEN
    assert result.config.token_key == "token"
    assert store.read_secrets(SERVER_FILE) == {"token": TOKEN}
    assert store.read_secrets(DEFAULT_FILE) == {"token": TOKEN}
    assert ca.resolve_token(ca.Config(), store) is not None


def test_save_without_server_file():
    """write_to_server_file=False writes only the target file."""
    store = ca.MemoryStore()
    result = ca.save_token(ca.Config(), store, TOKEN, write_to_server_file=False)
    assert result.written == (DEFAULT_FILE,)
    assert store.read_secrets(SERVER_FILE) is None


def test_save_named_key_to_explicit_file_keeps_other_keys():
    """A named key saved to a given file keeps the file's other keys."""
    store = ca.MemoryStore({"/t.json": {"token": OTHER}})
    result = ca.save_token(
        ca.Config(),
        store,
        TOKEN,
        token_key="fanc",
        token_file="/t.json",
        write_to_server_file=False,
    )
    assert store.read_secrets("/t.json") == {"token": OTHER, "fanc": TOKEN}
    assert result.config.token_file == "/t.json"
    assert result.config.token_key == "fanc"


def test_save_uses_config_token_when_none_given():
    """token=None saves the Config's own token."""
    store = ca.MemoryStore()
    ca.save_token(ca.Config(token=TOKEN), store)
    assert store.read_secrets(DEFAULT_FILE) == {"token": TOKEN}


def test_save_without_any_token_is_missing_token_error():
    """Saving with no token anywhere raises MissingTokenError with the token page."""
    with pytest.raises(ca.MissingTokenError) as info:
        ca.save_token(ca.Config(), ca.MemoryStore())
    assert "https://global.daf-apis.com/sticky_auth/settings/tokens" in str(info.value)


def test_overwrite_guard_writes_nothing_when_any_target_refuses():
    """If one target holds another token, the save is refused and nothing is written."""
    store = ca.MemoryStore({DEFAULT_FILE: {"token": OTHER}})
    with pytest.raises(ca.TokenKeyExistsError) as info:
        ca.save_token(ca.Config(), store, TOKEN)
    assert isinstance(info.value, ValueError)
    assert store.read_secrets(SERVER_FILE) is None
    assert store.read_secrets(DEFAULT_FILE) == {"token": OTHER}


def test_overwrite_replaces():
    """overwrite=True replaces a different token."""
    store = ca.MemoryStore({DEFAULT_FILE: {"token": OTHER}})
    result = ca.save_token(ca.Config(), store, TOKEN, overwrite=True)
    assert store.read_secrets(DEFAULT_FILE) == {"token": TOKEN}
    assert DEFAULT_FILE in result.written


def test_saving_identical_token_again_is_not_an_error():
    """Saving the same token twice reports the files unchanged."""
    store = ca.MemoryStore()
    ca.save_token(ca.Config(), store, TOKEN)
    result = ca.save_token(ca.Config(), store, TOKEN)
    assert result.written == ()
    assert result.unchanged == (SERVER_FILE, DEFAULT_FILE)


def test_local_server_file_is_synced():
    """With a local server, its server file gets the token too, replacing the old one."""
    local_file = f"{SECRETS}/localhost:8000-cave-secret.json"
    store = ca.MemoryStore({local_file: {"token": OTHER}})
    config = ca.Config(local_server="http://localhost:8000")
    result = ca.save_token(config, store, TOKEN)
    assert store.read_secrets(local_file) == {"token": TOKEN}
    assert local_file in result.written
    assert ca.local_server_token_path(config) == local_file


def test_local_server_sync_can_be_turned_off():
    """local_server=False leaves the local server's file alone."""
    local_file = f"{SECRETS}/localhost:8000-cave-secret.json"
    store = ca.MemoryStore()
    ca.save_token(
        ca.Config(local_server="localhost:8000"), store, TOKEN, local_server=False
    )
    assert store.read_secrets(local_file) is None


def test_read_only_store_is_skipped_when_ignored():
    """With ignore_readonly, unwritable files are skipped and reported."""
    store = ca.MemoryStore(writable=False)
    result = ca.save_token(ca.Config(), store, TOKEN)
    assert result.written == ()
    assert result.skipped == (SERVER_FILE, DEFAULT_FILE)
    assert result.config.token == TOKEN
    assert result.config.token_source == "config"


def test_read_only_store_raises_when_not_ignored():
    """Without ignore_readonly, an unwritable target is a TokenFileError."""
    with pytest.raises(ca.TokenFileError, match="read-only"):
        ca.save_token(
            ca.Config(), ca.MemoryStore(writable=False), TOKEN, ignore_readonly=False
        )


def test_save_refuses_malformed_token_and_key():
    """A malformed token or empty key is refused before anything is written."""
    store = ca.MemoryStore()
    with pytest.raises(ca.InvalidInputError):
        ca.save_token(ca.Config(), store, "bad token")
    with pytest.raises(ca.InvalidInputError):
        ca.save_token(ca.Config(), store, TOKEN, token_key="")
    assert store.files == {}


def test_save_to_real_files_is_read_back_by_a_fresh_config(tmp_path):
    """A FileStore save is found again by a new Config on the same directory."""
    config = ca.Config(secrets_dir=str(tmp_path))
    ca.save_token(config, ca.FileStore(), TOKEN)
    found = ca.resolve_token(ca.Config(secrets_dir=str(tmp_path)), ca.FileStore())
    assert found is not None
    assert found.token == TOKEN
    assert found.path == os.path.join(
        str(tmp_path), "global.daf-apis.com-cave-secret.json"
    )
    for name in ("global.daf-apis.com-cave-secret.json", "cave-secret.json"):
        assert json.loads((tmp_path / name).read_text()) == {"token": TOKEN}
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600


def test_save_into_a_directory_others_can_write_writes_nothing_anywhere(tmp_path):
    """A token_file in a shared directory stops the save before the private server file is written."""
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    config = ca.Config(secrets_dir=str(private))
    with pytest.raises(ca.TokenFileError) as caught:
        ca.save_token(
            config, ca.FileStore(), TOKEN, token_file=str(shared / "team.json")
        )
    assert f"chmod 700 {shared}" in str(caught.value)
    assert "(mode 0777)" in str(caught.value)
    assert TOKEN not in str(caught.value)
    assert os.listdir(private) == []
    assert os.listdir(shared) == []


def test_a_token_read_from_a_directory_others_can_write_logs_the_fix(tmp_path, caplog):
    """resolve_token still returns the token there, and logs a warning naming the directory and the fix."""
    (tmp_path / "cave-secret.json").write_text(json.dumps({"token": TOKEN}))
    tmp_path.chmod(0o775)
    with caplog.at_level(logging.WARNING, logger="cave_auth"):
        found = ca.resolve_token(ca.Config(secrets_dir=str(tmp_path)), ca.FileStore())
    assert found is not None
    assert found.token == TOKEN
    assert f"chmod 700 {tmp_path}" in caplog.text
    assert TOKEN not in caplog.text


def test_save_result_repr_hides_token():
    """SaveResult's repr contains the Config, whose token is hidden."""
    result = ca.save_token(ca.Config(), ca.MemoryStore(), TOKEN)
    assert TOKEN not in repr(result)


# Guidance -----------------------------------------------------------------


def test_setup_instructions_for_a_new_token():
    """make_new points at the create-token page and warns about invalidation."""
    guide = ca.setup_instructions(ca.Config("minnie.microns-daf.com"))
    assert guide.url == "https://minnie.microns-daf.com/auth/api/v1/create_token"
    assert guide.url in guide.text
    assert "invalidate the previous token" in guide.text
    assert 'client.auth.save_token(token="PASTE_YOUR_TOKEN_HERE")' in guide.text


def test_setup_instructions_for_an_existing_token():
    """make_new=False points at the token list page."""
    guide = ca.setup_instructions(ca.Config(), make_new=False)
    assert guide.url == "https://global.daf-apis.com/sticky_auth/settings/tokens"
    assert "view a list of your existing tokens" in guide.text


def test_page_urls():
    """The token page and create-token page URLs follow the server's routes."""
    assert (
        ca.token_page_url("https://x.org")
        == "https://x.org/sticky_auth/settings/tokens"
    )
    assert (
        ca.create_token_page_url("https://x.org")
        == "https://x.org/auth/api/v1/create_token"
    )


def test_missing_token_error_says_where_and_how():
    """The missing-token error names the searched files, CAVE_TOKEN and the page."""
    error = missing_token_error(ca.Config())
    text = str(error)
    assert DEFAULT_FILE in text
    assert "CAVE_TOKEN" in text
    assert (
        error.token_page_url
        == "https://global.daf-apis.com/sticky_auth/settings/tokens"
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    document=st.one_of(
        json_values,
        st.dictionaries(
            st.sampled_from(["token", "fanc", ""]), json_values, max_size=3
        ),
    ),
    raw=st.text(max_size=60),
    use_raw=st.booleans(),
)
def test_any_json_file_yields_token_none_or_token_file_error(
    tmp_path_factory, document, raw, use_raw
):
    """Whatever a secrets file holds, resolution gives a token, None or TokenFileError."""
    directory = tmp_path_factory.mktemp("secrets")
    text = raw if use_raw else json.dumps(document)
    (directory / "cave-secret.json").write_text(text)
    config = ca.Config(secrets_dir=str(directory))
    try:
        found = ca.resolve_token(config, ca.FileStore())
    except ca.TokenFileError as error:
        assert error.path.endswith("cave-secret.json")
    else:
        assert found is None or token_problem(found.token) is None


def test_evolved_config_still_resolves():
    """A Config changed with evolve resolves from its new secrets dir."""
    store = ca.MemoryStore({"/other/cave-secret.json": {"token": TOKEN}})
    config = attrs.evolve(ca.Config(), secrets_dir="/other")
    assert ca.with_token(config, store).token == TOKEN


class MinimalStore:
    """A store written against the protocol before directory_problem existed."""

    def __init__(self) -> None:
        self.files: dict[str, dict[str, str]] = {}

    def read_secrets(self, path):
        return self.files.get(path)

    def set_secret(self, path, key, value, *, overwrite=True):
        current = self.files.setdefault(path, {})
        if current.get(key) == value:
            return False
        if key in current and not overwrite:
            raise ca.TokenKeyExistsError(path, key)
        current[key] = value
        return True

    def is_writable(self, path):
        return True

    def remove_secret(self, path, key, *, only_if=None):
        current = self.files.get(path, {})
        if key not in current or (only_if is not None and current[key] != only_if):
            return False
        del current[key]
        return True

    def list_files(self, directory):
        return sorted(
            p.rpartition("/")[2] for p in self.files if p.startswith(directory)
        )

    def file_mode(self, path):
        return None


def test_a_store_without_directory_problem_still_resolves_saves_and_forgets():
    """A user-written store that lacks directory_problem is a TokenStore that resolve, save, list and forget accept."""
    store = MinimalStore()
    assert isinstance(store, ca.TokenStore)
    config = ca.Config(secrets_dir="/s")
    saved = ca.save_token(config, store, TOKEN)
    assert set(saved.written) == {
        "/s/cave-secret.json",
        SERVER_FILE.replace(SECRETS, "/s"),
    }
    found = ca.resolve_token(config, store)
    assert found is not None
    assert found.token == TOKEN
    assert [entry.token for entry in ca.list_saved_tokens(config, store)] == [
        TOKEN,
        TOKEN,
    ]
    assert len(ca.forget_token(config, store).removed) == 2
    assert ca.resolve_token(config, store) is None


def test_missing_token_error_lives_in_errors():
    """missing_token_error is built in errors, and tokens still exports the same function."""
    from cave_auth import errors

    assert errors.missing_token_error is missing_token_error
    assert isinstance(errors.missing_token_error(ca.Config()), ca.MissingTokenError)
