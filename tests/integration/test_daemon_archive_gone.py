"""The daemon's archive file deleted or replaced under it (issue 10): the
daemon notices at its next commit, logs it and exits non-zero instead of
writing on into a file nobody can open again."""

from __future__ import annotations

import os
import shutil
import signal

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
