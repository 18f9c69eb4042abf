"""``cave-auth status``: which token is used, from where; file checks.

Shows the server, the token that would be used (masked) and where it comes
from, and every secrets file looked at, in lookup order: whether it exists,
which keys it holds, and its permission bits as the token store reports them
(:meth:`TokenStore.file_mode <cave_auth.store.TokenStore.file_mode>`). A file
readable by group or others, and a directory that other users could change
(:func:`cave_auth.store.directory_problem`), get a warning with the fix.
``--check`` also asks the server whether the token works and, for a login
token only, when it expires (see :func:`cave_auth.lifecycle.token_expiry`).
The exit code says
what was found: 0 a token, 1 a broken file or failed check, 3 no token,
4 a token the server rejects.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

import attrs

from ..config import Config
from ..errors import AuthenticationError, CaveAuthError, TokenFileError
from ..store import TokenStore, directory_problem
from ..tokens import (
    mask_token,
    missing_token_error,
    resolve_token,
    setup_instructions,
    token_search_paths,
)
from .context import (
    EXIT_AUTH_REJECTED,
    EXIT_ERROR,
    EXIT_NO_TOKEN,
    EXIT_OK,
    PROG,
    Context,
    build_config,
    describe_user,
    fetch_user,
)
from .options import common_options, json_option
from .parser import Commands

__all__ = ["register", "run"]


def register(commands: Commands) -> None:
    """Add ``status`` and its options to the ``cave-auth`` parser.

    Args:
        commands: The registry of subcommands.
    """
    parser = commands.add(
        "status",
        summary="show which token would be used and where it comes from",
        description="Show the server, the token that would be used (masked) and "
        "where it comes from, and every secrets file looked at, in order: whether "
        "it exists and holds the key. Warns about secrets files that group or "
        "others can read, and about a secrets directory that other users could "
        "change.",
        examples=[
            f"{PROG} status",
            f"{PROG} status --check",
            f"{PROG} status --key fanc --json",
        ],
        run=run,
        parents=[common_options(), json_option()],
    )
    parser.add_argument(
        "--check", action="store_true", help="also check the token with the server"
    )


def run(ctx: Context, args: argparse.Namespace) -> int:
    """Run ``cave-auth status``.

    Args:
        ctx: The command's context.
        args: The parsed arguments.

    Returns:
        0 if a token is found (and, with ``--check``, accepted); 1 if a
        secrets file is broken or the check fails; 3 if no token is found;
        4 if the server rejects the token.
    """
    config = build_config(ctx, args)
    files = [
        _inspect_file(ctx.store, path, config.token_key)
        for path in token_search_paths(config)
    ]
    unsafe_directories = (
        directory_problem(ctx.store, path) for path in token_search_paths(config)
    )
    warnings = [problem for problem in dict.fromkeys(unsafe_directories) if problem]
    warnings += [
        f"{f['path']} is readable by group or others (mode {f['mode']}); "
        f"fix it with: chmod 600 {f['path']}"
        for f in files
        if f["insecure"]
    ]
    status = EXIT_OK
    problem = None
    found = None
    try:
        found = resolve_token(config, ctx.store)
    except TokenFileError as exc:
        problem, status = str(exc), EXIT_ERROR
    if found is None and problem is None:
        problem = str(missing_token_error(config))
        status = EXIT_NO_TOKEN
    token = None
    if found is not None:
        ctx.remember(found.token)
        token = {
            "masked": mask_token(found.token),
            "source": found.source,
            "path": found.path,
            "key": found.key,
        }
    user = None
    expires: str | None = None
    missing_tos: list[dict[str, Any]] = []
    if args.check and found is not None:
        checked = attrs.evolve(config, token=found.token)
        try:
            user = fetch_user(ctx, checked)
        except AuthenticationError as exc:
            problem, status = str(exc), EXIT_AUTH_REJECTED
        except CaveAuthError as exc:
            problem, status = str(exc), EXIT_ERROR
        else:
            expires, missing_tos = _lifetime_and_terms(ctx, checked)

    if args.json:
        ctx.json(
            {
                "server_address": config.server_address,
                "token_key": config.token_key,
                "secrets_dir": config.secrets_dir,
                "token": token,
                "files": files,
                "user": user,
                "expires": expires,
                "missing_tos": missing_tos,
                "warnings": warnings,
                "error": problem,
            }
        )
    else:
        ctx.out(f"Server:     {config.server_address}")
        ctx.out(f"Token key:  {config.token_key}")
        if token is not None:
            ctx.out(f"Token:      {token['masked']} (from {token['source']})")
        else:
            ctx.out("Token:      none found")
        if user is not None:
            ctx.out(f"User:       {describe_user(user)}")
            ctx.out(f"Expires:    {_readable_expiry(expires)}")
            for tos in missing_tos:
                ctx.out(
                    f"To accept:  {tos['tos_name']} (dataset {tos['dataset_name']}): "
                    f"{tos['accept_url']}"
                )
        ctx.out("Secrets files, in lookup order (the first holding the key wins):")
        for f in files:
            used = found is not None and f["path"] == found.path
            ctx.out(f"  {_file_line(f, config.token_key)}{'  <- used' if used else ''}")
        if found is None and status == EXIT_NO_TOKEN:
            url = setup_instructions(config, make_new=False).url
            ctx.out(f"Log in with: {PROG} login  (or get a token at {url} and run:")
            ctx.out(f"{PROG} setup)")
    for warning in warnings:
        ctx.warn(warning)
    if status == EXIT_NO_TOKEN and not args.json:
        ctx.error("no token found")
    elif problem is not None:
        ctx.error(problem)
    return status


def _lifetime_and_terms(
    ctx: Context, config: Config
) -> tuple[str | None, list[dict[str, Any]]]:
    """Ask when the token expires and which terms of service are still open."""
    from ..api import get_missing_tos
    from ..lifecycle import token_expiry

    expires: str | None
    try:
        ends = token_expiry(config, ctx.http())
    except CaveAuthError:
        expires = None
    else:
        expires = "never" if ends is None else ends.isoformat(timespec="seconds")
    try:
        missing = get_missing_tos(config, ctx.http())
    except CaveAuthError as exc:
        ctx.warn(f"could not list the terms of service to accept: {exc}")
        missing = []
    return expires, [
        {
            "dataset_id": tos.dataset_id,
            "dataset_name": tos.dataset_name,
            "tos_id": tos.tos_id,
            "tos_name": tos.tos_name,
            "accept_url": tos.accept_url,
        }
        for tos in missing
    ]


def _readable_expiry(expires: str | None) -> str:
    """Return ``never``, ``unknown`` or a local date and time for people."""
    import datetime as _dt

    if expires is None:
        return "unknown"
    if expires == "never":
        return "never (an API key)"
    when = _dt.datetime.fromisoformat(expires).astimezone()
    return f"{when:%Y-%m-%d %H:%M %Z} (a login token)"


def _inspect_file(store: TokenStore, path: str, key: str) -> dict[str, Any]:
    """Describe one candidate secrets file, without reading its tokens out."""
    info: dict[str, Any] = {
        "path": path,
        "exists": False,
        "has_key": False,
        "keys": [],
        "mode": None,
        "insecure": False,
        "error": None,
    }
    try:
        secrets = store.read_secrets(path)
    except TokenFileError as exc:
        info.update(exists=True, error=exc.problem)
        secrets = None
    if secrets is not None:
        info.update(exists=True, has_key=key in secrets, keys=sorted(secrets))
    mode = store.file_mode(path)
    if mode is not None:
        info.update(exists=True, mode=f"{mode:04o}", insecure=bool(mode & 0o077))
    return info


def _file_line(info: Mapping[str, Any], key: str) -> str:
    """Return the status line of one secrets file."""
    if info["error"] is not None:
        return f"[!] {info['path']}: {info['error']}"
    if not info["exists"]:
        return f"[ ] {info['path']} (missing)"
    mark = "[x]" if info["has_key"] else "[ ]"
    has = f"has key {key!r}" if info["has_key"] else f"no key {key!r}"
    keys = ", ".join(info["keys"]) or "none"
    mode = f"; mode {info['mode']}" if info["mode"] is not None else ""
    return f"{mark} {info['path']} ({has}; keys: {keys}{mode})"
