"""Text normalisation for search and matching (stdlib only).

``normalize`` is applied both when indexing and when querying, so that
spelling variants meet: NFKC, casefold, Arabic/Persian folding (tashkeel and
tatweel removed, alef/hamza forms, ya/kaf/heh variants, Arabic-Indic and
Persian digits to ASCII), ``ё`` → ``е``, zero-width characters removed.
"""

from __future__ import annotations

import re
import unicodedata

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
        "٬": ",",
        "٫": ".",
        "،": ",",
        "؛": ";",
        "؟": "?",
    }
)


def normalize(text: str) -> str:
    """Fold ``text`` for search. Idempotent: normalize(normalize(x)) == normalize(x)."""
    s = unicodedata.normalize("NFKC", text)
    s = s.casefold()
    s = _TASHKEEL.sub("", s).replace(_TATWEEL, "")
    s = _ZERO_WIDTH.sub("", s)
    s = s.translate(_FOLD)
    # NFKC again: casefold/translation can produce new compatibility forms.
    return unicodedata.normalize("NFKC", s)


# --------------------------------------------------------------------------
# Tokens, light stemming and the full-text index/query forms.
# --------------------------------------------------------------------------

# A word: letters and digits of any script, plus the combining marks that
# live inside words (Python's \w does not include marks, so Indic or Hebrew
# pointed words would otherwise break apart). '_' and apostrophes separate:
# "Diwaniya's" → "diwaniya", "s"; "#الكاظمية_المقدسة" → two words.
_MARKS = "\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0900-\u0dff\u0e31-\u0e4e"
_WORD = re.compile(f"[^\\W_](?:[^\\W_]|[{_MARKS}])*")
# Accents on Latin letters (after NFD) and Hebrew points are folded for
# search; Cyrillic й/ї keep their marks (NFC recomposes them).
_LATIN_ACCENT = re.compile("(?<=[A-Za-z])[\u0300-\u036f]+")
_HEBREW_POINTS = re.compile("[\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7]")


def _fold_accents(s: str) -> str:
    if s.isascii():
        return s
    d = _LATIN_ACCENT.sub("", unicodedata.normalize("NFD", s))
    return _HEBREW_POINTS.sub("", unicodedata.normalize("NFC", d))


def tokens(text: str) -> list[str]:
    """Normalised word tokens of ``text`` in any script, in order.

    ``tokens(x) == tokens(normalize(x))``; Latin accents and Hebrew points are
    folded (``Été`` → ``ete``), punctuation and ``_`` separate words, so
    ``Diwaniya's`` gives ``["diwaniya", "s"]``."""
    return _WORD.findall(_fold_accents(normalize(text)))


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


def _stem_all(words: str) -> str:
    s = _AR_PREFIX.sub("", words)
    s = _AR_SUFFIX.sub("", s)
    s = _CY_ENDING.sub("", s)
    return _LATIN_ENDING.sub("", s)


def stem(word: str) -> str:
    """A light, search-only stem of one normalised token.

    Arabic/Persian: strips one proclitic (و ف ب ك ل, the article ال) and one
    suffix, keeping at least 3 letters (``بالسماوه``/``السماوه`` → ``سماوه``).
    Russian/Ukrainian: strips one inflectional ending (``самаре``/``самара``
    → ``самар``). English/French: strips a plural ``s``/``es``."""
    return _stem_all(word) or word


def index_text(text: str) -> str:
    """The string the full-text index stores for ``text``: its tokens, then
    the stems that differ from their token. The writer inserts and deletes
    exactly this string, so changing it requires a reindex."""
    toks = tokens(text)
    joined = " ".join(toks)
    stemmed = _stem_all(joined).split(" ")
    if len(stemmed) != len(toks):
        # A token stemmed away entirely cannot happen (3 letters stay), but
        # keep the index consistent with stem() if it ever did.
        stemmed = [stem(t) for t in toks]
    extra = [s for t, s in zip(toks, stemmed, strict=True) if s != t]
    return joined + " " + " ".join(extra) if extra else joined


def _term(word: str) -> str:
    quoted = '"' + word.replace('"', '""') + '"'
    return quoted + "*" if len(word) >= 4 else quoted


