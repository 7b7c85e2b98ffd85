"""daemon/media.py's leftover hashing on a real SQLite archive and media
store: an archive that cannot be read for a moment (its file moved away and
back) is logged, counted and retried, and the stored images without a
perceptual hash are hashed once it is back."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from telewatch.config import DaemonSettings, MediaSettings
from telewatch.daemon.media import MediaDownloader
from telewatch.daemon.pacing import Scheduler
from telewatch.models import MediaStored
from telewatch.sources.telegram import TelegramSource
from telewatch.store import media, phash
from telewatch.store.db import connect
from telewatch.store.writer import Writer, apply_events
from tests.fixtures.media import picture, sha256
from tests.fixtures.store import post_seen

CH = 1700000001


def _store_unhashed(archive: Path, tmp_path: Path, files: dict[int, bytes]) -> None:
    """Store ``files`` as posts' media, without perceptual hashes."""
    root = media.default_root(archive)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    events: list[object] = []
    for mid, data in files.items():
        src = tmp_path / f"{mid}.jpg"
        src.write_bytes(data)
        stored = media.store_file(root, src, "image/jpeg")
        events += [
            post_seen(CH, mid, f"post {mid}"),
            MediaStored(CH, mid, "file", stored.sha256, stored.size, now,
                        mime="image/jpeg", kind="photo"),
        ]  # fmt: skip
    conn = connect(archive, readonly=False)
    try:
        conn.execute("BEGIN IMMEDIATE")
        assert not apply_events(conn, events, ()).errors  # type: ignore[arg-type]
        conn.execute("COMMIT")
    finally:
        conn.close()


async def test_leftover_hashing_carries_on_after_the_archive_was_unreadable(
    archive: Path, tmp_path: Path
) -> None:
    """The archive is gone when the leftover pass starts: the error is
    counted (media_hash_errors) and the pass retries; once the file is back
    both stored images get their hash through the writer."""
    files = {1: picture(61), 2: picture(62)}
    _store_unhashed(archive, tmp_path, files)
    counters: Counter[str] = Counter()
    settings = DaemonSettings()
    source = TelegramSource(tmp_path / "unused.session", 1, "0123456789abcdef0123456789abcdef")
    scheduler = Scheduler(settings.budgets, scale=0.01)
    away = archive.with_name("moved-away.db")
    async with Writer(archive) as writer:
        downloader = MediaDownloader(
            MediaSettings(), [], archive, source, scheduler, writer.put, counters, scale=0.01
        )
        os.rename(archive, away)
        task = asyncio.create_task(downloader.run())
        try:
            end = time.monotonic() + 20
            while counters["media_hash_errors"] == 0 and time.monotonic() < end:
                await asyncio.sleep(0.05)
            assert counters["media_hash_errors"] >= 1
            os.rename(away, archive)
            while counters["media_hashed"] < 2 and time.monotonic() < end + 20:
                await asyncio.sleep(0.05)
            await writer.flush()
        finally:
            task.cancel()
            await asyncio.wait({task})
            scheduler.close()
            await source.close()
    assert counters["media_hashed"] == 2
    conn = connect(archive)
    try:
        for data in files.values():
            got = phash.get(conn, sha256(data))
            assert got is not None and got.phash == phash.compute(data)
    finally:
        conn.close()
