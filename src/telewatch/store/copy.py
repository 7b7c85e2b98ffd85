"""Copying an archive between backends (``telewatch migrate --to``).

``copy_archive(source, target)`` copies every table of a SQLite archive
into a PostgreSQL database or back, row for row (ids, chain records and
hashes included, so ``verify`` passes on the copy and its head is the
source's). The full-text index is not copied (FTS5 and tsvector differ): it
is rebuilt on the target from the posts and their versions, in the same
transaction as each batch of posts.

Resumable: tables are copied in primary-key order in batches, each its own
transaction, and a re-run continues after the largest key the target
already holds (keyset pagination), so an interrupted copy loses at most the
batch in flight and never duplicates a row. Before copying, the target's
chain must be a prefix of the source's (empty, or an earlier interrupted
copy of this archive): a target holding another archive is refused.

The table layout (columns, primary keys, foreign keys) is read from the
SQLite side, which has the same schema version as the PostgreSQL side.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telewatch.models import UserError
from telewatch.store import chain, db, pg
from telewatch.store.posts import fts_meta
from telewatch.text import index_body

BATCH_ROWS = 5000

# Never copied: the full-text index (rebuilt), SQLite's own tables, the
# PostgreSQL backend's schema-version table, and the daemons and channel
# leases of the source's running pool (store/leases.py: state of that
# database's daemons, meaningless in another).
_SKIP_PREFIXES = (
    "posts_fts",
    "sqlite_",
    "telewatch_meta",
    "daemons",
    "channel_leases",
    "daemon_roles",
)


@dataclass(frozen=True)
class _Table:
    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]  # primary key columns; () = none (copied whole)
    refs: frozenset[str]


@dataclass
class CopyResult:
    """What a copy did: rows copied now per table, rows already there."""

    copied: dict[str, int] = field(default_factory=dict)
    already: int = 0
    total: int = 0
    head: str = chain.GENESIS
    fts_rows: int = 0


def _describe(conn: sqlite3.Connection) -> list[_Table]:
    """The archive's tables (SQLite connection), parents before children."""
    names = [
        str(r[0])
        for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        if not str(r[0]).startswith(_SKIP_PREFIXES)
    ]
    tables: dict[str, _Table] = {}
    for name in names:
        info = conn.execute(f'PRAGMA table_info("{name}")').fetchall()
        cols = tuple(str(r[1]) for r in info)
        key = tuple(str(r[1]) for r in sorted((r for r in info if r[5]), key=lambda r: r[5]))
        refs = frozenset(
            str(r[2]) for r in conn.execute(f'PRAGMA foreign_key_list("{name}")') if r[2] != name
        )
        tables[name] = _Table(name, cols, key, refs)
    ordered: list[_Table] = []
    placed: set[str] = set()
    while len(ordered) < len(tables):
        ready = [
            t
            for n, t in tables.items()
            if n not in placed and all(r in placed or r not in tables for r in t.refs)
        ]
        if not ready:  # a cycle: keep the remaining order (none in the schema)
            ready = [t for n, t in tables.items() if n not in placed]
        for t in ready:
            ordered.append(t)
            placed.add(t.name)
    return ordered


