"""`telewatch status` tells why channels wait: a FloodWait on every channel it holds
back, and the resolve budget a channel in `resolving` waits for."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime, timedelta

from telewatch.emulator import Emulator
from tests.fixtures.daemon import TELEWATCH, DaemonWorld

POLLED = [(1500000971 + i, f"flood_chan_{i}") for i in range(4)]


def _status(w: DaemonWorld, *extra: str) -> str:
    r = subprocess.run(
        [TELEWATCH, "--config", str(w.config), "status", *extra],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    return r.stdout


def _channels(w: DaemonWorld) -> dict[str, dict[str, object]]:
    return {c["key"]: c for c in json.loads(_status(w, "--json"))["channels"]}


def test_a_long_flood_wait_shows_on_every_channel_it_holds_back(daemon_world: DaemonWorld) -> None:
    """An hour-long FloodWait on messages.GetHistory, hit by one channel: every poll-mode
    channel (those idle between polls included) shows flood_wait with its countdown."""
    w = daemon_world
    base = datetime.now(UTC) - timedelta(hours=2)

    def setup(emu: Emulator) -> None:
        for cid, name in POLLED:
            emu.add_channel(cid, name, name)
            emu.world.add_message(emu.world.channel(cid), f"post of {name}", date=base, log=False)

    w.emu.call(setup)
    # Polls far apart, so that idle channels would not notice the flood by themselves.
    w.write_config([{"username": n, "mode": "poll"} for _, n in POLLED[:3]], poll_interval=60.0)
    w.wait_running(w.start())
    w.wait_for(lambda: {c["state"] for c in _channels(w).values()} == {"polling"}, 60, "polling")
    w.emu.call(lambda emu: emu.inject_flood("messages.GetHistory", 3600, 1))
    add = subprocess.run(
        [TELEWATCH, "--config", str(w.config), "channels", "add", POLLED[3][1], "--mode", "poll"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert add.returncode == 0, add.stderr
    seen: list[str] = []

    def all_held() -> bool:
        seen.append(_status(w))
        states = {c["state"] for c in _channels(w).values()}
        return len(_channels(w)) == 4 and states == {"flood_wait"}

    try:
        w.wait_for(all_held, 20, "every poll-mode channel in flood_wait")
    except BaseException:
        print(seen[-1])
        raise
    soon = datetime.now(UTC) + timedelta(minutes=55)
    for c in _channels(w).values():
        until = datetime.strptime(str(c["flood_until"]), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert until > soon, c
        assert "messages.GetHistory" in str(c["detail"]), c
    lines = [line for line in _status(w).splitlines() if line.startswith("@flood_chan_")]
    assert len(lines) == 4, lines
    for line in lines:
        assert re.search(r"flood (59|60)m", line), line


def test_resolving_says_which_budget_it_waits_for_and_when(daemon_world: DaemonWorld) -> None:
    """Channels queued behind a spent contacts.ResolveUsername budget show `resolving` with
    the budget and the time of the next attempt, not an empty detail."""
    w = daemon_world
    names = [f"resolve_me_{i}" for i in range(3)]

    def setup(emu: Emulator) -> None:
        for i, name in enumerate(names):
            emu.add_channel(1500000981 + i, name, name)

    w.emu.call(setup)
    # One resolve per 30 s (window 3000 s x rate_scale 0.01).
    w.write_config(
        [{"username": n, "mode": "poll"} for n in names],
        budgets={"contacts.ResolveUsername": [1, 3000.0]},
    )
    w.wait_running(w.start())

    def waiting() -> list[str]:
        return [
            str(c["detail"])
            for c in _channels(w).values()
            if c["state"] == "resolving" and "budget" in str(c["detail"] or "")
        ]

    w.wait_for(lambda: len(waiting()) >= 1, 30, "a channel waiting for the resolve budget")
    detail = waiting()[0]
    assert "contacts.ResolveUsername budget (1 per 30 s" in detail, detail
    assert re.search(r"next attempt about \d\d:\d\d:\d\dZ", detail), detail
