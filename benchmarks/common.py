"""What the benchmark scripts share: result rows, child processes, a TLS server."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pathlib
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parent.parent


@dataclass
class Row:
    """One line of the report."""

    section: str
    figure: str
    median: float
    low: float
    high: float
    unit: str
    target: str = ""
    met: bool | None = None

    def render(self) -> str:
        """Format the row as a table line."""
        verdict = {None: "", True: "met", False: "NOT met"}[self.met]
        spread = f"{self.low:.4g}-{self.high:.4g}"
        return (
            f"| {self.section} | {self.figure} | {self.median:.4g} {self.unit} | "
            f"{spread} | {self.target} | {verdict} |"
        )


def summarize(samples: list[float]) -> tuple[float, float, float]:
    """Return median, min and max."""
    return statistics.median(samples), min(samples), max(samples)


def has_caveclient() -> bool:
    """Tell whether CAVEclient can be imported here."""
    try:
        import caveclient  # noqa: F401
    except ImportError:
        return False
    return True


def child_env() -> dict[str, str]:
    """The environment for child interpreters: bytecode caching allowed."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = str(ROOT)
    return env


def serve(connection: Connection, tls_dir: str | None) -> None:
    """Run a FakeAuthServer in this process until told to stop."""
    from cave_auth.testing import FakeAuthServer

    ssl_context = None
    if tls_dir is not None:
        import ssl

        ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ssl_context.load_cert_chain(os.path.join(tls_dir, "server.pem"))
    with FakeAuthServer(
        extra_users=50, extra_group_members=20, ssl_context=ssl_context
    ) as server:
        connection.send(
            {
                "url": server.url,
                "admin_token": server.admin_token,
                "group_id": server.big_group_id,
                "user_ids": list(range(7, 57)),
            }
        )
        connection.recv()


@contextlib.contextmanager
def served(tls_dir: str | None) -> Iterator[dict[str, Any]]:
    """Run a FakeAuthServer in another process; yield its address and tokens."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=serve, args=(child, tls_dir))
    process.start()
    try:
        yield parent.recv()
    finally:
        parent.send("stop")
        process.join(10)


def make_certificates(directory: str) -> str:
    """Write a trustme CA and a server certificate for 127.0.0.1.

    The CA file returned is the system bundle (certifi's, which CAVEclient's
    ``requests`` loads by default) with the test CA appended, so every
    contender verifies against a realistic bundle.

    Returns:
        The path of the CA bundle.
    """
    import trustme

    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    certificate.private_key_and_cert_chain_pem.write_to_path(
        os.path.join(directory, "server.pem")
    )
    bundle = b""
    with contextlib.suppress(ImportError):
        import certifi

        bundle = pathlib.Path(certifi.where()).read_bytes()
    ca_path = os.path.join(directory, "ca.pem")
    pathlib.Path(ca_path).write_bytes(bundle + authority.cert_pem.bytes())
    return ca_path
