"""When a failed attempt is tried again, and how long to wait first. No I/O.

Both transports drive their attempts by ``Attempts``, so that one
deadline covers them all, by the rules of urllib3's ``Retry``: a connection
that could not be made (refused, unresolvable, timed out, an unreachable
proxy) is tried again whatever the method, since nothing reached the server;
a broken connection or read timeout only for an idempotent method, so a POST
that reached the server is never sent twice; a 502, 503 or 504, and a 413,
429 or 503 with ``Retry-After``, for an idempotent method. The wait is a
valid ``Retry-After`` (capped), else nothing after the first failure and
``backoff_factor * 2 ** (n - 1)`` after the n-th in a row.
"""

from __future__ import annotations

import email.utils
import time
from typing import TYPE_CHECKING, Protocol

from .base import IDEMPOTENT_METHODS, RETRY_STATUSES
from .rules import Failure

if TYPE_CHECKING:
    from .base import Response
    from .rules import Outgoing

__all__ = [
    "Attempts",
    "RetrySettings",
    "backoff_wait",
    "parse_retry_after",
    "status_may_retry",
]

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


class RetrySettings(Protocol):
    """What :class:`Attempts` reads of a transport."""

    retries: int
    backoff_factor: float
    retry_after_max: float


class Attempts:
    """The attempts of one request: whether to try again, and after what wait."""

    def __init__(self, request: Outgoing, settings: RetrySettings, deadline: float):
        self.request, self.settings, self.deadline = request, settings, deadline
        self.made = 0

    def wait(self, outcome: Response | Failure) -> float | None:
        """Return the wait before the next attempt, or None: see :meth:`result`.

        None when ``outcome`` may not be retried, ``retries`` are spent, or the
        wait would end past ``deadline`` (monotonic clock).
        """
        self.made += 1  # every outcome so far was retryable: all failed in a row
        method, settings = self.request.method, self.settings
        seconds = None
        if isinstance(outcome, Failure):
            kind = outcome.kind
            idempotent = method in IDEMPOTENT_METHODS
            retry = kind == "connect" or (idempotent and kind in ("read", "broke"))
        else:
            seconds = parse_retry_after(outcome.header("retry-after"))
            retry = status_may_retry(method, outcome.status, seconds is not None)
        if not retry or self.made > settings.retries:
            return None
        if seconds is not None:
            wait = min(seconds, settings.retry_after_max)
        else:
            factor = settings.backoff_factor
            wait = backoff_wait(
                self.made, factor, max(settings.retry_after_max, factor)
            )
        return wait if time.monotonic() + wait < self.deadline else None

    def result(self, outcome: Response | Failure) -> Response:
        """Return the last answer, or raise the last failure as the error to show."""
        if isinstance(outcome, Failure):
            # Raised here, outside any except block: see Failure.error.
            method, url, headers, _, _ = self.request
            raise outcome.error(method, url, headers, self.made)
        return outcome
