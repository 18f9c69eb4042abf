"""A drop-in for ``middle_auth_client``: the same decorators, without globals.

Change ``from middle_auth_client import auth_required`` to
``from cave_auth.flask import auth_required``: the names, signatures,
``flask.g`` fields (``auth_user``, ``auth_token``, ``public_access``,
``public_access_cache``) and answers are those of ``middle_auth_client``
3.19.2, decided by :mod:`cave_auth.service`.

This module is an edge: it reads the environment, once per app, at the
first checked request (never at import): ``AUTH_URL`` (else ``AUTH_URI``,
else ``localhost:5000/auth``; a scheme may be given, ``https://`` is
assumed), ``STICKY_AUTH_URL``, ``TOKEN_NAME``, ``TOKEN_CACHE_MAXSIZE``,
``TOKEN_CACHE_TTL``, ``TOKEN_CACHE_REJECTED_TTL`` (new, default 5 s),
``TOKEN_CACHE_SKIP_LIMIT``, ``TOKEN_CACHE_SKIP_WINDOW_SEC``,
``AUTH_DISABLED``, ``DEBUG_OVERRIDE_DATASET_LOOKUP`` and the CA bundle of
``REQUESTS_CA_BUNDLE``/``SSL_CERT_FILE``. Flask config keys ``AUTH_TOKEN``,
``AUTH_SERVICE_NAMESPACE`` and ``AUTH_SHARED_EXCLUDED_GROUPS`` are read per
request, as before. :func:`init_app` configures an app explicitly instead.
The state (settings, transport, cache) lives in
``app.extensions["cave_auth"]``, so two apps can use two auth servers.

The one process-wide setting left is :func:`setPermissionLookupOverride`,
kept for compatibility; ``init_app(permission_lookup=...)`` is per app.
"""

from __future__ import annotations

import copy
import functools
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar, cast

import attrs
import flask

from .errors import AuthenticationError, CaveAuthError, PermissionDeniedError
from .service.cache import LookupCache, RefreshLimiter
from .service.checker import Checker
from .service.decision import ask_public, has_permission
from .service.lookups import AuthServiceUnavailable, TransportLookups
from .service.values import (
    ANONYMOUS_USER,
    DISABLED_USER,
    Allow,
    DatasetNeed,
    Deny,
    PublicNeed,
    Redirect,
    Request,
    Rule,
    Settings,
    normalize_auth_url,
)
from .transport import Transport

__all__ = [
    "AuthorizationError",
    "FlaskAuth",
    "are_roots_public",
    "auth_required",
    "auth_requires_admin",
    "auth_requires_dataset_admin",
    "auth_requires_group",
    "auth_requires_permission",
    "dataset_from_table_id",
    "get_usernames",
    "has_permission",
    "init_app",
    "is_root_public",
    "setPermissionLookupOverride",
    "table_has_public",
    "user_has_permission",
    "users_share_common_group",
]

EXTENSION = "cave_auth"
F = TypeVar("F", bound=Callable[..., Any])
UserLookup = Callable[[str], Mapping[str, Any] | None]


class AuthorizationError(CaveAuthError):
    """The auth server refused a lookup (401/403), as in ``middle_auth_client``."""


class _Override:
    """The process-wide ``setPermissionLookupOverride`` function, if any."""

    function: UserLookup | None = None


