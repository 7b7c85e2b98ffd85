"""Importing Telegram Desktop export folders with media: files stored once by
SHA-256, placeholders recorded, perceptual hashes chained, hostile paths refused."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path

import pytest

from telewatch.models import UserError
from telewatch.sources.desktop_export import import_paths
from telewatch.store import media, phash
from telewatch.store.chain import chain_head, verify
from telewatch.store.db import connect
from tests.fixtures.media import (
    ALPHA_ID,
    BETA_ID,
    PLACEHOLDER,
    PLACEHOLDER_SIZE,
    ExportFolder,
    MediaExports,
    picture,
    sha256,
)


def _dump(db: Path) -> list[object]:
    """Everything media-related the archive holds, and the chain head."""
    conn = connect(db)
    try:
        return [
            chain_head(conn),
            [tuple(r) for r in conn.execute("SELECT * FROM media_files ORDER BY sha256")],
            [tuple(r) for r in conn.execute("SELECT * FROM media_refs ORDER BY id")],
            [tuple(r) for r in conn.execute("SELECT * FROM media_phash ORDER BY id")],
            [tuple(r) for r in conn.execute("SELECT * FROM post_versions ORDER BY id")],
        ]
    finally:
        conn.close()


def _tree(root: Path) -> dict[str, str]:
    """Relative path → sha256 of every file under ``root``."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_import_stores_each_file_once_and_records_placeholders(
    tmp_path: Path, media_exports: MediaExports
) -> None:
    """Photos, the video, its thumbnail and the PDF are stored by SHA-256; the
    video both channels carry is one file; a photo left out of the export is
    recorded as not included; images get a chained perceptual hash."""
    db = tmp_path / "a.db"
    ex = media_exports
    summary = import_paths(db, [ex.alpha, ex.beta])
    alpha, beta = summary.files
    assert alpha.media is not None and beta.media is not None
    assert (alpha.media.stored, alpha.media.copied, alpha.media.not_in_export) == (4, 4, 1)
    # beta: the copy, the unrelated photo, the video and its thumbnail; the
    # video and thumbnail bytes are alpha's, already stored: not copied again.
    assert (beta.media.stored, beta.media.copied) == (4, 2)
    conn = connect(db)
    root = media.default_root(db)
    for data in (ex.photo, ex.copy, ex.video, ex.thumb, ex.pdf, ex.other):
        path = media.file_path(conn, root, sha256(data))
        assert path is not None and path.read_bytes() == data
        assert path.name.startswith(sha256(data)) and path.parent.name == sha256(data)[2:4]
    assert conn.execute("SELECT count(*) FROM media_files").fetchone()[0] == 6
    video_refs = media.refs_with_sha(conn, sha256(ex.video))
    assert {(r.channel_id, r.message_id) for r in video_refs} == {(ALPHA_ID, 2), (BETA_ID, 21)}
    assert {r.kind for r in video_refs} == {"video"}
    thumbs = [r for r in media.refs_of_post(conn, ALPHA_ID, 2) if r.role == "thumb"]
    assert [t.sha256 for t in thumbs] == [sha256(ex.thumb)]
    (skipped,) = media.refs_of_post(conn, ALPHA_ID, 4)
    assert (skipped.state, skipped.reason, skipped.sha256) == (
        "not_in_export", "not included in export", None,
    )  # fmt: skip
    assert media.refs_of_post(conn, ALPHA_ID, 5) == []
    hashed = {sha256(d) for d in (ex.photo, ex.copy, ex.thumb, ex.other)}
    assert {r[0] for r in conn.execute("SELECT sha256 FROM media_phash")} == hashed
    got = phash.get(conn, sha256(ex.photo))
    assert got is not None and got.phash == phash.compute(ex.photo)
    res = verify(conn)
    assert res.ok and res.phashes == 4 and res.media == 9, res.problem
    assert media.verify_files(conn, root).ok
    conn.close()


def test_reimport_changes_nothing(tmp_path: Path, media_exports: MediaExports) -> None:
    """Importing the same export folders again writes no row, no record and no file."""
    db = tmp_path / "a.db"
    paths = [media_exports.alpha, media_exports.beta]
    import_paths(db, paths)
    before, files = _dump(db), _tree(media.default_root(db))
    again = import_paths(db, paths)
    assert all(f.media is not None and f.media.copied == 0 for f in again.files)
    assert again.new_versions == 0
    assert _dump(db) == before
    assert _tree(media.default_root(db)) == files


