"""Tests for cave_auth.routes: the pure request builders, parsers and flows."""

from __future__ import annotations

import attrs
import pytest

import cave_auth as ca
from cave_auth import api, routes
from cave_auth.testing import json_response, text_response

TOKEN = "54b722d3c4e741a03d1d3bc6c06ee58d"
SERVER = "https://auth.example.org"
API = SERVER + "/auth/api/v1"
CONFIG = ca.Config(SERVER, token=TOKEN)
HEADERS = {"Authorization": "Bearer " + TOKEN, "Accept": "application/json"}
ME = {"id": 1, "name": "Ada Admin"}
BIG_ROOT = 720575940000000001  # beyond 2**53: a float would change it


def drive(flow, *answers):
    """Step a flow by hand: send each answer in turn, return requests and result."""
    requests = []
    pending = list(answers)
    try:
        requests.append(next(flow))
        while True:
            requests.append(flow.send(pending.pop(0)))
    except StopIteration as done:
        return requests, done.value


@attrs.frozen
class BareAnswer:
    """An answer that is not a cave_auth.Response, to show parsers need none."""

    status: int
    body: bytes
    url: str = ""

    def header(self, name: str) -> str | None:
        return None


def test_every_endpoint_has_one_route_and_one_flow():
    """Each endpoint of cave_auth.api is described by a route and a flow of the same name."""
    endpoints = set(api.__all__) - {"raise_for_response"}
    assert set(routes.ENDPOINT_ROUTES) == endpoints
    for name in endpoints:
        assert callable(getattr(routes, name))


@pytest.mark.parametrize(
    ("route", "ids", "method", "url"),
    [
        (routes.GET_TOKENS, {}, "GET", API + "/user/token"),
        (routes.GET_USER_INFORMATION, {}, "GET", API + "/user"),
        (routes.GET_GROUP_USERS, {"group_id": 7}, "GET", API + "/group/7/user"),
        (routes.WHOAMI, {}, "GET", API + "/user/me"),
        (routes.GET_USER_CACHE, {}, "GET", API + "/user/cache"),
        (routes.GET_MY_PERMISSIONS, {}, "GET", API + "/my_permissions"),
        (
            routes.GET_USER_PERMISSIONS,
            {"user_id": 2},
            "GET",
            API + "/user/2/permissions",
        ),
        (routes.GET_USER_GROUPS, {"user_id": 2}, "GET", API + "/user/2/group"),
        (routes.GET_USERNAMES, {}, "GET", API + "/username"),
        (routes.CREATE_TOKEN, {}, "POST", API + "/user/token"),
        (routes.DELETE_TOKEN, {"token_id": 9}, "DELETE", API + "/user/token/9"),
        (routes.GET_USER_CACHE_DATA, {}, "GET", API + "/user/cache"),
        (
            routes.GET_USER_PERMISSIONS_DATA,
            {"user_id": 2},
            "GET",
            API + "/user/2/permissions",
        ),
        (
            routes.GET_TABLE_DATASET,
            {"namespace": "datastack", "table_id": "test_ds"},
            "GET",
            API + "/service/datastack/table/test_ds/dataset",
        ),
        (
            routes.TABLE_HAS_PUBLIC,
            {"table_id": "t"},
            "GET",
            API + "/table/t/has_public",
        ),
        (
            routes.GET_PUBLIC_ROOTS,
            {"table_id": "t"},
            "GET",
            API + "/table/t/get_public_roots",
        ),
        (
            routes.IS_ROOT_PUBLIC,
            {"table_id": "t", "root_id": BIG_ROOT},
            "GET",
            API + f"/table/t/root/{BIG_ROOT}/is_public",
        ),
        (
            routes.ARE_ROOTS_PUBLIC,
            {"table_id": "t"},
            "POST",
            API + "/table/t/root_all_public",
        ),
    ],
)
def test_build_gives_method_full_url_and_bearer_header(route, ids, method, url):
    """A route builds its request from the config: full URL, bearer token, JSON accepted."""
    request = route.build(CONFIG, **ids)
    assert request == ca.ApiRequest(method, url, HEADERS)


def test_build_without_token_is_missing_token_error():
    """Building a request without a token says where to get one."""
    with pytest.raises(ca.MissingTokenError) as info:
        routes.WHOAMI.build(ca.Config(SERVER))
    assert info.value.token_page_url == ca.token_page_url(SERVER)


def test_request_repr_hides_the_token():
    """The repr of a request never shows the Authorization header."""
    request = routes.CREATE_TOKEN.build(CONFIG, json={"description": "ci"})
    assert TOKEN not in repr(request)
    assert "'Authorization': '<hidden>'" in repr(request)
    assert "'description': 'ci'" in repr(request)


