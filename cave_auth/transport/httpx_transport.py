"""The async transport, over ``httpx.AsyncClient``: bounded, careful with tokens.

It follows the rules of :class:`~cave_auth.transport.Urllib3Transport`
(:mod:`cave_auth.transport.rules`, written once for both): one deadline per
call, every redirect hop and the reading of the body included; redirects
followed only to the same origin, by its own loop (httpx's is off); no token
on plain http past this machine; a body larger than ``max_body_size``
refused, by its ``Content-Length`` before it is read, else as soon as it
passes the cap; and errors that name what failed, the method and the URL,
never the token, and chain no httpx exception (whose request holds the
``Authorization`` header). It does not retry.

The deadline is an :func:`anyio.fail_after` scope (anyio comes with httpx),
so the transport runs under asyncio and trio alike. httpx logs each request
line at INFO, and the TTL route carries the token in its path: creating the
first transport adds one filter to the ``httpx`` logger that masks it. This
module (and with it httpx) is imported when ``HttpxTransport`` is first named.
"""

from __future__ import annotations

import re
import ssl
import time
from typing import TYPE_CHECKING, Any

import attrs

from .._redact import mask_token_paths_in_logs
from .base import Response, split_url
from .proxy import ProxyRules
from .rules import (
    DEFAULT_MAX_BODY_SIZE,
    Failure,
    Outgoing,
    check_count,
    check_plain_http,
    check_positive,
    os_error_text,
    prepare,
    redirect,
    seconds,
    settings_from_env,
    tls_failure_text,
    too_many_redirects,
)
from .trust import make_ssl_context

try:
    import anyio
    import httpx
except ImportError as error:
    raise ImportError(
        "cave_auth.aio.HttpxTransport needs httpx: pip install 'cave-auth[httpx]'"
    ) from error

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["HttpxTransport"]

_STATUS_LINE = re.compile(r"\d{3} [\w -]*")


