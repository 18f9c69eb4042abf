"""The lookups a checker makes, answered by the auth server's routes.

:class:`Lookups` is the small protocol the checker depends on;
:class:`TransportLookups` answers it through the endpoint functions of
:mod:`cave_auth.api` (``get_user_cache_data``, ``get_table_dataset``,
``is_root_public``, ``are_roots_public``, ``table_has_public``) over any
:class:`~cave_auth.Transport`, and :class:`AsyncTransportLookups` answers
its coroutine twin :class:`AsyncLookups` through the same functions of
:mod:`cave_auth.aio` over an :class:`~cave_auth.AsyncTransport`. Both sort
every failure into one of three
outcomes: the token or table was rejected (``None``; a token lookup
answered 400, 413, 414 or 431 counts as a rejection, and a token over
:data:`~cave_auth.service.values.MAX_TOKEN_LENGTH` characters is rejected
without asking), the question cannot be
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

from .. import aio, api
from ..config import Config
from ..errors import (
    AuthenticationError,
    CaveAuthError,
    HTTPError,
    InvalidInputError,
    PermissionDeniedError,
    ServerError,
)
from ..transport import AsyncTransport, Transport
from .values import MAX_TOKEN_LENGTH

__all__ = [
    "AsyncLookups",
    "AsyncTransportLookups",
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
    """:class:`Lookups` through the endpoint functions of :mod:`cave_auth.api`.

    Args:
        auth_url: The auth service, with scheme, ending in ``/auth``.
        transport: The HTTP transport.
        timeout: The time budget of each lookup, in seconds (retries included).

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

    def user(self, token: str) -> Mapping[str, Any] | None:
        """Return the ``/user/cache`` record of ``token``, or ``None`` if rejected.

        Args:
            token: The caller's token.

        Returns:
            The record, or ``None`` when the server rejects the token (401,
            403, a redirect to the login page, or a 400, 413, 414 or 431: a
            request the server or its proxy will not take, because of the
            token) or it is no usable token (empty, malformed, or over
            ``MAX_TOKEN_LENGTH`` characters: then nothing is sent).

        Raises:
            AuthServiceUnavailable: For any other failure.
        """
        config = _with_user_token(self.config, token)
        if config is None:
            return None
        try:
            return api.get_user_cache_data(config, self.transport, timeout=self.timeout)
        except CaveAuthError as error:
            _unless_token_rejected(error)
            return None

    def dataset(self, namespace: str, table_id: Any, token: str | None) -> str | None:
        """Return the dataset of a table, or ``None`` if the server says no.

        Args:
            namespace: The service namespace.
            table_id: The table (asked about as its text).
            token: The token to ask with.

        Returns:
            The dataset name, or ``None`` for any 4xx or no token.

        Raises:
            AuthServiceUnavailable: For a 5xx, a transport failure or a
                malformed answer.
        """
        config = _with_token(self.config, token)
        if config is None:
            return None
        try:
            return api.get_table_dataset(
                config, self.transport, namespace, str(table_id), timeout=self.timeout
            )
        except CaveAuthError as error:
            _unless_question_refused(error)
            return None

    def public(self, kind: str, table_id: Any, subject: Any, token: str) -> bool | None:
        """Answer a public check, or ``None`` when the server gave no answer.

        Args:
            kind: ``root``, ``roots`` or ``table``.
            table_id: The table (asked about as its text).
            subject: The root id, or the collection of root ids.
            token: The service token to ask with.

        Returns:
            The answer, or ``None`` for a 4xx or a subject that is no root id
            (not public, not cached).

        Raises:
            AuthServiceUnavailable: For a 5xx, a transport failure or a
                malformed answer.
        """
        config = _with_token(self.config, token)
        if config is None:
            return None
        try:
            return _ask_public(  # type: ignore[no-any-return]
                api, config, self.transport, kind, table_id, subject, self.timeout
            )
        except CaveAuthError as error:
            _unless_question_refused(error)
            return None


class AsyncLookups(Protocol):
    """:class:`Lookups` as coroutines, for an event loop that must not block."""

    async def user(self, token: str) -> Mapping[str, Any] | None:
        """Return the ``/user/cache`` record of ``token``, or ``None``."""
        ...

    async def dataset(
        self, namespace: str, table_id: Any, token: str | None
    ) -> str | None:
        """Return the dataset of a service table, or ``None``."""
        ...

    async def public(
        self, kind: str, table_id: Any, subject: Any, token: str
    ) -> bool | None:
        """Answer a public check (``root``, ``roots`` or ``table``), or ``None``."""
        ...


