"""Tests for cave_auth.service.lookups: TransportLookups over the api functions."""

from __future__ import annotations

import pytest

import cave_auth as ca
from cave_auth.service import AuthServiceUnavailable, TransportLookups
from cave_auth.testing import FakeTransport, json_response, text_response

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
