"""Tests for cave_auth.service.decision: the pure decision, branch by branch."""

from __future__ import annotations

import json

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cave_auth.service import (
    ANONYMOUS_USER,
    DISABLED_USER,
    Allow,
    DatasetNeed,
    Deny,
    PublicNeed,
    Redirect,
    RefreshNeed,
    Request,
    Rule,
    Settings,
    UserNeed,
    decide,
)
from cave_auth.service.decision import bearer_token
from cave_auth.service.rendering import strip_query_token
from cave_auth.service.values import MAX_TOKEN_LENGTH

S = Settings("auth.example.org/auth", "auth.example.org/sticky_auth")
R = "https://auth.example.org/sticky_auth/api/v1/authorize"
TOK = "tok123secret"
USER = {
    "id": 2,
    "admin": False,
    "groups": ["default"],
    "datasets_admin": ["ds"],
    "permissions_v2": {"ds": ["view"]},
    "permissions_v2_ignore_tos": {"ds": ["view"], "tos_ds": ["view"]},
    "missing_tos": [{"dataset_name": "tos_ds", "tos_id": 7, "tos_name": "T"}],
}
PROG = {"x-requested-with": "XMLHttpRequest"}
BEARER = {"authorization": f"Bearer {TOK}"}


def req(**kwargs):
    kwargs.setdefault("url", "http://svc/api/x")
    return Request(kwargs.pop("method", "GET"), **kwargs)


def body(decision):
    return json.loads(decision.body)


def test_options_passes_unchecked():
    """An OPTIONS request runs the view without any check."""
    assert decide(req(method="OPTIONS"), Rule("admin"), S) == Allow(None)


def test_options_is_checked_when_asked():
    """With check_options, OPTIONS needs a valid token like any method."""
    options = req(method="OPTIONS", headers=PROG)
    assert decide(options, Rule(), S, check_options=True).status == 401
    bearer = req(method="OPTIONS", headers=BEARER)
    assert decide(bearer, Rule(), S, check_options=True) == UserNeed(TOK)
    allowed = decide(bearer, Rule(), S, {UserNeed(TOK): USER}, check_options=True)
    assert allowed == Allow(USER, TOK)


def test_programmatic_request_is_never_redirected():
    """A request marked programmatic (a WebSocket) gets JSON errors, not redirects."""
    no_token = decide(req(programmatic=True), Rule(), S)
    assert (no_token.status, body(no_token)["error"]) == (401, "no_token")
    query = req(query={"middle_auth_token": TOK}, programmatic=True)
    assert isinstance(decide(query, Rule(), S), UserNeed)
    assert decide(query, Rule(), S, {UserNeed(TOK): None}).status == 401
    assert decide(query, Rule(), S, {UserNeed(TOK): USER}) == Allow(USER, TOK)
    tos = Rule("permission", permission="view", dataset="tos_ds")
    facts = {UserNeed(TOK): USER, RefreshNeed(TOK): USER}
    denied = decide(query, tos, S, facts)
    assert (denied.status, body(denied)["error"]) == (403, "missing_tos")
    browser = attrs.evolve(query, programmatic=False)
    assert decide(browser, Rule(), S).location == "http://svc/api/x"
    cookie = attrs.evolve(browser, query={}, cookies={"middle_auth_token": TOK})
    assert "/tos/7/accept" in decide(cookie, tos, S, facts).location


def test_disabled_lets_everything_through_as_the_disabled_user():
    """AUTH_DISABLED runs the view as the disabled user, even with a bad header."""
    settings = Settings("a/auth", disabled=True)
    decision = decide(
        req(headers={"authorization": "Token x"}), Rule("admin"), settings
    )
    assert decision == Allow(DISABLED_USER, "AUTH_DISABLED")


