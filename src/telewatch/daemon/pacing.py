"""Pacing: the one scheduler every Telegram request of the daemon goes through.

Contracts:

* Each Telegram method has a ``Budget``: at most ``requests`` calls in any
  sliding ``window`` (the shape of Telegram's own limits, so that staying
  inside the budget means never being told to wait).
* Waiting callers are served by priority (``LIVE`` before ``MAINTENANCE``
  before ``BACKFILL``), first come first served within a priority, so live
  gap repair overtakes a long backfill and channels take turns; every
  ``FAIR_EVERY``-th slot goes to the longest waiter, so nothing starves.
* A ``FloodWait`` parks only its method: later calls of that method wait
  until the park ends, every other method keeps flowing. The caller that hit
  it is told through ``on_wait(until)`` (for the status row) and retried after
  the wait; a wait longer than ``max_flood_wait`` is raised to the caller.
* Everything else a call raises passes through unchanged.
* A request counts in its window from the moment its answer arrives, not
  from when it was sent: Telegram counts it when it receives it, somewhere
  in between, and a request held up on the way (a loaded event loop, a
  retransmit) would otherwise leave its slot early and let the next window's
  requests reach the server inside this one (seen as natural 1-2 s
  FloodWaits right after a restart on a loaded machine). A request still
  unanswered when the connection drops is sent again after the reconnect
  and counted again: ``resent`` counts it twice.
* Budgets survive restarts: every request sent is recorded (``drain_log``
  hands the (method, unix time) pairs to the archive) and ``preload`` counts
  the previous process's requests into the windows at start, because
  Telegram still counts them.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from telewatch.sources.telegram import FloodWait

log = logging.getLogger("telewatch.pacing")

T = TypeVar("T")

LIVE = 0
MAINTENANCE = 1
BACKFILL = 2

JITTER = 0.1
"""Seconds added to every window: requests leave us a little apart from when
the server counts them (event-loop delays, retransmits). Negligible at
Telegram's real 30 s windows, it matters when tests scale windows down."""

FAIR_EVERY = 4
"""One slot in FAIR_EVERY is served first come first served (no starvation)."""

OTHER = "other"
"""Budget used for methods without one of their own."""


class FloodTooLong(Exception):
    """Telegram asked for a wait longer than ``max_flood_wait``."""

    def __init__(self, method: str, seconds: float) -> None:
        super().__init__(f"{method}: flood wait of {seconds:.0f} s is longer than allowed")
        self.method = method
        self.seconds = seconds


@dataclass(order=True)
class _Waiter:
    priority: int
    seq: int
    future: asyncio.Future[float] = field(compare=False)


class Budget:
    """A sliding-window request budget for one method, with a park time."""

    def __init__(
        self,
        name: str,
        requests: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.requests = max(1, requests)
        self.window = window
        self.parked_until = 0.0
        self._clock = clock
        self._sent: deque[float] = deque()
        # The slot times of requests sent and not answered yet.
        self._inflight: list[float] = []
        self._waiters: list[_Waiter] = []
        self._seq = itertools.count()
        self._pump: asyncio.Task[None] | None = None
        self._grants = 0

    def delay(self) -> float:
        """Seconds until one more request may be sent (0 = now)."""
        now = self._clock()
        while self._sent and self._sent[0] <= now - self.window:
            self._sent.popleft()
        wait = max(0.0, self.parked_until - now)
        if len(self._sent) >= self.requests:
            wait = max(wait, self._sent[0] + self.window - now)
        return wait

    def preload(self, sent: list[float]) -> None:
        """Count requests sent earlier (monotonic times) into the window."""
        now = self._clock()
        merged = sorted([*self._sent, *(t for t in sent if now - self.window < t <= now)])
        self._sent = deque(merged)

    def eta(self, ahead: int) -> float:
        """Seconds from now until a request queued behind ``ahead`` others
        gets its slot (an estimate: priorities can reorder the queue)."""
        now = self._clock()
        start = max(now, self.parked_until)
        slots = [t for t in self._sent if t > now - self.window]
        at = start
        for _ in range(ahead + 1):
            at = (
                start
                if len(slots) < self.requests
                else max(start, slots[-self.requests] + self.window)
            )
            slots.append(at)
        return at - now

    def resent(self) -> int:
        """The connection was re-established and every request not answered
        yet was sent again (Telethon resends them): each counts once more,
        from now. Returns how many."""
        now = self._clock()
        for _ in self._inflight:
            self._sent.insert(bisect.bisect_right(self._sent, now), now)
        return len(self._inflight)

    def park(self, seconds: float) -> None:
        """Hold every call of this method for ``seconds`` from now."""
        self.parked_until = max(self.parked_until, self._clock() + seconds)

    async def acquire(self, priority: int, *, in_flight: bool = True) -> float:
        """Wait for a slot (by priority, then arrival) and take it; returns
        the slot's time. ``in_flight``: the caller calls ``answered`` when the
        answer arrives (the request is in flight until then); a request whose
        answer we never see (Telethon's own) counts from when it was sent."""
        if not self._waiters and self.delay() == 0:
            at = self._clock()
            self._sent.append(at)
            if in_flight:
                self._inflight.append(at)
            return at
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, _Waiter(priority, next(self._seq), fut))
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._serve(), name=f"budget-{self.name}")
        try:
            at = await fut
        except asyncio.CancelledError:
            # Cancelled after its slot was granted: never sent, not in flight.
            if fut.done() and not fut.cancelled():
                with contextlib.suppress(ValueError):
                    self._inflight.remove(fut.result())
            raise
        if not in_flight:
            with contextlib.suppress(ValueError):
                self._inflight.remove(at)
        return at

    def answered(self, sent_at: float) -> None:
        """The request of the slot taken at ``sent_at`` was answered now: it
        counts from now (the server counted it at the latest now)."""
        now = self._clock()
        with contextlib.suppress(ValueError):
            self._inflight.remove(sent_at)
        with contextlib.suppress(ValueError):  # its window ended: it counts again from now
            self._sent.remove(sent_at)
        k = bisect.bisect_right(self._sent, now)
        self._sent.insert(k, now)

    async def _serve(self) -> None:
        while self._waiters:
            wait = self.delay()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            self._grants += 1
            if self._grants % FAIR_EVERY == 0:
                # Every FAIR_EVERY-th slot goes to the longest waiter whatever
                # its priority, so live work cannot starve a backfill.
                w = min(self._waiters, key=lambda x: x.seq)
                self._waiters.remove(w)
                heapq.heapify(self._waiters)
            else:
                w = heapq.heappop(self._waiters)
            if w.future.done():  # the caller was cancelled
                continue
            at = self._clock()
            self._sent.append(at)
            self._inflight.append(at)
            w.future.set_result(at)

    def close(self) -> None:
        """Cancel the serving task (waiters are cancelled with it)."""
        if self._pump is not None:
            self._pump.cancel()
        for w in self._waiters:
            if not w.future.done():
                w.future.cancel()
        self._waiters.clear()

    @property
    def waiting(self) -> int:
        """Callers currently queued."""
        return sum(1 for w in self._waiters if not w.future.done())


