"""The daemon's supervisor: one Telegram connection, one writer, one worker
per watched channel, plus the heartbeat, the watch-list watcher and the
reconnect loop.

``run_daemon(settings, stop)`` is the whole daemon: it returns 0 after
``stop`` is set (within a few seconds: fetching stops, the writer is
flushed, the session saved), and raises UserError for problems the user must
fix (not logged in, session in use, bad archive). ``reload`` (optional) is
called when ``reload_event`` is set (SIGHUP): the new settings' channel list
is merged into the watch list and the new alert rules take effect.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import faulthandler
import logging
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from telewatch import __version__
from telewatch.config import Settings
from telewatch.evidence.tsa import anchor_head, load_roots
from telewatch.models import (
    ChannelStatusChanged,
    DaemonHeartbeat,
    Event,
    HeadAnchored,
    PollResultsSeen,
    Post,
    PostDeleted,
    PostSeen,
    RequestsSent,
    UserError,
)
from telewatch.sources.telegram import (
    Dialog,
    Disconnected,
    SessionLock,
    SourceError,
    TelegramSource,
    capture_started,
    session_file,
)
from telewatch.store import sync, watchlist
from telewatch.store.anchors import last_anchored_seq
from telewatch.store.chain import chain_head
from telewatch.store.db import (
    ArchiveBusy,
    Connection,
    connect,
    hold_open,
    migrate,
    pg_address,
    share_readers,
    unshare_readers,
)
from telewatch.store.pg import masked as pg_masked
from telewatch.store.writer import Writer

from . import webhooks
from .channel import ChannelWorker, Shared
from .comments import PREFIX as COMMENTS_PREFIX
from .comments import CommentLinks
from .embedder import Embedder
from .feeds import FeedServer
from .leases import LeaseKeeper
from .logs import setup_logging
from .media import MediaDownloader
from .pacing import LIVE, Scheduler
from .photo_files import PhotoDownloader
from .sweep import Sweeper
from .tasks import cancel_and_wait, wake_or_timeout

log = logging.getLogger("telewatch.daemon")

STOP_BUDGET = 4.0
"""Seconds the shutdown may take before the process gives up waiting."""
# Waiting for an archive a bulk import holds: each attempt blocks the event
# loop at most ARCHIVE_PROBE_MS, then the daemon sleeps ARCHIVE_RETRY seconds
# (woken by SIGTERM).
ARCHIVE_PROBE_MS = 300
ARCHIVE_RETRY = 2.0
REQUEST_LOG_EVERY = 1.0
"""Seconds between two writes of the request log into the archive."""
DIALOG_PAGES = 10
"""getDialogs pages read per folder at start (100 dialogs each; Telegram
lets an account join 500 channels)."""
WEBHOOKS_ROLE = "webhooks"
ANCHOR_ROLE = "anchor"
"""Pool-wide roles (store/leases.py ``daemon_roles``): one holder per archive."""
LINK_CHECK = 0.5
"""Seconds between two looks at the connection (a drop shows within it)."""


STOP_DEADLINE = 8.0
"""Seconds after SIGTERM/SIGINT by which the process exits, whatever still
runs: past it a watchdog thread logs every thread's stack and exits. Nothing
committed is lost (the archive survives kill -9 by design, and what was not
committed is fetched again on the next start), and a supervisor (systemd,
the tests) never waits on a stuck shutdown."""


def install_signal_handlers(stop: asyncio.Event, reload_event: asyncio.Event | None = None) -> None:
    """SIGTERM/SIGINT set ``stop`` (and arm the STOP_DEADLINE watchdog);
    SIGHUP sets ``reload_event``."""
    loop = asyncio.get_running_loop()

    def on_stop() -> None:
        if not stop.is_set():
            log.info("stop requested")
            watchdog = threading.Timer(STOP_DEADLINE, _stop_overdue, args=(loop,))
            watchdog.daemon = True
            watchdog.start()
        stop.set()

    loop.add_signal_handler(signal.SIGTERM, on_stop)
    loop.add_signal_handler(signal.SIGINT, on_stop)
    if reload_event is not None:
        loop.add_signal_handler(signal.SIGHUP, reload_event.set)


def _config_entries(settings: Settings) -> list[tuple[str | None, int | None, watchlist.Mode, str]]:
    out: list[tuple[str | None, int | None, watchlist.Mode, str]] = []
    for ch in settings.channels:
        username, cid = ch.ref
        out.append((username, cid, ch.mode, ch.backfill))
    return out


def merge_watchlist(db: Path, settings: Settings) -> None:
    """Merge the config's channels into the archive's watch list."""
    conn = connect(db, readonly=False)
    try:
        watchlist.merge_config(conn, _config_entries(settings))
    finally:
        conn.close()


class Daemon:
    """State of one ``telewatch run`` (see the module contract)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Path(settings.storage.db)
        self.counters: Counter[str] = Counter()
        self.workers: dict[str, ChannelWorker] = {}
        self.started_at = datetime.now(UTC).replace(microsecond=0)
        self.connected = asyncio.Event()
        self.writer: Writer | None = None
        self.source: TelegramSource | None = None
        self.shared: Shared | None = None
        self.capture_id: str | None = None  # the running capture session (capture log)
        self._account = "?"
        self.sender: webhooks.WebhookSender | None = None
        self.media: MediaDownloader | None = None
        self.leases: LeaseKeeper | None = None  # a PostgreSQL archive shared by daemons
        self._role_rest: dict[str, float] = {}  # role → monotonic end of its rest (_rest_role)
        self._stopping = False  # set when the stop begins: pushed events are dropped
        # When the stop began (monotonic) and how long each of its parts took.
        self._stop_t0: float | None = None
        self._stop_at = 0.0
        self._stop_phases: dict[str, float] = {}

    # -- events into the writer -------------------------------------------

    async def put(self, ev: Event) -> None:
        """Queue one event for the archive; a post names the capture session."""
        assert self.writer is not None
        if isinstance(ev, PostSeen) and ev.capture_id is None and self.capture_id is not None:
            ev = dataclasses.replace(ev, capture_id=self.capture_id)
        await self.writer.put(ev)
        if self.media is not None:  # its files follow the post through the writer
            for queued in self.media.events_for(ev):
                await self.writer.put(queued)

    def _worker_for(self, channel_id: int) -> ChannelWorker | None:
        owner = self.shared.owners.get(channel_id) if self.shared is not None else None
        if owner is not None and owner in self.workers:
            return self.workers[owner]
        for w in self.workers.values():
            if w.channel_id == channel_id:
                return w
        return None

    async def _on_post(
        self, post: Post | None, cid: int, mid: int, edited: bool, bad: str | None
    ) -> None:
        w = self._worker_for(cid)
        if w is None or w.paused or self._stopping:
            # No longer on the watch list, its server's world was reset, or
            # stopping (the next start's catch-up fetches it).
            return
        if post is None:
            self.counters["malformed"] += 1
            log.warning(
                "malformed message", extra={"channel": w.key, "message_id": mid, "reason": bad}
            )
            return
        await self.put(PostSeen(post, datetime.now(UTC), "live"))
        self.counters["live_edits" if edited else "live_posts"] += 1
        if not edited:
            w.live_seen(mid, post.date.timestamp())
        else:
            w.live_update()

    async def _on_deleted(self, cid: int, ids: list[int]) -> None:
        w = self._worker_for(cid)
        if w is None or w.paused or self._stopping:
            return
        w.live_update()
        now = datetime.now(UTC)
        for mid in ids:
            await self.put(PostDeleted(cid, mid, now, "event"))
            self.counters["deletions"] += 1

    async def _on_channel_changed(self, cid: int) -> None:
        w = self._worker_for(cid)
        if w is not None:
            w.recheck.set()

    async def _on_channel_event(self, cid: int | None, ev: Event) -> None:
        """A pushed pin change, service message or poll result (by poll id:
        the writer finds its post, so it needs no channel here)."""
        if self._stopping:
            return
        if cid is not None:
            w = self._worker_for(cid)
            if w is None or w.paused:
                return
            if not isinstance(ev, PollResultsSeen):
                # A pts update: our own difference follows soon (Telethon drops
                # the other_updates of the differences it asks itself).
                w.live_update()
        await self.put(ev)
        self.counters["channel_events"] += 1

    async def _on_reconnected(self) -> None:
        self.connected.set()
        self.counters["reconnects"] += 1
        resent = self.shared.scheduler.resent() if self.shared is not None else 0
        log.info(
            "reconnected; catching up, repairing gaps and reconciling",
            extra={"resent": resent},
        )
        for w in self.workers.values():
            w.catchup.set()
            w.reconcile_now.set()
            w.repair.set()

    # -- periodic tasks ----------------------------------------------------

    def _heartbeat(self, stopped: bool = False) -> DaemonHeartbeat:
        counters = dict(self.counters)
        if self.source is not None:
            offline = self.shared.offline_since if self.shared is not None else None
            counters["connected"] = int(offline is None and self.source.link_up())
            if offline is not None:
                counters["disconnected_since"] = int(offline.timestamp())
        counters["channels"] = len(self.workers)
        if stopped:
            counters["stopped"] = 1
        return DaemonHeartbeat(
            pid=os.getpid(),
            version=__version__,
            started_at=self.started_at,
            beat_at=datetime.now(UTC),
            counters=tuple(sorted(counters.items())),
        )

    async def _heartbeat_loop(self, shared: Shared) -> None:
        reported = 0
        while True:
            self.counters["requests"] = shared.scheduler.requests
            self.counters["flood_waits"] = shared.scheduler.flood_waits
            if self.leases is not None:
                # Lease calls still waiting for the archive on their own
                # connection (bounded: daemon/leases.py MAX_HUNG).
                self.counters["lease_calls_hung"] = self.leases.hung
            if self.writer is not None and self.writer.stats.errors:
                # Events the archive refused (one bad event never stops a batch).
                self.counters["writer_errors"] = self.writer.stats.errors
                for reason in self.writer.stats.reasons[reported:]:
                    log.error("archive refused an event", extra={"reason": reason})
                reported = len(self.writer.stats.reasons)
            await self.put(self._heartbeat())
            await asyncio.sleep(self.settings.daemon.heartbeat_interval)

    async def _request_log_loop(self, scheduler: Scheduler) -> None:
        while True:
            await asyncio.sleep(REQUEST_LOG_EVERY)
            await self._save_request_log(scheduler)

    async def _save_request_log(self, scheduler: Scheduler) -> None:
        sent = scheduler.drain_log()
        if sent:
            await self.put(RequestsSent(tuple(sent)))

    def _preload_budgets(self, scheduler: Scheduler) -> None:
        """Count the requests earlier runs sent (still counted by Telegram)."""
        conn = connect(self.db, readonly=True)
        try:
            earlier = sync.recent_requests(conn, time.time() - sync.REQUEST_LOG_KEEP)
        finally:
            conn.close()
        n = scheduler.preload(earlier)
        if n:
            log.info("budgets resume from the previous run", extra={"requests": n})

    async def _load_dialogs(self, shared: Shared) -> None:
        """Joined channels with ids, access hashes, usernames and pts from
        messages.getDialogs (main and archive folder), so that known
        channels start without one request each."""
        found: dict[int, Dialog] = {}
        for folder in (0, 1):
            offset: tuple[datetime | None, int, tuple[int, int] | None] = (None, 0, None)
            for _ in range(DIALOG_PAGES):
                date, mid, peer = offset
                try:
                    page, more = await shared.scheduler.call(
                        "messages.GetDialogs",
                        lambda f=folder, d=date, m=mid, p=peer: shared.source.dialogs(  # type: ignore[misc]
                            folder=f, offset_date=d, offset_id=m, offset_peer=p
                        ),
                        priority=LIVE,
                    )
                except SourceError as err:
                    log.warning("cannot list dialogs", extra={"error": str(err)})
                    shared.dialogs.update(found)
                    return
                for d in page:
                    found[d.channel.id] = d
                if not more or not page:
                    break
                last = page[-1]
                offset = (last.date, last.top_id, (last.channel.id, last.channel.access_hash or 0))
        shared.dialogs.update(found)
        log.info("dialogs listed", extra={"joined": len(found)})

    async def _link_loop(self, shared: Shared, source: TelegramSource) -> None:
        """Track the connection from the moment it drops (Telethon reconnects
        silently): every channel shows ``disconnected`` and a heartbeat goes
        out at once; when it is back, every channel shows its own state again."""
        while True:
            up = source.link_up()
            if not up and shared.offline_since is None:
                shared.offline_since = datetime.now(UTC).replace(microsecond=0)
                log.warning("connection to Telegram lost; reconnecting")
                for w in list(self.workers.values()):
                    await w.show_disconnected(shared.offline_since)
                await self.put(self._heartbeat())
            elif up and shared.offline_since is not None:
                down = (datetime.now(UTC) - shared.offline_since).total_seconds()
                shared.offline_since = None
                log.info("connection to Telegram back", extra={"offline_s": round(down)})
                for w in list(self.workers.values()):
                    await w.show_state()
                await self.put(self._heartbeat())
            await asyncio.sleep(LINK_CHECK)

    async def _on_park(self, method: str, until: datetime) -> None:
        for w in list(self.workers.values()):
            await w.held_back(method, until)

    async def _watchlist_loop(self, shared: Shared) -> None:
        links = CommentLinks(shared, lambda: self.settings, self.workers)
        try:
            await self._watch(shared, links)
        finally:
            await links.close()

    async def _watch(self, shared: Shared, links: CommentLinks) -> None:
        while True:
            conn = connect(self.db, readonly=True)
            try:
                entries = {e.key: e for e in watchlist.active_entries(conn)}
            finally:
                conn.close()
            leased = self.leases.held if self.leases is not None else None
            for key in list(self.workers):
                if key.startswith(COMMENTS_PREFIX):
                    continue  # a channel's comments: CommentLinks keeps them
                e = entries.get(key)
                old = self.workers[key].entry
                if leased is not None and e is not None and key not in leased:
                    # Another daemon holds it now: its status is that one's to say.
                    await self.workers.pop(key).stop(None)
                    log.info("channel lease given up", extra={"channel": key})
                    continue
                if e is None or (e.mode, e.backfill) != (old.mode, old.backfill):
                    w = self.workers.pop(key)
                    await w.stop("stopped" if e is None else None)
                    log.info(
                        "channel unwatched" if e is None else "channel settings changed",
                        extra={"channel": key},
                    )
                    for other in self.workers.values():
                        if other.state == "duplicate":
                            other.recheck.set()  # one of them takes the channel over
            for key, e in entries.items():
                if leased is not None and key not in leased:
                    continue  # another daemon's (or nobody's yet)
                if key not in self.workers:
                    w = ChannelWorker(shared, e)
                    self.workers[key] = w
                    if shared.offline_since is not None:
                        await w.show_disconnected(shared.offline_since)
                    w.start()
                    log.info("channel watched", extra={"channel": key, "mode": e.mode})
            await links.step()
            if self.leases is None:
                await asyncio.sleep(self.settings.daemon.watchlist_interval)
            else:  # a lease round that changes the held set wakes it at once
                await wake_or_timeout(self.leases.changed, self.settings.daemon.watchlist_interval)
                self.leases.changed.clear()

    async def _connection_loop(self, source: TelegramSource) -> None:
        backoff = 1.0
        cap = self.settings.daemon.reconnect_backoff_max
        while True:
            if source.is_connected():
                self.connected.set()
                backoff = 1.0
                # Telethon reconnects by itself; this resolves when it gave up.
                with contextlib.suppress(Exception):
                    await source.disconnected
                self.connected.clear()
                log.warning("disconnected; reconnecting")
                continue
            try:
                await source.connect()
            except Disconnected as err:
                log.warning("cannot connect", extra={"error": str(err), "retry_in": backoff})
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, cap)
                continue
            await self._on_reconnected()

    # -- run ----------------------------------------------------------------

    async def run(
        self,
        stop: asyncio.Event,
        reload_event: asyncio.Event,
        reload: Callable[[], Settings] | None,
    ) -> int:
        """The daemon's life; see ``run_daemon``."""
        tg = self.settings.telegram
        if not tg.api_id or not tg.api_hash.get_secret_value():
            raise UserError(
                "telegram.api_id and telegram.api_hash are required; get them at https://my.telegram.org"
            )
        lock = SessionLock(tg.session)
        lock.acquire()
        presence: Connection | None = None
        try:
            presence = await self._open_archive(stop)
            if presence is None:
                log.info("stopped while waiting for the archive")
                return 0
            merge_watchlist(self.db, self.settings)
            proxy = tg.proxy.get_secret_value() if tg.proxy else None
            source = TelegramSource(
                tg.session,
                tg.api_id,
                tg.api_hash.get_secret_value(),
                proxy=proxy,
                flood_sleep_threshold=tg.flood_sleep_threshold,
            )
            source.comment_authors = self.settings.comments.authors
            self.source = source
            # The run's look-ups each open a reader: on PostgreSQL, kept ones.
            share_readers(self.db)
            try:
                return await self._run_connected(source, stop, reload_event, reload)
            finally:
                unshare_readers(self.db)
                self._stop_mark("writer")
                await source.close()  # bounded: saves the session even if Telegram stalls
                self._stop_mark("disconnect")
                if self._stop_t0 is not None:
                    log.info(
                        "stopped",
                        extra={
                            "stop_s": round(time.monotonic() - self._stop_t0, 3),
                            **self._stop_phases,
                        },
                    )
        finally:
            if presence is not None:
                presence.close()
            lock.release()

    async def _open_archive(self, stop: asyncio.Event) -> Connection | None:
        """Migrate the archive and keep a connection to it open for the
        daemon's life (after one read), so that a `telewatch import` started
        meanwhile shares it (WAL) instead of taking it for itself. While a
        bulk import holds it, wait (SIGTERM still stops at once) instead of
        failing; None when stopped first."""
        waited = 0.0
        while not stop.is_set():
            try:
                migrate(self.db, busy_timeout_ms=ARCHIVE_PROBE_MS, check=True)
                return hold_open(self.db, busy_timeout_ms=ARCHIVE_PROBE_MS)
            except ArchiveBusy:
                if waited == 0.0 or waited % 60 < ARCHIVE_RETRY:
                    log.warning(
                        "archive busy (a bulk import holds it); waiting for it",
                        extra={"archive": pg_masked(str(self.db)), "waited_s": round(waited)},
                    )
            await wake_or_timeout(stop, ARCHIVE_RETRY)
            waited += ARCHIVE_RETRY
        return None

    async def _run_connected(
        self,
        source: TelegramSource,
        stop: asyncio.Event,
        reload_event: asyncio.Event,
        reload: Callable[[], Settings] | None,
    ) -> int:
        # A server that accepts the connection but never answers keeps
        # Telethon's connect and first requests waiting for their timeouts and
        # retries (tens of seconds): SIGTERM must not wait for them.
        if not await _unless_stopped(self._login(source), stop):
            log.info("stopped before the connection was ready")
            return 0
        d = self.settings.daemon
        scheduler = Scheduler(d.budgets, scale=d.rate_scale, max_flood_wait=d.max_flood_wait)
        # Webhook targets exist before the writer evaluates rules: no hit predates them.
        self.sender = webhooks.WebhookSender(self.db, self.settings, self.counters)
        self.sender.set_targets(webhooks.register(self.db, self.settings), self.settings.webhooks)
        feeds = None
        if self.settings.feeds.address is not None:
            feeds = FeedServer(
                self.db, self.settings.feeds, lambda: [a.name for a in self.settings.alerts]
            )
            await feeds.start()
        async with Writer(self.db, rules=self.settings.alert_rules()) as writer:
            self.writer = writer
            capture = capture_started(self._account, source.clock_offset())
            await writer.put(capture)
            self.capture_id = capture.id
            shared = self.shared = Shared(
                settings=d,
                source=source,
                scheduler=scheduler,
                put=self.put,
                db_path=self.db,
                counters=self.counters,
                connected=self.connected,
                scale=d.rate_scale,
                max_joined=self.settings.telegram.max_joined,
            )
            source.on_post(self._on_post)
            source.on_deleted(self._on_deleted)
            source.on_channel_changed(self._on_channel_changed)
            source.on_channel_event(self._on_channel_event)
            source.on_reconnected(self._on_reconnected)
            source.pace_internal(scheduler.reserve)
            self.connected.set()
            self._preload_budgets(scheduler)
            if not await _unless_stopped(self._load_dialogs(shared), stop):
                return 0
            if pg_address(self.db) is not None and source.user_id is not None:
                # Several daemons may share this archive: work the leased share.
                self.leases = shared.leases = LeaseKeeper(
                    self.db, d, account_id=source.user_id, account=self._account,
                    max_joined=self.settings.telegram.max_joined,
                    roles_wanted=self._roles_wanted(),
                )  # fmt: skip
                if not await _unless_stopped(self.leases.start(), stop):
                    # Stopped while taking the first leases: give back what it took.
                    await _within(self.leases.release(), 2.0, "lease release")
                    return 0
            self.media = MediaDownloader(
                self.settings.media, self.settings.channels, self.db, source, scheduler,
                writer.put, self.counters, scale=d.rate_scale, held=self._held_channels,
            )  # fmt: skip
            media = self.media
            photos = PhotoDownloader(
                self.settings.media, self.db, source, scheduler, writer.put, self.counters,
                lambda cid: media.policy(cid).enabled and self._holds(cid),
            )  # fmt: skip
            sweeper = Sweeper(shared, lambda: list(self.workers.values()))
            scheduler.on_park = self._on_park
            embedder = Embedder(self.db, d, self.counters) if d.embed else None
            if embedder is not None:
                embedder.start()
            tasks = [
                asyncio.create_task(self._connection_loop(source), name="connection"),
                asyncio.create_task(self._link_loop(shared, source), name="link"),
                asyncio.create_task(self._watchlist_loop(shared), name="watchlist"),
                asyncio.create_task(self._heartbeat_loop(shared), name="heartbeat"),
                asyncio.create_task(self._request_log_loop(scheduler), name="request-log"),
                asyncio.create_task(sweeper.run(), name="sweep"),
                asyncio.create_task(self.media.run(), name="media"),
                asyncio.create_task(photos.run(), name="channel-photos"),
            ]
            if self.leases is not None:
                tasks.append(asyncio.create_task(self.leases.run(), name="leases"))
                # One webhook sender and one anchor loop per shared archive.
                tasks.append(asyncio.create_task(self._roles_loop(self.leases), name="roles"))
            else:
                tasks.append(asyncio.create_task(self._anchor_loop(), name="anchor"))
                tasks.append(asyncio.create_task(self.sender.run(), name="webhooks"))
            try:
                while not stop.is_set():
                    waits = [
                        asyncio.ensure_future(stop.wait()),
                        asyncio.ensure_future(reload_event.wait()),
                    ]
                    # A task that ends (the heartbeat, when the writer has
                    # failed: archive deleted, disk full) stops the daemon now.
                    await asyncio.wait([*waits, *tasks], return_when=asyncio.FIRST_COMPLETED)
                    for w in waits:
                        w.cancel()
                    for t in tasks:
                        if t.done() and not t.cancelled() and t.exception() is not None:
                            raise t.exception()  # type: ignore[misc]
                    if reload_event.is_set() and not stop.is_set():
                        reload_event.clear()
                        await self._reload(reload)
                log.info("stopping")
            finally:
                t0 = self._stop_t0 = self._stop_at = time.monotonic()
                # What Telegram still pushes is left to the next start's
                # catch-up (differences from the committed pts, polls): the
                # writer must not wait for a stream of it below.
                self._stopping = True
                if feeds is not None:
                    await feeds.close()
                for t in tasks:
                    t.cancel()
                if embedder is not None:
                    # Bounded: it stops after its batch (a few hundred ms).
                    await asyncio.to_thread(embedder.stop, STOP_BUDGET / 4)
                # Bounded: a worker or task that does not end in time (one
                # parked behind a budget, say) must not hold SIGTERM past the
                # stop budget; what was archived is committed either way.
                await _within(
                    asyncio.gather(
                        *(w.stop(None) for w in self.workers.values()), return_exceptions=True
                    ),
                    STOP_BUDGET / 2 - (time.monotonic() - t0),
                    "channel workers",
                )
                self._stop_mark("workers")
                await _within(
                    asyncio.gather(*tasks, return_exceptions=True),
                    STOP_BUDGET / 2 - (time.monotonic() - t0),
                    "daemon tasks",
                )
                self._stop_mark("tasks")
                scheduler.close()
                sweeper.close()
                try:
                    # Bounded: with a slow archive and a full queue, the puts
                    # and the flush must not hold the stop past its budget.
                    async with asyncio.timeout(max(0.5, STOP_BUDGET - (time.monotonic() - t0))):
                        await self._final_events(writer, scheduler)
                    # Committed: anything a straggler puts now is the next
                    # start's, and the writer's exit does not wait for it.
                    writer.abandon()
                except TimeoutError:
                    left = writer.abandon()
                    log.warning(
                        "stop: the archive did not take everything in time; the next start"
                        " catches up what was left",
                        extra={"events_left": left},
                    )
                finally:
                    if self.leases is not None:
                        # What was archived is committed (or the writer failed and
                        # the others repair from the archive's sync state): the
                        # others may take over now rather than after lease_ttl.
                        await _within(self.leases.release(), 2.0, "lease release")
                    self._stop_mark("final")
        return 0

    def _stop_mark(self, phase: str) -> None:
        """Note how long the stop's ``phase`` took (logged with ``stopped``)."""
        if self._stop_t0 is None:
            return
        now = time.monotonic()
        self._stop_phases[f"{phase}_s"] = round(now - self._stop_at, 3)
        self._stop_at = now

    async def _final_events(self, writer: Writer, scheduler: Scheduler) -> None:
        """What a stop writes last: the request log, each channel's ``stopped``
        state and the last heartbeat, committed (the caller bounds it)."""
        await self._save_request_log(scheduler)
        for key, worker in self.workers.items():
            if worker.state in ("private", "renamed", "duplicate", "error"):
                continue  # still true while stopped; the dashboard keeps showing it
            await writer.put(
                ChannelStatusChanged(key, worker.channel_id, "stopped", None, datetime.now(UTC))
            )
        await writer.put(self._heartbeat(stopped=True))
        await writer.flush()

    def _roles_wanted(self) -> frozenset[str]:
        """The pool-wide roles this daemon can run: the webhook sender when its
        config has webhook targets, the anchor loop when it names authorities."""
        wanted = set()
        now = time.monotonic()
        self._role_rest = {r: t for r, t in self._role_rest.items() if t > now}
        if webhooks.configured(self.settings):
            wanted.add(WEBHOOKS_ROLE)
        ev = self.settings.evidence
        if ev.tsa:
            try:
                load_roots(ev.tsa_roots)
            except UserError as err:
                # Not asked for: a daemon that could not anchor must not keep
                # the role from one that can.
                log.error("anchoring disabled", extra={"error": str(err)})
            else:
                wanted.add(ANCHOR_ROLE)
        return frozenset(wanted - self._role_rest.keys())

    def _rest_role(self, role: str, why: str) -> None:
        """Stop asking for ``role`` for ``role_rest`` seconds, so that another
        daemon of the pool, which may reach what this one cannot (an
        authority blocked from this host), takes it; then ask again."""
        assert self.leases is not None
        rest = ROLE_REST_TTLS * self.settings.daemon.lease_ttl
        self._role_rest[role] = time.monotonic() + rest
        self.counters["role_handoffs"] += 1
        log.warning(
            "pool role left to the other daemons for a while",
            extra={"role": role, "seconds": rest, "error": why},
        )
        self.leases.set_roles_wanted(self._roles_wanted())

        def again() -> None:
            if self.leases is not None:
                self.leases.set_roles_wanted(self._roles_wanted())

        asyncio.get_running_loop().call_later(rest, again)

    async def _roles_loop(self, keeper: LeaseKeeper) -> None:
        """Run the webhook sender and the anchor loop only while this daemon
        holds their role (daemon/leases.py); another daemon's death hands the
        role to one of the others within about lease_ttl."""
        assert self.sender is not None
        makers: dict[str, Callable[[], Coroutine[Any, Any, None]]] = {
            WEBHOOKS_ROLE: self.sender.run,
            ANCHOR_ROLE: self._anchor_loop,
        }
        running: dict[str, asyncio.Task[None]] = {}
        try:
            while True:
                for role, make in makers.items():
                    task = running.get(role)
                    if role in keeper.roles and (task is None or task.done()):
                        running[role] = asyncio.create_task(make(), name=role)
                        log.info("pool role taken", extra={"role": role})
                    elif role not in keeper.roles and task is not None:
                        # cancel_and_wait, not suppress(CancelledError): await —
                        # that would swallow the stop's own cancellation (tasks.py).
                        if not await cancel_and_wait(running.pop(role), CANCEL_GRACE):
                            log.warning("pool role task did not end", extra={"role": role})
                        log.info("pool role given up", extra={"role": role})
                # Wake on a role change, or when a role's task ended: one that
                # failed is logged and started again a little later (the
                # role stays this daemon's, so nobody else would run it).
                changed = asyncio.ensure_future(keeper.roles_changed.wait())
                try:
                    await asyncio.wait(
                        {changed, *running.values()}, return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    changed.cancel()
                keeper.roles_changed.clear()
                for role, task in list(running.items()):
                    if task.done():
                        running.pop(role)
                        err = None if task.cancelled() else task.exception()
                        log.error(
                            "pool role task ended; starting it again",
                            extra={"role": role, "error": repr(err)},
                        )
                        self.counters["role_restarts"] += 1
                        await asyncio.sleep(ROLE_RESTART_DELAY)
        finally:
            for task in running.values():
                task.cancel()
            if running:  # bounded: the stop must not wait on a stuck role task
                await asyncio.wait(set(running.values()), timeout=CANCEL_GRACE)
                for task in running.values():
                    if task.done() and not task.cancelled():
                        task.exception()  # collected: no "never retrieved"

    def _held_channels(self) -> frozenset[int] | None:
        """The channel ids this daemon archives when it shares the archive with
        other daemons (leases), else None (all of them are its own)."""
        if self.leases is None:
            return None
        return frozenset(w.channel_id for w in self.workers.values() if w.channel_id is not None)

    def _holds(self, channel_id: int) -> bool:
        held = self._held_channels()
        return held is None or channel_id in held

    async def _anchor_loop(self) -> None:
        """Every [evidence] anchor_interval, when the chain has records no
        token covers, ask the authorities to stamp the head. A failure is
        logged and retried after a shorter wait; archiving never waits for it."""
        ev = self.settings.evidence
        if not ev.tsa:
            return
        try:
            roots = load_roots(ev.tsa_roots)
        except UserError as err:
            log.error("anchoring disabled", extra={"error": str(err)})
            return
        wait = min(ev.anchor_interval, 60.0)  # first anchor soon after start
        failed = 0  # rounds in a row in which no authority stamped the head
        while True:
            await asyncio.sleep(wait)
            try:
                events, problems = await asyncio.to_thread(self._anchor_once, roots)
            except Exception as err:  # the archive unreadable for a moment: next time
                events, problems = [], [f"{type(err).__name__}: {err}"]
            for e in events:
                await self.put(e)
                self.counters["anchors"] += 1
                log.info("anchored", extra={"tsa": e.tsa, "seq": e.seq, "hash": e.hash})
            for why in problems:
                self.counters["anchor_failures"] += 1
                log.warning("anchor failed; retrying later", extra={"error": why})
            wait = ev.anchor_interval if not problems else min(ev.anchor_interval, 300.0)
            failed = failed + 1 if problems and not events else 0
            if failed >= ROLE_HANDOFF_FAILURES and self.leases is not None:
                # In a pool, the role goes to a daemon that may succeed; this
                # task waits to be cancelled when the lease keeper frees it.
                self._rest_role(ANCHOR_ROLE, problems[-1])
                await asyncio.Event().wait()

    def _anchor_once(self, roots: list[Any]) -> tuple[list[HeadAnchored], list[str]]:
        conn = connect(self.db)
        try:
            if chain_head(conn)[0] <= last_anchored_seq(conn):
                return [], []  # nothing new since the last anchor
            ev = self.settings.evidence
            attempts = anchor_head(conn, ev.tsa, roots, timeout=ev.timeout)
        finally:
            conn.close()
        return (
            [a.event for a in attempts if a.event is not None],
            [f"{a.tsa}: {a.problem}" for a in attempts if a.problem],
        )

    async def _login(self, source: TelegramSource) -> None:
        """Connect and check that the session is logged in (UserError if not)."""
        try:
            await source.connect()
        except Disconnected as err:
            raise UserError(
                f"cannot reach Telegram ({err}); check the network or [telegram].proxy"
            ) from None
        if not await source.is_authorized():
            raise UserError(
                f"session {session_file(self.settings.telegram.session)} is not logged in; run `telewatch login`"
            )
        self._account = await source.me()
        log.info("connected", extra={"account": self._account})

    async def _reload(self, reload: Callable[[], Settings] | None) -> None:
        if reload is None:
            return
        try:
            new = reload()
        except UserError as err:
            log.error("config reload failed; keeping the running config", extra={"error": str(err)})
            return
        if new.telegram != self.settings.telegram or new.storage != self.settings.storage:
            log.warning("[telegram] and [storage] changes take effect at the next start")
        merge_watchlist(self.db, new)
        if self.sender is not None:
            self.sender.set_targets(webhooks.register(self.db, new), new.webhooks)
        self.settings = new
        if self.source is not None:
            self.source.comment_authors = new.comments.authors
        if self.shared is not None:
            # Workers read intervals and windows from here on every cycle.
            self.shared.settings = new.daemon
        if self.writer is not None:
            self.writer.set_rules(new.alert_rules())
        if self.media is not None:
            self.media.set_channels(new.channels)  # the rest of [media]: at the next start
        if self.leases is not None:
            # Webhook targets or authorities added or removed: ask for the
            # roles anew (the roles loop starts or stops their tasks).
            self.leases.set_roles_wanted(self._roles_wanted())
        log.info(
            "config reloaded", extra={"channels": len(new.channels), "alerts": len(new.alerts)}
        )


async def _unless_stopped(work: Coroutine[object, object, None], stop: asyncio.Event) -> bool:
    """Run ``work`` until it ends (True; its exception propagates) or until
    ``stop`` is set first (``work`` is cancelled; False)."""
    task = asyncio.ensure_future(work)
    waiter = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait((task, waiter), return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        if not task.done():
            await cancel_and_wait(task)
    if task.cancelled():
        return False
    task.result()
    return True


async def run_daemon(
    settings: Settings,
    stop: asyncio.Event,
    *,
    reload: Callable[[], Settings] | None = None,
    reload_event: asyncio.Event | None = None,
    log_stream: object | None = None,
    config: Path | None = None,
) -> int:
    """Run the daemon until ``stop`` is set; returns the exit code (0).

    Raises UserError for problems the user must fix. Logging goes to stderr
    (human-readable on a terminal, JSON lines otherwise) unless the caller
    configured the ``telewatch`` logger already."""
    tg = settings.telegram
    secrets = [tg.api_hash.get_secret_value()]
    if tg.proxy is not None:
        secrets.append(tg.proxy.get_secret_value())
    secrets.extend(url for _, url in webhooks.configured(settings))
    if not logging.getLogger("telewatch").handlers:
        setup_logging(settings.daemon.log_level, secrets, log_stream)  # type: ignore[arg-type]
    log.info(
        "starting",
        extra={
            "config": str(config) if config is not None else "none (defaults and environment)",
            "session": str(session_file(tg.session)),
            "archive": pg_masked(str(settings.storage.db)),
        },
    )
    daemon = Daemon(settings)
    return await daemon.run(stop, reload_event or asyncio.Event(), reload)


CANCEL_GRACE = 0.5
"""Seconds a part of the stop that ran out of time gets to end once cancelled."""

ROLE_RESTART_DELAY = 5.0
# A pool daemon whose anchor loop failed this many rounds in a row (no
# authority stamped the head) leaves the role to the others for
# ROLE_REST_TTLS × lease_ttl seconds (5 min with the default lease_ttl).
ROLE_HANDOFF_FAILURES = 3
ROLE_REST_TTLS = 10
"""Seconds before a pool role's task that ended (failed) is started again."""


async def _within(aw: Awaitable[Any], seconds: float, what: str) -> None:
    """Await ``aw`` for at most ``seconds`` (at least 0.2 s); past that,
    cancel it, give it CANCEL_GRACE seconds to end, log and go on: the stop
    never waits for it, not even when it ignores its cancellation (which
    ``asyncio.wait_for`` would wait for without a bound). Its exception, if
    it raised one in time, propagates."""
    task = asyncio.ensure_future(aw)
    done, _ = await asyncio.wait({task}, timeout=max(0.2, seconds))
    if task in done:
        task.result()
        return
    log.warning("stop: %s did not end in time; stopping without them", what)
    if not await cancel_and_wait(task, CANCEL_GRACE):
        log.error("stop: %s did not end when cancelled; left behind", what)


def _stop_overdue(loop: asyncio.AbstractEventLoop | None = None) -> None:
    """The stop took longer than STOP_DEADLINE: say where it hangs (every
    thread's stack and every asyncio task's await chain), then exit."""
    log.error("stop: still running %.0f s after the signal; exiting now", STOP_DEADLINE)
    with contextlib.suppress(Exception):
        faulthandler.dump_traceback(all_threads=True)
    if loop is not None:
        with contextlib.suppress(Exception):
            sys.stderr.write(task_dump(loop))
            sys.stderr.flush()
    for h in logging.getLogger().handlers:
        with contextlib.suppress(Exception):
            h.flush()
    os._exit(0)


TASK_DUMP_WAIT = 0.5
"""Seconds the watchdog waits for the event loop to list its own tasks."""


def task_dump(loop: asyncio.AbstractEventLoop, wait: float = TASK_DUMP_WAIT) -> str:
    """Every task of ``loop`` with the chain of awaits it is suspended in
    (coroutine by coroutine down to the future it waits for), as text.
    Called from another thread: the listing runs on the loop itself
    (``call_soon_threadsafe``); a loop that does not answer within ``wait``
    seconds (blocked in a call) is read from this thread instead."""
    answer: list[str] = []
    done = threading.Event()

    def on_loop() -> None:
        try:
            answer.append(_format_tasks(asyncio.all_tasks(loop), on_loop=True))
        finally:
            done.set()

    with contextlib.suppress(RuntimeError):  # a closed loop: read it from here
        loop.call_soon_threadsafe(on_loop)
    if done.wait(wait) and answer:
        return answer[0]
    return _format_tasks(asyncio.all_tasks(loop), on_loop=False)


def _format_tasks(tasks: set[asyncio.Task[Any]], *, on_loop: bool) -> str:
    where = (
        "read on the event loop"
        if on_loop
        else "the event loop did not answer; read from the watchdog"
    )
    out = [f"\n--- asyncio tasks: {len(tasks)} ({where}) ---\n"]
    for task in sorted(tasks, key=lambda t: t.get_name()):
        state = "done" if task.done() else "pending"
        if task.cancelling():
            state += f", cancelling x{task.cancelling()}"
        out.append(f"task {task.get_name()!r} ({state})\n")
        for line in _await_chain(task):
            out.append(f"    {line}\n")
    out.append("--- end of asyncio tasks ---\n")
    return "".join(out)


def _await_chain(task: asyncio.Task[Any]) -> list[str]:
    """The frames a task is suspended in, outermost first, followed through
    ``cr_await`` (``Task.get_stack`` shows the outermost coroutine only),
    then what the innermost one waits for."""
    lines: list[str] = []
    obj: Any = task.get_coro()
    for _ in range(100):  # a chain deeper than that is not worth reading
        frame = getattr(obj, "cr_frame", None) or getattr(obj, "gi_frame", None)
        frame = frame or getattr(obj, "ag_frame", None)
        if frame is None:
            break
        code = frame.f_code
        lines.append(f'File "{code.co_filename}", line {frame.f_lineno}, in {code.co_name}')
        nxt = getattr(obj, "cr_await", None)
        if nxt is None:
            nxt = getattr(obj, "gi_yieldfrom", None)
        if nxt is None:
            nxt = getattr(obj, "ag_await", None)
        if nxt is None:
            break
        obj = nxt
    waiter = getattr(task, "_fut_waiter", None)
    if waiter is not None:
        lines.append(f"waiting for {waiter!r}"[:300])
    return lines
