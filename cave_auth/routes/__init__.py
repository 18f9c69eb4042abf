"""Each route of the auth server, once: its request builder and its parser.

No I/O. A :class:`Route` names a method, a path below ``/auth/api/v1`` and
the result type; :meth:`Route.build` makes the :class:`ApiRequest` and
:meth:`Route.parse` turns the answer into the result or an error. One
function per endpoint (:func:`whoami`, ...) checks its arguments and composes
the two into a *flow*, a generator that yields the request, is sent the
answer and returns the result (as httpx's ``Auth.auth_flow``);
:mod:`cave_auth.api` and :mod:`cave_auth.aio` drive the same flows. A flow
that needs no request (an empty list of ids) returns without yielding.

Statuses: 401 or a redirect to the login page is an
:class:`~cave_auth.AuthenticationError`; 403 ``missing_tos``
:class:`~cave_auth.TermsOfServiceRequired`, another 403
:class:`~cave_auth.PermissionDeniedError`; 404
:class:`~cave_auth.NotFoundError`; 5xx :class:`~cave_auth.ServerError`;
another status of 300 or more :class:`~cave_auth.HTTPError`; a 2xx body that
is not the route's JSON :class:`~cave_auth.ResponseFormatError`. The server's
explanation is kept, trimmed, in ``server_message``, with ``<token>``
wherever it echoes the token. Routes a service asks answer bare JSON,
checked by a :class:`JsonShape`; the TTL route (``middle_auth-admin-api.md``
§42) carries the token in its path and answers ``-1`` (``None``) for an API
key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from ..errors import InvalidInputError, missing_token_error
from ..models import (
    Group,
    GroupMember,
    MissingTermsOfService,
    Permissions,
    TokenInfo,
    User,
    UserName,
)
from ._route import (
    ApiRequest,
    Flow,
    JsonShape,
    Route,
    validate_id,
    validate_ids,
    validate_name,
)
from ._status import ResponseLike, raise_for_response

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from ..config import Config

__all__ = [
    "ARE_ROOTS_PUBLIC",
    "CREATE_TOKEN",
    "DELETE_TOKEN",
    "ENDPOINT_ROUTES",
    "GET_GROUP_USERS",
    "GET_MISSING_TOS",
    "GET_MY_PERMISSIONS",
    "GET_PUBLIC_ROOTS",
    "GET_TABLE_DATASET",
    "GET_TOKENS",
    "GET_TOKEN_TTL",
    "GET_USERNAMES",
    "GET_USER_CACHE",
    "GET_USER_CACHE_DATA",
    "GET_USER_GROUPS",
    "GET_USER_INFORMATION",
    "GET_USER_PERMISSIONS",
    "GET_USER_PERMISSIONS_DATA",
    "IS_ROOT_PUBLIC",
    "LOGOUT",
    "LOGOUT_ALL",
    "MAX_DESCRIPTION_LENGTH",
    "TABLE_HAS_PUBLIC",
    "WHOAMI",
    "ApiRequest",
    "Flow",
    "JsonShape",
    "ResponseLike",
    "Route",
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
    "tos_accept_url",
    "validate_id",
    "validate_ids",
    "validate_name",
    "whoami",
]

T = TypeVar("T")

MAX_DESCRIPTION_LENGTH = 120
"""The longest token description the server can store (``varchar(120)``)."""

GET_TOKENS: Route[list[TokenInfo]] = Route("GET", "/user/token", list[TokenInfo])
GET_USER_INFORMATION: Route[list[User]] = Route("GET", "/user", list[User])
GET_GROUP_USERS: Route[list[GroupMember]] = Route(
    "GET", "/group/{group_id}/user", list[GroupMember]
)
WHOAMI: Route[User] = Route("GET", "/user/me", User)
GET_USER_CACHE: Route[Permissions] = Route("GET", "/user/cache", Permissions)
GET_MY_PERMISSIONS: Route[Permissions] = Route("GET", "/my_permissions", Permissions)
GET_USER_PERMISSIONS: Route[Permissions] = Route(
    "GET", "/user/{user_id}/permissions", Permissions
)
GET_USER_GROUPS: Route[list[Group]] = Route("GET", "/user/{user_id}/group", list[Group])
GET_USERNAMES: Route[list[UserName]] = Route("GET", "/username", list[UserName])
CREATE_TOKEN: Route[str] = Route("POST", "/user/token", str)
DELETE_TOKEN: Route[None] = Route("DELETE", "/user/token/{token_id}", None)
GET_TOKEN_TTL: Route[int] = Route("GET", "/user/token/{token}/ttl", int)
LOGOUT: Route[None] = Route("GET", "/logout", None)
LOGOUT_ALL: Route[None] = Route("GET", "/logout_all", None)
GET_MISSING_TOS: Route[list[MissingTermsOfService]] = Route(
    "GET", "/user/missing", list[MissingTermsOfService]
)


def _is_record(data: Any) -> bool:
    return (
        isinstance(data, dict) and type(data.get("id")) is int  # a bool is no user id
    )


def _is_name(data: Any) -> bool:
    return isinstance(data, str) and data != ""


def _is_bool(data: Any) -> bool:
    return isinstance(data, bool)


def _is_root_list(data: Any) -> bool:
    return isinstance(data, list) and all(type(root) is int for root in data)


_RECORD = JsonShape(
    "a permission record (a JSON object with an integer id)", _is_record
)
_BOOL = JsonShape("true or false", _is_bool)

GET_USER_CACHE_DATA: Route[dict[str, Any]] = Route("GET", "/user/cache", _RECORD)
GET_USER_PERMISSIONS_DATA: Route[dict[str, Any]] = Route(
    "GET", "/user/{user_id}/permissions", _RECORD
)
GET_TABLE_DATASET: Route[str] = Route(
    "GET",
    "/service/{namespace}/table/{table_id}/dataset",
    JsonShape("a dataset name", _is_name),
)
TABLE_HAS_PUBLIC: Route[bool] = Route("GET", "/table/{table_id}/has_public", _BOOL)
GET_PUBLIC_ROOTS: Route[list[int]] = Route(
    "GET",
    "/table/{table_id}/get_public_roots",
    JsonShape("a list of root ids", _is_root_list),
)
IS_ROOT_PUBLIC: Route[bool] = Route(
    "GET", "/table/{table_id}/root/{root_id}/is_public", _BOOL
)
ARE_ROOTS_PUBLIC: Route[bool] = Route(
    "POST", "/table/{table_id}/root_all_public", _BOOL
)

ENDPOINT_ROUTES: Mapping[str, Route[Any]] = {
    "are_roots_public": ARE_ROOTS_PUBLIC,
    "create_token": CREATE_TOKEN,
    "delete_token": DELETE_TOKEN,
    "get_group_users": GET_GROUP_USERS,
    "get_missing_tos": GET_MISSING_TOS,
    "get_my_permissions": GET_MY_PERMISSIONS,
    "get_public_roots": GET_PUBLIC_ROOTS,
    "get_table_dataset": GET_TABLE_DATASET,
    "get_token_ttl": GET_TOKEN_TTL,
    "get_tokens": GET_TOKENS,
    "get_user_cache": GET_USER_CACHE,
    "get_user_cache_data": GET_USER_CACHE_DATA,
    "get_user_groups": GET_USER_GROUPS,
    "get_user_information": GET_USER_INFORMATION,
    "get_user_permissions": GET_USER_PERMISSIONS,
    "get_user_permissions_data": GET_USER_PERMISSIONS_DATA,
    "get_usernames": GET_USERNAMES,
    "is_root_public": IS_ROOT_PUBLIC,
    "logout": LOGOUT,
    "logout_all": LOGOUT_ALL,
    "table_has_public": TABLE_HAS_PUBLIC,
    "whoami": WHOAMI,
}
"""Every route, under the name of its endpoint function (in :mod:`cave_auth.api`)."""


def _by_ids(config: Config, route: Route[list[T]], user_ids: object) -> Flow[list[T]]:
    ids = validate_ids(user_ids, "user_ids")
    if not ids:
        return []
    return (yield from route.exchange(config, params={"id": ",".join(map(str, ids))}))


def get_tokens(config: Config) -> Flow[list[TokenInfo]]:
    """The flow of :func:`cave_auth.api.get_tokens`."""
    return (yield from GET_TOKENS.exchange(config))


def get_user_information(config: Config, user_ids: Iterable[int]) -> Flow[list[User]]:
    """The flow of :func:`cave_auth.api.get_user_information`."""
    return (yield from _by_ids(config, GET_USER_INFORMATION, user_ids))


def get_group_users(config: Config, group_id: int) -> Flow[list[GroupMember]]:
    """The flow of :func:`cave_auth.api.get_group_users`."""
    gid = validate_id(group_id, "group_id")
    return (yield from GET_GROUP_USERS.exchange(config, group_id=gid))


def whoami(config: Config) -> Flow[User]:
    """The flow of :func:`cave_auth.api.whoami`."""
    return (yield from WHOAMI.exchange(config))


def get_user_cache(config: Config) -> Flow[Permissions]:
    """The flow of :func:`cave_auth.api.get_user_cache`."""
    return (yield from GET_USER_CACHE.exchange(config))


def get_my_permissions(config: Config) -> Flow[Permissions]:
    """The flow of :func:`cave_auth.api.get_my_permissions`."""
    return (yield from GET_MY_PERMISSIONS.exchange(config))


def get_user_permissions(config: Config, user_id: int) -> Flow[Permissions]:
    """The flow of :func:`cave_auth.api.get_user_permissions`."""
    uid = validate_id(user_id, "user_id")
    return (yield from GET_USER_PERMISSIONS.exchange(config, user_id=uid))


def get_user_groups(config: Config, user_id: int) -> Flow[list[Group]]:
    """The flow of :func:`cave_auth.api.get_user_groups`."""
    uid = validate_id(user_id, "user_id")
    return (yield from GET_USER_GROUPS.exchange(config, user_id=uid))


def get_usernames(config: Config, user_ids: Iterable[int]) -> Flow[list[UserName]]:
    """The flow of :func:`cave_auth.api.get_usernames`."""
    return (yield from _by_ids(config, GET_USERNAMES, user_ids))


def create_token(config: Config, description: str | None = None) -> Flow[str]:
    """The flow of :func:`cave_auth.api.create_token`."""
    if description is not None and (
        not isinstance(description, str) or len(description) > MAX_DESCRIPTION_LENGTH
    ):
        raise InvalidInputError(
            f"description must be a str of at most {MAX_DESCRIPTION_LENGTH} characters"
        )
    body = {"description": description} if description is not None else None
    return (yield from CREATE_TOKEN.exchange(config, json=body))


def delete_token(config: Config, token_id: int) -> Flow[None]:
    """The flow of :func:`cave_auth.api.delete_token`."""
    tid = validate_id(token_id, "token_id")
    return (yield from DELETE_TOKEN.exchange(config, token_id=tid))


def tos_accept_url(server_address: str, tos_id: int) -> str:
    """Return the page accepting a terms of service: ``.../tos/<id>/accept``."""
    return f"{server_address}/sticky_auth/api/v1/tos/{tos_id}/accept"


def get_token_ttl(config: Config) -> Flow[int | None]:
    """The flow of :func:`cave_auth.api.get_token_ttl`."""
    if config.token is None:
        raise missing_token_error(config)
    ttl = yield from GET_TOKEN_TTL.exchange(config, token=config.token)
    return None if ttl < 0 else ttl


def logout(config: Config) -> Flow[None]:
    """The flow of :func:`cave_auth.api.logout`."""
    return (yield from LOGOUT.exchange(config))


def logout_all(config: Config) -> Flow[None]:
    """The flow of :func:`cave_auth.api.logout_all`."""
    return (yield from LOGOUT_ALL.exchange(config))


def get_missing_tos(config: Config) -> Flow[list[MissingTermsOfService]]:
    """The flow of :func:`cave_auth.api.get_missing_tos`."""
    found = yield from GET_MISSING_TOS.exchange(config)
    return [
        attrs.evolve(
            item, accept_url=tos_accept_url(config.server_address, item.tos_id)
        )
        for item in found
    ]


def get_user_cache_data(config: Config) -> Flow[dict[str, Any]]:
    """The flow of :func:`cave_auth.api.get_user_cache_data`."""
    return (yield from GET_USER_CACHE_DATA.exchange(config))


def get_user_permissions_data(config: Config, user_id: int) -> Flow[dict[str, Any]]:
    """The flow of :func:`cave_auth.api.get_user_permissions_data`."""
    uid = validate_id(user_id, "user_id")
    return (yield from GET_USER_PERMISSIONS_DATA.exchange(config, user_id=uid))


def get_table_dataset(config: Config, namespace: str, table_id: str) -> Flow[str]:
    """The flow of :func:`cave_auth.api.get_table_dataset`."""
    ns = validate_name(namespace, "namespace")
    table = validate_name(table_id, "table_id")
    return (yield from GET_TABLE_DATASET.exchange(config, namespace=ns, table_id=table))


def table_has_public(config: Config, table_id: str) -> Flow[bool]:
    """The flow of :func:`cave_auth.api.table_has_public`."""
    table = validate_name(table_id, "table_id")
    return (yield from TABLE_HAS_PUBLIC.exchange(config, table_id=table))


def get_public_roots(config: Config, table_id: str) -> Flow[list[int]]:
    """The flow of :func:`cave_auth.api.get_public_roots`."""
    table = validate_name(table_id, "table_id")
    return (yield from GET_PUBLIC_ROOTS.exchange(config, table_id=table))


def is_root_public(config: Config, table_id: str, root_id: int) -> Flow[bool]:
    """The flow of :func:`cave_auth.api.is_root_public`."""
    table = validate_name(table_id, "table_id")
    root = validate_id(root_id, "root_id")
    return (yield from IS_ROOT_PUBLIC.exchange(config, table_id=table, root_id=root))


def are_roots_public(
    config: Config, table_id: str, root_ids: Iterable[int]
) -> Flow[bool]:
    """The flow of :func:`cave_auth.api.are_roots_public`."""
    table = validate_name(table_id, "table_id")
    roots = validate_ids(root_ids, "root_ids")
    if not roots:
        return False
    return (yield from ARE_ROOTS_PUBLIC.exchange(config, json=roots, table_id=table))
