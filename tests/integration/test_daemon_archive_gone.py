"""The daemon's archive file deleted or replaced under it (issue 10): the
daemon notices at its next commit, logs it and exits non-zero instead of
writing on into a file nobody can open again."""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3

import pytest

from tests.fixtures.daemon import DaemonWorld

CHANNEL = 1500000950


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_daemon_stops_when_its_archive_file_goes_away(daemon_world: DaemonWorld, how: str) -> None:
    """Deleting (or replacing) the archive under a running daemon makes it
    log which happened and exit with a non-zero code within seconds."""
    w = daemon_world
    w.emu.call(lambda emu: emu.add_channel(CHANNEL, "gone_chan", "Gone"))
    w.emu.call(lambda emu: [emu.post(CHANNEL, f"history {k}", push=False) for k in range(20)])
    w.write_config([{"username": "gone_chan"}])
    p = w.start()
    w.wait_for(
        lambda: w.query("SELECT COUNT(*) FROM posts WHERE channel_id = ?", CHANNEL) == [(20,)],
        30,
        "the backfill",
    )
    if how == "deleted":
        for suffix in ("", "-wal", "-shm"):
            with_suffix = w.db.with_name(w.db.name + suffix)
            if with_suffix.exists():
                with_suffix.unlink()
    else:
        copy = w.root / "copy.db"
        shutil.copy(w.db, copy)
        os.replace(copy, w.db)
    w.emu.call(lambda emu: emu.post(CHANNEL, "written after the file went away"))
    try:
        code = p.wait(timeout=30)
    except Exception:
        p.send_signal(signal.SIGKILL)
        raise
    assert code not in (0, -signal.SIGTERM, -signal.SIGKILL), w.log_tail()
    assert f"was {'deleted' if how == 'deleted' else 'replaced by another file'}" in w.log_tail()
    assert "while the daemon was writing to it" in w.log_tail()


def test_daemon_refuses_to_start_on_a_damaged_archive(daemon_world: DaemonWorld) -> None:
    """A daemon started on an archive with a damaged page exits 2 naming the
    damage (SQLite quick_check) and writes nothing into the file."""
    w = daemon_world
    w.emu.call(lambda emu: emu.add_channel(CHANNEL, "gone_chan", "Gone"))
    w.emu.call(lambda emu: [emu.post(CHANNEL, f"history {k}", push=False) for k in range(20)])
    w.write_config([{"username": "gone_chan"}])
    p = w.start()
    w.wait_for(
        lambda: w.query("SELECT COUNT(*) FROM posts WHERE channel_id = ?", CHANNEL) == [(20,)],
        30,
        "the backfill",
    )
    assert w.stop(p) == 0
    conn = sqlite3.connect(w.db)
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'posts'").fetchone()[0]
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    with w.db.open("r+b") as fh:
        fh.seek((root - 1) * page + 8)
        fh.write(random.Random(3).randbytes(512))
    before = w.db.read_bytes()
    p = w.start()
    assert p.wait(timeout=30) == 2
    assert "is damaged (SQLite quick_check" in w.log_tail()
    assert w.db.read_bytes() == before
