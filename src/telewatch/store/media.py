"""The media archive: a content-addressed file store and the archive's
media references (docs/SCHEMA.md, "Media"; docs/EVIDENCE.md, ``media``).

Files live under the *media root* — ``media/`` beside the archive unless
``[media] root`` says otherwise (``default_root``) — named by the SHA-256 of
their bytes: ``<root>/ab/cd/abcd….jpg``. A file is written to a temporary
name inside the root (same file system), fsynced, its hash checked, and only
then renamed into place, so a crash never leaves a half file under a stored
name. The same bytes are stored once, whatever posts refer to them.

Every (post, version, media) reference is a ``media_refs`` row: the file
(role ``file``) or its preview (role ``thumb``) of one version's media, with
its state (queued, stored, lost, skipped, not_in_export). A stored, lost or
not-in-export reference is a ``media`` record in the evidence chain that
names the version it belongs to and the file's sha256, size and mime, so
``verify`` detects a changed reference, and ``verify --media``
(``verify_files``) detects a file replaced or removed on disk.

How another part of telewatch stores media (the Desktop-export importer,
``telewatch media fetch``, the daemon's downloader):

1. put the bytes in the store with ``store_file(root, path, mime)`` (an
   existing file: copied, or moved with ``move=True``) or
   ``store_chunks(root, chunks, mime)`` (a stream); both return a
   ``StoredFile`` (sha256, size, path);
2. emit ``models.MediaStored`` for the version the media belongs to (its
   ``version_no``, or ``None`` for the newest version whose media has that
   ``file_unique_id``) through the store's writer
   (``store.writer.apply_events`` / ``Writer.put``), in the same batch as the
   ``PostSeen`` it belongs to or after it. A file Telegram Desktop did not
   export is ``MediaQueued(state="not_in_export", reason=...)``; a file that
   can no longer be had, ``MediaLost(reason=...)``.

Never write ``media_refs``/``media_files`` rows directly: the writer chains
them. Readers: ``refs_of_post``, ``refs_of_version``, ``refs_with_sha``,
``file_path``, ``status``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from telewatch.models import MediaLost, MediaProgress, MediaQueued, MediaStored, UserError
from telewatch.store import chain
from telewatch.store.db import iso
from telewatch.store.posts import positive_id

MediaRole = Literal["file", "thumb"]
MediaState = Literal["queued", "stored", "lost", "skipped", "not_in_export"]
ROLES = ("file", "thumb")
STATES = ("queued", "stored", "lost", "skipped", "not_in_export")
# States that are facts (chained); queued and skipped are the queue's own.
CHAINED_STATES = ("stored", "lost", "not_in_export")
CHUNK = 1 << 20  # bytes read at a time when hashing or copying
TMP_DIR = ".tmp"
PARTIAL_DIR = ".partial"
MEDIA_RECORD_LEN = 14  # ["media", at, ...12 fields]

# File name extensions by mime type: a fixed table (mimetypes depends on the
# machine, and a file's name must not).
_EXT = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/heic": "heic",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
    "video/x-matroska": "mkv",
    "audio/mpeg": "mp3",
    "audio/ogg": "ogg",
    "audio/mp4": "m4a",
    "audio/x-wav": "wav",
    "application/pdf": "pdf",
    "application/zip": "zip",
    "application/x-tgsticker": "tgs",
    "text/plain": "txt",
}


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file in the store: its sha256 (hex), size in bytes, absolute path
    and path relative to the media root (as in ``media_files.path``)."""

    sha256: str
    size: int
    path: Path
    rel: str


@dataclass(frozen=True, slots=True)
class MediaRef:
    """One ``media_refs`` row, with the stored file's relative path when stored."""

    id: int
    channel_id: int
    message_id: int
    version_no: int
    role: str
    kind: str | None
    mime: str | None
    size: int | None
    file_id: str | None
    file_unique_id: str | None
    state: str
    reason: str | None
    sha256: str | None
    attempts: int
    next_try: str | None
    resume_offset: int
    last_error: str | None
    updated_at: str
    path: str | None


