"""A drop-in for ``middle_auth_client``: the same decorators, without globals.

Change ``from middle_auth_client import auth_required`` to
``from cave_auth.flask import auth_required``: the names, signatures,
``flask.g`` fields (``auth_user``, ``auth_token``, ``public_access``,
``public_access_cache``) and answers are those of ``middle_auth_client``
3.19.2, decided by :mod:`cave_auth.service`. Every name 3.19.2 and 3.18.1
export is here, :func:`make_api_error` (3.18.1 only) included.

This module is an edge: it reads the environment, once per app, at the
first checked request (never at import): ``AUTH_URL`` (else ``AUTH_URI``,
else ``localhost:5000/auth``; a scheme may be given, ``https://`` is
assumed), ``STICKY_AUTH_URL``, ``TOKEN_NAME``, ``TOKEN_CACHE_MAXSIZE``,
``TOKEN_CACHE_TTL``, ``TOKEN_CACHE_REJECTED_TTL`` (new, default 5 s),
``TOKEN_CACHE_SKIP_LIMIT``, ``TOKEN_CACHE_SKIP_WINDOW_SEC``, and new:
``TOKEN_CACHE_REDIS_URL`` (a cache shared by the fleet on Redis, the
``redis`` extra; see :mod:`cave_auth.service.redis`),
``TOKEN_CACHE_LOCAL_TTL`` (seconds a process answers from its own copy
before asking Redis again, default 1), ``TOKEN_CACHE_STALE_IF_ERROR``
(seconds past its TTL an answer is still served while the auth service is
down, default 0: never), ``TOKEN_CACHE_MAX_LOOKUPS`` (lookups in flight
per process, default 4; 0: no bound),
``AUTH_DISABLED``, ``DEBUG_OVERRIDE_DATASET_LOOKUP``, and the proxy and CA
bundle variables requests honours (``HTTPS_PROXY``, ``NO_PROXY``, ...,
``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``, ``SSL_CERT_FILE``,
``SSL_CERT_DIR``; see :meth:`~cave_auth.Urllib3Transport.from_env`), since
``middle_auth_client`` talks through requests. Flask config keys ``AUTH_TOKEN``,
``AUTH_SERVICE_NAMESPACE`` and ``AUTH_SHARED_EXCLUDED_GROUPS`` are read per
request, as before. :func:`init_app` configures an app explicitly instead.
The state (settings, transport, cache) lives in
``app.extensions["cave_auth"]``, so two apps can use two auth servers.

The one process-wide setting left is :func:`setPermissionLookupOverride`,
kept for compatibility; ``init_app(permission_lookup=...)`` is per app.

One module a part; import from ``cave_auth.flask`` only:

* :mod:`~cave_auth.flask.state`: :class:`FlaskAuth`, :func:`init_app`, the
  settings read from the environment at an app's first request, and
  :func:`setPermissionLookupOverride`;
* :mod:`~cave_auth.flask.decorators`: the decorators and their
  request/response glue;
* :mod:`~cave_auth.flask.helpers`: the lookups a view calls itself
  (:func:`dataset_from_table_id`, :func:`is_root_public`, ...) and
  :func:`make_api_error`.
"""

from __future__ import annotations

from importlib.util import find_spec

# Flask is an extra: without it, say which one to install rather than let
# the first ``import flask`` below fail with a bare "No module named".
if find_spec("flask") is None:
    raise ModuleNotFoundError(
        "cave_auth.flask needs Flask, which is not installed: "
        "pip install 'cave-auth[flask]'",
        name="flask",
    )

from .decorators import (
    auth_required,
    auth_requires_admin,
    auth_requires_dataset_admin,
    auth_requires_group,
    auth_requires_permission,
)
from .helpers import (
    AuthorizationError,
    are_roots_public,
    dataset_from_table_id,
    get_usernames,
    has_permission,
    is_root_public,
    make_api_error,
    table_has_public,
    user_has_permission,
    users_share_common_group,
)
from .state import FlaskAuth, init_app, setPermissionLookupOverride

__all__ = [
    "AuthorizationError",
    "FlaskAuth",
    "are_roots_public",
    "auth_required",
    "auth_requires_admin",
    "auth_requires_dataset_admin",
    "auth_requires_group",
    "auth_requires_permission",
    "dataset_from_table_id",
    "get_usernames",
    "has_permission",
    "init_app",
    "is_root_public",
    "make_api_error",
    "setPermissionLookupOverride",
    "table_has_public",
    "user_has_permission",
    "users_share_common_group",
]
