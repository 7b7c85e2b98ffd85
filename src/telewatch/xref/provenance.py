"""From a post to its spread: forwards, copies, near-copies and paraphrases.

``trace`` answers "who said it first, and who repeated it": starting from
any post, it finds the origin (following a forward header back, or the
earliest near-identical post), then every post in the other channels within
a time window that is

* a ``forward`` (exact: a forward header naming the origin — by id when
  Telegram gave it, by display name for Desktop exports, with the same body);
* a ``copy`` (body Jaccard ≥ ``COPY_JACCARD`` on word 3-shingles, MinHash/LSH
  over the window) or ``near-copy`` (≥ ``NEAR_JACCARD``);
* ``same-media`` / ``similar-media``: a post carrying the same file, or the
  same picture re-encoded (perceptual hash within ``media_distance`` bits),
  at any time and whatever its text (xref/media.py);
* a ``paraphrase``: a rewrite, usually in another language, found by the
  overlap of script-independent name keys, event terms and numbers (IDF
  weighted over the window) and, with ``semantic``, embedding similarity
  (≥ ``SEMANTIC_PARAPHRASE`` when the event score is at least ``SEMANTIC_FLOOR``).

Signature lines ("📡 Channel | follow us") are detected per channel as lines
repeated across many of its posts and are ignored, as are hashtags and
emoji, so a copy that swaps the signature still counts as verbatim.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from telewatch.store.phash import NEAR_DISTANCE
from telewatch.store.xref import Connection
from telewatch.text import normalize
from telewatch.xref.candidates import (
    PostRow,
    attach_versions,
    channel_id_by_title,
    forwards_of,
    get_post,
    posts_in_window,
    recent_texts,
)
from telewatch.xref.media import MediaEvidence, media_spread
from telewatch.xref.names import name_key, script_of, strip_arabic_clitics, words
from telewatch.xref.terms import concepts, numbers

COPY_JACCARD = 0.7
NEAR_JACCARD = 0.45
PARAPHRASE_SCORE = 0.3
BACK_PARAPHRASE_SCORE = 0.3
BACK_HOURS = 12
CLOSER_MARGIN = 0.1
SEMANTIC_PARAPHRASE = 0.88
SEMANTIC_FLOOR = 0.2
_NUM_PERM = 64

if TYPE_CHECKING:
    from datasketch import MinHash
_HASHTAG = re.compile(r"#\S+")
_URL = re.compile(r"(?:https?://)?t\.me/\S+|@\w+")


@dataclass
class Spread:
    """One post in the spread of the traced post."""

    post: PostRow
    kind: str  # origin | forward | copy | near-copy | paraphrase | same-media | similar-media
    delay_minutes: float
    similarity: float
    via: str | None = None
    media: MediaEvidence | None = None  # its media matches the traced post's

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
            "media": self.media.to_json() if self.media is not None else None,
        }


@dataclass
class TraceResult:
    """The traced post, its origin and the spread in time order (origin first)."""

    start: PostRow
    origin: PostRow
    spread: list[Spread] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Signatures:
    """Per-channel signature lines: first/last lines repeated across many of a
    channel's 100 most recent posts (at least 3 times and in ≥ 15 % of them)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._cache: dict[int, frozenset[str]] = {}

    def lines(self, channel_id: int, at: datetime) -> frozenset[str]:
        """Normalised signature lines of ``channel_id`` (cached per channel)."""
        if channel_id not in self._cache:
            texts = recent_texts(self._conn, channel_id, at + timedelta(days=30), n=100)
            counts: Counter[str] = Counter()
            for t in texts:
                lines = [line for line in t.splitlines() if line.strip()]
                # Signatures and channel banners sit at the edges of a post.
                edges = lines[:1] + lines[-2:] if len(lines) > 3 else lines
                counts.update({_line_key(line) for line in edges})
            need = max(3, int(0.15 * len(texts)))
            self._cache[channel_id] = frozenset(k for k, c in counts.items() if c >= need and k)
        return self._cache[channel_id]

    def raw_body(self, post: PostRow) -> str:
        """The post's text without its signature lines (otherwise unchanged)."""
        sig = self.lines(post.channel_id, post.date)
        return "\n".join(ln for ln in post.text.splitlines() if _line_key(ln) not in sig)

    def body(self, post: PostRow) -> str:
        """The post's text without signature lines, hashtags, links and emoji."""
        sig = self.lines(post.channel_id, post.date)
        kept = [ln for ln in post.text.splitlines() if _line_key(ln) not in sig]
        return body_text("\n".join(kept))


