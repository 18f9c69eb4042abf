"""``cave-auth whoami [SERVER]``: the user the token saved for the server belongs to.

Asks the server (``GET /user/me``); with ``--json`` prints the user record as
the server sent it.
"""

from __future__ import annotations

import argparse

from ..tokens import mask_token
from .context import (
    EXIT_OK,
    PROG,
    Context,
    config_with_token,
    describe_user,
    fetch_user,
)
from .options import add_server_argument, common_options, json_option
from .parser import Commands

__all__ = ["register", "run"]


def register(commands: Commands) -> None:
    """Add ``whoami`` and its options to the ``cave-auth`` parser.

    Args:
        commands: The registry of subcommands.
    """
    parser = commands.add(
        "whoami",
        summary="show the user the token belongs to",
        description="Ask the server (GET /user/me) who the token belongs to. "
        "With --json, print the user record as the server sent it.",
        examples=[
            f"{PROG} whoami",
            f"{PROG} whoami --server minnie.microns-daf.com --json",
        ],
        run=run,
        parents=[common_options(), json_option()],
    )
    add_server_argument(parser)


def run(ctx: Context, args: argparse.Namespace) -> int:
    """Run ``cave-auth whoami``.

    Args:
        ctx: The command's context.
        args: The parsed arguments.

    Returns:
        0 once the user is shown.

    Raises:
        MissingTokenError: If no token is found anywhere.
        CaveAuthError: If the request fails, for instance
            :class:`~cave_auth.AuthenticationError` if the token is rejected.
    """
    config = config_with_token(ctx, args)
    user = fetch_user(ctx, config)
    if args.json:
        ctx.json(user)
    else:
        ctx.out(f"Logged in to {config.server_address} as {describe_user(user)}")
        ctx.out(f"Token {mask_token(config.token or '')} from {config.token_source}")
    return EXIT_OK
