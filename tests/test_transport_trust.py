"""Which CAs a transport trusts: CA bundle variables, explicit arguments, certifi.

Each test serves https on loopback with a certificate from a trustme CA made
for the test, and checks which settings make the transport trust it.
"""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import certifi
import pytest
import trustme
from loopback_server import LoopbackServer, Reply

import cave_auth as ca
from cave_auth.transport import Urllib3Transport
from cave_auth.transport.trust import ca_paths_from_env

pytestmark = pytest.mark.timeout(60)

AUTH = {"Authorization": "Bearer tok-0123456789abcdef"}


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def bundle(authority: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "corporate-ca.pem"
    authority.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def other_bundle(tmp_path: Path) -> str:
    path = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def tls(authority: trustme.CA) -> Iterator[LoopbackServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    server = LoopbackServer(ssl_context=context)
    server.default = Reply(200, b"trusted")
    yield server
    server.stop()


def fetch(transport: Urllib3Transport, server: LoopbackServer) -> bytes:
    with transport:
        return transport.request("GET", server.url("/"), headers=AUTH).body


@pytest.mark.parametrize(
    "variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"]
)
def test_each_bundle_variable_is_honoured(
    variable: str, bundle: str, tls: LoopbackServer
) -> None:
    """from_env trusts the CA bundle a requests, curl or OpenSSL variable names."""
    transport = Urllib3Transport.from_env({variable: bundle})
    assert fetch(transport, tls) == b"trusted"


def test_a_certificate_directory_is_honoured(
    bundle: str, tls: LoopbackServer, tmp_path: Path
) -> None:
    """SSL_CERT_DIR names a directory of hashed certificates (c_rehash layout)."""
    hashed = subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", bundle],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    directory = tmp_path / "certs"
    directory.mkdir()
    (directory / f"{hashed}.0").write_bytes(Path(bundle).read_bytes())
    transport = Urllib3Transport.from_env({"SSL_CERT_DIR": str(directory)})
    assert fetch(transport, tls) == b"trusted"
    assert ca_paths_from_env({"REQUESTS_CA_BUNDLE": str(directory)}) == (
        None,
        str(directory),
    )


def test_requests_bundle_wins_over_curl_and_openssl(
    bundle: str, other_bundle: str, tls: LoopbackServer
) -> None:
    """REQUESTS_CA_BUNDLE is read first, as requests reads it."""
    environ = {
        "REQUESTS_CA_BUNDLE": bundle,
        "CURL_CA_BUNDLE": other_bundle,
        "SSL_CERT_FILE": other_bundle,
    }
    assert fetch(Urllib3Transport.from_env(environ), tls) == b"trusted"


def test_an_explicit_argument_wins_over_the_environment(
    bundle: str, other_bundle: str, tls: LoopbackServer
) -> None:
    """``ca_certs=`` given to from_env replaces the variables."""
    transport = Urllib3Transport.from_env(
        {"REQUESTS_CA_BUNDLE": other_bundle}, ca_certs=bundle
    )
    assert fetch(transport, tls) == b"trusted"


def test_a_bundle_replaces_the_system_store(
    other_bundle: str, tls: LoopbackServer
) -> None:
    """With a bundle that lacks the server's CA, verification fails."""
    with pytest.raises(ca.TransportError, match="TLS failed"):
        fetch(Urllib3Transport(ca_certs=other_bundle, retries=0), tls)


def test_an_empty_system_store_falls_back_to_certifi(
    monkeypatch: pytest.MonkeyPatch, bundle: str, other_bundle: str, tls: LoopbackServer
) -> None:
    """With no system CAs at all, certifi's bundle is trusted, as by requests."""
    monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent/cert.pem")
    monkeypatch.setenv("SSL_CERT_DIR", "/nonexistent/certs")
    monkeypatch.setattr(certifi, "where", lambda: bundle)
    assert fetch(Urllib3Transport(), tls) == b"trusted"
    monkeypatch.setattr(certifi, "where", lambda: other_bundle)
    with pytest.raises(ca.TransportError, match="TLS failed"):
        fetch(Urllib3Transport(retries=0), tls)


def test_a_populated_system_store_is_used_without_certifi(
    monkeypatch: pytest.MonkeyPatch, bundle: str, tls: LoopbackServer
) -> None:
    """A system store with CAs in it (a corporate CA, say) is used as it is."""
    monkeypatch.setenv("SSL_CERT_FILE", bundle)
    monkeypatch.setattr(certifi, "where", lambda: pytest.fail("certifi was read"))
    assert fetch(Urllib3Transport(), tls) == b"trusted"


def test_the_bundle_is_loaded_once_per_transport(
    monkeypatch: pytest.MonkeyPatch, bundle: str, tls: LoopbackServer
) -> None:
    """Three fresh connections read the CA bundle once, when the transport is made."""
    loads: list[Any] = []
    real = ssl.SSLContext.load_verify_locations

    def counting(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        loads.append(args or kwargs)
        real(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)
    transport = Urllib3Transport(ca_certs=bundle)
    for _ in range(3):
        assert transport.request("GET", tls.url("/"), headers=AUTH).status == 200
        transport.close()
    assert len(loads) == 1
    assert len(set(tls.client_ports)) == 3


def test_an_unreadable_bundle_is_named(tmp_path: Path) -> None:
    """A CA bundle that does not exist is an InvalidInputError naming it."""
    missing = str(tmp_path / "nope.pem")
    with pytest.raises(ca.InvalidInputError, match=r"nope\.pem"):
        Urllib3Transport(ca_certs=missing)
    with pytest.raises(ca.InvalidInputError, match=r"nope\.pem"):
        Urllib3Transport.from_env({"REQUESTS_CA_BUNDLE": missing})
