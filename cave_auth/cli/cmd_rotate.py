"""``cave-auth rotate [SERVER]``: replace the saved API key with a new one.

A new key is created with the server's saved token, verified, saved in the
server's own file and over every saved copy of the old one (every file,
every key name), and only then is the old key deleted (see
:func:`cave_auth.lifecycle.rotate_token`). If any step before the save fails,
the old token stays saved and working; if a copy cannot be replaced, the old
key is kept and the exit code is 1.
"""

from __future__ import annotations

import argparse

from ..lifecycle import rotate_token
from ..tokens import mask_token
from .context import (
    EXIT_ERROR,
    EXIT_OK,
    PROG,
    Context,
    config_with_token,
)
from .options import add_server_argument, common_options, json_option
from .parser import Commands

__all__ = ["register", "run"]


def register(commands: Commands) -> None:
    """Add ``rotate`` and its options to the ``cave-auth`` parser.

    Args:
        commands: The registry of subcommands.
    """
    parser = commands.add(
        "rotate",
        summary="replace the saved API key with a new one, then delete the old",
        description="Create a new API key with the server's saved token, check it, "
        "save it in the server's own file and over every saved copy of the old "
        "key (every file, every key name), and only then delete the old key. If a "
        "step fails, the old token stays saved and working.",
        examples=[
            f"{PROG} rotate",
            f"{PROG} rotate --keep-old --description 'laptop, 2026'",
        ],
        run=run,
        parents=[common_options(), json_option()],
    )
    add_server_argument(parser)
    parser.add_argument(
        "--keep-old", action="store_true", help="keep the old token valid on the server"
    )
    parser.add_argument(
        "--description",
        metavar="TEXT",
        help="description of the new key (default: 'cave-auth on HOST, DATE')",
    )


def run(ctx: Context, args: argparse.Namespace) -> int:
    """Run ``cave-auth rotate``.

    Args:
        ctx: The command's context.
        args: The parsed arguments.

    Returns:
        0 when the new key is saved and the old one ended (or kept by
        request); 1 when the old one could not be deleted.

    Raises:
        CommandError: If the server is given twice, differently (exit 2).
        MissingTokenError: If no token is saved for the server.
    """
    config = config_with_token(ctx, args)
    old = config.token
    result = rotate_token(
        config,
        ctx.store,
        ctx.http(),
        description=args.description,
        keep_old=args.keep_old,
    )
    new = result.config.token
    ctx.remember(new)
    status = EXIT_OK if result.old_token_ended or args.keep_old else EXIT_ERROR
    if args.json:
        ctx.json(
            {
                "server_address": config.server_address,
                "old_token": mask_token(old) if old else None,
                "new_token": mask_token(new) if new else None,
                "old_token_ended": result.old_token_ended,
                "written": list(result.saved.written),
                "copies": list(result.copies),
                "error": result.problem,
            }
        )
    else:
        ctx.out(f"New API key {mask_token(new or '')} for {result.user.name} saved in:")
        for path in (*result.saved.written, *result.saved.unchanged):
            ctx.out(f"  {path}")
        if result.copies:
            ctx.out("It replaced the old key under every name it was saved as:")
            for where in result.copies:
                ctx.out(f"  {where}")
        if result.old_token_ended:
            ctx.out(f"Deleted the old token {mask_token(old or '')} on the server.")
        elif args.keep_old:
            ctx.out(f"The old token {mask_token(old or '')} stays valid (--keep-old).")
    if result.problem is not None:
        ctx.error(result.problem)
    return status
