"""Typed results of the endpoint calls, and the one converter that builds them.

No I/O. Each model is a frozen attrs class shaped like the server's JSON:
its keys are the fields, lists become tuples, dates aware UTC datetimes, and
unknown keys go to ``extra``, so :func:`unstructure` gives back the server's
shape. A model hashes on its plain fields. The cattrs converter is built on
first use and strict: an ``int`` field refuses ``"1"`` and ``True``, a ``str``
field ``5``. Each model is structured by cattrs's generated hook, wrapped only
to gather unknown keys.
"""

from __future__ import annotations

import datetime as _dt
import functools
import types
import typing
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from ._redact import masked_repr

if TYPE_CHECKING:
    import cattrs

__all__ = [
    "Group",
    "GroupMember",
    "MissingTermsOfService",
    "Permissions",
    "TokenInfo",
    "User",
    "UserName",
    "converter",
    "structure",
    "unstructure",
]

T = TypeVar("T")

_MONTHS = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)
_MONTH_NUMBERS = {name: number for number, name in enumerate(_MONTHS, 1)}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@attrs.frozen(kw_only=True)
class TokenInfo:
    """One of the user's API keys, as ``GET /user/token`` lists them.

    Attributes:
        id: The key's id (what :func:`cave_auth.delete_token` takes).
        token: The secret itself. Shown masked by ``repr``.
        user_id: The owner.
        description: The description given at creation, or ``None``.
        created: When it was created.
        last_used: When it last authenticated a request, or ``None``.
        updated: When the row last changed.
        extra: Keys the server sent that this model does not know.
    """

    id: int
    token: str = attrs.field(repr=masked_repr)
    user_id: int
    description: str | None = None
    created: _dt.datetime | None = None
    last_used: _dt.datetime | None = None
    updated: _dt.datetime | None = None
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=False, hash=False)


@attrs.frozen(kw_only=True)
class User:
    """A user record, from ``/user/me``, ``/user?id=`` or ``/user/{id}``.

    Superadmins, service accounts and the user themself get a full record; group
    admins a short one (no ``email``, ``admin``...): fields not sent are
    ``None``, and :func:`unstructure` leaves them out again.

    Attributes:
        id: The user id.
        name: The public name (a custom name if the user chose one).
        email: The e-mail address.
        admin: Whether the user is a superadmin.
        pi: The user's principal investigator.
        created: When the account was created.
        service_account: Whether this is a service account.
        gdpr_consent: Whether the user gave GDPR consent.
        admin_datasets: Datasets the user administers.
        affiliations: As the server sends them (a list in another list).
        parent_id: For a service account, the owning user's id;
            ``parent``: that user's short record.
        extra: Keys the server sent that this model does not know.
    """

    id: int
    name: str
    email: str | None = None
    admin: bool | None = None
    pi: str | None = None
    created: _dt.datetime | None = None
    service_account: bool | None = None
    gdpr_consent: bool | None = None
    admin_datasets: tuple[Any, ...] | None = attrs.field(default=None, hash=False)
    affiliations: Any = attrs.field(default=None, hash=False)
    parent_id: int | None = None
    parent: Any = attrs.field(default=None, hash=False)
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=False, hash=False)


@attrs.frozen(kw_only=True)
class GroupMember:
    """A member of a group, from ``GET /group/{id}/user``.

    Attributes:
        id: The user id.
        name: The user's public name.
        admin: Whether the user administers this group.
        extra: Keys the server sent that this model does not know.
    """

    id: int
    name: str
    admin: bool
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=False, hash=False)


@attrs.frozen(kw_only=True)
class Group:
    """A group a user belongs to, from ``GET /user/{id}/group``.

    Attributes:
        id: The group id.
        name: The group name.
        extra: Keys the server sent that this model does not know.
    """

    id: int
    name: str
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=False, hash=False)


@attrs.frozen(kw_only=True)
class UserName:
    """A user's id and public name, from ``GET /username?id=``.

    Attributes:
        id: The user id.
        name: The public name.
        extra: Keys the server sent that this model does not know.
    """

    id: int
    name: str
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=False, hash=False)


@attrs.frozen(kw_only=True)
class MissingTermsOfService:
    """A dataset whose terms of service the user has yet to accept.

    Attributes:
        dataset_id: The dataset id.
        dataset_name: The dataset name.
        tos_id: The id of its terms of service.
        tos_name: The name of its terms of service.
        accept_url: The page where the user accepts them, when known (filled
            in by :func:`cave_auth.get_missing_tos`, not sent by the server).
        extra: Keys the server sent that this model does not know.
    """

    dataset_id: int
    dataset_name: str
    tos_id: int
    tos_name: str
    accept_url: str | None = None
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=False, hash=False)


