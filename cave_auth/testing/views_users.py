"""JSON views of the fake server about users and their permissions.

This module does no I/O. It answers ``/version``, ``/user/me``,
``/user/cache``, ``/my_permissions``, ``/user/missing``, ``/user`` (by id,
e-mail, name, creation time, or paged), ``/username``, ``/user/<id>``,
``/user/<id>/group`` and ``/user/<id>/permissions``, with the shapes and status
codes recorded in sections 3, 5, 6, 7, 12, 13, 14 and 16 of the reference.

Every view is a function ``(backend, req, caller, params) -> AppResponse``:
the server's ``Backend``, the ``AppRequest``, the ``Caller`` its guard let
through, and the path parameters of the matched route (``{"id": "2"}``). A
view of an open route takes no caller. The route table of
:mod:`~cave_auth.testing.routing` says which path, method and guard lead here.
"""

from __future__ import annotations

import math
from typing import Final

from .backend import Backend
from .guards import Caller
from .messages import AppRequest, AppResponse, error_page, jsonify, text, utc

_VERSION_TEXT: Final = "neuroglance_auth -- version 2.30.3"


def version(backend: Backend, req: AppRequest, params: dict[str, str]) -> AppResponse:
    """``GET /version``."""
    return text(200, _VERSION_TEXT)


def user_me(
    backend: Backend, req: AppRequest, caller: Caller, params: dict[str, str]
) -> AppResponse:
    """``GET /user/me``."""
    return jsonify(200, backend.user_dict(caller.user, full=True))


def my_permissions(
    backend: Backend, req: AppRequest, caller: Caller, params: dict[str, str]
) -> AppResponse:
    """``GET /my_permissions`` and ``GET /user/cache``."""
    return jsonify(200, backend.cache(caller.user))


def user_missing(
    backend: Backend, req: AppRequest, caller: Caller, params: dict[str, str]
) -> AppResponse:
    """``GET /user/missing``."""
    return jsonify(200, backend.missing_tos(caller.user))


def users_by_filter(
    backend: Backend, req: AppRequest, caller: Caller, params: dict[str, str]
) -> AppResponse:
    """``GET /user``: by ``id``, ``email``, ``name``, ``from``/``to``, or paged."""
    args = req.args
    ordered = sorted(backend.users.values(), key=lambda u: u.id)
    normal = [u for u in ordered if u.parent_id is None]
    if args.get("id"):
        ids = {int(x) for x in args["id"].split(",") if x and x.isdigit()}
        users = [u for u in ordered if u.id in ids]
    elif args.get("email"):
        needle = args["email"].lower()
        users = [u for u in ordered if needle in u.email.lower()]
    elif args.get("name"):
        needle = args["name"].lower()
        users = [u for u in normal if needle in u.name.lower()]
    elif args.get("from") or args.get("to"):
        try:
            low = float(args["from"]) if args.get("from") else -math.inf
            high = float(args["to"]) if args.get("to") else math.inf
        except ValueError:
            return jsonify(200, [])
        users = [u for u in normal if low <= utc(u.created).timestamp() <= high]
    else:
        page = int(args.get("page", "1"))
        per_page = int(args.get("per_page", "20"))
        if page < 1 or per_page < 1:
            return error_page(404)
        items = normal[(page - 1) * per_page : page * per_page]
        if not items and page != 1:
            return error_page(404)
        return jsonify(
            200,
            {
                "items": [backend.user_dict(u) for u in items],
                "pages": math.ceil(len(normal) / per_page),
            },
        )
    full = caller.user.admin or caller.user.parent_id is not None
    return jsonify(200, [backend.user_dict(u, full=full) for u in users])


def usernames(
    backend: Backend, req: AppRequest, caller: Caller, params: dict[str, str]
) -> AppResponse:
    """``GET /username?id=...``: a non-numeric id is an unhandled 500."""
    raw = req.args.get("id")
    ids = {int(x) for x in raw.split(",") if x} if raw else set()
    return jsonify(
        200,
        [
            {"id": u.id, "name": u.custom_name or u.name}
            for u in sorted(backend.users.values(), key=lambda u: u.id)
            if u.id in ids
        ],
    )


def user_by_id(
    backend: Backend, req: AppRequest, caller: Caller, params: dict[str, str]
) -> AppResponse:
    """``GET /user/<id>``: any caller; full record for admins/service accounts."""
    user = backend.normal_user(int(params["id"]))
    if user is None:
        return text(404, "User doesn't exist")
    full = caller.user.admin or caller.user.parent_id is not None
    return jsonify(200, backend.user_dict(user, full=full))


def user_groups(
    backend: Backend, req: AppRequest, caller: Caller, params: dict[str, str]
) -> AppResponse:
    """``GET /user/<id>/group``."""
    user = backend.normal_user(int(params["id"]))
    if user is None:
        return text(404, "User doesn't exist")
    return jsonify(
        200,
        [
            {"id": g, "name": backend.groups[g].name}
            for g in backend.group_ids(user)
            if g in backend.groups
        ],
    )


def user_permissions(
    backend: Backend, req: AppRequest, caller: Caller, params: dict[str, str]
) -> AppResponse:
    """``GET /user/<id>/permissions``."""
    user = backend.normal_user(int(params["id"]))
    if user is None:
        return text(404, "User doesn't exist")
    return jsonify(200, backend.cache(user))
