"""The session routes: token lifetime, logout, and terms still to accept.

Each function is ``f(config, transport)`` like those of :mod:`cave_auth.api`,
and follows what the real server answers (``middle_auth-admin-api.md``,
§20, §21, §42):

* ``GET /user/token/<token>/ttl`` answers a bare integer: ``-1`` for an API
  key (no expiry), the seconds left for a login token. The token travels in
  the URL path, so that URL is never put in a message, a log line or a
  ``repr``: messages name the route as ``/user/token/<token>/ttl``, and a
  logging filter on urllib3's connection-pool logger (whose DEBUG lines
  name every URL) masks the path segment.
* ``GET /logout`` ends the calling login token; an API key gets 422
  ``Can't logout an API Key.``, raised with the server's words.
* ``GET /logout_all`` ends every login token of the caller, keeps API keys.
* ``GET /user/missing`` lists ``[{dataset_id, dataset_name, tos_id,
  tos_name}]``; each entry gets the page where it is accepted,
  ``{server}/sticky_auth/api/v1/tos/<id>/accept``.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import attrs

from .api import _call, _structured, raise_for_response
from .config import Config
from .errors import ResponseFormatError
from .models import MissingTermsOfService
from .tokens import missing_token_error
from .transport import Transport
from .urls import api_url

__all__ = [
    "get_missing_tos",
    "get_token_ttl",
    "logout",
    "logout_all",
    "tos_accept_url",
]

TTL_ROUTE_SHOWN = "/user/token/<token>/ttl"
"""How the TTL route is named in messages: never with the token in it."""

_TTL_PATH = re.compile(r"/user/token/[^/\s\"']+/ttl")


class _MaskTtlPath(logging.Filter):
    """Masks the token in the TTL route wherever a log record names it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/ttl" in message:
            record.msg = _TTL_PATH.sub(TTL_ROUTE_SHOWN, message)
            record.args = None
        return True


def _mask_urllib3_log() -> None:
    logger = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, _MaskTtlPath) for f in logger.filters):
        logger.addFilter(_MaskTtlPath())


def tos_accept_url(server_address: str, tos_id: int) -> str:
    """Return the page where a user accepts one terms of service.

    Args:
        server_address: A normalized server address.
        tos_id: The id of the terms of service.

    Returns:
        ``{server}/sticky_auth/api/v1/tos/<id>/accept``.
    """
    return f"{server_address}/sticky_auth/api/v1/tos/{tos_id}/accept"


def get_token_ttl(
    config: Config, transport: Transport, *, timeout: float | None = None
) -> int | None:
    """Return how long the config's token stays valid.

    Args:
        config: The settings, with the token to ask about.
        transport: The HTTP transport.
        timeout: A read timeout for this call, in seconds.

    Returns:
        The seconds left for a login token, or ``None`` for a token that
        never expires (an API key; the server answers -1).

    Raises:
        MissingTokenError: If ``config.token`` is None (before any I/O).
        AuthenticationError: If the server rejects the token.
        NotFoundError: If the token is not the caller's own.
        TransportError: If the server cannot be reached.
        ResponseFormatError: If the answer is not an integer.
    """
    if config.token is None:
        raise missing_token_error(config)
    _mask_urllib3_log()
    url = api_url(config.server_address, f"/user/token/{config.token}/ttl")
    headers = {"Authorization": "Bearer " + config.token, "Accept": "application/json"}
    response = transport.request("GET", url, headers=headers, timeout=timeout)
    raise_for_response(config, "GET", response)
    try:
        data: Any = json.loads(response.body)
    except (ValueError, RecursionError):
        data = None
    if type(data) is not int:
        shown = api_url(config.server_address, TTL_ROUTE_SHOWN)
        raise ResponseFormatError(
            f"GET {shown} answered {response.status} without an integer", url=shown
        )
    return None if data < 0 else data


def _expect_success(config: Config, route: str, data: object) -> None:
    if data != "success":
        raise ResponseFormatError(
            f'GET {route}: expected "success", got another answer',
            url=api_url(config.server_address, route),
        )


def logout(
    config: Config, transport: Transport, *, timeout: float | None = None
) -> None:
    """End the config's login token (``GET /logout``).

    Args:
        config: The settings, with a login token.
        transport: The HTTP transport.
        timeout: A read timeout for this call, in seconds.

    Raises:
        MissingTokenError: If ``config.token`` is None.
        HTTPError: 422 for an API key, with the server's explanation
            (``Can't logout an API Key.``) in ``server_message``; delete
            keys with :func:`cave_auth.delete_token`.
        AuthenticationError: If the token is already invalid.
        TransportError, ResponseFormatError: As for every call.
    """
    _expect_success(
        config, "/logout", _call(config, transport, "GET", "/logout", timeout=timeout)
    )


def logout_all(
    config: Config, transport: Transport, *, timeout: float | None = None
) -> None:
    """End every login token of the user, on every machine (``GET /logout_all``).

    API keys stay valid; a login token used for this call is ended too.

    Args:
        config: The settings, with a token.
        transport: The HTTP transport.
        timeout: A read timeout for this call, in seconds.

    Raises:
        MissingTokenError: If ``config.token`` is None.
        AuthenticationError, TransportError, ResponseFormatError: As for
            every call.
    """
    data = _call(config, transport, "GET", "/logout_all", timeout=timeout)
    _expect_success(config, "/logout_all", data)


def get_missing_tos(
    config: Config, transport: Transport, *, timeout: float | None = None
) -> list[MissingTermsOfService]:
    """List the terms of service the user still has to accept (``GET /user/missing``).

    Args:
        config: The settings, with a token.
        transport: The HTTP transport.
        timeout: A read timeout for this call, in seconds.

    Returns:
        One entry per dataset whose terms are not accepted yet, each with its
        ``accept_url``; empty when there is nothing to accept.

    Raises:
        MissingTokenError: If ``config.token`` is None.
        AuthenticationError, TransportError, ResponseFormatError: As for
            every call.
    """
    data = _call(config, transport, "GET", "/user/missing", timeout=timeout)
    found = _structured(data, list[MissingTermsOfService], "GET", "/user/missing")
    return [
        attrs.evolve(
            item, accept_url=tos_accept_url(config.server_address, item.tos_id)
        )
        for item in found
    ]
