"""After downtime the archive is complete within two minutes (issue 17).

The long scenario runs once, on the shipped defaults and the emulator's rate
model at Telegram's own scale: six channels (one with 1,833 posts), the
daemon stopped, two posts, two edits and two deletions (one about 1,450
posts deep) made while it is down, then restarted.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from telewatch.emulator import EmulatorThread, RateModel
from tests.fixtures.daemon import DaemonWorld

BIG = 1500001700
SMALL = [1500001701 + k for k in range(5)]
BIG_POSTS = 1833
SMALL_POSTS = [12, 30, 45, 60, 80]
OLD = datetime(2024, 1, 1, tzinfo=UTC)


def _world(emu: Any) -> None:
    emu.add_channel(BIG, "big_source", "Big Source")
    for k in range(BIG_POSTS):
        emu.post(BIG, f"big post {k}", date=OLD + timedelta(minutes=k), push=False)
    emu.join(BIG)
    for cid, n in zip(SMALL, SMALL_POSTS, strict=True):
        emu.add_channel(cid, f"small_{cid % 100}", f"Small {cid}")
        for k in range(n):
            emu.post(cid, f"small {cid} post {k}", date=OLD + timedelta(hours=k), push=False)
        emu.join(cid)


def _counters(w: DaemonWorld, pid: int) -> dict[str, int]:
    import json

    rows = w.query("SELECT counters FROM daemon_runs WHERE pid = ? ORDER BY id DESC LIMIT 1", pid)
    return dict(json.loads(rows[0][0])) if rows and rows[0][0] else {}


def test_everything_made_while_down_is_archived_within_120_s_on_defaults(tmp_path: Path) -> None:
    """Default config, Telegram-scale rate model: the posts, edits and deletions
    (the deep one included) made while the daemon was stopped are in the
    archive within 120 s of the restart, without a FloodWait or a resolve."""
    with EmulatorThread(rate=RateModel(scale=1.0)) as et:
        w = DaemonWorld(emu=et, root=tmp_path)
        try:
            et.call(_world)
            et.write_session(w.session)
            names = ["big_source", *(f"small_{cid % 100}" for cid in SMALL)]
            w.write_config([{"username": n} for n in names], defaults=True)
            first = w.start()
            assert w.settle(240) == [], "first run did not archive the channels"
            w.wait_for(
                lambda: (
                    w.query("SELECT count(*) FROM channel_status WHERE state = 'live'") == [(6,)]
                ),
                30,
                "six live channels",
            )
            assert w.stop(first) == 0
            resolves_before = et.emulator.stats["requests"].get("contacts.ResolveUsername", 0)

            # While the daemon is down.
            top = BIG_POSTS
            deep = top - 1450
            et.call(lambda emu: emu.post(BIG, "new while down (big)"))
            et.call(lambda emu: emu.post(SMALL[2], "new while down (small)"))
            et.call(lambda emu: emu.edit(BIG, top - 700, "big post edited while down"))
            et.call(lambda emu: emu.edit(SMALL[4], 40, "small post edited while down"))
            et.call(lambda emu: emu.delete(BIG, [deep]))
            et.call(lambda emu: emu.delete(SMALL[1], [29]))
            assert w.archive_matches_truth() != []  # the archive is behind

            t0 = time.monotonic()
            second = w.start()
            problems = w.settle(120)
            elapsed = time.monotonic() - t0
            assert problems == [], f"after {elapsed:.0f} s: {problems[:10]}"
            assert elapsed <= 120
            print(f"restart to archive == truth: {elapsed:.1f} s")  # shown with pytest -s
            tomb = w.query(
                "SELECT count(*) FROM deletions WHERE channel_id = ? AND message_id = ?", BIG, deep
            )
            assert tomb == [(1,)]
            versions = w.query(
                "SELECT count(*) FROM post_versions WHERE channel_id = ? AND message_id = ?",
                BIG,
                top - 700,
            )
            assert versions == [(2,)]

            # The sweep starts at the restart too: the 1,833-post channel is
            # re-read in full (a deep change would be found without the
            # difference) within the same 120 s.
            restarted = w.query("SELECT started_at FROM daemon_runs WHERE pid = ?", second.pid)
            w.wait_for(
                lambda: bool(
                    w.query(
                        "SELECT 1 FROM sweep_state WHERE channel_id = ? AND last_pass_at >= ?",
                        BIG,
                        restarted[0][0],
                    )
                ),
                max(1.0, 120 - (time.monotonic() - t0)),
                "a full sweep pass of the big channel after the restart",
            )
            swept = time.monotonic() - t0
            print(f"big channel fully re-checked by the sweep: {swept:.1f} s")

            stats = et.emulator.stats
            assert stats["flood_waits"] == 0
            assert stats["requests"].get("contacts.ResolveUsername", 0) == resolves_before
            time.sleep(3.5)  # one more heartbeat carries the counters
            assert _counters(w, second.pid).get("flood_waits", 0) == 0
            assert w.stop(second) == 0
        finally:
            w.close()
