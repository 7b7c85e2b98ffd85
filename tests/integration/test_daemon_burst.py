"""A burst of pushed posts across several joined channels is archived in
full by the live path, the daemon keeps archiving after the burst, and
SIGTERM stops it within 5 s, also while the server never answers."""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import time

import pytest

from telewatch.emulator import Emulator
from tests.fixtures.daemon import DaemonWorld

CHANNELS = [1500000901 + i for i in range(6)]
BURST = 300
RATE = 100.0


def _post(w: DaemonWorld, channel_id: int, text: str) -> tuple[int, int]:
    """Publish one pushed post; returns (channel, message id)."""

    def go(emu: Emulator) -> int:
        return int(emu.post(channel_id, text))

    return channel_id, w.emu.call(go)


def _live_posts(w: DaemonWorld) -> set[tuple[int, int]]:
    """(channel, message) of every post whose first version came live."""
    return {
        (int(c), int(m))
        for c, m in w.query(
            "SELECT channel_id, message_id FROM post_versions WHERE version_no = 1 AND source = 'live'"
        )
    }


def test_burst_across_channels_is_archived_live_and_the_daemon_keeps_going(
    daemon_world: DaemonWorld,
) -> None:
    """Every post of a 100/s burst over six joined channels (the last ones
    included) is committed live within seconds, a post after a pause is
    committed too, and SIGTERM then exits 0 within 5 s."""
    w = daemon_world

    def setup(emu: object) -> None:
        for n, cid in enumerate(CHANNELS):
            emu.add_channel(cid, f"burst_chan_{n}", f"Burst {n}")  # type: ignore[attr-defined]
            for k in range(5):
                emu.post(cid, f"history {n}/{k}", push=False)  # type: ignore[attr-defined]

    w.emu.call(setup)
    # Repair and reconciliation far away: what is archived in this test came
    # through the pushed updates, so a lost push cannot be hidden by a repair.
    w.write_config(
        [{"username": f"burst_chan_{n}"} for n in range(len(CHANNELS))],
        gap_repair_interval=600.0,
        reconcile_interval=600.0,
    )
    p = w.start()
    w.wait_for(
        lambda: (
            w.query("SELECT COUNT(*) FROM channel_status WHERE state = 'live'")
            == [(len(CHANNELS),)]
        ),
        30,
        "every channel going live",
    )

    pushed: list[tuple[int, int]] = []
    t_next = time.monotonic()
    for k in range(BURST):
        cid = CHANNELS[k % len(CHANNELS)]
        pushed.append(_post(w, cid, f"burst {k}"))
        t_next += 1 / RATE
        time.sleep(max(0.0, t_next - time.monotonic()))
    end = time.monotonic() + 5
    while not set(pushed) <= _live_posts(w) and time.monotonic() < end:
        time.sleep(0.1)
    missing = sorted(set(pushed) - _live_posts(w))
    assert not missing, f"burst posts not committed live within 5 s: {missing[:10]}"

    time.sleep(3)
    other = CHANNELS[0]
    assert pushed[-1][0] != other
    late = _post(w, other, "after the pause")
    w.wait_for(lambda: late in _live_posts(w), 3, "a post pushed after the pause")

    t0 = time.monotonic()
    assert w.stop(p, signal.SIGTERM) == 0
    assert time.monotonic() - t0 < 5, "SIGTERM must stop the daemon within 5 s"
    stored = w.query("SELECT COUNT(*) FROM posts WHERE channel_id IN (?,?,?,?,?,?)", *CHANNELS)
    assert stored == [(len(CHANNELS) * 5 + BURST + 1,)]


def test_sigterm_while_the_server_never_answers_exits_within_5_s(
    daemon_world: DaemonWorld,
) -> None:
    """A daemon still connecting to a server that accepts the connection but
    never answers stops on SIGTERM within 5 s with exit code 0 (instead of
    waiting out Telethon's timeouts and retries)."""
    w = daemon_world
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        conn = sqlite3.connect(w.session)
        try:
            conn.execute("UPDATE sessions SET server_address = ?, port = ?", silent.getsockname())
            conn.commit()
        finally:
            conn.close()
        w.write_config([{"username": "burst_chan_0"}])
        p = w.start()
        time.sleep(2)
        assert p.poll() is None, w.log_tail()
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        try:
            code = p.wait(5)
        except subprocess.TimeoutExpired:
            pytest.fail("SIGTERM did not stop a daemon stuck connecting within 5 s")
        assert code == 0, w.log_tail()
        assert time.monotonic() - t0 < 5
