"""Side by side: middle_auth_client 3.19.2 and cave_auth.flask give the same answers.

The same Flask routes are mounted twice, once under each library's
decorators, against one HTTPS auth stub (trustme CA via REQUESTS_CA_BUNDLE);
every request of the matrix goes to both through Flask's test client, with
fresh apps and middle_auth_client's caches cleared for each case.
"""

from __future__ import annotations

import importlib
import os
import ssl
import sys

import flask
import pytest
import trustme

from cave_auth import flask as caf
from cave_auth.transport import Urllib3Transport
from tests.service_stub import SERVICE_TOKEN, USERS, StubAuthServer

ADMIN, USER, VIEWER, DSADMIN, OLD = (
    "admin-token-1111",
    "user-token-2222",
    "viewer-token-3333",
    "dsadmin-token-4444",
    "oldstyle-token-5555",
)
INVALID = "not-a-valid-token"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    bundle = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    server = StubAuthServer(context).start()
    auth = f"127.0.0.1:{server.port}/auth"
    saved = dict(os.environ)
    os.environ.update(
        AUTH_URL=auth,
        AUTH_URI=auth,
        STICKY_AUTH_URL=f"127.0.0.1:{server.port}/sticky_auth",
        REQUESTS_CA_BUNDLE=str(bundle),
    )
    sys.modules.pop("middle_auth_client.decorators", None)
    sys.modules.pop("middle_auth_client", None)
    mac = importlib.import_module("middle_auth_client.decorators")
    transport = Urllib3Transport(ca_certs=str(bundle), timeout=5)
    yield mac, server, transport
    os.environ.clear()
    os.environ.update(saved)
    sys.modules.pop("middle_auth_client.decorators", None)
    sys.modules.pop("middle_auth_client", None)
    server.stop()


def clear_mac(mac):
    from middle_auth_client.ratelimit import rate_limit

    mac.token_to_user_cache.clear()
    mac.user_id_to_user_cache.clear()
    for name in (
        "is_root_public",
        "are_roots_public",
        "table_has_public",
        "dataset_from_table_id",
    ):
        getattr(mac, name).cache_clear()
    mac.clear_user_cache_maybe = rate_limit(
        limit_args=[0], limit=mac.SKIP_CACHE_LIMIT, window_sec=mac.SKIP_CACHE_WINDOW_SEC
    )(mac.clear_user_cache_maybe.__wrapped__)


def build(lib):
    app = flask.Flask(f"app_{lib.__name__}")
    app.config["PROPAGATE_EXCEPTIONS"] = False
    seen = {}

    @app.after_request
    def capture(response):
        seen["user"] = flask.g.get("auth_user")
        seen["token"] = flask.g.get("auth_token")
        return response

    def ok(**kwargs):
        return {
            "args": {k: str(v) for k, v in kwargs.items()},
            "user": flask.g.auth_user["id"],
        }

    def add(rule, decorator, methods=("GET",), name=None):
        def view(**kwargs):
            return ok(**kwargs)

        view.__name__ = name or rule.strip("/").split("/")[0]
        app.add_url_rule(rule, view_func=decorator(view), methods=list(methods))

    add("/login", lib.auth_required)
    add("/login_opts", lib.auth_required, methods=("GET", "OPTIONS"))
    add(
        "/public_root/<table_id>/<int:root_id>",
        lib.auth_required(
            public_table_key="table_id",
            public_node_key="root_id",
            service_token=SERVICE_TOKEN,
        ),
    )
    add(
        "/public_table/<table_id>",
        lib.auth_required(public_table_key="table_id", service_token=SERVICE_TOKEN),
    )
    add(
        "/public_roots/<table_id>",
        lib.auth_required(
            public_table_key="table_id",
            public_node_json_key="root_ids",
            service_token=SERVICE_TOKEN,
        ),
        methods=("POST",),
    )
    add("/view/<table_id>", lib.auth_requires_permission("view"))
    add("/edit/<table_id>", lib.auth_requires_permission("edit"))
    add(
        "/view_ignore_tos/<table_id>",
        lib.auth_requires_permission("view", ignore_tos=True),
    )
    add(
        "/view_public/<table_id>/<int:root_id>",
        lib.auth_requires_permission(
            "view",
            public_table_key="table_id",
            public_node_key="root_id",
            service_token=SERVICE_TOKEN,
        ),
    )
    add(
        "/edit_public/<table_id>/<int:root_id>",
        lib.auth_requires_permission(
            "edit",
            public_table_key="table_id",
            public_node_key="root_id",
            service_token=SERVICE_TOKEN,
        ),
    )
    add("/view_ds", lib.auth_requires_permission("view", dataset="test_ds"))
    add(
        "/view_ns/<table_id>",
        lib.auth_requires_permission("view", resource_namespace="pychunkedgraph"),
    )
    add("/notable", lib.auth_requires_permission("view"))
    add("/admin", lib.auth_requires_admin)
    add("/dsadmin/<table_id>", lib.auth_requires_dataset_admin())
    add("/group", lib.auth_requires_group("testgroup"))
    add("/group_other", lib.auth_requires_group("nope"))
    return app, seen


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


