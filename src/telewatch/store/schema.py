"""The archive's schema: the database *is* the interface (docs/SCHEMA.md).

Conventions: times are ISO 8601 UTC text ``YYYY-MM-DDTHH:MM:SSZ`` (sorts as
text, readable in sqlite3/datasette); ids are bare Telegram ids; JSON columns
hold compact JSON. ``PRAGMA user_version`` is the schema version: opening an
older archive runs the migrations in ``MIGRATIONS`` in order; a newer one is
refused (store.db).

Nothing is ever deleted: deletions are tombstone rows; edits are version rows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from telewatch.store import events_schema, rechain, reindex

SCHEMA_VERSION = 19

# Migration N takes an archive from user_version N-1 to N. Migrations may
# use the aggregate telewatch_fts_body(version_no, text) (text.index_body of a
# post's versions, registered by db.apply_migrations).
# A migration is a SQL script or, when it needs Python, a function run on the
# connection inside the migration's transaction.
MIGRATIONS: dict[int, str | Callable[[sqlite3.Connection], None]] = {
    1: """
CREATE TABLE channels (
    id            INTEGER PRIMARY KEY,      -- bare Telegram channel id
    access_hash   INTEGER,                  -- NULL until resolved through the API
    username      TEXT,                     -- current public username, no '@'
    title         TEXT,
    about         TEXT,
    subscribers   INTEGER,
    first_seen    TEXT NOT NULL,
    last_seen     TEXT NOT NULL
);
CREATE INDEX channels_username ON channels(username COLLATE NOCASE);

-- Every change of title/username/about, with the time we noticed it.
CREATE TABLE channel_changes (
    id            INTEGER PRIMARY KEY,
    channel_id    INTEGER NOT NULL REFERENCES channels(id),
    field         TEXT NOT NULL CHECK (field IN ('title','username','about')),
    old_value     TEXT,
    new_value     TEXT,
    captured_at   TEXT NOT NULL
);
CREATE INDEX channel_changes_channel ON channel_changes(channel_id, captured_at);

-- One row per post; content columns mirror the latest version.
CREATE TABLE posts (
    id              INTEGER PRIMARY KEY,    -- local rowid (FTS key)
    channel_id      INTEGER NOT NULL REFERENCES channels(id),
    message_id      INTEGER NOT NULL,
    date            TEXT NOT NULL,          -- publication time (UTC)
    text            TEXT NOT NULL DEFAULT '',
    entities        TEXT,                   -- JSON [{type,offset,length,url?}] (UTF-16 units)
    media_kind      TEXT,                   -- photo|video|document|... or NULL
    media           TEXT,                   -- JSON Media summary or NULL
    grouped_id      INTEGER,                -- album id
    reply_to_id     INTEGER,
    fwd_channel_id  INTEGER,                -- forward origin channel (bare id) when known
    fwd_name        TEXT,                   -- forward origin display name when known
    fwd_message_id  INTEGER,
    fwd_date        TEXT,
    post_author     TEXT,
    links           TEXT,                   -- JSON [url, ...] outgoing links
    tme_refs        TEXT,                   -- JSON [{username, message_id?}] t.me refs / @mentions
    lang            TEXT,                   -- script/language guess (text.guess_language)
    edit_date       TEXT,                   -- Telegram's edit date of the latest version
    version_id      INTEGER,                -- latest row in post_versions
    version_count   INTEGER NOT NULL DEFAULT 1,
    first_seen      TEXT NOT NULL,          -- first capture
    deleted_at      TEXT,                   -- mirrors the tombstone; NULL while present
    views           INTEGER,                -- latest engagement sample (mirror)
    forwards        INTEGER,
    replies         INTEGER,
    UNIQUE (channel_id, message_id)
);
CREATE INDEX posts_channel_date ON posts(channel_id, date);
CREATE INDEX posts_date ON posts(date);
CREATE INDEX posts_fwd ON posts(fwd_channel_id, fwd_message_id)
    WHERE fwd_channel_id IS NOT NULL;
CREATE INDEX posts_grouped ON posts(grouped_id) WHERE grouped_id IS NOT NULL;

