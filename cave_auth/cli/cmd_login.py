"""``cave-auth login [SERVER]``: log in through the browser and save an API key.

Modelled on ``gh auth login --web`` and ``hf auth login``: a one-shot
listener on 127.0.0.1 receives the server's redirect after the Google
sign-in (see :mod:`cave_auth.loopback`), the 7-day login token is exchanged for
an API key, the login token is ended, and the key is saved where CAVEclient
and CloudVolume look (see :func:`cave_auth.lifecycle.login`). Without a
browser (``--no-browser``, or when none can be opened, as over SSH) the
address is printed on a line of its own and the address the browser ended on
(or the token) is read from stdin, while the listener keeps listening. The
browser itself is opened on a local page that forwards to the login address,
so that the address, whose ``state`` would let anyone log the user in as
someone else, never appears on a command line; the terminal is the one place
it is printed. The output names the user and the files, never the token.
"""

from __future__ import annotations

import argparse
import threading

import attrs

from ..config import Config
from ..errors import AuthenticationError, CaveAuthError, LoginError, MissingTokenError
from ..lifecycle import login
from ..loopback import LoopbackListener, authorize_url
from ..ownership import ServerSave, claimed, resolve_for_server
from ..tokens import mask_token
from .cmd_tokens import offer_to_delete
from .context import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    CommandError,
    Context,
    build_config,
    describe_user,
    fetch_user,
    report_saved,
    saved_json,
)
from .options import (
    add_default_option,
    add_server_argument,
    common_options,
    json_option,
)
from .parser import Commands
from .servers import explain

__all__ = ["register", "run"]

_BROWSER_WAIT = 300.0
_TIMEOUT_HELP = (
    f"for login: how long to wait for the browser to come back, in seconds "
    f"(default: {_BROWSER_WAIT:g}); each call to the server still gives up after "
    "30 s, retries included"
)


def register(commands: Commands) -> None:
    """Add ``login`` and its options to the ``cave-auth`` parser.

    Args:
        commands: The registry of subcommands.
    """
    parser = commands.add(
        "login",
        summary="log in through the browser and save an API key",
        description="Open the server's login page in a browser, receive the login "
        "on 127.0.0.1, exchange it for an API key, and save the key in the "
        "server's own file (and in cave-secret.json when that holds no other "
        "server's token, or with --default). On a machine without a "
        "browser, paste the address the browser ended on. For login, --timeout is "
        "how long to wait for the browser to come back (default: 300 s); each call "
        "to the server still gives up after 30 s.",
        examples=[
            f"{PROG} login",
            f"{PROG} login minnie.microns-daf.com",
            f"{PROG} login --no-browser          # over SSH: paste the final address",
            f"{PROG} login --keep-login-token    # save the 7-day login token itself",
        ],
        run=run,
        parents=[common_options(timeout_help=_TIMEOUT_HELP), json_option()],
    )
    add_server_argument(parser)
    parser.add_argument(
        "--no-browser",
        action="store_true",
        help="print the login address instead of opening a browser, and read the "
        "address the browser ended on (or the token) from stdin",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        metavar="N",
        help="loopback port to listen on (default: any free port)",
    )
    parser.add_argument(
        "--keep-login-token",
        action="store_true",
        help="save the 7-day login token instead of exchanging it for an API key",
    )
    parser.add_argument(
        "--description",
        metavar="TEXT",
        help="description of the new API key (default: 'cave-auth on HOST, DATE')",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a different token already saved for this server under the "
        "key, without asking",
    )
    add_default_option(parser)


def _saved_token(ctx: Context, config: Config) -> str | None:
    """The token saved for this server (never another server's), if any."""
    try:
        found = resolve_for_server(
            attrs.evolve(config, token=None), ctx.store, ctx.servers(config)
        )
    except MissingTokenError:
        return None
    ctx.remember(found.token)
    return found.token


def _may_replace(
    ctx: Context, args: argparse.Namespace, config: Config, saved: str | None
) -> bool:
    """Decide whether the token saved for this server may be replaced; say why.

    Only this server's word counts: ``saved`` was saved for it.
    """
    if saved is None or args.overwrite:
        return bool(args.overwrite)
    try:
        user = fetch_user(ctx, attrs.evolve(config, token=saved))
    except AuthenticationError:
        # A server's verdict replaces its own token, never a shared token that
        # no server's file holds (its only copy, whosever it was).
        replaced = claimed(config, ctx.store, saved)
        print(
            f"The token {mask_token(saved)} saved for {config.server_address} is "
            "rejected by the server; "
            + ("it will be replaced." if replaced else "a new one is saved beside it."),
            file=ctx.stderr if args.json else ctx.stdout,
        )
        return replaced
    except CaveAuthError as exc:
        raise CommandError(
            f"could not check the token already saved ({explain(ctx.environ, exc)}); "
            "use --overwrite to replace it anyway"
        ) from None
    who = describe_user(user)
    if not ctx.stdin.isatty():
        raise CommandError(
            f"a valid token of {who} is already saved under key "
            f"{config.token_key!r}; use --overwrite to replace it"
        )
    ctx.stdout.write(
        f"A valid token of {who} is already saved under key "
        f"{config.token_key!r}. Replace it? [y/N] "
    )
    ctx.stdout.flush()
    answer = ctx.stdin.readline().strip().lower()
    if answer not in ("y", "yes"):
        raise CommandError("nothing was changed", EXIT_ERROR)
    return True


