"""Thai without spaces: word segmentation, RTGS romanisation, channel titles
matched by their romanised spelling, and search by a word in the middle of
a Thai clause through the real store (and after migrating an archive that
the old code indexed)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telewatch import text, thai
from telewatch.models import Channel, ChannelSeen, Event
from telewatch.store import schema
from telewatch.store.db import apply_migrations, connect, migrate
from telewatch.store.queries import search
from telewatch.text import fts_query, index_body, normalize, tokens
from telewatch.xref.candidates import ChannelInfo
from telewatch.xref.citations import extract_citations
from telewatch.xref.names import latin_spelling, name_key, same_name
from tests.fixtures.store import (
    fts5_terms,
    index_body_with,
    pg_indexed_as_before,
    post_seen,
    sqlite_indexed_as_before,
    write_events,
)

CH = 1600000404
FIRE = "เกิดเหตุไฟไหม้ตลาดวโรรสเชียงใหม่เมื่อคืนนี้"  # "a fire broke out at Warorot market, Chiang Mai, last night"
FLOOD = "แม่สาย: น้ำแม่สายล้นตลิ่ง ท่วมตลาดสายลมจอย ชุมชนริมน้ำกว่า 200 ครัวเรือนต้องอพยพ"


def test_a_thai_clause_is_cut_into_dictionary_words() -> None:
    """A clause without spaces becomes its words, in order, nothing lost."""
    assert thai.segment(FIRE) == ("เกิดเหตุ", "ไฟไหม้", "ตลาด", "วโรรส", "เชียงใหม่", "เมื่อคืนนี้")
    assert thai.segment("ข่าวเชียงใหม่ด่วน") == ("ข่าว", "เชียงใหม่", "ด่วน")
    toks = tokens(FLOOD)
    for word in ("แม่", "สาย", "ตลิ่ง", "ท่วม", "ตลาด", "ชุมชน", "200", "อพยพ"):
        assert word in toks, toks
    # Sara am (ำ) is written as ํา after NFKC: the dictionary is read the same way.
    assert tokens("ตำรวจจับกุมผู้ต้องหา") == [normalize("ตำรวจ"), "จับกุม", "ผู้ต้องหา"]
    assert tokens("๑๒๐ เม็ด") == ["120", "เม็ด"]  # Thai digits are folded like Arabic-Indic ones


_THAI = st.text(alphabet=st.characters(min_codepoint=0x0E01, max_codepoint=0x0E4E), max_size=40)


@given(_THAI)
def test_segments_put_back_together_give_the_run(run: str) -> None:
    """Whatever the letters, the pieces are non-empty and concatenate to the run."""
    pieces = thai.segment(run)
    assert "".join(pieces) == run
    assert all(pieces)


@given(
    st.lists(st.one_of(_THAI, st.sampled_from([" ", "Chiang Mai", "12", ":", FIRE]))).map("".join)
)
def test_thai_tokens_keep_the_text_contracts(s: str) -> None:
    """Segmented text still gives the same tokens raw or normalised, and an
    FTS query made from it finds it in the archive's index."""
    assert tokens(normalize(s)) == tokens(s)
    expr = fts_query(s)
    conn = sqlite3.connect(":memory:", isolation_level=None)
    apply_migrations(conn, 0)
    conn.execute("INSERT INTO posts_fts(rowid, body, meta) VALUES (1, ?, 'c1')", (index_body([s]),))
    if expr is not None:
        got = conn.execute("SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?", (expr,))
        assert got.fetchall() == [(1,)]


