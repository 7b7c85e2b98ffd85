"""Text normalisation for search and matching (stdlib only).

``normalize`` is applied both when indexing and when querying, so that
spelling variants meet: NFKC, casefold, Arabic/Persian folding (tashkeel and
tatweel removed, alef/hamza forms, ya/kaf/heh variants, Arabic-Indic,
Persian, Thai, Lao, Myanmar and Khmer digits to ASCII), ``ё`` → ``е``,
zero-width characters removed.
"""

from __future__ import annotations

import bisect
import itertools
import operator
import re
import unicodedata
from collections.abc import Sequence
from typing import cast

from telewatch import marks, thai, unspaced

# Arabic diacritics (tashkeel), Quranic marks, superscript alef.
_TASHKEEL = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed]")
_TATWEEL = "\u0640"
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u061c]")

_FOLD = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ٲ": "ا",
        "ٳ": "ا",
        "ى": "ي",
        "ی": "ي",
        "ې": "ي",
        "ۍ": "ي",
        "ئ": "ي",
        "ک": "ك",
        "ڪ": "ك",
        "ة": "ه",
        "ۀ": "ه",
        "ە": "ه",
        "ہ": "ه",
        "ھ": "ه",
        "ؤ": "و",
        "ё": "е",
        **{chr(0x0660 + i): str(i) for i in range(10)},  # Arabic-Indic digits
        **{chr(0x06F0 + i): str(i) for i in range(10)},  # Persian digits
        **{chr(0x0E50 + i): str(i) for i in range(10)},  # Thai digits
        **{chr(0x0ED0 + i): str(i) for i in range(10)},  # Lao digits
        **{chr(0x1040 + i): str(i) for i in range(10)},  # Myanmar digits
        **{chr(0x17E0 + i): str(i) for i in range(10)},  # Khmer digits
        "٬": ",",
        "٫": ".",
        "،": ",",
        "؛": ";",
        "؟": "?",
    }
)


_FOLD_CHARS = re.compile("[" + "".join(re.escape(chr(c)) for c in _FOLD) + "]")
_FOLD_MAP = {chr(k): v for k, v in _FOLD.items() if isinstance(v, str)}


def normalize(text: str) -> str:
    """Fold ``text`` for search. Idempotent: normalize(normalize(x)) == normalize(x)."""
    s = unicodedata.normalize("NFKC", text).casefold()
    if s.isascii():
        return s
    s = _TASHKEEL.sub("", s).replace(_TATWEEL, "")
    if _ZERO_WIDTH.search(s):
        s = _ZERO_WIDTH.sub("", s)
    # Replacing the few distinct characters to fold is faster than
    # str.translate walking a whole non-ASCII string (every post is folded).
    for ch in set(_FOLD_CHARS.findall(s)):
        s = s.replace(ch, _FOLD_MAP[ch])
    # NFKC again: casefold/folding can produce new compatibility forms.
    if unicodedata.is_normalized("NFKC", s):
        return s
    return unicodedata.normalize("NFKC", s)


# --------------------------------------------------------------------------
# Tokens, light stemming and the full-text index/query forms.
# --------------------------------------------------------------------------

# A word: letters and digits of any script, plus the combining marks that
# live inside words (Python's \w does not include marks, so Indic, Hebrew
# pointed or Thaana words would otherwise break apart; telewatch.marks is
# every mark). '_' and apostrophes separate: "Diwaniya's" → "diwaniya", "s";
# "#الكاظمية_المقدسة" → two words.
_OLD_MARKS = "\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0900-\u0dff\u0e31-\u0e4e" + unspaced.MARKS
"""The marks words kept before schema 19 (store/reindex.py rewrites the index
entries of posts with any other mark)."""
_MARKS = _OLD_MARKS + marks.CLASS
_WORD = re.compile(f"[^\\W_](?:[^\\W_]|[{_MARKS}])*")
_WORD_PLAIN = re.compile("[^\\W_]+")
_HAS_MARK = re.compile(f"[{_MARKS}]")
# Characters _fold_accents may change: Latin letters with accents, combining
# marks, Hebrew points.
_HAS_ACCENT = re.compile("[\u00c0-\u024f\u0300-\u036f\u1e00-\u1eff\u0591-\u05c7]")
# Accents on Latin letters (after NFD) and Hebrew points are folded for
# search; Cyrillic й/ї keep their marks (NFC recomposes them).
_LATIN_ACCENT = re.compile("(?<=[A-Za-z])[\u0300-\u036f]+")
_HEBREW_POINTS = re.compile("[\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7]")


