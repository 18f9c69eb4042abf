"""The lookups a checker makes, answered by the auth server's routes.

:class:`Lookups` is the small protocol the checker depends on, and
:class:`AsyncLookups` its coroutine twin. :class:`TransportLookups` and
:class:`AsyncTransportLookups` answer them with the same flows: each lookup
composes a flow of :mod:`cave_auth.routes` (``get_user_cache_data``,
``get_table_dataset``, ``is_root_public``, ``are_roots_public``,
``table_has_public``) with the rules that sort its failures, and is driven
over a :class:`~cave_auth.Transport` or an :class:`~cave_auth.AsyncTransport`.
Every failure is one of three outcomes: the token or table was rejected
(``None``; a token lookup answered 400, 413, 414 or 431 counts as a
rejection, and a token over
:data:`~cave_auth.service.values.MAX_TOKEN_LENGTH` characters is rejected
without asking), the question cannot be asked or was answered with a 4xx
(``None`` for a public check: not public, never cached), or the auth service
is unavailable (:class:`AuthServiceUnavailable`: a 5xx after retries, a
timeout, a refused connection or a malformed answer; the caller answers 503
and caches nothing).

A root id from a request may be a string (a path segment, a JSON body): a
string of ASCII digits is sent as the integer it spells, as the server reads
it; anything else is not an id, so the root is not public (the server would
answer 404 or 500 and ``middle_auth_client`` a 500).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import attrs

from .. import routes
from .._drive import arun, run
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
from .values import MAX_TOKEN_LENGTH, DatasetNeed, UserNeed

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..routes import Flow
    from .values import PublicNeed

__all__ = [
    "AsyncLookups",
    "AsyncTransportLookups",
    "AuthServiceUnavailable",
    "Lookups",
    "TransportLookups",
    "ask",
    "config_for_auth_url",
]

TransportT = TypeVar("TransportT")


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


class _RouteLookups(Generic[TransportT]):
    """The lookups as flows of :mod:`cave_auth.routes`; a subclass drives them."""

    def __init__(
        self, auth_url: str, transport: TransportT, timeout: float | None = 5.0
    ) -> None:
        self.auth_url = auth_url
        self.transport = transport
        self.timeout = timeout
        self.config = config_for_auth_url(auth_url)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(auth_url={self.auth_url!r})"

    def _user(self, token: str) -> Flow[Mapping[str, Any] | None]:
        config = _with_user_token(self.config, token)
        if config is None:
            return None
        try:
            return (yield from routes.get_user_cache_data(config))
        except CaveAuthError as error:
            _unless_token_rejected(error)
            return None

    def _dataset(
        self, namespace: str, table_id: Any, token: str | None
    ) -> Flow[str | None]:
        config = _with_token(self.config, token)
        if config is None:
            return None
        try:
            return (
                yield from routes.get_table_dataset(config, namespace, str(table_id))
            )
        except CaveAuthError as error:
            _unless_question_refused(error)
            return None

    def _public(
        self, kind: str, table_id: Any, subject: Any, token: str
    ) -> Flow[bool | None]:
        config = _with_token(self.config, token)
        if config is None:
            return None
        table = str(table_id)
        try:
            if kind == "root":
                root = _root_id(subject)
                return (yield from routes.is_root_public(config, table, root))
            if kind == "roots":
                roots = [_root_id(one) for one in subject]
                return (yield from routes.are_roots_public(config, table, roots))
            return (yield from routes.table_has_public(config, table))
        except CaveAuthError as error:
            _unless_question_refused(error)
            return None


class TransportLookups(_RouteLookups[Transport]):
    """:class:`Lookups` through the routes of the auth server, over a transport.

    Args:
        auth_url: The auth service, with scheme, ending in ``/auth``.
        transport: The HTTP transport.
        timeout: The time budget of each lookup, in seconds (retries included).

    Attributes:
        config: The token-less :class:`~cave_auth.Config` of the server.
    """

    def user(self, token: str) -> Mapping[str, Any] | None:
        """Return the ``/user/cache`` record of ``token``, or ``None`` if rejected.

        ``None`` when the server rejects the token (401, 403, a redirect to
        the login page, or a 400, 413, 414 or 431: a request the server or
        its proxy will not take, because of the token) or it is no usable
        token (empty, malformed, or over ``MAX_TOKEN_LENGTH`` characters:
        then nothing is sent).

        Raises:
            AuthServiceUnavailable: For any other failure.
        """
        return run(self._user(token), self.transport, self.timeout)

    def dataset(self, namespace: str, table_id: Any, token: str | None) -> str | None:
        """Return the dataset of a table (asked about as its text), or ``None``.

        ``None`` for any 4xx, or without a token.

        Raises:
            AuthServiceUnavailable: For a 5xx, a transport failure or a
                malformed answer.
        """
        return run(
            self._dataset(namespace, table_id, token), self.transport, self.timeout
        )

    def public(self, kind: str, table_id: Any, subject: Any, token: str) -> bool | None:
        """Answer a public check, or ``None`` when the server gave no answer.

        ``kind`` is ``root``, ``roots`` or ``table``; ``subject`` the root id,
        the collection of root ids, or nothing. ``None`` for a 4xx or a
        subject that is no root id (not public, not cached).

        Raises:
            AuthServiceUnavailable: For a 5xx, a transport failure or a
                malformed answer.
        """
        flow = self._public(kind, table_id, subject, token)
        return run(flow, self.transport, self.timeout)


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


class AsyncTransportLookups(_RouteLookups[AsyncTransport]):
    """Async twin of :class:`TransportLookups`, over an async transport.

    The same flows sort each answer and each failure; only the I/O differs.
    """

    async def user(self, token: str) -> Mapping[str, Any] | None:
        """Async twin of :meth:`TransportLookups.user`."""
        return await arun(self._user(token), self.transport, self.timeout)

    async def dataset(
        self, namespace: str, table_id: Any, token: str | None
    ) -> str | None:
        """Async twin of :meth:`TransportLookups.dataset`."""
        flow = self._dataset(namespace, table_id, token)
        return await arun(flow, self.transport, self.timeout)

    async def public(
        self, kind: str, table_id: Any, subject: Any, token: str
    ) -> bool | None:
        """Async twin of :meth:`TransportLookups.public`."""
        flow = self._public(kind, table_id, subject, token)
        return await arun(flow, self.transport, self.timeout)


def ask(
    lookups: Lookups | AsyncLookups, need: UserNeed | DatasetNeed | PublicNeed
) -> Any:
    """Call the method of ``lookups`` that answers ``need``.

    :class:`Lookups` and :class:`AsyncLookups` name their methods alike, so
    one dispatch serves both; for the latter the result is awaited.
    """
    if isinstance(need, UserNeed):
        return lookups.user(need.token)
    if isinstance(need, DatasetNeed):
        return lookups.dataset(need.namespace, need.table_id, need.token)
    return lookups.public(need.kind, need.table_id, need.subject, need.token)


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
