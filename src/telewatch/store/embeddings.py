"""The ``embeddings`` table: one vector per post *version* and model.

xref's dense retrieval reads the vectors of its candidate posts here (never
computing thousands at query time); ``telewatch embed`` and the lazy cache of
``xref`` fill it. Vectors are float32 little-endian blobs. Writes are short
``BEGIN IMMEDIATE`` transactions on a writable (autocommit) connection, so a
running daemon or dashboard is not held up (WAL).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

_CHUNK = 500


def get(conn: sqlite3.Connection, model: str, version_ids: Iterable[int]) -> dict[int, bytes]:
    """Stored vectors by version id (ids without one are absent)."""
    ids = sorted(set(version_ids))
    out: dict[int, bytes] = {}
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        rows = conn.execute(
            f"SELECT version_id, vector FROM embeddings WHERE model = ? "
            f"AND version_id IN ({','.join('?' * len(chunk))})",
            [model, *chunk],
        ).fetchall()
        out.update({int(r[0]): bytes(r[1]) for r in rows})
    return out


def put(conn: sqlite3.Connection, model: str, vectors: dict[int, bytes]) -> None:
    """Store vectors in one short ``BEGIN IMMEDIATE`` transaction (existing ones kept)."""
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


def put_if_writable(conn: sqlite3.Connection, model: str, vectors: dict[int, bytes]) -> bool:
    """``put``, or nothing on a read-only connection (or a read-only archive
    file); True when stored."""
    try:
        put(conn, model, vectors)
    except sqlite3.OperationalError:
        return False
    return True


def missing(
    conn: sqlite3.Connection, model: str, *, after_id: int = 0, limit: int = 256
) -> list[tuple[int, str]]:
    """Up to ``limit`` (version id, text) of non-empty post versions with id
    > ``after_id`` that have no vector for ``model``, oldest first (so a
    backfill can page through the archive by ``after_id``)."""
    rows = conn.execute(
        "SELECT v.id, v.text FROM post_versions v "
        "WHERE v.id > ? AND v.text != '' AND NOT EXISTS "
        "(SELECT 1 FROM embeddings e WHERE e.version_id = v.id AND e.model = ?) "
        "ORDER BY v.id LIMIT ?",
        (after_id, model, limit),
    ).fetchall()
    return [(int(r[0]), str(r[1])) for r in rows]


def missing_ids(
    conn: sqlite3.Connection, model: str, *, after_id: int = 0, limit: int = 256
) -> list[int]:
    """The version ids ``missing`` returns, without reading their text (so
    that a batch that cannot be read or embedded can be stepped over)."""
    rows = conn.execute(
        "SELECT v.id FROM post_versions v "
        "WHERE v.id > ? AND v.text != '' AND NOT EXISTS "
        "(SELECT 1 FROM embeddings e WHERE e.version_id = v.id AND e.model = ?) "
        "ORDER BY v.id LIMIT ?",
        (after_id, model, limit),
    ).fetchall()
    return [int(r[0]) for r in rows]


def last_version_id(conn: sqlite3.Connection) -> int:
    """The highest post version id committed so far (0 for none). A version
    inserted later gets a higher id (``post_versions.id`` grows with capture
    order), so a scan for missing vectors may resume from here."""
    row = conn.execute("SELECT max(id) FROM post_versions").fetchone()
    return int(row[0] or 0)


def counts(conn: sqlite3.Connection, model: str) -> tuple[int, int]:
    """(versions with text, versions with a vector for ``model``)."""
    total = conn.execute("SELECT count(*) FROM post_versions WHERE text != ''").fetchone()[0]
    done = conn.execute("SELECT count(*) FROM embeddings WHERE model = ?", (model,)).fetchone()[0]
    return int(total), int(done)
