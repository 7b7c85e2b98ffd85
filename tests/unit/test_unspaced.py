"""Unspaced scripts without a dictionary (Han, kana, Khmer, Lao, Myanmar):
bigram tokens, phrase queries, search through the real store on SQLite and
PostgreSQL, and migration 16 of an archive the old code indexed."""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

from telewatch import text, unspaced
from telewatch.models import Channel, ChannelSeen, Event
from telewatch.store import schema
from telewatch.store.db import connect, migrate
from telewatch.store.queries import search
from telewatch.text import fts_query, normalize, tokens
from tests.fixtures.store import (
    fts5_terms,
    index_body_with,
    pg_indexed_as_before,
    post_seen,
    sqlite_indexed_as_before,
    write_events,
)

CH = 1700000001
RAIN = "札幌市内で大雨、道路が冠水"  # "heavy rain in Sapporo city, roads flooded"
MARKET = "札幌の市場で火災"  # "fire at a Sapporo market"
KYOTO = "京都から東京へ移動"  # has 京都 and 東京, but not 東京都
TOKYO = "東京都で地震"
PORT = "高雄港區停電三小時"  # Traditional Chinese: "power cut in Kaohsiung port, 3 h"
PHNOM_PENH = "ភ្លើងឆេះផ្សារនៅភ្នំពេញ ៣ម៉ោង"  # Khmer, Khmer digit ៣ (3)


def test_a_run_becomes_overlapping_bigrams_and_a_lone_unit_a_unigram() -> None:
    assert tokens(RAIN) == [
        "札幌",
        "幌市",
        "市内",
        "内で",
        "で大",
        "大雨",
        "道路",
        "路が",
        "が冠",
        "冠水",
    ]
    assert tokens("雨") == ["雨"]
    assert tokens("3日 Sapporo") == ["3", "日", "sapporo"]
    # Half-width katakana are folded (NFKC) before cutting: both spellings meet.
    assert tokens("ｻｯﾎﾟﾛ") == tokens("サッポロ") == ["サッ", "ッポ", "ポロ"]
    # Thai keeps its dictionary segmenter.
    assert tokens("ข่าวเชียงใหม่") == ["ข่าว", "เชียงใหม่"]


def test_khmer_lao_myanmar_are_cut_into_orthographic_syllables() -> None:
    """A syllable keeps its subscript consonants (coeng), vowels and signs
    (Myanmar: its asat final too); digits of these scripts are ASCII."""
    assert [u for u, _ in unspaced.units("ភ្នំពេញ")] == ["ភ្នំ", "ពេ", "ញ"]
    assert [u for u, _ in unspaced.units("ເມືອງວຽງ")] == ["ເມື", "ອ", "ງ", "ວຽ", "ງ"]
    assert [u for u, _ in unspaced.units("ရန်ကုန်")] == ["ရန်", "ကုန်"]
    assert tokens("ភ្នំពេញ") == ["ភ្នំពេ", "ពេញ"]
    assert "3" in tokens(PHNOM_PENH) and "3" in tokens("၃") and "3" in tokens("໓")


def test_syllable_bigrams_beat_character_bigrams_for_khmer() -> None:
    """Why the Khmer unit is the syllable: with character bigrams the query
    រី (ri) matches ស្រី (srei), where រ is a subscript of another syllable,
    and a text gives about twice the tokens."""

    def char_bigrams(s: str) -> list[str]:
        return [a + b for a, b in itertools.pairwise(s)]

    srei = "ស្រី"
    assert set(char_bigrams("រី")) <= set(char_bigrams(srei))  # the false match
    assert "រី" not in tokens(srei) and tokens(srei) == [srei]
    long_text = "ភ្លើងឆេះផ្សារនៅភ្នំពេញ"
    assert len(char_bigrams(long_text)) >= 2 * len(tokens(long_text))


def test_a_query_run_is_a_phrase_of_its_bigrams() -> None:
    assert fts_query("札幌") == '"札幌"'
    assert fts_query("東京都") == '"東京 京都"'
    assert fts_query("雨") == '"雨"*'  # a lone unit: the bigrams it starts
    assert fts_query("札幌 fire") == '"札幌" AND "fire"*'