@attrs.define(repr=False)
class FlaskAuth:
    """One app's token checking: settings, transport, cache and checker.

    Attributes:
        settings: The service settings.
        transport: The HTTP transport to the auth service.
        checker: The checker (owning the cache).
        lookups: The lookups through ``transport``.
        dataset_override: ``DEBUG_OVERRIDE_DATASET_LOOKUP``, if set.
        permission_lookup: A per-app replacement of the ``/user/cache``
            lookup.
    """

    settings: Settings
    transport: Transport
    checker: Checker
    lookups: TransportLookups
    dataset_override: str | None = None
    permission_lookup: UserLookup | None = None
    _variants: dict[tuple[Any, Any], Settings] = attrs.field(factory=dict)

    def __repr__(self) -> str:
        return f"FlaskAuth({self.settings!r})"

    def settings_for(self, config: Mapping[str, Any]) -> Settings:
        """Return the settings with this request's ``AUTH_TOKEN`` and namespace.

        Args:
            config: The app's config.

        Returns:
            The settings to decide with.
        """
        key = (config.get("AUTH_TOKEN"), config.get("AUTH_SERVICE_NAMESPACE"))
        found = self._variants.get(key)
        if found is None:
            found = attrs.evolve(
                self.settings,
                service_token=key[0] or None,
                service_namespace=key[1] or "datastack",
            )
            if len(self._variants) < 64:
                self._variants[key] = found
        return found

    def sync_override(self) -> None:
        """Use the per-app or process-wide user lookup override, if any."""
        self.checker.user_lookup = self.permission_lookup or _Override.function


def _flag(value: str | None) -> bool:
    return value == "true"


def init_app(
    app: flask.Flask,
    *,
    auth_url: str,
    sticky_auth_url: str | None = None,
    transport: Transport | None = None,
    **settings: Any,
) -> FlaskAuth:
    """Configure token checking for one app explicitly.

    Args:
        app: The Flask app.
        auth_url: The auth service (``host/auth`` or a full URL).
        sticky_auth_url: Where browsers log in; defaults to ``auth_url``.
        transport: The HTTP transport; a new :class:`~cave_auth.Urllib3Transport`
            if omitted.
        **settings: ``token_name``, ``disabled``, ``cache_maxsize``,
            ``cache_ttl``, ``rejected_ttl``, ``refresh_limit``,
            ``refresh_window``, ``timeout``, ``ca_certs``,
            ``dataset_override``, ``permission_lookup``.

    Returns:
        The app's state, also in ``app.extensions["cave_auth"]``.

    Raises:
        TypeError: For an unknown setting.
    """
    known = {
        "token_name",
        "disabled",
        "cache_maxsize",
        "cache_ttl",
        "rejected_ttl",
        "refresh_limit",
        "refresh_window",
        "timeout",
        "ca_certs",
        "dataset_override",
        "permission_lookup",
    }
    unknown = set(settings) - known
    if unknown:
        raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
    auth_url = normalize_auth_url(auth_url)
    timeout = settings.get("timeout", 5.0)
    if transport is None:
        from .transport import Urllib3Transport

        transport = Urllib3Transport(
            timeout=timeout,
            ca_certs=settings.get("ca_certs"),
            allow_insecure_http=auth_url.startswith("http://"),
        )
    service = Settings(
        auth_url,
        sticky_auth_url or auth_url,
        token_name=settings.get("token_name", "middle_auth_token"),
        disabled=bool(settings.get("disabled", False)),
    )
    lookups = TransportLookups(auth_url, transport, timeout)
    cache = LookupCache(
        maxsize=settings.get("cache_maxsize", 1024),
        ttl=settings.get("cache_ttl", 300.0),
        rejected_ttl=settings.get("rejected_ttl", 5.0),
    )
    refresh = RefreshLimiter(
        limit=settings.get("refresh_limit", 20),
        window=settings.get("refresh_window", 300.0),
    )
    state = FlaskAuth(
        service,
        transport,
        Checker(service, lookups, cache=cache, refresh=refresh),
        lookups,
        dataset_override=settings.get("dataset_override"),
        permission_lookup=settings.get("permission_lookup"),
    )
    app.extensions[EXTENSION] = state
    return state


