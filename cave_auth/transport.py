"""The HTTP layer: one small protocol, one frozen response, one real transport.

Endpoint functions (:mod:`cave_auth.api`) only ever call
:meth:`Transport.request` and read the :class:`Response` it returns, so any
object with that one method can stand in for the network: the real
:class:`Urllib3Transport`, :class:`cave_auth.testing.FakeTransport` in unit
tests, or a user's own adapter.

:class:`Urllib3Transport` keeps one :class:`urllib3.PoolManager` (keep-alive,
bounded pools) and holds on to each host's connection pool, retries
connection failures and 502/503/504 answers (413 and 429 too, when they carry
``Retry-After``) with exponential backoff for idempotent methods only (a POST
that reached the server is never sent twice), honours ``Retry-After`` up to a
cap, and applies a connect and a read timeout. It follows redirects itself,
and only within the same host (an ``http`` to ``https`` upgrade included), so
an ``Authorization`` header never reaches another host. Before any byte is
sent it refuses to put a bearer token on plain ``http://`` to a host that is
not loopback, unless the caller opted in. urllib3 is imported when the first
transport is created, not when ``cave_auth`` is.
"""

from __future__ import annotations

import functools
import json as _json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

from .errors import InsecureTransportError, InvalidInputError, TransportError

if TYPE_CHECKING:
    import urllib3

__all__ = ["IDEMPOTENT_METHODS", "Response", "Transport", "Urllib3Transport"]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
"""Methods a transport may send again after a failure; POST is not one."""

RETRY_STATUSES = frozenset({502, 503, 504})
"""Statuses a gateway answers when a retry may succeed."""

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


def _body_repr(body: bytes) -> str:
    return f"<{len(body)} bytes>"


@attrs.frozen
class Response:
    """An HTTP answer, read in full.

    Attributes:
        status: The status code.
        headers: The response headers, names in lower case.
        body: The raw body. ``repr`` shows only its length.
        url: The URL that gave this answer (after redirects).
        redirected: Whether a redirect was followed to get here.
    """

    status: int
    headers: Mapping[str, str] = attrs.field(factory=dict)
    body: bytes = attrs.field(default=b"", repr=_body_repr)
    url: str = ""
    redirected: bool = False

    def header(self, name: str) -> str | None:
        """Return the value of a header, whatever the case of its name.

        Args:
            name: The header name.

        Returns:
            Its value, or ``None`` if absent.
        """
        return self.headers.get(name.lower())


@runtime_checkable
class Transport(Protocol):
    """Sends one HTTP request and returns its answer; the network, abstracted."""

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        params: Mapping[str, str] | None = None,
        json: Any = None,
        timeout: float | None = None,
    ) -> Response:
        """Send a request and return the answer, whatever its status.

        Args:
            method: The HTTP method, e.g. ``"GET"``.
            url: The absolute URL, without query string.
            headers: Headers to send (``Authorization`` among them).
            params: Query parameters to append to the URL.
            json: A value to send as a JSON body, or ``None`` for no body.
            timeout: A read timeout in seconds for this request, overriding
                the transport's default.

        Returns:
            The answer; error statuses are returned, not raised.

        Raises:
            TransportError: If no answer was received (refused, timed out,
                TLS failure).
            InsecureTransportError: If the request would expose a token.
        """
        ...


@runtime_checkable
class AsyncTransport(Protocol):
    """The async twin of :class:`Transport`, which :mod:`cave_auth.aio` runs on.

    ``cave_auth`` ships no async client and depends on none: wrap the one you
    use (httpx, aiohttp, ...) in a class with this one coroutine method. The
    asynchronous tutorial shows an adapter for ``httpx.AsyncClient``.
    """

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
        """Send a request and return the answer, whatever its status.

        Args:
            method: The HTTP method, e.g. ``"GET"``.
            url: The absolute URL, without query string.
            headers: Headers to send (``Authorization`` among them).
            params: Query parameters to append to the URL.
            json: A value to send as a JSON body, or ``None`` for no body.
            timeout: A read timeout in seconds for this request.

        Returns:
            The answer, read in full; error statuses are returned, not raised.

        Raises:
            TransportError: If no answer was received; an adapter maps its
                client's exceptions to it.
        """
        ...