def _fold_accents(s: str) -> str:
    if s.isascii() or not _HAS_ACCENT.search(s):
        return s
    d = _LATIN_ACCENT.sub("", unicodedata.normalize("NFD", s))
    return _HEBREW_POINTS.sub("", unicodedata.normalize("NFC", d))


def tokens(text: str) -> list[str]:
    """Normalised word tokens of ``text`` in any script, in order.

    ``tokens(x) == tokens(normalize(x))``; Latin accents and Hebrew points are
    folded (``Été`` → ``ete``), punctuation and ``_`` separate words, so
    ``Diwaniya's`` gives ``["diwaniya", "s"]``. Unspaced scripts are cut:
    Thai into dictionary words (``telewatch.thai``), Han/kana/Khmer/Lao/
    Myanmar runs into overlapping bigrams (``telewatch.unspaced``:
    ``熊本市`` → ``["熊本", "本市"]``)."""
    joined = _chunks_of(text)[0]
    return joined.split(" ") if joined else []


def _tokens_uncached(text: str) -> list[str]:
    return _words(_fold_accents(normalize(text)))


def _words(folded: str, *, bigrams: bool = True) -> list[str]:
    # Marks inside words are rare once Arabic tashkeel, Hebrew points and
    # Latin accents are folded: the plain pattern is several times faster.
    if folded.isascii():
        return _WORD_PLAIN.findall(folded)
    found = (_WORD if _HAS_MARK.search(folded) else _WORD_PLAIN).findall(folded)
    if thai.HAS_THAI.search(folded):
        # Thai has no spaces between words: a clause is one regex word. Only
        # runs of Thai letters are cut (thai.segment, dictionary words).
        found = [p for w in found for p in (thai.segment(w) if _all_thai(w) else _cut_thai(w))]
    if bigrams and unspaced.HAS_UNSPACED.search(folded):
        # Han, kana, Khmer, Lao, Myanmar: overlapping bigrams of a run's
        # units (telewatch.unspaced), no dictionary needed.
        has = unspaced.HAS_UNSPACED.search
        found = [p for w in found for p in (unspaced.bigrams(w) if has(w) else (w,))]
    return found


_ALL_THAI = re.compile(f"[{thai.THAI_LETTERS}]+")


def _all_thai(word: str) -> bool:
    return _ALL_THAI.fullmatch(word) is not None


def _cut_thai(word: str) -> list[str]:
    # A word mixing Thai letters with others (digits, Latin): its Thai runs
    # cut, the rest kept as pieces of its own.
    return [p for p in thai.split_words(word) if p] if thai.HAS_THAI.search(word) else [word]


# Light stemming as regular expressions over space-separated tokens, so that
# indexing a whole post runs in C (the writer indexes ~30,000 posts/s).
# Arabic/Persian proclitics, longest first: conjunction و/ف, preposition
# ب/ك/ل and the article ال ("وبالسماوة" → "سماوه"); at least 3 letters stay.
_AR = "\u0621-\u064a\u066e-\u06d3"
_AR_PREFIX = re.compile(
    f"(?<!\\S)(?:وبال|وكال|فبال|فال|وال|بال|كال|لل|ال|وب|ول|فب|فل|و|ف|ب|ل|ك)(?=[{_AR}]{{3}})"
)
# Plural/possessive suffixes of Arabic and Persian nouns.
_AR_SUFFIX = re.compile(f"(?<=[{_AR}]{{3}})(?:هاي|ها|ات|ين|ون|يه|ي)(?!\\S)")
# Russian/Ukrainian inflectional endings, longest first ("самаре" → "самар").
_CY = "\u0430-\u044f\u0456\u0457\u0454\u0491"
_CY_ENDING = re.compile(
    f"(?<=[{_CY}]{{3}})(?:иями|ями|ами|ого|его|ому|ему|ыми|ими|ией|ах|ях|ов|ев|ей|ой|ом|ем"
    "|ам|ям|ую|юю|ая|яя|ое|ее|ые|ие|ый|ий|ых|их|ию|ия|іх|ів|ою|ею|ої|ій|ії"
    "|а|я|е|у|ю|ы|и|о|ь|і|ї|є)(?!\\S)"
)
# English/French plural endings ("convoys" → "convoy"), not "-ss".
_LATIN_ENDING = re.compile("(?<=[a-z]{3})(?<!s)(?:es|s)(?!\\S)")


