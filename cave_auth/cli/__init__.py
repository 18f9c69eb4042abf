"""The ``cave-auth`` command: set up, inspect and use CAVE auth tokens.

Design: the command is an edge, like :class:`~cave_auth.AuthClient`, laid out
like click's ``examples/complex``. Each subcommand lives in a module of its
own, ``cmd_<name>``, whose docstring says what it does and which holds both
its parser (``register``) and the function that runs it (``run``).
:data:`COMMANDS` lists those modules in the order of ``cave-auth --help``, so
adding a command means one new module plus one line there. A command runs on
a :class:`~cave_auth.cli.context.Context` (the streams, the environment, the
token store, the transport, the browser opener and the password prompt, all
injectable through :func:`main`) and the parsed arguments. It builds a
:class:`~cave_auth.Config` with :meth:`Config.from_env
<cave_auth.Config.from_env>` plus the command-line options of
:mod:`cave_auth.cli.options`, calls the package's pure functions
(``resolve_token``, ``save_token``, ``whoami``, ``get_tokens``...) and prints
the result, as text for people or as JSON (``--json``) for programs. Errors
are :mod:`cave_auth.errors` exceptions, turned by :func:`main` into one line
on stderr (``cave-auth: error: ...``) and an exit code; no traceback, and a
token is printed only by ``cave-auth token`` and ``cave-auth tokens --show``.
Tests call :func:`main` in-process with fake streams, a
:class:`~cave_auth.MemoryStore` or a temporary secrets directory, and a
:class:`~cave_auth.testing.FakeTransport` or
:class:`~cave_auth.testing.FakeAuthServer`.

The commands are modelled on ``gh auth`` and ``hf auth``; each is described
by its module's docstring, and ``cave-auth --help`` lists them from
:data:`COMMANDS`.

Exit codes:
    0: success.
    1: error (server unreachable, permission denied, corrupt file, ...).
    2: usage error (unknown command or option, malformed option value).
    3: no token found (:class:`~cave_auth.MissingTokenError`).
    4: the server rejected the token (:class:`~cave_auth.AuthenticationError`).
    130: interrupted (Ctrl-C).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import IO, TextIO

from ..errors import (
    AuthenticationError,
    CaveAuthError,
    InsecureTransportError,
    InvalidInputError,
    MissingTokenError,
)
from ..store import FileStore, TokenStore
from ..transport import Transport
from . import (
    cmd_completion,
    cmd_demo,
    cmd_help,
    cmd_list,
    cmd_login,
    cmd_logout,
    cmd_rotate,
    cmd_setup,
    cmd_status,
    cmd_switch,
    cmd_token,
    cmd_tokens,
    cmd_whoami,
)
from .context import (
    EXIT_AUTH_REJECTED,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_NO_TOKEN,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    CommandError,
    Context,
    Opener,
    Prompt,
)
from .parser import (
    EXIT_CODES_HELP,
    Command,
    Commands,
    Parser,
    ParserExit,
    VersionAction,
)
from .servers import explain

__all__ = [
    "COMMANDS",
    "EXIT_AUTH_REJECTED",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_NO_TOKEN",
    "EXIT_OK",
    "EXIT_USAGE",
    "CommandError",
    "build_parser",
    "main",
]

COMMANDS: tuple[Command, ...] = (
    cmd_login,
    cmd_logout,
    cmd_list,
    cmd_switch,
    cmd_rotate,
    cmd_setup,
    cmd_status,
    cmd_whoami,
    cmd_tokens,
    cmd_token,
    cmd_demo,
    cmd_completion,
    cmd_help,
)
"""The command modules, in the order ``cave-auth --help`` lists them
(``cmd_setup`` adds ``setup`` and its alias ``save``)."""

_ENVIRONMENT_HELP = """\
environment:
  CAVE_TOKEN           a token to use instead of the secrets files
                       (ignored when --key or --token-file is given)
  CAVE_SERVER_ADDRESS  the default for --server (before `cave-auth switch`)
  CAVE_TOKEN_KEY       the default for --key
  CLOUD_VOLUME_DIR     secrets live in $CLOUD_VOLUME_DIR/secrets (CloudVolume's
                       rule); the default for --secrets-dir
  HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY
                       the proxy to reach the server through, as for curl
  REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, SSL_CERT_FILE, SSL_CERT_DIR
                       the CAs to trust instead of the system's
  XDG_CONFIG_HOME      where cave-auth/config.json (the server of
                       `cave-auth switch`) lives; default ~/.config"""


def build_parser(
    stdout: IO[str] | None = None, stderr: IO[str] | None = None
) -> Parser:
    """Build the ``cave-auth`` argument parser, with every command of COMMANDS.

    Args:
        stdout: Where help goes; default ``sys.stdout``.
        stderr: Where usage errors go; default ``sys.stderr``.

    Returns:
        The parser. Its ``parse_args`` raises an internal exception instead
        of calling :func:`sys.exit`; use :func:`main` to run the command.
    """
    out = sys.stdout if stdout is None else stdout
    err = sys.stderr if stderr is None else stderr
    parser = Parser(
        prog=PROG,
        description="Find, check and save the auth tokens of the CAVE connectomics\n"
        "services, in the files CAVEclient and CloudVolume read.",
        epilog=f"""\
