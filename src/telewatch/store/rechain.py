"""Schema 3: the evidence chain (docs/EVIDENCE.md, docs/SCHEMA.md).

``migrate`` is the whole of migration 3, run inside its transaction by
``store.db.apply_migrations``: it checks the schema-2 chain by the schema-2
rules (a tampered archive is refused, never re-chained as genuine), creates
the new tables and columns, and re-chains every fact already archived —
channel fields, versions, deletions, engagement samples — after one
``migration`` record that commits to the old chain's head."""

from __future__ import annotations

import hashlib
import sqlite3
from typing import Any

from telewatch.models import UserError
from telewatch.store import chain

DDL = """
ALTER TABLE chain RENAME TO chain_v2;
-- The evidence chain: one canonical JSON record per captured fact (store/chain.py).
CREATE TABLE chain (
    seq           INTEGER PRIMARY KEY,      -- 1, 2, ... without gaps
    kind          TEXT NOT NULL,            -- version|deletion|channel|engagement|capture|migration
    ref_id        INTEGER,                  -- post_versions.id / deletions.id, else NULL
    at            TEXT NOT NULL,            -- when it was chained (never decreases)
    record        TEXT NOT NULL,            -- the canonical record (a JSON array)
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL             -- sha256(prev_hash + sha256(record))
);
ALTER TABLE post_versions ADD COLUMN capture_id TEXT;   -- capture_sessions.id
ALTER TABLE deletions ADD COLUMN last_seen_at TEXT;     -- last seen alive (window start)
-- The evidentiary copy of every captured version as received.
CREATE TABLE raw_payloads (
    version_id    INTEGER PRIMARY KEY,      -- post_versions.id
    format        TEXT NOT NULL,            -- 'tl' (Telethon bytes(Message)) | 'export-json'
    sha256        TEXT NOT NULL,            -- of the uncompressed bytes (also in the record)
    data          BLOB NOT NULL             -- zlib-compressed
);
-- One row per capture session (daemon connection, import of a file).
CREATE TABLE capture_sessions (
    id                TEXT PRIMARY KEY,
    started_at        TEXT NOT NULL,
    source            TEXT NOT NULL,        -- 'telegram' | 'import:<file name>'
    account           TEXT,
    telewatch_version TEXT,
    telethon_version  TEXT,
    api_layer         INTEGER,
    clock_offset_ms   INTEGER               -- Telegram's server time minus ours
);
-- RFC 3161 timestamp tokens of chain heads.
CREATE TABLE anchors (
    id            INTEGER PRIMARY KEY,
    seq           INTEGER NOT NULL,         -- the chain record stamped
    hash          TEXT NOT NULL,            -- its chain hash (the stamped message)
    tsa           TEXT NOT NULL,            -- the authority's URL
    token         BLOB NOT NULL,            -- DER TimeStampResp as received
    gen_time      TEXT NOT NULL,            -- the token's time (UTC)
    requested_at  TEXT NOT NULL
);
"""


def migrate(conn: sqlite3.Connection) -> None:
    """Migration 3 on ``conn`` (inside the caller's transaction). Raises
    UserError when the schema-2 chain does not verify."""
    from telewatch.store.db import split_statements

    old_head, old_records, problem = _verify_v2(conn)
    if problem is not None:
        raise UserError(
            f"the archive's hash chain does not verify ({problem}); migrating it to schema 3"
            " would re-chain the altered facts as genuine, so it is left at schema 2: restore"
            " a copy made before the change, or keep this archive as it is and run"
            " `telewatch verify` with the telewatch that wrote it"
        )
    for stmt in split_statements(DDL):
        conn.execute(stmt)
    n = (
        sum(
            len(_channel_snapshots(conn, cid))
            for (cid,) in conn.execute("SELECT id FROM channels").fetchall()
        )
        + conn.execute("SELECT count(*) FROM post_versions").fetchone()[0]
        + conn.execute("SELECT count(*) FROM deletions").fetchone()[0]
        + conn.execute("SELECT count(*) FROM engagement").fetchone()[0]
    )
    app = chain.Appender(conn)
    if old_records or n:
        app.add("migration", None, [2, old_head, old_records, n])
    for (cid,) in conn.execute("SELECT id FROM channels ORDER BY id").fetchall():
        for snap in _channel_snapshots(conn, cid):
            app.add("channel", None, [cid, *snap])
    for r in conn.execute(
        "SELECT v.id, v.channel_id, v.message_id, v.version_no, v.content_hash, v.edit_date,"
        " v.captured_at, v.source, p.date, p.fwd_channel_id, p.fwd_name, p.fwd_message_id,"
        " p.fwd_date, p.post_author, p.grouped_id, p.reply_to_id"
        " FROM post_versions v LEFT JOIN posts p"
        " ON p.channel_id = v.channel_id AND p.message_id = v.message_id ORDER BY v.id"
    ).fetchall():
        post = list(r[8:16])
        app.add(
            "version",
            r[0],
            chain.version_fields(r[1], r[2], r[3], r[4], r[5], r[6], r[7], post, None, None, None),
        )
        if len(app.rows) >= 10_000:
            app.flush(conn)
    for d in conn.execute(
        "SELECT id, channel_id, message_id, detected_at, method FROM deletions ORDER BY id"
    ).fetchall():
        app.add("deletion", d[0], [d[1], d[2], d[3], d[4], None])
    for e in conn.execute(
        "SELECT channel_id, message_id, sampled_at, views, forwards, replies, reactions"
        " FROM engagement ORDER BY sampled_at, channel_id, message_id"
    ).fetchall():
        app.add("engagement", None, list(e))
        if len(app.rows) >= 10_000:
            app.flush(conn)
    app.flush(conn)
    conn.execute("DROP TABLE chain_v2")


