"""Crash safety: ``telewatch run`` killed with SIGKILL at random moments and
restarted, 20 times, while the channels change; the archive ends up equal to
the truth (what an uninterrupted run archives) and its hash chain verifies."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import threading
import time

from telewatch.emulator import Emulator
from telewatch.store.chain import verify
from tests.fixtures.daemon import TELEWATCH, DaemonWorld, delete_if_live, edit_if_live

BASE = 1500000700
CHANNELS = 4
HISTORY = 450
KILLS = 20


def _traffic(w: DaemonWorld, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    while not stop.is_set():
        ch = BASE + rng.randrange(CHANNELS)
        roll = rng.random()
        if roll < 0.75:
            w.emu.call(lambda emu, ch=ch: emu.post(ch, f"live {rng.random()}"))
        elif roll < 0.9:
            mid = rng.randint(HISTORY - 50, HISTORY)
            w.emu.call(lambda emu, ch=ch, mid=mid: edit_if_live(emu, ch, mid, f"edit {mid}"))
        else:
            mid = rng.randint(HISTORY - 80, HISTORY)
            w.emu.call(lambda emu, ch=ch, mid=mid: delete_if_live(emu, ch, mid))
        time.sleep(0.1)


def test_kill_9_twenty_times_then_restart_gives_the_full_archive(daemon_world: DaemonWorld) -> None:
    """SIGKILL at random moments (mid-backfill, mid-live) 20 times: after a
    final restart nothing is missing, duplicated or unverifiable."""
    w = daemon_world

    def setup(emu: Emulator) -> None:
        for i in range(CHANNELS):
            emu.add_channel(BASE + i, f"kill_chan_{i}", f"Kill {i}")
            for k in range(HISTORY):
                emu.post(BASE + i, f"history {i}/{k}", push=False)

    w.emu.call(setup)
    w.write_config(
        [
            {"username": f"kill_chan_{i}", "mode": "poll" if i == CHANNELS - 1 else "join"}
            for i in range(CHANNELS)
        ],
        reconcile_window=200,
        # A small history budget spreads the backfill over several kills.
        budgets={"messages.GetHistory": [2, 31.0]},
    )
    # Slow the history budget so that backfill spans several kills.
    w.emu.call(lambda emu: emu.inject_flood("messages.GetHistory", 1, 3))
    stop = threading.Event()
    traffic = threading.Thread(target=_traffic, args=(w, stop, 9), daemon=True)
    traffic.start()
    rng = random.Random(20)
    try:
        for _ in range(KILLS):
            p = w.start()
            # Killed at a random moment of its work, once it is running (a
            # start-up slowed by load must not turn a kill into no run at all).
            w.wait_running(p)
            time.sleep(rng.uniform(0.2, 1.5))
            assert w.stop(p, signal.SIGKILL) == -signal.SIGKILL
    finally:
        stop.set()
        traffic.join(10)
    p = w.start()
    w.wait_running(p)
    problems = w.settle(60)
    assert problems == [], problems[:20]
    assert w.stop(p) == 0
    assert w.archive_matches_truth() == []
    r = subprocess.run(
        [TELEWATCH, "--config", str(w.config), "verify"], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0 and r.stdout.startswith("ok: "), r.stdout + r.stderr
    conn = sqlite3.connect(w.db)
    try:
        result = verify(conn)
        runs = conn.execute("SELECT COUNT(*) FROM daemon_runs").fetchone()[0]
        dup_tombstones = conn.execute(
            "SELECT COUNT(*) FROM deletions GROUP BY channel_id, message_id HAVING COUNT(*) > 1"
        ).fetchall()
    finally:
        conn.close()
    assert result.ok and result.versions > CHANNELS * HISTORY, result.problem
    assert dup_tombstones == []
    assert runs >= KILLS  # every run reached the archive before it was killed