-- Every distinct content a post ever had.
CREATE TABLE post_versions (
    id            INTEGER PRIMARY KEY,      -- increases with capture order (feeds the live view)
    channel_id    INTEGER NOT NULL,
    message_id    INTEGER NOT NULL,
    version_no    INTEGER NOT NULL,         -- 1 = first content seen
    text          TEXT NOT NULL DEFAULT '',
    entities      TEXT,
    media         TEXT,
    content_hash  TEXT NOT NULL,            -- sha256 of canonical (text, entities, media)
    edit_date     TEXT,                     -- Telegram's edit date, if any
    captured_at   TEXT NOT NULL,
    source        TEXT NOT NULL,            -- live|backfill|poll|repair|reconcile|import
    UNIQUE (channel_id, message_id, version_no)  -- also serves lookups by post
);

-- Tombstones: a post Telegram no longer has. At most one per post.
CREATE TABLE deletions (
    id            INTEGER PRIMARY KEY,
    channel_id    INTEGER NOT NULL,
    message_id    INTEGER NOT NULL,
    detected_at   TEXT NOT NULL,
    method        TEXT NOT NULL CHECK (method IN ('event','reconcile','import')),
    UNIQUE (channel_id, message_id)
);

-- Engagement samples over time; appended, never overwritten.
CREATE TABLE engagement (
    channel_id    INTEGER NOT NULL,
    message_id    INTEGER NOT NULL,
    sampled_at    TEXT NOT NULL,
    views         INTEGER,
    forwards      INTEGER,
    replies       INTEGER,
    reactions     TEXT,                     -- JSON {"👍": 12, ...}
    PRIMARY KEY (channel_id, message_id, sampled_at)
) WITHOUT ROWID;

-- Tamper evidence: every version and deletion appended to a sha256 chain.
CREATE TABLE chain (
    seq           INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('version','deletion')),
    ref_id        INTEGER NOT NULL,         -- post_versions.id or deletions.id
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL
);

-- Sync state: closed id intervals known to be completely archived.
CREATE TABLE sync_ranges (
    channel_id    INTEGER NOT NULL,
    lo_id         INTEGER NOT NULL,
    hi_id         INTEGER NOT NULL,
    PRIMARY KEY (channel_id, lo_id)
) WITHOUT ROWID;

CREATE TABLE sync_state (
    channel_id       INTEGER PRIMARY KEY,
    backfill_oldest  INTEGER,               -- oldest id reached by backfill
    backfill_done    INTEGER NOT NULL DEFAULT 0,
    backfill_target  INTEGER,               -- estimated posts to fetch in all
    updated_at       TEXT NOT NULL
);

-- The watch list (config entries are merged in by the daemon; CLI/xref add).
CREATE TABLE watchlist (
    key           TEXT PRIMARY KEY,         -- 'username:<lower>' | 'id:<n>'
    username      TEXT,
    channel_id    INTEGER,
    mode          TEXT NOT NULL DEFAULT 'join' CHECK (mode IN ('join','poll')),
    backfill      TEXT NOT NULL DEFAULT 'all',  -- 'all' | 'YYYY-MM-DD' | '<N>'
    origin        TEXT NOT NULL DEFAULT 'cli',  -- config|cli|xref
    added_at      TEXT NOT NULL,
    removed_at    TEXT                      -- set by 'channels remove'; row kept
);

-- Daemon heartbeat (one row per daemon run) and per-channel status.
CREATE TABLE daemon_runs (
    id            INTEGER PRIMARY KEY,
    pid           INTEGER NOT NULL,
    version       TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    beat_at       TEXT NOT NULL,
    counters      TEXT,                     -- JSON {"posts": n, "errors": n, ...}
    UNIQUE (pid, started_at)
);
CREATE TABLE channel_status (
    key           TEXT PRIMARY KEY,         -- watchlist key
    channel_id    INTEGER,
    state         TEXT NOT NULL,
    detail        TEXT,
    flood_until   TEXT,
    changed_at    TEXT NOT NULL
);

-- Full-text index over the latest text of every post (deleted ones too).
-- Contentless: rowid = posts.id, body = text.index_text(posts.text), i.e.
-- normalised tokens plus their light stems; meta = 'c<channel_id> d<YYYYMMDD>'
-- (publication day) so that channel and date filters run inside FTS.
-- Written only by store.writer; ranked by bm25 over body only.
CREATE VIRTUAL TABLE posts_fts USING fts5(
    body, meta, content='', tokenize='unicode61 remove_diacritics 0'
);
INSERT INTO posts_fts(posts_fts, rank) VALUES ('rank', 'bm25(1.0, 0.0)');

