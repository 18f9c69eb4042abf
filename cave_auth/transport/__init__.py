"""The HTTP layer: small protocols, one frozen response, two real transports.

Endpoint functions (:mod:`cave_auth.api`) only ever call
:meth:`Transport.request` and read the :class:`Response` it returns, so any
object with that one method stands in for the network: the real
:class:`Urllib3Transport`, :class:`cave_auth.testing.FakeTransport` in unit
tests, or a user's own adapter; :mod:`cave_auth.aio` awaits an
:class:`AsyncTransport`, e.g. :class:`HttpxTransport` (the ``httpx`` extra).
Each real transport (and its client library) is loaded on first use. Their
parts are one module each: ``base`` (protocols, values, URL rules), ``rules``
(what both send, refuse and raise), ``retry``, ``proxy``, ``trust``,
``attempt`` (over urllib3), ``urllib3_transport`` and ``httpx_transport``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .base import (
    IDEMPOTENT_METHODS,
    RETRY_STATUSES,
    AsyncTransport,
    Response,
    Transport,
    is_loopback_host,
)

if TYPE_CHECKING:
    from .httpx_transport import HttpxTransport
    from .urllib3_transport import DEFAULT_MAX_BODY_SIZE, Urllib3Transport

__all__ = [
    "DEFAULT_MAX_BODY_SIZE",
    "IDEMPOTENT_METHODS",
    "RETRY_STATUSES",
    "AsyncTransport",
    "HttpxTransport",
    "Response",
    "Transport",
    "Urllib3Transport",
    "is_loopback_host",
]


def __getattr__(name: str) -> Any:
    if name not in ("DEFAULT_MAX_BODY_SIZE", "Urllib3Transport", "HttpxTransport"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = "httpx_transport" if name == "HttpxTransport" else "urllib3_transport"
    return getattr(importlib.import_module(f".{module}", __name__), name)
