"""When a failed attempt is tried again, and how long to wait first. No I/O.

The real transport drives its own attempts, so that one deadline covers them
all, by the rules urllib3's ``Retry`` applies: a connection that could not be
made (refused, unresolvable, connect or handshake timeout, unreachable proxy)
is tried again whatever the method, since nothing reached the server; a
broken connection or read timeout only for an idempotent method, so a POST
that reached the server is never sent twice; a 502, 503 or 504, and a 413,
429 or 503 with ``Retry-After``, for an idempotent method. The wait is a
valid ``Retry-After`` (capped), else nothing after the first failure and
``backoff_factor * 2 ** (n - 1)`` after the n-th in a row.
"""

from __future__ import annotations

import email.utils
import time

from .base import IDEMPOTENT_METHODS, RETRY_STATUSES

__all__ = ["backoff_wait", "parse_retry_after", "status_may_retry"]

_RETRY_AFTER_STATUSES = frozenset({413, 429, 503})


def backoff_wait(failures_in_row: int, factor: float, cap: float) -> float:
    """Return the wait after n failures in a row: 0, then ``factor * 2 ** (n - 1)``.

    At most ``cap`` seconds.
    """
    if failures_in_row <= 1:
        return 0.0
    return float(min(cap, factor * 2 ** (failures_in_row - 1)))


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Read a ``Retry-After`` header (seconds, or an HTTP date) as seconds >= 0.

    ``now`` is the current Unix time, for a date; default the clock. ``None``
    if the header is absent or malformed.
    """
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def status_may_retry(method: str, status: int, has_retry_after: bool) -> bool:
    """Tell whether an answer with ``status`` may be asked for again.

    Yes for a gateway error, or a 413/429/503 with a valid ``Retry-After``,
    to an idempotent method (``method`` in upper case).
    """
    if method not in IDEMPOTENT_METHODS:
        return False
    return status in RETRY_STATUSES or (
        has_retry_after and status in _RETRY_AFTER_STATUSES
    )
