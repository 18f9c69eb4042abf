"""Check the CAVE token a request carries, in any web service.

The framework-free core of ``cave_auth``'s service side:

* :func:`evaluate` / :func:`decide`: the pure decision (no I/O) that
  ``middle_auth_client`` makes, as a value: :class:`Allow`, :class:`Deny` or
  :class:`Redirect`;
* :class:`Checker`: that decision with its lookups answered through a
  caller-owned :class:`CheckerCache` (:class:`LookupCache` in one process;
  :class:`cave_auth.service.redis.RedisCache`, the ``redis`` extra, shared
  by a fleet) and a :class:`Lookups` implementation
  (:class:`TransportLookups` over any :class:`~cave_auth.Transport`;
  :class:`AsyncTransportLookups`, for the ASGI middleware, over any
  :class:`~cave_auth.AsyncTransport`); its counters, and
  :mod:`cave_auth.service.prometheus` (the ``prometheus`` extra) to export
  them.

Adapters: :mod:`cave_auth.flask` (a drop-in for ``middle_auth_client``),
:mod:`cave_auth.service.wsgi` and :mod:`cave_auth.service.asgi`.

Example:
    >>> from cave_auth.service import Request, Rule, Settings, decide
    >>> settings = Settings("auth.example.org/auth")
    >>> decision = decide(Request("GET", headers={"x-requested-with": "x"}),
    ...                   Rule(), settings)
    >>> decision.status, decision.error
    (401, 'no_token')
"""

from __future__ import annotations

from .cache import CheckerCache, LookupCache, RefreshLimiter
from .checker import Checker
from .decision import decide, evaluate, has_permission
from .lookups import (
    AsyncLookups,
    AsyncTransportLookups,
    AuthServiceUnavailable,
    Lookups,
    TransportLookups,
)
from .values import (
    ANONYMOUS_USER,
    DISABLED_USER,
    Allow,
    DatasetNeed,
    Decision,
    Deny,
    Need,
    PublicNeed,
    Redirect,
    RefreshNeed,
    Request,
    Rule,
    Settings,
    UserNeed,
)

__all__ = [
    "ANONYMOUS_USER",
    "DISABLED_USER",
    "Allow",
    "AsyncLookups",
    "AsyncTransportLookups",
    "AuthServiceUnavailable",
    "Checker",
    "CheckerCache",
    "DatasetNeed",
    "Decision",
    "Deny",
    "LookupCache",
    "Lookups",
    "Need",
    "PublicNeed",
    "Redirect",
    "RefreshLimiter",
    "RefreshNeed",
    "Request",
    "Rule",
    "Settings",
    "TransportLookups",
    "UserNeed",
    "decide",
    "evaluate",
    "has_permission",
]
