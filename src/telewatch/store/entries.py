"""Posts as feed entries (``telewatch feed`` and the daemon's Atom endpoint):
the latest version of each post with its capture times and tombstone.

Read-only queries on a ``store.db.connect(path, readonly=True)`` connection.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from telewatch.store.feed import tme_url


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One post as a feed shows it. Times are archive text (UTC)."""

    channel_id: int
    message_id: int
    username: str | None
    channel_title: str | None
    date: str
    """Publication time on Telegram."""
    text: str
    """The latest version's text."""
    first_seen: str
    """When the archive first captured the post."""
    captured_at: str
    """When the archive captured the latest version (later than ``first_seen`` after an edit)."""
    version_count: int
    edit_date: str | None
    deleted_at: str | None
    """When the archive found the post deleted on Telegram (the post stays archived)."""
    media_kind: str | None
    forward_from: str | None
    hit_kinds: tuple[str, ...] = ()
    """For an alert feed: the kinds of the rule's hits on this post (new, edit, delete)."""

    @property
    def url(self) -> str:
        """The post's t.me link."""
        return tme_url(self.channel_id, self.message_id, self.username)

    @property
    def updated(self) -> str:
        """The newest archive time of the post: latest capture or deletion."""
        return max(self.captured_at, self.deleted_at or "")


_COLS = (
    "p.channel_id, p.message_id, c.username, c.title, p.date, p.text, p.first_seen,"
    " coalesce(v.captured_at, p.first_seen), p.version_count, p.edit_date, p.deleted_at,"
    " p.media_kind, coalesce(fc.title, fc.username, p.fwd_name,"
    " CAST(p.fwd_channel_id AS TEXT))"
)
_FROM = (
    " FROM posts p LEFT JOIN channels c ON c.id = p.channel_id"
    " LEFT JOIN post_versions v ON v.id = p.version_id"
    " LEFT JOIN channels fc ON fc.id = p.fwd_channel_id"
)


def _entry(r: Sequence[object], kinds: tuple[str, ...] = ()) -> FeedEntry:
    return FeedEntry(
        channel_id=int(r[0]),  # type: ignore[call-overload]
        message_id=int(r[1]),  # type: ignore[call-overload]
        username=r[2],  # type: ignore[arg-type]
        channel_title=r[3],  # type: ignore[arg-type]
        date=str(r[4]),
        text=str(r[5] or ""),
        first_seen=str(r[6]),
        captured_at=str(r[7]),
        version_count=int(r[8] or 1),  # type: ignore[call-overload]
        edit_date=r[9],  # type: ignore[arg-type]
        deleted_at=r[10],  # type: ignore[arg-type]
        media_kind=r[11],  # type: ignore[arg-type]
        forward_from=r[12],  # type: ignore[arg-type]
        hit_kinds=kinds,
    )


def channel_entries(conn: sqlite3.Connection, channel_id: int, limit: int = 50) -> list[FeedEntry]:
    """The channel's ``limit`` newest posts (by message id), newest first."""
    rows = conn.execute(
        f"SELECT {_COLS}{_FROM} WHERE p.channel_id = ? ORDER BY p.message_id DESC LIMIT ?",
        (channel_id, limit),
    ).fetchall()
    return [_entry(r) for r in rows]


def post_entries(conn: sqlite3.Connection, keys: Sequence[tuple[int, int]]) -> list[FeedEntry]:
    """The posts ``(channel_id, message_id)`` in the given order (missing ones skipped)."""
    out = []
    for cid, mid in keys:
        r = conn.execute(
            f"SELECT {_COLS}{_FROM} WHERE p.channel_id = ? AND p.message_id = ?", (cid, mid)
        ).fetchone()
        if r is not None:
            out.append(_entry(r))
    return out


def rule_names(conn: sqlite3.Connection) -> list[str]:
    """Every rule that has hits in the archive, by name."""
    return [str(r[0]) for r in conn.execute("SELECT DISTINCT rule FROM alert_hits ORDER BY rule")]


def alert_entries(conn: sqlite3.Connection, rule: str, limit: int = 50) -> list[FeedEntry]:
    """The posts rule ``rule`` fired on, most recently hit first (one entry per
    post, with the kinds of its hits)."""
    rows = conn.execute(
        "SELECT channel_id, message_id, group_concat(kind), max(id) AS last FROM alert_hits"
        " WHERE rule = ? GROUP BY channel_id, message_id ORDER BY last DESC LIMIT ?",
        (rule, limit),
    ).fetchall()
    out = []
    order = ("new", "edit", "delete")
    for cid, mid, kinds, _ in rows:
        r = conn.execute(
            f"SELECT {_COLS}{_FROM} WHERE p.channel_id = ? AND p.message_id = ?", (cid, mid)
        ).fetchone()
        if r is not None:
            got = set(str(kinds).split(","))
            out.append(_entry(r, tuple(k for k in order if k in got)))
    return out


def channel_by_username(
    conn: sqlite3.Connection, username: str
) -> tuple[int, str, str | None] | None:
    """``(id, username, title)`` of the archived channel with this current username (any case)."""
    r = conn.execute(
        "SELECT id, username, title FROM channels WHERE username = ? COLLATE NOCASE", (username,)
    ).fetchone()
    return None if r is None else (int(r[0]), str(r[1]), r[2])


def public_channels(conn: sqlite3.Connection) -> list[tuple[int, str, str | None]]:
    """``(id, username, title)`` of every archived channel with a username, by username."""
    return [
        (int(r[0]), str(r[1]), r[2])
        for r in conn.execute(
            "SELECT id, username, title FROM channels WHERE username IS NOT NULL"
            " ORDER BY username COLLATE NOCASE"
        )
    ]


def latest_post_date(conn: sqlite3.Connection) -> str | None:
    """The publication time (archive text, UTC) of the archive's newest post; None when empty."""
    r = conn.execute("SELECT max(date) FROM posts").fetchone()
    return str(r[0]) if r and r[0] else None
