"""``cave-auth tokens [SERVER]`` and ``tokens delete ID...``: the user's API keys.

``tokens`` lists what ``GET /user/token`` returns for the token's user,
masked unless ``--show``, marking the key in use; with ``--json`` the
server's records plus an ``in_use`` flag. The table's columns are as wide as
what they hold (a masked token is 9 characters), and its dates are local
times to the minute; ``--json`` gives them in ISO 8601 (UTC), which programs
parse without knowing HTTP dates.

``tokens delete ID...`` deletes API keys on the server (``DELETE
/user/token/<id>``), after asking at a terminal (``--yes`` for scripts), and
then forgets every saved copy of a deleted key, which no server accepts any
more. ``offer_to_delete`` is the same offer made by ``setup`` and
``login`` for a key they replaced.
"""

from __future__ import annotations

import argparse
import datetime as _dt
from typing import Any

from ..config import Config
from ..models import TokenInfo
from ..ownership import forget_copies
from ..tokens import mask_token
from .context import (
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    CommandError,
    Context,
    config_with_token,
)
from .options import common_options, json_option
from .parser import Commands

__all__ = ["offer_to_delete", "register", "run"]


def register(commands: Commands) -> None:
    """Add ``tokens`` and its options to the ``cave-auth`` parser.

    Args:
        commands: The registry of subcommands.
    """
    parser = commands.add(
        "tokens",
        summary="list your API keys (masked unless --show); tokens delete ID...",
        description="List the API keys of the token's user (GET /user/token), "
        "newest first. Tokens are masked unless --show is given. With --json, "
        "print the server's records (token masked unless --show) plus an in_use "
        "flag. `tokens delete ID...` deletes keys on the server (asking first at "
        "a terminal; --yes for scripts) and forgets their saved copies.",
        examples=[
            f"{PROG} tokens",
            f"{PROG} tokens minnie.microns-daf.com --json",
            f"{PROG} tokens --show",
            f"{PROG} tokens delete 5 6 --yes",
        ],
        run=run,
        parents=[common_options(), json_option()],
        usage=f"{PROG} tokens [SERVER] [options]\n"
        f"       {PROG} tokens delete ID... [--yes] [--server URL] [options]",
    )
    parser.add_argument(
        "words",
        nargs="*",
        metavar="SERVER | delete ID...",
        help="the auth server (same as --server), or `delete` and key ids",
    )
    parser.add_argument(
        "--show", action="store_true", help="print the tokens in full (careful)"
    )
    parser.add_argument(
        "--yes", action="store_true", help="with delete: do not ask first"
    )
    parser.set_defaults(completion_words=["delete"])


def run(ctx: Context, args: argparse.Namespace) -> int:
    """Run ``cave-auth tokens`` or ``cave-auth tokens delete``.

    Args:
        ctx: The command's context.
        args: The parsed arguments.

    Returns:
        0 once the keys are listed (or deleted).

    Raises:
        CommandError: On a malformed id or extra word (exit 2), or a refused
            deletion.
        MissingTokenError: If no token is saved for the server.
        CaveAuthError: If a request fails.
    """
    words = list(args.words)
    if words and words[0] == "delete":
        args.server_positional = None
        return _delete(ctx, args, words[1:])
    if len(words) > 1:
        raise CommandError(
            f"unexpected {words[1]!r}: give at most one SERVER, or `delete ID...`",
            EXIT_USAGE,
        )
    args.server_positional = words[0] if words else None
    return _list(ctx, args)


def _list(ctx: Context, args: argparse.Namespace) -> int:
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


def _ids(words: list[str]) -> list[int]:
    if not words:
        raise CommandError("tokens delete needs the id of at least one key", EXIT_USAGE)
    ids = []
    for word in words:
        if not (word.isascii() and word.isdigit()):
            raise CommandError(
                f"not a key id: {word!r} (ids are the numbers `{PROG} tokens` "
                "lists; give the server with --server)",
                EXIT_USAGE,
            )
        ids.append(int(word))
    return list(dict.fromkeys(ids))


