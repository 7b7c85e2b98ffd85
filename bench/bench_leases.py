"""What the PostgreSQL write lock costs (issue 13), side by side in one run.

Every write transaction on PostgreSQL (``BEGIN IMMEDIATE``) takes one
advisory lock (store/pg.py, WRITE_LOCK) so that several daemons keep one hash
chain. Measured on a throw-away PostgreSQL cluster (tests/fixtures/postgres.py,
fsync on): the same writer batches (``TELEWATCH_BENCH_LEASE_TX`` transactions
of 5 posts, default 300) by one writer with a plain ``BEGIN`` (no lock: the
alternative, safe for one writer only) and with ``BEGIN IMMEDIATE`` (the
lock); then three writers at once, with the lock, on channels of their own
(the aggregate rate, and ``verify`` on the result).

``python -m bench leases:takeover``: the must-show scenario of
tests/integration/test_daemon_leases.py (three daemons, three emulator
accounts, 30 channels, kill -9 one while posts keep coming) with the default
lease times (``lease_ttl`` 30 s, ``lease_renew`` 5 s): the time from the kill
until every channel the killed daemon held is archived live again by the
others, and the archive checked equal to the truth (posts lost: 0)."""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

from tests.fixtures.postgres import PostgresCluster
from tests.fixtures.store import post_seen

from telewatch.models import Channel, ChannelSeen
from telewatch.store.chain import verify
from telewatch.store.db import connect, migrate
from telewatch.store.writer import apply_events

TX = int(os.environ.get("TELEWATCH_BENCH_LEASE_TX", "300"))
PER_TX = 5


def _write(url: str, cid: int, begin: str, out: list[float]) -> None:
    conn = connect(Path(url), readonly=False)
    try:
        conn.execute("BEGIN IMMEDIATE")
        apply_events(conn, [ChannelSeen(Channel(cid, f"B{cid}", f"bench{cid}", ""), _t0())], [])
        conn.execute("COMMIT")
        for b in range(TX):
            events = [post_seen(cid, b * PER_TX + i + 1, f"post {b}/{i}") for i in range(PER_TX)]
            t0 = time.perf_counter()
            conn.execute(begin)
            apply_events(conn, events, [])  # type: ignore[arg-type]
            conn.execute("COMMIT")
            out.append(time.perf_counter() - t0)
    finally:
        conn.close()


def _t0() -> datetime:
    from tests.fixtures.store import T0

    return T0


def _ms(xs: list[float], q: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(q * len(xs)))] * 1000


def main(parts: list[str] | None = None) -> None:
    wanted = parts or ["writers", "takeover"]
    if "writers" in wanted:
        writers()
    if "takeover" in wanted:
        takeover()


def takeover() -> None:
    """Kill -9 one of three daemons with the default lease times."""
    from tests.fixtures.daemon import RATE_SCALE
    from tests.integration.test_daemon_leases import ACCOUNTS, MAX_JOINED, scenario
    from tests.integration.test_daemon_postgres import PgWorld

    from telewatch.config import DaemonSettings
    from telewatch.emulator import EmulatorThread, RateModel

    d = DaemonSettings()
    root = Path(tempfile.mkdtemp(prefix="telewatch-bench-takeover-"))
    pg_root = Path(tempfile.mkdtemp(prefix="telewatch-bench-takeover-pg-"))
    cluster = PostgresCluster(pg_root)
    try:
        cluster.start()
        for sig in (signal.SIGKILL, signal.SIGTERM):
            url = cluster.create_database("takeover")
            with EmulatorThread(
                rate=RateModel(scale=RATE_SCALE), accounts=ACCOUNTS, max_joined=MAX_JOINED
            ) as et:
                pool = []
                for k in range(1, ACCOUNTS + 1):
                    w = PgWorld(emu=et, root=root / f"{sig.name}-acct{k}")
                    w.url = url
                    w.root.mkdir()
                    et.write_session(w.session, account=k)
                    pool.append(w)
                try:
                    seconds, moved = scenario(
                        pool, lease_ttl=d.lease_ttl, lease_renew=d.lease_renew, sig=sig
                    )
                finally:
                    for w in pool:
                        w.close()
            print(
                f"{sig.name} to one of three daemons (lease_ttl {d.lease_ttl:g} s,"
                f" lease_renew {d.lease_renew:g} s): its {moved} channels archived live"
                f" again by the others after {seconds:.1f} s; archive equal to the truth"
                " after, verify ok"
            )
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(pg_root, ignore_errors=True)


def writers() -> None:
    """The write lock's cost, and three writers at once."""
    root = Path(tempfile.mkdtemp(prefix="telewatch-bench-leases-"))
    cluster = PostgresCluster(root, durable=True)
    try:
        cluster.start()
        rows = []
        for label, begin in (("one writer, BEGIN (no lock)", "BEGIN"),
                             ("one writer, BEGIN IMMEDIATE (lock)", "BEGIN IMMEDIATE")):  # fmt: skip
            url = cluster.create_database("bench")
            migrate(Path(url))
            times: list[float] = []
            t0 = time.perf_counter()
            _write(url, 1_900_000_501, begin, times)
            wall = time.perf_counter() - t0
            rows.append((label, TX * PER_TX / wall, statistics.median(times) * 1000,
                         _ms(times, 0.95)))  # fmt: skip
        url = cluster.create_database("bench")
        migrate(Path(url))
        per: list[list[float]] = [[], [], []]
        threads = [
            threading.Thread(
                target=_write, args=(url, 1_900_000_601 + k, "BEGIN IMMEDIATE", per[k])
            )
            for k in range(3)
        ]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        every = [x for p in per for x in p]
        rows.append(("three writers at once (lock)", 3 * TX * PER_TX / wall,
                     statistics.median(every) * 1000, _ms(every, 0.95)))  # fmt: skip
        conn = connect(Path(url))
        res = verify(conn)
        conn.close()
        print(f"{TX} transactions of {PER_TX} posts per writer; PostgreSQL 15, fsync on")
        print(f"{'':38} {'posts/s':>9} {'tx p50 ms':>10} {'tx p95 ms':>10}")
        for label, rate, p50, p95 in rows:
            print(f"{label:38} {rate:9.0f} {p50:10.1f} {p95:10.1f}")
        print(
            f"verify after three writers: {'ok' if res.ok else res.problem}, {res.records} records"
        )
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