def test_flow_yields_the_request_and_returns_the_parsed_answer():
    """A flow needs no transport: it yields its request and parses what it is sent."""
    sent, members = drive(
        routes.get_group_users(CONFIG, 7),
        json_response([{"admin": True, "id": 1, "name": "Ada"}]),
    )
    assert sent == [ca.ApiRequest("GET", API + "/group/7/user", HEADERS)]
    assert members == [ca.GroupMember(admin=True, id=1, name="Ada")]


def test_id_lists_become_one_query_parameter():
    """User ids travel as one comma-separated id parameter."""
    sent, names = drive(
        routes.get_usernames(CONFIG, [1, 2]), json_response([{"id": 1, "name": "A"}])
    )
    assert sent[0].params == {"id": "1,2"}
    assert names == [ca.UserName(id=1, name="A")]


def test_create_token_sends_its_description_as_json():
    """create_token's request carries the description as its JSON body."""
    sent, token = drive(routes.create_token(CONFIG, "ci"), json_response("a" * 32))
    assert (sent[0].method, sent[0].json) == ("POST", {"description": "ci"})
    assert token == "a" * 32


@pytest.mark.parametrize("flow", [routes.get_user_information, routes.get_usernames])
def test_empty_id_list_needs_no_request(flow):
    """An empty id list is answered by the flow itself, without a request."""
    assert drive(flow(CONFIG, [])) == ([], [])


@pytest.mark.parametrize(
    ("flow", "args", "name"),
    [
        (routes.get_group_users, (-1,), "group_id"),
        (routes.get_user_permissions, (True,), "user_id"),
        (routes.get_user_groups, ("2",), "user_id"),
        (routes.delete_token, (1.0,), "token_id"),
        (routes.get_usernames, ("1,2",), "user_ids"),
        (routes.get_user_information, ([1, -2],), "user_ids[1]"),
        (routes.create_token, ("x" * 121,), "description"),
        (routes.get_user_permissions_data, (-2,), "user_id"),
        (routes.get_table_dataset, ("datastack", ""), "table_id"),
        (routes.get_table_dataset, (None, "t"), "namespace"),
        (routes.table_has_public, (7,), "table_id"),
        (routes.get_public_roots, (b"t",), "table_id"),
        (routes.is_root_public, ("t", "abc"), "root_id"),
        (routes.is_root_public, ("t", 1.0), "root_id"),
        (routes.are_roots_public, ("t", [1, "2"]), "root_ids[1]"),
        (routes.are_roots_public, ("t", "12"), "root_ids"),
    ],
)
def test_bad_arguments_fail_before_the_first_request(flow, args, name):
    """Arguments are checked when the flow starts, before it yields a request."""
    with pytest.raises(ca.InvalidInputError) as info:
        next(flow(CONFIG, *args))
    assert str(info.value).startswith(name)


def test_parse_maps_status_to_error_and_scrubs_the_token():
    """An error answer becomes its error, with the token cut out of the server's text."""
    request = routes.GET_TOKENS.build(CONFIG)
    answer = attrs.evolve(
        text_response(f"Token {TOKEN} is invalid", status=401),
        url=f"{API}/user/token?t={TOKEN}",
    )
    with pytest.raises(ca.AuthenticationError) as info:
        routes.GET_TOKENS.parse(CONFIG, request, answer)
    error = info.value
    assert error.server_message == "Token <token> is invalid"
    assert error.url == f"{API}/user/token?t=<token>"
    assert TOKEN not in str(error)


@pytest.mark.parametrize(
    ("route", "body"),
    [
        (routes.GET_TOKENS, b"not json"),
        (routes.GET_TOKENS, b'[{"id": "6"}]'),
        (routes.WHOAMI, b"[]"),
        (routes.CREATE_TOKEN, b'"two words"'),
        (routes.CREATE_TOKEN, b"5"),
        (routes.DELETE_TOKEN, b'"deleted"'),
    ],
)
def test_response_format_error_names_the_full_url(route, body):
    """A 2xx answer of the wrong shape is a ResponseFormatError carrying the full URL."""
    request = route.build(CONFIG, **({"token_id": 3} if "{" in route.path else {}))
    with pytest.raises(ca.ResponseFormatError) as info:
        route.parse(CONFIG, request, BareAnswer(200, body))
    assert info.value.url == request.url
    assert info.value.url.startswith(API + "/")
    assert str(info.value).startswith(f"{request.method} {request.url} answered 200")


