"""The ``cave-auth`` command: set up, inspect and use CAVE auth tokens.

Design: the command is an edge, like :class:`~cave_auth.AuthClient`. Each
subcommand is one small function of a ``_Context`` (the streams, the
environment, the token store, the transport, the browser opener and the
password prompt, all injectable through :func:`main`) and the parsed
arguments. It builds a :class:`~cave_auth.Config` with
:meth:`Config.from_env <cave_auth.Config.from_env>` plus the command-line
options, calls the package's pure functions (``resolve_token``,
``save_token``, ``whoami``, ``get_tokens``...) and prints the result, as text
for people or as JSON (``--json``) for programs. Errors are
:mod:`cave_auth.errors` exceptions, turned by :func:`main` into one line on
stderr (``cave-auth: error: ...``) and an exit code; no traceback, and a token
is printed only by ``cave-auth token`` and ``cave-auth tokens --show``.
Tests call :func:`main` in-process with fake streams, a
:class:`~cave_auth.MemoryStore` or a temporary secrets directory, and a
:class:`~cave_auth.testing.FakeTransport` or
:class:`~cave_auth.testing.FakeAuthServer`.

Commands (modelled on ``gh auth`` and ``hf auth``)::

    cave-auth setup [SERVER]   get a token by hand, verify it, save it
    cave-auth status           which token is used, from where; file checks
    cave-auth whoami           the user the token belongs to
    cave-auth tokens           the user's API keys (masked unless --show)
    cave-auth token            print the token, for scripts
    cave-auth save             save a token read from stdin or a hidden prompt
    cave-auth demo             the whole flow against an embedded fake server

Exit codes:
    0: success.
    1: error (server unreachable, permission denied, corrupt file, ...).
    2: usage error (unknown command or option, malformed option value).
    3: no token found (:class:`~cave_auth.MissingTokenError`).
    4: the server rejected the token (:class:`~cave_auth.AuthenticationError`).
    130: interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
import textwrap
from collections.abc import Callable, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any, NoReturn, TextIO

import attrs

from .config import DEFAULT_SERVER_ADDRESS, Config, token_problem
from .errors import (
    AuthenticationError,
    CaveAuthError,
    InsecureTransportError,
    InvalidInputError,
    MissingTokenError,
    TokenFileError,
    TokenKeyExistsError,
)
from .store import FileStore, TokenStore
from .tokens import (
    SaveResult,
    mask_token,
    missing_token_error,
    resolve_token,
    save_token,
    setup_instructions,
    token_search_paths,
    with_token,
)
from .transport import Transport

if TYPE_CHECKING:
    from .transport import Urllib3Transport

__all__ = [
    "EXIT_AUTH_REJECTED",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_NO_TOKEN",
    "EXIT_OK",
    "EXIT_USAGE",
    "build_parser",
    "main",
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

Opener = Callable[[str], object]
Prompt = Callable[[str], str]

_EXIT_CODES_HELP = """\
exit codes:
  0    success
  1    error (server unreachable, permission denied, corrupt file, ...)
  2    usage error (unknown command or option, malformed option value)
  3    no token found
  4    the server rejected the token
  130  interrupted"""

_ENVIRONMENT_HELP = """\
environment:
  CAVE_TOKEN           a token to use instead of the secrets files
                       (ignored when --key or --token-file is given)
  CAVE_SERVER_ADDRESS  the default for --server
  CAVE_TOKEN_KEY       the default for --key
  CLOUD_VOLUME_DIR     secrets live in $CLOUD_VOLUME_DIR/secrets (CloudVolume's
                       rule); the default for --secrets-dir"""


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


class _ParserExit(Exception):
    def __init__(self, status: int) -> None:
        self.status = status
        super().__init__(status)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that writes to given streams and never calls sys.exit."""

    def __init__(
        self, *args: Any, stdout: IO[str], stderr: IO[str], **kwargs: Any
    ) -> None:
        self._out = stdout
        self._err = stderr
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def _print_message(self, message: str, file: Any = None) -> None:
        if message:
            (self._out if file is sys.stdout else self._err).write(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            self._err.write(message)
        raise _ParserExit(status)

    def error(self, message: str) -> NoReturn:
        self.print_usage(self._err)
        self.exit(EXIT_USAGE, f"{PROG}: error: {message}\n")


class _Context:
    """What a command may use: streams, environment and the I/O objects."""

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
        self._secrets: set[str] = set()

    def http(self) -> Transport:
        """Return the transport, creating a Urllib3Transport on first use."""
        if self._transport is None:
            from .transport import Urllib3Transport

            self._owned = Urllib3Transport()
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
        """
        if token and len(token) >= 8:
            self._secrets.add(token)

    def out(self, text: str = "") -> None:
        """Print a line on stdout."""
        print(text, file=self.stdout)

    def json(self, value: object) -> None:
        """Print a value as indented JSON on stdout."""
        print(json.dumps(value, indent=2), file=self.stdout)

    def warn(self, text: str) -> None:
        """Print a warning line on stderr."""
        print(f"{PROG}: warning: {self.scrub(text)}", file=self.stderr)

    def error(self, text: str) -> None:
        """Print an error line on stderr."""
        one_line = " ".join(self.scrub(text).split())
        print(f"{PROG}: error: {one_line}", file=self.stderr)

    def scrub(self, text: str) -> str:
        """Return ``text`` with every remembered token masked."""
        for secret in self._secrets:
            text = text.replace(secret, mask_token(secret))
        return text


# ---------------------------------------------------------------- helpers


def _config(ctx: _Context, args: argparse.Namespace) -> Config:
    """Build the Config of a command: environment, then command-line options."""
    overrides: dict[str, object] = {}
    server = getattr(args, "server_positional", None) or args.server
    if server:
        overrides["server_address"] = server
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
        config = Config.from_env(environ, **overrides)
    except InvalidInputError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    ctx.remember(config.token)
    return config


def _config_with_token(ctx: _Context, args: argparse.Namespace) -> Config:
    """Build the Config and fill in its token, or fail with MissingTokenError."""
    config = with_token(_config(ctx, args), ctx.store)
    if config.token is None:
        raise missing_token_error(config)
    ctx.remember(config.token)
    return config


def _read_token(ctx: _Context, args: argparse.Namespace) -> str:
    """Read a token from stdin (``--token-stdin``) or a hidden prompt, and check it."""
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
    if not token:
        raise CommandError(f"no token was given on {where}")
    problem = token_problem(token)
    if problem is not None:
        raise CommandError(f"the token read from {where} is not valid: {problem}")
    return token


def _describe_user(user: Mapping[str, Any]) -> str:
    """Return ``Name <email> (user id N)`` for a user record."""
    email = f" <{user['email']}>" if user.get("email") else ""
    text = f"{user.get('name')}{email} (user id {user.get('id')})"
    if user.get("admin"):
        text += ", superadmin"
    if user.get("service_account"):
        text += f", service account of user {user.get('parent_id')}"
    return text


def _save(
    ctx: _Context, args: argparse.Namespace, config: Config, token: str
) -> SaveResult:
    """Save ``token`` as the command's flags say; explain a refusal clearly."""
    try:
        return save_token(
            config,
            ctx.store,
            token,
            token_key=config.token_key,
            overwrite=args.overwrite,
            write_to_server_file=not args.no_server_file,
            ignore_readonly=False,
            local_server=False,
        )
    except TokenKeyExistsError as exc:
        raise CommandError(
            f"{exc.path} already holds a different token under key {exc.key!r}; "
            "nothing was saved. Use --overwrite to replace it, or --key to save "
            "under another key"
        ) from None


def _report_saved(ctx: _Context, result: SaveResult, token: str) -> None:
    key = result.config.token_key
    ctx.out(f"Token {mask_token(token)} saved under key {key!r} in:")
    for path in result.written:
        ctx.out(f"  {path}")
    for path in result.unchanged:
        ctx.out(f"  {path} (already there)")
    if ctx.environ.get("CAVE_TOKEN"):
        ctx.warn("CAVE_TOKEN is set in the environment and wins over saved files")


def _file_mode(store: TokenStore, path: str) -> int | None:
    """Return the permission bits of a secrets file on disk, or None."""
    if not isinstance(store, FileStore):
        return None
    try:
        return stat.S_IMODE(os.stat(os.path.expanduser(path)).st_mode)
    except OSError:
        return None


def _inspect_file(store: TokenStore, path: str, key: str) -> dict[str, Any]:
    """Describe one candidate secrets file, without reading its tokens out."""
    info: dict[str, Any] = {
        "path": path,
        "exists": False,
        "has_key": False,
        "keys": [],
        "mode": None,
        "insecure": False,
        "error": None,
    }
    try:
        secrets = store.read_secrets(path)
    except TokenFileError as exc:
        info.update(exists=True, error=exc.problem)
        secrets = None
    if secrets is not None:
        info.update(exists=True, has_key=key in secrets, keys=sorted(secrets))
    mode = _file_mode(store, path)
    if mode is not None:
        info.update(exists=True, mode=f"{mode:04o}", insecure=bool(mode & 0o077))
    return info


# ---------------------------------------------------------------- commands


def _cmd_status(ctx: _Context, args: argparse.Namespace) -> int:
    config = _config(ctx, args)
    files = [
        _inspect_file(ctx.store, path, config.token_key)
        for path in token_search_paths(config)
    ]
    warnings = [
        f"{f['path']} is readable by group or others (mode {f['mode']}); "
        f"fix it with: chmod 600 {f['path']}"
        for f in files
        if f["insecure"]
    ]
    status = EXIT_OK
    problem = None
    found = None
    try:
        found = resolve_token(config, ctx.store)
    except TokenFileError as exc:
        problem, status = str(exc), EXIT_ERROR
    if found is None and problem is None:
        problem = str(missing_token_error(config))
        status = EXIT_NO_TOKEN
    token = None
    if found is not None:
        ctx.remember(found.token)
        token = {
            "masked": mask_token(found.token),
            "source": found.source,
            "path": found.path,
            "key": found.key,
        }
    user = None
    if args.check and found is not None:
        try:
            user = _whoami(ctx, attrs.evolve(config, token=found.token))
        except AuthenticationError as exc:
            problem, status = str(exc), EXIT_AUTH_REJECTED
        except CaveAuthError as exc:
            problem, status = str(exc), EXIT_ERROR

    if args.json:
        ctx.json(
            {
                "server_address": config.server_address,
                "token_key": config.token_key,
                "secrets_dir": config.secrets_dir,
                "token": token,
                "files": files,
                "user": user,
                "warnings": warnings,
                "error": problem,
            }
        )
    else:
        ctx.out(f"Server:     {config.server_address}")
        ctx.out(f"Token key:  {config.token_key}")
        if token is not None:
            ctx.out(f"Token:      {token['masked']} (from {token['source']})")
        else:
            ctx.out("Token:      none found")
        if user is not None:
            ctx.out(f"User:       {_describe_user(user)}")
        ctx.out("Secrets files, in lookup order (the first holding the key wins):")
        for f in files:
            used = found is not None and f["path"] == found.path
            ctx.out(f"  {_file_line(f, config.token_key)}{'  <- used' if used else ''}")
        if found is None and status == EXIT_NO_TOKEN:
            url = setup_instructions(config, make_new=False).url
            ctx.out(f"Get a token at {url}, then run: {PROG} setup")
    for warning in warnings:
        ctx.warn(warning)
    if problem is not None:
        ctx.error(problem)
    return status


def _file_line(info: Mapping[str, Any], key: str) -> str:
    if info["error"] is not None:
        return f"[!] {info['path']}: {info['error']}"
    if not info["exists"]:
        return f"[ ] {info['path']} (missing)"
    mark = "[x]" if info["has_key"] else "[ ]"
    has = f"has key {key!r}" if info["has_key"] else f"no key {key!r}"
    keys = ", ".join(info["keys"]) or "none"
    mode = f"; mode {info['mode']}" if info["mode"] is not None else ""
    return f"{mark} {info['path']} ({has}; keys: {keys}{mode})"


def _whoami(ctx: _Context, config: Config) -> dict[str, Any]:
    from .api import whoami
    from .models import unstructure

    user: dict[str, Any] = unstructure(whoami(config, ctx.http()))
    return user


def _cmd_whoami(ctx: _Context, args: argparse.Namespace) -> int:
    config = _config_with_token(ctx, args)
    user = _whoami(ctx, config)
    if args.json:
        ctx.json(user)
    else:
        ctx.out(f"Logged in to {config.server_address} as {_describe_user(user)}")
        ctx.out(f"Token {mask_token(config.token or '')} from {config.token_source}")
    return EXIT_OK


def _cmd_tokens(ctx: _Context, args: argparse.Namespace) -> int:
    from .api import get_tokens
    from .models import unstructure

    config = _config_with_token(ctx, args)
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


def _cmd_token(ctx: _Context, args: argparse.Namespace) -> int:
    config = _config(ctx, args)
    found = resolve_token(config, ctx.store)
    if found is None:
        raise missing_token_error(config)
    if args.json:
        ctx.json({"token": found.token, "source": found.source})
    else:
        ctx.out(found.token)
    return EXIT_OK


def _cmd_save(ctx: _Context, args: argparse.Namespace) -> int:
    config = _config(ctx, args)
    token = _read_token(ctx, args)
    if args.verify:
        user = _whoami(ctx, attrs.evolve(config, token=token))
        ctx.out(f"The server accepted the token: {_describe_user(user)}")
    result = _save(ctx, args, config, token)
    _report_saved(ctx, result, token)
    return EXIT_OK


def _cmd_setup(ctx: _Context, args: argparse.Namespace) -> int:
    if args.server_positional and args.server and args.server_positional != args.server:
        raise CommandError("give the server either as SERVER or --server", EXIT_USAGE)
    config = _config(ctx, args)
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
    token = _read_token(ctx, args)
    if args.no_verify:
        ctx.out("Not verifying the token with the server (--no-verify).")
    else:
        try:
            user = _whoami(ctx, attrs.evolve(config, token=token))
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
        ctx.out(f"Logged in to {config.server_address} as {_describe_user(user)}.")
    result = _save(ctx, args, config, token)
    _report_saved(ctx, result, token)
    return EXIT_OK


def _cmd_demo(ctx: _Context, args: argparse.Namespace) -> int:
    import tempfile

    from .api import get_group_users, get_tokens, get_user_information, whoami
    from .errors import PermissionDeniedError
    from .testing import FakeAuthServer
    from .transport import Urllib3Transport

    steps = 7
    step = 0

    def title(text: str) -> None:
        nonlocal step
        step += 1
        ctx.out()
        ctx.out(f"[{step}/{steps}] {text}")

    with (
        FakeAuthServer() as server,
        tempfile.TemporaryDirectory(prefix="cave-auth-demo-") as secrets_dir,
        Urllib3Transport(retries=1) as http,
    ):
        store = FileStore()
        config = Config(server_address=server.url, secrets_dir=secrets_dir)
        ctx.out(f"{PROG} demo: a fake CAVE auth server runs at {server.url};")
        ctx.out(f"secrets go to the temporary directory {secrets_dir}.")
        ctx.out("Every call below is real HTTP through Urllib3Transport.")

        title("Save Norm User's token (cave_auth.save_token)")
        saved = save_token(config, store, server.user_token)
        for path in saved.written:
            ctx.out(f"  wrote {os.path.basename(path)} (mode 0600)")

        title("Resolve it again from the files (cave_auth.resolve_token)")
        found = resolve_token(config, store)
        if found is None:  # pragma: no cover - the save above guarantees it
            raise missing_token_error(config)
        ctx.out(f"  token {mask_token(found.token)}")
        ctx.out(f"  from  {os.path.basename(found.path or '')}, key {found.key!r}")
        user_config = attrs.evolve(config, token=found.token)

        title("Ask the server who the token belongs to (cave_auth.whoami)")
        me = whoami(user_config, http)
        ctx.out(f"  {me.name} <{me.email}>, user id {me.id}")

        title("List Norm's API keys, masked (cave_auth.get_tokens)")
        for info in get_tokens(user_config, http):
            ctx.out(f"  key #{info.id}: {mask_token(info.token)}  {info.description}")

        title("List the members of group 2 (cave_auth.get_group_users)")
        try:
            get_group_users(user_config, http, 2)
        except PermissionDeniedError as exc:
            ctx.out(f"  as Norm (a plain user): refused, {exc.server_message!r}")
        gail = attrs.evolve(config, token=server.group_admin_token)
        for member in get_group_users(gail, http, 2):
            role = "group admin" if member.admin else "member"
            ctx.out(f"  as Gail (admin of group 2): {member.name} ({role})")

        title("Look users 1 and 2 up as the admin (cave_auth.get_user_information)")
        admin = attrs.evolve(config, token=server.admin_token)
        for user in get_user_information(admin, http, [1, 2]):
            ctx.out(f"  user {user.id}: {user.name} <{user.email}>")

        title("Try a token the server does not know")
        try:
            whoami(attrs.evolve(config, token=server.invalid_token), http)
        except AuthenticationError as exc:
            code = EXIT_AUTH_REJECTED
            ctx.out(f"  rejected: AuthenticationError (the CLI exits with {code})")
            ctx.out(f"  {exc}")
        else:  # pragma: no cover - the fake server rejects it
            raise CommandError("the fake server accepted an unknown token")
    ctx.out()
    ctx.out("Done: the server is stopped and the temporary secrets are deleted.")
    return EXIT_OK


# ---------------------------------------------------------------- parser


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("common options")
    group.add_argument(
        "--server",
        metavar="URL",
        help="auth server address (default: $CAVE_SERVER_ADDRESS, else "
        f"{DEFAULT_SERVER_ADDRESS})",
    )
    group.add_argument(
        "--key",
        metavar="KEY",
        help="key of the token in the secrets files (default: $CAVE_TOKEN_KEY, "
        "else 'token')",
    )
    group.add_argument(
        "--secrets-dir",
        metavar="DIR",
        help="directory of the secrets files (default: $CLOUD_VOLUME_DIR/secrets, "
        "else ~/.cloudvolume/secrets)",
    )
    group.add_argument(
        "--token-file",
        metavar="FILE",
        help="a secrets file to read (and save to) before the standard ones",
    )
    return common


def _json_option() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--json", action="store_true", help="print JSON for programs instead of text"
    )
    return parent


