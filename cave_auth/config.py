"""The immutable settings every ``cave_auth`` function takes first. No I/O.

:class:`Config` is validated on construction and by :func:`attrs.evolve`; its
token is hidden from ``repr`` but counts in ``==``. :meth:`Config.from_env` is
the package's only reader of environment variables. A token is looked for in
``config.token_file``, ``{secrets_dir}/{netloc}-cave-secret.json``,
``{secrets_dir}/cave-secret.json``, then the deprecated
``chunkedgraph-secret.json``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import attrs

from ._redact import hidden_repr
from .errors import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "DEFAULT_SECRETS_DIR",
    "DEFAULT_SERVER_ADDRESS",
    "DEFAULT_TOKEN_FILENAME",
    "DEFAULT_TOKEN_KEY",
    "DEPRECATED_TOKEN_FILENAMES",
    "Config",
    "default_token_path",
    "local_server_token_path",
    "server_token_filename",
    "server_token_path",
    "token_search_paths",
]

DEFAULT_SERVER_ADDRESS = "https://global.daf-apis.com"
"""The global CAVE server CAVEclient talks to by default."""

DEFAULT_SECRETS_DIR = "~/.cloudvolume/secrets"
"""Where CAVEclient and CloudVolume keep their secrets files."""

DEFAULT_TOKEN_KEY = "token"
"""The key a token is stored under in a secrets file unless told otherwise."""

DEFAULT_TOKEN_FILENAME = "cave-secret.json"
"""The file CAVEclient reads when no server-specific file exists."""

DEPRECATED_TOKEN_FILENAMES = ("chunkedgraph-secret.json",)
"""Old file names still read, with a warning, as a last resort."""

_AUTHORITY_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%!$&'()*+,;=:@[]"
)


def token_problem(value: object) -> str | None:
    """Say what is wrong with a would-be token (never quoting it), or None if fine.

    A token is sent in an HTTP header, so it must be a non-empty string of
    visible ASCII characters: no spaces, no line breaks, no control bytes.
    """
    if not isinstance(value, str):
        return f"a token must be a str, not {type(value).__name__}"
    if not value:
        return "the token is empty"
    if not value.isascii() or not value.isprintable():
        return (
            f"the token (length {len(value)}) contains non-ASCII or control characters"
        )
    if " " in value:
        return f"the token (length {len(value)}) contains whitespace"
    return None


def _check_token(
    instance: object, attribute: attrs.Attribute[Any], value: object
) -> None:
    problem = None if value is None else token_problem(value)
    if problem is not None:
        raise InvalidInputError(f"Invalid {attribute.name}: {problem}")


def normalize_server_address(address: str, name: str = "server_address") -> str:
    """Return ``address`` as ``scheme://host[:port][/path]``, no trailing slash.

    A bare host gets ``https://`` in front, as CAVEclient does. ``name`` is what
    an error message calls the address (the field or variable it came from).

    Raises:
        InvalidInputError: If the address is not a non-empty str of visible
            ASCII, uses a scheme other than http(s), has no host, or has a port
            that is not a number from 1 to 65535.
    """
    if not isinstance(address, str):
        raise InvalidInputError(f"{name} must be a str, not {type(address).__name__}")
    text = address.strip()
    if not text:
        raise InvalidInputError(f"{name} is empty")
    if not text.isascii() or not text.isprintable() or " " in text:
        raise InvalidInputError(
            f"{name} {address!r} contains whitespace, control or non-ASCII characters"
        )
    if "://" not in text:
        text = "https://" + text
    scheme, _, rest = text.partition("://")
    scheme = scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidInputError(
            f"{name} {address!r} must use http or https, not {scheme!r}"
        )
    authority, slash, path = rest.partition("/")
    if not authority or not set(authority) <= _AUTHORITY_CHARS:
        raise InvalidInputError(f"{name} {address!r} has no valid host")
    problem = _host_port_problem(authority.rpartition("@")[2])
    if problem:
        raise InvalidInputError(f"{name} {address!r} {problem}")
    if "?" in path or "#" in path:
        raise InvalidInputError(f"{name} {address!r} must not have a query or fragment")
    return f"{scheme}://{authority}{slash}{path}".rstrip("/")


def _host_port_problem(host_port: str) -> str | None:
    """Say what is wrong with the ``host[:port]`` of an address, if anything.

    Checked when the Config is made: a bad port would otherwise surface at
    the first call, quoting a URL that may hold the token.
    """
    if host_port.startswith("["):
        host, bracket, after = host_port[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            return "has a malformed [IPv6] host"
        port = after[1:] if after else None
    else:
        host, colon, port_text = host_port.partition(":")
        if ":" in port_text:
            return "has an IPv6 host without brackets: write it as in http://[::1]:8000"
        port = port_text if colon else None
    if not host:
        return "has no valid host"
    if port is None:
        return None
    if not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        return f"has an invalid port {port!r}: a port is a number from 1 to 65535"
    return None


def _normalize_local_server(address: str | None) -> str | None:
    return (
        None if address is None else normalize_server_address(address, "local_server")
    )


def _check_token_key(
    instance: object, attribute: attrs.Attribute[Any], value: object
) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"{attribute.name} must be a non-empty str")


def _check_path(
    instance: object, attribute: attrs.Attribute[Any], value: object
) -> None:
    if value is not None and (
        not isinstance(value, str) or not value or "\x00" in value
    ):
        raise InvalidInputError(
            f"{attribute.name} must be a non-empty path without NUL bytes"
        )


@attrs.frozen
class Config:
    """Where to find the auth server and the token, as one immutable value.

    Build one directly, with :meth:`from_env`, or from another with
    :func:`attrs.evolve`; every change is validated again.

    Attributes:
        server_address: Base URL of the auth server (``https://`` added to a
            bare host, a trailing slash dropped).
        token: The token, or ``None`` to look it up in secrets files. Never
            shown by ``repr``.
        token_key: The key of the token inside a secrets file.
        token_file: A secrets file to look in before the standard ones.
        secrets_dir: The directory of the standard secrets files.
        local_server: A local CAVE deployment whose server file
            :func:`cave_auth.save_token` keeps in sync, or ``None``.
        token_source: Where ``token`` came from: ``"config"``,
            ``"env:CAVE_TOKEN"``, or the file and key it was loaded from.

    Raises:
        InvalidInputError: If a field is malformed (a server address not
            http(s), a token with whitespace or control characters, an empty key).
    """

    server_address: str = attrs.field(
        default=DEFAULT_SERVER_ADDRESS, converter=normalize_server_address
    )
    token: str | None = attrs.field(
        default=None, validator=_check_token, repr=hidden_repr, kw_only=True
    )
    token_key: str = attrs.field(
        default=DEFAULT_TOKEN_KEY, validator=_check_token_key, kw_only=True
    )
    token_file: str | None = attrs.field(
        default=None, validator=_check_path, kw_only=True
    )
    secrets_dir: str = attrs.field(
        default=DEFAULT_SECRETS_DIR, validator=_check_path, kw_only=True
    )
    local_server: str | None = attrs.field(
        default=None, converter=_normalize_local_server, kw_only=True
    )
    token_source: str = attrs.field(default="config", kw_only=True)

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: object) -> Config:
        """Build a Config from ``environ``, e.g. ``os.environ`` (never read by itself).

        Reads ``CAVE_TOKEN``, ``CAVE_SERVER_ADDRESS``, ``CAVE_TOKEN_KEY`` and
        CloudVolume's ``CLOUD_VOLUME_DIR`` (secrets in ``$CLOUD_VOLUME_DIR/secrets``);
        a variable set but empty counts as unset, and keyword overrides win.

        Raises:
            InvalidInputError: If a variable or override is malformed; the message
                names the variable, never a token.
        """
        fields: dict[str, object] = {}
        token = environ.get("CAVE_TOKEN") or None
        if token is not None:
            problem = token_problem(token)
            if problem is not None:
                raise InvalidInputError(f"Invalid CAVE_TOKEN: {problem}")
            fields["token"] = token
            fields["token_source"] = "env:CAVE_TOKEN"
        server = environ.get("CAVE_SERVER_ADDRESS")
        if server and "server_address" not in overrides:
            # Checked here too, so that the error names the variable.
            fields["server_address"] = normalize_server_address(
                server, "CAVE_SERVER_ADDRESS"
            )
        if key := environ.get("CAVE_TOKEN_KEY"):
            fields["token_key"] = key
        if cloud_volume_dir := environ.get("CLOUD_VOLUME_DIR"):
            fields["secrets_dir"] = os.path.join(cloud_volume_dir, "secrets")
        fields.update(overrides)
        if "token" in overrides and "token_source" not in overrides:
            fields["token_source"] = "config"
        return cls(**fields)  # type: ignore[arg-type]


def server_token_filename(server_address: str) -> str:
    """Return the name of a server's own secrets file, as CAVEclient names it.

    ``"{netloc}-cave-secret.json"``, port kept: ``"localhost:8000-cave-secret.json"``.

    Raises:
        InvalidInputError: If the address is malformed.
    """
    netloc = normalize_server_address(server_address).partition("://")[2]
    return f"{netloc.partition('/')[0]}-{DEFAULT_TOKEN_FILENAME}"


def server_token_path(config: Config) -> str:
    """Return ``{secrets_dir}/{netloc}-cave-secret.json`` for the server."""
    return os.path.join(
        config.secrets_dir, server_token_filename(config.server_address)
    )


def default_token_path(config: Config) -> str:
    """Return ``{secrets_dir}/cave-secret.json``, the default secrets file."""
    return os.path.join(config.secrets_dir, DEFAULT_TOKEN_FILENAME)


def local_server_token_path(config: Config) -> str | None:
    """Return the secrets file of ``config.local_server``, or None if unset."""
    if config.local_server is None:
        return None
    return os.path.join(config.secrets_dir, server_token_filename(config.local_server))


def token_search_paths(config: Config) -> tuple[str, ...]:
    """Return the secrets files a token is looked for in, in order, each once.

    ``config.token_file`` (if set), the server's file, the default file, then
    the deprecated files; ``~`` is not expanded.
    """
    paths = [server_token_path(config), default_token_path(config)]
    paths += [os.path.join(config.secrets_dir, n) for n in DEPRECATED_TOKEN_FILENAMES]
    if config.token_file is not None:
        paths.insert(0, config.token_file)
    return tuple(dict.fromkeys(paths))
