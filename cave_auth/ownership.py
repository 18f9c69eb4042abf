"""Which server a saved token belongs to, and where a token saved for a server goes.

People use several CAVE servers. CAVEclient keeps one token per server in
that server's own file, ``{netloc}-cave-secret.json``, and one more in the
shared ``cave-secret.json``, which it reads for any server without a file of
its own. Library lookup keeps that order (:func:`cave_auth.resolve_token`), so
a user with only the shared file still gets its token for any server. This
module is for the callers that must know whose a token is before they send it
anywhere or replace it (the ``cave-auth`` command, :func:`cave_auth.login`,
:func:`cave_auth.rotate_token`):

* A token in ``{netloc}-cave-secret.json`` belongs to that server.
* A token in the shared file belongs to the server whose own file holds the
  same token (under any key); if none does, to the *default server*: the one
  used when no server is named (``Servers.default``).

Saving for server B (:func:`save_for_server`) always writes B's own file. The
shared file is written only when it holds no token under the key, already
holds this token, holds B's previous token, or another server's token that
that server keeps in its own file (nothing is lost) when B is the default
server or the caller says so (``make_default``, ``overwrite``). A token saved
in no server's own file is its only copy, and whose it was is unknown: it is
replaced only with ``overwrite`` (and ``make_default`` when B is not the
default server), never because a server rejected it. Otherwise the shared
file is left alone, and :class:`SharedFile` says why.

Everything here goes through a :class:`~cave_auth.TokenStore`; nothing reads
the environment or prints.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Iterable

import attrs

from .config import DEFAULT_SERVER_ADDRESS, Config, normalize_server_address
from .errors import (
    InvalidInputError,
    MissingTokenError,
    TokenFileError,
    TokenKeyExistsError,
)
from .inventory import list_saved_tokens
from .store import TokenStore
from .tokens import (
    DEFAULT_TOKEN_FILENAME,
    DEPRECATED_TOKEN_FILENAMES,
    ResolvedToken,
    SaveResult,
    default_token_path,
    missing_token_error,
    read_token,
    save_token,
    server_token_path,
)

__all__ = [
    "ServerSave",
    "Servers",
    "SharedFile",
    "claimed",
    "forget_copies",
    "netloc_of",
    "owner_of",
    "plan_shared",
    "replace_copies",
    "resolve_for_server",
    "save_for_server",
]

_SERVER_SUFFIX = "-" + DEFAULT_TOKEN_FILENAME


def netloc_of(address: str) -> str:
    """Return the ``host[:port]`` that names a server's own secrets file.

    Args:
        address: A server address, with or without scheme.

    Returns:
        E.g. ``"minnie.microns-daf.com"`` or ``"127.0.0.1:5055"``.
    """
    return urllib.parse.urlsplit(normalize_server_address(address)).netloc


def _addresses(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(normalize_server_address(value) for value in values)


@attrs.frozen
class Servers:
    """The default server, and the servers whose address (scheme) is known.

    A secrets file names a server by ``host[:port]`` only; :meth:`address`
    gives it back its scheme: the one of a known address with that host and
    port, else ``https://``.

    Attributes:
        default: The server used when none is named; a shared token saved in
            no server's own file belongs to it.
        known: Addresses whose scheme is known (given on a command line, in
            the environment, or remembered).
    """

    default: str = attrs.field(
        default=DEFAULT_SERVER_ADDRESS, converter=normalize_server_address
    )
    known: tuple[str, ...] = attrs.field(default=(), converter=_addresses)

    def address(self, netloc: str) -> str:
        """Return the address of the server with this ``host[:port]``.

        Args:
            netloc: The host and port, as in a secrets file's name.

        Returns:
            A known address with that netloc, else ``https://`` + netloc.
        """
        for address in (self.default, *self.known):
            if netloc_of(address) == netloc:
                return address
        return normalize_server_address(netloc)


def _server_files(config: Config, store: TokenStore) -> list[tuple[str, str]]:
    """Return ``(netloc, path)`` of each server's own file in the secrets dir."""
    found = []
    for name in store.list_files(config.secrets_dir):
        if name.endswith(_SERVER_SUFFIX) and name != _SERVER_SUFFIX:
            netloc = name[: -len(_SERVER_SUFFIX)]
            try:
                normalize_server_address(netloc)
            except InvalidInputError:
                continue
            found.append((netloc, os.path.join(config.secrets_dir, name)))
    return found


def _holders(config: Config, store: TokenStore, token: str) -> list[str]:
    """Return the netlocs whose own file holds ``token`` under any key."""
    holders = []
    for netloc, path in _server_files(config, store):
        secrets = store.read_secrets(path) or {}
        if token in secrets.values():
            holders.append(netloc)
    return holders


