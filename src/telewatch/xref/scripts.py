"""Latin spellings of Greek, Indic (Brahmic), Sinhala, Ethiopic, Khmer,
Myanmar, Lao, Thaana, Han and kana words, for name keys.

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
* Khmer: UNGEGN-style (``khmer``): onset cluster, the vowel read by the
  consonant's series, an unmarked final (``សៀមរាប`` → ``siemreab``).
* Han: Hanyu Pinyin without tones, each character's readings from
  pypinyin's table shipped as data (``han``, ``han_readings``); a Wade-Giles
  or postal spelling meets it through ``names.sinitic_key``.
* Sinhala (its block has its own layout): the same inherent-vowel model
  (``ශ්‍රී ලංකා`` → ``shri lanka``). Malayalam chillus are vowel-less
  consonants (``വാർത്ത`` → ``vartta``); the anusvara and Gurmukhi tippi are
  m before a labial and at the end of a Malayalam word, else n.
* Myanmar: journalists' and BGN/PCGN's common forms (``myanmar``): onset
  with medials (ကျ ky, ချ ch, ရှ sh), vowel, a final with its rhyme
  (က် et, င် in, ောင် aung, န် an; ``မန္တလေး`` → ``man ta le``).
* Lao: BGN/PCGN-style with u for ou (``lao``): leading vowels reordered,
  ຫ before a sonorant silent, finals ກ ງ ດ ນ ບ ມ ຍ ວ (``ສະຫວັນນະເຂດ`` →
  ``sa van na khet``). Press spellings of one such name differ in
  aspiration, voicing, vowels (Mandalay / Mandale, Duan / Douane):
  ``names.brahmic_key`` folds them.
* Thaana (Dhivehi): each consonant letter takes the vowel of its sign
  (fili), the sukun none; alifu carries a vowel alone (``ދެކުނުގެ ޚަބަރު``
  → ``dhekunuge khabaru``, ``ހިތަދޫ`` → ``hithadhoo``), the Maldives' own
  official romanisation.
* Kana: Hepburn without macrons (``kana``: ``ニュース`` → ``nyusu``). Kanji
  have no reading here (no dictionary of Japanese readings with an
  MIT-compatible licence ships offline): a word mixing kanji and kana has
  no spelling, rather than a Mandarin one.
"""

from __future__ import annotations

import re
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
_ANUSVARA = {
    0x01: "N",
    0x02: "N",
    0x03: "h",
    0x70: "N",
}  # N: a nasal, n or m  # 0x70: Gurmukhi tippi
_ADDAK = 0x71  # Gurmukhi: doubles the next consonant (keys collapse doubles)
_MALAYALAM = 0x0D00
# Malayalam chillus: a consonant with no vowel (വാർത്ത vartta, കേരളം keralam).
_CHILLU = {0x7A: "n", 0x7B: "n", 0x7C: "r", 0x7D: "l", 0x7E: "l", 0x7F: "k"}
_LABIALS = frozenset({"p", "ph", "b", "bh", "m"})
_FINAL_ANUSVARA_M = frozenset({0x0C00, 0x0C80, _MALAYALAM})  # Telugu, Kannada, Malayalam
# Scripts whose word-final inherent vowel is not pronounced.
_FINAL_SCHWA_DROPPED = frozenset({0x0900, 0x0980, 0x0A00, 0x0A80})
_TAMIL = 0x0B80
_BENGALI = 0x0980
# Assamese ৰ ra and ৱ wa sit outside the shared layout, where Gurmukhi has
# its tippi and addak (ব্ৰহ্মপুত্ৰ: Brahmaputra, গুৱাহাটী: Guwahati).
_ASSAMESE = {0x70: "r", 0x71: "w"}


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
        if off in _INDIC_CONSONANTS or (block == _BENGALI and off in _ASSAMESE):
            if pending:
                segs.append(["a", "A"])
            c = _INDIC_CONSONANTS.get(off) or _ASSAMESE[off]
            if block == _TAMIL:
                c = {"ch": "s", "t": "th" if off == 0x24 else "t"}.get(c, c)
            segs.append([c, "C"])
            pending = True
        elif off in _INDIC_SIGNS:
            segs.append([_INDIC_SIGNS[off], "V"])
            pending = False
        elif off == _VIRAMA:
            pending = False
        elif block == _MALAYALAM and off in _CHILLU:
            if pending:
                segs.append(["a", "A"])
            segs.append([_CHILLU[off], "C"])
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
    # The anusvara is m before a labial (संपादक sampadak, ಕೊಂಬು kombu) and
    # at the end of a Telugu, Kannada or Malayalam word (మలయాళం, శ్రీకాకుళం
    # Srikakulam, పాతపట్నం Pathapatnam).
    for i, seg in enumerate(segs):
        if seg[0] == "N":
            last = i + 1 == len(segs)
            labial = not last and segs[i + 1][0] in _LABIALS
            seg[0] = "m" if labial or (last and block in _FINAL_ANUSVARA_M) else "n"
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


