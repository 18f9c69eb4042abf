"""Status mapping: the error an answer of the auth server stands for.

This module does no I/O. :func:`raise_for_response` maps a status (and, for
403, the JSON ``error``) to an error of :mod:`cave_auth.errors`, keeping the
server's explanation, trimmed and scrubbed of the token, in
``server_message``; see :mod:`cave_auth.routes` for the table.
"""

from __future__ import annotations

import json as _json
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from .._redact import scrub, scrub_bytes
from ..errors import (
    AuthenticationError,
    HTTPError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    TermsOfServiceRequired,
)
from ..urls import token_page_url

if TYPE_CHECKING:
    from ..config import Config

__all__ = ["ResponseLike", "raise_for_response"]

_SERVER_MESSAGE_LIMIT = 300


class ResponseLike(Protocol):
    """What a parser reads of an answer; :class:`~cave_auth.Response` is one."""

    @property
    def status(self) -> int:
        """The status code."""
        ...

    @property
    def body(self) -> bytes:
        """The raw body."""
        ...

    @property
    def url(self) -> str:
        """The URL that answered (after redirects), or ``""``."""
        ...

    def header(self, name: str) -> str | None:
        """Return a header's value, whatever the case of its name, or ``None``."""
        ...


def raise_for_response(config: Config, method: str, response: ResponseLike) -> None:
    """Raise the error an answer stands for, or return if it is a success.

    ``config`` is what the request was made with: it gives the token page
    URL, and the token to keep out of messages.

    Raises:
        AuthenticationError: 401, or a redirect towards a login page.
        TermsOfServiceRequired: 403 ``missing_tos``.
        PermissionDeniedError: Any other 403.
        NotFoundError: 404.
        ServerError: 5xx.
        HTTPError: Any other status of 300 or more.
    """
    status = response.status
    if 200 <= status < 300:
        return
    url = scrub(response.url, config.token)
    message, data = _server_message(response, config.token)
    page = token_page_url(config.server_address)

    def fail(kind: type[HTTPError], text: str) -> NoReturn:
        raise kind(text, status=status, method=method, url=url, server_message=message)

    said = f" (server said: {message})" if message else ""
    if status == 401 or (300 <= status < 400 and _is_login_redirect(response)):
        fail(
            AuthenticationError,
            f"{method} {url}: the server did not accept the token ({status}){said}. "
            f"Check it, or get a new one at {page}",
        )
    if status == 403:
        tos = data.get("data") if isinstance(data, dict) else None
        if (
            isinstance(data, dict)
            and data.get("error") == "missing_tos"
            and isinstance(tos, dict)
            and isinstance(tos.get("tos_form_url"), str)
        ):
            tos_id = tos.get("tos_id")
            tos_name = tos.get("tos_name")
            if isinstance(tos_name, str):
                tos_name = scrub(tos_name, config.token)
            form_url = scrub(tos["tos_form_url"], config.token)
            raise TermsOfServiceRequired(
                f"{method} {url}: accept the terms of service"
                f"{' ' + repr(tos_name) if isinstance(tos_name, str) else ''} at "
                f"{form_url} first",
                tos_form_url=form_url,
                tos_id=tos_id if isinstance(tos_id, int) else None,
                tos_name=tos_name if isinstance(tos_name, str) else None,
                status=status,
                method=method,
                url=url,
                server_message=message,
            )
        fail(PermissionDeniedError, f"{method} {url}: permission denied (403){said}")
    if status == 404:
        fail(NotFoundError, f"{method} {url}: not found (404){said}")
    if status >= 500:
        fail(ServerError, f"{method} {url}: server error ({status}){said}")
    if 300 <= status < 400:
        location = scrub(response.header("location") or "nowhere", config.token)
        fail(
            HTTPError,
            f"{method} {url}: redirected ({status}) to {location.partition('?')[0]}, "
            "which is not followed",
        )
    fail(HTTPError, f"{method} {url}: request failed ({status}){said}")


def _server_message(response: ResponseLike, token: str | None) -> tuple[str, Any]:
    body = scrub_bytes(response.body, token)
    text = body[:4096].decode("utf-8", "replace")
    data: Any = None
    content_type = response.header("content-type") or ""
    if "json" in content_type or text.lstrip().startswith("{"):
        try:
            data = _json.loads(body)
        except (ValueError, RecursionError):
            data = None
    message = ""
    if isinstance(data, dict):
        for key in ("message", "error"):
            if isinstance(data.get(key), str):
                message = data[key]
                break
    if not message and "<" not in text[:1]:
        message = " ".join(text.split())
    elif not message:
        import re

        title = re.search(r"<title>(.*?)</title>", text, re.S | re.I)
        message = " ".join(title.group(1).split()) if title else ""
    message = scrub(message, token)
    if len(message) > _SERVER_MESSAGE_LIMIT:
        message = message[: _SERVER_MESSAGE_LIMIT - 1] + "…"
    return message, data


def _is_login_redirect(response: ResponseLike) -> bool:
    location = (response.header("location") or "").partition("?")[0].lower()
    return "/authorize" in location or "login" in location
