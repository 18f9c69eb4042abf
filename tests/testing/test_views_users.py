"""Tests of the fake server's views of users and their permissions.

Conformance cases of sections 3, 5, 6, 7, 12, 13, 14, 16 and 17 (``/user/missing``),
and section 21 of the admin reference (``/user/missing`` for every kind of caller).
"""

from __future__ import annotations

import pytest

from cave_auth.testing import FakeAuthServer

from .conformance import (
    ADA_CACHE,
    ADA_ME,
    BAD_TOKEN,
    GROUPS_1_2,
    NAMES_1_2,
    NO_TOKEN,
    NORM_CACHE,
    NORM_ME,
    PAGE_404,
    PAGE_500,
    REALM,
    REALM_INVALID,
    TESTBOT_CACHE,
    TESTBOT_ME,
    USERS_1_2_FULL,
    Case,
    bearer,
    case_params,
    check_case,
    fetch,
    token_vars,
)

# fmt: off
CASES: list[Case] = [
    Case("3", "admin, id=1,2", "GET", "/auth/api/v1/user?id=1,2", "admin", 200,
        "application/json", sample=USERS_1_2_FULL),
    Case("3", "service account, id=1,2 (gets the full record)", "GET",
        "/auth/api/v1/user?id=1,2", "sa", 200, "application/json",
        sample=USERS_1_2_FULL),
    Case("3", "group admin (not superadmin), id=1,2: short record", "GET",
        "/auth/api/v1/user?id=1,2", "group_admin", 200, "application/json",
        sample=('[{"affiliations":[[{"id":1,"name":"Test Institute",'
        '"start":"2026-11-28T04:59:28.770702"}]],'
        '"created":"Sat, 28 Nov 2026 04:59:27 GMT","id":1,"name":"Ada Admin",'
        '"pi":"PI Ada","service_account":false},{"affiliations":[[]],'
        '"created":"Sat, 28 Nov 2026 04:59:28 GMT","id":2,"name":"Norm User",'
        '"pi":"PI Norm","service_account":false}]')),
    Case("3", "non-admin, id=1,2", "GET", "/auth/api/v1/user?id=1,2", "user", 403,
        "text/html", text="Requires admin privilege."),
    Case("3", "no token at all (plain curl, no extra headers)", "GET",
        "/auth/api/v1/user?id=1,2", None, 302, "text/html",
        expect={"Location": (
        "https://127.0.0.1:5055/sticky_auth/api/v1/authorize?redirect=http%3A//"
        "127.0.0.1%3A5055/auth/api/v1/user%3Fid%3D1%2C2")}),
    Case("3", "no token, `X-Requested-With` set (programmatic)", "GET",
        "/auth/api/v1/user?id=1,2", None, 401, "application/json",
        headers={"X-Requested-With": "XMLHttpRequest"}, sample=NO_TOKEN,
        expect={"WWW-Authenticate": REALM}),
    Case("3", "invalid token", "GET", "/auth/api/v1/user?id=1,2", "invalid", 401,
        "application/json", sample=BAD_TOKEN,
        expect={"WWW-Authenticate": REALM_INVALID}),
    Case("3", "admin, id=1,abc,,3 (junk dropped; 3 is a service account)", "GET",
        "/auth/api/v1/user?id=1,abc,,3", "admin", 200, "application/json",
        sample=('[{"admin":true,"admin_datasets":[],"affiliations":[[{"id":1,'
        '"name":"Test Institute","start":"2026-11-28T04:59:28.770702"}]],'
        '"created":"Sat, 28 Nov 2026 04:59:27 GMT","email":"ada@example.org",'
        '"gdpr_consent":false,"id":1,"name":"Ada Admin","pi":"PI Ada",'
        '"service_account":false},{"admin":false,"admin_datasets":[],'
        '"affiliations":[[]],"created":"Sat, 28 Nov 2026 04:59:28 GMT",'
        '"email":"testbot@serviceaccount","gdpr_consent":false,"id":3,'
        '"name":"testbot","parent":{"affiliations":[[{"id":1,'
        '"name":"Test Institute","start":"2026-11-28T04:59:28.770702"}]],'
        '"created":"Sat, 28 Nov 2026 04:59:27 GMT","id":1,"name":"Ada Admin",'
        '"pi":"PI Ada","service_account":false},"parent_id":1,"pi":"",'
        '"service_account":true}]')),
    Case("3", "admin, id=2,1 (order of result)", "GET", "/auth/api/v1/user?id=2,1",
        "admin", 200, "application/json", sample=USERS_1_2_FULL),
    Case("3", "admin, id=abc", "GET", "/auth/api/v1/user?id=abc", "admin", 200,
        "application/json", sample="[]"),
    Case("3", "admin, id=999 (unknown)", "GET", "/auth/api/v1/user?id=999", "admin",
        200, "application/json", sample="[]"),
    Case("3", "admin, id=-1,1", "GET", "/auth/api/v1/user?id=-1,1", "admin", 200,
        "application/json",
        sample=('[{"admin":true,"admin_datasets":[],"affiliations":[[{"id":1,'
        '"name":"Test Institute","start":"2026-11-28T04:59:28.770702"}]],'
        '"created":"Sat, 28 Nov 2026 04:59:27 GMT","email":"ada@example.org",'
        '"gdpr_consent":false,"id":1,"name":"Ada Admin","pi":"PI Ada",'
        '"service_account":false}]')),
    Case("3", "admin, empty id= (paginated object of all normal accounts, not a list)",
        "GET", "/auth/api/v1/user?id=", "admin", 200, "application/json",
        sample=('{"items":[{"affiliations":[[{"id":1,"name":"Test Institute",'
        '"start":"2026-11-28T04:59:28.770702"}]],'
        '"created":"Sat, 28 Nov 2026 04:59:27 GMT","id":1,"name":"Ada Admin",'
        '"pi":"PI Ada","service_account":false},{"affiliations":[[]],'
        '"created":"Sat, 28 Nov 2026 04:59:28 GMT","id":2,"name":"Norm User",'
        '"pi":"PI Norm","service_account":false},{"affiliations":[[]],'
        '"created":"Sat, 28 Nov 2026 04:59:28 GMT","id":4,'
        '"name":"gail_custom_name","pi":"PI Gail","service_account":false},'
        '{"affiliations":[[]],"created":"Sat, 28 Nov 2026 04:59:28 GMT",'
        '"id":5,"name":"Rita Refresh","pi":"","service_account":false},'
        '{"affiliations":[[]],"created":"Sat, 28 Nov 2026 04:59:28 GMT",'
        '"id":6,"name":"Tina Tokenless","pi":"","service_account":false}],'
        '"pages":1}')),
    Case("3", "admin, no query string at all, per_page=2", "GET",
        "/auth/api/v1/user?per_page=2", "admin", 200, "application/json",
        sample=('{"items":[{"affiliations":[[{"id":1,"name":"Test Institute",'
        '"start":"2026-11-28T04:59:28.770702"}]],'
        '"created":"Sat, 28 Nov 2026 04:59:27 GMT","id":1,"name":"Ada Admin",'
        '"pi":"PI Ada","service_account":false},{"affiliations":[[]],'
        '"created":"Sat, 28 Nov 2026 04:59:28 GMT","id":2,"name":"Norm User",'
        '"pi":"PI Norm","service_account":false}],"pages":3}')),
    Case("3", "admin, page=abc (int() of a query arg)", "GET",
        "/auth/api/v1/user?page=abc", "admin", 500, "text/html", text=PAGE_500),
    Case("3", "admin, email=norm (substring search; no id)", "GET",
        "/auth/api/v1/user?email=norm", "admin", 200, "application/json",
        sample=('[{"admin":false,"admin_datasets":[],"affiliations":[[]],'
        '"created":"Sat, 28 Nov 2026 04:59:28 GMT","email":"norm@example.org",'
        '"gdpr_consent":false,"id":2,"name":"Norm User","pi":"PI Norm",'
        '"service_account":false}]')),
    Case("3", "non-admin, id=1,abc,,3 (auth check first)", "GET",
        "/auth/api/v1/user?id=1,abc,,3", "user", 403, "text/html",
        text="Requires admin privilege."),
    Case("3", ("GET /auth/api/v1/user/2 (single user; any logged-in user, short "
        "record for non-admin)"), "GET", "/auth/api/v1/user/2", "user", 200,
        "application/json",
        sample=('{"affiliations":[[]],"created":"Sat, 28 Nov 2026 04:59:28 GMT",'
        '"id":2,"name":"Norm User","pi":"PI Norm","service_account":false}')),
    Case("3", "GET /auth/api/v1/user/3 (service-account id via the single-user route)",
        "GET", "/auth/api/v1/user/3", "admin", 404, "text/html",
        text="User doesn't exist"),
    Case("5", "admin", "GET", "/auth/api/v1/user/me", "admin", 200, "application/json",
        sample=ADA_ME),
    Case("5", "non-admin", "GET", "/auth/api/v1/user/me", "user", 200,
        "application/json", sample=NORM_ME),
    Case("5", "group admin with a custom name", "GET", "/auth/api/v1/user/me",
        "group_admin", 200, "application/json",
        sample=('{"admin":false,"admin_datasets":[],"affiliations":[[]],'
        '"created":"Sat, 28 Nov 2026 04:59:28 GMT","email":"gail@example.org",'
        '"gdpr_consent":false,"id":4,"name":"gail_custom_name","pi":"PI Gail",'
        '"service_account":false}')),
    Case("5", ("service account (note `parent`; `read_only` is missing because of a "
        "bug in as_dict)"), "GET", "/auth/api/v1/user/me", "sa", 200,
        "application/json", sample=TESTBOT_ME),
    Case("5", "no token at all (plain curl, no extra headers)", "GET",
        "/auth/api/v1/user/me", None, 302, "text/html",
        expect={"Location": (
        "https://127.0.0.1:5055/sticky_auth/api/v1/authorize?redirect=http%3A//"
        "127.0.0.1%3A5055/auth/api/v1/user/me")}),
    Case("5", "no token, `X-Requested-With` set (programmatic)", "GET",
        "/auth/api/v1/user/me", None, 401, "application/json",
        headers={"X-Requested-With": "XMLHttpRequest"}, sample=NO_TOKEN,
        expect={"WWW-Authenticate": REALM}),
    Case("5", "invalid token", "GET", "/auth/api/v1/user/me", "invalid", 401,
        "application/json", sample=BAD_TOKEN,
        expect={"WWW-Authenticate": REALM_INVALID}),
    Case("6", "admin", "GET", "/auth/api/v1/user/cache", "admin", 200,
        "application/json", sample=ADA_CACHE),
    Case("6", "non-admin (has not accepted the ToS of test_tos_ds: see missing_tos)",
        "GET", "/auth/api/v1/user/cache", "user", 200, "application/json",
        sample=NORM_CACHE),
    Case("6", "service account (ToS acceptance inherited from parent)", "GET",
        "/auth/api/v1/user/cache", "sa", 200, "application/json", sample=TESTBOT_CACHE),
    Case("6", "no token at all (plain curl, no extra headers)", "GET",
        "/auth/api/v1/user/cache", None, 302, "text/html",
        expect={"Location": (
        "https://127.0.0.1:5055/sticky_auth/api/v1/authorize?redirect=http%3A//"
        "127.0.0.1%3A5055/auth/api/v1/user/cache")}),
    Case("6", "no token, `X-Requested-With` set (programmatic)", "GET",
        "/auth/api/v1/user/cache", None, 401, "application/json",
        headers={"X-Requested-With": "XMLHttpRequest"}, sample=NO_TOKEN,
        expect={"WWW-Authenticate": REALM}),
    Case("6", "invalid token", "GET", "/auth/api/v1/user/cache", "invalid", 401,
        "application/json", sample=BAD_TOKEN,
        expect={"WWW-Authenticate": REALM_INVALID}),
    Case("7", "admin, id=1,2", "GET", "/auth/api/v1/username?id=1,2", "admin", 200,
        "application/json", sample=NAMES_1_2),
    Case("7", "non-admin, id=1,2", "GET", "/auth/api/v1/username?id=1,2", "user", 200,
        "application/json", sample=NAMES_1_2),
    Case("7", "non-admin, id=4 (custom public name)", "GET",
        "/auth/api/v1/username?id=4", "user", 200, "application/json",
        sample='[{"id":4,"name":"gail_custom_name"}]'),
    Case("7", "admin, id=1,abc,,3", "GET", "/auth/api/v1/username?id=1,abc,,3", "admin",
        500, "text/html", text=PAGE_500),
    Case("7", "admin, id=,1,,3, (only empty items)", "GET",
        "/auth/api/v1/username?id=,1,,3,", "admin", 200, "application/json",
        sample='[{"id":1,"name":"Ada Admin"},{"id":3,"name":"testbot"}]'),
    Case("7", "admin, id=2,1,999", "GET", "/auth/api/v1/username?id=2,1,999", "admin",
        200, "application/json", sample=NAMES_1_2),
    Case("7", "admin, empty id=", "GET", "/auth/api/v1/username?id=", "admin", 200,
        "application/json", sample="[]"),
    Case("7", "admin, no id", "GET", "/auth/api/v1/username", "admin", 200,
        "application/json", sample="[]"),
    Case("7", "admin, id=-1", "GET", "/auth/api/v1/username?id=-1", "admin", 200,
        "application/json", sample="[]"),
    Case("7", "no token at all (plain curl, no extra headers)", "GET",
        "/auth/api/v1/username?id=1,2", None, 302, "text/html",
        expect={"Location": (
        "https://127.0.0.1:5055/sticky_auth/api/v1/authorize?redirect=http%3A//"
        "127.0.0.1%3A5055/auth/api/v1/username%3Fid%3D1%2C2")}),
    Case("7", "no token, `X-Requested-With` set (programmatic)", "GET",
        "/auth/api/v1/username?id=1,2", None, 401, "application/json",
        headers={"X-Requested-With": "XMLHttpRequest"}, sample=NO_TOKEN,
        expect={"WWW-Authenticate": REALM}),
    Case("7", "invalid token", "GET", "/auth/api/v1/username?id=1,2", "invalid", 401,
        "application/json", sample=BAD_TOKEN,
        expect={"WWW-Authenticate": REALM_INVALID}),
    Case("12", "admin, user 2", "GET", "/auth/api/v1/user/2/group", "admin", 200,
        "application/json", sample=GROUPS_1_2),
    Case("12", "group admin, user 2", "GET", "/auth/api/v1/user/2/group", "group_admin",
        200, "application/json", sample=GROUPS_1_2),
    Case("12", "service account, user 1", "GET", "/auth/api/v1/user/1/group", "sa", 200,
        "application/json", sample=GROUPS_1_2),
    Case("12", "non-admin, user 2 (even for themself)", "GET",
        "/auth/api/v1/user/2/group", "user", 403, "text/html",
        text="Requires admin privilege."),
    Case("12", "no token at all (plain curl, no extra headers)", "GET",
        "/auth/api/v1/user/2/group", None, 302, "text/html",
        expect={"Location": (
        "https://127.0.0.1:5055/sticky_auth/api/v1/authorize?redirect=http%3A//"
        "127.0.0.1%3A5055/auth/api/v1/user/2/group")}),
    Case("12", "no token, `X-Requested-With` set (programmatic)", "GET",
        "/auth/api/v1/user/2/group", None, 401, "application/json",
        headers={"X-Requested-With": "XMLHttpRequest"}, sample=NO_TOKEN,
        expect={"WWW-Authenticate": REALM}),
    Case("12", "invalid token", "GET", "/auth/api/v1/user/2/group", "invalid", 401,
        "application/json", sample=BAD_TOKEN,
        expect={"WWW-Authenticate": REALM_INVALID}),
    Case("12", "admin, user 999", "GET", "/auth/api/v1/user/999/group", "admin", 404,
        "text/html", text="User doesn't exist"),
    Case("12", "admin, user 3 (a service account)", "GET", "/auth/api/v1/user/3/group",
        "admin", 404, "text/html", text="User doesn't exist"),
    Case("12", "admin, user 6 (only in `default`)", "GET", "/auth/api/v1/user/6/group",
        "admin", 200, "application/json", sample='[{"id":1,"name":"default"}]'),
    Case("12", "admin, user `abc`", "GET", "/auth/api/v1/user/abc/group", "admin", 404,
        "text/html", text=PAGE_404),
    Case("13", "admin, user 2", "GET", "/auth/api/v1/user/2/permissions", "admin", 200,
        "application/json", sample=NORM_CACHE),
    Case("13", "group admin, user 1", "GET", "/auth/api/v1/user/1/permissions",
        "group_admin", 200, "application/json", sample=ADA_CACHE),
    Case("13", "non-admin, user 2", "GET", "/auth/api/v1/user/2/permissions", "user",
        403, "text/html", text="Requires admin privilege."),
    Case("13", "no token at all (plain curl, no extra headers)", "GET",
        "/auth/api/v1/user/2/permissions", None, 302, "text/html",
        expect={"Location": (
        "https://127.0.0.1:5055/sticky_auth/api/v1/authorize?redirect=http%3A//"
        "127.0.0.1%3A5055/auth/api/v1/user/2/permissions")}),
    Case("13", "no token, `X-Requested-With` set (programmatic)", "GET",
        "/auth/api/v1/user/2/permissions", None, 401, "application/json",
        headers={"X-Requested-With": "XMLHttpRequest"}, sample=NO_TOKEN,
        expect={"WWW-Authenticate": REALM}),
    Case("13", "invalid token", "GET", "/auth/api/v1/user/2/permissions", "invalid",
        401, "application/json", sample=BAD_TOKEN,
        expect={"WWW-Authenticate": REALM_INVALID}),
    Case("13", "admin, user 999", "GET", "/auth/api/v1/user/999/permissions", "admin",
        404, "text/html", text="User doesn't exist"),
    Case("13", "admin, user 3 (service account)", "GET",
        "/auth/api/v1/user/3/permissions", "admin", 404, "text/html",
        text="User doesn't exist"),
    Case("13", "admin, user `abc`", "GET", "/auth/api/v1/user/abc/permissions", "admin",
        404, "text/html", text=PAGE_404),
    Case("14", "admin", "GET", "/auth/api/v1/my_permissions", "admin", 200,
        "application/json", sample=ADA_CACHE),
    Case("14", "non-admin", "GET", "/auth/api/v1/my_permissions", "user", 200,
        "application/json", sample=NORM_CACHE),
    Case("14", "service account", "GET", "/auth/api/v1/my_permissions", "sa", 200,
        "application/json", sample=TESTBOT_CACHE),
    Case("14", "no token at all (plain curl, no extra headers)", "GET",
        "/auth/api/v1/my_permissions", None, 302, "text/html",
        expect={"Location": (
        "https://127.0.0.1:5055/sticky_auth/api/v1/authorize?redirect=http%3A//"
        "127.0.0.1%3A5055/auth/api/v1/my_permissions")}),
    Case("14", "no token, `X-Requested-With` set (programmatic)", "GET",
        "/auth/api/v1/my_permissions", None, 401, "application/json",
        headers={"X-Requested-With": "XMLHttpRequest"}, sample=NO_TOKEN,
        expect={"WWW-Authenticate": REALM}),
    Case("14", "invalid token", "GET", "/auth/api/v1/my_permissions", "invalid", 401,
        "application/json", sample=BAD_TOKEN,
        expect={"WWW-Authenticate": REALM_INVALID}),
    Case("16", "/auth/version", "GET", "/auth/version", None, 200, "text/html",
        text="neuroglance_auth -- version 2.30.3"),
    Case("16", "/sticky_auth/version", "GET", "/sticky_auth/version", None, 200,
        "text/html", text="neuroglance_auth -- version 2.30.3"),
    Case("16", "/auth/version with an invalid token (ignored)", "GET", "/auth/version",
        "invalid", 200, "text/html", text="neuroglance_auth -- version 2.30.3"),
    Case("17", "server: GET /auth/api/v1/user/missing (non-admin)", "GET",
        "/auth/api/v1/user/missing", "user", 200, "application/json",
        sample=('[{"dataset_id":2,"dataset_name":"test_tos_ds","tos_id":2,'
        '"tos_name":"Test ToS"}]')),
    # Second part of the recording (middle_auth-admin-api.md), dataset admin Tina.
    Case("A22", "user 6 (dataset admin: admin_datasets), super admin", "GET",
        "/auth/api/v1/user/6", "admin", 200, "application/json",
        sample=('{"admin":false,"admin_datasets":[{"id":1,"name":"test_ds"}],'
        '"affiliations":[[]],"created":"Mon, 30 Nov 2026 23:10:43 GMT",'
        '"email":"tina@example.org","gdpr_consent":false,"id":6,'
        '"name":"Tina Tokenless","pi":"","service_account":false}')),
    Case("A19", "Tina's cached record once refreshed", "GET", "/auth/api/v1/user/cache",
        "dataset_admin", 200, "application/json",
        sample=('{"admin":false,"affiliations":[[]],"datasets_admin":["test_ds"],'
        '"email":"tina@example.org","groups":["default"],"groups_admin":[],"id":6,'
        '"missing_tos":[],"name":"Tina Tokenless","parent_id":null,'
        '"permissions":{"test_ds":1},"permissions_v2":{"test_ds":["view"]},'
        '"permissions_v2_ignore_tos":{"test_ds":["view"]},"pi":"",'
        '"service_account":false}')),
    Case("A23", "GET /user?email=norm: dataset admin (some admin)", "GET",
        "/auth/api/v1/user?email=norm", "dataset_admin", 200, "application/json",
        sample=('[{"affiliations":[[]],"created":"Mon, 30 Nov 2026 23:10:43 GMT",'
        '"id":2,"name":"Norm User","pi":"PI Norm","service_account":false}]')),
]
# fmt: on


