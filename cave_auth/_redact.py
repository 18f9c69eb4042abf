"""Keeping tokens out of what people see: masking, hiding and scrubbing.

No I/O, and no import from ``cave_auth``: the bottom layer every module takes
its redaction from, so a token is hidden alike in a ``repr``, a log line and
an error. :func:`mask_token` shows a token's ends (to tell two apart); the
``*_repr`` functions hide it in attrs fields; the ``scrub*`` functions
replace it with ``<token>`` in text from elsewhere that may echo it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import logging

__all__ = [
    "PLACEHOLDER",
    "bearer_token",
    "headers_repr",
    "hidden_repr",
    "mask_token",
    "mask_token_paths_in_logs",
    "masked_repr",
    "optional_masked_repr",
    "scrub",
    "scrub_bearer",
    "scrub_bytes",
    "scrub_url",
]

PLACEHOLDER = "<token>"
"""What stands for a token in scrubbed text."""

_BEARER = "Bearer "


def mask_token(token: str) -> str:
    """Return a form of ``token`` safe to show: its ends, never the middle.

    ``"abcd…7890"`` for tokens of 16 characters or more, else ``"…"`` and the
    length, so that short secrets are never revealed.
    """
    if len(token) >= 16:
        return f"{token[:4]}…{token[-4:]}"
    return f"…({len(token)} chars)"


def masked_repr(token: str) -> str:
    """Return the ``repr`` of :func:`mask_token`'s form, for an attrs field."""
    return repr(mask_token(token))


def optional_masked_repr(token: str | None) -> str:
    """Same as :func:`masked_repr`, but ``"None"`` for no token."""
    return "None" if token is None else masked_repr(token)


def hidden_repr(token: str | None) -> str:
    """Return ``"None"`` or ``"<set>"``: whether there is a token, nothing more."""
    return "None" if token is None else "<set>"


def headers_repr(headers: Mapping[str, str]) -> str:
    """Return the ``repr`` of ``headers``, any ``Authorization`` value ``<hidden>``."""
    shown = {
        name: ("<hidden>" if name.lower() == "authorization" else value)
        for name, value in headers.items()
    }
    return repr(shown)


def scrub(text: str, token: str | None) -> str:
    """Replace every occurrence of ``token`` (if any) in ``text`` with ``<token>``."""
    return text.replace(token, PLACEHOLDER) if token else text


def scrub_bytes(data: bytes, token: str | None) -> bytes:
    """Same as :func:`scrub`, for bytes (scrub before cutting a body short)."""
    return data.replace(token.encode(), PLACEHOLDER.encode()) if token else data


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """Return the non-empty bearer token of an ``Authorization`` header, if any."""
    for name, value in headers.items():
        if name.lower() == "authorization" and value.startswith(_BEARER):
            return value[len(_BEARER) :] or None
    return None


def scrub_bearer(text: str, headers: Mapping[str, str]) -> str:
    """Same as :func:`scrub`, for the bearer token of a request's ``headers``."""
    return scrub(text, bearer_token(headers))


# A pattern, not a compiled one: only error messages need it, and re caches
# it on first use instead of every import compiling it.
_SECRET_QUERY_VALUES = (
    r"(?i)([?&](?:middle_auth_token|token|access_token|api_key|key|secret|password)=)"
    r"[^&#]*"
)


def scrub_url(url: str, headers: Mapping[str, str]) -> str:
    """Show a request URL without secrets: for error messages and logs.

    Query values named like secrets (``token``, ``key``, ``password``, ...)
    become ``***``, and the bearer token of ``headers`` ``<token>`` wherever
    it occurs (the TTL route's path holds it).
    """
    return scrub_bearer(re.sub(_SECRET_QUERY_VALUES, r"\1***", url), headers)


class _MaskTokenPaths:
    """A logging filter: hides the token in ``/user/token/<token>/ttl`` paths."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message if it names a TTL path; keep it."""
        message = record.getMessage()
        if "/ttl" in message:
            record.msg = re.sub(
                r"/user/token/(?!<token>)[^/\s\"']+/ttl",
                "/user/token/<token>/ttl",
                message,
            )
            record.args = None
        return True


def mask_token_paths_in_logs(*names: str) -> None:
    """Mask the token of TTL paths in the log lines of the named loggers.

    The TTL route carries the token in its path, and HTTP clients log request
    lines (urllib3 at DEBUG): a filter is added to each logger once (default
    ``urllib3.connectionpool``), when :class:`~cave_auth.Urllib3Transport` is
    created, never by an endpoint call.
    """
    import logging

    for name in names or ("urllib3.connectionpool",):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _MaskTokenPaths) for f in logger.filters):
            logger.addFilter(_MaskTokenPaths())
