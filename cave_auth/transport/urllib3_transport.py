"""The real transport, over urllib3: pooled, retrying, bounded, fork-safe.

Each :meth:`Urllib3Transport.request` has one deadline, ``timeout`` seconds
from its start, that connecting, waiting for a pooled connection, retries
(:mod:`cave_auth.transport.retry`), backoff and reading the body all come out
of. Connections are pooled per host; after ``os.fork`` the child opens its own
and never touches its parent's sockets. A pooled connection reset while idle
(a load balancer, NAT) shows only when a request is sent on it: then the
host's idle connections are closed and the request is sent once more on a
fresh one, POST included (``retry_stale_connections=False`` turns it off) —
a server that read a POST and then reset the connection sees it twice, but
warm serverless calls after an idle spell do not fail. Redirects, tokens on
plain http and messages follow :mod:`cave_auth.transport.rules`. urllib3 logs
request lines at DEBUG, and the TTL route's path holds the token: the first
transport adds a masking filter to the ``urllib3.connectionpool`` logger, this
module's one process-wide change. It (and urllib3) loads when
:class:`Urllib3Transport` is first named.
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING, Any

from .._redact import mask_token_paths_in_logs
from . import rules
from .attempt import (
    AttemptLimits,
    classify,
    close_idle_connections,
    pool_classes,
    read_body,
)
from .base import Response, default_port, split_url
from .proxy import ProxyRules
from .retry import Attempts
from .rules import DEFAULT_MAX_BODY_SIZE, Failure
from .trust import make_ssl_context

if TYPE_CHECKING:
    import ssl
    from collections.abc import Iterable, Mapping

    import urllib3

__all__ = ["DEFAULT_MAX_BODY_SIZE", "Urllib3Transport"]

_MAX_POOLS = 16


class Urllib3Transport:
    """The real transport: pooled, retrying, on a deadline, careful with tokens.

    Direct construction gets exactly what it is given; the edges (the CLI,
    :class:`~cave_auth.AuthClient`) use :meth:`from_env`, which adds the proxy
    and CA bundle variables requests and curl honour. Times are in seconds.

    Args:
        timeout: The whole budget of one :meth:`request`.
        connect_timeout: The limit of one attempt to connect (TLS and proxy
            tunnel included); ``read_timeout``: of one wait for data.
        retries: Further tries of a failed request, within the budget;
            ``backoff_factor`` 0.1 waits 0, 0.2, 0.4, 0.8 s between them.
        pool_maxsize: Connections kept per host; callers beyond wait.
        ca_certs: A PEM CA bundle, or ``ca_cert_dir`` hashed certificates, to
            trust instead of the system's store.
        proxy: A proxy URL, or a mapping from ``"http"``, ``"https"`` or
            ``"all"`` to one (credentials become ``Proxy-Authorization``, never
            shown); ``no_proxy``: hosts reached directly (see
            :mod:`cave_auth.transport.proxy`).
        allow_insecure_http: Allow tokens over plain http to any host or proxy.
        max_redirects: How many same-origin redirects are followed.
        retry_after_max: The longest ``Retry-After`` wait honoured.
        max_body_size: The largest answer body read, in bytes.
        retry_stale_connections: Send once more when a reused connection
            breaks before any answer byte (see above).

    Raises:
        InvalidInputError: If a number is out of range, a proxy URL is
            malformed or not http(s), or a CA bundle cannot be read.

    Example:
        >>> with Urllib3Transport(timeout=10) as http:
        ...     users = get_group_users(config, http, 7)
    """

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        read_timeout: float | None = None,
        retries: int = 3,
        backoff_factor: float = 0.1,
        pool_maxsize: int = 10,
        ca_certs: str | None = None,
        ca_cert_dir: str | None = None,
        proxy: str | Mapping[str, str] | None = None,
        no_proxy: str | Iterable[str] | None = None,
        allow_insecure_http: bool = False,
        max_redirects: int = 5,
        retry_after_max: float = 30.0,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        retry_stale_connections: bool = True,
    ) -> None:
        rules.check_positive("timeout", timeout)
        rules.check_positive("connect_timeout", connect_timeout)
        rules.check_positive("read_timeout", read_timeout)
        rules.check_positive("backoff_factor", backoff_factor, zero=True)
        rules.check_positive("retry_after_max", retry_after_max, zero=True)
        rules.check_positive("max_body_size", max_body_size)
        rules.check_count("retries", retries, 0)
        rules.check_count("pool_maxsize", pool_maxsize, 1)
        self.timeout = float(timeout)
        self.connect_timeout = float(connect_timeout)
        self.read_timeout = None if read_timeout is None else float(read_timeout)
        self.retries = retries
        self.backoff_factor = backoff_factor
        self.pool_maxsize = pool_maxsize
        self.ca_certs = ca_certs
        self.ca_cert_dir = ca_cert_dir
        self.allow_insecure_http = allow_insecure_http
        self.max_redirects = max_redirects
        self.retry_after_max = max(0.0, retry_after_max)
        self.max_body_size = max_body_size
        self.retry_stale_connections = retry_stale_connections
        self.proxy_rules = ProxyRules.build(proxy, no_proxy)
        # A bundle that was named is read now, so that a bad path fails here;
        # the system's store waits for the first https connection.
        self._ssl: ssl.SSLContext | None = None
        if ca_certs or ca_cert_dir:
            self._ssl = make_ssl_context(ca_certs, ca_cert_dir)
        import urllib3

        mask_token_paths_in_logs()  # urllib3 logs the TTL route's path, token and all
        self._urllib3 = urllib3
        self._no_retry = urllib3.Retry(False, redirect=False)
        self._pool_classes = pool_classes()
        self._start_pools()

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> Urllib3Transport:
        """Create a transport configured as requests and curl users expect.

        Reads the proxy (:mod:`~cave_auth.transport.proxy`) and CA bundle
        (:mod:`~cave_auth.transport.trust`) variables from ``environ``; an argument
        in ``overrides`` wins over the variables it stands for.

        Raises:
            InvalidInputError: If a variable or an override is malformed.
        """
        return cls(**rules.settings_from_env(environ, overrides))

    def __repr__(self) -> str:
        proxies = dict(self.proxy_rules.shown)
        return (
            f"Urllib3Transport(timeout={self.timeout!r}, "
            f"connect_timeout={self.connect_timeout!r}, retries={self.retries!r}, "
            f"pool_maxsize={self.pool_maxsize!r}, proxies={proxies!r}, "
            f"max_body_size={self.max_body_size!r})"
        )

    def __enter__(self) -> Urllib3Transport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every pooled connection (not a parent process's); usable again."""
        self._check_process()
        with self._lock:
            managers = list(self._managers.values())
            self._managers.clear()
            self._pools.clear()
        for manager in managers:
            manager.clear()

    def _start_pools(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._managers: dict[tuple[str, str | None], urllib3.PoolManager] = {}
        self._pools: dict[tuple[str | None, str, str, int], Any] = {}

    def _check_process(self) -> None:
        if self._pid != os.getpid():
            # Keep the parent's pools referenced, unused and unclosed.
            self._inherited = (self._managers, self._pools)
            self._start_pools()

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
        """Same as :meth:`Transport.request <cave_auth.transport.Transport.request>`.

        A redirect to another origin is returned, not followed.

        Raises:
            InsecureTransportError: If a token would go over plain http to a remote
                host, or through a proxy that is not on loopback.
            ResponseTooLargeError: If the body is over ``max_body_size``.
            TransportError: If no answer came within the budget, retries included.
            InvalidInputError: If ``url`` is not an http(s) URL.
        """
        rules.check_positive("timeout", timeout)
        budget = self.timeout if timeout is None else float(timeout)
        deadline = time.monotonic() + budget
        self._check_process()
        req = rules.prepare(method, url, headers, params, json)
        for _ in range(self.max_redirects + 1):
            origin = split_url(req.url)
            proxy = rules.proxy_for(
                req, origin, self.proxy_rules, self.allow_insecure_http
            )
            response = self._send(req, origin, proxy, deadline, budget)
            hop = rules.redirect(req, response, origin)
            if hop is None:
                return rules.answered(response, req)
            req = hop
        raise rules.too_many_redirects(req, self.max_redirects)

    def _send(
        self,
        request: rules.Outgoing,
        origin: tuple[str, str, int, str],
        proxy: str | None,
        deadline: float,
        budget: float,
    ) -> Response:
        """Make the attempts of one request within the deadline."""
        attempts = Attempts(request, self, deadline)
        stale_retried = False
        while True:
            try:
                outcome: Response | Failure = self._attempt(
                    request, origin, proxy, deadline, budget
                )
            except Failure as failure:
                outcome = failure
            stale = isinstance(outcome, Failure) and outcome.stale
            if stale and self.retry_stale_connections and not stale_retried:
                # Once, and not counted: the connection died before this request.
                stale_retried = True
                close_idle_connections(self._pools.get((proxy, *origin[:3])))
                continue
            wait = attempts.wait(outcome)
            if wait is None:
                return attempts.result(outcome)
            time.sleep(wait)

    def _limits(self, deadline: float, budget: float) -> AttemptLimits:
        """Return the limits of the next attempt, within what is left."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Failure("read", f"no answer within timeout={rules.seconds(budget)}")
        read, read_setting = remaining, "timeout"
        if self.read_timeout is not None and self.read_timeout < remaining:
            read, read_setting = self.read_timeout, "read_timeout"
        connect, connect_setting = remaining, "timeout"
        if self.connect_timeout < remaining:
            connect, connect_setting = self.connect_timeout, "connect_timeout"
        return AttemptLimits(connect, read, connect_setting, read_setting, budget)

    def _attempt(
        self,
        request: rules.Outgoing,
        origin: tuple[str, str, int, str],
        proxy: str | None,
        deadline: float,
        budget: float,
    ) -> Response:
        """Send the request once and read its answer, or raise ``Failure``."""
        method, url, headers, body, _ = request
        scheme, host, port, target = origin
        exceptions = self._urllib3.exceptions
        limits = self._limits(deadline, budget)
        send_headers = headers
        if proxy is not None and scheme == "http":
            # A forwarding proxy takes the absolute URL and needs the Host.
            target = url.split("#", 1)[0]
            send_headers = {"Host": _netloc(host, port, scheme), **headers}
        pool: Any = None
        failure: Failure | None = None
        for _ in range(2):
            pool = self._pool(proxy, scheme, host, port)
            try:
                raw = pool.urlopen(
                    method,
                    target,
                    body=body,
                    headers=send_headers,
                    retries=self._no_retry,
                    redirect=False,
                    timeout=self._urllib3.Timeout(
                        connect=limits.connect, read=limits.read
                    ),
                    pool_timeout=max(0.001, deadline - time.monotonic()),
                    preload_content=False,
                    release_conn=False,
                    assert_same_host=False,
                )
            except exceptions.ClosedPoolError:
                self._pools.pop((proxy, scheme, host, port), None)
                continue
            except exceptions.EmptyPoolError:
                busy = f"all {self.pool_maxsize} connections to {host} stayed busy"
                failure = Failure("read", busy)
            except exceptions.HTTPError as exc:
                shown = self.proxy_rules.shown.get(scheme) if proxy else None
                reused = bool(getattr(pool.handout, "reused", False))
                failure = classify(exc, proxy=shown, limits=limits, reused=reused)
            break
        else:
            failure = Failure("connect", f"the connection pool for {host} was closed")
        if failure is not None:
            # Raised here, not in the except block: urllib3's exception holds
            # the request's URL, and the TTL route's holds the token.
            raise failure
        try:
            return read_body(raw, url, deadline, limits, self.max_body_size, exceptions)
        except BaseException:
            raw.close()
            raw.release_conn()
            raise

    def _manager(self, proxy: str | None, scheme: str) -> urllib3.PoolManager:
        key = (scheme, proxy)
        manager = self._managers.get(key)
        if manager is None:
            urllib3 = self._urllib3
            # More pools than the transport keeps (_MAX_POOLS): the manager
            # must not close one the transport still holds.
            options: dict[str, Any] = {"num_pools": 32, "block": True}
            options["maxsize"] = self.pool_maxsize
            if scheme == "https":
                options["ssl_context"] = self._ssl_context()
            if proxy is None:
                manager = urllib3.PoolManager(**options)
            else:
                if proxy.startswith("https:"):
                    options["proxy_ssl_context"] = self._ssl_context()
                manager = urllib3.ProxyManager(
                    proxy,
                    proxy_headers=dict(self.proxy_rules.headers.get(scheme, {})),
                    **options,
                )
            manager.pool_classes_by_scheme = self._pool_classes
            self._managers[key] = manager
        return manager

    def _ssl_context(self) -> ssl.SSLContext:
        """Return the transport's TLS context, built once, on first need."""
        if self._ssl is None:
            self._ssl = make_ssl_context(self.ca_certs, self.ca_cert_dir)
        return self._ssl

    def _pool(self, proxy: str | None, scheme: str, host: str, port: int) -> Any:
        key = (proxy, scheme, host, port)
        pool = self._pools.get(key)
        if pool is None:
            with self._lock:
                pool = self._pools.get(key)
                if pool is None:
                    if len(self._pools) >= _MAX_POOLS:
                        self._pools.clear()
                    manager = self._manager(proxy, scheme)
                    pool = manager.connection_from_host(host, port, scheme)
                    self._pools[key] = pool
        return pool


def _netloc(host: str, port: int, scheme: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if port == default_port(scheme) else f"{shown}:{port}"