-- Posts a user marked as evidence (alerts fire when they change).
CREATE TABLE watched_posts (
    channel_id    INTEGER NOT NULL,
    message_id    INTEGER NOT NULL,
    note          TEXT,
    added_at      TEXT NOT NULL,
    PRIMARY KEY (channel_id, message_id)
) WITHOUT ROWID;

-- Alert hits, evaluated by the writer on every archived version/deletion.
CREATE TABLE alert_hits (
    id            INTEGER PRIMARY KEY,
    rule          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('new','edit','delete')),
    channel_id    INTEGER NOT NULL,
    message_id    INTEGER NOT NULL,
    excerpt       TEXT,
    hit_at        TEXT NOT NULL,
    UNIQUE (rule, kind, channel_id, message_id)
);

-- Cached sentence embeddings (xref --semantic), one per post version.
CREATE TABLE embeddings (
    version_id    INTEGER NOT NULL,
    model         TEXT NOT NULL,
    vector        BLOB NOT NULL,            -- float32 little-endian
    PRIMARY KEY (version_id, model)
) WITHOUT ROWID;
""",
    2: """
-- The full-text body is already tokenised (text.index_text: normalised
-- words separated by single spaces), so the index splits it with the
-- 'ascii' tokenizer: every non-ASCII character is a word character, ASCII
-- letters and digits too, anything else separates. Same tokens as
-- 'unicode61' gave for these bodies, at 60 % of the cost (docs/PERFORMANCE.md).
-- The body now holds the words of every version of a post (text.index_body),
-- not only the latest, so that search finds a post by what it said before
-- an edit. Contentless tables cannot be rebuilt in place: the index is
-- recreated from post_versions.
DROP TABLE posts_fts;
CREATE VIRTUAL TABLE posts_fts USING fts5(body, meta, content='', tokenize='ascii');
INSERT INTO posts_fts(posts_fts, rank) VALUES ('rank', 'bm25(1.0, 0.0)');
"""
    + reindex.FTS_FILL,
    # The evidence chain (store/rechain.py: DDL and re-chaining of old facts).
    3: rechain.migrate,
    4: """
-- Catch-up state the daemon owns (docs/DAEMON.md, "Catch-up").
-- channel_pts: the channel's Telegram pts up to which every new message,
-- edit and deletion is in the archive; written in the same transaction as
-- the events of the getChannelDifference answer it comes from, so a crash
-- replays a difference, never skips one.
CREATE TABLE channel_pts (
    channel_id    INTEGER PRIMARY KEY,
    pts           INTEGER NOT NULL,
    updated_at    TEXT NOT NULL
);
-- The slow full sweep: every archived post re-read (channels.getMessages),
-- newest first. cursor = the lowest id checked in the current pass (NULL:
-- the next pass starts at the top); checked = posts re-read in this pass.
CREATE TABLE sweep_state (
    channel_id    INTEGER PRIMARY KEY,
    cursor        INTEGER,
    checked       INTEGER NOT NULL DEFAULT 0,
    pass_started  TEXT,
    last_pass_at  TEXT,                     -- end of the last complete pass (NULL: none yet)
    passes        INTEGER NOT NULL DEFAULT 0,
    updated_at    TEXT NOT NULL
);
-- Telegram requests sent, per method (unix seconds, fractional), so that a
-- restarted daemon's budgets count what the previous process sent. Rows
-- older than an hour are pruned by the writer.
CREATE TABLE request_log (
    method        TEXT NOT NULL,
    sent_at       REAL NOT NULL
);
CREATE INDEX request_log_sent ON request_log(sent_at);
""",
    5: """
-- Webhook outbox (docs/EXPORTS.md). A target is one webhook URL of one alert
-- rule; the URL itself is never stored (it may hold a token): url_key is
-- sha256 of the URL, url_masked the form shown in logs and status. Hits of
-- the rule with id > since_hit_id are delivered to it, in id order.
CREATE TABLE webhook_targets (
    id            INTEGER PRIMARY KEY,
    rule          TEXT NOT NULL,
    url_key       TEXT NOT NULL,
    url_masked    TEXT NOT NULL,
    since_hit_id  INTEGER NOT NULL,         -- hits up to this id predate the target
    added_at      TEXT NOT NULL,
    UNIQUE (rule, url_key)
);
-- One row per hit per target once an attempt was made: 'delivered' (a 2xx was
-- received; never sent again), 'dead' (gave up: dead letter) or 'pending'
-- (failed, retried at next_at).
CREATE TABLE webhook_deliveries (
    target_id     INTEGER NOT NULL REFERENCES webhook_targets(id),
    hit_id        INTEGER NOT NULL REFERENCES alert_hits(id),
    state         TEXT NOT NULL CHECK (state IN ('pending','delivered','dead')),
    attempts      INTEGER NOT NULL,
    last_status   TEXT,                     -- HTTP status or error kind of the last attempt
    next_at       TEXT,                     -- pending: earliest next attempt
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (target_id, hit_id)
) WITHOUT ROWID;
CREATE INDEX webhook_deliveries_state ON webhook_deliveries(state) WHERE state != 'delivered';
""",
    6: """