# --------------------------------------------------------------------------
# The file store
# --------------------------------------------------------------------------


def default_root(db_path: Path, configured: Path | None = None) -> Path:
    """The media root of an archive: ``configured`` (``[media] root``) when
    set, else ``media/`` beside the archive file. A PostgreSQL archive has
    no file to put it beside, and daemons on several machines must not each
    fill a folder of their own: there it must be configured (raises
    UserError naming ``[media] root`` when it is not)."""
    root = optional_root(db_path, configured)
    if root is None:
        raise UserError(NO_ROOT)
    return root


def optional_root(db_path: Path, configured: Path | None = None) -> Path | None:
    """``default_root``, or None for a PostgreSQL archive without ``[media]
    root`` (readers that only show a file's place use this)."""
    if configured is not None:
        return Path(configured)
    if _is_pg(db_path):
        return None
    return Path(db_path).resolve().parent / "media"


NO_ROOT = (
    "a PostgreSQL archive has no folder beside it for media files: set [media] root"
    " (or TELEWATCH_MEDIA__ROOT) to the one folder every daemon and reader of it"
    " shares (e.g. a network mount), or [media] enabled = false"
)
"""The one line a command needing the media store of a PostgreSQL archive
without ``[media] root`` fails with."""


def _is_pg(db_path: Path | str) -> bool:
    # store.db.pg_address's test, without importing store.db's connection code.
    return str(db_path).startswith(("postgresql:", "postgres:"))


def extension(mime: str | None) -> str:
    """The file name extension for ``mime`` (``bin`` when unknown)."""
    return _EXT.get((mime or "").split(";")[0].strip().lower(), "bin")


def rel_path(sha256: str, mime: str | None) -> str:
    """Where a file with this hash lives, relative to the media root."""
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}.{extension(mime)}"