_HAS_AR = re.compile(f"[{_AR}]")
_HAS_CY = re.compile(f"[{_CY}]")
_HAS_LATIN = re.compile("[a-z]")


def _stem_all(words: str) -> str:
    # Each rule only runs when its script occurs: most posts use one script.
    s = words
    if _HAS_AR.search(s):
        s = _AR_SUFFIX.sub("", _AR_PREFIX.sub("", s))
    if _HAS_CY.search(s):
        s = _CY_ENDING.sub("", s)
    if _HAS_LATIN.search(s):
        s = _LATIN_ENDING.sub("", s)
    return s


def stem(word: str) -> str:
    """A light, search-only stem of one normalised token.

    Arabic/Persian: strips one proclitic (و ف ب ك ل, the article ال) and one
    suffix, keeping at least 3 letters (``بالسماوه``/``السماوه`` → ``سماوه``).
    Russian/Ukrainian: strips one inflectional ending (``самаре``/``самара``
    → ``самар``). English/French: strips a plural ``s``/``es``."""
    s = _STEMS.get(word)
    if s is None:
        if len(_STEMS) >= _STEM_CACHE_SIZE:
            _STEMS.clear()
        s = _STEMS[word] = _stem_all(word) or word
    return s


# Words repeat (Zipf): a token → stem cache makes indexing several times
# faster than running the stemming expressions over every post. The bound
# matters for the daemon, which runs for weeks: every unique token (a number,
# a name) adds an entry, and a cleared dict's memory stays with the process.
# 50,000 entries (≈ 5 MB) keep the Zipf head; 300,000 (≈ 25 MB) indexed only
# ~7 % faster on Zipf-distributed text (26.8k vs 25.1k posts/s).
_STEMS: dict[str, str] = {}
_STEM_CACHE_SIZE = 50_000


def index_text(text: str) -> str:
    """The string the full-text index stores for ``text``: its tokens, then
    the stems that differ from their token. The writer inserts and deletes
    exactly this string, so changing it requires a reindex."""
    joined, extra = _chunks_of(text)
    return joined + " " + extra if extra else joined


def index_body(texts: Sequence[str]) -> str:
    """The full-text index entry of a post whose versions had ``texts``
    (oldest first): the index text of each distinct one, so that a post is
    found by words it had before an edit too. For one text it is
    ``index_text(text)``; the writer deletes an entry by recomputing it."""
    return " ".join(b for b in dict.fromkeys(map(index_text, texts)) if b)


def analyze(text: str) -> tuple[str, str]:
    """``(index_text(text), guess_language(text))`` in one pass (the writer
    calls this for every post)."""
    joined, extra = _chunks_of(text)
    toks = joined.split(" ") if joined else []
    return (joined + " " + extra if extra else joined), _language(toks, text, joined)


# Every function above is local to a whitespace-separated chunk of the raw
# text: NFKC, casefold, the folding tables and the accent rules never join
# or move characters across white space (white space is an NFKC starter
# that nothing composes with, and no pattern matches across it), and a word
# never contains white space. So a text's tokens are the concatenation of
# its chunks' tokens, and chunks repeat (Zipf): caching each chunk's tokens
# and differing stems turns the per-post work into dictionary look-ups.
# tests/unit/test_text.py checks the equivalence on random multilingual
# text. Values: (tokens joined by " ", differing stems joined by " ").
_CHUNKS: dict[str, tuple[str, str]] = {}
_CHUNK_CACHE_SIZE = 20_000  # at most ≈ 8 MB (64-char chunks); see _STEM_CACHE_SIZE
_CHUNK_MAX_CHARS = 64
_TOKS = operator.itemgetter(0)
_EXTRA = operator.itemgetter(1)


def _chunk(chunk: str) -> tuple[str, str]:
    toks = _tokens_uncached(chunk)
    entry = (" ".join(toks), " ".join(_differing(toks)))
    if len(chunk) <= _CHUNK_MAX_CHARS:  # a long run without spaces is not a word to reuse
        if len(_CHUNKS) >= _CHUNK_CACHE_SIZE:
            _CHUNKS.clear()
        _CHUNKS[chunk] = entry
    return entry


