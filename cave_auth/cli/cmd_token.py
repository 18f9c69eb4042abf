"""``cave-auth token``: print the token that would be used, for scripts.

The one command that prints a token in full (with ``tokens --show``), like
``gh auth token``: ``export CAVE_TOKEN=$(cave-auth token)``.
"""

from __future__ import annotations

import argparse

from ..tokens import missing_token_error, resolve_token
from .context import EXIT_OK, PROG, Context, build_config
from .options import common_options, json_option
from .parser import Commands

__all__ = ["register", "run"]


def register(commands: Commands) -> None:
    """Add ``token`` and its options to the ``cave-auth`` parser.

    Args:
        commands: The registry of subcommands.
    """
    commands.add(
        "token",
        summary="print the token that would be used, for scripts",
        description="Print the token that would be used, unmasked, and nothing "
        "else (like `gh auth token`). With --json, also where it comes from.",
        examples=[
            f"{PROG} token",
            f"export CAVE_TOKEN=$({PROG} token --key fanc_production)",
        ],
        run=run,
        parents=[common_options(), json_option()],
    )


def run(ctx: Context, args: argparse.Namespace) -> int:
    """Run ``cave-auth token``.

    Args:
        ctx: The command's context.
        args: The parsed arguments.

    Returns:
        0 once the token is printed.

    Raises:
        MissingTokenError: If no token is found anywhere.
    """
    config = build_config(ctx, args)
    found = resolve_token(config, ctx.store)
    if found is None:
        raise missing_token_error(config)
    if args.json:
        ctx.json({"token": found.token, "source": found.source})
    else:
        ctx.out(found.token)
    return EXIT_OK
