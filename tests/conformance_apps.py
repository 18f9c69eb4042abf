"""The conformance routes, mounted under each adapter of cave_auth's service side.

One table (:data:`ROUTES`) lists the routes of the conformance matrix and
the rule each needs; from it come the Flask apps (under
``middle_auth_client``'s or ``cave_auth.flask``'s decorators), a FastAPI app
using :mod:`cave_auth.fastapi`'s dependencies, and a FastAPI app behind
:meth:`AuthASGIMiddleware.from_env <cave_auth.service.asgi.AuthASGIMiddleware.from_env>`
(its route function matches Starlette's routes to find the rule and the
path parameters). Every view answers the same JSON, rendered as
``flask.jsonify`` renders it, so that allowed answers compare byte for byte.
"""

from __future__ import annotations

import re
from typing import Any

import flask
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient
from starlette.responses import Response
from starlette.routing import Match

from cave_auth import fastapi as cafa
from cave_auth.service import Rule
from cave_auth.service.asgi import AuthASGIMiddleware
from cave_auth.service.rendering import jsonify_bytes


class Service:
    """The service token, looked up when a route is built (the server draws it)."""


SERVICE = Service()
PUBLIC_ROOT = {
    "public_table_key": "table_id",
    "public_node_key": "root_id",
    "service_token": SERVICE,
}
GET, POST, GET_OPTIONS = ("GET",), ("POST",), ("GET", "OPTIONS")

ROUTES: list[tuple[str, str, str | None, dict[str, Any], tuple[str, ...]]] = [
    ("/login", "login", None, {}, GET),
    ("/login_opts", "login", None, {}, GET_OPTIONS),
    ("/public_root/<table_id>/<int:root_id>", "login", None, PUBLIC_ROOT, GET),
    (
        "/public_table/<table_id>",
        "login",
        None,
        {"public_table_key": "table_id", "service_token": SERVICE},
        GET,
    ),
    (
        "/public_roots/<table_id>",
        "login",
        None,
        {
            "public_table_key": "table_id",
            "public_node_json_key": "root_ids",
            "service_token": SERVICE,
        },
        POST,
    ),
    ("/view/<table_id>", "permission", "view", {}, GET),
    ("/edit/<table_id>", "permission", "edit", {}, GET),
    ("/view_ignore_tos/<table_id>", "permission", "view", {"ignore_tos": True}, GET),
    ("/view_public/<table_id>/<int:root_id>", "permission", "view", PUBLIC_ROOT, GET),
    ("/edit_public/<table_id>/<int:root_id>", "permission", "edit", PUBLIC_ROOT, GET),
    ("/view_ds", "permission", "view", {"dataset": "test_ds"}, GET),
    (
        "/view_ns/<table_id>",
        "permission",
        "view",
        {"resource_namespace": "pychunkedgraph"},
        GET,
    ),
    ("/notable", "permission", "view", {}, GET),
    ("/admin", "admin", None, {}, GET),
    ("/dsadmin/<table_id>", "dataset_admin", None, {}, GET),
    ("/group", "group", "testgroup", {}, GET),
    ("/group_other", "group", "nope", {}, GET),
]
"""(Flask rule, rule kind, its permission or group, decorator options, methods)."""


def options(kwargs: dict[str, Any], service_token: str) -> dict[str, Any]:
    return {k: service_token if v is SERVICE else v for k, v in kwargs.items()}


def flask_decorator(lib, kind, argument, kwargs):
    """The decorator of ``lib`` (middle_auth_client or cave_auth.flask) for a route."""
    if kind == "login":
        return lib.auth_required(**kwargs) if kwargs else lib.auth_required
    if kind == "permission":
        return lib.auth_requires_permission(argument, **kwargs)
    if kind == "admin":
        return lib.auth_requires_admin
    if kind == "dataset_admin":
        return lib.auth_requires_dataset_admin(**kwargs)
    return lib.auth_requires_group(argument)


def fastapi_dependency(kind, argument, kwargs):
    """The cave_auth.fastapi dependency standing for the Flask decorator."""
    if kind == "login":
        return cafa.requires_login(**kwargs) if kwargs else cafa.auth_required
    if kind == "permission":
        return cafa.requires_permission(argument, **kwargs)
    if kind == "admin":
        return cafa.requires_admin
    if kind == "dataset_admin":
        return cafa.requires_dataset_admin(**kwargs)
    return cafa.requires_group(argument)


