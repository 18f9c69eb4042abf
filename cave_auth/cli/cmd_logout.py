"""``cave-auth logout [SERVER]``: end the saved token and forget it.

Like ``gh auth logout``: an API key is deleted on the server (its id found
through ``GET /user/token``), a login token is ended with ``/logout``; then
the token is removed from the server's file and ``cave-secret.json``, other
keys kept (see :func:`cave_auth.lifecycle.logout_token`). A token the server
already rejects is still forgotten, and the output says so. With
``--keep-remote`` the server is not asked.
"""

from __future__ import annotations

import argparse

from ..lifecycle import logout_token
from ..tokens import mask_token
from .context import (
    EXIT_OK,
    PROG,
    Context,
    config_with_token,
)
from .options import add_server_argument, common_options, json_option
from .parser import Commands

__all__ = ["register", "run"]


def register(commands: Commands) -> None:
    """Add ``logout`` and its options to the ``cave-auth`` parser.

    Args:
        commands: The registry of subcommands.
    """
    parser = commands.add(
        "logout",
        summary="end the saved token on the server and forget it locally",
        description="Delete the saved API key on the server (or end a login token), "
        "then remove it from the server's own file and cave-secret.json. Other "
        "keys in those files are kept.",
        examples=[
            f"{PROG} logout",
            f"{PROG} logout minnie.microns-daf.com",
            f"{PROG} logout --keep-remote      # forget locally, keep it valid",
        ],
        run=run,
        parents=[common_options(), json_option()],
    )
    add_server_argument(parser)
    parser.add_argument(
        "--keep-remote",
        action="store_true",
        help="only forget the token locally; leave it valid on the server",
    )


def run(ctx: Context, args: argparse.Namespace) -> int:
    """Run ``cave-auth logout``.

    Args:
        ctx: The command's context.
        args: The parsed arguments.

    Returns:
        0 once the token is forgotten.

    Raises:
        CommandError: If the server is given twice, differently (exit 2).
        MissingTokenError: If no token is saved for the server.
    """
    config = config_with_token(ctx, args)
    result = logout_token(config, ctx.store, ctx.http(), keep_remote=args.keep_remote)
    masked = mask_token(result.forgotten.token)
    if args.json:
        ctx.json(
            {
                "server_address": config.server_address,
                "token": masked,
                "kind": result.kind,
                "ended_on_server": result.ended_on_server,
                "already_dead": result.already_dead,
                "removed": list(result.forgotten.removed),
                "kept": list(result.forgotten.kept),
            }
        )
        return EXIT_OK
    if result.ended_on_server:
        what = (
            "Deleted the API key"
            if result.kind == "api key"
            else "Ended the login token"
        )
        ctx.out(f"{what} {masked} on {config.server_address}.")
    elif result.already_dead:
        ctx.out(f"The server no longer accepted {masked}; it was already logged out.")
    else:
        ctx.out(f"Left {masked} valid on the server (--keep-remote).")
    if result.forgotten.removed:
        ctx.out("Removed it from:")
        for path in result.forgotten.removed:
            ctx.out(f"  {path}")
    else:
        ctx.out(
            "It was not saved in any file (it came from CAVE_TOKEN or --token-file?)."
        )
    if ctx.environ.get("CAVE_TOKEN"):
        ctx.warn("CAVE_TOKEN is still set in the environment")
    return EXIT_OK