# Thaana: 24 native consonants (U+0780–U+0797, the order of the script),
# the Arabic-loan letters after them, the fili (vowel signs) and sukun.
_THAANA_CONSONANTS = dict(
    zip(
        "ހށނރބޅކއވމފދތލގޏސޑޒޓޔޕޖޗޘޙޚޛޜޝޞޟޠޡޢޣޤޥޱ",
        "h sh n r b lh k - v m f dh th l g gn s d z t y p j ch"  # noqa: SIM905
        " th h kh dh z sh s d t z - gh q w n".split(),
        strict=True,
    )
)
_THAANA_FILI = dict(
    zip(
        "\u07a6\u07a7\u07a8\u07a9\u07aa\u07ab\u07ac\u07ad\u07ae\u07af\u07b0",
        "a aa i ee u oo e ey o oa -".split(),  # noqa: SIM905
        strict=True,
    )
)


def thaana(word: str) -> str:
    """A Dhivehi word in Thaana as the Maldives' own Latin spelling writes
    it: consonant + the vowel of its sign; the sukun (no vowel) doubles a
    following consonant's sound in speech, which the spelling leaves out."""
    out: list[str] = []
    for ch in word:
        c = _THAANA_CONSONANTS.get(ch)
        if c is not None:
            out.append("" if c == "-" else c)
            continue
        v = _THAANA_FILI.get(ch)
        if v is not None:
            if v != "-":
                out.append(v)
            continue
        if ch.isascii() and ch.isalnum():
            out.append(ch)
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
    """The Latin spelling of a Greek, Indic, Sinhala, Ethiopic, Khmer,
    Myanmar, Lao, Thaana, Han or kana ``word``, or None when its first letter is in
    none of those scripts."""
    for ch in word:
        cp = ord(ch)
        if 0x0370 <= cp <= 0x03FF or 0x1F00 <= cp <= 0x1FFF:
            return _greek(word)
        if 0x0900 <= cp < 0x0D80:
            return _indic(word)
        if 0x0D80 <= cp <= 0x0DFF:
            return _sinhala(word)
        if 0x1000 <= cp <= 0x109F:
            return myanmar(word)
        if 0x0E80 <= cp <= 0x0EFF:
            return lao(word)
        if 0x1200 <= cp <= 0x137F:
            return _ethiopic(word)
        if 0x1780 <= cp <= 0x17FF:
            return khmer(word)
        if 0x0780 <= cp <= 0x07BF:
            return thaana(word)
        if _HAS_KANA.match(ch) or _HAS_HAN.match(ch):
            return cjk(word)
        if ch.isalpha():
            return None
    return None


# --------------------------------------------------------------------------
# Kana → Hepburn (the spelling of Japanese names in the press, macrons
# dropped: とうきょう / トーキョー → tokyo).
# --------------------------------------------------------------------------

_KANA_ROWS = {
    "": "あいうえお",
    "k": "かきくけこ",
    "s": "さしすせそ",
    "t": "たちつてと",
    "n": "なにぬねの",
    "h": "はひふへほ",
    "m": "まみむめも",
    "r": "らりるれろ",
    "g": "がぎぐげご",
    "z": "ざじずぜぞ",
    "d": "だぢづでど",
    "b": "ばびぶべぼ",
    "p": "ぱぴぷぺぽ",
}
_KANA: dict[str, str] = {}
for _c, _row in _KANA_ROWS.items():
    for _v, _k in zip("aiueo", _row, strict=True):
        _KANA[_k] = _c + _v
