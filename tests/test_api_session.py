"""Tests for the session routes: token TTL, logout, logout_all, missing ToS."""

from __future__ import annotations

import logging

import pytest

import cave_auth as ca
from cave_auth.api import get_missing_tos, get_token_ttl, logout, logout_all
from cave_auth.testing import FakeTransport, json_response, text_response

TOKEN = "638b16e348442ee3aee4d03ac8b0619b"
CONFIG = ca.Config(server_address="https://x.org", token=TOKEN)
TTL = f"/auth/api/v1/user/token/{TOKEN}/ttl"
NOT_YOURS = {
    "error": "invalid_token",
    "message": "Token does not exist or is not asociated with your account.",
}


@pytest.mark.parametrize(("answer", "expected"), [(-1, None), (604799, 604799)])
def test_ttl_is_none_for_api_keys_and_seconds_for_login_tokens(answer, expected):
    """-1 (an API key) reads as None; a login token's seconds are returned."""
    fake = FakeTransport({("GET", TTL): answer})
    assert get_token_ttl(CONFIG, fake) == expected
    assert fake.requests[0].token == TOKEN


def test_ttl_errors_never_show_the_token_in_the_url():
    """A 404 for the TTL route names the route with <token>, never the token."""
    fake = FakeTransport({("GET", TTL): json_response(NOT_YOURS, status=404)})
    with pytest.raises(ca.NotFoundError) as caught:
        get_token_ttl(CONFIG, fake)
    assert TOKEN not in str(caught.value)
    assert TOKEN not in repr(caught.value.args)
    assert TOKEN not in (caught.value.url or "")
    assert "not asociated" in caught.value.server_message


def test_ttl_non_integer_answer_is_a_format_error_without_the_token():
    """A TTL answer that is not an integer is a ResponseFormatError, token masked."""
    fake = FakeTransport({("GET", TTL): "soon"})
    with pytest.raises(ca.ResponseFormatError) as caught:
        get_token_ttl(CONFIG, fake)
    assert TOKEN not in str(caught.value)
    assert "/user/token/<token>/ttl" in str(caught.value)


def test_ttl_without_a_token_makes_no_request():
    """No token: MissingTokenError before any I/O."""
    fake = FakeTransport()
    with pytest.raises(ca.MissingTokenError):
        get_token_ttl(ca.Config(), fake)
    assert fake.requests == []


HTTP_LOGGERS = ("urllib3.connectionpool", "httpx")


@pytest.fixture
def bare_http_loggers(monkeypatch):
    """Give the HTTP libraries' loggers no filters for one test."""
    for name in HTTP_LOGGERS:
        monkeypatch.setattr(logging.getLogger(name), "filters", [])


def test_endpoint_calls_leave_the_process_loggers_alone(bare_http_loggers):
    """A TTL call, sync or async, changes no logger's configuration."""
    import asyncio

    from cave_auth import aio
    from cave_auth.testing import FakeAsyncTransport

    loggers = [logging.getLogger(), *map(logging.getLogger, HTTP_LOGGERS)]
    before = [(list(one.filters), list(one.handlers), one.level) for one in loggers]
    get_token_ttl(CONFIG, FakeTransport({("GET", TTL): -1}))
    asyncio.run(aio.get_token_ttl(CONFIG, FakeAsyncTransport({("GET", TTL): -1})))
    after = [(list(one.filters), list(one.handlers), one.level) for one in loggers]
    assert after == before


def test_urllib3_debug_lines_do_not_show_the_ttl_token(bare_http_loggers, caplog):
    """Once a Urllib3Transport exists, urllib3's request log masks the TTL token."""
    ca.Urllib3Transport()
    caplog.set_level(logging.DEBUG, logger="urllib3.connectionpool")
    logging.getLogger("urllib3.connectionpool").debug(
        '%s://%s:%s "%s %s %s" %s %s',
        "https",
        "x.org",
        443,
        "GET",
        TTL,
        "HTTP/1.1",
        200,
        3,
    )
    assert TOKEN not in caplog.text
    assert "/user/token/<token>/ttl" in caplog.text