def test_response_format_error_prefers_the_url_that_answered():
    """After a redirect, or with a query string, the error names the URL that answered."""
    request = routes.GET_USERNAMES.build(CONFIG, params={"id": "1"})
    answered = f"{API}/username?id=1&echo={TOKEN}"
    with pytest.raises(ca.ResponseFormatError) as info:
        routes.GET_USERNAMES.parse(CONFIG, request, BareAnswer(200, b"{", answered))
    assert info.value.url == f"{API}/username?id=1&echo=<token>"


def test_delete_token_success_parses_to_none():
    """delete_token's "success" answer becomes None."""
    request = routes.DELETE_TOKEN.build(CONFIG, token_id=3)
    assert (
        routes.DELETE_TOKEN.parse(CONFIG, request, BareAnswer(200, b'"success"'))
        is None
    )


def test_parsers_read_any_response_like_object():
    """The parser reads status, body, url and header(); no cave_auth.Response needed."""
    request = routes.WHOAMI.build(CONFIG)
    user = routes.WHOAMI.parse(
        CONFIG, request, BareAnswer(200, b'{"id": 1, "name": "A"}')
    )
    assert (user.id, user.name) == (1, "A")


def test_public_root_flows_keep_64_bit_ids_exact():
    """Root ids beyond 2**53 travel and come back as the same Python ints."""
    roots = [BIG_ROOT, BIG_ROOT + 1]
    sent, answer = drive(
        routes.are_roots_public(CONFIG, "t", roots), json_response(True)
    )
    assert sent[0].json == roots
    assert answer is True
    _, public = drive(
        routes.get_public_roots(CONFIG, "t"),
        BareAnswer(200, b"[720575940000000001,720575940000000002]"),
    )
    assert public == [BIG_ROOT, BIG_ROOT + 1]
    assert all(type(root) is int for root in public)


def test_are_roots_public_of_no_roots_is_false_without_a_request():
    """An empty root list is answered False by the flow itself, token or not."""
    assert drive(routes.are_roots_public(CONFIG, "t", [])) == ([], False)
    assert drive(routes.are_roots_public(ca.Config(SERVER), "t", set())) == ([], False)


def test_names_in_paths_are_one_encoded_segment():
    """A table or namespace name is percent-encoded: it cannot reach another route."""
    sent, _ = drive(
        routes.get_table_dataset(CONFIG, "data stack", "a/../b?c"),
        json_response("test_ds"),
    )
    assert sent[0].url == API + "/service/data%20stack/table/a%2F..%2Fb%3Fc/dataset"


@pytest.mark.parametrize(
    ("flow", "body", "expected"),
    [
        (lambda: routes.table_has_public(CONFIG, "t"), b"false", False),
        (lambda: routes.is_root_public(CONFIG, "t", 1), b"true", True),
        (lambda: routes.get_table_dataset(CONFIG, "ns", "t"), b'"test_ds"', "test_ds"),
        (
            lambda: routes.get_user_cache_data(CONFIG),
            b'{"id": 2, "groups": ["default"], "new_key": [1]}',
            {"id": 2, "groups": ["default"], "new_key": [1]},
        ),
    ],
)
def test_bare_answers_come_back_as_sent(flow, body, expected):
    """Bare JSON answers are returned as the server sent them, unknown keys included."""
    _, answer = drive(flow(), BareAnswer(200, body))
    assert answer == expected
    assert type(answer) is type(expected)


@pytest.mark.parametrize(
    ("flow", "body"),
    [
        (lambda: routes.table_has_public(CONFIG, "t"), b"1"),
        (lambda: routes.is_root_public(CONFIG, "t", 1), b'"true"'),
        (lambda: routes.are_roots_public(CONFIG, "t", [1]), b"null"),
        (lambda: routes.get_table_dataset(CONFIG, "ns", "t"), b'""'),
        (lambda: routes.get_table_dataset(CONFIG, "ns", "t"), b'["test_ds"]'),
        (lambda: routes.get_public_roots(CONFIG, "t"), b"[7.205759400000001e17]"),
        (lambda: routes.get_public_roots(CONFIG, "t"), b'["1"]'),
        (lambda: routes.get_user_cache_data(CONFIG), b"[]"),
        (lambda: routes.get_user_cache_data(CONFIG), b'{"id": true}'),
        (lambda: routes.get_user_permissions_data(CONFIG, 2), b'{"name": "A"}'),
    ],
)
def test_bare_answers_of_another_shape_are_format_errors(flow, body):
    """A bare answer of the wrong shape is a ResponseFormatError saying what was expected."""
    with pytest.raises(ca.ResponseFormatError) as info:
        drive(flow(), BareAnswer(200, body))
    assert "answered 200 with an answer that is not" in str(info.value)
