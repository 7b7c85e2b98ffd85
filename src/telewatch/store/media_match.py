"""Posts that carry the same picture: exact (same SHA-256) and perceptual
(pHash within a distance) matches over the media references.

The media store (store/media.py) says which post version carries which
stored file (``media_refs``); store/phash.py says which files look alike.
This module joins the two for ``trace`` (xref/media.py), ``search --media``
and the media lines of ``show``/``export``/the dashboard. Reads only.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telewatch.store import chain, media, phash


@dataclass(frozen=True, slots=True)
class MediaItem:
    """One stored media file of a post version, with its perceptual hash."""

    channel_id: int
    message_id: int
    version_no: int
    role: str  # file | thumb
    kind: str | None
    mime: str | None
    size: int | None
    sha256: str
    path: str | None  # relative to the media root
    phash: int | None


@dataclass(frozen=True, slots=True)
class MediaMatch:
    """A post version whose media ``item`` matches the query file
    ``query_sha256``: ``distance`` 0 with ``exact`` for the same bytes, else
    the pHash distance in bits."""

    item: MediaItem
    query_sha256: str
    distance: int
    exact: bool


_ITEM_COLS = (
    "r.channel_id, r.message_id, r.version_no, r.role, r.kind, coalesce(f.mime, r.mime),"
    " coalesce(f.size, r.size), r.sha256, f.path, h.phash"
)
_ITEM_FROM = (
    " FROM media_refs r JOIN media_files f ON f.sha256 = r.sha256"
    " LEFT JOIN media_phash h ON h.sha256 = r.sha256"
)


def _item(row: Sequence[Any]) -> MediaItem:
    ph = row[9]
    return MediaItem(
        int(row[0]),
        int(row[1]),
        int(row[2]),
        str(row[3]),
        row[4] if isinstance(row[4], str) else None,
        row[5] if isinstance(row[5], str) else None,
        row[6] if isinstance(row[6], int) else None,
        str(row[7]),
        row[8] if isinstance(row[8], str) else None,
        phash.from_hex(ph) if isinstance(ph, str) else None,
    )


def stored_media_of_post(
    conn: sqlite3.Connection, channel_id: int, message_id: int
) -> list[MediaItem]:
    """Every stored file of every version of a post (version order, file
    before thumb)."""
    return [
        _item(r)
        for r in conn.execute(
            f"SELECT {_ITEM_COLS}{_ITEM_FROM} WHERE r.channel_id = ? AND r.message_id = ?"
            " AND r.state = 'stored' ORDER BY r.version_no, r.role",
            (channel_id, message_id),
        )
    ]


def items_with_sha(conn: sqlite3.Connection, sha256s: Iterable[str]) -> list[MediaItem]:
    """Every stored reference to any of the files ``sha256s``."""
    shas = list(dict.fromkeys(s.lower() for s in sha256s))
    out: list[MediaItem] = []
    for start in range(0, len(shas), 500):
        chunk = shas[start : start + 500]
        marks = ",".join("?" * len(chunk))
        out.extend(
            _item(r)
            for r in conn.execute(
                f"SELECT {_ITEM_COLS}{_ITEM_FROM} WHERE r.sha256 IN ({marks})"
                " AND r.state = 'stored' ORDER BY r.channel_id, r.message_id, r.version_no",
                chunk,
            )
        )
    return out


def matches_of_file(
    conn: sqlite3.Connection,
    sha256: str | None,
    h: int | None,
    max_distance: int = phash.NEAR_DISTANCE,
    *,
    limit: int = 1000,
) -> list[MediaMatch]:
    """Posts carrying the file ``sha256`` (exact, distance 0), then posts
    carrying a file whose pHash is within ``max_distance`` of ``h`` (nearest
    first). Either may be None (a file not in the archive has only ``h``; a
    file that is not an image only ``sha256``)."""
    query = sha256.lower() if sha256 else ""
    out: list[MediaMatch] = []
    seen: set[tuple[int, int, int, str]] = set()
    if sha256:
        for it in items_with_sha(conn, [query]):
            seen.add((it.channel_id, it.message_id, it.version_no, it.role))
            out.append(MediaMatch(it, query, 0, True))
    if h is not None:
        near = phash.neighbours(conn, h, max_distance, limit=limit)
        dist = {n.sha256: n.distance for n in near if n.sha256 != query}
        found = [it for it in items_with_sha(conn, dist) if it.sha256 in dist]
        found.sort(key=lambda it: (dist[it.sha256], it.channel_id, it.message_id, it.version_no))
        for it in found:
            key = (it.channel_id, it.message_id, it.version_no, it.role)
            if key not in seen:
                seen.add(key)
                out.append(MediaMatch(it, query, dist[it.sha256], False))
    return out[:limit]


def version_with_content(
    conn: sqlite3.Connection, channel_id: int, message_id: int, content_hash: str
) -> int | None:
    """The number of the post's version with this content hash (the newest
    when several), or None."""
    row = conn.execute(
        "SELECT max(version_no) FROM post_versions WHERE channel_id = ? AND message_id = ?"
        " AND content_hash = ?",
        (channel_id, message_id, content_hash),
    ).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def unhashed_images(
    conn: sqlite3.Connection, after: str = "", limit: int = 1000
) -> list[tuple[str, str]]:
    """(sha256, path) of stored image files without a perceptual hash, in
    sha256 order after ``after`` (a cursor, so unreadable files are passed)."""
    return [
        (str(r[0]), str(r[1]))
        for r in conn.execute(
            "SELECT f.sha256, f.path FROM media_files f"
            " LEFT JOIN media_phash h ON h.sha256 = f.sha256"
            " WHERE h.sha256 IS NULL AND f.mime LIKE 'image/%' AND f.sha256 > ?"
            " ORDER BY f.sha256 LIMIT ?",
            (after, limit),
        )
    ]


@dataclass
class HashingDone:
    """What ``hash_stored_images`` did: images hashed, images that could not
    be decoded or read (left without a hash), seconds."""

    hashed: int = 0
    unreadable: int = 0
    seconds: float = 0.0


def hash_stored_images(
    conn: sqlite3.Connection,
    root: Path,
    *,
    limit: int | None = None,
    batch: int = 200,
    progress: Callable[[int], None] | None = None,
) -> HashingDone:
    """Compute the perceptual hash of every stored image that has none (files
    stored before hashing existed, or by a path that does not hash) and
    record each (chained) in short ``BEGIN IMMEDIATE`` transactions on the
    writable connection ``conn``: safe while the daemon runs; an interrupted
    run keeps what it recorded. Files are decoded outside the transactions."""
    started = time.monotonic()
    done = HashingDone()
    after = ""
    while limit is None or done.hashed + done.unreadable < limit:
        want = batch if limit is None else min(batch, limit - done.hashed - done.unreadable)
        rows = unhashed_images(conn, after, want)
        if not rows:
            break
        after = rows[-1][0]
        computed = [(sha, phash.compute(Path(root) / rel)) for sha, rel in rows]
        conn.execute("BEGIN IMMEDIATE")
        try:
            app = chain.Appender(conn)
            for sha, h in computed:
                if h is None:
                    done.unreadable += 1
                elif phash.record(conn, phash.PerceptualHash(sha, h), app):
                    done.hashed += 1
            app.flush(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        if progress:
            progress(done.hashed)
    done.seconds = time.monotonic() - started
    return done


@dataclass(frozen=True, slots=True)
class MediaHit:
    """A post found by its media (``search --media``): the match and the post."""

    match: MediaMatch
    username: str | None
    title: str | None
    date: str  # publication time (archive time text)
    text: str
    deleted_at: str | None


def hits(
    conn: sqlite3.Connection,
    matches: Sequence[MediaMatch],
    *,
    channel_id: int | None = None,
    since: str | None = None,
    until: str | None = None,
) -> list[MediaHit]:
    """The posts of ``matches`` (in their order), those of ``channel_id``
    published in [since, until) only, each post once (its best match)."""
    out: list[MediaHit] = []
    seen: set[tuple[int, int]] = set()
    for m in matches:
        key = (m.item.channel_id, m.item.message_id)
        if key in seen or (channel_id is not None and key[0] != channel_id):
            continue
        row = conn.execute(
            "SELECT c.username, c.title, p.date, p.text, p.deleted_at FROM posts p"
            " LEFT JOIN channels c ON c.id = p.channel_id"
            " WHERE p.channel_id = ? AND p.message_id = ?",
            key,
        ).fetchone()
        if row is None or (since and row[2] < since) or (until and row[2] >= until):
            continue
        seen.add(key)
        out.append(MediaHit(m, row[0], row[1], str(row[2]), str(row[3] or ""), row[4]))
    return out


class MediaByPost:
    """The stored media of the version each post shows, for a stream of
    posts read in (channel_id, message_id) order (``export``): one ordered
    query merged alongside the posts, not one query per post. ``where`` and
    ``args`` filter ``posts p`` as the posts' own query does."""

    def __init__(self, conn: sqlite3.Connection, where: Sequence[str], args: Sequence[object]):
        sql = (
            "SELECT r.channel_id, r.message_id, r.role, r.kind, f.mime, f.size, r.sha256, f.path"
            " FROM posts p JOIN post_versions v ON v.id = p.version_id"
            " JOIN media_refs r ON r.channel_id = p.channel_id AND r.message_id = p.message_id"
            " AND r.version_no = v.version_no AND r.state = 'stored'"
            " JOIN media_files f ON f.sha256 = r.sha256"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + " ORDER BY p.channel_id, p.message_id, r.role"
        )
        self._rows = iter(conn.execute(sql, list(args)))
        self._next = next(self._rows, None)

    def of(self, channel_id: int, message_id: int) -> list[dict[str, object]]:
        """[{sha256, path, mime, size, kind, role}] of this post (call in
        the posts' order; ``path`` is relative to the media root)."""
        key = (channel_id, message_id)
        out: list[dict[str, object]] = []
        while self._next is not None and (self._next[0], self._next[1]) <= key:
            r = self._next
            if (r[0], r[1]) == key:
                out.append({"sha256": r[6], "path": r[7], "mime": r[4], "size": r[5],
                            "kind": r[3], "role": r[2]})  # fmt: skip
            self._next = next(self._rows, None)
        return out


def media_entries(
    conn: sqlite3.Connection, channel_id: int, message_id: int
) -> list[dict[str, object]]:
    """A post's media references as shown (``show``, ``trace``, the
    dashboard): for each version's file and thumbnail its state (stored,
    not_in_export, lost, queued, skipped) and reason, and when stored the
    SHA-256, size, mime, path in the media store (relative to its root) and
    perceptual hash."""
    hashes = {
        it.sha256: it.phash
        for it in stored_media_of_post(conn, channel_id, message_id)
        if it.phash is not None
    }
    out: list[dict[str, object]] = []
    for r in media.refs_of_post(conn, channel_id, message_id):
        h = hashes.get(r.sha256 or "")
        out.append(
            {
                "version": r.version_no,
                "role": r.role,
                "kind": r.kind,
                "state": r.state,
                "reason": r.reason,
                "sha256": r.sha256,
                "size": r.size,
                "mime": r.mime,
                "path": r.path,
                "phash": phash.to_hex(h) if h is not None else None,
            }
        )
    return out
