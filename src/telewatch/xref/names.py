"""Names across scripts: romanisation, phonetic keys and fuzzy comparison.

A place or channel name is written differently in every language of the
archive: ``Samawa`` / ``السماوة`` / ``سماوه`` / ``Самава``, ``Rafidain Watch`` /
``رافدين ووتش``, ``Sabereen`` / ``صابرين``. Written Arabic and Persian omit
short vowels and Latin transliterations disagree on them, so two names are
compared by a *consonant skeleton* (vowels, glottal stops, ``w``/``y`` glides and
a final ``h`` dropped; letters folded into sound classes) plus a fuzzy ratio on
a coarse romanisation that keeps vowel positions.

Contract: ``name_key(word)`` is deterministic and script-independent for the
same name; ``same_name(a, b)`` is symmetric.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

from telewatch import marks, thai, unspaced
from telewatch.text import normalize
from telewatch.xref import scripts

# Arabic/Persian letters → Latin sound classes. Long vowels/glides become 'a'
# (a vowel slot); glottal letters vanish.
_ARABIC = {
    "ا": "a",
    "آ": "a",
    "أ": "a",
    "إ": "a",
    "ى": "a",
    "ي": "a",
    "و": "a",
    "ة": "h",
    "ع": "",
    "ء": "",
    "ئ": "",
    "ؤ": "",
    "ب": "b",
    "پ": "b",
    "ت": "t",
    "ث": "t",
    "ج": "j",
    "چ": "S",
    "ح": "h",
    "خ": "h",
    "د": "d",
    "ذ": "d",
    "ر": "r",
    "ز": "z",
    "ژ": "j",
    "س": "s",
    "ش": "S",
    "ص": "s",
    "ض": "d",
    "ط": "t",
    "ظ": "z",
    "غ": "g",
    "ف": "f",
    "ق": "k",
    "ك": "k",
    "گ": "g",
    "ل": "l",
    "م": "m",
    "ن": "n",
    "ه": "h",
    # Sorani Kurdish letters (and Persian ones ``normalize`` keeps).
    "ڕ": "r",
    "ڵ": "l",
    "ێ": "a",
    "ۆ": "a",
    "ە": "a",
    "ڤ": "f",
    "ک": "k",
    "ی": "a",
}
_CYRILLIC = {
    "а": "a",
    "е": "a",
    "ё": "a",
    "и": "a",
    "і": "a",
    "ї": "a",
    "о": "a",
    "у": "a",
    "ы": "a",
    "э": "a",
    "ю": "a",
    "я": "a",
    "є": "a",
    "й": "a",
    "ь": "",
    "ъ": "",
    "'": "",
    "’": "",
    "б": "b",
    "в": "f",
    "г": "g",
    "ґ": "g",
    "д": "d",
    "ж": "j",
    "з": "z",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "п": "b",
    "р": "r",
    "с": "s",
    "т": "t",
    "ф": "f",
    "х": "h",
    "ц": "s",
    "ч": "S",
    "ш": "S",
    "щ": "S",
    # Belarusian and Serbian letters.
    "ў": "a",
    "ј": "a",
    "љ": "lj",
    "њ": "nj",
    "ћ": "S",
    "ђ": "j",
    "џ": "j",
    # Tajik ҷ is "j" (Хуҷанд: Khujand), though its name builds it on ч.
    "ҷ": "j",
}
# Georgian (Mkhedruli) and Armenian letters → the same sound classes
# (aspirated/ejective pairs folded: თ/ტ t, ქ/კ/ყ k, ფ/პ b, ჩ/ჭ S, ც/წ s).
_GEORGIAN = dict(
    zip(
        "აბგდევზთიკლმნოპჟრსტუფქღყშჩცძწჭხჯჰ",
        "abgdafztaklmnabjrstabkgkSSsjsShjh",
        strict=True,
    )
)
_ARMENIAN = dict(
    zip(
        "աբգդեզէըթժիլխծկհձղճմյնշոչպջռսվտրցւփքօֆ",
        "abgdazaatjalhskhjgSmanSaSbjrsftrsabkaf",
        strict=True,
    )
)
_ARMENIAN["և"] = "af"
# Case endings stripped before keying a Georgian or Armenian word
# (genitive, locative, dative, ablative, instrumental; longest first).
_GEORGIAN_ENDINGS = ("თან", "დან", "ისა", "ის", "ში", "ზე", "ით", "ად", "მა", "ს")
_ARMENIAN_ENDINGS = ("ում", "ից", "ով", "ին", "ի", "ը", "ն")
# Latin digraphs first (longest first), then single letters.
_LATIN_DIGRAPHS = [
    ("tch", "S"),
    ("sch", "S"),
    ("sh", "S"),
    ("ch", "S"),
    ("kh", "h"),
    ("gh", "g"),
    ("th", "t"),
    ("dh", "d"),
    ("zh", "j"),
    ("dj", "j"),
    ("dz", "j"),
    ("ph", "f"),
    ("ts", "s"),
    ("ck", "k"),
    ("ou", "a"),
    ("qu", "k"),
]
_LATIN = {
    "a": "a",
    "e": "a",
    "i": "a",
    "o": "a",
    "u": "a",
    "y": "a",
    "w": "a",
    "b": "b",
    "p": "b",
    "c": "k",
    "d": "d",
    "f": "f",
    "v": "f",
    "g": "g",
    "h": "h",
    "j": "j",
    "k": "k",
    "q": "k",
    "l": "l",
    "m": "m",
    "n": "n",
    "r": "r",
    "s": "s",
    "t": "t",
    "x": "h",
    "z": "z",
    # Azerbaijani and Turkish vowels without a decomposition.
    "ə": "a",
    "ı": "a",
}
# Definite articles that transliterations attach or drop at will.
_LATIN_ARTICLE = re.compile(r"^(?:al|el|al|as|ash|ad|ar|at|az|an|ath|adh)[-\s']+", re.I)
_ARABIC_PREFIXES = ("وبال", "فبال", "وال", "فال", "بال", "كال", "لل", "ال")
_ARABIC_SINGLE_PREFIXES = ("و", "ب", "ل", "ف", "ك")
# Word characters plus the marks written inside words (Python's \w has no
# combining marks: a Thai or Indic word would otherwise fall apart).
_WORD_CHARS = r"\w\u0600-\u06ff\u200c\u200d\u0900-\u0dff\u0e31-\u0e4e" + unspaced.MARKS + r"'’‘"
# A name's word, and after its first letter any combining mark of a word
# (telewatch.marks: Thaana's vowel signs, Tibetan, Syriac...); a mark alone
# is no word.
_WORD = re.compile(f"[{_WORD_CHARS}-][{_WORD_CHARS}{marks.CLASS}-]*", re.UNICODE)

# Hangul → Revised Romanization (the spelling of Korean names in the press):
# a syllable block is initial × 588 + vowel × 28 + final from U+AC00.
# (Space-separated tables read better than 70 lines of list literals.)
_HANGUL_INITIAL = "g kk n d tt r m b pp s ss - j jj ch k t p h".split()  # noqa: SIM905
_HANGUL_VOWEL = "a ae ya yae eo e yeo ye o wa wae oe yo u wo we wi yu eu ui i".split()  # noqa: SIM905
_HANGUL_FINAL = ["", *"k k k n n n t l k m l l l p l m p p t t ng t t k t p t".split()]  # noqa: SIM905


def _hangul(word: str) -> str:
    out = []
    for c in word:
        s = ord(c) - 0xAC00
        if 0 <= s < 11172:
            lead = _HANGUL_INITIAL[s // 588]
            out.append(
                ("" if lead == "-" else lead) + _HANGUL_VOWEL[s % 588 // 28] + _HANGUL_FINAL[s % 28]
            )
    return "".join(out)


def latin_spelling(name: str) -> str | None:
    """A Latin spelling of a name written in a script without spaces between
    words or with its words run together (Thai in RTGS: ``ข่าวเชียงใหม่ด่วน``
    → ``khao chiangmai duan``; Hangul in Revised Romanization: ``부산속보``
    → ``busansokbo``), or None when the name has none of those letters.
    Word breaks in it are not reliable: a Thai word may be two English
    ones ("Chiang Mai"), so compare it without spaces."""
    has_thai = thai.HAS_THAI.search(name) is not None
    has_hangul = _HAS_HANGUL.search(name) is not None
    has_unspaced = unspaced.HAS_UNSPACED.search(name) is not None
    if not has_thai and not has_hangul and not has_unspaced:
        return None
    s = thai.romanize(name) if has_thai else name
    if has_hangul:
        s = _HANGUL_RUN.sub(lambda m: _hangul(m.group()), s)
    if has_unspaced:
        # Han (pinyin, a syllable apart), kana (Hepburn), Khmer (UNGEGN),
        # Myanmar and Lao (press spellings), a syllable apart.
        # A Japanese word mixing kanji and kana has no spelling here: the
        # whole name then has none (a part would match the wrong channel).
        parts = []
        spelled: str | None
        for w in s.split():
            if not unspaced.HAS_UNSPACED.search(w):
                parts.append(w)
                continue
            if scripts.only_han(w):
                spelled = " ".join(scripts.han(w))
            elif "\u1780" <= w[0] <= "\u17ff":
                spelled = scripts.khmer(w, sep=" ")  # syllables keyed apart, like cited words
            elif "\u1000" <= w[0] <= "\u109f":
                spelled = scripts.myanmar(w, sep=" ")
            elif "\u0e80" <= w[0] <= "\u0eff":
                spelled = scripts.lao(w, sep=" ")
            else:
                spelled = scripts.latin(w)
            if not spelled:
                return None
            parts.append(spelled)
        s = " ".join(parts)
    out = " ".join(s.split())
    return out or None


_HAS_HANGUL = re.compile("[\uac00-\ud7a3]")
_HANGUL_RUN = re.compile("[\uac00-\ud7a3]+")


# Letters of a cased alphabet that no table here lists are keyed by the plain
# letter their Unicode name builds them on (``_base_letter``); these are the
# ones whose name gives no plain letter.
_LATIN_BASES = {
    "OPEN E": "e",
    "OPEN O": "o",
    "ENG": "ng",
    "SCHWA": "e",
    "ESH": "sh",
    "EZH": "zh",
    "SHARP S": "ss",
    "DOTLESS I": "i",
    "ALPHA": "a",
    "AE": "ae",
    "OE": "oe",
    "ETH": "d",
    "THORN": "th",
    "GAMMA": "g",
    "UPSILON": "u",
    "IOTA": "i",
}
_CYRILLIC_BASES = {
    "SCHWA": "а",
    "BARRED O": "о",
    "STRAIGHT U": "у",
    "SHHA": "х",
    "DZE": "з",
    "ABKHASIAN HA": "х",
    "ABKHASIAN CHE": "ч",
    "PALOCHKA": "",
}
_LETTER_NAME = re.compile(r"(LATIN|CYRILLIC) (?:SMALL|CAPITAL) LETTER (.+?)(?: WITH .*)?$")


@lru_cache(maxsize=4096)
def _base_letter(c: str) -> str:
    """The plain letter a Latin or Cyrillic letter is built on, by its Unicode
    name, for letters the key tables do not list: Tajik ``ҳ`` (CYRILLIC SMALL
    LETTER HA WITH DESCENDER) → ``х``, ``ғ`` → ``г``, Kazakh ``ө`` → ``о``,
    Hausa ``ɗ`` (LATIN SMALL LETTER D WITH HOOK) → ``d``, ``ł`` → ``l``, ``ɛ``
    → ``e``; ``""`` for anything else. A language nobody tuned for still keys
    its names by their consonants."""
    m = _LETTER_NAME.match(unicodedata.name(c, ""))
    if m is None:
        return ""
    script, base = m.groups()
    if script == "LATIN":
        return base.lower() if len(base) == 1 else _LATIN_BASES.get(base, "")
    if base in _CYRILLIC_BASES:
        return _CYRILLIC_BASES[base]
    try:
        plain = unicodedata.lookup(f"CYRILLIC SMALL LETTER {base}")
    except KeyError:
        return ""
    return plain if plain != c else ""


def strip_marks(s: str) -> str:
    """``s`` without its combining marks and transliteration apostrophes
    (é → e, ḩ → h, ʿ dropped: transliteration diacritics carry no identity)."""
    decomposed = unicodedata.normalize("NFKD", s)
    kept = [c for c in decomposed if not unicodedata.combining(c)]
    return "".join(c for c in kept if c not in "ʿʾ‘’'`´ʼ")


def script_of(word: str) -> str:
    """'arabic', 'cyrillic', 'georgian', 'armenian', 'thai', 'hangul', 'latin'
    or 'other' by the word's first letter."""
    for ch in word:
        if "\u0600" <= ch <= "\u06ff" or "\u0750" <= ch <= "\u077f":
            return "arabic"
        if "\u0400" <= ch <= "\u04ff":
            return "cyrillic"
        if "\u10a0" <= ch <= "\u10ff":
            return "georgian"
        if "\u0531" <= ch <= "\u058f":
            return "armenian"
        if "\u0e01" <= ch <= "\u0e4e":
            return "thai"
        if "\uac00" <= ch <= "\ud7a3":
            return "hangul"
        if ch.isalpha() and ch.isascii():
            return "latin"
        if ch.isalpha():
            return "latin" if "LATIN" in unicodedata.name(ch, "") else "other"
    return "other"


