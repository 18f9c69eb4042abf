"""Tests for cave_auth.api: every endpoint on a FakeTransport, every error mapping."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

import cave_auth as ca
from cave_auth.models import unstructure
from cave_auth.testing import FakeTransport, json_response, text_response

TOKEN = "54b722d3c4e741a03d1d3bc6c06ee58d"
SERVER = "https://auth.example.org"
API = "/auth/api/v1"
CONFIG = ca.Config(SERVER, token=TOKEN)

# Bodies as the real server sent them (shared/reference/middle_auth-api.md).
ADA = {
    "admin": True,
    "admin_datasets": [],
    "affiliations": [
        [{"id": 1, "name": "Test Institute", "start": "2026-11-28T04:59:28.770702"}]
    ],
    "created": "Sat, 28 Nov 2026 04:59:27 GMT",
    "email": "ada@example.org",
    "gdpr_consent": False,
    "id": 1,
    "name": "Ada Admin",
    "pi": "PI Ada",
    "service_account": False,
}
NORM_SHORT = {
    "affiliations": [[]],
    "created": "Sat, 28 Nov 2026 04:59:28 GMT",
    "id": 2,
    "name": "Norm User",
    "pi": "PI Norm",
    "service_account": False,
}
TESTBOT = {
    "admin": False,
    "admin_datasets": [],
    "affiliations": [[]],
    "created": "Sat, 28 Nov 2026 04:59:28 GMT",
    "email": "testbot@serviceaccount",
    "gdpr_consent": False,
    "id": 3,
    "name": "testbot",
    "parent": {
        "affiliations": [[]],
        "created": "Sat, 28 Nov 2026 04:59:27 GMT",
        "id": 1,
        "name": "Ada Admin",
        "pi": "PI Ada",
        "service_account": False,
    },
    "parent_id": 1,
    "pi": "",
    "service_account": True,
}
TOKENS = [
    {
        "created": "Sat, 28 Nov 2026 04:59:28 GMT",
        "description": "second seed token",
        "id": 6,
        "last_used": None,
        "token": "1947981fe617aa124144a7fdb532e335",
        "updated": "Sat, 28 Nov 2026 04:59:28 GMT",
        "user_id": 2,
    },
    {
        "created": "Sat, 28 Nov 2026 04:59:28 GMT",
        "description": None,
        "id": 3,
        "last_used": "Sat, 28 Nov 2026 04:59:46 GMT",
        "token": "a51143b9ac1093e8ef17af837d69d653",
        "updated": "Sat, 28 Nov 2026 04:59:46 GMT",
        "user_id": 2,
    },
]
MEMBERS = [
    {"admin": True, "id": 1, "name": "Ada Admin"},
    {"admin": False, "id": 2, "name": "Norm User"},
    {"admin": True, "id": 4, "name": "Gail"},
]
CACHE = {
    "admin": False,
    "affiliations": [[]],
    "datasets_admin": [],
    "email": "norm@example.org",
    "groups": ["default", "testgroup"],
    "groups_admin": [],
    "id": 2,
    "missing_tos": [
        {
            "dataset_id": 2,
            "dataset_name": "test_tos_ds",
            "tos_id": 2,
            "tos_name": "Test ToS",
        }
    ],
    "name": "Norm User",
    "parent_id": None,
    "permissions": {"test_ds": 2},
    "permissions_v2": {"test_ds": ["view", "edit"]},
    "permissions_v2_ignore_tos": {"test_ds": ["view", "edit"], "test_tos_ds": ["view"]},
    "pi": "PI Norm",
    "service_account": False,
}
NO_TOKEN_401 = {"error": "no_token", "message": "Unauthorized - No Token Provided"}
INVALID_401 = {
    "error": "invalid_token",
    "message": "Unauthorized - Token is Invalid or Expired",
}
MISSING_TOS = {
    "data": {
        "tos_form_url": "https://auth.example.org/sticky_auth/api/v1/tos/2/accept",
        "tos_id": 2,
        "tos_name": "Test ToS",
    },
    "error": "missing_tos",
    "message": "Need to accept Terms of Service to access resource.",
}


def fake(routes):
    return FakeTransport({(m, API + p): answer for (m, p), answer in routes.items()})


def test_get_tokens_parses_recorded_list():
    """get_tokens calls GET /user/token with the Bearer header and parses every key."""
    transport = fake({("GET", "/user/token"): TOKENS})
    tokens = ca.get_tokens(CONFIG, transport)
    (request,) = transport.requests
    assert request.url == f"{SERVER}{API}/user/token"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert [t.id for t in tokens] == [6, 3]
    assert tokens[0].last_used is None
    assert tokens[1].last_used == dt.datetime(2026, 11, 28, 4, 59, 46, tzinfo=dt.UTC)
    assert tokens[1].description is None
    assert unstructure(tokens) == TOKENS


def test_token_info_repr_masks_token():
    """TokenInfo's repr never shows the secret."""
    (info, _) = ca.get_tokens(CONFIG, fake({("GET", "/user/token"): TOKENS}))
    assert "1947981fe617aa124144a7fdb532e335" not in repr(info)


