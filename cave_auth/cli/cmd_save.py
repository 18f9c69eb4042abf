"""``cave-auth save``: save a token read from stdin or a hidden prompt.

Like ``setup`` without the instructions: the token is saved in the server's
own file and in ``cave-secret.json`` (or ``--token-file``), and checked with
the server first only when ``--verify`` is given.
"""

from __future__ import annotations

import argparse

import attrs

from .context import (
    EXIT_OK,
    PROG,
    Context,
    build_config,
    describe_user,
    fetch_user,
    read_token,
    report_saved,
    save_as_asked,
)
from .options import add_input_options, common_options
from .parser import Commands

__all__ = ["register", "run"]


def register(commands: Commands) -> None:
    """Add ``save`` and its options to the ``cave-auth`` parser.

    Args:
        commands: The registry of subcommands.
    """
    parser = commands.add(
        "save",
        summary="save a token read from stdin or a hidden prompt",
        description="Save a token in the server's own file and in "
        "cave-secret.json (or --token-file), where CAVEclient and CloudVolume "
        "find it. The token is not checked with the server unless --verify is "
        "given.",
        examples=[
            f"{PROG} save",
            f'echo "$TOKEN" | {PROG} save --token-stdin --key fanc_production',
            f"{PROG} save --verify --overwrite",
        ],
        run=run,
        parents=[common_options()],
    )
    add_input_options(parser)
    parser.add_argument(
        "--verify", action="store_true", help="check the token with the server first"
    )


def run(ctx: Context, args: argparse.Namespace) -> int:
    """Run ``cave-auth save``.

    Args:
        ctx: The command's context.
        args: The parsed arguments.

    Returns:
        0 once the token is saved.

    Raises:
        CommandError: If no valid token was read, or another token is saved
            under the key.
        AuthenticationError: If ``--verify`` was given and the server
            rejects the token; nothing is saved.
    """
    config = build_config(ctx, args)
    token = read_token(ctx, args)
    if args.verify:
        user = fetch_user(ctx, attrs.evolve(config, token=token))
        ctx.out(f"The server accepted the token: {describe_user(user)}")
    result = save_as_asked(ctx, args, config, token)
    report_saved(ctx, result, token)
    return EXIT_OK
