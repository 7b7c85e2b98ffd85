"""Reading an article: a text file, an HTML file, a URL or stdin.

HTML main text comes from trafilatura; the publication time from
``--published``, else the page's metadata (``article:published_time``,
JSON-LD ``datePublished``, trafilatura's date), else it is unknown.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from telewatch.models import UserError
from telewatch.text import SCRIPT_LANGUAGES, normalize
from telewatch.text import guess_language as text_guess_language
from telewatch.xref.fetch import FetchLimits, fetch

_HTML_SNIFF = re.compile(r"^\s*(<!doctype html|<html|<head|<body|<article|<meta)", re.I)
_META_TIME = re.compile(
    r"""<meta[^>]+(?:property|name|itemprop)=["'](?:article:published_time|og:published_time|"""
    r"""datePublished|pubdate|publish-date|date|dc\.date)["'][^>]*content=["']([^"']+)["']""",
    re.I,
)
_META_TIME_REV = re.compile(
    r"""<meta[^>]+content=["']([^"']+)["'][^>]*(?:property|name|itemprop)=["']"""
    r"""(?:article:published_time|datePublished)["']""",
    re.I,
)
_JSONLD_TIME = re.compile(r'"datePublished"\s*:\s*"([^"]+)"')
_TIME_TAG = re.compile(r"<time[^>]+datetime=[\"']([^\"']+)[\"']", re.I)
_HTML_LANG = re.compile(r"<html[^>]+lang=[\"']([a-zA-Z]{2})", re.I)


@dataclass(frozen=True, slots=True)
class Article:
    """An article's main text, title, language and publication time (aware or None)."""

    text: str
    title: str
    language: str
    published: datetime | None
    source: str


def parse_time(value: str) -> datetime | None:
    """An ISO 8601 time; a naive value is taken as UTC. None when unparseable."""
    v = value.strip().replace("Z", "+00:00")
    try:
        dt = datetime.fromisoformat(v)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


EARLIEST = datetime(2013, 8, 14, tzinfo=UTC)
"""Telegram's launch: an article published before it cannot cite a channel."""


def plausible(dt: datetime | None) -> bool:
    """True for a publication time xref can work with: after Telegram's
    launch and at most two days ahead of the clock (a wrong page or a typo
    such as 2202 would otherwise search an empty window, or overflow)."""
    return dt is not None and EARLIEST <= dt <= datetime.now(UTC) + timedelta(days=2)


def _html_published(html: str) -> datetime | None:
    for rx in (_META_TIME, _META_TIME_REV, _JSONLD_TIME, _TIME_TAG):
        m = rx.search(html)
        if m:
            dt = parse_time(m.group(1))
            if plausible(dt):
                return dt
    return None


_STOP = {
    "fr": " le la les des une est dans pour avec selon qui sur du au aux cette ont été ",
    "en": " the and of to in is was that for with on by said has have from were which ",
    "ru": " и в на что по с не из о это был была как за для ",
    "uk": " і в на що по з не із про це був була як за для та ",
    "ar": " في من على الى ان عن التي الذي مع هذا بعد ",
    "fa": " در به از که این با را است برای شد های می ",
    # Latin-script article languages told apart by their own function words.
    "de": " der die das und ist nicht mit sich auf für dem den von wurde wurden bei nach im ein eine einer zu sind auch laut ",
    "es": " el los las del por una con según fue tras que se ",
    "it": " il gli della delle che sono nel nella dopo secondo stato è di alle dei ",
    "pt": " os das dos uma com para foram segundo não pelo pela após em ao foi ",
    "nl": " het een van zijn werd niet voor bij naar volgens worden ",
    "da": " og af til det er på ikke med blev efter ifølge har ",
    "nb": " og av til det er på ikke med ble etter ifølge har ",
    "sv": " och av till det är på inte med blev efter enligt har ",
    "pl": " w z się nie że do po według został została oraz jest przez ",
    "cs": " v ve se je že do po podle byl byla bylo jsou který která ",
    "tr": " ve bir bu ile için olarak göre sonra ",
    "ca": " els les amb segons van han dels als pel ",
}
_LATIN = ("fr", "en", "de", "es", "it", "pt", "nl", "da", "nb", "sv", "pl", "cs", "tr", "ca")