def test_get_user_information_sends_ids_and_round_trips():
    """get_user_information sends id=1,2,3 and keeps each record's own shape."""
    transport = fake({("GET", "/user"): [ADA, NORM_SHORT, TESTBOT]})
    users = ca.get_user_information(CONFIG, transport, [1, 2, 3])
    assert transport.requests[0].params == {"id": "1,2,3"}
    assert [u.name for u in users] == ["Ada Admin", "Norm User", "testbot"]
    assert users[1].email is None
    assert users[2].parent_id == 1
    assert unstructure(users) == [ADA, NORM_SHORT, TESTBOT]


def test_get_user_information_empty_makes_no_request():
    """An empty id list returns [] without any request."""
    transport = fake({})
    assert ca.get_user_information(CONFIG, transport, []) == []
    assert transport.requests == []


def test_numpy_like_integers_are_accepted():
    """Integer-like objects with __index__ are valid ids."""

    class Index:
        def __init__(self, value: int) -> None:
            self.value = value

        def __index__(self) -> int:
            return self.value

    transport = fake({("GET", "/user"): [ADA]})
    ca.get_user_information(CONFIG, transport, (Index(1), 2))
    assert transport.requests[0].params == {"id": "1,2"}


@pytest.mark.parametrize(
    ("user_ids", "name"),
    [
        ("1,2", "user_ids"),
        (b"12", "user_ids"),
        (5, "user_ids"),
        ([1, "2"], r"user_ids\[1\]"),
        ([True], r"user_ids\[0\]"),
        ([1.0], r"user_ids\[0\]"),
        ([-1], r"user_ids\[0\]"),
        ({1: 2}, "user_ids"),
    ],
)
def test_bad_user_ids_rejected_before_io(user_ids, name):
    """Malformed id lists raise InvalidInputError naming the argument, with no request."""
    transport = fake({})
    with pytest.raises(ca.InvalidInputError, match=name):
        ca.get_user_information(CONFIG, transport, user_ids)
    with pytest.raises(ValueError, match=name):
        ca.get_usernames(CONFIG, transport, user_ids)
    assert transport.requests == []


def test_get_group_users():
    """get_group_users calls GET /group/{id}/user and parses members."""
    transport = fake({("GET", "/group/2/user"): MEMBERS})
    members = ca.get_group_users(CONFIG, transport, 2)
    assert members[0] == ca.GroupMember(id=1, name="Ada Admin", admin=True)
    assert unstructure(members) == MEMBERS


def test_unknown_group_is_empty_list():
    """The server's [] for an unknown group is an empty list, not an error."""
    assert ca.get_group_users(CONFIG, fake({("GET", "/group/999/user"): []}), 999) == []


@pytest.mark.parametrize("group_id", [-1, True, 2.0, "2", None])
def test_bad_group_id_rejected_before_io(group_id):
    """A group id must be a non-negative int and not a bool."""
    transport = fake({})
    with pytest.raises(ca.InvalidInputError, match="group_id"):
        ca.get_group_users(CONFIG, transport, group_id)
    assert transport.requests == []


def test_whoami_and_service_account_parent():
    """The whoami call parses /user/me, keeping a service account's parent."""
    user = ca.whoami(CONFIG, fake({("GET", "/user/me"): TESTBOT}))
    assert user.service_account is True
    assert user.parent["name"] == "Ada Admin"
    assert user.created == dt.datetime(2026, 11, 28, 4, 59, 28, tzinfo=dt.UTC)


def test_permission_routes_share_the_cache_shape():
    """The user cache, my_permissions and user permissions routes parse the same object."""
    transport = fake(
        {
            ("GET", "/user/cache"): CACHE,
            ("GET", "/my_permissions"): CACHE,
            ("GET", "/user/2/permissions"): CACHE,
        }
    )
    for permissions in (
        ca.get_user_cache(CONFIG, transport),
        ca.get_my_permissions(CONFIG, transport),
        ca.get_user_permissions(CONFIG, transport, 2),
    ):
        assert permissions.groups == ("default", "testgroup")
        assert permissions.permissions_v2["test_ds"] == ("view", "edit")
        assert permissions.missing_tos[0].tos_name == "Test ToS"
        assert unstructure(permissions) == CACHE