def test_edit_that_changes_the_photo_keeps_both(tmp_path: Path) -> None:
    """A later export where the post's photo was replaced adds a version
    with the new file; version 1 keeps its own."""
    db = tmp_path / "a.db"
    first, second = picture(11), picture(12)
    e1 = ExportFolder(tmp_path / "e1" / "channels" / "gamma_news", 1800000009, "Gamma")
    e1.photo(7, first, "Strike on the depot")
    import_paths(db, [e1.write()])
    e2 = ExportFolder(tmp_path / "e2" / "channels" / "gamma_news", 1800000009, "Gamma")
    msg = e2.photo(7, second, "Strike on the depot (photo updated)")
    msg["edited_unixtime"] = str(int(msg["date_unixtime"]) + 600)
    import_paths(db, [e2.write()])
    conn = connect(db)
    refs = [(r.version_no, r.sha256) for r in media.refs_of_post(conn, 1800000009, 7)]
    assert refs == [(1, sha256(first)), (2, sha256(second))]
    assert verify(conn).ok
    conn.close()


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("../../etc/passwd", "climbs out of the export folder"),
        ("photos/../../outside.jpg", "climbs out of the export folder"),
        ("/etc/passwd", "is absolute"),
        ("C:\\Windows\\win.ini", "is absolute"),
        ("photos/link.jpg", "leads outside the export folder"),
        ("photos", "is not a regular file"),
    ],
)
def test_paths_leading_out_of_the_export_are_refused(
    tmp_path: Path, media_exports: MediaExports, path: str, words: str
) -> None:
    """A media path outside the export folder (``..``, absolute, a symlink
    out, a directory) is a one-line error; nothing of that export is stored."""
    db = tmp_path / "a.db"
    import_paths(db, [media_exports.alpha])
    before, files = _dump(db), _tree(media.default_root(db))
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(picture(40))
    folder = ExportFolder(tmp_path / "evil" / "channels" / "evil_channel", 1800000066, "Evil")
    folder.photo(1, picture(41), "a fine photo first")
    msg = folder.photo(2, picture(42), "then a bad path")
    (folder.root / "photos").mkdir(parents=True, exist_ok=True)
    os.symlink(outside, folder.root / "photos" / "link.jpg")
    msg["photo"] = path
    with pytest.raises(UserError) as err:
        import_paths(db, [folder.write()])
    text = str(err.value)
    assert words in text and "message 2" in text and "\n" not in text
    assert _dump(db) == before
    assert _tree(media.default_root(db)) == files


def test_missing_files_and_other_skip_reasons_are_recorded(tmp_path: Path) -> None:
    """result.json copied without its folders: each file is recorded as
    missing from the export; an over-size placeholder keeps its own reason."""
    db = tmp_path / "a.db"
    folder = ExportFolder(tmp_path / "x" / "channels" / "delta_feed", 1800000011, "Delta")
    folder.photo(1, picture(21), "photo")
    folder.video(2, PLACEHOLDER_SIZE, PLACEHOLDER, "too big to export")
    path = folder.write()
    for sub in ("photos",):
        for f in (folder.root / sub).iterdir():
            f.unlink()
    import_paths(db, [path])
    conn = connect(db)
    states = {
        (r.message_id, r.role): (r.state, r.reason)
        for r in media.refs_of_post(conn, 1800000011, 1) + media.refs_of_post(conn, 1800000011, 2)
    }
    assert states == {
        (1, "file"): ("not_in_export", "missing from the export folder"),
        (2, "file"): ("not_in_export", "over the export's size limit"),
        (2, "thumb"): ("not_in_export", "not included in export"),
    }
    assert verify(conn).ok
    conn.close()


def test_dev_exports_record_their_placeholders(tmp_path: Path, xref_dev: Path) -> None:
    """The development exports (made without media) import with every
    placeholder recorded as not included, and verify."""
    db = tmp_path / "a.db"
    import_paths(db, sorted(xref_dev.glob("channels/*/result.json")))
    conn = connect(db)
    rows = conn.execute("SELECT state, reason, count(*) FROM media_refs GROUP BY 1, 2").fetchall()
    assert [tuple(r) for r in rows] == [("not_in_export", "not included in export", 30)]
    assert verify(conn).ok
    conn.close()


def test_import_cli_reports_media(tmp_path: Path, media_exports: MediaExports) -> None:
    """`telewatch import --json` tells what the media did, per file."""
    from click.testing import CliRunner

    from telewatch.cli import main

    db = tmp_path / "a.db"
    res = CliRunner().invoke(main, ["--db", str(db), "import", "--json", str(media_exports.alpha)])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["files"][0]["media"]["stored"] == 4
    assert doc["files"][0]["media"]["not_in_export"] == 1
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT count(*) FROM media_files").fetchone()[0] == 4
