"""Tests for cave_auth.testing.FakeTransport, the in-memory transport."""

from __future__ import annotations

import pytest

import cave_auth as ca
from cave_auth.testing import FakeTransport, json_response, text_response

TOKEN = "0123456789abcdef0123456789abcdef"
URL = "https://x.org/auth/api/v1/user/me"


def test_routes_answer_json_and_record_requests():
    """A route answers canned JSON and every request is recorded."""
    fake = FakeTransport({("GET", "/auth/api/v1/user/me"): {"id": 1}})
    response = fake.request(
        "get", URL, headers={"Authorization": f"Bearer {TOKEN}"}, params={"a": "1"}
    )
    assert response.status == 200
    assert response.body == b'{"id": 1}\n'
    assert response.url == URL
    (request,) = fake.requests
    assert (request.method, request.path, request.params) == (
        "GET",
        "/auth/api/v1/user/me",
        {"a": "1"},
    )
    assert request.token == TOKEN


def test_request_repr_hides_authorization():
    """A recorded request's repr hides the Authorization header."""
    fake = FakeTransport()
    fake.request("GET", URL, headers={"Authorization": f"Bearer {TOKEN}"})
    assert TOKEN not in repr(fake.requests[0])
    assert "<hidden>" in repr(fake.requests[0])


def test_unknown_route_is_flask_404():
    """An unrouted request gets a 404 HTML page like Flask's."""
    response = FakeTransport().request("GET", URL, headers={})
    assert response.status == 404
    assert b"404 Not Found" in response.body


def test_callable_route_and_handler():
    """A route or fallback handler can be a function of the request."""
    fake = FakeTransport(
        {("POST", "/p"): lambda r: json_response({"got": r.json}, status=201)},
        handler=lambda r: text_response(r.path, status=418),
    )
    assert fake.request("POST", "https://x.org/p", headers={}, json=[1]).status == 201
    other = fake.request("GET", "https://x.org/q", headers={})
    assert (other.status, other.body) == (418, b"/q")


def test_scripted_outcomes_come_first_in_order():
    """Scripted statuses, responses and exceptions are used once each, in order."""
    fake = FakeTransport({("GET", "/r"): {"ok": True}})
    fake.script("GET", "/r", 503, ca.TransportError("down"), json_response([], 200))
    assert fake.request("GET", "https://x.org/r", headers={}).status == 503
    with pytest.raises(ca.TransportError):
        fake.request("GET", "https://x.org/r", headers={})
    assert fake.request("GET", "https://x.org/r", headers={}).body == b"[]\n"
    assert fake.request("GET", "https://x.org/r", headers={}).body == b'{"ok": true}\n'
    assert len(fake.requests_to("GET", "/r")) == 4


def test_fake_transport_is_a_transport():
    """FakeTransport satisfies the Transport protocol."""
    assert isinstance(FakeTransport(), ca.Transport)
