"""Round trips under the pool's write lock (issue 13): a live writer batch on
PostgreSQL with its savepoints and result-less writes pipelined (the default,
``PgConnection.pipelined``) and sent one by one (as before), in one run.

A durable PostgreSQL 15 cluster (fsync on) holds 400 channels of 50 posts.
A live batch is what the daemon writes for two pushed posts of one channel:
each post, its range, the channel's difference (the channel and the post
again) and the channel's status. Measured per mode:

(a) one writer alone: BEGIN..COMMIT per batch (p50, p90) and the statements
    the store sent (``PgConnection._run`` calls; a pipelined statement
    waits for the next one, so the server round trips are fewer still);
(b) five writer processes at 20 batches/s each (the pool's 200 updates/s as
    batches of two), on an idle machine and with two processes burning 40 %
    of a core each (a loaded 2-core machine): schedule → commit p50/p95/p99.

Each contention case runs ROUNDS times, the two modes alternated, each
after a VACUUM ANALYZE and a CHECKPOINT.

Env: TELEWATCH_BENCH_PGB_SECONDS (20 per contention run), _ROUNDS (3),
_FSYNC (1; 0 runs the cluster without fsync: is the commit's flush the
variance?).
``python -m bench pg_batch``.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from tests.fixtures.postgres import PostgresCluster
from tests.fixtures.store import T0, post_seen

from telewatch.models import (
    Channel,
    ChannelSeen,
    ChannelStatusChanged,
    DifferenceApplied,
    Event,
    RangeArchived,
)
from telewatch.store import pg
from telewatch.store.db import connect, migrate
from telewatch.store.writer import apply_events, prepare_posts

CHANNELS, POSTS = 400, 50
BASE = 1_500_000_001
WRITERS, RATE = 5, 20
SECONDS = float(os.environ.get("TELEWATCH_BENCH_PGB_SECONDS", 20))
ROUNDS = int(os.environ.get("TELEWATCH_BENCH_PGB_ROUNDS", 3))
DURABLE = os.environ.get("TELEWATCH_BENCH_PGB_FSYNC", "1") != "0"


def _channel(k: int) -> Channel:
    return Channel(BASE + k, f"Channel {k}", f"chan_{k}", subscribers=1000 + k)


def _setup(url: str) -> None:
    migrate(Path(url))
    conn = connect(Path(url), readonly=False)
    for k in range(CHANNELS):
        conn.execute("BEGIN IMMEDIATE")
        evs: list[Event] = [ChannelSeen(_channel(k), T0)]
        evs += [post_seen(BASE + k, m, f"old post {m} of {k}") for m in range(1, POSTS + 1)]
        evs.append(RangeArchived(BASE + k, 1, POSTS))
        apply_events(conn, evs, ())
        conn.execute("COMMIT")
    conn.close()


def _batch(k: int, mid: int) -> list[Event]:
    cid = BASE + k
    evs: list[Event] = []
    for m in (mid, mid + 1):
        p = post_seen(cid, m, f"live post {m} from channel {k} about a convoy")
        evs += [
            p,
            RangeArchived(cid, m, m),
            DifferenceApplied(cid, m, (ChannelSeen(_channel(k), T0), p)),
            ChannelStatusChanged(f"chan_{k}", cid, "live", None, T0),
        ]
    return evs


def _commit(conn: Any, evs: list[Event]) -> float:
    ready = prepare_posts(evs)  # as the Writer does: before the transaction
    t0 = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    apply_events(conn, evs, (), prepared=ready)
    conn.execute("COMMIT")
    return time.perf_counter() - t0


def _alone(url: str, pipelined: bool, first_mid: int) -> str:
    pg.PgConnection.pipelined = pipelined
    conn = connect(Path(url), readonly=False)
    calls = [0]
    run = pg.PgConnection._run

    def counted(self: Any, *a: Any, **kw: Any) -> None:
        calls[0] += 1
        run(self, *a, **kw)

    times = []
    per_batch = 0
    pg.PgConnection._run = counted  # type: ignore[method-assign]
    try:
        for i in range(300):
            calls[0] = 0
            times.append(_commit(conn, _batch(i % CHANNELS, first_mid + 2 * i)))
            per_batch = calls[0]
    finally:
        pg.PgConnection._run = run  # type: ignore[method-assign]
        conn.close()
    times.sort()
    return (
        f"BEGIN..COMMIT p50 {times[150] * 1e3:.2f} ms, p90 {times[270] * 1e3:.2f} ms;"
        f" {per_batch} statements per batch"
    )


def _writer(url: str, w: int, pipelined: bool, first_mid: int, out: Any) -> None:
    pg.PgConnection.pipelined = pipelined
    conn = connect(Path(url), readonly=False)
    lat = []
    start = time.perf_counter()
    i = 0
    while i / RATE < SECONDS:
        due = start + i / RATE
        now = time.perf_counter()
        if due > now:
            time.sleep(due - now)
        k = (w + WRITERS * i) % CHANNELS
        _commit(conn, _batch(k, first_mid + 2 * i))
        lat.append(time.perf_counter() - due)
        i += 1
    conn.close()
    out.put(lat)


def _burn(duty: float, stop: Any) -> None:
    while not stop.is_set():
        t = time.perf_counter()
        while time.perf_counter() - t < 0.1 * duty:
            pass
        time.sleep(0.1 * (1 - duty))


def _contend(url: str, pipelined: bool, burn: float, first_mid: int) -> str:
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    burners = [ctx.Process(target=_burn, args=(burn, stop)) for _ in range(2)] if burn else []
    for b in burners:
        b.start()
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_writer, args=(url, w, pipelined, first_mid + w * 100_000, out))
        for w in range(WRITERS)
    ]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    lat: list[float] = []
    for _ in procs:
        lat += out.get()
    for p in procs:
        p.join()
    took = time.perf_counter() - t0
    stop.set()
    for b in burners:
        b.join()
    lat.sort()

    def q(f: float) -> float:
        return lat[int(f * (len(lat) - 1))] * 1e3

    return (
        f"p50 {q(0.5):.0f} ms, p95 {q(0.95):.0f} ms, p99 {q(0.99):.0f} ms;"
        f" {len(lat) / took:.0f} batches/s"
    )


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="telewatch-bench-pgb-"))
    cluster = PostgresCluster(root, durable=DURABLE)
    cluster.start()
    try:
        url = cluster.create_database("pgb")
        _setup(url)
        print(
            f"{CHANNELS} channels x {POSTS} posts; a batch: 2 pushed posts of one channel;"
            f" fsync {'on' if DURABLE else 'off (TELEWATCH_BENCH_PGB_FSYNC=0)'}"
        )
        mid = 1_000
        for pipelined in (False, True):
            name = "pipelined " if pipelined else "one by one"
            print(f"(a) {name}, one writer: {_alone(url, pipelined, mid)}")
            mid += 1_000
        for burn in (0.0, 0.4):
            # Alternated, ROUNDS times: a 20 s run's p99 varies from run to
            # run (a checkpoint, autovacuum); each run starts after a CHECKPOINT.
            for r in range(ROUNDS):
                for pipelined in (False, True) if r % 2 == 0 else (True, False):
                    name = "pipelined " if pipelined else "one by one"
                    load = f"2 burners at {burn:.0%}" if burn else "idle machine"
                    with psycopg.connect(url, autocommit=True) as admin:
                        admin.execute("VACUUM ANALYZE")
                        admin.execute("CHECKPOINT")
                    got = _contend(url, pipelined, burn, mid)
                    print(f"(b) {name}, {WRITERS} writers x {RATE}/s, {load}: {got}", flush=True)
                    mid += 1_000_000
    finally:
        pg.PgConnection.pipelined = True
        cluster.stop()
