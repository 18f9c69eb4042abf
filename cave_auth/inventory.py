"""The inventory of saved tokens, and the values the token functions return.

Files go through the given :class:`~cave_auth.TokenStore`. What finding a
token does not need lives here (listing, forgetting, the values of
:func:`~cave_auth.save_token` and :func:`~cave_auth.setup_instructions`), so a
cold start builds none of these classes. Forgetting removes the key from the
server's file and ``cave-secret.json`` only where it still holds *that* token;
a listing shows an unreadable file with its problem.
"""

from __future__ import annotations

import os
import urllib.parse
from typing import TYPE_CHECKING

import attrs

from ._redact import mask_token, masked_repr, optional_masked_repr
from .config import (
    DEFAULT_TOKEN_FILENAME,
    DEPRECATED_TOKEN_FILENAMES,
    default_token_path,
    normalize_server_address,
    server_token_path,
    token_problem,
)
from .errors import InvalidInputError, TokenFileError, missing_token_error
from .tokens import resolve_token

if TYPE_CHECKING:
    from .config import Config
    from .store import TokenStore

__all__ = [
    "ForgetResult",
    "Instructions",
    "SaveResult",
    "SavedToken",
    "forget_token",
    "list_saved_tokens",
]

_SERVER_SUFFIX = "-" + DEFAULT_TOKEN_FILENAME


@attrs.frozen
class SaveResult:
    """What :func:`~cave_auth.save_token` did.

    Attributes:
        config: The Config to use from now on: the saved token, its key and,
            if one was given, ``token_file`` (as CAVEclient's ``switch_token``).
        written: The files that changed.
        unchanged: The files that already held the token under the key.
        skipped: The files left alone because their directory is read-only.
    """

    config: Config
    written: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()


@attrs.frozen
class Instructions:
    """How to get a token by hand: a page (``url``) and the steps (``text``)."""

    url: str
    text: str


@attrs.frozen
class SavedToken:
    """One token found in a secrets file by :func:`list_saved_tokens`.

    Attributes:
        server: The server the file belongs to (``https://`` + the netloc in its
            name, or the configured ``server_address`` for the same host, so an
            ``http://`` loopback server keeps its scheme), or ``None`` for the
            default and deprecated files, which any server reads.
        path: The secrets file.
        key: The key the token is stored under.
        token: The token, or ``None`` when ``problem`` is set. Shown masked.
        problem: Why the file or the value is unusable, or ``None``.
    """

    server: str | None
    path: str
    key: str
    token: str | None = attrs.field(default=None, repr=optional_masked_repr)
    problem: str | None = None

    @property
    def display(self) -> str:
        """The token in a form safe to show (``""`` when there is none)."""
        return "" if self.token is None else mask_token(self.token)


@attrs.frozen
class ForgetResult:
    """What :func:`forget_token` did.

    Attributes:
        token: The token that was forgotten. Shown masked.
        removed: The files the key was removed from.
        kept: The files left alone: another token is under the key.
    """

    token: str = attrs.field(repr=masked_repr)
    removed: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()


def _server_of(name: str, config: Config) -> str | None:
    """The server of a file name; the configured one's scheme when it is that host."""
    if not name.endswith(_SERVER_SUFFIX) or name == _SERVER_SUFFIX:
        return None
    netloc = name[: -len(_SERVER_SUFFIX)]
    if urllib.parse.urlsplit(config.server_address).netloc == netloc:
        return config.server_address
    try:
        return normalize_server_address(netloc)
    except InvalidInputError:
        return None


def list_saved_tokens(config: Config, store: TokenStore) -> list[SavedToken]:
    """List every token saved in the secrets directory, masked when shown.

    Returns:
        One entry per key of every ``{netloc}-cave-secret.json``,
        ``cave-secret.json`` and deprecated file in ``config.secrets_dir``,
        and of ``config.token_file``, in file then key order. A file that
        cannot be read gives one entry with its ``problem`` and no token.
    """
    names = [
        name
        for name in store.list_files(config.secrets_dir)
        if name.endswith(_SERVER_SUFFIX)
        or name == DEFAULT_TOKEN_FILENAME
        or name in DEPRECATED_TOKEN_FILENAMES
    ]
    paths = [
        (os.path.join(config.secrets_dir, name), _server_of(name, config))
        for name in names
    ]
    if config.token_file is not None and config.token_file not in dict(paths):
        paths.append((config.token_file, None))
    found: list[SavedToken] = []
    for path, server in paths:
        try:
            secrets = store.read_secrets(path)
        except TokenFileError as error:
            found.append(SavedToken(server, path, "", problem=error.problem))
            continue
        for key, value in (secrets or {}).items():
            if value is None:
                continue
            problem = token_problem(value)
            if problem is not None:
                found.append(SavedToken(server, path, str(key), problem=problem))
            else:
                found.append(SavedToken(server, path, str(key), token=value))
    return found


def forget_token(config: Config, store: TokenStore) -> ForgetResult:
    """Remove the token of ``config`` from the files it was saved in.

    The token is the one :func:`~cave_auth.resolve_token` finds. Its key is
    removed from the server's file, the default file and ``config.token_file``
    wherever it still holds that token, atomically, keeping the other keys.
    Nothing is asked of the server.

    Raises:
        MissingTokenError: If there is no token to forget.
        TokenFileError: If a file on the way is corrupt or cannot be written.
    """
    found = resolve_token(config, store)
    if found is None:
        raise missing_token_error(config)
    token = found.token
    paths = [server_token_path(config), default_token_path(config)]
    if config.token_file is not None:
        paths.append(config.token_file)
    if found.path is not None:
        paths.append(found.path)
    removed: list[str] = []
    kept: list[str] = []
    for path in dict.fromkeys(paths):
        if store.remove_secret(path, config.token_key, only_if=token):
            removed.append(path)
            continue
        secrets = store.read_secrets(path)
        if secrets is not None and secrets.get(config.token_key) is not None:
            kept.append(path)
    return ForgetResult(token=token, removed=tuple(removed), kept=tuple(kept))
