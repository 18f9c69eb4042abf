"""The values the service decision takes and gives: requests, rules, outcomes.

This module does no I/O. It holds the frozen inputs of
:func:`~cave_auth.service.evaluate` (:class:`Settings`, :class:`Rule`,
:class:`Request`), the facts it asks for (the ``Need`` values, hashable,
tokens hidden from repr) and its three outcomes (:class:`Allow`,
:class:`Deny`, :class:`Redirect`); the bytes an outcome is sent as are made
by :mod:`~cave_auth.service.rendering`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import attrs

from .rendering import cookie_value, redirect_body

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

__all__ = [
    "ANONYMOUS_USER",
    "APPLICATION_JSON",
    "DISABLED_USER",
    "MAX_TOKEN_LENGTH",
    "TEXT_HTML",
    "Allow",
    "DatasetNeed",
    "Decision",
    "Deny",
    "Need",
    "PublicNeed",
    "Redirect",
    "RefreshNeed",
    "Request",
    "Rule",
    "Settings",
    "UserNeed",
    "normalize_auth_url",
    "normalize_origins",
]

TEXT_HTML = "text/html; charset=utf-8"
APPLICATION_JSON = "application/json"

ANONYMOUS_USER: Mapping[str, Any] = {
    "id": 0,
    "service_account": False,
    "name": "",
    "email": "",
    "admin": False,
    "groups": [],
    "permissions": {},
}
"""The user a public resource runs as when the request has no valid token."""

DISABLED_USER: Mapping[str, Any] = {
    "id": 0,
    "name": "AUTH_DISABLED",
    "email": "AUTH_DISABLED@AUTH.DISABLED",
    "admin": True,
    "service_account": False,
    "groups": [],
    "permissions": {},
}
"""The user every request runs as when checking is disabled."""

MAX_TOKEN_LENGTH = 2048
"""The longest token looked up; a longer one is invalid without asking.

