"""Tests for ``cave_auth.cli`` as a whole: help, usage errors, the command list.

Also the promises every command keeps: ``python -m cave_auth`` runs it, and no
command but ``token`` and ``tokens --show`` prints a token.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import (
    API,
    OTHER,
    SECRETS,
    TOKEN,
    Result,
    assert_one_error_line,
    run,
    saved_store,
    server_transport,
)

from cave_auth import MemoryStore, cli
from cave_auth.cli import EXIT_ERROR, EXIT_OK, EXIT_USAGE, build_parser, main
from cave_auth.testing import FakeTransport, json_response


def test_help_lists_commands_and_exit_codes() -> None:
    """``--help`` exits 0 and documents every command, examples and exit codes."""
    result = run("--help", common=False)
    assert result.code == EXIT_OK
    for command in ("setup", "status", "whoami", "tokens", "token", "save", "demo"):
        assert command in result.out
    assert "exit codes:" in result.out
    assert "examples:" in result.out
    assert "CAVE_TOKEN" in result.out


@pytest.mark.parametrize(
    "command", ["setup", "status", "whoami", "tokens", "token", "save", "demo"]
)
def test_every_command_has_help(command: str) -> None:
    """Each subcommand's ``--help`` exits 0 with a description and examples."""
    result = run(command, "--help", common=False)
    assert result.code == EXIT_OK
    assert f"usage: cave-auth {command}" in result.out
    assert "examples:" in result.out
    assert "exit codes:" in result.out
    if command != "demo":
        assert "--server" in result.out
        assert "--secrets-dir" in result.out


def test_no_command_is_a_usage_error() -> None:
    """Running without a command shows help on stderr and exits 2."""
    result = run(common=False)
    assert result.code == EXIT_USAGE
    assert "usage: cave-auth" in result.err


def test_unknown_command_is_a_usage_error() -> None:
    """An unknown command exits 2 with a one-line error."""
    result = run("nonsense", common=False)
    assert result.code == EXIT_USAGE
    assert_one_error_line(result)


def test_unknown_option_is_a_usage_error() -> None:
    """An unknown option exits 2 with a one-line error."""
    result = run("status", "--frobnicate")
    assert result.code == EXIT_USAGE
    assert_one_error_line(result)


def test_malformed_server_is_a_usage_error() -> None:
    """A --server that is not http(s) exits 2 and names the problem."""
    result = run("status", "--server", "ftp://x", common=False)
    assert result.code == EXIT_USAGE
    assert_one_error_line(result)
    assert "http or https" in result.err


def test_plain_http_to_remote_server_is_refused() -> None:
    """The real transport refuses to send a token over plain http to a remote host."""
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["whoami", "--server", "http://cave.example.org", "--secrets-dir", SECRETS],
        stdout=out,
        stderr=err,
        environ={"CAVE_TOKEN": TOKEN},
        store=MemoryStore(),
    )
    assert code == EXIT_USAGE
    assert "https://" in err.getvalue()
    assert TOKEN not in out.getvalue() + err.getvalue()


