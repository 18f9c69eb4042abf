"""Tests for cave_auth.flask.helpers: make_api_error, side by side with middle_auth_client.

middle_auth_client 3.18.1 exports ``make_api_error(http_status, api_code,
msg=None, data=None)``; 3.19.2 (installed) keeps its body, line for line, as
``MACAuthorizationError.to_response``, which is what the answers are compared
with.
"""

from __future__ import annotations

import importlib

import flask
import pytest

from cave_auth.flask import make_api_error

CASES = [
    (403, "missing_permission", "Missing permission: edit for dataset ds", None),
    (400, "invalid_table_id", "Invalid table_id", {"table_id": "t", "ns": "x"}),
    (401, "no_token", None, None),
    (409, "conflict", None, [1, 2, {"b": None, "a": "é"}]),
    (500, "server_error", "", 0),
    (422, "bad", "Ünïcode ✓ </script>", ""),
]


def answer(response: flask.Response) -> tuple[int, dict[str, str], bytes]:
    return response.status_code, dict(response.headers), response.get_data()


@pytest.mark.parametrize(("status", "code", "msg", "data"), CASES)
def test_make_api_error_answers_as_middle_auth_client(status, code, msg, data):
    """make_api_error answers with middle_auth_client's status, headers and bytes."""
    mac = importlib.import_module("middle_auth_client.decorators")
    app = flask.Flask(__name__)
    with app.app_context():
        expected = mac.MACAuthorizationError(status, code, msg, data).to_response()
        actual = make_api_error(status, code, msg, data)
        by_keyword = make_api_error(
            http_status=status, api_code=code, msg=msg, data=data
        )
    assert answer(actual) == answer(expected)
    assert answer(by_keyword) == answer(expected)
    body = actual.get_json()
    assert body["error"] == code
    assert ("message" in body) is (msg is not None)
    assert ("data" in body) is (data is not None)


def test_make_api_error_with_only_a_code():
    """make_api_error(status, code) answers {"error": code} with that status."""
    app = flask.Flask(__name__)
    with app.app_context():
        response = make_api_error(404, "not_found")
    assert response.status_code == 404
    assert response.content_type == "application/json"
    assert response.get_data() == b'{"error":"not_found"}\n'
