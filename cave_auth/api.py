"""One function per route of the auth server: ``f(config, transport, ...)``.

Each takes ``config`` (whose token it sends: see :func:`cave_auth.with_token`),
a :class:`~cave_auth.Transport`, the route's arguments and a keyword-only
``timeout``, the call's whole budget in seconds. It checks its arguments and
the token before any I/O, makes one request (none for an empty list of ids),
logs the server's ``Warning`` header without the token, and returns a model of
:mod:`cave_auth.models`. Besides the errors it names, any call may raise
:class:`~cave_auth.InvalidInputError`, :class:`~cave_auth.MissingTokenError`,
:class:`~cave_auth.TransportError`, :class:`~cave_auth.ResponseFormatError` or
an :class:`~cave_auth.HTTPError` (see :mod:`cave_auth.routes`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import routes
from ._drive import run
from .routes import raise_for_response

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
    from .transport import Transport

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

    A login token's user may have none.
    """
    return run(routes.get_tokens(config), transport, timeout)


def get_user_information(
    config: Config,
    transport: Transport,
    user_ids: Iterable[int],
    *,
    timeout: float | None = None,
) -> list[User]:
    """Look users up by id (``GET /user?id=1,2,3``); needs some admin right.

    An empty ``user_ids`` makes no request. The users found come in the
    server's order; unknown ids are left out.

    Raises:
        PermissionDeniedError: If the user administers nothing.
    """
    return run(routes.get_user_information(config, user_ids), transport, timeout)


def get_group_users(
    config: Config, transport: Transport, group_id: int, *, timeout: float | None = None
) -> list[GroupMember]:
    """List the members of a group (``GET /group/{id}/user``); none if unknown.

    Raises:
        PermissionDeniedError: If the user administers nothing.
    """
    return run(routes.get_group_users(config, group_id), transport, timeout)


def whoami(
    config: Config, transport: Transport, *, timeout: float | None = None
) -> User:
    """Return the token's user, full record (``GET /user/me``)."""
    return run(routes.whoami(config), transport, timeout)


def get_user_cache(
    config: Config, transport: Transport, *, timeout: float | None = None
) -> Permissions:
    """Return the permission view the CAVE services see (``GET /user/cache``).

    The token user's groups, permissions and missing terms of service.
    """
    return run(routes.get_user_cache(config), transport, timeout)


def get_my_permissions(
    config: Config, transport: Transport, *, timeout: float | None = None
) -> Permissions:
    """Return the token user's permissions (``GET /my_permissions``).

    The same view as :func:`get_user_cache`.
    """
    return run(routes.get_my_permissions(config), transport, timeout)


def get_user_permissions(
    config: Config, transport: Transport, user_id: int, *, timeout: float | None = None
) -> Permissions:
    """Return another user's permissions (``GET /user/{id}/permissions``).

    Raises:
        PermissionDeniedError: If the caller administers nothing.
        NotFoundError: If there is no such (normal) user.
    """
    return run(routes.get_user_permissions(config, user_id), transport, timeout)


def get_user_groups(
    config: Config, transport: Transport, user_id: int, *, timeout: float | None = None
) -> list[Group]:
    """List the groups a user is in (``GET /user/{id}/group``).

    Raises:
        PermissionDeniedError: If the caller administers nothing.
        NotFoundError: If there is no such (normal) user.
    """
    return run(routes.get_user_groups(config, user_id), transport, timeout)


def get_usernames(
    config: Config,
    transport: Transport,
    user_ids: Iterable[int],
    *,
    timeout: float | None = None,
) -> list[UserName]:
    """Look up the public names of users by id (``GET /username?id=``); any user may.

    An empty ``user_ids`` makes no request.
    """
    return run(routes.get_usernames(config, user_ids), transport, timeout)


def create_token(
    config: Config,
    transport: Transport,
    description: str | None = None,
    *,
    timeout: float | None = None,
) -> str:
    """Create a new API key for the token's user (``POST /user/token``).

    ``description`` is a note stored with the key, at most 120 characters.
    The request is never retried: a retry could create a second key.

    Returns:
        The new token. Save it with :func:`cave_auth.save_token`; it is not
        shown again except in :func:`get_tokens`.
    """
    return run(routes.create_token(config, description), transport, timeout)


def delete_token(
    config: Config, transport: Transport, token_id: int, *, timeout: float | None = None
) -> None:
    """Delete the token user's API key ``token_id`` (from :func:`get_tokens`).

    Raises:
        NotFoundError: If the user has no key with that id.
    """
    return run(routes.delete_token(config, token_id), transport, timeout)


