"""Event terms across languages (``telewatch/data/events.json``).

A concept (``convoy``, ``rocket``, ``drone`` …) lists word stems in French,
English, Arabic, Persian, Russian and Ukrainian. ``concepts(text)`` returns the
concepts a text mentions with the words that matched, in any of these
languages, so an English article and an Arabic post meet on ``convoy`` ↔
``رتل``. Numbers are extracted too (``numbers``): they survive translation.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from telewatch.text import normalize
from telewatch.xref.names import script_of, strip_arabic_clitics, words


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Single-word stems (prefix match) and multi-word phrases per concept."""

    prefix: dict[str, tuple[str, ...]]  # first 3 letters → stems
    stem_concepts: dict[str, frozenset[str]]
    whole: dict[str, frozenset[str]]  # short stems that must equal the token
    phrases: dict[str, frozenset[str]]  # normalized multi-word phrase → concepts


@lru_cache(maxsize=1)
def load_lexicon() -> Lexicon:
    """The event-term lexicon (built once)."""
    raw = json.loads(resources.files("telewatch.data").joinpath("events.json").read_text("utf-8"))
    stems: dict[str, set[str]] = {}
    whole: dict[str, set[str]] = {}
    phrases: dict[str, set[str]] = {}
    for concept, langs in raw.items():
        if concept.startswith("_"):
            continue
        for forms in langs.values():
            for form in forms:
                n = " ".join(words(normalize(form)))
                if not n:
                    continue
                if " " in n:
                    phrases.setdefault(n, set()).add(concept)
                elif len(n) <= 2 or (len(n) <= 3 and script_of(n) == "latin"):
                    whole.setdefault(n, set()).add(concept)
                else:
                    stems.setdefault(n, set()).add(concept)
    prefix: dict[str, list[str]] = {}
    for s in stems:
        prefix.setdefault(s[:3], []).append(s)
    return Lexicon(
        prefix={k: tuple(v) for k, v in prefix.items()},
        stem_concepts={k: frozenset(v) for k, v in stems.items()},
        whole={k: frozenset(v) for k, v in whole.items()},
        phrases={k: frozenset(v) for k, v in phrases.items()},
    )


def concepts(text: str) -> dict[str, str]:
    """``{concept: first matching word}`` for the event terms in ``text``."""
    lex = load_lexicon()
    toks = [normalize(t) for t in words(text)]
    found: dict[str, str] = {}
    for i, tok in enumerate(toks):
        forms = strip_arabic_clitics(tok) if script_of(tok) == "arabic" else [tok]
        for form in forms:
            for c in lex.whole.get(form, ()):
                found.setdefault(c, tok)
            for stem in lex.prefix.get(form[:3], ()):
                if form.startswith(stem):
                    for c in lex.stem_concepts[stem]:
                        found.setdefault(c, tok)
        for n in (2, 3):
            if i + n <= len(toks):
                for form in forms:
                    phrase = " ".join([form, *toks[i + 1 : i + n]])
                    for c in lex.phrases.get(phrase, ()):
                        found.setdefault(c, phrase)
    return found


# After a full stop only when no digit precedes it ("ರೂ.೨೮", "Rs.28"; not
# the "5" of "3.5").
_NUMBER = re.compile(
    r"(?<![\w,])(?<!\d\.)(\d{1,3}(?:[ ,.\u202f\u00a0]\d{3})+|\d+)(?:[.,]\d+)?(?![\w])"
)
_YEARLIKE = re.compile(r"^(19|20)\d\d$")
# Scripts written without spaces (Han, kana, Hangul, Thai…) and the Indic
# ones glue digits to words ("5車連環撞", "3명", "৫টি"): a digit next to a
# letter of any script but Latin, Cyrillic and Arabic is a word boundary.
_OTHER_LETTER = r"[^\W\d_a-zA-Z\u00c0-\u024f\u0400-\u04ff\u0600-\u06ff]"
_GLUED = re.compile(rf"(?<={_OTHER_LETTER})(?=\d)|(?<=\d)(?={_OTHER_LETTER})")