_KANA.update(
    {
        "し": "shi",
        "ち": "chi",
        "つ": "tsu",
        "ふ": "fu",
        "じ": "ji",
        "ぢ": "ji",
        "づ": "zu",
        "や": "ya",
        "ゆ": "yu",
        "よ": "yo",
        "わ": "wa",
        "ゐ": "i",
        "ゑ": "e",
        "を": "o",
        "ん": "n",
        "ゔ": "vu",
        "ぁ": "a",
        "ぃ": "i",
        "ぅ": "u",
        "ぇ": "e",
        "ぉ": "o",
        "ゎ": "wa",
    }
)
_SMALL_Y = {"ゃ": "a", "ゅ": "u", "ょ": "o"}
_SMALL_VOWEL = {"ぁ": "a", "ぃ": "i", "ぅ": "u", "ぇ": "e", "ぉ": "o"}
HAS_KANA = "\u3041-\u3096\u30a1-\u30fa\u30fc"


def _hiragana(word: str) -> str:
    # Katakana are hiragana + 0x60 (ヴ ゔ included); ー stays.
    return "".join(chr(ord(c) - 0x60) if "\u30a1" <= c <= "\u30f6" else c for c in word)


def kana(word: str) -> str:
    """The Hepburn spelling of the kana in ``word`` (other characters are
    dropped): ニュース → nyusu, きょうと → kyoto, がっこう → gakko,
    ティー → ti, ファン → fan; long vowels written once."""
    w = _hiragana(word)
    out: list[str] = []
    double = False
    for c in w:
        if c == "っ":
            double = True
            continue
        if c == "ー":
            continue  # a long vowel: written once, as without macrons
        if c in _SMALL_Y and out:
            prev = out[-1]
            base = prev[:-1]
            # きゃ kya, しゃ sha, ちゃ cha, じゃ ja
            out[-1] = (base if base.endswith(("sh", "ch", "j")) else base + "y") + _SMALL_Y[c]
            continue
        if (
            c in _SMALL_VOWEL
            and out
            and out[-1][-1:] in "iueo"
            and (len(out[-1]) >= 2 or out[-1] == "u")
        ):
            # ティ ti, ファ fa, シェ she, ウィ wi: the small vowel replaces.
            prev = out[-1]
            base = prev[:-1]
            if prev in ("te", "de") and c == "ぃ":
                out[-1] = base + "i"
            elif prev in ("u",):
                out[-1] = "w" + _SMALL_VOWEL[c]
            else:
                out[-1] = base + _SMALL_VOWEL[c]
            continue
        syl = _KANA.get(c)
        if syl is None:
            double = False
            continue
        if double:
            syl = ("t" if syl.startswith("ch") else syl[0]) + syl
            double = False
        out.append(syl)
    s = "".join(out)
    for a, b in (("ou", "o"), ("oo", "o"), ("uu", "u")):
        s = s.replace(a, b)
    return s


# --------------------------------------------------------------------------
# Khmer → a UNGEGN-style spelling (the press form of names: សៀមរាប →
# siemreab, cited "Siem Reap"; ភ្នំពេញ → phnompenh).
# --------------------------------------------------------------------------

_KHMER_CONSONANTS = dict(
    zip(
        "កខគឃងចឆជឈញដឋឌឍណតថទធនបផពភមយរលវឝឞសហឡអ",
        "k kh k kh ng ch chh ch chh nh d th d th n t th t th n b ph p ph m y r l v s s s h l -".split(),  # noqa: SIM905
        strict=True,
    )
)
# Consonants of the second (o-) series: their vowels are read differently.
_KHMER_O_SERIES = frozenset("គឃងជឈញឌឍទធនពភមយរលវ")
# Dependent vowels (first series, second series).
_KHMER_VOWELS = {
    "ា": ("a", "ea"),
    "ិ": ("e", "i"),
    "ី": ("ei", "i"),
    "ឹ": ("oe", "eu"),
    "ឺ": ("eu", "eu"),
    "ុ": ("o", "u"),
    "ូ": ("o", "u"),
    "ួ": ("uo", "uo"),
    "ើ": ("aeu", "eu"),
    "ឿ": ("oea", "oea"),
    "ៀ": ("ie", "ie"),
    "េ": ("e", "e"),
    "ែ": ("ae", "ae"),
    "ៃ": ("ai", "ey"),
    "ោ": ("ao", "o"),
    "ៅ": ("au", "ov"),
    "ំ": ("am", "um"),
    "ះ": ("ah", "eah"),
    "ៈ": ("a", "a"),
    "័": ("a", "e"),
}
_KHMER_INDEPENDENT = dict(
    zip("ឥឦឧឩឪឫឬឭឮឯឰឱឳ", "e ei o ou ov rue rueu lue lueu ae ai ao au".split(), strict=True)  # noqa: SIM905
)
_COENG = "\u17d2"