def _describe(info: TokenInfo) -> str:
    what = f"key {info.id} ({mask_token(info.token)}"
    return what + (f", {info.description})" if info.description else ")")


def _ask(ctx: Context, question: str) -> bool:
    ctx.stdout.write(f"{question} [y/N] ")
    ctx.stdout.flush()
    return ctx.stdin.readline().strip().lower() in ("y", "yes")


def _delete(ctx: Context, args: argparse.Namespace, words: list[str]) -> int:
    from ..api import delete_token, get_tokens

    ids = _ids(words)
    config = config_with_token(ctx, args)
    infos = {info.id: info for info in get_tokens(config, ctx.http())}
    unknown = [key_id for key_id in ids if key_id not in infos]
    if unknown:
        raise CommandError(
            f"no API key with id {', '.join(map(str, unknown))} among yours on "
            f"{config.server_address}; nothing was deleted (see `{PROG} tokens`)"
        )
    chosen = [infos[key_id] for key_id in ids]
    if not args.yes:
        if not ctx.stdin.isatty():
            raise CommandError(
                "not deleting without a terminal to ask at; add --yes to delete "
                + ", ".join(_describe(info) for info in chosen)
            )
        for info in chosen:
            ctx.remember(info.token)
        names = ", ".join(_describe(info) for info in chosen)
        if not _ask(ctx, f"Delete {names} on {config.server_address}?"):
            raise CommandError("nothing was deleted")
    deleted = []
    for info in chosen:
        ctx.remember(info.token)
        delete_token(config, ctx.http(), info.id)
        forgotten = forget_copies(config, ctx.store, info.token)
        deleted.append((info, forgotten))
    if args.json:
        ctx.json(
            [
                {
                    "id": info.id,
                    "token": mask_token(info.token),
                    "deleted": True,
                    "forgotten": forgotten,
                }
                for info, forgotten in deleted
            ]
        )
        return EXIT_OK
    for info, forgotten in deleted:
        ctx.out(f"Deleted {_describe(info)} on {config.server_address}.")
        for where in forgotten:
            ctx.out(f"  removed its saved copy {where}")
    return EXIT_OK


def offer_to_delete(
    ctx: Context,
    config: Config,
    replaced: str,
    *,
    quiet: bool = False,
    ask: bool = True,
) -> dict[str, Any] | None:
    """Name a replaced API key that is still valid, and offer to delete it.

    At a terminal the user is asked; otherwise (or without ``ask``) the
    command that deletes it is printed.

    Args:
        ctx: The command's context.
        config: The Config holding the new token of the same server.
        replaced: The token that was replaced.
        quiet: Print nothing and ask nothing (for ``--json``).
        ask: Whether stdin may be read for the answer.

    Returns:
        ``{"id", "deleted", "delete_with"}`` if the replaced token is one of
        the user's API keys, else ``None``.
    """
    from ..api import delete_token, get_tokens
    from ..errors import CaveAuthError

    try:
        infos = get_tokens(config, ctx.http())
    except CaveAuthError:
        return None
    info = next((info for info in infos if info.token == replaced), None)
    if info is None:
        return None
    command = f"{PROG} tokens delete {info.id} --server {config.server_address}"
    offer = {"id": info.id, "deleted": False, "delete_with": command}
    if quiet:
        return offer
    question = (
        f"The replaced {_describe(info)} is still valid on {config.server_address}."
    )
    if not ask or not ctx.stdin.isatty():
        ctx.out(f"{question} Delete it with: {command}")
        return offer
    if _ask(ctx, f"{question} Delete it now?"):
        delete_token(config, ctx.http(), info.id)
        forget_copies(config, ctx.store, replaced)
        ctx.out(f"Deleted {_describe(info)}.")
        offer["deleted"] = True
    return offer


def _local(moment: _dt.datetime | None, missing: str = "-") -> str:
    """A date as local time to the minute, e.g. ``2026-11-28 05:59``."""
    if moment is None:
        return missing
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")
