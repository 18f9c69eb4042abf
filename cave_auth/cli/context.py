"""What every ``cave-auth`` command shares: the context, exit codes and helpers.

A command is a function of a :class:`Context` and the parsed arguments. The
context holds everything that touches the outside world (the streams, the
environment, the token store, the transport, the browser opener and the
password prompt), all injectable through :func:`cave_auth.cli.main`, so a
command never reaches for ``sys`` or ``os.environ`` itself. It also remembers
every token the command has seen and masks them in warnings and error lines.

The helpers below are the steps several commands take: build the
:class:`~cave_auth.Config` from the environment plus the command-line options,
read a token from stdin or a hidden prompt, ask the server who a token
belongs to, save a token as the options say and report what was written.
A failure a command wants to report as one line and an exit code is a
:class:`CommandError`; :func:`cave_auth.cli.main` prints it.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TextIO

import attrs

from ..config import (
    DEFAULT_SERVER_ADDRESS,
    Config,
    normalize_server_address,
    token_problem,
)
from ..errors import InvalidInputError, TokenKeyExistsError
from ..ownership import Servers, ServerSave, resolve_for_server, save_for_server
from ..store import TokenStore
from ..tokens import mask_token
from ..transport import Transport
from .servers import server_address

if TYPE_CHECKING:
    from ..transport import Urllib3Transport

__all__ = [
    "EXIT_AUTH_REJECTED",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_NO_TOKEN",
    "EXIT_OK",
    "EXIT_USAGE",
    "PROG",
    "CommandError",
    "Context",
    "Handler",
    "Opener",
    "Prompt",
    "build_config",
    "config_with_token",
    "describe_user",
    "fetch_user",
    "read_token",
    "report_saved",
    "save_as_asked",
]

EXIT_OK = 0
"""The command succeeded."""
EXIT_ERROR = 1
"""The command failed (network, permission, file problem, ...)."""
EXIT_USAGE = 2
"""The command line was wrong (as argparse exits)."""
EXIT_NO_TOKEN = 3
"""No token was found anywhere (:class:`~cave_auth.MissingTokenError`)."""
EXIT_AUTH_REJECTED = 4
"""The server rejected the token (:class:`~cave_auth.AuthenticationError`)."""
EXIT_INTERRUPTED = 130
"""The user pressed Ctrl-C."""

PROG = "cave-auth"
"""The command's name, as shown in usage lines and messages."""

Opener = Callable[[str], object]
"""Opens a URL in a web browser (:func:`webbrowser.open` by default)."""
Prompt = Callable[[str], str]
"""Reads a secret without echo (:func:`getpass.getpass` by default)."""


class CommandError(Exception):
    """A failure the command reports as one line and an exit code.

    Args:
        message: What went wrong, for people; never a token.
        status: The exit code.
    """

    def __init__(self, message: str, status: int = EXIT_ERROR) -> None:
        self.message = message
        self.status = status
        super().__init__(message)


