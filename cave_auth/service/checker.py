"""The checker: the pure decision, answered through a cache and the lookups.

:class:`Checker` drives :func:`~cave_auth.service.decision.evaluate`: each
fact the decision asks for is taken from the caller's
:class:`~cave_auth.service.cache.CheckerCache` or, on a miss, looked up once
(single flight) through a :class:`~cave_auth.service.lookups.Lookups`. A
rejected token or table is kept for the cache's short ``rejected_ttl``; an
unusable public answer is not kept; an unavailable auth service is kept
nowhere and turns the decision into a 503 (:func:`unavailable`), unless the
cache keeps stale answers (``stale_if_error``) and holds a recent one. A
refresh after a denial is allowed by a per-token :class:`RefreshLimiter`.

A slow auth service cannot take a process's threads: at most
``max_lookups`` lookups are in flight at once (joining one already in flight
for the same fact does not count), and a request that would start one more
is answered 503 at once. Answers in the cache never wait for a lookup.

A check that needed nothing but the user record of a bearer token, and
allowed it, is remembered for that token, rule and settings while the cache
holds that very record (:meth:`Checker.remembered`): the next such request is
answered without walking the decision again, and stops being answered so
when the record expires, is dropped or invalidated, or is looked up afresh.

The checker counts what it does (:meth:`Checker.counters`). The counts are
plain integers incremented without a lock, so that a cached check pays
nothing for them: under heavy thread contention an increment can be lost
(rarely; they are for dashboards, not accounting).

Cache keys hold a keyed digest of the token, never the token.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from .._drive import drive
from .cache import MISSING, LookupCache, RefreshLimiter, user_key
from .decision import bearer_token, evaluate, unavailable
from .lookups import AuthServiceUnavailable, ask
from .values import Allow, DatasetNeed, PublicNeed, RefreshNeed, UserNeed

if TYPE_CHECKING:
    from collections.abc import Generator, Hashable, Iterator

    from .cache import CheckerCache
    from .lookups import Lookups
    from .values import Decision, Need, Request, Rule, Settings

__all__ = ["DEFAULT_MAX_LOOKUPS", "Checker"]

_log = logging.getLogger("cave_auth.service")

T = TypeVar("T")

DEFAULT_MAX_LOOKUPS = 16
"""Lookups in flight at once per process, by default.

High enough that a healthy auth server never sees a refusal, even at a cold
start when every token is new to the process (a thread-per-request worker
can have no more lookups in flight than threads); a service that wants its
threads kept for cached tokens while the auth server is slow sets it below
its threads per worker."""

UserLookup = Callable[[str], Mapping[str, Any] | None]
Asked = UserNeed | DatasetNeed | PublicNeed

_REMEMBERED_TOKENS = 4096
"""The most tokens remembered as allowed for one rule and settings; beyond
it, that rule's memory starts afresh (the checks are then walked again)."""
_REMEMBERED_RULES = 1024
"""The most rule and settings pairs remembered; beyond it, all start afresh."""


class Counts:
    """The checker's own counters (see :meth:`Checker.counters`)."""

    __slots__ = (
        "hits",
        "misses",
        "stale_served",
        "upstream_failures",
        "upstream_lookups",
        "upstream_refused",
    )

    def __init__(self) -> None:
        self.hits = 0
        self.misses = 0
        self.upstream_lookups = 0
        self.upstream_failures = 0
        self.upstream_refused = 0
        self.stale_served = 0

    def as_dict(self) -> dict[str, int]:
        """Return the counters by name."""
        return {
            "hits": self.hits,
            "misses": self.misses,
            "upstream_lookups": self.upstream_lookups,
            "upstream_failures": self.upstream_failures,
            "upstream_refused": self.upstream_refused,
            "stale_served": self.stale_served,
        }


