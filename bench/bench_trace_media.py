"""`trace` by media on a 1,000,000-post archive with 200,000 images: the
band index (multi-index hashing, store/phash.py) against a linear scan of
every hash, in the same run (``python -m bench trace_media``).

The archive is generated with fast SQL (we measure reads) and cached under
/tmp. Its 200,000 perceptual hashes are those of 200,000 synthetic pictures
(smooth random greyscale fields), computed with imagehash's pHash algorithm
vectorised with numpy/scipy (checked bit for bit against ``imagehash.phash``
on a sample), so that the bits are as correlated as real pictures' are,
unlike uniform random hashes. Four planted posts carry a generated photo and
three re-posts of it (cropped, rescaled, recompressed) in other channels,
which the trace must find."""

from __future__ import annotations

import hashlib
import itertools
import random
import sqlite3
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from tests.fixtures.media import picture, repost

from telewatch.store import media_match, phash
from telewatch.store.db import connect, migrate
from telewatch.store.media import rel_path
from telewatch.xref.media import media_spread
from telewatch.xref.provenance import trace

POSTS = 1_000_000
IMAGES = 200_000
CHANNELS = 200
CACHE = Path("/tmp/telewatch-bench-trace-media-1m-v2.db")
NOW = datetime(2026, 11, 1, tzinfo=UTC)
PLANTED = 2_000_000  # message ids of the planted posts start here
QUERIES = 40


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _fields(rng: np.random.Generator, n: int) -> np.ndarray:
    """n smooth random 32×32 greyscale pictures (uint8)."""
    coarse = np.kron(rng.random((n, 4, 4)), np.ones((8, 8)))
    fine = np.kron(rng.random((n, 8, 8)), np.ones((4, 4)))
    grey = 255 * (0.7 * coarse + 0.3 * fine)
    return np.asarray(grey.clip(0, 255), dtype=np.uint8)


def _phash_batch(pixels: np.ndarray) -> list[int]:
    """imagehash.phash (hash_size 8) of 32×32 greyscale pictures, vectorised."""
    from scipy.fftpack import dct

    d = dct(dct(pixels.astype(np.float64), axis=1), axis=2)[:, :8, :8].reshape(len(pixels), 64)
    bits = d > np.median(d, axis=1, keepdims=True)
    packed = np.packbits(bits, axis=1)
    return [int.from_bytes(row.tobytes(), "big") for row in packed]


def _check_vectorised() -> None:
    import imagehash
    from PIL import Image

    sample = _fields(np.random.default_rng(99), 50)
    fast = _phash_batch(sample)
    slow = [int(str(imagehash.phash(Image.fromarray(p, "L"))), 16) for p in sample]
    assert fast == slow, "the vectorised pHash differs from imagehash.phash"


