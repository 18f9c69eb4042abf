"""Tests of the fake server's views of service tables and public roots.

Conformance cases of sections 39 and 40 of ``middle_auth-admin-api.md``; its
callers map onto this seed as: super admin ``admin``, group admin
``group_admin``, dataset admin ``dataset_admin`` (Tina), service account
``sa``, plain user ``user``. Exact JSON answers are compared as text, since
a shape alone does not tell ``true`` from ``false``.
"""

from __future__ import annotations

import json

import pytest

from cave_auth.testing import FakeAuthServer, FakePublicRoot, FakeSeed

from .conformance import (
    NO_TOKEN,
    PAGE_404,
    PAGE_500,
    REALM,
    Case,
    bearer,
    case_params,
    check_case,
    check_sequence,
    fetch,
)

API = "/auth/api/v1"
TOS_DS = f"{API}/service/datastack/table/test_tos_ds/dataset"
PUBLIC = f"{API}/table/test_ds_pcg_table"
XRW = {"X-Requested-With": "XMLHttpRequest"}
JSON_BODY = {"Content-Type": "application/json"}
PAGE_415 = (
    "<!doctype html>\n<html lang=en>\n<title>415 Unsupported Media Type</title>\n"
    "<h1>Unsupported Media Type</h1>\n<p>Did not attempt to load JSON data because "
    "the request Content-Type was not &#39;application/json&#39;.</p>\n"
)
CANNOT_MAP = "Requires superadmin privilege."

# fmt: off
CASES: list[Case] = [
    *(
        Case("39", f"GET datastack/test_tos_ds: {who}", "GET", TOS_DS, who, 200,
            "application/json", text='"test_tos_ds"\n')
        for who in ("admin", "group_admin", "dataset_admin", "sa", "user")
    ),
    Case("39", "GET datastack/test_tos_ds: no token, X-Requested-With", "GET", TOS_DS,
        None, 401, "application/json", headers=XRW, sample=NO_TOKEN,
        expect={"WWW-Authenticate": REALM}),
    Case("39", "GET pychunkedgraph/test_ds_pcg_table", "GET",
        f"{API}/service/pychunkedgraph/table/test_ds_pcg_table/dataset", "user", 200,
        "application/json", text='"test_ds"\n'),
    Case("39", "GET unknown table", "GET", f"{API}/service/datastack/table/nope/dataset",
        "user", 404, "text/html", text="No dataset for given service and table names"),
    *(
        Case("39", f"POST: {who}", "POST",
            f"{API}/service/datastack/table/x_tbl/dataset/test_ds", who, 403,
            "text/html", text=CANNOT_MAP)
        for who in ("group_admin", "dataset_admin", "sa", "user")
    ),
    Case("39", "POST: no token, X-Requested-With", "POST",
        f"{API}/service/datastack/table/x_tbl/dataset/test_ds", None, 401,
        "application/json", headers=XRW, sample=NO_TOKEN,
        expect={"WWW-Authenticate": REALM}),
    Case("39", "POST unknown dataset", "POST",
        f"{API}/service/datastack/table/x_tbl/dataset/nope", "admin", 404, "text/html",
        text="Dataset does not exist."),
    Case("39", "DELETE unknown dataset", "DELETE",
        f"{API}/service/datastack/table/new_tbl/dataset/nope", "admin", 404,
        "text/html", text="Dataset does not exist."),
    Case("39", "DELETE, group admin", "DELETE",
        f"{API}/service/datastack/table/test_ds/dataset/test_ds", "group_admin", 403,
        "text/html", text=CANNOT_MAP),
    Case("40", "has_public: service account (testbot)", "GET", PUBLIC + "/has_public",
        "sa", 200, "application/json", text="true\n"),
    Case("40", "has_public: plain user (Norm)", "GET", PUBLIC + "/has_public", "user",
        200, "application/json", text="true\n"),
    Case("40", "has_public: no token, X-Requested-With", "GET", PUBLIC + "/has_public",
        None, 401, "application/json", headers=XRW, sample=NO_TOKEN,
        expect={"WWW-Authenticate": REALM}),
    Case("40", "has_public, unknown table", "GET", f"{API}/table/nope/has_public",
        "user", 200, "application/json", text="false\n"),
    Case("40", "get_public_roots", "GET", PUBLIC + "/get_public_roots", "user", 200,
        "application/json", text="[720575940000000001,720575940000000002]\n"),
    Case("40", "get_public_roots, unknown table", "GET",
        f"{API}/table/nope/get_public_roots", "user", 200, "application/json",
        text="[]\n"),
    Case("40", "is_public, a public root", "GET",
        PUBLIC + "/root/720575940000000001/is_public", "user", 200, "application/json",
        text="true\n"),
    Case("40", "is_public, a private root", "GET",
        PUBLIC + "/root/720575940000000003/is_public", "user", 200, "application/json",
        text="false\n"),
    Case("40", "is_public, root abc", "GET", PUBLIC + "/root/abc/is_public", "user",
        404, "text/html", text=PAGE_404),
    Case("40", "is_public, no token, X-Requested-With", "GET",
        PUBLIC + "/root/720575940000000001/is_public", None, 401, "application/json",
        headers=XRW, sample=NO_TOKEN, expect={"WWW-Authenticate": REALM}),
    Case("40", "root_all_public, two public roots", "POST", PUBLIC + "/root_all_public",
        "user", 200, "application/json", headers=JSON_BODY,
        body="[720575940000000001, 720575940000000002]", text="true\n"),
    Case("40", "root_all_public, public + private", "POST",
        PUBLIC + "/root_all_public", "user", 200, "application/json",
        headers=JSON_BODY, body="[720575940000000001, 720575940000000003]",
        text="false\n"),
    Case("40", "root_all_public, the same public root twice", "POST",
        PUBLIC + "/root_all_public", "user", 200, "application/json",
        headers=JSON_BODY, body="[720575940000000001, 720575940000000001]",
        text="false\n"),
    Case("40", "root_all_public, ids as strings", "POST", PUBLIC + "/root_all_public",
        "user", 200, "application/json", headers=JSON_BODY,
        body='["720575940000000001"]', text="true\n"),
    Case("40", "root_all_public, []", "POST", PUBLIC + "/root_all_public", "user", 400,
        "application/json", headers=JSON_BODY, body="[]",
        sample='{"error":"missing_root_ids"}'),
    Case("40", "root_all_public, an object", "POST", PUBLIC + "/root_all_public",
        "user", 400, "application/json", headers=JSON_BODY,
        body='{"root_ids": [720575940000000001]}',
        sample='{"error":"missing_root_ids"}'),
    Case("40", 'root_all_public, ["abc"]', "POST", PUBLIC + "/root_all_public", "user",
        500, "text/html", headers=JSON_BODY, body='["abc"]', text=PAGE_500),
    Case("40", "root_all_public, no Content-Type", "POST", PUBLIC + "/root_all_public",
        "user", 415, "text/html", body="[720575940000000001]", text=PAGE_415),
    Case("40", "root_all_public, no token, X-Requested-With", "POST",
        PUBLIC + "/root_all_public", None, 401, "application/json",
        headers={**XRW, **JSON_BODY}, body="[720575940000000001]", sample=NO_TOKEN,
        expect={"WWW-Authenticate": REALM}),
]

