"""The HTTP layer: small protocols, one frozen response, two real transports.

Endpoint functions only call :meth:`Transport.request` and read its
:class:`Response`, so any object with that method stands in for the network:
:class:`Urllib3Transport`, :class:`cave_auth.testing.FakeTransport`, or a
user's adapter; :mod:`cave_auth.aio` awaits an :class:`AsyncTransport` such as
:class:`HttpxTransport`. Each real transport (and its library) loads on first
use. Parts: ``base``, ``rules``, ``retry``, ``proxy``, ``trust``, ``attempt``,
``urllib3_transport``, ``httpx_transport``.
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