def _posts() -> list[Event]:
    return [
        ChannelSeen(Channel(CH, "札幌速報", "sapporo_sokuho"), post_seen(CH, 1).seen_at),
        post_seen(CH, 1, RAIN),
        post_seen(CH, 2, MARKET),
        post_seen(CH, 3, KYOTO),
        post_seen(CH, 4, TOKYO),
        post_seen(CH, 5, PORT),
        post_seen(CH, 6, PHNOM_PENH),
        post_seen(CH, 7, "Sapporo: no Japanese here"),
    ]


def _check_search(conn: object) -> None:
    assert {h.message_id for h in search(conn, "札幌")} == {1, 2}  # type: ignore[arg-type]
    assert [h.message_id for h in search(conn, "札幌市")] == [1]  # type: ignore[arg-type]
    assert [h.message_id for h in search(conn, "大雨")] == [1]  # type: ignore[arg-type]
    # 東京都 is 東京 + 京都 adjacent: the post with both apart is not found.
    assert [h.message_id for h in search(conn, "東京都")] == [4]  # type: ignore[arg-type]
    assert {h.message_id for h in search(conn, "東京")} == {3, 4}  # type: ignore[arg-type]
    assert [h.message_id for h in search(conn, "停電")] == [5]  # type: ignore[arg-type]
    assert [h.message_id for h in search(conn, "ភ្នំពេញ")] == [6]  # type: ignore[arg-type]
    assert [h.message_id for h in search(conn, "ផ្សារ")] == [6]  # type: ignore[arg-type]
    assert [h.message_id for h in search(conn, "Sapporo")] == [7]  # type: ignore[arg-type]


def test_search_finds_a_word_inside_a_clause_on_sqlite(tmp_path: Path) -> None:
    """Through the real writer and search; the hit marks the bigrams."""
    migrate(tmp_path / "a.db")
    conn = write_events(tmp_path / "a.db", _posts())
    _check_search(conn)
    hit = search(conn, "冠水")[0]
    assert "[冠水]" in hit.marked()
    assert {h.message_id for h in search(conn, "冠")} == {1}


def test_search_finds_a_word_inside_a_clause_on_postgres(pg_url: str) -> None:
    """The same token stream as a tsvector: phrase (<->) and prefix alike."""
    migrate(Path(pg_url))
    conn = write_events(Path(pg_url), _posts())
    _check_search(conn)
    # A lone unit finds the bigrams it starts (冠水), not one it ends (大雨).
    assert {h.message_id for h in search(conn, "冠")} == {1}
    assert {h.message_id for h in search(conn, "雨")} == set()


# What the writer indexed before schema 16 (a Han/kana clause one token).
_old_body = index_body_with(lambda folded: text._words(folded, bigrams=False))


def test_migration_16_rebuilds_an_sqlite_index_of_whole_clauses(tmp_path: Path) -> None:
    """An archive at schema 15 whose index holds whole clauses is rebuilt:
    its posts are found by a word in the middle, no clause token is left,
    and a later edit replaces the entry cleanly (contentless FTS5)."""
    path = tmp_path / "old.db"
    migrate(path)
    conn = write_events(path, _posts())
    conn.close()
    raw = sqlite3.connect(path, isolation_level=None)
    sqlite_indexed_as_before(raw, _old_body)
    raw.execute("PRAGMA user_version = 15")
    assert (
        raw.execute("SELECT rowid FROM posts_fts WHERE posts_fts MATCH '\"札幌\"'").fetchall() == []
    )
    raw.close()
    migrate(path)
    conn = connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    _check_search(conn)
    conn.close()
    write_events(path, [post_seen(CH, 1, "札幌で大雨 解除", minutes=30)])  # an edit
    terms = fts5_terms(path)
    assert normalize(RAIN).split("、")[0] not in terms and terms["解除"] == 1
    assert terms["札幌"] == 2


def test_migration_16_replaces_the_postgres_entries(pg_url: str) -> None:
    address = Path(pg_url)
    pg_indexed_as_before(address, _posts(), _old_body, 15, old_miss="大雨")
    migrate(address)
    conn = connect(address)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    _check_search(conn)
