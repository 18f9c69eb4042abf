"""Tests of the fake server's request and response values and Flask-style builders."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from cave_auth.testing.messages import (
    AppRequest,
    RecordedRequest,
    error_page,
    http_date,
    jsonify,
    reason,
    redirect,
)


def request(query: str = "", **headers: str) -> AppRequest:
    return AppRequest("GET", "/auth/api/v1/user", query, headers, b"", "http://h/")


def test_jsonify_writes_like_flask():
    """Jsonify sorts keys, uses compact separators and ends with a newline."""
    response = jsonify(200, {"b": 1, "a": [1, 2]})
    assert response.body == b'{"a":[1,2],"b":1}\n'
    assert response.content_type == "application/json"


def test_error_page_and_reason_follow_werkzeug():
    """Error pages carry werkzeug's title and text; 422 has werkzeug's phrase."""
    page = error_page(404).body.decode()
    assert "<title>404 Not Found</title>" in page
    assert error_page(599).status == 599
    assert reason(422) == "UNPROCESSABLE ENTITY"
    assert reason(799) == "UNKNOWN"


def test_redirect_escapes_the_location_in_its_page():
    """A redirect sets Location as given and HTML-escapes it in the body."""
    response = redirect("https://x.org/?a=1&b=2")
    assert response.headers == [("Location", "https://x.org/?a=1&b=2")]
    assert b"a=1&amp;b=2" in response.body


def test_http_date_renders_utc_from_any_zone():
    """A naive datetime is UTC; an aware one is converted to GMT."""
    naive = datetime(2026, 11, 28, 4, 59, 28)
    aware = naive.replace(tzinfo=timezone(timedelta(hours=2)))
    assert http_date(naive) == "Sat, 28 Nov 2026 04:59:28 GMT"
    assert http_date(aware) == "Sat, 28 Nov 2026 02:59:28 GMT"
    assert http_date(None) is None


def test_request_args_cookies_and_programmatic_access():
    """The first query value and cookie win; any of three headers is programmatic."""
    req = request("id=1&id=2&x=", cookie='a=1; t="quoted"; t=2')
    assert req.args == {"id": "1", "x": ""}
    assert (req.cookie("t"), req.cookie("missing")) == ("quoted", None)
    assert not req.programmatic
    for header in ("authorization", "x-requested-with", "origin"):
        assert request(**{header: "v"}).programmatic


def test_a_recorded_request_repr_never_shows_the_token():
    """The request log's repr hides a token in the header, cookie, query or path."""
    token = "0123456789abcdef0123456789abcdef"
    recorded = RecordedRequest(
        "GET",
        f"/auth/api/v1/user/token/{token}/ttl",
        f"middle_auth_token={token}",
        {"Authorization": f"Bearer {token}", "Cookie": f"middle_auth_token={token}"},
    )
    shown = repr(recorded)
    assert token not in shown
    assert shown.startswith("RecordedRequest('GET', '/auth/api/v1/user/token/")
