"""Writes sent with the next statement on PostgreSQL (store/pg.py ``send``,
store/db.py ``send``): the writer's round trips under the pool's write lock.

A write whose result nobody reads waits in the connection and goes, in one
pipeline, with the next statement that needs an answer; SAVEPOINT (and a
RELEASE with no write waiting) waits too. What must hold: the writes run in
order before that statement (a read sees them), a failing write's error is
raised by its savepoint's RELEASE (so the writer's savepoint owner counts it
and keeps the rest of the batch), a ROLLBACK TO runs even when a waiting
write fails, and a ROLLBACK drops what waits."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from telewatch.models import RangeArchived
from telewatch.store.db import connect, migrate, send
from telewatch.store.writer import apply_events
from tests.fixtures.store import post_seen

CID = 1500000001


@pytest.fixture
def conn(pg_url: str) -> Iterator[sqlite3.Connection]:
    migrate(Path(pg_url))
    c = connect(Path(pg_url), readonly=False)
    yield c
    c.close()


def _pts(conn: sqlite3.Connection) -> list[tuple[int, int]]:
    return [
        (int(r[0]), int(r[1]))
        for r in conn.execute("SELECT channel_id, pts FROM channel_pts ORDER BY channel_id")
    ]


INSERT = "INSERT INTO channel_pts(channel_id, pts, updated_at) VALUES (?,?,'2026-12-03')"


def test_a_sent_write_runs_before_the_next_statement(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")
    send(conn, INSERT, (1, 5))
    send(conn, INSERT, [(2, 6), (3, 7)], many=True)
    assert _pts(conn) == [(1, 5), (2, 6), (3, 7)]  # the read sees them, in order
    conn.execute("COMMIT")
    assert _pts(conn) == [(1, 5), (2, 6), (3, 7)]


def test_a_failing_write_is_raised_by_its_savepoints_release(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")
    send(conn, INSERT, (1, 5))
    conn.execute("SAVEPOINT s")
    send(conn, INSERT, (1, 9))  # the same key: a primary-key violation
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("RELEASE s")
    conn.execute("ROLLBACK TO s")
    conn.execute("RELEASE s")
    send(conn, INSERT, (2, 6))
    conn.execute("COMMIT")
    assert _pts(conn) == [(1, 5), (2, 6)]


def test_a_rollback_to_runs_when_a_waiting_write_fails(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")
    send(conn, INSERT, (1, 5))
    conn.execute("SAVEPOINT s")  # waits, with the write before it
    send(conn, INSERT, (1, 9))  # fails when sent
    conn.execute("ROLLBACK TO s")  # the savepoint owner gave up before any read
    conn.execute("RELEASE s")
    conn.execute("COMMIT")
    assert _pts(conn) == [(1, 5)]


def test_a_rollback_drops_what_waits(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")
    send(conn, INSERT, (1, 5))
    conn.execute("ROLLBACK")
    assert not conn.in_transaction
    assert _pts(conn) == []
    conn.execute("BEGIN IMMEDIATE")  # the next transaction starts clean
    send(conn, INSERT, (2, 6))
    conn.execute("COMMIT")
    assert _pts(conn) == [(2, 6)]


def test_a_batch_keeps_its_good_events_when_a_sent_write_fails(
    conn: sqlite3.Connection,
) -> None:
    """A post the server refuses (here a CHECK constraint added for the
    test: nothing telewatch binds fails on the client, not even a NUL) fails
    when the posts' inserts go with the RELEASE: the writer counts that post
    once and keeps the rest of the batch, its ranges included."""
    conn.execute("ALTER TABLE post_versions ADD CONSTRAINT refused CHECK (text <> 'refused')")
    good = [post_seen(CID, m, f"post {m}") for m in (1, 2, 4)]
    bad = post_seen(CID, 3, "refused")
    conn.execute("BEGIN IMMEDIATE")
    st = apply_events(conn, [*good[:2], bad, good[2], RangeArchived(CID, 1, 4)], ())
    conn.execute("COMMIT")
    assert st.errors == 1 and st.posts_new == 3
    assert len(st.reasons) == 1 and st.reasons[0].startswith("PostSeen")
    rows = conn.execute(
        "SELECT message_id FROM posts WHERE channel_id=? ORDER BY message_id", (CID,)
    ).fetchall()
    assert [int(r[0]) for r in rows] == [1, 2, 4]
    assert conn.execute("SELECT lo_id, hi_id FROM sync_ranges").fetchall() == [(1, 4)]


def test_outside_a_transaction_a_sent_write_runs_at_once(conn: sqlite3.Connection) -> None:
    """No COMMIT follows an autocommit write: waiting, it would be lost when
    the connection closes."""
    send(conn, INSERT, (1, 5))
    conn.close()
    again = connect(Path(conn.url))  # type: ignore[attr-defined]
    try:
        assert _pts(again) == [(1, 5)]
    finally:
        again.close()
