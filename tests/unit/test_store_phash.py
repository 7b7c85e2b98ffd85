"""Perceptual hashes (store/phash.py): the hash, the band index and its chain records."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telewatch.store import chain, phash
from telewatch.store.db import connect
from tests.fixtures.media import picture, reencode, sha256


def test_reencoded_copy_is_near_and_other_pictures_are_far() -> None:
    """A rescaled, recompressed copy stays within NEAR_DISTANCE; unrelated pictures do not."""
    hashes = {}
    for seed in range(1, 13):
        original = picture(seed)
        a = phash.compute(original)
        b = phash.compute(reencode(original, scale=0.5, quality=40))
        c = phash.compute(reencode(original, scale=1.3, quality=70, fmt="PNG"))
        assert a is not None and b is not None and c is not None
        assert phash.distance(a, b) <= 4 and phash.distance(a, c) <= 4
        hashes[seed] = a
    for x in hashes:
        for y in hashes:
            if x < y:
                assert phash.distance(hashes[x], hashes[y]) > phash.NEAR_DISTANCE


def test_compute_refuses_what_is_not_an_image(tmp_path: Path) -> None:
    """Garbage, a truncated JPEG and an empty file give None, never an exception."""
    jpeg = picture(7)
    assert phash.compute(b"\x00\x00\x00\x18ftypmp42" + bytes(500)) is None
    assert phash.compute(jpeg[:200]) is None
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    assert phash.compute(empty) is None
    f = tmp_path / "p.jpg"
    f.write_bytes(jpeg)
    assert phash.compute(f) == phash.compute(jpeg)


def test_compute_refuses_a_decompression_bomb(tmp_path: Path) -> None:
    """An image declaring more than MAX_PIXELS is not decoded."""
    from PIL import Image

    big = tmp_path / "bomb.png"
    Image.new("1", (9000, 9000)).save(big)  # 81 Mpx, a few KB on disk
    assert big.stat().st_size < 200_000
    assert phash.compute(big) is None


def _fill(conn: sqlite3.Connection, hashes: list[int]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    for i, h in enumerate(hashes):
        phash.record(conn, phash.PerceptualHash(f"{i:064x}", h))
    conn.execute("COMMIT")


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    d=st.integers(0, 16),
    flips=st.lists(st.integers(0, 63), max_size=20),
)
def test_band_index_answers_exactly_as_a_linear_scan(
    seed: int, d: int, flips: list[int], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """neighbours() (band index) returns exactly what scan() (every row) does."""
    from telewatch.store.db import migrate

    db = tmp_path_factory.mktemp("ph") / "a.db"
    migrate(db)
    r = random.Random(seed)
    query = r.getrandbits(64)
    near = query
    for b in flips:
        near ^= 1 << b
    population = [r.getrandbits(64) for _ in range(300)] + [near, query]
    # Hashes a few bits from the query, spread over every band.
    population += [query ^ (1 << r.randrange(64)) ^ (1 << r.randrange(64)) for _ in range(30)]
    conn = connect(db, readonly=False)
    _fill(conn, population)
    fast = phash.neighbours(conn, query, d)
    slow = phash.scan(conn, query, d)
    assert fast == slow
    assert any(n.phash == query and n.distance == 0 for n in fast)
    conn.close()


def test_record_is_chained_once_and_verify_sees_tampering(archive: Path) -> None:
    """A hash is stored and chained once per file; a changed hash fails verify."""
    conn = connect(archive, readonly=False)
    h = phash.compute(picture(5))
    assert h is not None
    item = phash.PerceptualHash(sha256(b"file"), h)
    conn.execute("BEGIN IMMEDIATE")
    assert phash.record(conn, item)
    assert not phash.record(conn, item)
    conn.execute("COMMIT")
    assert phash.get(conn, item.sha256) == item
    res = chain.verify(conn)
    assert res.ok and res.phashes == 1, res.problem
    conn.execute("UPDATE media_phash SET phash = ?", (phash.to_hex(h ^ 1),))
    res = chain.verify(conn)
    assert not res.ok and "media_phash row 1" in (res.problem or "")
    conn.execute("UPDATE media_phash SET phash = ?, b0 = b0 + 1", (item.hex,))
    res = chain.verify(conn)
    assert not res.ok and "band columns" in (res.problem or "")
    conn.execute("DELETE FROM media_phash")
    res = chain.verify(conn)
    assert not res.ok and "removed" in (res.problem or "")
    conn.close()


def test_distance_outside_range_is_refused(archive: Path) -> None:
    """A distance beyond MAX_DISTANCE is a ValueError naming the range."""
    conn = connect(archive)
    with pytest.raises(ValueError, match=r"0\.\.24"):
        phash.neighbours(conn, 0, 40)
    conn.close()


def test_writer_counts_a_bad_hash_event_and_keeps_the_rest(archive: Path) -> None:
    """MediaHashed with a malformed sha256 or a hash over 64 bits is one
    counted error; the good event of the same batch is written and chained."""
    from telewatch.models import MediaHashed
    from telewatch.store.writer import apply_events

    good = sha256(b"good")
    conn = connect(archive, readonly=False)
    conn.execute("BEGIN IMMEDIATE")
    st = apply_events(
        conn, [MediaHashed("not-a-sha", 5), MediaHashed(good, 1 << 64), MediaHashed(good, 7)], ()
    )
    conn.execute("COMMIT")
    assert st.errors == 2
    got = phash.get(conn, good)
    assert got is not None and got.phash == 7
    assert chain.verify(conn).ok
    conn.close()
