"""The argparse plumbing of ``cave-auth``: a parser that never exits, and a registry.

:class:`Parser` writes help and usage errors to the streams it is given and
raises :class:`ParserExit` instead of calling :func:`sys.exit`, so that
:func:`cave_auth.cli.main` can run in-process. :class:`Commands` wraps the
subparsers: a command module's ``register`` function calls
:meth:`Commands.add` once with its name, summary, description, examples and
handler, then adds its own arguments to the parser it gets back. Every
subcommand's help ends with the same examples and exit-code sections.
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from collections.abc import Sequence
from typing import IO, Any, NoReturn, Protocol

from .context import EXIT_USAGE, PROG, Handler

__all__ = ["EXIT_CODES_HELP", "Command", "Commands", "Parser", "ParserExit"]

EXIT_CODES_HELP = """\
exit codes:
  0    success
  1    error (server unreachable, permission denied, corrupt file, ...)
  2    usage error (unknown command or option, malformed option value)
  3    no token found
  4    the server rejected the token
  130  interrupted"""
"""The exit-code section ending every help text."""


class ParserExit(Exception):
    """Raised where argparse would exit: after help, or on a usage error.

    Args:
        status: The exit code argparse chose (0 after ``--help``, 2 on errors).
    """

    def __init__(self, status: int) -> None:
        self.status = status
        super().__init__(status)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that writes to given streams and never calls sys.exit.

    Args:
        *args: Passed to :class:`argparse.ArgumentParser`.
        stdout: Where help goes.
        stderr: Where usage errors go.
        **kwargs: Passed to :class:`argparse.ArgumentParser`; the help keeps
            its line breaks unless another ``formatter_class`` is given.
    """

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
        """Write ``message`` to stderr and raise :class:`ParserExit`.

        Args:
            status: The exit code.
            message: What to write first, if anything.

        Raises:
            ParserExit: Always.
        """
        if message:
            self._err.write(message)
        raise ParserExit(status)

    def error(self, message: str) -> NoReturn:
        """Report a usage error: the usage line, then one error line; exit 2.

        A mistyped command gets a suggestion (``did you mean 'status'?``).

        Args:
            message: What is wrong with the command line.

        Raises:
            ParserExit: Always, with exit code 2.
        """
        typo = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if typo is not None:
            import difflib

            choices = re.findall(r"'?([\w-]+)'?", typo.group(2))
            close = difflib.get_close_matches(typo.group(1), choices, n=1)
            message = f"unknown command {typo.group(1)!r}"
            message += f"; did you mean {close[0]!r}?" if close else ""
            message += f" (see {PROG} --help)"
        self.print_usage(self._err)
        self.exit(EXIT_USAGE, f"{PROG}: error: {message}\n")

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: Any = None
    ) -> argparse.Namespace:
        """Parse ``args``; an unknown option is reported by its command's parser.

        Args:
            args: The arguments, without the program name.
            namespace: Where to store the values.

        Returns:
            The parsed arguments.

        Raises:
            ParserExit: On ``--help``, ``--version`` or a usage error.
        """
        parsed: argparse.Namespace
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            import difflib

            command = getattr(parsed, "command_parser", None) or self
            message = f"unrecognized arguments: {' '.join(extras)}"
            options = list(command._option_string_actions)
            close = difflib.get_close_matches(extras[0], options, n=1)
            if extras[0].startswith("-") and close:
                message += f"; did you mean {close[0]}?"
            command.error(message)
        return parsed


class VersionAction(argparse.Action):
    """``--version``: print the installed version, read lazily from metadata."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        """Print ``cave-auth VERSION`` on stdout and exit 0.

        Args:
            parser: The parser.
            namespace: Unused.
            values: Unused.
            option_string: Unused.
        """
        from importlib.metadata import version

        parser._print_message(f"{PROG} {version('cave-auth')}\n", sys.stdout)
        parser.exit(0)


class Commands:
    """The subcommands of ``cave-auth``, to which command modules add theirs.

    Args:
        subparsers: The ``add_subparsers`` action of the top-level parser.
        stdout: Where each subcommand's help goes.
        stderr: Where each subcommand's usage errors go.
    """

    def __init__(
        self,
        subparsers: argparse._SubParsersAction[Any],
        *,
        stdout: IO[str],
        stderr: IO[str],
    ) -> None:
        self._subparsers = subparsers
        self._out = stdout
        self._err = stderr

    def add(
        self,
        name: str,
        *,
        summary: str,
        description: str,
        examples: Sequence[str],
        run: Handler,
        parents: Sequence[argparse.ArgumentParser] = (),
        usage: str | None = None,
    ) -> argparse.ArgumentParser:
        """Add one subcommand and return its parser, for its own arguments.

        Args:
            name: The subcommand, as typed (``cave-auth NAME``).
            summary: One line for the command list of ``cave-auth --help``.
            description: A paragraph for ``cave-auth NAME --help``; it is
                wrapped at 79 columns.
            examples: Command lines shown under ``examples:``, one per item.
            run: The function that runs the subcommand.
            parents: Parsers whose options the subcommand shares (see
                :mod:`cave_auth.cli.options`).
            usage: The usage line, when argparse's would mislead.

        Returns:
            The subcommand's parser.
        """
        lines = "\n".join(f"  {example}" for example in examples)
        parser: argparse.ArgumentParser = self._subparsers.add_parser(
            name,
            help=summary,
            description=textwrap.fill(description, 79),
            epilog=f"examples:\n{lines}\n\n{EXIT_CODES_HELP}",
            parents=list(parents),
            usage=usage,
            stdout=self._out,
            stderr=self._err,
        )
        parser.set_defaults(handler=run, command_parser=parser)
        return parser


class Command(Protocol):
    """A command module: it adds its subcommand to the ``cave-auth`` parser.

    Every ``cmd_<name>`` module of :mod:`cave_auth.cli` is one, and
    :data:`cave_auth.cli.COMMANDS` lists them in the order of the help.
    """

    def register(self, commands: Commands) -> None:
        """Add the subcommand, its arguments and its handler.

        Args:
            commands: The registry to add the subcommand to.
        """
        ...
