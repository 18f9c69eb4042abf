"""Tests for cave_auth.flask: the middle_auth_client drop-in, over FakeTransport."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import flask
import pytest

from cave_auth import flask as caf
from cave_auth.testing import FakeTransport, json_response

API = "/auth/api/v1"
USER = {
    "id": 1,
    "admin": False,
    "groups": ["g"],
    "datasets_admin": [],
    "permissions_v2": {"ds": ["view"]},
}


def fake_for(valid, user=USER):
    def cache(request):
        if request.token == valid:
            return user
        return json_response({"error": "invalid_token"}, status=401)

    return FakeTransport(
        {
            ("GET", API + "/user/cache"): cache,
            ("GET", API + "/service/datastack/table/t1/dataset"): "ds",
            ("GET", API + "/username"): [
                {"id": 1, "name": "Ada"},
                {"id": 2, "name": "B"},
            ],
            ("GET", API + "/user/2/permissions"): {"id": 2, "groups": ["g", "x"]},
            ("GET", API + "/table/t1/has_public"): True,
        }
    )


def make_app(fake, **settings):
    app = flask.Flask(__name__)
    caf.init_app(app, auth_url="auth.example.org/auth", transport=fake, **settings)
    seen = {}

    @app.after_request
    def capture(response):
        seen["user"] = flask.g.get("auth_user")
        seen["token"] = flask.g.get("auth_token")
        return response

    @app.route("/login")
    @caf.auth_required
    def login():
        return "ok"

    @app.route("/view/<table_id>")
    @caf.auth_requires_permission("view")
    def view(table_id):
        return "ok"

    @app.route("/group")
    @caf.auth_requires_group("other")
    def group():
        return "ok"

    @app.route("/admin")
    @caf.auth_requires_admin
    def admin():
        return "ok"

    @app.route("/helpers")
    @caf.auth_required
    def helpers():
        return {
            "names": caf.get_usernames([2, 1], token="good"),
            "share": caf.users_share_common_group(2, service_token="svc"),
            "share_excluded": caf.users_share_common_group(
                2, excluded_groups=["g"], service_token="svc"
            ),
            "perm": caf.user_has_permission("view", "t1", "datastack", "svc"),
            "public": caf.table_has_public("t1", "svc"),
            "dataset": caf.dataset_from_table_id("datastack", "t1", "svc"),
        }

    return app, seen


def test_g_fields_of_an_allowed_request():
    """A valid token runs the view with g.auth_user and g.auth_token set."""
    app, seen = make_app(fake_for("good"))
    response = app.test_client().get("/login", headers={"Authorization": "Bearer good"})
    assert response.status_code == 200
    assert seen == {"user": USER, "token": "good"}


def test_a_page_elsewhere_cannot_open_a_websocket_with_the_cookie():
    """A flask-sock style upgrade from a foreign origin is refused; a trusted one runs."""
    app, seen = make_app(fake_for("good"), trusted_origins=["https://viewer.example"])
    client = app.test_client()
    client.set_cookie("middle_auth_token", "good")
    upgrade = {"Upgrade": "websocket"}  # the test client refuses "Connection: Upgrade"
    refused = client.get(
        "/login", headers={**upgrade, "Origin": "https://evil.example"}
    )
    assert refused.status_code == 403
    assert refused.json["error"] == "foreign_origin"
    assert seen["user"] is None  # the view did not run
    for origin in ("https://viewer.example", "http://localhost"):
        served = client.get("/login", headers={**upgrade, "Origin": origin})
        assert served.status_code == 200
    # Without the upgrade it is plain HTTP, answered as middle_auth_client does.
    plain = client.get("/login", headers={"Origin": "https://evil.example"})
    assert plain.status_code == 200


def test_denials_answer_like_middle_auth_client():
    """Permission, group and admin denials answer the measured bodies."""
    app, _ = make_app(fake_for("good"))
    client = app.test_client()
    bearer = {"Authorization": "Bearer good"}
    assert client.get("/view/t1", headers=bearer).status_code == 200
    assert (
        client.get("/group", headers=bearer).data
        == b"Requires membership of group: other"
    )
    admin = client.get("/admin", headers=bearer)
    assert (admin.status_code, admin.content_type) == (403, "text/html; charset=utf-8")
    unknown = client.get("/view/t9", headers=bearer)
    assert unknown.get_json()["error"] == "invalid_table_id"


def g_fields_app(fake):
    """An app whose views record every flask.g field a check sets."""
    app = flask.Flask(__name__)
    caf.init_app(app, auth_url="auth.example.org/auth", transport=fake)
    seen = []

    def record(**path):
        g = flask.g
        seen.append(
            {
                "user": g.auth_user,
                "token": g.auth_token,
                "public_access_cache": g.public_access_cache,
                "public": g.public_access(),
            }
        )
        return "ok"

    app.add_url_rule("/login", "login", caf.auth_required(record))
    app.add_url_rule(
        "/table/<table_id>",
        "table",
        caf.auth_requires_permission(
            "view", dataset="ds", public_table_key="table_id", service_token="svc"
        )(record),
    )
    return app, seen


@pytest.mark.parametrize("path", ["/login", "/table/t1"])
def test_a_cached_token_sets_the_same_g_fields_at_every_request(path):
    """The second and later checks of a token set flask.g as the first did."""
    app, seen = g_fields_app(fake_for("good"))
    client = app.test_client()
    for _ in range(3):
        response = client.get(path, headers={"Authorization": "Bearer good"})
        assert response.status_code == 200
    public = path != "/login"
    assert (
        seen
        == [
            {
                "user": USER,
                "token": "good",
                "public_access_cache": None,
                "public": public,
            }
        ]
        * 3
    )
    assert seen[1]["user"] is seen[2]["user"]


def test_a_token_invalidated_in_the_app_cache_is_refused_at_the_next_request():
    """invalidate() on the app's cache makes the next request ask the server again."""
    fake = fake_for("good")
    app, _ = make_app(fake)
    client = app.test_client()
    bearer = {"Authorization": "Bearer good"}
    for _ in range(2):
        assert client.get("/login", headers=bearer).status_code == 200
    fake.add_route(
        "GET", API + "/user/cache", json_response({"error": "x"}, status=401)
    )
    app.extensions["cave_auth"].checker.cache.invalidate("good")
    assert client.get("/login", headers=bearer).status_code == 401
    assert len(fake.requests_to("GET", API + "/user/cache")) == 2


