"""The one way a test asks for a program pip cannot install.

A missing program skips the test with the command that installs it as the
reason; with ``CAVE_AUTH_REQUIRE_SYSTEM_BINARIES=1`` (which ``.ci/run`` sets
after installing them) the skip is a failure instead, so CI never passes by
skipping. A module of its own, not conftest, so that support modules
(``redis_support``) can import it: ``conftest`` names several modules here.
"""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRE_SYSTEM_BINARIES = "CAVE_AUTH_REQUIRE_SYSTEM_BINARIES"
"""Set to 1 to make a missing system program fail its tests, not skip them."""


def require_binary(name: str, install: str) -> str:
    """Return the path of a program pip cannot install, or skip the test.

    Args:
        name: The program, as found on PATH.
        install: The command that installs it, for the skip's reason.

    Returns:
        The program's path.
    """
    path = shutil.which(name)
    if path is not None:
        return path
    reason = f"needs {name}: {install}"
    if os.environ.get(REQUIRE_SYSTEM_BINARIES) == "1":
        pytest.fail(f"{reason} ({REQUIRE_SYSTEM_BINARIES}=1)", pytrace=False)
    pytest.skip(reason)
