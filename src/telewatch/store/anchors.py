"""Reading the archive's RFC 3161 anchors (table ``anchors``; written by the
writer from models.HeadAnchored)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class StoredAnchor:
    """One stored token: the chain record it stamps and the token as received."""

    id: int
    seq: int
    hash: str
    tsa: str
    token: bytes
    gen_time: str
    requested_at: str


def anchors(conn: sqlite3.Connection, *, upto_seq: int | None = None) -> list[StoredAnchor]:
    """Every stored anchor, oldest first (only those at or before ``upto_seq``)."""
    # No `? IS NULL` test: PostgreSQL cannot type a parameter compared only to NULL.
    where, args = ("", ()) if upto_seq is None else (" WHERE seq <= ?", (upto_seq,))
    rows = conn.execute(
        "SELECT id, seq, hash, tsa, token, gen_time, requested_at FROM anchors"
        f"{where} ORDER BY seq, id",
        args,
    ).fetchall()
    return [
        StoredAnchor(
            int(r[0]),
            int(r[1]) if isinstance(r[1], int) else -1,
            str(r[2]),
            str(r[3]),
            bytes(r[4]) if isinstance(r[4], bytes) else str(r[4]).encode(),
            str(r[5]),
            str(r[6]),
        )
        for r in rows
    ]


def last_anchored_seq(conn: sqlite3.Connection) -> int:
    """The highest chain seq any stored token stamps (0 when none)."""
    row = conn.execute("SELECT coalesce(max(seq), 0) FROM anchors").fetchone()
    return int(row[0])


def anchor_count(conn: sqlite3.Connection) -> int:
    """How many tokens the archive stores."""
    return int(conn.execute("SELECT count(*) FROM anchors").fetchone()[0])