class Checker:
    """Checks requests against rules, with caching and single-flight lookups.

    Args:
        settings: The service settings.
        lookups: How facts are looked up (usually
            :class:`~cave_auth.service.TransportLookups`).
        cache: The cache to keep answers in (a
            :class:`~cave_auth.service.LookupCache` or a
            :class:`~cave_auth.service.redis.RedisCache`); a new
            :class:`~cave_auth.service.LookupCache` if omitted.
        refresh: The limiter of refreshes after a denial.
        user_lookup: A function replacing the ``/user/cache`` lookup (and
            its cache), like ``setPermissionLookupOverride``.
        max_lookups: The most lookups in flight at once in this process
            (``TOKEN_CACHE_MAX_LOOKUPS``); ``None`` for no bound.

    Attributes:
        counts: The checker's counters, as :meth:`counters` reports them.
    """

    def __init__(
        self,
        settings: Settings,
        lookups: Lookups,
        *,
        cache: CheckerCache | None = None,
        refresh: RefreshLimiter | None = None,
        user_lookup: UserLookup | None = None,
        max_lookups: int | None = DEFAULT_MAX_LOOKUPS,
    ) -> None:
        if max_lookups is not None and max_lookups < 1:
            raise ValueError("max_lookups must be at least 1, or None for no bound")
        self.settings = settings
        self.lookups = lookups
        self.cache: CheckerCache = cache if cache is not None else LookupCache()
        self.refresh = refresh if refresh is not None else RefreshLimiter()
        self.user_lookup = user_lookup
        self.max_lookups = max_lookups
        self._slots = (
            None if max_lookups is None else threading.BoundedSemaphore(max_lookups)
        )
        self.counts = Counts()
        self._serving_stale = False
        # (rule, settings) -> token digest -> the user record a check of a
        # bearer token with them allowed, having needed nothing else.
        self._allowed: dict[tuple[Rule, Settings], dict[bytes, Mapping[str, Any]]] = {}

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

        A check :meth:`remembered` for the request's ``Authorization`` header
        is answered at once; any other walks the decision.

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
        settings = settings or self.settings
        recalled = self.recall(request, rule, settings, authenticated, check_options)
        if recalled is not None:
            return recalled
        asked: list[tuple[Need, Any]] = []

        def answer(need: Need) -> Any:
            found = self.answer(need)
            asked.append((need, found))
            return found

        steps = evaluate(
            request,
            rule,
            settings,
            authenticated=authenticated,
            check_options=check_options,
        )
        try:
            decision = drive(steps, answer)
        except AuthServiceUnavailable as error:
            _log.warning("%s", error)
            return unavailable(settings)
        self.learn(request, rule, settings, decision, asked)
        return decision

    def recall(
        self,
        request: Request,
        rule: Rule,
        settings: Settings,
        authenticated: tuple[Mapping[str, Any], str | None] | None,
        check_options: bool,
    ) -> Allow | None:
        """Return the allow :meth:`remembered` for this check, if any.

        The arguments are those of :meth:`check`; a stacked check
        (``authenticated``) and an unchecked ``OPTIONS`` are never recalled.
        """
        if authenticated is not None or (
            request.method == "OPTIONS" and not check_options
        ):
            return None
        found = self.remembered(request.headers.get("authorization"), rule, settings)
        return None if found is None else Allow(*found)

    def learn(
        self,
        request: Request,
        rule: Rule,
        settings: Settings,
        decision: Decision,
        asked: list[tuple[Need, Any]],
    ) -> None:
        """Remember ``decision`` if it allowed on the token's record alone.

        ``asked`` lists each need the decision asked for, with its answer.
        """
        user = decision.user if isinstance(decision, Allow) else None
        if (
            user is not None
            and len(asked) == 1
            and isinstance(asked[0][0], UserNeed)
            and user is asked[0][1]
        ):
            self._remember(request, rule, settings, user, decision.token)

    def remembered(
        self, authorization: str | None, rule: Rule, settings: Settings
    ) -> tuple[Mapping[str, Any], str] | None:
        """Return the answer of an earlier check with this bearer token, if still true.

        A check is remembered when the request's ``Authorization`` header
        carried the token, the decision needed nothing but the token's user
        record, and allowed the request: the same
        decision then follows from the same header, rule, settings and record,
        whatever else the request carries. It is answered again while the
        cache holds that same record for the token (so never after the record
        expires, is invalidated, evicted or refreshed) and no user lookup
        override is set. Counts a hit, as the check it stands for would.

        Args:
            authorization: The request's ``Authorization`` header, if any.
            rule: What the route demands.
            settings: The settings the request is decided with.

        Returns:
            ``(user record, token)`` to allow the request with, or ``None``:
            check it (:meth:`check`).
        """
        if not authorization or self.user_lookup is not None:
            return None
        try:
            by_token = self._allowed.get((rule, settings))
        except TypeError:  # a rule with an unhashable value, never remembered
            return None
        if by_token is None:
            return None
        token = bearer_token(authorization)
        if not token:
            return None
        digest = self.cache.key(token)
        user = by_token.get(digest)
        if user is None or self.cache.peek(user_key(digest)) is not user:
            return None
        self.counts.hits += 1
        return user, token

    def _remember(
        self,
        request: Request,
        rule: Rule,
        settings: Settings,
        user: Mapping[str, Any],
        token: str | None,
    ) -> None:
        """Remember an allowed check that needed only the token's cached record."""
        authorization = request.headers.get("authorization")
        if not authorization or not token or bearer_token(authorization) != token:
            return
        try:
            by_token = self._allowed.get((rule, settings))
        except TypeError:
            return
        if by_token is None:
            if len(self._allowed) >= _REMEMBERED_RULES:
                self._allowed.clear()
            by_token = self._allowed.setdefault((rule, settings), {})
        if len(by_token) >= _REMEMBERED_TOKENS:
            by_token.clear()
        by_token[self.cache.key(token)] = user

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
            return user_key(cache.key(need.token))
        if isinstance(need, DatasetNeed):
            token = None if need.token is None else cache.key(need.token)
            return ("dataset", need.namespace, need.table_id, token)
        return ("public", need.kind, need.table_id, need.subject, cache.key(need.token))

    def cached(self, need: Need) -> Any:
        """Return the answer to a need from this process's memory, without I/O.

        Counts a hit or a miss.

        Args:
            need: The need.

        Returns:
            The answer, or :data:`~cave_auth.service.cache.MISSING`.
        """
        if isinstance(need, RefreshNeed) or (
            isinstance(need, UserNeed) and self.user_lookup is not None
        ):
            return MISSING
        found = self.cache.peek(self.key(need))
        if found is MISSING:
            self.counts.misses += 1
        else:
            self.counts.hits += 1
        return found

    def answer(self, need: Need) -> Any:
        """Answer a need from the cache or, once for all callers, by a lookup.

        Raises:
            AuthServiceUnavailable: If the auth service could not answer.
        """
        found = self.cached(need)
        return self.fetch(need) if found is MISSING else found

    def fetch(self, need: Need, lookup: Callable[[Asked], Any] | None = None) -> Any:
        """Answer a need that is not in this process's memory.

        The cache's :meth:`~cave_auth.service.cache.CheckerCache.get_or_load`
        looks it up once for all callers (a shared cache first asks the
        fleet); during an outage a recent answer may be served
        (:meth:`stale`).

        Args:
            need: The need.
            lookup: Answers a need instead of the checker's lookups (the
                ASGI middleware passes its coroutine lookups this way).

        Returns:
            The answer.

        Raises:
            AuthServiceUnavailable: If the auth service could not answer.
        """
        asked = self.refreshed(need)
        if asked is None:
            return None
        if isinstance(asked, UserNeed) and self.user_lookup is not None:
            return self.user_lookup(asked.token)
        key = self.key(asked)
        lookups = self.lookups

        def load() -> tuple[Any, float | None]:
            with self.upstream():
                answer = lookup(asked) if lookup else ask(lookups, asked)
            return answer, self.ttl(asked, answer)

        try:
            return self.cache.get_or_load(key, load)
        except AuthServiceUnavailable as error:
            return self.stale(key, error)

    @contextlib.contextmanager
    def upstream(self) -> Iterator[None]:
        """Hold one of the ``max_lookups`` slots for a lookup, and count it.

        Raises:
            AuthServiceUnavailable: At once, if every slot is taken; or what
                the lookup raised.
        """
        counts, slots = self.counts, self._slots
        if slots is not None and not slots.acquire(blocking=False):
            counts.upstream_refused += 1
            raise AuthServiceUnavailable(
                f"{self.max_lookups} lookups of the auth service are in flight "
                "already (max_lookups)"
            )
        counts.upstream_lookups += 1
        try:
            yield
        except AuthServiceUnavailable:
            counts.upstream_failures += 1
            raise
        finally:
            if slots is not None:
                slots.release()
        if self._serving_stale:
            self._serving_stale = False
            _log.warning("the auth service answers again; no more stale answers")

    def stale(self, key: Hashable, error: AuthServiceUnavailable) -> Any:
        """Return a recent answer while the auth service is down, or raise.

        With the cache's ``stale_if_error`` set, an answer (not a rejection)
        that expired less than that long ago is served; the first one of an
        outage is logged.

        Args:
            key: The cache key of the need.
            error: Why the lookup failed; raised when there is no answer.

        Returns:
            The stale answer.

        Raises:
            AuthServiceUnavailable: ``error``, when there is no answer.
        """
        cache = self.cache
        found = cache.stale(key) if cache.stale_if_error > 0 else MISSING
        if found is MISSING or found is None:
            raise error
        self.counts.stale_served += 1
        if not self._serving_stale:
            self._serving_stale = True
            _log.warning(
                "%s; serving answers up to %g s past their TTL (stale_if_error) "
                "while it is down",
                error,
                cache.stale_if_error,
            )
        return found

    def counters(self) -> dict[str, int]:
        """Return what the checker and its cache counted, by name.

        ``hits`` and ``misses`` (answers found in this process's memory or
        not), ``upstream_lookups`` (made), ``upstream_failures`` (the auth
        service unavailable), ``upstream_refused`` (``max_lookups`` in
        flight: answered 503 or stale at once), ``stale_served``, and the
        cache's (``single_flight_waits``; a
        :class:`~cave_auth.service.redis.RedisCache` adds its own).

        Returns:
            Counter name -> count since the checker was made.
        """
        return {**self.counts.as_dict(), **self.cache.counters()}

    def refreshed(self, need: Need) -> Asked | None:
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
            self.cache.discard(key)
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
