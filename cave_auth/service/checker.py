"""The checker: the pure decision, answered through a cache and the lookups.

:class:`Checker` drives :func:`~cave_auth.service.decision.evaluate`: each
fact the decision asks for is taken from the caller's
:class:`~cave_auth.service.cache.LookupCache` or, on a miss, looked up once
(single flight) through a :class:`~cave_auth.service.lookups.Lookups`. A
rejected token or table is kept for the cache's short ``rejected_ttl``; an
unusable public answer is not kept; an unavailable auth service is kept
nowhere and turns the decision into a 503 (:func:`unavailable`). A refresh
after a denial is allowed by a per-token :class:`RefreshLimiter`.

Cache keys hold a keyed digest of the token, never the token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from .._drive import drive
from .cache import MISSING, LookupCache, RefreshLimiter
from .decision import evaluate, unavailable
from .lookups import AuthServiceUnavailable, ask
from .values import DatasetNeed, PublicNeed, RefreshNeed, UserNeed

if TYPE_CHECKING:
    from collections.abc import Generator, Hashable

    from .lookups import Lookups
    from .values import Decision, Need, Request, Rule, Settings

__all__ = ["Checker"]

_log = logging.getLogger("cave_auth.service")

T = TypeVar("T")

UserLookup = Callable[[str], Mapping[str, Any] | None]


class Checker:
    """Checks requests against rules, with caching and single-flight lookups.

    Args:
        settings: The service settings.
        lookups: How facts are looked up (usually
            :class:`~cave_auth.service.TransportLookups`).
        cache: The cache to keep answers in; a new default one if omitted.
        refresh: The limiter of refreshes after a denial.
        user_lookup: A function replacing the ``/user/cache`` lookup (and
            its cache), like ``setPermissionLookupOverride``.
    """

    def __init__(
        self,
        settings: Settings,
        lookups: Lookups,
        *,
        cache: LookupCache | None = None,
        refresh: RefreshLimiter | None = None,
        user_lookup: UserLookup | None = None,
    ) -> None:
        self.settings = settings
        self.lookups = lookups
        self.cache = cache if cache is not None else LookupCache()
        self.refresh = refresh if refresh is not None else RefreshLimiter()
        self.user_lookup = user_lookup

    def __repr__(self) -> str:
        return f"Checker({self.settings!r}, cache={self.cache!r})"

    def check(
        self,
        request: Request,
        rule: Rule,
        *,
        settings: Settings | None = None,
        authenticated: tuple[Mapping[str, Any], str | None] | None = None,
        check_options: bool = False,
    ) -> Decision:
        """Decide about one request, looking up what is needed.

        Args:
            request: What the request carries.
            rule: What the route demands.
            settings: Settings for this request instead of the checker's.
            authenticated: As for :func:`~cave_auth.service.evaluate`.
            check_options: As for :func:`~cave_auth.service.evaluate`.

        Returns:
            The decision; a 503 :class:`~cave_auth.service.Deny` when the auth
            service could not answer.
        """
        steps = evaluate(
            request,
            rule,
            settings or self.settings,
            authenticated=authenticated,
            check_options=check_options,
        )
        try:
            return self.run(steps)
        except AuthServiceUnavailable as error:
            _log.warning("%s", error)
            return unavailable(settings or self.settings)

    def run(self, steps: Generator[Need, Any, T]) -> T:
        """Drive a generator of needs (e.g. :func:`ask_public`) to its result.

        Raises:
            AuthServiceUnavailable: If the auth service could not answer.
        """
        return drive(steps, self.answer)

    def key(self, need: Need) -> Hashable:
        """Return the cache key of a need (holding a digest, not a token).

        Args:
            need: The need.

        Returns:
            A hashable key.
        """
        cache = self.cache
        if isinstance(need, (UserNeed, RefreshNeed)):
            return ("user", cache.key(need.token))
        if isinstance(need, DatasetNeed):
            token = None if need.token is None else cache.key(need.token)
            return ("dataset", need.namespace, need.table_id, token)
        return ("public", need.kind, need.table_id, need.subject, cache.key(need.token))

    def cached(self, need: Need) -> Any:
        """Return the cached answer to a need, without any I/O.

        Args:
            need: The need.

        Returns:
            The answer, or :data:`~cave_auth.service.cache.MISSING`.
        """
        if isinstance(need, RefreshNeed) or (
            isinstance(need, UserNeed) and self.user_lookup is not None
        ):
            return MISSING
        return self.cache.peek(self.key(need))

    def answer(self, need: Need) -> Any:
        """Answer a need from the cache or, once for all callers, by a lookup.

        Raises:
            AuthServiceUnavailable: If the auth service could not answer.
        """
        asked = self.refreshed(need)
        if asked is None:
            return None
        if isinstance(asked, UserNeed) and self.user_lookup is not None:
            return self.user_lookup(asked.token)
        return self.cache.get_or_load(self.key(asked), lambda: self._load(asked))

    def refreshed(self, need: Need) -> UserNeed | DatasetNeed | PublicNeed | None:
        """Return the need to look up: a refresh allowed now becomes a user need.

        A :class:`~cave_auth.service.RefreshNeed` counts against the
        :class:`RefreshLimiter`: within the limit, the user's cached record
        is dropped and the user looked up again; beyond it, ``None`` (the
        decision answers from what it has). Any other need is itself.
        """
        if not isinstance(need, RefreshNeed):
            return need
        key = self.key(need)
        if not self.refresh.allow(key):
            return None
        if self.user_lookup is None:
            self.cache.invalidate(key)
        return UserNeed(need.token)

    def ttl(self, need: Need, answer: Any) -> float | None:
        """Return how long the answer to a need is kept (``None``: not at all).

        A user record or a dataset for the cache's ``ttl``, a rejection
        (``None``) for its short ``rejected_ttl``, a public answer for
        ``ttl`` and an unusable public answer not at all.

        Args:
            need: The need (not a :class:`~cave_auth.service.RefreshNeed`).
            answer: What the lookup answered.

        Returns:
            Seconds, or ``None``.
        """
        if isinstance(need, PublicNeed):
            return None if answer is None else self.cache.ttl
        return self.cache.ttl if answer else self.cache.rejected_ttl

    def _load(
        self, need: UserNeed | DatasetNeed | PublicNeed
    ) -> tuple[Any, float | None]:
        answer = ask(self.lookups, need)
        return answer, self.ttl(need, answer)
