"""A FloodWait on the comment backfill's own budget (``comments.GetHistory``)
shows on every discussion group it holds back, as one on
``messages.GetHistory`` does on the channels (issue 14): ``telewatch status``
says ``flood_wait`` with the budget and the countdown, also for the group
whose request did not hit it."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fixtures.daemon import TELEWATCH, DaemonWorld

PAIRS = [(1500004601 + 2 * i, 1500004602 + 2 * i, f"flood_talk_{i}") for i in range(2)]
USER = 910101
OLD = datetime(2024, 4, 1, tzinfo=UTC)
COMMENTS = 260  # three backfill pages per group


def _world(emu: Any) -> None:
    emu.add_user(USER, "Commenter")
    for cid, gid, name in PAIRS:
        emu.add_channel(cid, name, name)
        emu.add_channel(gid, None, f"{name} chat", megagroup=True)
        emu.link_discussion(cid, gid)
        post = emu.post(cid, f"post of {name}", date=OLD, push=False)
        for k in range(COMMENTS):
            emu.comment(cid, post, USER, f"comment {k} under {name}")


def _channels(w: DaemonWorld) -> dict[str, dict[str, Any]]:
    r = subprocess.run(
        [TELEWATCH, "--config", str(w.config), "status", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    return {c["key"]: c for c in json.loads(r.stdout)["channels"]}


def test_comment_backfill_flood_shows_on_every_group_it_holds(daemon_world: DaemonWorld) -> None:
    w = daemon_world
    w.emu.call(_world)
    # One comment page per 20 s (2000 s x rate_scale 0.01): both groups are
    # still backfilling when the flood comes; no reconciliation meanwhile.
    w.write_config(
        [{"username": name, "comments": True} for _, _, name in PAIRS],
        budgets={"comments.GetHistory": [1, 2000.0]},
        reconcile_interval=600.0,
    )
    w.wait_running(w.start())
    keys = {f"comments:username:{name}" for _, _, name in PAIRS}

    def both_backfilling() -> bool:
        st = _channels(w)
        return all(st.get(k, {}).get("state") == "backfilling" for k in keys)

    w.wait_for(both_backfilling, 90, "both discussion groups backfilling")
    w.emu.call(lambda emu: emu.inject_flood("messages.GetHistory", 3600, 1))

    def both_held() -> bool:
        st = _channels(w)
        return all(st.get(k, {}).get("state") == "flood_wait" for k in keys)

    w.wait_for(both_held, 90, f"both groups in flood_wait: {_channels(w)}")
    soon = datetime.now(UTC) + timedelta(minutes=55)
    st = _channels(w)
    for k in keys:
        c = st[k]
        assert "comments.GetHistory" in str(c["detail"]), c
        until = datetime.strptime(str(c["flood_until"]), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert until > soon, c
