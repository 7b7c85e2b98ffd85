"""`telewatch emulator serve` restarted beside a running daemon, as a user does it:
the defaults meet (the emulator writes the session the config names), the restart
keeps the port (and with --state the world), `status` tells the outage as it
happens, and a reset world never becomes false deletions in the archive."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.daemon import RATE_SCALE, TELEWATCH, query_archive

JOINED, POLLED = 1500000961, 1500000962

SCENARIO = f"""
speed = 1.0
autostart = true
[rate]
scale = {RATE_SCALE}

[[channels]]
id = {JOINED}
username = "restart_news"
title = "Restart News"
[[channels.history]]
date = "2024-03-01T08:01:00Z"
text = "first"
[[channels.history]]
date = "2024-03-01T08:02:00Z"
text = "second"
[[channels.history]]
date = "2024-03-01T08:03:00Z"
text = "third"

[[channels]]
id = {POLLED}
username = "restart_poll"
title = "Restart Poll"
[[channels.history]]
date = "2024-03-01T08:04:00Z"
text = "polled one"
[[channels.history]]
date = "2024-03-01T08:05:00Z"
text = "polled two"

[[timeline]]
at = 1
action = "post"
channel = {JOINED}
text = "posted live before the restarts"

[[timeline]]
at = 16
action = "post"
channel = {JOINED}
text = "posted live after the restarts"
"""

CONFIG = f"""
[telegram]
api_id = 12345
api_hash = "0123456789abcdef0123456789abcdef"

[daemon]
rate_scale = {RATE_SCALE}
poll_interval = 0.5
reconcile_interval = 1.0
gap_repair_interval = 2.0
heartbeat_interval = 0.5
watchlist_interval = 1.0
reconnect_backoff_max = 0.5

[[channels]]
username = "restart_news"
mode = "join"