def _init_from_env(app: flask.Flask, environ: Mapping[str, str]) -> FlaskAuth:
    auth_uri = environ.get("AUTH_URI", "localhost:5000/auth")
    auth_url = environ.get("AUTH_URL", auth_uri)
    return init_app(
        app,
        auth_url=auth_url,
        sticky_auth_url=environ.get("STICKY_AUTH_URL", auth_url),
        token_name=environ.get("TOKEN_NAME", "middle_auth_token"),
        disabled=_flag(environ.get("AUTH_DISABLED", "false")),
        cache_maxsize=int(environ.get("TOKEN_CACHE_MAXSIZE", "1024")),
        cache_ttl=float(environ.get("TOKEN_CACHE_TTL", "300")),
        rejected_ttl=float(environ.get("TOKEN_CACHE_REJECTED_TTL", "5")),
        refresh_limit=int(environ.get("TOKEN_CACHE_SKIP_LIMIT", "20")),
        refresh_window=float(environ.get("TOKEN_CACHE_SKIP_WINDOW_SEC", "300")),
        ca_certs=environ.get("REQUESTS_CA_BUNDLE") or environ.get("SSL_CERT_FILE"),
        dataset_override=environ.get("DEBUG_OVERRIDE_DATASET_LOOKUP"),
    )


def _state() -> FlaskAuth:
    app = flask.current_app._get_current_object()  # type: ignore[attr-defined]
    state = app.extensions.get(EXTENSION)
    if state is None:
        state = _init_from_env(app, os.environ)
    if state.checker.user_lookup is not (state.permission_lookup or _Override.function):
        state.sync_override()
    return cast(FlaskAuth, state)


def setPermissionLookupOverride(func: UserLookup | None) -> None:  # noqa: N802
    """Replace the ``/user/cache`` lookup (and its cache) in every app.

    Args:
        func: A function of a token returning its user record, or a falsy
            value for an invalid token; ``None`` restores the lookup.
    """
    _Override.function = func


def _request(request: flask.Request, kwargs: Mapping[str, Any]) -> Request:
    return Request(
        request.method,
        lambda: request.url,
        request.headers,  # type: ignore[arg-type]
        request.args,
        request.cookies,
        kwargs,
        request.get_data,
    )


def _response(decision: Deny | Redirect) -> flask.Response:
    if isinstance(decision, Deny):
        if decision.data is None:
            return flask.Response(decision.body, decision.status)
        response = flask.jsonify(decision.data)
        response.status_code = decision.status
        for name, value in decision.headers:
            response.headers[name] = value
        return response
    redirect = cast(flask.Response, flask.redirect(decision.location, code=302))
    if decision.cookie is not None:
        name, value = decision.cookie
        redirect.set_cookie(name, value, secure=True, httponly=True)
    return redirect


def _fresh(user: Mapping[str, Any]) -> Mapping[str, Any]:
    if user is ANONYMOUS_USER or user is DISABLED_USER:
        return copy.deepcopy(dict(user))
    return user


def _guard(rule: Rule, view: F) -> F:
    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        request = flask.request._get_current_object()  # type: ignore[attr-defined]
        if request.method == "OPTIONS":
            return view(*args, **kwargs)
        g = flask.g._get_current_object()
        stacked = hasattr(g, "auth_token")
        if stacked and rule.kind == "login":
            return view(*args, **kwargs)
        state = _state()
        settings = state.settings_for(flask.current_app.config)
        checked_request = _request(request, kwargs)
        authenticated = (g.auth_user, g.auth_token) if stacked else None
        if not stacked:
            g.public_access_cache = None
            g.public_access = _lazy_public(state, checked_request, rule)
        decision = state.checker.check(
            checked_request, rule, settings=settings, authenticated=authenticated
        )
        user = decision.user
        if user is not None and not (stacked and user is DISABLED_USER):
            if not stacked or user is not authenticated[0]:  # type: ignore[index]
                g.auth_user = _fresh(user)
            if not stacked:
                g.auth_token = decision.token
        if not isinstance(decision, Allow):
            return _response(decision)
        if not stacked and decision.public is not None:
            g.public_access_cache = decision.public
        return view(*args, **kwargs)

    return cast(F, checked)


def _lazy_public(state: FlaskAuth, request: Request, rule: Rule) -> Callable[[], Any]:
    def public_access() -> Any:
        g = flask.g
        if g.public_access_cache is None:
            try:
                g.public_access_cache = state.checker.run(ask_public(request, rule))
            except AuthServiceUnavailable as error:
                raise RuntimeError(str(error)) from None
        return g.public_access_cache

    return public_access


