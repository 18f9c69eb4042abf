"""The options several ``cave-auth`` commands share.

* :func:`common_options`: where the token is looked for (``--server``,
  ``--key``, ``--secrets-dir``, ``--token-file``); every command but ``demo``.
* :func:`json_option`: ``--json``, for the commands that print a result.
* :func:`add_input_options`: how a token to save is read and written
  (``--token-stdin``, ``--overwrite``, ``--default``, ``--no-server-file``);
  ``setup`` (and its alias ``save``).
* :func:`add_server_argument`: the optional positional ``SERVER``, the same
  as ``--server``, on every command that talks to a server.

The first two are argparse parent parsers, given to
:meth:`Commands.add <cave_auth.cli.parser.Commands.add>` as ``parents``;
the others add their arguments to a command's parser directly. Each call
returns new parsers, so no parser is shared between command lines.
"""

from __future__ import annotations

import argparse

from ..config import DEFAULT_SERVER_ADDRESS

__all__ = [
    "add_default_option",
    "add_input_options",
    "add_server_argument",
    "common_options",
    "json_option",
]


def common_options(timeout_help: str | None = None) -> argparse.ArgumentParser:
    """Return a parent parser with the options that locate the token.

    Args:
        timeout_help: The help of ``--timeout`` for a command where it means
            something else than the deadline of each server call (``login``:
            the wait for the browser); ``None`` for that deadline.

    Returns:
        A parser (without ``--help``) holding ``--server``, ``--key``,
        ``--secrets-dir``, ``--token-file`` and ``--timeout`` under "common
        options".
    """
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("common options")
    group.add_argument(
        "--server",
        metavar="URL",
        help="auth server address (default: $CAVE_SERVER_ADDRESS, else the server "
        f"of `cave-auth switch`, else {DEFAULT_SERVER_ADDRESS})",
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
    group.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_seconds,
        help=timeout_help
        or "give up on the server after this long, retries included (default: 30)",
    )
    return common


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds: {text!r}")
    return value


def json_option() -> argparse.ArgumentParser:
    """Return a parent parser with ``--json``.

    Returns:
        A parser (without ``--help``) holding ``--json``.
    """
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--json", action="store_true", help="print JSON for programs instead of text"
    )
    return parent


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """Add the options of a command that reads a token and saves it.

    Args:
        parser: The command's parser.
    """
    parser.add_argument(
        "--token-stdin",
        action="store_true",
        help="read the token from standard input instead of a hidden prompt",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a different token already saved for this server under the key",
    )
    add_default_option(parser)
    parser.add_argument(
        "--no-server-file",
        action="store_true",
        help="do not write the server's own file ({host}-cave-secret.json); "
        "write cave-secret.json only",
    )


def add_default_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--default``: also make the saved token the shared file's.

    Args:
        parser: The command's parser.
    """
    parser.add_argument(
        "--default",
        action="store_true",
        help="also write cave-secret.json, the token CAVEclient uses for servers "
        "without a file of their own, even when it holds another server's token",
    )


def add_server_argument(parser: argparse.ArgumentParser) -> None:
    """Add the optional positional ``SERVER``, the same as ``--server``.

    Args:
        parser: The command's parser.
    """
    parser.add_argument(
        "server_positional",
        nargs="?",
        metavar="SERVER",
        help="auth server address (same as --server)",
    )
