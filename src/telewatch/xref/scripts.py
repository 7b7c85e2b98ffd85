"""Latin spellings of Greek, Indic (Brahmic) and Ethiopic words, for name keys.

``names.name_key`` compares names by consonant skeletons of a Latin
spelling; a script it cannot romanise gives an empty key, and a channel
titled in it is never recognised (the holdout4 Thai miss). These
romanisations are the common press forms, not scholarly ones: vowels only
need to fill vowel slots, consonants carry the identity.

* Greek: ``Έβρος Νέα`` → ``evros nea`` (modern values: β v, η/ι/υ i, ου u,
  μπ b, ντ d, γγ/γκ ng/g, αι e, ει/οι i, αυ/ευ av/ev).
* Indic scripts whose Unicode blocks share the ISCII layout (Devanagari,
  Bengali, Gurmukhi, Gujarati, Oriya, Tamil, Telugu, Kannada, Malayalam):
  consonants carry an inherent ``a``, killed by the virama or replaced by a
  vowel sign; the word-final inherent ``a`` of the northern languages is
  dropped (``बिहार ख़बर`` → ``bihar khabar``, ``भागलपुर`` → ``bhagalapur``).
* Ethiopic (Ge'ez, Amharic, Tigrinya): a syllable is a consonant row and a
  vowel order (``ጎንደር ዜና`` → ``gonder zena``).
"""

from __future__ import annotations

import unicodedata

# Offsets inside an ISCII-layout block (U+0900 Devanagari + 0x80 per script).
_INDIC_VOWELS = {
    0x05: "a",
    0x06: "a",
    0x07: "i",
    0x08: "i",
    0x09: "u",
    0x0A: "u",
    0x0B: "ri",
    0x0C: "li",
    0x0D: "e",
    0x0E: "e",
    0x0F: "e",
    0x10: "ai",
    0x11: "o",
    0x12: "o",
    0x13: "o",
    0x14: "au",
}
_INDIC_SIGNS = {
    0x3E: "a",
    0x3F: "i",
    0x40: "i",
    0x41: "u",
    0x42: "u",
    0x43: "ri",
    0x44: "ri",
    0x45: "e",
    0x46: "e",
    0x47: "e",
    0x48: "ai",
    0x49: "o",
    0x4A: "o",
    0x4B: "o",
    0x4C: "au",
    0x62: "li",
    0x63: "li",
}
_INDIC_CONSONANTS = dict(
    enumerate(
        # 0x15 ka … 0x39 ha: velars, palatals, retroflexes, dentals, labials,
        # then ya ra rra la lla llla va sha ssa sa ha.
        "k kh g gh ng ch chh j jh ny t th d dh n t th d dh n n p ph b bh m"  # noqa: SIM905
        " y r r l l zh v sh sh s h".split(),
        start=0x15,
    )
)
_INDIC_CONSONANTS.update(
    {0x58: "q", 0x59: "kh", 0x5A: "gh", 0x5B: "z", 0x5C: "r", 0x5D: "rh", 0x5E: "f", 0x5F: "y"}
)
_VIRAMA, _NUKTA = 0x4D, 0x3C
_ANUSVARA = {0x01: "n", 0x02: "n", 0x03: "h"}
# Scripts whose word-final inherent vowel is not pronounced.
_FINAL_SCHWA_DROPPED = frozenset({0x0900, 0x0980, 0x0A00, 0x0A80})
_TAMIL = 0x0B80


_TAMIL_VOICED = {"k": "g", "t": "d", "th": "d", "p": "b"}
_NASALS = frozenset({"n", "m", "ng", "ny"})
_NUKTA_FORMS = {"d": "r", "dh": "rh", "j": "z", "ph": "f", "k": "q", "g": "gh"}


