"""One function per route of the auth server: ``f(config, transport, ...)``.

Each call validates its arguments and requires a token before any I/O, builds
the request (:mod:`cave_auth.routes`, pure), makes exactly one
``transport.request``, logs the server's ``Warning`` header (scrubbed of the
token) on the ``cave_auth`` logger, and parses the answer (pure again): an
error status becomes an exception of :mod:`cave_auth.errors`, the JSON body a
model of :mod:`cave_auth.models`. The token comes from ``config.token``; fill
it in first with :func:`cave_auth.with_token`.

These functions are thin shells around the flows of :mod:`cave_auth.routes`;
:mod:`cave_auth.aio` drives the same flows over an async transport, so both
send the same requests and raise the same errors. The routes a service asks
about a request (records, service tables, public roots) live in
``cave_auth.api.service`` and answer bare JSON, checked; the loop that
drives a flow over a transport is ``_drive``. All are importable from here.
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
from ..routes import raise_for_response
from ..transport import Transport
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
    "raise_for_response",
    "table_has_public",
    "whoami",
]


def get_tokens(
    config: Config, transport: Transport, *, timeout: float | None = None
) -> list[TokenInfo]:
    """List the API keys of the token's user (``GET /user/token``), newest first.

    Args:
        config: The settings, with a token.
        transport: The HTTP transport.
        timeout: The time budget of this call, in seconds (retries included).

    Returns:
        The user's keys. A login-style token's user may have none.

    Raises:
        MissingTokenError: If ``config.token`` is None (before any I/O).
        AuthenticationError: If the server rejects the token.
        TransportError: If the server cannot be reached.
        ResponseFormatError: If the answer is not a list of keys.
    """
    return _run(routes.get_tokens(config), transport, timeout)


def get_user_information(
    config: Config,
    transport: Transport,
    user_ids: Iterable[int],
    *,
    timeout: float | None = None,
) -> list[User]:
    """Look users up by id (``GET /user?id=1,2,3``); needs some admin right.

    Args:
        config: The settings, with a token.
        transport: The HTTP transport.
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
    return _run(routes.get_user_information(config, user_ids), transport, timeout)


def get_group_users(
    config: Config, transport: Transport, group_id: int, *, timeout: float | None = None
) -> list[GroupMember]:
    """List the members of a group (``GET /group/{id}/user``).

    Args:
        config: The settings, with a token.
        transport: The HTTP transport.
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
    return _run(routes.get_group_users(config, group_id), transport, timeout)


def whoami(
    config: Config, transport: Transport, *, timeout: float | None = None
) -> User:
    """Return the token's user, full record (``GET /user/me``).

    Args:
        config: The settings, with a token.
        transport: The HTTP transport.
        timeout: The time budget of this call, in seconds (retries included).

    Returns:
        The user the token belongs to.

    Raises:
        MissingTokenError: If ``config.token`` is None.
        AuthenticationError: If the token is invalid or expired.
        TransportError, ResponseFormatError: As for every call.
    """
    return _run(routes.whoami(config), transport, timeout)


def get_user_cache(
    config: Config, transport: Transport, *, timeout: float | None = None
) -> Permissions:
    """Return the permission view the CAVE services see (``GET /user/cache``).

    Args:
        config: The settings, with a token.
        transport: The HTTP transport.
        timeout: The time budget of this call, in seconds (retries included).

    Returns:
        The token user's groups, permissions and missing terms of service.

    Raises:
        MissingTokenError: If ``config.token`` is None.
        AuthenticationError, TransportError, ResponseFormatError: As for
            every call.
    """
    return _run(routes.get_user_cache(config), transport, timeout)


def get_my_permissions(
    config: Config, transport: Transport, *, timeout: float | None = None
) -> Permissions:
    """Return the token user's permissions (``GET /my_permissions``).

    Args:
        config: The settings, with a token.
        transport: The HTTP transport.
        timeout: The time budget of this call, in seconds (retries included).

    Returns:
        The same permission view as :func:`get_user_cache`.

    Raises:
        MissingTokenError: If ``config.token`` is None.
        AuthenticationError, TransportError, ResponseFormatError: As for
            every call.
    """
    return _run(routes.get_my_permissions(config), transport, timeout)


def get_user_permissions(
    config: Config, transport: Transport, user_id: int, *, timeout: float | None = None
) -> Permissions:
    """Return another user's permissions (``GET /user/{id}/permissions``).

    Args:
        config: The settings, with a token.
        transport: The HTTP transport.
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
    return _run(routes.get_user_permissions(config, user_id), transport, timeout)