def test_user_groups_and_usernames():
    """get_user_groups and get_usernames parse their id/name lists."""
    transport = fake(
        {
            ("GET", "/user/2/group"): [
                {"id": 1, "name": "default"},
                {"id": 2, "name": "testgroup"},
            ],
            ("GET", "/username"): [{"id": 4, "name": "gail_custom_name"}],
        }
    )
    assert ca.get_user_groups(CONFIG, transport, 2)[1] == ca.Group(
        id=2, name="testgroup"
    )
    assert ca.get_usernames(CONFIG, transport, [4]) == [
        ca.UserName(id=4, name="gail_custom_name")
    ]
    assert transport.requests_to("GET", API + "/username")[0].params == {"id": "4"}


def test_create_token_posts_description_once():
    """create_token POSTs the description as JSON and returns the new token."""
    transport = fake({("POST", "/user/token"): "c92247e7c6327492a9117d5089c98978"})
    new = ca.create_token(CONFIG, transport, description="laptop")
    assert new == "c92247e7c6327492a9117d5089c98978"
    (request,) = transport.requests
    assert request.json == {"description": "laptop"}


def test_create_token_rejects_long_description_before_io():
    """A description over 120 characters is refused before the request."""
    transport = fake({})
    with pytest.raises(ca.InvalidInputError, match="120"):
        ca.create_token(CONFIG, transport, description="x" * 121)
    assert transport.requests == []


def test_create_token_rejects_non_token_answer():
    """An answer that is not a token string is a ResponseFormatError."""
    with pytest.raises(ca.ResponseFormatError):
        ca.create_token(CONFIG, fake({("POST", "/user/token"): {"token": "x"}}))


def test_public_root_routes_answer_as_recorded():
    """The public-root routes return the server's bare true/false and 64-bit root ids."""
    table = "test_ds_pcg_table"
    transport = fake(
        {
            ("GET", f"/table/{table}/has_public"): True,
            ("GET", f"/table/{table}/get_public_roots"): [
                720575940000000001,
                720575940000000002,
            ],
            ("GET", f"/table/{table}/root/720575940000000003/is_public"): False,
            ("POST", f"/table/{table}/root_all_public"): True,
        }
    )
    assert ca.table_has_public(CONFIG, transport, table) is True
    assert ca.get_public_roots(CONFIG, transport, table) == [
        720575940000000001,
        720575940000000002,
    ]
    assert ca.is_root_public(CONFIG, transport, table, 720575940000000003) is False
    roots = [720575940000000001, 720575940000000002]
    assert ca.are_roots_public(CONFIG, transport, table, roots) is True
    assert transport.requests[-1].json == roots


def test_table_dataset_and_raw_records():
    """A service table's dataset is a name; the raw records keep every key sent."""
    record = {"id": 2, "groups": ["default"], "permissions_v2": {}, "future": 1}
    transport = fake(
        {
            ("GET", "/service/datastack/table/test_tos_ds/dataset"): "test_tos_ds",
            ("GET", "/user/cache"): record,
            ("GET", "/user/2/permissions"): record,
        }
    )
    assert (
        ca.get_table_dataset(CONFIG, transport, "datastack", "test_tos_ds")
        == "test_tos_ds"
    )
    assert ca.get_user_cache_data(CONFIG, transport) == record
    assert ca.get_user_permissions_data(CONFIG, transport, 2) == record


def test_unknown_service_table_is_not_found():
    """The server's 404 for an unmapped table is a NotFoundError with its text."""
    route = "/service/datastack/table/nope/dataset"
    answer = text_response("No dataset for given service and table names", status=404)
    transport = fake({("GET", route): answer})
    with pytest.raises(ca.NotFoundError) as info:
        ca.get_table_dataset(CONFIG, transport, "datastack", "nope")
    assert info.value.server_message == "No dataset for given service and table names"


def test_create_token_redirected_says_it_was_a_redirect():
    """A POST that a redirect turned into a GET of a page says it was redirected."""
    landed = SERVER + "/elsewhere"
    page = ca.Response(
        200,
        {"content-type": "text/html"},
        b"<html>moved</html>",
        url=landed,
        redirected=True,
    )
    transport = fake({("POST", "/user/token"): page})
    with pytest.raises(ca.ResponseFormatError) as info:
        ca.create_token(CONFIG, transport)
    message = str(info.value)
    assert f"POST {SERVER}{API}/user/token was redirected to {landed}" in message
    assert "a POST redirected with 301, 302 or 303 arrives as a GET" in message
    assert info.value.url == landed
    assert TOKEN not in message


