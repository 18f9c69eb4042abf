"""One app's token checking: its state, built explicitly or from the environment.

:func:`init_app` builds a :class:`FlaskAuth` from what it is given, its
transport included. Without it, ``current()`` builds one from
``os.environ`` at the app's first checked request (once, however many
requests arrive first together), with a transport from
:meth:`~cave_auth.Urllib3Transport.from_env` (proxies and CA bundles, as
requests reads them). Either way the state lives in
``app.extensions["cave_auth"]``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from typing import Any, cast

import attrs
import flask

from ..service.cache import CheckerCache
from ..service.checker import Checker
from ..service.configure import CheckerOptions
from ..service.lookups import TransportLookups
from ..service.values import Settings
from ..transport import Transport

__all__ = [
    "EXTENSION",
    "FlaskAuth",
    "UserLookup",
    "current",
    "init_app",
    "init_from_env",
    "setPermissionLookupOverride",
]

EXTENSION = "cave_auth"
"""The key of an app's :class:`FlaskAuth` in ``app.extensions``."""

_BUILD_LOCK = "cave_auth.build_lock"
"""The key of the lock ``current()`` builds an app's state under."""

UserLookup = Callable[[str], Mapping[str, Any] | None]
"""A replacement of the ``/user/cache`` lookup: token -> user record or falsy."""

_SETTINGS = frozenset(
    {
        *(field.name for field in attrs.fields(CheckerOptions)),
        "permission_lookup",
    }
) - {"auth_url", "sticky_auth_url"}


class _Override:
    """The process-wide ``setPermissionLookupOverride`` function, if any."""

    function: UserLookup | None = None


@attrs.define(repr=False)
class FlaskAuth:
    """One app's token checking: settings, transport, cache and checker.

    Attributes:
        settings: The service settings.
        transport: The HTTP transport to the auth service.
        checker: The checker (owning the cache).
        lookups: The lookups through ``transport``.
        dataset_override: ``DEBUG_OVERRIDE_DATASET_LOOKUP``, if set.
        permission_lookup: A per-app replacement of the ``/user/cache``
            lookup.
    """

    settings: Settings
    transport: Transport
    checker: Checker
    lookups: TransportLookups
    dataset_override: str | None = None
    permission_lookup: UserLookup | None = None
    _variants: dict[tuple[Any, Any], Settings] = attrs.field(factory=dict)

    def __repr__(self) -> str:
        return f"FlaskAuth({self.settings!r})"

    def settings_for(self, config: Mapping[str, Any]) -> Settings:
        """Return the settings with this request's ``AUTH_TOKEN`` and namespace.

        The app's config wins over the ``service_token`` and
        ``service_namespace`` given to :func:`init_app`, which stand where the
        config has none.

        Args:
            config: The app's config.

        Returns:
            The settings to decide with.
        """
        key = (config.get("AUTH_TOKEN"), config.get("AUTH_SERVICE_NAMESPACE"))
        found = self._variants.get(key)
        if found is None:
            found = attrs.evolve(
                self.settings,
                service_token=key[0] or self.settings.service_token,
                service_namespace=key[1] or self.settings.service_namespace,
            )
            if len(self._variants) < 64:
                self._variants[key] = found
        return found

    def sync_override(self) -> None:
        """Use the per-app or process-wide user lookup override, if any."""
        self.checker.user_lookup = self.permission_lookup or _Override.function


