"""Schema 7 (store/schema.py ``MIGRATIONS[7]``): the tables of store/events.py.

Its own module because store.schema cannot import the writes (store.db
imports store.schema)."""

from __future__ import annotations

import sqlite3

from telewatch.store import chain

DDL = """
-- Polls (docs/SCHEMA.md): the definition once per post, results over time.
CREATE TABLE polls (
    channel_id    INTEGER NOT NULL,
    message_id    INTEGER NOT NULL,
    poll_id       INTEGER NOT NULL,         -- Telegram's poll id (updateMessagePoll)
    question      TEXT NOT NULL,
    answers       TEXT NOT NULL,            -- JSON [[option hex, text], ...] in Telegram's order
    multiple      INTEGER NOT NULL,         -- 1: multiple choice
    quiz          INTEGER NOT NULL,
    public_voters INTEGER NOT NULL,
    captured_at   TEXT NOT NULL,
    PRIMARY KEY (channel_id, message_id)
) WITHOUT ROWID;
CREATE INDEX polls_poll_id ON polls(poll_id);
-- A result sample whenever the results differ from the newest sample.
CREATE TABLE poll_samples (
    channel_id    INTEGER NOT NULL,
    message_id    INTEGER NOT NULL,
    sampled_at    TEXT NOT NULL,
    closed        INTEGER NOT NULL,
    total_voters  INTEGER,                  -- NULL: Telegram hid the results
    voters        TEXT NOT NULL,            -- JSON [[option hex, voters], ...]
    source        TEXT NOT NULL,            -- live|backfill|reconcile|...
    PRIMARY KEY (channel_id, message_id, sampled_at)
) WITHOUT ROWID;
-- Pin state changes of posts: how we learnt it (push: updatePinnedChannelMessages,
-- service: a pin service message, state: the message's pinned flag read later).
CREATE TABLE pin_events (
    id            INTEGER PRIMARY KEY,
    channel_id    INTEGER NOT NULL,
    message_id    INTEGER NOT NULL,
    pinned        INTEGER NOT NULL,         -- 1 pinned, 0 unpinned
    detected_at   TEXT NOT NULL,
    method        TEXT NOT NULL CHECK (method IN ('push','service','state')),
    event_date    TEXT,                     -- Telegram's time of the pin (service message) or NULL
    pts           INTEGER                   -- the channel pts of the update (push), else NULL
);
CREATE INDEX pin_events_post ON pin_events(channel_id, message_id, id);
CREATE INDEX pin_events_pts ON pin_events(channel_id, pts) WHERE pts IS NOT NULL;
-- Service messages of channels (pin, title, photo, photo_removed, other).
CREATE TABLE channel_actions (
    channel_id    INTEGER NOT NULL,
    message_id    INTEGER NOT NULL,         -- the service message's id
    date          TEXT NOT NULL,            -- Telegram's date of the action
    action        TEXT NOT NULL,
    value         TEXT,                     -- new title / photo id
    target_id     INTEGER,                  -- the pinned post
    captured_at   TEXT NOT NULL,
    PRIMARY KEY (channel_id, message_id)
) WITHOUT ROWID;
-- The channel's profile photo whenever it changes (photo_id NULL: removed).
CREATE TABLE channel_photos (
    id            INTEGER PRIMARY KEY,
    channel_id    INTEGER NOT NULL,
    photo_id      INTEGER,
    dc_id         INTEGER,
    thumb_sha256  TEXT,                     -- sha256 of the inline stripped thumbnail
    captured_at   TEXT NOT NULL
);
CREATE INDEX channel_photos_channel ON channel_photos(channel_id, id);
"""


def migrate(conn: sqlite3.Connection) -> None:
    """Schema 7: the tables above, and the subscriber counts an older
    archive holds chained (as of now: they were captured unchained)."""
    for stmt in DDL.split(";\n"):
        if stmt.strip():
            conn.execute(stmt)
    app = chain.Appender(conn)
    for cid, subs in conn.execute(
        "SELECT id, subscribers FROM channels WHERE subscribers IS NOT NULL ORDER BY id"
    ).fetchall():
        app.add("subscribers", None, [cid, subs, app.at])
    app.flush(conn)