def test_delete_token():
    """delete_token sends DELETE /user/token/{id} and accepts "success"."""
    transport = fake({("DELETE", "/user/token/7"): "success"})
    assert ca.delete_token(CONFIG, transport, 7) is None
    assert transport.requests[0].method == "DELETE"


def test_delete_missing_token_is_not_found():
    """The server's text 404 becomes NotFoundError with its message."""
    transport = fake(
        {("DELETE", "/user/token/9"): text_response("Token doesn't exist", status=404)}
    )
    with pytest.raises(ca.NotFoundError) as info:
        ca.delete_token(CONFIG, transport, 9)
    assert info.value.server_message == "Token doesn't exist"
    assert info.value.status == 404
    assert info.value.method == "DELETE"


def test_missing_token_raises_before_io_with_token_page():
    """Calling without a token raises MissingTokenError and sends nothing."""
    transport = fake({("GET", "/user/me"): ADA})
    with pytest.raises(ca.MissingTokenError) as info:
        ca.whoami(ca.Config(SERVER), transport)
    assert f"{SERVER}/sticky_auth/settings/tokens" in str(info.value)
    assert transport.requests == []


@pytest.mark.parametrize("body", [INVALID_401, NO_TOKEN_401])
def test_401_is_authentication_error_pointing_at_token_page(body):
    """A 401 becomes AuthenticationError carrying the server's message and the token page."""
    transport = fake({("GET", "/user/me"): json_response(body, status=401)})
    with pytest.raises(ca.AuthenticationError) as info:
        ca.whoami(CONFIG, transport)
    assert info.value.server_message == body["message"]
    assert "sticky_auth/settings/tokens" in str(info.value)
    assert TOKEN not in str(info.value)


def test_login_redirect_is_authentication_error():
    """A 302 to the authorize page (no programmatic header) is an AuthenticationError."""
    redirect = ca.Response(
        status=302,
        headers={
            "location": "https://auth.example.org/sticky_auth/api/v1/authorize?redirect=x",
            "content-type": "text/html; charset=utf-8",
        },
        body=b"<!doctype html><title>Redirecting...</title>",
    )
    with pytest.raises(ca.AuthenticationError):
        ca.whoami(CONFIG, fake({("GET", "/user/me"): redirect}))


def test_other_redirect_is_http_error():
    """A redirect that is not to a login page is an HTTPError naming where it went."""
    redirect = ca.Response(
        status=301, headers={"location": "https://elsewhere.org/x?y=1"}
    )
    with pytest.raises(ca.HTTPError, match=r"elsewhere\.org/x") as info:
        ca.whoami(CONFIG, fake({("GET", "/user/me"): redirect}))
    assert type(info.value) is ca.HTTPError


def test_403_text_is_permission_denied():
    """The server's plain-text 403 becomes PermissionDeniedError with its text."""
    transport = fake(
        {("GET", "/user"): text_response("Requires admin privilege.", status=403)}
    )
    with pytest.raises(ca.PermissionDeniedError) as info:
        ca.get_user_information(CONFIG, transport, [1])
    assert info.value.server_message == "Requires admin privilege."
    assert not isinstance(info.value, ca.TermsOfServiceRequired)


def test_missing_tos_exposes_form_url():
    """A 403 missing_tos becomes TermsOfServiceRequired with the form URL."""
    transport = fake({("GET", "/user/me"): json_response(MISSING_TOS, status=403)})
    with pytest.raises(ca.TermsOfServiceRequired) as info:
        ca.whoami(CONFIG, transport)
    assert info.value.tos_form_url == MISSING_TOS["data"]["tos_form_url"]
    assert info.value.tos_id == 2
    assert info.value.tos_name == "Test ToS"
    assert isinstance(info.value, ca.PermissionDeniedError)
    assert MISSING_TOS["data"]["tos_form_url"] in str(info.value)


def test_flask_html_404_message_is_the_title():
    """An HTML error page is summarised by its title."""
    page = "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>"
    with pytest.raises(ca.NotFoundError) as info:
        ca.get_user_groups(
            CONFIG, fake({("GET", "/user/9/group"): text_response(page, 404)}), 9
        )
    assert info.value.server_message == "404 Not Found"


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_server_error(status):
    """A 5xx answer (after the transport's retries) is a ServerError."""
    with pytest.raises(ca.ServerError) as info:
        ca.get_tokens(
            CONFIG, fake({("GET", "/user/token"): text_response("boom", status)})
        )
    assert info.value.status == status