class Scheduler:
    """All Telegram requests, paced per method (see the module contract)."""

    def __init__(
        self,
        budgets: Mapping[str, tuple[int, float]],
        *,
        scale: float = 1.0,
        max_flood_wait: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_flood_wait = max_flood_wait
        self.scale = scale
        self._clock = clock
        self._budgets = {
            name: Budget(name, n, window * scale + JITTER, clock)
            for name, (n, window) in budgets.items()
        }
        self.requests = 0
        self.flood_waits = 0
        self.flood_seconds = 0.0
        self.on_park: Callable[[str, datetime], Awaitable[None]] | None = None
        """Told (method, until) whenever a FloodWait parks a method, so that
        every channel the park holds back can say so, not only the caller."""
        self._log: list[tuple[str, float]] = []
        self._closed = False

    def preload(self, sent: Mapping[str, list[float]]) -> int:
        """Count requests a previous process sent (method → unix times) into
        the budgets, so that a restart does not start with full budgets that
        Telegram no longer grants. Returns how many fell inside a window."""
        wall, mono = time.time(), self._clock()
        n = 0
        for method, times in sent.items():
            b = self.budget(method)
            recent = [mono - (wall - t) for t in times if wall - b.window < t <= wall]
            b.preload(recent)
            n += len(recent)
        return n

    async def reserve(self, method: str, priority: int = LIVE) -> None:
        """Take one slot of ``method``'s budget for a request sent outside
        ``call`` (Telethon's own update requests); it is logged like any."""
        if self._closed:
            return  # shutting down: never hold Telethon's update loop
        await self.budget(method).acquire(priority, in_flight=False)
        self.requests += 1
        self._log.append((method, time.time()))

    def resent(self) -> int:
        """After a reconnect: the requests in flight were sent again and
        count twice (``Budget.resent``). Returns how many."""
        return sum(b.resent() for b in self._budgets.values())

    def drain_log(self) -> list[tuple[str, float]]:
        """The (method, unix time) of every request sent since the last call."""
        out, self._log = self._log, []
        return out

    def budget(self, method: str) -> Budget:
        """The budget a method is paced by (created on first use: unlimited
        methods share a generous ``other`` budget)."""
        b = self._budgets.get(method)
        if b is None:
            b = self._budgets.get(OTHER)
            if b is None:
                b = self._budgets[OTHER] = Budget(OTHER, 30, 30.0 * self.scale, self._clock)
        return b

    def parked_until(self, method: str) -> datetime | None:
        """Wall-clock end of the method's park, or None when not parked."""
        left = self.budget(method).parked_until - self._clock()
        return datetime.now(UTC) + timedelta(seconds=left) if left > 0 else None

    async def call(
        self,
        method: str,
        fn: Callable[[], Awaitable[T]],
        *,
        priority: int = MAINTENANCE,
        on_wait: Callable[[datetime], Awaitable[None]] | None = None,
    ) -> T:
        """Run ``fn`` (one request of ``method``) inside its budget; retry it
        after a FloodWait (see the module contract)."""
        b = self.budget(method)
        told = False
        while True:
            if on_wait is not None and not told and b.parked_until > self._clock():
                until = self.parked_until(method)
                if until is not None:
                    await on_wait(until)
            sent_at = await b.acquire(priority)
            self.requests += 1
            try:
                try:
                    return await fn()
                finally:
                    # Counted (and logged for the next start) from its answer.
                    b.answered(sent_at)
                    self._log.append((method, time.time()))
            except FloodWait as fw:
                self.flood_waits += 1
                self.flood_seconds += fw.seconds
                b.park(fw.seconds)
                log.warning("flood wait", extra={"method": method, "seconds": fw.seconds})
                if self.on_park is not None:
                    await self.on_park(method, datetime.now(UTC) + timedelta(seconds=fw.seconds))
                if fw.seconds > self.max_flood_wait:
                    raise FloodTooLong(method, fw.seconds) from None
                if on_wait is not None:
                    await on_wait(datetime.now(UTC) + timedelta(seconds=fw.seconds))
                    told = True

    def close(self) -> None:
        """Stop every budget's serving task."""
        self._closed = True
        for b in self._budgets.values():
            b.close()