def strip_arabic_clitics(word: str) -> list[str]:
    """The word and its forms without proclitics (``بالسماوة`` → ``سماوة``…).

    Returns the candidates longest first; the bare word is always included."""
    out = [word]
    for p in _ARABIC_PREFIXES:
        if word.startswith(p) and len(word) - len(p) >= 2:
            out.append(word[len(p) :])
            break
    if len(out) == 1:
        for p in _ARABIC_SINGLE_PREFIXES:
            rest = word[1:]
            if word.startswith(p) and len(rest) >= 3:
                out.append(rest)
                if rest.startswith("ال") and len(rest) > 4:
                    out.append(rest[2:])
                break
    return out


_SORANI = re.compile("[ڕڵێۆڤ]")
_AZERBAIJANI = re.compile("ə")


_CONTRACTION_TAILS = frozenset({"t", "d", "m", "ll", "re", "ve"})
"""Tails after an apostrophe that make an English contraction (n't, 'd, 'm,
'll, 're, 've); no Turkish or Azerbaijani case suffix is one of them."""


def strip_case_endings(word: str) -> list[str]:
    """The word and its stems without a Georgian or Armenian case ending
    (``გორის`` → ``გორი``, ``Քաջարանի`` → ``քաջարան``) or, in Latin script,
    an apostrophe suffix (``Ağrı'da`` → ``Ağrı``); other scripts: the word.
    A Georgian consonant stem takes back its nominative ``ი``. The stem keeps
    at least three letters."""
    script = script_of(word)
    if script == "georgian":
        for e in _GEORGIAN_ENDINGS:
            if word.endswith(e) and len(word) - len(e) >= 3:
                stem = word[: -len(e)]
                return [word, stem if stem[-1] in "აეიოუ" else stem + "ი"]
    elif script == "armenian":
        w = word.lower()
        for e in _ARMENIAN_ENDINGS:
            if w.endswith(e) and len(w) - len(e) >= 3:
                return [word, w[: -len(e)]]
    elif script == "latin":
        # Turkish and Azerbaijani write a name's case suffix after an
        # apostrophe ("Ağrı'da", "Erciş'te", "Bakı'dan"); English its
        # possessive ("Ukraine's"). English contractions are no case suffix:
        # "can't", "don't", "won't" would otherwise give the places Çan, Don…
        stem, sep, tail = word.replace("’", "'").rpartition("'")
        if (
            sep
            and len(stem) >= 3
            and 1 <= len(tail) <= 4
            and "'" not in stem
            and tail.lower() not in _CONTRACTION_TAILS
        ):
            return [word, stem]
    elif "\u0900" <= word[:1] <= "\u097f":
        # Nepali and Marathi write postpositions onto the name (पोखराको
        # "of Pokhara", सराङकोटबाट "from Sarangkot", काठमाडौंमा "in Kathmandu").
        for e in _DEVANAGARI_ENDINGS:
            if word.endswith(e) and len(word) - len(e) >= 3:
                return [word, word[: -len(e)]]
    return [word]


