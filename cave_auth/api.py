"""One function per route of the auth server: ``f(config, transport, ...)``.

Each call validates its arguments and requires a token before any I/O, builds
the request (:mod:`cave_auth.routes`, pure), makes exactly one
``transport.request``, logs the server's ``Warning`` header (scrubbed of the
token) on the ``cave_auth`` logger, and parses the answer (pure again): an
error status becomes an exception of :mod:`cave_auth.errors`, the JSON body a
model of :mod:`cave_auth.models` (or, for the routes a service asks, the bare
JSON, checked: ``true``/``false``, a name, root ids, a whole record). The
token comes from ``config.token``; fill it in first with
:func:`cave_auth.with_token`.

These functions are thin shells around the flows of :mod:`cave_auth.routes`;
:mod:`cave_auth.aio` drives the same flows over an async transport, so both
send the same requests and raise the same errors.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar, cast

from . import routes
from .config import Config
from .models import (
    Group,
    GroupMember,
    Permissions,
    TokenInfo,
    User,
    UserName,
)
from .routes import ApiRequest, Flow, ResponseLike, raise_for_response
from .transport import Transport

__all__ = [
    "are_roots_public",
    "create_token",
    "delete_token",
    "get_group_users",
    "get_my_permissions",
    "get_public_roots",
    "get_table_dataset",
    "get_tokens",
    "get_user_cache",
    "get_user_cache_data",
    "get_user_groups",
    "get_user_information",
    "get_user_permissions",
    "get_user_permissions_data",
    "get_usernames",
    "is_root_public",
    "raise_for_response",
    "table_has_public",
    "whoami",
]

T = TypeVar("T")


def _run(flow: Flow[T], transport: Transport, timeout: float | None) -> T:
    """Drive ``flow`` over a sync transport: the twin of ``aio._run``."""
    try:
        request = next(flow)
    except StopIteration as done:
        return cast(T, done.value)
    while True:
        response = transport.request(
            request.method,
            request.url,
            headers=request.headers,
            params=request.params,
            json=request.json,
            timeout=timeout,
        )
        _log_server_warning(request, response)
        try:
            request = flow.send(response)
        except StopIteration as done:
            return cast(T, done.value)


def _log_server_warning(request: ApiRequest, response: ResponseLike) -> None:
    """Log the ``Warning`` header of an answer, if any, without the token.

    Args:
        request: The request that was sent.
        response: Its answer.
    """
    warning = response.header("warning")
    if warning:
        import logging

        from ._redact import scrub_bearer

        logging.getLogger("cave_auth").warning(
            "Server warning for %s %s: %s",
            request.method,
            request.url,
            scrub_bearer(warning, request.headers),
        )


def get_tokens(
    config: Config, transport: Transport, *, timeout: float | None = None
) -> list[TokenInfo]:
    """List the API keys of the token's user (``GET /user/token``), newest first.

    Args:
        config: The settings, with a token.
        transport: The HTTP transport.
        timeout: A read timeout for this call, in seconds.

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
        timeout: A read timeout for this call, in seconds.

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
        timeout: A read timeout for this call, in seconds.

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
        timeout: A read timeout for this call, in seconds.

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
        timeout: A read timeout for this call, in seconds.

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
        timeout: A read timeout for this call, in seconds.

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
        timeout: A read timeout for this call, in seconds.

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
        timeout: A read timeout for this call, in seconds.

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
        timeout: A read timeout for this call, in seconds.

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
        timeout: A read timeout for this call, in seconds.

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
        timeout: A read timeout for this call, in seconds.

    Raises:
        InvalidInputError: If ``token_id`` is not a non-negative integer.
        MissingTokenError: If ``config.token`` is None.
        NotFoundError: If the user has no key with that id.
        AuthenticationError, TransportError, ResponseFormatError: As for
            every call.
    """
    return _run(routes.delete_token(config, token_id), transport, timeout)


def get_user_cache_data(
    config: Config, transport: Transport, *, timeout: float | None = None
) -> dict[str, Any]:
    """Return the token user's ``/user/cache`` record exactly as the server sent it.

    Unlike :func:`get_user_cache`, nothing is structured: every key is kept,
    unknown ones included, as ``middle_auth_client`` hands the record to a
    service's views (``flask.g.auth_user``).

    Args:
        config: The settings, with a token.
        transport: The HTTP transport.
        timeout: A read timeout for this call, in seconds.

    Returns:
        The JSON object (``id``, ``groups``, ``permissions_v2``, ...).

    Raises:
        MissingTokenError: If ``config.token`` is None.
        AuthenticationError: If the server rejects the token.
        TransportError, ResponseFormatError: As for every call (the answer
            must be a JSON object with an integer ``id``).
    """
    return _run(routes.get_user_cache_data(config), transport, timeout)


def get_user_permissions_data(
    config: Config, transport: Transport, user_id: int, *, timeout: float | None = None
) -> dict[str, Any]:
    """Return another user's record as sent (``GET /user/{id}/permissions``).

    The raw twin of :func:`get_user_permissions`, as
    :func:`get_user_cache_data` is of :func:`get_user_cache`.

    Args:
        config: The settings, with a token.
        transport: The HTTP transport.
        user_id: The user to look at.
        timeout: A read timeout for this call, in seconds.

    Returns:
        The JSON object, every key kept.

    Raises:
        InvalidInputError: If ``user_id`` is not a non-negative integer.
        MissingTokenError: If ``config.token`` is None.
        PermissionDeniedError: If the caller administers nothing.
        NotFoundError: If there is no such (normal) user.
        AuthenticationError, TransportError, ResponseFormatError: As for
            every call.
    """
    return _run(routes.get_user_permissions_data(config, user_id), transport, timeout)


def get_table_dataset(
    config: Config,
    transport: Transport,
    namespace: str,
    table_id: str,
    *,
    timeout: float | None = None,
) -> str:
    """Return the dataset a service table belongs to.

    ``GET /service/{namespace}/table/{table_id}/dataset``; any logged-in user
    may ask. The server maps each (namespace, table) pair it was told about
    to one dataset.

    Args:
        config: The settings, with a token.
        transport: The HTTP transport.
        namespace: The service namespace, e.g. ``"datastack"``.
        table_id: The table (or datastack) name.
        timeout: A read timeout for this call, in seconds.

    Returns:
        The dataset name.

    Raises:
        InvalidInputError: If ``namespace`` or ``table_id`` is not a
            non-empty str.
        MissingTokenError: If ``config.token`` is None.
        NotFoundError: If no dataset is mapped to the table.
        AuthenticationError, TransportError, ResponseFormatError: As for
            every call.
    """
    return _run(
        routes.get_table_dataset(config, namespace, table_id), transport, timeout
    )


def table_has_public(
    config: Config, transport: Transport, table_id: str, *, timeout: float | None = None
) -> bool:
    """Whether a table has any public root (``GET /table/{t}/has_public``).

    Args:
        config: The settings, with a token.
        transport: The HTTP transport.
        table_id: The table.
        timeout: A read timeout for this call, in seconds.

    Returns:
        The server's answer; ``False`` for a table it does not know.

    Raises:
        InvalidInputError: If ``table_id`` is not a non-empty str.
        MissingTokenError: If ``config.token`` is None.
        AuthenticationError, TransportError, ResponseFormatError: As for
            every call.
    """
    return _run(routes.table_has_public(config, table_id), transport, timeout)


def get_public_roots(
    config: Config, transport: Transport, table_id: str, *, timeout: float | None = None
) -> list[int]:
    """List the public roots of a table (``GET /table/{t}/get_public_roots``).

    Root ids are 64-bit and stay exact Python ints.

    Args:
        config: The settings, with a token.
        transport: The HTTP transport.
        table_id: The table.
        timeout: A read timeout for this call, in seconds.

    Returns:
        The root ids; ``[]`` for a table the server does not know.

    Raises:
        InvalidInputError: If ``table_id`` is not a non-empty str.
        MissingTokenError: If ``config.token`` is None.
        AuthenticationError, TransportError, ResponseFormatError: As for
            every call.
    """
    return _run(routes.get_public_roots(config, table_id), transport, timeout)


def is_root_public(
    config: Config,
    transport: Transport,
    table_id: str,
    root_id: int,
    *,
    timeout: float | None = None,
) -> bool:
    """Whether one root is public (``GET /table/{t}/root/{r}/is_public``).

    Args:
        config: The settings, with a token.
        transport: The HTTP transport.
        table_id: The table.
        root_id: The root id, a 64-bit integer.
        timeout: A read timeout for this call, in seconds.

    Returns:
        The server's answer.

    Raises:
        InvalidInputError: If ``table_id`` is not a non-empty str or
            ``root_id`` not a non-negative integer.
        MissingTokenError: If ``config.token`` is None.
        AuthenticationError, TransportError, ResponseFormatError: As for
            every call.
    """
    return _run(routes.is_root_public(config, table_id, root_id), transport, timeout)


def are_roots_public(
    config: Config,
    transport: Transport,
    table_id: str,
    root_ids: Iterable[int],
    *,
    timeout: float | None = None,
) -> bool:
    """Whether every root is public (``POST /table/{t}/root_all_public``).

    The request only reads, but as a POST it is never retried. The server
    counts distinct public roots against the length of the list, so a
    repeated id makes it answer ``False``.

    Args:
        config: The settings, with a token.
        transport: The HTTP transport.
        table_id: The table.
        root_ids: The root ids. An empty collection answers ``False``
            without a request (the server would answer 400).
        timeout: A read timeout for this call, in seconds.

    Returns:
        The server's answer.

    Raises:
        InvalidInputError: If ``table_id`` is not a non-empty str or
            ``root_ids`` not a collection of ids.
        MissingTokenError: If ``config.token`` is None.
        AuthenticationError, TransportError, ResponseFormatError: As for
            every call.
    """
    return _run(routes.are_roots_public(config, table_id, root_ids), transport, timeout)