SEQUENCES: dict[str, list[Case]] = {
    "39": [
        Case("39", "POST new_tbl -> dataset tos (substring)", "POST",
            f"{API}/service/datastack/table/new_tbl/dataset/tos", "admin", 200,
            "application/json", text='"success"\n'),
        Case("39", "...GET new_tbl", "GET",
            f"{API}/service/datastack/table/new_tbl/dataset", "user", 200,
            "application/json", text='"test_tos_ds"\n'),
        Case("39", "POST same again", "POST",
            f"{API}/service/datastack/table/new_tbl/dataset/test_tos_ds", "admin", 422,
            "text/html", text="Table mapping already exists."),
        Case("39", "DELETE new_tbl", "DELETE",
            f"{API}/service/datastack/table/new_tbl/dataset/test_tos_ds", "admin", 200,
            "application/json", text='"success"\n'),
        Case("39", "DELETE same again", "DELETE",
            f"{API}/service/datastack/table/new_tbl/dataset/test_tos_ds", "admin", 200,
            "application/json", text='"success"\n'),
        Case("39", "...GET new_tbl after the delete (not recorded)", "GET",
            f"{API}/service/datastack/table/new_tbl/dataset", "user", 404, "text/html",
            text="No dataset for given service and table names"),
    ],
}
# fmt: on


@pytest.mark.parametrize("case", case_params(CASES))
def test_conformance(case: Case, shared: FakeAuthServer) -> None:
    """Each stateless recorded case gets the recorded status, type, body, headers."""
    check_case(case, shared)


@pytest.mark.parametrize("section", list(SEQUENCES))
def test_conformance_sequence(section: str, server: FakeAuthServer) -> None:
    """The recorded cases that change state replay in order on a fresh server."""
    check_sequence(SEQUENCES[section], server)


def test_root_ids_beyond_2_to_the_53_stay_exact() -> None:
    """Root ids that a float cannot hold are told apart, both ways."""
    big = 2**62 + 1
    seed = FakeSeed.default()
    seed.public_roots.append(FakePublicRoot("big", big))
    with FakeAuthServer(seed) as server:
        auth = bearer(server.user_token)
        listing = fetch(server, "GET", f"{API}/table/big/get_public_roots", auth)
        assert listing.text == f"[{big}]\n"
        near = fetch(server, "GET", f"{API}/table/big/root/{big - 1}/is_public", auth)
        assert near.json() is False
        headers = {**auth, **JSON_BODY}
        exact = fetch(
            server, "POST", f"{API}/table/big/root_all_public", headers, f"[{big}]"
        )
        assert exact.json() is True


def test_public_roots_follow_the_seed_rows() -> None:
    """A private row is no public root, and a table with only such rows has none."""
    seed = FakeSeed.default()
    seed.public_roots = [FakePublicRoot("t", 5, public=False), FakePublicRoot("u", 7)]
    with FakeAuthServer(seed) as server:
        auth = bearer(server.user_token)
        assert fetch(server, "GET", f"{API}/table/t/has_public", auth).json() is False
        assert fetch(server, "GET", f"{API}/table/u/has_public", auth).json() is True
        assert (
            fetch(server, "GET", f"{API}/table/t/get_public_roots", auth).json() == []
        )


def test_a_mapped_table_name_is_percent_decoded(server: FakeAuthServer) -> None:
    """A table name arrives percent-decoded, as werkzeug decodes the path."""
    admin = bearer(server.admin_token)
    path = f"{API}/service/datastack/table/with%20space/dataset"
    assert fetch(server, "POST", path + "/test_ds", admin).status == 200
    reply = fetch(server, "GET", path, bearer(server.user_token))
    assert json.loads(reply.body) == "test_ds"