def _channel_snapshots(conn: sqlite3.Connection, cid: int) -> list[list[Any]]:
    """The channel's (username, title, about, captured_at) states, oldest
    first, rebuilt from its current fields and its channel_changes rows."""
    row = conn.execute(
        "SELECT username, title, about, first_seen FROM channels WHERE id=?", (cid,)
    ).fetchone()
    changes = conn.execute(
        "SELECT field, old_value, new_value, captured_at FROM channel_changes"
        " WHERE channel_id=? ORDER BY captured_at, id",
        (cid,),
    ).fetchall()
    idx = {"username": 0, "title": 1, "about": 2}
    state = [row[0], row[1], row[2]]
    states: list[list[Any]] = []
    for field, old, _new, at in reversed(changes):
        states.append([*state, at])
        state[idx[field]] = old
    if any(v is not None for v in state):
        states.append([*state, row[3]])
    return list(reversed(states))


def _verify_v2(conn: sqlite3.Connection) -> tuple[str, int, str | None]:
    """(head hash, records, first problem or None) of a schema-2 chain, by the
    schema-2 rules (docs/SCHEMA.md of that release)."""
    prev = "0" * 64
    n = 0
    rows = conn.execute(
        "SELECT c.seq, c.kind, c.ref_id, c.prev_hash, c.hash,"
        " v.channel_id, v.message_id, v.version_no, v.text, v.entities, v.media,"
        " v.content_hash, v.edit_date, v.captured_at, v.source,"
        " d.channel_id, d.message_id, d.detected_at, d.method"
        " FROM chain c"
        " LEFT JOIN post_versions v ON c.kind = 'version' AND v.id = c.ref_id"
        " LEFT JOIN deletions d ON c.kind = 'deletion' AND d.id = c.ref_id"
        " ORDER BY c.seq"
    ).fetchall()
    for r in rows:
        n += 1
        if r[3] != prev:
            return prev, n, f"record {r[0]}: records removed or reordered"
        if r[1] == "version":
            if r[5] is None or chain.content_hash(r[8], r[9], r[10]) != r[11]:
                return prev, n, f"record {r[0]}: post version {r[2]} missing or changed"
            rec = f"version\t{r[5]}\t{r[6]}\t{r[7]}\t{r[11]}\t{r[12] or ''}\t{r[13]}\t{r[14]}"
        else:
            if r[15] is None:
                return prev, n, f"record {r[0]}: deletion {r[2]} missing"
            rec = f"deletion\t{r[15]}\t{r[16]}\t{r[17]}\t{r[18]}"
        if hashlib.sha256((prev + rec).encode()).hexdigest() != r[4]:
            return prev, n, f"record {r[0]}: does not match its hash"
        prev = r[4]
    for table, kind in (("post_versions", "version"), ("deletions", "deletion")):
        stray = conn.execute(
            f"SELECT id FROM {table} WHERE id NOT IN"
            f" (SELECT ref_id FROM chain WHERE kind = '{kind}') LIMIT 1"
        ).fetchone()
        if stray is not None:
            return prev, n, f"{table} row {stray[0]} is not in the chain"
    return prev, n, None