def _input_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--token-stdin",
        action="store_true",
        help="read the token from standard input instead of a hidden prompt",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a different token already saved under the key",
    )
    parser.add_argument(
        "--no-server-file",
        action="store_true",
        help="do not write the server's own file ({host}-cave-secret.json)",
    )


def build_parser(
    stdout: IO[str] | None = None, stderr: IO[str] | None = None
) -> argparse.ArgumentParser:
    """Build the ``cave-auth`` argument parser.

    Args:
        stdout: Where help goes; default ``sys.stdout``.
        stderr: Where usage errors go; default ``sys.stderr``.

    Returns:
        The parser. Its ``parse_args`` raises an internal exception instead
        of calling :func:`sys.exit`; use :func:`main` to run the command.
    """
    out = sys.stdout if stdout is None else stdout
    err = sys.stderr if stderr is None else stderr
    common = _common_options()
    as_json = _json_option()
    parser = _Parser(
        prog=PROG,
        description="Find, check and save the auth tokens of the CAVE connectomics\n"
        "services, in the files CAVEclient and CloudVolume read.",
        epilog=f"""\
examples:
  {PROG} setup                      get, verify and save a token for the global server
  {PROG} setup minnie.microns-daf.com
  {PROG} status --check             which token is used, from where, and does it work
  {PROG} whoami --json
  export CAVE_TOKEN=$({PROG} token)
  {PROG} demo                       see the whole flow against a local fake server

{_ENVIRONMENT_HELP}

{_EXIT_CODES_HELP}""",
        stdout=out,
        stderr=err,
    )
    commands = parser.add_subparsers(
        dest="command", title="commands", metavar="COMMAND"
    )

    def add(name: str, summary: str, description: str, examples: str, **kw: Any) -> Any:
        return commands.add_parser(
            name,
            help=summary,
            description=textwrap.fill(description, 79),
            epilog=f"examples:\n{examples}\n\n{_EXIT_CODES_HELP}",
            stdout=out,
            stderr=err,
            **kw,
        )

    setup = add(
        "setup",
        "get a token by hand, verify it with the server, and save it",
        "Show the page where you get a token, read it from a hidden prompt (or "
        "stdin), check it with the server (GET /user/me), then save it in the "
        "server's own file and in cave-secret.json. Nothing is saved if the "
        "server rejects it.",
        f"  {PROG} setup\n"
        f"  {PROG} setup minnie.microns-daf.com --open\n"
        f"  {PROG} setup --existing --key fanc_production\n"
        f'  echo "$TOKEN" | {PROG} setup --token-stdin --overwrite',
        parents=[common],
    )
    setup.add_argument(
        "server_positional",
        nargs="?",
        metavar="SERVER",
        help="auth server address (same as --server)",
    )
    _input_options(setup)
    setup.add_argument(
        "--open", action="store_true", help="open the token page in a web browser"
    )
    setup.add_argument(
        "--existing",
        action="store_true",
        help="show the page listing your existing tokens instead of creating one",
    )
    setup.add_argument(
        "--no-verify",
        action="store_true",
        help="save the token without checking it with the server",
    )
    setup.set_defaults(handler=_cmd_setup)

    status = add(
        "status",
        "show which token would be used and where it comes from",
        "Show the server, the token that would be used (masked) and where it "
        "comes from, and every secrets file looked at, in order: whether it "
        "exists and holds the key. Warns about secrets files that group or "
        "others can read.",
        f"  {PROG} status\n  {PROG} status --check\n  {PROG} status --key fanc --json",
        parents=[common, as_json],
    )
    status.add_argument(
        "--check", action="store_true", help="also check the token with the server"
    )
    status.set_defaults(handler=_cmd_status)

    whoami = add(
        "whoami",
        "show the user the token belongs to",
        "Ask the server (GET /user/me) who the token belongs to. With --json, "
        "print the user record as the server sent it.",
        f"  {PROG} whoami\n  {PROG} whoami --server minnie.microns-daf.com --json",
        parents=[common, as_json],
    )
    whoami.set_defaults(handler=_cmd_whoami)

    tokens = add(
        "tokens",
        "list your API keys (masked unless --show)",
        "List the API keys of the token's user (GET /user/token), newest first. "
        "Tokens are masked unless --show is given. With --json, print the "
        "server's records (token masked unless --show) plus an in_use flag.",
        f"  {PROG} tokens\n  {PROG} tokens --json\n  {PROG} tokens --show",
        parents=[common, as_json],
    )
    tokens.add_argument(
        "--show", action="store_true", help="print the tokens in full (careful)"
    )
    tokens.set_defaults(handler=_cmd_tokens)

    token = add(
        "token",
        "print the token that would be used, for scripts",
        "Print the token that would be used, unmasked, and nothing else "
        "(like `gh auth token`). With --json, also where it comes from.",
        f"  {PROG} token\n  export CAVE_TOKEN=$({PROG} token --key fanc_production)",
        parents=[common, as_json],
    )
    token.set_defaults(handler=_cmd_token)

    save = add(
        "save",
        "save a token read from stdin or a hidden prompt",
        "Save a token in the server's own file and in cave-secret.json (or "
        "--token-file), where CAVEclient and CloudVolume find it. The token is "
        "not checked with the server unless --verify is given.",
        f"  {PROG} save\n"
        f'  echo "$TOKEN" | {PROG} save --token-stdin --key fanc_production\n'
        f"  {PROG} save --verify --overwrite",
        parents=[common],
    )
    _input_options(save)
    save.add_argument(
        "--verify", action="store_true", help="check the token with the server first"
    )
    save.set_defaults(handler=_cmd_save)

    demo = add(
        "demo",
        "walk through the whole flow against an embedded fake server",
        "Start a fake CAVE auth server on 127.0.0.1 and a temporary secrets "
        "directory (your own files are never touched), then save a token, "
        "resolve it, ask who it belongs to, list keys and group members, look "
        "users up, and show a rejected token, with real HTTP. Runs offline.",
        f"  {PROG} demo",
    )
    demo.set_defaults(handler=_cmd_demo)
    return parser


# ---------------------------------------------------------------- main


def _default_prompt(prompt: str) -> str:
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
    ctx = _Context(
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
    except _ParserExit as exc:
        return exc.status
    if args.command is None:
        parser.print_help(ctx.stderr)
        return EXIT_USAGE
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
    except InsecureTransportError:
        ctx.error(
            "refusing to send a token over plain http to a server that is not "
            "this machine; use an https:// address with --server"
        )
        return EXIT_USAGE
    except InvalidInputError as exc:
        ctx.error(str(exc))
        return EXIT_USAGE
    except CaveAuthError as exc:
        ctx.error(str(exc))
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