def versions_of(post: PostRow) -> list[PostRow]:
    """The post once per version (oldest first; the post itself when it was
    never edited or its versions are not attached): trace compares every
    version, so an edit does not hide the copies of what it first said."""
    if len(post.versions) <= 1:
        return [post]
    return [replace(post, text=v[1], versions=()) for v in post.versions]


def best_jaccard(a: PostRow, b: PostRow, sigs: Signatures) -> float:
    """The highest body Jaccard over every version pair of ``a`` and ``b``."""
    return max(
        jaccard(shingles(sigs.body(x)), shingles(sigs.body(y)))
        for x in versions_of(a)
        for y in versions_of(b)
    )


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
    # datasketch pulls in scipy (~0.4 s): imported only when trace runs.
    from datasketch import MinHash

    m = MinHash(num_perm=_NUM_PERM)
    m.update_batch([s.encode("utf-8") for s in sh])
    return m


def features(text: str) -> set[str]:
    """Script-independent word keys of a text (Arabic clitics stripped):
    the name-key shape of every word with at least two consonant classes."""
    out: set[str] = set()
    for w in words(normalize(_URL.sub(" ", _HASHTAG.sub(" ", text)))):
        if w.isdigit():
            continue
        forms = strip_arabic_clitics(w) if script_of(w) == "arabic" else [w]
        key = name_key(forms[-1])
        if len(key.skeleton.replace(" ", "")) >= 2:
            out.add(key.shape)
    return out


_BULLET = re.compile(
    r"^\s*(?:[-•▪▫◾◽●○■□►▶➖✅🔸🔹🔻]|\d{1,2}\s*[-.)]|[\u0660-\u0669\u06f0-\u06f9]{1,2}\s*[-.)])"
)


def is_roundup(text: str) -> bool:
    """A digest post (two or more bullet/numbered lines): it overlaps many
    events without being a copy of any one of them."""
    return sum(1 for line in text.splitlines() if _BULLET.match(line)) >= 2


def _main_script(text: str) -> str:
    counts = Counter(script_of(w) for w in words(text))
    counts.pop("other", None)
    return counts.most_common(1)[0][0] if counts else "other"


def event_similarity(a: str, b: str) -> float:
    """How likely two post bodies report the same event, in [0, 1], across
    languages: places/actors (gazetteer and name keys), event terms, numbers.

    When one side is in Latin or Cyrillic script its named entities are
    looked for in the other side by name key; two Arabic-script texts are
    compared by their word keys (shared names and cognates)."""
    from telewatch.xref.gazetteer import EntityMatcher, find_entities

    sa, sb = _main_script(a), _main_script(b)
    if sa in ("latin", "cyrillic") or sb in ("latin", "cyrillic"):
        lat, other = (a, b) if sa in ("latin", "cyrillic") else (b, a)
        matcher = EntityMatcher(find_entities(lat))
        hits = matcher.match(other)
        # A country alone says little about the event (as in xref's scoring).
        weight = {k: 0.25 if e.kind == "country" else 1.0 for k, e in matcher.entities.items()}
        ent = sum(weight[k] for k in hits) / max(1.0, min(sum(weight.values()), 4.0))
    else:
        fa, fb = features(a), features(b)
        ent = len(fa & fb) / max(1, min(len(fa), len(fb)))
        ga = {e.key for e in find_entities(a) if e.kind != "country"}
        gb = {e.key for e in find_entities(b) if e.kind != "country"}
        if ga and gb:
            ent = max(ent, len(ga & gb) / max(2, min(len(ga), len(gb), 4)))
    ca, cb = set(concepts(a)), set(concepts(b))
    conc = len(ca & cb) / max(1, len(ca | cb))
    num = 1.0 if numbers(a) & numbers(b) else 0.0
    return 0.55 * min(ent, 1.0) + 0.3 * conc + 0.15 * num


def _resolve_origin(conn: Connection, post: PostRow, sigs: Signatures) -> PostRow:
    """Follow a forward header back to the original post when it is archived."""
    if post.fwd_channel_id is not None and post.fwd_message_id is not None:
        origin = get_post(conn, post.fwd_channel_id, post.fwd_message_id)
        if origin is not None:
            return origin
    if post.fwd_name:
        fwd_channel = channel_id_by_title(conn, post.fwd_name)
        if fwd_channel is not None:
            body = sigs.body(post)
            cands = posts_in_window(conn, post.date - timedelta(days=3), post.date, [fwd_channel])
            best = max(
                cands,
                key=lambda c: (jaccard(shingles(sigs.body(c)), shingles(body)), c.date),
                default=None,
            )
            if (
                best is not None
                and jaccard(shingles(sigs.body(best)), shingles(body)) >= NEAR_JACCARD
            ):
                return best
    return post