# Cardinal number words. Units and teens per language (1-19), tens (20-90);
# compounds are read by ``_number_words``: "thirty-five", "trente-cinq",
# "quatre-vingt-dix", "treinta y cinco", "veinticinco", "fünfunddreißig",
# "тридцать пять", "خمسة وعشرين".
_UNITS: dict[int, str] = {
    1: "one un une uno una ein eine eins один одна одно один одна واحد یک",
    2: "two deux dos zwei zwo два две два дві اثنان اثنين اثنتين دو",
    3: "three trois tres drei три ثلاثة ثلاث ثلاثه سه",
    4: "four quatre cuatro vier четыре чотири أربعة اربعة اربعه أربع اربع چهار",
    5: "five cinq cinco fünf пять пʼять п'ять خمسة خمسه خمس پنج",
    6: "six seis sechs шесть шість ستة سته ست شش",
    7: "seven sept siete sieben семь сім سبعة سبعه سبع هفت",
    8: "eight huit ocho acht восемь вісім ثمانية ثمانيه ثماني ثمان هشت",
    9: "nine neuf nueve neun девять девʼять дев'ять تسعة تسعه تسع نه",
    10: "ten dix diez zehn десять عشرة عشره عشر ده",
    11: "eleven onze elf одиннадцать одинадцять یازده",
    12: "twelve douze doce zwölf двенадцать дванадцять دوازده",
    13: "thirteen treize trece dreizehn тринадцать тринадцять سیزده",
    14: "fourteen quatorze catorce vierzehn четырнадцать чотирнадцять چهارده",
    15: "fifteen quinze quince fünfzehn пятнадцать пʼятнадцять п'ятнадцять پانزده",
    16: "sixteen seize dieciséis dieciseis sechzehn шестнадцать шістнадцять شانزده",
    17: "seventeen dix-sept diecisiete siebzehn семнадцать сімнадцять هفده",
    18: "eighteen dix-huit dieciocho achtzehn восемнадцать вісімнадцять هجده هیجده",
    19: "nineteen dix-neuf diecinueve neunzehn девятнадцать девʼятнадцять дев'ятнадцять نوزده",
}
_TENS: dict[int, str] = {
    20: "twenty vingt veinte zwanzig двадцать двадцять عشرين عشرون بیست",
    30: "thirty trente treinta dreißig dreissig тридцать тридцять ثلاثين ثلاثون سی",
    40: "forty quarante cuarenta vierzig сорок أربعين اربعين أربعون چهل",
    50: "fifty cinquante cincuenta fünfzig пятьдесят пʼятдесят п'ятдесят خمسين خمسون پنجاه",
    60: "sixty soixante sesenta sechzig шестьдесят шістдесят ستين ستون شصت",
    70: "seventy septante setenta siebzig семьдесят сімдесят سبعين سبعون هفتاد",
    80: "eighty huitante ochenta achtzig восемьдесят вісімдесят ثمانين ثمانون هشتاد",
    90: "ninety nonante noventa neunzig девяносто девʼяносто дев'яносто تسعين تسعون نود",
}
_HUNDRED = frozenset(
    normalize(w)
    for w in ["hundred", "cent", "cents", "cien", "ciento", "hundert", "сто", "صد", "مئة", "مائة"]
)
# Italian, Portuguese, Dutch, Danish/Norwegian, Swedish, Polish (with the
# genitive "trzech", "pięciu"...), Czech, Turkish and Catalan. Left out: words
# that are common words elsewhere — Danish/Norwegian "fire" (4) and "ni"
# (9), "ti" (10) and "tres" (60), Swedish "sex", Italian "sei" (German "be")
# and "otto" (a name), Catalan "set" and "deu", Turkish "on" (10).
_MORE_UNITS: dict[int, str] = {
    3: "tre três tres drie trzy trzech tři třech üç",
    4: "quattro quatro vier fyra cztery czterech čtyři čtyřech dört quatre",
    5: "cinque cinco vijf fem pięć pięciu pět pěti beş cinc",
    6: "seis zes seks sześć sześciu šest šesti altı sis",
    7: "sette sete zeven syv sju siedem siedmiu sedm sedmi yedi",
    8: "oito acht otte åtte åtta osiem ośmiu osm osmi sekiz vuit",
    9: "nove negen nio dziewięć dziewięciu devět devíti dokuz nou",
    10: "dieci dez tien tio dziesięć dziesięciu deset deseti",
    11: "undici onze elf elleve elva jedenaście jedenastu jedenáct",
    12: "dodici doze twaalf tolv dwanaście dwunastu dvanáct dotze",
    13: "tredici treze dertien tretten tretton trzynaście trzynastu třináct tretze",
    14: "quattordici catorze quatorze veertien fjorten czternaście czternastu čtrnáct",
    15: "quindici quinze vijftien femten femton piętnaście piętnastu patnáct",
    16: "sedici dezasseis dezesseis zestien seksten sexton szesnaście szesnastu šestnáct setze",
    17: "diciassette dezassete dezessete zeventien sytten sjutton siedemnaście siedemnastu "
    "sedmnáct disset",
    18: "diciotto dezoito achttien atten arton osiemnaście osiemnastu osmnáct divuit",
    19: "diciannove dezanove dezenove negentien nitten nitton dziewiętnaście dziewiętnastu "
    "devatenáct dinou",
}
_MORE_TENS: dict[int, str] = {
    20: "venti vinte twintig tyve tjue tjugo dwadzieścia dwudziestu dvacet yirmi vint",
    30: "trenta trinta dertig tredive tretti trettio trzydzieści trzydziestu třicet otuz",
    40: "quaranta quarenta veertig fyrre førti fyrtio czterdzieści czterdziestu čtyřicet kırk",
    50: "cinquanta cinquenta vijftig halvtreds femti femtio pięćdziesiąt padesát elli",
    60: "sessanta sessenta zestig seksti sextio sześćdziesiąt šedesát altmış seixanta",
    70: "settanta setenta zeventig halvfjerds sytti sjuttio siedemdziesiąt sedmdesát yetmiş",
    80: "ottanta oitenta tachtig firs åtti åttio osiemdziesiąt osmdesát seksen vuitanta",
    90: "novanta noventa negentig halvfems nitti nittio dziewięćdziesiąt devadesát doksan noranta",
}
_UNIT_WORDS = {
    normalize(w): n
    for table in (_UNITS, _MORE_UNITS)
    for n, forms in table.items()
    for w in forms.split()
}
_TEN_WORDS = {
    normalize(w): n
    for table in (_TENS, _MORE_TENS)
    for n, forms in table.items()
    for w in forms.split()
}
# A unit (or ten, or hundred) before these is thousands: "cinco mil", "fem tusind".
_THOUSAND = frozenset(
    normalize(w)
    for w in [
        "thousand",
        "mille",
        "mil",
        "tausend",
        "tusind",
        "tusen",
        "duizend",
        "tysiąc",
        "tysiące",
        "tysięcy",
        "tisíc",
        "tisíce",
        "bin",
        "тысяч",
        "тысячи",
        "тысяча",
        "тисяч",
        "тисячі",
        "ألف",
        "آلاف",
        "الف",
        "هزار",
    ]
)
_JOINERS = frozenset(
    normalize(w)
    for w in ["and", "et", "y", "und", "и", "і", "та", "و", "e", "og", "och", "i", "și", "şi"]
)
# Spanish 21-29 are one word; German units join tens with "und".
_VEINTI = re.compile(r"^veinti(\w+)$")
_GERMAN_TENS = re.compile(r"^(\w+?)und(\w+(?:zig|ßig|ssig))$")
# Dutch and Danish join the same way: "vijfentwintig", "femogtyve".
_UNIT_TEN = re.compile(r"^(\w+?)(?:en|og)(\w+)$")