class AsyncTransportLookups:
    """:class:`AsyncLookups` through :mod:`cave_auth.aio` and an async transport.

    Each answer and each failure is sorted exactly as by
    :class:`TransportLookups`; only the I/O differs.

    Args:
        auth_url: The auth service, with scheme, ending in ``/auth``.
        transport: The async HTTP transport.
        timeout: The time budget of each lookup, in seconds (retries included).

    Attributes:
        config: The token-less :class:`~cave_auth.Config` of the server.
    """

    def __init__(
        self, auth_url: str, transport: AsyncTransport, timeout: float | None = 5.0
    ) -> None:
        self.auth_url = auth_url
        self.transport = transport
        self.timeout = timeout
        self.config = config_for_auth_url(auth_url)

    def __repr__(self) -> str:
        return f"AsyncTransportLookups(auth_url={self.auth_url!r})"

    async def user(self, token: str) -> Mapping[str, Any] | None:
        """Return the ``/user/cache`` record of ``token``, or ``None`` if rejected.

        Args:
            token: The caller's token.

        Returns:
            As :meth:`TransportLookups.user`.

        Raises:
            AuthServiceUnavailable: For any failure but a rejection.
        """
        config = _with_user_token(self.config, token)
        if config is None:
            return None
        try:
            return await aio.get_user_cache_data(
                config, self.transport, timeout=self.timeout
            )
        except CaveAuthError as error:
            _unless_token_rejected(error)
            return None

    async def dataset(
        self, namespace: str, table_id: Any, token: str | None
    ) -> str | None:
        """Return the dataset of a table, or ``None`` if the server says no.

        Args:
            namespace: The service namespace.
            table_id: The table (asked about as its text).
            token: The token to ask with.

        Returns:
            As :meth:`TransportLookups.dataset`.

        Raises:
            AuthServiceUnavailable: For a 5xx, a transport failure or a
                malformed answer.
        """
        config = _with_token(self.config, token)
        if config is None:
            return None
        try:
            return await aio.get_table_dataset(
                config, self.transport, namespace, str(table_id), timeout=self.timeout
            )
        except CaveAuthError as error:
            _unless_question_refused(error)
            return None

    async def public(
        self, kind: str, table_id: Any, subject: Any, token: str
    ) -> bool | None:
        """Answer a public check, or ``None`` when the server gave no answer.

        Args:
            kind: ``root``, ``roots`` or ``table``.
            table_id: The table (asked about as its text).
            subject: The root id, or the collection of root ids.
            token: The service token to ask with.

        Returns:
            As :meth:`TransportLookups.public`.

        Raises:
            AuthServiceUnavailable: For a 5xx, a transport failure or a
                malformed answer.
        """
        config = _with_token(self.config, token)
        if config is None:
            return None
        try:
            return await _ask_public(  # type: ignore[no-any-return]
                aio, config, self.transport, kind, table_id, subject, self.timeout
            )
        except CaveAuthError as error:
            _unless_question_refused(error)
            return None


def _with_token(config: Config, token: str | None) -> Config | None:
    """The config with ``token``, or ``None`` for no usable token."""
    if not token:
        return None
    try:
        return attrs.evolve(config, token=token)
    except InvalidInputError:
        return None


def _with_user_token(config: Config, token: str) -> Config | None:
    """The config with a caller's token, or ``None`` if it cannot be valid."""
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    return _with_token(config, token)


def _ask_public(
    endpoints: Any,
    config: Config,
    transport: Any,
    kind: str,
    table_id: Any,
    subject: Any,
    timeout: float | None,
) -> Any:
    """Call the public-root endpoint of ``kind`` in ``api`` or ``aio``."""
    table = str(table_id)
    if kind == "root":
        root = _root_id(subject)
        return endpoints.is_root_public(config, transport, table, root, timeout=timeout)
    if kind == "roots":
        roots = [_root_id(one) for one in subject]
        return endpoints.are_roots_public(
            config, transport, table, roots, timeout=timeout
        )
    return endpoints.table_has_public(config, transport, table, timeout=timeout)


_REQUEST_REFUSED = frozenset({400, 413, 414, 431})
"""What the server, or nginx in front of it, answers to a request it will not
take as sent: for a token lookup, the token is what is wrong with it (nginx
answers 400 to an oversized header), and asking again gets the same."""


def _unless_token_rejected(error: CaveAuthError) -> None:
    """Return for a rejected token; raise the service's failure otherwise."""
    rejected = isinstance(error, AuthenticationError | PermissionDeniedError) or (
        isinstance(error, HTTPError) and error.status in _REQUEST_REFUSED
    )
    if not rejected:
        raise _unavailable(error) from None


def _unless_question_refused(error: CaveAuthError) -> None:
    """Return for a 4xx or an unaskable question; raise the service's failure."""
    refused = isinstance(error, InvalidInputError) or (
        isinstance(error, HTTPError) and not isinstance(error, ServerError)
    )
    if not refused:
        raise _unavailable(error) from None


def _root_id(value: Any) -> Any:
    """Return a root id as the server reads it: ASCII digits become an int."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return value


def _unavailable(error: CaveAuthError) -> AuthServiceUnavailable:
    return AuthServiceUnavailable(f"the auth service could not answer: {error}")
