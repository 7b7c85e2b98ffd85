"""The daemon's download of channel profile photos (docs/DAEMON.md, "Media",
"Channel photos").

``channel_photos`` rows are written when a channel's photo id changes (the
channel object of any answer, ``getFullChannel``, an ``updateChannel``).
While ``[media]`` is enabled for the channel, this loop reads from the
archive every channel's newest photo row that has no file yet, downloads
the photo's big size with ``upload.getFile`` on an
``InputPeerPhotoFileLocation`` (as Telegram clients do; paced by the
scheduler's ``upload.GetFile`` budget, like post media), stores the bytes
in the content-addressed store and writes ``ChannelPhotoStored`` through
the writer (chained, store/photo_files.py). Reading the queue from the
archive makes it survive restarts: a photo changed while the daemon was
stopped is seen at the next start and downloaded then.

A failure is logged and counted (``channel_photo_errors``) and retried after
a backoff doubling from ``[media] backoff`` up to ``backoff_max``; Telegram
no longer serving the photo (``PHOTO_ID_INVALID``: it was replaced again) is
not retried until a new photo row appears.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from telewatch.config import MediaSettings
from telewatch.models import ChannelPhotoStored, Event, UserError
from telewatch.sources.telegram import (
    FileUnavailable,
    SourceError,
    TelegramSource,
    channel_photo_file_id,
)
from telewatch.store import media as media_store
from telewatch.store import photo_files
from telewatch.store.db import DatabaseError, connect

from .media import CHUNK
from .pacing import BACKFILL, FloodTooLong, Scheduler

log = logging.getLogger("telewatch.media")

MAX_BYTES = 16 << 20
"""A profile photo larger than this is refused (Telegram's are far smaller)."""
SCAN_INTERVAL = 2.0
"""Seconds between two reads of the archive for photos without a file."""
SETTLE = 3.0
"""Seconds a stored photo row is not taken again (the writer commits it)."""
MIME = "image/jpeg"


class PhotoDownloader:
    """Downloads each channel's newest profile photo into the media store."""

    def __init__(
        self,
        settings: MediaSettings,
        db: Path,
        source: TelegramSource,
        scheduler: Scheduler,
        put: Callable[[Event], Awaitable[None]],
        counters: Counter[str],
        enabled: Callable[[int], bool],
    ) -> None:
        self.settings = settings
        self.db = db
        self.source = source
        self.scheduler = scheduler
        self.put = put
        self.counters = counters
        self.enabled = enabled
        # photo row -> (monotonic time before which it is not tried, failures)
        self._later: dict[int, tuple[float, int]] = {}

    @property
    def root(self) -> Path:
        """The media store (see MediaDownloader.root)."""
        return media_store.default_root(self.db, self.settings.root)

    async def run(self) -> None:
        """Scan and download until cancelled."""
        while True:
            try:
                wanted = await asyncio.to_thread(self._wanted)
            except (DatabaseError, UserError, OSError) as err:
                log.warning("channel photos not readable; retrying", extra={"error": str(err)})
                self.counters["channel_photo_errors"] += 1
                wanted = []
            now = time.monotonic()
            for w in wanted:
                if not self.enabled(w.channel_id) or self._later.get(w.photo_row, (0, 0))[0] > now:
                    continue
                await self.download(w)
            await asyncio.sleep(SCAN_INTERVAL)

    def _wanted(self) -> list[photo_files.WantedPhoto]:
        conn = connect(self.db, readonly=True)
        try:
            return photo_files.wanted(conn)
        finally:
            conn.close()

    async def download(self, w: photo_files.WantedPhoto) -> bool:
        """Download one photo and write its ``ChannelPhotoStored``; False
        when it failed (retried later)."""
        file_id = channel_photo_file_id(w.channel_id, w.photo_id, w.dc_id)
        chunks: list[bytes] = []
        offset = 0
        try:
            while True:
                data = await self.scheduler.call(
                    "upload.GetFile",
                    functools.partial(self.source.file_chunk, file_id, b"", offset, CHUNK),
                    priority=BACKFILL,
                )
                chunks.append(data)
                offset += len(data)
                if offset > MAX_BYTES:
                    raise ValueError(f"a profile photo over {MAX_BYTES} bytes")
                if len(data) < CHUNK:
                    break
            if offset == 0:
                raise ValueError("Telegram sent an empty photo")
            stored = await asyncio.to_thread(media_store.store_chunks, self.root, chunks, MIME)
        except asyncio.CancelledError:
            raise
        except FileUnavailable as err:
            # Replaced again before we got it: a newer row will come.
            self._later[w.photo_row] = (float("inf"), 1)
            self.counters["channel_photo_unavailable"] += 1
            log.info("channel photo no longer served",
                     extra={"channel_id": w.channel_id, "photo_id": w.photo_id,
                            "error": str(err)})  # fmt: skip
            return False
        except (SourceError, FloodTooLong, OSError, ValueError) as err:
            self._failed(w, err)
            return False
        except Exception as err:  # one bad photo never stops the loop
            log.exception("channel photo download failed", extra={"channel_id": w.channel_id})
            self._failed(w, err)
            return False
        await self.put(
            ChannelPhotoStored(w.channel_id, w.photo_id, stored.sha256, stored.size,
                               datetime.now(UTC), mime=MIME)
        )  # fmt: skip
        self._later[w.photo_row] = (time.monotonic() + SETTLE, 0)
        self.counters["channel_photos_stored"] += 1
        return True

    def _failed(self, w: photo_files.WantedPhoto, err: BaseException) -> None:
        failures = self._later.get(w.photo_row, (0.0, 0))[1] + 1
        delay = min(self.settings.backoff * 2 ** (failures - 1), self.settings.backoff_max)
        self._later[w.photo_row] = (time.monotonic() + delay, failures)
        self.counters["channel_photo_errors"] += 1
        log.warning("channel photo download failed; retrying",
                    extra={"channel_id": w.channel_id, "photo_id": w.photo_id,
                           "error": f"{type(err).__name__}: {err}", "retry_in": delay})  # fmt: skip
