"""Search normalisation, tokens, stemming and language guess."""

from __future__ import annotations

import sqlite3

from hypothesis import given
from hypothesis import strategies as st

from telewatch.text import fts_query, guess_language, index_text, normalize, stem, tokens

_SCRIPTS = st.text(
    alphabet=st.characters(
        codec="utf-8",
        categories=("L", "M", "N", "P", "Z", "S"),
    ),
    max_size=60,
)


@given(_SCRIPTS)
def test_normalize_is_idempotent(s: str) -> None:
    """normalize(normalize(x)) == normalize(x) for any text."""
    once = normalize(s)
    assert normalize(once) == once


@given(_SCRIPTS)
def test_tokens_do_not_depend_on_prior_normalisation(s: str) -> None:
    """Indexing raw or already-normalised text yields the same tokens."""
    assert tokens(normalize(s)) == tokens(s)


@given(_SCRIPTS)
def test_any_text_gives_a_valid_fts_query(s: str) -> None:
    """Whatever a user types becomes a valid FTS5 expression (or nothing to search)."""
    expr = fts_query(s)
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE VIRTUAL TABLE f USING fts5(body, content='', tokenize='unicode61 remove_diacritics 0')"
    )
    conn.execute("INSERT INTO f(rowid, body) VALUES (1, ?)", (index_text(s),))
    if expr is not None:
        assert conn.execute("SELECT rowid FROM f WHERE f MATCH ?", (expr,)).fetchall() == [(1,)]


def test_arabic_folding() -> None:
    """Tashkeel, tatweel, alef/ya/ta-marbuta forms and Arabic-Indic digits fold."""
    assert normalize("السّماوةُ") == normalize("السماوه")
    assert normalize("أحمد إلى آخر") == "احمد الي اخر"
    assert normalize("عـــاجل") == "عاجل"
    assert normalize("١٤٧٬٩٠٠") == "147,900"
    assert normalize("ی ک") == normalize("ي ك")


def test_cyrillic_and_latin_folding() -> None:
    """ё folds to е, case folds, and Latin accents fold in tokens."""
    assert normalize("Ёлка") == "елка"
    assert tokens("Été à Paris") == ["ete", "a", "paris"]
    assert tokens("Diwaniya's") == ["diwaniya", "s"]


def test_light_stems_meet() -> None:
    """Clitics and inflections reduce to a shared stem."""
    assert stem("بالسماوه") == stem("السماوه") == "سماوه"
    assert stem("самаре") == stem("самара") == "самар"
    assert stem("convoys") == "convoy" and stem("class") == "class"
    assert "سماوه" in index_text("في بالسّماوة")


def test_guess_language() -> None:
    """Script and letter/stopword cues name the language, or und when unsure."""
    assert guess_language("این یک خبر است که از ایران می‌آید") == "fa"
    assert guess_language("قوات الاحتلال في السماوة") == "ar"
    assert guess_language("Він сказав, що їх немає") == "uk"
    assert guess_language("Он сказал, что их нет") == "ru"
    assert guess_language("The convoy was hit at Samawa") == "en"
    assert guess_language("Le convoi a été touché selon la chaîne") == "fr"
    assert guess_language("שלום עולם") == "he"
    assert guess_language("ok") == "und"