def hash_file(path: Path) -> tuple[str, int]:
    """(sha256 hex, size) of a file, read in chunks."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


def partial_path(root: Path, channel_id: int, message_id: int, version_no: int, role: str) -> Path:
    """The partial (resumable) download file of one reference. Never counted
    as stored: only ``store_file(..., move=True)`` turns it into a stored file."""
    return Path(root) / PARTIAL_DIR / f"{channel_id}_{message_id}_{version_no}_{role}.part"


def store_chunks(
    root: Path, chunks: Iterable[bytes], mime: str | None, *, expect_sha256: str | None = None
) -> StoredFile:
    """Store a stream of byte chunks (never held whole in memory): written
    to ``<root>/.tmp/``, fsynced, hash checked against ``expect_sha256`` when
    given (ValueError otherwise, nothing stored), renamed into place."""
    tmp = _tmp_name(Path(root))
    h = hashlib.sha256()
    size = 0
    try:
        with open(tmp, "wb") as f:
            for block in chunks:
                f.write(block)
                h.update(block)
                size += len(block)
            f.flush()
            os.fsync(f.fileno())
        return _place(Path(root), tmp, h.hexdigest(), size, mime, expect_sha256)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def store_file(
    root: Path,
    src: Path,
    mime: str | None,
    *,
    move: bool = False,
    expect_sha256: str | None = None,
) -> StoredFile:
    """Store an existing file. ``move=True`` (a file inside the media root,
    e.g. a finished partial download): hashed, fsynced and renamed, no copy.
    Otherwise copied to a temporary name in the destination directory while
    hashed a second time: a source that changed while being copied is a
    ValueError and nothing is stored."""
    root = Path(root)
    src = Path(src)
    sha, size = hash_file(src)
    if expect_sha256 is not None and sha != expect_sha256:
        raise ValueError(f"{src} has sha256 {sha}, expected {expect_sha256}")
    if move:
        with open(src, "rb+") as f:
            os.fsync(f.fileno())
        return _place(root, src, sha, size, mime, None)
    dest = root / rel_path(sha, mime)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{sha}.{secrets.token_hex(4)}.tmp"
    h = hashlib.sha256()
    n = 0
    try:
        with open(src, "rb") as fin, open(tmp, "wb") as fout:
            while block := fin.read(CHUNK):
                fout.write(block)
                h.update(block)
                n += len(block)
            fout.flush()
            os.fsync(fout.fileno())
        if h.hexdigest() != sha or n != size:
            raise ValueError(f"{src} changed while it was being copied into the media store")
        return _place(root, tmp, sha, size, mime, None)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _tmp_name(root: Path) -> Path:
    d = root / TMP_DIR
    d.mkdir(parents=True, exist_ok=True)
    return d / f"{secrets.token_hex(8)}.tmp"


def _place(
    root: Path, tmp: Path, sha: str, size: int, mime: str | None, expect: str | None
) -> StoredFile:
    """Rename the checked temporary file ``tmp`` to its content address. The
    same bytes already stored, under whatever extension the first copy's mime
    gave them, are kept (checked by their hash, not only their size) and
    ``tmp`` removed: the same bytes are one file. A damaged copy is replaced."""
    if expect is not None and sha != expect:
        raise ValueError(f"the bytes received have sha256 {sha}, expected {expect}")
    dest = root / rel_path(sha, mime)
    dest.parent.mkdir(parents=True, exist_ok=True)
    for have in sorted(dest.parent.glob(f"{sha}.*")):
        if have.is_file() and have.stat().st_size == size and hash_file(have) == (sha, size):
            tmp.unlink()
            return StoredFile(sha, size, have, have.relative_to(root).as_posix())
    os.replace(tmp, dest)
    _fsync_dir(dest.parent)
    return StoredFile(sha, size, dest, dest.relative_to(root).as_posix())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------

_REF_COLS = (
    "r.id, r.channel_id, r.message_id, r.version_no, r.role, r.kind, r.mime, r.size, r.file_id,"
    " r.file_unique_id, r.state, r.reason, r.sha256, r.attempts, r.next_try, r.resume_offset,"
    " r.last_error, r.updated_at, f.path"
)
_REF_FROM = " FROM media_refs r LEFT JOIN media_files f ON f.sha256 = r.sha256"


def _ref(row: Any) -> MediaRef:
    return MediaRef(*row)


def refs_of_post(conn: sqlite3.Connection, channel_id: int, message_id: int) -> list[MediaRef]:
    """Every media reference of a post, by version then role (file first)."""
    return [
        _ref(r)
        for r in conn.execute(
            f"SELECT {_REF_COLS}{_REF_FROM} WHERE r.channel_id=? AND r.message_id=?"
            " ORDER BY r.version_no, r.role",
            (channel_id, message_id),
        )
    ]


def refs_of_version(
    conn: sqlite3.Connection, channel_id: int, message_id: int, version_no: int
) -> list[MediaRef]:
    """The media references of one version (file first, then thumb)."""
    return [
        _ref(r)
        for r in conn.execute(
            f"SELECT {_REF_COLS}{_REF_FROM} WHERE r.channel_id=? AND r.message_id=?"
            " AND r.version_no=? ORDER BY r.role",
            (channel_id, message_id, version_no),
        )
    ]


def refs_with_sha(conn: sqlite3.Connection, sha256: str) -> list[MediaRef]:
    """Every reference to the stored file ``sha256`` (all posts carrying it)."""
    return [
        _ref(r)
        for r in conn.execute(
            f"SELECT {_REF_COLS}{_REF_FROM} WHERE r.sha256=?"
            " ORDER BY r.channel_id, r.message_id, r.version_no",
            (sha256.lower(),),
        )
    ]


def file_path(conn: sqlite3.Connection, root: Path, sha256: str) -> Path | None:
    """The absolute path of the stored file ``sha256``; None when not stored."""
    row = conn.execute("SELECT path FROM media_files WHERE sha256=?", (sha256.lower(),)).fetchone()
    return None if row is None else Path(root) / str(row[0])


def due_refs(
    conn: sqlite3.Connection, now: str, limit: int, channel_ids: Iterable[int] | None = None
) -> list[MediaRef]:
    """Queued references whose next try is due (oldest first), for the
    downloader; with ``channel_ids``, only those channels' (a daemon sharing
    the archive downloads the media of the channels it holds)."""
    sql = f"SELECT {_REF_COLS}{_REF_FROM} WHERE r.state='queued'"
    args: list[object] = [now]
    if channel_ids is not None:
        ids = sorted(set(channel_ids))
        sql += f" AND r.channel_id IN ({','.join('?' * len(ids))})"
        args = [*ids, now]
    sql += " AND (r.next_try IS NULL OR r.next_try <= ?) ORDER BY r.id LIMIT ?"
    return [_ref(r) for r in conn.execute(sql, (*args, limit))]


def queued_bytes(conn: sqlite3.Connection) -> dict[int, int]:
    """Expected bytes of the references still queued, per channel: they
    count against the budgets before they are downloaded."""
    return {
        int(c): int(n)
        for c, n in conn.execute(
            "SELECT channel_id, coalesce(sum(size), 0) FROM media_refs"
            " WHERE state='queued' GROUP BY channel_id"
        )
    }


@dataclass(frozen=True, slots=True)
class MediaStatus:
    """Counts by state, bytes of distinct stored files (in all and per
    channel: a file counts once per channel referring to it) and of bytes
    still queued (their expected sizes)."""

    states: dict[str, int]
    files: int
    bytes_stored: int
    bytes_queued: int
    per_channel: dict[int, int]
    lost_reasons: dict[str, int]


def status(conn: sqlite3.Connection) -> MediaStatus:
    """The media archive at a glance (``telewatch media status``)."""
    states = {s: 0 for s in STATES}
    for state, n in conn.execute("SELECT state, count(*) FROM media_refs GROUP BY state"):
        states[str(state)] = int(n)
    files, total = conn.execute(
        "SELECT count(*), coalesce(sum(size), 0) FROM media_files"
    ).fetchone()
    queued = conn.execute(
        "SELECT coalesce(sum(size), 0) FROM media_refs WHERE state='queued'"
    ).fetchone()[0]
    per_channel = channel_bytes(conn)
    reasons = {
        str(r or "-"): int(n)
        for r, n in conn.execute(
            "SELECT reason, count(*) FROM media_refs WHERE state='lost' GROUP BY reason"
        )
    }
    return MediaStatus(states, int(files), int(total), int(queued), per_channel, reasons)


def channel_bytes(conn: sqlite3.Connection, channel_id: int | None = None) -> dict[int, int]:
    """Bytes of distinct stored files per channel (the per-channel budget)."""
    sql = (
        "SELECT c, sum(size) FROM (SELECT DISTINCT r.channel_id AS c, f.sha256, f.size"
        " FROM media_refs r JOIN media_files f ON f.sha256 = r.sha256"
        " WHERE r.state='stored'{where}) AS stored GROUP BY c"
    )
    if channel_id is None:
        rows = conn.execute(sql.format(where=""))
    else:
        rows = conn.execute(sql.format(where=" AND r.channel_id=?"), (channel_id,))
    return {int(c): int(n) for c, n in rows}


def stored_copy(
    conn: sqlite3.Connection, file_unique_id: str, role: str
) -> tuple[str, int, str | None] | None:
    """(sha256, size, mime) of a stored reference to the same Telegram file
    (same ``file_unique_id`` and role: a forward, a re-post), so its bytes
    need not be downloaded again; None when there is none."""
    row = conn.execute(
        "SELECT r.sha256, f.size, f.mime FROM media_refs r JOIN media_files f"
        " ON f.sha256 = r.sha256 WHERE r.file_unique_id=? AND r.role=? AND r.state='stored'"
        " LIMIT 1",
        (file_unique_id, role),
    ).fetchone()
    return None if row is None else (str(row[0]), int(row[1]), row[2])


def channel_usernames(conn: sqlite3.Connection) -> dict[int, str]:
    """Channel id → current username (lower case) of every known channel."""
    return {
        int(cid): str(name).lower()
        for cid, name in conn.execute(
            "SELECT id, username FROM channels WHERE username IS NOT NULL"
        )
    }


def find_ref(conn: sqlite3.Connection, channel_id: int, message_id: int) -> list[MediaRef]:
    """The references of a post's newest version (for ``media fetch``)."""
    row = conn.execute(
        "SELECT max(version_no) FROM post_versions WHERE channel_id=? AND message_id=?",
        (channel_id, message_id),
    ).fetchone()
    if row is None or row[0] is None:
        return []
    return refs_of_version(conn, channel_id, message_id, int(row[0]))