def khmer(word: str, sep: str = "") -> str:
    """The UNGEGN-style Latin spelling of a Khmer ``word`` (tone and vowel
    length marks dropped; a syllable is its onset cluster, its vowel — the
    consonant series' inherent one when none is written — and an unmarked
    final consonant); ``sep`` is written between syllables."""
    out: list[str] = []
    i, n = 0, len(word)
    while i < n:
        c = word[i]
        if c in _KHMER_INDEPENDENT:
            out.append(_KHMER_INDEPENDENT[c])
            i += 1
            continue
        if c not in _KHMER_CONSONANTS:
            i += 1
            continue
        onset = _KHMER_CONSONANTS[c].replace("-", "")
        series = 1 if c in _KHMER_O_SERIES else 0
        i += 1
        while i + 1 < n and word[i] == _COENG and word[i + 1] in _KHMER_CONSONANTS:
            sub = word[i + 1]
            onset += _KHMER_CONSONANTS[sub].replace("-", "")
            i += 2
        vowel = ""
        written = closed = False
        while i < n and "\u17b6" <= word[i] <= "\u17d1":
            m = word[i]
            if m == "\u17c9":
                series = 0  # muusikatoan: to the first series
            elif m == "\u17ca":
                series = 1  # triisap: to the second series
            elif m == "\u17cc" and out:
                out[-1] += "r"  # robat: an r closing the syllable before
            elif m in _KHMER_VOWELS:
                v = _KHMER_VOWELS[m][series]
                if m in "ំះ" and vowel:
                    # ុំ om/um, េះ eh: the nasal or the h closes the written vowel.
                    v = vowel + ("m" if m == "ំ" else "h")
                    vowel = ""
                vowel += v
                closed = closed or m in "ំះ"
                written = True
            i += 1
        final = ""
        nxt = word[i + 1] if i + 1 < n else ""
        # An unmarked consonant closes this syllable unless a vowel sign or
        # a subscript follows it (then it starts the next syllable); after
        # an inherent vowel, only when a consonant or the end follows.
        starts_next = nxt == _COENG or ("\u17b6" <= nxt <= "\u17d1" and nxt != "\u17cb")
        if (
            not closed
            and i < n
            and word[i] in _KHMER_CONSONANTS
            and not starts_next
            and (written or not nxt or nxt in _KHMER_CONSONANTS or nxt == "\u17cb")
        ):
            final = _KHMER_CONSONANTS[word[i]].replace("-", "")
            i += 1
            if i < n and word[i] in "\u17cb\u17cd\u17ce\u17cf":
                i += 1
        if not written:
            vowel = ("a", "o")[series]  # the series' inherent vowel
        out.append(onset + vowel + final)
    return sep.join(out)


