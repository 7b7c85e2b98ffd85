"""Per-channel sync state the daemon resumes from (sync, read-only).

Written by store.writer from RangeArchived / BackfillProgressed / ChannelSeen
events; read here on a ``db.connect()`` connection.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from telewatch.store.db import iso, parse_iso
from telewatch.store.queries import ChannelRow, channel_row


@dataclass(frozen=True)
class BackfillState:
    """Where backfill stopped: the oldest id reached, whether the configured
    depth is reached, the estimated total, and when it was last saved."""

    channel_id: int
    oldest_id: int | None
    done: bool
    target_count: int | None
    updated_at: datetime


def archived_ranges(conn: sqlite3.Connection, channel_id: int) -> list[tuple[int, int]]:
    """Closed, merged, non-adjacent id intervals known complete, ascending."""
    return [
        (int(r[0]), int(r[1]))
        for r in conn.execute(
            "SELECT lo_id, hi_id FROM sync_ranges WHERE channel_id = ? ORDER BY lo_id",
            (channel_id,),
        )
    ]


def backfill_state(conn: sqlite3.Connection, channel_id: int) -> BackfillState | None:
    """The saved backfill cursor, or None before the first BackfillProgressed."""
    r = conn.execute(
        "SELECT backfill_oldest, backfill_done, backfill_target, updated_at FROM sync_state"
        " WHERE channel_id = ?",
        (channel_id,),
    ).fetchone()
    if r is None:
        return None
    return BackfillState(channel_id, r[0], bool(r[1]), r[2], parse_iso(r[3]))


def max_message_id(conn: sqlite3.Connection, channel_id: int) -> int | None:
    """The highest message id archived for the channel (deleted ones count)."""
    r = conn.execute(
        "SELECT max(message_id) FROM posts WHERE channel_id = ?", (channel_id,)
    ).fetchone()
    return None if r[0] is None else int(r[0])


def recent_message_ids(conn: sqlite3.Connection, channel_id: int, since: datetime) -> list[int]:
    """Ids of archived, not deleted posts published at or after ``since``,
    ascending (the daemon re-checks these for edits and deletions)."""
    return [
        int(r[0])
        for r in conn.execute(
            "SELECT message_id FROM posts WHERE channel_id = ? AND date >= ?"
            " AND deleted_at IS NULL ORDER BY message_id",
            (channel_id, iso(since)),
        )
    ]


def channel_by_username(conn: sqlite3.Connection, username: str) -> ChannelRow | None:
    """The channel currently holding ``username`` (case-insensitive, '@' ok)."""
    r = conn.execute(
        "SELECT * FROM channels WHERE username = ? COLLATE NOCASE", (username.lstrip("@"),)
    ).fetchone()
    return None if r is None else channel_row(r)


def channel_by_id(conn: sqlite3.Connection, channel_id: int) -> ChannelRow | None:
    """The channel with this bare id, or None."""
    r = conn.execute("SELECT * FROM channels WHERE id = ?", (channel_id,)).fetchone()
    return None if r is None else channel_row(r)
