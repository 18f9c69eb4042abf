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

from .async_transport import FakeAsyncTransport
from .browser import HeadlessBrowser, login_page_target
from .messages import RecordedRequest
from .seed import (
    INVALID_TOKEN,
    SEED_TIME,
    FakeApiKey,
    FakeDataset,
    FakeGroup,
    FakeMembership,
    FakePublicRoot,
    FakeSeed,
    FakeServiceTable,
    FakeTos,
    FakeUser,
)
from .server import FakeAuthServer
from .transport import FakeRequest, FakeTransport, json_response, text_response

__all__ = [
    "INVALID_TOKEN",
    "SEED_TIME",
    "FakeApiKey",
    "FakeAsyncTransport",
    "FakeAuthServer",
    "FakeDataset",
    "FakeGroup",
    "FakeMembership",
    "FakePublicRoot",
    "FakeRequest",
    "FakeSeed",
    "FakeServiceTable",
    "FakeTos",
    "FakeTransport",
    "FakeUser",
    "HeadlessBrowser",
    "RecordedRequest",
    "json_response",
    "login_page_target",
    "text_response",
]
