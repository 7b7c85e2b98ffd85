"""A bulk import's session with the archive (``telewatch import``,
``sources.desktop_export``): the connection, its page cache, bulk mode and
the few reads the importer needs to judge what an export left out.

The importer writes through the store's one write path
(``writer.apply_events``/``write_prepared``) on ``ImportSession.conn``, one
``db.write_transaction`` per file; it never executes SQL itself.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from types import TracebackType

from telewatch.store.db import BUSY_TIMEOUT_MS, Connection, connect, is_postgres, migrate

# Page cache while importing (KiB); the environment variable lowers it on
# small machines (and lets tests make an import spill to the file early).
IMPORT_CACHE_KIB = int(os.environ.get("TELEWATCH_IMPORT_CACHE_KIB", 131072))


class ImportSession:
    """The import's writable connection to the archive at ``db`` (created or
    migrated first, after SQLite's quick_check: never write into a damaged
    file). Close it (or use it as a context manager) when the import ends:
    that leaves bulk mode and releases the archive."""

    def __init__(self, db: Path) -> None:
        migrate(db, check=True)
        self.conn: Connection = connect(db, readonly=False)
        try:
            # A file is one transaction: a larger page cache keeps the growing
            # B-trees and FTS segments in memory instead of re-reading the WAL.
            self.conn.execute(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}")
            self.bulk = enter_bulk_mode(self.conn)
        except BaseException:
            self.conn.close()
            raise

    def close(self, *, failed: bool = False) -> None:
        """Leave bulk mode and close; after a successful import of a
        PostgreSQL archive (not ``failed``), refresh the planner's statistics."""
        try:
            if self.bulk:
                leave_bulk_mode(self.conn)
                self.bulk = False
            if not failed and is_postgres(self.conn) and not self.conn.in_transaction:
                # Fresh statistics for the planner (a sample, seconds on a
                # million posts): with the tables' sizes from before the import
                # it walks the wrong index for a search (issue 13).
                for table in ("posts", "posts_fts"):
                    self.conn.execute(f"ANALYZE {table}")
        finally:
            self.conn.close()

    def __enter__(self) -> ImportSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(failed=exc_type is not None)


def enter_bulk_mode(conn: Connection) -> bool:
    """Switch the import's connection from WAL to a rollback journal with an
    exclusive lock when nobody else has the archive open; False (and WAL
    kept, nothing changed) otherwise.

    Why: in WAL mode every page of a large import is written twice, once to
    the WAL inside the transaction and again by the checkpoint after COMMIT,
    which runs after the parser has finished (≈ 10 % of the import's time).
    With a rollback journal new pages go straight to the database file and
    only the pages that existed before are journaled. Each file is still one
    transaction: a crash (kill -9 included) leaves a hot journal that the
    next connection rolls back (store.db.connect sees to it for readers).
    The exclusive lock keeps other processes out until the archive is back
    in WAL mode; they wait (busy timeout) or say the archive is busy."""
    conn.execute("PRAGMA busy_timeout = 0")  # someone else has it open: give up at once
    conn.execute("PRAGMA locking_mode = EXCLUSIVE")
    try:
        mode = str(conn.execute("PRAGMA journal_mode = TRUNCATE").fetchone()[0])
    except sqlite3.OperationalError:  # locked: a daemon, dashboard or reader is using it
        mode = "wal"
    if mode != "truncate":
        conn.execute("PRAGMA locking_mode = NORMAL")
    else:
        # Rollback-journal mode syncs the journal before the database:
        # NORMAL there can corrupt on power loss, FULL cannot.
        conn.execute("PRAGMA synchronous = FULL")
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return mode == "truncate"


def leave_bulk_mode(conn: Connection) -> None:
    """Back to WAL (we still hold the exclusive lock, so this cannot be
    refused); closing the connection then releases the lock."""
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.Error:
        pass  # e.g. disk full: the archive is intact; the next migrate() restores WAL


def live_ids_between(conn: Connection, channel_id: int, lo: int, hi: int) -> list[int]:
    """Ids of the channel's archived, not deleted posts with ``lo <= id <= hi``."""
    return [
        int(r[0])
        for r in conn.execute(
            "SELECT message_id FROM posts WHERE channel_id = ? AND message_id BETWEEN ? AND ?"
            " AND deleted_at IS NULL",
            (channel_id, lo, hi),
        )
    ]


def live_count(conn: Connection, channel_id: int) -> int:
    """How many of the channel's archived posts are not deleted."""
    return int(
        conn.execute(
            "SELECT count(*) FROM posts WHERE channel_id = ? AND deleted_at IS NULL", (channel_id,)
        ).fetchone()[0]
    )