# A Latin text whose function words are at least this share of its words,
# ahead of the next language's by _STOP_MARGIN of them, is that language;
# below either (a language without a list here, two close ones: Danish and
# Norwegian, Spanish and Catalan) the language identifier decides.
_STOP_SHARE = 0.12
_STOP_MARGIN = 0.04
# The identifier's labels, as the date tables and the gazetteer name them.
_IDENTIFIED_AS = {"no": "nb", "pcm": "en", "ary": "ar", "arz": "ar", "zxx": "und"}
# Letters of Urdu, Pashto, Sindhi, Sorani Kurdish and Uyghur (not Arabic's
# or Persian's): the identifier tells those languages apart.
_OTHER_ARABIC = re.compile("[ٹڈڑںےښږځڅډړۍېڪڳٻڏڄٺڕڵێۆڤۇۈۋ]")
_ARABIC_SCRIPT = frozenset({"ur", "ps", "sd", "ug", "ckb", "sdh", "ku", "fa", "ar"})
# Cyrillic letters of languages other than Russian and Ukrainian (Kazakh,
# Kyrgyz, Tatar, Bashkir, Tajik, Mongolian, Belarusian, Serbian, Macedonian).
_OTHER_CYRILLIC = frozenset("әөүңҗһқғұўјљњђћџѓќѕҳҷӣӯҡҙҫ")


def guess_language(text: str) -> str:
    """ISO 639-1 code of an article's language (``und`` when unsure).

    Arabic script: Persian vs Arabic by پ چ ژ گ ک ی. Cyrillic: Ukrainian vs
    Russian by і ї є ґ, unless other Cyrillic languages' letters (or
    Bulgarian's usage) call for the identifier. A Latin text whose function
    words clearly name one of ``_LATIN`` is that language; any other text
    (Hungarian, Finnish, Croatian, Indonesian, Greek, Hindi …) is named by
    py3langid's identifier (its model ships in the package; ~0.5 s to load,
    once per process)."""
    sample = text[:4000]
    arabic = sum(1 for c in sample if "\u0600" <= c <= "\u06ff")
    cyr = sum(1 for c in sample if "\u0400" <= c <= "\u04ff")
    latin = sum(1 for c in sample if c.isascii() and c.isalpha())
    if arabic > max(cyr, latin):
        if _OTHER_ARABIC.search(sample):
            found = _identified(sample)
            if found in _ARABIC_SCRIPT:
                return found
        persian = sum(sample.count(c) for c in "پچژگکی")
        return "fa" if persian > arabic * 0.02 else "ar"
    by_script = text_guess_language(sample)
    if by_script in SCRIPT_LANGUAGES and by_script != "bn":
        # Thai, Thaana, Hangul, Georgian…: the script says it (not Bengali's,
        # which Assamese writes too).
        return by_script
    if cyr > latin:
        low = sample.lower()
        uk = sum(low.count(c) for c in "іїєґ")
        ru = sum(low.count(c) for c in "ыэъё")
        plain = "uk" if uk > ru else "ru"
        if not any(c in _OTHER_CYRILLIC for c in low) and (uk > ru or "ы" in low):
            return plain  # Bulgarian has no ы; Belarusian has ў
        found = _identified(sample)
        return found if found not in ("und", None) else plain
    if latin:
        words = f" {normalize(sample)} "
        scores = {lang: sum(words.count(f" {w} ") for w in _STOP[lang].split()) for lang in _LATIN}
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        n = max(1, len(words.split()))
        best, top = ranked[0]
        if top / n >= _STOP_SHARE and (top - ranked[1][1]) / n >= _STOP_MARGIN:
            return best
    found = _identified(sample)
    return found or "und"


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE)


def _identified(text: str) -> str | None:
    """py3langid's label for ``text`` as telewatch names languages."""
    label = str(_identifier().classify(text)[0])
    return _IDENTIFIED_AS.get(label, label)


