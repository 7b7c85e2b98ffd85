"""The server goes away for longer than Telethon's own retries: the daemon
reconnects with backoff and repairs what it missed meanwhile."""

from __future__ import annotations

import shutil
import socket
import time
from pathlib import Path
from typing import Any

from telewatch.emulator import EmulatorThread, RateModel
from telewatch.sources.telegram import session_file
from tests.fixtures.daemon import RATE_SCALE, DaemonWorld

CID, HASH = 1500000951, 424242


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _world(emu: Any, posts: int) -> None:
    emu.add_channel(CID, "outage_chan", "Outage", access_hash=HASH)
    for k in range(posts):
        emu.post(CID, f"post {k}", push=False)
    emu.join(CID)


def _last_counters(w: DaemonWorld) -> str:
    rows = w.query("SELECT counters FROM daemon_runs ORDER BY id DESC LIMIT 1")
    return str(rows[0][0]) if rows else ""


def test_daemon_survives_a_server_outage_and_repairs_the_gap(tmp_path: Path) -> None:
    """After a 6 s outage the daemon is back without a restart, and the posts
    published while the server was unreachable are archived."""
    port = _free_port()
    first = EmulatorThread(rate=RateModel(scale=RATE_SCALE), port=port)
    first.start()
    w = DaemonWorld(emu=first, root=tmp_path)
    try:
        first.call(lambda emu: _world(emu, 20))
        first.write_session(w.session)
        w.write_config([{"username": "outage_chan"}])
        p = w.start()
        w.wait_for(
            lambda: w.query("SELECT COUNT(*) FROM posts") == [(20,)], 20, "the first 20 posts"
        )
        first.stop()
        time.sleep(6)  # longer than Telethon's connection retries
        second = EmulatorThread(rate=RateModel(scale=RATE_SCALE), port=port)
        second.start()
        w.emu = second
        try:
            second.call(lambda emu: _world(emu, 35))  # 15 posts appeared during the outage
            # The daemon holds the session open: register its auth key with the
            # new server through a copy (same key, same address).
            copy = tmp_path / "copy.session"
            shutil.copyfile(session_file(w.session), copy)
            second.write_session(copy)
            w.wait_for(
                lambda: w.query("SELECT COUNT(*) FROM posts") == [(35,)],
                30,
                "the posts from the outage",
            )
            w.wait_for(
                lambda: '"reconnects"' in _last_counters(w),
                10,
                "a heartbeat counting the reconnect",
            )
            second.call(lambda emu: emu.post(CID, "after the outage"))
            w.wait_for(
                lambda: w.query("SELECT COUNT(*) FROM posts") == [(36,)], 20, "a post after it"
            )
            assert w.stop(p) == 0
        finally:
            second.stop()
    finally:
        w.close()
        first.stop()
