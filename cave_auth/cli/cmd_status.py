"""``cave-auth status [SERVER]``: which token is used, from where; every server.

Shows the server (and where that choice comes from: the command line,
``CAVE_SERVER_ADDRESS``, ``cave-auth switch`` or the default), the token
saved for it (masked) and where it comes from (the shared file's token only
when it belongs to this server: see :mod:`cave_auth.ownership`), and every
secrets file looked at, in lookup order: whether it exists,
which keys it holds, and its permission bits as the token store reports them
(:meth:`TokenStore.file_mode <cave_auth.store.TokenStore.file_mode>`). A file
readable by group or others, and a directory that other users could change
(:func:`cave_auth.store.directory_problem`), get a warning with the fix.
``--check`` also asks the server whether the token works and, for a login
token only, when it expires (see :func:`cave_auth.lifecycle.token_expiry`).
Then, like ``gh auth status``, every other server with a saved token, each
checked with ``--check`` at its own server. The exit code says what was
found for the server shown first: 0 a token, 1 a broken file or failed
check, 3 no token, 4 a token the server rejects.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

import attrs

from ..config import Config
from ..errors import (
    AuthenticationError,
    CaveAuthError,
    MissingTokenError,
    TokenFileError,
)
from ..ownership import netloc_of, owner_of, resolve_for_server
from ..store import TokenStore, directory_problem
from ..tokens import (
    ResolvedToken,
    mask_token,
    read_token,
    server_token_path,
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
from .options import add_server_argument, common_options, json_option
from .parser import Commands
from .servers import check_all, explain, saved_tokens

__all__ = ["register", "run"]


def register(commands: Commands) -> None:
    """Add ``status`` and its options to the ``cave-auth`` parser.

    Args:
        commands: The registry of subcommands.
    """
    parser = commands.add(
        "status",
        summary="show the token of each server, which is used, and from where",
        description="Show the server, the token saved for it (masked) and where "
        "it comes from, and every secrets file looked at, in order: whether it "
        "exists and holds the key; then every other server with a saved token. "
        "With --check, ask each server about its own token. Warns about secrets "
        "files that group or others can read, and about a secrets directory "
        "that other users could change.",
        examples=[
            f"{PROG} status",
            f"{PROG} status --check",
            f"{PROG} status minnie.microns-daf.com --key fanc --json",
        ],
        run=run,
        parents=[common_options(), json_option()],
    )
    add_server_argument(parser)
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
    _note_owners(ctx, config, files)
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
    found: ResolvedToken | None = None
    try:
        found = resolve_for_server(config, ctx.store, ctx.servers(config))
    except TokenFileError as exc:
        problem, status = str(exc), EXIT_ERROR
    except MissingTokenError as exc:
        problem, status = str(exc), EXIT_NO_TOKEN
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
            problem, status = explain(ctx.environ, exc), EXIT_ERROR
        else:
            expires, missing_tos = _lifetime_and_terms(ctx, checked)
    default, default_from = ctx.default_server()
    others = _other_servers(ctx, config, args.check)

    if args.json:
        ctx.json(
            {
                "server_address": config.server_address,
                "server_from": ctx.server_origin,
                "default_server": default,
                "default_from": default_from,
                "token_key": config.token_key,
                "secrets_dir": config.secrets_dir,
                "token": token,
                "files": files,
                "user": user,
                "expires": expires,
                "missing_tos": missing_tos,
                "warnings": warnings,
                "error": problem,
                "servers": others,
            }
        )
    else:
        ctx.out(f"Server:     {config.server_address} (from {ctx.server_origin})")
        if netloc_of(default) != netloc_of(config.server_address):
            ctx.out(f"Default:    {default} (from {default_from})")
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
            named = (
                ""
                if ctx.server_origin != "the command line"
                else (f" {config.server_address}")
            )
            ctx.out(f"Log in with: {PROG} login{named}")
            ctx.out(f"Or get a token at {url}, then run: {PROG} setup{named}")
        _print_others(ctx, others)
    for warning in warnings:
        ctx.warn(warning)
    if status == EXIT_NO_TOKEN and not args.json:
        ctx.error("no token found")
    elif problem is not None:
        ctx.error(problem)
    return status


def _other_servers(ctx: Context, config: Config, check: bool) -> list[dict[str, Any]]:
    """Every other server with a token under the key, checked at its own server."""
    here = netloc_of(config.server_address)
    entries = [
        (entry, owner)
        for entry, owner in saved_tokens(config, ctx.store, ctx.servers(config))
        if owner is not None
        and entry.token is not None
        and entry.key == config.token_key
        and netloc_of(owner) != here
    ]
    first: dict[str, Any] = {}
    for entry, owner in entries:
        ctx.remember(entry.token)
        first.setdefault(owner, entry)
    checks = (
        check_all(ctx, config, {(o, e.token) for o, e in first.items()})
        if check
        else {}
    )
    return [
        {
            "server": owner,
            "token": entry.display,
            "source": f"{entry.path}#{entry.key}",
            "check": checks.get((owner, entry.token)),
        }
        for owner, entry in first.items()
    ]


def _print_others(ctx: Context, others: list[dict[str, Any]]) -> None:
    if not others:
        return
    ctx.out("Other servers with a saved token:")
    for other in others:
        ctx.out(f"  {other['server']}")
        ctx.out(f"    Token:    {other['token']} (from {other['source']})")
        check = other["check"]
        if check is None:
            continue
        if check["valid"]:
            ctx.out(f"    User:     {check['user']}, expires {check['expires']}")
        elif check["valid"] is False:
            ctx.out(f"    REJECTED by {other['server']}")
        else:
            ctx.out(f"    Not checked: {check['error']}")


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


def _note_owners(ctx: Context, config: Config, files: list[dict[str, Any]]) -> None:
    """Name the server each shared file's token belongs to, when not this one."""
    servers = ctx.servers(config)
    own = server_token_path(config)
    for info in files:
        info["belongs_to"] = None
        if info["path"] in (own, config.token_file) or not info["has_key"]:
            continue
        try:
            token = read_token(ctx.store, info["path"], config.token_key)
        except TokenFileError:
            continue
        if token is not None:
            owner = owner_of(config, ctx.store, token, servers)
            if netloc_of(owner) != netloc_of(config.server_address):
                info["belongs_to"] = owner


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
    if info.get("belongs_to"):
        has += f", the token of {info['belongs_to']}"
    keys = ", ".join(info["keys"]) or "none"
    mode = f"; mode {info['mode']}" if info["mode"] is not None else ""
    return f"{mark} {info['path']} ({has}; keys: {keys}{mode})"
