"""From a post to its spread: forwards, copies, near-copies and paraphrases.

``trace`` answers "who said it first, and who repeated it": starting from
any post, it finds the origin (following a forward header back, or the
earliest near-identical post), then every post in the other channels within
a time window that is

* a ``forward`` (exact: a forward header naming the origin — by id when
  Telegram gave it, by display name for Desktop exports, with the same body);
* a ``copy`` (body Jaccard ≥ ``COPY_JACCARD`` on word 3-shingles, MinHash/LSH
  over the window) or ``near-copy`` (≥ ``NEAR_JACCARD``);
* a ``paraphrase``: a rewrite, usually in another language, found by the
  overlap of script-independent name keys, event terms and numbers (IDF
  weighted over the window) and, with ``semantic``, embedding similarity.

Signature lines ("📡 Channel | follow us") are detected per channel as lines
repeated across many of its posts and are ignored, as are hashtags and
emoji, so a copy that swaps the signature still counts as verbatim.
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from datasketch import MinHash, MinHashLSH

from telewatch.text import normalize
from telewatch.xref.candidates import (
    PostRow,
    forwards_of,
    get_post,
    posts_in_window,
    recent_texts,
)
from telewatch.xref.names import name_key, script_of, strip_arabic_clitics, words
from telewatch.xref.terms import concepts, numbers

COPY_JACCARD = 0.7
NEAR_JACCARD = 0.45
PARAPHRASE_SCORE = 0.42
SEMANTIC_PARAPHRASE = 0.86
_NUM_PERM = 64
_HASHTAG = re.compile(r"#\S+")
_URL = re.compile(r"(?:https?://)?t\.me/\S+|@\w+")


@dataclass
class Spread:
    """One post in the spread of the traced post."""

    post: PostRow
    kind: str  # origin | forward | copy | near-copy | paraphrase
    delay_minutes: float
    similarity: float
    via: str | None = None

    def to_json(self, url: str | None) -> dict[str, object]:
        """JSON form (``trace --json`` ``spread[]``)."""
        return {
            "channel_id": self.post.channel_id,
            "username": self.post.username,
            "title": self.post.title,
            "message_id": self.post.message_id,
            "date": self.post.date.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "url": url,
            "kind": self.kind,
            "delay_minutes": round(self.delay_minutes, 1),
            "similarity": round(self.similarity, 3),
            "via": self.via,
            "edited": self.post.version_count > 1 or self.post.edit_date is not None,
            "deleted": self.post.deleted_at is not None,
        }


@dataclass
class TraceResult:
    """The traced post, its origin and the spread in time order (origin first)."""

    start: PostRow
    origin: PostRow
    spread: list[Spread] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Signatures:
    """Per-channel signature lines: lines repeated across many of a channel's
    posts (at least 3 times and in ≥ 15 % of its recent posts)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._cache: dict[int, frozenset[str]] = {}

    def lines(self, channel_id: int, at: datetime) -> frozenset[str]:
        """Normalised signature lines of ``channel_id`` (cached per channel)."""
        if channel_id not in self._cache:
            texts = recent_texts(self._conn, channel_id, at + timedelta(days=30))
            counts: Counter[str] = Counter()
            for t in texts:
                counts.update({_line_key(line) for line in t.splitlines() if line.strip()})
            need = max(3, int(0.15 * len(texts)))
            self._cache[channel_id] = frozenset(k for k, c in counts.items() if c >= need and k)
        return self._cache[channel_id]

    def body(self, post: PostRow) -> str:
        """The post's text without signature lines, hashtags, links and emoji."""
        sig = self.lines(post.channel_id, post.date)
        kept = [ln for ln in post.text.splitlines() if _line_key(ln) not in sig]
        return body_text("\n".join(kept))


def _line_key(line: str) -> str:
    return " ".join(words(normalize(_URL.sub(" ", line))))


def body_text(text: str) -> str:
    """Normalised words of ``text`` without hashtags, links, mentions and emoji."""
    text = _URL.sub(" ", _HASHTAG.sub(" ", text))
    return " ".join(words(normalize(text)))


