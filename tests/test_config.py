"""Tests for cave_auth.config: the immutable settings value."""

from __future__ import annotations

import pickle
import re

import attrs
import pytest

import cave_auth as ca
from cave_auth.config import normalize_server_address

TOKEN = "0123456789abcdef0123456789abcdef"


def test_defaults_match_caveclient():
    """A bare Config points at CAVEclient's global server and secrets dir."""
    config = ca.Config()
    assert config.server_address == "https://global.daf-apis.com"
    assert config.token is None
    assert config.token_key == "token"
    assert config.token_file is None
    assert config.secrets_dir == "~/.cloudvolume/secrets"
    assert config.local_server is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("global.daf-apis.com", "https://global.daf-apis.com"),
        ("https://global.daf-apis.com/", "https://global.daf-apis.com"),
        ("HTTP://localhost:8000", "http://localhost:8000"),
        ("minnie.microns-daf.com:443", "https://minnie.microns-daf.com:443"),
        ("https://example.org/prefix/", "https://example.org/prefix"),
        ("http://[::1]:5000", "http://[::1]:5000"),
    ],
)
def test_server_address_is_normalized(given, expected):
    """A server address gets https:// when it has no scheme and loses a trailing slash."""
    assert ca.Config(given).server_address == expected


@pytest.mark.parametrize(
    "bad",
    ["", "   ", "ftp://x.org", "https://", "https://exa mple.org", "x.org\r\nX: y", 5],
)
def test_bad_server_address_is_rejected(bad):
    """A malformed server address raises InvalidInputError, which is a ValueError."""
    with pytest.raises(ca.InvalidInputError):
        ca.Config(bad)
    with pytest.raises(ValueError, match="server_address"):
        normalize_server_address(bad)


@pytest.mark.parametrize(
    "bad_token",
    [
        "",
        "abc def",
        "abc\r\nX-Injected: 1",
        "tab\there",
        "\x00abc",
        "ünïcode",
        123,
        b"abc",
    ],
)
def test_bad_token_is_rejected_without_echoing_it(bad_token):
    """An empty, non-str or header-breaking token is refused and never quoted."""
    with pytest.raises(ca.InvalidInputError) as info:
        ca.Config(token=bad_token)
    assert isinstance(info.value, ValueError)
    if isinstance(bad_token, str) and bad_token:
        assert bad_token not in str(info.value)


def test_repr_and_str_hide_the_token():
    """Neither repr nor str of a Config shows its token."""
    config = ca.Config(token=TOKEN)
    assert TOKEN not in repr(config)
    assert TOKEN not in str(config)
    assert "token=<set>" in repr(config)
    assert "token=None" in repr(ca.Config())


def test_config_is_frozen_hashable_and_picklable():
    """Config cannot be mutated, hashes by value and survives pickling."""
    config = ca.Config(token=TOKEN, token_key="fanc")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        config.token = "other"  # type: ignore[misc]
    assert hash(config) == hash(ca.Config(token=TOKEN, token_key="fanc"))
    assert pickle.loads(pickle.dumps(config)) == config


def test_evolve_validates_again():
    """attrs.evolve runs the same validation as construction."""
    config = ca.Config()
    assert (
        attrs.evolve(config, server_address="x.org").server_address == "https://x.org"
    )
    with pytest.raises(ca.InvalidInputError):
        attrs.evolve(config, token="has space")


def test_empty_token_key_is_rejected():
    """A token key must be a non-empty string."""
    with pytest.raises(ca.InvalidInputError, match="token_key"):
        ca.Config(token_key="")


def test_from_env_reads_the_documented_variables():
    """from_env reads CAVE_TOKEN, CAVE_SERVER_ADDRESS, CAVE_TOKEN_KEY and CLOUD_VOLUME_DIR."""
    config = ca.Config.from_env(
        {
            "CAVE_TOKEN": TOKEN,
            "CAVE_SERVER_ADDRESS": "minnie.microns-daf.com",
            "CAVE_TOKEN_KEY": "minnie",
            "CLOUD_VOLUME_DIR": "/srv/cv",
            "HOME": "/ignored",
        }
    )
    assert config.token == TOKEN
    assert config.token_source == "env:CAVE_TOKEN"
    assert config.server_address == "https://minnie.microns-daf.com"
    assert config.token_key == "minnie"
    assert config.secrets_dir == "/srv/cv/secrets"


