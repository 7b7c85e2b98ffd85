"""db.Readers: the daemon's read-only connections, one per look-up.

On PostgreSQL a connection is a server process (a fork, a login, cold
caches), so closed readers are kept and handed out again; on SQLite each
is a fresh file open. What must hold: a kept connection is the same one, one
left in a transaction or broken by the server is never handed out again,
at most ``keep`` wait, and ``close`` ends the idle ones."""

from __future__ import annotations

from pathlib import Path

import psycopg

from telewatch.store.db import Readers, connect, migrate, share_readers, unshare_readers


def _backend(conn: object) -> int:
    return int(conn.execute("SELECT pg_backend_pid()").fetchone()[0])  # type: ignore[attr-defined]


def test_postgres_readers_are_kept_and_handed_out_again(pg_url: str) -> None:
    migrate(Path(pg_url))
    readers = Readers(Path(pg_url), keep=2)
    a = readers.get()
    pid = _backend(a)
    a.close()
    b = readers.get()
    assert b is a and _backend(b) == pid  # the same server process
    c = readers.get()  # b is still out: another connection
    assert c is not b
    b.close()
    c.close()
    d = readers.get()
    d.close()
    extra = [readers.get() for _ in range(3)]
    for conn in extra:
        conn.close()
    assert len(readers._idle) == 2  # at most ``keep`` wait
    readers.close()
    assert readers._idle == []
    assert a.pg.closed  # type: ignore[attr-defined]


def test_a_reader_left_in_a_transaction_or_broken_is_not_handed_out(pg_url: str) -> None:
    migrate(Path(pg_url))
    readers = Readers(Path(pg_url), check_after=0.0)
    a = readers.get()
    a.execute("BEGIN")
    a.execute("SELECT count(*) FROM posts").fetchone()
    a.close()  # still in its transaction: closed for good
    assert a.pg.closed  # type: ignore[attr-defined]
    b = readers.get()
    pid = _backend(b)
    b.close()
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
    # b's server process is gone (a server restart): idle for longer than
    # check_after, b is asked first, found dead and replaced.
    c = readers.get()
    assert c is not b and b.pg.closed  # type: ignore[attr-defined]
    assert c.execute("SELECT count(*) FROM posts").fetchone()[0] == 0
    assert _backend(c) != pid
    c.close()
    readers.close()


def test_sqlite_readers_are_fresh_connections(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    migrate(path)
    readers = Readers(path)
    a = readers.get()
    a.close()
    b = readers.get()
    assert b is not a
    assert b.execute("SELECT count(*) FROM posts").fetchone()[0] == 0
    b.close()
    conn = connect(path)
    conn.close()


def test_shared_readers_serve_connect_until_unshared(pg_url: str) -> None:
    """The daemon's run: every ``connect(path)`` reader comes from one pool
    (writers never do), and after the run each is a new connection again."""
    path = Path(pg_url)
    migrate(path)
    share_readers(path)
    try:
        a = connect(path)
        pid = _backend(a)
        a.close()
        b = connect(path)
        assert b is a and _backend(b) == pid
        b.close()
        w = connect(path, readonly=False)
        assert w is not a and w.home is None  # type: ignore[attr-defined]
        w.close()
    finally:
        unshare_readers(path)
    assert a.pg.closed  # type: ignore[attr-defined]
    c = connect(path)
    assert c is not a and c.home is None  # type: ignore[attr-defined]
    c.close()


def test_a_reader_closed_twice_is_not_handed_out_twice(pg_url: str) -> None:
    """sqlite3 makes a second close() harmless, and callers may rely on it."""
    migrate(Path(pg_url))
    readers = Readers(Path(pg_url), keep=4)
    x = readers.get()
    x.close()
    x.close()
    e, f = readers.get(), readers.get()
    assert e is not f
    e.close()
    f.close()
    readers.close()