def claimed(config: Config, store: TokenStore, token: str) -> bool:
    """Whether some server's own file holds ``token`` (under any key).

    A token of the shared file that none holds is its only copy, and whose it
    was is unknown: a server's verdict on it never replaces it.

    Args:
        config: The settings (``secrets_dir`` is where to look).
        store: Where secrets files live.
        token: The token.

    Returns:
        ``True`` if a ``{netloc}-cave-secret.json`` holds it.
    """
    return bool(_holders(config, store, token))


def owner_of(config: Config, store: TokenStore, token: str, servers: Servers) -> str:
    """Return the server a token of the shared file belongs to.

    Args:
        config: The settings (``secrets_dir`` is where to look).
        store: Where secrets files live.
        token: The token found in the shared (or a deprecated) file.
        servers: The default server and the known addresses.

    Returns:
        The address of the server whose own file holds the token (the
        default server if several do), else the default server.

    Raises:
        TokenFileError: If a server's file is corrupt.
    """
    holders = _holders(config, store, token)
    default = netloc_of(servers.default)
    if not holders or default in holders:
        return servers.default
    return servers.address(holders[0])


def _same_server(one: str, other: str) -> bool:
    return netloc_of(one) == netloc_of(other)


def resolve_for_server(
    config: Config, store: TokenStore, servers: Servers
) -> ResolvedToken:
    """Find the token saved for ``config.server_address``, and only that.

    In order: ``config.token``; ``config.token_file`` (which must then hold
    the key: it is never passed over); the server's own file; the shared and
    deprecated files, when their token belongs to this server.

    Args:
        config: The settings.
        store: Where secrets files live.
        servers: The default server and the known addresses.

    Returns:
        The token and where it was found.

    Raises:
        MissingTokenError: If no token is saved for this server; the message
            names a token file that is missing or lacks the key, and the
            server a shared token belongs to.
        TokenFileError: If a file on the way is corrupt.
    """
    if config.token is not None:
        return ResolvedToken(token=config.token, source=config.token_source)
    key = config.token_key
    if config.token_file is not None:
        token = read_token(store, config.token_file, key)
        if token is None:
            exists = store.read_secrets(config.token_file) is not None
            problem = f"has no key {key!r}" if exists else "does not exist"
            raise MissingTokenError(f"The token file {config.token_file} {problem}.")
        return ResolvedToken(
            token, f"{config.token_file}#{key}", config.token_file, key
        )
    own = server_token_path(config)
    shared = [default_token_path(config)]
    shared += [os.path.join(config.secrets_dir, n) for n in DEPRECATED_TOKEN_FILENAMES]
    owners: list[tuple[str, str]] = []
    for path in (own, *shared):
        token = read_token(store, path, key)
        if token is None:
            continue
        if path != own:
            owner = owner_of(config, store, token, servers)
            if not _same_server(owner, config.server_address):
                owners.append((path, owner))
                continue
        return ResolvedToken(token, f"{path}#{key}", path, key)
    error = missing_token_error(config)
    if owners:
        path, owner = owners[0]
        message = (
            f"No token saved for {config.server_address}: {path} holds the token "
            f"of {owner} under key {key!r}, which is never sent to another server. "
            f"Log in to this server, or get a token at {error.token_page_url} "
            "and save it."
        )
        raise MissingTokenError(message, token_page_url=error.token_page_url)
    raise error


@attrs.frozen
class SharedFile:
    """What a save for one server does with the shared file, and why.

    Attributes:
        path: The shared file (or ``config.token_file``).
        write: Whether the token is written there.
        reason: Why, for people (``"it held no token under key 'token'"``).
        owner: The server its current token belongs to, or ``None``.
        guarded: Whether writing replaces a token that only ``overwrite``
            may replace (this server's, or one saved in no server's own file).
    """

    path: str
    write: bool
    reason: str
    owner: str | None = None
    guarded: bool = False


@attrs.frozen
class ServerSave:
    """What :func:`save_for_server` did.

    Attributes:
        saved: The files written, unchanged and skipped, and the new Config.
        shared: What was done with the shared file, and why.
    """

    saved: SaveResult
    shared: SharedFile


