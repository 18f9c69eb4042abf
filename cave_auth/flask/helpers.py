"""The helpers a view calls itself, as in ``middle_auth_client``.

Dataset of a table, public roots and tables, a permission of ``g.auth_user``,
a group shared with another user, and user names: answered through the
current app's checker and cache (or its transport, for names), with the
exceptions ``middle_auth_client`` raises. And :func:`make_api_error`, the JSON
error answer of ``middle_auth_client`` 3.18.1, which services import.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

import attrs
import flask

from ..errors import AuthenticationError, CaveAuthError, PermissionDeniedError
from ..service.decision import has_permission
from ..service.lookups import AuthServiceUnavailable
from ..service.values import DatasetNeed, PublicNeed
from .state import current

__all__ = [
    "AuthorizationError",
    "are_roots_public",
    "dataset_from_table_id",
    "get_usernames",
    "has_permission",
    "is_root_public",
    "make_api_error",
    "table_has_public",
    "user_has_permission",
    "users_share_common_group",
]


class AuthorizationError(CaveAuthError):
    """The auth server refused a lookup (401/403), as in ``middle_auth_client``."""


def make_api_error(
    http_status: int, api_code: str, msg: str | None = None, data: Any = None
) -> flask.Response:
    """Return a JSON error answer, as ``middle_auth_client`` 3.18.1's does.

    The body is ``{"error": api_code, "message": msg, "data": data}``, rendered
    by ``flask.jsonify``; ``message`` and ``data`` are left out when ``None``.

    Args:
        http_status: The status code of the answer.
        api_code: The error code, e.g. ``"missing_permission"``.
        msg: A message for people.
        data: Any JSON value with details.

    Returns:
        The response.
    """
    body: dict[str, Any] = {"error": api_code}
    if msg is not None:
        body["message"] = msg
    if data is not None:
        body["data"] = data
    response = flask.jsonify(body)
    response.status_code = http_status
    return response


def _service_token(service_token: str | None) -> str:
    return service_token or flask.current_app.config.get("AUTH_TOKEN", "") or ""


def dataset_from_table_id(service_namespace: str, table_id: Any, token: str) -> str:
    """Return the dataset a service table belongs to (cached).

    Args:
        service_namespace: E.g. ``"datastack"``.
        table_id: The table.
        token: The token to ask with.

    Returns:
        The dataset name (``DEBUG_OVERRIDE_DATASET_LOOKUP`` if set).

    Raises:
        TypeError: If ``token`` is None.
        RuntimeError: If the lookup fails.
    """
    state = current()
    if state.dataset_override is not None:
        return state.dataset_override
    if token is None:
        raise TypeError("dataset_from_table_id needs a token")
    try:
        dataset = state.checker.answer(DatasetNeed(service_namespace, table_id, token))
    except AuthServiceUnavailable as error:
        raise RuntimeError(str(error)) from None
    if dataset is None:
        raise RuntimeError(
            f"failed to lookup dataset for service {service_namespace} "
            f"& table_id: {table_id}"
        )
    return cast(str, dataset)


def _public(kind: str, table_id: Any, subject: Any, token: str) -> bool:
    state = current()
    if state.settings.disabled:
        return True
    if token is None:
        raise TypeError("a token is needed")
    try:
        answer = state.checker.answer(
            PublicNeed(kind, table_id, subject, token)  # type: ignore[arg-type]
        )
    except AuthServiceUnavailable as error:
        raise RuntimeError(str(error)) from None
    if answer is None:
        raise RuntimeError(f"{kind} public request failed")
    return bool(answer)


def is_root_public(table_id: Any, root_id: Any, token: str) -> bool:
    """Whether a root is public (cached; ``True`` when auth is disabled).

    Args:
        table_id: The table.
        root_id: The root; ``None`` answers ``False`` without a lookup.
        token: The token to ask with.

    Returns:
        The answer.

    Raises:
        RuntimeError: If the lookup fails.
    """
    if root_id is None:
        return False
    return _public("root", table_id, root_id, token)


def are_roots_public(table_id: Any, root_ids: frozenset[Any], token: str) -> bool:
    """Whether all roots are public (cached; ``True`` when auth is disabled).

    Args:
        table_id: The table.
        root_ids: A frozenset; anything else, or an empty one, is ``False``.
        token: The token to ask with.

    Returns:
        The answer.

    Raises:
        TypeError: If ``root_ids`` is not hashable (e.g. a list).
        RuntimeError: If the lookup fails.
    """
    hash(root_ids)
    if type(root_ids) is not frozenset or not root_ids:
        return False
    return _public("roots", table_id, root_ids, token)


def table_has_public(table_id: Any, token: str) -> bool:
    """Whether a table has public roots (cached; ``True`` when auth is disabled).

    Args:
        table_id: The table.
        token: The token to ask with.

    Returns:
        The answer.

    Raises:
        RuntimeError: If the lookup fails.
    """
    return _public("table", table_id, None, token)


def user_has_permission(
    permission: str,
    table_id: Any,
    resource_namespace: str,
    service_token: str | None = None,
    ignore_tos: bool = False,
) -> bool:
    """Whether ``g.auth_user`` has a permission on a table's dataset.

    Args:
        permission: E.g. ``"view"``.
        table_id: The table.
        resource_namespace: The namespace of the table lookup.
        service_token: The token for the lookup; else config ``AUTH_TOKEN``.
        ignore_tos: Count permissions whose terms of service are not accepted.

    Returns:
        The answer; ``False`` (logged) if the table lookup fails.
    """
    if current().settings.disabled:
        return True
    try:
        dataset = dataset_from_table_id(
            resource_namespace, table_id, _service_token(service_token)
        )
    except RuntimeError:
        flask.current_app.logger.error(
            "Failed to lookup dataset for table_id %s in resource_namespace %s, "
            "denying permission %s",
            table_id,
            resource_namespace,
            permission,
        )
        return False
    return has_permission(flask.g.auth_user, dataset, permission, ignore_tos)


def users_share_common_group(
    user_id: int,
    excluded_groups: Iterable[str] | None = None,
    service_token: str | None = None,
) -> bool:
    """Whether ``g.auth_user`` shares a group with another user.

    Args:
        user_id: The other user.
        excluded_groups: Groups that do not count; else config
            ``AUTH_SHARED_EXCLUDED_GROUPS``.
        service_token: The token for the lookup; else config ``AUTH_TOKEN``.

    Returns:
        The answer.

    Raises:
        RuntimeError: If the other user cannot be looked up.
    """
    excluded = list(
        excluded_groups
        or flask.current_app.config.get("AUTH_SHARED_EXCLUDED_GROUPS", [])
    )
    state = current()
    if state.settings.disabled:
        return True
    token = _service_token(service_token)
    from ..api import get_user_permissions_data

    def load() -> tuple[Any, float | None]:
        config = attrs.evolve(state.lookups.config, token=token)
        data = get_user_permissions_data(config, state.transport, user_id)
        return data, state.checker.cache.ttl

    key = ("user_id", user_id, state.checker.cache.key(token))
    try:
        target = state.checker.cache.get_or_load(key, load) if token else None
    except CaveAuthError:
        target = None
    if not target:
        raise RuntimeError("user_data lookup request failed")
    mine = flask.g.auth_user["groups"]
    theirs = target.get("groups", [])
    return any(g in theirs and g not in excluded for g in mine)


def get_usernames(user_ids: Iterable[int], token: str | None = None) -> list[str]:
    """Return the public names of users, in the order of ``user_ids``.

    Args:
        user_ids: The ids; none answers ``[]`` without a lookup.
        token: The token to ask with.

    Returns:
        The names.

    Raises:
        ValueError: If ``token`` is None.
        KeyError: For an unknown id.
        AuthorizationError: If the server refuses the token.
        RuntimeError: For any other failure.
    """
    from ..api import get_usernames as lookup

    state = current()
    if state.settings.disabled:
        return []
    if token is None:
        raise ValueError("missing token")
    ids = list(user_ids)
    if not ids:
        return []
    try:
        config = attrs.evolve(state.lookups.config, token=token)
        names = lookup(config, state.transport, ids, timeout=5)
    except (AuthenticationError, PermissionDeniedError) as error:
        raise AuthorizationError(error.server_message) from None
    except CaveAuthError:
        raise RuntimeError("get_usernames request failed") from None
    by_id = {name.id: name.name for name in names}
    return [by_id[user_id] for user_id in ids]
