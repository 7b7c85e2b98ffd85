"""Perceptual hashes of archived images, and the index that finds near ones.

A perceptual hash says what a picture *looks like*, not what its bytes are:
a photo re-encoded at another quality, rescaled or stripped of its metadata
has a different SHA-256 but a pHash a few bits away. ``trace`` and
``search --media`` use it to find re-uploads of the same picture in other
channels (docs/XREF.md, "Media").

**The hash.** ``imagehash.phash`` (hash size 8): the image in greyscale,
resized to 32×32, a 2-D DCT, the 8×8 lowest frequencies compared with their
median → 64 bits (algorithm name ``phash64``). Distance is the Hamming
distance (0–64). Measured on the generated test pictures: a re-encode at
quality 55 and 60 % scale stays within 0–2 bits; unrelated pictures are 16
or more apart (32 on average). ``NEAR_DISTANCE`` (10) is the default
threshold, the value commonly used for pHash.

**What is hashed.** Every stored image file: a photo's own file, and the
thumbnail Telegram ships with a video, animation or round video (Desktop
exports write it as ``thumbnail``, the API as the document's ``thumbs``; the
media store keeps it as the reference with role ``thumb``) — the frame the
channel's readers see before pressing play, and the one re-uploads keep.
Keyframes are not extracted (that needs a video decoder, ffmpeg, which
telewatch does not depend on). A hash belongs to the bytes, so it is keyed
by the file's SHA-256 (``media_files.sha256``); which post carries the file,
and in which role, is the media references' business (store/media.py).

**The index** (table ``media_phash``, one row per media file keyed by its
SHA-256): multi-index hashing. The 64 bits are split into four 16-bit bands
stored in indexed columns ``b0``…``b3``. Two hashes within distance ``d``
agree, by the pigeonhole principle, on some band within ``⌊d/4⌋`` bits; so
a query looks up, in each band, every value within that many bits of the
query's band (1 + 16 + 120 values per band for d ≤ 11) through the band's
index, and computes the true distance only for those candidates. On 200,000
images that is a few thousand index probes instead of 200,000 comparisons
(bench/trace_media.py, docs/PERFORMANCE.md).

**Evidence.** Each row is a chained record ``["phash", at, sha256, algo,
phash]`` written in the same transaction
(docs/EVIDENCE.md); ``verify`` checks every row against its record, and
``recompute`` re-derives a hash from the stored file.
"""

from __future__ import annotations

import io
import re
import sqlite3
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

from telewatch.store import chain

ALGO = "phash64"
BANDS = 4
BAND_BITS = 16
_BAND_MASK = (1 << BAND_BITS) - 1
NEAR_DISTANCE = 10
MAX_DISTANCE = 24  # beyond this pHash says nothing (unrelated pictures start at ~16)
# Pillow refuses larger images as decompression bombs; a hash needs 32×32.
MAX_PIXELS = 60_000_000
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class PerceptualHash:
    """The perceptual hash of one media file (``sha256``)."""

    sha256: str
    phash: int  # 64-bit unsigned
    algo: str = ALGO

    @property
    def hex(self) -> str:
        """The hash as 16 lowercase hex digits (as stored)."""
        return to_hex(self.phash)


@dataclass(frozen=True, slots=True)
class Neighbour:
    """A media file whose hash is ``distance`` bits from the query."""

    sha256: str
    phash: int
    distance: int


# --------------------------------------------------------------------------
# Computing
# --------------------------------------------------------------------------


def compute(data: bytes | Path) -> int | None:
    """The 64-bit pHash of an image (bytes or a file), or None when it is not
    an image Pillow can decode (truncated, unknown format, a video, larger
    than ``MAX_PIXELS``). Never raises for bad input: a bad file in an
    export or a download is counted, never fatal."""
    # Imported here: numpy/scipy/Pillow cost ~0.3 s, which every command
    # importing the store would otherwise pay.
    import imagehash
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            src: Any = io.BytesIO(data) if isinstance(data, bytes) else data
            with Image.open(src) as img:
                if img.width * img.height > MAX_PIXELS:
                    return None
                # JPEG: decode at a reduced scale (the hash needs 32×32), ~4× faster.
                img.draft("L", (128, 128))
                return int(str(imagehash.phash(img)), 16)
    except (OSError, ValueError, SyntaxError, UnidentifiedImageError, Image.DecompressionBombError):
        return None
    except Image.DecompressionBombWarning:
        return None


def distance(a: int, b: int) -> int:
    """Hamming distance of two 64-bit hashes."""
    return (a ^ b).bit_count()


def to_hex(h: int) -> str:
    """16 lowercase hex digits."""
    return f"{h & 0xFFFFFFFFFFFFFFFF:016x}"


def from_hex(text: str) -> int:
    """The hash from its hex form; ValueError when it is not 16 hex digits."""
    if len(text) != 16:
        raise ValueError(f"a {ALGO} hash has 16 hex digits, not {text!r}")
    return int(text, 16)


def bands(h: int) -> tuple[int, ...]:
    """The four 16-bit bands of ``h``, lowest bits first."""
    return tuple((h >> (BAND_BITS * i)) & _BAND_MASK for i in range(BANDS))


def _variants(value: int, radius: int) -> list[int]:
    """Every 16-bit value within ``radius`` bits of ``value``."""
    out = [value]
    for r in range(1, radius + 1):
        for bits in combinations(range(BAND_BITS), r):
            v = value
            for b in bits:
                v ^= 1 << b
            out.append(v)
    return out


def band_radius(max_distance: int) -> int:
    """Bits a band may differ by so that every hash within ``max_distance``
    agrees with the query within that radius on at least one band."""
    return max_distance // BANDS


