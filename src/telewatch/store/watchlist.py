"""The watch list: which channels the daemon archives (table ``watchlist``).

Contracts:

* The key is ``username:<lower>`` when the channel was given by username or
  link, ``id:<n>`` when given by id (``telewatch.config.watch_key``).
* Rows are never deleted: ``remove`` sets ``removed_at``; ``add`` of a removed
  key brings it back (clearing ``removed_at``, taking the new mode/backfill).
* Every write is one short ``BEGIN IMMEDIATE`` transaction on the caller's
  connection, so the CLI can edit the list while a daemon runs; the daemon
  re-reads it with ``active_entries`` every few seconds.
* Config entries are merged in with ``merge_config`` (origin ``config``): a
  new key is inserted, an existing config row takes the file's mode and
  backfill, a key the user removed with the CLI stays removed, and a config
  row whose entry left the file is marked removed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

Mode = Literal["join", "poll"]
Origin = Literal["config", "cli", "xref"]


@dataclass(frozen=True, slots=True)
class WatchEntry:
    """One watch-list row. ``backfill`` is ``all`` | ``YYYY-MM-DD`` | ``<N>``."""

    key: str
    username: str | None
    channel_id: int | None
    mode: Mode
    backfill: str
    origin: str
    added_at: str
    removed_at: str | None = None

    @property
    def label(self) -> str:
        """``@username`` or the bare id, for humans."""
        return f"@{self.username}" if self.username else str(self.channel_id)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_key(username: str | None, channel_id: int | None) -> str:
    """The key for a channel reference (username wins)."""
    if username:
        return f"username:{username.lstrip('@').lower()}"
    if channel_id is None:
        raise ValueError("a channel needs a username or an id")
    return f"id:{channel_id}"


@contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[None]:
    # A short write transaction that takes the write lock up front, so that it
    # waits (busy_timeout) instead of failing half-way against the daemon's writer.
    conn.execute("PRAGMA busy_timeout = 10000")
    in_tx = conn.in_transaction
    if not in_tx:
        conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if not in_tx:
            conn.execute("ROLLBACK")
        raise
    else:
        if not in_tx:
            conn.execute("COMMIT")


def _row(r: sqlite3.Row | tuple[object, ...]) -> WatchEntry:
    key, username, channel_id, mode, backfill, origin, added_at, removed_at = tuple(r)
    return WatchEntry(
        key=str(key),
        username=None if username is None else str(username),
        channel_id=None if channel_id is None else int(str(channel_id)),
        mode="poll" if mode == "poll" else "join",
        backfill=str(backfill),
        origin=str(origin),
        added_at=str(added_at),
        removed_at=None if removed_at is None else str(removed_at),
    )


_COLS = "key, username, channel_id, mode, backfill, origin, added_at, removed_at"


def add(
    conn: sqlite3.Connection,
    username: str | None,
    channel_id: int | None,
    mode: Mode = "join",
    backfill: str = "all",
    origin: Origin = "cli",
) -> WatchEntry:
    """Add (or bring back, or update) a channel; returns the stored row."""
    key = make_key(username, channel_id)
    uname = username.lstrip("@") if username else None
    with _immediate(conn):
        conn.execute(
            f"INSERT INTO watchlist ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, NULL) "
            "ON CONFLICT(key) DO UPDATE SET mode = excluded.mode, "
            "backfill = excluded.backfill, removed_at = NULL",
            (key, uname, channel_id, mode, backfill, origin, _now()),
        )
    found = get(conn, key)
    assert found is not None
    return found


def remove(conn: sqlite3.Connection, key: str) -> bool:
    """Mark ``key`` removed; False when it is not on the list (or already removed)."""
    with _immediate(conn):
        cur = conn.execute(
            "UPDATE watchlist SET removed_at = ? WHERE key = ? AND removed_at IS NULL",
            (_now(), key),
        )
    return cur.rowcount > 0


def get(conn: sqlite3.Connection, key: str) -> WatchEntry | None:
    """The row for ``key`` (removed or not), or None."""
    r = conn.execute(f"SELECT {_COLS} FROM watchlist WHERE key = ?", (key,)).fetchone()
    return None if r is None else _row(r)


def find(
    conn: sqlite3.Connection, username: str | None, channel_id: int | None
) -> WatchEntry | None:
    """The active row for a reference: by key, then by the channel's id or
    username as the archive knows them (a channel added by username can be
    removed by id and the other way round)."""
    key = make_key(username, channel_id)
    hit = get(conn, key)
    if hit is not None and hit.removed_at is None:
        return hit
    ids: set[int] = set()
    names: set[str] = set()
    if channel_id is not None:
        ids.add(channel_id)
        for (u,) in conn.execute("SELECT username FROM channels WHERE id = ?", (channel_id,)):
            if u:
                names.add(str(u).lower())
    if username:
        names.add(username.lstrip("@").lower())
        for (i,) in conn.execute(
            "SELECT id FROM channels WHERE username = ? COLLATE NOCASE", (username.lstrip("@"),)
        ):
            ids.add(int(i))
    for e in active_entries(conn):
        if (e.channel_id is not None and e.channel_id in ids) or (
            e.username is not None and e.username.lower() in names
        ):
            return e
    return None


def active_entries(conn: sqlite3.Connection) -> list[WatchEntry]:
    """Every row not removed, in the order added."""
    return [
        _row(r)
        for r in conn.execute(
            f"SELECT {_COLS} FROM watchlist WHERE removed_at IS NULL ORDER BY added_at, key"
        )
    ]


def all_entries(conn: sqlite3.Connection) -> list[WatchEntry]:
    """Every row, removed ones included, in the order added."""
    return [_row(r) for r in conn.execute(f"SELECT {_COLS} FROM watchlist ORDER BY added_at, key")]


def merge_config(
    conn: sqlite3.Connection,
    entries: Iterable[tuple[str | None, int | None, Mode, str]],
) -> None:
    """Merge the config's ``(username, channel_id, mode, backfill)`` entries
    (see the module contract) in one transaction."""
    now = _now()
    keys: list[str] = []
    with _immediate(conn):
        for username, channel_id, mode, backfill in entries:
            key = make_key(username, channel_id)
            keys.append(key)
            conn.execute(
                f"INSERT INTO watchlist ({_COLS}) VALUES (?, ?, ?, ?, ?, 'config', ?, NULL) "
                "ON CONFLICT(key) DO UPDATE SET mode = excluded.mode, backfill = excluded.backfill "
                "WHERE watchlist.origin = 'config'",
                (key, username, channel_id, mode, backfill, now),
            )
        # A config entry deleted from the file leaves the watch list too.
        marks = ",".join("?" * len(keys))
        conn.execute(
            "UPDATE watchlist SET removed_at = ? WHERE origin = 'config' AND removed_at IS NULL"
            + (f" AND key NOT IN ({marks})" if keys else ""),
            (now, *keys),
        )