def _differing(toks: list[str]) -> list[str]:
    out = []
    for t in toks:
        s = stem(t)
        if s != t:
            out.append(s)
    return out


def _chunks_of(text: str) -> tuple[str, str]:
    """(tokens of ``text`` joined by " ", stems differing from their token
    joined by " ") via the chunk cache."""
    parts = text.split()
    found = list(map(_CHUNKS.get, parts))
    if None in found:
        entries = [e or _chunk(c) for e, c in zip(found, parts, strict=True)]
    else:
        entries = cast("list[tuple[str, str]]", found)
    return (
        " ".join(filter(None, map(_TOKS, entries))),
        " ".join(filter(None, map(_EXTRA, entries))),
    )


def _term(word: str, *, prefix: bool = True) -> str:
    quoted = '"' + word.replace('"', '""') + '"'
    return quoted + "*" if prefix and len(word) >= 4 else quoted


def fts_query(text: str) -> str | None:
    """An FTS5 MATCH expression for user ``text`` treated as plain words.

    Every word must match (AND). A word matches itself or any indexed word
    starting with its stem (prefix match from 4 characters; a word that is
    its own stem is matched as a prefix),
    so ``السماوة`` finds ``السّماوة`` and ``بالسماوة``, ``Самара`` finds
    ``Самаре`` and ``Diwaniya`` finds ``Diwaniya's`` and ``Diwaniyah``.
    Quotes, ``-``, ``*``, ``:`` and FTS keywords in ``text`` are just words.
    Returns None when ``text`` has no word at all."""
    runs = query_runs(text)
    words = [w for r in runs if len(r) == 1 for w in r]
    phrases = [r for r in runs if len(r) > 1]
    if len(words) + len(phrases) > 1:
        # A lone Latin letter is the tail of "Diwaniya's" or "l'armée": noise.
        words = [w for w in words if len(w) > 1 or not w.isascii()] or (
            words if not phrases else []
        )
    groups: list[str] = []
    for r in dict.fromkeys(" ".join(r) for r in phrases):
        # A run of an unspaced script: its bigrams, adjacent and in order.
        groups.append('"' + r.replace('"', '""') + '"')
    for w in dict.fromkeys(words):
        if unspaced.HAS_UNSPACED.match(w) and len(unspaced.units(w)) == 1:
            # One unit alone (a one-character query): the bigrams starting
            # with it, and the unit where it stood alone in the text.
            groups.append(_term(w, prefix=False) + "*")
            continue
        s = stem(w)
        # The stem (a prefix of the word, or the word minus a clitic) carries
        # the prefix match; the word itself only needs an exact match then.
        groups.append(_term(w) if s == w else f"({_term(w, prefix=False)} OR {_term(s)})")
    return " AND ".join(groups) if groups else None


def query_runs(text: str) -> list[list[str]]:
    """The tokens of ``text`` (those of ``tokens``) grouped: the bigrams of
    each run of an unspaced script (``telewatch.unspaced``) are one group,
    searched as a phrase; every other token is a group of its own."""
    out: list[list[str]] = []
    for w in _words(_fold_accents(normalize(text)), bigrams=False):
        if unspaced.HAS_UNSPACED.search(w):
            out.extend(unspaced.runs(w))
        else:
            out.append([w])
    return out


def query_stems(text: str) -> list[str]:
    """The words and stems ``fts_query`` searches for (highlighting)."""
    out: list[str] = []
    for w in tokens(text):
        out.extend((w, stem(w)))
    return list(dict.fromkeys(out))


# --------------------------------------------------------------------------
# Language guess.
# --------------------------------------------------------------------------


def _wordset(words: str) -> frozenset[str]:
    # Stopwords are compared with tokens, so they are tokenised the same way.
    return frozenset(tokens(words))


