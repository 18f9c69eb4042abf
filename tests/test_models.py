"""Tests for cave_auth.models: date handling, strict structuring, round trips."""

from __future__ import annotations

import datetime as dt
import json
import typing
from collections.abc import Mapping
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import cave_auth as ca
from cave_auth.models import (
    _structure_model_hook,
    converter,
    format_datetime,
    parse_datetime,
    structure,
    unstructure,
)


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


MODELS = (
    ca.TokenInfo,
    ca.User,
    ca.GroupMember,
    ca.Group,
    ca.UserName,
    ca.MissingTermsOfService,
    ca.Permissions,
)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3)
    ),
    max_leaves=6,
)
DATES = st.datetimes(
    min_value=dt.datetime(1970, 1, 1),
    max_value=dt.datetime(9999, 1, 1),
    timezones=st.just(dt.UTC),
).map(format_datetime)
SCALARS = {int: st.integers(), str: st.text(), bool: st.booleans(), dt.datetime: DATES}
NOT_AN_OBJECT = st.booleans() | st.integers() | st.text() | st.lists(JSON)
NOT_A_LIST = (
    st.booleans() | st.integers() | st.text() | st.dictionaries(st.text(), JSON)
)
WRONG_SCALARS = {
    int: st.booleans() | st.floats(allow_nan=False) | st.text() | st.lists(JSON),
    str: st.booleans() | st.integers() | st.floats(allow_nan=False) | st.lists(JSON),
    bool: st.integers() | st.floats(allow_nan=False) | st.text() | st.lists(JSON),
    dt.datetime: st.booleans()
    | st.integers()
    | st.text(alphabet="xyz ,:")
    | st.dictionaries(st.text(), JSON),
}


def _optional(hint):
    arguments = typing.get_args(hint)
    if len(arguments) == 2 and arguments[1] is type(None):
        return arguments[0], True
    return hint, False


def _valid(hint):
    base, optional = _optional(hint)
    if base is Any:
        values = JSON
    elif base in SCALARS:
        values = SCALARS[base]
    elif typing.get_origin(base) is tuple:
        (item,) = typing.get_args(base)[:1]
        values = st.lists(
            records(item) if attrs.has(item) else _valid(item), max_size=3
        )
    else:
        key, value = typing.get_args(base)
        values = st.dictionaries(_valid(key), _valid(value), max_size=3)
    return values | st.none() if optional else values


def _wrong(hint):
    base, optional = _optional(hint)
    if base in WRONG_SCALARS:
        values = WRONG_SCALARS[base]
    elif typing.get_origin(base) is tuple:
        item = typing.get_args(base)[0]
        values = NOT_A_LIST
        if item is not Any:
            bad_item = NOT_AN_OBJECT if attrs.has(item) else _wrong(item)
            values |= st.lists(bad_item, min_size=1, max_size=2)
    else:
        key, value = typing.get_args(base)
        values = st.lists(JSON, min_size=1) | st.dictionaries(
            _valid(key), _wrong(value), min_size=1, max_size=2
        )
    return values if optional else values | st.none()


def _checked_fields(model):
    hints = typing.get_type_hints(model)
    return [name for name, hint in hints.items() if name != "extra" and hint is not Any]


OMIT_NONE = (ca.User, ca.MissingTermsOfService)


def records(model):
    """Valid JSON records for ``model``, as the server would send them.

    User and MissingTermsOfService leave out what they do not have (their
    unstructure omits ``None``: the server sends no ``accept_url``); the other
    models always carry every key.
    """
    hints = typing.get_type_hints(model)
    fields = {f.name: f for f in attrs.fields(model) if f.name != "extra"}
    required = {
        name: _valid(hints[name])
        for name, field in fields.items()
        if model not in OMIT_NONE or field.default is attrs.NOTHING
    }
    optional = {
        name: _valid(hints[name]).filter(lambda value: value is not None)
        for name in fields.keys() - required.keys()
    }
    return st.fixed_dictionaries(required, optional=optional)


def _with_unknown_keys(model):
    known = {f.name for f in attrs.fields(model)} - {"extra"}
    unknown = st.dictionaries(
        st.text().filter(lambda key: key not in known), JSON, max_size=3
    )
    return st.tuples(st.just(model), records(model), unknown)


@given(st.sampled_from(MODELS).flatmap(_with_unknown_keys))
def test_any_model_is_hashable_and_equal_models_hash_alike(case):
    """A frozen result can go in a set or be a dict key, whatever the server sent."""
    model, record, unknown = case
    first, second = (structure({**record, **unknown}, model) for _ in range(2))
    assert first == second
    assert hash(first) == hash(second)
    assert len({first, second}) == 1


@given(st.sampled_from(MODELS).flatmap(_with_unknown_keys))
def test_structure_then_unstructure_gives_back_the_same_json(case):
    """Any valid record, unknown keys included, comes back as the same JSON.

    Lists are held as tuples, and the model equals one built by its __init__.
    """
    model, record, unknown = case
    record = {**record, **unknown}
    parsed = structure(record, model)
    assert parsed.extra == unknown
    assert attrs.evolve(parsed) == parsed
    for name, hint in typing.get_type_hints(model).items():
        if typing.get_origin(_optional(hint)[0]) is tuple and name in record:
            assert type(getattr(parsed, name)) is tuple
    back = unstructure(parsed)
    assert back == record
    assert json.dumps(back, sort_keys=True) == json.dumps(record, sort_keys=True)


@given(st.data())
def test_a_wrong_typed_field_is_refused(data):
    """A value of the wrong JSON type in any typed field is refused."""
    model = data.draw(st.sampled_from(MODELS))
    record = data.draw(records(model))
    name = data.draw(st.sampled_from(_checked_fields(model)))
    record[name] = data.draw(_wrong(typing.get_type_hints(model)[name]))
    with pytest.raises((TypeError, ValueError, KeyError, AttributeError)):
        structure(record, model)


def test_a_model_validator_runs_when_structured():
    """Structuring calls the model's own __init__, so its validators are not skipped."""

    @attrs.frozen(kw_only=True)
    class Checked:
        id: int = attrs.field(validator=attrs.validators.gt(0))
        extra: Mapping[str, Any] = attrs.field(factory=dict)

    conv = converter().copy()
    conv.register_structure_hook(Checked, _structure_model_hook(conv, Checked))
    assert conv.structure({"id": 1, "more": 2}, Checked) == Checked(
        id=1, extra={"more": 2}
    )
    with pytest.raises(ValueError, match="must be > 0"):
        conv.structure({"id": 0}, Checked)