_DEVANAGARI_ENDINGS = (
    "देखि",
    "सम्म",
    "तर्फ",
    "बाट",
    "लाई",
    "भित्र",
    "मध्ये",
    "को",
    "का",
    "की",
    "मा",
    "ले",
    "चा",
    "ची",
    "चे",
)


def _romanize_word(word: str) -> str:
    script = script_of(word)
    if script in ("thai", "hangul"):
        # Romanised as the press spells it, then keyed like a Latin name.
        latin = latin_spelling(word) or ""
        return _romanize_word(latin.replace(" ", "")) if latin.isascii() and latin else ""
    if script == "georgian":
        return "".join(_GEORGIAN.get(c, "") for c in word)
    if script == "armenian":
        return "".join(_ARMENIAN.get(c, "") for c in word.lower())
    if script == "arabic":
        w = normalize(word)
        if w.startswith("ال") and len(w) > 3:
            w = w[2:]
        if _SORANI.search(w):
            # Sorani: ``normalize`` folds the vowel ە into ه; after the first
            # letter it is that vowel (هەڵەبجە: Halabja).
            w = w[0] + w[1:].replace("ه", "ا")
        return "".join(_ARABIC.get(c, "") for c in w)
    if script == "cyrillic":
        w = word.lower().replace("дж", "j").replace("дз", "j")
        out = []
        for c in w:
            key = _CYRILLIC.get(c)
            if key is None:
                key = "j" if c == "j" else _CYRILLIC.get(_base_letter(c), "")
            out.append(key)
        return "".join(out)
    if script == "other":
        # Greek, Indic and Ethiopic words: their press spelling, keyed as Latin.
        spelled = scripts.latin(word)
        return _romanize_word(spelled) if spelled else ""
    w = word.lower()
    if "\u0323" in w or "ṣ" in w:
        # Yoruba ṣ and IAST ṣ are sh (Ògbómọ̀ṣọ́: Ogbomosho, Kṛṣṇa: Krishna).
        w = unicodedata.normalize("NFC", w).replace("ṣ", "sh")
    if _AZERBAIJANI.search(w):
        # Azerbaijani c, ç, ş are "j", "ch", "sh" (Gəncə: Ganja, Şəmkir:
        # Shamkir). Not for Turkish: English copy writes Akcakale, Sanliurfa.
        w = w.replace("c", "j").replace("ş", "sh").replace("ç", "ch")
    w = strip_marks(w)
    w = _LATIN_ARTICLE.sub("", w)
    for a, b in _LATIN_DIGRAPHS:
        w = w.replace(a, b)
    keys = []
    for c in w:
        key = _LATIN.get(c)
        if key is None:
            key = c if c.isupper() else _latin_base(c)
        keys.append(key)
    return "".join(keys)