-- Deletions inferred from an export's id gaps are a weaker claim than a
-- deletion Telegram reported: a later capture that sees the post alive
-- withdraws such a tombstone, and a later deletion can put it back. Each
-- change is a row here; the tombstone itself is never removed, and
-- posts.deleted_at follows the newest change.
CREATE TABLE deletion_changes (
    id            INTEGER PRIMARY KEY,
    channel_id    INTEGER NOT NULL,
    message_id    INTEGER NOT NULL,
    deletion_id   INTEGER NOT NULL REFERENCES deletions(id),  -- the tombstone concerned
    change        TEXT NOT NULL CHECK (change IN ('revived','deleted_again')),
    detected_at   TEXT NOT NULL,
    source        TEXT NOT NULL             -- capture that saw it: import|live|backfill|...
);
CREATE INDEX deletion_changes_post ON deletion_changes(channel_id, message_id);
-- The post shows the version with the newest Telegram edit date (a tie: the
-- later capture), no longer the last one imported: bring older archives
-- (where an older export imported last turned a post back) to that rule,
-- which verify checks (store.chain.is_newer_current).
UPDATE posts SET (text, entities, media, media_kind, edit_date, version_id) = (
    SELECT v.text, v.entities, v.media, json_extract(v.media, '$.kind'), v.edit_date, v.id
    FROM post_versions v
    WHERE v.channel_id = posts.channel_id AND v.message_id = posts.message_id
    ORDER BY coalesce(v.edit_date, '') DESC, v.version_no DESC LIMIT 1)
WHERE version_count > 1;
""",
    # Polls, pins, service messages, channel photos; subscriber counts chained
    # (store/events_schema.py: DDL, and the counts an older archive holds chained).
    7: events_schema.migrate,
    8: """
-- Comments from linked discussion groups (docs/SCHEMA.md, "Comments"). A
-- discussion group's messages are archived as posts of the group (its own
-- channels row, versions, tombstones, FTS); these tables say what they are.
-- The channel → group link as getFullChannel reported it (chained
-- "discussion_link"); a changed link is a new row.
CREATE TABLE discussion_links (
    id            INTEGER PRIMARY KEY,
    channel_id    INTEGER NOT NULL,         -- the broadcast channel
    group_id      INTEGER NOT NULL,         -- its linked_chat_id
    seen_at       TEXT NOT NULL
);
CREATE INDEX discussion_links_channel ON discussion_links(channel_id, id);
CREATE INDEX discussion_links_group ON discussion_links(group_id);
-- A group message that is a discussion copy (the thread's top) or a comment,
-- once, at first capture (chained "comment"). kind 'copy': channel_id and
-- post_message_id name the channel post; kind 'comment': thread is the copy's
-- id in the group, reply_to the message answered (the copy or a comment), and
-- author_* the user as shown at capture (NULL when author capture is off).
CREATE TABLE comments (
    group_id        INTEGER NOT NULL,
    message_id      INTEGER NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('copy','comment')),
    channel_id      INTEGER,
    post_message_id INTEGER,
    thread          INTEGER,
    reply_to        INTEGER,
    author_id       INTEGER,
    author_name     TEXT,
    author_username TEXT,
    captured_at     TEXT NOT NULL,
    PRIMARY KEY (group_id, message_id)
) WITHOUT ROWID;
CREATE INDEX comments_thread ON comments(group_id, thread);
CREATE INDEX comments_post ON comments(channel_id, post_message_id) WHERE kind = 'copy';
""",
    9: """
