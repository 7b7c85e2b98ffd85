"""Search normalisation, tokens, stemming and language guess."""

from __future__ import annotations

import json
import sqlite3

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telewatch import text
from telewatch.store.db import apply_migrations
from telewatch.text import (
    analyze,
    fts_query,
    guess_language,
    index_text,
    json_printable,
    normalize,
    printable,
    stem,
    tokens,
)

_SCRIPTS = st.text(
    alphabet=st.characters(
        codec="utf-8",
        categories=("L", "M", "N", "P", "Z", "S"),
    ),
    max_size=60,
)


# Text with the separators and marks that stress the chunk cache: every kind
# of white space, combining marks right after white space, compatibility
# forms that NFKC expands into several words.
_WHITESPACE = [chr(c) for c in range(0x110000) if chr(c).isspace()]
_TRICKY = st.lists(
    st.one_of(
        _SCRIPTS,
        st.sampled_from(_WHITESPACE),
        st.sampled_from(["\u0301", "\u0651", "\u05b8", "\ufdfa", "\u00a8", "\u200c", "Σ"]),
        st.sampled_from(["بالسّماوة", "Самаре", "Diwaniya's", "Été", "שָׁלוֹם", "ＡＢＣ", "ﬁ"]),
    ),
    max_size=20,
).map("".join)


def _reference_tokens(s: str) -> list[str]:
    # The definition of tokens, applied to the whole text without the cache.
    return text._words(text._fold_accents(normalize(s)))


@given(_TRICKY)
def test_cached_tokens_and_index_equal_the_whole_text_definition(s: str) -> None:
    """tokens/index_text/analyze give exactly what the uncached whole-text pipeline gives."""
    toks = _reference_tokens(s)
    extra = [stem(t) for t in toks if stem(t) != t]
    expected = " ".join(toks) + (" " + " ".join(extra) if extra else "")
    assert tokens(s) == toks
    assert index_text(s) == expected
    assert analyze(s) == (expected, guess_language(s))


@given(_TRICKY)
def test_outputs_do_not_depend_on_the_cache(s: str) -> None:
    """A cold cache and a warm one give the same tokens, index text and language."""
    warm = (tokens(s), index_text(s), guess_language(s))
    text._CHUNKS.clear()
    assert (tokens(s), index_text(s), guess_language(s)) == warm


def test_language_of_mixed_scripts_is_stable() -> None:
    """Mixed-script and stopword-only texts keep their established guesses."""
    assert guess_language("Самара Samawa convoy") == "und"
    assert guess_language("الديوانية and the convoy was hit") == "en"
    assert guess_language("123 456") == "und"
    assert guess_language("шалом שלום עולם peace") == "he"
    assert guess_language("Він сказав ok ы") == "ru"
    assert guess_language("در بغداد الانفجار في من") == "ar"
    assert guess_language("ok ok ok la les des") == "fr"
    assert index_text("در بغداد الانفجار في من") == "در بغداد الانفجار في من غداد انفجار"


@given(_SCRIPTS)
def test_normalize_is_idempotent(s: str) -> None:
    """normalize(normalize(x)) == normalize(x) for any text."""
    once = normalize(s)
    assert normalize(once) == once


@given(_SCRIPTS)
def test_tokens_do_not_depend_on_prior_normalisation(s: str) -> None:
    """Indexing raw or already-normalised text yields the same tokens."""
    assert tokens(normalize(s)) == tokens(s)


def _archive_index() -> sqlite3.Connection:
    # The archive's real full-text table (every migration applied), in memory.
    conn = sqlite3.connect(":memory:", isolation_level=None)
    apply_migrations(conn, 0)
    conn.execute("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, posts_fts, instance)")
    return conn


@given(_TRICKY)
def test_the_index_keeps_every_token_whole(s: str) -> None:
    """The archive's tokenizer splits index_text exactly at our spaces: each
    token (any script, marks, digits) is one index term, unchanged."""
    conn = _archive_index()
    body = index_text(s)
    conn.execute("INSERT INTO posts_fts(rowid, body, meta) VALUES (1, ?, 'c1 d20220301')", (body,))
    terms = conn.execute("SELECT term FROM vocab WHERE col = 'body' ORDER BY offset").fetchall()
    assert [t for (t,) in terms] == (body.split(" ") if body else [])