def test_python_dash_m_runs_the_command() -> None:
    """``python -m cave_auth --help`` runs the same command."""
    completed = subprocess.run(
        [sys.executable, "-m", "cave_auth", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == EXIT_OK
    assert "usage: cave-auth" in completed.stdout


def test_help_lists_commands_in_order() -> None:
    """``--help`` lists the commands in the order of ``cli.COMMANDS``."""
    result = run("--help", common=False)
    commands = result.out.split("commands:", 1)[1].split("examples:", 1)[0]
    listed = [
        line.split()[0]
        for line in commands.splitlines()
        if line[:4] == "    " and line[4:5].isalpha()
    ]
    assert listed == [
        "login",
        "logout",
        "list",
        "switch",
        "rotate",
        "setup",
        "save",
        "status",
        "whoami",
        "tokens",
        "token",
        "demo",
        "completion",
        "help",
    ]


def test_commands_hold_every_command_module_once() -> None:
    """Each ``cli/cmd_<name>.py`` is in COMMANDS once and adds the command ``name``."""
    package = Path(cli.__file__).parent
    files = sorted(path.stem for path in package.glob("cmd_*.py"))
    modules = [module.__name__.rpartition(".")[2] for module in cli.COMMANDS]
    assert sorted(modules) == files
    parser = build_parser(io.StringIO(), io.StringIO())
    (subparsers,) = (
        action
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    commands = [name.removeprefix("cmd_") for name in modules]
    # cmd_setup also adds ``save``, setup --no-verify without the instructions.
    commands.insert(commands.index("setup") + 1, "save")
    assert list(subparsers.choices) == commands


@pytest.mark.parametrize("module", cli.COMMANDS, ids=lambda module: module.__name__)
def test_each_command_module_documents_its_command(module: cli.Command) -> None:
    """A command module's docstring names its command; the reference page shows it."""
    name = module.__name__.rpartition(".")[2]  # type: ignore[attr-defined]
    assert (module.__doc__ or "").startswith(f"``cave-auth {name.removeprefix('cmd_')}")
    reference = Path(__file__).parents[2] / "docs" / "reference" / "cli.md"
    assert f"::: {module.__name__}" in reference.read_text()  # type: ignore[attr-defined]


def test_help_does_not_load_the_fake_server() -> None:
    """``cave-auth --help`` and ``demo --help`` never import cave_auth.testing."""
    code = (
        "import io, sys\n"
        "from cave_auth.cli import main\n"
        "main(['--help'], stdout=io.StringIO())\n"
        "main(['demo', '--help'], stdout=io.StringIO())\n"
        "print(sorted(m for m in sys.modules\n"
        "             if m.startswith(('cave_auth.testing', 'cave_auth._fake'))))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert completed.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "argv",
    [
        ("status",),
        ("status", "--json"),
        ("status", "--check"),
        ("whoami",),
        ("whoami", "--json"),
        ("tokens",),
        ("tokens", "--json"),
    ],
)
def test_token_never_printed_by_read_commands(argv: tuple[str, ...]) -> None:
    """Read commands other than ``token`` and ``tokens --show`` never print a token."""
    result = run(*argv, store=saved_store(), transport=server_transport())
    assert result.code == EXIT_OK
    assert TOKEN not in result.both
    assert OTHER not in result.both


def test_error_lines_never_hold_a_token() -> None:
    """Even a server message echoing the token is masked in the error line."""
    echo = json_response({"message": f"bad token {TOKEN}"}, status=500)
    transport = FakeTransport({("GET", f"{API}/user/me"): echo})
    result = run("whoami", store=saved_store(), transport=transport)
    assert result.code == EXIT_ERROR
    assert TOKEN not in result.both


def test_timeout_bounds_a_call_to_a_server_that_never_answers() -> None:
    """``--timeout 0.5`` ends a silent server's call in about half a second."""
    import socket
    import time

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    try:
        code = main(
            ["whoami", "--server", f"http://127.0.0.1:{port}", "--timeout", "0.5"],
            stdout=out,
            stderr=err,
            environ={"CAVE_TOKEN": TOKEN},
            store=MemoryStore(),
        )
    finally:
        listener.close()
    result = Result(code, out.getvalue(), err.getvalue())
    assert time.monotonic() - started < 0.5 + 5.0  # the default timeout is 30 s
    assert result.code == 1
    assert "did not answer in time (timeout=0.5 s)" in result.err
    assert TOKEN not in result.err


@pytest.mark.parametrize("value", ["0", "-1", "soon", "inf"])
def test_timeout_must_be_a_positive_number(value: str) -> None:
    """A ``--timeout`` that is not a positive number is a usage error."""
    result = run("whoami", "--timeout", value)
    assert result.code == 2
    assert "--timeout" in result.err
