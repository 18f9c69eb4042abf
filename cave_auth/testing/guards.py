"""The guards a route of the fake server runs behind.

This module does no I/O. A route is open to anyone (``/version``,
``/authorize``) or declares one ``Guard``:

* ``"login"``: middle_auth_client's ``auth_required`` (section 1 of the
  reference): the token comes from the ``middle_auth_token`` cookie, then the
  query parameter of that name, then an ``Authorization: Bearer`` header, the
  later winning. A header with another scheme is a 400 JSON error. Programmatic
  access (an ``Authorization``, ``X-Requested-With`` or ``Origin`` header) gets
  401 JSON errors with ``WWW-Authenticate``; a browser gets a 302 to the sticky
  login page instead, and a token in the query string is moved into a
  ``Secure`` cookie by a 302 to the same URL without it;
* ``"some_admin"``: ``requires_some_admin``, a superadmin, a group admin, a
  dataset admin or a service account (403 ``Requires admin privilege.``);
* ``"superadmin"``: ``auth_requires_admin`` (403 ``Requires superadmin
  privilege.``).

Finding a token's user bumps its API key's ``last_used``, as the real server
does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import parse_qsl, quote, urlencode

from .backend import Backend
from .messages import AppRequest, AppResponse, jsonify, now, redirect, text
from .seed import FakeApiKey, FakeUser

__all__ = [
    "TOKEN_NAME",
    "Caller",
    "Guard",
    "authenticate",
    "check",
    "is_some_admin",
    "lookup",
]

#: The cookie and query parameter that carry a token.
TOKEN_NAME: Final = "middle_auth_token"

Guard = Literal["login", "some_admin", "superadmin"]
"""Who may call a route."""


@dataclass
class Caller:
    """The caller, once ``auth_required`` has let the request through.

    Attributes:
        user: The user the token belongs to.
        token: The token used.
        key: Its API key row, or ``None`` for a login-style token.
    """

    user: FakeUser
    token: str
    key: FakeApiKey | None


def check(guard: Guard, backend: Backend, req: AppRequest) -> Caller | AppResponse:
    """Apply a route's guard.

    Args:
        guard: The guard.
        backend: The server's data.
        req: The request.

    Returns:
        The caller, or the response that refuses the request.
    """
    caller = authenticate(backend, req)
    if isinstance(caller, AppResponse):
        return caller
    if guard == "some_admin" and not is_some_admin(backend, caller.user):
        return text(403, "Requires admin privilege.")
    if guard == "superadmin" and not caller.user.admin:
        return text(403, "Requires superadmin privilege.")
    return caller


def authenticate(backend: Backend, req: AppRequest) -> Caller | AppResponse:
    """middle_auth_client's ``auth_required`` (reference section 1).

    Args:
        backend: The server's data.
        req: The request.

    Returns:
        The caller, or the response that refuses the request.
    """
    realm = f'Bearer realm="https://{backend.sticky_url}/api/v1/authorize"'
    token = req.cookie(TOKEN_NAME)
    query_token = req.args.get(TOKEN_NAME)
    if query_token:
        token = query_token
    header = req.headers.get("authorization")
    if header:
        if not header.startswith("Bearer "):
            error = (
                realm + ', error="invalid_request", '
                "error_description=\"Header must begin with 'Bearer'\""
            )
            return jsonify(
                400,
                {
                    "error": "bad_auth_header",
                    "message": "Authorization header must begin with 'Bearer'",
                },
                [("WWW-Authenticate", error)],
            )
        token = header.split(" ")[1]
    if req.programmatic:
        if not token:
            return jsonify(
                401,
                {"error": "no_token", "message": "Unauthorized - No Token Provided"},
                [("WWW-Authenticate", realm)],
            )
    elif query_token:
        return _move_token_to_cookie(req, query_token)
    found = lookup(backend, token) if token else None
    if found is not None:
        return found
    if not req.programmatic:
        return redirect(
            f"https://{backend.sticky_url}/api/v1/authorize?redirect={quote(req.url)}"
        )
    error = realm + ', error="invalid_token", error_description="Invalid/Expired Token"'
    return jsonify(
        401,
        {
            "error": "invalid_token",
            "message": "Unauthorized - Token is Invalid or Expired",
        },
        [("WWW-Authenticate", error)],
    )


def _move_token_to_cookie(req: AppRequest, query_token: str) -> AppResponse:
    """The 302 that sets the cookie and drops the token from the URL."""
    kept = [
        (k, v)
        for k, v in parse_qsl(req.query, keep_blank_values=True)
        if k not in (TOKEN_NAME, "token")
    ]
    target = req.url.partition("?")[0]
    if kept:
        target += "?" + urlencode(kept)
    response = redirect(target)
    response.headers.append(
        ("Set-Cookie", f"{TOKEN_NAME}={query_token}; Secure; HttpOnly; Path=/")
    )
    return response


def lookup(backend: Backend, token: str) -> Caller | None:
    """Find the user of a token; an API key's ``last_used`` is bumped.

    Args:
        backend: The server's data.
        token: The token.

    Returns:
        The caller, or ``None`` for a token nobody has.
    """
    user_id = backend.live_login_user(token)
    if user_id is not None:
        user = backend.users.get(user_id)
        return Caller(user, token, None) if user else None
    for key in backend.keys.values():
        if key.token == token:
            owner = backend.users.get(key.user_id)
            if owner is None:
                return None
            key.last_used = key.updated = now()
            return Caller(owner, token, key)
    return None


def is_some_admin(backend: Backend, user: FakeUser) -> bool:
    """``requires_some_admin``: superadmin, group or dataset admin, service account.

    Args:
        backend: The server's data.
        user: The caller.

    Returns:
        ``True`` if the user passes.
    """
    return (
        user.admin
        or user.parent_id is not None
        or any(m.admin for m in backend.memberships if m.user_id == user.id)
        or any(user.id in d.admins for d in backend.datasets)
    )
