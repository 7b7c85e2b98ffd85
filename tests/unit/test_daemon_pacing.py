"""The scheduler: sliding-window budgets, priorities, and FloodWait parking."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import pytest

from telewatch.daemon.pacing import BACKFILL, LIVE, Budget, FloodTooLong, Scheduler
from telewatch.sources.telegram import FloodWait


async def test_budget_never_exceeds_its_window() -> None:
    """No more than N calls of a method start inside any window."""
    sched = Scheduler({"m": (3, 0.2)}, scale=1.0)
    starts: list[float] = []

    async def call() -> None:
        starts.append(time.monotonic())

    await asyncio.gather(*(sched.call("m", call) for _ in range(9)))
    sched.close()
    assert len(starts) == 9
    window = 0.2  # JITTER only widens it
    for i in range(3, 9):
        assert starts[i] - starts[i - 3] >= window - 0.01
    assert starts[-1] - starts[0] < 1.5


async def test_flood_wait_parks_only_its_method() -> None:
    """After a FloodWait on one method, another method still runs at once,
    and the failed call is retried after the wait and succeeds."""
    sched = Scheduler({"slow": (10, 0.1), "fast": (10, 0.1)}, scale=1.0)
    attempts = {"slow": 0}
    waits: list[datetime] = []

    async def slow() -> str:
        attempts["slow"] += 1
        if attempts["slow"] == 1:
            raise FloodWait(0.5)
        return "slow done"

    async def on_wait(until: datetime) -> None:
        waits.append(until)

    t0 = time.monotonic()
    slow_task = asyncio.create_task(sched.call("slow", slow, on_wait=on_wait))
    await asyncio.sleep(0.05)

    async def fast() -> float:
        return time.monotonic() - t0

    fast_at = await sched.call("fast", fast)
    assert fast_at < 0.3
    assert await slow_task == "slow done"
    assert time.monotonic() - t0 >= 0.5
    assert attempts["slow"] == 2 and len(waits) == 1
    assert sched.flood_waits == 1
    sched.close()


async def test_live_work_overtakes_queued_backfill() -> None:
    """Queued LIVE calls are served before BACKFILL calls that queued earlier."""
    budget = Budget("m", 1, 0.05)
    order: list[str] = []
    await budget.acquire(BACKFILL)  # uses the only slot: the rest must queue

    async def take(name: str, prio: int) -> None:
        await budget.acquire(prio)
        order.append(name)

    tasks = [asyncio.create_task(take(f"backfill{i}", BACKFILL)) for i in range(3)]
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(take("live", LIVE)))
    await asyncio.gather(*tasks)
    budget.close()
    assert order[0] == "live"


async def test_flood_longer_than_allowed_is_raised() -> None:
    """A wait above max_flood_wait is not slept through; the caller gets FloodTooLong."""
    sched = Scheduler({"m": (5, 1.0)}, max_flood_wait=10)

    async def call() -> None:
        raise FloodWait(7200)

    with pytest.raises(FloodTooLong) as err:
        await sched.call("m", call)
    assert err.value.seconds == 7200
    assert sched.parked_until("m") is not None
    sched.close()


async def test_backfill_is_not_starved_by_a_stream_of_live_work() -> None:
    """With more live calls queued than the budget serves, a backfill call
    queued first still gets one of the first FAIR_EVERY slots."""
    budget = Budget("m", 1, 0.02)
    await budget.acquire(LIVE)
    order: list[str] = []

    async def take(name: str, prio: int) -> None:
        await budget.acquire(prio)
        order.append(name)

    tasks = [asyncio.create_task(take("backfill", BACKFILL))]
    await asyncio.sleep(0)
    tasks += [asyncio.create_task(take(f"live{i}", LIVE)) for i in range(8)]
    await asyncio.gather(*tasks)
    budget.close()
    assert order.index("backfill") < 4


async def test_preloaded_requests_of_a_previous_run_count_in_the_window() -> None:
    """Requests a previous process sent within the window (unix times from the
    archive's request log) fill the budget: the next call waits for the oldest
    to leave the window; requests older than the window are ignored."""
    sched = Scheduler({"m": (3, 0.5)}, scale=1.0)
    now = time.time()
    counted = sched.preload({"m": [now - 60.0, now - 0.2, now - 0.1, now - 0.05]})
    assert counted == 3
    assert sched.budget("m").delay() > 0.1
    t0 = time.monotonic()

    async def call() -> None:
        return None

    await sched.call("m", call)
    assert time.monotonic() - t0 >= 0.2
    assert [m for m, _ in sched.drain_log()] == ["m"]
    assert sched.drain_log() == []
    sched.close()


async def test_a_request_held_up_on_the_way_counts_until_its_answer() -> None:
    """Telegram counts a request when it receives it. One held up on the way
    (a loaded event loop, a retransmit) keeps its slot until answered, so
    the next window's requests never reach the server inside its window: the
    emulator's own rate limiter, as the server, refuses none of them. (Counted
    from when it was sent, its slot ended 0.35 s early and the fourth request
    was refused.)"""
    from telewatch.emulator.rates import RateLimiter, RateModel

    server = RateLimiter(RateModel(budgets={"m": (2, 1.0)}))
    sched = Scheduler({"m": (2, 1.0)}, scale=1.0)
    refused: list[int] = []
    received: list[float] = []

    async def request(on_the_way: float) -> None:
        await asyncio.sleep(on_the_way)
        received.append(time.monotonic())
        wait = server.check("m")
        if wait is not None:
            refused.append(wait)

    await asyncio.gather(*(sched.call("m", lambda d=d: request(d)) for d in (0.35, 0, 0, 0)))
    sched.close()
    assert len(received) == 4
    assert refused == []
    # And no slower than it must be: the last two went out one window after
    # the first one's answer.
    assert received[-1] - received[0] < 1.0 + 0.35 + 0.5


async def test_a_request_sent_again_after_a_reconnect_counts_twice() -> None:
    """A request in flight when the connection drops reaches Telegram twice
    (once before the drop, once resent after the reconnect). After
    ``resent()`` (the daemon calls it on every reconnect) the scheduler
    counts it twice too, and the emulator's rate limiter refuses nothing."""
    from telewatch.emulator.rates import RateLimiter, RateModel

    server = RateLimiter(RateModel(budgets={"m": (3, 1.0)}))
    sched = Scheduler({"m": (3, 1.0)}, scale=1.0)
    refused: list[int] = []
    dropped = asyncio.Event()

    def receive() -> None:
        wait = server.check("m")
        if wait is not None:
            refused.append(wait)

    async def in_flight_at_the_drop() -> None:
        receive()
        await dropped.wait()
        receive()  # Telethon sent it again on the new connection

    async def plain() -> None:
        receive()

    first = asyncio.create_task(sched.call("m", in_flight_at_the_drop))
    await asyncio.sleep(0.05)
    dropped.set()
    assert sched.resent() == 1
    await first
    await asyncio.gather(sched.call("m", plain), sched.call("m", plain))
    sched.close()
    assert refused == []
    assert sched.resent() == 0  # nothing in flight any more


async def test_only_requests_awaiting_an_answer_count_as_in_flight() -> None:
    """Telethon's own requests (``reserve``: we never see their answer) and a
    caller cancelled while queued are not in flight, so a reconnect does not
    count them again; the in-flight list cannot grow over a long run."""
    sched = Scheduler({"m": (1, 0.3)}, scale=1.0)
    for _ in range(3):  # the second and third wait for the window
        await sched.reserve("m")
    assert sched.resent() == 0
    held, started = asyncio.Event(), asyncio.Event()

    async def slow() -> None:
        started.set()
        await held.wait()

    first = asyncio.create_task(sched.call("m", slow))
    await started.wait()
    queued = asyncio.create_task(sched.call("m", slow))
    await asyncio.sleep(0.01)
    queued.cancel()
    with pytest.raises(asyncio.CancelledError):
        await queued
    assert sched.resent() == 1  # only the one awaiting its answer
    held.set()
    await first
    assert sched.resent() == 0
    sched.close()