def test_from_env_treats_empty_variables_as_unset():
    """A variable that is set but empty does not override the default."""
    config = ca.Config.from_env(
        {"CAVE_TOKEN": "", "CAVE_SERVER_ADDRESS": "", "CLOUD_VOLUME_DIR": ""}
    )
    assert config == ca.Config()


def test_from_env_overrides_win():
    """Keyword overrides beat the environment, and an explicit token is from config."""
    config = ca.Config.from_env(
        {"CAVE_TOKEN": TOKEN, "CAVE_SERVER_ADDRESS": "a.org"},
        server_address="b.org",
        token="fedcba9876543210",
    )
    assert config.server_address == "https://b.org"
    assert config.token == "fedcba9876543210"
    assert config.token_source == "config"


def test_from_env_rejects_a_bad_token_naming_the_variable():
    """A malformed CAVE_TOKEN is reported by name, without its value."""
    with pytest.raises(ca.InvalidInputError, match="CAVE_TOKEN") as info:
        ca.Config.from_env({"CAVE_TOKEN": "secret value\n"})
    assert "secret value" not in str(info.value)


def test_from_env_never_reads_os_environ(monkeypatch):
    """from_env looks only at the mapping it is given."""
    monkeypatch.setenv("CAVE_TOKEN", TOKEN)
    monkeypatch.setenv("CAVE_SERVER_ADDRESS", "leak.org")
    assert ca.Config.from_env({}) == ca.Config()


def test_local_server_is_normalized():
    """A local server address is normalized like the main one."""
    assert (
        ca.Config(local_server="localhost:9000").local_server
        == "https://localhost:9000"
    )


BAD_PORTS = [
    ("http://127.0.0.1:8o00", "'8o00'"),
    ("http://127.0.0.1:99999", "'99999'"),
    ("localhost:65536", "'65536'"),
    ("http://localhost:0", "'0'"),
    ("http://localhost:+80", "'+80'"),
    ("http://localhost:", "''"),
    ("https://[::1]:99999", "'99999'"),
    ("https://user@host.org:8o00/prefix", "'8o00'"),
]


@pytest.mark.parametrize("field", ["server_address", "local_server"])
@pytest.mark.parametrize(("address", "port"), BAD_PORTS)
def test_a_bad_port_is_refused_when_the_config_is_made(field, address, port):
    """A port that is not digits in 1..65535 is an InvalidInputError naming the field, the port and the rule."""
    with pytest.raises(ca.InvalidInputError) as info:
        ca.Config(**{field: address}, token=TOKEN)
    message = str(info.value)
    assert message.startswith(f"{field} {address!r} has an invalid port {port}")
    assert "a port is a number from 1 to 65535" in message
    assert TOKEN not in message


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("http://::1:8000", "IPv6 host without brackets"),
        ("http://[::1:8000", "malformed [IPv6] host"),
        ("http://[::1]x:8000", "malformed [IPv6] host"),
        ("http://:8000", "has no valid host"),
    ],
)
def test_a_malformed_host_is_refused_when_the_config_is_made(address, problem):
    """A host the transport could not split is refused up front, saying how."""
    with pytest.raises(ca.InvalidInputError, match=re.escape(problem)):
        ca.Config(address)


@pytest.mark.parametrize(
    "address", ["http://localhost:1", "http://localhost:65535", "http://[::1]:8000"]
)
def test_every_valid_port_is_kept(address):
    """Ports 1 and 65535, and a bracketed IPv6 host with a port, are accepted as given."""
    assert ca.Config(address).server_address == address


def test_from_env_names_the_variable_holding_a_bad_port():
    """A bad port in CAVE_SERVER_ADDRESS is reported under the variable's name; an override still wins."""
    environ = {"CAVE_SERVER_ADDRESS": "http://127.0.0.1:8o00"}
    with pytest.raises(ca.InvalidInputError) as info:
        ca.Config.from_env(environ)
    assert str(info.value).startswith(
        "CAVE_SERVER_ADDRESS 'http://127.0.0.1:8o00' has an invalid port '8o00'"
    )
    assert ca.Config.from_env(environ, server_address="a.org").server_address == (
        "https://a.org"
    )
