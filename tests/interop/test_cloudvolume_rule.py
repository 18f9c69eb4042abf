"""Interoperability with CloudVolume's secrets lookup, without installing it.

CloudVolume (``cloudvolume/secrets.py``, ``cave_credentials(domain)``) looks
for CAVE credentials in ``$CLOUD_VOLUME_DIR/secrets`` (default
``~/.cloudvolume/secrets``) and takes the *first file that exists* among
``{domain}-cave-secret.json``, ``cave-secret.json`` and
``chunkedgraph-secret.json``; its graphene and CAVE interfaces then use that
file's ``"token"`` key. :func:`cloudvolume_token` below reproduces that rule
(leaving out CloudVolume's fallbacks to ``~/.neuroglancer`` and ``/``), and
the tests check that it finds what ``cave_auth`` saved through a Config built
with ``Config.from_env({"CLOUD_VOLUME_DIR": ...})``, and that ``cave_auth``
reads back files laid out the way CloudVolume reads them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import pytest

import cave_auth
from cave_auth import Config, FileStore

pytestmark = pytest.mark.interop

TOKEN = "0123456789abcdef0123456789abcdef"
OTHER = "fedcba9876543210fedcba9876543210"


def cloudvolume_token(domain: str, environ: Mapping[str, str], home: str) -> str | None:
    """Return the token CloudVolume would use for ``domain``.

    Mirrors ``cloudvolume.secrets.cave_credentials(domain).get("token")``.

    Args:
        domain: The server's host (``netloc``), e.g. ``"global.daf-apis.com"``.
        environ: The environment (only ``CLOUD_VOLUME_DIR`` is read).
        home: The home directory.

    Returns:
        The ``"token"`` value of the first existing candidate file, or None.
    """
    cloud_volume_dir = environ.get(
        "CLOUD_VOLUME_DIR", os.path.join(home, ".cloudvolume")
    )
    names = ["cave-secret.json", "chunkedgraph-secret.json"]
    if domain:
        names.insert(0, f"{domain}-cave-secret.json")
    for name in names:
        path = os.path.join(cloud_volume_dir, "secrets", name)
        if os.path.exists(path):
            with open(path) as file:
                token: str | None = json.load(file).get("token")
                return token
    return None


@pytest.fixture
def cloud_volume_dir(tmp_path: Path) -> Path:
    """A CLOUD_VOLUME_DIR inside tmp_path."""
    return tmp_path / "cv"


def env_config(cloud_volume_dir: Path, **overrides: object) -> Config:
    """A Config built the way the edges build it, from CLOUD_VOLUME_DIR."""
    return Config.from_env({"CLOUD_VOLUME_DIR": str(cloud_volume_dir)}, **overrides)


def test_from_env_puts_secrets_where_cloudvolume_looks(cloud_volume_dir: Path) -> None:
    """Config.from_env maps CLOUD_VOLUME_DIR to $CLOUD_VOLUME_DIR/secrets."""
    config = env_config(cloud_volume_dir)
    assert config.secrets_dir == str(cloud_volume_dir / "secrets")


def test_cloudvolume_finds_default_save(cloud_volume_dir: Path) -> None:
    """A default cave_auth save is CloudVolume's token for the server and others."""
    environ = {"CLOUD_VOLUME_DIR": str(cloud_volume_dir)}
    cave_auth.save_token(env_config(cloud_volume_dir), FileStore(), TOKEN)
    assert cloudvolume_token("global.daf-apis.com", environ, "/nonexistent") == TOKEN
    assert cloudvolume_token("minnie.example.org", environ, "/nonexistent") == TOKEN
    assert cloudvolume_token("", environ, "/nonexistent") == TOKEN