class Context:
    """What a command may use: streams, environment and the I/O objects.

    Args:
        stdin: Where ``--token-stdin`` reads from.
        stdout: Where results go.
        stderr: Where warnings and errors go.
        environ: The environment variables.
        store: Where secrets files live.
        transport: The HTTP transport, or ``None`` to create a
            :class:`~cave_auth.Urllib3Transport` when first needed.
        opener: Opens a URL in a browser.
        prompt: Reads a secret without echo.
    """

    def __init__(
        self,
        *,
        stdin: TextIO,
        stdout: TextIO,
        stderr: TextIO,
        environ: Mapping[str, str],
        store: TokenStore,
        transport: Transport | None,
        opener: Opener,
        prompt: Prompt,
    ) -> None:
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.environ = environ
        self.store = store
        self.opener = opener
        self.prompt = prompt
        self._transport = transport
        self._owned: Urllib3Transport | None = None
        self.timeout: float | None = None
        self.server_origin = "the default"
        self._secrets: set[str] = set()
        self._switched: tuple[str | None] | None = None

    def switched_server(self) -> str | None:
        """Return the server ``cave-auth switch`` remembers (read once), if any."""
        if self._switched is None:
            from .settings import switched_server

            self._switched = (switched_server(self.environ),)
        return self._switched[0]

    def settings_changed(self) -> None:
        """Read the settings file again at the next :meth:`switched_server`."""
        self._switched = None

    def default_server(self) -> tuple[str, str]:
        """Return the server used when none is named, and where it comes from.

        Returns:
            ``CAVE_SERVER_ADDRESS``, else the server ``cave-auth switch``
            remembers, else the global server; and the origin's name.
        """
        environ = self.environ.get("CAVE_SERVER_ADDRESS")
        if environ:
            address = normalize_server_address(environ, "CAVE_SERVER_ADDRESS")
            return address, "CAVE_SERVER_ADDRESS"
        switched = self.switched_server()
        if switched is not None:
            return switched, "cave-auth switch"
        return DEFAULT_SERVER_ADDRESS, "the default"

    def servers(self, config: Config) -> Servers:
        """Return the default server and every address whose scheme is known.

        Args:
            config: The command's Config; its server's address is known.

        Returns:
            The servers, for :mod:`cave_auth.ownership`.
        """
        default, _ = self.default_server()
        known = [config.server_address, default, self.switched_server()]
        return Servers(default, tuple(a for a in known if a is not None))

    def http(self) -> Transport:
        """Return the transport, creating a Urllib3Transport on first use.

        The transport it creates honours the proxy and CA bundle variables of
        the environment (:meth:`~cave_auth.Urllib3Transport.from_env`) and
        ``--timeout`` (the ``timeout`` attribute, set by :func:`~cave_auth.cli.main`).

        Returns:
            The transport given to the context, or the one it created.
        """
        if self._transport is None:
            from ..transport import Urllib3Transport

            settings = {} if self.timeout is None else {"timeout": self.timeout}
            self._owned = Urllib3Transport.from_env(self.environ, **settings)
            self._transport = self._owned
        return self._transport

    def close(self) -> None:
        """Close the transport if this context created it."""
        if self._owned is not None:
            self._owned.close()
            self._owned = None
            self._transport = None

    def remember(self, token: str | None) -> None:
        """Note a token so that warnings and error lines never show it.

        Tokens shorter than 8 characters are not noted: masking them would
        garble ordinary words, and no real token is that short.

        Args:
            token: The token, or ``None`` (ignored).
        """
        if token and len(token) >= 8:
            self._secrets.add(token)

    def out(self, text: str = "") -> None:
        """Print a line on stdout.

        Args:
            text: The line, without its newline.
        """
        print(text, file=self.stdout)

    def json(self, value: object) -> None:
        """Print a value as indented JSON on stdout.

        Args:
            value: Anything :func:`json.dumps` takes.
        """
        print(json.dumps(value, indent=2), file=self.stdout)

    def warn(self, text: str) -> None:
        """Print a warning line on stderr, with every remembered token masked.

        Args:
            text: The warning, without the ``cave-auth: warning:`` prefix.
        """
        print(f"{PROG}: warning: {self.scrub(text)}", file=self.stderr)

    def error(self, text: str) -> None:
        """Print an error as one line on stderr, with every remembered token masked.

        Args:
            text: The error, without the ``cave-auth: error:`` prefix; its
                line breaks and runs of spaces become single spaces.
        """
        one_line = " ".join(self.scrub(text).split())
        print(f"{PROG}: error: {one_line}", file=self.stderr)

    def scrub(self, text: str) -> str:
        """Return ``text`` with every remembered token masked.

        Args:
            text: Any text meant for the user.

        Returns:
            The text, each remembered token replaced by its masked form.
        """
        for secret in self._secrets:
            text = text.replace(secret, mask_token(secret))
        return text


Handler = Callable[[Context, argparse.Namespace], int]
"""Runs one command: takes the context and the parsed arguments, returns the
exit code."""


