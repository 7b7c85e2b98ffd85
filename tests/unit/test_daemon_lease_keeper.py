"""daemon/leases.py's LeaseKeeper against a real PostgreSQL server: a lease
round that hangs (another session holds a lock the round needs) is bounded,
counts as a failed round, gives the channels up after lease_ttl, and rounds
work again once the lock is gone; a hung call keeps its connection to itself
(the next round opens a fresh one, the stale one is closed when its call
returns) and such calls are bounded (MAX_HUNG)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

from telewatch.config import DaemonSettings
from telewatch.daemon.leases import MAX_HUNG, LeaseKeeper
from telewatch.store import leases, watchlist
from telewatch.store.db import connect, migrate

KEYS = {f"username:lk{i}" for i in range(3)}


async def _step_within(keeper: LeaseKeeper, seconds: float) -> bool:
    """Whether one lease round ends within ``seconds`` (a hung one is left)."""
    task = asyncio.ensure_future(keeper.step())
    done, _ = await asyncio.wait({task}, timeout=seconds)
    return task in done


async def test_a_hung_lease_round_is_bounded_and_gives_the_channels_up(pg_url: str) -> None:
    """With the ``daemons`` table locked by another session, a lease round
    returns within its bound instead of waiting for the lock, the channels
    stay held until lease_ttl has passed without a renewal and are given up
    then; once the lock is released the rounds take them back."""
    db = Path(pg_url)
    migrate(db)
    conn = connect(db, readonly=False)
    try:
        watchlist.merge_config(conn, [(k.split(":")[1], None, "poll", "all") for k in sorted(KEYS)])
    finally:
        conn.close()
    settings = DaemonSettings(lease_ttl=2.0, lease_renew=0.5)
    keeper = LeaseKeeper(db, settings, account_id=1, account="acct 1", max_joined=500)
    await keeper.start()
    assert keeper.held == KEYS
    bound = keeper.round_timeout
    with psycopg.connect(pg_url) as blocker:  # a transaction holds the lock until rollback
        blocker.execute("LOCK TABLE daemons IN EXCLUSIVE MODE")
        t0 = time.monotonic()
        assert await _step_within(keeper, bound + 2.0), "a lease round waited for the lock"
        assert time.monotonic() - t0 < bound + 1.0
        assert keeper.held == KEYS  # within lease_ttl: still ours
        keeper.changed.clear()
        await asyncio.sleep(settings.lease_ttl)
        # The hung call still runs: this round waits on a fresh connection
        # (the lock holds it too), within the same bound.
        t0 = time.monotonic()
        assert await _step_within(keeper, bound + 2.0)
        assert time.monotonic() - t0 < bound + 1.0
        assert keeper.held == set() and keeper.changed.is_set()
        blocker.rollback()
    end = time.monotonic() + 10
    while time.monotonic() < end:
        await keeper.step()
        if keeper.held == KEYS:
            break
        await asyncio.sleep(0.2)
    assert keeper.held == KEYS
    await keeper.release()
    assert keeper.held == set()


def _watch(db: Path) -> None:
    migrate(db)
    conn = connect(db, readonly=False)
    try:
        watchlist.merge_config(conn, [(k.split(":")[1], None, "poll", "all") for k in sorted(KEYS)])
    finally:
        conn.close()


async def test_a_stop_frees_the_leases_after_a_round_still_waiting(pg_url: str) -> None:
    """A clean stop that comes while a lease round still waits on its thread
    (the lock another session held is gone a moment later) waits for that
    round within the bound and then frees every lease, instead of leaving
    them to expire after lease_ttl."""
    db = Path(pg_url)
    _watch(db)
    settings = DaemonSettings(lease_ttl=4.0, lease_renew=0.5)
    keeper = LeaseKeeper(db, settings, account_id=1, account="acct 1", max_joined=500)
    await keeper.start()
    assert keeper.held == KEYS
    with psycopg.connect(pg_url) as blocker:
        blocker.execute("LOCK TABLE daemons IN EXCLUSIVE MODE")
        assert await _step_within(keeper, keeper.round_timeout + 2.0)  # timed out, still running
        loop = asyncio.get_running_loop()
        unlock = loop.run_in_executor(None, lambda: (time.sleep(0.5), blocker.rollback()))
        await keeper.release()
        await unlock
    assert keeper.held == set()
    conn = connect(db)
    try:
        held = [lease for lease in leases.leases(conn) if lease.holder is not None]
    finally:
        conn.close()
    assert held == [], "the stop left leases to expire"


async def test_roles_are_given_up_before_their_lease_can_expire(pg_url: str) -> None:
    """While lease rounds fail (the archive does not answer), a daemon gives
    its pool roles up a lease_renew before their lease can expire in the
    archive, so that the daemon taking them next never runs beside it."""
    db = Path(pg_url)
    _watch(db)
    settings = DaemonSettings(lease_ttl=2.0, lease_renew=0.5)
    keeper = LeaseKeeper(
        db, settings, account_id=1, account="acct 1", max_joined=500,
        roles_wanted=frozenset({"webhooks"}),
    )  # fmt: skip
    await keeper.start()
    assert keeper.roles == {"webhooks"}
    renewed = time.monotonic()
    with psycopg.connect(pg_url) as blocker:
        blocker.execute("LOCK TABLE daemons IN EXCLUSIVE MODE")
        while keeper.roles and time.monotonic() - renewed < 10:
            await _step_within(keeper, 2.0)
            await asyncio.sleep(0.1)
        gone = time.monotonic() - renewed
        blocker.rollback()
    assert keeper.roles == set()
    # Before the lease's end (renewed + lease_ttl on the server's clock).
    assert gone < settings.lease_ttl, f"roles kept {gone:.2f} s, lease_ttl {settings.lease_ttl}"
    await keeper.release()


def _backends(pg_url: str) -> list[tuple[int, str, str | None]]:
    """(pid, state, wait event type) of every other session on the test's
    database: the keeper's connections (the tests open no other)."""
    with psycopg.connect(pg_url, autocommit=True) as c:
        return [
            (int(r[0]), str(r[1]), None if r[2] is None else str(r[2]))
            for r in c.execute(
                "SELECT pid, state, wait_event_type FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND backend_type = 'client backend'"
            ).fetchall()
        ]


