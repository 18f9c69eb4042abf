"""Tests for cave_auth.service.wsgi: allow, deny and redirect in front of a WSGI app."""

from __future__ import annotations

import http.client
import io
import json
import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server
from wsgiref.util import setup_testing_defaults

import flask
import pytest
from werkzeug.test import Client

from cave_auth.errors import InvalidInputError
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


def test_a_websocket_upgrade_from_a_page_elsewhere_is_refused_with_the_cookie():
    """An Upgrade: websocket request from a foreign origin is refused; its own origin runs."""
    upgrade = {"Upgrade": "websocket", "Cookie": "middle_auth_token=good"}
    foreign = {**upgrade, "Origin": "https://evil.example"}
    refused = call(AuthMiddleware(app, checker()), headers=foreign)
    assert refused["status"] == "403 Forbidden"
    assert json.loads(refused["body"])["error"] == "foreign_origin"
    own = {**upgrade, "Origin": "http://127.0.0.1"}  # the test environ's host
    served = call(AuthMiddleware(app, checker()), headers=own)
    assert json.loads(served["body"])["user"] == USER


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


# Doors: OPTIONS, HEAD and odd-case methods (issue 15, item 2).


def test_options_is_answered_by_the_middleware_by_default():
    """OPTIONS never reaches the app unchecked: the middleware answers 204."""
    client = Client(AuthMiddleware(app, checker()))
    answer = client.options("/x")
    assert answer.status_code == 204
    assert answer.data == b""
    assert "GET" in answer.headers["Allow"]
    assert "Content-Length" not in answer.headers
    assert client.get("/x", headers={"Origin": "x"}).status_code == 401
    good = client.get("/x", headers={"Authorization": "Bearer good"})
    assert good.json["user"] == USER


def test_options_check_and_pass_are_explicit():
    """options="check" checks OPTIONS like GET; options="pass" hands it over."""
    checked = Client(AuthMiddleware(app, checker(), options="check"))
    assert checked.options("/x", headers={"Origin": "x"}).status_code == 401
    served = checked.options("/x", headers={"Authorization": "Bearer good"})
    assert served.json["user"] == USER
    passed = Client(AuthMiddleware(app, checker(), options="pass"))
    assert passed.options("/x").json["user"] == "unchecked"
    assert passed.get("/x", headers={"Origin": "x"}).status_code == 401
    with pytest.raises(InvalidInputError, match="'answer', 'check' or 'pass'"):
        AuthMiddleware(app, checker(), options="skip")


def test_head_and_odd_case_methods_are_routed_as_flask_serves_them():
    """HEAD is routed as GET and methods upper-cased, so a route keyed on GET holds."""
    flask_app = flask.Flask("data")

    @flask_app.get("/data")
    def data():
        return {"secret": "data"}

    rules = {("GET", "/data"): (Rule(), {})}
    middleware = AuthMiddleware(
        flask_app.wsgi_app, checker(), lambda method, path: rules.get((method, path))
    )
    client = Client(middleware)
    assert client.head("/data", headers={"Origin": "x"}).status_code == 401
    good = client.head("/data", headers={"Authorization": "Bearer good"})
    assert good.status_code == 200
    assert int(good.headers["Content-Length"]) > 0
    refused = call(middleware, path="/data", method="get", headers={"Origin": "x"})
    assert refused["status"] == "401 Unauthorized"
    assert b"secret" not in refused["body"]
    served = call(
        middleware, path="/data", method="get", headers={"Authorization": "Bearer good"}
    )
    assert json.loads(served["body"]) == {"secret": "data"}


class QuietHandler(WSGIRequestHandler):
    """wsgiref's handler without its access log on stderr."""

    def log_message(self, *args):
        pass


def data_app(environ, start_response):
    """A plain WSGI app that serves its data to any method it is called for."""
    start_response("200 OK", [("Content-Type", "application/json")])
    user = environ.get("cave_auth.user")
    return [json.dumps({"secret": "data", "user": user and user["id"]}).encode()]


def test_options_through_a_real_wsgi_server():
    """Under a real WSGI server, OPTIONS is answered 204 and the data stays guarded."""
    protected = AuthMiddleware(data_app, checker())
    server = make_server("127.0.0.1", 0, protected, handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        answers = []
        for method, headers in (
            ("OPTIONS", {}),
            ("GET", {"Origin": "x"}),
            ("GET", {"Authorization": "Bearer good"}),
        ):
            connection = http.client.HTTPConnection("127.0.0.1", server.server_port, 30)
            connection.request(method, "/x", headers=headers)
            answer = connection.getresponse()
            answers.append((answer.status, answer.read()))
            connection.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(30)
    (options, options_body), (refused, refused_body), (served, served_body) = answers
    assert (options, options_body) == (204, b"")
    assert refused == 401
    assert b"secret" not in refused_body
    assert (served, json.loads(served_body)) == (200, {"secret": "data", "user": 5})