def _latin_base(c: str) -> str:
    """A Latin letter no table lists (``ɗ``, ``ł``, ``ɛ``, ``ŋ``) keyed as its
    plain letter's class; anything else (digits, symbols) nothing."""
    base = _base_letter(c) if c.isalpha() else ""
    out = base
    for a, b in _LATIN_DIGRAPHS:
        out = out.replace(a, b)
    return "".join(_LATIN.get(x, x if x.isupper() else "") for x in out)


# How outlets' languages spell the sounds of a name written in another
# alphabet: each a trigger (letters only that language's spelling uses) and
# the rewrites that give the English-like spelling the keys expect. A name is
# compared in each reading its letters call for (``readings``), so the
# Hungarian "Tüstük Dzsangiliktari" (s = sh, dzs = j) is Түштүк Жаңылыктары
# and the Kurmanji "Nûçeyên" (ç = ch) is the Hungarian "Nucsejen". The
# letter j is a consonant y in all of them: rewritten first, so that the j a
# rewrite makes stays one.
_READINGS: tuple[tuple[re.Pattern[str], tuple[tuple[re.Pattern[str], str], ...]], ...] = tuple(
    (re.compile(trigger), tuple((re.compile(a), b) for a, b in steps))
    for trigger, steps in (
        # Hungarian: dzs (j), cs (ch), c (ts), zs (zh), sz (s), s (sh), gy, ly.
        (
            "dzs|cs|zs|sz|gy",
            (
                ("j", "y"),
                ("dzs", "J"),
                ("cs", "C"),
                ("zs", "Z"),
                ("sz", "S"),
                ("c", "ts"),
                ("s", "sh"),
                ("gy", "dy"),
                ("ly", "y"),
                ("J", "j"),
                ("C", "ch"),
                ("Z", "zh"),
                ("S", "s"),
            ),
        ),
        # Czech, Slovak, Croatian, Serbian and Bosnian Latin, Slovene,
        # Latvian, Lithuanian: the háček letters, dž, đ, ć; c is ts, ch kh.
        (
            "[čšžćđ]",
            (
                ("j", "y"),
                ("c(?!h)", "ts"),
                ("ch", "kh"),
                ("dž", "j"),
                ("[čć]", "ch"),
                ("š", "sh"),
                ("ž", "zh"),
                ("đ", "dj"),
            ),
        ),
        # Polish: sz, cz, rz, ż, ź, ś, ć, ł; c is ts, ch kh, w v.
        (
            "cz|sz|rz|[żźśł]",
            (
                ("j", "y"),
                ("c(?![hz])", "ts"),
                ("ch", "kh"),
                ("sz", "sh"),
                ("cz", "ch"),
                ("rz|[żź]", "zh"),
                ("ś", "sh"),
                ("ć", "ch"),
                ("ł", "l"),
                ("w", "v"),
            ),
        ),
        # Turkish, Kurmanji, Azerbaijani, Albanian, Romanian: ş (ș) and ç.
        ("[şșç]", (("[şș]", "sh"), ("ç", "ch"))),
        # German: dsch (j), tsch (ch), sch (sh), j (y).
        ("sch", (("j", "y"), ("dsch", "j"), ("tsch", "ch"), ("sch", "sh"))),
        # ch is kh in German, Dutch, Polish, Czech, Slovak and Croatian
        # transcriptions ("Chaberlere" for хәбәрләре, "Chabar" for খবর).
        ("(?<![stc])ch", (("(?<![stc])ch", "kh"),)),
    )
)