def test_logout_of_a_login_token_succeeds():
    """/logout answering "success" returns None."""
    fake = FakeTransport({("GET", "/auth/api/v1/logout"): "success"})
    assert logout(CONFIG, fake) is None


def test_logout_of_an_api_key_carries_the_servers_explanation():
    """A 422 for an API key is an HTTPError with the server's words."""
    answer = text_response("Can't logout an API Key.", status=422)
    fake = FakeTransport({("GET", "/auth/api/v1/logout"): answer})
    with pytest.raises(ca.HTTPError) as caught:
        logout(CONFIG, fake)
    assert caught.value.status == 422
    assert caught.value.server_message == "Can't logout an API Key."
    assert "Can't logout an API Key." in str(caught.value)


def test_logout_all_expects_success():
    """/logout_all answering anything but "success" is a format error."""
    fake = FakeTransport({("GET", "/auth/api/v1/logout_all"): "success"})
    assert logout_all(CONFIG, fake) is None
    fake.add_route("GET", "/auth/api/v1/logout_all", {"ok": True})
    with pytest.raises(ca.ResponseFormatError):
        logout_all(CONFIG, fake)


def test_missing_tos_lists_each_with_its_accept_url():
    """Each missing ToS comes with the page where it is accepted."""
    recorded = [
        {
            "dataset_id": 2,
            "dataset_name": "test_tos_ds",
            "tos_id": 2,
            "tos_name": "Test ToS",
        }
    ]
    fake = FakeTransport({("GET", "/auth/api/v1/user/missing"): recorded})
    [missing] = get_missing_tos(CONFIG, fake)
    assert missing.tos_name == "Test ToS"
    assert missing.accept_url == "https://x.org/sticky_auth/api/v1/tos/2/accept"
    fake.add_route("GET", "/auth/api/v1/user/missing", [])
    assert get_missing_tos(CONFIG, fake) == []


def test_async_twins_answer_like_the_sync_calls():
    """The async session calls send the same requests and return the same values."""
    import asyncio

    from cave_auth import aio
    from cave_auth.testing import FakeAsyncTransport

    recorded = [
        {"dataset_id": 2, "dataset_name": "test_tos_ds", "tos_id": 2, "tos_name": "T"}
    ]
    routes = {
        ("GET", TTL): 604799,
        ("GET", "/auth/api/v1/logout"): "success",
        ("GET", "/auth/api/v1/logout_all"): "success",
        ("GET", "/auth/api/v1/user/missing"): recorded,
    }
    fake = FakeAsyncTransport(routes)

    async def calls():
        return (
            await aio.get_token_ttl(CONFIG, fake),
            await aio.logout(CONFIG, fake),
            await aio.logout_all(CONFIG, fake),
            await aio.get_missing_tos(CONFIG, fake),
        )

    ttl, out, out_all, missing = asyncio.run(calls())
    assert (ttl, out, out_all) == (604799, None, None)
    assert missing == get_missing_tos(CONFIG, FakeTransport(routes))
    assert missing[0].accept_url.endswith("/sticky_auth/api/v1/tos/2/accept")


def test_async_logout_of_an_api_key_raises_the_servers_words():
    """The async logout of an API key raises the same HTTPError as api.logout."""
    import asyncio

    from cave_auth import aio
    from cave_auth.testing import FakeAsyncTransport

    answer = text_response("Can't logout an API Key.", status=422)
    fake = FakeAsyncTransport({("GET", "/auth/api/v1/logout"): answer})
    with pytest.raises(ca.HTTPError, match="Can't logout an API Key"):
        asyncio.run(aio.logout(CONFIG, fake))


def test_server_warning_on_the_ttl_route_is_logged_without_the_token(caplog):
    """A Warning header on the TTL answer is logged with the URL masked."""
    answer = json_response(-1, headers={"Warning": "199 - deprecated"})
    with caplog.at_level(logging.WARNING, logger="cave_auth"):
        get_token_ttl(CONFIG, FakeTransport({("GET", TTL): answer}))
    assert "deprecated" in caplog.text
    assert TOKEN not in caplog.text
