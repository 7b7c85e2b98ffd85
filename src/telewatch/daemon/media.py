"""The daemon's media download path (docs/DAEMON.md, "Media").

Contracts:

* **Text first.** A post's files are queued (``MediaQueued``) right after
  its ``PostSeen``, through the same writer, and downloaded only once that
  reference is committed: the downloader reads its queue from the archive
  (``media_refs`` in state ``queued``), so text never waits for media and a
  queue survives restarts and kill -9.
* **Its own budget.** Every chunk is one ``upload.GetFile`` request paced by
  the scheduler's ``upload.GetFile`` budget; a FloodWait parks that method
  only (text methods keep flowing). At most ``[media] concurrency`` files
  download at once and at most ``queue_size`` references are held in memory.
* **Streamed, resumable.** Chunks (``CHUNK`` bytes) go straight to the
  reference's partial file under ``<media root>/.partial/``; every
  ``PERSIST_EVERY`` bytes the file is fsynced and its length recorded
  (``MediaProgress.resume_offset``); a restart truncates the partial file
  to that length and continues from there. A finished file is hashed and
  renamed into the content-addressed store (store.media.store_file), then
  ``MediaStored`` is written: a partial file never counts as stored.
* **File references.** ``FILE_REFERENCE_EXPIRED``: the message is fetched
  again (``channels.getMessages``) for a fresh reference and the download
  continues from its offset. A message gone by then is recorded
  ``MediaLost("deleted before download")``; a message whose media an edit
  replaced, ``MediaLost("replaced by an edit before download")`` — never
  retried again. ``FILE_MIGRATE_X`` is followed to DC X (sources.telegram).
* **Retries.** Any other failure counts an attempt: retried after
  ``backoff * 2**(attempts-1)`` (at most ``backoff_max``), and recorded lost
  ("gave up after N attempts: …") after ``max_attempts``.
* **Policy.** ``[media]`` with each channel's ``media`` overrides
  (config.MediaPolicy): the full file when its kind is wanted, it is under
  ``max_file_size`` and the channel's and total budgets have room;
  otherwise ``skipped`` with the reason. The preview (``thumb``) whenever
  ``thumbnails`` is on. A file whose Telegram ``file_unique_id`` is already
  stored (a forward) is not downloaded again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import os
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from telewatch.config import ChannelEntry, MediaPolicy, MediaSettings
from telewatch.models import (
    DifferenceApplied,
    Event,
    MediaHashed,
    MediaLost,
    MediaProgress,
    MediaQueued,
    MediaRoleName,
    MediaStored,
    PostSeen,
    UserError,
)
from telewatch.sources.telegram import (
    FileMigrate,
    FileReferenceExpired,
    FileUnavailable,
    RemoteFile,
    SourceError,
    TelegramSource,
    remote_files,
)
from telewatch.store import media as store
from telewatch.store import media_match, phash
from telewatch.store.db import DatabaseError, connect, iso

from .pacing import BACKFILL, FloodTooLong, Scheduler
from .tasks import wake_or_timeout

log = logging.getLogger("telewatch.media")

CHUNK = 1 << 20
"""Bytes per upload.getFile request (Telegram's largest limit)."""
PERSIST_EVERY = 8 << 20
"""Bytes between two fsynced, recorded resume offsets."""
HASH_RETRY = 30.0
"""Seconds (scaled by rate_scale) before the leftover hashing reads the archive again after an error."""
SCAN_INTERVAL = 1.0
"""Seconds between two reads of the queue in the archive (sooner when new
references were queued)."""
WAKE_DELAY = 0.15
MAX_REFRESHES = 3
"""File reference renewals within one attempt before it counts as failed."""
SETTLE = 3.0
"""Seconds a finished reference is not taken from the queue again."""
REFERENCES_KEPT = 20_000
"""File references remembered from messages seen (newest first)."""

DELETED = "deleted before download"
REPLACED = "replaced by an edit before download"


@dataclass
class _Usage:
    total: int = 0
    per_channel: dict[int, int] | None = None


@dataclass
class _Scan:
    usage: _Usage
    names: dict[int, str]
    refs: list[tuple[store.MediaRef, tuple[str, int, str | None] | None]]
    queued: dict[int, int]


class MediaDownloader:
    """Decides what to download (``events_for``) and downloads it (``run``)."""

    def __init__(
        self,
        settings: MediaSettings,
        channels: Sequence[ChannelEntry],
        db: Path,
        source: TelegramSource,
        scheduler: Scheduler,
        put: Callable[[Event], Awaitable[None]],
        counters: Counter[str],
        *,
        scale: float = 1.0,
        held: Callable[[], frozenset[int] | None] | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        # The channels this daemon holds on an archive shared by several
        # daemons (leases): only their media is downloaded here. None: all.
        self.held = held
        self.source = source
        self.scheduler = scheduler
        self.put = put
        self.counters = counters
        self.scale = scale
        self._default = settings.policy()
        self._by_id: dict[int, MediaPolicy] = {}
        self._by_name: dict[str, MediaPolicy] = {}
        self.set_channels(channels)
        self._names: dict[int, str] = {}
        self._refs: OrderedDict[str, bytes] = OrderedDict()
        self._inflight: set[int] = set()
        # References finished moments ago, whose outcome the writer may not
        # have committed yet: not taken again from the queue for SETTLE s.
        self._recent: dict[int, float] = {}
        self._queue: asyncio.Queue[store.MediaRef] = asyncio.Queue(maxsize=settings.queue_size)
        self._wake = asyncio.Event()
        self._usage = _Usage(0, {})
        self._pending_bytes: dict[int, int] = {}

    # -- policy ------------------------------------------------------------

    @property
    def root(self) -> Path:
        """The media store (asked when a file is stored: with media off a
        PostgreSQL archive needs no ``[media] root``)."""
        return store.default_root(self.db, self.settings.root)

    def set_channels(self, channels: Sequence[ChannelEntry]) -> None:
        """The ``[[channels]]`` entries whose ``media`` overrides apply (reload)."""
        self._by_id, self._by_name = {}, {}
        for entry in channels:
            if entry.media is None:
                continue
            policy = self.settings.policy(entry.media)
            username, cid = entry.ref
            if cid is not None:
                self._by_id[cid] = policy
            if username is not None:
                self._by_name[username.lower()] = policy

    def policy(self, channel_id: int) -> MediaPolicy:
        """The policy in force for a channel."""
        hit = self._by_id.get(channel_id)
        if hit is not None:
            return hit
        name = self._names.get(channel_id)
        if name is not None and name in self._by_name:
            return self._by_name[name]
        return self._default

    def events_for(self, ev: Event) -> list[MediaQueued]:
        """The MediaQueued events that follow ``ev`` (a PostSeen with media,
        or a DifferenceApplied holding some) through the writer."""
        if isinstance(ev, DifferenceApplied):
            return [q for inner in ev.events for q in self.events_for(inner)]
        if not isinstance(ev, PostSeen) or ev.post.media is None:
            return []
        files = remote_files(ev.raw if ev.raw_format == "tl" and ev.raw else ev.post.raw)
        if not files:
            return []
        post = ev.post
        policy = self.policy(post.channel_id)
        out: list[MediaQueued] = []
        for f in files:
            seen_before = f.file_id in self._refs  # a re-read: already queued or decided
            self._remember(f.file_id, f.reference)
            reason = self._skip_reason(policy, post.channel_id, f)
            out.append(
                MediaQueued(
                    post.channel_id, post.message_id, _role(f.role), ev.seen_at,
                    kind=f.kind, mime=f.mime, size=f.size, file_id=f.file_id,
                    file_unique_id=f.file_unique_id,
                    state="skipped" if reason else "queued", reason=reason,
                )
            )  # fmt: skip
            if reason is None and f.size and not seen_before:
                self._pending_bytes[post.channel_id] = (
                    self._pending_bytes.get(post.channel_id, 0) + f.size
                )
        self._wake.set()
        return out

    def _skip_reason(self, policy: MediaPolicy, channel_id: int, f: RemoteFile) -> str | None:
        if not policy.enabled:
            return "media downloads are off ([media] enabled = false)"
        if f.role == "thumb":
            return None if policy.thumbnails else "thumbnails are off ([media] thumbnails)"
        why = policy.wants(f.kind, f.size)
        if why is not None:
            return why
        size = f.size or 0
        used = (self._usage.per_channel or {}).get(channel_id, 0)
        used += self._pending_bytes.get(channel_id, 0)
        if policy.channel_budget and used + size > policy.channel_budget:
            return f"the channel's media budget of {policy.channel_budget} bytes is used"
        total = self._usage.total + sum(self._pending_bytes.values())
        if policy.total_budget and total + size > policy.total_budget:
            return f"the total media budget of {policy.total_budget} bytes is used"
        return None

    def _remember(self, file_id: str, reference: bytes) -> None:
        self._refs[file_id] = reference
        self._refs.move_to_end(file_id)
        while len(self._refs) > REFERENCES_KEPT:
            self._refs.popitem(last=False)

    # -- the queue ---------------------------------------------------------

    async def run(self) -> None:
        """Scan the archive's queue and download, until cancelled."""
        workers = [
            asyncio.create_task(self._worker(), name=f"media-{i}")
            for i in range(self.settings.concurrency)
        ]
        workers.append(asyncio.create_task(self._hash_leftovers(), name="media-phash"))
        try:
            while True:
                now = time.monotonic()
                self._recent = {i: t for i, t in self._recent.items() if now - t < SETTLE}
                busy = frozenset(self._inflight | set(self._recent))
                room = self._queue.maxsize - self._queue.qsize()
                held = self.held() if self.held is not None else None
                try:
                    scan = await asyncio.to_thread(self._scan, busy, room, held)
                except (DatabaseError, UserError) as err:
                    log.warning("media queue not readable; retrying", extra={"error": str(err)})
                    await asyncio.sleep(SCAN_INTERVAL)
                    continue
                # What is queued but not yet downloaded counts against the
                # budgets (its expected size), so a long backfill cannot pass them.
                self._usage, self._names = scan.usage, scan.names
                self._pending_bytes = dict(scan.queued)
                for ref, copy in scan.refs:
                    if ref.id in self._inflight:
                        continue
                    self._inflight.add(ref.id)
                    if copy is not None:
                        await self._reuse(ref, copy)
                    else:
                        await self._queue.put(ref)  # bounded: waits while the downloaders are busy
                self._wake.clear()
                if await wake_or_timeout(self._wake, SCAN_INTERVAL):
                    # New references were put: read them once the writer has
                    # committed them (its batches wait at most 50 ms).
                    await asyncio.sleep(WAKE_DELAY)
        finally:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    def _scan(self, busy: frozenset[int], room: int, held: frozenset[int] | None = None) -> _Scan:
        """The archive's view (in a thread): usage, usernames, and the due
        references not in flight, each with a stored copy of the same
        Telegram file when there is one."""
        conn = connect(self.db, readonly=True)
        try:
            st = store.status(conn)
            queued = store.queued_bytes(conn)
            names = store.channel_usernames(conn)
            refs: list[tuple[store.MediaRef, tuple[str, int, str | None] | None]] = []
            if room > 0:
                for r in store.due_refs(conn, iso(datetime.now(UTC)), room + len(busy), held):
                    if r.id in busy:
                        continue
                    copy = (
                        store.stored_copy(conn, r.file_unique_id, r.role)
                        if r.file_unique_id
                        else None
                    )
                    refs.append((r, copy))
        finally:
            conn.close()
        return _Scan(_Usage(st.bytes_stored, st.per_channel), names, refs[:room], queued)

    async def _reuse(self, ref: store.MediaRef, copy: tuple[str, int, str | None]) -> None:
        try:
            sha, size, mime = copy
            await self._stored(ref, sha, size, mime or ref.mime)
            self.counters["media_reused"] += 1
        finally:
            self._recent[ref.id] = time.monotonic()
            self._inflight.discard(ref.id)

    async def _worker(self) -> None:
        while True:
            ref = await self._queue.get()
            try:
                await self.download(ref)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # one bad file never stops the downloads
                log.exception("media download failed", extra={"ref": ref.id})
                self.counters["media_errors"] += 1
                await self._failed(ref, ref.resume_offset, f"{type(err).__name__}: {err}")
            finally:
                self._recent[ref.id] = time.monotonic()
                self._inflight.discard(ref.id)
                self._queue.task_done()

    # -- one file ----------------------------------------------------------

    async def download(self, ref: store.MediaRef, *, force: bool = False) -> str:
        """Download one queued reference (resuming its partial file); returns
        its new state: stored, lost or queued (to retry)."""
        if not ref.file_id:
            await self._lost(ref, "no Telegram file id recorded")
            return "lost"
        part = store.partial_path(
            self.root, ref.channel_id, ref.message_id, ref.version_no, ref.role
        )
        part.parent.mkdir(parents=True, exist_ok=True)
        offset = await asyncio.to_thread(_prepare_partial, part, ref.resume_offset)
        reference = self._refs.get(ref.file_id)
        refreshes = 0
        if reference is None:
            got = await self._refresh(ref)
            if isinstance(got, str):
                await asyncio.to_thread(_discard, part)
                await self._lost(ref, got)
                return "lost"
            reference = got
        persisted = offset
        last_persist = time.monotonic()
        file_id = ref.file_id
        checkpoint: asyncio.Task[int] | None = None
        try:
            # Unbuffered: the checkpoint's fdatasync (another thread) runs
            # while the next chunks are written, without a shared buffer.
            with open(part, "r+b", buffering=0) as f:
                try:
                    f.seek(offset)
                    while True:
                        try:
                            data = await self.scheduler.call(
                                "upload.GetFile",
                                functools.partial(
                                    self.source.file_chunk, file_id, reference, offset, CHUNK
                                ),
                                priority=BACKFILL,
                            )
                        except FileReferenceExpired:
                            refreshes += 1
                            self.counters["media_reference_refreshes"] += 1
                            if refreshes > MAX_REFRESHES:
                                raise
                            got = await self._refresh(ref)
                            if isinstance(got, str):
                                await asyncio.to_thread(_discard, part)
                                await self._lost(ref, got)
                                return "lost"
                            reference = got
                            continue
                        await asyncio.to_thread(_write_all, f, data)
                        offset += len(data)
                        self.counters["media_bytes"] += len(data)
                        if ref.size is not None and offset > ref.size:
                            raise ValueError(f"got {offset} bytes of a {ref.size}-byte file")
                        if len(data) < CHUNK:
                            break
                        if checkpoint is not None and checkpoint.done():
                            persisted, checkpoint = checkpoint.result(), None
                        due = (
                            offset - persisted >= PERSIST_EVERY
                            or time.monotonic() - last_persist > 5
                        )
                        if checkpoint is None and due:
                            checkpoint = asyncio.create_task(
                                self._checkpoint(f.fileno(), offset, ref)
                            )
                            last_persist = time.monotonic()
                finally:
                    if checkpoint is not None:
                        with contextlib.suppress(Exception):
                            persisted = await checkpoint
                await asyncio.to_thread(os.fdatasync, f.fileno())
        except (SourceError, FloodTooLong, OSError, ValueError) as err:
            if isinstance(err, FileUnavailable):
                await asyncio.to_thread(_discard, part)
                await self._lost(ref, f"Telegram no longer has the file ({err})")
                return "lost"
            if isinstance(err, FileMigrate):
                self.counters["media_migrate"] += 1
            if isinstance(err, ValueError):
                await asyncio.to_thread(_discard, part)
                persisted = 0
            await self._failed(ref, persisted, f"{type(err).__name__}: {err}", force=force)
            return "queued"
        if ref.size is not None and offset != ref.size:
            await asyncio.to_thread(_discard, part)
            await self._failed(ref, 0, f"got {offset} bytes, Telegram said {ref.size}", force=force)
            return "queued"
        stored = await asyncio.to_thread(store.store_file, self.root, part, ref.mime, move=True)
        await self._stored(ref, stored.sha256, stored.size, ref.mime)
        self.counters["media_stored"] += 1
        if _is_image(ref):
            await self._hash(stored.sha256, stored.path)
        return "stored"

    async def _hash(self, sha: str, path: Path) -> None:
        """The perceptual hash of a stored image (store/phash.py: trace and
        search --media), decoded on a thread, written after its MediaStored."""
        h = await asyncio.to_thread(phash.compute, path)
        if h is None:
            self.counters["media_unhashable"] += 1
            return
        await self.put(MediaHashed(sha, h))
        self.counters["media_hashed"] += 1

    async def _hash_leftovers(self) -> None:
        """Hash stored images that have no perceptual hash (stored before a
        kill -9 took the hash with it, or by an older telewatch), once at start.
        An archive that cannot be read for a moment, or one image that fails,
        is logged and counted (``media_hash_errors``) and the pass carries on
        (the same page again after HASH_RETRY; the next image)."""
        try:
            root = self.root
        except UserError as err:  # no media store to read (docs/SCALE.md)
            log.warning("leftover media hashes skipped", extra={"error": str(err)})
            return
        after = ""
        while True:
            try:
                rows = await asyncio.to_thread(self._unhashed, after)
            except (DatabaseError, UserError) as err:
                self.counters["media_hash_errors"] += 1
                log.warning("media hashes not readable; retrying", extra={"error": str(err)})
                await asyncio.sleep(HASH_RETRY * max(self.scale, 0.01))
                continue
            if not rows:
                return
            after = rows[-1][0]
            for sha, rel in rows:
                try:
                    await self._hash(sha, root / rel)
                except Exception as err:  # one image never ends the pass
                    self.counters["media_hash_errors"] += 1
                    log.warning(
                        "media hash failed",
                        extra={"sha256": sha, "error": f"{type(err).__name__}: {err}"},
                    )

    def _unhashed(self, after: str) -> list[tuple[str, str]]:
        conn = connect(self.db)
        try:
            return media_match.unhashed_images(conn, after, 200)
        finally:
            conn.close()

    async def _checkpoint(self, fd: int, upto: int, ref: store.MediaRef) -> int:
        """Make the first ``upto`` bytes of a partial file durable, then
        record them as the resume offset; returns ``upto``."""
        await asyncio.to_thread(os.fdatasync, fd)
        await self.put(
            MediaProgress(ref.channel_id, ref.message_id, ref.version_no, _role(ref.role),
                          ref.attempts, upto, datetime.now(UTC), error=ref.last_error)
        )  # fmt: skip
        return upto

    async def _refresh(self, ref: store.MediaRef) -> bytes | str:
        """A fresh file reference for ``ref`` (channels.getMessages), or the
        reason it can no longer be had."""
        self.counters["media_message_refetches"] += 1
        try:
            answer = await self.scheduler.call(
                "channels.GetMessages",
                lambda: self.source.messages(ref.channel_id, [ref.message_id]),
                priority=BACKFILL,
            )
        except (SourceError, FloodTooLong) as err:
            raise FileReferenceExpired(f"could not renew the file reference: {err}") from err
        post = answer.found.get(ref.message_id)
        if post is None:
            if ref.message_id in answer.missing:
                return DELETED
            raise FileReferenceExpired("the message could not be read again")
        for f in remote_files(post.raw):
            self._remember(f.file_id, f.reference)
        for f in remote_files(post.raw):
            if f.file_id == ref.file_id:
                return f.reference
        return REPLACED

    # -- outcomes ----------------------------------------------------------

    async def _stored(self, ref: store.MediaRef, sha: str, size: int, mime: str | None) -> None:
        await self.put(
            MediaStored(ref.channel_id, ref.message_id, _role(ref.role), sha, size,
                        datetime.now(UTC), mime=mime, kind=ref.kind, file_id=ref.file_id,
                        file_unique_id=ref.file_unique_id, version_no=ref.version_no)
        )  # fmt: skip

    async def _lost(self, ref: store.MediaRef, reason: str) -> None:
        self.counters["media_lost"] += 1
        log.info("media lost", extra={"channel_id": ref.channel_id,
                                       "message_id": ref.message_id, "reason": reason})  # fmt: skip
        await self.put(
            MediaLost(ref.channel_id, ref.message_id, _role(ref.role), reason,
                      datetime.now(UTC), error=ref.last_error, version_no=ref.version_no)
        )  # fmt: skip

    async def _failed(
        self, ref: store.MediaRef, offset: int, error: str, *, force: bool = False
    ) -> None:
        attempts = ref.attempts + 1
        self.counters["media_retries"] += 1
        if attempts >= self.settings.max_attempts and not force:
            await self._lost(
                dataclasses.replace(ref, last_error=error),
                f"gave up after {attempts} attempts: {error}",
            )
            return
        delay = min(self.settings.backoff * 2 ** (attempts - 1), self.settings.backoff_max)
        log.info("media download failed; will retry",
                 extra={"channel_id": ref.channel_id, "message_id": ref.message_id,
                        "attempts": attempts, "retry_in_s": delay, "error": error})  # fmt: skip
        await self.put(
            MediaProgress(ref.channel_id, ref.message_id, ref.version_no, _role(ref.role),
                          attempts, offset, datetime.now(UTC),
                          next_try=datetime.now(UTC) + timedelta(seconds=delay * self.scale),
                          error=error[:500])
        )  # fmt: skip


def _is_image(ref: store.MediaRef) -> bool:
    """Whether a reference's file is a picture worth a perceptual hash."""
    return (ref.mime or "").startswith("image/") or ref.kind == "photo" or ref.role == "thumb"


def _role(role: str) -> MediaRoleName:
    if role not in ("file", "thumb"):
        raise ValueError(f"unknown media role {role!r}")
    return "thumb" if role == "thumb" else "file"


def _prepare_partial(part: Path, resume: int) -> int:
    """Make the partial file exactly ``resume`` bytes (what was fsynced and
    recorded; bytes written after that are not trusted) and return its
    length, on a chunk boundary."""
    resume -= resume % CHUNK
    try:
        size = part.stat().st_size
    except FileNotFoundError:
        size = -1
    if size < resume:
        resume = 0
    with open(part, "ab") as f:
        f.truncate(resume)
    return resume


def _write_all(f: BinaryIO, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = f.write(view)
        view = view[n or 0 :]


def _discard(part: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        part.unlink()
