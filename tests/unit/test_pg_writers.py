"""Several writers on one PostgreSQL archive at once (issue 13): every write
transaction takes the archive's advisory write lock, so the hash chain and
the ``max + 1`` ids stay one sequence and ``verify`` passes."""

from __future__ import annotations

import threading
from pathlib import Path

from telewatch.models import Channel, ChannelSeen
from telewatch.store import pg
from telewatch.store.chain import head, verify
from telewatch.store.db import connect, migrate, write_transaction
from telewatch.store.writer import apply_events
from tests.fixtures.store import T0, post_seen

WRITERS = 3
BATCHES = 30
PER_BATCH = 5


def _writer(url: str, k: int, errors: list[str], start: threading.Barrier) -> None:
    cid = 1500000100 + k
    conn = connect(Path(url), readonly=False)
    try:
        with write_transaction(conn):
            apply_events(conn, [ChannelSeen(Channel(cid, f"W{k}", f"writer{k}", ""), T0)], [])
        start.wait()
        for b in range(BATCHES):
            events = [
                post_seen(cid, b * PER_BATCH + i + 1, f"writer {k} post {b}/{i}")
                for i in range(PER_BATCH)
            ]
            with write_transaction(conn):
                stats = apply_events(conn, events, [])  # type: ignore[arg-type]
            errors.extend(stats.reasons)
    except Exception as err:
        errors.append(f"writer {k}: {type(err).__name__}: {err}")
    finally:
        conn.close()


def test_concurrent_writers_keep_one_chain(pg_url: str) -> None:
    """Three connections write posts of their own channels in interleaved
    transactions: nothing is refused, every post is there once and the chain
    verifies (without the lock two transactions read the same head and one
    fails on chain.seq, or the ids collide)."""
    migrate(Path(pg_url))
    errors: list[str] = []
    start = threading.Barrier(WRITERS)
    threads = [
        threading.Thread(target=_writer, args=(pg_url, k, errors, start)) for k in range(WRITERS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    conn = connect(Path(pg_url))
    try:
        n = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
        assert n == WRITERS * BATCHES * PER_BATCH
        res = verify(conn)
        assert res.ok, res.problem
        assert head(conn).seq == conn.execute("SELECT count(*) FROM chain").fetchone()[0]
    finally:
        conn.close()


def test_only_write_transactions_take_the_lock() -> None:
    """BEGIN IMMEDIATE (the store's write transactions) takes the write lock;
    a plain BEGIN (a reader's snapshot, the lease table's own row locks) does not."""
    assert pg.translate("BEGIN IMMEDIATE", False).write_lock
    assert not pg.translate("BEGIN", False).write_lock
