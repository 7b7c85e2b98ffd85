"""A running daemon follows the watch list, reloads its config on SIGHUP,
samples engagement at the configured post ages and reports flood waits."""

from __future__ import annotations

import signal
import subprocess
from datetime import UTC, datetime
from typing import Any

from tests.fixtures.daemon import TELEWATCH, DaemonWorld

A, B, C = 1500000801, 1500000802, 1500000803


def test_watch_list_changes_and_sighup_reach_a_running_daemon(daemon_world: DaemonWorld) -> None:
    """`channels add` is archived within 10 s, `channels remove` stops the
    channel, and SIGHUP merges a channel newly written into the config."""
    w = daemon_world

    def setup(emu: object) -> None:
        for cid, name in ((A, "live_a_chan"), (B, "live_b_chan"), (C, "live_c_chan")):
            emu.add_channel(cid, name, name)  # type: ignore[attr-defined]
            for k in range(30):
                emu.post(cid, f"{name} {k}", push=False)  # type: ignore[attr-defined]

    w.emu.call(setup)
    w.write_config([{"username": "live_a_chan"}])
    p = w.start()
    w.wait_running(p)
    r = subprocess.run(
        [TELEWATCH, "--config", str(w.config), "channels", "add", "@live_b_chan", "--mode", "poll"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 0, r.stderr
    w.wait_for(
        lambda: w.query("SELECT COUNT(*) FROM posts WHERE channel_id = ?", B) == [(30,)],
        10,
        "the added channel",
    )
    w.emu.call(lambda emu: emu.post(B, "polled later"))
    w.wait_for(
        lambda: w.query("SELECT COUNT(*) FROM posts WHERE channel_id = ?", B) == [(31,)],
        10,
        "a polled post",
    )

    r = subprocess.run(
        [TELEWATCH, "--config", str(w.config), "channels", "remove", "live_b_chan"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 0, r.stderr
    w.wait_for(
        lambda: (
            w.query("SELECT state FROM channel_status WHERE key = 'username:live_b_chan'")
            == [("stopped",)]
        ),
        10,
        "the removed channel to stop",
    )

    w.write_config([{"username": "live_a_chan"}, {"username": "live_c_chan"}])
    p.send_signal(signal.SIGHUP)
    w.wait_for(
        lambda: w.query("SELECT COUNT(*) FROM posts WHERE channel_id = ?", C) == [(30,)],
        10,
        "the reloaded channel",
    )
    assert w.stop(p) == 0


def test_engagement_is_sampled_at_configured_ages_and_flood_waits_show(
    daemon_world: DaemonWorld,
) -> None:
    """A live post gets one engagement sample per configured age; a long
    FloodWait on history shows as flood_wait with its end time in the status."""
    w = daemon_world
    w.emu.call(lambda emu: emu.add_channel(A, "eng_chan", "Engagement"))
    w.write_config([{"username": "eng_chan"}], engagement_ages=[1.0, 2.5], gap_repair_interval=0.5)
    p = w.start()
    w.wait_for(
        lambda: (
            w.query("SELECT state FROM channel_status WHERE key = 'username:eng_chan'")
            == [("live",)]
        ),
        20,
        "live",
    )
    mid = w.emu.call(lambda emu: emu.post(A, "counted", views=10))
    w.emu.call(lambda emu: emu.set_views(A, mid, 250, 3))
    w.wait_for(
        lambda: (
            len(
                w.query(
                    "SELECT views FROM engagement WHERE channel_id = ? AND message_id = ?", A, mid
                )
            )
            >= 2
        ),
        15,
        "two engagement samples",
    )
    views = [
        v
        for (v,) in w.query(
            "SELECT views FROM engagement WHERE channel_id = ? AND message_id = ? ORDER BY sampled_at",
            A,
            mid,
        )
    ]
    assert views[-1] == 250

    w.emu.call(lambda emu: emu.inject_flood("messages.GetHistory", 8, 1))
    w.wait_for(
        lambda: bool(
            w.query(
                "SELECT 1 FROM channel_status WHERE key = 'username:eng_chan' AND state = 'flood_wait' AND flood_until IS NOT NULL"
            )
        ),
        10,
        "the flood_wait state",
    )
    # Live pushes keep flowing while getHistory is parked.
    w.emu.call(lambda emu: emu.post(A, "during the flood"))
    w.wait_for(
        lambda: bool(w.query("SELECT 1 FROM posts WHERE text = 'during the flood'")),
        3,
        "a live post during the flood",
    )
    assert w.stop(p) == 0


def test_backfill_depth_by_count_and_by_date(daemon_world: DaemonWorld) -> None:
    """`backfill = 30` archives exactly the newest 30 posts; a date archives
    the posts from that day on, and nothing older."""
    w = daemon_world

    def setup(emu: Any) -> None:
        emu.add_channel(A, "depth_count", "Count")
        for k in range(250):
            emu.post(A, f"count {k}", push=False)
        emu.add_channel(B, "depth_date", "Date")
        for k in range(40):
            year = 2022 if k < 25 else 2024
            emu.post(B, f"date {k}", date=datetime(year, 1, 1 + k % 28, tzinfo=UTC), push=False)

    w.emu.call(setup)
    w.write_config(
        [
            {"username": "depth_count", "backfill": 30},
            {"username": "depth_date", "backfill": "2023-06-01"},
        ]
    )
    p = w.start()
    w.wait_for(
        lambda: w.query("SELECT COUNT(*) FROM sync_state WHERE backfill_done = 1") == [(2,)],
        20,
        "backfill",
    )
    assert w.query(
        "SELECT MIN(message_id), MAX(message_id), COUNT(*) FROM posts WHERE channel_id = ?", A
    ) == [(221, 250, 30)]
    assert w.query("SELECT COUNT(*), MIN(date) >= '2024' FROM posts WHERE channel_id = ?", B) == [
        (15, 1)
    ]
    assert w.stop(p) == 0


def test_a_channel_listed_by_username_and_by_id_is_worked_once(daemon_world: DaemonWorld) -> None:
    """One channel listed twice (as @name and as its id) gets one worker: the
    other entry shows "duplicate" and makes no requests; removing the first
    entry hands the channel to the second, which keeps archiving it."""
    w = daemon_world
    d = 1500000804

    def setup(emu: object) -> None:
        emu.add_channel(d, "dup_chan", "Dup Channel")  # type: ignore[attr-defined]
        for k in range(20):
            emu.post(d, f"dup {k}", push=False)  # type: ignore[attr-defined]

    w.emu.call(setup)
    w.write_config([{"username": "dup_chan"}, {"id": d}])
    p = w.start()
    w.wait_running(p)
    states = "SELECT key, state FROM channel_status ORDER BY key"
    w.wait_for(
        lambda: (
            dict(w.query(states)) == {"id:1500000804": "duplicate", "username:dup_chan": "live"}
            or dict(w.query(states)) == {"id:1500000804": "live", "username:dup_chan": "duplicate"}
        ),
        30,
        "one live entry and one duplicate",
    )
    assert w.query("SELECT COUNT(*) FROM posts WHERE channel_id = ?", d) == [(20,)]
    owner, other = sorted(dict(w.query(states)).items(), key=lambda kv: kv[1] != "live")
    w.emu.call(lambda emu: emu.post(d, "while both are listed"))
    w.wait_for(
        lambda: w.query("SELECT COUNT(*) FROM posts WHERE channel_id = ?", d) == [(21,)],
        10,
        "a live post",
    )
    assert w.query(
        "SELECT version_count FROM posts WHERE channel_id = ? AND message_id = 21", d
    ) == [(1,)]
    ref = "dup_chan" if owner[0].startswith("username:") else str(d)
    r = subprocess.run(
        [TELEWATCH, "--config", str(w.config), "channels", "remove", ref],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 0, r.stderr
    w.wait_for(
        lambda: dict(w.query(states)).get(other[0]) == "live",
        15,
        "the other entry to take the channel over",
    )
    w.emu.call(lambda emu: emu.post(d, "after the hand-over"))
    w.wait_for(
        lambda: w.query("SELECT COUNT(*) FROM posts WHERE channel_id = ?", d) == [(22,)],
        10,
        "a post after the hand-over",
    )
    assert w.stop(p) == 0


def test_daemon_waits_for_a_bulk_import_instead_of_failing(daemon_world: DaemonWorld) -> None:
    """Started while a bulk import holds the archive, the daemon says so in
    its log and waits (SIGTERM still stops it at once, exit 0); when the
    import finishes it starts archiving."""
    import sqlite3
    import time

    from telewatch.store.db import connect as open_archive
    from telewatch.store.db import migrate
    from telewatch.store.importing import enter_bulk_mode, leave_bulk_mode

    w = daemon_world
    d = 1500000805

    def setup(emu: object) -> None:
        emu.add_channel(d, "busy_chan", "Busy Channel")  # type: ignore[attr-defined]
        for k in range(10):
            emu.post(d, f"busy {k}", push=False)  # type: ignore[attr-defined]

    w.emu.call(setup)
    w.write_config([{"username": "busy_chan"}])
    migrate(w.db)
    holder = open_archive(w.db, readonly=False)
    assert enter_bulk_mode(holder)  # nobody else has it: an import would hold it like this
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO watched_posts VALUES (1, 1, NULL, '2022-03-01T00:00:00Z')")
    holder.execute("COMMIT")  # the exclusive lock stays with the "import" until it closes
    try:
        p = w.start()
        log = w.root / "daemon.log"
        # Said in its log (a loaded machine may take seconds to start it), and
        # still waiting a while later.
        w.wait_for(lambda: "archive busy" in log.read_text(), 30, "the archive-busy line")
        time.sleep(1.0)
        assert p.poll() is None, "the daemon gave up instead of waiting"
        t0 = time.monotonic()
        assert w.stop(p) == 0 and time.monotonic() - t0 < 3
        p = w.start()
        time.sleep(1.5)
        assert p.poll() is None
    finally:
        leave_bulk_mode(holder)
        holder.close()
    w.wait_running(p)
    w.wait_for(
        lambda: w.query("SELECT COUNT(*) FROM posts WHERE channel_id = ?", d) == [(10,)],
        20,
        "the channel archived after the import",
    )
    assert w.stop(p) == 0
    conn = sqlite3.connect(w.db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
