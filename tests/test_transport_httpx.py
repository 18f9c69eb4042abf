"""``aio.HttpxTransport``: what is its own beside the rules it shares.

The shared rules (requests as sent, redirects, plain http, TLS, proxies,
deadline, size cap) are tested with both transports in ``test_transport*.py``.
Here: its lifecycle with an owned or a given client, cookies, settings, the
lazy import and the ``httpx`` extra. Every server is on loopback.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from loopback_server import LoopbackServer, Reply

import cave_auth as ca
from cave_auth import aio

pytestmark = pytest.mark.timeout(30)

TOKEN = "tok-0123456789abcdef0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    server = LoopbackServer()
    yield server
    server.stop()


def test_it_is_an_async_transport_of_both_modules() -> None:
    """aio.HttpxTransport and transport.HttpxTransport are one AsyncTransport class."""
    from cave_auth.transport import HttpxTransport

    assert aio.HttpxTransport is HttpxTransport
    assert isinstance(HttpxTransport(), ca.AsyncTransport)


def test_async_with_closes_its_own_connections(server: LoopbackServer) -> None:
    """Leaving ``async with`` closes the transport's own connections; it can be used again."""

    async def main() -> None:
        async with aio.HttpxTransport() as http:
            response = await http.request("GET", server.url(), headers=AUTH)
            assert response.status == 200
            assert server.wait_open_count(1)
        assert server.wait_open_count(0)
        assert (await http.request("GET", server.url(), headers=AUTH)).status == 200
        await http.aclose()

    asyncio.run(main())
    assert server.wait_open_count(0)


def test_a_given_client_is_used_and_left_open(server: LoopbackServer) -> None:
    """A client passed in sends the requests (its headers too) and stays open after the transport closes."""

    async def main() -> None:
        async with httpx.AsyncClient(headers={"X-App": "mine"}) as client:
            async with aio.HttpxTransport(client) as http:
                await http.request("GET", server.url("/a"), headers=AUTH)
            assert not client.is_closed
            assert (await client.get(server.url("/b"))).status_code == 200

    asyncio.run(main())
    assert [entry.header("X-App") for entry in server.requests] == ["mine", "mine"]
    assert server.requests[0].header("Authorization") == AUTH["Authorization"]


def test_a_given_client_that_follows_redirects_does_not_follow_one_to_another_origin(
    server: LoopbackServer,
) -> None:
    """Even over a client made to follow redirects, a redirect elsewhere is returned, not followed."""
    other = LoopbackServer()
    server.script(
        Reply(302, headers={"Location": other.url("/steal", host="localhost")})
    )

    async def main() -> ca.Response:
        async with httpx.AsyncClient(follow_redirects=True) as client:
            return await aio.HttpxTransport(client).request(
                "GET", server.url("/start"), headers=AUTH
            )

    try:
        response = asyncio.run(main())
        assert (response.status, response.redirected) == (302, False)
        assert other.requests == []
    finally:
        other.stop()


def test_aio_calls_ride_out_a_burst_of_503s_and_a_post_is_sent_once() -> None:
    """Through aio, a GET is retried past 503s and a dropped connection; a POST is not."""
    from cave_auth.testing import FakeAuthServer

    async def calls(server: FakeAuthServer) -> tuple[Any, Any]:
        config = ca.Config(server.url, token=server.admin_token)
        async with aio.HttpxTransport(retries=3, backoff_factor=0.01) as http:
            server.fail_next(2)
            server.drop_next(1)
            user = await aio.whoami(config, http)
            server.fail_next(1)
            with pytest.raises(ca.ServerError) as refused:
                await aio.create_token(config, http, "once")
            return user, refused.value

    with FakeAuthServer() as server:
        user, refused = asyncio.run(calls(server))
        assert user.name == "Ada Admin"
        assert server.count("GET", "/auth/api/v1/user/me") == 4  # 503, 503, drop, 200
        assert refused.status == 503
        assert server.count("POST", "/auth/api/v1/user/token") == 1


def test_settings_of_its_own_pools_are_refused_with_a_client() -> None:
    """Proxy or CA settings beside a given client are refused, saying where they go."""
    with pytest.raises(
        ca.InvalidInputError, match=r"give them to the httpx\.AsyncClient"
    ):
        aio.HttpxTransport(httpx.AsyncClient(), proxy="http://127.0.0.1:3128")