@pytest.mark.parametrize("header", ["Token x", "bearer x", "Bearer"])
def test_bad_auth_header_is_400_with_realm(header):
    """An Authorization header not starting with 'Bearer ' is a 400."""
    decision = decide(req(headers={"authorization": header}), Rule(), S)
    assert isinstance(decision, Deny)
    assert decision.status == 400
    assert decision.body == (
        b'{"error":"bad_auth_header","message":"Authorization header must begin'
        b" with 'Bearer'\"}\n"
    )
    assert decision.headers == (
        (
            "WWW-Authenticate",
            f'Bearer realm="{R}", error="invalid_request", '
            "error_description=\"Header must begin with 'Bearer'\"",
        ),
    )


def test_no_token_programmatic_is_401():
    """A programmatic request without a token is a 401 no_token."""
    decision = decide(req(headers=PROG), Rule(), S)
    assert decision.status == 401
    assert body(decision) == {
        "error": "no_token",
        "message": "Unauthorized - No Token Provided",
    }
    assert decision.headers == (("WWW-Authenticate", f'Bearer realm="{R}"'),)


def test_no_token_browser_redirects_to_login_with_quoted_url():
    """A browser without a token goes to the sticky login page."""
    decision = decide(req(url="http://svc/a b?x=1"), Rule(), S)
    assert decision == Redirect(R + "?redirect=http%3A//svc/a%20b%3Fx%3D1")


def test_two_spaces_after_bearer_is_no_token():
    """'Bearer  tok' yields an empty token, so no_token."""
    decision = decide(req(headers={"authorization": "Bearer  tok"}), Rule(), S)
    assert decision.error == "no_token"


def test_header_wins_over_query_and_cookie():
    """The bearer token is used even when query and cookie carry others."""
    request = req(
        headers={"authorization": "Bearer hdr junk"},
        query={"middle_auth_token": "q"},
        cookies={"middle_auth_token": "c"},
    )
    assert decide(request, Rule(), S) == UserNeed("hdr")
    assert decide(request, Rule(), S, {UserNeed("hdr"): USER}) == Allow(USER, "hdr")


def test_query_token_in_browser_redirects_and_sets_cookie_without_checking():
    """A browser's query token moves into a cookie with no upstream lookup."""
    request = req(
        url="http://svc/p?middle_auth_token=abc&x=x%20y&token=t",
        query={"middle_auth_token": "abc", "x": "x y", "token": "t"},
        cookies={"middle_auth_token": "valid"},
    )
    decision = decide(request, Rule(), S)
    assert decision == Redirect("http://svc/p?x=x+y", ("middle_auth_token", "abc"))
    assert decision.set_cookie_header() == (
        "middle_auth_token=abc; Secure; HttpOnly; Path=/"
    )
    assert "abc" not in repr(decision)


def test_query_token_programmatic_is_used():
    """A programmatic request's query token is looked up like a header token."""
    request = req(headers=PROG, query={"middle_auth_token": "q"})
    assert decide(request, Rule(), S) == UserNeed("q")


def test_cookie_token_invalid_programmatic_and_browser():
    """An invalid cookie token is 401 programmatically and a login redirect otherwise."""
    cookie = {"middle_auth_token": "bad"}
    facts = {UserNeed("bad"): None}
    assert decide(req(cookies=cookie, headers=PROG), Rule(), S, facts).error == (
        "invalid_token"
    )
    assert isinstance(decide(req(cookies=cookie), Rule(), S, facts), Redirect)


def test_invalid_token_realm_text():
    """invalid_token carries the measured WWW-Authenticate value."""
    decision = decide(req(headers=BEARER), Rule(), S, {UserNeed(TOK): None})
    assert decision.headers == (
        (
            "WWW-Authenticate",
            f'Bearer realm="{R}", error="invalid_token", '
            'error_description="Invalid/Expired Token"',
        ),
    )