# --------------------------------------------------------------------------
# Writing (called by store.writer only, inside its transaction)
# --------------------------------------------------------------------------


def _check_role(role: object) -> str:
    if role not in ROLES:
        raise ValueError(f"media role must be 'file' or 'thumb', got {role!r}")
    return str(role)


def _resolve_version(
    conn: sqlite3.Connection,
    cid: int,
    mid: int,
    version_no: int | None,
    file_unique_id: str | None,
) -> int:
    """The version a media event belongs to: the one named, else the newest
    whose media summary has ``file_unique_id``, else the newest version."""
    if version_no is not None:
        if not isinstance(version_no, int) or isinstance(version_no, bool):
            raise ValueError(f"version_no must be an int, got {version_no!r}")
        row = conn.execute(
            "SELECT 1 FROM post_versions WHERE channel_id=? AND message_id=? AND version_no=?",
            (cid, mid, version_no),
        ).fetchone()
        if row is None:
            raise ValueError(f"post {cid}/{mid} has no version {version_no} to attach media to")
        return version_no
    row = None
    if file_unique_id is not None:
        row = conn.execute(
            "SELECT max(version_no) FROM post_versions WHERE channel_id=? AND message_id=?"
            " AND json_extract(media, '$.file_unique_id') = ?",
            (cid, mid, file_unique_id),
        ).fetchone()
    if row is None or row[0] is None:
        row = conn.execute(
            "SELECT max(version_no) FROM post_versions WHERE channel_id=? AND message_id=?",
            (cid, mid),
        ).fetchone()
    if row is None or row[0] is None:
        raise ValueError(f"post {cid}/{mid} is not archived: its media has no version to join")
    return int(row[0])


