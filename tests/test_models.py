"""Tests for cave_auth.models: date handling, strict structuring, round trips."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cave_auth as ca
from cave_auth.models import format_datetime, parse_datetime, structure, unstructure


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Sat, 28 Nov 2026 04:59:28 GMT",
            dt.datetime(2026, 11, 28, 4, 59, 28, tzinfo=dt.UTC),
        ),
        ("Mon, 02 Feb 2026 00:00:00 GMT", dt.datetime(2026, 2, 2, tzinfo=dt.UTC)),
        (
            "2026-11-28T04:59:28.770702",
            dt.datetime(2026, 11, 28, 4, 59, 28, 770702, tzinfo=dt.UTC),
        ),
        (
            "2026-11-28T05:59:28+01:00",
            dt.datetime(2026, 11, 28, 4, 59, 28, tzinfo=dt.UTC),
        ),
        (
            "Sat, 28 Nov 2026 05:59:28 +0100",
            dt.datetime(2026, 11, 28, 4, 59, 28, tzinfo=dt.UTC),
        ),
    ],
)
def test_parse_datetime_accepts_server_forms(text, expected):
    """RFC 1123 and ISO 8601 dates parse to aware UTC datetimes."""
    assert parse_datetime(text) == expected
    assert parse_datetime(text).tzinfo is dt.UTC


@pytest.mark.parametrize(
    "bad", ["", "yesterday", "Sat, 99 Nov 2026 04:59:28 GMT", 5, None]
)
def test_parse_datetime_rejects_garbage(bad):
    """Anything that is not a date raises ValueError."""
    with pytest.raises(ValueError):  # noqa: PT011
        parse_datetime(bad)


@given(
    st.datetimes(
        min_value=dt.datetime(1970, 1, 1),
        max_value=dt.datetime(9999, 1, 1),
        timezones=st.just(dt.UTC),
    )
)
def test_rfc1123_round_trip(moment):
    """Formatting then parsing a datetime gives it back, to the second."""
    assert parse_datetime(format_datetime(moment)) == moment.replace(microsecond=0)


def test_int_fields_refuse_strings_and_bools():
    """Structuring is strict: "1" or True is not an int id."""
    for bad in ("1", True, 1.5, None):
        with pytest.raises((TypeError, ValueError)):
            structure({"id": bad, "name": "x", "admin": False}, ca.GroupMember)


def test_str_fields_refuse_numbers():
    """A number where a name belongs is refused."""
    with pytest.raises(TypeError):
        structure({"id": 1, "name": 5, "admin": False}, ca.GroupMember)


def test_lists_refuse_objects_and_strings():
    """A JSON object or string where a list belongs is refused."""
    with pytest.raises(TypeError):
        structure({}, list[ca.GroupMember])
    with pytest.raises(TypeError):
        structure("abc", list[ca.GroupMember])


def test_missing_required_field_is_an_error():
    """A record without its id cannot be structured."""
    with pytest.raises(KeyError):
        structure({"name": "x", "admin": True}, ca.GroupMember)


def test_user_leaves_out_fields_the_server_did_not_send():
    """A short user record unstructures without the full record's fields."""
    short = {"id": 2, "name": "Norm User", "pi": "PI Norm", "service_account": False}
    assert unstructure(structure(short, ca.User)) == short


def test_models_are_frozen():
    """Results cannot be changed after the fact."""
    member = ca.GroupMember(id=1, name="Ada", admin=True)
    with pytest.raises(AttributeError):
        member.name = "Eve"  # type: ignore[misc]
