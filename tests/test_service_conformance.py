"""Side by side: middle_auth_client 3.19.2 and cave_auth.flask give the same answers.

The same Flask routes are mounted twice, once under each library's
decorators, against one FakeAuthServer over HTTPS (a trustme CA through
REQUESTS_CA_BUNDLE, because middle_auth_client hard-codes ``https://``);
every request of the matrix goes to both through Flask's test client, with
fresh apps and middle_auth_client's caches cleared for each case.

The callers are the default seed's users plus one: Ada (superadmin, every
ToS accepted), Norm (a ToS to accept), Rita (view on test_ds only), Tina
(admin of dataset test_ds), testbot (the service token) and Olga, whose
record lacks ``permissions_v2_ignore_tos`` as an older server's did, so
that the fallback to ``permissions_v2`` is compared too. Table ``test_ds``
gets public roots 1 and 11; ``test_ds_pcg_table`` has the recorded 64-bit
ones.
"""

from __future__ import annotations

import importlib
import os
import ssl
import sys
from typing import Any

import pytest
import trustme
from conformance_apps import (
    build_asgi_from_env,
    build_fastapi,
    build_flask,
    http_answer,
    on_the_wire,
)
from fastapi.testclient import TestClient

from cave_auth import flask as caf
from cave_auth.testing import (
    FakeApiKey,
    FakeAuthServer,
    FakeMembership,
    FakePublicRoot,
    FakeSeed,
    FakeUser,
)
from cave_auth.transport import Urllib3Transport

OLGA_ID = 7
OLGA_TOKEN = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
INVALID = "not-a-valid-token"
BIG = 720575940000000001  # beyond 2**53


def seed() -> FakeSeed:
    """The default seed, Olga and public roots in table test_ds."""
    data = FakeSeed.default()
    data.users.append(FakeUser(id=OLGA_ID, name="Olga Oldstyle", email="olga@x.org"))
    data.memberships += [
        FakeMembership(user_id=OLGA_ID, group_id=1),
        FakeMembership(user_id=OLGA_ID, group_id=2),
    ]
    data.api_keys.append(FakeApiKey(id=7, user_id=OLGA_ID, token=OLGA_TOKEN))
    data.public_roots += [FakePublicRoot("test_ds", 1), FakePublicRoot("test_ds", 11)]
    return data


def without_ignore_tos(server: FakeAuthServer) -> None:
    """Serve Olga's record without permissions_v2_ignore_tos (an older server)."""
    backend = server._app.backend
    records = backend.cache

    def cache(user: FakeUser) -> dict[str, Any]:
        record = records(user)
        if user.id == OLGA_ID:
            del record["permissions_v2_ignore_tos"]
        return record

    backend.cache = cache  # type: ignore[method-assign]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    bundle = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    server = FakeAuthServer(seed(), ssl_context=context).start()
    without_ignore_tos(server)
    TOKENS.update(
        admin=server.admin_token,
        user=server.user_token,
        viewer=server.refresh_user_token,
        dsadmin=server.dataset_admin_token,
        old=OLGA_TOKEN,
        service=server.service_account_token,
    )
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


TOKENS: dict[str, str] = {}
"""Caller -> token of the running server (filled by the ``world`` fixture)."""


class Token:
    """A caller's token, looked up when a request is built (the server draws them)."""

    def __init__(self, caller: str, prefix: str = "", suffix: str = "") -> None:
        self.caller, self.prefix, self.suffix = caller, prefix, suffix

    def __str__(self) -> str:
        return self.prefix + TOKENS[self.caller] + self.suffix

    def __repr__(self) -> str:
        return f"Token({self.caller!r})"


def resolve(value: Any) -> Any:
    """Turn Token placeholders (also inside dicts) into the running server's tokens."""
    if isinstance(value, Token):
        return str(value)
    if isinstance(value, dict):
        return {k: resolve(v) for k, v in value.items()}
    return value


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


def bearer(caller):
    return {"Authorization": Token(caller, "Bearer ")}