def fts_query(text: str) -> str | None:
    """An FTS5 MATCH expression for user ``text`` treated as plain words.

    Every word must match (AND). A word matches an indexed word starting
    with the word itself or with its stem (prefix match from 4 characters),
    so ``السماوة`` finds ``السّماوة`` and ``بالسماوة``, ``Самара`` finds
    ``Самаре`` and ``Diwaniya`` finds ``Diwaniya's`` and ``Diwaniyah``.
    Quotes, ``-``, ``*``, ``:`` and FTS keywords in ``text`` are just words.
    Returns None when ``text`` has no word at all."""
    words = tokens(text)
    if len(words) > 1:
        # A lone Latin letter is the tail of "Diwaniya's" or "l'armée": noise.
        words = [w for w in words if len(w) > 1 or not w.isascii()] or words
    groups: list[str] = []
    for w in dict.fromkeys(words):
        s = stem(w)
        groups.append(_term(w) if s == w else f"({_term(w)} OR {_term(s)})")
    return " AND ".join(groups) if groups else None


def query_stems(text: str) -> list[str]:
    """The words and stems ``fts_query`` searches for (highlighting)."""
    out: list[str] = []
    for w in tokens(text):
        out.extend((w, stem(w)))
    return list(dict.fromkeys(out))


# --------------------------------------------------------------------------
# Language guess.
# --------------------------------------------------------------------------

_PERSIAN_WORDS = {
    "است",
    "این",
    "که",
    "را",
    "با",
    "از",
    "برای",
    "می",
    "شد",
    "های",
    "ها",
    "هم",
    "بود",
    "کرد",
    "شده",
    "آن",
    "تا",
    "یک",
    "ایران",
    "نیز",
}
_ARABIC_WORDS = {
    "في",
    "من",
    "على",
    "إلى",
    "الى",
    "عن",
    "التي",
    "الذي",
    "هذا",
    "هذه",
    "مع",
    "قد",
    "أن",
    "ان",
    "كان",
    "بين",
    "بعد",
    "ذلك",
    "تم",
    "لم",
}


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


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


_ARABIC_SCRIPT = re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufeff]")
_PERSIAN_ONLY = re.compile("[پچژگیک]")
_CYRILLIC = re.compile("[\u0400-\u04ff]")
_UK_ONLY = re.compile("[іїєґІЇЄҐ]")
_RU_ONLY = re.compile("[ыэъёЫЭЪЁ]")
_HEBREW = re.compile("[\u0590-\u05ff]")
_LATIN = re.compile("[A-Za-z\u00c0-\u024f]")
_SAMPLE = 600  # characters looked at: enough for a post, bounded for long texts


def guess_language(text: str) -> str:
    """ISO 639-1 guess for ``text``: ar, fa, ru, uk, en, fr, de, es, tr, he,
    or ``"und"`` when unsure (fewer than 3 letters, no clear signal).

    Arabic script → fa when Persian-only letters (پ چ ژ گ ی ک) or Persian
    function words outweigh Arabic function words, else ar; Cyrillic → uk
    when і ї є ґ outnumber ы э ъ ё, else ru; Hebrew script → he; Latin → the
    language whose stopwords occur most. Looks at the first 600 characters."""
    t = text[:_SAMPLE]
    counts = {
        "arab": len(_ARABIC_SCRIPT.findall(t)),
        "cyr": len(_CYRILLIC.findall(t)),
        "heb": len(_HEBREW.findall(t)),
        "latin": len(_LATIN.findall(t)),
    }
    script, n = max(counts.items(), key=lambda kv: kv[1])
    if n < 3:
        return "und"
    if script == "heb":
        return "he"
    if script == "cyr":
        return "uk" if len(_UK_ONLY.findall(t)) > len(_RU_ONLY.findall(t)) else "ru"
    words = t.split()
    if script == "arab":
        fa_w = sum(1 for w in words if w in _PERSIAN_WORDS)
        ar_w = sum(1 for w in words if w in _ARABIC_WORDS)
        if len(_PERSIAN_ONLY.findall(t)) * 2 + fa_w * 3 > ar_w * 3 + 1:
            return "fa"
        return "ar"
    lowered = [w.strip(".,;:!?«»\"'()").lower() for w in words]
    best, best_n = "und", 0
    for lang, stop in _LATIN_STOPWORDS.items():
        c = sum(1 for w in lowered if w in stop)
        if c > best_n:
            best, best_n = lang, c
    return best