def _existing(
    conn: sqlite3.Connection, cid: int, mid: int, vno: int, role: str
) -> tuple[int, str, str | None, str | None] | None:
    row = conn.execute(
        "SELECT id, state, sha256, reason FROM media_refs"
        " WHERE channel_id=? AND message_id=? AND version_no=? AND role=?",
        (cid, mid, vno, role),
    ).fetchone()
    return None if row is None else (int(row[0]), str(row[1]), row[2], row[3])


def _chain_ref(conn: sqlite3.Connection, ref_id: int) -> None:
    """Chain the reference's current (terminal) state as a ``media`` record."""
    r = conn.execute(
        "SELECT channel_id, message_id, version_no, role, state, kind, sha256, size, mime,"
        " file_unique_id, reason, updated_at FROM media_refs WHERE id=?",
        (ref_id,),
    ).fetchone()
    chain.append(conn, "media", ref_id, list(r))


def apply_queued(conn: sqlite3.Connection, ev: MediaQueued) -> bool:
    """A reference to download (``queued``), not wanted by the policy
    (``skipped``) or missing from an export (``not_in_export``, chained).
    An existing reference is left as it is, except that ``force`` puts a
    skipped or lost one back in the queue. True when a row changed."""
    cid, mid = positive_id(ev.channel_id), positive_id(ev.message_id)
    role = _check_role(ev.role)
    if ev.state not in ("queued", "skipped", "not_in_export"):
        raise ValueError(
            f"MediaQueued state must be queued, skipped or not_in_export: {ev.state!r}"
        )
    vno = _resolve_version(conn, cid, mid, ev.version_no, ev.file_unique_id)
    at = iso(ev.queued_at)
    old = _existing(conn, cid, mid, vno, role)
    if old is not None:
        if ev.force and ev.state == "queued" and old[1] in ("skipped", "lost"):
            conn.execute(
                "UPDATE media_refs SET state='queued', reason=NULL, attempts=0, next_try=NULL,"
                " last_error=NULL, updated_at=? WHERE id=?",
                (at, old[0]),
            )
            return True
        return False
    cur = conn.execute(
        "INSERT INTO media_refs(channel_id, message_id, version_no, role, kind, mime, size,"
        " file_id, file_unique_id, state, reason, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (cid, mid, vno, role, ev.kind, ev.mime, ev.size, ev.file_id, ev.file_unique_id,
         ev.state, ev.reason, at),
    )  # fmt: skip
    assert cur.lastrowid is not None
    if ev.state == "not_in_export":
        _chain_ref(conn, cur.lastrowid)
    return True


