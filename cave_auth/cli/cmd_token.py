"""``cave-auth token [SERVER]``: print the token saved for the server, for scripts.

The one command that prints a token in full (with ``tokens --show``), like
``gh auth token``: ``export CAVE_TOKEN=$(cave-auth token)``.
"""

from __future__ import annotations

import argparse

from .context import EXIT_OK, PROG, Context, config_with_token
from .options import add_server_argument, common_options, json_option
from .parser import Commands

__all__ = ["register", "run"]


def register(commands: Commands) -> None:
    """Add ``token`` and its options to the ``cave-auth`` parser.

    Args:
        commands: The registry of subcommands.
    """
    parser = commands.add(
        "token",
        summary="print the token saved for the server, for scripts",
        description="Print the token saved for the server, unmasked, and nothing "
        "else (like `gh auth token`). With --json, also where it comes from.",
        examples=[
            f"{PROG} token",
            f"{PROG} token minnie.microns-daf.com",
            f"export CAVE_TOKEN=$({PROG} token --key fanc_production)",
        ],
        run=run,
        parents=[common_options(), json_option()],
    )
    add_server_argument(parser)


def run(ctx: Context, args: argparse.Namespace) -> int:
    """Run ``cave-auth token``.

    Args:
        ctx: The command's context.
        args: The parsed arguments.

    Returns:
        0 once the token is printed.

    Raises:
        MissingTokenError: If no token is saved for the server.
    """
    config = config_with_token(ctx, args)
    if args.json:
        ctx.json({"token": config.token, "source": config.token_source})
    else:
        ctx.out(config.token or "")
    return EXIT_OK
