"""The auth server routes a service asks, and the lookups built on them.

The first half is endpoint functions in the style of :mod:`cave_auth.api`
(``f(config, transport, ...)``, one request each, errors mapped by
:func:`cave_auth.raise_for_response`): the raw ``/user/cache`` record (a
service hands the whole JSON object to its views, unknown keys included),
another user's permissions, the dataset of a service table, and the three
public-root routes.

The second half is :class:`Lookups`, the small protocol the checker depends
on, and :class:`TransportLookups`, which answers it through those functions
and sorts every failure into one of three outcomes: the token or table was
rejected (``None``), the answer was unusable (``None`` for a public check,
never cached), or the auth service is unavailable
(:class:`AuthServiceUnavailable`: a 5xx after retries, a timeout, a refused
connection or a malformed answer; the caller answers 503 and caches nothing).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol
from urllib.parse import quote

import attrs

from ..api import _run
from ..config import Config
from ..errors import (
    AuthenticationError,
    CaveAuthError,
    HTTPError,
    InvalidInputError,
    PermissionDeniedError,
    ResponseFormatError,
    ServerError,
)
from ..routes import Route, validate_id
from ..transport import Transport

__all__ = [
    "AuthServiceUnavailable",
    "Lookups",
    "TransportLookups",
    "are_roots_public",
    "config_for_auth_url",
    "get_table_dataset",
    "get_user_cache_data",
    "get_user_permissions_data",
    "is_root_public",
    "table_has_public",
]


class AuthServiceUnavailable(CaveAuthError):
    """The auth service could not answer; nothing about the token is known."""


def _segment(value: object) -> str:
    return quote(str(value), safe="")


def _call(
    config: Config,
    transport: Transport,
    method: str,
    route: str,
    *,
    body: Any = None,
    timeout: float | None = None,
) -> Any:
    route_value: Route[Any] = Route(method, route, Any)
    return _run(route_value.exchange(config, json=body), transport, timeout)


def _object(data: Any, route: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ResponseFormatError(f"GET {route}: the answer is not a JSON object")
    return data


def get_user_cache_data(
    config: Config, transport: Transport, *, timeout: float | None = None
) -> dict[str, Any]:
    """Return the token user's ``/user/cache`` record as the server sent it.

    Args:
        config: The settings, with the token to look up.
        transport: The HTTP transport.
        timeout: A read timeout for this call, in seconds.

    Returns:
        The JSON object (``id``, ``groups``, ``permissions_v2``, ...).

    Raises:
        MissingTokenError: If ``config.token`` is None.
        AuthenticationError: If the server rejects the token.
        TransportError, ServerError, ResponseFormatError: As for every call.
    """
    data = _call(config, transport, "GET", "/user/cache", timeout=timeout)
    return _object(data, "/user/cache")


def get_user_permissions_data(
    config: Config, transport: Transport, user_id: int, *, timeout: float | None = None
) -> dict[str, Any]:
    """Return another user's permission record (``GET /user/{id}/permissions``).

    Args:
        config: The settings, with a token of "some admin" or a service.
        transport: The HTTP transport.
        user_id: The user.
        timeout: A read timeout for this call, in seconds.

    Returns:
        The JSON object, as :func:`get_user_cache_data` returns it.

    Raises:
        InvalidInputError: If ``user_id`` is not a non-negative integer.
        PermissionDeniedError: If the token may not see other users.
        NotFoundError: If there is no such user.
    """
    route = f"/user/{validate_id(user_id, 'user_id')}/permissions"
    return _object(_call(config, transport, "GET", route, timeout=timeout), route)


def get_table_dataset(
    config: Config,
    transport: Transport,
    namespace: str,
    table_id: object,
    *,
    timeout: float | None = None,
) -> str:
    """Return the dataset a service table belongs to.

    ``GET /service/{namespace}/table/{table_id}/dataset``; any logged-in user
    may ask.

    Args:
        config: The settings, with a token.
        transport: The HTTP transport.
        namespace: The service namespace, e.g. ``"datastack"``.
        table_id: The table (or datastack) name.
        timeout: A read timeout for this call, in seconds.

    Returns:
        The dataset name.

    Raises:
        NotFoundError: If no dataset is mapped to the table.
        AuthenticationError, TransportError, ServerError: As for every call.
        ResponseFormatError: If the answer is not a string.
    """
    route = f"/service/{_segment(namespace)}/table/{_segment(table_id)}/dataset"
    data = _call(config, transport, "GET", route, timeout=timeout)
    if not isinstance(data, str):
        raise ResponseFormatError(f"GET {route}: the answer is not a dataset name")
    return data


def _bool(data: Any, method: str, route: str) -> bool:
    if not isinstance(data, bool):
        raise ResponseFormatError(f"{method} {route}: the answer is not true/false")
    return data


def table_has_public(
    config: Config,
    transport: Transport,
    table_id: object,
    *,
    timeout: float | None = None,
) -> bool:
    """Whether a table has any public root (``GET /table/{t}/has_public``).

    Args:
        config: The settings, with a token.
        transport: The HTTP transport.
        table_id: The table.
        timeout: A read timeout for this call, in seconds.

    Returns:
        The server's answer; ``False`` for an unknown table.

    Raises:
        AuthenticationError, TransportError, ServerError, ResponseFormatError:
            As for every call.
    """
    route = f"/table/{_segment(table_id)}/has_public"
    return _bool(_call(config, transport, "GET", route, timeout=timeout), "GET", route)


def is_root_public(
    config: Config,
    transport: Transport,
    table_id: object,
    root_id: object,
    *,
    timeout: float | None = None,
) -> bool:
    """Whether one root is public (``GET /table/{t}/root/{r}/is_public``).

    Args:
        config: The settings, with a token.
        transport: The HTTP transport.
        table_id: The table.
        root_id: The root id.
        timeout: A read timeout for this call, in seconds.

    Returns:
        The server's answer.

    Raises:
        NotFoundError: If ``root_id`` is not an integer (the route's 404).
        AuthenticationError, TransportError, ServerError, ResponseFormatError:
            As for every call.
    """
    route = f"/table/{_segment(table_id)}/root/{_segment(root_id)}/is_public"
    return _bool(_call(config, transport, "GET", route, timeout=timeout), "GET", route)


def are_roots_public(
    config: Config,
    transport: Transport,
    table_id: object,
    root_ids: Iterable[Any],
    *,
    timeout: float | None = None,
) -> bool:
    """Whether every root is public (``POST /table/{t}/root_all_public``).

    The request only reads; it is sent once (a POST is never retried).

    Args:
        config: The settings, with a token.
        transport: The HTTP transport.
        table_id: The table.
        root_ids: The root ids; an empty collection answers ``False`` without
            a request.
        timeout: A read timeout for this call, in seconds.

    Returns:
        The server's answer.

    Raises:
        AuthenticationError, TransportError, ServerError, ResponseFormatError:
            As for every call.
    """
    roots = list(root_ids)
    if not roots:
        return False
    route = f"/table/{_segment(table_id)}/root_all_public"
    data = _call(config, transport, "POST", route, body=roots, timeout=timeout)
    return _bool(data, "POST", route)


def config_for_auth_url(auth_url: str) -> Config:
    """Return the :class:`~cave_auth.Config` whose API is under ``auth_url``.

    Args:
        auth_url: The auth service with scheme, ending in ``/auth`` (e.g.
            ``https://global.daf-apis.com/auth``).

    Returns:
        A token-less Config for the server.

    Raises:
        InvalidInputError: If the URL does not end in ``/auth``.
    """
    base = auth_url.rstrip("/")
    if not base.endswith("/auth"):
        raise InvalidInputError(
            f"the auth service URL must end in /auth, not {auth_url!r}"
        )
    return Config(server_address=base[: -len("/auth")])


class Lookups(Protocol):
    """What a checker asks the auth service; every token is an argument.

    Each method returns ``None`` when the server rejected the question (an
    invalid token, an unknown table) and raises
    :class:`AuthServiceUnavailable` when it could not answer.
    """

    def user(self, token: str) -> Mapping[str, Any] | None:
        """Return the ``/user/cache`` record of ``token``, or ``None``."""
        ...

    def dataset(self, namespace: str, table_id: Any, token: str | None) -> str | None:
        """Return the dataset of a service table, or ``None``."""
        ...

    def public(self, kind: str, table_id: Any, subject: Any, token: str) -> bool | None:
        """Answer a public check (``root``, ``roots`` or ``table``), or ``None``."""
        ...


class TransportLookups:
    """:class:`Lookups` through the endpoint functions and a transport.

    Args:
        auth_url: The auth service, with scheme, ending in ``/auth``.
        transport: The HTTP transport.
        timeout: A read timeout per lookup, in seconds.

    Attributes:
        config: The token-less :class:`~cave_auth.Config` of the server.
    """

    def __init__(
        self, auth_url: str, transport: Transport, timeout: float | None = 5.0
    ) -> None:
        self.auth_url = auth_url
        self.transport = transport
        self.timeout = timeout
        self.config = config_for_auth_url(auth_url)

    def __repr__(self) -> str:
        return f"TransportLookups(auth_url={self.auth_url!r})"

    def _with(self, token: str | None) -> Config | None:
        if not token:
            return None
        try:
            return attrs.evolve(self.config, token=token)
        except InvalidInputError:
            return None

    def user(self, token: str) -> Mapping[str, Any] | None:
        """Return the ``/user/cache`` record of ``token``, or ``None`` if rejected.

        Args:
            token: The caller's token.

        Returns:
            The record, or ``None`` when the server rejects the token (401,
            403, a redirect to the login page) or it is malformed.

        Raises:
            AuthServiceUnavailable: For any other failure.
        """
        config = self._with(token)
        if config is None:
            return None
        try:
            return get_user_cache_data(config, self.transport, timeout=self.timeout)
        except (AuthenticationError, PermissionDeniedError):
            return None
        except CaveAuthError as error:
            raise _unavailable(error) from None

    def dataset(self, namespace: str, table_id: Any, token: str | None) -> str | None:
        """Return the dataset of a table, or ``None`` if the server says no.

        Args:
            namespace: The service namespace.
            table_id: The table.
            token: The token to ask with.

        Returns:
            The dataset name, or ``None`` for any 4xx or no token.

        Raises:
            AuthServiceUnavailable: For a 5xx, a transport failure or a
                malformed answer.
        """
        config = self._with(token)
        if config is None:
            return None
        try:
            return get_table_dataset(
                config, self.transport, namespace, table_id, timeout=self.timeout
            )
        except HTTPError as error:
            if isinstance(error, ServerError):
                raise _unavailable(error) from None
            return None
        except CaveAuthError as error:
            raise _unavailable(error) from None

    def public(self, kind: str, table_id: Any, subject: Any, token: str) -> bool | None:
        """Answer a public check, or ``None`` when the server gave no answer.

        Args:
            kind: ``root``, ``roots`` or ``table``.
            table_id: The table.
            subject: The root id, or the frozenset of root ids.
            token: The service token to ask with.

        Returns:
            The answer, or ``None`` for a 4xx (not public, not cached).

        Raises:
            AuthServiceUnavailable: For a 5xx, a transport failure or a
                malformed answer.
        """
        config = self._with(token)
        if config is None:
            return None
        try:
            if kind == "root":
                return is_root_public(
                    config, self.transport, table_id, subject, timeout=self.timeout
                )
            if kind == "roots":
                return are_roots_public(
                    config, self.transport, table_id, subject, timeout=self.timeout
                )
            return table_has_public(
                config, self.transport, table_id, timeout=self.timeout
            )
        except HTTPError as error:
            if isinstance(error, ServerError):
                raise _unavailable(error) from None
            return None
        except CaveAuthError as error:
            raise _unavailable(error) from None


def _unavailable(error: CaveAuthError) -> AuthServiceUnavailable:
    return AuthServiceUnavailable(f"the auth service could not answer: {error}")
