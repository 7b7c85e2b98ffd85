"""Comments: the linked discussion group of each channel that asks for them.

Contracts:

* A watched channel whose config says ``comments = true`` (or, without a
  word of its own, ``[comments] enabled``) gets its discussion group looked
  up once its own backfill is done: ``channels.getFullChannel`` →
  ``linked_chat_id`` (the group comes in the answer's chats, with its access
  hash). The link is archived (``DiscussionLinked``, chained); a channel
  without a group is asked again after ``RELINK_INTERVAL`` (scaled).
* The group is then archived by a :class:`CommentsWorker`: a
  :class:`~telewatch.daemon.channel.ChannelWorker` for the group (joined, all
  history), so everything that keeps a channel complete keeps its comments
  complete: backfill oldest gap first, live pushes once joined, our own
  ``getChannelDifference`` from the group's stored pts (gap repair after a
  stop), reconciliation and the full sweep (edits and deletions). Each group
  message carries its place in the discussion (sources: thread, author, or
  the channel post a discussion copy stands for), written by the store.
* The comment backfill has its own request budget: its ``getHistory`` calls
  go through the scheduler as ``comments.GetHistory`` (``[daemon.budgets]``),
  so comments never slow the channels' own backfill and repair. A FloodWait
  on it shows as ``flood_wait`` (detail naming ``comments.GetHistory`` and
  the next attempt) on every group still backfilling, as a FloodWait on
  ``messages.GetHistory`` does on the channels it holds back.
* The worker's key is ``comments:<channel key>``; it stops when its channel
  leaves the watch list or its comments are switched off.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from telewatch.config import Settings
from telewatch.models import Channel, ChannelSeen, DiscussionLinked
from telewatch.sources.telegram import HistoryPage, SourceError
from telewatch.store.watchlist import WatchEntry

from .channel import ChannelWorker, Shared, _flood_detail
from .pacing import MAINTENANCE
from .tasks import cancel_and_wait

log = logging.getLogger("telewatch.daemon")

PREFIX = "comments:"
COMMENTS_HISTORY = "comments.GetHistory"
"""The scheduler budget of the comment backfill's getHistory requests."""
RELINK_INTERVAL = 6 * 3600.0
"""Seconds before a channel without a discussion group is asked again."""
RETRY_AFTER = 60.0
"""Seconds before a discussion-group lookup that failed (a disconnect) is tried again."""


def comments_key(channel_key: str) -> str:
    """The worker key of a channel's comments."""
    return PREFIX + channel_key


class CommentsWorker(ChannelWorker):
    """The discussion group of the watched channel ``parent_key`` (see the
    module contract)."""

    def __init__(self, shared: Shared, parent_key: str, group: Channel) -> None:
        if group.access_hash is None:
            raise ValueError(f"discussion group {group.id} came without an access hash")
        entry = WatchEntry(
            key=comments_key(parent_key),
            username=None,
            channel_id=group.id,
            mode="join",
            backfill="all",
            origin="comments",
            added_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        super().__init__(shared, entry)
        self.parent_key = parent_key
        self.group = group

    def _archived_channel(self) -> tuple[int, int, str | None] | None:
        # Known from getFullChannel of the channel: no lookup, no resolve.
        assert self.group.access_hash is not None
        return self.group.id, self.group.access_hash, self.group.username

    async def _page(self, cid: int, lo: int, prio: int) -> HistoryPage:
        return await self._req(COMMENTS_HISTORY, lambda: self.s.source.history(cid, lo), prio)

    async def held_back(self, method: str, until: datetime) -> None:
        """A FloodWait parked ``method``: the comment backfill pages go through
        their own budget, so a park of ``comments.GetHistory`` (hit by any
        group's backfill) holds back every group still backfilling, and a park
        of the channels' ``messages.GetHistory`` none of them."""
        backfilling = not self.backfill_done and self.state in ("backfilling", "flood_wait")
        if method == COMMENTS_HISTORY and backfilling:
            self._held_by = method
            await self._set("flood_wait", _flood_detail(method, until), until, base=False)


class CommentLinks:
    """Starts and stops the :class:`CommentsWorker` of every channel that
    wants its comments (called from the supervisor's watch-list loop)."""

    def __init__(
        self,
        shared: Shared,
        settings: Callable[[], Settings],
        workers: dict[str, ChannelWorker],
    ) -> None:
        self.s = shared
        self._settings = settings
        self.workers = workers
        self._asked: dict[str, float] = {}  # channel key → monotonic time of the last lookup
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def step(self) -> None:
        """Start lookups and workers that are due; stop the unwanted ones."""
        settings = self._settings()
        for key in [k for k in self.workers if k.startswith(PREFIX)]:
            parent = key[len(PREFIX) :]
            if parent not in self.workers or not settings.comments_for(parent):
                w = self.workers.pop(key)
                # A parent whose lease moved to another daemon: its group goes
                # on there, so this daemon writes no "stopped" over it.
                moved = parent not in self.workers and self.s.leases is not None
                await w.stop(None if moved else "stopped")
                self._asked.pop(parent, None)
                log.info("comments unwatched", extra={"channel": parent})
        for key, w in list(self.workers.items()):
            if key.startswith(PREFIX) or not settings.comments_for(key):
                continue
            if comments_key(key) in self.workers or key in self._tasks:
                continue
            if w.channel_id is None or not w.backfill_done or w.paused:
                continue  # comments follow the channel's own backfill
            last = self._asked.get(key)
            if last is not None and time.monotonic() - last < RELINK_INTERVAL * self.s.scale:
                continue
            self._asked[key] = time.monotonic()
            self._tasks[key] = asyncio.create_task(self._link(key, w), name=f"link-{key}")

    async def _link(self, key: str, w: ChannelWorker) -> None:
        try:
            await self._lookup(key, w)
        finally:
            self._tasks.pop(key, None)

    async def _lookup(self, key: str, w: ChannelWorker) -> None:
        cid = w.channel_id
        assert cid is not None
        try:
            channel, group = await w._req(
                "channels.GetFullChannel", lambda: self.s.source.linked(cid), MAINTENANCE
            )
        except SourceError as err:
            self.s.counters["errors"] += 1
            log.warning("discussion group lookup failed", extra={"channel": key, "error": str(err)})
            # A passing failure (a disconnect) is tried again in a minute, not
            # after RELINK_INTERVAL.
            self._asked[key] = time.monotonic() - (RELINK_INTERVAL - RETRY_AFTER) * self.s.scale
            return
        now = datetime.now(UTC)
        if channel is not None:
            await self.s.put(ChannelSeen(channel, now))
        if group is None or group.access_hash is None:
            log.info("channel has no discussion group", extra={"channel": key})
            return
        # The link first: a group row is never without the link that makes it one.
        await self.s.put(DiscussionLinked(cid, group.id, now))
        await self.s.put(ChannelSeen(group, now))
        if key not in self.workers or comments_key(key) in self.workers:
            return  # unwatched meanwhile, or already started
        cw = CommentsWorker(self.s, key, group)
        self.workers[cw.key] = cw
        cw.start()
        log.info("comments watched", extra={"channel": key, "group": group.id})

    async def close(self) -> None:
        """Cancel lookups in flight (the workers are stopped with the others)."""
        for t in list(self._tasks.values()):
            await cancel_and_wait(t, 1.0)  # bounded; the caller's cancellation propagates