def build_config(ctx: Context, args: argparse.Namespace) -> Config:
    """Build the Config of a command: environment, then command-line options.

    The server is, first found: SERVER or ``--server`` (given differently,
    a usage error), ``CAVE_SERVER_ADDRESS``, the server ``cave-auth switch``
    remembers, the global server; ``ctx.server_origin`` says which.
    ``CAVE_TOKEN`` is ignored when ``--key`` or ``--token-file`` is given, so
    that those options choose the token.

    Args:
        ctx: The command's context (its environment is read).
        args: The parsed arguments, with the common options.

    Returns:
        The Config; its token (if any) is remembered for masking.

    Raises:
        CommandError: With exit code 2, if an option value is malformed.
    """
    overrides: dict[str, object] = {}
    positional = getattr(args, "server_positional", None)
    if positional and args.server and positional != args.server:
        raise CommandError("give the server either as SERVER or --server", EXIT_USAGE)
    server = positional or args.server
    if args.key:
        overrides["token_key"] = args.key
    if args.secrets_dir:
        overrides["secrets_dir"] = args.secrets_dir
    if args.token_file:
        overrides["token_file"] = args.token_file
    environ = ctx.environ
    if args.key or args.token_file:
        environ = {
            name: value for name, value in environ.items() if name != "CAVE_TOKEN"
        }
    try:
        if server:
            overrides["server_address"] = server_address(server)
            ctx.server_origin = "the command line"
        elif environ.get("CAVE_SERVER_ADDRESS"):
            server_address(environ["CAVE_SERVER_ADDRESS"], "CAVE_SERVER_ADDRESS")
            ctx.server_origin = "CAVE_SERVER_ADDRESS"
        else:
            overrides["server_address"], ctx.server_origin = ctx.default_server()
        config = Config.from_env(environ, **overrides)
    except InvalidInputError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    address, _, path = config.server_address.partition("://")[2].partition("/")
    if path.strip("/"):
        scheme = config.server_address.partition("://")[0]
        raise CommandError(
            f"the server address {config.server_address!r} has a path (/{path}); "
            f"give the server's address alone, e.g. --server {scheme}://{address} "
            "(the /auth and /sticky_auth parts are added by cave-auth)",
            EXIT_USAGE,
        )
    ctx.remember(config.token)
    return config


def config_with_token(ctx: Context, args: argparse.Namespace) -> Config:
    """Build the Config and fill in the token saved for its server.

    Only a token saved for this server is taken: the shared file's token
    when it belongs to this server (see :mod:`cave_auth.ownership`), and a
    ``--token-file`` is never passed over.

    Args:
        ctx: The command's context.
        args: The parsed arguments, with the common options.

    Returns:
        The Config, its token set and remembered for masking.

    Raises:
        MissingTokenError: If no token is saved for the server.
        CommandError: With exit code 2, if an option value is malformed.
    """
    config = build_config(ctx, args)
    found = resolve_for_server(config, ctx.store, ctx.servers(config))
    ctx.remember(found.token)
    return attrs.evolve(config, token=found.token, token_source=found.source)


def read_token(ctx: Context, args: argparse.Namespace) -> str:
    """Read a token from stdin (``--token-stdin``) or a hidden prompt, and check it.

    Args:
        ctx: The command's context (its stdin or prompt is used).
        args: The parsed arguments, with the input options.

    Returns:
        The token, stripped of surrounding whitespace.

    Raises:
        CommandError: If no token was given or it is not a valid token.
    """
    if args.token_stdin:
        token = ctx.stdin.read().strip()
        where = "stdin"
    else:
        try:
            token = ctx.prompt("Paste your token (input is hidden): ").strip()
        except EOFError:
            token = ""
        where = "the prompt"
    ctx.remember(token)
    unquoted = token.strip("\"'").strip()
    if unquoted != token:
        token = unquoted
        ctx.remember(token)
        ctx.warn(f"removed the quotes around the token read from {where}")
    if not token:
        raise CommandError(f"no token was given on {where}")
    problem = token_problem(token)
    if problem is not None:
        raise CommandError(f"the token read from {where} is not valid: {problem}")
    return token


