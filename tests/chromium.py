"""Debian's Chromium, headless, as the browser of a login test.

:class:`Chromium` starts it on a URL with a profile, a home and an
environment of its own (no proxy, nothing from the test's environment), in
a process group that :meth:`Chromium.stop` ends whole. A missing Chromium
skips the test with the command that installs it; ``.ci/run`` installs it
where it runs as root.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

INSTALL = "sudo apt-get install -y chromium"


class Chromium:
    """Headless Chromium processes, each in its own process group."""

    def __init__(self, workdir: Path, binary: str) -> None:
        self.binary = binary
        self.workdir = workdir
        self._processes: list[subprocess.Popen[bytes]] = []

    def open(self, url: str) -> bool:
        """Start a browser on ``url`` and return at once, as webbrowser.open does."""
        home = self.workdir / "home"
        home.mkdir(exist_ok=True)
        argv = [
            self.binary,
            "--headless",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={self.workdir / 'profile'}",
        ]
        if os.geteuid() == 0:
            argv.append("--no-sandbox")  # Chromium refuses to run as root with one
        self._processes.append(
            subprocess.Popen(
                [*argv, url],
                env={"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin")},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
        return True

    @property
    def pids(self) -> list[int]:
        """The process ids of the browsers started (not their helpers)."""
        return [process.pid for process in self._processes]

    def stop(self) -> None:
        """End every browser started, with its helper processes."""
        for process in self._processes:
            # The group is the one start_new_session made for this browser.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
