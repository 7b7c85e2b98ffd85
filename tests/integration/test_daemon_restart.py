"""Restarts cost nothing they need not (issue 17): no resolves or per-channel
look-ups for known channels, budgets that remember the previous run, and a
full sweep that finds what neither the difference nor reconciliation reports."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from telewatch.emulator import EmulatorThread, RateModel
from tests.fixtures.daemon import DaemonWorld

BASE = 1500003000
OLD = datetime(2024, 1, 1, tzinfo=UTC)


def _counters(w: DaemonWorld, pid: int) -> dict[str, int]:
    rows = w.query("SELECT counters FROM daemon_runs WHERE pid = ? ORDER BY id DESC LIMIT 1", pid)
    return dict(json.loads(rows[0][0])) if rows and rows[0][0] else {}


def _live(w: DaemonWorld, n: int) -> bool:
    return w.query("SELECT count(*) FROM channel_status WHERE state = 'live'") == [(n,)]


def test_restart_with_50_known_channels_makes_no_resolve_and_no_lookup(
    daemon_world: DaemonWorld,
) -> None:
    """50 channels archived before: the restart brings all of them live again
    without one contacts.ResolveUsername or channels.GetChannels (one
    messages.GetDialogs listing gives ids, access hashes and pts)."""
    w = daemon_world

    def world(emu: Any) -> None:
        for k in range(50):
            emu.add_channel(BASE + k, f"known_{k:02d}", f"Known {k}")
            emu.post(BASE + k, f"first of {k}", push=False)

    w.emu.call(world)
    w.write_config([{"username": f"known_{k:02d}"} for k in range(50)])
    first = w.start()
    w.wait_for(lambda: _live(w, 50), 90, "50 live channels")
    assert w.stop(first) == 0
    before = dict(w.emu.emulator.stats["requests"])

    second = w.start()
    w.wait_for(
        lambda: (
            w.query(
                "SELECT count(*) FROM channel_status WHERE state = 'live' AND changed_at >= "
                "(SELECT started_at FROM daemon_runs WHERE pid = ?)",
                second.pid,
            )
            == [(50,)]
        ),
        30,
        "50 channels live again",
    )
    w.emu.call(lambda emu: emu.post(BASE + 49, "after the restart"))
    w.wait_for(
        lambda: bool(w.query("SELECT 1 FROM posts WHERE text = 'after the restart'")),
        15,
        "a live post after the restart",
    )
    after = w.emu.emulator.stats["requests"]

    def delta(method: str) -> int:
        return int(after.get(method, 0)) - int(before.get(method, 0))

    assert delta("contacts.ResolveUsername") == 0
    assert delta("channels.GetChannels") == 0
    assert 1 <= delta("messages.GetDialogs") <= 2
    assert w.stop(second) == 0


def test_restart_right_after_heavy_use_causes_no_flood_wait(tmp_path: Path) -> None:
    """A daemon restarted while its getHistory budget is spent (backfill in
    full swing) starts from the saved request log: Telegram never answers a
    FloodWait, although the server still counts the previous run's requests."""
    scale = 0.2  # windows of 6 s: longer than a restart takes
    cid = BASE + 100
    with EmulatorThread(rate=RateModel(scale=scale)) as et:
        w = DaemonWorld(emu=et, root=tmp_path)
        try:

            def world(emu: Any) -> None:
                emu.add_channel(cid, "heavy_chan", "Heavy")
                for k in range(2500):
                    emu.post(cid, f"heavy {k}", date=OLD + timedelta(minutes=k), push=False)
                emu.join(cid)

            et.call(world)
            et.write_session(w.session)
            w.write_config([{"username": "heavy_chan"}], rate_scale=scale)
            first = w.start()
            w.wait_for(
                lambda: (w.query("SELECT count(*) FROM posts") or [(0,)])[0][0] >= 1000,
                60,
                "backfill in full swing",
            )
            assert w.stop(first) == 0
            second = w.start()
            assert w.settle(90) == []
            assert et.emulator.stats["flood_waits"] == 0
            time.sleep(1.5)
            assert _counters(w, second.pid).get("flood_waits", 0) == 0
            assert w.stop(second) == 0
        finally:
            w.close()


def test_sweep_finds_a_deep_deletion_and_edit_after_a_too_long_difference(
    daemon_world: DaemonWorld,
) -> None:
    """While down, a post 550 deep is deleted and one 500 deep edited, and the
    channel's difference answers ChannelDifferenceTooLong: gap repair fetches
    the new posts at once and the full sweep (not the 200-post reconcile
    window) finds the deep deletion and edit."""
    w = daemon_world
    cid = BASE + 200

    def world(emu: Any) -> None:
        emu.add_channel(cid, "deep_chan", "Deep")
        for k in range(600):
            emu.post(cid, f"deep {k}", date=OLD + timedelta(hours=k), push=False)
        emu.join(cid)

    w.emu.call(world)
    w.write_config([{"username": "deep_chan"}], reconcile_interval=3600.0, sweep_rate=600.0)
    first = w.start()
    assert w.settle(60) == []
    w.wait_for(lambda: _live(w, 1), 20, "live")
    assert w.stop(first) == 0

    def changes(emu: Any) -> None:
        emu.delete(cid, [50])
        emu.edit(cid, 100, "deep edit while down")
        for k in range(3):
            emu.post(cid, f"new while down {k}")
        emu.too_long(cid)

    w.emu.call(changes)
    second = w.start()
    problems = w.settle(30)
    assert problems == [], problems[:10]
    assert w.query(
        "SELECT method FROM deletions WHERE channel_id = ? AND message_id = 50", cid
    ) == [("reconcile",)]
    time.sleep(1.0)
    c = _counters(w, second.pid)
    assert c.get("difference_too_long", 0) >= 1
    assert c.get("sweep_checked", 0) >= 500
    assert w.stop(second) == 0