examples:
  {PROG} login                      log in through the browser and save an API key
  {PROG} login minnie.microns-daf.com
  {PROG} switch minnie.microns-daf.com   use that server when none is given
  {PROG} status --check             every server's token, and does it work
  {PROG} whoami --json
  export CAVE_TOKEN=$({PROG} token)
  {PROG} demo                       see the whole flow against a local fake server

{_ENVIRONMENT_HELP}

{EXIT_CODES_HELP}""",
        stdout=out,
        stderr=err,
    )
    parser.add_argument(
        "--version", action=VersionAction, help="print the version and exit"
    )
    subparsers = parser.add_subparsers(
        dest="command", title="commands", metavar="COMMAND"
    )
    commands = Commands(subparsers, stdout=out, stderr=err)
    for command in COMMANDS:
        command.register(commands)
    return parser


def _default_prompt(prompt: str) -> str:
    if not sys.stdin.isatty():
        # Piped input: read it as is; getpass would warn that it may echo.
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        return line
    import getpass

    return getpass.getpass(prompt)


def _default_opener(url: str) -> object:
    import webbrowser

    return webbrowser.open(url)


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
    store: TokenStore | None = None,
    transport: Transport | None = None,
    opener: Opener | None = None,
    getpass: Prompt | None = None,
) -> int:
    """Run the ``cave-auth`` command.

    Every argument after ``argv`` defaults to the real thing and exists so
    that tests (and embedding programs) can run the command in-process.

    Args:
        argv: The arguments, without the program name; default
            ``sys.argv[1:]``.
        stdin: Where ``--token-stdin`` reads from.
        stdout: Where results go.
        stderr: Where warnings and errors go.
        environ: The environment; default ``os.environ``.
        store: Where secrets files live; default a
            :class:`~cave_auth.FileStore`.
        transport: The HTTP transport; default a
            :class:`~cave_auth.Urllib3Transport` created when first needed.
        opener: Opens a URL in a browser; default :func:`webbrowser.open`.
        getpass: Reads a secret without echo; default :func:`getpass.getpass`.

    Returns:
        The exit code: 0 success, 1 error, 2 usage error, 3 no token found,
        4 token rejected by the server, 130 interrupted.
    """
    ctx = Context(
        stdin=sys.stdin if stdin is None else stdin,
        stdout=sys.stdout if stdout is None else stdout,
        stderr=sys.stderr if stderr is None else stderr,
        environ=os.environ if environ is None else environ,
        store=FileStore() if store is None else store,
        transport=transport,
        opener=_default_opener if opener is None else opener,
        prompt=_default_prompt if getpass is None else getpass,
    )
    parser = build_parser(ctx.stdout, ctx.stderr)
    try:
        args = parser.parse_args(argv)
    except ParserExit as exc:
        return exc.status
    if args.command is None:
        parser.print_help(ctx.stderr)
        return EXIT_USAGE
    ctx.timeout = getattr(args, "timeout", None)
    try:
        status: int = args.handler(ctx, args)
    except CommandError as exc:
        ctx.error(exc.message)
        return exc.status
    except MissingTokenError as exc:
        ctx.error(str(exc))
        return EXIT_NO_TOKEN
    except AuthenticationError as exc:
        ctx.error(str(exc))
        return EXIT_AUTH_REJECTED
    except InsecureTransportError as exc:
        # The transport's own advice on a remote server (allow_insecure_http)
        # is no option here; on a remote proxy it is (NO_PROXY, https).
        ctx.error(
            str(exc)
            if exc.proxy
            else "refusing to send a token over plain http to a server that is "
            "not this machine; use an https:// address with --server"
        )
        return EXIT_USAGE
    except InvalidInputError as exc:
        ctx.error(str(exc))
        return EXIT_USAGE
    except CaveAuthError as exc:
        ctx.error(explain(ctx.environ, exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        ctx.error("interrupted")
        return EXIT_INTERRUPTED
    except OSError as exc:
        ctx.error(f"{exc.strerror or exc}")
        return EXIT_ERROR
    finally:
        ctx.close()
    return status
