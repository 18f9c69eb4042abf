"""Tests for ``cave-auth completion``, ``cave-auth help`` and ``demo --json``."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cli_support import run

from cave_auth.cli import EXIT_OK, EXIT_USAGE

COMMANDS = [
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

CHECKERS = {
    "bash": (["bash", "-n"], "sudo apt-get install -y bash"),
    "zsh": (["zsh", "-n"], "sudo apt-get install -y zsh"),
    "fish": (["fish", "--no-execute"], "sudo apt-get install -y fish"),
}


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_script_names_every_command_and_is_valid(
    shell: str, tmp_path: Path, system_binary
) -> None:
    """Each shell's script mentions every command and the shell itself accepts it."""
    result = run("completion", shell, common=False)
    assert result.code == EXIT_OK
    for command in COMMANDS:
        assert command in result.out, command
    for option in ("--server", "--json", "--token-stdin", "--overwrite", "--default"):
        assert option.removeprefix("--") in result.out
    assert "delete" in result.out
    script = tmp_path / f"cave-auth.{shell}"
    script.write_text(result.out)
    argv, install = CHECKERS[shell]
    checker = system_binary(argv[0], install)
    checked = subprocess.run(
        [checker, *argv[1:], str(script)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr


def test_bash_completion_completes_commands_and_options(
    tmp_path: Path, system_binary
) -> None:
    """Loaded into bash, the script completes a command name and a command's options."""
    bash = system_binary("bash", "sudo apt-get install -y bash")
    script = tmp_path / "cave-auth.bash"
    script.write_text(run("completion", "bash", common=False).out)
    probe = (
        f"source {script}\n"
        "COMP_WORDS=(cave-auth sw); COMP_CWORD=1; _cave_auth; echo ${COMPREPLY[@]}\n"
        "COMP_WORDS=(cave-auth login --no); COMP_CWORD=2; _cave_auth; "
        "echo ${COMPREPLY[@]}\n"
        "COMP_WORDS=(cave-auth tokens del); COMP_CWORD=2; _cave_auth; "
        "echo ${COMPREPLY[@]}\n"
    )
    completed = subprocess.run(
        [bash, "--norc", "-c", probe],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert completed.stdout.splitlines() == ["switch", "--no-browser", "delete"]


def test_completion_for_an_unknown_shell_is_a_usage_error() -> None:
    """``completion tcsh`` names the shells it knows."""
    result = run("completion", "tcsh", common=False)
    assert result.code == EXIT_USAGE
    assert "bash" in result.err


def test_help_command_prints_a_commands_help() -> None:
    """``help login`` prints what ``login --help`` prints; ``help`` alone the overview."""
    assert (
        run("help", "login", common=False).out
        == run("login", "--help", common=False).out
    )
    overview = run("help", common=False)
    assert overview.code == EXIT_OK
    assert overview.out == run("--help", common=False).out
    unknown = run("help", "stauts", common=False)
    assert unknown.code == EXIT_USAGE
    assert "did you mean 'status'?" in unknown.err


def test_demo_json_gives_every_step() -> None:
    """``demo --json`` prints the eight steps with their lines as one JSON list."""
    result = run("demo", "--json", common=False)
    assert result.code == EXIT_OK, result.err
    steps = json.loads(result.out)
    assert [step["step"] for step in steps] == list(range(9))
    assert steps[1]["title"].startswith("Log in through the browser")
    assert any("Norm User" in line for line in steps[3]["lines"])
