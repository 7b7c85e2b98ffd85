"""The account's limit of joined channels: `[telegram] max_joined`, and Telegram's own
CHANNELS_TOO_MUCH (the emulator's `max_joined`): a join-mode channel past it is polled
instead, says so in `telewatch status`, and is archived all the same."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta

from telewatch.emulator import Emulator
from tests.fixtures.daemon import TELEWATCH, DaemonWorld

CHANNELS = [(1500000981 + i, f"limit_chan_{i}") for i in range(3)]


def _channels(w: DaemonWorld) -> dict[str, dict[str, object]]:
    r = subprocess.run(
        [TELEWATCH, "--config", str(w.config), "status", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    return {str(c["key"]): c for c in json.loads(r.stdout)["channels"]}


def _setup(server_limit: int | None) -> object:
    base = datetime.now(UTC) - timedelta(hours=1)

    def setup(emu: Emulator) -> None:
        emu.accounts[0].max_joined = server_limit
        for cid, name in CHANNELS:
            emu.add_channel(cid, name, name)
            for k in range(3):
                emu.world.add_message(
                    emu.world.channel(cid), f"{name} history {k}", date=base, log=False
                )

    return setup


def _run_until_settled(
    w: DaemonWorld, joined: int, why: str, telegram: dict[str, object] | None = None
) -> None:
    """Start the daemon on the three join-mode channels; wait until `joined` of them
    are live and the others polling with `why` in their detail; then a post in every
    channel reaches the archive (pushed or polled)."""
    w.write_config([{"username": n, "mode": "join"} for _, n in CHANNELS], telegram=telegram)
    p = w.start()
    w.wait_running(p)

    def settled() -> bool:
        states = [(c["state"], str(c.get("detail") or "")) for c in _channels(w).values()]
        live = [s for s, _ in states if s == "live"]
        polled = [d for s, d in states if s == "polling"]
        return (
            len(live) == joined
            and len(polled) == len(CHANNELS) - joined
            and all(why in d for d in polled)
        )

    w.wait_for(settled, 90, f"{joined} channels live, the others polling ({why})")
    for cid, name in CHANNELS:
        w.emu.call(lambda emu, c=cid, n=name: emu.post(c, f"{n} after the start"))
    w.wait_for(
        lambda: w.query("SELECT count(*) FROM posts") == [(len(CHANNELS) * 4,)],
        90,
        "every channel's history and new post archived",
    )
    assert "channel polled instead of joined" in w.log_tail(200_000)
    assert w.stop(p) == 0


def test_channels_telegram_refuses_to_join_are_polled(daemon_world: DaemonWorld) -> None:
    """The server lets the account join 1 channel (CHANNELS_TOO_MUCH after): one channel is
    live, the other two poll and say Telegram refused; all of them are archived."""
    w = daemon_world
    w.emu.call(_setup(1))
    _run_until_settled(w, 1, "CHANNELS_TOO_MUCH")
    joined = w.emu.call(lambda emu: [emu.joined(c) for c, _ in CHANNELS])
    assert sum(joined) == 1


def test_max_joined_keeps_the_daemon_from_asking(daemon_world: DaemonWorld) -> None:
    """With [telegram] max_joined = 2 and no server limit, the daemon joins two channels,
    never asks for the third, and polls it."""
    w = daemon_world
    w.emu.call(_setup(None))
    _run_until_settled(w, 2, "max_joined = 2", {"max_joined": 2})
    stats = w.emu.call(lambda emu: emu.stats)
    assert stats["requests"].get("channels.JoinChannel") == 2