async def _until(cond: Callable[[], bool], seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        await asyncio.sleep(0.1)
    return cond()


async def test_a_hung_lease_call_keeps_its_connection_and_the_next_round_opens_a_fresh_one(
    pg_url: str,
) -> None:
    """The server process behind the keeper's connection stops answering
    (SIGSTOP: a connection cut off without a word): the round times out and
    its thread goes on waiting on that connection; the next round does not
    use it but opens a fresh one, renews and keeps the channels (they are not
    given up after lease_ttl). ``hung`` counts the waiting call; when the
    stopped process answers again, its thread returns and that connection is
    closed."""
    db = Path(pg_url)
    _watch(db)
    settings = DaemonSettings(lease_ttl=3.0, lease_renew=0.5)
    keeper = LeaseKeeper(db, settings, account_id=1, account="acct 1", max_joined=500)
    await keeper.start()
    (stale,) = _backends(pg_url)  # its one connection, idle between rounds
    os.kill(stale[0], signal.SIGSTOP)
    try:
        assert await _step_within(keeper, keeper.round_timeout + 2.0)
        assert keeper.hung == 1
        # Rounds on a fresh connection, past lease_ttl: still renewing.
        end = time.monotonic() + settings.lease_ttl + 1.0
        while time.monotonic() < end:
            keeper.changed.clear()
            assert await _step_within(keeper, keeper.round_timeout + 2.0)
            assert keeper.held == KEYS and not keeper.changed.is_set()
            await asyncio.sleep(settings.lease_renew)
        pids = {b[0] for b in _backends(pg_url)}
        assert stale[0] in pids and len(pids) == 2  # the stale one and one fresh one
        assert keeper.hung == 1
    finally:
        os.kill(stale[0], signal.SIGCONT)
    assert await _until(lambda: keeper.hung == 0, 10.0), "the stale call never returned"
    assert await _until(lambda: stale[0] not in {b[0] for b in _backends(pg_url)}, 10.0)
    await keeper.release()
    assert keeper.held == set()


async def test_hung_lease_calls_are_bounded(pg_url: str) -> None:
    """With the ``daemons`` table locked by another session, every round
    waits: each opens a fresh connection while the earlier calls hang, up to
    MAX_HUNG of them; then a round fails at once without opening another.
    Once the lock is gone they all return, their connections are closed and
    the rounds work again on one connection."""
    db = Path(pg_url)
    _watch(db)
    settings = DaemonSettings(lease_ttl=2.0, lease_renew=0.5)
    keeper = LeaseKeeper(db, settings, account_id=1, account="acct 1", max_joined=500)
    await keeper.start()
    with psycopg.connect(pg_url) as blocker:
        blocker.execute("LOCK TABLE daemons IN EXCLUSIVE MODE")
        blocker_pid = int(blocker.execute("SELECT pg_backend_pid()").fetchone()[0])  # type: ignore[index]

        def waiting() -> int:
            return sum(1 for p, _, w in _backends(pg_url) if w == "Lock" and p != blocker_pid)

        for n in range(1, MAX_HUNG + 1):
            assert await _step_within(keeper, keeper.round_timeout + 2.0)
            assert keeper.hung == n
            assert await _until(lambda n=n: waiting() == n, 5.0), (n, _backends(pg_url))
        t0 = time.monotonic()
        assert await _step_within(keeper, 1.0)
        assert time.monotonic() - t0 < 0.5  # refused at once
        assert keeper.hung == MAX_HUNG
        assert len(_backends(pg_url)) == MAX_HUNG + 1  # no new connection (+ the blocker)
        blocker.rollback()
    assert await _until(lambda: keeper.hung == 0, 10.0)
    assert await _until(lambda: _backends(pg_url) == [], 10.0)  # closed, not pooled
    end = time.monotonic() + 10
    while keeper.held != KEYS and time.monotonic() < end:
        await keeper.step()
        await asyncio.sleep(0.2)
    assert keeper.held == KEYS
    assert len(_backends(pg_url)) == 1
    await keeper.release()