@pytest.mark.parametrize(
    ("thai_word", "rtgs"),
    [
        ("ข่าวเชียงใหม่ด่วน", "khao chiangmai duan"),
        ("เชียงใหม่", "chiangmai"),
        ("ลำพูน", "lamphun"),
        ("ลำปาง", "lampang"),
        ("แม่สาย", "mae sai"),
        ("ภูเก็ต", "phuket"),
        ("หาดใหญ่", "hatyai"),
        ("ขอนแก่น", "khonkaen"),
        ("ศรีสะเกษ", "sisaket"),
        ("หนองคาย", "nongkhai"),
        ("ประเทศไทย", "prathet thai"),
        ("ตำรวจ", "tamruat"),
        ("เกาะคา", "ko kha"),
    ],
)
def test_rtgs_spelling_of_real_names(thai_word: str, rtgs: str) -> None:
    """Thai titles and places come out as the wire services spell them
    (RTGS, words run together where Thai writes one word)."""
    assert thai.romanize(thai_word) == rtgs


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("ข่าวเชียงใหม่ด่วน", "Khao Chiang Mai Duan"),
        ("ข่าวเชียงใหม่ด่วน", "Khao Chiang Mai (Duan)"),
        ("เชียงใหม่", "Chiang Mai"),
        ("เชียงราย", "Chiang Rai"),
        ("ลำพูน", "Lamphun"),
        ("ขอนแก่น", "Khon Kaen"),
        ("부산속보", "Busan Sokbo"),
        ("부산속보", "Pusan Sokpo"),
        ("서울", "Seoul"),
    ],
)
def test_thai_and_hangul_names_meet_their_latin_spelling(a: str, b: str) -> None:
    """The name key of a Thai or Hangul title is the key of its press spelling."""
    assert name_key(a).skeleton.replace(" ", "") == name_key(b).skeleton.replace(" ", "")
    assert same_name(a, b, strict=True) >= 0.8


@pytest.mark.parametrize(
    ("a", "b"),
    [("เชียงใหม่", "Chiang Rai"), ("ข่าวเชียงใหม่ด่วน", "Khon Kaen News"), ("부산속보", "Seoul")],
)
def test_different_thai_and_hangul_names_do_not_match(a: str, b: str) -> None:
    assert same_name(a, b, strict=True) == 0.0


def test_latin_spelling_is_only_for_run_together_scripts() -> None:
    assert latin_spelling("부산속보") == "busansokbo"
    assert latin_spelling("Jatim Terkini") is None
    assert latin_spelling("Алматы жаңалық") is None


def test_an_article_names_the_thai_channel_by_its_romanised_title() -> None:
    """ "Khao Chiang Mai Duan" and the shorter «Khao Chiang Mai» (without
    ด่วน, "urgent") cite the channel ข่าวเชียงใหม่ด่วน; a mention of the city
    alone does not."""
    channels = [ChannelInfo(CH, "chiangmai_khao", "ข่าวเชียงใหม่ด่วน"), ChannelInfo(2, None, "Jatim")]
    for article in (
        "The Sai river burst its banks in Mae Sai, the Thai Telegram channel Khao Chiang Mai"
        " Duan reported.",
        "Lo riferisce il canale Telegram «Khao Chiang Mai», secondo cui le squadre lavorano.",
    ):
        cited = [c for c in extract_citations(article, channels) if c.channel_id is not None]
        assert [(c.kind, c.channel_id, c.similarity) for c in cited] == [("name", CH, 1.0)]
    city = "Floods reached the Nawarat bridge in Chiang Mai on Thursday, the town hall said."
    assert [c for c in extract_citations(city, channels) if c.channel_id is not None] == []


def _posts() -> list[Event]:
    return [
        ChannelSeen(Channel(CH, "ข่าวเชียงใหม่ด่วน", "chiangmai_khao"), post_seen(CH, 1).seen_at),
        post_seen(CH, 1, FIRE),
        post_seen(CH, 2, FLOOD),
        post_seen(CH, 3, "Chiang Mai: no Thai here"),
    ]