def test_an_oversize_token_is_invalid_without_a_lookup():
    """A token over 2,048 characters is an invalid token, and nothing is looked up."""
    longest, oversize = "t" * MAX_TOKEN_LENGTH, "t" * (MAX_TOKEN_LENGTH + 1)
    assert MAX_TOKEN_LENGTH == 2048
    bearer = {"authorization": f"Bearer {longest}"}
    assert decide(req(headers=bearer), Rule(), S) == UserNeed(longest)
    invalid = decide(req(headers=bearer), Rule(), S, {UserNeed(longest): None})
    bearer = {"authorization": f"Bearer {oversize}"}
    assert decide(req(headers=bearer), Rule(), S) == invalid
    assert invalid.status == 401
    assert invalid.error == "invalid_token"
    cookie = {"middle_auth_token": oversize}
    browser = decide(req(cookies=cookie), Rule(), S)
    assert browser == Redirect(f"{R}?redirect=http%3A//svc/api/x")
    public = Rule(public_table_key="table_id", service_token="svc")
    request = req(headers=bearer, path_params={"table_id": "t"})
    facts = {PublicNeed("table", "t", None, "svc"): True}
    assert decide(request, public, S, facts) == Allow(ANONYMOUS_USER, None, True)


def test_public_root_without_token_runs_as_anonymous():
    """A public root with a service token runs the view anonymously."""
    rule = Rule(
        "permission",
        permission="view",
        public_table_key="table_id",
        public_node_key="root_id",
        service_token="svc",
        table_id="t",
    )
    request = req(headers=PROG, path_params={"table_id": "t", "root_id": 5})
    need = PublicNeed("root", "t", 5, "svc")
    assert decide(request, rule, S) == need
    facts = {need: True, DatasetNeed("datastack", "t", "svc"): "ds"}
    assert decide(request, rule, S, facts) == Allow(ANONYMOUS_USER, None, True)
    assert decide(request, rule, S, {need: False}).error == "no_token"


def test_edit_never_goes_public():
    """An edit rule never asks whether anything is public."""
    rule = Rule(
        "permission", permission="edit", public_table_key="t", service_token="s"
    )
    assert decide(req(headers=PROG), rule, S).error == "no_token"


def test_public_roots_from_body_and_bad_bodies():
    """Roots listed in the JSON body are checked together; bad bodies are not public."""
    rule = Rule(public_table_key="t", public_node_json_key="roots", service_token="s")
    good = req(headers=PROG, path_params={"t": "tbl"}, body=b'{"roots": [1, 2]}')
    assert decide(good, rule, S) == PublicNeed("roots", "tbl", frozenset({1, 2}), "s")
    for raw in (b'{"other": 1}', b"[1]", b"", b'{"roots": []}', b'{"roots": [[1]]}'):
        bad = req(headers=PROG, path_params={"t": "tbl"}, body=raw)
        assert decide(bad, rule, S).error == "no_token", raw


def test_table_public():
    """With only a table key, the table's public flag is asked."""
    rule = Rule(public_table_key="t", service_token="s")
    request = req(headers=PROG, path_params={"t": "tbl"})
    assert decide(request, rule, S) == PublicNeed("table", "tbl", None, "s")


def test_missing_and_invalid_table_id():
    """No table is a 400 missing_table_id; an unknown one a 400 invalid_table_id."""
    rule = Rule("permission", permission="view")
    facts = {UserNeed(TOK): USER}
    assert body(decide(req(headers=BEARER), rule, S, facts)) == {
        "error": "missing_table_id",
        "message": "Missing table_id",
    }
    request = req(headers=BEARER, path_params={"table_id": "nope"})
    facts[DatasetNeed("datastack", "nope", TOK)] = None
    decision = decide(request, rule, S, facts)
    assert decision.body == (
        b'{"data":{"resource_namespace":"datastack","table_id":"nope"},'
        b'"error":"invalid_table_id","message":"Invalid table_id for service"}\n'
    )


