"""The reads of ``xref`` and ``trace`` (xref/candidates.py turns the rows
into ``PostRow`` objects): channels, candidate posts in a time window,
one post, its versions, forwards of a post, a channel's recent texts.

Every query uses an index of the schema: ``posts(channel_id, date)`` for a
cited channel's window, ``posts(date)`` for a whole window, the
``(channel_id, message_id)`` key for one post and its versions. Times are
the schema's ``YYYY-MM-DDTHH:MM:SSZ`` strings (they sort as text).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import TypeAlias

# The connection type xref passes around (so that xref itself needs no sqlite3).
Connection: TypeAlias = sqlite3.Connection

# The columns of a candidate post row, in this order (xref.candidates._row).
POST_COLS = """p.id, p.channel_id, p.message_id, p.date, p.text, p.lang, p.edit_date,
    p.version_count, p.deleted_at, p.fwd_name, p.fwd_channel_id, p.fwd_message_id,
    p.version_id, c.username, c.title"""

_FROM = f"SELECT {POST_COLS} FROM posts p JOIN channels c ON c.id = p.channel_id "
_CHUNK = 500


def channels(conn: sqlite3.Connection) -> list[tuple[int, str | None, str | None]]:
    """(id, username, title) of every archived channel, by id."""
    rows = conn.execute("SELECT id, username, title FROM channels ORDER BY id").fetchall()
    return [(int(r[0]), r[1], r[2]) for r in rows]


def channel_id_by_title(conn: sqlite3.Connection, title: str) -> int | None:
    """The id of a channel with this exact title (a forward's display name), or None."""
    row = conn.execute("SELECT id FROM channels WHERE title = ?", (title,)).fetchone()
    return None if row is None else int(row[0])


def posts_in_window(
    conn: sqlite3.Connection,
    start: str,
    end: str,
    channel_ids: Iterable[int] | None = None,
    limit: int = 20000,
) -> list[Sequence[object]]:
    """Rows (``POST_COLS``) of non-empty posts dated in ``[start, end]``,
    optionally only of some channels, oldest first. Messages of discussion
    groups (comments and the groups' copies of the posts, store/comments.py)
    are never candidates."""
    ids = sorted(set(channel_ids)) if channel_ids is not None else None
    sql = _FROM
    params: list[object] = []
    if ids:
        sql += f"WHERE p.channel_id IN ({','.join('?' * len(ids))}) AND "
        params.extend(ids)
    else:
        sql += "WHERE "
    sql += (
        "p.channel_id NOT IN (SELECT group_id FROM discussion_links) "
        "AND p.date >= ? AND p.date <= ? AND p.text != '' ORDER BY p.date LIMIT ?"
    )
    params.extend([start, end, limit])
    return list(conn.execute(sql, params).fetchall())


def post(conn: sqlite3.Connection, channel_id: int, message_id: int) -> Sequence[object] | None:
    """One post's row (``POST_COLS``), or None."""
    row = conn.execute(
        _FROM + "WHERE p.channel_id = ? AND p.message_id = ?", (channel_id, message_id)
    ).fetchone()
    return None if row is None else tuple(row)


def versions(
    conn: sqlite3.Connection, keys: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], list[tuple[int, str, str | None, str]]]:
    """Every version of each (channel id, message id), oldest first:
    (version id, text, edit date, captured at). A few queries for any
    number of posts (one per channel and chunk of message ids)."""
    by_channel: dict[int, list[int]] = {}
    for ch, mid in set(keys):
        by_channel.setdefault(ch, []).append(mid)
    out: dict[tuple[int, int], list[tuple[int, str, str | None, str]]] = {}
    for ch, mids in by_channel.items():
        mids.sort()
        for i in range(0, len(mids), _CHUNK):
            chunk = mids[i : i + _CHUNK]
            rows = conn.execute(
                "SELECT message_id, id, text, edit_date, captured_at FROM post_versions "
                f"WHERE channel_id = ? AND message_id IN ({','.join('?' * len(chunk))}) "
                "ORDER BY message_id, version_no",
                [ch, *chunk],
            ).fetchall()
            for r in rows:
                out.setdefault((ch, int(r[0])), []).append((int(r[1]), str(r[2]), r[3], str(r[4])))
    return out


def forwards_of(
    conn: sqlite3.Connection, channel_id: int, message_id: int, title: str | None
) -> list[Sequence[object]]:
    """Rows (``POST_COLS``) of posts whose forward header points at the post:
    by id when Telegram gave it, else (``title`` given) by the origin's
    display name (Desktop exports know only that)."""
    rows = list(
        conn.execute(
            _FROM + "WHERE p.fwd_channel_id = ? AND p.fwd_message_id = ?",
            (channel_id, message_id),
        ).fetchall()
    )
    if title:
        rows.extend(
            conn.execute(
                _FROM + "WHERE p.fwd_name = ? AND p.fwd_message_id IS NULL", (title,)
            ).fetchall()
        )
    return rows


def recent_texts(conn: sqlite3.Connection, channel_id: int, before: str, n: int) -> list[str]:
    """The channel's last ``n`` non-empty post texts dated at or before ``before``."""
    rows = conn.execute(
        "SELECT text FROM posts WHERE channel_id = ? AND date <= ? AND text != '' "
        "ORDER BY date DESC LIMIT ?",
        (channel_id, before, n),
    ).fetchall()
    return [str(r[0]) for r in rows]
