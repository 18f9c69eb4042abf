"""The decorators, and the glue between a Flask request and the service core.

Each decorator turns its arguments into a :class:`~cave_auth.service.Rule`;
the guard builds a :class:`~cave_auth.service.Request` from
``flask.request``, lets the app's :class:`~cave_auth.service.Checker`
decide, sets ``flask.g`` (``auth_user``, ``auth_token``, ``public_access``,
``public_access_cache``) as ``middle_auth_client`` does, and renders a
denial or redirect with ``flask.jsonify`` and ``flask.redirect``. Stacked
decorators reuse the outer one's user and token.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar, cast

import flask

from ..service.decision import ask_public
from ..service.lookups import AuthServiceUnavailable
from ..service.values import (
    ANONYMOUS_USER,
    DISABLED_USER,
    Allow,
    Deny,
    Redirect,
    Request,
    Rule,
)
from .state import FlaskAuth, current

__all__ = [
    "auth_required",
    "auth_requires_admin",
    "auth_requires_dataset_admin",
    "auth_requires_group",
    "auth_requires_permission",
]

F = TypeVar("F", bound=Callable[..., Any])


class _OnDemand(Mapping[str, str]):
    """A mapping of the request read only when first asked (args, cookies).

    werkzeug parses the query string and the cookies on first access; most
    checked requests carry an ``Authorization`` header and need neither.
    """

    __slots__ = ("_loaded", "_name", "_request")

    def __init__(self, request: flask.Request, name: str) -> None:
        self._request = request
        self._name = name
        self._loaded: Mapping[str, str] | None = None

    def _mapping(self) -> Mapping[str, str]:
        if self._loaded is None:
            self._loaded = getattr(self._request, self._name)
        return self._loaded

    def __getitem__(self, key: str) -> str:
        return self._mapping()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._mapping())

    def __len__(self) -> int:
        return len(self._mapping())


def _request(request: flask.Request, kwargs: Mapping[str, Any]) -> Request:
    return Request(
        request.method,
        lambda: request.url,
        request.headers,  # type: ignore[arg-type]
        _OnDemand(request, "args"),
        _OnDemand(request, "cookies"),
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
        stacked = "auth_token" in g
        if stacked and rule.kind == "login":
            return view(*args, **kwargs)
        app = flask.current_app._get_current_object()  # type: ignore[attr-defined]
        state = current(app)
        settings = state.settings_for(app.config)
        checker = state.checker
        if stacked:
            authenticated = (g.auth_user, g.auth_token)
        else:
            authenticated = None
            g.public_access_cache = None
            g.public_access = _lazy_public(state, request, kwargs, rule)
            # A bearer token this rule allowed before on the same cached
            # record is allowed again without building the request's value.
            found = checker.remembered(
                request.headers.get("authorization"), rule, settings
            )
            if found is not None:
                g.auth_user, g.auth_token = found
                return view(*args, **kwargs)
        decision = checker.check(
            _request(request, kwargs),
            rule,
            settings=settings,
            authenticated=authenticated,
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


def _lazy_public(
    state: FlaskAuth, request: flask.Request, kwargs: Mapping[str, Any], rule: Rule
) -> Callable[[], Any]:
    def public_access() -> Any:
        g = flask.g
        if g.public_access_cache is None:
            try:
                g.public_access_cache = state.checker.run(
                    ask_public(_request(request, kwargs), rule)
                )
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
