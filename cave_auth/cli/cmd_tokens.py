"""``cave-auth tokens``: the user's API keys, masked unless ``--show``.

Lists what ``GET /user/token`` returns for the token's user, marking the key
in use; with ``--json`` the server's records plus an ``in_use`` flag. The
table's columns are as wide as what they hold (a masked token is 9
characters), and its dates are local times to the minute; ``--json`` gives
them in ISO 8601 (UTC), which programs parse without knowing HTTP dates.
"""

from __future__ import annotations

import argparse
import datetime as _dt
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
    infos = get_tokens(config, ctx.http())
    rows: list[dict[str, Any]] = []
    for info in infos:
        row: dict[str, Any] = unstructure(info)
        for field in ("created", "last_used", "updated"):
            value = getattr(info, field)
            row[field] = value.isoformat() if value is not None else None
        row["in_use"] = info.token == config.token
        if not args.show:
            row["token"] = mask_token(info.token)
        rows.append(row)
    if args.json:
        ctx.json(rows)
        return EXIT_OK
    if not rows:
        ctx.out("No API keys (the token in use may be a login token).")
        return EXIT_OK
    table = [("ID", "TOKEN", "CREATED", "LAST USED", "DESCRIPTION")]
    for info, row in zip(infos, rows, strict=True):
        description = (info.description or "") + (" *" if row["in_use"] else "")
        table.append(
            (
                str(info.id),
                row["token"],
                _local(info.created),
                _local(info.last_used, "never"),
                description,
            )
        )
    widths = [max(len(line[i]) for line in table) for i in range(4)]
    for line in table:
        cells = [line[0].rjust(widths[0])]
        cells += [
            cell.ljust(width) for cell, width in zip(line[1:4], widths[1:], strict=True)
        ]
        ctx.out("  ".join([*cells, line[4]]).rstrip())
    ctx.out("(dates in local time)")
    if any(row["in_use"] for row in rows):
        ctx.out("(* the token in use)")
    return EXIT_OK


def _local(moment: _dt.datetime | None, missing: str = "-") -> str:
    """A date as local time to the minute, e.g. ``2026-11-28 05:59``."""
    if moment is None:
        return missing
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")
