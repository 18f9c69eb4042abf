"""Drive an endpoint's flow over a sync transport (the shell both modules use).

``_run`` sends each request a flow of :mod:`cave_auth.routes` yields through a
:class:`~cave_auth.Transport` and sends the answer back;
``_log_server_warning`` logs a server's ``Warning`` header without the token
(:mod:`cave_auth.aio` logs through it too).
"""

from __future__ import annotations

from typing import TypeVar, cast

from ..routes import ApiRequest, Flow, ResponseLike
from ..transport import Transport

__all__: list[str] = []

T = TypeVar("T")


def _run(flow: Flow[T], transport: Transport, timeout: float | None) -> T:
    """Drive ``flow`` over a sync transport: the twin of ``aio._run``."""
    try:
        request = next(flow)
    except StopIteration as done:
        return cast(T, done.value)
    while True:
        response = transport.request(
            request.method,
            request.url,
            headers=request.headers,
            params=request.params,
            json=request.json,
            timeout=timeout,
        )
        _log_server_warning(request, response)
        try:
            request = flow.send(response)
        except StopIteration as done:
            return cast(T, done.value)


def _log_server_warning(request: ApiRequest, response: ResponseLike) -> None:
    """Log the ``Warning`` header of an answer, if any, without the token.

    Args:
        request: The request that was sent.
        response: Its answer.
    """
    warning = response.header("warning")
    if warning:
        import logging

        from .._redact import scrub_bearer, scrub_url

        logging.getLogger("cave_auth").warning(
            "Server warning for %s %s: %s",
            request.method,
            scrub_url(request.url, request.headers),
            scrub_bearer(warning, request.headers),
        )