def _earlier_source(conn: Connection, post: PostRow, sigs: Signatures) -> PostRow:
    """The earliest post of another channel, up to ``BACK_HOURS`` before
    ``post``, that ``post`` copies or rewrites (``post`` itself when none).

    A candidate that an own-channel post of ``post`` matches better — one the
    candidate rewrites (up to ``BACK_HOURS`` older) or one that follows it —
    is about that post instead (mutual best match), and is skipped."""
    pool = posts_in_window(conn, post.date - timedelta(hours=2 * BACK_HOURS), post.date)
    attach_versions(conn, pool)
    body = sigs.raw_body(post)
    sh = shingles(sigs.body(post))
    own = [p for p in pool if p.channel_id == post.channel_id and p.date < post.date and p.text]

    def sim(a: PostRow, b_body: str, b_sh: set[str]) -> float:
        # Every version of ``a``: its first text may be what was copied.
        best = 0.0
        for v in versions_of(a):
            j = jaccard(shingles(sigs.body(v)), b_sh)
            s = 1.0 + j if j >= COPY_JACCARD else event_similarity(sigs.raw_body(v), b_body)
            best = max(best, s)
        return best

    back = timedelta(hours=BACK_HOURS)
    rewrites: list[tuple[float, PostRow]] = []
    for p in pool:  # oldest first
        if (
            p.channel_id == post.channel_id
            or p.date >= post.date
            or p.date < post.date - timedelta(hours=BACK_HOURS)
            or is_roundup(p.text)
        ):
            continue
        score = sim(p, body, sh)
        if score < BACK_PARAPHRASE_SCORE:
            continue
        p_body, p_sh = sigs.raw_body(p), shingles(sigs.body(p))
        # An own post that ``p`` rewrites (published up to BACK_HOURS before
        # ``p``) or that rewrites ``p`` (published after it) claims ``p``;
        # an older own post is about an earlier event, not ``p``'s source.
        if any(p.date - back <= o.date < post.date and sim(o, p_body, p_sh) > score for o in own):
            continue
        if score > 1.0:
            return p  # the earliest verbatim source
        rewrites.append((score, p))
    if rewrites:
        # The closest rewrite; _find_origin keeps walking back from it.
        return max(rewrites, key=lambda sp: (sp[0], -sp[1].date.timestamp()))[1]
    return post


def _find_origin(conn: Connection, post: PostRow, sigs: Signatures) -> PostRow:
    """Follow forward headers and earlier copies/rewrites back to the first capture."""
    current = post
    for _ in range(4):
        prev = _resolve_origin(conn, current, sigs)
        if prev.rowid == current.rowid:
            prev = _earlier_source(conn, current, sigs)
        if prev.rowid == current.rowid:
            break
        current = prev
    return current


