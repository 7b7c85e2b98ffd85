"""The media files of a Telegram Desktop export, into the media store.

An export folder holds ``result.json`` beside ``photos/``, ``video_files/``,
``files/``, … and each message names its files by paths relative to the
folder: ``photo`` (a photo), ``file`` (a document, video, voice message,
sticker…) and ``thumbnail`` (the preview of a video or document). An export
made without media writes, instead of a path, one of the skip texts of
Telegram Desktop (``SKIPPED``): "(File not included. Change data exporting
settings to download.)" when that kind of file was not selected, "(File
exceeds maximum size. …)" over the export's size limit, "(File unavailable,
please try again later)".

``ExportMedia`` is the import's hook (sources/desktop_export.py): for each
written batch of posts it reads the media fields of their messages, checks
every path (``resolve``: relative, inside the export folder after symlinks
are followed, a regular file — anything else is a one-line UserError and
the file's import is rolled back), hashes the file and writes, in the
import's transaction, ``MediaStored`` for the version the message made (or
matched), ``MediaHashed`` for an image (its perceptual hash, store/phash.py),
and ``MediaQueued(state="not_in_export")`` with the skip reason for a
placeholder. The bytes are copied into the content-addressed store only in
``finish``, just before the import commits, so an export rejected half way
leaves no file behind; a file already stored is not copied again, so a
re-import changes nothing (no row, no record, no file).
"""

from __future__ import annotations

import json
import os
import stat
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from telewatch.models import (
    Event,
    MediaHashed,
    MediaQueued,
    MediaRoleName,
    MediaStored,
    UserError,
)
from telewatch.store import media, media_match, phash
from telewatch.store.db import Connection
from telewatch.store.writer import PreparedPost, apply_events

SKIPPED = {
    "(File not included. Change data exporting settings to download.)": "not included in export",
    "(File exceeds maximum size. Change data exporting settings to download.)": (
        "over the export's size limit"
    ),
    "(File unavailable, please try again later)": "unavailable when exported",
}
# Kinds of export ``media_type`` (sources.desktop_export._MEDIA_TYPES agrees).
_KINDS = {
    "video_file": "video",
    "video_message": "round",
    "voice_message": "voice",
    "audio_file": "audio",
    "sticker": "sticker",
    "animation": "animation",
}
_IMAGE_MIMES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
                ".webp": "image/webp", ".gif": "image/gif"}  # fmt: skip
MAX_PATH_CHARS = 4096


class ExportMediaError(UserError):
    """A media path of an export that must not be read (names the message)."""


class _Missing(ExportMediaError):
    """A path inside the folder that names no file (an export copied without
    its media folders): recorded as not in the export, not an error."""


@dataclass(frozen=True, slots=True)
class MediaField:
    """One file a message names: its role (file / thumb), the value as
    exported (a path or a skip text), and what the message says about it."""

    role: MediaRoleName
    value: str
    kind: str
    mime: str | None
    size: int | None


def media_fields(msg: dict[str, Any]) -> list[MediaField]:
    """The files an export message names, file before thumbnail."""
    out: list[MediaField] = []
    if isinstance(msg.get("photo"), str):
        out.append(MediaField("file", msg["photo"], "photo", "image/jpeg",
                              _int(msg.get("photo_file_size"))))  # fmt: skip
    elif isinstance(msg.get("file"), str):
        kind = _KINDS.get(str(msg.get("media_type", "")), "document")
        mime = msg.get("mime_type") if isinstance(msg.get("mime_type"), str) else None
        out.append(MediaField("file", msg["file"], kind, mime, _int(msg.get("file_size"))))
    if isinstance(msg.get("thumbnail"), str) and out:
        out.append(MediaField("thumb", msg["thumbnail"], out[0].kind, "image/jpeg",
                              _int(msg.get("thumbnail_file_size"))))  # fmt: skip
    return out


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else None


def skip_reason(value: str) -> str | None:
    """The reason a skip text stands for, or None when ``value`` is a path.
    Exports may prefix the text (``"<name> (File not included…)"``)."""
    for text, reason in SKIPPED.items():
        if value == text or value.endswith(" " + text):
            return reason
    return None