# --------------------------------------------------------------------------
# Storing (inside the caller's transaction)
# --------------------------------------------------------------------------


def record(
    conn: sqlite3.Connection, h: PerceptualHash, appender: chain.Appender | None = None
) -> bool:
    """Store ``h`` and chain its record, inside the caller's transaction.
    A file already hashed is left as it is (the hash of the same bytes never
    changes): returns whether a row was written. ``appender``: chain through
    the caller's appender (then the caller flushes it). ValueError for a
    sha256 that is not 64 lowercase hex digits or a hash outside 64 bits."""
    if not _SHA256.fullmatch(h.sha256 or ""):
        raise ValueError(f"not a sha256 (64 lowercase hex digits): {h.sha256!r}")
    if not isinstance(h.phash, int) or not 0 <= h.phash < 1 << 64 or h.algo != ALGO:
        raise ValueError(f"not a {ALGO} hash: {h.phash!r} ({h.algo!r})")
    b = bands(h.phash)
    cur = conn.execute(
        "INSERT INTO media_phash(sha256, algo, phash, b0, b1, b2, b3)"
        " VALUES (?,?,?,?,?,?,?) ON CONFLICT(sha256) DO NOTHING",
        (h.sha256, h.algo, h.hex, *b),
    )
    if cur.rowcount != 1:
        return False
    fields = [h.sha256, h.algo, h.hex]
    if appender is None:
        chain.append(conn, "phash", cur.lastrowid, fields)
    else:
        appender.add("phash", cur.lastrowid, fields)
    return True


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------


def get(conn: sqlite3.Connection, sha256: str) -> PerceptualHash | None:
    """The stored hash of one media file, or None."""
    row = conn.execute(
        "SELECT sha256, phash, algo FROM media_phash WHERE sha256 = ?", (sha256,)
    ).fetchone()
    if row is None:
        return None
    return PerceptualHash(str(row[0]), from_hex(str(row[1])), str(row[2]))


def get_many(conn: sqlite3.Connection, shas: Iterable[str]) -> dict[str, PerceptualHash]:
    """Stored hashes of the given media files (those that have one)."""
    out: dict[str, PerceptualHash] = {}
    for sha in dict.fromkeys(shas):
        h = get(conn, sha)
        if h is not None:
            out[sha] = h
    return out


def count(conn: sqlite3.Connection) -> int:
    """Media files with a perceptual hash."""
    return int(conn.execute("SELECT count(*) FROM media_phash").fetchone()[0])


def neighbours(
    conn: sqlite3.Connection, h: int, max_distance: int = NEAR_DISTANCE, *, limit: int = 1000
) -> list[Neighbour]:
    """Every hashed media file within ``max_distance`` bits of ``h`` (the
    file with hash ``h`` itself included, distance 0), nearest first, at most
    ``limit``. Uses the band indexes (multi-index hashing); the answer is
    exactly the linear scan's (``scan``). ValueError for a distance outside
    0..MAX_DISTANCE."""
    if not 0 <= max_distance <= MAX_DISTANCE:
        raise ValueError(f"distance must be 0..{MAX_DISTANCE} bits, not {max_distance}")
    radius = band_radius(max_distance)
    found: dict[str, Neighbour] = {}
    for i, value in enumerate(bands(h)):
        probes = _variants(value, radius)
        # One statement per band: the band's index answers each IN value.
        for start in range(0, len(probes), 500):
            chunk = probes[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for sha, ph in conn.execute(
                f"SELECT sha256, phash FROM media_phash WHERE b{i} IN ({marks})", chunk
            ):
                if sha in found:
                    continue
                v = from_hex(ph)
                d = distance(h, v)
                if d <= max_distance:
                    found[sha] = Neighbour(sha, v, d)
    return sorted(found.values(), key=lambda n: (n.distance, n.sha256))[:limit]


def scan(
    conn: sqlite3.Connection, h: int, max_distance: int = NEAR_DISTANCE, *, limit: int = 1000
) -> list[Neighbour]:
    """The same answer as ``neighbours`` by reading every row (the baseline
    the benchmark compares with, and a cross-check in the tests)."""
    found = []
    for sha, ph in conn.execute("SELECT sha256, phash FROM media_phash"):
        v = from_hex(ph)
        d = distance(h, v)
        if d <= max_distance:
            found.append(Neighbour(sha, v, d))
    return sorted(found, key=lambda n: (n.distance, n.sha256))[:limit]


# --------------------------------------------------------------------------
# verify
# --------------------------------------------------------------------------


def check_rows(conn: sqlite3.Connection, chained: Mapping[int, Sequence[Any]]) -> str | None:
    """The media_phash rows are exactly the chained ``phash`` records
    (``chained``: ref_id → record) and their band columns match their hash.
    Returns the first problem in words, or None."""
    n = 0
    for row in conn.execute("SELECT id, sha256, algo, phash, b0, b1, b2, b3 FROM media_phash"):
        rec = chained.get(row[0])
        if rec is None or tuple(row[1:4]) != tuple(rec[2:5]):
            return (
                f"media_phash row {row[0]} ({row[1]}) is not as chained"
                " (added or changed outside telewatch)"
            )
        try:
            expected = bands(from_hex(str(row[3])))
        except ValueError:
            return f"media_phash row {row[0]} holds a malformed hash {row[3]!r}"
        if tuple(row[4:8]) != expected:
            return f"media_phash row {row[0]}: its band columns do not match its hash"
        n += 1
    if n != len(chained):
        return f"{len(chained) - n} chained perceptual hash(es) were removed"
    return None


def recompute(path: Path) -> int | None:
    """The hash of a stored file, recomputed (``verify --media``)."""
    return compute(path)