def plan_shared(
    config: Config,
    store: TokenStore,
    token: str | None,
    servers: Servers,
    *,
    overwrite: bool = False,
    make_default: bool = False,
) -> SharedFile:
    """Decide whether a token saved for a server goes in the shared file too.

    Args:
        config: The settings; ``config.token_file``, if set, is written always.
        store: Where secrets files live.
        token: The token to save, or ``None`` when it is not known yet.
        servers: The default server and the known addresses.
        overwrite: Whether the caller may replace a different token.
        make_default: Whether the caller asked to make it the shared token.

    Returns:
        The decision and its reason.
    """
    key = config.token_key
    if config.token_file is not None:
        reason = "it was given as the token file"
        return SharedFile(config.token_file, True, reason, guarded=True)
    path = default_token_path(config)
    current = read_token(store, path, key)
    if current is None:
        return SharedFile(path, True, f"it held no token under key {key!r}")
    if current == token:
        return SharedFile(path, True, "it already holds this token")
    server = config.server_address
    holders = _holders(config, store, current)
    if not holders:
        # Saved in no server's own file: the default server's by the rule,
        # but whose it really was is unknown, and this is its only copy; so
        # only the user's word replaces it, never a server's verdict.
        owner = servers.default
        if make_default or (overwrite and _same_server(server, owner)):
            reason = "asked to replace the token saved in no server's own file"
            return SharedFile(path, True, reason, owner, guarded=True)
        reason = "it holds a token saved in no server's own file (its only copy)"
        return SharedFile(path, False, reason, owner, guarded=True)
    owner = owner_of(config, store, current, servers)
    if _same_server(owner, server):
        reason = "it held this server's previous token"
        return SharedFile(path, True, reason, owner, guarded=True)
    # Another server's token, which that server keeps in its own file too:
    # nothing is lost by replacing it here.
    if make_default:
        reason = "asked to make this the shared token"
    elif _same_server(server, servers.default):
        reason = f"{server} is the default server"
    elif overwrite:
        reason = f"--overwrite, and {owner} keeps its token in its own file"
    else:
        return SharedFile(path, False, f"it holds the token of {owner}", owner)
    return SharedFile(path, True, reason, owner)


def save_for_server(
    config: Config,
    store: TokenStore,
    token: str,
    servers: Servers,
    *,
    overwrite: bool = False,
    make_default: bool = False,
    write_to_server_file: bool = True,
    ignore_readonly: bool = False,
    local_server: bool = False,
) -> ServerSave:
    """Save a token for a server: in its own file, and in the shared one if fit.

    The server's own file (and the shared file when it holds this server's
    token) keep :func:`~cave_auth.save_token`'s overwrite guard; the shared
    file follows :func:`plan_shared`. Nothing is written when the guard
    refuses.

    Args:
        config: The settings (server, key, secrets directory, token file).
        store: Where secrets files live.
        token: The token to save.
        servers: The default server and the known addresses.
        overwrite: Replace a different token of this server.
        make_default: Also make it the shared file's token.
        write_to_server_file: Write the server's own file; without it the
            token goes to the shared file (or token file) only.
        ignore_readonly: As for :func:`~cave_auth.save_token`.
        local_server: As for :func:`~cave_auth.save_token`.

    Returns:
        What was written, and what was done with the shared file and why.

    Raises:
        TokenKeyExistsError: If this server's file holds another token under
            the key and not ``overwrite``.
        TokenFileError, InvalidInputError: As :func:`~cave_auth.save_token`.
    """
    shared = plan_shared(
        config,
        store,
        token,
        servers,
        overwrite=overwrite,
        make_default=make_default or not write_to_server_file,
    )
    guarded = [server_token_path(config)] if write_to_server_file else []
    if shared.write and shared.guarded:
        guarded.append(shared.path)
    if not overwrite:
        for path in guarded:
            held = read_token(store, path, config.token_key)
            if held is not None and held != token:
                raise TokenKeyExistsError(path, config.token_key)
    target = shared.path if shared.write else server_token_path(config)
    saved = save_token(
        config,
        store,
        token,
        token_key=config.token_key,
        overwrite=True,
        token_file=target,
        write_to_server_file=write_to_server_file,
        ignore_readonly=ignore_readonly,
        local_server=local_server,
    )
    # save_token records the target as the token file; the caller's stays.
    kept = attrs.evolve(saved.config, token_file=config.token_file)
    return ServerSave(attrs.evolve(saved, config=kept), shared)


def replace_copies(
    config: Config, store: TokenStore, old: str, new: str
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Put ``new`` wherever ``old`` is saved: every file, every key.

    Args:
        config: The settings (``secrets_dir`` and ``token_file`` are searched).
        store: Where secrets files live.
        old: The token being replaced.
        new: Its replacement.

    Returns:
        ``(path, key)`` of each copy replaced, and ``(path, problem)`` of
        each copy that could not be.
    """
    changed: list[tuple[str, str]] = []
    failed: list[tuple[str, str]] = []
    for entry in list_saved_tokens(config, store):
        if entry.token != old:
            continue
        try:
            store.set_secret(entry.path, entry.key, new, overwrite=True)
        except TokenFileError as error:
            failed.append((entry.path, error.problem))
        else:
            changed.append((entry.path, entry.key))
    return changed, failed


def forget_copies(config: Config, store: TokenStore, token: str) -> list[str]:
    """Remove ``token`` from every file and key it is saved under.

    Args:
        config: The settings (``secrets_dir`` and ``token_file`` are searched).
        store: Where secrets files live.
        token: The token to forget (one the server no longer accepts).

    Returns:
        The ``path#key`` of each copy removed.
    """
    removed = []
    for entry in list_saved_tokens(config, store):
        if entry.token == token and store.remove_secret(
            entry.path, entry.key, only_if=token
        ):
            removed.append(f"{entry.path}#{entry.key}")
    return removed
