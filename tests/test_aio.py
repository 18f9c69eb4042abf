"""Tests for cave_auth.aio: every endpoint answers and fails exactly as in cave_auth.api."""

from __future__ import annotations

import asyncio
import inspect
import logging

import pytest

import cave_auth as ca
from cave_auth import aio, api
from cave_auth.testing import (
    FakeAsyncTransport,
    FakeTransport,
    json_response,
    text_response,
)

TOKEN = "54b722d3c4e741a03d1d3bc6c06ee58d"
SERVER = "https://auth.example.org"
API = "/auth/api/v1"
CONFIG = ca.Config(SERVER, token=TOKEN)

USER = {"id": 2, "name": "Norm User", "created": "Sat, 28 Nov 2026 04:59:28 GMT"}
TOKEN_ROW = {"id": 6, "token": "1947981fe617aa124144a7fdb532e335", "user_id": 2}
ROOT = 720575940000000001
PERMISSIONS = {"id": 2, "name": "Norm User", "groups": ["default"], "missing_tos": []}

# name -> (arguments after config and transport, route path, a good answer)
ENDPOINTS = {
    "get_tokens": ((), "/user/token", [TOKEN_ROW]),
    "get_user_information": (([1, 2],), "/user", [USER]),
    "get_group_users": ((7,), "/group/7/user", [{"admin": True, "id": 1, "name": "A"}]),
    "whoami": ((), "/user/me", USER),
    "get_user_cache": ((), "/user/cache", PERMISSIONS),
    "get_my_permissions": ((), "/my_permissions", PERMISSIONS),
    "get_user_permissions": ((2,), "/user/2/permissions", PERMISSIONS),
    "get_user_groups": ((2,), "/user/2/group", [{"id": 1, "name": "default"}]),
    "get_usernames": (([1],), "/username", [{"id": 1, "name": "Ada"}]),
    "create_token": (("ci",), "/user/token", "0123456789abcdef0123456789abcdef"),
    "delete_token": ((6,), "/user/token/6", "success"),
    "get_user_cache_data": ((), "/user/cache", PERMISSIONS),
    "get_user_permissions_data": ((2,), "/user/2/permissions", PERMISSIONS),
    "get_table_dataset": (
        ("datastack", "test_ds"),
        "/service/datastack/table/test_ds/dataset",
        "test_ds",
    ),
    "table_has_public": (("t",), "/table/t/has_public", True),
    "get_public_roots": (("t",), "/table/t/get_public_roots", [ROOT, ROOT + 1]),
    "is_root_public": (("t", ROOT), f"/table/t/root/{ROOT}/is_public", False),
    "are_roots_public": (("t", [ROOT]), "/table/t/root_all_public", True),
    "get_token_ttl": ((), f"/user/token/{TOKEN}/ttl", 604799),
    "logout": ((), "/logout", "success"),
    "logout_all": ((), "/logout_all", "success"),
    "get_missing_tos": (
        (),
        "/user/missing",
        [{"dataset_id": 2, "dataset_name": "d", "tos_id": 2, "tos_name": "T"}],
    ),
}
METHODS = {"create_token": "POST", "delete_token": "DELETE", "are_roots_public": "POST"}

FAILURES = {
    "401": json_response(
        {"error": "invalid_token", "message": f"bad {TOKEN}"}, status=401
    ),
    "login redirect": text_response(
        "", status=302, headers={"Location": f"{SERVER}/sticky_auth/api/v1/authorize"}
    ),
    "missing tos": json_response(
        {
            "error": "missing_tos",
            "data": {"tos_form_url": f"{SERVER}/tos/2/accept", "tos_id": 2},
        },
        status=403,
    ),
    "403": text_response("no admin", status=403),
    "404": text_response("<title>404 Not Found</title>", status=404),
    "503": text_response("down", status=503),
    "418": text_response("teapot", status=418),
    "not json": text_response("<html>", status=200),
    "wrong shape": json_response({"unexpected": True}),
    "transport error": ca.TransportError("refused", method="GET", url=SERVER),
}


def call_both(name, *, answer=None, script=(), config=CONFIG, args=None, timeout=None):
    """Call an endpoint through api and aio on equal fakes; return both outcomes."""
    default_args, path, good = ENDPOINTS[name]
    method = METHODS.get(name, "GET")
    routes = {(method, API + path): good if answer is None else answer}
    outcomes = []
    for module, fake in (
        (api, FakeTransport(routes)),
        (aio, FakeAsyncTransport(routes)),
    ):
        if script:
            fake.script(method, API + path, *script)
        call = getattr(module, name)
        try:
            result = call(
                config,
                fake,
                *(default_args if args is None else args),
                timeout=timeout,
            )
            if inspect.isawaitable(result):
                result = asyncio.run(result)
        except ca.CaveAuthError as error:
            result = error
        outcomes.append((result, fake.requests))
    return outcomes


