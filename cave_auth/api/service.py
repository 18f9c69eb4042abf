"""The routes a service asks about a request, as sync endpoint functions.

What :mod:`cave_auth.service` and :mod:`cave_auth.flask` look up for each
request: the token's whole ``/user/cache`` record, another user's record, the
dataset of a service table, and the public roots. Each answer is the server's
bare JSON, checked (:class:`~cave_auth.routes.JsonShape`); root ids are
64-bit Python ints. Re-exported by :mod:`cave_auth.api`; the coroutine twins
are in :mod:`cave_auth.aio`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import routes
from ..config import Config
from ..transport import Transport
from ._drive import _run

__all__ = [
    "are_roots_public",
    "get_public_roots",
    "get_table_dataset",
    "get_user_cache_data",
    "get_user_permissions_data",
    "is_root_public",
    "table_has_public",
]


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
        timeout: The time budget of this call, in seconds (retries included).

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
        timeout: The time budget of this call, in seconds (retries included).

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
        timeout: The time budget of this call, in seconds (retries included).

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
        timeout: The time budget of this call, in seconds (retries included).

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
        timeout: The time budget of this call, in seconds (retries included).

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
        timeout: The time budget of this call, in seconds (retries included).

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
        timeout: The time budget of this call, in seconds (retries included).

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