def _word_value(w: str, lang: str | None = None) -> int | None:
    """The value of one number word (a German or Spanish compound included;
    ``lang``'s own words too: ``_LANGUAGE_WORDS``)."""
    own = _own_value(w, lang)
    if own is not None:
        return own
    if w in _UNIT_WORDS:
        return _UNIT_WORDS[w]
    if w in _TEN_WORDS:
        return _TEN_WORDS[w]
    m = _VEINTI.match(w)
    if m and m[1] in _UNIT_WORDS and _UNIT_WORDS[m[1]] < 10:
        return 20 + _UNIT_WORDS[m[1]]
    m = _GERMAN_TENS.match(w) or _UNIT_TEN.match(w)
    if m and m[1] in _UNIT_WORDS and m[2] in _TEN_WORDS and _UNIT_WORDS[m[1]] < 10:
        return _TEN_WORDS[m[2]] + _UNIT_WORDS[m[1]]
    return None


def _number_items(toks: list[str], lang: str | None = None) -> list[int | str]:
    """Tokens as number values where they are number words (else the token):
    an Arabic "و" proclitic split off ("وعشرين"), French "dix-sept" … and
    "quatre-vingt(s)" merged."""
    items: list[int | str] = []
    for t in toks:
        v = _word_value(t, lang)
        if v is None and t.startswith("و") and len(t) > 3:
            rest = _word_value(t[1:], lang)
            if rest is not None:
                items += ["و", rest]
                continue
        if isinstance(v, int) and items and items[-1] == 10 and 7 <= v <= 9:
            items[-1] = 10 + v
        elif t in ("vingt", "vingts") and items and items[-1] == 4:
            items[-1] = 80
        else:
            items.append(t if v is None else v)
    return items