_PERSIAN_WORDS = _wordset("است این که را با از برای می شد های ها هم بود کرد شده آن تا یک ایران نیز")
_ARABIC_WORDS = _wordset("في من على إلى الى عن التي الذي هذا هذه مع قد أن ان كان بين بعد ذلك تم لم")
_LATIN_STOPWORDS: dict[str, frozenset[str]] = {
    "en": _wordset(
        "the and of to in is that for on with was as at by from it are this be has have "
        "were an said after"
    ),
    "fr": _wordset(
        "le la les des du de et est un une dans pour que qui sur par au aux pas ce cette "
        "a été sont selon"
    ),
    "de": _wordset("der die das und ist nicht mit den dem ein eine zu von auf für sich im auch"),
    "es": _wordset("el la los las y de en que un una por con para es del al se su según"),
    "tr": _wordset("ve bir bu da de ile için çok olarak olan gibi daha ama"),
}
_ARABIC_ONLY_WORDS = _ARABIC_WORDS - _PERSIAN_WORDS
_PERSIAN_LETTERS = "پچژگیک"
_UK_LETTERS = "іїєґІЇЄҐ"
_RU_LETTERS = "ыэъёЫЭЪЁ"


def _count(text: str, letters: str) -> int:
    # Occurrences of any of ``letters`` (str.count per letter beats a regex scan).
    return sum(map(text.count, letters))


_SAMPLE_WORDS = 50  # words looked at: enough for a post, bounded for long texts


def guess_language(text: str) -> str:
    """ISO 639-1 guess for ``text``: ar, fa, ru, uk, en, fr, de, es, tr, he,
    a language its script names, or ``"und"`` when unsure (fewer than 3
    letters, no clear signal).

    The script with the most letters decides. Arabic script → fa when
    Persian-only letters (پ چ ژ گ ی ک) or Persian function words outweigh
    Arabic function words, else ar; Cyrillic → uk when і ї є ґ outnumber
    ы э ъ ё, else ru; Hebrew script → he; Latin → the language whose
    stopwords occur most; a script of one language → its code (Greek el,
    Armenian hy, Georgian ka, Thai th, Lao lo, Myanmar my, Khmer km,
    Ethiopic am, Hangul ko, Bengali bn, Gurmukhi pa, Gujarati gu, Odia or,
    Tamil ta, Telugu te, Kannada kn, Malayalam ml, Sinhala si; Han zh, or
    ja with kana); Devanagari (Hindi, Marathi, Nepali) → und. Looks at the
    first 50 words."""
    joined = _chunks_of(text)[0]
    return _language(joined.split(" ") if joined else [], text, joined)


_STOP_LANGS: dict[str, tuple[str, ...]] = {}
for _lang, _words_of_lang in _LATIN_STOPWORDS.items():
    for _w in _words_of_lang:
        _STOP_LANGS[_w] = (*_STOP_LANGS.get(_w, ()), _lang)
# Scripts that name their language (ISO 639-1), by the first letter of a
# token: (first code point, last code point, language). Devanagari is
# written for Hindi, Marathi and Nepali alike ("und"); Han without kana is
# zh, with kana ja.
_SCRIPT_LANGS = (
    (0x0370, 0x03FF, "el"),
    (0x0530, 0x058F, "hy"),
    (0x0780, 0x07BF, "dv"),
    (0x0900, 0x097F, "und"),
    (0x0980, 0x09FF, "bn"),
    (0x0A00, 0x0A7F, "pa"),
    (0x0A80, 0x0AFF, "gu"),
    (0x0B00, 0x0B7F, "or"),
    (0x0B80, 0x0BFF, "ta"),
    (0x0C00, 0x0C7F, "te"),
    (0x0C80, 0x0CFF, "kn"),
    (0x0D00, 0x0D7F, "ml"),
    (0x0D80, 0x0DFF, "si"),
    (0x0E00, 0x0E7F, "th"),
    (0x0E80, 0x0EFF, "lo"),
    (0x1000, 0x109F, "my"),
    (0x10A0, 0x10FF, "ka"),
    (0x1100, 0x11FF, "ko"),
    (0x1200, 0x139F, "am"),
    (0x1780, 0x17FF, "km"),
    (0x1C90, 0x1CBF, "ka"),
    (0x1F00, 0x1FFF, "el"),
    (0x2D00, 0x2D2F, "ka"),
    (0x2D80, 0x2DDF, "am"),
    (0x3005, 0x3007, "zh"),
    (0x3041, 0x30FF, "ja"),
    (0x3130, 0x318F, "ko"),
    (0x31F0, 0x31FF, "ja"),
    (0x3400, 0x4DBF, "zh"),
    (0x4E00, 0x9FFF, "zh"),
    (0xA960, 0xA97F, "ko"),
    (0xAC00, 0xD7AF, "ko"),
    (0xF900, 0xFAFF, "zh"),
    (0x20000, 0x3134F, "zh"),
)
_SCRIPT_STARTS = [lo for lo, _, _ in _SCRIPT_LANGS]
SCRIPT_LANGUAGES = frozenset(lang for _, _, lang in _SCRIPT_LANGS) - {"und"}
"""The languages ``guess_language`` tells by their script alone."""


