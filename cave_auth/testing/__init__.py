"""Test doubles for code built on ``cave_auth``: no network, no real home.

Two doubles, for two kinds of test, and a browser for the login:

* :class:`FakeTransport` is an in-memory :class:`~cave_auth.Transport`, in the
  manner of httpx's ``MockTransport``: routes map ``(method, path)`` to canned
  answers, every request is recorded, failures can be scripted. No sockets,
  no threads: for unit tests.
* :class:`FakeAuthServer` is a real HTTP server on ``127.0.0.1`` that answers
  like the CAVE auth server (``middle_auth``), from seeded users, groups,
  tokens, datasets, Terms of Service, service tables and public roots
  (:class:`FakeSeed` and its rows), with
  a request log and fault switches: for integration tests that want real
  sockets, retries and timeouts.
* :class:`HeadlessBrowser` is an ``opener`` for :func:`cave_auth.login`: it
  follows the local login page and the server's redirects with urllib, so a
  login against a ``FakeAuthServer`` runs without a browser.

Everything listed in ``__all__`` is importable from here; that is the public
API. The modules behind it are split by concern, as moto splits a service and
pytest-httpserver keeps the server's lifecycle apart from request matching:

* ``transport``: :class:`FakeTransport`, :class:`FakeRequest` and the response
  builders;
* ``seed``: :class:`FakeSeed` and its row classes;
* ``server``: :class:`FakeAuthServer`'s lifecycle, tokens, request log and
  fault switches, and the list of what the fake does not reproduce;
* ``backend``: a running server's data and the model queries its views share;
* ``routing``: the route table and the dispatch on it;
* ``guards``: the auth guards (``auth_required`` and the admin checks);
* ``views_users``, ``views_tokens``, ``views_groups``, ``views_tables``: the
  JSON views (``views_tables`` answers what a service asks: the dataset of a
  service table and the public roots);
* ``pages``: the HTML pages (token page, login start, ToS form);
* ``messages``: the request and response values, built the way Flask builds
  them;
* ``wire``: the sockets;
* ``browser``: :class:`HeadlessBrowser` and :func:`login_page_target`.

Only ``server``, ``wire`` and ``browser`` do I/O. The server side and the
browser use the standard library only and import nothing from the rest of
``cave_auth``; ``transport`` uses the public :class:`~cave_auth.Response`.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False
if TYPE_CHECKING:
    # For type checkers and the docs only; ``X as X`` marks each as exported.
    from typing import Any

    from .async_transport import FakeAsyncTransport as FakeAsyncTransport
    from .browser import HeadlessBrowser as HeadlessBrowser
    from .browser import login_page_target as login_page_target
    from .messages import RecordedRequest as RecordedRequest
    from .seed import INVALID_TOKEN as INVALID_TOKEN
    from .seed import SEED_TIME as SEED_TIME
    from .seed import FakeApiKey as FakeApiKey
    from .seed import FakeDataset as FakeDataset
    from .seed import FakeGroup as FakeGroup
    from .seed import FakeMembership as FakeMembership
    from .seed import FakePublicRoot as FakePublicRoot
    from .seed import FakeSeed as FakeSeed
    from .seed import FakeServiceTable as FakeServiceTable
    from .seed import FakeTos as FakeTos
    from .seed import FakeUser as FakeUser
    from .server import FakeAuthServer as FakeAuthServer
    from .transport import FakeRequest as FakeRequest
    from .transport import FakeTransport as FakeTransport
    from .transport import json_response as json_response
    from .transport import text_response as text_response

# The public names by module, as in ``cave_auth/__init__.py``: each module is
# imported on first use (PEP 562), so a unit test that takes only
# FakeTransport never imports the server's sockets, http.server or ssl.
_MODULE_NAMES = {
    "async_transport": "FakeAsyncTransport",
    "browser": "HeadlessBrowser login_page_target",
    "messages": "RecordedRequest",
    "seed": (
        "INVALID_TOKEN SEED_TIME FakeApiKey FakeDataset FakeGroup FakeMembership "
        "FakePublicRoot FakeSeed FakeServiceTable FakeTos FakeUser"
    ),
    "server": "FakeAuthServer",
    "transport": "FakeRequest FakeTransport json_response text_response",
}
_LAZY_NAMES = {
    name: module for module, names in _MODULE_NAMES.items() for name in names.split()
}
__all__ = sorted(_LAZY_NAMES, key=lambda n: (not n.isupper(), n[0].islower(), n))


def __getattr__(name: str) -> Any:
    module_name = _LAZY_NAMES.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module_name}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
