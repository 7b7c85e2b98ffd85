"""One watched channel: resolve it once, backfill it oldest gap first, keep it
complete (gap repair / polling), reconcile deletions and sample engagement.

Contracts:

* ``RangeSet`` mirrors the archive's ``sync_ranges``: closed id intervals in
  which every existing message has been written. Backfill, repair and polling
  all do the same thing: fetch the oldest page at or above the lowest hole
  (``history(from_id=lo)``) and, after putting its posts, put
  ``RangeArchived(lo, last id)``; so the position is saved after every page
  and a restart resumes exactly where the last committed page ended.
* Every request goes through the daemon's ``Scheduler``; a FloodWait shows as
  state ``flood_wait`` until it ends, then the previous state returns.
* A private channel is marked ``private`` and re-checked every
  ``PRIVATE_RECHECK`` seconds (scaled), never in a loop; a renamed channel is
  marked ``renamed`` (detail names the new username) and still archived by id.
* Catch-up is ours: for a joined channel the worker asks
  ``updates.getChannelDifference`` itself from the archive's stored pts, at
  start, after every reconnect and shortly after live updates, and writes
  every new message, edit and deletion of the answer together with the new
  pts (one ``DifferenceApplied`` event: one transaction). A crash before that
  commit replays the difference; the pts never runs ahead of the archive.
  ``ChannelDifferenceTooLong`` → gap repair and a reconcile of the posts that
  may have changed, at once.
* Reconciliation of the recent window runs at once after start and after
  every reconnect, then every ``reconcile_interval``.
* A known channel costs no request to find: id + access hash come from the
  archive and, for joined channels, from the supervisor's one
  ``messages.getDialogs`` listing at start (which also gives the pts).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from telewatch.config import DaemonSettings
from telewatch.models import (
    BackfillProgressed,
    ChannelSeen,
    ChannelState,
    ChannelStatusChanged,
    DifferenceApplied,
    EngagementSampled,
    Event,
    PostDeleted,
    PostSeen,
    RangeArchived,
)
from telewatch.sources.telegram import (
    ChannelUnavailable,
    Dialog,
    Disconnected,
    HistoryPage,
    JoinRefused,
    NotAuthorized,
    SourceError,
    TelegramSource,
    UsernameUnknown,
)
from telewatch.store import sync
from telewatch.store.db import Connection, connect
from telewatch.store.watchlist import WatchEntry

from .leases import LeaseKeeper
from .pacing import BACKFILL, LIVE, MAINTENANCE, FloodTooLong, Scheduler
from .tasks import cancel_and_wait, wake_or_timeout

log = logging.getLogger("telewatch.daemon")
T = TypeVar("T")

PRIVATE_RECHECK = 1800.0
ERROR_BACKOFF_MAX = 300.0
WORKER_STOP = 2.0
"""Seconds ``stop`` waits for a cancelled worker to end before going on without it."""
LIVE_GAP_GRACE = 3.0
"""Seconds a hole below a live message may stay before repair fetches it."""
LIVE_DIFF_DELAY = 10.0
"""Seconds after a live update before the worker asks the channel's
difference itself (picks up what Telethon dropped, keeps the stored pts near
the server's so a restart's difference is short)."""
RESOLVE = "contacts.ResolveUsername"
TOO_LONG_LOOKBACK = timedelta(hours=48)
"""After ChannelDifferenceTooLong, posts published since this long before the
stored pts was saved are reconciled at once (the rest by the full sweep)."""


class RangeSet:
    """Sorted, merged closed intervals of message ids (adjacent ones merge)."""

    def __init__(self, ranges: list[tuple[int, int]] | None = None) -> None:
        self._r: list[list[int]] = []
        for lo, hi in ranges or ():
            self.add(lo, hi)

    def add(self, lo: int, hi: int) -> None:
        """Merge ``[lo, hi]`` in."""
        if hi < lo:
            return
        out: list[list[int]] = []
        placed = False
        for a, b in self._r:
            if b + 1 < lo:
                out.append([a, b])
            elif hi + 1 < a:
                if not placed:
                    out.append([lo, hi])
                    placed = True
                out.append([a, b])
            else:
                lo, hi = min(lo, a), max(hi, b)
        if not placed:
            out.append([lo, hi])
        out.sort()
        self._r = out

    def covers(self, message_id: int) -> bool:
        """Whether ``message_id`` lies inside an interval."""
        return any(a <= message_id <= b for a, b in self._r)

    @property
    def top(self) -> int:
        """The highest archived id (0 when empty)."""
        return self._r[-1][1] if self._r else 0

    @property
    def bottom(self) -> int | None:
        """The lowest archived id, or None."""
        return self._r[0][0] if self._r else None

    def first_hole(self, floor: int) -> int:
        """The lowest id >= ``floor`` not covered (there is always one)."""
        cur = floor
        for a, b in self._r:
            if b < cur:
                continue
            if a > cur:
                return cur
            cur = b + 1
        return cur

    def intervals(self) -> list[tuple[int, int]]:
        """The intervals, ascending."""
        return [(a, b) for a, b in self._r]


@dataclass
class Shared:
    """What every channel worker shares with the supervisor."""

    settings: DaemonSettings
    source: TelegramSource
    scheduler: Scheduler
    put: Callable[[Event], Awaitable[None]]
    db_path: Path
    counters: Counter[str]
    connected: asyncio.Event
    scale: float
    # Channel id → key of the watch-list entry whose worker archives it. A
    # channel listed twice (by username and by id, or under an old and a new
    # name) is worked by one entry; the other waits as "duplicate".
    owners: dict[int, str] = field(default_factory=dict)
    # Joined channels from messages.getDialogs at start, by channel id.
    dialogs: dict[int, Dialog] = field(default_factory=dict)
    # Set by the supervisor from the moment the connection to Telegram drops
    # until it is back: meanwhile every channel shows "disconnected".
    offline_since: datetime | None = None
    # The account's limit of joined channels ([telegram] max_joined) and the
    # channels this run knows it has joined (or is joining) besides dialogs.
    max_joined: int = 500
    joined_ids: set[int] = field(default_factory=set)
    # On a PostgreSQL archive shared by several daemons: this run's leases and
    # its account's own access hashes (daemon/leases.py); None on SQLite.
    leases: LeaseKeeper | None = None

    def joined_count(self) -> int:
        """How many channels the account has joined, as far as this run knows."""
        return len(self.joined_ids | self.dialogs.keys())

    def reader(self) -> Connection:
        """A read-only connection to the archive, to close after use (on
        PostgreSQL, during a run, it goes back to a small pool:
        db.share_readers)."""
        return connect(self.db_path, readonly=True)


def _now() -> datetime:
    return datetime.now(UTC)


def _hms(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%H:%M:%SZ")


def _flood_detail(method: str, until: datetime) -> str:
    return f"{method}: Telegram asked to wait (FloodWait); next attempt at {_hms(until)}"


def _ts(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


class ChannelWorker:
    """The tasks of one watch-list entry (see the module contract)."""

    def __init__(self, shared: Shared, entry: WatchEntry) -> None:
        self.s = shared
        self.entry = entry
        self.key = entry.key
        self.channel_id: int | None = entry.channel_id
        self.username: str | None = entry.username
        self.ranges = RangeSet()
        self.backfill_done = False
        self.state: ChannelState = "pending"
        self.detail: str | None = None
        self.flood_until: datetime | None = None
        self._held_by: str | None = None  # the parked method behind "flood_wait"
        # The highest channel pts Telegram has answered with, and why archiving
        # is paused when an answer went below it (see _server_went_back).
        self._pts_seen = 0
        self._reset: str | None = None
        # How the channel is archived: the entry's mode, or "poll" for a
        # join-mode channel the account may not join (max_joined, or
        # Telegram's CHANNELS_TOO_MUCH); _join_note says which.
        self.mode = entry.mode
        self._join_note: str | None = None
        self._base: tuple[ChannelState, str | None] = ("pending", None)
        self.renamed_to: str | None = None
        self.repair = asyncio.Event()
        self.recheck = asyncio.Event()
        self._eng: list[tuple[float, int, float]] = []  # (due, message id, post date)
        self._eng_wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._gap_since: float | None = None
        self.joined = False
        self.pts: int | None = None
        self._pts_saved_at: datetime | None = None
        self.catchup = asyncio.Event()
        self.reconcile_now = asyncio.Event()
        self._about_due = True
        self._about_next = time.monotonic() + shared.settings.channel_info_interval
        self._diff_pending = False
        self._resolving_name = False  # waiting on contacts.ResolveUsername

    # -- lifecycle --------------------------------------------------------

    def start(self) -> None:
        """Start the worker's main task."""
        self._task = asyncio.create_task(self._main(), name=f"channel-{self.key}")

    async def stop(self, state: ChannelState | None = "stopped") -> None:
        """Cancel the worker; report ``state`` (None: leave the status alone)."""
        # Bounded, and a cancellation of the caller (the supervisor's stop,
        # the watch-list loop's) still propagates: see daemon/tasks.py.
        if self._task is not None and not await cancel_and_wait(self._task, WORKER_STOP):
            log.warning("channel worker did not stop in time", extra={"channel": self.key})
        if self.channel_id is not None and self.s.owners.get(self.channel_id) == self.key:
            del self.s.owners[self.channel_id]
        if state is not None:
            await self._set(state, None, force=True)

    # -- status -----------------------------------------------------------

    async def _set(
        self,
        state: ChannelState,
        detail: str | None,
        flood_until: datetime | None = None,
        *,
        base: bool = True,
        force: bool = False,
    ) -> None:
        if base and state not in ("flood_wait",):
            self._base = (state, detail)
        if not force and state == self.state and detail == self.detail and flood_until is None:
            return
        self.state, self.detail, self.flood_until = state, detail, flood_until
        if self.s.offline_since is not None and not force:
            return  # shown as "disconnected" until the link is back (show_state)
        await self.s.put(
            ChannelStatusChanged(
                key=self.key,
                channel_id=self.channel_id,
                state=state,
                detail=detail,
                changed_at=_now(),
                flood_until=flood_until,
            )
        )

    @property
    def paused(self) -> bool:
        """Archiving paused: the server's world is not the archive's (see _server_went_back)."""
        return self._reset is not None

    async def show_state(self) -> None:
        """Write the worker's own state again (the connection is back)."""
        await self.s.put(
            ChannelStatusChanged(
                self.key, self.channel_id, self.state, self.detail, _now(), self.flood_until
            )
        )

    async def show_disconnected(self, since: datetime) -> None:
        """Show ``disconnected``: nothing can be fetched until the link is back."""
        await self.s.put(
            ChannelStatusChanged(
                self.key,
                self.channel_id,
                "disconnected",
                f"connection to Telegram lost at {_hms(since)}; reconnecting",
                _now(),
            )
        )

    async def held_back(self, method: str, until: datetime) -> None:
        """A FloodWait parked ``method`` until ``until``: show ``flood_wait`` if
        this channel's next work needs it (poll-mode and backfilling channels
        all need getHistory; live channels keep receiving pushes)."""
        if method == RESOLVE and self._resolving_name:
            self._resolve_parked(until)
        needs = method == "messages.GetHistory" and (self.mode == "poll" or not self.backfill_done)
        if needs and self.state in ("polling", "backfilling", "flood_wait"):
            self._held_by = method
            await self._set("flood_wait", _flood_detail(method, until), until, base=False)

    async def _running_state(self) -> None:
        if self._reset is not None:
            await self._set("error", self._reset)
        elif self.renamed_to is not None:
            await self._set("renamed", f"now {self.renamed_to}; still archived by id")
        elif not self.backfill_done:
            await self._set("backfilling", None)
        elif self.mode == "poll":
            await self._set("polling", self._join_note)
        else:
            await self._set("live", None)

    async def _req(self, method: str, fn: Callable[[], Awaitable[T]], priority: int) -> T:
        async def on_wait(until: datetime) -> None:
            if method == RESOLVE:
                self._resolve_parked(until)
            self._held_by = method
            await self._set("flood_wait", _flood_detail(method, until), until, base=False)

        delay = 0.5 * self.s.scale + 0.05
        while True:
            await self.s.connected.wait()
            if self.state == "resolving":
                await self._set("resolving", self._resolve_detail(method))
            try:
                result = await self.s.scheduler.call(method, fn, priority=priority, on_wait=on_wait)
            except Disconnected:
                # Telethon (or, when it gives up, the connection loop, which
                # clears ``connected``) reconnects; the request is repeated.
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            # Back from flood_wait once the parked method went through (or its
            # park is over), not because another method did.
            held = self._held_by
            if self.state == "flood_wait" and (
                held in (None, method) or self.s.scheduler.parked_until(held) is None
            ):
                self._held_by = None
                await self._set(*self._base)
            return result

    def _resolve_parked(self, until: datetime) -> None:
        """Telegram parked this account's username resolution until ``until``:
        on a shared archive, past ``handover_after`` the channel goes to the
        other daemons (this account has no hash of its own for it); the
        supervisor stops this worker once the lease is gone."""
        left = (until - _now()).total_seconds()
        leases = self.s.leases
        if (
            leases is not None
            and left > self.s.settings.handover_after
            and leases.hand_over(self.key, until.timestamp())
        ):
            self.s.counters["handed_over"] += 1

    def _resolve_detail(self, method: str) -> str:
        """Why resolving takes time: the request it is at and, when the
        method's budget is spent, when it can go."""
        b = self.s.scheduler.budget(method)
        wait = b.eta(b.waiting)
        if wait < 1.0:
            return f"asking Telegram ({method})"
        at = _now() + timedelta(seconds=wait)
        return (
            f"waiting for the {method} budget ({b.requests} per {b.window:.0f} s, "
            f"{b.waiting} queued); next attempt about {_hms(at)}"
        )

    def _error(self, what: str) -> None:
        self.s.counters["errors"] += 1
        self.s.counters[f"errors/{self.key}"] += 1
        log.warning("channel error", extra={"channel": self.key, "error": what})

    # -- main -------------------------------------------------------------

    async def _main(self) -> None:
        backoff = 1.0
        while True:
            started = time.monotonic()
            try:
                await self._resolve()
                owner = self._claim()
                if owner != self.key:
                    await self._set("duplicate", f"same channel as {owner}, archived through it")
                    await self._sleep(PRIVATE_RECHECK * self.s.scale, self.recheck)
                    continue
                async with asyncio.TaskGroup() as tg:
                    if self.joined:
                        tg.create_task(self._catchup_loop())
                    tg.create_task(self._sync_loop())
                    tg.create_task(self._maintenance_loop())
            except* ChannelUnavailable as eg:
                err = eg.exceptions[0]
                assert isinstance(err, ChannelUnavailable)
                if err.reason == "invalid" and self.channel_id is None:
                    await self._set("error", "unknown channel id; add it by username or link")
                else:
                    await self._set(
                        "private", "private or no longer accessible; rechecked periodically"
                    )
                await self._sleep(PRIVATE_RECHECK * self.s.scale, self.recheck)
            except* UsernameUnknown as eg:
                self._error(str(eg.exceptions[0]))
                await self._set("error", f"no public channel @{self.username}")
                await self._sleep(PRIVATE_RECHECK * self.s.scale, self.recheck)
            except* FloodTooLong as eg:
                ft = eg.exceptions[0]
                assert isinstance(ft, FloodTooLong)
                until = _now() + timedelta(seconds=ft.seconds)
                if ft.method == RESOLVE:
                    self._resolve_parked(until)
                await self._set("flood_wait", f"{ft.method}: waiting {ft.seconds:.0f} s", until)
                await asyncio.sleep(ft.seconds)
            except* SourceError as eg:
                self._error(str(eg.exceptions[0]))
                await self._set("error", str(eg.exceptions[0])[:200])
                if self.s.leases is not None and isinstance(eg.exceptions[0], NotAuthorized):
                    # Banned or logged out: the other accounts take its channels now.
                    self.s.leases.account_lost(str(eg.exceptions[0]))
                # Back off from 1 s again only after a run that lasted: an
                # error that comes back at once must not spin (it did when
                # every successful resolve reset the backoff).
                if time.monotonic() - started > ERROR_BACKOFF_MAX * max(self.s.scale, 0.01):
                    backoff = 1.0
                await asyncio.sleep(backoff * max(self.s.scale, 0.01))
                backoff = min(backoff * 2, ERROR_BACKOFF_MAX)

    def _claim(self) -> str:
        """Take the resolved channel unless another entry's worker has it;
        returns the key of the entry that archives it."""
        assert self.channel_id is not None
        return self.s.owners.setdefault(self.channel_id, self.key)

    async def _sleep(self, seconds: float, wake: asyncio.Event) -> None:
        await wake_or_timeout(wake, seconds)
        wake.clear()

    # -- resolution -------------------------------------------------------

    def _archived_channel(self) -> tuple[int, int, str | None] | None:
        """(id, access_hash, username) from the archive, so that a known
        channel costs no resolveUsername (the scarcest call)."""
        conn = self.s.reader()
        try:
            if self.channel_id is not None:
                row = sync.channel_by_id(conn, self.channel_id)
            else:
                assert self.username is not None
                row = sync.channel_by_username(conn, self.username)
                if row is None or row.access_hash is None:
                    # Renamed since: the old name is in channel_changes.
                    row = sync.channel_by_old_username(conn, self.username)
            if row is None or row.access_hash is None:
                return None
            if self.s.leases is not None:
                # Another account's hash is no use to this one: only its own.
                own = self.s.leases.own_hash(row.id)
                dialog = self.s.dialogs.get(row.id)
                if own is None and dialog is not None:
                    own = dialog.channel.access_hash
                if own is None:
                    return None
                return row.id, own, row.username
            return row.id, row.access_hash, row.username
        finally:
            conn.close()

    async def _resolve(self) -> None:
        """Know (id, access_hash), refresh the channel and join it if needed."""
        await self._set("resolving", None)
        known = self._archived_channel()
        fresh = known is None
        if known is None:
            if self.username is None:
                raise ChannelUnavailable(None, "invalid")
            name = self.username
            self._resolving_name = True
            try:
                ch, _joined = await self._req(
                    RESOLVE, lambda: self.s.source.resolve(name), MAINTENANCE
                )
            finally:
                self._resolving_name = False
            await self.s.put(ChannelSeen(ch, _now()))
            if self.s.leases is not None:
                self.s.leases.learn(ch.id, ch.access_hash)
            self.channel_id = ch.id
        else:
            self.channel_id = known[0]
            self.s.source.remember(known[0], known[1])
        cid = self.channel_id
        assert cid is not None
        self._load_progress()
        dialog = self.s.dialogs.get(cid)
        if dialog is not None and not fresh:
            # Joined and listed by getDialogs at start: id, access hash, a
            # changed username and the pts came with it; no request here.
            await self.s.put(ChannelSeen(dialog.channel, _now()))
            if self.s.leases is not None:
                self.s.leases.learn(cid, dialog.channel.access_hash)
            self._note_username(dialog.channel.username)
            joined = True
            if self.pts is None and dialog.pts is not None:
                await self._save_pts(dialog.pts)
        else:
            joined = await self._channel_seen(cid, about=False)
        if self.entry.mode == "join" and not joined:
            joined = await self._join(cid)
        self.joined = joined
        if joined:
            self.s.joined_ids.add(cid)
        if joined and self.pts is None:
            # Where our own catch-up starts: the pts of getFullChannel, read
            # before backfill, so that backfill plus the difference from here
            # leave nothing out.
            await self._fetch_about(cid)

    async def _join(self, cid: int) -> bool:
        """Join the channel unless the account is at its limit of joined
        channels; a channel it may not join is polled instead (logged,
        counted, said in its status). Returns whether it joined."""
        self.mode, self._join_note = "join", None
        limit = self.s.max_joined
        if cid not in self.s.joined_ids and self.s.joined_count() >= limit:
            return self._poll_instead(f"the account has joined max_joined = {limit} channels")
        self.s.joined_ids.add(cid)  # the slot is taken before the request: workers run at once
        try:
            await self._req("channels.JoinChannel", lambda: self.s.source.join(cid), MAINTENANCE)
        except JoinRefused:
            self.s.joined_ids.discard(cid)
            return self._poll_instead("Telegram refused the join (CHANNELS_TOO_MUCH)")
        except BaseException:
            self.s.joined_ids.discard(cid)
            raise
        return True

    def _poll_instead(self, why: str) -> bool:
        self.mode = "poll"
        self._join_note = f"not joined: {why}; polled instead"
        self.s.counters["join_refused"] += 1
        log.warning("channel polled instead of joined", extra={"channel": self.key, "reason": why})
        return False

    async def _fetch_about(self, cid: int, priority: int = MAINTENANCE) -> None:
        # Once per run (off the start-up path) and after Telegram says the
        # channel changed: the description is only in getFullChannel, and its
        # changes are history. Also the first pts of a joined channel.
        full, pts = await self._req(
            "channels.GetFullChannel", lambda: self.s.source.full(cid), priority
        )
        self._about_due = False
        self._about_next = time.monotonic() + self.s.settings.channel_info_interval
        await self.s.put(ChannelSeen(full, _now()))
        if self.joined and self.pts is None and pts is not None:
            await self._save_pts(pts)

    async def _save_pts(self, pts: int) -> None:
        assert self.channel_id is not None
        await self.s.put(DifferenceApplied(self.channel_id, pts, ()))
        self.pts, self._pts_saved_at = pts, _now()

    def _note_username(self, current: str | None) -> None:
        if current is None:
            return  # not known from this answer
        if self.entry.username and (current or "").lower() != self.entry.username.lower():
            self.renamed_to = f"@{current}" if current else "no username"
        else:
            self.renamed_to = None
        self.username = current or self.username

    def _load_progress(self) -> None:
        conn = self.s.reader()
        try:
            assert self.channel_id is not None
            self.ranges = RangeSet(sync.archived_ranges(conn, self.channel_id))
            st = sync.backfill_state(conn, self.channel_id)
            self.backfill_done = st is not None and st.done
            saved = sync.channel_pts(conn, self.channel_id)
            self.pts, self._pts_saved_at = saved if saved is not None else (None, None)
            self._load_engagement(conn)
        finally:
            conn.close()

    # -- backfill / repair / poll -----------------------------------------

    async def _floor(self) -> tuple[int, int | None]:
        """(lowest id to archive, estimated posts to fetch) for the depth."""
        depth = self.entry.backfill
        cid = self.channel_id
        assert cid is not None
        if depth == "all":
            return 1, None
        if depth.isdigit():
            n = int(depth)
            if n == 0:
                # Nothing old: start at the next post (live and repair only).
                newest = await self._req(
                    "messages.GetHistory", lambda: self.s.source.newest(cid), BACKFILL
                )
                return (newest.ids[-1] + 1 if newest.ids else 1), 0
            nth = await self._req(
                "messages.GetHistory", lambda: self.s.source.newest(cid, n - 1), BACKFILL
            )
            # The n-th newest post is the oldest to keep (fewer posts: all).
            return (nth.ids[-1] if nth.ids else 1), n
        when = datetime.combine(date.fromisoformat(depth), datetime.min.time(), UTC)
        before = await self._req(
            "messages.GetHistory", lambda: self.s.source.before(cid, when), BACKFILL
        )
        return (before.ids[-1] + 1 if before.ids else 1), None

    async def _sync_loop(self) -> None:
        floor, target = await self._floor()
        while True:
            source = (
                "backfill"
                if not self.backfill_done
                else ("poll" if self.mode == "poll" else "repair")
            )
            await self._running_state()
            await self._fill(floor, target, source)
            if not self.backfill_done:
                self.backfill_done = True
                await self.s.put(
                    BackfillProgressed(self.channel_id or 0, self.ranges.bottom, True, target)
                )
            await self._running_state()
            interval = (
                self.s.settings.poll_interval
                if self.mode == "poll"
                else self.s.settings.gap_repair_interval
            )
            await self._sleep(interval, self.repair)

    async def _fill(self, floor: int, target: int | None, source: str) -> None:
        cid = self.channel_id
        assert cid is not None
        prio = BACKFILL if source == "backfill" else LIVE
        # From an empty archive, Telegram's total count tells when the last
        # full page was the newest one, which saves a final empty request.
        # Only ranges actually seen are recorded, so an off count costs nothing:
        # the next repair fetches whatever lies above.
        fresh = floor == 1 and self.ranges.top == 0
        seen = 0
        while True:
            lo = self.ranges.first_hole(floor)
            pts_floor = self._pts_seen
            page = await self._page(cid, lo, prio)
            seen += len(page.ids)
            if target is None and page.count is not None and floor == 1:
                target = page.count
            await self._put_page(page, source, pts_floor)
            if self._reset is not None:
                return  # nothing from this server is archived, not even as a range
            if page.full:
                hi = page.ids[-1]
            elif page.ids or self.ranges.top >= lo:
                # A short page holds every message >= lo that exists right now.
                hi = max(page.ids[-1] if page.ids else 0, self.ranges.top)
            else:
                return
            await self.s.put(RangeArchived(cid, lo, hi))
            self.ranges.add(lo, hi)
            if not self.backfill_done:
                await self.s.put(BackfillProgressed(cid, self.ranges.bottom, False, target))
            if not page.full or (fresh and page.count is not None and seen >= page.count):
                self._gap_since = None
                return

    async def _page(self, cid: int, lo: int, prio: int) -> HistoryPage:
        return await self._req("messages.GetHistory", lambda: self.s.source.history(cid, lo), prio)

    def _log_malformed(self, malformed: list[tuple[int, str]]) -> None:
        """Count and log each (message id, reason) Telegram sent that is not a valid post."""
        for mid, reason in malformed:
            self.s.counters["malformed"] += 1
            log.warning(
                "malformed message",
                extra={"channel": self.key, "message_id": mid, "reason": reason},
            )

    def _server_went_back(self, pts: int | None, floor: int) -> bool:
        """Whether the server's world is not the one this archive came from.

        A channel's pts only grows on Telegram. An answer below one seen
        before comes from a server whose world was reset (an emulator
        restarted without --state) or replaced: what it lacks was not
        deleted and what it says under a known id is not an edit. So from
        then on nothing it says about this channel is archived (status
        ``error`` says why) until the daemon is restarted.

        ``floor`` is the highest pts seen before the request was sent: answers
        to requests in flight together may arrive in any order."""
        if self._reset is not None:
            return True
        if pts is None:
            return False
        if pts >= floor:
            self._pts_seen = max(self._pts_seen, pts)
            return False
        self._reset = (
            f"the server's history went backwards (pts {pts} < {floor}: a reset "
            "emulator?); archiving paused, no deletions recorded; restart the daemon to resume"
        )
        self.s.counters["server_resets"] += 1
        log.error(
            "server history went backwards; archiving of the channel paused",
            extra={"channel": self.key, "pts": pts, "seen": floor},
        )
        return True

    async def _put_page(self, page: HistoryPage, source: str, floor: int = 0) -> None:
        if self._server_went_back(page.pts, floor):
            await self._running_state()
            return
        now = _now()
        for ch in page.channels:
            if ch.id == self.channel_id:
                self._note_username(ch.username)
            await self.s.put(ChannelSeen(ch, now))
        self._log_malformed(page.malformed)
        for p in page.posts:
            await self.s.put(PostSeen(p, now, source))  # type: ignore[arg-type]
            self.s.counters["posts"] += 1
            self._schedule_engagement(p.message_id, p.date.timestamp(), now.timestamp())
        for action in page.actions:  # service messages: pins, title, photo
            await self.s.put(action)

    def live_update(self) -> None:
        """A live update (post, edit, deletion) of this channel arrived: ask
        its difference ourselves a little later (one pending at a time)."""
        if not self.joined or self._diff_pending:
            return
        self._diff_pending = True
        loop = asyncio.get_running_loop()
        loop.call_later(LIVE_DIFF_DELAY * max(self.s.scale, 0.01), self.catchup.set)

    def live_seen(self, message_id: int, post_date: float) -> None:
        """A live post was put: extend the archived range when it is the next
        id, otherwise ask for a repair soon (a hole may be behind it)."""
        if self.channel_id is None:
            return
        self.live_update()
        self._schedule_engagement(message_id, post_date, time.time())
        if not self.backfill_done or self.ranges.covers(message_id):
            return
        if message_id == self.ranges.top + 1:
            self.ranges.add(message_id, message_id)
            task = asyncio.ensure_future(
                self.s.put(RangeArchived(self.channel_id, message_id, message_id))
            )
            task.add_done_callback(lambda t: t.exception())
            return
        if self._gap_since is None:
            self._gap_since = time.monotonic()
            loop = asyncio.get_running_loop()
            loop.call_later(LIVE_GAP_GRACE * max(self.s.scale, 0.05), self.repair.set)

    # -- catch-up (our own getChannelDifference) ----------------------------

    async def _catchup_loop(self) -> None:
        while True:
            self._diff_pending = False
            self.catchup.clear()
            await self._difference()
            await self._sleep(self.s.settings.gap_repair_interval, self.catchup)

    async def _difference(self) -> None:
        """Fetch and apply the channel's difference from the stored pts until
        Telegram says it is final (see the module contract)."""
        cid = self.channel_id
        if cid is None or self.pts is None:
            return
        while True:
            pts = self.pts
            floor = max(self._pts_seen, pts)
            try:
                d = await self._req(
                    "updates.GetChannelDifference",
                    lambda p=pts: self.s.source.difference(cid, p),  # type: ignore[misc]
                    LIVE,
                )
            except SourceError as err:
                # Our stored pts is beyond anything this server has: its world
                # is not the archive's (see _server_went_back), never a reason
                # to apply what it says, nor to ask again at once.
                if "PERSISTENT_TIMESTAMP" not in str(err).upper().replace(" ", "_"):
                    raise
                self._server_went_back(0, floor)
                await self._running_state()
                return
            if self._server_went_back(d.pts, floor):
                await self._running_state()
                return
            now = _now()
            self._log_malformed(d.malformed)
            evs: list[Event] = [ChannelSeen(ch, now) for ch in d.channels]
            for ch in d.channels:
                if ch.id == cid:
                    self._note_username(ch.username)
            # Service messages and pin updates first (store/events.py): the
            # messages below are their current state, which then changes nothing.
            evs += d.events
            evs += [PostSeen(p, now, "live") for p in d.posts]
            evs += [PostSeen(p, now, "live") for p in d.edits]
            evs += [PostDeleted(cid, mid, now, "event") for mid in d.deleted]
            if evs or d.pts != pts:
                await self.s.put(DifferenceApplied(cid, d.pts, tuple(evs)))
            c = self.s.counters
            c["catchup_posts"] += len(d.posts)
            c["catchup_edits"] += len(d.edits)
            c["catchup_deletions"] += len(d.deleted)
            c["deletions"] += len(d.deleted)
            c["posts"] += len(d.posts)
            saved_at = self._pts_saved_at
            self.pts, self._pts_saved_at = d.pts, now
            for p in d.posts:
                self.live_seen(p.message_id, p.date.timestamp())
            if d.too_long:
                c["difference_too_long"] += 1
                log.warning(
                    "channel difference too long; repairing and reconciling",
                    extra={"channel": self.key},
                )
                self.repair.set()
                since = (saved_at or now) - TOO_LONG_LOOKBACK
                asyncio.ensure_future(self._reconcile_since(since)).add_done_callback(
                    lambda t: t.cancelled() or t.exception()
                )
            if d.final or d.pts == pts:
                return

    async def _reconcile_since(self, since: datetime) -> None:
        """Re-read every archived post published since ``since`` (100 ids a call)."""
        if self.channel_id is None:
            return
        conn = self.s.reader()
        try:
            ids = sync.recent_message_ids(conn, self.channel_id, since)
        finally:
            conn.close()
        for i in range(0, len(ids), 100):
            await self.check(ids[i : i + 100])

    # -- reconciliation and engagement -------------------------------------

    def _load_engagement(self, conn: Connection) -> None:
        ages = sorted(self.s.settings.engagement_ages)
        if not ages:
            return
        now = time.time()
        since = datetime.fromtimestamp(now - ages[-1], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self._eng.clear()
        if self.channel_id is None:  # not resolved yet: nothing archived to sample
            return
        for mid, d, last in sync.engagement_candidates(conn, self.channel_id, since):
            self._schedule_engagement(mid, _ts(d), _ts(last) if last else 0.0)

    def _schedule_engagement(self, message_id: int, post_date: float, after: float) -> None:
        """Queue the first sample age of the post that falls after ``after``."""
        for age in sorted(self.s.settings.engagement_ages):
            due = post_date + age
            if due > after:
                heapq.heappush(self._eng, (due, message_id, post_date))
                self._eng_wake.set()
                return

    async def _maintenance_loop(self) -> None:
        # The first reconciliation runs at once (what changed while we were
        # down must not wait up to an interval); the scheduler's budget paces
        # the channels' requests. Later ones are spread over the interval.
        next_reconcile = time.monotonic()
        while True:
            now_mono, now = time.monotonic(), time.time()
            wait = next_reconcile - now_mono
            if self._eng:
                wait = min(wait, self._eng[0][0] - now)
            if time.monotonic() >= self._about_next:
                self._about_due = True  # the periodic getFullChannel (channel_info_interval)
            wait = min(wait, self._about_next - now_mono)
            if self._about_due:
                wait = 0.0
            if wait > 0 and not self.reconcile_now.is_set():
                self._eng_wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):  # not wait_for: daemon/tasks.py
                        await self._recheck_or(self._eng_wake)
            if self.reconcile_now.is_set():
                self.reconcile_now.clear()
                next_reconcile = time.monotonic()
            if self.recheck.is_set():
                self.recheck.clear()
                await self._refresh()
            now = time.time()
            due: list[tuple[float, int, float]] = []
            slack = min(self.s.settings.engagement_ages or [60.0]) * 0.05
            while self._eng and self._eng[0][0] <= now + slack and len(due) < 100:
                due.append(heapq.heappop(self._eng))
            if due:
                await self.check([m for _, m, _ in due], sample=True)
                for _, mid, pdate in due:
                    self._schedule_engagement(mid, pdate, now + slack)
            if time.monotonic() >= next_reconcile:
                await self._reconcile()
                interval = self.s.settings.reconcile_interval
                next_reconcile = time.monotonic() + random.uniform(0.8, 1.0) * interval
            if self._about_due and self.channel_id is not None:
                # Once per run, after the first reconciliation and behind
                # everything else: a changed description is history too.
                await self._fetch_about(self.channel_id, BACKFILL)

    async def _recheck_or(self, ev: asyncio.Event) -> None:
        waits = [
            asyncio.ensure_future(ev.wait()),
            asyncio.ensure_future(self.recheck.wait()),
            asyncio.ensure_future(self.reconcile_now.wait()),
        ]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

    async def _refresh(self) -> None:
        cid = self.channel_id
        assert cid is not None
        await self._channel_seen(cid)
        await self._running_state()

    async def _channel_seen(self, cid: int, *, about: bool = True) -> bool:
        """Fetch the channel (channels.getChannels, then, with ``about``, its
        about text) and archive what Telegram says; returns whether we joined it."""
        ch, joined = await self._req(
            "channels.GetChannels", lambda: self.s.source.channel(cid), MAINTENANCE
        )
        await self.s.put(ChannelSeen(ch, _now()))
        self._note_username(ch.username)
        if about:
            await self._fetch_about(cid)
        return joined

    async def _reconcile(self) -> None:
        window = self.s.settings.reconcile_window
        if window <= 0 or self.channel_id is None:
            return
        conn = self.s.reader()
        try:
            ids = sync.newest_ids(conn, self.channel_id, window)
        finally:
            conn.close()
        for i in range(0, len(ids), 100):
            await self.check(ids[i : i + 100])

    async def check(
        self, ids: list[int], *, sample: bool = False, priority: int = MAINTENANCE
    ) -> None:
        """Re-read up to 100 archived posts (channels.getMessages): a changed
        one becomes a new version (content is compared by the writer), a
        missing one a tombstone (method ``reconcile``)."""
        cid = self.channel_id
        if not ids or cid is None:
            return
        floor = self._pts_seen
        ans = await self._req(
            "channels.GetMessages", lambda: self.s.source.messages(cid, ids), priority
        )
        if self._server_went_back(ans.pts, floor):
            await self._running_state()
            return
        now = _now()
        for ch in ans.channels:
            await self.s.put(ChannelSeen(ch, now))
        self._log_malformed(ans.malformed)
        for p in ans.found.values():
            await self.s.put(PostSeen(p, now, "reconcile"))
            if sample and p.engagement is not None:
                await self.s.put(EngagementSampled(cid, p.message_id, now, p.engagement))
                self.s.counters["engagement_samples"] += 1
        for mid in ans.missing:
            await self.s.put(PostDeleted(cid, mid, now, "reconcile"))
            self.s.counters["deletions"] += 1