def test_helpers():
    """The helper functions answer through the app's transport and cache."""
    app, _ = make_app(fake_for("good"))
    response = app.test_client().get(
        "/helpers", headers={"Authorization": "Bearer good"}
    )
    assert response.get_json() == {
        "names": ["B", "Ada"],
        "share": True,
        "share_excluded": False,
        "perm": True,
        "public": True,
        "dataset": "ds",
    }


def test_two_apps_two_servers_no_crossing():
    """Each app asks its own server and keeps its own cache."""
    fake_a, fake_b = fake_for("token-a"), fake_for("token-b")
    app_a, _ = make_app(fake_a)
    app_b, _ = make_app(fake_b)
    a, b = app_a.test_client(), app_b.test_client()
    assert (
        a.get("/login", headers={"Authorization": "Bearer token-a"}).status_code == 200
    )
    assert (
        b.get("/login", headers={"Authorization": "Bearer token-a"}).status_code == 401
    )
    assert (
        b.get("/login", headers={"Authorization": "Bearer token-b"}).status_code == 200
    )
    assert (
        a.get("/login", headers={"Authorization": "Bearer token-b"}).status_code == 401
    )
    assert len(fake_a.requests) == 2
    assert len(fake_b.requests) == 2


def test_settings_come_from_the_environment_at_the_first_request(monkeypatch):
    """Without init_app, AUTH_URL (with a scheme) is read at the first request."""
    app = flask.Flask(__name__)

    @app.route("/")
    @caf.auth_required
    def index():
        return "ok"

    monkeypatch.setenv("AUTH_URL", "http://127.0.0.1:9/auth")
    monkeypatch.setenv("STICKY_AUTH_URL", "sticky.example.org/sticky_auth")
    assert "cave_auth" not in app.extensions
    response = app.test_client().get("/")
    state = app.extensions["cave_auth"]
    assert state.settings.auth_url == "http://127.0.0.1:9/auth"
    assert response.headers["Location"].startswith(
        "https://sticky.example.org/sticky_auth/api/v1/authorize?redirect="
    )