def _number_words(toks: list[str], lang: str | None = None) -> set[int]:
    """Numbers written in words in the tokens (Spanish "once" is left out: it
    is also English) (hyphenated parts are tokens):
    a ten followed by a unit (with "and"/"et"/"y"/"و" between or not), French
    vigesimal 70-99 ("soixante-dix", "quatre-vingt-treize"), a unit before
    "hundred", an Arabic unit before its ten ("خمسة وعشرين")."""
    out: set[int] = set()
    items = _number_items(toks, lang)
    i = 0
    while i < len(items):
        v = items[i]
        if not isinstance(v, int):
            i += 1
            continue
        j = i + 1
        if j < len(items) and items[j] in _HUNDRED and v < 10:
            v, j = v * 100, j + 1
        for _ in range(2):
            # A ten (or hundred) then a unit / teen, maybe after a joiner.
            k = j + 1 if j < len(items) and items[j] in _JOINERS else j
            nxt = items[k] if k < len(items) else None
            if not isinstance(nxt, int):
                break
            if (
                (v % 10 == 0 and v >= 20 and nxt < 10)
                or (v in (60, 80) and 10 <= nxt < 20)
                or (v % 100 == 0 and v >= 100 and nxt < 100)
                # Arabic order: the unit first, "و", then the ten.
                or (v < 10 and nxt >= 20 and nxt % 10 == 0 and k > j and items[j] == "و")
            ):
                v, j = v + nxt, k + 1
            else:
                break
        if j < len(items) and items[j] in _THOUSAND and v < 1000:
            v, j = v * 1000, j + 1
        out.add(v)
        i = j
    return out


# A number in digits before one of these is thousands or millions: "480
# тыс.", "480 tūkst." (= 480.000), "1,9 mln." and "1,9 millones" (=
# 1900000). Abbreviations end the word (the dot after them is optional).
_THOUSAND_WORDS = (
    "thousand thousands tsd tausend mille mil tys tyś tysiąc tysięcy tisíc tis tisuća "
    "tisuće tūkst tuhatta tuhat ezer bin тыс тысяч тысячи тис тисяч ألف الف آلاف هزار "
    "ribu rb nghìn ngàn hazaar hajar"
)
_MILLION_WORDS = (
    "million millions millionen mio mln mn millió millón millones milioni milione milhão "
    "milhões miljoen miljon miljoner miljoonaa miljoona milijon milijona milijun milijuna "
    "milijonai milion miliony milionów miliun miliunu milyon млн миллион миллиона миллионов "
    "мільйон мільйона мільйонів милион милиона مليون ميليون میلیون juta"
)
_SCALES = {
    **{normalize(w): 1_000 for w in _THOUSAND_WORDS.split()},
    **{normalize(w): 1_000_000 for w in _MILLION_WORDS.split()},
}
_SCALE_AFTER = re.compile(r"[ \u00a0\u202f]?([^\W\d_]+)\.?")


def _scaled(s: str, m: re.Match[str]) -> str | None:
    """The value of number match ``m`` times the scale word after it, if any
    ("480 тыс." → "480000", "1,9 mln." → "1900000")."""
    after = _SCALE_AFTER.match(s, m.end())
    scale = _SCALES.get(after.group(1)) if after else None
    if scale is None:
        return None
    whole = re.sub(r"[ ,.\u202f\u00a0]", "", m.group(1))
    frac = re.fullmatch(r"[.,](\d{1,3})", m.group(0)[len(m.group(1)) :])
    value = int(whole) * scale
    if frac:  # "1,5 тыс." is 1500, "1,9 mln." 1900000
        value += int(frac.group(1)) * scale // 10 ** len(frac.group(1))
    return str(value)