XRW = {"X-Requested-With": "XMLHttpRequest"}
VARIANTS = {
    "browser": ({}, {}, ""),
    "xrw": (XRW, {}, ""),
    "origin": ({"Origin": "https://x.org"}, {}, ""),
    "admin": (bearer("admin"), {}, ""),
    "user": (bearer("user"), {}, ""),
    "viewer": (bearer("viewer"), {}, ""),
    "dsadmin": (bearer("dsadmin"), {}, ""),
    "old": (bearer("old"), {}, ""),
    "invalid": ({"Authorization": "Bearer " + INVALID}, {}, ""),
    "cookie_valid": ({}, {"middle_auth_token": Token("viewer")}, ""),
    "cookie_invalid_browser": ({}, {"middle_auth_token": INVALID}, ""),
    "cookie_invalid_xrw": (XRW, {"middle_auth_token": INVALID}, ""),
    "query_browser": (
        {},
        {"middle_auth_token": Token("viewer")},
        "middle_auth_token=qtok&x=a%20b",
    ),
    "query_xrw": (XRW, {}, Token("admin", "middle_auth_token=")),
}
EXTRA_VARIANTS = {
    "bad_token_scheme": ({"Authorization": "Token x"}, {}, ""),
    "lower_bearer": ({"Authorization": "bearer x"}, {}, ""),
    "bare_bearer": ({"Authorization": "Bearer"}, {}, ""),
    "two_spaces": ({"Authorization": Token("admin", "Bearer  ")}, {}, ""),
    "trailing_junk": ({"Authorization": Token("admin", "Bearer ", " junk")}, {}, ""),
    "empty_header": ({"Authorization": ""}, {}, ""),
    "header_over_cookie": (
        {"Authorization": "Bearer " + INVALID},
        {"middle_auth_token": Token("admin")},
        "",
    ),
    "only_token_param": (XRW, {}, Token("admin", "token=")),
    "query_odd_encoding": ({}, {}, "middle_auth_token=q&a=a/b:c&b=1;2&flag&token=z"),
}
PATHS = [
    "/login",
    "/public_root/test_ds/1",
    "/public_root/test_ds/2",
    f"/public_root/test_ds_pcg_table/{BIG}",
    f"/public_root/test_ds_pcg_table/{BIG + 2}",
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
    "/view_ns/test_ds_pcg_table",
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
    "big_pair": {"root_ids": [BIG, BIG + 1]},
    "big_mixed": {"root_ids": [BIG, BIG + 2]},
    "big_as_text": {"root_ids": [str(BIG)]},
}
POST_TABLES = {
    "public_pair": "test_ds",
    "mixed": "test_ds",
    "empty": "test_ds",
    "list_body": "test_ds",
    "big_pair": "test_ds_pcg_table",
    "big_mixed": "test_ds_pcg_table",
    "big_as_text": "test_ds_pcg_table",
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
    headers, cookies, query = resolve(headers), resolve(cookies), resolve(query)
    results = []
    for lib in (mac, caf):
        app, seen = build_flask(lib, TOKENS["service"])
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


def asgi_answers(world, method, path, headers, cookies, query, json_body=None):
    """The same request through the FastAPI dependencies and AuthASGIMiddleware.from_env."""
    _, _, transport = world
    headers, cookies, query = resolve(headers), resolve(cookies), resolve(query)
    url = path + ("?" + query if query else "")
    service = TOKENS["service"]
    fastapi_app, fastapi_seen = build_fastapi(
        service,
        auth_url=os.environ["AUTH_URL"],
        sticky_auth_url=os.environ["STICKY_AUTH_URL"],
        transport=transport,
    )
    middleware, middleware_seen = build_asgi_from_env(service, dict(os.environ))
    answers = {}
    for name, app, seen in [
        ("fastapi", fastapi_app, fastapi_seen),
        ("asgi_from_env", middleware, middleware_seen),
    ]:
        with TestClient(app, base_url="http://localhost") as client:
            answers[name] = http_answer(
                client, method, url, headers, cookies, json_body, seen
            )
    middleware.checker.lookups.transport.close()
    return answers


def assert_answered_alike_everywhere(world, method, path, variant, json_body=None):
    """Flask, the FastAPI dependencies and the ASGI middleware answer as middle_auth_client."""
    headers, cookies, query = all_variants()[variant]
    expected, flask_answer = both(
        world, method, path, headers, cookies, query, json_body
    )
    assert flask_answer == expected
    asgi = asgi_answers(world, method, path, headers, cookies, query, json_body)
    assert {name: on_the_wire(answer) for name, answer in asgi.items()} == {
        "fastapi": on_the_wire(expected),
        "asgi_from_env": on_the_wire(expected),
    }


def all_variants():
    return {**VARIANTS, **EXTRA_VARIANTS}


@pytest.mark.parametrize(("path", "variant"), CASES, ids=[f"{p}-{v}" for p, v in CASES])
def test_same_answer(world, path, variant):
    """Every adapter answers the request as middle_auth_client does."""
    assert_answered_alike_everywhere(world, "GET", path, variant)


@pytest.mark.parametrize("body", sorted(POST_BODIES))
@pytest.mark.parametrize("variant", ["xrw", "browser", "viewer", "invalid"])
def test_same_answer_for_public_roots_in_the_body(world, body, variant):
    """Public roots listed in a JSON body are judged identically by every adapter."""
    path = f"/public_roots/{POST_TABLES[body]}"
    assert_answered_alike_everywhere(world, "POST", path, variant, POST_BODIES[body])


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
    """The conformance matrix has at least 80 cases and covers every caller."""
    assert len(CASES) + 4 * len(POST_BODIES) >= 80
    callers = {
        value.caller
        for headers, cookies, query in all_variants().values()
        for value in (*headers.values(), *cookies.values(), query)
        if isinstance(value, Token)
    }
    assert callers == {"admin", "user", "viewer", "dsadmin", "old"}


OVERSIZE = "t" * 9000
USER_CACHE = "/auth/api/v1/user/cache"
OVERSIZE_VARIANTS = {
    "bearer": ({"Authorization": "Bearer " + OVERSIZE}, {}, ""),
    "cookie_xrw": (XRW, {"middle_auth_token": OVERSIZE}, ""),
    "cookie_browser": ({}, {"middle_auth_token": OVERSIZE}, ""),
}


# werkzeug's test client warns that a browser would drop so large a cookie;
# another client may still send it.
@pytest.mark.filterwarnings("ignore:The 'middle_auth_token' cookie is too large")
@pytest.mark.parametrize("variant", sorted(OVERSIZE_VARIANTS))
@pytest.mark.parametrize("path", ["/login", "/public_root/test_ds/1", "/view/test_ds"])
def test_an_oversize_token_answers_alike_without_a_lookup(world, path, variant):
    """A 9,000-character token gets middle_auth_client's answer, and only it asks upstream."""
    _, server, _ = world
    # nginx in front of the real server answers 400 to a header this large.
    server.fail_next(2, status=400, method="GET", path=USER_CACHE)
    server.clear_log()
    try:
        expected, actual = both(world, "GET", path, *OVERSIZE_VARIANTS[variant])
    finally:
        server.clear_faults()
    assert actual == expected
    assert server.count("GET", USER_CACHE) == 1  # middle_auth_client's lookup


@pytest.mark.parametrize("status", [400, 413, 414, 431])
def test_a_lookup_refused_with_4xx_answers_alike(world, status):
    """A token lookup answered 400/413/414/431 is an invalid token in both libraries."""
    _, server, _ = world
    server.fail_next(2, status=status, method="GET", path=USER_CACHE)
    server.clear_log()
    try:
        expected, actual = both(world, "GET", "/login", *VARIANTS["invalid"])
    finally:
        server.clear_faults()
    assert expected["status"] == 401
    assert actual == expected
    assert server.count("GET", USER_CACHE) == 2