def trace(
    conn: Connection,
    channel_id: int,
    message_id: int,
    *,
    window_hours: float = 24.0,
    semantic: bool = False,
    semantic_conn: Connection | None = None,
    media_distance: int | None = NEAR_DISTANCE,
) -> TraceResult:
    """The spread of a post (see module docstring). ``media_distance``: the
    largest pHash distance (bits) for a ``similar-media`` post; None: no
    media matching. Raises LookupError when the post is not archived."""
    start = get_post(conn, channel_id, message_id)
    if start is None:
        raise LookupError(f"post {channel_id}/{message_id} is not in the archive")
    sigs = Signatures(conn)
    attach_versions(conn, [start])
    origin = _find_origin(conn, start, sigs)
    attach_versions(conn, [origin])
    window = timedelta(hours=window_hours)
    pool = posts_in_window(conn, origin.date - window, origin.date + window)
    pool = [p for p in pool if p.rowid != origin.rowid]
    attach_versions(conn, pool)
    bodies = {p.rowid: sigs.body(p) for p in pool}
    origin_shs = [shingles(sigs.body(v)) for v in versions_of(origin)]

    result = TraceResult(start=start, origin=origin)
    result.spread.append(Spread(origin, "origin", 0.0, 1.0))
    found: dict[int, Spread] = {}

    def delay(p: PostRow) -> float:
        return (p.date - origin.date).total_seconds() / 60

    for f in forwards_of(conn, origin.channel_id, origin.message_id, origin.title):
        if f.rowid == origin.rowid or f.date < origin.date:
            continue
        attach_versions(conn, [f])
        sim = best_jaccard(f, origin, sigs) if f.fwd_message_id is None else 1.0
        if f.fwd_message_id is not None or sim >= COPY_JACCARD:
            found[f.rowid] = Spread(f, "forward", delay(f), sim)

    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=NEAR_JACCARD, num_perm=_NUM_PERM)
    hashes: dict[int, MinHash] = {}
    for p in pool:
        for i, v in enumerate(versions_of(p)):
            sh = shingles(bodies[p.rowid] if i == 0 and len(p.versions) <= 1 else sigs.body(v))
            if sh:
                h = _minhash(sh)
                hashes.setdefault(p.rowid, h)
                lsh.insert(f"{p.rowid}:{i}", h)
    by_rowid = {p.rowid: p for p in pool}
    keys = {k.split(":")[0] for sh in origin_shs if sh for k in lsh.query(_minhash(sh))}
    if keys:
        for key in sorted(keys, key=int):
            p = by_rowid[int(key)]
            if p.rowid in found or p.channel_id == origin.channel_id or p.date < origin.date:
                continue
            sim = best_jaccard(p, origin, sigs)
            if sim >= COPY_JACCARD:
                found[p.rowid] = Spread(p, "copy", delay(p), sim)
            elif sim >= NEAR_JACCARD:
                found[p.rowid] = Spread(p, "near-copy", delay(p), sim)

    # Second-hand copies: verbatim copies of a copy/paraphrase already found.
    _paraphrases(conn, origin, pool, found, sigs, semantic, semantic_conn)
    for s in list(found.values()):
        sh = shingles(bodies.get(s.post.rowid, ""))
        if not sh:
            continue
        for key in dict.fromkeys(k.split(":")[0] for k in lsh.query(_minhash(sh))):
            p = by_rowid[int(key)]
            if p.channel_id in (origin.channel_id, s.post.channel_id):
                continue
            if p.rowid in found and found[p.rowid].kind in ("forward", "copy"):
                continue
            sim = jaccard(shingles(bodies[p.rowid]), sh)
            if sim >= COPY_JACCARD and p.date > s.post.date:
                via = f"{s.post.username or s.post.channel_id}/{s.post.message_id}"
                found[p.rowid] = Spread(p, "copy", delay(p), sim, via=via)
    if media_distance is not None:
        _media_spread(conn, start, origin, found, delay, media_distance)
    result.spread.extend(sorted(found.values(), key=lambda s: s.post.date))
    return result


def _media_spread(
    conn: Connection,
    start: PostRow,
    origin: PostRow,
    found: dict[int, Spread],
    delay: Callable[[PostRow], float],
    max_distance: int,
) -> None:
    """Add the posts of other channels whose media matches the traced post's
    or the origin's (and give a post found by its text its media evidence)."""
    keys = {(start.channel_id, start.message_id), (origin.channel_id, origin.message_id)}
    by_key = {(s.post.channel_id, s.post.message_id): s for s in found.values()}
    for key, ev in media_spread(conn, keys, max_distance).items():
        if key[0] == origin.channel_id:
            continue
        if key in by_key:
            by_key[key].media = ev
            continue
        p = get_post(conn, *key)
        if p is None:
            continue
        kind = "same-media" if ev.exact else "similar-media"
        found[p.rowid] = Spread(p, kind, delay(p), ev.similarity, media=ev)


def _closer_source(
    origin: PostRow,
    post: PostRow,
    pool: list[PostRow],
    members: set[int],
    sigs: Signatures,
    score: float,
) -> bool:
    """Whether ``post`` rewrites another post better than it rewrites the
    origin: a post outside the cluster, of another channel than ``post``,
    published up to ``BACK_HOURS`` before it, whose event similarity to
    ``post`` beats ``score`` by ``CLOSER_MARGIN``. Such a post reports that
    other event (the F-16 strike, not the attack the day before in the same
    province)."""
    body = sigs.raw_body(post)
    back = post.date - timedelta(hours=BACK_HOURS)
    for x in pool:
        if (
            x.rowid in members
            or x.rowid == post.rowid
            or x.channel_id == post.channel_id
            or not back <= x.date < post.date
            or not x.text
            or is_roundup(x.text)
        ):
            continue
        if event_similarity(sigs.raw_body(x), body) > score + CLOSER_MARGIN:
            return True
    return False