def shingles(body: str, n: int = 3) -> set[str]:
    """Word ``n``-shingles of a body (single words for very short bodies)."""
    toks = body.split()
    if len(toks) < n:
        return set(toks)
    return {" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    """Jaccard similarity of two sets (0 for two empty sets)."""
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def _minhash(sh: set[str]) -> MinHash:
    m = MinHash(num_perm=_NUM_PERM)
    m.update_batch([s.encode("utf-8") for s in sh])
    return m


def features(text: str) -> set[str]:
    """Script-independent features of a post for paraphrase detection: name
    keys of its words (Arabic clitics stripped), event concepts and numbers."""
    out: set[str] = set()
    for w in words(normalize(_URL.sub(" ", _HASHTAG.sub(" ", text)))):
        forms = strip_arabic_clitics(w) if script_of(w) == "arabic" else [w]
        form = forms[-1]
        sk = name_key(form).skeleton.replace(" ", "")
        if len(sk) >= 3 and not w.isdigit():
            out.add("k:" + sk)
    out.update("c:" + c for c in concepts(text))
    out.update("n:" + n for n in numbers(text))
    return out


def _resolve_origin(conn: sqlite3.Connection, post: PostRow, sigs: Signatures) -> PostRow:
    """Follow a forward header back to the original post when it is archived."""
    if post.fwd_channel_id is not None and post.fwd_message_id is not None:
        origin = get_post(conn, post.fwd_channel_id, post.fwd_message_id)
        if origin is not None:
            return origin
    if post.fwd_name:
        row = conn.execute("SELECT id FROM channels WHERE title = ?", (post.fwd_name,)).fetchone()
        if row is not None:
            body = sigs.body(post)
            cands = posts_in_window(conn, post.date - timedelta(days=3), post.date, [int(row[0])])
            best = max(
                cands,
                key=lambda c: (jaccard(shingles(sigs.body(c)), shingles(body)), c.date),
                default=None,
            )
            if best is not None and jaccard(shingles(sigs.body(best)), shingles(body)) >= NEAR_JACCARD:
                return best
    return post


def trace(
    conn: sqlite3.Connection,
    channel_id: int,
    message_id: int,
    *,
    window_hours: float = 24.0,
    semantic: bool = False,
    semantic_conn: sqlite3.Connection | None = None,
) -> TraceResult:
    """The spread of a post (see module docstring). Raises LookupError when
    the post is not archived."""
    start = get_post(conn, channel_id, message_id)
    if start is None:
        raise LookupError(f"post {channel_id}/{message_id} is not in the archive")
    sigs = Signatures(conn)
    origin = _resolve_origin(conn, start, sigs)
    window = timedelta(hours=window_hours)
    pool = posts_in_window(conn, origin.date - window, origin.date + window)
    pool = [p for p in pool if p.rowid != origin.rowid]
    bodies = {p.rowid: sigs.body(p) for p in pool}
    origin_body = sigs.body(origin)
    origin_sh = shingles(origin_body)

    # An earlier near-identical post in another channel is the real origin.
    for p in sorted(pool, key=lambda p: p.date):
        if p.date >= origin.date or p.channel_id == origin.channel_id:
            continue
        if jaccard(shingles(bodies[p.rowid]), origin_sh) >= COPY_JACCARD:
            return trace(
                conn, p.channel_id, p.message_id, window_hours=window_hours,
                semantic=semantic, semantic_conn=semantic_conn,
            ) if (p.channel_id, p.message_id) != (channel_id, message_id) else TraceResult(p, p)

    result = TraceResult(start=start, origin=origin)
    result.spread.append(Spread(origin, "origin", 0.0, 1.0))
    found: dict[int, Spread] = {}

    def delay(p: PostRow) -> float:
        return (p.date - origin.date).total_seconds() / 60

    for f in forwards_of(conn, origin.channel_id, origin.message_id, origin.title):
        if f.rowid == origin.rowid or f.date < origin.date:
            continue
        sim = jaccard(shingles(sigs.body(f)), origin_sh) if f.fwd_message_id is None else 1.0
        if f.fwd_message_id is not None or sim >= COPY_JACCARD:
            found[f.rowid] = Spread(f, "forward", delay(f), sim)

    lsh = MinHashLSH(threshold=NEAR_JACCARD, num_perm=_NUM_PERM)
    hashes: dict[int, MinHash] = {}
    for p in pool:
        sh = shingles(bodies[p.rowid])
        if sh:
            hashes[p.rowid] = _minhash(sh)
            lsh.insert(str(p.rowid), hashes[p.rowid])
    by_rowid = {p.rowid: p for p in pool}
    if origin_sh:
        for key in lsh.query(_minhash(origin_sh)):
            p = by_rowid[int(key)]
            if p.rowid in found or p.channel_id == origin.channel_id or p.date < origin.date:
                continue
            sim = jaccard(shingles(bodies[p.rowid]), origin_sh)
            if sim >= COPY_JACCARD:
                found[p.rowid] = Spread(p, "copy", delay(p), sim)
            elif sim >= NEAR_JACCARD:
                found[p.rowid] = Spread(p, "near-copy", delay(p), sim)

    # Second-hand copies: verbatim copies of a copy/paraphrase already found.
    _paraphrases(conn, origin, pool, found, delay, semantic, semantic_conn)
    for s in list(found.values()):
        sh = shingles(bodies.get(s.post.rowid, ""))
        if not sh:
            continue
        for key in lsh.query(_minhash(sh)):
            p = by_rowid[int(key)]
            if p.rowid in found or p.channel_id in (origin.channel_id, s.post.channel_id):
                continue
            sim = jaccard(shingles(bodies[p.rowid]), sh)
            if sim >= COPY_JACCARD and p.date > s.post.date:
                via = f"{s.post.username or s.post.channel_id}/{s.post.message_id}"
                found[p.rowid] = Spread(p, "copy", delay(p), sim, via=via)
    result.spread.extend(sorted(found.values(), key=lambda s: s.post.date))
    return result


def _paraphrases(
    conn: sqlite3.Connection,
    origin: PostRow,
    pool: list[PostRow],
    found: dict[int, Spread],
    delay: object,
    semantic: bool,
    semantic_conn: sqlite3.Connection | None,
) -> None:
    """Add rewrites of the origin published after it in other channels."""
    later = [
        p for p in pool
        if p.date > origin.date and p.channel_id != origin.channel_id and p.rowid not in found
    ]
    if not later:
        return
    feats = {p.rowid: features(p.text) for p in later}
    ofeat = features(origin.text)
    df: Counter[str] = Counter()
    for f in feats.values():
        df.update(f)
    n = len(later) + 1

    def idf(k: str) -> float:
        return math.log((n + 1) / (df[k] + 1))

    o_weight = sum(idf(k) for k in ofeat) or 1.0
    sem: dict[int, float] = {}
    if semantic:
        from telewatch.xref.semantic import post_similarities

        sem = post_similarities(semantic_conn or conn, origin, later)
    # One rewrite per channel: the best-scoring one (follow-ups are not copies).
    best: dict[int, tuple[float, PostRow]] = {}
    for p in later:
        shared = ofeat & feats[p.rowid]
        p_weight = sum(idf(k) for k in feats[p.rowid]) or 1.0
        score = sum(idf(k) for k in shared) / math.sqrt(o_weight * p_weight)
        s = sem.get(p.rowid)
        ok = score >= PARAPHRASE_SCORE or (s is not None and s >= SEMANTIC_PARAPHRASE)
        if ok and (p.channel_id not in best or score > best[p.channel_id][0]):
            best[p.channel_id] = (max(score, s or 0.0), p)
    for score, p in best.values():
        found[p.rowid] = Spread(p, "paraphrase", (p.date - origin.date).total_seconds() / 60, score)
