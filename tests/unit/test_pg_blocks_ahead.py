"""The next block's search index is built ahead, outside the write lock
(store/pg.py ``build_ahead``).

Each block of FTS_BLOCK post ids has a partial GIN index of its own. The
writer used to create it in the transaction that wrote the block's first
post, holding the pool's write lock while the server read the table (about
2.6 s at 1,000,000 posts). Now, once the ids written come within
BLOCK_AHEAD of their block's end, the writer starts a thread that builds
the next block's index with CREATE INDEX CONCURRENTLY; the batch that
reaches the block finds it valid. Blocks of 16 ids here."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import psycopg
import pytest

from telewatch.store import pg
from telewatch.store.db import connect, migrate
from telewatch.store.writer import Writer
from tests.fixtures.store import post_seen

CID = 1500000001


def _valid(url: str, k: int) -> bool | None:
    with psycopg.connect(url, autocommit=True) as c:
        row = c.execute(
            "SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass(%s)",
            (pg._block_name(k),),
        ).fetchone()
    return None if row is None else bool(row[0])


def _wait_valid(url: str, k: int) -> None:
    deadline = time.monotonic() + 30
    while _valid(url, k) is not True:
        assert time.monotonic() < deadline, f"block {k}'s index was not built"
        time.sleep(0.05)


async def _write(url: str, ids: range) -> None:
    async with Writer(Path(url), max_delay=0.01) as w:
        for m in ids:
            await w.put(post_seen(CID, m, f"convoy post {m}"))
        await w.flush()


def test_the_next_blocks_index_is_built_before_a_post_needs_it(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pg, "FTS_BLOCK", 16)
    monkeypatch.setattr(pg, "BLOCK_AHEAD", 4)
    migrate(Path(pg_url))
    asyncio.run(_write(pg_url, range(1, 11)))  # post ids 1..10: 6 from the end
    assert _valid(pg_url, 0) is True  # the first block's, created by the writer
    assert _valid(pg_url, 1) is None  # not yet due
    asyncio.run(_write(pg_url, range(11, 14)))  # ids up to 13: 3 from the end
    _wait_valid(pg_url, 1)  # built ahead, before any post of ids 17..32
    conn = connect(Path(pg_url))
    try:
        assert conn.execute("SELECT max(rowid) FROM posts_fts").fetchone()[0] == 13
    finally:
        conn.close()
    # The writer that reaches the block finds it and creates nothing.
    seen: list[str] = []
    real = pg.PgConnection._run

    def traced(self: pg.PgConnection, cur: object, sql: str, *a: object, **kw: object) -> None:
        seen.append(sql)
        real(self, cur, sql, *a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(pg.PgConnection, "_run", traced)
    asyncio.run(_write(pg_url, range(14, 20)))
    assert not any("CREATE INDEX" in s for s in seen)
    conn = connect(Path(pg_url))
    try:
        assert conn.execute("SELECT count(*) FROM posts").fetchone()[0] == 19
        hits = conn.execute(
            "SELECT count(*) FROM posts_fts WHERE body @@ to_tsquery('simple', 'convoy')"
        ).fetchone()[0]
        assert hits == 19
    finally:
        conn.close()


def test_an_index_left_invalid_by_a_dead_build_is_built_again(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pg, "FTS_BLOCK", 16)
    migrate(Path(pg_url))
    asyncio.run(_write(pg_url, range(1, 4)))
    name = pg._block_name(0)
    with psycopg.connect(pg_url, autocommit=True) as c:
        # What a CREATE INDEX CONCURRENTLY cut off halfway leaves behind.
        c.execute(
            "UPDATE pg_index SET indisvalid = false WHERE indexrelid = to_regclass(%s)", (name,)
        )
    assert _valid(pg_url, 0) is False
    conn = connect(Path(pg_url), readonly=False)
    assert isinstance(conn, pg.PgConnection)
    try:
        t = pg.build_ahead(conn, 0)
        assert t is not None
        t.join(30)
    finally:
        conn.close()
    assert _valid(pg_url, 0) is True


def test_only_the_first_commit_near_the_end_starts_a_build(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every commit in the last BLOCK_AHEAD ids asks for the next block's
    index: once it is built, or while another daemon builds it (its session
    holds the block's build lock), no more threads and connections are
    started (one per commit would be thousands of connections per block)."""
    monkeypatch.setattr(pg, "FTS_BLOCK", 16)
    migrate(Path(pg_url))
    conn = connect(Path(pg_url), readonly=False)
    assert isinstance(conn, pg.PgConnection)
    try:
        conn.fts_top = 13
        t = pg.build_ahead(conn)
        assert t is not None
        t.join(30)
        assert _valid(pg_url, 1) is True
        assert pg.build_ahead(conn) is None  # built: not asked about again
        with psycopg.connect(pg_url, autocommit=True) as other:
            other.execute("SELECT pg_advisory_lock(%s)", (pg._BUILD_LOCK + 2,))
            t = pg.build_ahead(conn, 2)
            assert t is not None
            t.join(30)
            assert _valid(pg_url, 2) is None  # the other daemon's to build
            assert pg.build_ahead(conn, 2) is None  # not again before BUILD_RETRY
    finally:
        conn.close()