@pytest.mark.parametrize(
    "settings",
    [
        {"timeout": 0},
        {"connect_timeout": -1},
        {"max_body_size": 0},
        {"max_redirects": -1},
        {"retries": -1},
        {"backoff_factor": -0.1},
        {"retry_after_max": -1},
    ],
)
def test_bad_settings_are_refused(settings: dict[str, Any]) -> None:
    """An out-of-range number is an InvalidInputError naming the setting."""
    with pytest.raises(ca.InvalidInputError, match=next(iter(settings))):
        aio.HttpxTransport(**settings)


def test_no_cookie_of_one_answer_goes_out_with_the_next_request(
    server: LoopbackServer,
) -> None:
    """The transport's own pools keep no cookies: a Set-Cookie never comes back."""
    server.script(Reply(200, headers={"Set-Cookie": "session=alice; Path=/"}))

    async def main() -> None:
        async with aio.HttpxTransport() as http:
            await http.request("GET", server.url("/login"), headers=AUTH)
            await http.request("GET", server.url("/next"), headers={})

    asyncio.run(main())
    assert [entry.header("Cookie") for entry in server.requests] == [None, None]


def test_plain_http_through_a_remote_proxy_is_refused() -> None:
    """A token for http://localhost never goes through a proxy on another machine."""
    environ = {"HTTP_PROXY": "http://alice:s3cret@proxy.corp.example:3128"}
    config = ca.Config("http://localhost:9", token=TOKEN[4:])
    http = aio.HttpxTransport.from_env(environ)
    with pytest.raises(ca.InsecureTransportError) as info:
        asyncio.run(aio.whoami(config, http))
    assert info.value.proxy == "http://***@proxy.corp.example:3128"
    assert "s3cret" not in str(info.value)


def test_from_env_reads_the_variables_and_overrides_win(tmp_path: Any) -> None:
    """from_env takes the proxy and CA variables; an argument wins over them."""
    environ = {"HTTPS_PROXY": "http://u:p@127.0.0.1:3128", "NO_PROXY": "example.org"}
    http = aio.HttpxTransport.from_env(environ, timeout=3)
    assert http.timeout == 3.0
    assert (
        http.proxy_rules.proxy_for("https", "auth.org", 443) == "http://127.0.0.1:3128"
    )
    assert http.proxy_rules.proxy_for("https", "example.org", 443) is None
    with pytest.raises(ca.InvalidInputError, match="CA bundle"):
        aio.HttpxTransport.from_env({"SSL_CERT_FILE": str(tmp_path / "missing.pem")})
    assert aio.HttpxTransport.from_env(
        {"SSL_CERT_FILE": str(tmp_path / "missing.pem")}, ca_certs=None
    )


def test_repr_shows_settings_and_no_secret() -> None:
    """The repr shows the settings, with proxy credentials masked."""
    http = aio.HttpxTransport(timeout=7, proxy="http://alice:s3cret@127.0.0.1:3128")
    text = repr(http)
    assert text.startswith("HttpxTransport(timeout=7.0, connect_timeout=5.0")
    assert "http://***@127.0.0.1:3128" in text
    assert "s3cret" not in text
    assert "client=own" in text


def test_the_ttl_token_is_masked_in_httpx_request_lines(
    server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The INFO line httpx logs for a given client's request shows the TTL path without the token."""
    url = server.url(f"/auth/api/v1/user/token/{TOKEN}/ttl")

    async def main() -> None:
        async with httpx.AsyncClient() as client:
            await aio.HttpxTransport(client).request("GET", url, headers=AUTH)

    with caplog.at_level(logging.INFO, logger="httpx"):
        asyncio.run(main())
    assert "/user/token/<token>/ttl" in caplog.text
    assert TOKEN not in caplog.text


def test_importing_aio_does_not_import_httpx() -> None:
    """``import cave_auth.aio`` stays cheap: httpx is imported when HttpxTransport is named."""
    code = (
        "import sys, cave_auth.aio, cave_auth.transport\n"
        "print('httpx' in sys.modules)\n"
        "cave_auth.aio.HttpxTransport\n"
        "print('httpx' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "True"]


@pytest.mark.parametrize("module", ["cave_auth.aio", "cave_auth.transport"])
def test_without_httpx_the_name_says_which_extra_to_install(module: str) -> None:
    """Without httpx, naming HttpxTransport fails with the pip command of the extra."""
    code = (
        f"import sys; sys.modules['httpx'] = None\nimport {module} as m\n"
        "try:\n    m.HttpxTransport\nexcept ImportError as error:\n    print(error)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "pip install 'cave-auth[httpx]'" in out