def _paraphrases(
    conn: Connection,
    origin: PostRow,
    pool: list[PostRow],
    found: dict[int, Spread],
    sigs: Signatures,
    semantic: bool,
    semantic_conn: Connection | None,
) -> None:
    """Add rewrites of the origin published after it in other channels: the
    best one per channel (a channel's follow-ups are not copies), digests
    excluded."""
    later = [
        p
        for p in pool
        if p.date > origin.date
        and p.channel_id != origin.channel_id
        and p.rowid not in found
        and p.channel_id not in {s.post.channel_id for s in found.values()}
        and not is_roundup(p.text)
    ]
    if not later:
        return
    obodies = [sigs.raw_body(v) for v in versions_of(origin)]
    sem: dict[int, float] = {}
    if semantic:
        from telewatch.xref.semantic import post_similarities

        sem = post_similarities(semantic_conn or conn, origin, later)
    scored: dict[int, list[tuple[float, PostRow]]] = {}
    for p in later:
        hours = (p.date - origin.date).total_seconds() / 3600
        score = max(
            event_similarity(ob, sigs.raw_body(v)) for ob in obodies for v in versions_of(p)
        ) * (1.0 if hours <= 12 else 0.8)
        s = sem.get(p.rowid)
        if s is not None and s >= SEMANTIC_PARAPHRASE and score >= SEMANTIC_FLOOR:
            # Embeddings rescue a rewrite that shares a little with the
            # origin; alone they rate every same-day post as similar.
            score = max(score, PARAPHRASE_SCORE + (s - SEMANTIC_PARAPHRASE))
        if score >= PARAPHRASE_SCORE:
            scored.setdefault(p.channel_id, []).append((score, p))
    members = {p.rowid for cands in scored.values() for _, p in cands} | set(found)
    for cid in list(scored):
        kept = [
            (score, p)
            for score, p in scored[cid]
            if not _closer_source(origin, p, pool, members, sigs, score)
        ]
        if kept:
            scored[cid] = kept
        else:
            del scored[cid]
    for cands in scored.values():
        # The channel's first report wins over its later follow-ups unless
        # those are clearly closer.
        top = max(c[0] for c in cands)
        score, p = min((c for c in cands if c[0] >= 0.8 * top), key=lambda c: c[1].date)
        found[p.rowid] = Spread(p, "paraphrase", (p.date - origin.date).total_seconds() / 60, score)


@dataclass(frozen=True, slots=True)
class CopyPair:
    """``copy`` repeats ``source`` without a forward header (``kind`` copy or near-copy)."""

    source: PostRow
    copy: PostRow
    kind: str
    similarity: float


def copy_pairs(
    pool: list[PostRow],
    sigs: Signatures,
    *,
    window: timedelta = timedelta(hours=24),
    targets: tuple[datetime, datetime] | None = None,
) -> list[CopyPair]:
    """Every post of ``pool`` (oldest first) that copies an earlier post of
    another channel, with the same detector and thresholds as ``trace``:
    signature-free bodies, word 3-shingles, MinHash/LSH, Jaccard ≥
    ``COPY_JACCARD`` (copy) or ≥ ``NEAR_JACCARD`` (near-copy), published after
    the source and within ``window`` of it. A post's source is its earliest
    verbatim match (the first capture), else its closest near match; posts
    with a forward header are forwards, not copies. ``targets`` limits the
    copies (not the sources) to posts dated in ``[start, end)``, so that a
    caller can walk a long archive in overlapping slices."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=NEAR_JACCARD, num_perm=_NUM_PERM)
    sh: dict[int, set[str]] = {}
    hashes: dict[int, MinHash] = {}
    for p in pool:
        s = shingles(sigs.body(p))
        if s:
            sh[p.rowid] = s
            hashes[p.rowid] = _minhash(s)
            lsh.insert(str(p.rowid), hashes[p.rowid])
    by_rowid = {p.rowid: p for p in pool}
    out: list[CopyPair] = []
    for q in pool:
        if q.rowid not in sh or q.fwd_channel_id is not None or q.fwd_name:
            continue
        if targets is not None and not targets[0] <= q.date < targets[1]:
            continue
        verbatim: list[tuple[float, PostRow]] = []
        near: list[tuple[float, PostRow]] = []
        for key in lsh.query(hashes[q.rowid]):
            p = by_rowid[int(key)]
            if p.channel_id == q.channel_id or not p.date < q.date <= p.date + window:
                continue
            sim = jaccard(sh[p.rowid], sh[q.rowid])
            if sim >= COPY_JACCARD:
                verbatim.append((sim, p))
            elif sim >= NEAR_JACCARD:
                near.append((sim, p))
        if verbatim:
            sim, p = min(verbatim, key=lambda sp: (sp[1].date, sp[1].rowid))
            out.append(CopyPair(p, q, "copy", sim))
        elif near:
            sim, p = max(near, key=lambda sp: (sp[0], -sp[1].date.timestamp()))
            out.append(CopyPair(p, q, "near-copy", sim))
    return out