def describe_user(user: Mapping[str, Any]) -> str:
    """Return ``Name <email> (user id N)`` for a user record.

    Args:
        user: The user record as the server sends it.

    Returns:
        One line for people, naming superadmins and service accounts as such.
    """
    email = f" <{user['email']}>" if user.get("email") else ""
    text = f"{user.get('name')}{email} (user id {user.get('id')})"
    if user.get("admin"):
        text += ", superadmin"
    if user.get("service_account"):
        text += f", service account of user {user.get('parent_id')}"
    return text


def fetch_user(ctx: Context, config: Config) -> dict[str, Any]:
    """Ask the server who ``config.token`` belongs to (``GET /user/me``).

    Args:
        ctx: The command's context (its transport is used).
        config: The Config holding the token to check.

    Returns:
        The user record, as the server's JSON.

    Raises:
        CaveAuthError: If the request fails, for instance
            :class:`~cave_auth.AuthenticationError` if the token is rejected.
    """
    from ..api import whoami
    from ..models import unstructure

    user: dict[str, Any] = unstructure(whoami(config, ctx.http()))
    return user


def save_as_asked(
    ctx: Context, args: argparse.Namespace, config: Config, token: str
) -> ServerSave:
    """Save ``token`` for the config's server as the options say; explain a refusal.

    The server's own file is written, and the shared ``cave-secret.json``
    only as :func:`cave_auth.ownership.save_for_server` allows.

    Args:
        ctx: The command's context (its store is written).
        args: The parsed arguments, with the input options.
        config: The Config saying where and under which key to save.
        token: The token to save.

    Returns:
        What was written, and what was done with the shared file and why.

    Raises:
        CommandError: If another token of this server is saved under the key
            and ``--overwrite`` was not given; nothing is written then.
        TokenFileError: If a file cannot be read or written.
    """
    try:
        return save_for_server(
            config,
            ctx.store,
            token,
            ctx.servers(config),
            overwrite=args.overwrite,
            make_default=args.default,
            write_to_server_file=not args.no_server_file,
        )
    except TokenKeyExistsError as exc:
        raise CommandError(
            f"{exc.path} already holds a different token under key {exc.key!r}; "
            "nothing was saved. Use --overwrite to replace it, or --key to save "
            "under another key"
        ) from None


def saved_json(done: ServerSave) -> dict[str, Any]:
    """Return what a save did, for ``--json``: files written and the shared file."""
    shared = done.shared
    return {
        "token_key": done.saved.config.token_key,
        "written": list(done.saved.written),
        "unchanged": list(done.saved.unchanged),
        "shared": {
            "path": shared.path,
            "written": shared.write,
            "reason": shared.reason,
            "owner": shared.owner,
        },
    }


def report_saved(ctx: Context, done: ServerSave, token: str) -> None:
    """Print which files now hold the (masked) token, and why the shared one was left.

    Warns when ``CAVE_TOKEN`` is set, since it wins over the saved files.

    Args:
        ctx: The command's context.
        done: What :func:`save_as_asked` returned.
        token: The token saved.
    """
    result, shared = done.saved, done.shared
    key = result.config.token_key
    ctx.out(f"Token {mask_token(token)} saved under key {key!r} in:")
    for path in (*result.written, *result.unchanged):
        why = f" ({shared.reason})" if path == shared.path else ""
        ctx.out(f"  {path}{why}")
    if not shared.write:
        options = "--default --overwrite" if shared.guarded else "--default"
        ctx.out(
            f"Left {shared.path} as it was: {shared.reason}. Add {options} to make "
            "this token the one CAVEclient uses for servers without a file of "
            "their own."
        )
    if ctx.environ.get("CAVE_TOKEN"):
        ctx.warn("CAVE_TOKEN is set in the environment and wins over saved files")
