"""End to end on PostgreSQL: ``telewatch run`` as a subprocess against the
emulator (real Telethon over TCP) writing into a real PostgreSQL server
(``storage.db = "postgresql://…"``), with live traffic, faults, a stop and
changes while it is stopped: the archive equals the emulator's truth and
``verify`` passes."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from telewatch.emulator import Emulator, EmulatorThread, RateModel
from telewatch.models import UserError
from telewatch.store.chain import verify
from telewatch.store.db import connect
from tests.fixtures.daemon import RATE_SCALE, DaemonWorld, delete_if_live, edit_if_live
from tests.fixtures.postgres import PostgresCluster

BASE = 1500000700
N_CHANNELS = 8
HISTORY = 150


class PgWorld(DaemonWorld):
    """The daemon world with its archive in a PostgreSQL database."""

    url: str = ""

    @property
    def db(self) -> Path:
        return Path(self.url)

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        try:
            conn = connect(Path(self.url))
        except UserError:  # not created yet
            return []
        try:
            return [tuple(r) for r in conn.execute(sql, args).fetchall()]
        except sqlite3.OperationalError:
            return []
        finally:
            conn.close()


@pytest.fixture
def pg_world(tmp_path: Path, pg_cluster: PostgresCluster) -> Iterator[PgWorld]:
    with EmulatorThread(rate=RateModel(scale=RATE_SCALE)) as et:
        world = PgWorld(emu=et, root=tmp_path)
        world.url = pg_cluster.create_database("daemon")
        et.write_session(world.session)
        try:
            yield world
        finally:
            world.close()


def _setup(emu: Emulator) -> None:
    for i in range(N_CHANNELS):
        emu.add_channel(BASE + i, f"pg_chan_{i:02d}", f"PG {i}")
        for k in range(HISTORY):
            emu.post(BASE + i, f"history {i}/{k}", push=False)


def _done(world: DaemonWorld) -> bool:
    rows = world.query("SELECT COUNT(*) FROM sync_state WHERE backfill_done = 1")
    return bool(rows) and rows[0][0] >= N_CHANNELS


def test_daemon_on_postgres_matches_truth_and_verifies(pg_world: PgWorld) -> None:
    """8 channels (6 joined, 2 polled): backfill, live posts, edits,
    deletions, flood waits and dropped connections, a SIGTERM and changes
    while stopped; after a restart the PostgreSQL archive equals the truth,
    the chain verifies and the writer refused nothing."""
    w = pg_world
    w.emu.call(_setup)
    channels = [
        {"username": f"pg_chan_{i:02d}", "mode": "poll" if i >= 6 else "join"}
        for i in range(N_CHANNELS)
    ]
    w.write_config(channels, reconcile_window=200)
    p = w.start()
    w.wait_for(lambda: _done(w), 90, f"backfill of {N_CHANNELS} channels")

    rng = random.Random(7)
    w.emu.call(lambda emu: emu.inject_flood("messages.GetHistory", 2, 1))
    t_end = time.monotonic() + 5
    next_drop = time.monotonic() + 2
    while time.monotonic() < t_end:
        ch = BASE + rng.randrange(N_CHANNELS)
        roll = rng.random()
        if roll < 0.7:
            w.emu.call(lambda emu, ch=ch: emu.post(ch, f"live {time.time()}"))
        elif roll < 0.85:
            mid = rng.randint(HISTORY - 50, HISTORY)
            w.emu.call(
                lambda emu, ch=ch, mid=mid: edit_if_live(emu, ch, mid, f"edit {mid} {time.time()}")
            )
        else:
            mid = rng.randint(HISTORY - 80, HISTORY)
            w.emu.call(lambda emu, ch=ch, mid=mid: delete_if_live(emu, ch, mid))
        if time.monotonic() > next_drop:
            w.emu.call(lambda emu: emu.disconnect_all())
            next_drop += 2
        time.sleep(0.05)
    assert w.stop(p, signal.SIGTERM, timeout=30) == 0

    for i in (1, 7):
        w.emu.call(lambda emu, i=i: emu.post(BASE + i, f"offline post {i}"))
        w.emu.call(lambda emu, i=i: edit_if_live(emu, BASE + i, HISTORY - 1, f"offline edit {i}"))
        w.emu.call(lambda emu, i=i: delete_if_live(emu, BASE + i, HISTORY - 2))

    p = w.start()
    w.wait_running(p)
    problems = w.settle(90)
    assert problems == [], problems[:20]
    assert w.stop(p, timeout=30) == 0

    conn = connect(w.db)
    try:
        res = verify(conn)
        assert res.ok, res.problem
        assert res.versions >= N_CHANNELS * HISTORY
        counters = json.loads(
            conn.execute("SELECT counters FROM daemon_runs ORDER BY id DESC LIMIT 1").fetchone()[0]
        )
    finally:
        conn.close()
    assert counters["stopped"] == 1
    assert "writer_errors" not in counters


class _SqliteOrPostgres:
    """The ``sqlite3`` name of a SQLite scenario module, with ``connect``
    opening the world's PostgreSQL archive through the store (its
    ``sqlite3.Connection`` interface) instead of a file."""

    def __init__(self) -> None:
        self._real = sqlite3

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def connect(self, database: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        if str(database).startswith("postgresql:"):
            return connect(Path(database))
        return self._real.connect(database, *args, **kwargs)


@pytest.mark.parametrize("scenario", ["scenario", "kill"])
def test_the_sqlite_daemon_scenarios_pass_on_postgres(
    scenario: str, pg_world: PgWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Must show: the integration scenarios that prove the daemon on SQLite
    (20 channels with faults and a restart against the truth; kill -9 × 20)
    run unchanged against a PostgreSQL archive."""
    from tests.integration import test_daemon_kill, test_daemon_scenario

    if scenario == "scenario":
        monkeypatch.setattr(test_daemon_scenario, "sqlite3", _SqliteOrPostgres())
        test_daemon_scenario.test_twenty_channels_with_faults_and_restart_match_truth(pg_world)
    else:
        monkeypatch.setattr(test_daemon_kill, "sqlite3", _SqliteOrPostgres())
        test_daemon_kill.test_kill_9_twenty_times_then_restart_gives_the_full_archive(pg_world)