def apply_stored(conn: sqlite3.Connection, ev: MediaStored) -> bool:
    """The file of a reference is in the store: a ``media_files`` row (once
    per content) and the reference ``stored``, chained. Idempotent; a
    reference already stored with other bytes is a ValueError."""
    cid, mid = positive_id(ev.channel_id), positive_id(ev.message_id)
    role = _check_role(ev.role)
    sha = ev.sha256
    if not (isinstance(sha, str) and len(sha) == 64 and all(c in "0123456789abcdef" for c in sha)):
        raise ValueError(f"sha256 must be 64 lowercase hex digits, got {sha!r}")
    if not isinstance(ev.size, int) or isinstance(ev.size, bool) or ev.size < 0:
        raise ValueError(f"size must be a non-negative int, got {ev.size!r}")
    vno = _resolve_version(conn, cid, mid, ev.version_no, ev.file_unique_id)
    at = iso(ev.stored_at)
    known = conn.execute("SELECT size FROM media_files WHERE sha256=?", (sha,)).fetchone()
    if known is None:
        conn.execute(
            "INSERT INTO media_files(sha256, size, mime, path, stored_at) VALUES (?,?,?,?,?)",
            (sha, ev.size, ev.mime, rel_path(sha, ev.mime), at),
        )
    elif int(known[0]) != ev.size:
        raise ValueError(f"file {sha} is stored with {known[0]} bytes, not {ev.size}")
    old = _existing(conn, cid, mid, vno, role)
    if old is not None and old[1] == "stored":
        if old[2] != sha:
            raise ValueError(
                f"media {role} of {cid}/{mid} version {vno} is already stored as {old[2]}"
            )
        return False
    if old is None:
        cur = conn.execute(
            "INSERT INTO media_refs(channel_id, message_id, version_no, role, kind, mime, size,"
            " file_id, file_unique_id, state, sha256, updated_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,'stored',?,?)",
            (cid, mid, vno, role, ev.kind, ev.mime, ev.size, ev.file_id, ev.file_unique_id,
             sha, at),
        )  # fmt: skip
        assert cur.lastrowid is not None
        ref_id = cur.lastrowid
    else:
        ref_id = old[0]
        conn.execute(
            "UPDATE media_refs SET state='stored', sha256=?, size=?, mime=coalesce(?, mime),"
            " kind=coalesce(?, kind), file_id=coalesce(?, file_id),"
            " file_unique_id=coalesce(?, file_unique_id), reason=NULL, next_try=NULL,"
            " resume_offset=0, last_error=NULL, updated_at=? WHERE id=?",
            (sha, ev.size, ev.mime, ev.kind, ev.file_id, ev.file_unique_id, at, ref_id),
        )
    _chain_ref(conn, ref_id)
    return True