_HAS_KANA = re.compile(f"[{HAS_KANA}]")
_HAS_HAN = re.compile("[\u3005\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


def cjk(word: str) -> str:
    """A word of Han characters or kana: pinyin for Han alone, Hepburn for
    kana alone, "" for both mixed (a Japanese word whose kanji have no
    reading here)."""
    has_kana = _HAS_KANA.search(word) is not None
    has_han = _HAS_HAN.search(word) is not None
    if has_kana and has_han:
        return ""
    return kana(word) if has_kana else "".join(han(word))


def only_han(word: str) -> bool:
    """``word`` has Han characters and no kana."""
    return _HAS_HAN.search(word) is not None and _HAS_KANA.search(word) is None


_HAN: dict[str, tuple[str, ...]] | None = None


def _han_table() -> dict[str, tuple[str, ...]]:
    global _HAN
    if _HAN is None:
        import gzip
        from importlib import resources

        raw = resources.files("telewatch.data").joinpath("han_pinyin.txt.gz").read_bytes()
        table: dict[str, tuple[str, ...]] = {}
        for line in gzip.decompress(raw).decode("utf-8").splitlines():
            char, _, readings = line.partition("\t")
            table[char] = tuple(readings.split(","))
        _HAN = table
    return _HAN


def han_readings(word: str) -> list[tuple[str, ...]]:
    """The Hanyu Pinyin readings (no tones) of each Han character of
    ``word`` that has one, most common first: 重慶 → [("zhong", "chong",
    "tong"), ("qing",)]. The table (``telewatch/data/han_pinyin.txt.gz``,
    41,923 characters) is pypinyin's, MIT (tools/make_han_pinyin.py)."""
    table = _han_table()
    return [table[c] for c in word if c in table]


def han(word: str) -> list[str]:
    """The most common reading of each Han character of ``word``: 台中 →
    ["tai", "zhong"]."""
    return [r[0] for r in han_readings(word)]


# --------------------------------------------------------------------------
# Myanmar (Burmese) → the press spelling of names (the journalists' and
# BGN/PCGN's common forms: ရန်ကုန် → yan kon "Yangon", မန္တလေး → man ta le
# "Mandalay", တောင်ကြီး → taung kyi "Taunggyi", ရွှေ → shwe).
# --------------------------------------------------------------------------

_MYANMAR_CONSONANTS = dict(
    zip(
        "ကခဂဃငစဆဇဈဉညဋဌဍဎဏတထဒဓနပဖဗဘမယရလဝသဟဠအဿ",
        "k kh g g ng s hs z z ny ny t ht d d n t ht d d n p hp b b m y y l w th h l - th".split(),  # noqa: SIM905
        strict=True,
    )
)
_MYANMAR_INDEPENDENT = dict(zip("ဣဤဥဦဧဩဪ", "i i u u e aw aw".split(), strict=True))  # noqa: SIM905
_MYANMAR_SONORANTS = frozenset({"m", "n", "ng", "ny", "l", "w"})
# A final consonant's sound by the syllable's vowel (a, aw, o, i, u):
# classes k (က), ng (င), s (စ), ny (ည ဉ), t (တ ပ and the Pali stops), n (န မ ံ), y (ယ).
_MYANMAR_FINAL_CLASS = {
    "က": "k",
    "င": "ng",
    "စ": "s",
    "ည": "ny",
    "ဉ": "nyin",
    "န": "n",
    "မ": "n",
    "ဏ": "n",
    "ယ": "y",
}
_MYANMAR_RHYMES = {
    ("a", "k"): "et",
    ("aw", "k"): "auk",
    ("o", "k"): "aik",
    ("i", "k"): "eik",
    ("a", "ng"): "in",
    ("aw", "ng"): "aung",
    ("o", "ng"): "aing",
    ("a", "s"): "it",
    ("a", "ny"): "i",
    ("a", "t"): "at",
    ("i", "t"): "eik",
    ("u", "t"): "ok",
    ("a", "n"): "an",
    ("i", "n"): "ein",
    ("u", "n"): "on",
    ("o", "n"): "on",
    ("a", "y"): "e",
}


def _myanmar_syllable(onset: str, medials: str, signs: str, final: str) -> str:
    c = _MYANMAR_CONSONANTS.get(onset, _MYANMAR_INDEPENDENT.get(onset, "")).replace("-", "")
    aspirated = "\u103e" in medials
    if aspirated and (onset in "ရယ" or (onset in "လသ" and "\u103b" in medials)):
        c = "sh"  # ရှ, ယှ, လျှ, သျှ
    else:
        if "\u103b" in medials or "\u103c" in medials:
            c = {"k": "ky", "kh": "ch", "g": "gy"}.get(c, c + "y")
        if "\u103e" in medials and c in _MYANMAR_SONORANTS:
            c = "h" + c  # မှ hm, နှ hn, လှ hl
    if "\u103d" in medials:
        c += "w"
    if "\u1031" in signs and ("\u102c" in signs or "\u102b" in signs):
        v = "aw"
    elif "\u102d" in signs and "\u102f" in signs:
        v = "o"
    elif "\u1031" in signs or "\u1032" in signs:
        v = "e"
    elif "\u102d" in signs or "\u102e" in signs:
        v = "i"
    elif "\u102f" in signs or "\u1030" in signs:
        v = "u"
    else:
        v = "a"
    if not final and "\u1036" in signs:
        final = "န"  # ံ: a nasal final, as န်
    if not final:
        return c + v
    cls = _MYANMAR_FINAL_CLASS.get(final, "t")
    if cls == "nyin":
        return c + "in"
    rhyme = _MYANMAR_RHYMES.get((v, cls))
    if rhyme is None:
        rhyme = v + {"k": "k", "ng": "ng", "s": "t", "ny": "i", "t": "t", "n": "n", "y": ""}[cls]
    return c + rhyme


def myanmar(word: str, sep: str = "") -> str:
    """The press spelling of a Myanmar ``word``: a syllable is its onset
    with medials (ျ ြ y, ွ w, ှ aspiration; ကျ ky, ချ ch, ရှ sh), its vowel
    and a final consonant killed by the asat or stacked under the next
    (``မန္တလေး`` → ``man ta le``); tones dropped; ``sep`` between syllables."""
    sylls: list[list[str]] = []  # [onset, medials, signs, final]
    i, n = 0, len(word)
    while i < n:
        ch = word[i]
        nxt = word[i + 1] if i + 1 < n else ""
        if ch in _MYANMAR_CONSONANTS or ch in _MYANMAR_INDEPENDENT:
            killed = nxt in "\u103a\u1039" or (nxt == "\u1037" and word[i + 2 : i + 3] == "\u103a")
            if killed and sylls and not sylls[-1][3] and ch in _MYANMAR_CONSONANTS:
                sylls[-1][3] = ch
                i += 2
                continue
            sylls.append([ch, "", "", ""])
        elif sylls and "\u103b" <= ch <= "\u103e":
            sylls[-1][1] += ch
        elif sylls and ("\u102b" <= ch <= "\u1032" or ch == "\u1036"):
            sylls[-1][2] += ch
        i += 1
    return sep.join(_myanmar_syllable(*s) for s in sylls)


# --------------------------------------------------------------------------
# Lao → a BGN/PCGN-style spelling as the press writes it (u for ou):
# ສະຫວັນນະເຂດ → sa van na khet "Savannakhet", ຫຼວງພະບາງ → luang pha bang.
# --------------------------------------------------------------------------

_LAO_CONSONANTS = dict(
    zip(
        "ກຂຄງຈຊຍດຕຖທນບປຜຝພຟມຢຣລວສຫອຮໜໝ",
        "k kh kh ng ch s ny d t th th n b p ph f ph f m y r l v s h - h n m".split(),  # noqa: SIM905
        strict=True,
    )
)
_LAO_FINALS = {"ກ": "k", "ງ": "ng", "ດ": "t", "ນ": "n", "ບ": "p", "ມ": "m", "ຍ": "y", "ວ": "o"}
_LAO_SONORANTS = frozenset("ງຍນມລວຣ")
_LAO_LEADING = "ເແໂໃໄ"
_LAO_SIGNS = "\u0eb0\u0eb1\u0eb2\u0eb3\u0eb4\u0eb5\u0eb6\u0eb7\u0eb8\u0eb9\u0ebb\u0ebc\u0ebd\u0ecd"
_LAO_TONES = "\u0ec8\u0ec9\u0eca\u0ecb\u0ecc"


def _lao_vowel(lead: str, signs: str) -> str:
    if lead == "ເ":
        if "ົ" in signs or "າ" in signs:
            return "ao"
        if "ິ" in signs:
            return "oe"
        if "ີ" in signs or "ຍ" in signs or "ຽ" in signs:
            return "ia"
        if "ື" in signs:
            return "uea"
        return "e"
    if lead == "ແ":
        return "ae"
    if lead == "ໂ":
        return "o"
    if lead and lead in "ໃໄ":
        return "ai"
    for marks, v in (
        ("ຽ", "ia"),
        ("ວ", "ua"),
        ("ຳ", "am"),
        ("ະັາ", "a"),
        ("ິີ", "i"),
        ("ຶື", "eu"),
        ("ຸູ", "u"),
        ("ົໍອ", "o"),
    ):
        if any(m in signs for m in marks):
            return v
    return ""


def lao(word: str, sep: str = "") -> str:
    """The Latin spelling of a Lao ``word``: syllables of a leading vowel,
    an onset (ຫ before a sonorant silent, ຼ l, ວ a glide before a vowel),
    vowel signs and a final consonant (ກ k, ງ ng, ດ t, ນ n, ບ p, ມ m, ຍ y,
    ວ o; a medial ວ before a final reads ua); tones dropped; ``sep``
    between syllables."""
    sylls: list[list[str]] = []  # [lead, onset, signs, final]
    i, n = 0, len(word)
    lead = ""
    while i < n:
        ch = word[i]
        nxt = word[i + 1] if i + 1 < n else ""
        i += 1
        if ch in _LAO_LEADING:
            lead = ch
            continue
        if ch in _LAO_TONES or ch == "\u0ec6":
            continue
        if ch in _LAO_SIGNS:
            if sylls:
                if ch == "\u0ebc":  # ຼ: a subscript l (ຫຼ l, the h silent)
                    sylls[-1][1] = "l" if sylls[-1][1] == "h" else sylls[-1][1] + "l"
                else:
                    sylls[-1][2] += ch
            continue
        if ch not in _LAO_CONSONANTS:
            lead = ""
            continue
        cur = sylls[-1] if sylls else None
        after = word[i + 1 : i + 2]
        opens = bool(nxt) and (
            nxt in _LAO_SIGNS or (nxt in _LAO_TONES and bool(after) and after in _LAO_SIGNS)
        )
        if cur is not None and not lead and not cur[3]:
            bare = not cur[2] and not cur[0]
            if bare and cur[1] == "h" and ch in _LAO_SONORANTS:
                cur[1] = _LAO_CONSONANTS[ch]  # ຫວ, ຫນ, ຫລ: the h only marks the tone
                continue
            if bare and ch == "ວ" and not opens:
                cur[2] += "ວ"  # ດ່ວນ: a medial ua
                continue
            if bare and ch == "ວ":
                cur[1] += "w"  # ກວ່າ kwa: a glide
                continue
            if (ch == "ອ" or cur[0] == "ເ") and ch in "ອຍ" and cur[2] and not opens:
                cur[2] += ch  # ເືອ, ເັຍ: part of the vowel
                continue
            if ch in _LAO_FINALS and not opens and "ະ" not in cur[2] and (cur[2] or cur[0] or nxt):
                cur[3] = _LAO_FINALS[ch]
                continue
        sylls.append([lead, _LAO_CONSONANTS[ch].replace("-", ""), "", ""])
        lead = ""
    out = []
    for lead_v, onset, signs, final in sylls:
        v = _lao_vowel(lead_v, signs)
        if not v:
            v = "o" if final else "a"
        if (final == "o" and v.endswith(("o", "u"))) or (final == "y" and v.endswith("i")):
            final = ""  # the final letter is the vowel's own (ໂ-ວ, ໄ-ຍ)
        elif final == "o" and not v.endswith("a"):
            final = "w"
        out.append(onset + v + final)
    return sep.join(out)


# --------------------------------------------------------------------------
# Sinhala (its block does not follow the ISCII layout): consonants with an
# inherent a, killed by the al-lakuna or replaced by a vowel sign
# (ශ්‍රී ලංකා → shri lanka, ගාල්ල → galla).
# --------------------------------------------------------------------------

_SINHALA_CONSONANTS = {
    cp: c
    for cp, c in zip(
        range(0x0D9A, 0x0DC7),
        "k kh g gh ng ng ch chh j jh ny gn nj t th d dh n nd t th d dh n - nd p ph b bh m mb"  # noqa: SIM905
        " y r - l - - v sh sh s h l f".split(),
        strict=True,
    )
    if c != "-"
}
_SINHALA_VOWELS = dict(
    zip(range(0x0D85, 0x0D97), "a a ae ae i i u u ri ri li li e e ai o o au".split(), strict=True)  # noqa: SIM905
)
_SINHALA_SIGNS = {
    0x0DCF: "a",
    0x0DD0: "ae",
    0x0DD1: "ae",
    0x0DD2: "i",
    0x0DD3: "i",
    0x0DD4: "u",
    0x0DD6: "u",
    0x0DD8: "ru",
    0x0DD9: "e",
    0x0DDA: "e",
    0x0DDB: "ai",
    0x0DDC: "o",
    0x0DDD: "o",
    0x0DDE: "au",
    0x0DDF: "lu",
    0x0DF2: "ru",
    0x0DF3: "lu",
}


def _sinhala(word: str) -> str:
    out: list[str] = []
    pending = False
    for ch in word:
        cp = ord(ch)
        if cp in _SINHALA_CONSONANTS:
            if pending:
                out.append("a")
            out.append(_SINHALA_CONSONANTS[cp])
            pending = True
        elif cp in _SINHALA_SIGNS:
            out.append(_SINHALA_SIGNS[cp])
            pending = False
        elif cp == 0x0DCA:  # al-lakuna
            pending = False
        elif cp in _SINHALA_VOWELS or cp in (0x0D82, 0x0D83):
            if pending:
                out.append("a")
            out.append(_SINHALA_VOWELS.get(cp) or ("n" if cp == 0x0D82 else "h"))
            pending = False
    if pending:
        out.append("a")
    return "".join(out)
