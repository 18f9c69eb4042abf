"""The decision a CAVE service makes about one request, as a value.

This module does no I/O. :func:`evaluate` is a generator that walks the same
branches as ``middle_auth_client`` 3.19.2's decorators: whenever it needs a
fact only the auth server knows (the user behind a token, the dataset of a
table, whether a root is public, a fresh copy of a user after a denial) it
*yields* a ``Need`` and expects the answer to be sent back; when it is
done it *returns* an :class:`Allow`, a :class:`Deny` or a :class:`Redirect`.
The caller owns the I/O and the caching (:class:`~cave_auth.service.Checker`
does both); :func:`decide` runs the generator against a mapping of answers
known in advance, which is what tests and the pure benchmark use.

What a request carries is a :class:`Request`: method, headers, query, cookies,
the view's path parameters, and the URL and body, which may be given as
functions because only a redirect needs the URL and only a public-roots
check needs the body. What a route demands is a :class:`Rule`, built once
when the route is decorated; what the service is configured with is a
:class:`Settings`.

Reproduced exactly (see ``middle_auth_client-behaviour.md``): the token
precedence (``Authorization`` header over the query parameter over the
cookie), the programmatic/browser split (``X-Requested-With``,
``Authorization`` or ``Origin``; a WebSocket handshake is always
programmatic), the 302s to the sticky login page and to
the terms-of-service form, the query-token redirect that moves the token into
a ``Secure; HttpOnly`` cookie (its URL re-encoded as ``furl`` does), the
public-access rules, and every JSON body byte for byte as ``flask.jsonify``
renders it (sorted keys, compact separators, ASCII, a trailing newline).

Deliberately different, because these are defects: a missing or malformed
public-roots body, or an unusable answer to a public lookup, means "not
public" instead of a 500; a group denial refreshes the user and checks again
(``middle_auth_client`` only drops the cache entry, and answers 500 after 20
denials); a token is never in a repr; a token over
:data:`~cave_auth.service.values.MAX_TOKEN_LENGTH` characters is invalid
without a lookup (``middle_auth_client`` asks, and the server's nginx
answers 400, which it reads as an invalid token too); the cookie does not
authenticate a WebSocket handshake from another origin (see
:meth:`Settings.trusts_origin`).
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import quote

import attrs

from .._drive import drive
from .rendering import jsonify_bytes, strip_query_token
from .values import (
    ANONYMOUS_USER,
    APPLICATION_JSON,
    DISABLED_USER,
    MAX_TOKEN_LENGTH,
    TEXT_HTML,
    Allow,
    DatasetNeed,
    Decision,
    Deny,
    Need,
    PublicNeed,
    Redirect,
    RefreshNeed,
    UserNeed,
)

if TYPE_CHECKING:
    from .values import Request, Rule, Settings

__all__ = [
    "PERMISSIONS_KEY",
    "PERMISSIONS_KEY_IGNORE_TOS",
    "ask_public",
    "bearer_token",
    "decide",
    "evaluate",
    "has_permission",
    "unavailable",
]

PERMISSIONS_KEY = "permissions_v2"
PERMISSIONS_KEY_IGNORE_TOS = "permissions_v2_ignore_tos"


def _deny(
    status: int,
    error: str,
    message: str,
    data: Mapping[str, Any] | None = None,
    headers: tuple[tuple[str, str], ...] = (),
) -> Deny:
    body: dict[str, Any] = {"error": error, "message": message}
    if data is not None:
        body["data"] = data
    return Deny(status, jsonify_bytes(body), APPLICATION_JSON, headers, body)


def _text(status: int, text: str) -> Deny:
    return Deny(status, text.encode(), TEXT_HTML)


def unavailable(settings: Settings) -> Deny:
    """The 503 answered when the auth service cannot be asked.

    Args:
        settings: The service settings (for the auth service's URL).

    Returns:
        A JSON 503 naming the auth service; it is never cached.
    """
    return _deny(
        503,
        "auth_service_unavailable",
        f"Service Unavailable - the auth service at {settings.auth_url} "
        "could not be reached; try again",
        headers=(("Retry-After", "1"),),
    )


def has_permission(
    auth_user: Mapping[str, Any],
    dataset: Any,
    permission: Any,
    ignore_tos: bool = False,
) -> bool:
    """Whether a ``/user/cache`` record grants a permission on a dataset.

    Args:
        auth_user: The record.
        dataset: The dataset name.
        permission: The permission, e.g. ``"view"``.
        ignore_tos: Count permissions whose terms of service are not yet
            accepted (falls back to the normal ones on an old record).

    Returns:
        Whether it is granted.
    """
    key = (
        PERMISSIONS_KEY_IGNORE_TOS
        if ignore_tos and PERMISSIONS_KEY_IGNORE_TOS in auth_user
        else PERMISSIONS_KEY
    )
    return permission in auth_user.get(key, {}).get(dataset, [])


def bearer_token(authorization: str) -> str | None:
    """Return the token of an ``Authorization`` header, read as middle_auth_client does.

    Args:
        authorization: The header's value.

    Returns:
        The word after ``Bearer`` (empty when the value is ``Bearer`` and a
        space, or has two spaces there); ``None`` when the value does not
        begin with ``Bearer`` and a space.
    """
    if not authorization.startswith("Bearer "):
        return None
    return authorization.split(" ")[1]


Step: TypeAlias = Generator[Need, Any, Decision]

_UNSET: Any = object()


class _Public:
    """The lazy public-access check of one request (``g.public_access``)."""

    __slots__ = ("request", "rule", "value")

    def __init__(self, request: Request, rule: Rule) -> None:
        self.request = request
        self.rule = rule
        self.value: Any = _UNSET

    def ask(self) -> Generator[Need, Any, bool | None]:
        if self.value is _UNSET:
            answer = yield from self._lookup()
            if answer is not None:
                self.value = answer
            return answer
        return self.value  # type: ignore[no-any-return]

    def cached(self) -> bool | None:
        return None if self.value is _UNSET else bool(self.value)

    def _lookup(self) -> Generator[Need, Any, bool | None]:
        rule, params = self.rule, self.request.path_params
        token = rule.service_token
        if not rule.allows_public or token is None:
            return False
        table = params.get(rule.public_table_key) if rule.public_table_key else None
        if rule.public_node_key is not None:
            root = params.get(rule.public_node_key)
            if root is None:
                return False
            return bool((yield PublicNeed("root", table, root, token)))
        if rule.public_node_json_key is not None:
            body = self.request.json()
            if not body or not isinstance(body, dict):
                return None
            try:
                roots = frozenset(body.get(rule.public_node_json_key))  # type: ignore[arg-type]
            except TypeError:
                return False
            if not roots:
                return False
            return bool((yield PublicNeed("roots", table, roots, token)))
        if rule.public_table_key is not None:
            return bool((yield PublicNeed("table", table, None, token)))
        return False


def ask_public(request: Request, rule: Rule) -> Generator[Need, Any, bool | None]:
    """Walk the public-access check alone (what ``g.public_access()`` does).

    Args:
        request: What the request carries.
        rule: What the route demands.

    Yields:
        A :class:`~cave_auth.service.PublicNeed`, if one is needed.

    Returns:
        Whether the resource is public; ``None`` when the body names no roots.
    """
    return (yield from _Public(request, rule).ask())


def _realm(settings: Settings, extra: str = "") -> tuple[tuple[str, str], ...]:
    return (("WWW-Authenticate", f'Bearer realm="{settings.authorize_url}"{extra}'),)


def evaluate(
    request: Request,
    rule: Rule,
    settings: Settings,
    *,
    authenticated: tuple[Mapping[str, Any], str | None] | None = None,
    check_options: bool = False,
) -> Step:
    """Walk the checks of one request, yielding each fact it needs.

    Args:
        request: What the request carries.
        rule: What the route demands.
        settings: The service settings.
        authenticated: ``(user, token)`` when an outer check already
            authenticated the request (stacked decorators): only the rule's
            own condition is checked.
        check_options: Check an ``OPTIONS`` request like any other. By
            default it is an unchecked ``Allow(None)``, as
            ``middle_auth_client`` lets it through inside Flask (which
            answers it without running the view unless the view lists it);
            the WSGI and ASGI middlewares decide about ``OPTIONS`` before
            they check, and check what they hand on.

    Yields:
        A ``Need``; send back its answer.

    Returns:
        The decision.
    """
    if request.method == "OPTIONS" and not check_options:
        return Allow(None)
    if settings.disabled:
        return Allow(DISABLED_USER, "AUTH_DISABLED")
    public = _Public(request, rule)
    if authenticated is None:
        outcome = yield from _authenticate(request, settings, public)
        if not isinstance(outcome, tuple):
            return outcome
        user, token = outcome
    else:
        user, token = authenticated
    known = [user]
    decision = yield from _check_rule(request, rule, settings, public, known, token)
    return _known(decision, known[0], token)


def _known(decision: Decision, user: Mapping[str, Any], token: str | None) -> Decision:
    if isinstance(decision, Allow):
        return decision
    return attrs.evolve(decision, user=user, token=token)


def _check_rule(
    request: Request,
    rule: Rule,
    settings: Settings,
    public: _Public,
    known: list[Mapping[str, Any]],
    token: str | None,
) -> Step:
    user = known[0]
    if rule.kind == "login":
        return Allow(user, token, public.cached())
    if rule.kind == "admin":
        if not user.get("admin"):
            return _text(403, "Requires superadmin privilege.")
        return Allow(user, token, public.cached())
    if rule.kind == "group":
        if rule.group not in user.get("groups", ()):
            fresh = (yield RefreshNeed(token)) if token else None
            if not fresh or rule.group not in fresh.get("groups", ()):
                return _text(403, f"Requires membership of group: {rule.group}")
            user = fresh
        return Allow(user, token, public.cached())
    dataset = rule.dataset
    if dataset is None:
        table_id = rule.table_id
        if table_id is None:
            table_id = request.path_params.get(rule.table_arg)
        if table_id is None:
            return _deny(400, "missing_table_id", "Missing table_id")
        namespace = rule.resource_namespace or settings.service_namespace
        lookup_token = rule.service_token or settings.service_token or token
        dataset = yield DatasetNeed(namespace, table_id, lookup_token)
        if dataset is None:
            return _deny(
                400,
                "invalid_table_id",
                "Invalid table_id for service",
                {"table_id": table_id, "resource_namespace": namespace},
            )
    if rule.kind == "dataset_admin":
        if dataset in user.get("datasets_admin", ()):
            return Allow(user, token, public.cached())
        return _deny(
            403,
            "missing_role",
            f"Missing role: dataset_admin for dataset {dataset}",
            {"required_role": "dataset_admin", "auth_dataset": dataset},
        )
    return (
        yield from _authorize(request, rule, settings, public, known, token, dataset)
    )


def _authenticate(
    request: Request, settings: Settings, public: _Public
) -> Generator[Need, Any, Decision | tuple[Mapping[str, Any], str | None]]:
    headers = request.headers
    name = settings.token_name
    # Header > query > cookie; the query and cookies are read only when no
    # header decides (a framework may parse them on first access).
    query_token = None
    foreign_origin = None
    auth_header = headers.get("authorization")
    if not auth_header:
        query_token = request.query.get(name)
        token = query_token or request.cookies.get(name)
        if token and not query_token:
            foreign_origin = _foreign_socket_origin(request, settings)
            if foreign_origin is not None:
                token = None  # a page elsewhere cannot act with the cookie
    else:
        token = bearer_token(auth_header)
        if token is None:
            return _deny(
                400,
                "bad_auth_header",
                "Authorization header must begin with 'Bearer'",
                headers=_realm(
                    settings,
                    ', error="invalid_request", '
                    "error_description=\"Header must begin with 'Bearer'\"",
                ),
            )
    # The header first: with one, no other header is read (a framework's
    # header mapping may pay for each name it does not hold).
    programmatic = request.programmatic or bool(
        auth_header or headers.get("x-requested-with") or headers.get("origin")
    )
    if programmatic:
        if not token and not (yield from public.ask()):
            if foreign_origin is not None:
                return _deny(
                    403,
                    "foreign_origin",
                    f"Forbidden - a WebSocket opened by a page at {foreign_origin} "
                    f"is not authenticated by the {name} cookie: open it from "
                    f"this service's own pages, send the token as the {name} "
                    "query parameter, or add the origin to the service's "
                    "trusted origins (AUTH_TRUSTED_ORIGINS)",
                    {"origin": foreign_origin},
                )
            return _deny(
                401,
                "no_token",
                "Unauthorized - No Token Provided",
                headers=_realm(settings),
            )
    elif query_token:
        return Redirect(
            strip_query_token(request.full_url(), (name, "token")), (name, query_token)
        )
    # A token longer than any the server issues is invalid without a lookup
    # (see MAX_TOKEN_LENGTH); it takes the invalid token's path from here.
    if token and len(token) <= MAX_TOKEN_LENGTH:
        user = yield UserNeed(token)
    else:
        user = None
    if user:
        return user, token
    if not (yield from public.ask()):
        if not programmatic:
            return Redirect(
                settings.authorize_url + "?redirect=" + quote(request.full_url())
            )
        return _deny(
            401,
            "invalid_token",
            "Unauthorized - Token is Invalid or Expired",
            headers=_realm(
                settings,
                ', error="invalid_token", error_description="Invalid/Expired Token"',
            ),
        )
    return ANONYMOUS_USER, None


def _foreign_socket_origin(request: Request, settings: Settings) -> str | None:
    """Return the origin of a WebSocket handshake from a page elsewhere, or None.

    A browser sends the cookie with a WebSocket handshake whatever page opens
    it, and a WebSocket has no CORS to stop that page reading the answers: so
    the cookie must not authenticate a handshake from another origin
    (cross-site WebSocket hijacking). A handshake without ``Origin`` is not
    from a browser. A token in the header or the query was given on purpose,
    so it is not checked here.
    """
    headers = request.headers
    if not (request.websocket or headers.get("upgrade", "").lower() == "websocket"):
        return None
    origin = headers.get("origin")
    if origin is None or settings.trusts_origin(origin, headers.get("host")):
        return None
    return origin[:200]


def _authorize(
    request: Request,
    rule: Rule,
    settings: Settings,
    public: _Public,
    known: list[Mapping[str, Any]],
    token: str | None,
    dataset: Any,
) -> Step:
    user = known[0]
    permission = rule.permission
    if has_permission(user, dataset, permission, rule.ignore_tos) or (
        yield from public.ask()
    ):
        return Allow(user, token, public.cached())
    if token:
        fresh = yield RefreshNeed(token)
        if fresh:
            user = known[0] = fresh
            if has_permission(user, dataset, permission, rule.ignore_tos):
                return Allow(user, token, public.cached())
    relevant = [
        tos
        for tos in user.get("missing_tos", ())
        if isinstance(tos, Mapping) and tos.get("dataset_name") == dataset
    ]
    if relevant and (
        PERMISSIONS_KEY_IGNORE_TOS not in user
        or has_permission(user, dataset, permission, ignore_tos=True)
    ):
        tos = relevant[0]
        form = f"{settings.sticky_auth_url}/api/v1/tos/{tos.get('tos_id')}/accept"
        headers = request.headers
        if (
            request.programmatic
            or headers.get("authorization")
            or headers.get("x-requested-with")
            or headers.get("origin")
        ):
            return _deny(
                403,
                "missing_tos",
                "Need to accept Terms of Service to access resource.",
                {
                    "tos_id": tos.get("tos_id"),
                    "tos_name": tos.get("tos_name"),
                    "tos_form_url": form,
                },
            )
        return Redirect(form + "?redirect=" + quote(request.full_url()))
    return _deny(
        403,
        "missing_permission",
        f"Missing permission: {permission} for dataset {dataset}",
        {"required_permission": permission, "auth_dataset": dataset},
    )


def decide(
    request: Request,
    rule: Rule,
    settings: Settings,
    facts: Mapping[Any, Any] | None = None,
    *,
    authenticated: tuple[Mapping[str, Any], str | None] | None = None,
    check_options: bool = False,
) -> Decision | Need:
    """Run :func:`evaluate` against answers known in advance.

    Args:
        request: What the request carries.
        rule: What the route demands.
        settings: The service settings.
        facts: Answers by ``Need`` (needs are hashable values).
        authenticated: As for :func:`evaluate`.
        check_options: As for :func:`evaluate`.

    Returns:
        The decision, or the first need ``facts`` has no answer for.
    """
    known = facts or {}

    def answer(need: Need) -> Any:
        if need not in known:
            raise _Unanswered(need)
        return known[need]

    steps = evaluate(
        request,
        rule,
        settings,
        authenticated=authenticated,
        check_options=check_options,
    )
    try:
        return drive(steps, answer)
    except _Unanswered as unanswered:
        return unanswered.need


class _Unanswered(Exception):
    """A need :func:`decide` was given no answer for; it ends the walk."""

    def __init__(self, need: Need) -> None:
        self.need = need