-- Media archive (docs/SCHEMA.md, "Media"; store/media.py). media_files: one
-- row per distinct content (content-addressed; the same bytes posted in ten
-- channels are one row and one file). path is relative to the media root
-- (media/ beside the archive unless [media] root says otherwise):
-- ab/cd/<sha256>.<ext>.
CREATE TABLE media_files (
    sha256        TEXT PRIMARY KEY,         -- lowercase hex of the file's bytes
    size          INTEGER NOT NULL,         -- bytes
    mime          TEXT,
    path          TEXT NOT NULL,            -- relative to the media root
    stored_at     TEXT NOT NULL
) WITHOUT ROWID;
-- Every (post, version, media) reference: the file of a version's media
-- (role 'file') and its preview (role 'thumb'). state: queued (to
-- download), stored (sha256 set, the file is in media_files), lost (reason
-- says why: deleted before download, ...), skipped (the policy did not want
-- it; reason), not_in_export (a Desktop export made without this file).
-- attempts/next_try/resume_offset are the download queue's own state (the
-- bytes of a partial download live in <media root>/.partial/, never counted
-- as stored). stored/lost/not_in_export rows are chained ('media' records).
CREATE TABLE media_refs (
    id             INTEGER PRIMARY KEY,
    channel_id     INTEGER NOT NULL,
    message_id     INTEGER NOT NULL,
    version_no     INTEGER NOT NULL,        -- post_versions.version_no it belongs to
    role           TEXT NOT NULL CHECK (role IN ('file','thumb')),
    kind           TEXT,                    -- photo|video|document|... (models.MediaKind)
    mime           TEXT,
    size           INTEGER,                 -- bytes: expected while queued, stored once stored
    file_id        TEXT,                    -- Telegram's file id (location, no file reference)
    file_unique_id TEXT,                    -- Telegram's stable id of the content
    state          TEXT NOT NULL
                   CHECK (state IN ('queued','stored','lost','skipped','not_in_export')),
    reason         TEXT,
    sha256         TEXT REFERENCES media_files(sha256),
    attempts       INTEGER NOT NULL DEFAULT 0,
    next_try       TEXT,                    -- queued: not before this time
    resume_offset  INTEGER NOT NULL DEFAULT 0,  -- bytes already in the partial file
    last_error     TEXT,
    updated_at     TEXT NOT NULL,
    UNIQUE (channel_id, message_id, version_no, role)
);
CREATE INDEX media_refs_state ON media_refs(state, next_try) WHERE state = 'queued';
CREATE INDEX media_refs_sha ON media_refs(sha256) WHERE sha256 IS NOT NULL;
""",
    10: """
-- Perceptual hashes of archived media (store/phash.py, docs/SCHEMA.md): one
-- row per media file, keyed by the file's SHA-256 (the content-addressed
-- store's name for it). phash: 64-bit pHash as 16 hex digits; b0..b3 its four
-- 16-bit bands (lowest bits first), each indexed, for multi-index lookups of
-- near hashes. Chained (kind phash).
CREATE TABLE media_phash (
    id            INTEGER PRIMARY KEY,
    sha256        TEXT NOT NULL UNIQUE,
    algo          TEXT NOT NULL,
    phash         TEXT NOT NULL,
    b0            INTEGER NOT NULL,
    b1            INTEGER NOT NULL,
    b2            INTEGER NOT NULL,
    b3            INTEGER NOT NULL
);
CREATE INDEX media_phash_b0 ON media_phash(b0);
CREATE INDEX media_phash_b1 ON media_phash(b1);
CREATE INDEX media_phash_b2 ON media_phash(b2);
CREATE INDEX media_phash_b3 ON media_phash(b3);
""",
    11: """
-- Channel profile photos as files (store/photo_files.py, docs/SCHEMA.md):
-- the downloaded big size of a channel_photos row, in the content-addressed
-- media store (path relative to the media root). One file per photo row.
-- Chained (kind channel_photo_file); verify --media re-hashes the files.
CREATE TABLE channel_photo_files (
    id            INTEGER PRIMARY KEY,
    photo_row     INTEGER NOT NULL UNIQUE REFERENCES channel_photos(id),
    channel_id    INTEGER NOT NULL REFERENCES channels(id),
    photo_id      INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    size          INTEGER NOT NULL,
    mime          TEXT,
    path          TEXT NOT NULL,
    stored_at     TEXT NOT NULL
);
CREATE INDEX channel_photo_files_channel ON channel_photo_files(channel_id, id);
""",
    12: """
