"""``cave-auth setup [SERVER]``: get a token by hand, verify it, save it.

The onboarding command, modelled on ``gh auth login`` and ``hf auth login``:
it shows the server's token page (and opens it with ``--open``), reads the
pasted token from a hidden prompt or stdin, checks it with the server
(``GET /user/me``) and saves it where CAVEclient and CloudVolume look.
Nothing is saved if the server rejects the token or cannot be reached,
unless ``--no-verify`` is given.
"""

from __future__ import annotations

import argparse

import attrs

from ..config import Config
from ..errors import AuthenticationError, CaveAuthError
from ..tokens import mask_token, resolve_token, setup_instructions
from .context import (
    EXIT_AUTH_REJECTED,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    CommandError,
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
    """Add ``setup`` and its options to the ``cave-auth`` parser.

    Args:
        commands: The registry of subcommands.
    """
    parser = commands.add(
        "setup",
        summary="get a token by hand, verify it with the server, and save it",
        description="Show the page where you get a token, read it from a hidden "
        "prompt (or stdin), check it with the server (GET /user/me), then save it "
        "in the server's own file and in cave-secret.json. Nothing is saved if "
        "the server rejects it.",
        examples=[
            f"{PROG} setup",
            f"{PROG} setup minnie.microns-daf.com --open",
            f"{PROG} setup --existing --key fanc_production",
            f'echo "$TOKEN" | {PROG} setup --token-stdin --overwrite',
        ],
        run=run,
        parents=[common_options()],
    )
    parser.add_argument(
        "server_positional",
        nargs="?",
        metavar="SERVER",
        help="auth server address (same as --server)",
    )
    add_input_options(parser)
    parser.add_argument(
        "--open", action="store_true", help="open the token page in a web browser"
    )
    parser.add_argument(
        "--existing",
        action="store_true",
        help="show the page listing your existing tokens instead of creating one",
    )
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="save the token without checking it with the server",
    )


def run(ctx: Context, args: argparse.Namespace) -> int:
    """Run ``cave-auth setup``.

    Args:
        ctx: The command's context.
        args: The parsed arguments.

    Returns:
        0 once the token is saved.

    Raises:
        CommandError: If the server is given twice, differently (exit 2), the
            server rejects the token (exit 4) or cannot verify it, or another
            token is saved under the key.
    """
    if args.server_positional and args.server and args.server_positional != args.server:
        raise CommandError("give the server either as SERVER or --server", EXIT_USAGE)
    config = build_config(ctx, args)
    instructions = setup_instructions(config, make_new=not args.existing)
    if not args.token_stdin:
        ctx.out(f"Setting up a token for {config.server_address}.")
        if args.existing:
            ctx.out(f"1. Open {instructions.url} and log in to see your tokens.")
            ctx.out("2. Copy one of them (the value under 'token').")
        else:
            ctx.out(f"1. Open {instructions.url} and log in to create a new token.")
            ctx.out(
                "2. Copy the token shown. (A new token may replace your previous one.)"
            )
        if args.open:
            ctx.opener(instructions.url)
        else:
            ctx.out("   (use --open to open the page in your browser)")
    elif args.open:
        ctx.opener(instructions.url)
    token = read_token(ctx, args)
    if args.no_verify:
        ctx.out("Not verifying the token with the server (--no-verify).")
    else:
        try:
            user = fetch_user(ctx, attrs.evolve(config, token=token))
        except AuthenticationError as exc:
            raise CommandError(
                f"the server rejected this token; nothing was saved ({exc})",
                EXIT_AUTH_REJECTED,
            ) from None
        except CaveAuthError as exc:
            raise CommandError(
                f"could not verify the token, so nothing was saved: {exc}. "
                "Use --no-verify to save it anyway"
            ) from None
    replaced = _rejected_saved_token(ctx, args, config, token)
    if replaced is not None:
        args.overwrite = True
    result = save_as_asked(ctx, args, config, token)
    if not args.no_verify:
        ctx.out(f"Logged in to {config.server_address} as {describe_user(user)}.")
    if replaced is not None:
        ctx.out(f"Replaced the saved token {replaced}, which the server rejects.")
    report_saved(ctx, result, token)
    return EXIT_OK


def _rejected_saved_token(
    ctx: Context, args: argparse.Namespace, config: Config, token: str
) -> str | None:
    """Return the masked saved token if it differs and the server rejects it."""
    if args.overwrite or args.no_verify:
        return None
    found = resolve_token(attrs.evolve(config, token=None), ctx.store)
    if found is None or found.token == token:
        return None
    ctx.remember(found.token)
    try:
        fetch_user(ctx, attrs.evolve(config, token=found.token))
    except AuthenticationError:
        return mask_token(found.token)
    except CaveAuthError:
        return None
    return None