def test_cloudvolume_finds_server_file(cloud_volume_dir: Path) -> None:
    """A server-specific token wins for that domain, as in cave_auth."""
    environ = {"CLOUD_VOLUME_DIR": str(cloud_volume_dir)}
    store = FileStore()
    cave_auth.save_token(
        env_config(cloud_volume_dir), store, OTHER, write_to_server_file=False
    )
    minnie = env_config(cloud_volume_dir, server_address="minnie.example.org")
    server_file = cave_auth.server_token_path(minnie)
    cave_auth.save_token(minnie, store, TOKEN, token_file=server_file)
    assert cloudvolume_token("minnie.example.org", environ, "/nonexistent") == TOKEN
    assert cloudvolume_token("global.daf-apis.com", environ, "/nonexistent") == OTHER
    assert cave_auth.with_token(minnie, store).token == TOKEN


def test_cloudvolume_finds_loopback_server_with_port(cloud_volume_dir: Path) -> None:
    """A server with a port gets a ``host:port`` file name, as CloudVolume expects."""
    environ = {"CLOUD_VOLUME_DIR": str(cloud_volume_dir)}
    config = env_config(cloud_volume_dir, server_address="http://127.0.0.1:8000")
    cave_auth.save_token(config, FileStore(), TOKEN)
    assert (cloud_volume_dir / "secrets" / "127.0.0.1:8000-cave-secret.json").exists()
    assert cloudvolume_token("127.0.0.1:8000", environ, "/nonexistent") == TOKEN


def test_named_key_keeps_cloudvolume_token(cloud_volume_dir: Path) -> None:
    """Adding a named key keeps the ``token`` key CloudVolume reads."""
    environ = {"CLOUD_VOLUME_DIR": str(cloud_volume_dir)}
    store = FileStore()
    cave_auth.save_token(env_config(cloud_volume_dir), store, TOKEN)
    cave_auth.save_token(
        env_config(cloud_volume_dir), store, OTHER, token_key="fanc_production"
    )
    assert cloudvolume_token("global.daf-apis.com", environ, "/nonexistent") == TOKEN
    secrets = json.loads(
        (
            cloud_volume_dir / "secrets" / "global.daf-apis.com-cave-secret.json"
        ).read_text()
    )
    assert secrets == {"token": TOKEN, "fanc_production": OTHER}


def test_default_cloud_volume_dir_is_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without CLOUD_VOLUME_DIR both use ~/.cloudvolume/secrets."""
    monkeypatch.setenv("HOME", str(tmp_path))
    config = Config.from_env({})
    cave_auth.save_token(config, FileStore(), TOKEN)
    assert (tmp_path / ".cloudvolume" / "secrets" / "cave-secret.json").exists()
    assert cloudvolume_token("global.daf-apis.com", {}, str(tmp_path)) == TOKEN


@pytest.mark.parametrize(
    ("layout", "domain"),
    [
        ({"cave-secret.json": {"token": TOKEN}}, "global.daf-apis.com"),
        ({"chunkedgraph-secret.json": {"token": TOKEN}}, "global.daf-apis.com"),
        (
            {
                "global.daf-apis.com-cave-secret.json": {"token": TOKEN},
                "cave-secret.json": {"token": OTHER},
            },
            "global.daf-apis.com",
        ),
        (
            {
                "minnie.example.org-cave-secret.json": {"token": TOKEN},
                "cave-secret.json": {"token": OTHER},
            },
            "minnie.example.org",
        ),
        (
            {"cave-secret.json": {"token": TOKEN, "fanc": OTHER}},
            "minnie.example.org",
        ),
    ],
)
def test_cave_auth_reads_cloudvolume_layouts(
    cloud_volume_dir: Path, layout: dict[str, dict[str, str]], domain: str
) -> None:
    """Wherever CloudVolume finds a token, cave_auth resolves the same one."""
    secrets = cloud_volume_dir / "secrets"
    secrets.mkdir(parents=True)
    for name, content in layout.items():
        (secrets / name).write_text(json.dumps(content))
    environ = {"CLOUD_VOLUME_DIR": str(cloud_volume_dir)}
    expected = cloudvolume_token(domain, environ, "/nonexistent")
    assert expected == TOKEN
    config = Config.from_env({**environ, "CAVE_SERVER_ADDRESS": domain})
    found = cave_auth.resolve_token(config, FileStore())
    assert found is not None
    assert found.token == expected