[[channels]]
username = "restart_poll"
mode = "poll"
"""


class Place:
    """A working directory laid out as the README says: ./telewatch.toml, data/."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "telewatch.toml").write_text(CONFIG, encoding="utf-8")
        (root / "scenario.toml").write_text(SCENARIO, encoding="utf-8")
        self.procs: list[subprocess.Popen[str]] = []

    @property
    def db(self) -> Path:
        return self.root / "data" / "telewatch.db"

    def emulator(self, *args: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
        """Start `telewatch emulator serve ARGS` here; returns it and its first lines."""
        p = subprocess.Popen(
            [TELEWATCH, "emulator", "serve", "--scenario", "scenario.toml", *args],
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.procs.append(p)
        assert p.stdout is not None
        lines: dict[str, str] = {}
        while "channel" not in lines:
            line = p.stdout.readline()
            if not line:
                pytest.fail(
                    f"the emulator exited: {p.wait(10)} {p.stderr.read() if p.stderr else ''}"
                )
            word, _, rest = line.strip().partition(" ")
            lines.setdefault(word if word != "session" else "session", rest)
            if line.startswith("world"):
                lines["world"] = line.strip()
        return p, lines

    def daemon(self) -> subprocess.Popen[str]:
        log = open(self.root / "daemon.log", "a")  # noqa: SIM115 - closed with the process
        p = subprocess.Popen([TELEWATCH, "run"], cwd=self.root, stdout=log, stderr=log, text=True)
        log.close()
        self.procs.append(p)
        return p

    def status(self) -> dict[str, Any]:
        r = subprocess.run(
            [TELEWATCH, "status", "--json"],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 0, r.stderr
        doc: dict[str, Any] = json.loads(r.stdout)
        return doc

    def states(self) -> dict[str, str]:
        return {c["key"]: c["state"] for c in self.status()["channels"]}

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        return query_archive(self.db, sql, *args)

    def log(self) -> str:
        path = self.root / "daemon.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_for(self, cond: Callable[[], bool], timeout: float, what: str) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if cond():
                return
            time.sleep(0.2)
        pytest.fail(f"timed out waiting for {what}; daemon log: {self.log()[-3000:]}")

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)


@pytest.fixture
def place(tmp_path: Path) -> Iterator[Place]:
    """A README-style working directory; kills what the test left running."""
    p = Place(tmp_path)
    try:
        yield p
    finally:
        p.close()


LIVE = {"username:restart_news": "live", "username:restart_poll": "polling"}


def _stop(p: subprocess.Popen[str]) -> str:
    """SIGTERM the emulator; its stderr (it must exit 0)."""
    p.send_signal(signal.SIGTERM)
    _out, err = p.communicate(timeout=20)
    assert p.returncode == 0, err
    return err


def test_emulator_restarts_beside_a_running_daemon_on_the_same_port_and_world(
    place: Place,
) -> None:
    """Three restarts of `emulator serve --state` beside `telewatch run` (both with
    defaults only): same port, world restored, status shows every channel and the daemon
    disconnected during each outage and back after, the timeline carries on, nothing is
    reported deleted and no `database is locked` anywhere."""
    emu, lines = place.emulator("--state", "world.json")
    port = lines["listening"]
    assert lines["session"] == "written to data/telewatch.session"
    daemon = place.daemon()
    place.wait_for(
        lambda: place.query("SELECT count(*) FROM posts") == [(6,)], 60, "history + first live post"
    )
    place.wait_for(lambda: place.states() == LIVE, 30, "channels live and polling")
    errors = ""
    for _ in range(3):
        errors += _stop(emu)
        place.wait_for(
            lambda: (
                place.status()["daemon"]["connected"] is False
                and set(place.states().values()) == {"disconnected"}
            ),
            10,
            "status to show the outage",
        )
        doc = place.status()
        assert doc["daemon"]["running"] and doc["daemon"]["disconnected_since"]
        assert all("reconnecting" in c["detail"] for c in doc["channels"])
        emu, lines = place.emulator("--state", "world.json")
        assert lines["listening"] == port
        assert lines["world"] == "world restored from world.json"
        place.wait_for(
            lambda: place.status()["daemon"]["connected"] is True and place.states() == LIVE,
            30,
            "the daemon back on the restarted emulator",
        )
    place.wait_for(
        lambda: place.query("SELECT count(*) FROM posts") == [(7,)], 60, "the post after restarts"
    )
    assert place.query("SELECT count(*) FROM posts WHERE deleted_at IS NOT NULL") == [(0,)]
    assert place.query("SELECT count(*) FROM post_versions") == [(7,)]
    errors += _stop(emu)
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(20) == 0
    assert "locked" not in errors + place.log(), errors + place.log()
    state = json.loads((place.root / "world.json").read_text(encoding="utf-8"))
    assert state["timeline_next"] == 2


def test_a_reset_world_pauses_archiving_instead_of_recording_false_deletions(
    place: Place,
) -> None:
    """The emulator restarted from its scenario without --state (the world reset: the live
    post is gone, the pts went back): the daemon records no deletion or version, and
    `status` says why that channel's archiving is paused."""
    emu, lines = place.emulator()
    daemon = place.daemon()
    place.wait_for(
        lambda: place.query("SELECT count(*) FROM posts") == [(6,)], 60, "history + live post"
    )
    place.wait_for(lambda: place.states() == LIVE, 30, "channels live and polling")
    _stop(emu)
    # The same scenario again, its timeline slowed so that the live post stays missing.
    emu, again = place.emulator("--speed", "0.001")
    assert again["listening"] == lines["listening"]

    def paused() -> bool:
        rows = {c["key"]: c for c in place.status()["channels"]}
        news = rows["username:restart_news"]
        return news["state"] == "error" and "went backwards" in (news["detail"] or "")

    def deleted() -> int:
        return int(place.query("SELECT count(*) FROM posts WHERE deleted_at IS NOT NULL")[0][0])

    place.wait_for(lambda: paused() or deleted() > 0, 30, "the reset to be noticed")
    time.sleep(3)  # several reconciliation intervals against the reset world
    assert deleted() == 0, "a post the reset server lacks was recorded as deleted"
    assert place.query("SELECT count(*) FROM post_versions") == [(6,)]
    assert paused()
    _stop(emu)
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(20) == 0
    assert os.path.exists(place.db)


def test_an_empty_emulator_says_how_to_serve_channels(tmp_path: Path) -> None:
    """`emulator serve` with nothing to serve says so on stderr and names --demo."""
    p = subprocess.Popen(
        [TELEWATCH, "emulator", "serve", "--session", str(tmp_path / "e.session")],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert p.stdout is not None and p.stderr is not None
    assert p.stdout.readline().startswith("listening on 127.0.0.1:")
    assert p.stderr.readline().startswith("no channels: serve some with --demo")
    _stop(p)