class HttpxTransport:
    """An :class:`~cave_auth.AsyncTransport` over httpx, for :mod:`cave_auth.aio`.

    Without ``client``, the transport keeps connection pools of its own
    (``httpx.AsyncHTTPTransport``, one per proxy), sends each request
    straight to them and closes them in :meth:`aclose`, or on leaving
    ``async with``. They read no environment variable (:meth:`from_env`
    does), trust the CAs :class:`~cave_auth.transport.Urllib3Transport`
    trusts, and keep no cookies, so that no answer's cookie goes out with
    another token. An ``httpx.AsyncClient`` you pass as ``client`` is used as
    it is, with its own proxies, CAs, cookies, hooks and timeouts (within
    this transport's budget), and never closed. Times are in seconds. Use a
    transport within the one event loop it was first used in, as httpx
    requires.

    Args:
        client: An ``httpx.AsyncClient`` to send the requests with.
        timeout: The budget of one :meth:`request` call: connecting, every
            redirect hop and reading the answer.
        connect_timeout: The limit of one connection attempt (TLS handshake
            and proxy tunnel included), for the transport's own pools.
        max_redirects: How many same-origin redirects are followed.
        max_body_size: The largest answer body read, in bytes.
        allow_insecure_http: Allow tokens over plain http to any host, and
            through any proxy.
        ca_certs: A PEM CA bundle to trust instead of the system's store.
        ca_cert_dir: A directory of hashed CA certificates to trust instead.
        proxy: A proxy URL for http and https, or a mapping from ``"http"``,
            ``"https"`` or ``"all"`` to one; its credentials become
            ``Proxy-Authorization`` and are never shown.
        no_proxy: Hosts reached directly (see :mod:`cave_auth.transport.proxy`).

    Raises:
        InvalidInputError: If a number is out of range, a proxy URL is
            malformed, a CA bundle cannot be read, or ``client`` comes with
            settings of the transport's own pools.

    Example:
        >>> async with aio.HttpxTransport(timeout=10) as http:
        ...     users = await aio.get_group_users(config, http, 7)
    """

    def __init__(
        self,
        client: httpx.AsyncClient | None = None,
        *,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        max_redirects: int = 5,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        allow_insecure_http: bool = False,
        ca_certs: str | None = None,
        ca_cert_dir: str | None = None,
        proxy: str | Mapping[str, str] | None = None,
        no_proxy: str | Iterable[str] | None = None,
    ) -> None:
        check_positive("timeout", timeout)
        check_positive("connect_timeout", connect_timeout)
        check_positive("max_body_size", max_body_size)
        check_count("max_redirects", max_redirects, 0)
        if client is not None and (proxy or no_proxy or ca_certs or ca_cert_dir):
            from ..errors import InvalidInputError

            raise InvalidInputError(
                "proxy, no_proxy, ca_certs and ca_cert_dir configure the "
                "transport's own connection pools: give them to the "
                "httpx.AsyncClient you pass instead, or pass no client"
            )
        self.timeout = float(timeout)
        self.connect_timeout = float(connect_timeout)
        self.max_redirects = max_redirects
        self.max_body_size = max_body_size
        self.allow_insecure_http = allow_insecure_http
        self.proxy_rules = ProxyRules.build(proxy, no_proxy)
        # A bundle that was named is read now, so that a bad path fails here;
        # the system's store waits for the first connection pool.
        self._ssl: ssl.SSLContext | None = None
        if ca_certs or ca_cert_dir:
            self._ssl = make_ssl_context(ca_certs, ca_cert_dir)
        self._given = client
        self._pools: dict[tuple[str, str] | None, httpx.AsyncHTTPTransport] = {}
        # The deadline bounds the rest; httpcore reads these per request.
        self._limits = {"timeout": {"connect": self.connect_timeout}}
        mask_token_paths_in_logs("httpx")  # httpx logs the TTL route's path

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> HttpxTransport:
        """Same as :meth:`Urllib3Transport.from_env <cave_auth.transport.Urllib3Transport.from_env>` but for this transport."""  # noqa: E501
        return cls(**settings_from_env(environ, overrides))

    def __repr__(self) -> str:
        return (
            f"HttpxTransport(timeout={self.timeout!r}, "
            f"connect_timeout={self.connect_timeout!r}, "
            f"max_redirects={self.max_redirects!r}, "
            f"proxies={dict(self.proxy_rules.shown)!r}, "
            f"max_body_size={self.max_body_size!r}, "
            f"client={'given' if self._given is not None else 'own'})"
        )

    async def __aenter__(self) -> HttpxTransport:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the transport's own connections; a client you passed stays open.

        The transport can be used again: it opens new ones on demand.
        """
        pools = list(self._pools.values())
        self._pools.clear()
        for pool in pools:
            await pool.aclose()

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
        """Same as :meth:`Transport.request <cave_auth.transport.Transport.request>`, awaited.

        A redirect to another origin is returned, not followed.

        Raises:
            InsecureTransportError: If a token would go over plain http to a
                remote host, or through a proxy that is not on loopback.
            ResponseTooLargeError: If the body is larger than
                ``max_body_size``.
            TransportError: If no answer came within the budget.
            InvalidInputError: If ``url`` is not an http(s) URL.
        """  # noqa: E501
        check_positive("timeout", timeout)
        budget = self.timeout if timeout is None else float(timeout)
        deadline = time.monotonic() + budget
        outgoing = prepare(method, url, headers, params, json)
        redirected = False
        for _ in range(self.max_redirects + 1):
            scheme, host, port, _ = split_url(outgoing.url)
            proxy = None
            if self._given is None:
                proxy = self.proxy_rules.proxy_for(scheme, host, port)
            if scheme == "http" and not self.allow_insecure_http:
                shown = self.proxy_rules.shown.get("http")
                check_plain_http(outgoing, host, proxy, shown)
            response = await self._send(outgoing, scheme, proxy, deadline, budget)
            hop = redirect(outgoing, response, (scheme, host, port))
            if hop is None:
                if redirected:
                    return attrs.evolve(response, redirected=True)
                return response
            outgoing, redirected = hop, True
        raise too_many_redirects(outgoing, self.max_redirects)

    async def _send(
        self,
        request: Outgoing,
        scheme: str,
        proxy: str | None,
        deadline: float,
        budget: float,
    ) -> Response:
        """Send one hop and read its answer within what is left of the budget."""
        received: int | None = None  # body bytes read; None before the head came
        failure: Failure | None = None
        try:
            with anyio.fail_after(deadline - time.monotonic()):
                answer = await self._open(request, scheme, proxy)
                received = 0
                try:
                    failure = self._refuse_length(answer)
                    chunks: list[bytes] = []
                    if failure is None:
                        async for chunk in answer.aiter_bytes():
                            received += len(chunk)
                            if received > self.max_body_size:
                                failure = Failure(
                                    "too large",
                                    f"the {answer.status_code} answer is larger "
                                    f"than max_body_size={self.max_body_size}; "
                                    "reading stopped there",
                                )
                                break
                            chunks.append(chunk)
                finally:
                    await answer.aclose()
        except TimeoutError:
            stalled = (
                "" if received is None else f": the body stalled after {received} bytes"
            )
            failure = Failure(
                "read",
                f"the server did not answer in time{stalled} "
                f"(timeout={seconds(budget)})",
            )
        except httpx.TransportError as exc:
            shown = self.proxy_rules.shown.get(scheme) if proxy else None
            failure = self._failure(exc, shown, received)
        if failure is not None:
            # Raised here, outside the except blocks: httpx's exception holds
            # the request, its Authorization header included.
            raise failure.error(request.method, request.url, request.headers)
        return Response(
            status=answer.status_code,
            headers=dict(answer.headers.items()),
            body=b"".join(chunks),
            url=request.url,
        )

    def _refuse_length(self, answer: httpx.Response) -> Failure | None:
        """Refuse an answer whose Content-Length is over the cap, unread."""
        length = answer.headers.get("content-length", "")
        if not length.isdigit() or int(length) <= self.max_body_size:
            return None
        return Failure(
            "too large",
            f"the {answer.status_code} answer of {length} bytes is larger than "
            f"max_body_size={self.max_body_size}; it was not read",
        )

    def _failure(
        self, exc: httpx.TransportError, proxy: str | None, received: int | None
    ) -> Failure:
        """Say what an httpx failure means, in words of our own."""
        if isinstance(exc, httpx.ConnectTimeout):
            via = f" to the proxy {proxy}" if proxy else ""
            limit = seconds(self.connect_timeout)
            return Failure(
                "connect", f"connecting{via} timed out (connect_timeout={limit})"
            )
        if isinstance(exc, httpx.TimeoutException):  # a given client's own limits
            return Failure(
                "read", f"the server did not answer in time ({type(exc).__name__})"
            )
        if isinstance(exc, httpx.ProxyError):
            status = _STATUS_LINE.fullmatch(str(exc))
            detail = status.group() if status else type(exc).__name__
            return Failure(
                "connect", f"the proxy {proxy} refused the tunnel ({detail})"
            )
        if isinstance(exc, httpx.ConnectError):
            if _chain_has(exc, ssl.SSLError):
                via = f" through the proxy {proxy}" if proxy else ""
                return Failure("tls", f"TLS failed{via} ({tls_failure_text(exc)})")
            target = f" to the proxy {proxy}" if proxy else ""
            detail = os_error_text(exc) or "connection failed"
            return Failure("connect", f"could not connect{target} ({detail})")
        if received is None:
            detail = os_error_text(exc) or "the server closed it without an answer"
            return Failure("broke", f"the connection broke ({detail})")
        detail = os_error_text(exc) or "the answer was cut short"
        return Failure(
            "broke", f"the connection broke after {received} bytes ({detail})"
        )

    async def _open(
        self, request: Outgoing, scheme: str, proxy: str | None
    ) -> httpx.Response:
        """Send the request; return the answer with its body still to read."""
        method, url, headers, body, _ = request
        if self._given is not None:
            client = self._given
            built = client.build_request(method, url, headers=headers, content=body)
            return await client.send(built, stream=True, follow_redirects=False)
        # Straight to the connection pool: httpx.AsyncClient's cookies, auth,
        # hooks, redirects and logging would cost more than all the rest.
        built = httpx.Request(
            method, url, headers=headers, content=body, extensions=self._limits
        )
        return await self._pool(scheme, proxy).handle_async_request(built)

    def _pool(self, scheme: str, proxy: str | None) -> httpx.AsyncHTTPTransport:
        """Return the transport's own connection pool for a proxy (or none)."""
        key = None if proxy is None else (scheme, proxy)
        pool = self._pools.get(key)
        if pool is None:
            if self._ssl is None:
                self._ssl = make_ssl_context()
            via = None
            if proxy is not None:
                headers = dict(self.proxy_rules.headers.get(scheme, {}))
                tls = self._ssl if proxy.startswith("https:") else None
                via = httpx.Proxy(proxy, ssl_context=tls, headers=headers)
            pool = httpx.AsyncHTTPTransport(
                verify=self._ssl, proxy=via, trust_env=False
            )
            self._pools[key] = pool
        return pool


def _chain_has(error: BaseException, kind: type[BaseException]) -> bool:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
