"""The HTTP layer: small protocols, one frozen response, two real transports.

Endpoint functions (:mod:`cave_auth.api`) only ever call
:meth:`Transport.request` and read the :class:`Response` it returns, so any
object with that one method stands in for the network: the real
:class:`Urllib3Transport`, :class:`cave_auth.testing.FakeTransport` in unit
tests, or a user's own adapter; :mod:`cave_auth.aio` likewise awaits an
:class:`AsyncTransport`, such as :class:`HttpxTransport` (the ``httpx``
extra). Each real transport (and with it its client library, ssl and
http.client) is loaded on first use, so code that never names it never
imports them. Their parts are one module each: ``base`` (protocols, values,
URL rules), ``rules`` (what both transports send and refuse, and their
errors), ``retry``, ``proxy``, ``trust`` (which CAs), ``attempt`` (one
attempt over urllib3), ``urllib3_transport`` and ``httpx_transport``.
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