def auth_required(
    func: F | None = None,
    *,
    required_permission: str | None = None,
    public_table_key: str | None = None,
    public_node_key: str | None = None,
    public_node_json_key: str | None = None,
    service_token: str | None = None,
) -> Any:
    """Require a valid token, or a public resource read with a service token.

    Args:
        func: The view, when used without arguments.
        required_permission: ``"edit"`` turns public access off.
        public_table_key: Path parameter naming the table of a public check.
        public_node_key: Path parameter naming the root of a public check.
        public_node_json_key: JSON body key listing the roots of a public check.
        service_token: The token public checks are made with (public access
            needs one).

    Returns:
        The checked view, or a decorator.
    """
    rule = Rule(
        "login",
        permission=required_permission,
        public_table_key=public_table_key,
        public_node_key=public_node_key,
        public_node_json_key=public_node_json_key,
        service_token=service_token,
    )
    if func is not None:
        return _guard(rule, func)
    return functools.partial(_guard, rule)


def auth_requires_admin(f: F) -> F:
    """Require a superadmin (403 ``Requires superadmin privilege.``).

    Args:
        f: The view.

    Returns:
        The checked view.
    """
    return _guard(Rule("admin"), f)


def auth_requires_dataset_admin(
    service_token: str | None = None,
    dataset: str | None = None,
    table_arg: str = "table_id",
    table_id: Any = None,
    resource_namespace: str | None = None,
) -> Callable[[F], F]:
    """Require an admin of the dataset the table belongs to.

    Args:
        service_token: The token for the table lookup.
        dataset: A fixed dataset instead of a table lookup.
        table_arg: The path parameter holding the table id.
        table_id: A fixed table id.
        resource_namespace: The namespace of the table lookup.

    Returns:
        A decorator.
    """
    rule = Rule(
        "dataset_admin",
        service_token=service_token,
        dataset=dataset,
        table_arg=table_arg,
        table_id=table_id,
        resource_namespace=resource_namespace,
    )
    return functools.partial(_guard, rule)


def auth_requires_permission(
    required_permission: str,
    public_table_key: str | None = None,
    public_node_key: str | None = None,
    public_node_json_key: str | None = None,
    service_token: str | None = None,
    dataset: str | None = None,
    table_arg: str = "table_id",
    table_id: Any = None,
    resource_namespace: str | None = None,
    ignore_tos: bool = False,
) -> Callable[[F], F]:
    """Require a permission on the dataset the table belongs to.

    Args:
        required_permission: E.g. ``"view"`` or ``"edit"``.
        public_table_key: As for :func:`auth_required`.
        public_node_key: As for :func:`auth_required`.
        public_node_json_key: As for :func:`auth_required`.
        service_token: As for :func:`auth_required`; also used for the table
            lookup.
        dataset: A fixed dataset instead of a table lookup.
        table_arg: The path parameter holding the table id.
        table_id: A fixed table id.
        resource_namespace: The namespace of the table lookup.
        ignore_tos: Count permissions whose terms of service are not accepted.

    Returns:
        A decorator.
    """
    rule = Rule(
        "permission",
        permission=required_permission,
        public_table_key=public_table_key,
        public_node_key=public_node_key,
        public_node_json_key=public_node_json_key,
        service_token=service_token,
        dataset=dataset,
        table_arg=table_arg,
        table_id=table_id,
        resource_namespace=resource_namespace,
        ignore_tos=ignore_tos,
    )
    return functools.partial(_guard, rule)


def auth_requires_group(required_group: str) -> Callable[[F], F]:
    """Require membership of a group (403 ``Requires membership of group: …``).

    Args:
        required_group: The group name.

    Returns:
        A decorator.
    """
    return functools.partial(_guard, Rule("group", group=required_group))


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
    state = _state()
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
    state = _state()
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
    if _state().settings.disabled:
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
    state = _state()
    if state.settings.disabled:
        return True
    token = _service_token(service_token)
    from .api import get_user_permissions_data

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
    from .api import get_usernames as lookup

    state = _state()
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
