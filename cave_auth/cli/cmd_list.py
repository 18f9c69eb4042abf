"""``cave-auth list``: every saved token, masked, and the file it is in.

Like ``gh auth status`` across hosts: each ``{netloc}-cave-secret.json``,
``cave-secret.json`` and deprecated file of the secrets directory is read
(lock and temporary files ignored; see
:func:`cave_auth.inventory.list_saved_tokens`). With ``--check`` each token is
asked about at its server, a few at a time: whose it is, whether it is
accepted, and when it expires ("never" for API keys, which are recognised
without putting them in a URL: see :func:`cave_auth.lifecycle.token_expiry`).
A token of the default file is checked at the ``--server`` (default: the
global server). A secrets directory that other users could change gets a
warning with the fix, on stderr and, in ``--json``, under each entry's
``warning``.
"""

from __future__ import annotations

import argparse
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import attrs

from ..config import Config
from ..errors import AuthenticationError, CaveAuthError
from ..inventory import SavedToken, list_saved_tokens
from ..store import directory_problem
from ..tokens import default_token_path
from .context import (
    EXIT_AUTH_REJECTED,
    EXIT_ERROR,
    EXIT_OK,
    PROG,
    Context,
    build_config,
)
from .options import common_options, json_option
from .parser import Commands

__all__ = ["register", "run"]

_CONCURRENCY = 4


def register(commands: Commands) -> None:
    """Add ``list`` and its options to the ``cave-auth`` parser.

    Args:
        commands: The registry of subcommands.
    """
    parser = commands.add(
        "list",
        summary="list every saved token (masked), optionally checking each",
        description="List the tokens saved in every secrets file of the secrets "
        "directory, masked. With --check, ask each token's server who it belongs "
        "to, whether it is accepted, and when it expires.",
        examples=[f"{PROG} list", f"{PROG} list --check", f"{PROG} list --json"],
        run=run,
        parents=[common_options(), json_option()],
    )
    parser.add_argument(
        "--check", action="store_true", help="ask each token's server about it"
    )


def _check(ctx: Context, config: Config, token: str) -> dict[str, Any]:
    from ..lifecycle import token_expiry

    checked = attrs.evolve(config, token=token)
    http = ctx.http()
    try:
        from ..api import whoami

        user = whoami(checked, http)
    except AuthenticationError:
        return {"valid": False, "user": None, "expires": None, "error": "rejected"}
    except CaveAuthError as exc:
        return {
            "valid": None,
            "user": None,
            "expires": None,
            "error": ctx.scrub(str(exc)),
        }
    try:
        ends = token_expiry(checked, http)
    except CaveAuthError:
        expires = "unknown"
    else:
        expires = "never" if ends is None else ends.isoformat(timespec="seconds")
    return {"valid": True, "user": user.name, "expires": expires, "error": None}


def run(ctx: Context, args: argparse.Namespace) -> int:
    """Run ``cave-auth list``.

    Args:
        ctx: The command's context.
        args: The parsed arguments.

    Returns:
        0 when every token checked is valid (or none was checked); 4 when
        any is rejected; 1 when a file is unreadable or a check failed.
    """
    config = build_config(ctx, args)
    saved = list_saved_tokens(config, ctx.store)
    for entry in saved:
        ctx.remember(entry.token)
    unsafe = {
        path: directory_problem(ctx.store, path)
        for path in [default_token_path(config), *(entry.path for entry in saved)]
    }
    for problem in dict.fromkeys(unsafe.values()):
        if problem is not None:
            ctx.warn(problem)
    checks: dict[tuple[str, str], dict[str, Any]] = {}
    if args.check:
        wanted = {
            (entry.server or config.server_address, entry.token)
            for entry in saved
            if entry.token is not None
        }
        with ThreadPoolExecutor(max_workers=_CONCURRENCY) as pool:
            futures = {
                pair: pool.submit(
                    _check,
                    ctx,
                    attrs.evolve(config, server_address=pair[0], token=None),
                    pair[1],
                )
                for pair in sorted(wanted)
            }
        checks = {pair: future.result() for pair, future in futures.items()}

    def check_of(entry: SavedToken) -> dict[str, Any] | None:
        if entry.token is None:
            return None
        return checks.get((entry.server or config.server_address, entry.token))

    status = EXIT_OK
    if any(entry.problem for entry in saved) or any(
        c["valid"] is None for c in checks.values()
    ):
        status = EXIT_ERROR
    if any(c["valid"] is False for c in checks.values()):
        status = EXIT_AUTH_REJECTED
    if args.json:
        ctx.json(
            [
                {
                    "server": entry.server,
                    "path": entry.path,
                    "key": entry.key,
                    "token": entry.display or None,
                    "problem": entry.problem,
                    "check": check_of(entry),
                    "warning": unsafe[entry.path],
                }
                for entry in saved
            ]
        )
        return status
    if not saved:
        ctx.out(f"No saved tokens in {config.secrets_dir}. Run `{PROG} login`.")
        return status
    for entry in saved:
        server = (
            entry.server
            or f"default file (any server; checked at {config.server_address})"
        )
        line = f"{entry.display or '-':12} {entry.key:16} {entry.path}"
        if entry.problem:
            line = f"{'!':12} {entry.key or '-':16} {entry.path}: {entry.problem}"
        check = check_of(entry)
        if check is not None:
            if check["valid"]:
                line += f"\n{'':12} valid, {check['user']}, expires {check['expires']}"
            elif check["valid"] is False:
                line += f"\n{'':12} REJECTED by {entry.server or config.server_address}"
            else:
                line += f"\n{'':12} not checked: {check['error']}"
        ctx.out(f"{server}:\n  {line}" if args.check else f"{line}")
    return status