The server's tokens are 32 characters. nginx in front of it answers 400 to
a header over 8 KiB, so a token near that size can only fail upstream;
2,048 leaves room for any token format while refusing such a request here,
at no cost to the auth service.
"""

_HIDDEN = "<hidden>"


def _hide(value: object) -> str:
    return "None" if value is None else _HIDDEN


def normalize_auth_url(value: str) -> str:
    """Return an auth service URL with a scheme and without a trailing slash.

    Args:
        value: ``host[:port]/path`` as ``middle_auth_client`` takes it
            (``https://`` is assumed), or a full ``http(s)://`` URL.

    Returns:
        The URL, e.g. ``https://global.daf-apis.com/auth``.
    """
    value = value.strip().rstrip("/")
    if "://" not in value:
        value = "https://" + value
    return value


def normalize_origins(value: str | Iterable[str]) -> frozenset[str]:
    """Return origins as a browser's ``Origin`` header writes them.

    Args:
        value: Origins (``https://host[:port]``), as an iterable or as one
            string separated by commas or spaces (an environment variable).

    Returns:
        Each in lower case, without a trailing slash or its scheme's default
        port.

    Raises:
        ValueError: If one is not ``http(s)://host[:port]``; it is named.
    """
    items = value.replace(",", " ").split() if isinstance(value, str) else value
    origins = set()
    for item in items:
        origin = _origin_key(item)
        if origin is None:
            raise ValueError(
                f"{item!r} is not an origin: write scheme://host[:port], "
                "as in https://app.example.org, without a path"
            )
        origins.add(origin)
    return frozenset(origins)


def _origin_key(origin: object) -> str | None:
    """Return ``origin`` normalized (see :func:`normalize_origins`), or None."""
    if not isinstance(origin, str):
        return None
    scheme, sep, host = origin.strip().lower().rstrip("/").partition("://")
    if not sep or scheme not in ("http", "https") or not host:
        return None
    if any(char in host for char in "/?#@ "):
        return None
    default = ":443" if scheme == "https" else ":80"
    return f"{scheme}://{host.removesuffix(default)}"


# Settings and rules key a checker's memory of allowed checks, per request:
# their hashes are computed once.
@attrs.frozen(cache_hash=True)
class Settings:
    """How a service checks tokens: where the auth service is, and the knobs.

    Attributes:
        auth_url: The auth service (``AUTH_URL``), with scheme.
        sticky_auth_url: Where browsers log in (``STICKY_AUTH_URL``), with
            scheme; defaults to ``auth_url``.
        token_name: The cookie and query parameter holding a token
            (``TOKEN_NAME``).
        disabled: Let every request through as :data:`DISABLED_USER`
            (``AUTH_DISABLED``).
        service_namespace: The default namespace of table lookups
            (``AUTH_SERVICE_NAMESPACE``).
        service_token: The service's own token (``AUTH_TOKEN``), used for
            table lookups when a rule names none. Never shown by repr.
        trusted_origins: Origins besides the service's own whose pages may
            open a WebSocket that the cookie authenticates
            (``AUTH_TRUSTED_ORIGINS``; see :func:`normalize_origins`).
    """

    auth_url: str = attrs.field(converter=normalize_auth_url)
    sticky_auth_url: str = attrs.field(
        default=attrs.Factory(lambda self: self.auth_url, takes_self=True),
        converter=normalize_auth_url,
    )
    token_name: str = "middle_auth_token"
    disabled: bool = False
    service_namespace: str = "datastack"
    service_token: str | None = attrs.field(default=None, repr=_hide)
    trusted_origins: frozenset[str] = attrs.field(
        default=frozenset(), converter=normalize_origins
    )

    @property
    def authorize_url(self) -> str:
        """The sticky login page browsers are sent to."""
        return self.sticky_auth_url + "/api/v1/authorize"

    def trusts_origin(self, origin: str, host: str | None) -> bool:
        """Tell whether a page at ``origin`` may use the cookie on a WebSocket.

        Args:
            origin: The handshake's ``Origin`` header.
            host: Its ``Host`` header: a page of the service's own origin
                (same host and port, whatever the scheme: a proxy in front
                may have ended TLS) is trusted.

        Returns:
            Whether the origin is the service's own or a trusted one.
        """
        key = _origin_key(origin)
        if key is None:
            return False  # "null" (a sandboxed frame, a file), or malformed
        if key in self.trusted_origins:
            return True
        return host is not None and key.partition("://")[2] == host.lower()


RuleKind: TypeAlias = Literal["login", "permission", "admin", "dataset_admin", "group"]


@attrs.frozen(cache_hash=True)
class Rule:
    """What a route demands; the arguments of one decorator.

    Attributes:
        kind: ``login`` (``auth_required``), ``permission``
            (``auth_requires_permission``), ``admin``, ``dataset_admin`` or
            ``group``.
        permission: The permission needed (``view``, ``edit``, ...).
        public_table_key: Path parameter naming the table of a public check.
        public_node_key: Path parameter naming the root of a public check.
        public_node_json_key: Body key listing the roots of a public check.
        service_token: The token public and table lookups are made with.
            Never shown by repr.
        dataset: A fixed dataset, instead of a table lookup.
        table_arg: The path parameter holding the table id.
        table_id: A fixed table id.
        resource_namespace: The namespace of table lookups.
        ignore_tos: Count permissions whose terms of service are not accepted.
        group: The group a ``group`` rule demands.
    """

    kind: RuleKind = "login"
    permission: str | None = None
    public_table_key: str | None = None
    public_node_key: str | None = None
    public_node_json_key: str | None = None
    service_token: str | None = attrs.field(default=None, repr=_hide)
    dataset: str | None = None
    table_arg: str = "table_id"
    table_id: Any = None
    resource_namespace: str | None = None
    ignore_tos: bool = False
    group: str | None = None

    @property
    def allows_public(self) -> bool:
        """Whether a public resource may be read without a valid token."""
        return (
            self.kind in ("login", "permission")
            and bool(self.service_token)
            and self.permission != "edit"
        )


def _empty() -> Mapping[str, Any]:
    return {}


@attrs.frozen
class Request:
    """What a request carries that the decision looks at.

    Attributes:
        method: The HTTP method.
        url: The full request URL, or a function returning it (called only
            when a redirect needs it).
        headers: Header values by lower-case name (a case-insensitive
            mapping works too). ``repr`` hides them.
        query: The first value of each query parameter.
        cookies: Cookie values by name. ``repr`` hides them.
        path_params: The view's path parameters (``table_id``, ``root_id``).
        body: The raw body, or a function returning it (called only for a
            public-roots check).
        programmatic: Answer as to a program whatever the headers say: a
            JSON error where a browser would be redirected, and a query
            token checked as it is instead of moved into a cookie. A
            WebSocket handshake is one: it cannot follow a redirect.
        websocket: The request opens a WebSocket (the ASGI edge says so; an
            ``Upgrade: websocket`` header says so too), so the cookie
            authenticates it only from a trusted origin
            (:meth:`Settings.trusts_origin`).
    """

    method: str
    url: str | Callable[[], str] = attrs.field(default="", repr=False)
    headers: Mapping[str, str] = attrs.field(factory=_empty, repr=False)
    query: Mapping[str, str] = attrs.field(factory=_empty, repr=False)
    cookies: Mapping[str, str] = attrs.field(factory=_empty, repr=False)
    path_params: Mapping[str, Any] = attrs.field(factory=_empty)
    body: bytes | Callable[[], bytes] = attrs.field(default=b"", repr=False)
    programmatic: bool = False
    websocket: bool = False

    def full_url(self) -> str:
        """Return the request URL."""
        return self.url if isinstance(self.url, str) else self.url()

    def json(self) -> Any:
        """Return the body parsed as JSON, or ``None`` if it is not JSON."""
        body = self.body if isinstance(self.body, bytes) else self.body()
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            return None


@attrs.frozen
class UserNeed:
    """Ask for the ``/user/cache`` record of a token (``None`` if rejected)."""

    token: str = attrs.field(repr=_hide)


@attrs.frozen
class RefreshNeed:
    """Ask for a fresh record after a denial (``None`` if not allowed now)."""

    token: str = attrs.field(repr=_hide)


@attrs.frozen
class DatasetNeed:
    """Ask which dataset a service table belongs to (``None`` if unknown)."""

    namespace: str
    table_id: Any
    token: str | None = attrs.field(repr=_hide)


@attrs.frozen
class PublicNeed:
    """Ask whether a root, a set of roots, or any root of a table is public.

    ``kind`` is ``root`` (``subject`` is a root id), ``roots`` (a frozenset
    of root ids) or ``table`` (``subject`` is ``None``). The answer is a
    bool, or ``None`` when the auth service gave no usable answer.
    """

    kind: Literal["root", "roots", "table"]
    table_id: Any
    subject: Any
    token: str = attrs.field(repr=_hide)


Need: TypeAlias = UserNeed | RefreshNeed | DatasetNeed | PublicNeed


@attrs.frozen
class Allow:
    """Run the view.

    Attributes:
        user: The ``/user/cache`` record (or the anonymous or disabled user);
            ``None`` for an ``OPTIONS`` request, which is not checked.
        token: The token the user was found with. Never shown by repr.
        public: Whether the resource was found public, if that was asked.
    """

    user: Mapping[str, Any] | None = attrs.field(repr=False)
    token: str | None = attrs.field(default=None, repr=_hide)
    public: bool | None = None

    @property
    def user_id(self) -> int | None:
        """The user's id, if any."""
        return None if self.user is None else self.user.get("id")


@attrs.frozen
class Deny:
    """Answer with an error instead of running the view.

    Attributes:
        status: The status code.
        body: The body, rendered.
        content_type: Its content type.
        headers: Extra headers, e.g. ``WWW-Authenticate``.
        data: The JSON object ``body`` renders, or ``None`` for text.
        user: The authenticated user, when the rule denied a known user
            (``g.auth_user`` is set to it, as ``middle_auth_client`` does).
        token: That user's token. Never shown by repr.
    """

    status: int
    body: bytes
    content_type: str = APPLICATION_JSON
    headers: tuple[tuple[str, str], ...] = ()
    data: Mapping[str, Any] | None = None
    user: Mapping[str, Any] | None = attrs.field(default=None, repr=False, eq=False)
    token: str | None = attrs.field(default=None, repr=_hide, eq=False)

    @property
    def error(self) -> str | None:
        """The ``error`` code of a JSON answer."""
        return None if self.data is None else self.data.get("error")


@attrs.frozen
class Redirect:
    """Send a browser elsewhere with a 302.

    Attributes:
        location: Where to.
        cookie: ``(name, value)`` of a cookie to set (``Secure; HttpOnly``,
            path ``/``). ``repr`` hides it: it holds a token.
        user: The authenticated user, for a terms-of-service redirect.
        token: That user's token. Never shown by repr.
    """

    location: str
    cookie: tuple[str, str] | None = attrs.field(default=None, repr=_hide)
    user: Mapping[str, Any] | None = attrs.field(default=None, repr=False, eq=False)
    token: str | None = attrs.field(default=None, repr=_hide, eq=False)

    @property
    def status(self) -> int:
        """Always 302."""
        return 302

    def set_cookie_header(self) -> str | None:
        """Return the ``Set-Cookie`` value, as werkzeug writes it."""
        if self.cookie is None:
            return None
        name, value = self.cookie
        return f"{name}={cookie_value(value)}; Secure; HttpOnly; Path=/"

    def body(self) -> bytes:
        """Return the HTML body werkzeug's ``redirect`` sends."""
        return redirect_body(self.location)


Decision: TypeAlias = Allow | Deny | Redirect
