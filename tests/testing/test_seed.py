"""Tests of FakeSeed: custom seeds, the default seed's extra users and big group."""

from __future__ import annotations

import pytest

from cave_auth.testing import (
    FakeApiKey,
    FakeAuthServer,
    FakeGroup,
    FakeMembership,
    FakeSeed,
    FakeUser,
)

from .conformance import bearer, fetch


def test_custom_seed() -> None:
    """A custom seed is served as given, on a copy, with its own named tokens."""
    seed = FakeSeed(
        users=[
            FakeUser(id=10, name="Solo", email="solo@example.org", admin=True),
            FakeUser(id=11, name="Pal", email="pal@example.org"),
        ],
        groups=[FakeGroup(id=5, name="crew")],
        memberships=[
            FakeMembership(user_id=10, group_id=5, admin=True),
            FakeMembership(user_id=11, group_id=5),
        ],
        api_keys=[FakeApiKey(id=1, user_id=10, token="a" * 32)],
        login_tokens={"b" * 32: 11},
        named_tokens={"admin": "a" * 32, "pal": "b" * 32},
    )
    with FakeAuthServer(seed) as server:
        assert server.admin_token == "a" * 32
        assert server.token("pal") == "b" * 32
        with pytest.raises(KeyError, match="user"):
            _ = server.user_token
        me = fetch(server, "GET", "/auth/api/v1/user/me", bearer("b" * 32)).json()
        assert (me["id"], me["name"], me["admin"]) == (11, "Pal", False)
        members = fetch(server, "GET", "/auth/api/v1/group/5/user", bearer("a" * 32))
        assert members.json() == [
            {"admin": True, "id": 10, "name": "Solo"},
            {"admin": False, "id": 11, "name": "Pal"},
        ]
        deleted = fetch(server, "DELETE", "/auth/api/v1/user/token/1", bearer("a" * 32))
        assert deleted.json() == "success"
    assert len(seed.api_keys) == 1


def test_extra_users_and_big_group() -> None:
    """extra_users adds users 7.. and extra_group_members fills big_group_id."""
    with FakeAuthServer(extra_users=50, extra_group_members=20) as server:
        assert server.big_group_id == 4
        admin = bearer(server.admin_token)
        path = f"/auth/api/v1/group/{server.big_group_id}/user"
        members = fetch(server, "GET", path, admin).json()
        assert [m["id"] for m in members] == list(range(7, 27))
        ids = ",".join(str(i) for i in range(7, 57))
        users = fetch(server, "GET", "/auth/api/v1/user?id=" + ids, admin).json()
        assert [u["id"] for u in users] == list(range(7, 57))
        everyone = fetch(server, "GET", "/auth/api/v1/group/1/user", admin).json()
        assert len(everyone) == 5 + 50
        page = fetch(server, "GET", "/auth/api/v1/user?id=", admin).json()
        assert page["pages"] == 3
    assert FakeAuthServer(extra_users=3).big_group_id is None
    with pytest.raises(ValueError, match=">= 0"):
        FakeAuthServer(extra_users=-1)


def test_default_seed_has_the_recorded_dataset_admin_tables_and_roots() -> None:
    """Tina administers test_ds; three service tables; two public roots and a private one."""
    seed = FakeSeed.default()
    assert seed.named_tokens["dataset_admin"] == seed.named_tokens["nokey_temp"]
    assert [d.admins for d in seed.datasets] == [[6], []]
    assert {(t.service, t.table, t.dataset_id) for t in seed.service_tables} == {
        ("datastack", "test_ds", 1),
        ("datastack", "test_tos_ds", 2),
        ("pychunkedgraph", "test_ds_pcg_table", 1),
    }
    assert [(r.root_id, r.public) for r in seed.public_roots] == [
        (720575940000000001, True),
        (720575940000000002, True),
        (720575940000000003, False),
    ]
    with FakeAuthServer(seed) as server:
        assert server.dataset_admin_token == seed.named_tokens["nokey_temp"]