def resolve(folder: Path, value: str, where: str) -> Path:
    """The file ``value`` names inside the export ``folder``. ExportMediaError
    (one line, naming ``where`` and the path) when the path is absolute,
    climbs out with ``..``, leads outside the folder through a symlink, or
    is not a regular file."""
    shown = json.dumps(value[:200], ensure_ascii=True)
    if not value or len(value) > MAX_PATH_CHARS or "\x00" in value:
        raise ExportMediaError(f"{where}: media path {shown} is not a file path; not imported")
    posix, win = PurePosixPath(value), PureWindowsPath(value)
    if posix.is_absolute() or win.is_absolute() or win.drive or value.startswith(("/", "\\")):
        raise ExportMediaError(
            f"{where}: media path {shown} is absolute; an export names its files relative to"
            " its folder (nothing imported from this file)"
        )
    if ".." in posix.parts or ".." in win.parts:
        raise ExportMediaError(
            f"{where}: media path {shown} climbs out of the export folder with '..'"
            " (nothing imported from this file)"
        )
    base = folder.resolve()
    target = (folder / value).resolve()
    if not target.is_relative_to(base):
        raise ExportMediaError(
            f"{where}: media path {shown} leads outside the export folder (a symlink?);"
            " nothing imported from this file"
        )
    try:
        st = os.stat(target)
    except FileNotFoundError:
        raise _Missing(f"{where}: media file {shown} is missing from the export folder") from None
    except OSError as err:
        raise ExportMediaError(f"{where}: cannot read media file {shown}: {err.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ExportMediaError(f"{where}: media path {shown} is not a regular file; not imported")
    return target


@dataclass
class MediaSummary:
    """What the media of one export did: file references found in the folder
    (``stored``) and of those the files new to the store (``copied``,
    ``bytes_copied``), placeholders (``not_in_export``), paths naming no file
    (``missing``: recorded as not in the export), images hashed."""

    stored: int = 0
    copied: int = 0
    not_in_export: int = 0
    missing: int = 0
    hashed: int = 0
    bytes_copied: int = 0


@dataclass
class ExportMedia:
    """The media hook of one export file's import (see module docstring)."""

    export: Path  # the result.json
    root: Path | None  # the media store's root; None: none configured (PostgreSQL)
    summary: MediaSummary = field(default_factory=MediaSummary)
    _pending: dict[str, tuple[Path, str | None]] = field(default_factory=dict)
    _hashed: set[str] = field(default_factory=set)

    @property
    def folder(self) -> Path:
        """The export folder (where result.json is)."""
        return self.export.parent

    def add_batch(self, conn: Connection, posts: Sequence[PreparedPost]) -> None:
        """Record the media of ``posts`` (just written by write_prepared in
        the caller's transaction)."""
        events: list[Event] = []
        now = datetime.now(UTC).replace(microsecond=0)
        for p in posts:
            if p.media is None or p.raw_data is None:
                continue
            msg = json.loads(zlib.decompress(p.raw_data))
            fields = media_fields(msg) if isinstance(msg, dict) else []
            if not fields:
                continue
            vno = media_match.version_with_content(conn, p.channel_id, p.message_id,
                                                   p.content_hash)  # fmt: skip
            for f in fields:
                events.extend(self._one(conn, p, vno, f, now))
        if events:
            st = apply_events(conn, events, ())
            if st.errors:
                raise UserError(f"{self.export}: cannot record media ({st.reasons[0]})")

    def _one(
        self,
        conn: Connection,
        p: PreparedPost,
        vno: int | None,
        f: MediaField,
        now: datetime,
    ) -> list[Event]:
        where = f"{self.export}: message {p.message_id}"
        reason = skip_reason(f.value)
        if reason is not None:
            self.summary.not_in_export += 1
            return [
                MediaQueued(p.channel_id, p.message_id, f.role, now, kind=f.kind, mime=f.mime,
                            size=f.size, version_no=vno, state="not_in_export", reason=reason)
            ]  # fmt: skip
        try:
            path = resolve(self.folder, f.value, where)
        except _Missing:
            self.summary.missing += 1
            return [
                MediaQueued(p.channel_id, p.message_id, f.role, now, kind=f.kind, mime=f.mime,
                            size=f.size, version_no=vno, state="not_in_export",
                            reason="missing from the export folder")
            ]  # fmt: skip
        mime = f.mime
        if f.role == "thumb" or f.kind == "photo":
            mime = _IMAGE_MIMES.get(path.suffix.lower(), mime)
        sha, size = media.hash_file(path)
        events: list[Event] = [
            MediaStored(p.channel_id, p.message_id, f.role, sha, size, now, mime=mime,
                        kind=f.kind, version_no=vno)
        ]  # fmt: skip
        self.summary.stored += 1
        if self.root is None:
            raise UserError(f"{self.export}: message {p.message_id} has a file: {media.NO_ROOT}")
        if media.file_path(conn, self.root, sha) is None and sha not in self._pending:
            self._pending[sha] = (path, mime)
        if (mime or "").startswith("image/") and sha not in self._hashed:
            self._hashed.add(sha)
            h = None if phash.get(conn, sha) else phash.compute(path)
            if h is not None:
                events.append(MediaHashed(sha, h))
                self.summary.hashed += 1
        return events

    def finish(self) -> None:
        """Copy the files new to the store into it (before the import
        commits); a file that changed since it was hashed is a UserError and
        the import is rolled back."""
        if self.root is None:  # _one let no file through without a root
            return
        for sha, (path, mime) in self._pending.items():
            try:
                stored = media.store_file(self.root, path, mime, expect_sha256=sha)
            except ValueError as err:
                raise UserError(
                    f"{self.export}: {err}; the export changed while it was imported"
                ) from None
            except OSError as err:
                raise UserError(
                    f"{self.export}: cannot copy {path} into the media store {self.root}:"
                    f" {err.strerror}"
                ) from None
            self.summary.copied += 1
            self.summary.bytes_copied += stored.size
        self._pending.clear()
