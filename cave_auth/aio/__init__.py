"""Every endpoint of :mod:`cave_auth.api` as a coroutine, over an async transport.

``await cave_auth.aio.whoami(config, transport)`` does what
:func:`cave_auth.whoami` does, with the same arguments, results and errors,
over an :class:`~cave_auth.AsyncTransport`: both modules drive the same
flows of :mod:`cave_auth.routes`, which build every request and parse every
answer, so the two cannot drift apart. The server's ``Warning`` header is
logged here too. As in :mod:`cave_auth.api`, the routes a service asks live in
a ``service`` submodule and the driving loop in ``_drive``; all are
importable from here.

This module adds no dependency: bring the async HTTP client you use and wrap
it in an :class:`~cave_auth.AsyncTransport` (the asynchronous tutorial shows
one for ``httpx.AsyncClient``), or use
:class:`cave_auth.testing.FakeAsyncTransport` in tests. Nothing here is tied
to an event loop library.
"""

from __future__ import annotations

from collections.abc import Iterable

from .. import routes
from .._redact import mask_token_paths_in_logs
from ..config import Config
from ..models import (
    Group,
    GroupMember,
    MissingTermsOfService,
    Permissions,
    TokenInfo,
    User,
    UserName,
)
from ..transport import AsyncTransport
from ._drive import _run
from .service import (
    are_roots_public,
    get_public_roots,
    get_table_dataset,
    get_user_cache_data,
    get_user_permissions_data,
    is_root_public,
    table_has_public,
)

