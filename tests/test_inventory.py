"""Tests for listing and forgetting saved tokens (cave_auth.inventory)."""

from __future__ import annotations

import json
import os

import pytest

import cave_auth as ca
from cave_auth.inventory import forget_token, list_saved_tokens

TOKEN = "0123456789abcdef0123456789abcdef"
OTHER = "fedcba9876543210fedcba9876543210"


def _write(path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))


def test_list_finds_every_file_and_hides_lock_and_temp_files(tmp_path):
    """Server files, the default and deprecated files are listed; lock/temp files are not."""
    _write(tmp_path / "a.org-cave-secret.json", {"token": TOKEN, "fanc": OTHER})
    _write(tmp_path / "cave-secret.json", {"token": TOKEN})
    _write(tmp_path / "chunkedgraph-secret.json", {"token": OTHER})
    _write(tmp_path / ".a.org-cave-secret.json.lock", "")
    _write(tmp_path / ".a.org-cave-secret.json.123.abcd.tmp", {"token": OTHER})
    _write(tmp_path / "unrelated.json", {"token": OTHER})
    found = list_saved_tokens(ca.Config(secrets_dir=str(tmp_path)), ca.FileStore())
    shown = [(s.server, os.path.basename(s.path), s.key, s.display) for s in found]
    assert shown == [
        ("https://a.org", "a.org-cave-secret.json", "token", "0123…cdef"),
        ("https://a.org", "a.org-cave-secret.json", "fanc", "fedc…3210"),
        (None, "cave-secret.json", "token", "0123…cdef"),
        (None, "chunkedgraph-secret.json", "token", "fedc…3210"),
    ]
    assert TOKEN not in repr(found)


def test_list_reports_a_corrupt_file_instead_of_failing(tmp_path):
    """A corrupt file is one entry with its problem; the others are still listed."""
    _write(tmp_path / "bad.org-cave-secret.json", "{not json")
    _write(
        tmp_path / "cave-secret.json", {"token": TOKEN, "broken": "a b", "gone": None}
    )
    found = list_saved_tokens(ca.Config(secrets_dir=str(tmp_path)), ca.FileStore())
    assert [(s.key, s.problem is not None, s.token) for s in found] == [
        ("", True, None),
        ("token", False, TOKEN),
        ("broken", True, None),
    ]
    assert "not valid JSON" in found[0].problem


def test_list_of_a_missing_directory_is_empty(tmp_path):
    """No secrets directory means no saved tokens, not an error."""
    config = ca.Config(secrets_dir=str(tmp_path / "none"))
    assert list_saved_tokens(config, ca.FileStore()) == []


def test_list_works_on_a_memory_store():
    """A MemoryStore lists the files of the secrets directory only."""
    store = ca.MemoryStore(
        {
            "/s/x.org-cave-secret.json": {"token": TOKEN},
            "/elsewhere/cave-secret.json": {"token": OTHER},
        }
    )
    found = list_saved_tokens(ca.Config(secrets_dir="/s"), store)
    assert [(s.server, s.token) for s in found] == [("https://x.org", TOKEN)]


def test_list_keeps_the_configured_servers_scheme_for_its_own_file():
    """The file of the configured server (an http loopback one) keeps its address."""
    store = ca.MemoryStore(
        {
            "/s/127.0.0.1:8123-cave-secret.json": {"token": TOKEN},
            "/s/x.org-cave-secret.json": {"token": OTHER},
        }
    )
    config = ca.Config(secrets_dir="/s", server_address="http://127.0.0.1:8123")
    found = list_saved_tokens(config, store)
    assert [s.server for s in found] == ["http://127.0.0.1:8123", "https://x.org"]


def test_forget_removes_the_token_from_both_files_and_keeps_other_keys(tmp_path):
    """The key goes from the server's and the default file; other keys stay; files stay 0600."""
    config = ca.Config(server_address="https://a.org", secrets_dir=str(tmp_path))
    store = ca.FileStore()
    ca.save_token(config, store, TOKEN)
    store.set_secret(str(tmp_path / "cave-secret.json"), "fanc", OTHER)
    result = forget_token(config, store)
    assert json.loads((tmp_path / "a.org-cave-secret.json").read_text()) == {}
    assert json.loads((tmp_path / "cave-secret.json").read_text()) == {"fanc": OTHER}
    assert (tmp_path / "cave-secret.json").stat().st_mode & 0o777 == 0o600
    assert len(result.removed) == 2
    assert TOKEN not in repr(result)
    assert ca.resolve_token(config, store) is None


def test_forget_leaves_a_different_token_under_the_same_key():
    """The default file holding another server's token under the key is kept."""
    store = ca.MemoryStore(
        {
            "/s/a.org-cave-secret.json": {"token": TOKEN},
            "/s/cave-secret.json": {"token": OTHER},
        }
    )
    config = ca.Config(server_address="https://a.org", secrets_dir="/s")
    result = forget_token(config, store)
    assert store.files == {
        "/s/a.org-cave-secret.json": {},
        "/s/cave-secret.json": {"token": OTHER},
    }
    assert result.kept == ("/s/cave-secret.json",)


def test_forget_with_nothing_saved_is_missing_token():
    """Forgetting when there is no token says how to get one."""
    with pytest.raises(ca.MissingTokenError):
        forget_token(ca.Config(secrets_dir="/s"), ca.MemoryStore())
