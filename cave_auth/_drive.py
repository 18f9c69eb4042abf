"""The one driver of sans-I/O generators: :func:`drive`, and its twin :func:`adrive`.

A route flow yields requests, the service's decision yields needs; the driver
sends back what ``answer`` gives, or throws in what it raises, so a flow
handles failures with a plain ``try``. :func:`run` and :func:`arun` answer
through a transport, scrub the request's token from failures and log a
server's ``Warning`` header without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, cast

from ._redact import scrub_bearer, scrub_url
from .errors import TransportError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Generator

    from .routes import ApiRequest, Flow
    from .transport import AsyncTransport, Response, Transport

__all__ = ["adrive", "arun", "drive", "run"]

Q = TypeVar("Q")
A = TypeVar("A")
T = TypeVar("T")


def drive(flow: Generator[Q, A, T], answer: Callable[[Q], A]) -> T:
    """Run ``flow`` to its end, answering each value it yields with ``answer``.

    Args:
        flow: The generator; it is closed however the run ends.
        answer: Answers one yielded value; what it raises (an
            :class:`Exception`) is thrown into ``flow``.

    Returns:
        What ``flow`` returns.
    """
    try:
        question = next(flow)
        while True:
            try:
                reply = answer(question)
            except Exception as error:  # the flow decides what it means
                question = flow.throw(error)
            else:
                question = flow.send(reply)
    except StopIteration as done:
        return cast("T", done.value)
    finally:
        flow.close()


async def adrive(flow: Generator[Q, A, T], answer: Callable[[Q], Awaitable[A]]) -> T:
    """Async twin of :func:`drive`: ``answer`` is awaited."""
    try:
        question = next(flow)
        while True:
            try:
                reply = await answer(question)
            except Exception as error:  # cancellation is no answer: not thrown
                question = flow.throw(error)
            else:
                question = flow.send(reply)
    except StopIteration as done:
        return cast("T", done.value)
    finally:
        flow.close()


def run(flow: Flow[T], transport: Transport, timeout: float | None) -> T:
    """Drive a route flow over a sync transport, each request within ``timeout``."""

    def send(request: ApiRequest) -> Response:
        try:
            response = _request(transport, request, timeout)
        except TransportError as error:
            _forget_token(error, request)
            raise
        return _log_warning(request, response)

    return drive(flow, send)


async def arun(flow: Flow[T], transport: AsyncTransport, timeout: float | None) -> T:
    """Async twin of :func:`run`."""

    async def send(request: ApiRequest) -> Response:
        try:
            response = await _request(transport, request, timeout)
        except TransportError as error:
            _forget_token(error, request)
            raise
        return _log_warning(request, response)

    return await adrive(flow, send)


def _request(
    transport: Transport | AsyncTransport, request: ApiRequest, timeout: float | None
) -> Any:
    """Ask ``transport`` for ``request``: a response, or a coroutine of one."""
    return transport.request(
        request.method,
        request.url,
        headers=request.headers,
        params=request.params,
        json=request.json,
        timeout=timeout,
    )


def _forget_token(error: TransportError, request: ApiRequest) -> None:
    """Take the token of ``request`` out of a transport's error, whoever made it.

    An adapter's error may quote the URL (the TTL route's holds the token), and
    its client's exception, which does too, stays in ``__context__`` despite
    ``from None``. The error is changed in place, keeping its type and other
    attributes.
    """
    error.args = tuple(
        scrub_url(arg, request.headers) if isinstance(arg, str) else arg
        for arg in error.args
    )
    error.url = scrub_url(error.url, request.headers)
    error.__cause__ = error.__context__ = None


def _log_warning(request: ApiRequest, response: Response) -> Response:
    warning = response.header("warning")
    if warning:
        import logging  # only a warned answer pays for the logging package

        logging.getLogger("cave_auth").warning(
            "Server warning for %s %s: %s",
            request.method,
            scrub_url(request.url, request.headers),
            scrub_bearer(warning, request.headers),
        )
    return response
