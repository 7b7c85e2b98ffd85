"""The slow full sweep: every archived post of every channel re-read.

Reconciliation re-reads only each channel's newest ``reconcile_window``
posts; a deletion or an edit deep in a channel's history is found here.

Contracts:

* One sweep for the whole daemon. It re-reads 100 archived, not deleted
  posts per ``channels.getMessages`` request (newest first, down to the
  oldest), at most ``sweep_rate`` requests a minute, behind every other
  getMessages use (backfill priority in the scheduler).
* Channels are taken least recently checked first: a pass in progress
  continues (it is resumed after a restart from ``sweep_state``), then
  channels never swept, then the one whose last complete pass is oldest.
* A changed post becomes a new version and a missing one a tombstone
  (method ``reconcile``), exactly as in reconciliation (``ChannelWorker.check``);
  ``SweepProgressed`` is queued after that check's events, so a restart
  never skips a batch it did not commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from telewatch.models import SweepProgressed
from telewatch.store import sync

from .channel import ChannelWorker, Shared
from .pacing import BACKFILL, Budget

log = logging.getLogger("telewatch.daemon")

IDLE = 5.0
"""Seconds between looks for work when no channel can be swept."""
_EPOCH = datetime.min.replace(tzinfo=UTC)


class Sweeper:
    """The daemon's full sweep (see the module contract)."""

    def __init__(self, shared: Shared, workers: Callable[[], Iterable[ChannelWorker]]) -> None:
        self.s = shared
        self._workers = workers
        conn = shared.reader()
        try:
            self.states = sync.sweep_states(conn)
        finally:
            conn.close()
        self._budget: Budget | None = None
        self._rate = 0.0

    def close(self) -> None:
        """Stop the sweep's pacing task."""
        if self._budget is not None:
            self._budget.close()

    def _pace(self) -> Budget | None:
        rate = self.s.settings.sweep_rate
        if rate <= 0:
            return None
        if self._budget is None or rate != self._rate:
            # A sliding window of one minute, scaled like every budget.
            n = max(1, round(rate))
            window = 60.0 * n / rate * self.s.scale
            self._budget, self._rate = Budget("sweep", n, window), rate
        return self._budget

    def _candidates(self) -> list[ChannelWorker]:
        out = []
        for w in self._workers():
            cid = w.channel_id
            if cid is None or self.s.owners.get(cid) != w.key or not w.backfill_done:
                continue
            if w.state not in ("live", "polling", "renamed", "flood_wait"):
                continue
            out.append(w)
        return out

    def _order(self, w: ChannelWorker) -> tuple[int, datetime]:
        assert w.channel_id is not None
        st = self.states.get(w.channel_id)
        if st is not None and st.cursor is not None:
            return 0, st.pass_started or _EPOCH  # a pass in progress continues
        if st is None or st.last_pass_at is None:
            return 1, _EPOCH  # never swept
        return 2, st.last_pass_at

    def next_channel(self) -> ChannelWorker | None:
        """The channel to sweep next (least recently checked), or None."""
        cands = self._candidates()
        return min(cands, key=self._order) if cands else None

    async def run(self) -> None:
        """Sweep forever (cancel to stop)."""
        while True:
            budget = self._pace()
            w = self.next_channel()
            if budget is None or w is None:
                await asyncio.sleep(IDLE * max(self.s.scale, 0.01))
                continue
            assert w.channel_id is not None
            st = self.states.get(w.channel_id)
            if (
                st is not None
                and st.cursor is None
                and st.last_pass_at is not None
                and (datetime.now(UTC) - st.last_pass_at).total_seconds()
                < IDLE * max(self.s.scale, 0.01)
            ):
                # Every channel was swept just now (small or empty archive):
                # rest instead of spinning through passes that cost nothing.
                await asyncio.sleep(IDLE * max(self.s.scale, 0.01))
                continue
            try:
                await self.step(w, budget)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                # The channel's own worker reports its errors; the sweep
                # moves on (the failed batch is retried on the next turn).
                log.info("sweep step failed", extra={"channel": w.key, "error": str(err)})
                await asyncio.sleep(IDLE * max(self.s.scale, 0.01))

    async def step(self, w: ChannelWorker, budget: Budget) -> None:
        """Re-read the channel's next batch of posts (or close its pass)."""
        cid = w.channel_id
        assert cid is not None
        st = self.states.get(cid)
        cursor = st.cursor if st is not None else None
        checked = st.checked if st is not None else 0
        conn = self.s.reader()
        try:
            ids = sync.sweep_batch(conn, cid, cursor)
        finally:
            conn.close()
        now = datetime.now(UTC)
        if not ids:
            await self.s.put(SweepProgressed(cid, None, checked, True))
            self.states[cid] = sync.SweepState(
                cid, None, 0, None, now, (st.passes if st is not None else 0) + 1
            )
            self.s.counters["sweep_passes"] += 1
            return
        await budget.acquire(BACKFILL)
        await w.check(ids, priority=BACKFILL)
        checked += len(ids)
        low = min(ids)
        await self.s.put(SweepProgressed(cid, low, checked, False))
        self.states[cid] = sync.SweepState(
            cid,
            low,
            checked,
            (st.pass_started if st is not None and st.cursor is not None else None) or now,
            st.last_pass_at if st is not None else None,
            st.passes if st is not None else 0,
        )
        self.s.counters["sweep_checked"] += len(ids)