def test_dataset_admin_record_names_the_dataset(shared: FakeAuthServer) -> None:
    """Tina's cached record lists test_ds under datasets_admin, exactly."""
    reply = fetch(
        shared, "GET", "/auth/api/v1/user/cache", bearer(shared.dataset_admin_token)
    )
    assert reply.json()["datasets_admin"] == ["test_ds"]
    full = fetch(shared, "GET", "/auth/api/v1/user/6", bearer(shared.admin_token))
    assert full.json()["admin_datasets"] == [{"id": 1, "name": "test_ds"}]


@pytest.mark.parametrize("case", case_params(CASES))
def test_conformance(case: Case, shared: FakeAuthServer) -> None:
    """Each stateless recorded case gets the recorded status, type, shape, headers."""
    check_case(case, shared)


TOS_DS_MISSING = (
    '[{"dataset_id":2,"dataset_name":"test_tos_ds","tos_id":2,"tos_name":"Test ToS"}]\n'
)


@pytest.mark.parametrize(
    ("caller", "body"),
    [
        ("admin", "[]\n"),
        ("group_admin", TOS_DS_MISSING),
        ("nokey", "[]\n"),
        ("sa", "[]\n"),
        ("user", TOS_DS_MISSING),
    ],
)
def test_user_missing_per_user_as_recorded(
    caller: str, body: str, shared: FakeAuthServer
) -> None:
    """Admin reference section 21: each seed user's /user/missing, byte for byte."""
    token = token_vars(shared)[caller]
    reply = fetch(shared, "GET", "/auth/api/v1/user/missing", bearer(token))
    assert (reply.status, reply.text) == (200, body)