@pytest.mark.parametrize("status", [400, 405, 422])
def test_other_4xx_is_plain_http_error(status):
    """Other error statuses are HTTPError with status and method."""
    with pytest.raises(ca.HTTPError) as info:
        ca.get_tokens(
            CONFIG, fake({("GET", "/user/token"): text_response("nope", status)})
        )
    assert info.value.status == status
    assert info.value.method == "GET"


def test_server_message_never_carries_the_token():
    """A server that echoes the token gets it cut out of the error."""
    body = text_response(f"bad token {TOKEN} here", status=400)
    with pytest.raises(ca.HTTPError) as info:
        ca.get_tokens(CONFIG, fake({("GET", "/user/token"): body}))
    assert TOKEN not in str(info.value)
    assert TOKEN not in info.value.server_message


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"",
        b"{}",
        b'[{"id": "6"}]',
        b'[{"id": 6, "token": 5, "user_id": 2}]',
        b'[{"id": 6, "token": "x", "user_id": 2, "created": "yesterday"}]',
        b"[" * 100000,
    ],
)
def test_unexpected_2xx_body_is_response_format_error(body):
    """A 2xx body that is not the route's JSON raises ResponseFormatError."""
    response = ca.Response(
        status=200, headers={"content-type": "application/json"}, body=body
    )
    with pytest.raises(ca.ResponseFormatError):
        ca.get_tokens(CONFIG, fake({("GET", "/user/token"): response}))


def test_unknown_fields_are_kept_in_extra():
    """Fields the model does not know are kept and given back by unstructure."""
    member = {**MEMBERS[0], "since": "2026"}
    (parsed,) = ca.get_group_users(
        CONFIG, fake({("GET", "/group/2/user"): [member]}), 2
    )
    assert parsed.extra == {"since": "2026"}
    assert unstructure(parsed) == member


def test_iso_dates_are_parsed_to_utc():
    """ISO dates, with or without offset, become aware UTC datetimes."""
    row = {
        **TOKENS[0],
        "created": "2026-11-28T04:59:28.770702",
        "updated": "2026-11-28T05:59:28+01:00",
    }
    (info,) = ca.get_tokens(CONFIG, fake({("GET", "/user/token"): [row]}))
    assert info.created == dt.datetime(2026, 11, 28, 4, 59, 28, 770702, tzinfo=dt.UTC)
    assert info.updated == dt.datetime(2026, 11, 28, 4, 59, 28, tzinfo=dt.UTC)


def test_server_warning_header_is_logged(caplog):
    """A Warning header from the server is logged, without the token."""
    answer = json_response(ADA, headers={"Warning": '299 - "deprecated route"'})
    with caplog.at_level(logging.WARNING, logger="cave_auth"):
        ca.whoami(CONFIG, fake({("GET", "/user/me"): answer}))
    assert "deprecated route" in caplog.text
    assert TOKEN not in caplog.text


def test_timeout_is_passed_to_transport():
    """A per-call timeout reaches the transport."""
    transport = fake({("GET", "/user/me"): ADA})
    ca.whoami(CONFIG, transport, timeout=2.5)
    assert transport.requests[0].timeout == 2.5


def test_transport_errors_propagate():
    """A TransportError from the transport reaches the caller, its message kept."""
    transport = fake({("GET", "/user/me"): ADA})
    transport.script("GET", API + "/user/me", ca.TransportError("refused"))
    with pytest.raises(ca.TransportError, match="refused"):
        ca.whoami(CONFIG, transport)
    assert ca.whoami(CONFIG, transport).id == 1


def leaky_adapter(request):
    """A transport adapter's failure that quotes the URL and chains its client's error."""
    try:
        raise OSError(f"read timed out: {request.url}", dict(request.headers))
    except OSError:
        raise ca.TransportError(
            f"GET {request.url}: ReadTimeout", method="GET", url=request.url
        ) from None


def test_a_transport_error_reaches_the_caller_without_the_token():
    """A transport's TransportError quoting the TTL URL loses the token, and the client error chained to it."""
    with pytest.raises(ca.TransportError) as info:
        ca.get_token_ttl(CONFIG, FakeTransport(handler=leaky_adapter))
    shown = f"{SERVER}{API}/user/token/<token>/ttl"
    assert info.value.args == (f"GET {shown}: ReadTimeout",)
    assert info.value.url == shown
    assert (info.value.__cause__, info.value.__context__) == (None, None)