# Words after a number that make it an attribute of a thing (a building's
# storeys, degrees) rather than a count of what happened or how long it
# lasted: "un immeuble de trois étages", "3 storeys", "3 Grad". (A
# percentage is the news itself in a price post: "9,6 %" stays evidence.)
# Two reports of different events share such a small number by chance (a
# three-storey building's collapse and a bus crash killing three, holdout12's
# n07); hours, days, years and kilometres are details of the event itself
# ("sechs Stunden lang", "cuatro años") and stay evidence.
_ATTRIBUTE_WORDS = frozenset(
    normalize(w)
    for w in [
        "floor",
        "floors",
        "storey",
        "storeys",
        "story",
        "stories",
        "étage",
        "étages",
        "etage",
        "etagen",
        "stockwerk",
        "stockwerke",
        "stockwerken",
        "geschoss",
        "geschossen",
        "geschossig",
        "piso",
        "pisos",
        "planta",
        "plantas",
        "piano",
        "piani",
        "andar",
        "andares",
        "verdieping",
        "verdiepingen",
        "etasje",
        "etasjer",
        "våning",
        "våningar",
        "sal",
        "piętro",
        "piętra",
        "pięter",
        "piętrowy",
        "piętrowego",
        "patro",
        "patra",
        "patrech",
        "patrový",
        "patrového",
        "kat",
        "katlı",
        "kerros",
        "kerroksinen",
        "emelet",
        "emeletes",
        "kat",
        "kata",
        "katova",
        "katnica",
        "degree",
        "degrees",
        "degrés",
        "grad",
        "grados",
        "gradi",
    ]
)


def attribute_numbers(text: str, lang: str | None = None) -> set[str]:
    """The numbers of ``numbers(text)`` written right before (or "de"/"of"
    before) an attribute word (``_ATTRIBUTE_WORDS``): "trois étages" gives
    3, "a 5-storey block" 5."""
    s = normalize(text)
    toks = [part for w in words(s) for part in w.split("-") if part]
    out: set[str] = set()
    for i, t in enumerate(toks[:-1]):
        if toks[i + 1] not in _ATTRIBUTE_WORDS and not (
            i + 2 < len(toks)
            and toks[i + 1] in ("de", "di", "of")
            and toks[i + 2] in _ATTRIBUTE_WORDS
        ):
            continue
        value = numbers(t, lang)
        out |= value
    return out


