"""The async transport, over httpx: the rules and retries of Urllib3Transport.

Its deadline is an ``anyio.fail_after`` scope: anyio comes with httpx, and
serves asyncio and trio alike. A pooled connection the server has closed is
dropped by httpcore before use, so there is no stale-connection retry here.
Imported when the class is first named.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

from .._redact import mask_token_paths_in_logs
from ..errors import InvalidInputError
from . import rules
from .base import Response, split_url
from .proxy import ProxyRules
from .retry import Attempts
from .rules import Failure
from .trust import make_ssl_context

try:
    import anyio
    import httpx
except ImportError as error:
    raise ImportError(
        "cave_auth.aio.HttpxTransport needs httpx: pip install 'cave-auth[httpx]'"
    ) from error

if TYPE_CHECKING:
    import ssl
    from collections.abc import Iterable, Mapping

__all__ = ["HttpxTransport"]


class HttpxTransport:
    """An :class:`~cave_auth.AsyncTransport` over httpx, for :mod:`cave_auth.aio`.

    Without ``client`` it keeps pools of its own (one per proxy), closed by
    :meth:`aclose` or ``async with``: they read no environment variable, trust
    the CAs ``Urllib3Transport`` trusts, and keep no cookies. A ``client``
    (``httpx.AsyncClient``) is used as it is and never closed. Other arguments
    mean what they do for ``Urllib3Transport``. One event loop per transport.

    Raises:
        InvalidInputError: If a setting is malformed, or ``client`` comes with
            proxy or CA settings.

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
        retries: int = 3,
        backoff_factor: float = 0.1,
        retry_after_max: float = 30.0,
        max_redirects: int = 5,
        max_body_size: int = rules.DEFAULT_MAX_BODY_SIZE,
        allow_insecure_http: bool = False,
        ca_certs: str | None = None,
        ca_cert_dir: str | None = None,
        proxy: str | Mapping[str, str] | None = None,
        no_proxy: str | Iterable[str] | None = None,
    ) -> None:
        rules.check_positive("timeout", timeout)
        rules.check_positive("connect_timeout", connect_timeout)
        rules.check_positive("max_body_size", max_body_size)
        rules.check_positive("backoff_factor", backoff_factor, zero=True)
        rules.check_positive("retry_after_max", retry_after_max, zero=True)
        rules.check_count("retries", retries, 0)
        rules.check_count("max_redirects", max_redirects, 0)
        if client is not None and (proxy or no_proxy or ca_certs or ca_cert_dir):
            raise InvalidInputError(
                "proxy, no_proxy, ca_certs and ca_cert_dir set up the transport's "
                "own pools: give them to the httpx.AsyncClient you pass instead"
            )
        self.timeout = float(timeout)
        self.connect_timeout = float(connect_timeout)
        self.retries = retries
        self.backoff_factor = backoff_factor
        self.retry_after_max = retry_after_max
        self.max_redirects = max_redirects
        self.max_body_size = max_body_size
        self.allow_insecure_http = allow_insecure_http
        self.proxy_rules = ProxyRules.build(proxy, no_proxy)
        # A named bundle is read now, so that a bad path fails here.
        self._ssl: ssl.SSLContext | None = None
        if ca_certs or ca_cert_dir:
            self._ssl = make_ssl_context(ca_certs, ca_cert_dir)
        self._given = client
        self._pools: dict[tuple[str, str] | None, httpx.AsyncHTTPTransport] = {}
        # The deadline bounds the rest; httpcore reads these per request.
        self._limits = {"timeout": {"connect": self.connect_timeout}}
        mask_token_paths_in_logs("httpx")  # its request lines show the TTL token

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> HttpxTransport:
        """Same as ``Urllib3Transport.from_env`` but for this transport."""
        return cls(**rules.settings_from_env(environ, overrides))

    def __repr__(self) -> str:
        client = "own" if self._given is None else "given"
        return (
            f"HttpxTransport(timeout={self.timeout!r}, connect_timeout="
            f"{self.connect_timeout!r}, retries={self.retries!r}, "
            f"max_redirects={self.max_redirects!r}, "
            f"proxies={dict(self.proxy_rules.shown)!r}, "
            f"max_body_size={self.max_body_size!r}, client={client})"
        )

    async def __aenter__(self) -> HttpxTransport:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the transport's own pools (a given client stays open)."""
        pools, self._pools = self._pools, {}
        for pool in pools.values():
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
        """Same as ``Urllib3Transport.request`` but awaited."""
        rules.check_positive("timeout", timeout)
        budget = self.timeout if timeout is None else float(timeout)
        deadline = time.monotonic() + budget
        req = rules.prepare(method, url, headers, params, json)
        for _ in range(self.max_redirects + 1):
            origin = split_url(req.url)
            proxy = rules.proxy_for(
                req, origin, self.proxy_rules, self.allow_insecure_http
            )
            response = await self._send(req, origin, proxy, deadline, budget)
            hop = rules.redirect(req, response, origin)
            if hop is None:
                return rules.answered(response, req)
            req = hop
        raise rules.too_many_redirects(req, self.max_redirects)

    async def _send(
        self,
        request: rules.Outgoing,
        origin: tuple[str, str, int, str],
        proxy: str | None,
        deadline: float,
        budget: float,
    ) -> Response:
        """Make the attempts of one hop within the deadline, as Urllib3Transport."""
        attempts = Attempts(request, self, deadline)
        while True:
            try:
                outcome: Response | Failure = await self._attempt(
                    request, origin, proxy, deadline, budget
                )
            except Failure as failure:
                outcome = failure
            wait = attempts.wait(outcome)
            if wait is None:
                return attempts.result(outcome)
            await anyio.sleep(wait)

    async def _attempt(
        self,
        request: rules.Outgoing,
        origin: tuple[str, str, int, str],
        proxy: str | None,
        deadline: float,
        budget: float,
    ) -> Response:
        """Send one hop once and read its answer, or raise ``Failure``."""
        received: int | None = None  # body bytes read; None before the head came
        failure: Failure | None = None
        try:
            with anyio.fail_after(deadline - time.monotonic()):
                async with await self._open(request, origin[0], proxy) as answer:
                    received = 0
                    status, cap = answer.status_code, self.max_body_size
                    length = answer.headers.get("content-length", "")
                    if length.isdigit() and int(length) > cap:
                        failure = rules.too_large(status, cap, int(length))
                    chunks: list[bytes] = []
                    if failure is None:
                        async for chunk in answer.aiter_bytes():
                            received += len(chunk)
                            if received > cap:
                                failure = rules.too_large(status, cap)
                                break
                            chunks.append(chunk)
        except TimeoutError:
            text = "the server did not answer in time"
            if received is not None:
                text += f": the body stalled after {received} bytes"
            failure = Failure("read", f"{text} (timeout={rules.seconds(budget)})")
        except httpx.TransportError as exc:
            shown = self.proxy_rules.shown.get(origin[0]) if proxy else None
            failure = self._failure(exc, shown, received)
        if failure is not None:
            # Raised outside the except blocks: httpx's exception holds the
            # request, its Authorization header included.
            raise failure
        return Response(
            status=answer.status_code,
            headers=dict(answer.headers.items()),
            body=b"".join(chunks),
            url=request.url,
        )

    def _failure(self, exc: Exception, proxy: str | None, read: int | None) -> Failure:
        """Say what an httpx failure means, in the words Urllib3Transport uses."""
        to_proxy = f" to the proxy {proxy}" if proxy else ""
        if isinstance(exc, httpx.ConnectTimeout):
            limit = f"connect_timeout={rules.seconds(self.connect_timeout)}"
            return Failure("connect", f"connecting{to_proxy} timed out ({limit})")
        if isinstance(exc, httpx.TimeoutException):  # a given client's own limits
            text = f"the server did not answer in time ({type(exc).__name__})"
            return Failure("read", text)
        if isinstance(exc, httpx.ProxyError):  # its text: the proxy's status line
            return Failure("connect", f"the proxy {proxy} refused the tunnel ({exc})")
        tls = rules.tls_failure_text(exc)
        if isinstance(exc, httpx.ConnectError) and tls:
            via = f" through the proxy {proxy}" if proxy else ""
            return Failure("tls", f"TLS failed{via} ({tls})")
        detail = rules.os_error_text(exc)
        if isinstance(exc, httpx.ConnectError):
            detail = detail or "connection failed"
            return Failure("connect", f"could not connect{to_proxy} ({detail})")
        if read is None:
            detail = detail or "the server closed it without an answer"
            return Failure("broke", f"the connection broke ({detail})")
        detail = detail or "the answer was cut short"
        return Failure("broke", f"the connection broke after {read} bytes ({detail})")

    async def _open(
        self, request: rules.Outgoing, scheme: str, proxy: str | None
    ) -> contextlib.AbstractAsyncContextManager[httpx.Response]:
        """Send the request; the answer's body is read in the ``async with``."""
        method, url, headers, body, _ = request
        if self._given is not None:
            return self._given.stream(
                method, url, headers=headers, content=body, follow_redirects=False
            )
        # Straight to the pool: httpx.AsyncClient's cookies, auth, hooks,
        # redirects and logging would cost more than all the rest.
        built = httpx.Request(
            method, url, headers=headers, content=body, extensions=self._limits
        )
        pool = self._pool(scheme, proxy)
        return contextlib.aclosing(await pool.handle_async_request(built))

    def _pool(self, scheme: str, proxy: str | None) -> httpx.AsyncHTTPTransport:
        """Return the transport's own connection pool for a proxy (or none)."""
        key = None if proxy is None else (scheme, proxy)
        pool = self._pools.get(key)
        if pool is None:
            self._ssl = self._ssl or make_ssl_context()
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