def _from_html(html: str, source: str) -> tuple[str, str, datetime | None, str | None]:
    import trafilatura

    text = trafilatura.extract(html, include_comments=False, include_tables=False) or ""
    meta = trafilatura.extract_metadata(html)
    title = (meta.title if meta and meta.title else "") or ""
    published = _html_published(html)
    if published is None and meta is not None and meta.date:
        published = parse_time(meta.date)
        if not plausible(published):
            published = None
    lang_m = _HTML_LANG.search(html)
    if not text.strip():
        raise UserError(f"no article text found in {source}; save the article as a text file")
    return text, title, published, lang_m.group(1).lower() if lang_m else None


_HTML_TYPES = ("text/html", "application/xhtml+xml", "application/xml", "text/xml")


def _fetch(url: str, limits: FetchLimits) -> tuple[str, bool]:
    """The page at ``url`` as text and whether it is HTML (xref.fetch's limits)."""
    page = fetch(url, limits)
    if page.content_type and page.content_type not in (*_HTML_TYPES, "text/plain"):
        raise UserError(
            f"{page.url} is {page.content_type}, not an HTML or text page;"
            " save the article's text and pass the file"
        )
    if b"\x00" in page.body[:8192]:
        raise UserError(f"{page.url} is binary, not an HTML or text page")
    text = _decode(page.body, page.charset)
    is_html = page.content_type in _HTML_TYPES or bool(_HTML_SNIFF.match(text))
    return text, is_html


def _decode(body: bytes, charset: str | None) -> str:
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return body.decode("utf-8", errors="replace")


def _read_file(path: Path, source: str, max_bytes: int) -> str:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise UserError(
                f"{source} is {size:,} bytes, more than --max-bytes {max_bytes:,};"
                " pass the article's text only, or raise --max-bytes"
            )
        data = path.read_bytes()
    except OSError as err:
        raise UserError(f"cannot read {source}: {err.strerror}") from None
    return _decode_text(data, source)


def _decode_text(data: bytes, source: str) -> str:
    if b"\x00" in data[:8192]:
        raise UserError(f"{source} is a binary file, not an article; pass a text or HTML file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise UserError(
            f"{source} is not UTF-8 text (byte {err.start}); convert it first,"
            " e.g. iconv -f WINDOWS-1256 -t UTF-8"
        ) from None


def read_article(
    source: str, published: datetime | None = None, limits: FetchLimits | None = None
) -> Article:
    """Read ``source`` (path, URL or ``-`` for stdin). ``published`` overrides
    the page's own time; ``limits`` bound a URL fetch (size, time, local
    addresses) and the size of a file or stdin. Raises UserError for a
    missing, empty, binary, non-UTF-8, too large or unreachable source."""
    lim = limits or FetchLimits()
    if source == "-":
        data = sys.stdin.buffer.read(lim.max_bytes + 1)
        if len(data) > lim.max_bytes:
            raise UserError(
                f"stdin has more than --max-bytes {lim.max_bytes:,} bytes;"
                " pass the article's text only, or raise --max-bytes"
            )
        raw = _decode_text(data, "stdin")
        is_html = bool(_HTML_SNIFF.match(raw))
    elif re.match(r"^https?://", source, re.I):
        raw, is_html = _fetch(source, lim)
    else:
        path = Path(source)
        if path.is_dir():
            raise UserError(f"{source} is a directory; pass the article's text or HTML file")
        if not path.is_file():
            raise UserError(f"article file not found: {source}; pass a text/HTML file, a URL or -")
        raw = _read_file(path, source, lim.max_bytes)
        is_html = path.suffix.lower() in (".html", ".htm") or bool(_HTML_SNIFF.match(raw))
    title = ""
    lang_hint: str | None = None
    page_time: datetime | None = None
    if is_html:
        text, title, page_time, lang_hint = _from_html(raw, source)
    else:
        text = raw
        first = text.strip().splitlines()[0] if text.strip() else ""
        title = first if len(first) < 200 else ""
    if not text.strip():
        raise UserError(f"the article {source} is empty; pass a file with the article's text")
    lang = guess_language(text)
    if lang == "und" and lang_hint:
        lang = lang_hint
    return Article(
        text=text,
        title=title,
        language=lang,
        published=published or page_time,
        source=source,
    )
