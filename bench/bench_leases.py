"""What the PostgreSQL write lock costs (issue 13), side by side in one run.

Every write transaction on PostgreSQL (``BEGIN IMMEDIATE``) takes one
advisory lock (store/pg.py, WRITE_LOCK) so that several daemons keep one hash
chain. Measured on a throw-away PostgreSQL cluster (tests/fixtures/postgres.py,
fsync on): the same writer batches (``TELEWATCH_BENCH_LEASE_TX`` transactions
of 5 posts, default 300) by one writer with a plain ``BEGIN`` (no lock: the
alternative, safe for one writer only) and with ``BEGIN IMMEDIATE`` (the
lock); then three writers at once, with the lock, on channels of their own
(the aggregate rate, and ``verify`` on the result)."""

from __future__ import annotations

import os
import shutil
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


def main() -> None:
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
