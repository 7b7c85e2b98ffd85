"""All of xref's SQL: channels, candidate posts, versions, embeddings cache.

Reads go through a ``store.db.connect(path, readonly=True)`` connection
(sqlite3, Row factory) and use the indexes of the schema: ``posts(channel_id,
date)`` for cited channels, ``posts(date)`` for vague citations, the FTS
index through ``store.queries.search`` when it is present. The one write is
the embeddings cache (``store_embeddings``): a short ``BEGIN IMMEDIATE``
transaction on a writable connection.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime


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
    """Non-empty posts dated in ``[start, end]``, optionally of some channels."""
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
    return [_row(r) for r in conn.execute(sql, params).fetchall()]


def get_post(conn: sqlite3.Connection, channel_id: int, message_id: int) -> PostRow | None:
    """One post, or None."""
    r = conn.execute(
        f"SELECT {_POST_COLS} FROM posts p JOIN channels c ON c.id = p.channel_id "
        "WHERE p.channel_id = ? AND p.message_id = ?",
        (channel_id, message_id),
    ).fetchone()
    return _row(r) if r else None


def attach_versions(conn: sqlite3.Connection, posts: Iterable[PostRow]) -> None:
    """Fill ``older_texts`` of edited posts (earlier versions, oldest first)."""
    for p in posts:
        if p.version_count > 1:
            rows = conn.execute(
                "SELECT text FROM post_versions WHERE channel_id = ? AND message_id = ? "
                "ORDER BY version_no",
                (p.channel_id, p.message_id),
            ).fetchall()
            p.older_texts = tuple(str(r[0]) for r in rows[:-1])


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


def cached_embeddings(
    conn: sqlite3.Connection, version_ids: Iterable[int], model: str
) -> dict[int, bytes]:
    """Cached vectors by version id."""
    ids = sorted(set(version_ids))
    out: dict[int, bytes] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        rows = conn.execute(
            f"SELECT version_id, vector FROM embeddings WHERE model = ? "
            f"AND version_id IN ({','.join('?' * len(chunk))})",
            [model, *chunk],
        ).fetchall()
        out.update({int(r[0]): bytes(r[1]) for r in rows})
    return out


def store_embeddings(conn: sqlite3.Connection, model: str, vectors: dict[int, bytes]) -> None:
    """Write vectors to the cache in one short ``BEGIN IMMEDIATE`` transaction."""
    if not vectors:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(
            "INSERT OR IGNORE INTO embeddings(version_id, model, vector) VALUES (?, ?, ?)",
            [(vid, model, vec) for vid, vec in vectors.items()],
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


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
