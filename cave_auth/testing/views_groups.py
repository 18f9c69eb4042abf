"""JSON views of the fake server about groups, service accounts and datasets.

This module does no I/O. It answers ``/group/<id>``, ``/group/<id>/user``,
``/group/<id>/service_account`` and ``/service_account/<id>`` (sections 4 and
18 of the reference), and the ``/tosdemo/<datastack>/view|edit`` routes: the
permission check a downstream CAVE service makes with middle_auth_client
(section 17), which answers 403 ``missing_tos`` with the form URL when a
dataset's Terms of Service stand between the caller and the permission.

Every view is a function ``(backend, req, caller, params) -> AppResponse``:
the server's ``Backend``, the ``AppRequest``, the ``Caller`` its guard let
through, and the path parameters of the matched route (``{"id": "2"}``). A
view of an open route takes no caller. The route table of
:mod:`~cave_auth.testing.routing` says which path, method and guard lead here.
"""

from __future__ import annotations

from urllib.parse import quote

from .backend import Backend
from .guards import Caller
from .messages import AppRequest, AppResponse, jsonify, redirect, text
from .seed import FakeUser


def group(
    backend: Backend, req: AppRequest, caller: Caller, params: dict[str, str]
) -> AppResponse:
    """``GET /group/<id>``."""
    group = backend.groups.get(int(params["id"]))
    if group is None:
        return text(404, "Group doesn't exist")
    return jsonify(200, {"id": group.id, "name": group.name})


def _members(
    backend: Backend, group_id: int, *, service_accounts: bool
) -> list[tuple[FakeUser, bool]]:
    """Members of a group (normal users or service accounts) with admin flag."""
    found: dict[int, tuple[FakeUser, bool]] = {}
    for m in backend.memberships:
        user = backend.users.get(m.user_id)
        if m.group_id != group_id or user is None:
            continue
        if (user.parent_id is not None) == service_accounts:
            found[user.id] = (user, m.admin)
    return [found[k] for k in sorted(found)]


def group_users(
    backend: Backend, req: AppRequest, caller: Caller, params: dict[str, str]
) -> AppResponse:
    """``GET /group/<id>/user``: raw names, ``[]`` for an unknown group."""
    members = _members(backend, int(params["id"]), service_accounts=False)
    return jsonify(
        200, [{"admin": admin, "id": u.id, "name": u.name} for u, admin in members]
    )


def group_service_accounts(
    backend: Backend, req: AppRequest, caller: Caller, params: dict[str, str]
) -> AppResponse:
    """``GET /group/<id>/service_account``."""
    members = _members(backend, int(params["id"]), service_accounts=True)
    return jsonify(200, [{"id": u.id, "name": u.name} for u, _admin in members])


def service_account(
    backend: Backend, req: AppRequest, caller: Caller, params: dict[str, str]
) -> AppResponse:
    """``GET /service_account/<id>`` (superadmin only)."""
    user = backend.users.get(int(params["id"]))
    if user is None or user.parent_id is None:
        return text(404, "Service account doesn't exist")
    return jsonify(200, backend.user_dict(user, full=True))


def tosdemo(
    backend: Backend, req: AppRequest, caller: Caller, params: dict[str, str]
) -> AppResponse:
    """``/tosdemo/<datastack>/view|edit``: middle_auth_client's permission check.

    This is what a downstream CAVE service answers (reference section 17), so
    the responses carry no CORS headers.
    """
    name, permission = params["datastack"], params["permission"]
    if not any(d.name == name for d in backend.datasets):
        return _no_cors(
            jsonify(
                400,
                {
                    "data": {
                        "auth_dataset": None,
                        "resource_namespace": "datastack",
                        "table_id": name,
                    },
                    "error": "invalid_table_id",
                    "message": "Invalid table_id for service",
                },
            )
        )
    cache = backend.cache(caller.user)
    if permission in cache["permissions_v2"].get(name, []):
        return _no_cors(
            jsonify(
                200,
                {
                    "datastack": name,
                    "ok": True,
                    "permission": permission,
                    "user_id": caller.user.id,
                },
            )
        )
    relevant = [
        t
        for t in cache["missing_tos"]
        if t["dataset_name"] == name
        and permission in cache["permissions_v2_ignore_tos"].get(name, [])
    ]
    if relevant:
        form = f"https://{backend.sticky_url}/api/v1/tos/{relevant[0]['tos_id']}/accept"
        if not req.programmatic:
            return _no_cors(redirect(f"{form}?redirect={quote(req.url)}"))
        return _no_cors(
            jsonify(
                403,
                {
                    "data": {
                        "tos_form_url": form,
                        "tos_id": relevant[0]["tos_id"],
                        "tos_name": relevant[0]["tos_name"],
                    },
                    "error": "missing_tos",
                    "message": ("Need to accept Terms of Service to access resource."),
                },
            )
        )
    return _no_cors(
        jsonify(
            403,
            {
                "data": {"auth_dataset": name, "required_permission": permission},
                "error": "missing_permission",
                "message": f"Missing permission: {permission} for dataset {name}",
            },
        )
    )


def _no_cors(response: AppResponse) -> AppResponse:
    """Mark a response as coming from an app without flask-cors."""
    response.cors = False
    return response
