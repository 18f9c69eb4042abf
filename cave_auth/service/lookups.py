"""The lookups a checker makes, answered by the auth server's routes.

:class:`Lookups` is the small protocol the checker depends on;
:class:`TransportLookups` answers it through the endpoint functions of
:mod:`cave_auth.api` (``get_user_cache_data``, ``get_table_dataset``,
``is_root_public``, ``are_roots_public``, ``table_has_public``) over any
:class:`~cave_auth.Transport`, and sorts every failure into one of three
outcomes: the token or table was rejected (``None``), the question cannot be
asked or was answered with a 4xx (``None`` for a public check: not public,
never cached), or the auth service is unavailable
(:class:`AuthServiceUnavailable`: a 5xx after retries, a timeout, a refused
connection or a malformed answer; the caller answers 503 and caches nothing).

A root id from a request may be a string (a path segment, a JSON body): a
string of ASCII digits is sent as the integer it spells, as the server reads
it; anything else is not an id, so the root is not public (the server would
answer 404 or 500 and ``middle_auth_client`` a 500).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import attrs

from .. import api
from ..config import Config
from ..errors import (
    AuthenticationError,
    CaveAuthError,
    HTTPError,
    InvalidInputError,
    PermissionDeniedError,
    ServerError,
)
from ..transport import Transport

__all__ = [
    "AuthServiceUnavailable",
    "Lookups",
    "TransportLookups",
    "config_for_auth_url",
]


class AuthServiceUnavailable(CaveAuthError):
    """The auth service could not answer; nothing about the token is known."""


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
            return api.get_user_cache_data(config, self.transport, timeout=self.timeout)
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
            return api.get_table_dataset(
                config, self.transport, namespace, str(table_id), timeout=self.timeout
            )
        except InvalidInputError:
            return None
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
        table, timeout = str(table_id), self.timeout
        try:
            if kind == "root":
                root = _root_id(subject)
                return api.is_root_public(
                    config, self.transport, table, root, timeout=timeout
                )
            if kind == "roots":
                roots = [_root_id(one) for one in subject]
                return api.are_roots_public(
                    config, self.transport, table, roots, timeout=timeout
                )
            return api.table_has_public(config, self.transport, table, timeout=timeout)
        except InvalidInputError:
            return None
        except HTTPError as error:
            if isinstance(error, ServerError):
                raise _unavailable(error) from None
            return None
        except CaveAuthError as error:
            raise _unavailable(error) from None


def _root_id(value: Any) -> Any:
    """Return a root id as the server reads it: ASCII digits become an int."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return value


def _unavailable(error: CaveAuthError) -> AuthServiceUnavailable:
    return AuthServiceUnavailable(f"the auth service could not answer: {error}")