XRW = {"X-Requested-With": "XMLHttpRequest"}
VARIANTS = {
    "browser": ({}, {}, ""),
    "xrw": (XRW, {}, ""),
    "origin": ({"Origin": "https://x.org"}, {}, ""),
    "admin": (bearer(ADMIN), {}, ""),
    "user": (bearer(USER), {}, ""),
    "viewer": (bearer(VIEWER), {}, ""),
    "dsadmin": (bearer(DSADMIN), {}, ""),
    "old": (bearer(OLD), {}, ""),
    "invalid": (bearer(INVALID), {}, ""),
    "cookie_valid": ({}, {"middle_auth_token": VIEWER}, ""),
    "cookie_invalid_browser": ({}, {"middle_auth_token": INVALID}, ""),
    "cookie_invalid_xrw": (XRW, {"middle_auth_token": INVALID}, ""),
    "query_browser": (
        {},
        {"middle_auth_token": VIEWER},
        "middle_auth_token=qtok&x=a%20b",
    ),
    "query_xrw": (XRW, {}, "middle_auth_token=" + ADMIN),
}
EXTRA_VARIANTS = {
    "bad_token_scheme": ({"Authorization": "Token x"}, {}, ""),
    "lower_bearer": ({"Authorization": "bearer x"}, {}, ""),
    "bare_bearer": ({"Authorization": "Bearer"}, {}, ""),
    "two_spaces": ({"Authorization": "Bearer  " + ADMIN}, {}, ""),
    "trailing_junk": ({"Authorization": f"Bearer {ADMIN} junk"}, {}, ""),
    "empty_header": ({"Authorization": ""}, {}, ""),
    "header_over_cookie": (bearer(INVALID), {"middle_auth_token": ADMIN}, ""),
    "only_token_param": (XRW, {}, "token=" + ADMIN),
    "query_odd_encoding": ({}, {}, "middle_auth_token=q&a=a/b:c&b=1;2&flag&token=z"),
}
PATHS = [
    "/login",
    "/public_root/test_ds/1",
    "/public_root/test_ds/2",
    "/public_table/test_ds",
    "/public_table/test_tos_ds",
    "/view/test_ds",
    "/view/test_tos_ds",
    "/view/unknown_table",
    "/edit/test_ds",
    "/view_ignore_tos/test_tos_ds",
    "/view_public/test_ds/1",
    "/view_public/test_ds/2",
    "/edit_public/test_ds/1",
    "/view_ds",
    "/view_ns/pcg_table",
    "/notable",
    "/admin",
    "/dsadmin/test_ds",
    "/dsadmin/test_tos_ds",
    "/group",
    "/group_other",
]
CASES = [(path, variant) for path in PATHS for variant in VARIANTS]
CASES += [("/login", variant) for variant in EXTRA_VARIANTS]
CASES += [("/view/test_ds", variant) for variant in EXTRA_VARIANTS]
POST_BODIES = {
    "public_pair": {"root_ids": [1, 11]},
    "mixed": {"root_ids": [1, 2]},
    "empty": {"root_ids": []},
    "list_body": [1, 2],
}


