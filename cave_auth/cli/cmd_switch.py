"""``cave-auth switch [SERVER]``: remember the server commands use by default.

Like ``gh auth switch``: the server is written to the settings file of
:mod:`cave_auth.cli.settings` (``~/.config/cave-auth/config.json``), and every
command without SERVER or ``--server`` uses it, unless ``CAVE_SERVER_ADDRESS``
is set (which still wins). ``status`` shows it; ``--unset`` forgets it; with
no SERVER the current default is shown. The library itself never reads the
file: :meth:`Config.from_env <cave_auth.Config.from_env>` stays as it was.

The default server also owns a token of the shared ``cave-secret.json`` that
no server's own file holds (see :mod:`cave_auth.ownership`). So that
switching never hands such a token to the new server, ``switch`` first
saves it in the old default server's own file, and says so.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import attrs

from ..config import DEFAULT_SERVER_ADDRESS, Config
from ..errors import MissingTokenError, TokenKeyExistsError
from ..ownership import Servers, netloc_of, owner_of, resolve_for_server
from ..tokens import default_token_path, server_token_path
from .context import EXIT_OK, PROG, CommandError, Context, build_config
from .options import add_server_argument, common_options, json_option
from .parser import Commands
from .settings import read_settings, settings_path, write_settings

__all__ = ["register", "run"]


def register(commands: Commands) -> None:
    """Add ``switch`` and its options to the ``cave-auth`` parser.

    Args:
        commands: The registry of subcommands.
    """
    parser = commands.add(
        "switch",
        summary="remember the server commands use when none is given",
        description="Remember SERVER as the default server of cave-auth commands "
        "(in ~/.config/cave-auth/config.json; CAVE_SERVER_ADDRESS and --server "
        "still win). Without SERVER, show the default server and where it comes "
        "from. Programs using the library are not affected.",
        examples=[
            f"{PROG} switch minnie.microns-daf.com",
            f"{PROG} switch http://127.0.0.1:5055",
            f"{PROG} switch",
            f"{PROG} switch --unset",
        ],
        run=run,
        parents=[common_options(), json_option()],
    )
    add_server_argument(parser)
    parser.add_argument(
        "--unset",
        action="store_true",
        help="forget the remembered server (the default is the global one again)",
    )


def run(ctx: Context, args: argparse.Namespace) -> int:
    """Run ``cave-auth switch``.

    Args:
        ctx: The command's context.
        args: The parsed arguments.

    Returns:
        0 once the default is shown or changed.
    """
    path = settings_path(ctx.environ)
    if args.unset:
        try:
            read_settings(ctx.environ)
        except CommandError:
            write_settings(ctx.environ, {})  # what --unset is for: a fresh file
    config = build_config(ctx, args)
    given = ctx.server_origin == "the command line"
    pinned: list[str] = []
    if args.unset or given:
        try:
            old, _ = ctx.default_server()
            settings = read_settings(ctx.environ)
        except CommandError:
            # A broken settings file is what a new switch replaces.
            old, settings = DEFAULT_SERVER_ADDRESS, {}
        settings.pop("server", None)
        if given:
            settings["server"] = config.server_address
        new = config.server_address if given else None
        if not ctx.environ.get("CAVE_SERVER_ADDRESS"):
            pinned = _pin_shared(ctx, config, old, new)
        write_settings(ctx.environ, settings)
        ctx.settings_changed()
    default, origin = ctx.default_server()
    token_saved = _has_token(ctx, attrs.evolve(config, server_address=default))
    if args.json:
        ctx.json(
            {
                "default_server": default,
                "from": origin,
                "settings_file": path,
                "pinned": pinned,
                "token_saved": token_saved,
            }
        )
        return EXIT_OK
    for where in pinned:
        ctx.out(f"Saved the shared file's token in {where}, so it stays that server's.")
    if args.unset:
        ctx.out(f"Forgot the remembered server ({path}).")
    elif given:
        ctx.out(f"The default server is now {config.server_address} (saved in {path}).")
    ctx.out(f"Commands without SERVER use {default} (from {origin}).")
    if given and origin == "CAVE_SERVER_ADDRESS":
        ctx.warn(f"CAVE_SERVER_ADDRESS is set and wins over {config.server_address}")
    if not token_saved:
        ctx.out(f"No token is saved for {default} yet: run `{PROG} login {default}`.")
    return EXIT_OK


def _has_token(ctx: Context, config: Config) -> bool:
    try:
        resolve_for_server(
            attrs.evolve(config, token=None), ctx.store, ctx.servers(config)
        )
    except MissingTokenError:
        return False
    return True


def _pin_shared(ctx: Context, config: Config, old: str, new: str | None) -> list[str]:
    """Save each shared token the old default owns alone into its own file."""
    if netloc_of(old) == netloc_of(new or DEFAULT_SERVER_ADDRESS):
        return []
    before = Servers(old, (old,))
    secrets: dict[str, Any] = dict(
        ctx.store.read_secrets(default_token_path(config)) or {}
    )
    own = server_token_path(attrs.evolve(config, server_address=old))
    held = ctx.store.read_secrets(own) or {}
    pinned = []
    for key, token in secrets.items():
        if not isinstance(token, str) or token in held.values():
            continue
        if netloc_of(owner_of(config, ctx.store, token, before)) != netloc_of(old):
            continue
        ctx.remember(token)
        try:
            ctx.store.set_secret(own, key, token, overwrite=False)
        except TokenKeyExistsError:
            ctx.warn(
                f"the shared file's token under key {key!r} now counts as the token "
                f"of {new or DEFAULT_SERVER_ADDRESS}: {os.path.basename(own)} "
                "already holds another token under that key"
            )
            continue
        pinned.append(f"{own}#{key}")
    return pinned
