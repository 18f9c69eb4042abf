"""``cave-auth list``: every saved token, masked, by the server it belongs to.

Like ``gh auth status`` across hosts: each ``{netloc}-cave-secret.json``,
``cave-secret.json`` and deprecated file of the secrets directory is read
(lock and temporary files ignored; see
:func:`cave_auth.inventory.list_saved_tokens`), and each token is shown under the
server it belongs to (see :mod:`cave_auth.ownership`): the server of its own
file; for the shared file, the server whose own file holds the same token,
else the default server. With ``--check`` each token is asked about at that
server and no other, a few at a time: whose it is, whether it is accepted,
and when it expires ("never" for API keys, which are recognised without
putting them in a URL: see :func:`cave_auth.lifecycle.token_expiry`). A
server is reached over ``https://`` unless its address is known with another
scheme (``--server``, ``CAVE_SERVER_ADDRESS``, ``cave-auth switch``). A
secrets directory that other users could change gets a warning with the
fix, on stderr and, in ``--json``, under each entry's ``warning``.
"""

from __future__ import annotations

import argparse
from typing import Any

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
from .servers import check_all, saved_tokens

__all__ = ["register", "run"]


def register(commands: Commands) -> None:
    """Add ``list`` and its options to the ``cave-auth`` parser.

    Args:
        commands: The registry of subcommands.
    """
    parser = commands.add(
        "list",
        summary="list every saved token (masked), optionally checking each",
        description="List the tokens saved in every secrets file of the secrets "
        "directory, masked, under the server each belongs to. With --check, ask "
        "each token's server (and no other) who it belongs to, whether it is "
        "accepted, and when it expires. --server names a server whose scheme "
        "is not https (e.g. --server http://127.0.0.1:5055).",
        examples=[f"{PROG} list", f"{PROG} list --check", f"{PROG} list --json"],
        run=run,
        parents=[common_options(), json_option()],
    )
    parser.add_argument(
        "--check", action="store_true", help="ask each token's server about it"
    )


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
    saved = saved_tokens(config, ctx.store, ctx.servers(config))
    for entry, _ in saved:
        ctx.remember(entry.token)
    unsafe = {
        path: directory_problem(ctx.store, path)
        for path in [default_token_path(config), *(entry.path for entry, _ in saved)]
    }
    for problem in dict.fromkeys(unsafe.values()):
        if problem is not None:
            ctx.warn(problem)
    checks: dict[tuple[str, str], dict[str, Any]] = {}
    if args.check:
        wanted = {
            (owner, entry.token)
            for entry, owner in saved
            if entry.token is not None and owner is not None
        }
        checks = check_all(ctx, config, wanted)
    status = EXIT_OK
    if any(entry.problem for entry, _ in saved) or any(
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
                    "belongs_to": owner,
                    "path": entry.path,
                    "key": entry.key,
                    "token": entry.display or None,
                    "problem": entry.problem,
                    "check": checks.get((owner, entry.token or "")) if owner else None,
                    "warning": unsafe[entry.path],
                }
                for entry, owner in saved
            ]
        )
        return status
    if not saved:
        ctx.out(f"No saved tokens in {config.secrets_dir}. Run `{PROG} login`.")
        return status
    by_server: dict[str, list[str]] = {}
    for entry, owner in saved:
        if entry.problem or owner is None:
            line = f"{'!':12} {entry.key or '-':16} {entry.path}: {entry.problem}"
            by_server.setdefault("unreadable", []).append(line)
            continue
        shared = "" if entry.server else " (shared)"
        line = f"{entry.display:12} {entry.key:16} {entry.path}{shared}"
        check = checks.get((owner, entry.token or ""))
        if check is not None:
            if check["valid"]:
                line += f"\n{'':12} valid, {check['user']}, expires {check['expires']}"
            elif check["valid"] is False:
                line += f"\n{'':12} REJECTED by {owner}"
            else:
                line += f"\n{'':12} not checked: {check['error']}"
        by_server.setdefault(owner, []).append(line)
    for server, lines in by_server.items():
        ctx.out(server)
        for line in lines:
            ctx.out("  " + line.replace("\n", "\n  "))
    return status
