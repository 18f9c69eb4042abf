"""Every endpoint of :mod:`cave_auth.api` as a coroutine, over an async transport.

``await aio.whoami(config, transport)`` is :func:`cave_auth.api.whoami` over
an :class:`~cave_auth.AsyncTransport` (:class:`HttpxTransport`, your own, or
:class:`cave_auth.testing.FakeAsyncTransport`): the same flows, arguments,
results and errors, on any event loop library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import routes
from ._drive import arun

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .config import Config
    from .models import (
        Group,
        GroupMember,
        MissingTermsOfService,
        Permissions,
        TokenInfo,
        User,
        UserName,
    )
    from .transport import AsyncTransport
    from .transport.httpx_transport import HttpxTransport

__all__ = [
    "HttpxTransport",
    "are_roots_public",
    "create_token",
    "delete_token",
    "get_group_users",
    "get_missing_tos",
    "get_my_permissions",
    "get_public_roots",
    "get_table_dataset",
    "get_token_ttl",
    "get_tokens",
    "get_user_cache",
    "get_user_cache_data",
    "get_user_groups",
    "get_user_information",
    "get_user_permissions",
    "get_user_permissions_data",
    "get_usernames",
    "is_root_public",
    "logout",
    "logout_all",
    "table_has_public",
    "whoami",
]


def __getattr__(name: str) -> Any:
    if name != "HttpxTransport":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .transport.httpx_transport import HttpxTransport

    return HttpxTransport


async def get_tokens(
    config: Config, transport: AsyncTransport, *, timeout: float | None = None
) -> list[TokenInfo]:
    """Async twin of :func:`cave_auth.api.get_tokens`."""
    return await arun(routes.get_tokens(config), transport, timeout)


async def get_user_information(
    config: Config,
    transport: AsyncTransport,
    user_ids: Iterable[int],
    *,
    timeout: float | None = None,
) -> list[User]:
    """Async twin of :func:`cave_auth.api.get_user_information`."""
    return await arun(routes.get_user_information(config, user_ids), transport, timeout)


async def get_group_users(
    config: Config,
    transport: AsyncTransport,
    group_id: int,
    *,
    timeout: float | None = None,
) -> list[GroupMember]:
    """Async twin of :func:`cave_auth.api.get_group_users`."""
    return await arun(routes.get_group_users(config, group_id), transport, timeout)


async def whoami(
    config: Config, transport: AsyncTransport, *, timeout: float | None = None
) -> User:
    """Async twin of :func:`cave_auth.api.whoami`."""
    return await arun(routes.whoami(config), transport, timeout)


async def get_user_cache(
    config: Config, transport: AsyncTransport, *, timeout: float | None = None
) -> Permissions:
    """Async twin of :func:`cave_auth.api.get_user_cache`."""
    return await arun(routes.get_user_cache(config), transport, timeout)


async def get_my_permissions(
    config: Config, transport: AsyncTransport, *, timeout: float | None = None
) -> Permissions:
    """Async twin of :func:`cave_auth.api.get_my_permissions`."""
    return await arun(routes.get_my_permissions(config), transport, timeout)


async def get_user_permissions(
    config: Config,
    transport: AsyncTransport,
    user_id: int,
    *,
    timeout: float | None = None,
) -> Permissions:
    """Async twin of :func:`cave_auth.api.get_user_permissions`."""
    return await arun(routes.get_user_permissions(config, user_id), transport, timeout)


async def get_user_groups(
    config: Config,
    transport: AsyncTransport,
    user_id: int,
    *,
    timeout: float | None = None,
) -> list[Group]:
    """Async twin of :func:`cave_auth.api.get_user_groups`."""
    return await arun(routes.get_user_groups(config, user_id), transport, timeout)


async def get_usernames(
    config: Config,
    transport: AsyncTransport,
    user_ids: Iterable[int],
    *,
    timeout: float | None = None,
) -> list[UserName]:
    """Async twin of :func:`cave_auth.api.get_usernames`."""
    return await arun(routes.get_usernames(config, user_ids), transport, timeout)


async def create_token(
    config: Config,
    transport: AsyncTransport,
    description: str | None = None,
    *,
    timeout: float | None = None,
) -> str:
    """Async twin of :func:`cave_auth.api.create_token`."""
    return await arun(routes.create_token(config, description), transport, timeout)


async def delete_token(
    config: Config,
    transport: AsyncTransport,
    token_id: int,
    *,
    timeout: float | None = None,
) -> None:
    """Async twin of :func:`cave_auth.api.delete_token`."""
    return await arun(routes.delete_token(config, token_id), transport, timeout)


async def get_token_ttl(
    config: Config, transport: AsyncTransport, *, timeout: float | None = None
) -> int | None:
    """Async twin of :func:`cave_auth.api.get_token_ttl`."""
    return await arun(routes.get_token_ttl(config), transport, timeout)


async def logout(
    config: Config, transport: AsyncTransport, *, timeout: float | None = None
) -> None:
    """Async twin of :func:`cave_auth.api.logout`."""
    return await arun(routes.logout(config), transport, timeout)


async def logout_all(
    config: Config, transport: AsyncTransport, *, timeout: float | None = None
) -> None:
    """Async twin of :func:`cave_auth.api.logout_all`."""
    return await arun(routes.logout_all(config), transport, timeout)


async def get_missing_tos(
    config: Config, transport: AsyncTransport, *, timeout: float | None = None
) -> list[MissingTermsOfService]:
    """Async twin of :func:`cave_auth.api.get_missing_tos`."""
    return await arun(routes.get_missing_tos(config), transport, timeout)


async def get_user_cache_data(
    config: Config, transport: AsyncTransport, *, timeout: float | None = None
) -> dict[str, Any]:
    """Async twin of :func:`cave_auth.api.get_user_cache_data`."""
    return await arun(routes.get_user_cache_data(config), transport, timeout)


async def get_user_permissions_data(
    config: Config,
    transport: AsyncTransport,
    user_id: int,
    *,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Async twin of :func:`cave_auth.api.get_user_permissions_data`."""
    return await arun(
        routes.get_user_permissions_data(config, user_id), transport, timeout
    )