def test_auth_disabled_from_the_environment(monkeypatch):
    """AUTH_DISABLED=true runs every view as the disabled user."""
    monkeypatch.setenv("AUTH_DISABLED", "true")
    app = flask.Flask(__name__)
    seen = {}

    @app.route("/")
    @caf.auth_requires_admin
    def index():
        seen["user"] = flask.g.auth_user
        return "ok"

    assert (
        app.test_client().get("/", headers={"Authorization": "Token x"}).status_code
        == 200
    )
    assert seen["user"]["name"] == "AUTH_DISABLED"


def test_permission_lookup_override():
    """SetPermissionLookupOverride replaces the /user/cache lookup in every app."""
    app, seen = make_app(fake_for("nobody"))
    caf.setPermissionLookupOverride(lambda token: {"id": 9} if token == "x" else None)
    try:
        client = app.test_client()
        assert (
            client.get("/login", headers={"Authorization": "Bearer x"}).status_code
            == 200
        )
        assert seen["user"] == {"id": 9}
    finally:
        caf.setPermissionLookupOverride(None)
    assert (
        client.get("/login", headers={"Authorization": "Bearer x"}).status_code == 401
    )


def test_init_app_rejects_unknown_settings():
    """A misspelt setting is a TypeError, not silently ignored."""
    with pytest.raises(TypeError, match="cache_tll"):
        caf.init_app(flask.Flask(__name__), auth_url="a/auth", cache_tll=3)


def test_importing_cave_auth_never_imports_flask():
    """Import cave_auth and cave_auth.service load no flask."""
    code = "import sys, cave_auth, cave_auth.service; print('flask' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False"


MIDDLE_AUTH_CLIENT_3_18_1 = (
    # middle_auth_client/__init__.py of 3.18.1, the version services pin.
    "auth_required",
    "auth_requires_admin",
    "auth_requires_permission",
    "get_usernames",
    "user_has_permission",
    "users_share_common_group",
    "setPermissionLookupOverride",
    "make_api_error",
)


def installed_middle_auth_client_names():
    """The public names the installed middle_auth_client (3.19.2) exports."""
    mac = importlib.import_module("middle_auth_client")
    assert mac.__version__ == "3.19.2"
    return {
        name
        for name, value in vars(mac).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }


def test_every_name_middle_auth_client_exports_is_importable():
    """Each name middle_auth_client 3.18.1 or 3.19.2 exports imports from cave_auth.flask."""
    names = installed_middle_auth_client_names() | set(MIDDLE_AUTH_CLIENT_3_18_1)
    assert "auth_requires_dataset_admin" in names  # 3.19.2's own
    assert len(names) == 9
    namespace = {}
    exec(f"from cave_auth.flask import {', '.join(sorted(names))}", namespace)
    for name in names:
        assert callable(namespace[name]), name
        assert name in caf.__all__


@pytest.mark.parametrize(
    ("given", "config", "used"),
    [
        ({}, {}, "tok"),
        ({"service_token": "svc"}, {}, "svc"),
        ({"service_token": "svc"}, {"AUTH_TOKEN": "cfg"}, "cfg"),
        ({}, {"AUTH_TOKEN": "cfg"}, "cfg"),
    ],
)
def test_table_lookups_use_auth_token_then_init_app_service_token(given, config, used):
    """The app config's AUTH_TOKEN wins over init_app's service_token, then the caller's."""
    seen = []
    fake = fake_for("tok")

    def dataset(request):
        seen.append(request.token)
        return "ds"

    fake.add_route("GET", API + "/service/datastack/table/t1/dataset", dataset)
    app = flask.Flask(__name__)
    app.config.update(config)
    caf.init_app(app, auth_url="auth.example.org/auth", transport=fake, **given)

    @app.route("/t/<table_id>")
    @caf.auth_requires_permission("view")
    def table(table_id):
        return table_id

    answer = app.test_client().get("/t/t1", headers={"Authorization": "Bearer tok"})
    assert answer.status_code == 200
    assert seen == [used]
