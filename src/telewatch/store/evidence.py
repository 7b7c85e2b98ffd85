"""What an evidence bundle needs from the archive: a post's versions with
their raw payloads, the chain records about it (and its channel and capture
sessions), the record hashes of a span of the chain, and the anchors."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

from telewatch.store.chain import decompress_raw, record_hash


@dataclass(frozen=True)
class VersionEvidence:
    """One stored version: content as stored, raw payload as received."""

    version_id: int
    version_no: int
    text: str
    entities: str | None
    media: str | None
    raw_format: str | None
    raw: bytes | None
    seq: int | None  # its chain record


def post_versions(
    conn: sqlite3.Connection, channel_id: int, message_id: int
) -> list[VersionEvidence]:
    """Every version of a post, oldest first, with raw payload and chain seq."""
    out: list[VersionEvidence] = []
    for r in conn.execute(
        "SELECT v.id, v.version_no, v.text, v.entities, v.media, p.format, p.data, c.seq"
        " FROM post_versions v LEFT JOIN raw_payloads p ON p.version_id = v.id"
        " LEFT JOIN chain c ON c.kind = 'version' AND c.ref_id = v.id"
        " WHERE v.channel_id = ? AND v.message_id = ? ORDER BY v.version_no",
        (channel_id, message_id),
    ):
        raw = decompress_raw(r[6]) if isinstance(r[6], bytes) else None
        out.append(VersionEvidence(r[0], r[1], r[2], r[3], r[4], r[5], raw, r[7]))
    return out


def related_seqs(conn: sqlite3.Connection, channel_id: int, message_id: int) -> list[int]:
    """Seqs of the records about a post: its versions, deletion, engagement
    samples, the capture sessions its versions name, and its channel's records."""
    from telewatch.store.chain import records_of_post

    seqs = set(records_of_post(conn, channel_id, message_id))
    captures = {
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT capture_id FROM post_versions WHERE channel_id=? AND message_id=?"
            " AND capture_id IS NOT NULL",
            (channel_id, message_id),
        )
    }
    for seq, rec in conn.execute(
        "SELECT seq, record FROM chain WHERE kind IN ('capture', 'channel')"
    ):
        if rec.startswith('["capture",'):
            if any(f',"{c}",' in rec for c in captures):
                seqs.add(int(seq))
        elif f'",{channel_id},' in rec[: 40 + len(str(channel_id))]:
            seqs.add(int(seq))
    return sorted(seqs)


def record_hashes(conn: sqlite3.Connection, lo: int, hi: int) -> Iterator[tuple[int, str]]:
    """(seq, sha256 of the record) for records ``lo..hi`` in order."""
    for seq, rec in conn.execute(
        "SELECT seq, record FROM chain WHERE seq BETWEEN ? AND ? ORDER BY seq", (lo, hi)
    ):
        yield int(seq), record_hash(str(rec))