def copy_archive(
    source: Path,
    target: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> CopyResult:
    """Copy the archive at ``source`` into ``target`` (one of them a
    ``postgresql://`` address, the other a SQLite path); ``progress(done,
    total)`` is called after each batch. Raises UserError."""
    src_pg, dst_pg = db.pg_address(source) is not None, db.pg_address(target) is not None
    if src_pg == dst_pg:
        raise UserError(
            "`telewatch migrate --to` copies between a SQLite file and PostgreSQL:"
            " give a postgresql:// address on one side and a file path on the other"
        )
    if not src_pg and Path(source).resolve() == Path(target).resolve():
        raise UserError("the target is the source archive itself; name another --to")
    src = db.connect(source)
    try:
        db.migrate(target)
        dst = db.connect(target, readonly=False)
        try:
            return _copy(src, dst, progress, max(1, batch_rows))
        finally:
            dst.close()
    finally:
        src.close()


def _copy(
    src: sqlite3.Connection,
    dst: sqlite3.Connection,
    progress: Callable[[int, int], None] | None,
    batch_rows: int,
) -> CopyResult:
    _check_prefix(src, dst)
    tables = _describe(dst if isinstance(src, pg.PgConnection) else src)
    res = CopyResult()
    res.total = sum(
        int(src.execute(f"SELECT count(*) FROM {t.name}").fetchone()[0]) for t in tables
    )
    done = 0
    for t in tables:
        have = int(dst.execute(f"SELECT count(*) FROM {t.name}").fetchone()[0])
        res.already += have
        done += have
        if progress is not None:
            progress(done, res.total)
        n = _copy_table(
            src, dst, t, batch_rows, functools.partial(_tick, progress, done, res.total)
        )
        res.copied[t.name] = n
        done += n
    res.head = chain.head(dst).hash
    res.fts_rows = _fts_count(dst)
    return res


def _tick(progress: Callable[[int, int], None] | None, base: int, total: int, n: int) -> None:
    if progress is not None:
        progress(base + n, total)


def _check_prefix(src: sqlite3.Connection, dst: sqlite3.Connection) -> None:
    """Refuse a target whose chain is not the beginning of the source's."""
    h = chain.head(dst)
    if h.seq == 0:
        posts = dst.execute("SELECT 1 FROM posts LIMIT 1").fetchone()
        if posts is not None:
            raise UserError(
                "the target archive already holds posts but no hash chain;"
                " copy into an empty database or file"
            )
        return
    row = src.execute("SELECT hash FROM chain WHERE seq = ?", (h.seq,)).fetchone()
    if row is None or str(row[0]) != h.hash:
        raise UserError(
            f"the target already holds another archive (its chain record {h.seq} is not"
            " the source's); copy into an empty database or file"
        )


def _copy_table(
    src: sqlite3.Connection,
    dst: sqlite3.Connection,
    t: _Table,
    batch_rows: int,
    tick: Callable[[int], None],
) -> int:
    cols = ", ".join(t.columns)
    insert = f"INSERT INTO {t.name}({cols}) VALUES ({', '.join('?' * len(t.columns))})"
    if not t.key:
        # No key to resume from (request_log): small, copied whole at once.
        rows = [tuple(r) for r in src.execute(f"SELECT {cols} FROM {t.name}")]
        dst.execute("BEGIN IMMEDIATE")
        try:
            dst.execute(f"DELETE FROM {t.name}")
            if rows:
                dst.executemany(insert, rows)
            dst.execute("COMMIT")
        except BaseException:
            dst.execute("ROLLBACK")
            raise
        tick(len(rows))
        return len(rows)
    key = ", ".join(t.key)
    last = dst.execute(f"SELECT {key} FROM {t.name} ORDER BY {key} DESC LIMIT 1").fetchone()
    after = tuple(last) if last is not None else None
    n = 0
    while True:
        where = f" WHERE ({key}) > ({', '.join('?' * len(t.key))})" if after is not None else ""
        rows = [
            tuple(r)
            for r in src.execute(
                f"SELECT {cols} FROM {t.name}{where} ORDER BY {key} LIMIT ?",
                (*(after or ()), batch_rows),
            )
        ]
        if not rows:
            return n
        dst.execute("BEGIN IMMEDIATE")
        try:
            dst.executemany(insert, rows)
            if t.name == "posts":
                _index(src, dst, t, rows)
            dst.execute("COMMIT")
        except BaseException:
            dst.execute("ROLLBACK")
            raise
        n += len(rows)
        tick(n)
        idx = [t.columns.index(k) for k in t.key]
        after = tuple(rows[-1][i] for i in idx)


def _index(
    src: sqlite3.Connection, dst: sqlite3.Connection, t: _Table, rows: list[tuple[Any, ...]]
) -> None:
    """The full-text entries of a batch of posts, from their versions (as
    the writer makes them: text.index_body of every version, oldest first)."""
    i_id, i_ch, i_msg, i_date, i_text = (
        t.columns.index(c) for c in ("id", "channel_id", "message_id", "date", "text")
    )
    lo, hi = rows[0][i_id], rows[-1][i_id]
    texts: dict[tuple[int, int], list[str]] = {}
    for cid, mid, text in src.execute(
        "SELECT v.channel_id, v.message_id, v.text FROM posts p JOIN post_versions v"
        " ON v.channel_id = p.channel_id AND v.message_id = p.message_id"
        " WHERE p.id >= ? AND p.id <= ? ORDER BY v.channel_id, v.message_id, v.version_no",
        (lo, hi),
    ):
        texts.setdefault((int(cid), int(mid)), []).append(str(text))
    entries = []
    for r in rows:
        body = index_body(texts.get((int(r[i_ch]), int(r[i_msg])), [str(r[i_text])]))
        if body:
            entries.append((r[i_id], body, fts_meta(int(r[i_ch]), str(r[i_date]))))
    if isinstance(dst, pg.PgConnection):
        pg.fts_write(dst, [], entries)
    elif entries:
        dst.executemany("INSERT INTO posts_fts(rowid, body, meta) VALUES (?,?,?)", entries)


def _fts_count(conn: sqlite3.Connection) -> int:
    """Entries of the full-text index (both backends answer count(*))."""
    return int(conn.execute("SELECT count(*) FROM posts_fts").fetchone()[0])
