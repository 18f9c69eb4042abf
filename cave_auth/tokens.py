"""Finding, saving and presenting tokens, on top of a :class:`TokenStore`.

Functions of a :class:`~cave_auth.Config` and a store, over CAVEclient's and
CloudVolume's files in their order (see :mod:`cave_auth.config`). A missing
file, key or ``null`` passes the search on; a corrupt file or unusable value
stops it with :class:`~cave_auth.TokenFileError`, since skipping it would pick
another identity than the one set up. A save reads every target (and checks
the overwrite guard) before it writes any, so a refused save writes nothing.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import attrs

from ._redact import mask_token, masked_repr
from .config import (
    DEFAULT_TOKEN_FILENAME,
    DEPRECATED_TOKEN_FILENAMES,
    default_token_path,
    local_server_token_path,
    server_token_filename,
    server_token_path,
    token_problem,
    token_search_paths,
)
from .errors import (
    InvalidInputError,
    TokenFileError,
    TokenKeyExistsError,
    missing_token_error,
)
from .store import directory_problem

if TYPE_CHECKING:
    from .config import Config
    from .inventory import Instructions, SaveResult
    from .store import TokenStore

__all__ = [
    "DEFAULT_TOKEN_FILENAME",
    "DEPRECATED_TOKEN_FILENAMES",
    "Instructions",
    "ResolvedToken",
    "SaveResult",
    "default_token_path",
    "local_server_token_path",
    "mask_token",
    "missing_token_error",
    "read_token",
    "request_header",
    "resolve_token",
    "save_token",
    "server_token_filename",
    "server_token_path",
    "setup_instructions",
    "token_search_paths",
    "with_token",
]


@attrs.frozen
class ResolvedToken:
    """A token found by :func:`resolve_token`, and where it was found.

    Attributes:
        token: The token. Shown masked by ``repr``.
        source: Where it came from, for people: ``"config"``,
            ``"env:CAVE_TOKEN"``, or ``"<path>#<key>"``.
        path: The secrets file it was read from, or ``None``.
        key: The key it was stored under, or ``None``.
    """

    token: str = attrs.field(repr=masked_repr)
    source: str
    path: str | None = None
    key: str | None = None


def read_token(store: TokenStore, path: str, key: str) -> str | None:
    """Return the token under ``key`` in the file at ``path``, or None if missing.

    Raises:
        TokenFileError: If the file is corrupt, or the value under ``key`` is
            not a usable token (not a string, empty, or holding whitespace).
    """
    secrets = store.read_secrets(path)
    token = None if secrets is None else secrets.get(key)
    if token is None:
        return None
    problem = token_problem(token)
    if problem is not None:
        raise TokenFileError(
            path, f"the value under key {key!r} is unusable: {problem}"
        )
    return token  # type: ignore[no-any-return]


def resolve_token(config: Config, store: TokenStore) -> ResolvedToken | None:
    """Find the token to use, the way CAVEclient and CloudVolume find it.

    ``config.token`` if set, else the first of
    :func:`~cave_auth.config.token_search_paths` that holds one. A token read from
    a directory other users could change is still returned, with a warning on the
    ``cave_auth`` logger naming the directory and the fix.

    Returns:
        The token and its source, or ``None`` if there is none anywhere.

    Raises:
        TokenFileError: If a file on the way is corrupt or holds an unusable
            value under the key.
    """
    if config.token is not None:
        return ResolvedToken(token=config.token, source=config.token_source)
    deprecated = {
        os.path.join(config.secrets_dir, n) for n in DEPRECATED_TOKEN_FILENAMES
    }
    for path in token_search_paths(config):
        token = read_token(store, path, config.token_key)
        if token is None:
            continue
        if path in deprecated:
            _log_warning(
                "Token file %s is deprecated; rename it to %s or %s",
                path,
                DEFAULT_TOKEN_FILENAME,
                server_token_filename(config.server_address),
            )
        # Read anyway, and warn: refusing would lock out everyone whose umask
        # made the directory group-writable, and what can go wrong is being
        # handed another user's token, not giving ours away. Saving there is
        # what is refused.
        problem = directory_problem(store, path)
        if problem is not None:
            _log_warning("Token read from %s, but %s", path, problem)
        return ResolvedToken(
            token=token,
            source=f"{path}#{config.token_key}",
            path=path,
            key=config.token_key,
        )
    return None


def _log_warning(message: str, *args: object) -> None:
    import logging  # only when there is something to say: importing is not free

    logging.getLogger("cave_auth").warning(message, *args)


def with_token(config: Config, store: TokenStore) -> Config:
    """Return ``config`` with its token (and ``token_source``) filled in, if found.

    ``config`` itself comes back when it has a token or none is found.

    Raises:
        TokenFileError: If a file on the way is corrupt.
    """
    if config.token is not None:
        return config
    found = resolve_token(config, store)
    if found is None:
        return config
    return attrs.evolve(config, token=found.token, token_source=found.source)


def request_header(token: str | None) -> dict[str, str]:
    """Return ``{"Authorization": "Bearer <token>"}``, or ``{}`` for no token.

    Raises:
        InvalidInputError: If the token could break the header (whitespace,
            line breaks, control characters), so it is never sent.
    """
    if token is None:
        return {}
    if token_problem(token) is not None:
        raise InvalidInputError(f"Invalid token: {token_problem(token)}")
    return {"Authorization": "Bearer " + token}


def save_token(
    config: Config,
    store: TokenStore,
    token: str | None = None,
    *,
    token_key: str = "token",
    overwrite: bool = False,
    token_file: str | None = None,
    write_to_server_file: bool = True,
    ignore_readonly: bool = True,
    local_server: bool = True,
) -> SaveResult:
    """Save a token where CAVEclient and CloudVolume will find it.

    Writes the server's own file (``{netloc}-cave-secret.json``) and the target
    file (``token_file``, else ``config.token_file``, else ``cave-secret.json``),
    keeping their other keys; with ``local_server``, the file of
    ``config.local_server`` too. ``token`` defaults to ``config.token``. A
    different token under the key is replaced only with ``overwrite``; with
    ``ignore_readonly``, a file in an unwritable directory is skipped (listed
    in ``skipped``) instead of failing.

    Raises:
        MissingTokenError: If there is no token to save.
        InvalidInputError: If the token or key is malformed.
        TokenKeyExistsError: If a target holds another token under the key and
            not ``overwrite``; nothing at all is written.
        TokenFileError: If a file is corrupt or unreachable, or its directory
            could be changed by another user (found before anything is written),
            or cannot be written and not ``ignore_readonly``.
    """
    from .inventory import SaveResult

    if token is None:
        token = config.token
        if token is None:
            raise missing_token_error(config)
    problem = token_problem(token)
    if problem is not None:
        raise InvalidInputError(f"Cannot save token: {problem}")
    if not isinstance(token_key, str) or not token_key:
        raise InvalidInputError("token_key must be a non-empty str")
    if token_file is not None and (
        not isinstance(token_file, str) or "\x00" in token_file or not token_file
    ):
        raise InvalidInputError("token_file must be a non-empty path without NUL bytes")

    target = token_file or config.token_file or default_token_path(config)
    guarded = [server_token_path(config)] if write_to_server_file else []
    guarded = list(dict.fromkeys([*guarded, target]))
    synced = local_server_token_path(config) if local_server else None
    plan = [(path, overwrite) for path in guarded]
    if synced is not None and synced not in guarded:
        plan.append((synced, True))

    # Every file of the plan is read first, so that a corrupt or unreachable
    # one (a parent that is a file, a ``~`` with no home), or a different token
    # under the key without overwrite, stops the save before any write.
    current = {path: store.read_secrets(path) for path, _ in plan}
    writable = {path: store.is_writable(path) for path, _ in plan}
    if not ignore_readonly:
        for path, ok in writable.items():
            if not ok:
                raise TokenFileError(
                    path, "cannot be written: its directory is read-only"
                )
    for path, ok in writable.items():
        problem = directory_problem(store, path) if ok else None
        if problem is not None:
            raise TokenFileError(path, f"not written: {problem}")
    for path, may_overwrite in plan:
        secrets = current[path]
        if (
            not may_overwrite
            and writable[path]
            and secrets is not None
            and token_key in secrets
            and secrets[token_key] != token
        ):
            raise TokenKeyExistsError(path, token_key)

    written: list[str] = []
    unchanged: list[str] = []
    skipped: list[str] = []
    for path, may_overwrite in plan:
        if not writable[path]:
            skipped.append(path)
        elif store.set_secret(path, token_key, token, overwrite=may_overwrite):
            written.append(path)
        else:
            unchanged.append(path)

    new_config = attrs.evolve(
        config,
        token=token,
        token_key=token_key,
        token_file=token_file if token_file is not None else config.token_file,
        token_source=f"{target}#{token_key}" if target not in skipped else "config",
    )
    return SaveResult(
        config=new_config,
        written=tuple(written),
        unchanged=tuple(unchanged),
        skipped=tuple(skipped),
    )


def setup_instructions(config: Config, make_new: bool = True) -> Instructions:
    """Return the guidance for getting a token by hand, as data.

    A person gets a token in a browser: these are the steps CAVEclient
    prints, for the page that creates one (``make_new``, which invalidates the
    previous login token) or the one listing them.
    """
    # Only guidance needs these: resolving a token does not import them.
    from .inventory import Instructions
    from .urls import create_token_page_url, token_page_url

    if make_new:
        url = create_token_page_url(config.server_address)
        template = _NEW_TOKEN_STEPS
    else:
        url = token_page_url(config.server_address)
        template = _EXISTING_TOKEN_STEPS
    return Instructions(url=url, text=template.format(url=url))


_SAVE_STEPS = (
    '3a) Save it to your computer with: client.auth.save_token(token="PASTE_YOUR_TOKEN_HERE")\n'  # noqa: E501
    "or\n"
    '3b) Set it for the current session only with client.auth.token = "PASTE_YOUR_TOKEN_HERE"\n'  # noqa: E501
    "Note: If you need to save or load multiple tokens, please read the documentation for details.\n"  # noqa: E501
)

_NEW_TOKEN_STEPS = (
    "New Tokens need to be acquired by hand. Please follow the following steps:\n"
    "1) Go to: {url} to create a new token.\n"
    "2) Log in with your Google credentials and copy the token shown afterward.\n"
    + _SAVE_STEPS
    + "Warning! Creating a new token by finishing step 2 will invalidate the previous token!"  # noqa: E501
)

_EXISTING_TOKEN_STEPS = (
    "Tokens need to be acquired by hand. Please follow the following steps:\n"
    "1) Go to: {url} to view a list of your existing tokens.\n"
    "2) Log in with your Google credentials copy one of the tokens from the dictionary (the string under the key 'token').\n"  # noqa: E501
    + _SAVE_STEPS
    + "if you want to create a new token, or have no token use ```self.get_new_token``` instead\n"  # noqa: E501
    "or use this function with the keyword argument make_new=True"
)


def __getattr__(name: str) -> Any:
    # SaveResult and Instructions are defined in inventory, so that finding a
    # token (every cold start) builds neither attrs class; they stay
    # importable from here, where save_token and setup_instructions are.
    if name in ("Instructions", "SaveResult"):
        from . import inventory

        return getattr(inventory, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