def test_dataset_lookup_token_precedence():
    """Table lookups use the rule's token, then AUTH_TOKEN, then the caller's."""
    request = req(headers=BEARER, path_params={"table_id": "t"})
    facts = {UserNeed(TOK): USER}
    rule = Rule("permission", permission="view", resource_namespace="ns")
    assert decide(request, rule, S, facts) == DatasetNeed("ns", "t", TOK)
    with_service = Settings("a/auth", service_token="cfg", service_namespace="n2")
    assert decide(
        request, Rule("permission", permission="view"), with_service, facts
    ) == (DatasetNeed("n2", "t", "cfg"))


def test_permission_granted_and_refreshed():
    """A held permission allows; a missing one is refreshed once before denying."""
    request = req(headers=BEARER)
    facts = {UserNeed(TOK): USER}
    assert decide(
        request, Rule("permission", permission="view", dataset="ds"), S, facts
    ) == (Allow(USER, TOK))
    edit = Rule("permission", permission="edit", dataset="ds")
    assert decide(request, edit, S, facts) == RefreshNeed(TOK)
    fresh = {**USER, "permissions_v2": {"ds": ["view", "edit"]}}
    assert decide(request, edit, S, {**facts, RefreshNeed(TOK): fresh}) == Allow(
        fresh, TOK, False
    )
    denied = decide(request, edit, S, {**facts, RefreshNeed(TOK): None})
    assert denied.status == 403
    assert denied.body == (
        b'{"data":{"auth_dataset":"ds","required_permission":"edit"},'
        b'"error":"missing_permission","message":"Missing permission: edit for dataset ds"}\n'
    )


def test_missing_tos_programmatic_and_browser():
    """A permission a ToS would grant is a 403 missing_tos, or a redirect to the form."""
    rule = Rule("permission", permission="view", dataset="tos_ds")
    facts = {UserNeed(TOK): USER, RefreshNeed(TOK): None}
    decision = decide(req(headers=BEARER), rule, S, facts)
    assert body(decision) == {
        "data": {
            "tos_form_url": "https://auth.example.org/sticky_auth/api/v1/tos/7/accept",
            "tos_id": 7,
            "tos_name": "T",
        },
        "error": "missing_tos",
        "message": "Need to accept Terms of Service to access resource.",
    }
    browser = req(cookies={"middle_auth_token": TOK}, url="http://svc/x")
    assert decide(browser, rule, S, facts) == Redirect(
        "https://auth.example.org/sticky_auth/api/v1/tos/7/accept?redirect=http%3A//svc/x"
    )


def test_admin_dataset_admin_and_group():
    """Admin, dataset admin and group rules deny with the measured answers."""
    facts = {UserNeed(TOK): USER, RefreshNeed(TOK): None}
    request = req(headers=BEARER)
    admin = decide(request, Rule("admin"), S, facts)
    assert (admin.status, admin.body, admin.content_type) == (
        403,
        b"Requires superadmin privilege.",
        "text/html; charset=utf-8",
    )
    assert decide(request, Rule("dataset_admin", dataset="ds"), S, facts) == Allow(
        USER, TOK
    )
    role = decide(request, Rule("dataset_admin", dataset="other"), S, facts)
    assert body(role)["data"] == {
        "auth_dataset": "other",
        "required_role": "dataset_admin",
    }
    group = decide(request, Rule("group", group="g2"), S, facts)
    assert group.body == b"Requires membership of group: g2"
    joined = {**USER, "groups": ["default", "g2"]}
    refreshed = {UserNeed(TOK): USER, RefreshNeed(TOK): joined}
    assert decide(request, Rule("group", group="g2"), S, refreshed) == Allow(
        joined, TOK
    )


