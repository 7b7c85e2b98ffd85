"""Channel photo files in the store (store/photo_files.py): written once per
photo row through the writer, chained, shown, checked by verify (rows and
records) and by verify_files (the bytes on disk)."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from telewatch.models import Channel, ChannelPhoto, ChannelPhotoStored, ChannelSeen, Event
from telewatch.store import media, photo_files
from telewatch.store.chain import verify
from telewatch.store.db import connect, migrate
from telewatch.store.writer import apply_events
from tests.fixtures.store import T0

CID = 1500000091


def _write(path: Path, evs: list[Event]) -> int:
    conn = connect(path, readonly=False)
    try:
        conn.execute("BEGIN IMMEDIATE")
        stats = apply_events(conn, evs, [])
        conn.execute("COMMIT")
        return stats.errors
    finally:
        conn.close()


def _seen(photo_id: int | None, minutes: int) -> ChannelSeen:
    return ChannelSeen(
        Channel(CID, "Bridges", "bridges", photo=ChannelPhoto(photo_id, 2, "cd" * 32)),
        T0 + timedelta(minutes=minutes),
    )


@pytest.fixture
def archive(tmp_path: Path) -> tuple[Path, Path, list[media.StoredFile]]:
    path = tmp_path / "a.db"
    migrate(path)
    root = media.default_root(path)
    files = [media.store_chunks(root, [b"\xff\xd8photo-", bytes([i]) * 50], "image/jpeg")
             for i in range(2)]  # fmt: skip
    errors = _write(
        path,
        [
            _seen(71, 0),
            ChannelPhotoStored(CID, 71, files[0].sha256, files[0].size, T0 + timedelta(minutes=1)),
            _seen(72, 2),
            _seen(73, 3),  # 72 was replaced before it was downloaded
            ChannelPhotoStored(CID, 73, files[1].sha256, files[1].size, T0 + timedelta(minutes=4)),
        ],
    )
    assert errors == 0
    return path, root, files


def test_stored_once_chained_and_shown(archive: tuple[Path, Path, list[media.StoredFile]]) -> None:
    path, root, files = archive
    # The same file again changes nothing; other bytes for it are one counted error.
    again = ChannelPhotoStored(CID, 73, files[1].sha256, files[1].size, T0 + timedelta(minutes=9))
    other = ChannelPhotoStored(CID, 73, files[0].sha256, files[0].size, T0 + timedelta(minutes=9))
    unknown = ChannelPhotoStored(CID, 99, files[0].sha256, files[0].size, T0)
    assert _write(path, [again]) == 0
    assert _write(path, [other, unknown]) == 2
    conn = connect(path, readonly=False)
    try:
        shown = photo_files.of_channel(conn, CID)
        assert [(f.photo_id, f.sha256, f.size) for f in shown] == [
            (71, files[0].sha256, files[0].size),
            (73, files[1].sha256, files[1].size),
        ]
        assert all(f.path == files[i].rel for i, f in enumerate(shown))
        assert photo_files.wanted(conn) == []
        res = verify(conn)
        assert res.ok, res.problem
        assert (
            conn.execute("SELECT count(*) FROM chain WHERE kind = 'channel_photo_file'").fetchone()[
                0
            ]
            == 2
        )
        check = media.verify_files(conn, root)
        assert check.ok and check.files == 2
    finally:
        conn.close()


def test_newest_photo_without_file_is_wanted(tmp_path: Path) -> None:
    path = tmp_path / "b.db"
    migrate(path)
    assert _write(path, [_seen(81, 0), _seen(82, 1)]) == 0
    conn = connect(path, readonly=False)
    try:
        assert [(w.channel_id, w.photo_id) for w in photo_files.wanted(conn)] == [(CID, 82)]
    finally:
        conn.close()
    assert _write(path, [_seen(None, 2)]) == 0  # removed: nothing to download
    conn = connect(path, readonly=False)
    try:
        assert photo_files.wanted(conn) == []
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("sql", "needle"),
    [
        (
            "UPDATE channel_photo_files SET size = size + 1 WHERE photo_id = 71",
            "channel_photo_files",
        ),
        ("DELETE FROM channel_photo_files WHERE photo_id = 73", "channel_photo_files"),
        (
            "INSERT INTO channel_photo_files(photo_row, channel_id, photo_id, sha256, size, mime,"
            " path, stored_at) SELECT id, channel_id, photo_id, 'ab', 1, NULL, 'x', 'y'"
            " FROM channel_photos WHERE photo_id = 72",
            "channel_photo_files",
        ),
        (
            "UPDATE chain SET record = replace(record, ',71,', ',72,')"
            " WHERE kind = 'channel_photo_file'",
            "record does not match",
        ),
    ],
)
def test_tampering_is_detected(
    archive: tuple[Path, Path, list[media.StoredFile]], sql: str, needle: str
) -> None:
    path = archive[0]
    raw = sqlite3.connect(path)
    raw.execute(sql)
    raw.commit()
    raw.close()
    res = verify(connect(path))
    assert not res.ok and res.problem is not None and needle in res.problem, res.problem


def test_a_replaced_or_missing_file_is_found(
    archive: tuple[Path, Path, list[media.StoredFile]],
) -> None:
    path, root, files = archive
    files[0].path.write_bytes(b"\xff\xd8something else")
    files[1].path.unlink()
    conn = connect(path, readonly=False)
    try:
        check = media.verify_files(conn, root)
    finally:
        conn.close()
    assert check.problems is not None and len(check.problems) == 2
    assert any("was changed" in p and files[0].sha256 in p for p in check.problems)
    assert any("missing" in p and files[1].sha256 in p for p in check.problems)
