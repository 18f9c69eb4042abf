"""``cave-auth completion bash|zsh|fish``: a shell completion script.

The script is written from the ``cave-auth`` parser itself (its commands,
each command's options, and the words a positional argument takes), so it
never lags behind the commands. Load it with, for example::

    source <(cave-auth completion bash)     # in ~/.bashrc
    source <(cave-auth completion zsh)      # in ~/.zshrc, after compinit
    cave-auth completion fish > ~/.config/fish/completions/cave-auth.fish
"""

from __future__ import annotations

import argparse
import io
import shlex
from collections.abc import Callable

from .context import EXIT_OK, PROG, Context
from .parser import Commands

__all__ = ["SHELLS", "register", "run", "script"]

SHELLS = ("bash", "zsh", "fish")
"""The shells a script can be written for."""


def register(commands: Commands) -> None:
    """Add ``completion`` to the ``cave-auth`` parser.

    Args:
        commands: The registry of subcommands.
    """
    parser = commands.add(
        "completion",
        summary="print a shell completion script (bash, zsh or fish)",
        description="Print a script that completes cave-auth's commands and "
        "options in the shell. Load it from your shell's start-up file.",
        examples=[
            f"source <({PROG} completion bash)    # in ~/.bashrc",
            f"source <({PROG} completion zsh)     # in ~/.zshrc, after compinit",
            f"{PROG} completion fish > ~/.config/fish/completions/{PROG}.fish",
        ],
        run=run,
    )
    parser.add_argument("shell", choices=SHELLS, help="the shell")


def run(ctx: Context, args: argparse.Namespace) -> int:
    """Run ``cave-auth completion``.

    Args:
        ctx: The command's context.
        args: The parsed arguments.

    Returns:
        0 once the script is printed.
    """
    from . import build_parser

    ctx.stdout.write(script(build_parser(io.StringIO(), io.StringIO()), args.shell))
    return EXIT_OK


class _Command:
    """What the script needs of one command: summary, options, positional words."""

    def __init__(
        self, name: str, summary: str, parser: argparse.ArgumentParser, names: list[str]
    ) -> None:
        self.name = name
        self.summary = summary
        self.options: list[tuple[str, str, bool]] = []
        self.words: list[str] = []
        for action in parser._actions:
            if action.option_strings:
                takes = action.nargs != 0
                for option in action.option_strings:
                    self.options.append((option, action.help or "", takes))
            elif action.choices:
                self.words += [str(choice) for choice in action.choices]
        words = parser.get_default("completion_words")
        self.words += names if words == "commands" else list(words or [])


def _commands(parser: argparse.ArgumentParser) -> list[_Command]:
    [subparsers] = [
        action
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
    ]
    summaries = {
        action.dest: action.help or "" for action in subparsers._choices_actions
    }
    names = list(subparsers.choices)
    return [
        _Command(name, summaries.get(name, ""), sub, names)
        for name, sub in subparsers.choices.items()
    ]


def _bash(commands: list[_Command]) -> str:
    lines = [
        f"# bash completion for {PROG}; written by `{PROG} completion bash`",
        "_cave_auth() {",
        '    local cur="${COMP_WORDS[COMP_CWORD]}"',
        '    if [ "$COMP_CWORD" -eq 1 ]; then',
        "        COMPREPLY=($(compgen -W "
        + shlex.quote(" ".join([c.name for c in commands] + ["--help", "--version"]))
        + ' -- "$cur"))',
        "        return",
        "    fi",
        '    case "${COMP_WORDS[1]}" in',
    ]
    for command in commands:
        words = [*command.words, *(option for option, _, _ in command.options)]
        lines.append(
            f"        {command.name}) COMPREPLY=($(compgen -W "
            f'{shlex.quote(" ".join(words))} -- "$cur"));;'
        )
    lines += ["    esac", "}", f"complete -o default -F _cave_auth {PROG}", ""]
    return "\n".join(lines)


def _zsh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _zsh(commands: list[_Command]) -> str:
    described = " ".join(
        _zsh_quote(f"{c.name}:{c.summary.replace(':', ' -')}") for c in commands
    )
    lines = [
        f"#compdef {PROG}",
        f"# zsh completion for {PROG}; written by `{PROG} completion zsh`",
        "_cave_auth() {",
        f"    local -a commands=({described})",
        "    if (( CURRENT == 2 )); then",
        "        _describe command commands",
        "        return",
        "    fi",
        "    case $words[2] in",
    ]
    for command in commands:
        words = [*command.words, *(option for option, _, _ in command.options)]
        quoted = " ".join(_zsh_quote(word) for word in words)
        lines.append(f"        ({command.name}) compadd -- {quoted}; _files;;")
    lines += [
        "    esac",
        "}",
        f"compdef _cave_auth {PROG}",
        "",
    ]
    return "\n".join(lines)


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish(commands: list[_Command]) -> str:
    lines = [
        f"# fish completion for {PROG}; written by `{PROG} completion fish`",
        f"complete -c {PROG} -f",
    ]
    for command in commands:
        lines.append(
            f"complete -c {PROG} -n __fish_use_subcommand -a {command.name} "
            f"-d {_fish_quote(command.summary)}"
        )
    for command in commands:
        seen = f"-n '__fish_seen_subcommand_from {command.name}'"
        if command.words:
            words = _fish_quote(" ".join(command.words))
            lines.append(f"complete -c {PROG} {seen} -a {words}")
        for option, help_, takes in command.options:
            flag = f"-l {option[2:]}" if option.startswith("--") else f"-s {option[1:]}"
            value = " -r -F" if takes else ""
            lines.append(
                f"complete -c {PROG} {seen} {flag}{value} -d {_fish_quote(help_)}"
            )
    return "\n".join([*lines, ""])


_WRITERS: dict[str, Callable[[list[_Command]], str]] = {
    "bash": _bash,
    "zsh": _zsh,
    "fish": _fish,
}


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    """Write the completion script of ``parser`` for ``shell``.

    Args:
        parser: The ``cave-auth`` parser (see :func:`cave_auth.cli.build_parser`).
        shell: ``"bash"``, ``"zsh"`` or ``"fish"``.

    Returns:
        The script.
    """
    return _WRITERS[shell](_commands(parser))
