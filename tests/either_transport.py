"""Both real transports behind one sync face, for the tests of the rules they share.

:class:`~cave_auth.transport.Urllib3Transport` and
:class:`~cave_auth.aio.HttpxTransport` follow the same rules (deadline,
retries, redirects, size cap, plain http): the ``make_either_transport`` fixture
(in conftest) runs a test once with each. The async one is driven on an
event loop of its own, kept for the transport's life, since httpx binds its
connections to one loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

from cave_auth.aio import HttpxTransport
from cave_auth.transport import Response, Urllib3Transport


class SyncHttpx:
    """An HttpxTransport whose ``request`` and ``close`` are called without await."""

    def __init__(self, **settings: Any) -> None:
        self.runner = asyncio.Runner()
        self.transport = HttpxTransport(**settings)

    def request(self, *args: Any, **kwargs: Any) -> Response:
        return self.runner.run(self.transport.request(*args, **kwargs))

    def close(self) -> None:
        self.runner.run(self.transport.aclose())
        self.runner.close()


def make(kind: str, **settings: Any) -> Urllib3Transport | SyncHttpx:
    """Create the transport of ``kind`` (``"urllib3"`` or ``"httpx"``)."""
    if kind == "urllib3":
        return Urllib3Transport(**settings)
    return SyncHttpx(**settings)
