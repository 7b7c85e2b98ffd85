"""Combining marks inside words (telewatch.marks, schema 19) and Thaana.

Before schema 19 the tokenizer kept only the Latin, Cyrillic, Hebrew and
Indic marks inside words; any other mark split its word. A Dhivehi post in
Thaana, whose every consonant carries a vowel sign, was indexed letter by
letter, and a channel titled in Thaana had no name key: holdout9's six
Dhivehi references were all missed (docs/XREF.md).
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from pathlib import Path

from telewatch import marks, text
from telewatch.models import Channel, ChannelSeen, Event
from telewatch.store import schema
from telewatch.store.db import connect, migrate
from telewatch.store.queries import search
from telewatch.text import guess_language, tokens
from telewatch.xref import scripts
from telewatch.xref.candidates import ChannelInfo
from telewatch.xref.citations import extract_citations
from telewatch.xref.names import same_name
from tests.fixtures.store import (
    fts5_terms,
    index_body_with,
    pg_indexed_as_before,
    post_seen,
    sqlite_indexed_as_before,
    write_events,
)

CH = 1600000909
TITLE = "ދެކުނުގެ ޚަބަރު"  # "News of the South"
# "Last night at 1:40 a fire broke out in a shop in Hithadhoo."
FIRE = "ހިތަދޫގައި ރޭ ދަންވަރު 1:40 ހާއިރު ފިހާރައަކާއި ގުދަނަކަށް އަލިފާން ރޯވެ"


def test_the_mark_table_is_unicodes() -> None:
    assert unicodedata.unidata_version == marks.UNICODE_VERSION, (
        "Python's Unicode version changed: write telewatch/marks.py RANGES again from"
        " unicodedata (categories Mn, Mc, Me from U+0300 to U+1FFFF)"
    )
    ranges: list[tuple[int, int]] = []
    start = None
    for cp in range(0x0300, 0x20001):
        mark = cp <= 0x1FFFF and unicodedata.category(chr(cp)).startswith("M")
        if mark and start is None:
            start = cp
        elif not mark and start is not None:
            ranges.append((start, cp - 1))
            start = None
    assert tuple(ranges) == marks.RANGES


def test_a_thaana_word_keeps_its_vowel_signs() -> None:
    assert tokens(FIRE)[:3] == ["ހިތަދޫގައި", "ރޭ", "ދަންވަރު"]
    assert guess_language(FIRE) == "dv"
    # Marks written on symbols do not join a word: a keycap digit is its digit,
    # an emoji's variation selector does not stick to the word before it.
    assert tokens("1️⃣ Samawa️ 2️⃣") == ["1", "samawa", "2"]
    assert tokens("Tibetan བོད་ཡིག Syriac ܫܠܡܐ") == ["tibetan", "བོད", "ཡིག", "syriac", "ܫܠܡܐ"]


def test_thaana_is_spelled_as_the_maldives_spell_it() -> None:
    assert " ".join(scripts.latin(w) or "" for w in TITLE.split()) == "dhekunuge khabaru"
    assert scripts.latin("ހިތަދޫ") == "hithadhoo"
    assert scripts.latin("ހުޅުދޫ") == "hulhudhoo"
    assert same_name(TITLE, "Dhekunuge Khabaru") == 1.0
    assert same_name(TITLE, "Dekunuge Habaru") > 0.6
    assert same_name(TITLE, "Hithadhoo News") == 0.0


def test_an_article_naming_a_thaana_channel_in_latin_letters_cites_it() -> None:
    channels = [ChannelInfo(CH, "seenu_online", TITLE), ChannelInfo(2, None, "Addu Live")]
    article = "A shop burned down in Hithadhoo, the Telegram channel Dhekunuge Khabaru reported."
    cited = [c for c in extract_citations(article, channels) if c.channel_id is not None]
    assert [(c.kind, c.channel_id) for c in cited] == [("name", CH)]


def _posts() -> list[Event]:
    return [
        ChannelSeen(Channel(CH, TITLE, "seenu_online"), post_seen(CH, 1).seen_at),
        post_seen(CH, 1, FIRE),
        post_seen(CH, 2, "ގުދަނަކަށް ފިހާރަ 2"),
        post_seen(CH, 3, "Addu: a plain English post"),
    ]


# What the writer indexed before schema 19: words split at every mark
# outside the old ranges.
_old_body = index_body_with(re.compile(f"[^\\W_](?:[^\\W_]|[{text._OLD_MARKS}])*").findall)


def _migrated_finds_whole_words(address: Path) -> None:
    """Migrate ``address`` (at schema 18, indexed letter by letter): a whole
    Thaana word finds its posts, and the other posts are still found."""
    migrate(address)
    conn = connect(address)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
        assert {h.message_id for h in search(conn, "ގުދަނަކަށް")} == {1, 2}
        assert [h.message_id for h in search(conn, "Addu")] == [3]
    finally:
        conn.close()


def test_an_archive_indexed_letter_by_letter_finds_its_thaana_posts_after_migrating(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    migrate(path)
    write_events(path, _posts()).close()
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA user_version = 18")
    sqlite_indexed_as_before(raw, _old_body)
    hits = raw.execute("SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?", ('"ގުދަނަކަށް"',))
    assert hits.fetchall() == []  # the old index's miss
    raw.close()
    _migrated_finds_whole_words(path)
    terms = fts5_terms(path)
    assert "ގުދަނަކަށް" in terms and "ގ" not in terms  # no letter left alone


def test_migration_19_leaves_an_archive_without_such_marks_untouched(tmp_path: Path) -> None:
    path = tmp_path / "plain.db"
    migrate(path)
    write_events(path, [post_seen(7, 1, "A convoy in Diwaniya 1️⃣"), post_seen(7, 2, "नमस्ते")])
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA user_version = 18")
    before = raw.execute("SELECT block FROM posts_fts_data ORDER BY id").fetchall()
    raw.close()
    migrate(path)
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("SELECT block FROM posts_fts_data ORDER BY id").fetchall() == before
    finally:
        raw.close()


def test_a_postgres_archive_indexed_letter_by_letter_is_reindexed(pg_url: str) -> None:
    address = Path(pg_url)
    pg_indexed_as_before(address, _posts(), _old_body, 18, old_miss="ގުދަނަކަށް")
    _migrated_finds_whole_words(address)