@lru_cache(maxsize=65_536)
def readings(name: str) -> tuple[str, ...]:
    """``name`` and its spellings read the way the languages its letters
    call for write sounds (``_READINGS``), lower-case, the name itself
    first; just ``(name,)`` when no language's letters are in it."""
    low = unicodedata.normalize("NFC", name).lower()
    out = [name]
    for trigger, steps in _READINGS:
        if trigger.search(low):
            r = low
            for a, b in steps:
                r = a.sub(b, r)
            if r != low and r not in out:
                out.append(r)
    return tuple(out)


def same_name_read(a: str, b: str, strict: bool = False) -> float:
    """``same_name`` of the closest pair of ``readings`` of ``a`` and ``b``."""
    ra, rb = readings(a), readings(b)
    if len(ra) == 1 and len(rb) == 1:
        return same_name(a, b, strict)
    return max(same_name(x, y, strict) for x in ra for y in rb)


@dataclass(frozen=True, slots=True)
class NameKey:
    """A script-independent key: ``skeleton`` (consonant classes only) and
    ``shape`` (consonants with collapsed vowel slots)."""

    skeleton: str
    shape: str


@lru_cache(maxsize=200_000)
def name_key(text: str) -> NameKey:
    """Key of a name of one or more words (words are keyed and joined)."""
    shapes: list[str] = []
    for w in _WORD.findall(text):
        r = _romanize_word(w)
        # A final h is usually ta marbuta or a transliteration habit.
        r = r.rstrip("h") if len(r) > 3 else r
        r = re.sub(r"(.)\1+", r"\1", r)
        if r:
            shapes.append(r)
    shape = " ".join(shapes)
    skeleton = " ".join(s.replace("a", "") for s in shapes).strip()
    skeleton = re.sub(r"\s+", " ", skeleton)
    skeleton = re.sub(r"(.)\1+", r"\1", skeleton)
    return NameKey(skeleton=skeleton, shape=shape)


