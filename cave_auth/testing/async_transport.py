"""The async twin of ``FakeTransport``, for code built on :mod:`cave_auth.aio`.

:class:`FakeAsyncTransport` is an :class:`~cave_auth.AsyncTransport` shell
around a :class:`~cave_auth.testing.FakeTransport`: the routes, the scripted
outcomes and the record of requests are that object's, so both fakes answer
alike. This module does no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .transport import FakeRequest, FakeTransport, Handler

if TYPE_CHECKING:
    from ..transport import Response

__all__ = ["FakeAsyncTransport"]


class FakeAsyncTransport:
    """An in-memory async transport that answers from routes and records requests.

    Args:
        routes: ``{(method, path): answer}``, as for
            :class:`~cave_auth.testing.FakeTransport`.
        handler: A function (not a coroutine) that answers every request no
            route matches. Without one, unmatched requests get a 404 like
            Flask's.

    Example:
        >>> import asyncio
        >>> me = {"id": 1, "name": "Ada"}
        >>> fake = FakeAsyncTransport({("GET", "/auth/api/v1/user/me"): me})
        >>> url = "https://x.org/auth/api/v1/user/me"
        >>> asyncio.run(fake.request("GET", url, headers={})).status
        200
    """

    def __init__(
        self,
        routes: Mapping[tuple[str, str], Any] | None = None,
        *,
        handler: Handler | None = None,
    ) -> None:
        self.sync: FakeTransport = FakeTransport(routes, handler=handler)
        """The :class:`~cave_auth.testing.FakeTransport` that does the work."""

    def __repr__(self) -> str:
        return "FakeAsyncTransport" + repr(self.sync).removeprefix("FakeTransport")

    @property
    def requests(self) -> list[FakeRequest]:
        """The requests received, oldest first."""
        return self.sync.requests

    def add_route(self, method: str, path: str, answer: Any) -> None:
        """Same as :meth:`FakeTransport.add_route`."""
        self.sync.add_route(method, path, answer)

    def script(self, method: str, path: str, *outcomes: Any) -> None:
        """Same as :meth:`FakeTransport.script`."""
        self.sync.script(method, path, *outcomes)

    def requests_to(self, method: str, path: str) -> list[FakeRequest]:
        """Same as :meth:`FakeTransport.requests_to`."""
        return self.sync.requests_to(method, path)

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        params: Mapping[str, str] | None = None,
        json: Any = None,
        timeout: float | None = None,
    ) -> Response:
        """Same as :meth:`FakeTransport.request`, awaited."""
        return self.sync.request(
            method, url, headers=headers, params=params, json=json, timeout=timeout
        )
