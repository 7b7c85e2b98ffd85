"""`telewatch phash`: perceptual hashes for stored images that have none."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from telewatch.cli import main
from telewatch.models import MediaStored
from telewatch.store import media, phash
from telewatch.store.chain import verify
from telewatch.store.db import connect
from telewatch.store.writer import apply_events
from tests.fixtures.media import picture, sha256
from tests.fixtures.store import post_seen


def test_phash_hashes_stored_images_once(archive: Path, tmp_path: Path) -> None:
    """Two images stored without a hash (as a download path that does not
    hash would leave them) and a broken JPEG: the command hashes the two,
    counts the broken one, chains the hashes (verify ok); a second run does nothing."""
    root = media.default_root(archive)
    files = {1: picture(51), 2: picture(52), 3: b"\xff\xd8\xff\xe0 not really a jpeg"}
    conn = connect(archive, readonly=False)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    events: list[object] = []
    for mid, data in files.items():
        src = tmp_path / f"{mid}.jpg"
        src.write_bytes(data)
        stored = media.store_file(root, src, "image/jpeg")
        events += [
            post_seen(1700000001, mid, f"post {mid}"),
            MediaStored(1700000001, mid, "file", stored.sha256, stored.size, now,
                        mime="image/jpeg", kind="photo"),
        ]  # fmt: skip
    conn.execute("BEGIN IMMEDIATE")
    assert not apply_events(conn, events, ()).errors  # type: ignore[arg-type]
    conn.execute("COMMIT")
    conn.close()
    run = CliRunner()
    r = run.invoke(main, ["--db", str(archive), "phash"])
    assert r.exit_code == 0, r.output
    assert "hashed 2 stored images" in r.output and "1 not decodable" in r.output
    conn = connect(archive)
    for mid in (1, 2):
        got = phash.get(conn, sha256(files[mid]))
        assert got is not None and got.phash == phash.compute(files[mid])
    assert phash.get(conn, sha256(files[3])) is None
    res = verify(conn)
    assert res.ok and res.phashes == 2, res.problem
    conn.close()
    again = run.invoke(main, ["--db", str(archive), "phash"])
    assert again.exit_code == 0 and "hashed 0 stored images" in again.output