_LANG_OF: dict[str, str] = {}  # first letter → language ("" for none); a few hundred


def _script_language(c: str) -> str:
    """The language ``_SCRIPT_LANGS`` gives the letter ``c``, or ""."""
    lang = _LANG_OF.get(c)
    if lang is None:
        cp = ord(c)
        i = bisect.bisect_right(_SCRIPT_STARTS, cp) - 1
        lang = _SCRIPT_LANGS[i][2] if i >= 0 and cp <= _SCRIPT_LANGS[i][1] else ""
        if len(_LANG_OF) < 10_000:
            _LANG_OF[c] = lang
    return lang


_PROBE_CLASSES = {
    "arab": "\u0600-\u06ff\u0750-\u077f",
    "cyr": "\u0400-\u04ff",
    "heb": "\u0590-\u05ff",
    "latin": "a-z\u00df-\u024f",
    # Every script of _SCRIPT_LANGS: counted word by word when present.
    "own": "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi, _ in _SCRIPT_LANGS),
}
_SCRIPT_PROBES = tuple((name, re.compile(f"[{cls}]")) for name, cls in _PROBE_CLASSES.items())
# For each script: a probe for the other three, so that a one-script text
# (most posts) is recognised with one scan instead of four.
_OTHER_SCRIPTS = {
    name: re.compile("[" + "".join(c for n, c in _PROBE_CLASSES.items() if n != name) + "]")
    for name in _PROBE_CLASSES
}


def _present_scripts(joined: str) -> list[str]:
    """The probe scripts occurring in ``joined``, in probe order."""
    if joined:
        for name, probe in _SCRIPT_PROBES:
            if probe.match(joined):
                if not _OTHER_SCRIPTS[name].search(joined):
                    return [name]
                break
    return [name for name, probe in _SCRIPT_PROBES if probe.search(joined)]


def _script(sample: list[str], joined: str) -> tuple[str, int]:
    present = _present_scripts(joined)
    letters: dict[str, int]
    if len(present) == 1:
        if present[0] != "own":
            # One script (most posts): its letter count is all that matters.
            return present[0], len(joined) - len(sample) + 1
        # Only scripts of _SCRIPT_LANGS (Thai, Han…): by each token's first letter.
        letters = {}
        for w in sample:
            lang = _script_language(w[0])
            if lang:
                letters[lang] = letters.get(lang, 0) + len(w)
        if letters.get("ja"):
            letters["ja"] += letters.pop("zh", 0)
        return max(letters.items(), key=lambda kv: kv[1], default=("und", 0))
    letters = {"arab": 0, "cyr": 0, "heb": 0, "latin": 0}
    for w in sample:
        c = w[0]
        if "\u0600" <= c <= "\u06ff" or "\u0750" <= c <= "\u077f":
            letters["arab"] += len(w)
        elif "\u0400" <= c <= "\u04ff":
            letters["cyr"] += len(w)
        elif "\u0590" <= c <= "\u05ff":
            letters["heb"] += len(w)
        elif c < "\u0250":
            if c.isalpha():
                letters["latin"] += len(w)
        elif lang := _script_language(c):
            letters[lang] = letters.get(lang, 0) + len(w)
    if letters.get("ja"):
        # Kana make the Han letters around them Japanese.
        letters["ja"] += letters.pop("zh", 0)
    return max(letters.items(), key=lambda kv: kv[1])