__all__ = [
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


async def get_tokens(
    config: Config, transport: AsyncTransport, *, timeout: float | None = None
) -> list[TokenInfo]:
    """List the API keys of the token's user (``GET /user/token``), newest first.

    Args:
        config: The settings, with a token.
        transport: The async HTTP transport.
        timeout: The time budget of this call, in seconds (retries included).

    Returns:
        The user's keys. A login-style token's user may have none.

    Raises:
        MissingTokenError: If ``config.token`` is None (before any I/O).
        AuthenticationError: If the server rejects the token.
        TransportError: If the server cannot be reached.
        ResponseFormatError: If the answer is not a list of keys.
    """
    return await _run(routes.get_tokens(config), transport, timeout)


async def get_user_information(
    config: Config,
    transport: AsyncTransport,
    user_ids: Iterable[int],
    *,
    timeout: float | None = None,
) -> list[User]:
    """Look users up by id (``GET /user?id=1,2,3``); needs some admin right.

    Args:
        config: The settings, with a token.
        transport: The async HTTP transport.
        user_ids: The ids to look up. An empty collection makes no request.
        timeout: The time budget of this call, in seconds (retries included).

    Returns:
        The users found, in the server's order; unknown ids are left out.

    Raises:
        InvalidInputError: If ``user_ids`` is not a collection of ids.
        MissingTokenError: If ``config.token`` is None.
        PermissionDeniedError: If the user administers nothing.
        AuthenticationError, TransportError, ResponseFormatError: As for
            every call.
    """
    return await _run(routes.get_user_information(config, user_ids), transport, timeout)


async def get_group_users(
    config: Config,
    transport: AsyncTransport,
    group_id: int,
    *,
    timeout: float | None = None,
) -> list[GroupMember]:
    """List the members of a group (``GET /group/{id}/user``).

    Args:
        config: The settings, with a token.
        transport: The async HTTP transport.
        group_id: The group id.
        timeout: The time budget of this call, in seconds (retries included).

    Returns:
        The members; empty if the group does not exist (as the server says).

    Raises:
        InvalidInputError: If ``group_id`` is not a non-negative integer.
        MissingTokenError: If ``config.token`` is None.
        PermissionDeniedError: If the user administers nothing.
        AuthenticationError, TransportError, ResponseFormatError: As for
            every call.
    """
    return await _run(routes.get_group_users(config, group_id), transport, timeout)


async def whoami(
    config: Config, transport: AsyncTransport, *, timeout: float | None = None
) -> User:
    """Return the token's user, full record (``GET /user/me``).

    Args:
        config: The settings, with a token.
        transport: The async HTTP transport.
        timeout: The time budget of this call, in seconds (retries included).

    Returns:
        The user the token belongs to.

    Raises:
        MissingTokenError: If ``config.token`` is None.
        AuthenticationError: If the token is invalid or expired.
        TransportError, ResponseFormatError: As for every call.
    """
    return await _run(routes.whoami(config), transport, timeout)


async def get_user_cache(
    config: Config, transport: AsyncTransport, *, timeout: float | None = None
) -> Permissions:
    """Return the permission view the CAVE services see (``GET /user/cache``).

    Args:
        config: The settings, with a token.
        transport: The async HTTP transport.
        timeout: The time budget of this call, in seconds (retries included).

    Returns:
        The token user's groups, permissions and missing terms of service.

    Raises:
        MissingTokenError: If ``config.token`` is None.
        AuthenticationError, TransportError, ResponseFormatError: As for
            every call.
    """
    return await _run(routes.get_user_cache(config), transport, timeout)


async def get_my_permissions(
    config: Config, transport: AsyncTransport, *, timeout: float | None = None
) -> Permissions:
    """Return the token user's permissions (``GET /my_permissions``).

    Args:
        config: The settings, with a token.
        transport: The async HTTP transport.
        timeout: The time budget of this call, in seconds (retries included).

    Returns:
        The same permission view as :func:`get_user_cache`.

    Raises:
        MissingTokenError: If ``config.token`` is None.
        AuthenticationError, TransportError, ResponseFormatError: As for
            every call.
    """
    return await _run(routes.get_my_permissions(config), transport, timeout)


async def get_user_permissions(
    config: Config,
    transport: AsyncTransport,
    user_id: int,
    *,
    timeout: float | None = None,
) -> Permissions:
    """Return another user's permissions (``GET /user/{id}/permissions``).

    Args:
        config: The settings, with a token.
        transport: The async HTTP transport.
        user_id: The user to look at.
        timeout: The time budget of this call, in seconds (retries included).

    Returns:
        That user's permission view.

    Raises:
        InvalidInputError: If ``user_id`` is not a non-negative integer.
        MissingTokenError: If ``config.token`` is None.
        PermissionDeniedError: If the caller administers nothing.
        NotFoundError: If there is no such (normal) user.
        AuthenticationError, TransportError, ResponseFormatError: As for
            every call.
    """
    return await _run(routes.get_user_permissions(config, user_id), transport, timeout)


async def get_user_groups(
    config: Config,
    transport: AsyncTransport,
    user_id: int,
    *,
    timeout: float | None = None,
) -> list[Group]:
    """List the groups a user is in (``GET /user/{id}/group``).

    Args:
        config: The settings, with a token.
        transport: The async HTTP transport.
        user_id: The user to look at.
        timeout: The time budget of this call, in seconds (retries included).

    Returns:
        The user's groups.

    Raises:
        InvalidInputError: If ``user_id`` is not a non-negative integer.
        MissingTokenError: If ``config.token`` is None.
        PermissionDeniedError: If the caller administers nothing.
        NotFoundError: If there is no such (normal) user.
        AuthenticationError, TransportError, ResponseFormatError: As for
            every call.
    """
    return await _run(routes.get_user_groups(config, user_id), transport, timeout)


async def get_usernames(
    config: Config,
    transport: AsyncTransport,
    user_ids: Iterable[int],
    *,
    timeout: float | None = None,
) -> list[UserName]:
    """Look up public names by id (``GET /username?id=``); any user may.

    Args:
        config: The settings, with a token.
        transport: The async HTTP transport.
        user_ids: The ids. An empty collection makes no request.
        timeout: The time budget of this call, in seconds (retries included).

    Returns:
        Id and public name of each user found.

    Raises:
        InvalidInputError: If ``user_ids`` is not a collection of ids.
        MissingTokenError: If ``config.token`` is None.
        AuthenticationError, TransportError, ResponseFormatError: As for
            every call.
    """
    return await _run(routes.get_usernames(config, user_ids), transport, timeout)


async def create_token(
    config: Config,
    transport: AsyncTransport,
    description: str | None = None,
    *,
    timeout: float | None = None,
) -> str:
    """Create a new API key for the token's user (``POST /user/token``).

    The request is never retried: a retry could create a second key.

    Args:
        config: The settings, with a token.
        transport: The async HTTP transport.
        description: A note stored with the key (at most 120 characters).
        timeout: The time budget of this call, in seconds (retries included).

    Returns:
        The new token. Save it with :func:`cave_auth.save_token`; it is not
        shown again except in :func:`get_tokens`.

    Raises:
        InvalidInputError: If ``description`` is not a str of at most 120
            characters.
        MissingTokenError: If ``config.token`` is None.
        AuthenticationError, TransportError: As for every call.
        ResponseFormatError: If the answer is not a usable token string.
    """
    return await _run(routes.create_token(config, description), transport, timeout)


async def delete_token(
    config: Config,
    transport: AsyncTransport,
    token_id: int,
    *,
    timeout: float | None = None,
) -> None:
    """Delete one of the token user's API keys (``DELETE /user/token/{id}``).

    Args:
        config: The settings, with a token.
        transport: The async HTTP transport.
        token_id: The key's id (from :func:`get_tokens`), not the token.
        timeout: The time budget of this call, in seconds (retries included).

    Raises:
        InvalidInputError: If ``token_id`` is not a non-negative integer.
        MissingTokenError: If ``config.token`` is None.
        NotFoundError: If the user has no key with that id.
        AuthenticationError, TransportError, ResponseFormatError: As for
            every call.
    """
    return await _run(routes.delete_token(config, token_id), transport, timeout)


async def get_token_ttl(
    config: Config, transport: AsyncTransport, *, timeout: float | None = None
) -> int | None:
    """Return how long the config's token stays valid; see :func:`.api.get_token_ttl`.

    Args:
        config: The settings, with the token to ask about.
        transport: The async HTTP transport.
        timeout: The time budget of this call, in seconds (retries included).

    Returns:
        The seconds left for a login token, or ``None`` for an API key.

    Raises:
        MissingTokenError: If ``config.token`` is None (before any I/O).
        NotFoundError: If the token is not the caller's own.
        CaveAuthError: Any other failure, as :func:`cave_auth.api.get_token_ttl`.
    """
    mask_token_paths_in_logs()
    return await _run(routes.get_token_ttl(config), transport, timeout)


async def logout(
    config: Config, transport: AsyncTransport, *, timeout: float | None = None
) -> None:
    """End the config's login token; see :func:`cave_auth.api.logout`.

    Args:
        config: The settings, with a login token.
        transport: The async HTTP transport.
        timeout: The time budget of this call, in seconds (retries included).

    Raises:
        HTTPError: 422 for an API key, with the server's explanation.
        CaveAuthError: Any other failure, as :func:`cave_auth.api.logout`.
    """
    return await _run(routes.logout(config), transport, timeout)


async def logout_all(
    config: Config, transport: AsyncTransport, *, timeout: float | None = None
) -> None:
    """End every login token of the user; see :func:`cave_auth.api.logout_all`.

    Args:
        config: The settings, with a token.
        transport: The async HTTP transport.
        timeout: The time budget of this call, in seconds (retries included).

    Raises:
        CaveAuthError: On any failure, as the sync call.
    """
    return await _run(routes.logout_all(config), transport, timeout)


async def get_missing_tos(
    config: Config, transport: AsyncTransport, *, timeout: float | None = None
) -> list[MissingTermsOfService]:
    """List the terms of service to accept; see :func:`cave_auth.api.get_missing_tos`.

    Args:
        config: The settings, with a token.
        transport: The async HTTP transport.
        timeout: The time budget of this call, in seconds (retries included).

    Returns:
        The terms to accept, each with its ``accept_url``.

    Raises:
        CaveAuthError: On any failure, as the sync call.
    """
    return await _run(routes.get_missing_tos(config), transport, timeout)
