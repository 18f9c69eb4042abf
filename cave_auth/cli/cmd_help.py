"""``cave-auth help [COMMAND]``: the help of a command, as ``COMMAND --help``.

Without COMMAND, the help of ``cave-auth`` itself: every command, the
environment variables and the exit codes.
"""

from __future__ import annotations

import argparse

from .context import EXIT_OK, PROG, Context
from .parser import Commands, ParserExit

__all__ = ["register", "run"]


def register(commands: Commands) -> None:
    """Add ``help`` to the ``cave-auth`` parser.

    Args:
        commands: The registry of subcommands.
    """
    parser = commands.add(
        "help",
        summary="show the help of a command (the same as COMMAND --help)",
        description="Show the help of COMMAND, or of cave-auth itself.",
        examples=[f"{PROG} help", f"{PROG} help login"],
        run=run,
    )
    parser.add_argument("topic", nargs="?", metavar="COMMAND", help="a command")
    parser.set_defaults(completion_words="commands")


def run(ctx: Context, args: argparse.Namespace) -> int:
    """Run ``cave-auth help``.

    Args:
        ctx: The command's context.
        args: The parsed arguments.

    Returns:
        0 after the help; 2 for an unknown command.
    """
    from . import build_parser

    parser = build_parser(ctx.stdout, ctx.stderr)
    try:
        parser.parse_args([args.topic, "--help"] if args.topic else ["--help"])
    except ParserExit as exc:
        return exc.status
    return EXIT_OK  # pragma: no cover - --help always exits