def _indic(word: str) -> str:
    # Segments: (letters, kind) with kind C consonant, A inherent vowel, V vowel.
    segs: list[list[str]] = []
    pending = False  # a consonant whose inherent vowel is still open
    block = 0
    for ch in word:
        cp = ord(ch)
        if not 0x0900 <= cp < 0x0D80:
            continue
        block, off = cp & ~0x7F, cp & 0x7F
        if off in _INDIC_CONSONANTS:
            if pending:
                segs.append(["a", "A"])
            c = _INDIC_CONSONANTS[off]
            if block == _TAMIL:
                c = {"ch": "s", "t": "th" if off == 0x24 else "t"}.get(c, c)
            segs.append([c, "C"])
            pending = True
        elif off in _INDIC_SIGNS:
            segs.append([_INDIC_SIGNS[off], "V"])
            pending = False
        elif off == _VIRAMA:
            pending = False
        elif off == _NUKTA:
            if segs and segs[-1][1] == "C":  # ड़ r, ढ़ rh, ज़ z, फ़ f, क़ q
                segs[-1][0] = _NUKTA_FORMS.get(segs[-1][0], segs[-1][0])
        elif off in _INDIC_VOWELS or off in _ANUSVARA or 0x66 <= off <= 0x6F:
            if pending:
                segs.append(["a", "A"])
            text = _INDIC_VOWELS.get(off) or _ANUSVARA.get(off) or str(off - 0x66)
            segs.append([text, "V" if off in _INDIC_VOWELS else "C"])
            pending = False
    if pending:
        segs.append(["a", "A"])
    if block in _FINAL_SCHWA_DROPPED:
        _drop_schwas(segs)
    elif block == _TAMIL:
        # Tamil stops are voiced between vowels and after a nasal, not when
        # doubled or first: மதுரை Madurai, விருதுநகர் Virudhunagar.
        for i in range(1, len(segs)):
            c, kind = segs[i]
            prev = segs[i - 1]
            doubled = i + 1 < len(segs) and segs[i + 1] == [c, "C"]
            if (
                kind == "C"
                and c in _TAMIL_VOICED
                and not doubled
                and (prev[1] in "AV" or prev[0] in _NASALS)
            ):
                segs[i][0] = _TAMIL_VOICED[c]
    return "".join(t for t, _ in segs)


def _drop_schwas(segs: list[list[str]]) -> None:
    """Hindi-style schwa deletion, right to left: the final inherent vowel,
    and one between a vowel + consonant and a consonant + vowel
    (पटना patna, भागलपुर bhagalpur, अमृतसर amritsar)."""
    if segs and segs[-1][1] == "A":
        segs.pop()
    i = len(segs) - 3
    while i >= 2:
        if (
            segs[i][1] == "A"
            and segs[i - 1][1] == "C"
            and segs[i - 2][1] in "AV"
            and segs[i + 1][1] == "C"
            and segs[i + 2][1] in "AV"
        ):
            del segs[i]
            i -= 2
        else:
            i -= 1


# Ethiopic: rows of eight syllables from U+1200, one consonant per row.
_ETHIOPIC_ROWS = (
    "h l h m s r s sh q qw q qw b v t ch h hw n ny - k kw h hw w - z zh y d d j g gw g t ch p ts"  # noqa: SIM905
    " ts f p".split()
)
_ETHIOPIC_ORDERS = ("e", "u", "i", "a", "e", "", "o", "wa")


def _ethiopic(word: str) -> str:
    out: list[str] = []
    for ch in word:
        cp = ord(ch) - 0x1200
        if 0 <= cp < 8 * len(_ETHIOPIC_ROWS):
            row, order = divmod(cp, 8)
            c = _ETHIOPIC_ROWS[row]
            out.append(("" if c == "-" else c) + _ETHIOPIC_ORDERS[order])
    return "".join(out)


_GREEK_DIGRAPHS = (
    ("ου", "u"),
    ("αι", "e"),
    ("ει", "i"),
    ("οι", "i"),
    ("υι", "i"),
    ("αυ", "av"),
    ("ευ", "ev"),
    ("μπ", "b"),
    ("ντ", "d"),
    ("γγ", "ng"),
    ("γκ", "g"),
    ("τσ", "ts"),
    ("τζ", "dz"),
)
_GREEK = dict(
    zip(
        "αβγδεζηθικλμνξοπρσςτυφχψω",
        "a v g d e z i th i k l m n x o p r s s t i f ch ps o".split(),  # noqa: SIM905
        strict=True,
    )
)


def _greek(word: str) -> str:
    w = "".join(
        c for c in unicodedata.normalize("NFD", word.lower()) if not unicodedata.combining(c)
    )
    for a, b in _GREEK_DIGRAPHS:
        w = w.replace(a, b)
    return "".join(_GREEK.get(c, c if c.isascii() else "") for c in w)


def latin(word: str) -> str | None:
    """The Latin spelling of a Greek, Indic or Ethiopic ``word``, or None
    when its first letter is in none of those scripts."""
    for ch in word:
        cp = ord(ch)
        if 0x0370 <= cp <= 0x03FF or 0x1F00 <= cp <= 0x1FFF:
            return _greek(word)
        if 0x0900 <= cp < 0x0D80:
            return _indic(word)
        if 0x1200 <= cp <= 0x137F:
            return _ethiopic(word)
        if ch.isalpha():
            return None
    return None
