"""``cave-auth tokens``: the user's API keys, masked unless ``--show``.

Lists what ``GET /user/token`` returns for the token's user, marking the key
in use; with ``--json`` the server's records plus an ``in_use`` flag.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..tokens import mask_token
from .context import EXIT_OK, PROG, Context, config_with_token
from .options import common_options, json_option
from .parser import Commands

__all__ = ["register", "run"]


def register(commands: Commands) -> None:
    """Add ``tokens`` and its options to the ``cave-auth`` parser.

    Args:
        commands: The registry of subcommands.
    """
    parser = commands.add(
        "tokens",
        summary="list your API keys (masked unless --show)",
        description="List the API keys of the token's user (GET /user/token), "
        "newest first. Tokens are masked unless --show is given. With --json, "
        "print the server's records (token masked unless --show) plus an in_use "
        "flag.",
        examples=[f"{PROG} tokens", f"{PROG} tokens --json", f"{PROG} tokens --show"],
        run=run,
        parents=[common_options(), json_option()],
    )
    parser.add_argument(
        "--show", action="store_true", help="print the tokens in full (careful)"
    )


def run(ctx: Context, args: argparse.Namespace) -> int:
    """Run ``cave-auth tokens``.

    Args:
        ctx: The command's context.
        args: The parsed arguments.

    Returns:
        0 once the keys are listed.

    Raises:
        MissingTokenError: If no token is found anywhere.
        CaveAuthError: If the request fails.
    """
    from ..api import get_tokens
    from ..models import unstructure

    config = config_with_token(ctx, args)
    rows: list[dict[str, Any]] = unstructure(get_tokens(config, ctx.http()))
    for row in rows:
        row["in_use"] = row.get("token") == config.token
        if not args.show and isinstance(row.get("token"), str):
            row["token"] = mask_token(row["token"])
    if args.json:
        ctx.json(rows)
        return EXIT_OK
    if not rows:
        ctx.out("No API keys (the token in use may be a login token).")
        return EXIT_OK
    ctx.out(f"{'ID':>5}  {'TOKEN':<34}  {'CREATED':<29}  DESCRIPTION")
    for row in rows:
        mark = " *" if row["in_use"] else ""
        description = row.get("description") or ""
        ctx.out(
            f"{row.get('id')!s:>5}  {row.get('token')!s:<34}  "
            f"{row.get('created') or '':<29}  {description}{mark}"
        )
    if any(row["in_use"] for row in rows):
        ctx.out("(* the token in use)")
    return EXIT_OK