def get_token_ttl(
    config: Config, transport: Transport, *, timeout: float | None = None
) -> int | None:
    """Return how long the config's token stays valid (``GET /user/token/<t>/ttl``).

    The token travels in this URL's path, so errors and log lines name the URL
    with ``<token>`` (see :mod:`cave_auth.transport` for the HTTP library's).

    Returns:
        The seconds left for a login token, or ``None`` for one that never
        expires (an API key; the server answers -1).

    Raises:
        NotFoundError: If the token is not the caller's own.
    """
    return run(routes.get_token_ttl(config), transport, timeout)


def logout(
    config: Config, transport: Transport, *, timeout: float | None = None
) -> None:
    """End the config's login token (``GET /logout``).

    Raises:
        HTTPError: 422 for an API key (``Can't logout an API Key.``, in
            ``server_message``); delete keys with :func:`delete_token`.
    """
    return run(routes.logout(config), transport, timeout)


def logout_all(
    config: Config, transport: Transport, *, timeout: float | None = None
) -> None:
    """End every login token of the user, everywhere (``GET /logout_all``).

    API keys stay valid; a login token used for this call is ended too.
    """
    return run(routes.logout_all(config), transport, timeout)


def get_missing_tos(
    config: Config, transport: Transport, *, timeout: float | None = None
) -> list[MissingTermsOfService]:
    """List the terms of service the user has yet to accept (``GET /user/missing``).

    One per dataset whose terms are not accepted, with its ``accept_url``.
    """
    return run(routes.get_missing_tos(config), transport, timeout)


# The routes a service asks about a request (cave_auth.service and
# cave_auth.flask look these up): each answer is the server's bare JSON,
# checked by a routes.JsonShape and handed on as sent.


def get_user_cache_data(
    config: Config, transport: Transport, *, timeout: float | None = None
) -> dict[str, Any]:
    """Return the token user's ``/user/cache`` record exactly as the server sent it.

    Not structured, unlike :func:`get_user_cache`: every key is kept, as
    ``middle_auth_client`` hands it to a service's views (``flask.g.auth_user``).
    It must be a JSON object with an integer ``id``.
    """
    return run(routes.get_user_cache_data(config), transport, timeout)


def get_user_permissions_data(
    config: Config, transport: Transport, user_id: int, *, timeout: float | None = None
) -> dict[str, Any]:
    """Return another user's record as sent (``GET /user/{id}/permissions``).

    The raw twin of :func:`get_user_permissions`, with its errors.
    """
    return run(routes.get_user_permissions_data(config, user_id), transport, timeout)


def get_table_dataset(
    config: Config,
    transport: Transport,
    namespace: str,
    table_id: str,
    *,
    timeout: float | None = None,
) -> str:
    """Return the dataset a service table belongs to.

    ``GET /service/{namespace}/table/{table_id}/dataset`` (namespace e.g.
    ``"datastack"``); any logged-in user may ask.

    Raises:
        NotFoundError: If no dataset is mapped to the table.
    """
    return run(
        routes.get_table_dataset(config, namespace, table_id), transport, timeout
    )


def table_has_public(
    config: Config, transport: Transport, table_id: str, *, timeout: float | None = None
) -> bool:
    """Whether a table has any public root (``GET /table/{t}/has_public``).

    ``False`` for a table the server does not know.
    """
    return run(routes.table_has_public(config, table_id), transport, timeout)


def get_public_roots(
    config: Config, transport: Transport, table_id: str, *, timeout: float | None = None
) -> list[int]:
    """List the public roots of a table (``GET /table/{t}/get_public_roots``).

    64-bit ids, exact Python ints; ``[]`` for a table the server does not know.
    """
    return run(routes.get_public_roots(config, table_id), transport, timeout)


def is_root_public(
    config: Config,
    transport: Transport,
    table_id: str,
    root_id: int,
    *,
    timeout: float | None = None,
) -> bool:
    """Whether one root is public (``GET /table/{t}/root/{r}/is_public``)."""
    return run(routes.is_root_public(config, table_id, root_id), transport, timeout)


def are_roots_public(
    config: Config,
    transport: Transport,
    table_id: str,
    root_ids: Iterable[int],
    *,
    timeout: float | None = None,
) -> bool:
    """Whether every root is public (``POST /table/{t}/root_all_public``).

    An empty ``root_ids`` answers ``False`` without a request (the server
    would answer 400); a repeated id makes the server answer ``False``. As a
    POST, the request is never retried.
    """
    return run(routes.are_roots_public(config, table_id, root_ids), transport, timeout)
