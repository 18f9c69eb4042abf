"""Tests of the fake server's data and the model queries its views share."""

from __future__ import annotations

from cave_auth.testing import FakeSeed
from cave_auth.testing.backend import Backend


def test_refused_description_leaves_a_working_unlisted_token() -> None:
    """A description over 120 characters is not stored, but its token works."""
    backend = Backend(FakeSeed.default())
    keys_before = dict(backend.keys)
    token, stored = backend.new_key(2, "d" * 121)
    assert not stored
    assert backend.keys == keys_before
    assert backend.login_tokens[token] == 2


def test_new_key_stores_text_forms_and_counts_ids() -> None:
    """Ints and bools are stored in PostgreSQL's text form, ids continue from 7."""
    backend = Backend(FakeSeed.default())
    _token, stored = backend.new_key(1, True)
    assert stored
    _token, _ = backend.new_key(1, 42)
    assert (backend.keys[7].description, backend.keys[8].description) == ("true", "42")
    assert backend.next_key_id == 9


def test_service_account_inherits_tos_acceptance() -> None:
    """A service account has its parent's ToS; a plain user misses test_tos_ds."""
    backend = Backend(FakeSeed.default())
    testbot, norm = backend.users[3], backend.users[2]
    assert backend.cache(testbot)["permissions_v2"]["test_tos_ds"] == ["view"]
    assert "test_tos_ds" not in backend.cache(norm)["permissions_v2"]
    assert [m["tos_id"] for m in backend.missing_tos(norm)] == [2]


def test_normal_user_excludes_service_accounts() -> None:
    """normal_user finds users but not service accounts or unknown ids."""
    backend = Backend(FakeSeed.default())
    assert backend.normal_user(1) is backend.users[1]
    assert backend.normal_user(3) is None
    assert backend.normal_user(999) is None


def test_dataset_name_lookup_is_a_case_insensitive_substring_first_by_id() -> None:
    """dataset_like finds the first dataset, by id, whose name contains the text."""
    backend = Backend(FakeSeed.default())
    assert backend.dataset_like("TOS").name == "test_tos_ds"  # type: ignore[union-attr]
    assert backend.dataset_like("_ds").name == "test_ds"  # type: ignore[union-attr]
    assert backend.dataset_like("nope") is None


def test_service_tables_map_exactly_and_dataset_admins_show_in_records() -> None:
    """A service table maps by exact names; a dataset admin's records name the dataset."""
    backend = Backend(FakeSeed.default())
    found = backend.dataset_of_table("pychunkedgraph", "test_ds_pcg_table")
    assert found is not None
    assert found.name == "test_ds"
    assert backend.dataset_of_table("datastack", "test_ds_pcg_table") is None
    assert backend.dataset_of_table("datastack", "test") is None
    tina = backend.users[6]
    assert backend.cache(tina)["datasets_admin"] == ["test_ds"]
    assert backend.user_dict(tina, full=True)["admin_datasets"] == [
        {"id": 1, "name": "test_ds"}
    ]
    assert backend.cache(backend.users[2])["datasets_admin"] == []


def test_login_tokens_live_seven_days_and_end_alone() -> None:
    """A new login token has 7 days left, is no API key, and ends on its own."""
    backend = Backend(FakeSeed.default())
    token = backend.new_login_token(5)
    other = backend.new_login_token(5)
    assert len(token) == 32
    assert int(token, 16) >= 0
    assert token not in {k.token for k in backend.keys.values()}
    assert 604800 - 5 <= (backend.login_ttl(token) or 0) <= 604800
    backend.end_login_token(token)
    assert backend.live_login_user(token) is None
    assert backend.live_login_user(other) == 5


def test_refused_description_token_never_expires() -> None:
    """The token left by a refused description has no TTL, like an API key."""
    backend = Backend(FakeSeed.default())
    token, _stored = backend.new_key(2, "d" * 121)
    assert backend.login_ttl(token) is None
