"""The checker's decision inside an event loop, without blocking it.

:class:`AsyncChecker` is what the ASGI middleware
(:class:`~cave_auth.service.asgi.AuthASGIMiddleware`) and the FastAPI
dependencies (:mod:`cave_auth.fastapi`) decide with. Each fact the decision
needs is taken from the checker's cache in the loop (from this process's
memory: a shared cache's ``peek`` does no I/O), and only a miss is looked
up. Given an :class:`~cave_auth.AsyncTransport`, the lookup is a coroutine
(:class:`~cave_auth.service.lookups.AsyncTransportLookups`, the same route
flows as the checker's sync lookups) and its answer is kept in the
checker's cache with the checker's TTLs; without one, the checker's own
(blocking) lookup runs in a worker thread (:func:`asyncio.to_thread`). A
``user_lookup`` override of the checker is a plain function, so it always
runs in a worker thread. With a shared cache
(:class:`~cave_auth.service.redis.RedisCache`), a miss goes to a worker
thread too, for the Redis round trips and the wait for another process's
lookup; the lookup itself is still the coroutine, run in the loop. The
checker's bound on lookups in flight, its counters and stale-if-error hold
on every path. Either way concurrent misses of one fact are joined in the
loop (one future per key and loop), so fifty coroutines with a new token
make one lookup.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from .._drive import adrive
from .cache import MISSING
from .decision import evaluate, unavailable
from .lookups import AsyncTransportLookups, AuthServiceUnavailable, ask
from .values import RefreshNeed, UserNeed

if TYPE_CHECKING:
    from collections.abc import Hashable, Mapping

    from ..transport import AsyncTransport
    from .checker import Checker
    from .lookups import AsyncLookups
    from .values import Decision, Need, Request, Rule, Settings

__all__ = ["AsyncChecker"]

_log = logging.getLogger("cave_auth.service")


class AsyncChecker:
    """Async twin of :meth:`Checker.check <cave_auth.service.Checker.check>`.

    Args:
        checker: The checker (settings, cache, sync lookups, counters).
        transport: An async transport to look facts up with, at the
            checker's ``auth_url``; without one, the checker's lookups run
            in a worker thread.
        timeout: The time budget of each async lookup, in seconds.

    Attributes:
        async_lookups: The coroutine lookups, or ``None`` (worker thread).
    """

    def __init__(
        self,
        checker: Checker,
        *,
        transport: AsyncTransport | None = None,
        timeout: float | None = 5.0,
    ) -> None:
        self.checker = checker
        self.async_lookups: AsyncLookups | None = None
        if transport is not None:
            self.async_lookups = AsyncTransportLookups(
                checker.settings.auth_url, transport, timeout
            )
        self._flights: dict[Hashable, asyncio.Future[Any]] = {}

    def __repr__(self) -> str:
        return f"AsyncChecker({self.checker!r})"

    async def check(
        self,
        request: Request,
        rule: Rule,
        *,
        settings: Settings | None = None,
        authenticated: tuple[Mapping[str, Any], str | None] | None = None,
        check_options: bool = False,
    ) -> Decision:
        """Async twin of :meth:`Checker.check <cave_auth.service.Checker.check>`.

        Returns:
            The decision; a 503 :class:`~cave_auth.service.Deny` when the
            auth service could not answer.
        """
        checker = self.checker
        settings = settings or checker.settings
        recalled = checker.recall(request, rule, settings, authenticated, check_options)
        if recalled is not None:
            return recalled
        asked: list[tuple[Need, Any]] = []

        async def answer(need: Need) -> Any:
            found = await self._answer(need)
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
            decision = await adrive(steps, answer)
        except AuthServiceUnavailable as error:
            _log.warning("%s", error)
            return unavailable(settings)
        checker.learn(request, rule, settings, decision, asked)
        return decision

    async def _answer(self, need: Need) -> Any:
        """Answer a need from the checker's cache in the loop, or by a flight."""
        answer = self.checker.cached(need)
        return await self._flight(need) if answer is MISSING else answer

    async def _flight(self, need: Need) -> Any:
        # A future belongs to its loop: an app served by two loops (two
        # threads, each with its own) joins flights within each loop only.
        loop = asyncio.get_running_loop()
        key: Hashable = (loop, isinstance(need, RefreshNeed), self.checker.key(need))
        pending = self._flights.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Any] = loop.create_future()
        self._flights[key] = future
        try:
            answer = await self._lookup(need)
        except BaseException as error:
            future.set_exception(error)
            future.exception()
            raise
        else:
            future.set_result(answer)
            return answer
        finally:
            del self._flights[key]

    async def _lookup(self, need: Need) -> Any:
        """Answer a need that missed the cache: a coroutine, or a worker thread."""
        checker, lookups = self.checker, self.async_lookups
        user_need = isinstance(need, (UserNeed, RefreshNeed))
        if lookups is None or (user_need and checker.user_lookup is not None):
            return await asyncio.to_thread(checker.fetch, need)
        if checker.cache.shared:
            # A shared cache waits on the network (Redis, another process's
            # lookup): that happens in a worker thread, and the lookup itself
            # runs here in the loop, as a coroutine.
            loop = asyncio.get_running_loop()

            def lookup(asked: Any) -> Any:
                coroutine = ask(lookups, asked)
                return asyncio.run_coroutine_threadsafe(coroutine, loop).result()

            return await asyncio.to_thread(checker.fetch, need, lookup)
        asked = checker.refreshed(need)
        if asked is None:
            return None
        key = checker.key(asked)
        cached = checker.cache.peek(key)
        if cached is not MISSING:
            return cached
        try:
            with checker.upstream():
                answer = await ask(lookups, asked)
        except AuthServiceUnavailable as error:
            return checker.stale(key, error)
        checker.cache.put(key, answer, checker.ttl(asked, answer))
        return answer
