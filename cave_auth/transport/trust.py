"""Which certificate authorities a transport trusts, decided once per transport.

The first that applies: ``ca_certs`` and/or ``ca_cert_dir`` (``from_env``
fills them from ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``, ``SSL_CERT_FILE``,
``SSL_CERT_DIR``); the system's store; when that is empty (python.org's macOS
Python, slim containers), certifi's bundle, as requests does. The context is
built once and shared by the transport's connections.
"""

from __future__ import annotations

import os
import ssl
from typing import TYPE_CHECKING

from ..errors import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["ca_paths_from_env", "make_ssl_context"]


def ca_paths_from_env(environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """Read the CA bundle variables that requests, curl and OpenSSL honour.

    ``REQUESTS_CA_BUNDLE``, else ``CURL_CA_BUNDLE``, else ``SSL_CERT_FILE``
    (naming a directory, it counts as ``SSL_CERT_DIR``, as in requests).

    Returns:
        ``(ca_certs, ca_cert_dir)``, each ``None`` when unset.
    """
    ca_certs: str | None = None
    ca_cert_dir = environ.get("SSL_CERT_DIR") or None
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        value = environ.get(name)
        if value:
            if os.path.isdir(value):
                ca_cert_dir = ca_cert_dir or value
            else:
                ca_certs = value
            break
    return ca_certs, ca_cert_dir


def _system_store_is_empty(context: ssl.SSLContext) -> bool:
    if context.cert_store_stats()["x509_ca"]:
        return False
    capath = ssl.get_default_verify_paths().capath
    if not capath or not os.path.isdir(capath):
        return True
    with os.scandir(capath) as entries:
        return not any(entry.is_file() for entry in entries)


def make_ssl_context(
    ca_certs: str | None = None, ca_cert_dir: str | None = None
) -> ssl.SSLContext:
    """Build the TLS context of one transport: valid certificate, matching host.

    ``ca_certs`` (a PEM bundle file) and ``ca_cert_dir`` (a directory of
    hashed PEM certificates) are trusted instead of the system's store.

    Raises:
        InvalidInputError: If a given bundle cannot be read.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_certs or ca_cert_dir:
        try:
            context.load_verify_locations(cafile=ca_certs, capath=ca_cert_dir)
        except (OSError, ssl.SSLError) as exc:
            shown = ca_certs or ca_cert_dir
            raise InvalidInputError(
                f"Cannot use the CA bundle {shown!r}: {exc.strerror or exc}"
            ) from None
        return context
    context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    if _system_store_is_empty(context):
        import certifi

        context.load_verify_locations(cafile=certifi.where())
    return context