def _read_replies(ctx: Context, listener: LoopbackListener) -> None:
    """Feed pasted lines to the listener until one holds the token."""
    for line in iter(ctx.stdin.readline, ""):
        if listener.finished:
            return
        if not line.strip():
            continue
        ctx.remember(line.strip())
        try:
            listener.submit(line)
        except LoginError as exc:
            ctx.warn(f"{exc} Try again:")
    listener.cancel(
        LoginError(
            "standard input closed before a login arrived; nothing was saved. "
            f"Run `{PROG} login` again at a terminal."
        )
    )


def run(ctx: Context, args: argparse.Namespace) -> int:
    """Run ``cave-auth login``.

    Args:
        ctx: The command's context.
        args: The parsed arguments.

    Returns:
        0 once the key is saved.

    Raises:
        CommandError: If the server is given twice, differently (exit 2), a
            valid token is saved and may not be replaced, or the login fails.
    """
    if not 0 <= args.port <= 65535:
        raise CommandError("--port must be between 0 and 65535", EXIT_USAGE)
    # For login, --timeout is how long to wait for the browser (as the issue
    # names it); the server calls keep the transport's default deadline (30 s).
    wait = _BROWSER_WAIT if args.timeout is None else args.timeout
    ctx.timeout = None
    config = build_config(ctx, args)
    previous = _saved_token(ctx, config)
    overwrite = _may_replace(ctx, args, config, previous)
    pasting = False

    def say(text: str = "") -> None:
        # With --json, stdout holds only the JSON result; progress goes to stderr.
        print(text, file=ctx.stderr if args.json else ctx.stdout, flush=True)

    with LoopbackListener(port=args.port) as listener:
        # What a person can paste into any browser; the browser we open gets
        # the local page (``page``) instead.
        url = authorize_url(config.server_address, listener.redirect_url)

        def opener(page: str) -> None:
            if not args.no_browser and ctx.opener(page):
                say(f"Opened a browser to log in to {config.server_address}.")
                say(f"If no login page appears, open this address:\n\n{url}\n")
                say(f"Waiting for the browser (up to {wait:g} s)...")
                return
            say("Open this address in a browser on any machine:\n")
            say(url)
            say(
                "\nAfter signing in, paste the address the browser ended on "
                "(it may show an error page; the address is what counts), or "
                "the token, and press Enter:"
            )
            nonlocal pasting
            pasting = True
            threading.Thread(
                target=_read_replies, args=(ctx, listener), daemon=True
            ).start()

        result = login(
            config,
            ctx.store,
            ctx.http(),
            opener=opener,
            timeout=wait,
            exchange=not args.keep_login_token,
            description=args.description,
            overwrite=overwrite,
            listener=listener,
            servers=ctx.servers(config),
            make_default=args.default,
        )
    token = result.config.token or ""
    ctx.remember(token)
    replaced = previous if previous not in (None, token) else None
    done = ServerSave(result.saved, result.shared) if result.shared else None
    user = {"name": result.user.name, "email": result.user.email, "id": result.user.id}
    if args.json:
        offer = None
        if replaced is not None:
            offer = offer_to_delete(ctx, result.config, replaced, quiet=True)
        ctx.json(
            {
                "server_address": config.server_address,
                "user": user,
                "kind": "api_key" if result.exchanged else "login_token",
                "token": mask_token(token),
                "token_key": result.config.token_key,
                "written": list(result.saved.written),
                "unchanged": list(result.saved.unchanged),
                "shared": saved_json(done)["shared"] if done else None,
                "login_token_ended": result.login_token_ended,
                "replaced": None
                if replaced is None
                else {"token": mask_token(replaced), **(offer or {})},
            }
        )
        return EXIT_OK
    kind = "an API key" if result.exchanged else "a login token (valid 7 days)"
    ctx.out(f"Logged in to {config.server_address} as {describe_user(user)}.")
    ctx.out(f"The token is {kind}.")
    if done is not None:
        report_saved(ctx, done, token)
    if result.exchanged and not result.login_token_ended:
        ctx.warn("the login token could not be ended; it expires by itself in 7 days")
    if replaced is not None:
        # Asked only when stdin is free: the paste flow's reader may hold it.
        offer_to_delete(ctx, result.config, replaced, ask=not pasting)
    return EXIT_OK