def error_state(error):
    """What a user can see of an error: its class, message and attributes."""
    return type(error), str(error), vars(error)


@pytest.mark.parametrize("name", ENDPOINTS)
def test_every_endpoint_gives_the_same_result(name):
    """An endpoint's coroutine sends the same request and returns the same value."""
    (sync, sync_sent), (async_, async_sent) = call_both(name, timeout=2.5)
    assert not isinstance(sync, Exception)
    assert async_ == sync
    assert async_sent == sync_sent
    assert len(sync_sent) == 1
    assert sync_sent[0].timeout == 2.5


@pytest.mark.parametrize("failure", FAILURES)
@pytest.mark.parametrize("name", ENDPOINTS)
def test_every_endpoint_fails_the_same_way(name, failure):
    """Each error answer raises the same error, message and attributes on both sides."""
    (sync, _), (async_, _) = call_both(name, script=[FAILURES[failure]])
    assert isinstance(sync, ca.CaveAuthError)
    assert error_state(async_) == error_state(sync)
    assert TOKEN not in str(sync)


@pytest.mark.parametrize("name", ENDPOINTS)
def test_missing_token_fails_the_same_way_before_io(name):
    """Without a token both sides raise the same MissingTokenError and send nothing."""
    outcomes = call_both(name, config=ca.Config(SERVER))
    (sync, sync_sent), (async_, async_sent) = outcomes
    assert isinstance(sync, ca.MissingTokenError)
    assert error_state(async_) == error_state(sync)
    assert sync_sent == async_sent == []


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("get_group_users", (True,)),
        ("get_user_permissions", (-1,)),
        ("get_user_groups", ("2",)),
        ("delete_token", (None,)),
        ("get_user_information", ("1,2",)),
        ("get_usernames", ([1, 2.0],)),
        ("create_token", ("x" * 121,)),
        ("get_user_permissions_data", (True,)),
        ("get_table_dataset", ("datastack", 5)),
        ("table_has_public", ("",)),
        ("get_public_roots", (None,)),
        ("is_root_public", ("t", "abc")),
        ("are_roots_public", ("t", [1, -1])),
    ],
)
def test_bad_arguments_fail_the_same_way_before_io(name, args):
    """Invalid arguments raise the same InvalidInputError, with no request."""
    (sync, sync_sent), (async_, async_sent) = call_both(name, args=args)
    assert isinstance(sync, ca.InvalidInputError)
    assert error_state(async_) == error_state(sync)
    assert sync_sent == async_sent == []


@pytest.mark.parametrize("name", ["get_user_information", "get_usernames"])
def test_empty_id_list_makes_no_request_on_either_side(name):
    """An empty id list gives [] without a request, and without needing a token."""
    for config in (CONFIG, ca.Config(SERVER)):
        outcomes = call_both(name, args=([],), config=config)
        assert outcomes == [([], []), ([], [])]


def test_are_roots_public_of_no_roots_is_false_on_either_side():
    """An empty root list gives False without a request on both sides."""
    for config in (CONFIG, ca.Config(SERVER)):
        outcomes = call_both("are_roots_public", args=("t", []), config=config)
        assert outcomes == [(False, []), (False, [])]


@pytest.mark.parametrize("name", ENDPOINTS)
def test_signatures_match_the_sync_module(name):
    """Each coroutine has the sync function's name, parameters and defaults."""
    sync = inspect.signature(getattr(api, name))
    async_ = getattr(aio, name)
    assert inspect.iscoroutinefunction(async_)
    shape = [
        (p.name, p.kind, p.default)
        for p in inspect.signature(async_).parameters.values()
    ]
    assert shape == [(p.name, p.kind, p.default) for p in sync.parameters.values()]
    assert inspect.signature(async_).return_annotation == sync.return_annotation


def test_aio_offers_every_endpoint_of_api():
    """cave_auth.aio exports every endpoint of cave_auth.api, its transport and nothing else."""
    endpoints = set(aio.__all__) - {"HttpxTransport"}
    assert endpoints == set(api.__all__) - {"raise_for_response"}
    assert endpoints == set(ENDPOINTS)
    assert "HttpxTransport" in aio.__all__


def test_server_warning_is_logged_by_the_async_shell(caplog):
    """The async shell logs the server's Warning header without the token."""
    answer = json_response(USER, headers={"Warning": f'299 - "deprecated {TOKEN}"'})
    fake = FakeAsyncTransport({("GET", API + "/user/me"): answer})
    with caplog.at_level(logging.WARNING, logger="cave_auth"):
        asyncio.run(aio.whoami(CONFIG, fake))
    assert 'deprecated <token>"' in caplog.text
    assert TOKEN not in caplog.text