def build_archive(path: Path) -> None:
    """POSTS posts over CHANNELS channels and 60 days, one in five with a
    stored image and its pHash; plus the planted photo and its re-posts."""
    tmp = path.with_suffix(".tmp")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        p.unlink(missing_ok=True)
    migrate(tmp)
    conn = sqlite3.connect(tmp, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    rng = random.Random(7)
    nrng = np.random.default_rng(7)
    conn.execute("BEGIN")
    first = _iso(NOW - timedelta(days=61))
    conn.executemany(
        "INSERT INTO channels(id, username, title, first_seen, last_seen) VALUES (?,?,?,?,?)",
        [(1600000000 + c, f"bench_{c}", f"Bench {c}", first, first) for c in range(CHANNELS)],
    )
    # Posts of 12 words from a 20,000-word vocabulary (Zipf-like: a few words
    # common, most rare), so that text copies are as rare as in real channels.
    vocab = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9)))
             for _ in range(20_000)]  # fmt: skip
    cum = list(itertools.accumulate(1 / (k + 10) for k in range(len(vocab))))
    span = 60 * 86400
    every = POSTS // IMAGES
    posts, versions, files, refs, hashes = [], [], [], [], []
    pending: list[tuple[str]] = []
    for i in range(1, POSTS + 1):
        cid = 1600000000 + rng.randrange(CHANNELS)
        date = _iso(NOW - timedelta(seconds=span * (POSTS - i) / POSTS))
        text = " ".join(rng.choices(vocab, cum_weights=cum, k=12))
        posts.append((i, cid, i, date, text, i, 1, date, "en"))
        versions.append((i, cid, i, 1, text, hashlib.sha256(text.encode()).hexdigest(), date))
        if i % every == 0:
            sha = hashlib.sha256(f"image {i}".encode()).hexdigest()
            files.append((sha, 50_000, "image/jpeg", rel_path(sha, "image/jpeg"), date))
            refs.append((cid, i, 1, "file", "photo", "image/jpeg", 50_000, "stored", sha, date))
            pending.append((sha,))
        if len(posts) == 50_000 or i == POSTS:
            hs = _phash_batch(_fields(nrng, len(pending)))
            hashes.extend(
                (sha, phash.ALGO, phash.to_hex(h), *phash.bands(h))
                for (sha,), h in zip(pending, hs, strict=True)
            )
            _flush(conn, posts, versions, files, refs, hashes)
            posts, versions, files, refs, hashes, pending = [], [], [], [], [], []
    _plant(conn)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    tmp.rename(path)
    for suffix in ("-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)


def _flush(conn: sqlite3.Connection, posts: list, versions: list, files: list, refs: list,
           hashes: list) -> None:  # fmt: skip
    conn.executemany(
        "INSERT INTO posts(id, channel_id, message_id, date, text, version_id, version_count,"
        " first_seen, lang) VALUES (?,?,?,?,?,?,?,?,?)",
        posts,
    )
    conn.executemany(
        "INSERT INTO post_versions(id, channel_id, message_id, version_no, text, content_hash,"
        " captured_at, source) VALUES (?,?,?,?,?,?,?,'backfill')",
        versions,
    )
    conn.executemany(
        "INSERT INTO media_files(sha256, size, mime, path, stored_at) VALUES (?,?,?,?,?)", files
    )
    conn.executemany(
        "INSERT INTO media_refs(channel_id, message_id, version_no, role, kind, mime, size,"
        " state, sha256, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        refs,
    )
    conn.executemany(
        "INSERT INTO media_phash(sha256, algo, phash, b0, b1, b2, b3) VALUES (?,?,?,?,?,?,?)",
        hashes,
    )


def _plant(conn: sqlite3.Connection) -> None:
    """The photo (channel 0) and three re-posts of it (channels 1-3), an hour apart."""
    photo = picture(1)
    copies = [photo, repost(photo), repost(repost(photo)), repost(picture(1, quality=70))]
    base = 3_000_000
    for k, data in enumerate(copies):
        cid, mid, pid = 1600000000 + k, PLANTED + k, base + k
        date = _iso(NOW - timedelta(days=30) + timedelta(hours=k))
        text = f"planted {k}: the crater by the bridge" if k == 0 else f"other words {k}"
        sha = hashlib.sha256(data).hexdigest()
        h = phash.compute(data)
        assert h is not None
        conn.execute(
            "INSERT INTO posts(id, channel_id, message_id, date, text, version_id, version_count,"
            " first_seen, lang) VALUES (?,?,?,?,?,?,1,?,'en')",
            (pid, cid, mid, date, text, pid, date),
        )
        conn.execute(
            "INSERT INTO post_versions(id, channel_id, message_id, version_no, text,"
            " content_hash, captured_at, source) VALUES (?,?,?,1,?,?,?,'import')",
            (pid, cid, mid, text, hashlib.sha256(text.encode()).hexdigest(), date),
        )
        _flush(
            conn, [], [],
            [(sha, len(data), "image/jpeg", rel_path(sha, "image/jpeg"), date)],
            [(cid, mid, 1, "file", "photo", "image/jpeg", len(data), "stored", sha, date)],
            [(sha, phash.ALGO, phash.to_hex(h), *phash.bands(h))],
        )  # fmt: skip


def _linear(conn: sqlite3.Connection, cid: int, mid: int, d: int) -> set[tuple[int, int]]:
    """The alternative: every stored hash compared with the post's (phash.scan)."""
    found: set[tuple[int, int]] = set()
    for item in media_match.stored_media_of_post(conn, cid, mid):
        if item.phash is None:
            continue
        near = {n.sha256 for n in phash.scan(conn, item.phash, d)}
        found.update(
            (it.channel_id, it.message_id) for it in media_match.items_with_sha(conn, near)
        )
    found.discard((cid, mid))
    return found


def _pct(xs: list[float], q: float) -> float:
    return sorted(xs)[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def main() -> None:
    _check_vectorised()
    if not CACHE.exists():
        t0 = time.perf_counter()
        build_archive(CACHE)
        print(f"built {CACHE} in {time.perf_counter() - t0:.0f} s")
    conn = connect(CACHE)
    n_posts = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
    n_hashes = phash.count(conn)
    print(f"archive: {n_posts} posts, {n_hashes} perceptual hashes")
    rng = random.Random(3)
    starts = [
        (int(r[0]), int(r[1]))
        for r in conn.execute(
            "SELECT channel_id, message_id FROM media_refs WHERE state = 'stored'"
            " AND message_id < ? ORDER BY random() LIMIT ?",
            (PLANTED, QUERIES),
        )
    ]
    starts.append((1600000000, PLANTED))
    rng.shuffle(starts)
    for d in (phash.NEAR_DISTANCE, 16):
        fast_t, slow_t, hits = [], [], 0
        for cid, mid in starts:
            t = time.perf_counter()
            fast = media_spread(conn, [(cid, mid)], d)
            fast_t.append(time.perf_counter() - t)
            t = time.perf_counter()
            slow = _linear(conn, cid, mid, d)
            slow_t.append(time.perf_counter() - t)
            assert set(fast) == slow, f"index and scan disagree for {cid}/{mid}"
            hits += len(fast)
        print(
            f"distance ≤ {d}: {len(starts)} traces, {hits} matches in all;"
            f" band index p50 {1000 * statistics.median(fast_t):.1f} ms,"
            f" p95 {1000 * _pct(fast_t, 0.95):.1f} ms, max {1000 * max(fast_t):.1f} ms |"
            f" linear scan p50 {1000 * statistics.median(slow_t):.0f} ms,"
            f" p95 {1000 * _pct(slow_t, 0.95):.0f} ms"
            f" ({statistics.median(slow_t) / statistics.median(fast_t):.0f}× slower)"
        )
    # A fresh connection per trace, as one `telewatch trace` process has (SQLite's page
    # cache empty; the OS cache warm).
    cold = []
    for cid, mid in starts[:10]:
        c = connect(CACHE)
        t = time.perf_counter()
        media_spread(c, [(cid, mid)])
        cold.append(time.perf_counter() - t)
        c.close()
    print(
        f"fresh connection, distance ≤ 10: p50 {1000 * statistics.median(cold):.1f} ms,"
        f" max {1000 * max(cold):.1f} ms"
    )
    planted = media_spread(conn, [(1600000000, PLANTED)])
    print(
        "planted photo: re-posts found "
        + ", ".join(f"{k[0]}/{k[1]} at distance {v.distance}" for k, v in sorted(planted.items()))
    )
    assert {k[1] for k in planted} == {PLANTED + 1, PLANTED + 2, PLANTED + 3}
    # The whole trace (text copies in a ±1 h window, the CLI's smallest, plus
    # media), with and without media matching, from a fresh connection each.
    for label, d in (("with media", phash.NEAR_DISTANCE), ("text only (--no-media)", None)):
        times = []
        for _ in range(3):
            c = connect(CACHE)
            t = time.perf_counter()
            res = trace(c, 1600000000, PLANTED, window_hours=1, media_distance=d)
            times.append(time.perf_counter() - t)
            c.close()
        kinds = sorted(s.kind for s in res.spread[1:])
        print(f"trace {label}: median {1000 * statistics.median(times):.0f} ms; spread {kinds}")
    conn.close()


if __name__ == "__main__":
    main()