def same_name(a: str | NameKey, b: str | NameKey, strict: bool = False) -> float:
    """Similarity in [0, 1] of two names in any scripts (0 when unrelated).

    Equal skeletons of at least two consonant classes plus a similar vowel
    shape, or long skeletons within a small edit distance, count as the same
    name. ``strict`` demands the higher threshold (used for short names)."""
    ka = a if isinstance(a, NameKey) else name_key(a)
    kb = b if isinstance(b, NameKey) else name_key(b)
    sa, sb = ka.skeleton.replace(" ", ""), kb.skeleton.replace(" ", "")
    if len(sa) < 2 or len(sb) < 2:
        return 0.0
    # Initial w/v is a consonant in Persian and Russian spellings, a glide in
    # Latin ones ("Victory" / «ویکتوری»): compare without it.
    # (Only an initial v/w: its class is f. "Khao Chiang Mai" is no "Chiang Mai".)
    if (
        sa != sb
        and len(sa) >= 3
        and len(sb) >= 3
        and ((sa[0] == "f" and sa[1:] == sb) or (sb[0] == "f" and sb[1:] == sa))
    ):
        sa = sb = min(sa, sb, key=len)
    # The shapes are compared only once the skeletons allow a match (most
    # pairs of an article's words and a channel's name do not).
    if sa == sb:
        need = 0.8 if (strict or len(sa) <= 2) else 0.6
        shape_ratio = fuzz.ratio(ka.shape.replace(" ", ""), kb.shape.replace(" ", "")) / 100.0
        return shape_ratio if shape_ratio >= need else 0.0
    if min(len(sa), len(sb)) >= 4:
        sk = fuzz.ratio(sa, sb) / 100.0
        if sk >= (0.9 if strict else 0.8):
            shape_ratio = fuzz.ratio(ka.shape.replace(" ", ""), kb.shape.replace(" ", "")) / 100.0
            if shape_ratio >= 0.7:
                return min(sk, shape_ratio)
    return 0.0


