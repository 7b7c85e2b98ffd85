"""Channel profile photos as files (docs/SCHEMA.md, "Channel photo files";
docs/EVIDENCE.md, ``channel_photo_file``).

``channel_photos`` (store/events.py) records every photo change a channel
made: Telegram's photo id and the sha256 of the inline stripped thumbnail.
With media archiving on, the daemon (daemon/photo_files.py) downloads the
big size of each channel's newest photo into the same content-addressed
store as posts' media (store.media.store_chunks) and emits
``models.ChannelPhotoStored``; the writer applies it here: one
``channel_photo_files`` row per photo row, chained in the same transaction
(``["channel_photo_file", at, photo_row, channel_id, photo_id, sha256, size,
mime, path, stored_at]``). ``verify`` checks every row against its record and
that the record names a chained photo row of the same channel and photo id;
``verify --media`` re-hashes the files (store.media.verify_files).

A photo replaced before it was downloaded (the daemon was stopped through
two changes) cannot be had any more: Telegram serves a peer's current photo
only. Such rows simply have no file.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from telewatch.models import ChannelPhotoStored
from telewatch.store import chain
from telewatch.store.db import iso
from telewatch.store.media import rel_path
from telewatch.store.posts import positive_id

KIND = "channel_photo_file"


@dataclass(frozen=True, slots=True)
class WantedPhoto:
    """A channel's newest photo row whose file is not stored yet."""

    photo_row: int
    channel_id: int
    photo_id: int
    dc_id: int | None


@dataclass(frozen=True, slots=True)
class PhotoFile:
    """A stored channel photo file (``path`` relative to the media root)."""

    photo_row: int
    channel_id: int
    photo_id: int
    sha256: str
    size: int
    mime: str | None
    path: str
    stored_at: str
    captured_at: str


def wanted(conn: sqlite3.Connection) -> list[WantedPhoto]:
    """Every channel's newest photo row (a photo, not a removal) without a file."""
    rows = conn.execute(
        "SELECT p.id, p.channel_id, p.photo_id, p.dc_id FROM channel_photos p"
        " WHERE p.id = (SELECT max(q.id) FROM channel_photos q WHERE q.channel_id = p.channel_id)"
        " AND p.photo_id IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM channel_photo_files f WHERE f.photo_row = p.id)"
        " ORDER BY p.id"
    ).fetchall()
    return [WantedPhoto(int(r[0]), int(r[1]), int(r[2]), r[3]) for r in rows]


def apply_stored(conn: sqlite3.Connection, ev: ChannelPhotoStored) -> bool:
    """Record (and chain) the stored file of a channel's photo. The photo
    must be the channel's newest photo row with that id; the same file
    twice changes nothing; other bytes for a stored photo are a ValueError."""
    cid = positive_id(ev.channel_id)
    sha = ev.sha256
    if not (isinstance(sha, str) and len(sha) == 64 and all(c in "0123456789abcdef" for c in sha)):
        raise ValueError(f"sha256 must be 64 lowercase hex digits, got {sha!r}")
    if not isinstance(ev.size, int) or isinstance(ev.size, bool) or ev.size < 0:
        raise ValueError(f"size must be a non-negative int, got {ev.size!r}")
    row = conn.execute(
        "SELECT id FROM channel_photos WHERE channel_id=? AND photo_id=? ORDER BY id DESC LIMIT 1",
        (cid, int(ev.photo_id)),
    ).fetchone()
    if row is None:
        raise ValueError(f"channel {cid} has no archived photo {ev.photo_id}")
    photo_row = int(row[0])
    old = conn.execute(
        "SELECT sha256 FROM channel_photo_files WHERE photo_row=?", (photo_row,)
    ).fetchone()
    if old is not None:
        if old[0] != sha:
            raise ValueError(f"photo {ev.photo_id} of channel {cid} is already stored as {old[0]}")
        return False
    at = iso(ev.stored_at)
    fields = [photo_row, cid, int(ev.photo_id), sha, ev.size, ev.mime, rel_path(sha, ev.mime), at]
    cur = conn.execute(
        "INSERT INTO channel_photo_files(photo_row, channel_id, photo_id, sha256, size, mime,"
        " path, stored_at) VALUES (?,?,?,?,?,?,?,?)",
        fields,
    )
    chain.append(conn, KIND, cur.lastrowid, fields)
    return True


def of_channel(conn: sqlite3.Connection, channel_id: int) -> list[PhotoFile]:
    """The channel's stored photo files, oldest photo first."""
    rows = conn.execute(
        "SELECT f.photo_row, f.channel_id, f.photo_id, f.sha256, f.size, f.mime, f.path,"
        " f.stored_at, p.captured_at FROM channel_photo_files f"
        " JOIN channel_photos p ON p.id = f.photo_row WHERE f.channel_id=? ORDER BY f.photo_row",
        (positive_id(channel_id),),
    ).fetchall()
    out = []
    for r in rows:
        out.append(PhotoFile(int(r[0]), int(r[1]), int(r[2]), str(r[3]), int(r[4]), r[5],
                             str(r[6]), str(r[7]), str(r[8])))  # fmt: skip
    return out