def _language(toks: list[str], text: str, joined: str | None = None) -> str:
    # ``joined`` is " ".join(toks) when the caller already has it.
    if not toks:
        return "und"
    if len(toks) > _SAMPLE_WORDS:
        sample = toks[:_SAMPLE_WORDS]
        joined = " ".join(sample)
    else:
        sample = toks
        if joined is None:
            joined = " ".join(sample)
    script, n = _script(sample, joined)
    if n < 3:
        return "und"
    if script == "heb":
        return "he"
    if script not in _PROBE_CLASSES:
        return script  # told by its letters (_SCRIPT_LANGS)
    raw = text[:500]
    if script == "cyr":
        return "uk" if _count(raw, _UK_LETTERS) > _count(raw, _RU_LETTERS) else "ru"
    if script == "arab":
        # Counted in C: a word is Persian if it is a Persian function word,
        # else Arabic if it is an Arabic one (the sets overlap).
        fa_w = sum(map(_PERSIAN_WORDS.__contains__, sample))
        ar_w = sum(map(_ARABIC_ONLY_WORDS.__contains__, sample))
        if _count(raw, _PERSIAN_LETTERS) * 2 + fa_w * 3 > ar_w * 3 + 1:
            return "fa"
        return "ar"
    counts: dict[str, int] = {}
    for langs in map(_STOP_LANGS.get, sample, itertools.repeat(())):
        for lang in langs:
            counts[lang] = counts.get(lang, 0) + 1
    if not counts:
        return "und"
    # Ties go to the order of _LATIN_STOPWORDS (en, fr, de, es, tr).
    order = list(_LATIN_STOPWORDS)
    return max(counts, key=lambda lang: (counts[lang], -order.index(lang)))


# --------------------------------------------------------------------------
# Terminal-safe text.
# --------------------------------------------------------------------------

# What a terminal would obey instead of showing: C0 controls (ESC starts
# cursor movement, screen clearing, title setting, OSC 8 links, …), DEL, the
# C1 controls (U+009B is a one-character CSI on some terminals), the bidi
# embeddings, overrides and isolates that reorder what follows them (U+202E
# makes "abc\u202egnp.exe" read "abcexe.png"), the line and paragraph
# separators, and lone surrogates (which cannot even be encoded). Tab and
# newline are kept in multi-line text. The bidi *marks* (LRM, RLM, ALM) and
# the zero-width joiners stay: Arabic and Persian text uses them legitimately
# (ZWNJ is part of Persian spelling) and they cannot reorder a line.
_UNSAFE_ONE_LINE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_UNSAFE_MULTI_LINE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _visible(m: re.Match[str]) -> str:
    c = ord(m.group())
    if c < 0x20:
        return chr(0x2400 + c)  # Control Pictures: ␀ … ␛ … ␟
    if c == 0x7F:
        return "\u2421"  # ␡
    return f"<U+{c:04X}>"


def printable(text: str, *, multiline: bool = True) -> str:
    """``text`` safe to write to a terminal: every control character a terminal
    would act on is shown instead (ESC → ``␛``, CR → ``␍``, U+202E →
    ``<U+202E>``, a C1 control → ``<U+009B>``). Right-to-left letters and the
    bidi marks are kept, so Arabic and Persian stay readable. With
    ``multiline=False`` newline and tab are shown too (``␊``, ``␉``), so that a
    field cannot start a line of its own. Idempotent; the identity on clean text."""
    rx = _UNSAFE_MULTI_LINE if multiline else _UNSAFE_ONE_LINE
    return rx.sub(_visible, text) if rx.search(text) else text


def quoted(value: str, limit: int = 80) -> str:
    """``value`` for an error message: quoted, terminal-safe (``printable``
    with ``multiline=False``) and cut to ``limit`` characters with the full
    length said, so that echoing hostile input back neither drives the
    terminal nor floods it."""
    shown = printable(value, multiline=False)
    if len(shown) > limit:
        shown = f"{shown[: limit - 1]}…' ({len(value)} characters)"
        return "'" + shown
    return f"'{shown}'"


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _json_escape(m: re.Match[str]) -> str:
    return f"\\u{ord(m.group()):04x}"


def json_printable(document: str) -> str:
    """A JSON document (``json.dumps(..., ensure_ascii=False)``) with the
    characters a terminal would act on written as ``\\u`` + 4-hex-digit escapes. JSON
    already escapes C0 controls; this adds DEL, C1, the bidi embeddings,
    overrides and isolates, U+2028/U+2029 and lone surrogates. Lossless:
    parsing the result gives the same data (those characters only occur
    inside JSON strings, where the escape means the same character)."""
    return _JSON_UNSAFE.sub(_json_escape, document) if _JSON_UNSAFE.search(document) else document
