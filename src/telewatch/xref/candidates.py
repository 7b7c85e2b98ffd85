"""All of xref's SQL: channels, candidate posts, versions, embeddings cache.

Reads go through a ``store.db.connect(path, readonly=True)`` connection
(sqlite3, Row factory) and use the indexes of the schema: ``posts(channel_id,
date)`` for cited channels, ``posts(date)`` for vague citations, the FTS
index through ``store.queries.search`` when it is present. Embeddings are
read and written through ``store.embeddings`` (xref.semantic); the watch list
through ``store.watchlist``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from telewatch.store import comments


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """A channel of the archive (bare id)."""

    id: int
    username: str | None
    title: str | None


@dataclass(slots=True)
class PostRow:
    """A post as xref sees it (latest version plus history flags)."""

    rowid: int
    channel_id: int
    message_id: int
    date: datetime
    text: str
    lang: str | None
    edit_date: str | None
    version_count: int
    deleted_at: str | None
    fwd_name: str | None
    fwd_channel_id: int | None
    fwd_message_id: int | None
    version_id: int | None
    username: str | None
    title: str | None
    older_texts: tuple[str, ...] = ()
    # Every version, oldest first: (version id, text, time it became current).
    versions: tuple[tuple[int, str, datetime], ...] = ()

    def texts(self) -> tuple[str, ...]:
        """The text of every version, oldest first (the latest alone when unedited)."""
        return tuple(v[1] for v in self.versions) if self.versions else (self.text,)

    def version_at(self, when: datetime | None) -> tuple[int | None, str]:
        """(version id, text) of the version current at ``when``: the last one
        that became current at or before it (the first version when all came
        later); the latest when ``when`` is None or the post was never edited."""
        if when is None or not self.versions:
            return self.version_id, self.text
        current = self.versions[0]
        for v in self.versions[1:]:
            if v[2] <= when:
                current = v
        return current[0], current[1]


def iso(dt: datetime) -> str:
    """The schema's time format: ``YYYY-MM-DDTHH:MM:SSZ`` (UTC)."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> datetime:
    """Inverse of ``iso``."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def list_channels(conn: sqlite3.Connection) -> list[ChannelInfo]:
    """Every archived channel."""
    rows = conn.execute("SELECT id, username, title FROM channels ORDER BY id").fetchall()
    return [ChannelInfo(r[0], r[1], r[2]) for r in rows]


_POST_COLS = """p.id, p.channel_id, p.message_id, p.date, p.text, p.lang, p.edit_date,
    p.version_count, p.deleted_at, p.fwd_name, p.fwd_channel_id, p.fwd_message_id,
    p.version_id, c.username, c.title"""


def _row(r: Sequence[object]) -> PostRow:
    return PostRow(
        rowid=int(r[0]),  # type: ignore[call-overload]
        channel_id=int(r[1]),  # type: ignore[call-overload]
        message_id=int(r[2]),  # type: ignore[call-overload]
        date=parse_iso(str(r[3])),
        text=str(r[4] or ""),
        lang=r[5],  # type: ignore[arg-type]
        edit_date=r[6],  # type: ignore[arg-type]
        version_count=int(r[7] or 1),  # type: ignore[call-overload]
        deleted_at=r[8],  # type: ignore[arg-type]
        fwd_name=r[9],  # type: ignore[arg-type]
        fwd_channel_id=r[10],  # type: ignore[arg-type]
        fwd_message_id=r[11],  # type: ignore[arg-type]
        version_id=r[12],  # type: ignore[arg-type]
        username=r[13],  # type: ignore[arg-type]
        title=r[14],  # type: ignore[arg-type]
    )


def posts_in_window(
    conn: sqlite3.Connection,
    start: datetime,
    end: datetime,
    channel_ids: Iterable[int] | None = None,
    limit: int = 20000,
) -> list[PostRow]:
    """Non-empty posts dated in ``[start, end]``, optionally of some channels.
    Messages of discussion groups (comments and the groups' copies of the
    posts, store/comments.py) are never candidates."""
    ids = sorted(set(channel_ids)) if channel_ids is not None else None
    sql = f"SELECT {_POST_COLS} FROM posts p JOIN channels c ON c.id = p.channel_id "
    params: list[object] = []
    if ids:
        sql += f"WHERE p.channel_id IN ({','.join('?' * len(ids))}) AND "
        params.extend(ids)
    else:
        sql += "WHERE "
    sql += "p.date >= ? AND p.date <= ? AND p.text != '' ORDER BY p.date LIMIT ?"
    params.extend([iso(start), iso(end), limit])
    groups = set(comments.group_ids(conn))
    return [
        row
        for r in conn.execute(sql, params).fetchall()
        if (row := _row(r)).channel_id not in groups
    ]


def get_post(conn: sqlite3.Connection, channel_id: int, message_id: int) -> PostRow | None:
    """One post, or None."""
    r = conn.execute(
        f"SELECT {_POST_COLS} FROM posts p JOIN channels c ON c.id = p.channel_id "
        "WHERE p.channel_id = ? AND p.message_id = ?",
        (channel_id, message_id),
    ).fetchone()
    return _row(r) if r else None


def attach_versions(conn: sqlite3.Connection, posts: Iterable[PostRow]) -> None:
    """Fill ``versions`` and ``older_texts`` of edited posts (oldest first).

    A version became current at the post's date (the first) or at its edit
    date (Telegram's ``edit_date``; when unknown, its capture time)."""
    for p in posts:
        if p.version_count > 1 and not p.versions:
            rows = conn.execute(
                "SELECT id, text, edit_date, captured_at FROM post_versions "
                "WHERE channel_id = ? AND message_id = ? ORDER BY version_no",
                (p.channel_id, p.message_id),
            ).fetchall()
            p.versions = tuple(
                (
                    int(r[0]),
                    str(r[1]),
                    p.date if i == 0 else parse_iso(str(r[2] or r[3])),
                )
                for i, r in enumerate(rows)
            )
            p.older_texts = tuple(v[1] for v in p.versions[:-1])


def forwards_of(
    conn: sqlite3.Connection, channel_id: int, message_id: int, title: str | None
) -> list[PostRow]:
    """Posts whose forward header points at the post: by id when Telegram gave
    it, else by the origin's display name (Desktop exports)."""
    sql = (
        f"SELECT {_POST_COLS} FROM posts p JOIN channels c ON c.id = p.channel_id "
        "WHERE p.fwd_channel_id = ? AND p.fwd_message_id = ?"
    )
    rows = conn.execute(sql, (channel_id, message_id)).fetchall()
    out = [_row(r) for r in rows]
    if title:
        sql2 = (
            f"SELECT {_POST_COLS} FROM posts p JOIN channels c ON c.id = p.channel_id "
            "WHERE p.fwd_name = ? AND p.fwd_message_id IS NULL"
        )
        out.extend(_row(r) for r in conn.execute(sql2, (title,)).fetchall())
    return out


def recent_texts(
    conn: sqlite3.Connection, channel_id: int, before: datetime, n: int = 200
) -> list[str]:
    """The channel's last ``n`` post texts before ``before`` (signature detection)."""
    rows = conn.execute(
        "SELECT text FROM posts WHERE channel_id = ? AND date <= ? AND text != '' "
        "ORDER BY date DESC LIMIT ?",
        (channel_id, iso(before), n),
    ).fetchall()
    return [str(r[0]) for r in rows]


def add_to_watchlist(conn: sqlite3.Connection, usernames: Iterable[str]) -> list[str]:
    """Add usernames to the daemon's watch list (origin ``xref``) through
    ``store.watchlist``; returns the usernames added."""
    from telewatch.store import watchlist

    added = []
    for u in dict.fromkeys(n.lower().lstrip("@") for n in usernames):
        watchlist.add(conn, username=u, channel_id=None, origin="xref")
        added.append(u)
    return added


def tme_refs(raw: str | None) -> list[dict[str, object]]:
    """The ``posts.tme_refs`` JSON column as a list."""
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        return []
    return value if isinstance(value, list) else []
