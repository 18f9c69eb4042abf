"""The URLs of the auth server, built from a server address. No I/O.

The routes are those of CAVEconnectome/middle_auth: its API lives under
``/auth/api/v1``, and the page listing a user's tokens exists only under the
sticky instance, at ``/sticky_auth/settings/tokens``. Each function takes a
normalized server address (``Config.server_address``).
"""

from __future__ import annotations

__all__ = ["api_url", "create_token_page_url", "token_page_url"]

API_PREFIX = "/auth/api/v1"


def api_url(server_address: str, route: str) -> str:
    """Return the URL of an API route (``route`` below ``/auth/api/v1``).

    E.g. ``https://global.daf-apis.com/auth/api/v1/user/me``.
    """
    return f"{server_address}{API_PREFIX}{route}"


def token_page_url(server_address: str) -> str:
    """Return the web page that lists the user's tokens."""
    return f"{server_address}/sticky_auth/settings/tokens"


def create_token_page_url(server_address: str) -> str:
    """Return the page that creates a new token (and shows it) after login."""
    return api_url(server_address, "/create_token")
