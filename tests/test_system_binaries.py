"""The one mechanism for tests that need a program pip cannot install.

A missing program skips its test with the command that installs it as the
reason; with ``CAVE_AUTH_REQUIRE_SYSTEM_BINARIES=1`` (set by ``.ci/run``) the
same test fails, so CI never passes by skipping. Run in a child pytest over
this suite's own ``conftest.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent

NEEDS_A_MISSING_PROGRAM = """
def test_needs_it(system_binary):
    system_binary("cave-auth-no-such-program", "sudo apt-get install -y nothing")
"""


def _run(tmp_path: Path, **environ: str) -> subprocess.CompletedProcess[str]:
    shutil.copy(HERE / "conftest.py", tmp_path / "conftest.py")
    shutil.copy(HERE / "system_programs.py", tmp_path / "system_programs.py")
    (tmp_path / "test_needs.py").write_text(NEEDS_A_MISSING_PROGRAM)
    env = {
        name: value
        for name, value in os.environ.items()
        if name != "CAVE_AUTH_REQUIRE_SYSTEM_BINARIES"
    }
    env.update(environ)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", "-q"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_missing_program_skips_with_its_install_command(tmp_path: Path) -> None:
    """Without the variable, the test is skipped and the reason says how to install the program."""
    completed = _run(tmp_path)
    assert completed.returncode == 0, completed.stdout
    assert "1 skipped" in completed.stdout
    assert (
        "needs cave-auth-no-such-program: sudo apt-get install -y nothing"
        in completed.stdout
    )


def test_under_ci_a_missing_program_fails(tmp_path: Path) -> None:
    """With CAVE_AUTH_REQUIRE_SYSTEM_BINARIES=1 the same test fails, naming the program."""
    completed = _run(tmp_path, CAVE_AUTH_REQUIRE_SYSTEM_BINARIES="1")
    assert completed.returncode == 1, completed.stdout
    assert "1 failed" in completed.stdout
    assert "needs cave-auth-no-such-program" in completed.stdout


@pytest.mark.parametrize("program", ["sh"])
def test_a_present_program_is_found(system_binary, program: str) -> None:
    """A program on PATH is returned by its full path."""
    assert Path(system_binary(program, "-")).is_file()