@functools.lru_cache(maxsize=256)
def is_loopback_host(host: str) -> bool:
    """Tell whether ``host`` names this machine (127.0.0.0/8, ::1, localhost).

    Names under ``.localhost`` are not trusted: the system resolver may map
    them anywhere.

    Args:
        host: A host name or IP address, IPv6 with or without brackets.

    Returns:
        ``True`` for a loopback address or a ``localhost`` name.
    """
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost":
        return True
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _split_url(url: str) -> tuple[str, str, int, str]:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        raise InvalidInputError(f"Not an http(s) URL: {url!r}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInputError(f"Not an http(s) URL: {url!r}")
    host = parts.hostname
    if not host:
        raise InvalidInputError(f"URL has no host: {url!r}")
    try:
        port = parts.port
    except ValueError:
        raise InvalidInputError(f"URL has an invalid port: {url!r}") from None
    if port is None:
        port = 443 if scheme == "https" else 80
    # The fragment is never sent; a query may follow a URL with no path.
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, host.lower(), port, target


def _drop_header(headers: dict[str, str], name: str) -> None:
    for key in [key for key in headers if key.lower() == name]:
        del headers[key]


def _may_follow(origin: tuple[str, str, int], url: str) -> bool:
    try:
        scheme, host, port, _ = _split_url(url)
    except InvalidInputError:
        return False
    if host != origin[1]:
        return False
    return (scheme, port) == (origin[0], origin[2]) or (
        origin[0] == "http" and scheme == "https"
    )


@functools.cache
def _lenient_retry() -> type[urllib3.Retry]:
    """Return urllib3's ``Retry``, changed to ignore a malformed ``Retry-After``.

    urllib3 raises ``InvalidHeader`` for a ``Retry-After`` it cannot parse,
    which would turn a 503 that may be retried into an exception; this one
    waits the backoff instead.

    Returns:
        The subclass, created once, when the first transport is.
    """
    import urllib3

    class LenientRetry(urllib3.Retry):
        def get_retry_after(self, response: urllib3.BaseHTTPResponse) -> float | None:
            try:
                return super().get_retry_after(response)
            except urllib3.exceptions.InvalidHeader:
                return None

    return LenientRetry


class Urllib3Transport:
    """The real transport: pooled, retrying, timing out, careful with tokens.

    Args:
        timeout: Read timeout in seconds.
        connect_timeout: Connect timeout in seconds.
        retries: How many times a failed idempotent request is tried again
            (connection errors, read errors, 502/503/504, and a 413 or 429
            that carries ``Retry-After``).
        backoff_factor: Base of the exponential backoff between retries, in
            seconds (0.1 waits 0, 0.2, 0.4, 0.8 s: the first retry is
            immediate, as urllib3 does it).
        pool_maxsize: Connections kept per host; callers beyond that wait.
        ca_certs: A CA bundle to verify TLS servers with, instead of the
            system's.
        allow_insecure_http: Allow tokens over plain http to any host.
        max_redirects: How many same-host redirects are followed.
        retry_after_max: The longest ``Retry-After`` wait honoured, in
            seconds.

    Example:
        >>> with Urllib3Transport(timeout=10) as http:
        ...     users = get_group_users(config, http, 7)
    """

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        retries: int = 3,
        backoff_factor: float = 0.1,
        pool_maxsize: int = 10,
        ca_certs: str | None = None,
        allow_insecure_http: bool = False,
        max_redirects: int = 5,
        retry_after_max: float = 30.0,
    ) -> None:
        import urllib3

        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.retries = retries
        self.backoff_factor = backoff_factor
        self.pool_maxsize = pool_maxsize
        self.ca_certs = ca_certs
        self.allow_insecure_http = allow_insecure_http
        self.max_redirects = max_redirects
        self._urllib3 = urllib3
        self._retry = _lenient_retry()(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            other=0,
            redirect=False,
            allowed_methods=IDEMPOTENT_METHODS,
            status_forcelist=RETRY_STATUSES,
            backoff_factor=backoff_factor,
            backoff_max=max(retry_after_max, backoff_factor),
            raise_on_status=False,
            raise_on_redirect=False,
            respect_retry_after_header=True,
            # urllib3 annotates an int but only compares and sleeps with it,
            # so a fractional cap works and is not truncated to 0.
            retry_after_max=max(0.0, retry_after_max),  # type: ignore[arg-type]
        )
        self._timeout = urllib3.Timeout(connect=connect_timeout, read=timeout)
        self._manager = urllib3.PoolManager(
            num_pools=32,
            maxsize=pool_maxsize,
            block=True,
            cert_reqs="CERT_REQUIRED",
            ca_certs=ca_certs,
        )
        self._pools: dict[tuple[str, str, int], urllib3.HTTPConnectionPool] = {}

    def __repr__(self) -> str:
        return (
            f"Urllib3Transport(timeout={self.timeout!r}, "
            f"connect_timeout={self.connect_timeout!r}, retries={self.retries!r}, "
            f"pool_maxsize={self.pool_maxsize!r})"
        )

    def __enter__(self) -> Urllib3Transport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every pooled connection. The transport can be used again."""
        self._pools.clear()
        self._manager.clear()

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        params: Mapping[str, str] | None = None,
        json: Any = None,
        timeout: float | None = None,
    ) -> Response:
        """Send a request; see :class:`Transport`.

        Args:
            method: The HTTP method.
            url: The absolute URL, without query string.
            headers: Headers to send.
            params: Query parameters.
            json: A JSON body, or ``None``.
            timeout: A read timeout for this request, in seconds.

        Returns:
            The final answer; a redirect to another host is returned, not
            followed.

        Raises:
            InsecureTransportError: If a token would go over plain http to a
                remote host.
            TransportError: If the server could not be reached or did not
                answer in time, after the retries.
            InvalidInputError: If ``url`` is not an http(s) URL.
        """
        method = method.upper()
        send_headers = dict(headers)
        body: bytes | None = None
        if json is not None:
            body = _json.dumps(json).encode()
            _drop_header(send_headers, "content-type")
            send_headers["Content-Type"] = "application/json"
        if params:
            from urllib.parse import urlencode

            url = f"{url}{'&' if '?' in url else '?'}{urlencode(params, safe=',')}"
        has_token = any(name.lower() == "authorization" for name in send_headers)
        if timeout is None:
            request_timeout = self._timeout
        else:
            request_timeout = self._urllib3.Timeout(
                connect=self.connect_timeout, read=timeout
            )
        redirected = False
        for _ in range(self.max_redirects + 1):
            scheme, host, port, target = _split_url(url)
            if (
                has_token
                and scheme == "http"
                and not self.allow_insecure_http
                and not is_loopback_host(host)
            ):
                raise InsecureTransportError(
                    f"Refusing to send a token over plain http to {host}: use "
                    "https, or create the transport with allow_insecure_http=True"
                )
            raw = self._urlopen(
                method,
                url,
                scheme,
                host,
                port,
                target,
                body,
                send_headers,
                request_timeout,
            )
            location = raw.headers.get("Location")
            if raw.status in _REDIRECT_STATUSES and location:
                from urllib.parse import urljoin

                next_url = urljoin(url, location)
                if _may_follow((scheme, host, port), next_url):
                    if raw.status == 303 or (
                        raw.status in (301, 302) and method == "POST"
                    ):
                        method, body = "GET", None
                        _drop_header(send_headers, "content-type")
                    url, redirected = next_url, True
                    continue
            return Response(
                status=raw.status,
                headers={
                    name.lower(): value for name, value in raw.headers.itermerged()
                },
                body=raw.data,
                url=url,
                redirected=redirected,
            )
        shown = _redact(url, send_headers)
        raise TransportError(
            f"{method} {shown}: more than {self.max_redirects} redirects",
            method=method,
            url=shown,
        )

    def _pool(self, scheme: str, host: str, port: int) -> urllib3.HTTPConnectionPool:
        key = (scheme, host, port)
        pool = self._pools.get(key)
        if pool is None:
            if len(self._pools) >= 16:
                self._pools.clear()
            pool = self._manager.connection_from_host(host, port, scheme)
            self._pools[key] = pool
        return pool

    def _urlopen(
        self,
        method: str,
        url: str,
        scheme: str,
        host: str,
        port: int,
        target: str,
        body: bytes | None,
        headers: Mapping[str, str],
        timeout: urllib3.Timeout,
    ) -> urllib3.BaseHTTPResponse:
        exceptions = self._urllib3.exceptions
        try:
            for _ in range(2):
                pool = self._pool(scheme, host, port)
                try:
                    return pool.urlopen(
                        method,
                        target,
                        body=body,
                        headers=headers,
                        retries=self._retry,
                        redirect=False,
                        timeout=timeout,
                        preload_content=True,
                        assert_same_host=False,
                    )
                except exceptions.ClosedPoolError:
                    self._pools.pop((scheme, host, port), None)
            raise exceptions.ClosedPoolError(pool, "the pool was closed")
        except exceptions.MaxRetryError as exc:
            raise _transport_error(method, url, exc.reason or exc, headers) from None
        except exceptions.HTTPError as exc:
            raise _transport_error(method, url, exc, headers) from None


def _redact(text: str, headers: Mapping[str, str]) -> str:
    """Mask the bearer token of ``headers`` wherever it occurs in ``text``.

    A server may put the token into a redirect URL, which then reaches an
    error message; the token is never shown.
    """
    for name, value in headers.items():
        if name.lower() == "authorization" and value.startswith("Bearer "):
            token = value[len("Bearer ") :]
            if token:
                text = text.replace(token, "<token>")
    return text


def _transport_error(
    method: str, url: str, reason: BaseException, headers: Mapping[str, str]
) -> TransportError:
    import urllib3.exceptions as exceptions

    # NewConnectionError (refused, unresolvable) derives from
    # ConnectTimeoutError, so it is tested first.
    if isinstance(reason, exceptions.SSLError):
        what = "TLS failed"
    elif isinstance(
        reason, exceptions.NewConnectionError | exceptions.NameResolutionError
    ):
        what = "could not connect"
    elif isinstance(reason, exceptions.ConnectTimeoutError):
        what = "connecting timed out"
    elif isinstance(reason, exceptions.ReadTimeoutError | TimeoutError):
        what = "the server did not answer in time"
    elif isinstance(reason, exceptions.ProtocolError):
        what = "the connection broke"
    else:
        what = "the request failed"
    detail = str(reason).rpartition("): ")[2] or type(reason).__name__
    url = _redact(url, headers)
    detail = _redact(detail, headers)
    return TransportError(f"{method} {url}: {what} ({detail})", method=method, url=url)