def init_app(
    app: flask.Flask,
    *,
    auth_url: str,
    sticky_auth_url: str | None = None,
    transport: Transport | None = None,
    cache: CheckerCache | None = None,
    **settings: Any,
) -> FlaskAuth:
    """Configure token checking for one app explicitly.

    Args:
        app: The Flask app.
        auth_url: The auth service (``host/auth`` or a full URL).
        sticky_auth_url: Where browsers log in; defaults to ``auth_url``.
        transport: The HTTP transport, used exactly as given; if omitted, a
            new :class:`~cave_auth.Urllib3Transport` with ``timeout`` and
            ``ca_certs`` (no environment is read).
        cache: The cache, used exactly as given (e.g. a
            :class:`~cave_auth.service.redis.RedisCache` shared by the
            fleet); if omitted, one made of the cache settings: a
            :class:`~cave_auth.service.redis.RedisCache` with
            ``redis_url``, else a :class:`~cave_auth.service.LookupCache`.
        **settings: ``token_name``, ``disabled``, ``cache_maxsize``,
            ``cache_ttl``, ``rejected_ttl``, ``stale_if_error``,
            ``local_ttl`` and ``redis_url`` (for a cache made here),
            ``max_lookups`` (``None``: no bound), ``refresh_limit``,
            ``refresh_window``, ``timeout``, ``ca_certs``,
            ``dataset_override``, ``service_token`` and
            ``service_namespace`` (defaults for the app config's
            ``AUTH_TOKEN`` and ``AUTH_SERVICE_NAMESPACE``; the fields of
            :class:`~cave_auth.service.configure.CheckerOptions`), and
            ``permission_lookup``.

    Returns:
        The app's state, also in ``app.extensions["cave_auth"]``.

    Raises:
        TypeError: For an unknown setting.
    """
    unknown = set(settings) - _SETTINGS
    if unknown:
        raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
    permission_lookup = settings.pop("permission_lookup", None)
    options = CheckerOptions(auth_url, sticky_auth_url or auth_url, **settings)
    return _install(
        app, options, transport or options.transport(), cache, permission_lookup
    )


def _install(
    app: flask.Flask,
    options: CheckerOptions,
    transport: Transport,
    cache: CheckerCache | None,
    permission_lookup: UserLookup | None,
) -> FlaskAuth:
    lookups = options.lookups(transport)
    checker = options.checker(lookups, cache=cache)
    state = FlaskAuth(
        checker.settings,
        transport,
        checker,
        lookups,
        dataset_override=options.dataset_override,
        permission_lookup=permission_lookup,
    )
    app.extensions[EXTENSION] = state
    return state


def init_from_env(app: flask.Flask, environ: Mapping[str, str]) -> FlaskAuth:
    """Configure one app from ``middle_auth_client``'s environment variables.

    The variables are read by
    :meth:`~cave_auth.service.configure.CheckerOptions.from_env`; the
    transport comes from :meth:`~cave_auth.Urllib3Transport.from_env`:
    ``HTTPS_PROXY``, ``NO_PROXY``, ... and ``REQUESTS_CA_BUNDLE``,
    ``CURL_CA_BUNDLE``, ``SSL_CERT_FILE``, ``SSL_CERT_DIR`` count, as in
    requests.

    Args:
        app: The Flask app.
        environ: The environment mapping, e.g. ``os.environ``.

    Returns:
        The app's state, also in ``app.extensions["cave_auth"]``.

    Raises:
        ValueError: If a number setting is malformed.
        InvalidInputError: If a proxy or CA bundle variable is malformed.
    """
    options = CheckerOptions.from_env(environ)
    return _install(app, options, options.transport_from_env(environ), None, None)


def current(app: flask.Flask | None = None) -> FlaskAuth:
    """Return the current app's state, built from ``os.environ`` the first time.

    Concurrent first requests build one state: the first thread builds it,
    the others wait and use it.

    Args:
        app: The current app, if the caller has it already; else
            ``flask.current_app``.

    Returns:
        The state, with the lookup override in force.
    """
    if app is None:
        app = flask.current_app._get_current_object()  # type: ignore[attr-defined]
    state = app.extensions.get(EXTENSION)
    if state is None:
        # Without a lock each thread of a cold burst built a state of its own
        # (its own cache, pool and lookups). The lock is the app's own, so no
        # module-level state is shared between apps; setdefault is atomic, so
        # every thread gets the same one.
        with app.extensions.setdefault(_BUILD_LOCK, threading.Lock()):
            # Looked up again: the thread that held the lock may have built it.
            state = app.extensions.get(EXTENSION)
            if state is None:
                state = init_from_env(app, os.environ)
    if state.checker.user_lookup is not (state.permission_lookup or _Override.function):
        state.sync_override()
    return cast(FlaskAuth, state)


def setPermissionLookupOverride(func: UserLookup | None) -> None:  # noqa: N802
    """Replace the ``/user/cache`` lookup (and its cache) in every app.

    Args:
        func: A function of a token returning its user record, or a falsy
            value for an invalid token; ``None`` restores the lookup.
    """
    _Override.function = func
