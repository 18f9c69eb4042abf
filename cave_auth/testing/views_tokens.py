"""JSON views of the fake server about API keys and login-style tokens.

This module does no I/O. It answers ``/user/token`` (list, create),
``/user/token/<id>`` (delete), ``/user/token/<key>/ttl``, ``/create_token``,
``/refresh_token``, ``/logout`` and ``/logout_all``, as recorded in sections 2,
8, 9, 10, 11 and 18 of ``middle_auth-api.md`` and 20 and 42 of
``middle_auth-admin-api.md``: a refresh replaces the only key (400 with two or
more), a description the database refuses answers 500 and still leaves a
working unlisted token, ``/logout`` ends a login-style token but answers 422
for an API key, ``/logout_all`` ends every login-style token of the caller and
keeps the API keys, and a TTL is ``-1`` for an API key, the seconds left for a
login-style token, and a JSON 404 for anyone else's token.

Every view is a function ``(backend, req, caller, params) -> AppResponse``:
the server's ``Backend``, the ``AppRequest``, the ``Caller`` its guard let
through, and the path parameters of the matched route (``{"id": "2"}``). A
view of an open route takes no caller. The route table of
:mod:`~cave_auth.testing.routing` says which path, method and guard lead here.
"""

from __future__ import annotations

import json
import secrets

from .backend import Backend
from .guards import Caller
from .messages import (
    JSON,
    AppRequest,
    AppResponse,
    error_page,
    http_date,
    jsonify,
    now,
    text,
)


def list_tokens(
    backend: Backend, req: AppRequest, caller: Caller, params: dict[str, str]
) -> AppResponse:
    """``GET /user/token``: the caller's API keys, newest first."""
    keys = sorted(
        (k for k in backend.keys.values() if k.user_id == caller.user.id),
        key=lambda k: -k.id,
    )
    return jsonify(
        200,
        [
            {
                "created": http_date(k.created),
                "description": k.description,
                "id": k.id,
                "last_used": http_date(k.last_used),
                "token": k.token,
                "updated": http_date(k.updated or k.created),
                "user_id": k.user_id,
            }
            for k in keys
        ],
    )


def create_token(
    backend: Backend, req: AppRequest, caller: Caller, params: dict[str, str]
) -> AppResponse:
    """``POST /user/token`` and ``GET /create_token``."""
    data: object = None
    mimetype = req.headers.get("content-type", "").split(";")[0].strip().lower()
    if mimetype == JSON or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    ):
        try:
            data = json.loads(req.body)
        except ValueError:
            data = None
    data = data or {}
    if not isinstance(data, dict):
        return error_page(500)  # "'list' object has no attribute 'get'"
    token, stored = backend.new_key(caller.user.id, data.get("description"))
    return jsonify(200, token) if stored else error_page(500)


def delete_token(
    backend: Backend, req: AppRequest, caller: Caller, params: dict[str, str]
) -> AppResponse:
    """``DELETE /user/token/<id>``: only the caller's own keys."""
    key = backend.keys.get(int(params["id"]))
    if key is None or key.user_id != caller.user.id:
        return text(404, "Token doesn't exist")
    del backend.keys[key.id]
    return jsonify(200, "success")


def refresh_token(
    backend: Backend, req: AppRequest, caller: Caller, params: dict[str, str]
) -> AppResponse:
    """``GET /refresh_token``: replace the only key, or make a first one."""
    keys = [k for k in backend.keys.values() if k.user_id == caller.user.id]
    if len(keys) > 1:
        return text(
            400,
            "Refresh token does not work for accounts with more than one API Key",
        )
    if keys:
        keys[0].token = secrets.token_hex(16)
        keys[0].updated = now()
        return jsonify(200, keys[0].token)
    token, stored = backend.new_key(caller.user.id, None)
    return jsonify(200, token) if stored else error_page(500)


def logout(
    backend: Backend, req: AppRequest, caller: Caller, params: dict[str, str]
) -> AppResponse:
    """``GET /logout``: ends a login-style token; API keys get 422."""
    if caller.key is not None:
        return text(422, "Can't logout an API Key.")
    backend.end_login_token(caller.token)
    return jsonify(200, "success")


def logout_all(
    backend: Backend, req: AppRequest, caller: Caller, params: dict[str, str]
) -> AppResponse:
    """``GET /logout_all``: ends every login-style token of the caller."""
    for token, user_id in list(backend.login_tokens.items()):
        if user_id == caller.user.id and token in backend.login_expiry:
            backend.end_login_token(token)
    return jsonify(200, "success")


def token_ttl(
    backend: Backend, req: AppRequest, caller: Caller, params: dict[str, str]
) -> AppResponse:
    """``GET /user/token/<key>/ttl``: -1, the seconds left, or a JSON 404."""
    asked = params["key"]
    if any(
        k.token == asked and k.user_id == caller.user.id for k in backend.keys.values()
    ):
        return jsonify(200, -1)
    if backend.live_login_user(asked) == caller.user.id:
        seconds = backend.login_ttl(asked)
        return jsonify(200, -1 if seconds is None else seconds)
    return jsonify(
        404,
        {
            "error": "invalid_token",
            "message": "Token does not exist or is not asociated with your account.",
        },
    )