# Chinese romanisations (Hanyu Pinyin, Wade-Giles, postal) folded onto one
# key: the initials they spell differently share a class, in this order:
# Wade-Giles ts/tz/tsz and pinyin z/c; ch, zh, j, q; sh, hs, x, s; aspirated
# and plain stops (t/d, k/g, p/b); Wade-Giles' syllable-final h (shih,
# chieh) dropped; vowels and glides one vowel slot.
_SINITIC_STEPS = (
    ("tsz", "Z"),
    ("ts", "Z"),
    ("tz", "Z"),
    ("dz", "Z"),
    ("zh", "C"),
    ("ch", "C"),
    ("sh", "S"),
    ("hs", "S"),
    ("z", "Z"),
    ("c", "Z"),
    ("j", "C"),
    ("q", "C"),
    ("x", "S"),
    ("s", "S"),
    ("d", "t"),
    ("g", "k"),
    ("b", "p"),
)
_SINITIC_FINAL_H = re.compile("h(?![aeiouyw])")
_SINITIC_VOWELS = re.compile("[aeiouyw]+")


@lru_cache(maxsize=50_000)
def sinitic_key(name: str) -> str:
    """A key on which the romanisations of one Chinese name meet: Hanyu
    Pinyin ``Taizhong``, Wade-Giles ``T'ai-chung``, postal ``Taichung`` →
    ``taCank``. Only for comparing a Latin name with a Han one (the folding
    is far too coarse for names in general)."""
    s = re.sub("[^a-z]", "", strip_marks(name.lower()))
    for a, b in _SINITIC_STEPS:
        s = s.replace(a, b)
    return _SINITIC_VOWELS.sub("a", _SINITIC_FINAL_H.sub("", s))


# Spellings of one Indic, Sinhala, Myanmar or Lao name in the press differ
# in aspiration (Thadin / Tadin, Khao / Kao), voicing (Thatin / Thadin),
# sibilants (Visakha / Vishakha, Şve / Shwe), j / z (Taja / Taza), v / w,
# doubled letters and vowels (Mandalay / Mandale, Duan / Douane); the
# consonants left, in order, are the name.
_BRAHMIC_STEPS = (
    ("x", "s"),
    ("q", "k"),
    ("c", "j"),
    ("z", "j"),
    ("h", ""),
    ("g", "k"),
    ("d", "t"),
    ("b", "p"),
    ("f", "p"),
    ("v", "w"),
)
# w and y are consonants before a vowel (Shwe, Kyauk), vowels elsewhere (Khaw, Mandalay).
_BRAHMIC_GLIDE = re.compile("[wy](?![aeiou])")
_BRAHMIC_VOWELS = re.compile("[aeiou]+")


@lru_cache(maxsize=50_000)
def brahmic_key(name: str) -> str:
    """The consonant skeleton on which the Latin spellings of one Indic,
    Sinhala, Myanmar or Lao name meet (``Shwe Mandalay Thadin``, ``Şve
    Mandale Tatin`` and the romanised ``shwe man ta le tha tin`` →
    ``swmntltn``). Only for comparing a Latin name with the romanised title
    of a channel in those scripts: the folding is far too coarse for names
    in general."""
    s = re.sub("[^a-z]", "", strip_marks(name.lower()).replace("ı", "i"))
    for a, b in _BRAHMIC_STEPS:
        s = s.replace(a, b)
    s = _BRAHMIC_VOWELS.sub("", _BRAHMIC_GLIDE.sub("", s))
    return re.sub(r"(.)\1+", r"\1", s)


def words(text: str) -> list[str]:
    """Word tokens of ``text`` (letters, digits, ZWNJ, hyphens, apostrophes:
    Uzbek writes o‘ g‘ with U+2018 as often as with ʻ or ')."""
    return [w.strip("-'’‘") for w in _WORD.findall(text) if w.strip("-'’‘")]
