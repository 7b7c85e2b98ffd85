"""Per-channel sync state the daemon resumes from.

Written by store.writer from RangeArchived / BackfillProgressed / ChannelSeen
/ DifferenceApplied / SweepProgressed / RequestsSent events (the ``save_*``
and ``log_requests`` helpers run inside the writer's transaction); read here
on a ``db.connect()`` connection.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from telewatch.store.db import iso, now_iso, parse_iso, send
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


def stored_ranges(
    conn: sqlite3.Connection, spans: dict[int, tuple[int, int]]
) -> list[tuple[int, int, int]]:
    """(channel_id, lo_id, hi_id) of every stored range that overlaps or
    touches its channel's span [lo, hi] in ``spans``, in one statement."""
    if not spans:
        return []
    values = ",".join(["(?,?,?)"] * len(spans))
    args: list[int] = []
    for cid, (lo, hi) in spans.items():
        args += [cid, lo - 1, hi + 1]
    return [
        (int(r[0]), int(r[1]), int(r[2]))
        for r in conn.execute(
            f"WITH w(c, lo, hi) AS (VALUES {values})"
            " SELECT s.channel_id, s.lo_id, s.hi_id FROM sync_ranges s"
            " JOIN w ON s.channel_id = w.c AND s.lo_id <= w.hi AND s.hi_id >= w.lo",
            args,
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


# --------------------------------------------------------------------------
# Catch-up state (schema 3): pts per channel, the full sweep, the request log.
# --------------------------------------------------------------------------

REQUEST_LOG_KEEP = 3600.0
"""Seconds of request log kept: longer than any budget window."""


def save_pts(conn: sqlite3.Connection, channel_id: int, pts: int) -> None:
    """Write the channel's pts (inside the caller's transaction, with the
    events it covers). A lower pts than stored never replaces it."""
    conn.execute(
        "INSERT INTO channel_pts(channel_id, pts, updated_at) VALUES (?,?,?)"
        " ON CONFLICT(channel_id) DO UPDATE SET pts=excluded.pts, updated_at=excluded.updated_at"
        " WHERE excluded.pts > channel_pts.pts",
        (channel_id, int(pts), now_iso()),
    )


def save_pts_many(conn: sqlite3.Connection, pts: dict[int, int]) -> None:
    """save_pts for several channels in one executemany."""
    at = now_iso()
    send(
        conn,
        "INSERT INTO channel_pts(channel_id, pts, updated_at) VALUES (?,?,?)"
        " ON CONFLICT(channel_id) DO UPDATE SET pts=excluded.pts, updated_at=excluded.updated_at"
        " WHERE excluded.pts > channel_pts.pts",
        [(cid, int(p), at) for cid, p in pts.items()],
        many=True,
    )


def channel_pts(conn: sqlite3.Connection, channel_id: int) -> tuple[int, datetime] | None:
    """(pts, when it was saved) up to which the archive holds every update, or None."""
    r = conn.execute(
        "SELECT pts, updated_at FROM channel_pts WHERE channel_id = ?", (channel_id,)
    ).fetchone()
    return None if r is None else (int(r[0]), parse_iso(r[1]))


@dataclass(frozen=True)
class SweepState:
    """Where the full sweep of one channel stands (see schema 3)."""

    channel_id: int
    cursor: int | None
    checked: int
    pass_started: datetime | None
    last_pass_at: datetime | None
    passes: int


def save_sweep(
    conn: sqlite3.Connection, channel_id: int, cursor: int | None, checked: int, done: bool
) -> None:
    """Record sweep progress; ``done`` closes the pass (cursor back to the top)."""
    now = now_iso()
    if done:
        conn.execute(
            "INSERT INTO sweep_state(channel_id, cursor, checked, pass_started, last_pass_at,"
            " passes, updated_at) VALUES (?, NULL, 0, NULL, ?, 1, ?)"
            " ON CONFLICT(channel_id) DO UPDATE SET cursor=NULL, checked=0, pass_started=NULL,"
            " last_pass_at=excluded.last_pass_at, passes=sweep_state.passes+1, updated_at=excluded.updated_at",
            (channel_id, now, now),
        )
        return
    conn.execute(
        "INSERT INTO sweep_state(channel_id, cursor, checked, pass_started, updated_at)"
        " VALUES (?,?,?,?,?) ON CONFLICT(channel_id) DO UPDATE SET cursor=excluded.cursor,"
        " checked=excluded.checked, pass_started=coalesce(sweep_state.pass_started, excluded.pass_started),"
        " updated_at=excluded.updated_at",
        (channel_id, cursor, checked, now, now),
    )


def sweep_states(conn: sqlite3.Connection, channel_id: int | None = None) -> dict[int, SweepState]:
    """Every channel's (or one channel's) sweep state by channel id."""
    out: dict[int, SweepState] = {}
    sql = "SELECT channel_id, cursor, checked, pass_started, last_pass_at, passes FROM sweep_state"
    args: tuple[int, ...] = ()
    if channel_id is not None:
        sql += " WHERE channel_id = ?"
        args = (channel_id,)
    for r in conn.execute(sql, args):
        out[int(r[0])] = SweepState(
            int(r[0]),
            None if r[1] is None else int(r[1]),
            int(r[2]),
            parse_iso(r[3]) if r[3] else None,
            parse_iso(r[4]) if r[4] else None,
            int(r[5]),
        )
    return out


def sweep_batch(
    conn: sqlite3.Connection, channel_id: int, below: int | None, limit: int = 100
) -> list[int]:
    """The next ``limit`` archived, not deleted post ids below ``below``
    (None: from the top), newest first: what the sweep re-reads next."""
    return [
        int(r[0])
        for r in conn.execute(
            "SELECT message_id FROM posts WHERE channel_id = ? AND deleted_at IS NULL"
            " AND message_id < ? ORDER BY message_id DESC LIMIT ?",
            (channel_id, below if below is not None else 1 << 62, limit),
        )
    ]


def live_post_count(conn: sqlite3.Connection, channel_id: int) -> int:
    """Archived posts of the channel not known to be deleted."""
    r = conn.execute(
        "SELECT count(*) FROM posts WHERE channel_id = ? AND deleted_at IS NULL", (channel_id,)
    ).fetchone()
    return int(r[0])


def newest_ids(conn: sqlite3.Connection, channel_id: int, limit: int) -> list[int]:
    """The ``limit`` highest archived, not deleted post ids, newest first."""
    return [
        int(r[0])
        for r in conn.execute(
            "SELECT message_id FROM posts WHERE channel_id = ? AND deleted_at IS NULL"
            " ORDER BY message_id DESC LIMIT ?",
            (channel_id, limit),
        )
    ]


def channel_by_old_username(conn: sqlite3.Connection, username: str) -> ChannelRow | None:
    """The channel that most recently gave up ``username`` (renamed since)."""
    old = conn.execute(
        "SELECT channel_id FROM channel_changes WHERE field = 'username' "
        "AND old_value = ? COLLATE NOCASE ORDER BY captured_at DESC LIMIT 1",
        (username.lstrip("@"),),
    ).fetchone()
    return None if old is None else channel_by_id(conn, int(old[0]))


def log_requests(conn: sqlite3.Connection, requests: Sequence[tuple[str, float]]) -> None:
    """Append sent requests to the request log and prune rows past
    ``REQUEST_LOG_KEEP`` (inside the caller's transaction)."""
    if not requests:
        return
    conn.executemany("INSERT INTO request_log(method, sent_at) VALUES (?,?)", requests)
    newest = max(t for _, t in requests)
    conn.execute("DELETE FROM request_log WHERE sent_at < ?", (newest - REQUEST_LOG_KEEP,))


def recent_requests(conn: sqlite3.Connection, since: float) -> dict[str, list[float]]:
    """Requests sent at or after unix time ``since``, by method, ascending."""
    out: dict[str, list[float]] = {}
    for method, at in conn.execute(
        "SELECT method, sent_at FROM request_log WHERE sent_at >= ? ORDER BY sent_at", (since,)
    ):
        out.setdefault(str(method), []).append(float(at))
    return out


def engagement_candidates(
    conn: sqlite3.Connection, channel_id: int, since: str
) -> list[tuple[int, str, str | None]]:
    """(message_id, date, last sample time or None) of the channel's live
    posts published at or after ``since`` (archive time text): the posts
    whose engagement the daemon still samples."""
    return [
        (int(r[0]), str(r[1]), None if r[2] is None else str(r[2]))
        for r in conn.execute(
            "SELECT p.message_id, p.date, (SELECT MAX(sampled_at) FROM engagement e "
            "WHERE e.channel_id = p.channel_id AND e.message_id = p.message_id) "
            "FROM posts p WHERE p.channel_id = ? AND p.date >= ? AND p.deleted_at IS NULL",
            (channel_id, since),
        )
    ]