def answer(response, seen):
    return {
        "status": response.status_code,
        "content_type": response.content_type,
        "body": response.get_data(),
        "location": response.headers.get("Location"),
        "www_authenticate": response.headers.get("WWW-Authenticate"),
        "set_cookie": response.headers.getlist("Set-Cookie"),
        "user": seen.get("user"),
        "token": seen.get("token"),
    }


def both(world, method, path, headers, cookies, query, json_body=None):
    mac, _, transport = world
    clear_mac(mac)
    results = []
    for lib in (mac, caf):
        app, seen = build(lib)
        if lib is caf:
            auth = os.environ["AUTH_URL"]
            caf.init_app(
                app,
                auth_url=auth,
                sticky_auth_url=os.environ["STICKY_AUTH_URL"],
                transport=transport,
            )
        client = app.test_client()
        for name, value in cookies.items():
            client.set_cookie(name, value)
        url = path + ("?" + query if query else "")
        response = client.open(url, method=method, headers=headers, json=json_body)
        results.append(answer(response, seen))
    return results


def all_variants():
    return {**VARIANTS, **EXTRA_VARIANTS}


@pytest.mark.parametrize(("path", "variant"), CASES, ids=[f"{p}-{v}" for p, v in CASES])
def test_same_answer(world, path, variant):
    """Both libraries answer the request identically."""
    headers, cookies, query = all_variants()[variant]
    expected, actual = both(world, "GET", path, headers, cookies, query)
    assert actual == expected


@pytest.mark.parametrize("body", sorted(POST_BODIES))
@pytest.mark.parametrize("variant", ["xrw", "browser", "viewer", "invalid"])
def test_same_answer_for_public_roots_in_the_body(world, body, variant):
    """Public roots listed in a JSON body are judged identically."""
    headers, cookies, query = VARIANTS[variant]
    expected, actual = both(
        world,
        "POST",
        "/public_roots/test_ds",
        headers,
        cookies,
        query,
        POST_BODIES[body],
    )
    assert actual == expected


def test_options_runs_the_view_unchecked(world):
    """OPTIONS on a route listing it runs the view without a check in both."""
    expected, actual = both(world, "OPTIONS", "/login_opts", {}, {}, "")
    assert actual == expected


@pytest.mark.parametrize(
    ("path", "variant", "status", "marker"),
    [
        ("/login", "admin", 200, b'"user":1'),
        ("/login", "browser", 302, b"Redirecting"),
        ("/login", "bad_token_scheme", 400, b"bad_auth_header"),
        ("/login", "invalid", 401, b"invalid_token"),
        ("/view/test_tos_ds", "user", 403, b"missing_tos"),
        ("/edit/test_ds", "viewer", 403, b"missing_permission"),
        ("/view/unknown_table", "admin", 400, b"invalid_table_id"),
        ("/dsadmin/test_ds", "admin", 403, b"missing_role"),
        ("/public_root/test_ds/1", "xrw", 200, b'"user":0'),
    ],
)
def test_the_matrix_reaches_every_outcome(world, path, variant, status, marker):
    """middle_auth_client's answers in the matrix cover every branch kind."""
    headers, cookies, query = all_variants()[variant]
    expected, actual = both(world, "GET", path, headers, cookies, query)
    assert expected["status"] == status
    assert marker in expected["body"]
    assert actual == expected


def test_the_matrix_is_large_enough():
    """The conformance matrix has at least 80 cases and covers every user."""
    assert len(CASES) + 4 * len(POST_BODIES) >= 80
    assert {ADMIN, USER, VIEWER, DSADMIN, OLD, SERVICE_TOKEN} <= set(USERS)
