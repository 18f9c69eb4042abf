"""Drive an endpoint's flow over an async transport: the twin of ``api._drive``."""

from __future__ import annotations

from typing import TypeVar, cast

from ..api._drive import _forget_token, _log_server_warning
from ..errors import TransportError
from ..routes import Flow
from ..transport import AsyncTransport

__all__: list[str] = []

T = TypeVar("T")


async def _run(flow: Flow[T], transport: AsyncTransport, timeout: float | None) -> T:
    """Drive ``flow`` over an async transport: the twin of ``api._run``."""
    try:
        request = next(flow)
    except StopIteration as done:
        return cast(T, done.value)
    while True:
        try:
            response = await transport.request(
                request.method,
                request.url,
                headers=request.headers,
                params=request.params,
                json=request.json,
                timeout=timeout,
            )
        except TransportError as error:
            _forget_token(error, request)
            raise
        _log_server_warning(request, response)
        try:
            request = flow.send(response)
        except StopIteration as done:
            return cast(T, done.value)
