"""End to end: ``telewatch run`` as a subprocess against the emulator (real
Telethon over TCP), with live traffic, faults and restarts; the archive must
end up equal to the emulator's truth."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import time

from telewatch.emulator import Emulator
from telewatch.store.chain import verify
from tests.fixtures.daemon import DaemonWorld, delete_if_live, edit_if_live

STOP_WITHIN = 5.0
"""Seconds SIGTERM may take: the stop's own budget is 4 s (the 8 s watchdog
must never be what ends it)."""
BASE = 1500000500
N_CHANNELS = 20
HISTORY = 300  # 2,000 in bench/bench_daemon.py; 300 keeps three pages per channel here


def _setup(emu: Emulator, n: int, history: int) -> None:
    for i in range(n):
        emu.add_channel(BASE + i, f"scen_chan_{i:02d}", f"Scenario {i}")
        for k in range(history):
            emu.post(BASE + i, f"history {i}/{k}", push=False)


def _done(world: DaemonWorld, n: int) -> bool:
    rows = world.query("SELECT COUNT(*) FROM sync_state WHERE backfill_done = 1")
    return bool(rows) and rows[0][0] >= n


def test_twenty_channels_with_faults_and_restart_match_truth(daemon_world: DaemonWorld) -> None:
    """20 channels (15 joined, 5 polled) with posts, edits, deletions, drops,
    flood waits, a difference-too-long gap, a rename, a channel gone private
    and changes while the daemon is stopped: the archive equals the truth."""
    w = daemon_world
    w.emu.call(lambda emu: _setup(emu, N_CHANNELS, HISTORY))
    channels = [
        {"username": f"scen_chan_{i:02d}", "mode": "poll" if i >= 15 else "join"}
        for i in range(N_CHANNELS)
    ]
    w.write_config(channels, reconcile_window=400)
    p = w.start()
    w.wait_for(lambda: _done(w, N_CHANNELS), 60, "backfill of 20 channels")

    rng = random.Random(4)
    w.emu.call(lambda emu: emu.make_private(BASE + 2))
    w.emu.call(lambda emu: emu.rename(BASE + 1, "scen_chan_renamed"))
    w.emu.call(lambda emu: emu.inject_flood("messages.GetHistory", 2, 1))
    w.emu.call(lambda emu: emu.suppress_pushes(BASE + 0, 3))
    w.emu.call(lambda emu: emu.too_long(BASE + 0))
    live = [i for i in range(N_CHANNELS) if i != 2]
    t_end = time.monotonic() + 6
    next_drop = time.monotonic() + 2
    while time.monotonic() < t_end:
        ch = BASE + rng.choice(live)
        roll = rng.random()
        if roll < 0.7:
            w.emu.call(lambda emu, ch=ch: emu.post(ch, f"live {time.time()}"))
        elif roll < 0.85:
            mid = rng.randint(HISTORY - 100, HISTORY)
            w.emu.call(
                lambda emu, ch=ch, mid=mid: edit_if_live(emu, ch, mid, f"edit {mid} {time.time()}")
            )
        else:
            mid = rng.randint(HISTORY - 150, HISTORY)
            w.emu.call(lambda emu, ch=ch, mid=mid: delete_if_live(emu, ch, mid))
        if time.monotonic() > next_drop:
            w.emu.call(lambda emu: emu.disconnect_all())
            next_drop += 2
        time.sleep(0.05)

    t0 = time.monotonic()
    assert w.stop(p, signal.SIGTERM) == 0
    assert time.monotonic() - t0 < STOP_WITHIN, (
        f"SIGTERM must stop the daemon within {STOP_WITHIN} s"
    )

    # Changes while the daemon is stopped.
    for i in (3, 4, 16):
        w.emu.call(lambda emu, i=i: emu.post(BASE + i, f"offline post {i}"))
        w.emu.call(lambda emu, i=i: edit_if_live(emu, BASE + i, HISTORY - 1, f"offline edit {i}"))
        w.emu.call(lambda emu, i=i: delete_if_live(emu, BASE + i, HISTORY - 2))

    p = w.start()
    w.wait_running(p)
    problems = w.settle(45)
    assert problems == [], problems[:20]

    # The archive can match the truth while a worker still waits out a
    # FloodWait on its gap repair (a loaded machine bunches requests):
    # ``flood_wait`` is then the honest state, and it must give way to the
    # channel's own state once the wait is over.
    def states() -> dict[str, tuple[str, str | None]]:
        return {
            r[0]: (r[1], r[2]) for r in w.query("SELECT key, state, detail FROM channel_status")
        }

    want = {"username:scen_chan_02": "private", "username:scen_chan_01": "renamed"}
    end = time.monotonic() + 30
    while {k: states()[k][0] for k in want} != want and time.monotonic() < end:
        time.sleep(0.2)
    now = states()
    floods = [ln for ln in w.log_tail(10**7).splitlines() if '"flood wait"' in ln]
    assert {k: now[k][0] for k in want} == want, (now, floods)
    assert w.query("SELECT username FROM channels WHERE id = ?", BASE + 1) == [
        ("scen_chan_renamed",)
    ]
    assert w.stop(p) == 0

    conn = sqlite3.connect(w.db)
    try:
        assert verify(conn).ok
        counters = json.loads(
            conn.execute("SELECT counters FROM daemon_runs ORDER BY id DESC LIMIT 1").fetchone()[0]
        )
    finally:
        conn.close()
    assert counters["stopped"] == 1
    assert "writer_errors" not in counters