# Number words read only in a text of their language (value → words, as in
# ``_MORE_UNITS``): a word that is another word elsewhere ("once" is eleven
# in Spanish, a word in English; Hungarian "hat" is six), and the numbers of
# languages whose words collide with others' (Hungarian, Finnish, Croatian,
# Serbian and Bosnian, Romanian, Greek). Hungarian writes a ten and its unit
# as one word ("huszonhat", 26; "tizen-" and "huszon-" are the forms of tíz
# and húsz that take a unit): ``_HU_COMPOUND``.
_LANGUAGE_NUMBERS: dict[str, dict[int, str]] = {
    "es": {11: "once"},
    "hu": {
        1: "egy",
        2: "kettő két",
        3: "három",
        4: "négy",
        5: "öt",
        6: "hat",
        7: "hét",
        8: "nyolc",
        9: "kilenc",
        10: "tíz tizen",
        20: "húsz huszon",
        30: "harminc",
        40: "negyven",
        50: "ötven",
        60: "hatvan",
        70: "hetven",
        80: "nyolcvan",
        90: "kilencven",
    },
    "fi": {
        3: "kolme",
        4: "neljä",
        5: "viisi",
        6: "kuusi",
        7: "seitsemän",
        8: "kahdeksan",
        9: "yhdeksän",
        10: "kymmenen",
        11: "yksitoista",
        12: "kaksitoista",
        13: "kolmetoista",
        14: "neljätoista",
        15: "viisitoista",
        16: "kuusitoista",
        17: "seitsemäntoista",
        18: "kahdeksantoista",
        19: "yhdeksäntoista",
        20: "kaksikymmentä",
        30: "kolmekymmentä",
        40: "neljäkymmentä",
        50: "viisikymmentä",
        60: "kuusikymmentä",
        70: "seitsemänkymmentä",
        80: "kahdeksankymmentä",
        90: "yhdeksänkymmentä",
    },
    "hr": {
        1: "jedan jedna",
        2: "dva dvije",
        3: "tri trojica troje",
        4: "četiri četvorica četvero",
        5: "pet petorica petero",
        6: "šest",
        7: "sedam",
        8: "osam",
        9: "devet",
        10: "deset",
        11: "jedanaest",
        12: "dvanaest",
        13: "trinaest",
        14: "četrnaest",
        15: "petnaest",
        16: "šesnaest",
        17: "sedamnaest",
        18: "osamnaest",
        19: "devetnaest",
        20: "dvadeset",
        30: "trideset",
        40: "četrdeset",
        50: "pedeset",
        60: "šezdeset",
        70: "sedamdeset",
        80: "osamdeset",
        90: "devedeset",
    },
    "ro": {
        3: "trei",
        4: "patru",
        5: "cinci",
        6: "șase",
        7: "șapte",
        8: "opt",
        9: "nouă",
        10: "zece",
        11: "unsprezece",
        12: "doisprezece douăsprezece",
        13: "treisprezece",
        14: "paisprezece",
        15: "cincisprezece",
        16: "șaisprezece",
        17: "șaptesprezece",
        18: "optsprezece",
        19: "nouăsprezece",
        20: "douăzeci",
        30: "treizeci",
        40: "patruzeci",
        50: "cincizeci",
        60: "șaizeci",
        70: "șaptezeci",
        80: "optzeci",
        90: "nouăzeci",
    },
    "el": {
        3: "τρεις τρία",
        4: "τέσσερις τέσσερα",
        5: "πέντε",
        6: "έξι",
        7: "επτά εφτά",
        8: "οκτώ οχτώ",
        9: "εννέα εννιά",
        10: "δέκα",
        11: "έντεκα",
        12: "δώδεκα",
        20: "είκοσι",
        30: "τριάντα",
        40: "σαράντα",
        50: "πενήντα",
        60: "εξήντα",
        70: "εβδομήντα",
        80: "ογδόντα",
        90: "ενενήντα",
    },
}
_LANGUAGE_NUMBERS["sr"] = _LANGUAGE_NUMBERS["bs"] = _LANGUAGE_NUMBERS["hr"]
_LANGUAGE_WORDS = {
    lang: {normalize(w): n for n, forms in table.items() for w in forms.split()}
    for lang, table in _LANGUAGE_NUMBERS.items()
}
_HU_COMPOUND = re.compile(
    "^(tizen|huszon|harminc|negyven|ötven|hatvan|hetven|nyolcvan|kilencven)(\\w+)$"
)


def _own_value(w: str, lang: str | None) -> int | None:
    """The value of a number word of the text's own language
    (``_LANGUAGE_WORDS``, Hungarian compounds included), if it is one."""
    own = _LANGUAGE_WORDS.get(lang or "")
    if not own:
        return None
    if w in own:
        return own[w]
    m = _HU_COMPOUND.match(w) if lang == "hu" else None
    if m and own.get(m[2], 10) < 10:
        return own[m[1]] + own[m[2]]
    return None


def numbers(text: str, lang: str | None = None) -> set[str]:
    """Distinctive numbers in ``text``, written in any digits or as words
    (3-999 and their thousands in English, French, Spanish, German, Russian,
    Ukrainian, Arabic, Persian and the languages of ``_MORE_UNITS``)
    (thousand separators removed;
    years, times and 0-2 dropped since they appear everywhere). Digits
    before a thousand or million word ("480 тыс.", "1,9 mln.") also give the
    full number. ``lang``, the text's language, reads its own ambiguous
    number words too (Spanish "once")."""
    out: set[str] = set()
    s = normalize(text)
    toks = [part for w in words(s) for part in w.split("-") if part]
    for n in _number_words(toks, lang):
        if n > 2:
            out.add(str(n))
    s = re.sub(r"\d{1,2}:\d{2}", " ", s)
    s = _GLUED.sub(" ", s)
    for m in _NUMBER.finditer(s):
        # Any script's digits as ASCII (४०० is 400, ৫ is 5).
        digits = str(int(re.sub(r"[ ,.\u202f\u00a0]", "", m.group(1))))
        scaled = _scaled(s, m)
        if scaled is not None:
            out.add(scaled)
        if _YEARLIKE.match(digits) or digits in {"0", "1", "2"}:
            continue
        out.add(digits)
    return out