def test_stacked_check_skips_authentication():
    """An already authenticated request only checks the rule's own condition."""
    decision = decide(req(), Rule("admin"), S, authenticated=(USER, TOK))
    assert decision.status == 403


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://h/p?middle_auth_token=t&x=x%20y", "http://h/p?x=x+y"),
        ("http://h/p?a=a/b:c&middle_auth_token=t", "http://h/p?a=a%2Fb%3Ac"),
        ("http://h/p?middle_auth_token=t&a=1;b=2", "http://h/p?a=1%3Bb%3D2"),
        ("http://h/p?flag&middle_auth_token=t", "http://h/p?flag"),
        ("http://h/p?middle_auth_token=t", "http://h/p"),
        (
            "http://h/p?x=a%3Bb&middle_auth_token=t&x=2&=v&&y",
            "http://h/p?x=a%3Bb&x=2&=v&&y",
        ),
        ("http://localhost:80/p?middle_auth_token=t", "http://localhost/p"),
        (
            "http://Host.Example/P%7e/%41?middle_auth_token=t",
            "http://host.example/P~/A",
        ),
        ("http://[::1]:5000/p?middle_auth_token=t", "http://[::1]:5000/p"),
        ("http://h/p/?middle_auth_token=t&a=%", "http://h/p/?a=%25"),
    ],
)
def test_strip_query_token_matches_furl(url, expected):
    """The token-stripped URL is re-encoded exactly as furl does it."""
    assert strip_query_token(url, ("middle_auth_token", "token")) == expected


def test_reprs_hide_tokens():
    """No value's repr shows a token."""
    values = [
        UserNeed(TOK),
        RefreshNeed(TOK),
        DatasetNeed("n", "t", TOK),
        PublicNeed("table", "t", None, TOK),
        Allow(USER, TOK),
        Rule(service_token=TOK),
        Settings("a/auth", service_token=TOK),
        req(headers=BEARER, cookies={"c": TOK}, query={"q": TOK}),
    ]
    for value in values:
        assert TOK not in repr(value)


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer tok", "tok"),
        ("Bearer tok junk", "tok"),
        ("Bearer  tok", ""),
        ("Bearer ", ""),
        ("Bearer", None),
        ("bearer tok", None),
        ("Token tok", None),
    ],
)
def test_bearer_token_reads_the_header_as_middle_auth_client(header, token):
    """The token is the word after 'Bearer ', possibly empty; other schemes have none."""
    assert bearer_token(header) == token


_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=8)
_user = st.fixed_dictionaries(
    {
        "id": st.just(2),
        "admin": st.booleans(),
        "groups": st.lists(st.sampled_from(["g", "h"]), max_size=2),
        "datasets_admin": st.lists(st.sampled_from(["ds", "other"]), max_size=2),
        "permissions_v2": st.dictionaries(
            st.sampled_from(["ds", "other"]),
            st.lists(st.sampled_from(["view", "edit"]), max_size=2),
            max_size=2,
        ),
    }
)
_rule = st.builds(
    Rule,
    kind=st.sampled_from(["login", "permission", "admin", "dataset_admin", "group"]),
    permission=st.sampled_from(["view", "edit"]),
    public_table_key=st.sampled_from([None, "table_id"]),
    public_node_key=st.sampled_from([None, "root_id"]),
    service_token=st.sampled_from([None, "svc"]),
    dataset=st.sampled_from([None, "ds", "other"]),
    group=st.sampled_from(["g", "h"]),
)
_rest = st.fixed_dictionaries(
    {
        "method": st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
        "url": _text.map(lambda path: "http://svc/" + path),
        "headers": st.dictionaries(
            st.sampled_from(["x-requested-with", "origin", "cookie"]), _text
        ),
        "query": st.dictionaries(st.sampled_from(["middle_auth_token", "x"]), _text),
        "cookies": st.dictionaries(st.sampled_from(["middle_auth_token", "x"]), _text),
        "path_params": st.dictionaries(st.sampled_from(["table_id", "root_id"]), _text),
        "body": st.binary(max_size=8),
        "programmatic": st.booleans(),
    }
)


