"""Export a checker's counters to Prometheus (the ``prometheus`` extra).

:class:`CheckerCollector` reads :meth:`~cave_auth.service.Checker.counters`
at each scrape, so the hot path pays nothing for it::

    from prometheus_client import REGISTRY
    from cave_auth.service.prometheus import CheckerCollector

    REGISTRY.register(CheckerCollector(checker))

Each counter becomes ``cave_auth_checker_<name>_total``. The counts are per
process: under gunicorn, expose each worker's (prometheus_client's
multiprocess mode does not take custom collectors).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

try:
    from prometheus_client.core import CounterMetricFamily
except ImportError as error:
    raise ImportError(
        "cave_auth.service.prometheus needs prometheus_client: "
        "pip install 'cave-auth[prometheus]'"
    ) from error

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from .checker import Checker

__all__ = ["CheckerCollector"]

HELP = {
    "hits": "Answers found in this process's memory.",
    "misses": "Answers not found in this process's memory.",
    "upstream_lookups": "Lookups made to the auth service.",
    "upstream_failures": "Lookups that found the auth service unavailable.",
    "upstream_refused": "Lookups not made because max_lookups were in flight.",
    "stale_served": "Answers served past their TTL during an outage.",
    "single_flight_waits": "Waits for another thread's or process's lookup.",
    "redis_hits": "Answers found in Redis.",
    "redis_fallbacks": "Loads made without Redis while it was unavailable.",
    "redis_outages": "Times Redis became unavailable.",
}
"""The help text of each counter a checker and its caches report."""


class CheckerCollector:
    """A Prometheus collector of one checker's counters.

    Args:
        checker: The checker, or a function returning it (or ``None`` while
            there is none yet, e.g. before a Flask app's first request).
        prefix: The start of every metric name.
        labels: Constant labels, e.g. ``{"service": "materialize"}``.
    """

    def __init__(
        self,
        checker: Checker | Callable[[], Checker | None],
        *,
        prefix: str = "cave_auth_checker",
        labels: Mapping[str, str] | None = None,
    ) -> None:
        self.checker = checker
        self.prefix = prefix
        self.labels = dict(labels or {})

    def __repr__(self) -> str:
        return f"CheckerCollector(prefix={self.prefix!r})"

    def collect(self) -> Iterator[Metric]:
        """Yield one counter per value of the checker's counters.

        Yields:
            The metric families.
        """
        checker = self.checker if not callable(self.checker) else self.checker()
        if checker is None:
            return
        names, values = list(self.labels), list(self.labels.values())
        for name, count in checker.counters().items():
            family = CounterMetricFamily(
                f"{self.prefix}_{name}",
                HELP.get(name, name.replace("_", " ").capitalize() + "."),
                labels=names,
            )
            family.add_metric(values, count)
            yield family