-- Several daemons sharing one PostgreSQL archive (store/leases.py,
-- docs/SCALE.md). Coordination state, not evidence (like watchlist and
-- daemon_runs): not chained. Times are the database server's clock, Unix
-- seconds, so that daemons on machines with different clocks agree.
-- daemons: one row per `telewatch run` (id: a fresh uuid per run).
CREATE TABLE daemons (
    id          TEXT PRIMARY KEY,
    host        TEXT NOT NULL,
    account_id  INTEGER NOT NULL,           -- Telegram user id of the session
    account     TEXT NOT NULL,              -- display name of the account
    pid         INTEGER NOT NULL,
    max_joined  INTEGER NOT NULL,           -- its [telegram] max_joined
    started_at  REAL NOT NULL,
    heartbeat   REAL NOT NULL,              -- last lease renewal
    stopped_at  REAL                        -- set by a clean stop
);
-- channel_leases: which daemon archives which watch-list entry, until when.
CREATE TABLE channel_leases (
    key         TEXT PRIMARY KEY,           -- watchlist.key
    mode        TEXT NOT NULL,              -- the entry's mode when last seen
    holder      TEXT,                       -- daemons.id; NULL: free
    account_id  INTEGER,                    -- the holder's account
    taken_at    REAL,
    expires     REAL                        -- free for the taking after this
);
CREATE INDEX channel_leases_holder ON channel_leases(holder);
-- account_channels: each account's own access hash of a channel (a hash
-- is valid for the account that learned it only).
CREATE TABLE account_channels (
    account_id  INTEGER NOT NULL,
    channel_id  INTEGER NOT NULL,
    access_hash INTEGER NOT NULL,
    learned_at  REAL NOT NULL,
    PRIMARY KEY (account_id, channel_id)
);
""",
    13: """
-- Pool coordination (store/leases.py, docs/SCALE.md): an entry handed over
-- by an account whose username resolution is parked by a long FloodWait is
-- not taken back by that account before blocked_until (server clock);
-- daemon_roles: the one daemon that runs the webhook sender, the one that
-- anchors (a lease per role, same ttl and renewal as the channels').
ALTER TABLE channel_leases ADD COLUMN blocked_account INTEGER;
ALTER TABLE channel_leases ADD COLUMN blocked_until REAL;
CREATE TABLE daemon_roles (
    role        TEXT PRIMARY KEY,           -- 'webhooks', 'anchor'
    holder      TEXT,                       -- daemons.id; NULL: free
    taken_at    REAL,
    expires     REAL
);
""",
    14: """
-- A resolve hand-over blocks the entry for each account that handed it over,
-- not only for the last one (store/leases.py): with one blocked_account, an
-- entry parked on A went to B, B parked too and handed it back to A (its
-- block overwritten), and so on every round. An entry that every live
-- account has blocked waits, free, until the first of their blocks ends.
CREATE TABLE channel_blocks (
    key         TEXT NOT NULL,              -- watchlist.key
    account_id  INTEGER NOT NULL,           -- the account that handed it over
    until       REAL NOT NULL,              -- not taken back by it before (server clock)
    PRIMARY KEY (key, account_id)
);
INSERT INTO channel_blocks(key, account_id, until)
    SELECT key, blocked_account, blocked_until FROM channel_leases
    WHERE blocked_account IS NOT NULL AND blocked_until IS NOT NULL;
ALTER TABLE channel_leases DROP COLUMN blocked_account;
ALTER TABLE channel_leases DROP COLUMN blocked_until;
""",
    # Thai text is indexed word by word (text.index_body, telewatch.thai):
    # the index entries of posts with Thai text are rewritten (store/reindex.py).
    15: reindex.migrate,
    # Han, kana, Khmer, Lao and Myanmar runs are indexed as overlapping
    # bigrams of their units (telewatch.unspaced): the index entries of posts
    # with such text are rewritten (store/reindex.py).
    16: reindex.migrate_unspaced,
    # PostgreSQL: a GIN index per block of post ids (store/pg.py FTS_BLOCK),
    # so that a search of the newest ids reads their block's matches only.
    # SQLite: nothing (FTS5 walks its doclists newest first).
    17: reindex.fts_blocks,
    # PostgreSQL: text holds NUL as ESC "0" and ESC (U+FFFF) as ESC "1"
    # (store/pg.py escape_text); the ESCs stored before are escaped.
    # SQLite: nothing.
    18: reindex.escape_text_esc,
    # Every combining mark stays inside its word (telewatch.marks): the
    # index entries of posts with marks that split words before (Thaana,
    # Syriac, Tibetan...) are rewritten (store/reindex.py).
    19: reindex.migrate_marks,
}