@settings(max_examples=300, deadline=None)
@given(user=_user, rule=_rule, first=_rest, second=_rest)
def test_an_allow_on_the_bearer_record_alone_is_the_same_for_any_request(
    user, rule, first, second
):
    """Allowed on the record alone, a bearer token is allowed alike whatever else.

    What the checker remembers rests on this: a request with the same
    Authorization header, rule and settings, and the same record for its
    token, is decided alike, whatever its method, URL, other headers, query,
    cookies, path parameters, body or kind.
    """
    facts = {UserNeed(TOK): user}

    def request(rest):
        rest = dict(rest)
        return Request(
            rest.pop("method"),
            headers={**rest.pop("headers"), **BEARER},
            **rest,
        )

    decision = decide(request(first), rule, S, facts)
    if isinstance(decision, Allow):
        again = decide(request(second), rule, S, facts)
        assert again == decision
        assert again.user is user


COOKIE = {"middle_auth_token": TOK}
OWN = {"host": "svc.example.org"}


def socket_req(headers, cookies=COOKIE, **kwargs):
    return req(
        headers=headers, cookies=cookies, programmatic=True, websocket=True, **kwargs
    )


def test_the_cookie_does_not_open_a_websocket_for_a_page_elsewhere():
    """A foreign origin's handshake that only the cookie vouches for is refused unasked."""
    for origin in ("https://evil.example", "https://svc.example.org.evil", "null"):
        decision = decide(socket_req({**OWN, "origin": origin}), Rule(), S)
        assert isinstance(decision, Deny)  # no lookup was needed to refuse it
        assert decision.status == 403
        assert body(decision)["error"] == "foreign_origin"
        assert body(decision)["data"] == {"origin": origin}
        assert TOK not in decision.body.decode()


def test_an_upgrade_header_makes_a_request_a_websocket_for_the_origin_check():
    """A WSGI handshake (Upgrade: websocket) is checked like an ASGI one; plain HTTP is not."""
    headers = {**OWN, "origin": "https://evil.example"}
    upgrade = req(headers={**headers, "upgrade": "WebSocket"}, cookies=COOKIE)
    assert decide(upgrade, Rule(), S).status == 403
    plain = req(headers=headers, cookies=COOKIE)  # as middle_auth_client answers
    assert decide(plain, Rule(), S, {UserNeed(TOK): USER}) == Allow(USER, TOK)


def test_own_and_trusted_origins_and_deliberate_tokens_open_a_websocket():
    """Same host, a trusted origin, no Origin, or a header or query token are checked as usual."""
    trusting = attrs.evolve(S, trusted_origins=["https://viewer.example:8443/"])
    facts = {UserNeed(TOK): USER}
    for request in (
        socket_req({**OWN, "origin": "https://svc.example.org"}),
        socket_req({**OWN, "origin": "http://SVC.example.org"}),  # TLS ended in front
        socket_req({**OWN, "origin": "https://viewer.example:8443"}),
        socket_req(OWN),
        socket_req({**OWN, "origin": "https://evil.example", **BEARER}, cookies={}),
        socket_req({**OWN, "origin": "https://evil.example"}, query=COOKIE),
    ):
        assert decide(request, Rule(), trusting, facts) == Allow(USER, TOK)
    other_port = socket_req({**OWN, "origin": "https://viewer.example"})
    assert decide(other_port, Rule(), trusting, facts).status == 403


def test_a_public_resource_is_served_anonymously_to_a_page_elsewhere():
    """The refused cookie counts as no token: a public resource still opens, anonymously."""
    rule = Rule(public_table_key="table_id", service_token="svc")
    headers = {**OWN, "origin": "https://evil.example"}
    request = socket_req(headers, path_params={"table_id": "t"})
    facts = {PublicNeed("table", "t", None, "svc"): True}
    assert decide(request, rule, S, facts) == Allow(ANONYMOUS_USER, None, True)


@pytest.mark.parametrize(
    "origin",
    ["app.example.org", "ftp://app.example.org", "https://a.org/x", "https://"],
)
def test_a_malformed_trusted_origin_is_refused_by_name(origin):
    """A trusted origin must be scheme://host[:port]; the error names it."""
    with pytest.raises(ValueError, match="is not an origin"):
        Settings("auth.example.org/auth", trusted_origins=[origin])
