"""Migrations 15 and 16: the search index after Thai word segmentation
(15) and after bigram tokens for the other unspaced scripts (16).

``text.index_body`` cuts runs of Thai letters into words since schema 15
(``telewatch.thai``); before, a Thai clause was one indexed token, so a
post could not be found by a word in the middle. The index entries of
posts with Thai text are rewritten; other posts' entries are unchanged
(their ``index_body`` is the same). FTS5's contentless table cannot
delete an entry without the exact body it was given, which the old code
computed, so on SQLite the whole index is rebuilt from ``post_versions``
when any post has Thai text (≈ 20 s per million posts, once; nothing to
do otherwise); on PostgreSQL entries are replaced by row id, only those
of Thai posts.

Migration 16 does the same for posts with Han, Hiragana, Katakana, Khmer,
Lao or Myanmar letters or Lao/Myanmar/Khmer digits: since schema 16 a run
of those letters is indexed as overlapping bigrams of its units
(``telewatch.unspaced``), those digits as ASCII digits, and Khmer/Lao/
Myanmar vowel signs no longer break a word.

Migration 19 does the same for posts with a combining mark the tokenizer
now keeps inside a word (``telewatch.marks``: Thaana's vowel signs, Syriac,
Tibetan, Ethiopic, Mongolian, Javanese and others), where before each mark
split its word into letters (a Dhivehi post was indexed letter by letter).
"""

from __future__ import annotations

import re
import sqlite3

# Every (post, version text) pair, posts without a version row by their own
# text (the bodies migration 2 built and the writer keeps).
_TEXTS = (
    "SELECT p.id, p.channel_id, p.date, v.version_no, coalesce(v.text, p.text)"
    " FROM posts p LEFT JOIN post_versions v"
    " ON v.channel_id = p.channel_id AND v.message_id = p.message_id"
)

# The index filled from every post's versions (migration 2 builds it so too).
FTS_FILL = """
INSERT INTO posts_fts(rowid, body, meta)
    SELECT id, body, 'c' || channel_id || ' d' || substr(date, 1, 4) || substr(date, 6, 2)
                     || substr(date, 9, 2)
    FROM (SELECT p.id, p.channel_id, p.date,
                 telewatch_fts_body(v.version_no, coalesce(v.text, p.text)) AS body
          FROM posts p LEFT JOIN post_versions v
               ON v.channel_id = p.channel_id AND v.message_id = p.message_id
          GROUP BY p.id)
    WHERE body != '';
"""

REBUILD = "INSERT INTO posts_fts(posts_fts) VALUES ('delete-all');" + FTS_FILL


def thai_posts(conn: sqlite3.Connection) -> dict[int, tuple[int, str, list[tuple[int, str]]]]:
    """Posts with Thai letters in any version: id → (channel id, date,
    [(version_no, text)])."""
    from telewatch.thai import HAS_THAI

    return posts_matching(conn, HAS_THAI)


def posts_matching(
    conn: sqlite3.Connection, pattern: re.Pattern[str]
) -> dict[int, tuple[int, str, list[tuple[int, str]]]]:
    """Posts with a match of ``pattern`` in any version: id → (channel id,
    date, [(version_no, text)])."""
    ids: set[int] = set()
    cur = conn.execute(_TEXTS)
    while rows := cur.fetchmany(10_000):
        ids.update(int(r[0]) for r in rows if r[4] and pattern.search(r[4]))
    out: dict[int, tuple[int, str, list[tuple[int, str]]]] = {}
    if not ids:
        return out
    for r in conn.execute(_TEXTS + " ORDER BY p.id").fetchall():
        pid = int(r[0])
        if pid in ids:
            entry = out.setdefault(pid, (int(r[1]), str(r[2]), []))
            if r[4] is not None:
                entry[2].append((int(r[3] or 0), str(r[4])))
    return out


def migrate(conn: sqlite3.Connection) -> None:
    """Migration 15 on ``conn`` (inside the caller's transaction)."""
    _rewrite(conn, thai_posts(conn))


def migrate_unspaced(conn: sqlite3.Connection) -> None:
    """Migration 16 on ``conn`` (inside the caller's transaction): the
    entries of posts with text in the bigram scripts rewritten."""
    from telewatch.unspaced import LETTERS

    digits = "\u0ed0-\u0ed9\u1040-\u1049\u17e0-\u17e9"
    _rewrite(conn, posts_matching(conn, re.compile(f"[{LETTERS}{digits}]")))


def new_marks() -> re.Pattern[str]:
    """The marks words keep since schema 19 and did not before (not in
    ``text._OLD_MARKS``, not removed by ``text.normalize``)."""
    from telewatch import marks, text

    old = re.compile(f"[{text._OLD_MARKS}]")
    chars = [
        chr(cp)
        for lo, hi in marks.word_ranges()
        for cp in range(lo, hi + 1)
        if not old.match(chr(cp)) and text.normalize("a" + chr(cp)) == "a" + chr(cp)
    ]
    return re.compile("[" + "".join(re.escape(c) for c in chars) + "]")


def migrate_marks(conn: sqlite3.Connection) -> None:
    """Migration 19 on ``conn`` (inside the caller's transaction): the
    entries of posts with a mark words now keep rewritten."""
    _rewrite(conn, posts_matching(conn, new_marks()))


def _rewrite(
    conn: sqlite3.Connection, posts: dict[int, tuple[int, str, list[tuple[int, str]]]]
) -> None:
    """The index entries of ``posts`` recomputed: SQLite's contentless index
    rebuilt whole when there is any, PostgreSQL's entries replaced by id."""
    from telewatch.store.db import is_postgres, split_statements
    from telewatch.store.posts import fts_meta
    from telewatch.text import index_body

    if not posts:
        return
    if not is_postgres(conn):
        for stmt in split_statements(REBUILD):
            conn.execute(stmt)
        return
    from telewatch.store import pg

    assert isinstance(conn, pg.PgConnection)
    deletes: list[tuple[object, ...]] = []
    inserts: list[tuple[object, ...]] = []
    for pid, (cid, date, versions) in posts.items():
        body = index_body([t for _, t in sorted(versions)])
        meta = fts_meta(cid, date)
        deletes.append(("delete", pid, "", meta))
        if body:
            inserts.append((pid, body, meta))
    pg.fts_write(conn, deletes, inserts)


def fts_blocks(conn: sqlite3.Connection) -> None:
    """Migration 17: on PostgreSQL the GIN index of each block of post ids
    already indexed (store.pg.fts_block_indexes; idempotent). Nothing on
    SQLite."""
    from telewatch.store.db import is_postgres

    if not is_postgres(conn):
        return
    from telewatch.store import pg

    assert isinstance(conn, pg.PgConnection)
    pg.fts_block_indexes(conn)


def escape_text_esc(conn: sqlite3.Connection) -> None:
    """Migration 18: on PostgreSQL, every ESC (U+FFFF) already stored in a
    text column is stored as ``ESC "1"`` (store.pg.escape_text), so that text
    read back is what was written, now that a NUL is stored as ``ESC "0"``.
    Nothing on SQLite (its text holds NUL)."""
    from telewatch.store.db import is_postgres

    if not is_postgres(conn):
        return
    from telewatch.store import pg

    assert isinstance(conn, pg.PgConnection)
    pg.escape_stored_esc(conn)
