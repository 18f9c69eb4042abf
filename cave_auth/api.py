"""One function per route of the auth server: ``f(config, transport, ...)``.

Each call validates its arguments and requires a token before any I/O, builds
the URL and the header (pure), makes exactly one ``transport.request``, maps
an error status to an exception of :mod:`cave_auth.errors`, and structures the
JSON body into the models of :mod:`cave_auth.models`. The token comes from
``config.token``; fill it in first with :func:`cave_auth.with_token`.

Error mapping, from what the real server answers (``middle_auth-api.md``):

* 401, or a redirect towards the login page (``/authorize``, ``login``):
  :class:`AuthenticationError`, whose message points at the token page;
* 403 whose JSON ``error`` is ``missing_tos``: :class:`TermsOfServiceRequired`
  with the form URL; any other 403: :class:`PermissionDeniedError`;
* 404: :class:`NotFoundError`; 5xx: :class:`ServerError`; any other status
  of 300 or more: :class:`HTTPError`;
* a 2xx body that is not the JSON the route returns:
  :class:`ResponseFormatError`.

The server explains errors in JSON (``message``/``error``) before login and in
plain text after it; either way the explanation is kept, trimmed, in
``server_message``. Any occurrence of the token in what the server sent (body,
``Location``, ``Warning``, terms-of-service data, the final URL) is replaced
by ``<token>`` before it reaches a message, an attribute or a log line.

There is no ``get_token_ttl``: the server's source has a
``/user/token/<key>/ttl`` route, but the recorded reference shows none, so its
shape is unknown and nothing is built on a guess.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn, TypeVar

from .config import Config
from .errors import (
    AuthenticationError,
    HTTPError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    ResponseFormatError,
    ServerError,
    TermsOfServiceRequired,
)
from .models import (
    Group,
    GroupMember,
    Permissions,
    TokenInfo,
    User,
    UserName,
    converter,
)
from .tokens import missing_token_error
from .transport import Response, Transport
from .urls import api_url, token_page_url

__all__ = [
    "create_token",
    "delete_token",
    "get_group_users",
    "get_my_permissions",
    "get_tokens",
    "get_user_cache",
    "get_user_groups",
    "get_user_information",
    "get_user_permissions",
    "get_usernames",
    "raise_for_response",
    "whoami",
]

T = TypeVar("T")

MAX_DESCRIPTION_LENGTH = 120
"""The longest token description the server can store (``varchar(120)``)."""

_SERVER_MESSAGE_LIMIT = 300


def validate_id(value: object, name: str) -> int:
    """Check that ``value`` is an id the server accepts, and return it as int.

    Args:
        value: An int ≥ 0 (an integer-like object such as ``numpy.int64`` is
            fine, a bool or a float is not).
        name: The argument's name, for the error message.

    Returns:
        ``value`` as a plain int.

    Raises:
        InvalidInputError: If ``value`` is not a non-negative integer.
    """
    if type(value) is int and value >= 0:
        return value
    if isinstance(value, bool):
        raise InvalidInputError(f"{name} must be an integer id, not a bool")
    try:
        number = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise InvalidInputError(
            f"{name} must be an integer id, not {type(value).__name__}"
        ) from None
    if number < 0:
        raise InvalidInputError(f"{name} must be >= 0, got {number}")
    return number


def validate_ids(values: object, name: str) -> list[int]:
    """Check a collection of ids and return it as a list of ints.

    Args:
        values: A non-string iterable of ids.
        name: The argument's name, for error messages.

    Returns:
        The ids, in order, as plain ints.

    Raises:
        InvalidInputError: If ``values`` is a string, not iterable, or holds
            something that is not a non-negative integer.
    """
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
        raise InvalidInputError(
            f"{name} must be a list of integer ids, not {type(values).__name__}"
        )
    return [
        validate_id(value, f"{name}[{index}]") for index, value in enumerate(values)
    ]


def _headers(config: Config) -> dict[str, str]:
    if config.token is None:
        raise missing_token_error(config)
    return {"Authorization": "Bearer " + config.token, "Accept": "application/json"}


def _call(
    config: Config,
    transport: Transport,
    method: str,
    route: str,
    *,
    params: Mapping[str, str] | None = None,
    body: Any = None,
    timeout: float | None = None,
) -> Any:
    headers = _headers(config)
    url = api_url(config.server_address, route)
    response = transport.request(
        method, url, headers=headers, params=params, json=body, timeout=timeout
    )
    raise_for_response(config, method, response)
    warning = response.header("warning")
    if warning:
        import logging

        logging.getLogger("cave_auth").warning(
            "Server warning for %s %s: %s",
            method,
            url,
            _scrub(warning, config.token),
        )
    try:
        return json.loads(response.body)
    except (ValueError, RecursionError):
        answered = _scrub(response.url or url, config.token)
        raise ResponseFormatError(
            f"{method} {answered} answered {response.status} with a body "
            "that is not JSON",
            url=answered,
        ) from None


def _structured(data: object, kind: type[T], method: str, url: str) -> T:
    conv = converter()
    try:
        return conv.structure(data, kind)
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        raise ResponseFormatError(
            f"{method} {url}: the answer does not have the expected shape "
            f"({type(exc).__name__})",
            url=url,
        ) from None


def _get_by_ids(
    config: Config,
    transport: Transport,
    route: str,
    user_ids: Iterable[int],
    kind: type[list[T]],
    timeout: float | None,
) -> list[T]:
    ids = validate_ids(user_ids, "user_ids")
    if not ids:
        return []
    params = {"id": ",".join(map(str, ids))}
    data = _call(config, transport, "GET", route, params=params, timeout=timeout)
    return _structured(data, kind, "GET", route)


def _scrub(text: str, token: str | None) -> str:
    """Return server-supplied ``text`` with every occurrence of the token masked."""
    return text.replace(token, "<token>") if token else text


def _server_message(response: Response, token: str | None) -> tuple[str, Any]:
    body = response.body
    if token:
        # Before the body is cut, so that no piece of a token survives the cut.
        body = body.replace(token.encode(), b"<token>")
    text = body[:4096].decode("utf-8", "replace")
    data: Any = None
    content_type = response.header("content-type") or ""
    if "json" in content_type or text.lstrip().startswith("{"):
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            data = None
    message = ""
    if isinstance(data, dict):
        for key in ("message", "error"):
            if isinstance(data.get(key), str):
                message = data[key]
                break
    if not message and "<" not in text[:1]:
        message = " ".join(text.split())
    elif not message:
        import re

        title = re.search(r"<title>(.*?)</title>", text, re.S | re.I)
        message = " ".join(title.group(1).split()) if title else ""
    message = _scrub(message, token)
    if len(message) > _SERVER_MESSAGE_LIMIT:
        message = message[: _SERVER_MESSAGE_LIMIT - 1] + "…"
    return message, data


def raise_for_response(config: Config, method: str, response: Response) -> None:
    """Raise the error an answer stands for, or return if it is a success.

    Args:
        config: The settings the request was made with (for the token page
            URL, and to keep the token out of messages).
        method: The HTTP method of the request.
        response: The answer.

    Raises:
        AuthenticationError: 401, or a redirect towards a login page.
        TermsOfServiceRequired: 403 ``missing_tos``.
        PermissionDeniedError: Any other 403.
        NotFoundError: 404.
        ServerError: 5xx.
        HTTPError: Any other status of 300 or more.
    """
    status = response.status
    if 200 <= status < 300:
        return
    url = _scrub(response.url, config.token)
    message, data = _server_message(response, config.token)
    page = token_page_url(config.server_address)

    def fail(kind: type[HTTPError], text: str) -> NoReturn:
        raise kind(text, status=status, method=method, url=url, server_message=message)

    said = f" (server said: {message})" if message else ""
    if status == 401 or (300 <= status < 400 and _is_login_redirect(response)):
        fail(
            AuthenticationError,
            f"{method} {url}: the server did not accept the token ({status}){said}. "
            f"Check it, or get a new one at {page}",
        )
    if status == 403:
        tos = data.get("data") if isinstance(data, dict) else None
        if (
            isinstance(data, dict)
            and data.get("error") == "missing_tos"
            and isinstance(tos, dict)
            and isinstance(tos.get("tos_form_url"), str)
        ):
            tos_id = tos.get("tos_id")
            tos_name = tos.get("tos_name")
            if isinstance(tos_name, str):
                tos_name = _scrub(tos_name, config.token)
            form_url = _scrub(tos["tos_form_url"], config.token)
            raise TermsOfServiceRequired(
                f"{method} {url}: accept the terms of service"
                f"{' ' + repr(tos_name) if isinstance(tos_name, str) else ''} at "
                f"{form_url} first",
                tos_form_url=form_url,
                tos_id=tos_id if isinstance(tos_id, int) else None,
                tos_name=tos_name if isinstance(tos_name, str) else None,
                status=status,
                method=method,
                url=url,
                server_message=message,
            )
        fail(PermissionDeniedError, f"{method} {url}: permission denied (403){said}")
    if status == 404:
        fail(NotFoundError, f"{method} {url}: not found (404){said}")
    if status >= 500:
        fail(ServerError, f"{method} {url}: server error ({status}){said}")
    if 300 <= status < 400:
        location = _scrub(response.header("location") or "nowhere", config.token)
        fail(
            HTTPError,
            f"{method} {url}: redirected ({status}) to {location.partition('?')[0]}, "
            "which is not followed",
        )
    fail(HTTPError, f"{method} {url}: request failed ({status}){said}")


def _is_login_redirect(response: Response) -> bool:
    location = (response.header("location") or "").partition("?")[0].lower()
    return "/authorize" in location or "login" in location


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
    data = _call(config, transport, "GET", "/user/token", timeout=timeout)
    return _structured(data, list[TokenInfo], "GET", "/user/token")


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
    return _get_by_ids(config, transport, "/user", user_ids, list[User], timeout)


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
    gid = validate_id(group_id, "group_id")
    route = f"/group/{gid}/user"
    data = _call(config, transport, "GET", route, timeout=timeout)
    return _structured(data, list[GroupMember], "GET", route)


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
    data = _call(config, transport, "GET", "/user/me", timeout=timeout)
    return _structured(data, User, "GET", "/user/me")


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
    data = _call(config, transport, "GET", "/user/cache", timeout=timeout)
    return _structured(data, Permissions, "GET", "/user/cache")


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
    data = _call(config, transport, "GET", "/my_permissions", timeout=timeout)
    return _structured(data, Permissions, "GET", "/my_permissions")


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
    uid = validate_id(user_id, "user_id")
    route = f"/user/{uid}/permissions"
    data = _call(config, transport, "GET", route, timeout=timeout)
    return _structured(data, Permissions, "GET", route)


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
    uid = validate_id(user_id, "user_id")
    route = f"/user/{uid}/group"
    data = _call(config, transport, "GET", route, timeout=timeout)
    return _structured(data, list[Group], "GET", route)


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
    return _get_by_ids(
        config, transport, "/username", user_ids, list[UserName], timeout
    )


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
    if description is not None and (
        not isinstance(description, str) or len(description) > MAX_DESCRIPTION_LENGTH
    ):
        raise InvalidInputError(
            f"description must be a str of at most {MAX_DESCRIPTION_LENGTH} characters"
        )
    body = {"description": description} if description is not None else None
    data = _call(config, transport, "POST", "/user/token", body=body, timeout=timeout)
    from .config import token_problem

    if token_problem(data) is not None:
        raise ResponseFormatError(
            "POST /user/token: the answer is not a token string",
            url=api_url(config.server_address, "/user/token"),
        )
    return data  # type: ignore[no-any-return]


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
    tid = validate_id(token_id, "token_id")
    route = f"/user/token/{tid}"
    data = _call(config, transport, "DELETE", route, timeout=timeout)
    if data != "success":
        raise ResponseFormatError(
            f'DELETE {route}: expected "success", got another answer',
            url=api_url(config.server_address, route),
        )
