"""Tamper evidence: every version and deletion record is appended to a
sha256 hash chain (table ``chain``), and ``verify`` recomputes it.

Canonical encodings (docs/SCHEMA.md repeats them for outside verifiers):

* content hash of a version = ``sha256(json([text, entities, media]))`` where
  ``entities``/``media`` are the stored JSON strings (or null);
* a version record = the tab-separated fields ``version``, channel_id,
  message_id, version_no, content_hash, edit_date (empty when NULL),
  captured_at, source;
* a deletion record = ``deletion``, channel_id, message_id, detected_at,
  method, tab-separated;
* ``hash = sha256(prev_hash + record)`` as lowercase hex, UTF-8; the first
  record's ``prev_hash`` is 64 zeros.

``json`` means ``json.dumps(..., sort_keys=True, separators=(",", ":"),
ensure_ascii=False)``. Record fields are integers, hex digests, archive
times and fixed words, so they never contain a tab: the records need no
escaping (and are cheap enough to chain 100,000 versions a second).
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from json.encoder import encode_basestring

GENESIS = "0" * 64
# The string encoder json.dumps(..., ensure_ascii=False) applies to a str.
_json_str = encode_basestring


def content_hash(text: str, entities: str | None, media: str | None) -> str:
    """sha256 hex of a version's canonical content (stored JSON strings)."""
    if isinstance(text, str) and _str_or_none(entities) and _str_or_none(media):
        # The canonical JSON of a list of strings/nulls, spelled out: the
        # encoder json.dumps uses for each string, without building an encoder
        # per call (half the cost; tests/unit/test_store_chain.py checks it
        # against json.dumps).
        canonical = f"[{_json_str(text)},{_json_or_null(entities)},{_json_or_null(media)}]"
    else:  # a tampered row (verify) may hold blobs: hashed, never a crash
        canonical = repr((text, entities, media))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _str_or_none(value: object) -> bool:
    return value is None or isinstance(value, str)


def _json_or_null(value: str | None) -> str:
    return "null" if value is None else _json_str(value)


def version_record(
    channel_id: int,
    message_id: int,
    version_no: int,
    chash: str,
    edit_date: str | None,
    captured_at: str,
    source: str,
) -> str:
    """Canonical encoding of one post_versions row."""
    return (
        f"version\t{channel_id}\t{message_id}\t{version_no}\t{chash}\t{edit_date or ''}"
        f"\t{captured_at}\t{source}"
    )


def deletion_record(channel_id: int, message_id: int, detected_at: str, method: str) -> str:
    """Canonical encoding of one deletions row."""
    return f"deletion\t{channel_id}\t{message_id}\t{detected_at}\t{method}"


def link(prev_hash: str, record: str) -> str:
    """The chain hash of ``record`` following ``prev_hash``."""
    return hashlib.sha256((prev_hash + record).encode()).hexdigest()


def chain_head(conn: sqlite3.Connection) -> tuple[int, str]:
    """(last seq, last hash) of the chain; (0, GENESIS) when empty."""
    row = conn.execute("SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1").fetchone()
    return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of ``verify``: ``ok`` or the first problem found, in words."""

    ok: bool
    records: int
    versions: int
    deletions: int
    problem: str | None = None
    seq: int | None = None


def verify(conn: sqlite3.Connection) -> VerifyResult:
    """Recompute every content hash and chain link in order.

    Names the first chain record that does not match (a changed text, a
    removed or reordered record, a forged hash) and any version/deletion row
    that is missing from the chain. Reads only."""
    prev = GENESIS
    n = 0
    seen_v: set[int] = set()
    seen_d: set[int] = set()
    rows = conn.execute(
        "SELECT c.seq, c.kind, c.ref_id, c.prev_hash, c.hash,"
        " v.channel_id, v.message_id, v.version_no, v.text, v.entities, v.media,"
        " v.content_hash, v.edit_date, v.captured_at, v.source,"
        " d.channel_id, d.message_id, d.detected_at, d.method"
        " FROM chain c"
        " LEFT JOIN post_versions v ON c.kind = 'version' AND v.id = c.ref_id"
        " LEFT JOIN deletions d ON c.kind = 'deletion' AND d.id = c.ref_id"
        " ORDER BY c.seq"
    )
    for r in rows:
        seq, kind, ref = int(r[0]), str(r[1]), int(r[2])
        n += 1

        def bad(why: str, seq: int = seq, n: int = n) -> VerifyResult:
            return VerifyResult(
                False, n, len(seen_v), len(seen_d), f"chain record {seq}: {why}", seq
            )

        if r[3] != prev:
            return bad(
                f"prev_hash does not match record {seq - 1}'s hash (records removed or reordered)"
            )
        if kind == "version":
            if r[5] is None:
                return bad(f"post version {ref} is missing")
            where = f"version {r[7]} of post {r[5]}/{r[6]} (post_versions.id {ref})"
            if content_hash(r[8], r[9], r[10]) != r[11]:
                return bad(f"{where}: text, entities or media changed after capture")
            rec = version_record(r[5], r[6], r[7], r[11], r[12], r[13], r[14])
            seen_v.add(ref)
        else:
            if r[15] is None:
                return bad(f"deletion {ref} is missing")
            where = f"deletion of post {r[15]}/{r[16]} (deletions.id {ref})"
            rec = deletion_record(r[15], r[16], r[17], r[18])
            seen_d.add(ref)
        if link(prev, rec) != r[4]:
            return bad(f"{where}: record does not match its hash")
        prev = r[4]
    for table, seen in (("post_versions", seen_v), ("deletions", seen_d)):
        count = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        if count != len(seen):
            for (rid,) in conn.execute(f"SELECT id FROM {table} ORDER BY id"):
                if rid not in seen:
                    return VerifyResult(
                        False,
                        n,
                        len(seen_v),
                        len(seen_d),
                        f"{table} row {rid} is not in the chain (added outside telewatch)",
                    )
    return VerifyResult(True, n, len(seen_v), len(seen_d))
