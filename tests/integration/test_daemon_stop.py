"""The daemon's stop is bounded: a channel worker stops when its catch-up is
woken at the moment it is cancelled (the race that left SIGTERM to the 8 s
watchdog). Real components: the emulator over TCP with Telethon,
the real worker, scheduler and writer on an SQLite archive."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from telewatch.config import DaemonSettings
from telewatch.daemon.channel import ChannelWorker, Shared
from telewatch.daemon.pacing import Scheduler
from telewatch.emulator import EmulatorThread, RateModel
from telewatch.sources.telegram import TelegramSource
from telewatch.store import watchlist
from telewatch.store.db import connect, migrate
from telewatch.store.writer import Writer
from tests.fixtures.daemon import RATE_SCALE

CID = 1500004100
NAME = "stop_race"


@dataclass
class Live:
    """A joined channel's worker, live against the emulator."""

    emu: EmulatorThread
    worker: ChannelWorker
    writer: Writer
    db: Path


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    with EmulatorThread(rate=RateModel(scale=RATE_SCALE)) as et:

        def setup(emu: object) -> None:
            emu.add_channel(CID, NAME, "Stop race")  # type: ignore[attr-defined]
            for k in range(5):
                emu.post(CID, f"history {k}", push=False)  # type: ignore[attr-defined]

        et.call(setup)
        session = et.write_session(tmp_path / "tw.session")
        db = tmp_path / "tw.db"
        migrate(db)
        conn = connect(db, readonly=False)
        try:
            watchlist.merge_config(conn, [(NAME, None, "join", "all")])
            (entry,) = watchlist.active_entries(conn)
        finally:
            conn.close()
        settings = DaemonSettings(rate_scale=RATE_SCALE, gap_repair_interval=3.0, embed=False)
        source = TelegramSource(session, 1, "0123456789abcdef0123456789abcdef")
        await source.connect()
        scheduler = Scheduler(settings.budgets, scale=RATE_SCALE)
        connected = asyncio.Event()
        connected.set()
        try:
            async with Writer(db) as writer:
                shared = Shared(
                    settings=settings,
                    source=source,
                    scheduler=scheduler,
                    put=writer.put,
                    db_path=db,
                    counters=Counter(),
                    connected=connected,
                    scale=RATE_SCALE,
                )
                worker = ChannelWorker(shared, entry)
                worker.start()
                end = time.monotonic() + 20
                while worker.state != "live" and time.monotonic() < end:
                    await asyncio.sleep(0.05)
                assert worker.state == "live", (worker.state, worker.detail)
                # Past its first getChannelDifference: the catch-up sleeps.
                await asyncio.sleep(0.5)
                yield Live(et, worker, writer, db)
        finally:
            scheduler.close()
            await source.close()


async def _ends_within(coro: object, seconds: float) -> bool:
    """Whether ``coro`` ends within ``seconds`` (run as its own task, so that
    a hung one cannot hang the test; it is left cancelled)."""
    task = asyncio.ensure_future(coro)  # type: ignore[arg-type]
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()
    return task in done


async def test_a_worker_stops_when_its_catchup_is_woken_as_it_is_cancelled(live: Live) -> None:
    """A live update or a reconnect wakes the worker's catch-up in the very
    loop turn that the stop cancels it: the worker still ends within 1 s
    (asyncio.wait_for on Python 3.11 swallowed that cancellation, and the
    worker's task group waited for its catch-up loop forever)."""
    w = live.worker
    w.catchup.set()  # as a live update does, just before SIGTERM
    assert await _ends_within(w.stop(None), 1.0), "the worker did not stop"
    assert w._task is not None and w._task.done()