@given(_TRICKY)
def test_any_text_gives_a_valid_fts_query(s: str) -> None:
    """Whatever a user types becomes a valid FTS5 expression (or nothing to
    search) that finds the text it came from in the archive's index."""
    expr = fts_query(s)
    conn = _archive_index()
    conn.execute("INSERT INTO posts_fts(rowid, body, meta) VALUES (1, ?, 'c1')", (index_text(s),))
    if expr is not None:
        got = conn.execute("SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?", (expr,))
        assert got.fetchall() == [(1,)]


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


def test_long_unbroken_text_is_tokenised_without_filling_the_cache() -> None:
    """A long run without spaces gives its tokens but is not kept in the chunk cache."""
    run = "السماوة_" * 2000
    assert tokens(run) == _reference_tokens(run) == ["السماوه"] * 2000
    assert run not in text._CHUNKS


def test_printable_shows_controls_and_keeps_rtl_text() -> None:
    """printable turns ESC, C0/C1, DEL, bidi overrides and lone surrogates into visible text;
    Arabic, Persian ZWNJ and the bidi marks stay as they are."""
    assert printable("a\x1b[2Jb\x07\x7f\x9b\u202e\u2066\ud800") == (
        "a␛[2Jb␇␡<U+009B><U+202E><U+2066><U+D800>"
    )
    persian = "می\u200cخواهم \u200fسلام\u061c"
    assert printable(persian) == persian
    assert printable("line\n\ttab\r") == "line\n\ttab␍"
    assert printable("line\n\ttab", multiline=False) == "line␊␉tab"


@given(st.text())
def test_printable_is_idempotent_and_leaves_nothing_a_terminal_obeys(text: str) -> None:
    """printable(printable(x)) == printable(x), and no C0/C1/bidi override survives."""
    once = printable(text, multiline=False)
    assert printable(once, multiline=False) == once
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in once)
    assert not any(c in once for c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def test_json_printable_is_lossless() -> None:
    """json_printable escapes C1, bidi overrides and surrogates; parsing gives the same data."""
    data = {"t": "x\x9b\u202e\ud800\u2028 سلام"}
    doc = json_printable(json.dumps(data, ensure_ascii=False))
    assert "\u202e" not in doc and "\x9b" not in doc and "سلام" in doc
    assert json.loads(doc) == data


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("ฝนตกหนักที่เชียงใหม่เมื่อวานนี้", "th"),
        ("부산에서 어제 큰 불이 났다", "ko"),
        ("ქუთაისში გუშინ წვიმდა", "ka"),
        ("Գյումրիում երեկ անձրև էր", "hy"),
        ("Στη Λάρισα έβρεξε χθες", "el"),
        ("ភ្លៀងធ្លាក់នៅបាត់ដំបង", "km"),
        ("ຝົນຕົກໜັກຢູ່ປາກເຊ", "lo"),
        ("ပုသိမ်မြို့တွင် မိုးရွာသည်", "my"),
        ("በባሕር ዳር ዝናብ ዘነበ", "am"),
        ("மதுரையில் நேற்று மழை", "ta"),
        ("గుంటూరులో నిన్న వర్షం", "te"),
        ("ಮೈಸೂರಿನಲ್ಲಿ ನಿನ್ನೆ ಮಳೆ", "kn"),
        ("തൃശൂരിൽ ഇന്നലെ മഴ", "ml"),
        ("સુરતમાં ગઈકાલે વરસાદ", "gu"),
        ("ਲੁਧਿਆਣੇ ਵਿੱਚ ਕੱਲ੍ਹ ਮੀਂਹ", "pa"),
        ("ගාල්ලේ ඊයේ වැස්ස", "si"),
        ("খুলনায় গতকাল বৃষ্টি", "bn"),
        ("କଟକରେ ଗତକାଲି ବର୍ଷା", "or"),
        ("仙台のニュースです", "ja"),
        ("昨天南京下大雨", "zh"),
        ("पुणे में कल बारिश", "und"),  # Devanagari: Hindi, Marathi or Nepali
        ("ฝน the storm was over by the time the rain came", "en"),  # most letters Latin
    ],
)
def test_a_script_of_one_language_names_it(text: str, lang: str) -> None:
    """A text in a script written for one language gets that language's
    ISO 639-1 code, and analyze() agrees with guess_language()."""
    assert guess_language(text) == lang
    assert analyze(text)[1] == lang
