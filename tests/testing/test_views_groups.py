"""Tests of the fake server's views of groups, service accounts and datasets.

Conformance cases of sections 4 and 17 (the ``/tosdemo`` permission checks).
"""

from __future__ import annotations

import pytest

from cave_auth.testing import FakeAuthServer

from .conformance import (
    BAD_TOKEN,
    BROWSER,
    GROUP_2_MEMBERS,
    NO_TOKEN,
    PAGE_404,
    REALM,
    REALM_INVALID,
    Case,
    bearer,
    case_params,
    check_case,
    fetch,
)

# fmt: off
CASES: list[Case] = [
    Case("4", "admin, group 2", "GET", "/auth/api/v1/group/2/user", "admin", 200,
        "application/json", sample=GROUP_2_MEMBERS),
    Case("4", "group admin (not superadmin), group 2", "GET",
        "/auth/api/v1/group/2/user", "group_admin", 200, "application/json",
        sample=GROUP_2_MEMBERS),
    Case("4", "service account, group 2", "GET", "/auth/api/v1/group/2/user", "sa", 200,
        "application/json", sample=GROUP_2_MEMBERS),
    Case("4", "non-admin, group 2", "GET", "/auth/api/v1/group/2/user", "user", 403,
        "text/html", text="Requires admin privilege."),
    Case("4", "no token at all (plain curl, no extra headers)", "GET",
        "/auth/api/v1/group/2/user", None, 302, "text/html",
        expect={"Location": (
        "https://127.0.0.1:5055/sticky_auth/api/v1/authorize?redirect=http%3A//"
        "127.0.0.1%3A5055/auth/api/v1/group/2/user")}),
    Case("4", "no token, `X-Requested-With` set (programmatic)", "GET",
        "/auth/api/v1/group/2/user", None, 401, "application/json",
        headers={"X-Requested-With": "XMLHttpRequest"}, sample=NO_TOKEN,
        expect={"WWW-Authenticate": REALM}),
    Case("4", "invalid token", "GET", "/auth/api/v1/group/2/user", "invalid", 401,
        "application/json", sample=BAD_TOKEN,
        expect={"WWW-Authenticate": REALM_INVALID}),
    Case("4", "admin, group 1 (`default`, every normal user)", "GET",
        "/auth/api/v1/group/1/user", "admin", 200, "application/json",
        sample=('[{"admin":false,"id":1,"name":"Ada Admin"},{"admin":false,"id":2,'
        '"name":"Norm User"},{"admin":false,"id":4,"name":"Gail Groupadmin"},'
        '{"admin":false,"id":5,"name":"Rita Refresh"},{"admin":false,"id":6,'
        '"name":"Tina Tokenless"}]')),
    Case("4", "admin, group 3 (exists, no members)", "GET", "/auth/api/v1/group/3/user",
        "admin", 200, "application/json", sample="[]"),
    Case("4", "admin, group 999 (does not exist)", "GET", "/auth/api/v1/group/999/user",
        "admin", 200, "application/json", sample="[]"),
    Case("4", "admin, group id `abc`", "GET", "/auth/api/v1/group/abc/user", "admin",
        404, "text/html", text=PAGE_404),
    Case("4", "no token, group id `abc` (404 before auth)", "GET",
        "/auth/api/v1/group/abc/user", None, 404, "text/html", text=PAGE_404),
    Case("4", "admin, group id `-1`", "GET", "/auth/api/v1/group/-1/user", "admin", 404,
        "text/html", text=PAGE_404),
    Case("4", "admin, group id `2.0`", "GET", "/auth/api/v1/group/2.0/user", "admin",
        404, "text/html", text=PAGE_404),
    Case("4", ("admin, GET /auth/api/v1/group/999 (the group itself: here a missing "
        "one is 404)"), "GET", "/auth/api/v1/group/999", "admin", 404, "text/html",
        text="Group doesn't exist"),
    Case("4", "admin, GET /auth/api/v1/group/2/service_account", "GET",
        "/auth/api/v1/group/2/service_account", "admin", 200, "application/json",
        sample='[{"id":3,"name":"testbot"}]'),
    Case("17", "tosdemo, non-admin, view test_tos_ds (ToS not accepted)", "GET",
        "/tosdemo/test_tos_ds/view", "user", 403, "application/json",
        sample=('{"data":{"tos_form_url":"https://127.0.0.1:5055/sticky_auth/api/v1/'
        'tos/2/accept","tos_id":2,"tos_name":"Test ToS"},'
        '"error":"missing_tos","message":"Need to accept Terms of Service to '
        'access resource."}')),
    Case("17", "tosdemo, non-admin, browser-like with cookie", "GET",
        "/tosdemo/test_tos_ds/view", None, 302, "text/html",
        headers={"Cookie": "middle_auth_token=${user}", **BROWSER},
        expect={"Location": ("https://127.0.0.1:5055/sticky_auth/api/v1/tos/2/accept?"
        "redirect=http%3A//127.0.0.1%3A5055/tosdemo/test_tos_ds/view")}),
    Case("17", "tosdemo, non-admin, edit test_tos_ds (no edit even with ToS)", "GET",
        "/tosdemo/test_tos_ds/edit", "user", 403, "application/json",
        sample=('{"data":{"auth_dataset":"test_tos_ds","required_permission":"edit"},'
        '"error":"missing_permission","message":"Missing permission: edit for '
        'dataset test_tos_ds"}')),
    Case("17", "tosdemo, admin (accepted), view test_tos_ds", "GET",
        "/tosdemo/test_tos_ds/view", "admin", 200, "application/json",
        sample='{"datastack":"test_tos_ds","ok":true,"permission":"view","user_id":1}'),
    Case("17", "tosdemo, service account of admin, view test_tos_ds", "GET",
        "/tosdemo/test_tos_ds/view", "sa", 200, "application/json",
        sample='{"datastack":"test_tos_ds","ok":true,"permission":"view","user_id":3}'),
    Case("17", "tosdemo, non-admin, view test_ds (no ToS)", "GET",
        "/tosdemo/test_ds/view", "user", 200, "application/json",
        sample='{"datastack":"test_ds","ok":true,"permission":"view","user_id":2}'),
    Case("17", "tosdemo, Tina (only group default: view), edit test_ds", "GET",
        "/tosdemo/test_ds/edit", "nokey", 403, "application/json",
        sample=('{"data":{"auth_dataset":"test_ds","required_permission":"edit"},'
        '"error":"missing_permission","message":"Missing permission: edit for '
        'dataset test_ds"}')),
    Case("17", "tosdemo, unknown datastack", "GET", "/tosdemo/nope/view", "user", 400,
        "application/json",
        sample=('{"data":{"auth_dataset":null,"resource_namespace":"datastack",'
        '"table_id":"nope"},"error":"invalid_table_id",'
        '"message":"Invalid table_id for service"}')),
    Case("17", "tosdemo, no token (X-Requested-With)", "GET",
        "/tosdemo/test_tos_ds/view", None, 401, "application/json",
        headers={"X-Requested-With": "XMLHttpRequest"}, sample=NO_TOKEN,
        expect={"WWW-Authenticate": REALM}),
]
# fmt: on


@pytest.mark.parametrize("case", case_params(CASES))
def test_conformance(case: Case, shared: FakeAuthServer) -> None:
    """Each stateless recorded case gets the recorded status, type, shape, headers."""
    check_case(case, shared)


def test_group_info_route(shared: FakeAuthServer) -> None:
    """GET /group/<id> returns {id, name} for admins and 403 for a plain user."""
    reply = fetch(shared, "GET", "/auth/api/v1/group/2", bearer(shared.admin_token))
    assert reply.json() == {"id": 2, "name": "testgroup"}
    reply = fetch(shared, "GET", "/auth/api/v1/group/2", bearer(shared.user_token))
    assert (reply.status, reply.text) == (403, "Requires admin privilege.")