def get_user_groups(
    config: Config, transport: Transport, user_id: int, *, timeout: float | None = None
) -> list[Group]:
    """List the groups a user is in (``GET /user/{id}/group``).

    Args:
        config: The settings, with a token.
        transport: The HTTP transport.
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
    return _run(routes.get_user_groups(config, user_id), transport, timeout)


def get_usernames(
    config: Config,
    transport: Transport,
    user_ids: Iterable[int],
    *,
    timeout: float | None = None,
) -> list[UserName]:
    """Look up public names by id (``GET /username?id=``); any user may.

    Args:
        config: The settings, with a token.
        transport: The HTTP transport.
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
    return _run(routes.get_usernames(config, user_ids), transport, timeout)


def create_token(
    config: Config,
    transport: Transport,
    description: str | None = None,
    *,
    timeout: float | None = None,
) -> str:
    """Create a new API key for the token's user (``POST /user/token``).

    The request is never retried: a retry could create a second key.

    Args:
        config: The settings, with a token.
        transport: The HTTP transport.
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
    return _run(routes.create_token(config, description), transport, timeout)


def delete_token(
    config: Config, transport: Transport, token_id: int, *, timeout: float | None = None
) -> None:
    """Delete one of the token user's API keys (``DELETE /user/token/{id}``).

    Args:
        config: The settings, with a token.
        transport: The HTTP transport.
        token_id: The key's id (from :func:`get_tokens`), not the token.
        timeout: The time budget of this call, in seconds (retries included).

    Raises:
        InvalidInputError: If ``token_id`` is not a non-negative integer.
        MissingTokenError: If ``config.token`` is None.
        NotFoundError: If the user has no key with that id.
        AuthenticationError, TransportError, ResponseFormatError: As for
            every call.
    """
    return _run(routes.delete_token(config, token_id), transport, timeout)


def get_token_ttl(
    config: Config, transport: Transport, *, timeout: float | None = None
) -> int | None:
    """Return how long the config's token stays valid (``GET /user/token/<t>/ttl``).

    The token travels in this URL's path, so the URL is never shown: errors
    and log lines (this package's, urllib3's and httpx's) name it with
    ``<token>``.

    Args:
        config: The settings, with the token to ask about.
        transport: The HTTP transport.
        timeout: The time budget of this call, in seconds (retries included).

    Returns:
        The seconds left for a login token, or ``None`` for a token that
        never expires (an API key; the server answers -1).

    Raises:
        MissingTokenError: If ``config.token`` is None (before any I/O).
        AuthenticationError: If the server rejects the token.
        NotFoundError: If the token is not the caller's own.
        TransportError, ResponseFormatError: As for every call.
    """
    mask_token_paths_in_logs()
    return _run(routes.get_token_ttl(config), transport, timeout)


def logout(
    config: Config, transport: Transport, *, timeout: float | None = None
) -> None:
    """End the config's login token (``GET /logout``).

    Args:
        config: The settings, with a login token.
        transport: The HTTP transport.
        timeout: The time budget of this call, in seconds (retries included).

    Raises:
        MissingTokenError: If ``config.token`` is None.
        HTTPError: 422 for an API key, with the server's explanation
            (``Can't logout an API Key.``) in the message and in
            ``server_message``; delete keys with :func:`delete_token`.
        AuthenticationError: If the token is already invalid.
        TransportError, ResponseFormatError: As for every call.
    """
    return _run(routes.logout(config), transport, timeout)


def logout_all(
    config: Config, transport: Transport, *, timeout: float | None = None
) -> None:
    """End every login token of the user, everywhere (``GET /logout_all``).

    API keys stay valid; a login token used for this call is ended too.

    Args:
        config: The settings, with a token.
        transport: The HTTP transport.
        timeout: The time budget of this call, in seconds (retries included).

    Raises:
        MissingTokenError: If ``config.token`` is None.
        AuthenticationError, TransportError, ResponseFormatError: As for
            every call.
    """
    return _run(routes.logout_all(config), transport, timeout)


def get_missing_tos(
    config: Config, transport: Transport, *, timeout: float | None = None
) -> list[MissingTermsOfService]:
    """List the terms of service the user has yet to accept (``GET /user/missing``).

    Args:
        config: The settings, with a token.
        transport: The HTTP transport.
        timeout: The time budget of this call, in seconds (retries included).

    Returns:
        One entry per dataset whose terms are not accepted, each with its
        ``accept_url``; empty when there is nothing to accept.

    Raises:
        MissingTokenError: If ``config.token`` is None.
        AuthenticationError, TransportError, ResponseFormatError: As for
            every call.
    """
    return _run(routes.get_missing_tos(config), transport, timeout)
