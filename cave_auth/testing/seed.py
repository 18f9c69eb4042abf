"""The data a :class:`~cave_auth.testing.FakeAuthServer` starts with.

This module does no I/O. :class:`FakeSeed` holds rows (users, groups,
memberships, API keys, login-style tokens, datasets with per-group permissions
and admins, Terms of Service, service tables, public roots) as plain
dataclasses that a test may build by hand or change. :meth:`FakeSeed.default`
mirrors the recording of the real server (users 1-6, groups 1-3, API keys 1-6,
datasets ``test_ds`` and ``test_tos_ds``, the public roots of
``test_ds_pcg_table``) with fresh random tokens. A server works on a deep
copy, so one seed can serve many.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

__all__ = [
    "INVALID_TOKEN",
    "SEED_TIME",
    "FakeApiKey",
    "FakeDataset",
    "FakeGroup",
    "FakeMembership",
    "FakePublicRoot",
    "FakeSeed",
    "FakeServiceTable",
    "FakeTos",
    "FakeUser",
    "add_extra_users",
]

#: A well-formed token that no fake server knows (the one used in the recording).
INVALID_TOKEN: Final = "0123456789abcdef0123456789abcdef"

#: When the default seed's rows were "created" (the date of the recording).
SEED_TIME: Final = datetime(2026, 11, 28, 4, 59, 28, tzinfo=UTC)

_DEFAULT_TOKEN_NAMES: Final = (
    "admin",
    "user",
    "user2",
    "temp",
    "service_account",
    "group_admin",
    "refresh_user",
    "nokey_temp",
)


@dataclass
class FakeUser:
    """A user account, or a service account when ``parent_id`` is set.

    Attributes:
        id: Row id.
        name: The raw ``user.name`` column (shown by ``/group/<id>/user``).
        email: Unique e-mail address (``...@serviceaccount`` for service accounts).
        pi: Principal investigator text.
        admin: Superadmin flag.
        custom_name: Public name chosen by the user; shown instead of ``name``
            everywhere except ``/group/<id>/user``.
        parent_id: Id of the owning user for a service account, else ``None``.
        gdpr_consent: The ``gdpr_consent`` flag of the full record.
        created: Creation time (UTC; a naive datetime is read as UTC).
        affiliations: Affiliation objects, e.g. ``{"id": 1, "name": "Test
            Institute", "start": "2026-11-28T04:59:28.770702"}``.
        accepted_tos: Ids of the Terms of Service this user has accepted (a
            service account inherits its parent's).
    """

    id: int
    name: str
    email: str
    pi: str | None = ""
    admin: bool = False
    custom_name: str | None = None
    parent_id: int | None = None
    gdpr_consent: bool = False
    created: datetime = SEED_TIME
    affiliations: list[dict[str, Any]] = field(default_factory=list)
    accepted_tos: list[int] = field(default_factory=list)


@dataclass
class FakeGroup:
    """A group.

    Attributes:
        id: Row id.
        name: Unique group name.
    """

    id: int
    name: str


@dataclass
class FakeMembership:
    """Membership of a user (or service account) in a group.

    Attributes:
        user_id: The member.
        group_id: The group.
        admin: Whether the member is an admin of that group.
    """

    user_id: int
    group_id: int
    admin: bool = False


@dataclass
class FakeApiKey:
    """An API key row (a token that does not expire and appears in token lists).

    Attributes:
        id: Row id (what ``DELETE /user/token/<id>`` takes).
        user_id: Owner.
        token: The secret, 32 hex characters on the real server.
        description: Free text or ``None``.
        created: Creation time (UTC).
        updated: Last update time; ``None`` means ``created``.
        last_used: Last time the key authenticated a request, or ``None``.
    """

    id: int
    user_id: int
    token: str
    description: str | None = None
    created: datetime = SEED_TIME
    updated: datetime | None = None
    last_used: datetime | None = None


@dataclass
class FakeTos:
    """Terms of Service.

    Attributes:
        id: Row id (used in ``/sticky_auth/api/v1/tos/<id>/accept``).
        name: Display name, e.g. ``"Test ToS"``.
        text: HTML fragment shown on the acceptance form.
    """

    id: int
    name: str
    text: str = ""


@dataclass
class FakeDataset:
    """A dataset (also used as the datastack name by the ``/tosdemo`` routes).

    Attributes:
        id: Row id.
        name: Dataset name, e.g. ``"test_ds"``.
        permissions: Group id -> permission names (``"view"``, ``"edit"``) that
            members of that group get on this dataset.
        tos_id: Terms of Service that must be accepted first, or ``None``.
        admins: Ids of the users who administer this dataset (its "dataset
            admins": ``datasets_admin`` of their permission record).
    """

    id: int
    name: str
    permissions: dict[int, list[str]] = field(default_factory=dict)
    tos_id: int | None = None
    admins: list[int] = field(default_factory=list)


@dataclass
class FakeServiceTable:
    """A service's table mapped to a dataset (``/service/<s>/table/<t>/dataset``).

    Attributes:
        service: The service namespace, e.g. ``"datastack"`` or
            ``"pychunkedgraph"``.
        table: The table (or datastack) name.
        dataset_id: The dataset it belongs to.
    """

    service: str
    table: str
    dataset_id: int


@dataclass
class FakePublicRoot:
    """A root of a table that may be public (the server's ``celltemp`` rows).

    Attributes:
        table: The table, e.g. ``"test_ds_pcg_table"``.
        root_id: The root id, a 64-bit integer.
        public: Whether the root is public; a row that is not counts for
            nothing.
    """

    table: str
    root_id: int
    public: bool = True


@dataclass
class FakeSeed:
    """Everything a ``FakeAuthServer`` starts with.

    Attributes:
        users: Users and service accounts.
        groups: Groups.
        memberships: Who is in which group.
        api_keys: API keys (listed, deletable, never expire).
        login_tokens: Login-style tokens (token -> user id): they authenticate but
            appear in no token list, and ``/logout`` ends them.
        datasets: Datasets with per-group permissions.
        terms: Terms of Service.
        service_tables: Which dataset each service table belongs to.
        public_roots: Public (and explicitly private) roots by table.
        named_tokens: Labels for some of the tokens above (label -> token); the
            ``*_token`` attributes of ``FakeAuthServer`` read them.
        apps: URLs of the registered client apps (``GET /app``), which the
            login page without a redirect lists as ``app_urls``.
    """

    users: list[FakeUser] = field(default_factory=list)
    groups: list[FakeGroup] = field(default_factory=list)
    memberships: list[FakeMembership] = field(default_factory=list)
    api_keys: list[FakeApiKey] = field(default_factory=list)
    login_tokens: dict[str, int] = field(default_factory=dict)
    datasets: list[FakeDataset] = field(default_factory=list)
    terms: list[FakeTos] = field(default_factory=list)
    service_tables: list[FakeServiceTable] = field(default_factory=list)
    public_roots: list[FakePublicRoot] = field(default_factory=list)
    named_tokens: dict[str, str] = field(default_factory=dict)
    apps: list[str] = field(default_factory=list)

    @classmethod
    def default(cls) -> FakeSeed:
        """The seed of the recording, with fresh random tokens.

        Users: 1 Ada Admin (superadmin, has accepted ToS 2), 2 Norm User (plain),
        3 testbot (service account of 1), 4 Gail (admin of group 2, public name
        ``gail_custom_name``), 5 Rita (exactly one API key), 6 Tina (no API key,
        login-style token only; admin of dataset ``test_ds``, as the second part of
        the recording makes her).  Groups: 1 ``default`` (everyone), 2
        ``testgroup`` (1 and 4 as admins, 2, 3), 3 ``emptygroup``.  API keys 1-6
        as recorded.  Datasets: ``test_ds`` (view for ``default``, view+edit for
        ``testgroup``) and ``test_tos_ds`` (view for ``testgroup``, behind ToS 2
        "Test ToS").  Service tables: ``datastack`` ``test_ds`` and
        ``test_tos_ds`` (each to its dataset) and ``pychunkedgraph``
        ``test_ds_pcg_table`` (to ``test_ds``).  Public roots of
        ``test_ds_pcg_table``: ``720575940000000001`` and ``...002`` public,
        ``...003`` not.  Apps:
        ``https://neuroglancer.example.org`` and ``http://127.0.0.1:9999``.

        Named tokens: ``admin``, ``user``, ``user2``, ``temp`` (login-style, user 2),
        ``service_account``, ``group_admin``, ``refresh_user``, ``nokey_temp``
        (login-style, user 6) and ``dataset_admin`` (the same token as
        ``nokey_temp``).

        Returns:
            A new seed; every call draws new tokens.
        """
        tok = {name: secrets.token_hex(16) for name in _DEFAULT_TOKEN_NAMES}
        institute = {
            "id": 1,
            "name": "Test Institute",
            "start": "2026-11-28T04:59:28.770702",
        }
        users = [
            FakeUser(
                id=1,
                name="Ada Admin",
                email="ada@example.org",
                pi="PI Ada",
                admin=True,
                created=SEED_TIME - timedelta(seconds=1),
                affiliations=[institute],
                accepted_tos=[2],
            ),
            FakeUser(id=2, name="Norm User", email="norm@example.org", pi="PI Norm"),
            FakeUser(id=3, name="testbot", email="testbot@serviceaccount", parent_id=1),
            FakeUser(
                id=4,
                name="Gail Groupadmin",
                email="gail@example.org",
                pi="PI Gail",
                custom_name="gail_custom_name",
            ),
            FakeUser(id=5, name="Rita Refresh", email="rita@example.org"),
            FakeUser(id=6, name="Tina Tokenless", email="tina@example.org"),
        ]
        memberships = [FakeMembership(user_id=uid, group_id=1) for uid in range(1, 7)]
        memberships += [
            FakeMembership(user_id=1, group_id=2, admin=True),
            FakeMembership(user_id=2, group_id=2),
            FakeMembership(user_id=3, group_id=2),
            FakeMembership(user_id=4, group_id=2, admin=True),
        ]
        keys = [
            FakeApiKey(id=1, user_id=3, token=tok["service_account"]),
            FakeApiKey(id=2, user_id=1, token=tok["admin"], description="seed-token"),
            FakeApiKey(id=3, user_id=2, token=tok["user"], description="seed-token"),
            FakeApiKey(
                id=4, user_id=4, token=tok["group_admin"], description="seed-token"
            ),
            FakeApiKey(
                id=5, user_id=5, token=tok["refresh_user"], description="seed-token"
            ),
            FakeApiKey(
                id=6, user_id=2, token=tok["user2"], description="second seed token"
            ),
        ]
        return cls(
            users=users,
            groups=[
                FakeGroup(id=1, name="default"),
                FakeGroup(id=2, name="testgroup"),
                FakeGroup(id=3, name="emptygroup"),
            ],
            memberships=memberships,
            api_keys=keys,
            login_tokens={tok["temp"]: 2, tok["nokey_temp"]: 6},
            datasets=[
                FakeDataset(
                    id=1,
                    name="test_ds",
                    permissions={1: ["view"], 2: ["view", "edit"]},
                    admins=[6],
                ),
                FakeDataset(
                    id=2, name="test_tos_ds", permissions={2: ["view"]}, tos_id=2
                ),
            ],
            terms=[
                FakeTos(
                    id=2,
                    name="Test ToS",
                    text="<p>By using <strong>test_tos_ds</strong> you agree to "
                    "nothing at all.</p>",
                )
            ],
            service_tables=[
                FakeServiceTable("datastack", "test_ds", 1),
                FakeServiceTable("datastack", "test_tos_ds", 2),
                FakeServiceTable("pychunkedgraph", "test_ds_pcg_table", 1),
            ],
            public_roots=[
                FakePublicRoot("test_ds_pcg_table", 720575940000000001),
                FakePublicRoot("test_ds_pcg_table", 720575940000000002),
                FakePublicRoot("test_ds_pcg_table", 720575940000000003, public=False),
            ],
            named_tokens={**tok, "dataset_admin": tok["nokey_temp"]},
            apps=["https://neuroglancer.example.org", "http://127.0.0.1:9999"],
        )


def add_extra_users(seed: FakeSeed, extra_users: int, group_members: int) -> int | None:
    """Append generated users (and optionally a group of them) to ``seed``.

    Args:
        seed: The seed to extend in place.
        extra_users: How many users to add.
        group_members: How many of the added users to put into a new group.

    Returns:
        The id of the new group, or ``None`` when ``group_members`` is 0.
    """
    count = max(extra_users, group_members)
    first = max((u.id for u in seed.users), default=0) + 1
    default_group = next((g.id for g in seed.groups if g.name == "default"), None)
    new_ids = list(range(first, first + count))
    for uid in new_ids:
        seed.users.append(
            FakeUser(id=uid, name=f"Extra User {uid}", email=f"extra{uid}@example.org")
        )
        if default_group is not None:
            seed.memberships.append(FakeMembership(user_id=uid, group_id=default_group))
    if group_members == 0:
        return None
    group_id = max((g.id for g in seed.groups), default=0) + 1
    seed.groups.append(FakeGroup(id=group_id, name="biggroup"))
    for uid in new_ids[:group_members]:
        seed.memberships.append(FakeMembership(user_id=uid, group_id=group_id))
    return group_id