@attrs.frozen(kw_only=True)
class Permissions:
    """What a user may do: the permission cache the CAVE services consult.

    Returned by ``/user/cache``, ``/my_permissions`` and ``/user/{id}/permissions``.

    Attributes:
        id: The user id.
        name: The public name.
        email: The e-mail address.
        admin: Whether the user is a superadmin.
        pi: The principal investigator.
        service_account: Whether this is a service account.
        parent_id: For a service account, the owner's id.
        affiliations: The affiliations, as the server sends them.
        groups: The groups the user is in; ``groups_admin``: those they
            administer; ``datasets_admin``: the datasets they administer.
        permissions: Dataset name to permission level (1 view, 2 edit).
        permissions_v2: Dataset name to the permissions granted;
            ``permissions_v2_ignore_tos``: the same, as if every terms of
            service were accepted.
        missing_tos: Datasets whose terms of service still need accepting.
        extra: Keys the server sent that this model does not know.
    """

    id: int
    name: str
    email: str | None = None
    admin: bool | None = None
    pi: str | None = None
    service_account: bool | None = None
    parent_id: int | None = None
    affiliations: Any = attrs.field(default=None, hash=False)
    groups: tuple[str, ...] = ()
    groups_admin: tuple[str, ...] = ()
    datasets_admin: tuple[str, ...] = ()
    permissions: Mapping[str, int] = attrs.field(factory=dict, hash=False)
    permissions_v2: Mapping[str, tuple[str, ...]] = attrs.field(
        factory=dict, hash=False
    )
    permissions_v2_ignore_tos: Mapping[str, tuple[str, ...]] = attrs.field(
        factory=dict, hash=False
    )
    missing_tos: tuple[MissingTermsOfService, ...] = ()
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=False, hash=False)


_MODELS: tuple[type, ...] = (
    TokenInfo,
    User,
    GroupMember,
    Group,
    UserName,
    MissingTermsOfService,
    Permissions,
)
_OMIT_NONE: frozenset[type] = frozenset({User, MissingTermsOfService})


def parse_datetime(value: object) -> _dt.datetime:
    """Parse a date as the server writes it into an aware UTC datetime.

    RFC 1123 (``"Sat, 28 Nov 2026 04:59:28 GMT"``) and ISO 8601 are accepted;
    a date without offset is taken as UTC.

    Raises:
        ValueError: If ``value`` is not a date in either form, or falls outside
            the years 1 to 9999 once converted to UTC.
    """
    if not isinstance(value, str):
        raise ValueError(f"expected a date string, got {type(value).__name__}")
    if len(value) == 29 and value[3:5] == ", " and value.endswith(" GMT"):
        month = _MONTH_NUMBERS.get(value[8:11])
        if month is not None:
            try:
                return _dt.datetime(
                    int(value[12:16]),
                    month,
                    int(value[5:7]),
                    int(value[17:19]),
                    int(value[20:22]),
                    int(value[23:25]),
                    tzinfo=_dt.UTC,
                )
            except ValueError:
                pass
    try:
        parsed = _dt.datetime.fromisoformat(value)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            raise ValueError(f"not a date: {value[:40]!r}") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=_dt.UTC)
    try:
        return parsed.astimezone(_dt.UTC)
    except OverflowError:
        # e.g. "0001-01-01T00:00:00+01:00": in UTC it falls before year 1.
        raise ValueError(f"date out of range in UTC: {value[:40]!r}") from None


def format_datetime(value: _dt.datetime) -> str:
    """Format a datetime as the server does (RFC 1123, GMT); naive means UTC."""
    if value.tzinfo is not None:
        value = value.astimezone(_dt.UTC)
    return (
        f"{_DAYS[value.weekday()]}, {value.day:02d} {_MONTHS[value.month - 1]} "
        f"{value.year:04d} {value.hour:02d}:{value.minute:02d}:{value.second:02d} GMT"
    )


