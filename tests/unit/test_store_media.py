"""The media store (store/media.py): content-addressed files, references
bound to versions through the chain, verify and verify --media."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from telewatch.models import (
    Media,
    MediaLost,
    MediaProgress,
    MediaQueued,
    MediaStored,
    Post,
    PostSeen,
)
from telewatch.store import media
from telewatch.store.chain import records_of_post, verify
from telewatch.store.db import connect
from telewatch.store.writer import apply_events
from tests.fixtures.store import T0

CID = 1500000001
OTHER = 1500000002
PHOTO_A = b"\xff\xd8" + bytes(range(256)) * 40
PHOTO_B = b"\xff\xd8" + bytes(reversed(range(256))) * 50


def _seen(cid: int, mid: int, fuid: str, minutes: int = 0, text: str = "t") -> PostSeen:
    m = Media("photo", mime="image/jpeg", file_unique_id=fuid)
    return PostSeen(Post(cid, mid, T0, text, media=m), T0 + timedelta(minutes=minutes))


def _apply(path: Path, *events: object) -> None:
    conn = connect(path, readonly=False)
    conn.execute("BEGIN IMMEDIATE")
    st = apply_events(conn, list(events), [])  # type: ignore[arg-type]
    conn.execute("COMMIT")
    conn.close()
    assert st.errors == 0, st.reasons


def _stored(root: Path, data: bytes, cid: int, mid: int, fuid: str, **kw: object) -> MediaStored:
    f = media.store_chunks(root, [data[:1000], data[1000:]], "image/jpeg")
    return MediaStored(
        cid,
        mid,
        "file",
        f.sha256,
        f.size,
        T0,
        mime="image/jpeg",
        kind="photo",
        file_unique_id=fuid,
        **kw,
    )  # type: ignore[arg-type]


def test_same_bytes_are_stored_once_under_their_hash(tmp_path: Path) -> None:
    root = tmp_path / "media"
    a = media.store_chunks(root, [PHOTO_A], "image/jpeg")
    src = tmp_path / "copy.jpg"
    src.write_bytes(PHOTO_A)
    b = media.store_file(root, src, "image/jpeg")
    sha = hashlib.sha256(PHOTO_A).hexdigest()
    assert a == b
    assert a.rel == f"{sha[:2]}/{sha[2:4]}/{sha}.jpg"
    assert a.path.read_bytes() == PHOTO_A
    files = [p for p in root.rglob("*") if p.is_file()]
    assert files == [a.path]  # no temporary file left behind
    assert src.exists()  # copied, not moved


def test_a_hash_that_does_not_match_stores_nothing(tmp_path: Path) -> None:
    root = tmp_path / "media"
    with pytest.raises(ValueError, match="expected"):
        media.store_chunks(root, [PHOTO_A], "image/jpeg", expect_sha256="0" * 64)
    assert [p for p in root.rglob("*") if p.is_file()] == []


def test_a_partial_download_is_moved_in_without_a_copy(tmp_path: Path) -> None:
    root = tmp_path / "media"
    part = media.partial_path(root, CID, 5, 1, "file")
    part.parent.mkdir(parents=True)
    part.write_bytes(PHOTO_B)
    f = media.store_file(root, part, "image/jpeg", move=True)
    assert not part.exists()
    assert f.path.read_bytes() == PHOTO_B


def test_references_are_bound_to_versions_and_verify(archive: Path, tmp_path: Path) -> None:
    """Version 1's photo and version 2's photo are both kept, each reference
    chained with its version; the same bytes in another channel are one file;
    a post deleted before download is lost with its reason."""
    root = tmp_path / "media"
    _apply(
        archive,
        _seen(CID, 10, "photo:1"),
        MediaQueued(
            CID,
            10,
            "file",
            T0,
            kind="photo",
            mime="image/jpeg",
            size=len(PHOTO_A),
            file_unique_id="photo:1",
        ),
        _seen(CID, 10, "photo:2", minutes=5, text="edited"),
        MediaQueued(CID, 10, "file", T0, kind="photo", file_unique_id="photo:2"),
        _seen(OTHER, 3, "photo:1"),
        _seen(CID, 11, "photo:3"),
        MediaQueued(CID, 11, "file", T0, kind="photo", file_unique_id="photo:3"),
    )
    _apply(
        archive,
        _stored(root, PHOTO_A, CID, 10, "photo:1"),
        _stored(root, PHOTO_B, CID, 10, "photo:2"),
        _stored(root, PHOTO_A, OTHER, 3, "photo:1"),
        MediaProgress(CID, 11, 1, "file", attempts=2, resume_offset=4096, at=T0),
        MediaLost(CID, 11, "file", "deleted before download", T0, file_unique_id="photo:3"),
    )
    conn = connect(archive)
    refs = media.refs_of_post(conn, CID, 10)
    assert [(r.version_no, r.state) for r in refs] == [(1, "stored"), (2, "stored")]
    assert refs[0].sha256 == hashlib.sha256(PHOTO_A).hexdigest()
    assert refs[1].sha256 == hashlib.sha256(PHOTO_B).hexdigest()
    assert len(media.refs_with_sha(conn, refs[0].sha256 or "")) == 2
    assert conn.execute("SELECT count(*) FROM media_files").fetchone()[0] == 2
    lost = media.refs_of_post(conn, CID, 11)
    assert [(r.state, r.reason) for r in lost] == [("lost", "deleted before download")]
    st = media.status(conn)
    assert st.files == 2 and st.bytes_stored == len(PHOTO_A) + len(PHOTO_B)
    assert st.per_channel == {CID: len(PHOTO_A) + len(PHOTO_B), OTHER: len(PHOTO_A)}
    res = verify(conn)
    assert res.ok, res.problem
    assert res.media == 4
    kinds = [
        conn.execute("SELECT kind FROM chain WHERE seq=?", (s,)).fetchone()[0]
        for s in records_of_post(conn, CID, 10)
    ]
    assert kinds.count("media") == 2
    assert media.verify_files(conn, root).ok
    path = media.file_path(conn, root, refs[0].sha256 or "")
    assert path is not None and path.read_bytes() == PHOTO_A


def test_replaying_media_events_changes_nothing(archive: Path, tmp_path: Path) -> None:
    root = tmp_path / "media"
    events = [
        _seen(CID, 10, "photo:1"),
        _stored(root, PHOTO_A, CID, 10, "photo:1"),
        MediaLost(CID, 10, "file", "deleted before download", T0),
    ]
    _apply(archive, *events)
    conn = connect(archive)
    before = conn.execute("SELECT count(*) FROM chain").fetchone()[0]
    conn.close()
    _apply(archive, *events)
    conn = connect(archive)
    assert conn.execute("SELECT count(*) FROM chain").fetchone()[0] == before
    # stored stays stored: a later deletion does not lose the file
    assert media.refs_of_post(conn, CID, 10)[0].state == "stored"


def test_a_reference_cannot_change_its_bytes(archive: Path, tmp_path: Path) -> None:
    root = tmp_path / "media"
    _apply(archive, _seen(CID, 10, "photo:1"), _stored(root, PHOTO_A, CID, 10, "photo:1"))
    conn = connect(archive, readonly=False)
    conn.execute("BEGIN IMMEDIATE")
    st = apply_events(conn, [_stored(root, PHOTO_B, CID, 10, "photo:1")], [])
    conn.execute("COMMIT")
    assert st.errors == 1 and "already stored" in st.reasons[0]


def test_media_of_a_post_not_archived_is_refused(archive: Path) -> None:
    conn = connect(archive, readonly=False)
    conn.execute("BEGIN IMMEDIATE")
    st = apply_events(conn, [MediaQueued(CID, 99, "file", T0)], [])
    conn.execute("COMMIT")
    assert st.errors == 1 and "not archived" in st.reasons[0]


def _sql(*statements: str) -> Callable[[Path], None]:
    def edit(path: Path) -> None:
        raw = sqlite3.connect(path)
        for s in statements:
            raw.execute(s)
        raw.commit()
        raw.close()

    return edit


@pytest.mark.parametrize(
    ("edit", "expect"),
    [
        (
            _sql(
                "UPDATE media_refs SET sha256=(SELECT sha256 FROM media_files"
                f" WHERE size={len(PHOTO_B)}) WHERE version_no=1"
            ),
            "differs from its chained record",
        ),
        (
            _sql(
                "UPDATE media_refs SET version_no=2 WHERE version_no=1 AND role='file'"
                f" AND channel_id={CID} AND message_id=11"
            ),
            "belongs to no archived version",
        ),
        (_sql("DELETE FROM media_refs WHERE message_id=11"), "were removed"),
        (_sql("UPDATE media_files SET size=size+1"), "differ from the chained records"),
        (_sql("DELETE FROM chain WHERE kind='media'"), "not in the chain"),
        (
            _sql(
                "INSERT INTO media_refs(channel_id, message_id, version_no, role, state,"
                " sha256, size, updated_at) SELECT channel_id, message_id, version_no, 'thumb',"
                " 'stored', sha256, size, updated_at FROM media_refs LIMIT 1"
            ),
            "not in the chain",
        ),
        (_sql("UPDATE media_refs SET state='queued' WHERE message_id=10"), "chained record says"),
    ],
)
def test_direct_edits_of_media_rows_are_detected(
    archive: Path, tmp_path: Path, edit: Callable[[Path], None], expect: str
) -> None:
    root = tmp_path / "media"
    _apply(
        archive,
        _seen(CID, 10, "photo:1"),
        _seen(CID, 11, "photo:2"),
        _stored(root, PHOTO_A, CID, 10, "photo:1"),
        _stored(root, PHOTO_B, CID, 11, "photo:2"),
    )
    assert verify(connect(archive)).ok
    edit(archive)
    res = verify(connect(archive))
    assert not res.ok
    assert expect in (res.problem or "")


def test_verify_media_finds_a_replaced_or_missing_file(archive: Path, tmp_path: Path) -> None:
    root = tmp_path / "media"
    _apply(
        archive,
        _seen(CID, 10, "photo:1"),
        _seen(CID, 11, "photo:2"),
        _stored(root, PHOTO_A, CID, 10, "photo:1"),
        _stored(root, PHOTO_B, CID, 11, "photo:2"),
    )
    conn = connect(archive)
    a = media.file_path(conn, root, hashlib.sha256(PHOTO_A).hexdigest())
    b = media.file_path(conn, root, hashlib.sha256(PHOTO_B).hexdigest())
    assert a is not None and b is not None
    a.write_bytes(PHOTO_A[:-1] + b"\x00")
    os.remove(b)
    check = media.verify_files(conn, root)
    assert not check.ok and check.files == 2
    assert check.problems is not None
    assert any(str(a) in p and "was changed" in p for p in check.problems)
    assert any(str(b) in p and "missing" in p for p in check.problems)
    # the chain itself is intact: only the files changed
    assert verify(conn).ok


def test_the_same_bytes_under_another_mime_are_one_file(tmp_path: Path) -> None:
    """The second copy (another mime, so another extension) is the first file."""
    root = tmp_path / "media"
    a = media.store_chunks(root, [PHOTO_A], "image/jpeg")
    b = media.store_chunks(root, [PHOTO_A], "application/octet-stream")
    assert b == a
    assert [p for p in root.rglob("*") if p.is_file()] == [a.path]


def test_a_damaged_copy_of_the_same_size_is_replaced(tmp_path: Path) -> None:
    """A stored file whose bytes changed (same size) is not taken for the
    content: storing the content again puts the right bytes back."""
    root = tmp_path / "media"
    a = media.store_chunks(root, [PHOTO_A], "image/jpeg")
    a.path.write_bytes(bytes(len(PHOTO_A)))
    b = media.store_chunks(root, [PHOTO_A], "image/jpeg")
    assert b.path == a.path and b.path.read_bytes() == PHOTO_A
