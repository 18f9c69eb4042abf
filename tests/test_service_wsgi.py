"""Tests for cave_auth.service.wsgi: allow, deny and redirect in front of a WSGI app."""

from __future__ import annotations

import io
import json
from wsgiref.util import setup_testing_defaults

from cave_auth.service import Checker, Rule, Settings, TransportLookups
from cave_auth.service.wsgi import AuthMiddleware
from cave_auth.testing import FakeTransport, json_response

API = "/auth/api/v1"
USER = {"id": 5, "groups": []}


def checker():
    def cache(request):
        if request.token == "good":
            return USER
        return json_response({"error": "invalid_token"}, status=401)

    fake = FakeTransport(
        {
            ("GET", API + "/user/cache"): cache,
            ("POST", API + "/table/t/root_all_public"): True,
        }
    )
    settings = Settings("https://auth.example.org/auth")
    return Checker(settings, TransportLookups(settings.auth_url, fake))


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    body = environ["wsgi.input"].read()
    user = environ.get("cave_auth.user", "unchecked")
    return [json.dumps({"user": user, "body": body.decode()}).encode()]


def call(middleware, path="/x", query="", headers=None, body=b"", method="GET"):
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
    }
    setup_testing_defaults(environ)
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    seen = {}

    def start_response(status, headers):
        seen["status"], seen["headers"] = status, dict(headers)

    seen["body"] = b"".join(middleware(environ, start_response))
    return seen


def test_allow_puts_the_user_in_the_environ():
    """A valid token reaches the app with environ['cave_auth.user']."""
    result = call(
        AuthMiddleware(app, checker()), headers={"Authorization": "Bearer good"}
    )
    assert result["status"] == "200 OK"
    assert json.loads(result["body"])["user"] == USER


def test_deny_answers_the_json_error():
    """An invalid token is answered with the 401 JSON and realm, app not called."""
    result = call(
        AuthMiddleware(app, checker()), headers={"Authorization": "Bearer bad"}
    )
    assert result["status"] == "401 Unauthorized"
    assert json.loads(result["body"])["error"] == "invalid_token"
    assert result["headers"]["WWW-Authenticate"].startswith('Bearer realm="https://')


def test_redirect_sends_a_browser_to_login_and_moves_a_query_token():
    """Browsers are redirected to log in, and a query token becomes a cookie."""
    login = call(AuthMiddleware(app, checker()), path="/a b", query="x=1")
    assert login["status"] == "302 Found"
    assert login["headers"]["Location"] == (
        "https://auth.example.org/auth/api/v1/authorize?redirect="
        "http%3A//127.0.0.1/a%2520b%3Fx%3D1"
    )
    moved = call(AuthMiddleware(app, checker()), query="middle_auth_token=tk&y=2")
    assert moved["headers"]["Location"] == "http://127.0.0.1/x?y=2"
    assert (
        moved["headers"]["Set-Cookie"]
        == "middle_auth_token=tk; Secure; HttpOnly; Path=/"
    )


def test_public_roots_body_is_read_and_given_back_to_the_app():
    """A body read for a public-roots check still reaches the app whole."""
    rule = Rule(public_table_key="t", public_node_json_key="ids", service_token="s")
    middleware = AuthMiddleware(app, checker(), lambda method, path: (rule, {"t": "t"}))
    result = call(
        middleware, headers={"Origin": "x"}, body=b'{"ids":[1]}', method="POST"
    )
    assert result["status"] == "200 OK"
    answer = json.loads(result["body"])
    assert answer["body"] == '{"ids":[1]}'
    assert answer["user"]["id"] == 0


def test_unrouted_requests_pass_unchecked():
    """A route function answering None lets the request through unchecked."""
    middleware = AuthMiddleware(app, checker(), lambda method, path: None)
    result = call(middleware, path="/health")
    assert result["status"] == "200 OK"
    assert json.loads(result["body"])["user"] == "unchecked"
