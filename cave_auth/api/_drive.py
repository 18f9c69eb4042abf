"""Drive an endpoint's flow over a sync transport (the shell both modules use).

``_run`` sends each request a flow of :mod:`cave_auth.routes` yields through a
:class:`~cave_auth.Transport` and sends the answer back;
``_log_server_warning`` logs a server's ``Warning`` header without the token,
and ``_forget_token`` takes it out of a transport's error
(:mod:`cave_auth.aio` uses both too).
"""

from __future__ import annotations

from typing import TypeVar, cast

from .._redact import scrub_url
from ..errors import TransportError
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
        try:
            response = transport.request(
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


def _forget_token(error: TransportError, request: ApiRequest) -> None:
    """Take the token of ``request`` out of a transport's error, whoever made it.

    :class:`~cave_auth.Urllib3Transport` makes clean errors; an adapter may
    not: the httpx one of the async tutorial quotes the URL (the TTL route's
    holds the token) and its client's exception, which holds it too, stays
    in ``__context__`` despite ``from None``. The error is changed in place,
    so that its type and other attributes are kept.

    Args:
        error: What the transport raised.
        request: The request it was sending.
    """
    error.args = tuple(
        scrub_url(arg, request.headers) if isinstance(arg, str) else arg
        for arg in error.args
    )
    error.url = scrub_url(error.url, request.headers)
    error.__cause__ = error.__context__ = None