def test_coroutines_run_concurrently_on_one_transport():
    """Several calls can be gathered on one async transport."""
    fake = FakeAsyncTransport({("GET", API + "/user/me"): USER})

    async def main():
        return await asyncio.gather(*(aio.whoami(CONFIG, fake) for _ in range(5)))

    users = asyncio.run(main())
    assert [user.id for user in users] == [2] * 5
    assert len(fake.requests) == 5


def test_fake_async_transport_shares_fake_transport_features():
    """FakeAsyncTransport routes, scripts, records and reprs like FakeTransport."""
    fake = FakeAsyncTransport(handler=lambda request: {"path": request.path})
    assert isinstance(fake, ca.AsyncTransport)
    fake.add_route("GET", "/a", {"a": 1})
    fake.script("GET", "/a", 503)
    url = "https://x.org/a"

    async def main():
        first = await fake.request("GET", url, headers={"Authorization": "Bearer t"})
        second = await fake.request("GET", url, headers={}, params={"q": "1"})
        other = await fake.request("GET", "https://x.org/b", headers={})
        return first, second, other

    first, second, other = asyncio.run(main())
    assert (first.status, second.status, other.status) == (503, 200, 200)
    assert (first.url, other.body) == (url, b'{"path": "/b"}\n')
    assert [r.params for r in fake.requests_to("GET", "/a")] == [{}, {"q": "1"}]
    assert fake.requests[0].token == "t"
    assert fake.requests is fake.sync.requests
    assert repr(fake) == "FakeAsyncTransport(routes=[('GET', '/a')], requests=3)"


def test_scripted_exception_is_raised_by_the_coroutine():
    """A scripted exception surfaces from the awaited call, then the route answers."""
    fake = FakeAsyncTransport({("GET", API + "/user/me"): USER})
    fake.script("GET", API + "/user/me", ca.TransportError("refused"))
    with pytest.raises(ca.TransportError, match="refused"):
        asyncio.run(aio.whoami(CONFIG, fake))
    assert asyncio.run(aio.whoami(CONFIG, fake)).id == 2


def test_a_transport_error_reaches_the_caller_without_the_token():
    """As in api, an adapter's TransportError loses the TTL URL's token and its chain."""
    from test_api import leaky_adapter

    fake = FakeAsyncTransport(handler=leaky_adapter)
    with pytest.raises(ca.TransportError) as info:
        asyncio.run(aio.get_token_ttl(CONFIG, fake))
    shown = f"{SERVER}{API}/user/token/<token>/ttl"
    assert info.value.args == (f"GET {shown}: ReadTimeout",)
    assert info.value.url == shown
    assert (info.value.__cause__, info.value.__context__) == (None, None)


def test_httpx_transport_maps_a_refused_connection_to_transport_error():
    """The shipped httpx transport turns a refused connection into TransportError."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = ca.Config(f"http://127.0.0.1:{port}", token=TOKEN)

    async def main():
        async with aio.HttpxTransport() as http:
            assert isinstance(http, ca.AsyncTransport)
            return await aio.whoami(config, http)

    with pytest.raises(ca.TransportError) as info:
        asyncio.run(main())
    assert info.value.url == f"http://127.0.0.1:{port}/auth/api/v1/user/me"
    assert TOKEN not in str(info.value)
    assert (info.value.__cause__, info.value.__context__) == (None, None)


def test_httpx_transport_gives_the_sync_results_on_a_real_server(monkeypatch):
    """Over loopback HTTP, HttpxTransport and Urllib3Transport give equal results."""
    from cave_auth.testing import (
        FakeAuthServer,
        backend,
        guards,
        messages,
        views_tokens,
    )

    # The fake's clock stands still, so that a key's last_used is the same
    # whichever second each side's call falls in.
    frozen = messages.now()
    for module in (backend, guards, views_tokens):
        monkeypatch.setattr(module, "now", lambda: frozen)
    with FakeAuthServer() as server, ca.Urllib3Transport() as sync_http:
        config = ca.Config(server.url, token=server.admin_token)
        calls = [
            ("whoami", ()),
            ("get_group_users", (2,)),
            ("get_tokens", ()),
            ("get_user_information", ([1, 2],)),
            ("get_token_ttl", ()),
        ]

        async def main():
            async with aio.HttpxTransport() as http:
                return [await getattr(aio, n)(config, http, *a) for n, a in calls]

        expected = [getattr(api, n)(config, sync_http, *a) for n, a in calls]
        assert asyncio.run(main()) == expected
        with pytest.raises(ca.NotFoundError) as info:
            asyncio.run(_delete_missing(config))
        with pytest.raises(ca.NotFoundError) as sync_info:
            api.delete_token(config, sync_http, 999)
        assert error_state(info.value) == error_state(sync_info.value)


async def _delete_missing(config):
    async with aio.HttpxTransport() as http:
        await aio.delete_token(config, http, 999)