def test_a_thai_post_is_found_by_a_word_in_the_middle(archive: Path) -> None:
    """Through the real writer and search: ตลาด (market) in the middle of
    two clauses finds both posts, ไฟไหม้ (fire) only the first, and the hit
    marks the word, not the whole clause."""
    conn = write_events(archive, _posts())
    assert {h.message_id for h in search(conn, "ตลาด")} == {1, 2}
    fire = search(conn, "ไฟไหม้")
    assert [h.message_id for h in fire] == [1]
    assert "[ไฟไหม้]" in fire[0].marked()
    assert {h.message_id for h in search(conn, "อพยพ")} == {2}
    assert {h.message_id for h in search(conn, "ไฟไหม้ตลาด")} == {1}


# What the writer indexed before schema 15 (a Thai clause one token): the
# same pipeline without the Thai cut.
_old_body = index_body_with(text._WORD.findall)


def test_an_archive_indexed_before_the_cut_finds_its_thai_posts_after_migrating(
    tmp_path: Path,
) -> None:
    """An archive at schema 14 whose index holds whole Thai clauses (as the
    old writer made it) is rebuilt by migration 15: its posts are found by a
    word in the middle, no clause token is left, and a later edit replaces
    the entry cleanly (contentless FTS5 deletes by the exact body)."""
    path = tmp_path / "old.db"
    conn = _write_at(path, 14)
    sqlite_indexed_as_before(conn, _old_body)
    clause = normalize(FIRE)
    hits = conn.execute("SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?", ('"ตลาด"*',))
    assert hits.fetchall() == []  # the old index's miss: no word starts a clause there
    conn.close()
    migrate(path)
    conn = connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    assert {h.message_id for h in search(conn, "ตลาด")} == {1, 2}
    conn.close()
    write_events(path, [post_seen(CH, 1, "ไฟไหม้ตลาดวโรรส ดับแล้ว", minutes=30)])  # an edit
    terms = fts5_terms(path)
    assert clause not in terms and terms["ตลาด"] == 2 and terms["ดับ"] == 1
    conn = connect(path)
    assert [h.message_id for h in search(conn, "ดับ")] == [1]
    assert {h.message_id for h in search(conn, "เมื่อคืนนี้")} == {1}  # the first version's words


def _write_at(path: Path, version: int) -> sqlite3.Connection:
    """An archive with the Thai posts written by the writer, then marked as
    being at schema ``version`` (its index is rewritten by the caller)."""
    migrate(path)
    conn = write_events(path, _posts())
    conn.close()
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute(f"PRAGMA user_version = {version}")
    return raw


def test_migration_15_leaves_an_archive_without_thai_untouched(tmp_path: Path) -> None:
    """No Thai post: the index is not rebuilt (same entries, same rowids)."""
    path = tmp_path / "plain.db"
    migrate(path)
    conn = write_events(
        path, [post_seen(7, 1, "A convoy was hit in Diwaniya"), post_seen(7, 2, "Самара")]
    )
    conn.close()
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA user_version = 14")
    before = raw.execute("SELECT count(*) FROM posts_fts_data").fetchone()[0]
    raw.close()
    migrate(path)
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT count(*) FROM posts_fts_data").fetchone()[0] == before
    raw.close()
    conn = connect(path)
    assert [h.message_id for h in search(conn, "Diwaniya")] == [1]


def test_a_postgres_archive_indexed_before_the_cut_is_reindexed(pg_url: str) -> None:
    """The same migration on PostgreSQL: the entries of Thai posts, holding
    whole clauses as the old writer made them, are replaced by row id; the
    other posts' entries stay; search finds the word in the middle."""
    address = Path(pg_url)
    pg_indexed_as_before(address, _posts(), _old_body, 14, old_miss="ตลาด")
    migrate(address)
    conn = connect(address)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    assert {h.message_id for h in search(conn, "ตลาด")} == {1, 2}
    assert [h.message_id for h in search(conn, "ไฟไหม้")] == [1]
    assert [h.message_id for h in search(conn, "Chiang")] == [3]