def apply_lost(conn: sqlite3.Connection, ev: MediaLost) -> bool:
    """A reference whose file can no longer be had (``reason``), chained. A
    stored reference stays stored; the same loss twice changes nothing."""
    cid, mid = positive_id(ev.channel_id), positive_id(ev.message_id)
    role = _check_role(ev.role)
    if not isinstance(ev.reason, str) or not ev.reason:
        raise ValueError("a lost media reference needs a reason")
    vno = _resolve_version(conn, cid, mid, ev.version_no, ev.file_unique_id)
    at = iso(ev.lost_at)
    old = _existing(conn, cid, mid, vno, role)
    if old is not None:
        if old[1] == "stored" or (old[1] == "lost" and old[3] == ev.reason):
            return False
        conn.execute(
            "UPDATE media_refs SET state='lost', reason=?, next_try=NULL, resume_offset=0,"
            " last_error=coalesce(?, last_error), updated_at=? WHERE id=?",
            (ev.reason, ev.error, at, old[0]),
        )
        ref_id = old[0]
    else:
        cur = conn.execute(
            "INSERT INTO media_refs(channel_id, message_id, version_no, role, kind, mime, size,"
            " file_id, file_unique_id, state, reason, last_error, updated_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,'lost',?,?,?)",
            (cid, mid, vno, role, ev.kind, ev.mime, ev.size, ev.file_id, ev.file_unique_id,
             ev.reason, ev.error, at),
        )  # fmt: skip
        assert cur.lastrowid is not None
        ref_id = cur.lastrowid
    _chain_ref(conn, ref_id)
    return True


def apply_progress(conn: sqlite3.Connection, ev: MediaProgress) -> bool:
    """The download queue's state of a queued reference: attempts, next try,
    bytes already in the partial file, last error (not chained: queue state)."""
    cid, mid = positive_id(ev.channel_id), positive_id(ev.message_id)
    role = _check_role(ev.role)
    if not isinstance(ev.resume_offset, int) or ev.resume_offset < 0:
        raise ValueError(f"resume_offset must be a non-negative int, got {ev.resume_offset!r}")
    cur = conn.execute(
        "UPDATE media_refs SET attempts=?, next_try=?, resume_offset=?, last_error=?,"
        " file_id=coalesce(?, file_id), updated_at=? WHERE channel_id=? AND message_id=?"
        " AND version_no=? AND role=? AND state='queued'",
        (ev.attempts, iso(ev.next_try) if ev.next_try else None, ev.resume_offset, ev.error,
         ev.file_id, iso(ev.at), cid, mid, ev.version_no, role),
    )  # fmt: skip
    return cur.rowcount == 1


def apply_event(
    conn: sqlite3.Connection, ev: MediaQueued | MediaStored | MediaLost | MediaProgress
) -> bool:
    """Apply one media event (store.writer dispatches here)."""
    if isinstance(ev, MediaQueued):
        return apply_queued(conn, ev)
    if isinstance(ev, MediaStored):
        return apply_stored(conn, ev)
    if isinstance(ev, MediaLost):
        return apply_lost(conn, ev)
    return apply_progress(conn, ev)


# --------------------------------------------------------------------------
# verify
# --------------------------------------------------------------------------


def check_record(rec: list[Any], chained_versions: int) -> str | None:
    """A problem with one ``media`` record read in chain order, or None.
    ``chained_versions`` is the number of versions of its post chained before
    it: the record must name one of them (the media is bound to a version
    captured before it)."""
    if len(rec) != MEDIA_RECORD_LEN:
        return "malformed media record"
    _, _, cid, mid, vno, role, state, _kind, sha, size, _mime, _fuid, reason, _t = rec
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (cid, mid, vno)):
        return "malformed media record"
    if role not in ROLES or state not in CHAINED_STATES:
        return "malformed media record"
    if state == "stored" and (not isinstance(sha, str) or not isinstance(size, int)):
        return "a stored media record without sha256 and size"
    if state != "stored" and (sha is not None or not isinstance(reason, str)):
        return f"a {state} media record with a sha256 or without a reason"
    if not 1 <= vno <= chained_versions:
        return f"media of post {cid}/{mid} names version {vno}, which was not chained before it"
    return None