@functools.cache
def converter() -> cattrs.Converter:
    """Return the package's cattrs converter, built on first use."""
    import cattrs

    conv = cattrs.Converter(detailed_validation=False, forbid_extra_keys=False)
    # cattrs's own hooks convert: int("1"), str(5), list("abc"), list({...}) (the
    # keys). The hooks below only check, so a wrong type is refused instead.
    for kind in (int, str, bool):
        conv.register_structure_hook(kind, _strict(kind))
        conv.register_structure_hook(kind | None, _strict(kind, optional=True))
    conv.register_structure_hook(_dt.datetime, _structure_datetime)
    conv.register_structure_hook(_dt.datetime | None, _or_none(_structure_datetime))
    conv.register_unstructure_hook(_dt.datetime, format_datetime)
    conv.register_structure_hook_factory(
        _is_sequence, lambda kind: _sequence_hook(conv, kind)
    )
    conv.register_structure_hook_factory(
        lambda kind: _is_sequence(_without_none(kind)),
        lambda kind: _or_none(_sequence_hook(conv, _without_none(kind))),
    )
    # Each model's hooks are generated when it is first structured or
    # unstructured, not all at once: a cold process that makes one call pays
    # for the one model it gets back (cattrs keeps what a factory made).
    models = frozenset(_MODELS)
    conv.register_structure_hook_factory(
        models.__contains__, lambda model: _structure_model_hook(conv, model)
    )
    conv.register_unstructure_hook_factory(
        models.__contains__, lambda model: _unstructure_model_hook(conv, model)
    )
    return conv


def _strict(kind: type, *, optional: bool = False) -> Any:
    def check(value: object, _: object) -> object:
        if (
            type(value) is kind
            or (optional and value is None)
            # An int subclass passes (an IntEnum, say); bool, also one, does not.
            or (kind is int and isinstance(value, int) and not isinstance(value, bool))
        ):
            return value
        raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")

    return check


def _or_none(hook: Any) -> Any:
    def structure_or_none(value: object, kind: object) -> object:
        return None if value is None else hook(value, kind)

    return structure_or_none


@functools.lru_cache(maxsize=512)
def _parse_datetime_cached(value: str) -> _dt.datetime:
    return parse_datetime(value)


def _structure_datetime(value: object, _: object) -> _dt.datetime:
    # A list of records repeats the same few dates; the cache takes only str keys.
    return (
        _parse_datetime_cached(value) if type(value) is str else parse_datetime(value)
    )


def _without_none(kind: Any) -> Any:
    """Return ``X`` for ``X | None``, and None for any other type."""
    arguments = typing.get_args(kind)
    if (
        typing.get_origin(kind) in (typing.Union, types.UnionType)
        and len(arguments) == 2
        and arguments[1] is type(None)
    ):
        return arguments[0]
    return None


def _is_sequence(kind: Any) -> bool:
    return typing.get_origin(kind) in (list, tuple)


def _sequence_hook(conv: cattrs.Converter, kind: Any) -> Any:
    container = typing.get_origin(kind)
    item_type = typing.get_args(kind)[0]
    item_hook = None if item_type is Any else conv.get_structure_hook(item_type)

    def structure_sequence(value: object, _: object) -> Any:
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"expected a list, got {type(value).__name__}")
        if item_hook is None:
            return container(value)
        items = [item_hook(item, item_type) for item in value]
        return items if container is list else container(items)

    return structure_sequence


def _structure_model_hook(conv: cattrs.Converter, model: type) -> Any:
    from cattrs.gen import make_dict_structure_fn, override

    known = frozenset(field.name for field in attrs.fields(model)) - {"extra"}
    build: Any = make_dict_structure_fn(model, conv, extra=override(omit=True))

    # cattrs can drop unknown keys or refuse them, but not collect them: this
    # wrapper keeps them in ``extra``, and says what it expected of a non-object.
    def structure_model(data: object, _: object) -> Any:
        if not isinstance(data, dict):
            raise TypeError(f"expected a JSON object, got {type(data).__name__}")
        instance = build(data, model)
        if not known.issuperset(data):
            # Set as attrs's own __init__ sets a frozen field: the instance is
            # not shared yet. attrs.evolve would build it a second time.
            unknown = {key: value for key, value in data.items() if key not in known}
            object.__setattr__(instance, "extra", unknown)
        return instance

    return structure_model


def _unstructure_model_hook(conv: cattrs.Converter, model: type) -> Any:
    from cattrs.gen import make_dict_unstructure_fn, override

    unstructure_known: Any = make_dict_unstructure_fn(
        model,
        conv,
        _cattrs_omit_if_default=model in _OMIT_NONE,
        extra=override(omit=True),
    )

    def unstructure_model(instance: Any) -> dict[str, Any]:
        data: dict[str, Any] = unstructure_known(instance)
        data.update(instance.extra)
        return data

    return unstructure_model


def structure(data: object, kind: type[T]) -> T:
    """Build a model (or a list of models) from the server's JSON.

    Raises:
        TypeError, ValueError, KeyError: If ``data`` does not have the shape
            of ``kind``; endpoint calls turn these into
            :class:`~cave_auth.ResponseFormatError`.
    """
    return converter().structure(data, kind)


def unstructure(value: Any) -> Any:
    """Turn models (or lists of them) back into the server's JSON shape."""
    return converter().unstructure(value)