async def get_table_dataset(
    config: Config,
    transport: AsyncTransport,
    namespace: str,
    table_id: str,
    *,
    timeout: float | None = None,
) -> str:
    """Async twin of :func:`cave_auth.api.get_table_dataset`."""
    return await arun(
        routes.get_table_dataset(config, namespace, table_id), transport, timeout
    )


async def table_has_public(
    config: Config,
    transport: AsyncTransport,
    table_id: str,
    *,
    timeout: float | None = None,
) -> bool:
    """Async twin of :func:`cave_auth.api.table_has_public`."""
    return await arun(routes.table_has_public(config, table_id), transport, timeout)


async def get_public_roots(
    config: Config,
    transport: AsyncTransport,
    table_id: str,
    *,
    timeout: float | None = None,
) -> list[int]:
    """Async twin of :func:`cave_auth.api.get_public_roots`."""
    return await arun(routes.get_public_roots(config, table_id), transport, timeout)


async def is_root_public(
    config: Config,
    transport: AsyncTransport,
    table_id: str,
    root_id: int,
    *,
    timeout: float | None = None,
) -> bool:
    """Async twin of :func:`cave_auth.api.is_root_public`."""
    return await arun(
        routes.is_root_public(config, table_id, root_id), transport, timeout
    )


async def are_roots_public(
    config: Config,
    transport: AsyncTransport,
    table_id: str,
    root_ids: Iterable[int],
    *,
    timeout: float | None = None,
) -> bool:
    """Async twin of :func:`cave_auth.api.are_roots_public`."""
    return await arun(
        routes.are_roots_public(config, table_id, root_ids), transport, timeout
    )
