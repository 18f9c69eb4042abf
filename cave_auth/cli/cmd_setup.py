"""``cave-auth setup [SERVER]`` (and ``save``): get a token by hand, check it, save it.

The onboarding command, modelled on ``gh auth login`` and ``hf auth login``:
it shows the server's token page (and opens it with ``--open``), reads the
pasted token from a hidden prompt or stdin, checks it with the server
(``GET /user/me``) and saves it for that server: in the server's own file,
and in the shared ``cave-secret.json`` only as :mod:`cave_auth.ownership`
allows; the output says which files were written and why the shared one was
left. Nothing is saved if the server rejects the token or cannot be reached,
unless ``--no-verify`` is given. ``cave-auth save`` is ``setup --no-verify``
without the instructions (``save --verify`` checks after all). A token of
this server that is replaced while still valid is named, and at a terminal
``setup`` offers to delete it on the server.
"""

from __future__ import annotations

import argparse
from typing import Any

import attrs

from ..config import Config
from ..errors import AuthenticationError, CaveAuthError, MissingTokenError
from ..ownership import claimed, resolve_for_server
from ..tokens import ResolvedToken, mask_token, setup_instructions
from .cmd_tokens import offer_to_delete
from .context import (
    EXIT_AUTH_REJECTED,
    EXIT_OK,
    PROG,
    CommandError,
    Context,
    build_config,
    describe_user,
    fetch_user,
    read_token,
    report_saved,
    save_as_asked,
    saved_json,
)
from .options import add_input_options, add_server_argument, common_options, json_option
from .parser import Commands
from .servers import explain

__all__ = ["register", "run"]


def register(commands: Commands) -> None:
    """Add ``setup``, its alias ``save``, and their options to the parser.

    Args:
        commands: The registry of subcommands.
    """
    setup = commands.add(
        "setup",
        summary="get a token by hand, verify it with the server, and save it",
        description="Show the page where you get a token, read it from a hidden "
        "prompt (or stdin), check it with the server (GET /user/me), then save it "
        "for that server: in its own file, and in cave-secret.json when that "
        "holds no other server's token (or with --default). Nothing is saved if "
        "the server rejects it.",
        examples=[
            f"{PROG} setup",
            f"{PROG} setup minnie.microns-daf.com --open",
            f"{PROG} setup --existing --key fanc_production",
            f'echo "$TOKEN" | {PROG} setup --token-stdin --overwrite',
        ],
        run=run,
        parents=[common_options(), json_option()],
    )
    save = commands.add(
        "save",
        summary="the same as setup --no-verify, without the instructions",
        description="Save a token read from a hidden prompt (or stdin) for the "
        "server, as setup does, but without the instructions and without "
        "checking it with the server unless --verify is given.",
        examples=[
            f"{PROG} save",
            f'echo "$TOKEN" | {PROG} save --token-stdin --key fanc_production',
            f"{PROG} save --verify --overwrite",
        ],
        run=run,
        parents=[common_options(), json_option()],
    )
    for parser in (setup, save):
        add_server_argument(parser)
        add_input_options(parser)
        parser.add_argument(
            "--verify",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="check the token with the server before saving (default: yes "
            "for setup, no for save)",
        )
        parser.add_argument(
            "--open", action="store_true", help="open the token page in a web browser"
        )
    setup.add_argument(
        "--existing",
        action="store_true",
        help="show the page listing your existing tokens instead of creating one",
    )
    save.set_defaults(existing=False)


def run(ctx: Context, args: argparse.Namespace) -> int:
    """Run ``cave-auth setup`` or ``cave-auth save``.

    Args:
        ctx: The command's context.
        args: The parsed arguments.

    Returns:
        0 once the token is saved.

    Raises:
        CommandError: If the server is given twice, differently (exit 2), the
            server rejects the token (exit 4) or cannot verify it, or another
            token of this server is saved under the key.
    """
    saving = args.command == "save"
    verify = not saving if args.verify is None else args.verify
    config = build_config(ctx, args)
    if not args.token_stdin and not saving and not args.json:
        _instructions(ctx, args, config)
    elif args.open:
        ctx.opener(setup_instructions(config, make_new=not args.existing).url)
    token = read_token(ctx, args)
    user = None
    if verify:
        try:
            user = fetch_user(ctx, attrs.evolve(config, token=token))
        except AuthenticationError as exc:
            raise CommandError(
                f"the server rejected this token; nothing was saved ({exc})",
                EXIT_AUTH_REJECTED,
            ) from None
        except CaveAuthError as exc:
            raise CommandError(
                "could not verify the token, so nothing was saved: "
                f"{explain(ctx.environ, exc)}. Use --no-verify to save it anyway"
            ) from None
    elif not saving and not args.json:
        ctx.out("Not verifying the token with the server (--no-verify).")
    found = _previous_token(ctx, config, token)
    previous = None if found is None else found.token
    rejected = (
        verify
        and not args.overwrite
        and previous is not None
        and _rejected(ctx, config, previous)
    )
    # A server's verdict replaces its own token, never a shared token that no
    # server's file holds (its only copy, whosever it was).
    if rejected and previous is not None and claimed(config, ctx.store, previous):
        args.overwrite = True
    done = save_as_asked(ctx, args, config, token)
    changed = found is not None and found.path in done.saved.written
    offer = None
    if changed and verify and not rejected and previous is not None:
        offer = offer_to_delete(
            ctx, attrs.evolve(config, token=token), previous, quiet=args.json
        )
    if args.json:
        ctx.json(
            {
                "server_address": config.server_address,
                "user": user,
                "token": mask_token(token),
                **saved_json(done),
                "replaced": _replaced_json(previous if changed else None, offer),
            }
        )
        return EXIT_OK
    if user is not None:
        ctx.out(f"Logged in to {config.server_address} as {describe_user(user)}.")
    if changed and rejected and previous is not None:
        ctx.out(
            f"Replaced the saved token {mask_token(previous)}, which the server "
            "rejects."
        )
    report_saved(ctx, done, token)
    return EXIT_OK


def _instructions(ctx: Context, args: argparse.Namespace, config: Config) -> None:
    instructions = setup_instructions(config, make_new=not args.existing)
    ctx.out(f"Setting up a token for {config.server_address}.")
    if args.existing:
        ctx.out(f"1. Open {instructions.url} and log in to see your tokens.")
        ctx.out("2. Copy one of them (the value under 'token').")
    else:
        ctx.out(f"1. Open {instructions.url} and log in to create a new token.")
        ctx.out("2. Copy the token shown. (A new token may replace your previous one.)")
    if args.open:
        ctx.opener(instructions.url)
    else:
        ctx.out("   (use --open to open the page in your browser)")


def _previous_token(ctx: Context, config: Config, token: str) -> ResolvedToken | None:
    """Return the different token already saved for this server, if any."""
    try:
        found = resolve_for_server(
            attrs.evolve(config, token=None), ctx.store, ctx.servers(config)
        )
    except MissingTokenError:
        return None
    ctx.remember(found.token)
    return None if found.token == token else found


def _rejected(ctx: Context, config: Config, saved: str) -> bool:
    """Whether this server (the one the token was saved for) rejects it."""
    try:
        fetch_user(ctx, attrs.evolve(config, token=saved))
    except AuthenticationError:
        return True
    except CaveAuthError:
        return False
    return False


def _replaced_json(
    previous: str | None, offer: dict[str, Any] | None
) -> dict[str, Any] | None:
    if previous is None:
        return None
    return {"token": mask_token(previous), **(offer or {})}