def check_rows(
    conn: sqlite3.Connection, newest: dict[tuple[int, int, int, str], list[Any]]
) -> str | None:
    """Every media_refs row against the newest chained ``media`` record of
    its (post, version, role) (``newest``), and media_files against the
    chained stored records. None when all agree, else the first problem."""
    seen = 0
    first_mime: dict[str, tuple[Any, int]] = {}
    for rec in newest.values():  # in the order the references were last chained
        if rec[6] == "stored":
            sha, size = rec[8], rec[9]
            if sha not in first_mime:
                first_mime[sha] = (rec[10], size)
            elif first_mime[sha][1] != size:
                return f"media file {sha} is chained with two sizes"
    for r in conn.execute(
        "SELECT r.id, r.channel_id, r.message_id, r.version_no, r.role, r.state, r.kind,"
        " r.sha256, r.size, r.mime, r.file_unique_id, r.reason, r.updated_at, v.id"
        " FROM media_refs r LEFT JOIN post_versions v ON v.channel_id = r.channel_id"
        " AND v.message_id = r.message_id AND v.version_no = r.version_no"
    ):
        key = (r[1], r[2], r[3], r[4])
        where = f"media {r[4]} of post {r[1]}/{r[2]} version {r[3]} (media_refs.id {r[0]})"
        if r[13] is None:
            return f"{where} belongs to no archived version"
        chained = newest.get(key)
        if r[5] in CHAINED_STATES:
            if chained is None:
                return f"{where} is {r[5]} but not in the chain (added outside telewatch)"
            if tuple(r[5:13]) != tuple(chained[6:14]):
                return f"{where} differs from its chained record (changed after capture)"
            seen += 1
        elif chained is not None:
            if r[5] != "queued" or chained[6] != "lost":
                return f"{where} is {r[5]}, but its chained record says {chained[6]}"
            seen += 1  # a lost reference queued again by `media fetch`
    if seen != len(newest):
        return f"{len(newest) - seen} chained media reference(s) were removed"
    n = 0
    for sha, size, mime, path in conn.execute("SELECT sha256, size, mime, path FROM media_files"):
        first = first_mime.get(sha)
        if first is None:
            # A stored reference never changes state: every file has one.
            return f"media file {sha} is not referred to by any chained stored media"
        if (mime, size) != first or path != rel_path(sha, mime):
            return f"media file {sha}: size, mime or path differ from the chained records"
        n += 1
    if n != len(first_mime):
        return f"{len(first_mime) - n} chained media file(s) have no media_files row (removed)"
    return None


@dataclass
class FileCheck:
    """Outcome of ``verify_files``: files checked, bytes read, problems (one
    line each, naming the file)."""

    files: int = 0
    bytes: int = 0
    problems: list[str] | None = None

    @property
    def ok(self) -> bool:
        """No file missing or changed."""
        return not self.problems


def verify_files(conn: sqlite3.Connection, root: Path) -> FileCheck:
    """Re-hash every stored file under ``root`` (posts' media and channel
    photos, store/photo_files.py): a file missing, or whose bytes no longer
    have its name's sha256 (replaced, truncated), is a problem."""
    out = FileCheck(problems=[])
    assert out.problems is not None
    for sha, size, path in conn.execute(
        "SELECT sha256, size, path FROM media_files UNION"
        " SELECT sha256, size, path FROM channel_photo_files ORDER BY 3"
    ):
        p = Path(root) / str(path)
        out.files += 1
        try:
            got, n = hash_file(p)
        except FileNotFoundError:
            out.problems.append(f"media file {p} is missing (sha256 {sha})")
            continue
        except OSError as err:
            out.problems.append(f"media file {p} cannot be read: {err.strerror or err}")
            continue
        out.bytes += n
        if got != sha or n != size:
            out.problems.append(
                f"media file {p} was changed: its bytes have sha256 {got} ({n} bytes),"
                f" the archive says {sha} ({size} bytes)"
            )
    return out
