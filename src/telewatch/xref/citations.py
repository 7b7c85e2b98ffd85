"""Citations in an article: which Telegram channels it names, and how.

Four kinds, strongest first:

* ``link``: a ``t.me/<username>[/<id>]`` link (the post id, when given, is
  the exact post);
* ``handle``: an ``@username``;
* ``name``: an archived channel's title or username written in any script
  or transliteration ("RIA Novosti" ↔ "РИА Новости", "Sabereen" ↔
  "صابرين نيوز"), matched by ``names.same_name``;
* ``vague``: "Iraqi Telegram channels", "des chaînes Telegram", "телеграм-
  каналы" — no channel named.

A link/handle/named channel the archive does not hold is reported with
``channel_id`` None (``xref --watch`` adds its username to the watch list).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from telewatch.text import normalize
from telewatch.xref import scripts
from telewatch.xref.candidates import ChannelInfo
from telewatch.xref.gazetteer import NAME_STOP, load_gazetteer
from telewatch.xref.names import (
    brahmic_key,
    latin_spelling,
    name_key,
    same_name_read,
    script_of,
    sinitic_key,
    words,
)
from telewatch.xref.names import (
    readings as name_readings,
)

_TME = re.compile(
    r"(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me|telegram\.dog)/(?:s/)?"
    r"([A-Za-z][A-Za-z0-9_]{3,31})(?:/(\d+))?",
    re.I,
)
_HANDLE = re.compile(r"(?<![\w.@/])@([A-Za-z][A-Za-z0-9_]{3,31})\b")
_TG = r"(?:telegram|телеграм|телеграмм|تلغرام|تليغرام|تيليغرام|تيليجرام|تلگرام)"
_VAGUE = re.compile(
    normalize(
        r"(?:[\w-]+\s+){0,3}(?:"
        r"telegram\s+(?:news\s+)?channels|channels\s+on\s+telegram|telegram\s+accounts|"
        r"chaînes\s+telegram|comptes\s+telegram|canaux\s+telegram|"
        r"telegram-kanäle|canales\s+de\s+telegram|canals\s+de\s+telegram|"
        r"canali\s+(?:di\s+)?telegram|canais\s+(?:do\s+|no\s+|de\s+)?telegram|"
        # Danish, Norwegian and Swedish plurals, Polish, Turkish (Dutch
        # "Telegramkanalen" is also the Danish "the Telegram channel": not here).
        r"telegram-?kanaler(?:ne|na)?|telegram-?kanalene|"
        r"kanały\s+na\s+telegramie|kanałach\s+na\s+telegramie|telegram\s+kanalları|"
        r"(?:телеграм|telegram)-?\s?канал(?:ы|ов|ах|и|ів)|канал(?:ы|ах|и|ів)\s+в\s+телеграм\w*|"
        r"قنوات\s+(?:على\s+)?" + _TG + r"|حسابات\s+(?:على\s+)?" + _TG + r"|"
        r"کانال‌های\s+" + _TG + r"\w*|کانال\s*های\s+" + _TG + r"\w*"
        r")(?:\s+[\w-]+){0,3}"
    ),
    re.I,
)
# "Telegram channel Foo Bar", "chaîne Telegram Foo", "Foo Bar, a … Telegram channel".
_UP = "A-ZÀ-ÖØ-ÞĀ-ſА-ЯЁІЇЄ"
# Lower-case words inside a channel's name ("Habari za Pwani Leo", "Notícies
# Fresques del Saurashtra", "Nieuws van Twente"); never the name's last word.
_NAME_JOINERS = r"(?:e|al|el|de|del|da|do|di|du|des|van|von|der|og|och|za)(?![\w'’‘])"
_CHANNEL_WORDS = (
    r"(?:Telegram[ \t]+(?:news[ \t]+)?channel|chaîne[ \t]+Telegram(?:[ \t]+[a-zà-ÿ]+){0,2}|compte[ \t]+Telegram|"
    r"Telegram-Kanal(?:s|es)?|Telegram-Account(?:s)?|"
    r"canal[ \t]+(?:(?:de|do|no|del)[ \t]+)?Telegram(?:[ \t]+[a-zà-ÿ]+){0,2}|"
    r"canale[ \t]+(?:di[ \t]+|su[ \t]+)?Telegram(?:[ \t]+[a-zà-ÿ]+){0,2}|"
    # Danish, Norwegian, Swedish, Dutch, German compounds, Turkish, Polish.
    r"[Tt]elegram-?kanal(?:en|et|s|es|ı)?|[Tt]elegram-?kanaal|[Tt]elegram[ \t]+kanalı|"
    r"kanał(?:u|em)?[ \t]+(?:na[ \t]+)?Telegram(?:ie)?|"
    r"cuenta[ \t]+de[ \t]+Telegram|"
    # Hungarian, Czech and Slovak, Croatian, Serbian, Bosnian and Slovene,
    # Finnish, Estonian, Latvian, Lithuanian, Romanian, Greek, Indonesian and
    # Malay, Vietnamese.
    r"Telegram-csatorn(?:a|án|ája|áján|áról|ából)|"
    r"[Tt]elegramov(?:ý|ého|ém|ým)[ \t]+kanál(?:u|em)?|"
    r"[Tt]elegramow(?:y|ego|ym)[ \t]+kana(?:ł|le|łu)|"
    r"[Tt]elegram[ \t]+kanal(?:a|u|om)?|"
    r"[Tt]elegram-kanava(?:n|lla|lta|ssa)?|[Tt]elegrami[ \t]+kanal(?:i|is)?|"
    r"[Tt]elegram[ \t]+kanāl(?:s|ā|a)|[Tt]elegram[ \t]+kanal(?:as|e|o)|"
    r"canalul[ \t]+(?:de[ \t]+)?Telegram|"
    r"κανάλι(?:[ \t]+(?:στο|του))?[ \t]+Telegram|"
    r"kanal[ \t]+Telegram|kênh[ \t]+Telegram|"
    r"канал[аеу]?|каналі)"
)
# A name between the channel word and the app: "kanał Foo na Telegramie",
# "kanál Foo na Telegramu", "kanal Foo na Telegramu".
_NAMED_BETWEEN = re.compile(
    r"(?:[Kk]ana(?:ł|le|łu|łem)|[Kk]anál(?:u|em)?|[Kk]anal(?:a|u|om)?|[Кк]анал(?:а|е|у|і)?)[ \t]+(?:„|\"|«[ \t]*)?"
    # Up to five words, the first capitalised: the frame closes the name, so
    # a title in sentence case is whole ("kanál Töbäk chäbärläre na Telegramu").
    rf"([{_UP}][\w'’‘-]+(?:[ \t]+[\w'’‘-]+){{0,4}}?)[“”\"»]?[ \t]+"
    r"(?:na|в|у|u)[ \t]+(?:Telegram\w*|[Тт]елеграм\w*)"
)
# A name before the channel word, as Hungarian and Finnish put it: "a Foo
# Bar Telegram-csatorna", "a Foo nevű Telegram-csatornán", "Foo-niminen
# Telegram-kanava".
_NAMED_BEFORE_WORD = re.compile(
    rf"([{_UP}][\w'’‘]+(?:[ \t]+[{_UP}][\w'’‘]+){{0,4}})"
    r"(?:[ \t]+nevű|-niminen)?[ \t]+(?:Telegram-csatorn\w*|Telegram-kanava\w*)"
)
_NAMED_AFTER = re.compile(
    _CHANNEL_WORDS + r"[ \t]+(?:«[ \t]*|\"|„)?"
    rf"([{_UP}][\w'’‘-]+(?:[ \t]+(?:[{_UP}][\w'’‘-]+|{_NAME_JOINERS}))*(?:[ \t]+[{_UP}][\w'’‘-]+)?)"
)
# A quoted name after "Telegram channel" is the whole quote, lower-case words
# too: a title translated into French, Spanish, Romanian... is written in
# sentence case («Dernières nouvelles de Kaduna»).
_NAMED_QUOTED = re.compile(
    _CHANNEL_WORDS + r"[ \t]+(?:«[ \t]*([^«»\n]{2,60}?)[ \t]*»|“([^“”\n]{2,60})”"
    r"|„([^„“”\n]{2,60})[“”]|\"([^\"\n]{2,60})\")"
)
_TRAILING_JOINER = re.compile(rf"(?:[ \t]+{_NAME_JOINERS})+$")
# Apostrophes a transliteration writes one way or another (Uzbek o‘/oʻ/o').
_APOS = re.compile("[‘’ʻʼ`´]")
_NAMED_BEFORE = re.compile(
    r"([A-Z][\w'’-]+(?:[ \t]+[A-Z][\w'’-]+){0,3}),[ \t]+(?:a|an|the|une?|la|le)[ \t]+"
    r"[^.,;]{0,60}?(?:Telegram[ \t]+channel|chaîne[ \t]+Telegram|channel)"
)
_GENERIC = frozenset(
    normalize(w)
    for w in [
        "news",
        "channel",
        "tv",
        "official",
        "media",
        "agency",
        "live",
        "breaking",
        "info",
        "channel",
        "telegram",
        "نيوز",
        "اخبار",
        "أخبار",
        "قناة",
        "عاجل",
        "خبر",
        "كانال",
        "رسمي",
        "новости",
        "канал",
        "официальный",
        "ньюс",
        "новини",
        # Thai "urgent" (as in ข่าวด่วน, breaking news), and its RTGS spelling.
        "ด่วน",
        "duan",
    ]
)


@dataclass(frozen=True, slots=True)
class Citation:
    """One citation: its kind, the text that cited, and the archived channel
    it resolves to (None when not archived)."""

    kind: str  # link | handle | name | vague
    text: str
    username: str | None = None
    message_id: int | None = None
    channel_id: int | None = None
    title: str | None = None
    similarity: float = 1.0
    count: int = 1

    def to_json(self) -> dict[str, object]:
        """JSON form used by ``xref --json``."""
        return {
            "kind": self.kind,
            "text": self.text,
            "username": self.username,
            "message_id": self.message_id,
            "channel_id": self.channel_id,
            "title": self.title,
            "in_archive": self.channel_id is not None,
            "similarity": round(self.similarity, 3),
            "mentions": self.count,
        }


_CYR = dict(
    zip(
        "абвгґдеёєжзиіїйклмнопрстуфхцчшщъыьэюя",
        [
            "a",
            "b",
            "v",
            "g",
            "g",
            "d",
            "e",
            "e",
            "ye",
            "zh",
            "z",
            "i",
            "i",
            "yi",
            "y",
            "k",
            "l",
            "m",
            "n",
            "o",
            "p",
            "r",
            "s",
            "t",
            "u",
            "f",
            "kh",
            "ts",
            "ch",
            "sh",
            "shch",
            "-",
            "y",
            "-",
            "e",
            "yu",
            "ya",
        ],
        strict=True,
    )
)
# Cyrillic letters of Kyrgyz, Kazakh, Tatar, Bashkir, Tajik, Mongolian,
# Belarusian, Serbian and Macedonian, and Latin letters with no decomposition.
_CYR.update(
    {
        "ү": "u",
        "ұ": "u",
        "ў": "u",
        "ө": "o",
        "ә": "a",
        "ң": "ng",
        "җ": "zh",
        "һ": "h",
        "ҳ": "h",
        "қ": "k",
        "ҡ": "k",
        "ғ": "gh",
        "ҙ": "z",
        "ҫ": "s",
        "ӣ": "i",
        "ӯ": "u",
        "ҷ": "j",
        "ј": "y",
        "љ": "ly",
        "њ": "ny",
        "ђ": "dj",
        "ћ": "ch",
        "џ": "dzh",
        "ѓ": "gj",
        "ќ": "kj",
        "ѕ": "dz",
    }
)
_LATIN_PLAIN = {
    "ł": "l",
    "đ": "d",
    "ø": "o",
    "æ": "ae",
    "œ": "oe",
    "ß": "ss",
    "þ": "th",
    "ŋ": "ng",
    "ı": "i",
    "ə": "e",
    "ɗ": "d",
    "ɓ": "b",
    "ƙ": "k",
    "ɛ": "e",
    "ɔ": "o",
}
# Latin spellings of one name across outlets' languages: German (w = v,
# j = y, sch = sh), Spanish (j = kh), French (ou = u), then a common folding.
_FOLD = (
    ("shch", "sh"),
    ("kh", "h"),
    ("th", "t"),
    ("ph", "f"),
    ("w", "v"),
    ("ou", "u"),
    ("ck", "k"),
    ("y", "i"),
)


def _loose_keys(name: str) -> set[str]:
    """Folded Latin keys of a channel name or username (Cyrillic romanised,
    diacritics dropped, Azerbaijani ə read e; one key per transliteration
    habit, and per ``names.readings`` of its letters: the Hungarian
    "Dzsangiliktari" is "jangiliktari", the Czech "Džangiliktari" too)."""
    out: set[str] = set()
    for r in name_readings(name):
        out |= _folded_keys(r)
    return out


def _folded_keys(name: str) -> set[str]:
    """``_loose_keys`` of one spelling."""
    low = name.lower().replace("_", " ")
    low = "".join(_CYR.get(c, c) for c in low).replace("-", "")
    low = "".join(c for c in unicodedata.normalize("NFKD", low) if not unicodedata.combining(c))
    low = "".join(_LATIN_PLAIN.get(c, c) for c in low)
    low = re.sub(r"[^a-z ]+", " ", low)
    base = " ".join(low.split())
    if not base.isascii() or not base:
        return set()
    variants = {
        base,
        base.replace("tsch", "ch").replace("sch", "sh").replace("j", "y"),
        base.replace("j", "kh"),
    }
    out = set()
    for v in variants:
        for a, b in _FOLD:
            v = v.replace(a, b)
        # A doubled letter or aspirate is one: Indic gemination (തൃശ്ശൂർ
        # "trishshur", Thrissur).
        v = re.sub(r"([bcdgjklmnprstz]h|.)\1", r"\1", v)
        out.add(v)
        # A username's short regional tail ("saha_news_sy", "…_ua").
        parts = v.split()
        if len(parts) > 1 and len(parts[-1]) <= 2:
            out.add(" ".join(parts[:-1]))
    return out


LOOSE_NAME = 0.84


def _loose_match(surface: str, channels: list[ChannelInfo]) -> tuple[ChannelInfo, float] | None:
    """The archived channel whose title or username a Latin spelling of its
    name after "Telegram channel" most resembles (≥ ``LOOSE_NAME``), if any."""
    from rapidfuzz.fuzz import ratio

    mine = _loose_keys(surface)
    if not mine or max(len(k) for k in mine) < 6:
        return None
    best: tuple[ChannelInfo, float] | None = None
    for ch in channels:
        theirs = set()
        for v in (ch.title, ch.username):
            if v:
                theirs |= _loose_keys(v)
        sims = [ratio(a, b) / 100 for a in mine for b in theirs if len(b) >= 6]
        sim = max(sims, default=0.0)
        if sim >= LOOSE_NAME and (best is None or sim > best[1]):
            best = (ch, sim)
    return best


PARTIAL_NAME = 0.7  # similarity given to a channel named by a translated title
_PARTIAL_TOKEN = 0.86
_PARTIAL_MIN = 6  # letters of a shared word: "Kandy" alone is any Kandy outlet


# Words of news outlets' names in many languages ("news", "today",
# "breaking", "express"): shared by titles in any archive, they tell no
# channel from another (compared folded, as ``_loose_keys`` spells them).
_PARTIAL_STOP = frozenset(
    k
    for w in [
        "news",
        "noticias",
        "noticies",
        "notícies",
        "nachrichten",
        "neuigkeiten",
        "nyheder",
        "nyheter",
        "nieuws",
        "notizie",
        "noticias",
        "notícias",
        "nouvelles",
        "informations",
        "wiadomosci",
        "wiadomości",
        "zpravy",
        "zprávy",
        "spravy",
        "haber",
        "haberler",
        "habari",
        "khabar",
        "khabarlar",
        "khabarona",
        "xabar",
        "xabarlari",
        "xabarlar",
        "samachar",
        "samachaar",
        "vartalu",
        "varthalu",
        "vaartalu",
        "barta",
        "puvath",
        "puwath",
        "novosti",
        "novini",
        "novyny",
        "vesti",
        "medee",
        "tezkor",
        "express",
        "ekspress",
        "today",
        "heute",
        "aujourdhui",
        "hoy",
        "oggi",
        "idag",
        "vandaag",
        "breaking",
        "urgent",
        "urgente",
        "urgentes",
        "hurtige",
        "hurtig",
        "rapide",
        "rapides",
        "schnell",
        "fresh",
        "fresques",
        "frescas",
        "frische",
        "taaza",
        "update",
        "updates",
        "actualites",
        "actualidad",
        "aktuell",
        "aktuelles",
        "online",
        "local",
        "locales",
        "lokal",
        "live",
        "direct",
        "direkt",
        "official",
        "officiel",
        "channel",
        "kanal",
        "canal",
        "telegram",
        "journal",
        "zeitung",
        "gazette",
        "daily",
        "tagblatt",
        "diario",
    ]
    for k in _loose_keys(w)
)


@lru_cache(maxsize=8192)
def _token_keys(name: str) -> frozenset[str]:
    """Folded Latin keys of each word of a channel's title or username
    (romanised when in another script), outlets' common words left out
    (cached: every channel's title is read for each such citation)."""
    out: set[str] = set()
    for w in words(_APOS.sub("", name.replace("_", " "))):
        if normalize(w) in _GENERIC or normalize(w) in NAME_STOP:
            continue
        spelled = w if w.isascii() or script_of(w) in ("latin", "cyrillic") else scripts.latin(w)
        # The length is the spelled word's: folding shortens keys (kh = h),
        # and a romanisation may drop a vowel (पोखरा "pokhra", Pokhara).
        if spelled and sum(c.isalpha() for c in spelled) >= _PARTIAL_MIN:
            out |= {
                k
                for k in _loose_keys(spelled)
                if len(k) >= _PARTIAL_MIN - 1 and " " not in k and k not in _PARTIAL_STOP
            }
    return frozenset(out)


def _joined_keys(surface: str) -> frozenset[str]:
    """Keys of each two neighbouring words of ``surface`` written as one: a
    romanised title or username runs a place's words together ("Siem Reap"
    is ``siemreap_thmey``, ``siemreab`` in the Khmer title's spelling)."""
    ws = [w for w in words(_APOS.sub("", surface)) if w.isascii() and w.isalpha()]
    pairs = [a + b for a, b in itertools.pairwise(ws)]
    pairs = [p for p in pairs if normalize(p) not in _GENERIC]
    return _token_keys(" ".join(pairs)) if pairs else frozenset()


def _partial_match(surface: str, channels: list[ChannelInfo]) -> ChannelInfo | None:
    """The one archived channel whose title or username shares a long word
    with a channel name the article gives after "Telegram channel" and that
    matches no title as a whole: a translated title keeps its place names
    ("Darkhan-Selenge Hurtige Nyheder" for Дархан-Сэлэнгийн шуурхай мэдээ,
    "Notícies Fresques del Saurashtra" for સૌરાષ્ટ્ર તાજા સમાચાર). None when
    no channel or more than one does."""
    from rapidfuzz.fuzz import ratio

    mine = _token_keys(surface) | _joined_keys(surface)
    if not mine:
        return None
    hits = []
    for ch in channels:
        theirs = _token_keys(ch.title or "") | _token_keys(ch.username or "")
        if any(
            ratio(a, b) / 100 >= _PARTIAL_TOKEN
            or (min(len(a), len(b)) >= 7 and (a.startswith(b) or b.startswith(a)))
            for a in mine
            for b in theirs
        ):
            hits.append(ch)
    return hits[0] if len(hits) == 1 else None


def _distinctive(name: str) -> str:
    kept = [w for w in words(name) if normalize(w) not in _GENERIC]
    return " ".join(kept)


_SPACED_MAX = 6  # article words a run-together romanised name may span


def _match_names(text: str, channels: list[ChannelInfo]) -> dict[int, tuple[str, float, int]]:
    """Archived channels named in ``text``: id → (surface, similarity, count).

    A title in a script written without spaces (Thai, Hangul) is also
    matched by its Latin spelling (``names.latin_spelling``), compared
    without spaces against runs of up to ``_SPACED_MAX`` article words:
    ``ข่าวเชียงใหม่ด่วน`` is "khao chiangmai duan", cited as "Khao Chiang Mai
    Duan"."""
    toks = words(_APOS.sub("'", text))
    ntoks = [normalize(t) for t in toks]
    norm_text = " " + " ".join(ntoks) + " "
    joined: dict[str, int] | None = None  # run of k words without spaces → count
    sinitic_runs: dict[tuple[int, int], str] = {}  # (start, words) → names.sinitic_key
    brahmic_runs: dict[tuple[int, int], frozenset[str]] = {}  # (start, words) → brahmic keys
    found: dict[int, tuple[str, float, int]] = {}
    for ch in channels:
        # A Lao or Myanmar title is matched by its spelling only through
        # _brahmic_match, with its guards (a title spelled "khao duan",
        # breaking news, or "sa van na khet", the province, is no citation).
        spelled_only = bool(ch.title and _LAO_MYANMAR.search(ch.title))
        own = (None if spelled_only else ch.title, (ch.username or "").replace("_", " "))
        variants = [(v, False) for v in own if v]
        latin = latin_spelling(ch.title) if ch.title and not spelled_only else None
        if (
            latin
            and scripts.only_han(ch.title or "")
            and len(latin.split()) < _SINITIC_MIN_SYLLABLES
        ):
            latin = None  # "台南" alone is the city, not a channel's name
        if latin:
            variants.append((latin, True))
        for v, spaced in list(variants):
            d = _distinctive(v)
            if d and d != v and len(name_key(d).skeleton.replace(" ", "")) >= 4:
                variants.append((d, spaced))
        best: tuple[str, float, int] | None = None
        for v, spaced in variants:
            v = _APOS.sub("'", v)
            nv = " ".join(normalize(w) for w in words(v))
            if len(nv) < 4:
                continue
            if spaced:
                if joined is None:
                    joined = {}
                    for k in range(1, _SPACED_MAX + 1):
                        for i in range(len(ntoks) - k + 1):
                            run = "".join(ntoks[i : i + k])
                            joined[run] = joined.get(run, 0) + 1
                exact = joined.get(nv.replace(" ", ""), 0)
                sizes = range(1, _SPACED_MAX + 1)
            else:
                exact = norm_text.count(f" {nv} ")
                sizes = range(len(words(v)), len(words(v)) + 1)
            if exact:
                cand = (v, 1.0, exact)
            else:
                hits = [
                    (
                        " ".join(toks[i : i + n]),
                        same_name_read(v, " ".join(toks[i : i + n]), strict=True),
                    )
                    for n in sizes
                    for i in range(len(toks) - n + 1)
                    if toks[i][:1].isupper() or not toks[i][:1].isalpha() or not toks[i].isascii()
                ]
                hits = [h for h in hits if h[1] >= 0.8]
                if not hits:
                    continue
                surface, sim = max(hits, key=lambda h: h[1])
                cand = (surface, sim, len(hits))
            if best is None or (cand[1], cand[2]) > (best[1], best[2]):
                best = cand
        if ch.title and scripts.only_han(ch.title):
            hit = _sinitic_match(ch.title, toks, sinitic_runs)
            if hit is not None and (best is None or hit[1] > best[1]):
                best = hit
        if ch.title and _BRAHMIC_TITLE.search(ch.title):
            hit = _brahmic_match(ch.title, toks, brahmic_runs)
            if hit is not None and (best is None or hit[1] > best[1]):
                best = hit
        if best is not None:
            found[ch.id] = best
    return found


_SINITIC_MIN_SYLLABLES = 3  # "台中" alone is the city, not a channel's name
_SINITIC_READINGS = 2
_SINITIC_COMBINATIONS = 16


def _sinitic_match(
    title: str, toks: list[str], cache: dict[tuple[int, int], str]
) -> tuple[str, float, int] | None:
    """A run of capitalised article words that spells the Han ``title`` in
    Hanyu Pinyin, Wade-Giles or a postal spelling (``names.sinitic_key``):
    (surface, 0.95, count), or None."""
    syllables = [r for w in title.split() for r in scripts.han_readings(w)]
    if len(syllables) < _SINITIC_MIN_SYLLABLES:
        return None
    # A name's polyphonic characters may be read either way (重慶 Chongqing,
    # 長沙 Changsha, 廈門 Xiamen): every combination of their readings, the
    # first _SINITIC_READINGS of each, up to _SINITIC_COMBINATIONS keys.
    want: set[str] = {""}
    for readings in syllables:
        if len(want) * len(readings[:_SINITIC_READINGS]) > _SINITIC_COMBINATIONS:
            readings = readings[:1]
        want = {w + r for w in want for r in readings[:_SINITIC_READINGS]}
    wanted = {sinitic_key(w) for w in want}
    hits: list[str] = []
    for n in range(1, min(len(syllables), _SPACED_MAX) + 1):
        for i in range(len(toks) - n + 1):
            if not toks[i][:1].isupper() or not toks[i].isascii():
                continue
            key = cache.get((i, n))
            if key is None:
                key = cache[(i, n)] = sinitic_key("".join(toks[i : i + n]))
            if key in wanted:
                hits.append(" ".join(toks[i : i + n]))
    return (hits[0], 0.95, len(hits)) if hits else None


# Indic (Devanagari to Malayalam), Sinhala, Lao and Myanmar letters.
_BRAHMIC_TITLE = re.compile("[\u0900-\u0dff\u0e80-\u0eff\u1000-\u109f]")
_LAO_MYANMAR = re.compile("[\u0e80-\u0eff\u1000-\u109f]")
_BRAHMIC_MIN_CONSONANTS = 5  # "Khao Duan" (kh d n: "breaking news") names no channel
_BRAHMIC_MIN_WORDS = 2  # "Savannakhet" alone is the province, not a channel's name


# ड़ ढ़ (Devanagari), ড় ঢ় (Bengali–Assamese), ଡ଼ ଢ଼ (Odia): the letter and
# its nukta (NFC decomposes the composed forms).
_FLAP = re.compile("([\u0921\u0922\u09a1\u09a2\u0b21\u0b22])[\u093c\u09bc\u0b3c]")


def _run_keys(run: list[str]) -> frozenset[str]:
    """The brahmic keys of a run of article words: none unless every word is
    Latin; a second key reading ch as kh (Czech, Polish and German spell
    ຂ/ข "Chao" for the press's "Khao")."""
    if not all(script_of(t) == "latin" for t in run):
        return frozenset()
    joined = " ".join(run)
    keys = {brahmic_key(joined)}
    low = joined.lower()
    if "ch" in low:
        keys.add(brahmic_key(low.replace("ch", "kh")))
    if "sch" in low:
        # German transcription: "Sauraschtra Tadscha Samatschar" for
        # Saurashtra Taja Samachar (dsch = j, tsch = ch, sch = sh).
        keys.add(brahmic_key(low.replace("dsch", "j").replace("tsch", "ch").replace("sch", "sh")))
    return frozenset(keys)


def _brahmic_match(
    title: str, toks: list[str], cache: dict[tuple[int, int], frozenset[str]]
) -> tuple[str, float, int] | None:
    """A run of two or more capitalised Latin article words that spells the
    Indic, Sinhala, Lao or Myanmar ``title`` with the press's variants
    (``names.brahmic_key``: "Shwe Mandale Thatin", "Khao Douane
    Savannakhet"): (surface, 0.95, count), or None. The title's key must
    have at least ``_BRAHMIC_MIN_CONSONANTS`` consonants, and a run that is
    a known place is not the channel."""
    wants: set[str] = set()
    # A flapped ड़/ড়/ଡ଼ (a letter with a nukta) is r in the romanisation and
    # d in the press's spelling as often ("Odisha", ଓଡ଼ିଶା): both keys.
    nfc = unicodedata.normalize("NFC", title)
    for t in dict.fromkeys((title, _FLAP.sub(r"\1", nfc))):
        parts = []
        for w in t.split():
            spelled = w if w.isascii() else scripts.latin(w)
            if not spelled:
                return None  # a word in a script without a spelling here
            parts.append(spelled)
        wants.add(brahmic_key(" ".join(parts)))
    if min(len(w) for w in wants) < _BRAHMIC_MIN_CONSONANTS:
        return None
    hits: list[str] = []
    for n in range(_BRAHMIC_MIN_WORDS, _SPACED_MAX + 1):
        for i in range(len(toks) - n + 1):
            if not toks[i][:1].isupper():
                continue
            keys = cache.get((i, n))
            if keys is None:
                keys = cache[(i, n)] = _run_keys(toks[i : i + n])
            if wants & keys:
                surface = " ".join(toks[i : i + n])
                if not load_gazetteer().lookup(surface):
                    hits.append(surface)
    return (hits[0], 0.95, len(hits)) if hits else None


def extract_citations(text: str, channels: list[ChannelInfo]) -> list[Citation]:
    """All citations in ``text`` against the archive's ``channels`` (see module doc)."""
    by_user = {c.username.lower(): c for c in channels if c.username}
    out: list[Citation] = []
    seen_users: dict[str, int] = {}
    for m in _TME.finditer(text):
        user, mid = m.group(1), m.group(2)
        if user.lower() in ("joinchat", "addstickers", "share", "proxy", "iv", "c"):
            continue
        ch = by_user.get(user.lower())
        out.append(
            Citation(
                "link",
                m.group(0),
                user,
                int(mid) if mid else None,
                ch.id if ch else None,
                ch.title if ch else None,
            )
        )
        seen_users[user.lower()] = seen_users.get(user.lower(), 0) + 1
    for m in _HANDLE.finditer(text):
        user = m.group(1)
        ch = by_user.get(user.lower())
        out.append(
            Citation(
                "handle", m.group(0), user, None, ch.id if ch else None, ch.title if ch else None
            )
        )
        seen_users[user.lower()] = seen_users.get(user.lower(), 0) + 1
    cited_ids = {c.channel_id for c in out if c.channel_id is not None}
    names = _match_names(text, channels)
    for ch in channels:
        if ch.id in names:
            surface, sim, count = names[ch.id]
            if ch.id in cited_ids and sim < 1.0:
                continue
            out.append(Citation("name", surface, ch.username, None, ch.id, ch.title, sim, count))
    matched_surfaces = [normalize(c.text) for c in out]
    for rx in (_NAMED_QUOTED, _NAMED_AFTER, _NAMED_BETWEEN, _NAMED_BEFORE_WORD, _NAMED_BEFORE):
        for m in rx.finditer(text):
            found = next(g for g in m.groups() if g)
            surface = _TRAILING_JOINER.sub("", found.strip())
            if rx is _NAMED_BEFORE_WORD:
                # "A Foo Bar Telegram-csatorna": the article is not the name.
                ws = surface.split()
                while len(ws) > 1 and normalize(ws[0]) in NAME_STOP:
                    ws = ws[1:]
                surface = " ".join(ws)
            ns = normalize(surface)
            if any(ns in s or s in ns for s in matched_surfaces) or ns in _GENERIC:
                continue
            if normalize(words(surface)[0]) in NAME_STOP or load_gazetteer().lookup(surface):
                continue
            # The name after "Telegram channel" spells an archived title
            # (strictly, in another script): that channel, with the
            # similarity, unless the whole-text match has it already.
            spelled = max(
                ((same_name_read(surface, ch.title or "", strict=True), ch) for ch in channels),
                key=lambda sc: sc[0],
                default=(0.0, None),
            )
            if spelled[1] is not None and spelled[0] > 0:
                ch = spelled[1]
                if ch.id not in {c.channel_id for c in out}:
                    out.append(
                        Citation("name", surface, ch.username, None, ch.id, ch.title, spelled[0])
                    )
                    matched_surfaces.append(ns)
                continue
            loose = _loose_match(surface, channels)
            if loose is not None and loose[0].id not in {c.channel_id for c in out}:
                ch, sim = loose
                out.append(Citation("name", surface, ch.username, None, ch.id, ch.title, sim))
                matched_surfaces.append(ns)
                continue
            if loose is not None:
                continue
            part = _partial_match(surface, channels)
            if part is not None and part.id not in {c.channel_id for c in out}:
                out.append(
                    Citation(
                        "name", surface, part.username, None, part.id, part.title, PARTIAL_NAME
                    )
                )
                matched_surfaces.append(ns)
                continue
            out.append(Citation("name", surface, None, None, None, None, 0.0))
            matched_surfaces.append(ns)
    s = normalize(text)
    for m in _VAGUE.finditer(s):
        out.append(Citation("vague", m.group(0).strip(), similarity=0.0))
    return out


def cited_channel_weights(citations: list[Citation]) -> dict[int, float]:
    """Weight in (0, 1] per cited archived channel: the most-cited channel 1.0,
    others in proportion (a channel named once in passing counts less)."""
    counts: dict[int, float] = {}
    for c in citations:
        if c.channel_id is None or c.kind == "vague":
            continue
        w = {"link": 2.0, "handle": 2.0, "name": 1.0}[c.kind] * c.count
        counts[c.channel_id] = counts.get(c.channel_id, 0.0) + w
    if not counts:
        return {}
    top = max(counts.values())
    return {k: 0.6 + 0.4 * v / top for k, v in counts.items()}
