"""Tests for cave_auth.service.lookups: the sync and async lookups over the api functions."""

from __future__ import annotations

import asyncio
import inspect

import pytest

import cave_auth as ca
from cave_auth.service import (
    AsyncTransportLookups,
    AuthServiceUnavailable,
    TransportLookups,
)
from cave_auth.service.values import MAX_TOKEN_LENGTH
from cave_auth.testing import (
    FakeAsyncTransport,
    FakeTransport,
    json_response,
    text_response,
)

AUTH = "https://auth.example.org/auth"
API = "/auth/api/v1"
SERVICE_TOKEN = "5e41cee00a4e0ce1b3cd0a2a8e8e2c7b"
ROOT = 720575940000000001


def lookups(routes):
    """Return TransportLookups over a FakeTransport answering ``routes``."""
    fake = FakeTransport(routes)
    return TransportLookups(AUTH, fake), fake


def test_digit_string_roots_are_sent_as_exact_ints():
    """A root id from a path or JSON body is sent as the 64-bit int it spells."""
    found, fake = lookups(
        {
            ("GET", f"{API}/table/t/root/{ROOT}/is_public"): True,
            ("POST", f"{API}/table/t/root_all_public"): True,
        }
    )
    assert found.public("root", "t", str(ROOT), SERVICE_TOKEN) is True
    assert found.public("roots", "t", frozenset({str(ROOT)}), SERVICE_TOKEN) is True
    assert fake.requests[-1].json == [ROOT]


@pytest.mark.parametrize(
    ("kind", "subject"),
    [("root", "abc"), ("root", -1), ("root", True), ("roots", frozenset({"x1"}))],
)
def test_a_subject_that_is_no_root_id_is_not_public_without_a_request(kind, subject):
    """A root that is not an id is not public, and the server is not asked."""
    found, fake = lookups({})
    assert found.public(kind, "t", subject, SERVICE_TOKEN) is None
    assert fake.requests == []


def test_public_4xx_is_no_answer_and_5xx_is_unavailable():
    """A 4xx to a public check means no answer; a 5xx means the service is down."""
    found, fake = lookups({})
    fake.script("GET", f"{API}/table/t/has_public", text_response("no", status=404))
    assert found.public("table", "t", None, SERVICE_TOKEN) is None
    fake.script("GET", f"{API}/table/t/has_public", text_response("down", status=503))
    with pytest.raises(AuthServiceUnavailable):
        found.public("table", "t", None, SERVICE_TOKEN)


def test_dataset_of_a_non_string_table_id_is_asked_by_its_text():
    """A table id from an int route argument is asked about as its text."""
    found, fake = lookups({("GET", f"{API}/service/datastack/table/7/dataset"): "ds"})
    assert found.dataset("datastack", 7, SERVICE_TOKEN) == "ds"
    assert found.dataset("datastack", 7, None) is None
    assert len(fake.requests) == 1


def test_user_record_is_kept_whole_and_rejections_are_none():
    """The /user/cache record comes back whole; 401 and 403 mean an invalid token."""
    record = {"id": 2, "groups": ["default"], "something_new": {"a": 1}}
    found, fake = lookups({("GET", f"{API}/user/cache"): record})
    assert found.user(SERVICE_TOKEN) == record
    for status in (401, 403):
        fake.script("GET", f"{API}/user/cache", json_response({}, status=status))
        assert found.user(SERVICE_TOKEN) is None


def test_a_malformed_record_is_unavailable_not_invalid():
    """A record that is not a permission record is the service failing, not the token."""
    found, _ = lookups({("GET", f"{API}/user/cache"): ["not", "a", "record"]})
    with pytest.raises(AuthServiceUnavailable) as info:
        found.user(SERVICE_TOKEN)
    assert SERVICE_TOKEN not in str(info.value)
    assert isinstance(info.value, ca.CaveAuthError)


NGINX_400 = (
    "<html>\r\n<head><title>400 Request Header Or Cookie Too Large</title></head>\r\n"
    "<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n</body>\r\n</html>\r\n"
)


def user_of(found, token):
    """Ask ``found`` for the user of ``token``, awaiting an async lookup."""
    answer = found.user(token)
    return asyncio.run(answer) if inspect.iscoroutine(answer) else answer


def both_lookups(routes):
    """Yield (lookups, fake) for the sync and the async path, over one route table."""
    sync = FakeTransport(routes)
    asynchronous = FakeAsyncTransport(routes)
    yield TransportLookups(AUTH, sync), sync
    yield AsyncTransportLookups(AUTH, asynchronous), asynchronous


@pytest.mark.parametrize("status", [400, 413, 414, 431])
def test_a_request_refused_as_too_large_or_malformed_is_a_rejected_token(status):
    """A 400, 413, 414 or 431 to a token lookup means an invalid token, not an outage."""
    for found, fake in both_lookups({}):
        fake.script("GET", f"{API}/user/cache", text_response(NGINX_400, status=status))
        assert user_of(found, SERVICE_TOKEN) is None
        assert len(fake.requests) == 1


@pytest.mark.parametrize("status", [404, 409, 429, 500, 502])
def test_other_failures_of_a_token_lookup_stay_unavailable(status):
    """Any other failure of a token lookup is the service failing, never the token."""
    for found, fake in both_lookups({}):
        fake.script("GET", f"{API}/user/cache", text_response("no", status=status))
        with pytest.raises(AuthServiceUnavailable):
            user_of(found, SERVICE_TOKEN)


def test_an_oversize_token_is_rejected_without_a_request():
    """A token over 2,048 characters is rejected on both paths and never sent."""
    record = {"id": 2, "groups": []}
    for found, fake in both_lookups({("GET", f"{API}/user/cache"): record}):
        assert user_of(found, "t" * 9000) is None
        assert user_of(found, "t" * (MAX_TOKEN_LENGTH + 1)) is None
        assert fake.requests == []
        assert user_of(found, "t" * MAX_TOKEN_LENGTH) == record
        assert len(fake.requests) == 1