def rule(kind, argument, kwargs):
    """The service Rule the Flask decorator stands for."""
    named = {"permission": {"permission": argument}, "group": {"group": argument}}
    return Rule(kind, **named.get(kind, {}), **kwargs)


def ok(args: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    return {"args": {k: str(v) for k, v in args.items()}, "user": user["id"]}


def build_flask(lib, service_token: str):
    """Mount the routes under ``lib``'s decorators; return the app and what g held."""
    app = flask.Flask(f"app_{lib.__name__}")
    app.config["PROPAGATE_EXCEPTIONS"] = False
    seen: dict[str, Any] = {}

    @app.after_request
    def capture(response):
        seen["user"] = flask.g.get("auth_user")
        seen["token"] = flask.g.get("auth_token")
        return response

    for path, kind, argument, kwargs, methods in ROUTES:

        def view(**args):
            return ok(args, flask.g.auth_user)

        view.__name__ = path.strip("/").split("/")[0]
        decorator = flask_decorator(lib, kind, argument, options(kwargs, service_token))
        app.add_url_rule(path, view_func=decorator(view), methods=list(methods))
    return app, seen


def starlette_path(path: str) -> str:
    """``/t/<table_id>/<int:root_id>`` -> ``/t/{table_id}/{root_id:int}``."""
    path = re.sub(r"<int:(\w+)>", r"{\1:int}", path)
    return re.sub(r"<(\w+)>", r"{\1}", path)


def json_answer(request: Request, seen: dict[str, Any]) -> Response:
    seen["user"] = request.state.auth_user
    seen["token"] = request.state.auth_token
    body = jsonify_bytes(ok(request.path_params, request.state.auth_user))
    return Response(body, media_type="application/json")


def build_fastapi(service_token: str, **setup: Any):
    """Mount the routes under cave_auth.fastapi's dependencies (``setup`` configures)."""
    api = FastAPI()
    cafa.setup(api, **setup)
    seen: dict[str, Any] = {}
    for path, kind, argument, kwargs, methods in ROUTES:
        guard = fastapi_dependency(kind, argument, options(kwargs, service_token))

        def view(request: Request) -> Response:
            return json_answer(request, seen)

        api.add_api_route(
            starlette_path(path),
            view,
            methods=list(methods),
            dependencies=[Depends(guard)],
        )
    return api, seen


def build_asgi_from_env(service_token: str, environ: dict[str, str]):
    """Mount the routes behind AuthASGIMiddleware.from_env; return it and what it saw."""
    api = FastAPI()
    seen: dict[str, Any] = {}
    rules = {}
    for path, kind, argument, kwargs, methods in ROUTES:
        rules[starlette_path(path)] = rule(
            kind, argument, options(kwargs, service_token)
        )

        def view(request: Request) -> Response:
            return json_answer(request, seen)

        api.add_api_route(starlette_path(path), view, methods=list(methods))

    def route(method: str, path: str):
        scope = {"type": "http", "method": method, "path": path, "root_path": ""}
        for candidate in api.routes:
            match, child = candidate.matches(scope)
            if match is not Match.NONE and candidate.path in rules:
                return rules[candidate.path], child["path_params"]
        return Rule(), {}  # unknown paths are checked too

    return AuthASGIMiddleware.from_env(api, environ, route=route), seen


def http_answer(client: TestClient, method, url, headers, cookies, json_body, seen):
    """Send one request through an ASGI app; the answer as the Flask test compares it."""
    headers = dict(headers)
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    response = client.request(
        method, url, headers=headers, json=json_body, follow_redirects=False
    )
    return {
        "status": response.status_code,
        "content_type": response.headers.get("content-type"),
        "body": response.content,
        "location": response.headers.get("location"),
        "www_authenticate": response.headers.get("www-authenticate"),
        "set_cookie": response.headers.get_list("set-cookie"),
        "user": seen.get("user"),
        "token": seen.get("token"),
    }


def on_the_wire(answer: dict[str, Any]) -> dict[str, Any]:
    """What a client sees, and the user and token a served request ran with.

    A denied request has no handler: Flask's ``g`` may hold the user it
    denied, which an ASGI handler never sees.
    """
    if answer["status"] == 200:
        return answer
    return {k: v for k, v in answer.items() if k not in ("user", "token")}
