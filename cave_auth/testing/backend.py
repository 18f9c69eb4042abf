"""The fake server's live data and the queries its views share.

This module does no I/O. A ``Backend`` is built from a
:class:`~cave_auth.testing.FakeSeed` (which it then owns: the server hands it a
deep copy) and is the only object that holds the server's rows while it runs,
in the manner of a moto backend (``models.py``): the views in the ``views_*``
and :mod:`~cave_auth.testing.pages` modules read and change it through the
methods here, which reproduce the real server's model code (``User.as_dict``,
``User.create_cache``, ``APIKey.generate``, ...).

It is not thread-safe by itself; ``FakeAuthServer`` calls the application
under its lock.
"""

from __future__ import annotations

import copy
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from .messages import http_date, now
from .seed import (
    FakeApiKey,
    FakeDataset,
    FakePublicRoot,
    FakeSeed,
    FakeServiceTable,
    FakeTos,
    FakeUser,
)

__all__ = ["LOGIN_TOKEN_DURATION", "Backend"]

#: ``DEFAULT_LOGIN_TOKEN_DURATION``: how long a login-style token lives (7 days).
LOGIN_TOKEN_DURATION: Final = timedelta(days=7)


class Backend:
    """Users, groups, keys, datasets and ToS of one fake server.

    Args:
        seed: The rows to serve (used as given, not copied).

    Attributes:
        users: Users and service accounts by id.
        groups: Groups by id.
        memberships: Who is in which group.
        keys: API keys by id.
        login_tokens: Login-style tokens (token -> user id).
        login_expiry: When each login-style token expires (token -> UTC time);
            a token of ``login_tokens`` absent here never expires (the token
            left by a refused description).
        login_user_id: Whose login ``/authorize`` completes at once, standing
            in for Google; ``None``: it redirects to Google as recorded.
        apps: The registered client app URLs (``app_urls`` of the login page).
        datasets: Datasets, by ascending id.
        terms: Terms of Service by id.
        service_tables: Service table -> dataset mappings, in insertion order.
        public_roots: Public (and private) root rows.
        next_key_id: The id the next API key gets.
        netloc: ``host:port`` the server listens on (set when it starts).
    """

    def __init__(self, seed: FakeSeed) -> None:
        self.users = {u.id: u for u in seed.users}
        self.groups = {g.id: g for g in seed.groups}
        self.memberships = seed.memberships
        self.keys = {k.id: k for k in seed.api_keys}
        self.login_tokens = seed.login_tokens
        started = datetime.now(UTC)
        self.login_expiry = dict.fromkeys(
            self.login_tokens, started + LOGIN_TOKEN_DURATION
        )
        self.login_user_id: int | None = 2
        self.apps = list(seed.apps)
        self.datasets = sorted(seed.datasets, key=lambda d: d.id)
        self.terms: dict[int, FakeTos] = {t.id: t for t in seed.terms}
        self.service_tables: list[FakeServiceTable] = seed.service_tables
        self.public_roots: list[FakePublicRoot] = seed.public_roots
        self.next_key_id = max(self.keys, default=0) + 1
        self.netloc = "127.0.0.1:0"

    @property
    def sticky_url(self) -> str:
        """``STICKY_AUTH_URL``: where logins and ToS forms live (no scheme)."""
        return f"{self.netloc}/sticky_auth"

    def normal_user(self, user_id: int) -> FakeUser | None:
        """``User.user_get_by_id``: a user that is not a service account.

        Args:
            user_id: The id.

        Returns:
            The user, or ``None`` (unknown id or a service account).
        """
        user = self.users.get(user_id)
        return user if user is not None and user.parent_id is None else None

    def user_dict(self, user: FakeUser, *, full: bool = False) -> dict[str, Any]:
        """``User.as_dict(full)``.

        Args:
            user: The user.
            full: Whether to add the fields only admins see.

        Returns:
            The JSON object.
        """
        out: dict[str, Any] = {
            "id": user.id,
            "service_account": user.parent_id is not None,
            "name": user.custom_name or user.name,
            "created": http_date(user.created),
            "pi": user.pi,
            "affiliations": [copy.deepcopy(user.affiliations)],
        }
        if full:
            out["gdpr_consent"] = user.gdpr_consent
            out["admin_datasets"] = [
                {"id": d.id, "name": d.name} for d in self.datasets_admin(user)
            ]
            out["admin"] = user.admin
            out["email"] = user.email
            if user.parent_id is not None:
                parent = self.normal_user(user.parent_id)
                out["parent_id"] = user.parent_id
                out["parent"] = self.user_dict(parent) if parent else None
        return out

    def datasets_admin(self, user: FakeUser) -> list[FakeDataset]:
        """The datasets a user administers.

        Args:
            user: The user.

        Returns:
            The datasets, by ascending id.
        """
        return [d for d in self.datasets if user.id in d.admins]

    def dataset_of_table(self, service: str, table: str) -> FakeDataset | None:
        """``ServiceTable.get_dataset_by_service_table``: a table's dataset.

        Args:
            service: The service namespace.
            table: The table name, matched exactly.

        Returns:
            The dataset, or ``None`` when the table is not mapped.
        """
        for row in self.service_tables:
            if row.service == service and row.table == table:
                return next((d for d in self.datasets if d.id == row.dataset_id), None)
        return None

    def dataset_like(self, name: str) -> FakeDataset | None:
        """The first dataset whose name contains ``name``, ignoring case.

        The server's ``ILIKE %name%`` lookup, which ``POST`` and ``DELETE``
        ``/service/<s>/table/<t>/dataset/<name>`` use.

        Args:
            name: The text to look for.

        Returns:
            The dataset with the lowest id that matches, or ``None``.
        """
        needle = name.lower()
        return next((d for d in self.datasets if needle in d.name.lower()), None)

    def public_root_ids(self, table: str) -> list[int]:
        """The public roots of a table.

        Args:
            table: The table.

        Returns:
            The root ids, ascending.
        """
        return sorted(
            {r.root_id for r in self.public_roots if r.table == table and r.public}
        )

    def group_ids(self, user: FakeUser) -> list[int]:
        """Ids of the groups a user belongs to.

        Args:
            user: The user.

        Returns:
            The ids, ascending.
        """
        return sorted({m.group_id for m in self.memberships if m.user_id == user.id})

    def permissions(self, user: FakeUser) -> dict[str, tuple[FakeDataset, list[str]]]:
        """A user's permissions, ignoring Terms of Service.

        Args:
            user: The user.

        Returns:
            Dataset name -> (dataset, permission names in grant order).
        """
        groups = self.group_ids(user)
        out: dict[str, tuple[FakeDataset, list[str]]] = {}
        for dataset in self.datasets:
            names: list[str] = []
            for group_id in groups:
                for name in dataset.permissions.get(group_id, []):
                    if name not in names:
                        names.append(name)
            if names:
                out[dataset.name] = (dataset, names)
        return out

    def accepted(self, user: FakeUser, tos_id: int) -> bool:
        """Whether a user (for a service account, its parent) accepted a ToS.

        Args:
            user: The user.
            tos_id: The Terms of Service.

        Returns:
            ``True`` if accepted.
        """
        owner = self.users.get(user.parent_id) if user.parent_id else user
        return owner is not None and tos_id in owner.accepted_tos

    def missing_tos(self, user: FakeUser) -> list[dict[str, Any]]:
        """``User.datasets_missing_tos``.

        Args:
            user: The user.

        Returns:
            One object per dataset the user could use after accepting its ToS.
        """
        out = []
        for dataset, _names in self.permissions(user).values():
            tos = self.terms.get(dataset.tos_id) if dataset.tos_id else None
            if tos is not None and not self.accepted(user, tos.id):
                out.append(
                    {
                        "dataset_id": dataset.id,
                        "dataset_name": dataset.name,
                        "tos_id": tos.id,
                        "tos_name": tos.name,
                    }
                )
        return out

    def cache(self, user: FakeUser) -> dict[str, Any]:
        """``User.create_cache``: the permission-cache object.

        Args:
            user: The user.

        Returns:
            The JSON object ``/user/cache`` and ``/my_permissions`` answer.
        """
        levels = {"none": 0, "view": 1, "edit": 2}
        ignoring = self.permissions(user)
        granted = {
            name: names
            for name, (dataset, names) in ignoring.items()
            if dataset.tos_id is None or self.accepted(user, dataset.tos_id)
        }
        groups = self.group_ids(user)
        admin_of = {
            m.group_id for m in self.memberships if m.user_id == user.id and m.admin
        }
        return {
            "id": user.id,
            "parent_id": user.parent_id,
            "service_account": user.parent_id is not None,
            "name": user.custom_name or user.name,
            "email": user.email,
            "admin": user.admin,
            "pi": user.pi,
            "affiliations": [copy.deepcopy(user.affiliations)],
            "groups": [self.groups[g].name for g in groups if g in self.groups],
            "permissions": {
                name: max(levels.get(p, 0) for p in names)
                for name, names in granted.items()
            },
            "permissions_v2": {name: list(names) for name, names in granted.items()},
            "permissions_v2_ignore_tos": {
                name: list(names) for name, (_d, names) in ignoring.items()
            },
            "missing_tos": self.missing_tos(user),
            "datasets_admin": [d.name for d in self.datasets_admin(user)],
            "groups_admin": [
                self.groups[g].name
                for g in groups
                if g in admin_of and g in self.groups
            ],
        }

    def new_key(self, user_id: int, description: object) -> tuple[str, bool]:
        """``APIKey.generate``: a new API key row.

        A description the database refuses (over 120 characters, or not text)
        fails after the token reached Redis: the token then works but is in no
        list, as on the real server.

        Args:
            user_id: The owner.
            description: The description sent; an int or bool is stored in its
                PostgreSQL text form.

        Returns:
            The new token, and whether its row was stored (``False``: the
            server answers 500).
        """
        token = secrets.token_hex(16)
        if isinstance(description, bool):
            description = "true" if description else "false"
        elif isinstance(description, (int, float)):
            description = str(description)
        if description is not None and (
            not isinstance(description, str) or len(description) > 120
        ):
            self.login_tokens[token] = user_id
            return token, False
        created = now()
        key_id = self.next_key_id
        self.next_key_id += 1
        self.keys[key_id] = FakeApiKey(
            id=key_id,
            user_id=user_id,
            token=token,
            description=description,
            created=created,
            updated=created,
        )
        return token, True

    def new_login_token(self, user_id: int) -> str:
        """``user.generate_token(ex=7 days)``: a login-style token, as after Google.

        Args:
            user_id: The owner.

        Returns:
            The new token (32 hex characters, expiring in 7 days, in no list).
        """
        token = secrets.token_hex(16)
        self.login_tokens[token] = user_id
        self.login_expiry[token] = datetime.now(UTC) + LOGIN_TOKEN_DURATION
        return token

    def login_ttl(self, token: str) -> int | None:
        """Seconds a login-style token has left, as Redis' ``TTL`` counts them.

        Args:
            token: A token of ``login_tokens``.

        Returns:
            Whole seconds left (rounded down), or ``None`` if it never expires.
        """
        expiry = self.login_expiry.get(token)
        if expiry is None:
            return None
        return int((expiry - datetime.now(UTC)).total_seconds())

    def end_login_token(self, token: str) -> None:
        """Delete one login-style token (what ``/logout`` does).

        Args:
            token: The token; unknown tokens are ignored.
        """
        self.login_tokens.pop(token, None)
        self.login_expiry.pop(token, None)

    def live_login_user(self, token: str) -> int | None:
        """The owner of a live login-style token; an expired one is dropped.

        Args:
            token: Any token.

        Returns:
            The user id, or ``None`` if the token is no live login-style token.
        """
        expiry = self.login_expiry.get(token)
        if expiry is not None and expiry <= datetime.now(UTC):
            self.end_login_token(token)  # Redis lets it expire
        return self.login_tokens.get(token)
