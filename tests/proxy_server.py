"""Real proxies on loopback, and a capture socket, for the proxy tests.

Two proxies, each in a process of its own on a free port with a log of its
own, until the test stops it; ``requests()`` reads from the log which
requests went through it: ``GET http://...`` for plain http (forwarding),
``CONNECT host:port`` for https (a tunnel).

* :class:`ProxyPy` runs ``proxy.py``, which pip installs with the test extra,
  so the proxy tests run on any machine with Python.
* :class:`TinyProxy` runs Debian's ``tinyproxy``, a second, independent
  implementation; the ``system_binary`` fixture of ``conftest.py`` skips it
  where it is missing, with the command that installs it (and fails instead
  under ``.ci/run``, which installs it).

:class:`Capture` stands for a proxy on another machine: a socket that records
what reaches it and answers nothing, so a test can assert that nothing did.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

TINYPROXY_INSTALL = "sudo apt-get install -y tinyproxy (or: brew install tinyproxy)"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ProxyPy:
    """A proxy.py process on loopback, its request log readable by the test."""

    kind = "proxy.py"
    refused = "(407 Proxy Authentication Required)"
    """How the proxy's refusal of wrong credentials on a tunnel reads."""

    def __init__(self, workdir: Path, basic_auth: tuple[str, str] | None = None):
        self.log = workdir / "requests.log"
        self.log.touch()
        port_file = workdir / "port"
        argv = [
            sys.executable,
            "-m",
            "proxy",
            "--hostname",
            "127.0.0.1",
            "--port",
            "0",
            "--port-file",
            str(port_file),
            "--num-acceptors",
            "1",
            "--num-workers",
            "1",
            "--log-level",
            "WARNING",
            "--plugins",
            "proxy_plugin.RequestLog",
        ]
        if basic_auth:
            argv += ["--basic-auth", ":".join(basic_auth)]
        environ = {
            **os.environ,
            "CAVE_AUTH_PROXY_LOG": str(self.log),
            "PYTHONPATH": os.pathsep.join(
                [str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]
            ),
        }
        self._output = (workdir / "proxy.out").open("wb")
        # Its own session, so that stop() ends its acceptor processes too.
        self._process = subprocess.Popen(
            argv,
            env=environ,
            stdout=self._output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                output = (workdir / "proxy.out").read_text(errors="replace")
                pytest.fail(f"proxy.py did not start:\n{output}")
            time.sleep(0.02)
        self.port = int(port_file.read_text())
        while True:  # the port file is written just before the socket listens
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    pytest.fail("proxy.py does not accept connections")
                time.sleep(0.02)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def requests(self) -> list[str]:
        """The request lines the proxy logged, e.g. ``CONNECT 127.0.0.1:443``."""
        return self.log.read_text().splitlines()

    def stop(self) -> None:
        # proxy.py takes a second to wind down after SIGTERM; it keeps nothing
        # a test needs, so its whole process group is killed at once.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGKILL)
        self._process.wait(10)
        self._output.close()


class TinyProxy:
    """A tinyproxy process on loopback, its log readable by the test."""

    kind = "tinyproxy"
    refused = "(401 Unauthorized)"

    def __init__(
        self,
        workdir: Path,
        basic_auth: tuple[str, str] | None = None,
        *,
        binary: str,
    ):
        self.port = free_port()
        self.log = workdir / "tinyproxy.log"
        config = workdir / "tinyproxy.conf"
        lines = [
            f"Port {self.port}",
            "Listen 127.0.0.1",
            "Timeout 30",
            "LogLevel Info",
            "MaxClients 20",
            "Allow 127.0.0.1",
            "DisableViaHeader Yes",
        ]
        if basic_auth:
            lines.append(f"BasicAuth {basic_auth[0]} {basic_auth[1]}")
        config.write_text("\n".join(lines) + "\n")
        self._log_file = self.log.open("wb")
        self._process = subprocess.Popen(
            [binary, "-d", "-c", str(config)],
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while "Accepting connections" not in self.log_text():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"tinyproxy did not start:\n{self.log_text()}")
            time.sleep(0.02)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def requests(self) -> list[str]:
        """The request lines tinyproxy logged, e.g. ``CONNECT 127.0.0.1:443``."""
        found = []
        for line in self.log_text().splitlines():
            _, marker, request = line.partition("): ")
            if marker and "Request (file descriptor" in line:
                found.append(request.rsplit(" HTTP/", 1)[0])
        return found

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(5)
        self._log_file.close()


def outward_address() -> str | None:
    """This machine's IPv4 address on its outward interface, if it has one.

    A UDP ``connect`` only picks a route: no packet is sent.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1, never answered
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if ipaddress.ip_address(address).is_loopback else address


class Capture:
    """A socket on every interface that records connections and bytes, and answers nothing.

    Each connection is read until the end of the request head (or 2 s of
    silence), then closed, so a client that does send fails fast.
    """

    def __init__(self) -> None:
        self._server = socket.create_server(("0.0.0.0", 0))
        self._server.settimeout(0.05)
        self.port = int(self._server.getsockname()[1])
        self.connections = 0
        self.received = b""
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            with conn:
                conn.settimeout(2)
                while b"\r\n\r\n" not in self.received:
                    try:
                        data = conn.recv(65536)
                    except OSError:
                        break
                    if not data:
                        break
                    self.received += data

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5)
        self._server.close()


Proxy = ProxyPy | TinyProxy
"""Either proxy; the tests run against each."""
