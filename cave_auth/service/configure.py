"""How a service's checker is built: from explicit options or the environment.

:class:`CheckerOptions` holds what ``middle_auth_client`` reads from its
environment, parsed once (:meth:`CheckerOptions.from_env`), or given
explicitly; its methods build the parts of a checker from it: the
:class:`~cave_auth.service.Settings`, the transport (from the proxy and CA
bundle variables with :meth:`CheckerOptions.transport_from_env`), the
lookups, the cache (on Redis with ``redis_url``) and the
:class:`~cave_auth.service.Checker`. The Flask drop-in, the ASGI
middleware's :meth:`~cave_auth.service.asgi.AuthASGIMiddleware.from_env` and
:mod:`cave_auth.fastapi` all build their checkers here, so that a variable
means the same everywhere.

The variables: ``AUTH_URL`` (else ``AUTH_URI``, else
``localhost:5000/auth``), ``STICKY_AUTH_URL``, ``TOKEN_NAME``,
``AUTH_DISABLED`` (exactly ``true``), ``TOKEN_CACHE_MAXSIZE``,
``TOKEN_CACHE_TTL``, ``TOKEN_CACHE_REJECTED_TTL``,
``TOKEN_CACHE_STALE_IF_ERROR``, ``TOKEN_CACHE_MAX_LOOKUPS`` (0: no bound),
``TOKEN_CACHE_REDIS_URL``, ``TOKEN_CACHE_LOCAL_TTL``,
``TOKEN_CACHE_SKIP_LIMIT``, ``TOKEN_CACHE_SKIP_WINDOW_SEC``,
``DEBUG_OVERRIDE_DATASET_LOOKUP`` and ``AUTH_TRUSTED_ORIGINS`` (this
package's own: origins, separated by commas or spaces, whose pages may open
a WebSocket the cookie authenticates); the transport reads the proxy and CA
bundle variables (see :meth:`~cave_auth.Urllib3Transport.from_env`).

Example:
    >>> options = CheckerOptions.from_env({"AUTH_URL": "auth.example.org/auth",
    ...                                    "TOKEN_CACHE_TTL": "60"})
    >>> options.auth_url, options.cache_ttl
    ('https://auth.example.org/auth', 60.0)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from .cache import LookupCache, RefreshLimiter
from .checker import DEFAULT_MAX_LOOKUPS, Checker
from .lookups import TransportLookups
from .values import Settings, normalize_auth_url, normalize_origins

if TYPE_CHECKING:
    from ..transport import Transport, Urllib3Transport
    from .cache import CheckerCache

__all__ = ["CheckerOptions"]

N = TypeVar("N", int, float)


def _shown_if_unset(value: object) -> str:
    # A Redis URL may hold a password; a service token is a secret.
    return "None" if value is None else "<set>"


def _sticky_default(options: CheckerOptions) -> str:
    return options.auth_url


@attrs.frozen
class CheckerOptions:
    """What a service's checker is built from: the settings of the Flask drop-in.

    Attributes:
        auth_url: The auth service (``AUTH_URL``): ``host/auth``
            (``https://`` is assumed) or a full URL.
        sticky_auth_url: Where browsers log in (``STICKY_AUTH_URL``);
            ``auth_url`` by default.
        token_name: The cookie and query parameter holding a token
            (``TOKEN_NAME``).
        disabled: Let every request through (``AUTH_DISABLED``).
        cache_maxsize: The most answers a process keeps
            (``TOKEN_CACHE_MAXSIZE``).
        cache_ttl: Seconds an answer is kept (``TOKEN_CACHE_TTL``).
        rejected_ttl: Seconds a rejection is kept
            (``TOKEN_CACHE_REJECTED_TTL``).
        stale_if_error: Seconds past its TTL an answer is still served while
            the auth service is down (``TOKEN_CACHE_STALE_IF_ERROR``).
        max_lookups: Lookups in flight at once per process, ``None`` for no
            bound (``TOKEN_CACHE_MAX_LOOKUPS``, where 0 means no bound).
        redis_url: A Redis shared by the fleet (``TOKEN_CACHE_REDIS_URL``,
            the ``redis`` extra). Never shown by repr: it may hold a password.
        local_ttl: Seconds a process answers from its own copy before asking
            Redis again (``TOKEN_CACHE_LOCAL_TTL``).
        refresh_limit: Refreshes of a user after a denial per window
            (``TOKEN_CACHE_SKIP_LIMIT``).
        refresh_window: That window, in seconds
            (``TOKEN_CACHE_SKIP_WINDOW_SEC``).
        timeout: The time budget of each lookup, in seconds.
        ca_certs: A CA bundle for an explicitly built transport.
        dataset_override: The dataset every table belongs to
            (``DEBUG_OVERRIDE_DATASET_LOOKUP``), for the Flask helpers.
        service_token: The service's own token, for table lookups and public
            checks (what Flask apps set as ``app.config["AUTH_TOKEN"]``; no
            variable is read for it). Never shown by repr.
        service_namespace: The default namespace of table lookups
            (``app.config["AUTH_SERVICE_NAMESPACE"]`` in Flask).
        trusted_origins: Origins besides the service's own whose pages may
            open a WebSocket that the cookie authenticates
            (``AUTH_TRUSTED_ORIGINS``).
    """

    auth_url: str = attrs.field(converter=normalize_auth_url)
    sticky_auth_url: str = attrs.field(
        default=attrs.Factory(_sticky_default, takes_self=True),
        converter=normalize_auth_url,
    )
    token_name: str = "middle_auth_token"
    disabled: bool = attrs.field(default=False, converter=bool)
    cache_maxsize: int = 1024
    cache_ttl: float = 300.0
    rejected_ttl: float = 5.0
    stale_if_error: float = 0.0
    max_lookups: int | None = DEFAULT_MAX_LOOKUPS
    redis_url: str | None = attrs.field(default=None, repr=_shown_if_unset)
    local_ttl: float = 1.0
    refresh_limit: int = 20
    refresh_window: float = 300.0
    timeout: float = 5.0
    ca_certs: str | None = None
    dataset_override: str | None = None
    service_token: str | None = attrs.field(default=None, repr=_shown_if_unset)
    service_namespace: str = "datastack"
    trusted_origins: frozenset[str] = attrs.field(
        default=frozenset(), converter=normalize_origins
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> CheckerOptions:
        """Read ``middle_auth_client``'s variables (see the module's list).

        Args:
            environ: The environment mapping, e.g. ``os.environ``.

        Returns:
            The options; a variable that is not set keeps its default.

        Raises:
            ValueError: If a number variable is malformed; the message names
                the variable and its value.
        """
        auth_url = environ.get(
            "AUTH_URL", environ.get("AUTH_URI", "localhost:5000/auth")
        )
        max_lookups = _number(
            environ, "TOKEN_CACHE_MAX_LOOKUPS", int, DEFAULT_MAX_LOOKUPS
        )
        return cls(
            auth_url,
            environ.get("STICKY_AUTH_URL", auth_url),
            token_name=environ.get("TOKEN_NAME", "middle_auth_token"),
            disabled=environ.get("AUTH_DISABLED", "false") == "true",
            cache_maxsize=_number(environ, "TOKEN_CACHE_MAXSIZE", int, 1024),
            cache_ttl=_number(environ, "TOKEN_CACHE_TTL", float, 300.0),
            rejected_ttl=_number(environ, "TOKEN_CACHE_REJECTED_TTL", float, 5.0),
            stale_if_error=_number(environ, "TOKEN_CACHE_STALE_IF_ERROR", float, 0.0),
            max_lookups=max_lookups or None,
            redis_url=environ.get("TOKEN_CACHE_REDIS_URL") or None,
            local_ttl=_number(environ, "TOKEN_CACHE_LOCAL_TTL", float, 1.0),
            refresh_limit=_number(environ, "TOKEN_CACHE_SKIP_LIMIT", int, 20),
            refresh_window=_number(
                environ, "TOKEN_CACHE_SKIP_WINDOW_SEC", float, 300.0
            ),
            dataset_override=environ.get("DEBUG_OVERRIDE_DATASET_LOOKUP"),
            trusted_origins=_origins(environ),
        )

    def settings(self) -> Settings:
        """Return the decision's settings."""
        return Settings(
            self.auth_url,
            self.sticky_auth_url,
            token_name=self.token_name,
            disabled=self.disabled,
            service_namespace=self.service_namespace,
            service_token=self.service_token,
            trusted_origins=self.trusted_origins,
        )

    def transport(self) -> Urllib3Transport:
        """Return a new transport with ``timeout`` and ``ca_certs`` only.

        No environment is read; see :meth:`transport_from_env`.
        """
        from ..transport import Urllib3Transport

        return Urllib3Transport(
            timeout=self.timeout,
            ca_certs=self.ca_certs,
            allow_insecure_http=self.auth_url.startswith("http://"),
        )

    def transport_from_env(self, environ: Mapping[str, str]) -> Urllib3Transport:
        """Return a new transport honouring the proxy and CA bundle variables.

        ``HTTPS_PROXY``, ``NO_PROXY``, ... and ``REQUESTS_CA_BUNDLE``,
        ``CURL_CA_BUNDLE``, ``SSL_CERT_FILE``, ``SSL_CERT_DIR`` count, as in
        requests (which ``middle_auth_client`` talks through).

        Args:
            environ: The environment mapping, e.g. ``os.environ``.

        Returns:
            The transport.

        Raises:
            InvalidInputError: If a proxy or CA bundle variable is malformed.
        """
        from ..transport import Urllib3Transport

        return Urllib3Transport.from_env(
            environ,
            timeout=self.timeout,
            allow_insecure_http=self.auth_url.startswith("http://"),
        )

    def lookups(self, transport: Transport) -> TransportLookups:
        """Return the lookups of the auth service through ``transport``."""
        return TransportLookups(self.auth_url, transport, self.timeout)

    def cache(self) -> CheckerCache:
        """Return a new cache: a shared one on Redis with ``redis_url``."""
        options: dict[str, Any] = {
            "maxsize": self.cache_maxsize,
            "ttl": self.cache_ttl,
            "rejected_ttl": self.rejected_ttl,
            "stale_if_error": self.stale_if_error,
        }
        if self.redis_url:
            from .redis import RedisCache

            return RedisCache.from_url(
                self.redis_url, local_ttl=self.local_ttl, **options
            )
        return LookupCache(**options)

    def checker(
        self, lookups: TransportLookups, *, cache: CheckerCache | None = None
    ) -> Checker:
        """Return a new checker over ``lookups``.

        Args:
            lookups: The lookups (see :meth:`lookups`).
            cache: The cache, used exactly as given; a new one made of the
                cache options (:meth:`cache`) if omitted.

        Returns:
            The checker, with its own :class:`~cave_auth.service.RefreshLimiter`.
        """
        return Checker(
            self.settings(),
            lookups,
            cache=self.cache() if cache is None else cache,
            refresh=RefreshLimiter(
                limit=self.refresh_limit, window=self.refresh_window
            ),
            max_lookups=self.max_lookups,
        )


def _number(
    environ: Mapping[str, str], name: str, kind: Callable[[str], N], default: Any
) -> N:
    """Read a number variable; a malformed one is an error naming it."""
    raw = environ.get(name)
    if raw is None:
        return default  # type: ignore[no-any-return]
    try:
        return kind(raw)
    except ValueError:
        pass
    expected = "a whole number" if kind is int else "a number of seconds"
    raise ValueError(
        f"{name} must be {expected}, not {raw!r}: fix or unset the variable"
    )


def _origins(environ: Mapping[str, str]) -> frozenset[str]:
    """Read ``AUTH_TRUSTED_ORIGINS``; a malformed one is an error naming it."""
    try:
        return normalize_origins(environ.get("AUTH_TRUSTED_ORIGINS", ""))
    except ValueError as exc:
        raise ValueError(
            f"AUTH_TRUSTED_ORIGINS: {exc}; fix or unset the variable"
        ) from None
