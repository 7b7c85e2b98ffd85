"""The emulated world's files: real, deterministic bytes behind every photo
and document, served by ``upload.getFile`` (docs/EMULATOR.md, "Media").

A message's ``media`` dict (``{"type": "photo", "w": 1280, "h": 720}``,
``{"type": "video", "size": 3000000}``, …) determines its files. ``seed``
(optional) fixes the content: the same seed posted in two channels is the
same bytes (two Telegram files with different ids, as two uploads of one
picture are), otherwise the seed is derived from the channel, message and
media dict, so an edit that changes the media gives new files.

* Photos are JPEG images drawn with Pillow from the seed, in sizes ``m``
  (320 px on the long side), ``x`` (800 px) and ``y`` (the full size, a
  ``PhotoSizeProgressive``) plus an inline stripped ``i``; every size in the
  ``Photo`` names its real byte count.
* Documents are ``size`` bytes: a video starts with an MP4 ``ftyp`` box and
  one ``mdat`` box of pseudo-random bytes (the shape of an MP4 file, not a
  playable one), other documents are pseudo-random bytes; videos carry a
  ``m`` JPEG thumbnail (a "keyframe" drawn from the seed).
* File references expire ``reference_ttl`` seconds after they were handed
  out (in any message the client received), or at once with
  ``expire_references``; ``channels.getMessages`` (any fresh copy of the
  message) hands out a new one. A deleted message's references stop working
  at once (``FILE_REFERENCE_EXPIRED``; a re-fetch shows the message is gone).
* ``migrate(channel, message, dc)`` makes a message's files live on another
  DC: ``upload.getFile`` answers ``FILE_MIGRATE_<dc>`` on a key that is not
  authorised there.
* A channel's profile photo (``EmulatedChannel.photo``, ``{"id", "seed"}``)
  is a JPEG drawn from its seed in two sizes: ``small`` (160 px, the
  ``Photo`` size ``a``) and ``big`` (640 px, size ``c``). It is served as
  Telegram serves it: ``InputPeerPhotoFileLocation(peer, photo_id, big)``
  (the peer's *current* photo only: an older photo id is
  ``PHOTO_ID_INVALID``), or ``InputPhotoFileLocation`` with the id, access
  hash and a fresh file reference of the full ``Photo`` that
  ``channels.getFullChannel`` (``chat_photo``) and the edit-photo service
  message carry, ``thumb_size`` ``a``/``c``. The truth lists both sizes'
  SHA-256 as the channel's ``photo_files``.
* Offset/limit follow Telegram's rules (core.telegram.org/api/files):
  offset divisible by 4 KiB, limit divisible by 4 KiB and dividing 1 MiB
  (so at most 1 MiB), and no request crossing a 1 MiB boundary — otherwise
  ``OFFSET_INVALID`` / ``LIMIT_INVALID``. With ``precise`` the limit need
  only be divisible by 1 KiB and at most 1 MiB. An offset at or past the
  end answers no bytes.
"""

from __future__ import annotations

import functools
import hashlib
import io
import itertools
import json
import os
import random
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageDraw
from telethon.tl import functions, types

from telewatch.emulator.world import RpcFailure

if TYPE_CHECKING:
    from telewatch.emulator.world import EmulatedMessage, World

KIB = 1024
MIB = 1 << 20
BLOCK = 64 * KIB  # documents are generated block by block (never whole in memory)
PHOTO_SIZES = (("m", 320), ("x", 800))  # plus "y": the full size
DEFAULT_TTL = 3600.0


@dataclass(frozen=True, slots=True)
class FileSpec:
    """One Telegram file (a photo with its sizes, or a document)."""

    id: int
    access_hash: int
    kind: str  # "photo" | "document"
    mime: str
    seed: int
    w: int
    h: int
    size: int  # documents: bytes; photos: of the full size "y"
    video: bool
    thumb: bool  # documents: carries an "m" thumbnail
    channel_id: int
    message_id: int
    path: str | None = None  # a Desktop export's own file (served as is)
    thumb_path: str | None = None  # its exported thumbnail


def _digest(*parts: object) -> bytes:
    return hashlib.sha256(":".join(map(str, parts)).encode()).digest()


def spec_of(channel_id: int, message_id: int, media: dict[str, Any]) -> FileSpec | None:
    """The file behind a message's media dict (None: no file, e.g. a web page)."""
    kind = str(media.get("type", "photo"))
    if kind == "webpage":
        return None
    key = json.dumps(media, sort_keys=True, default=str)
    d = _digest(channel_id, message_id, key)
    fid = int.from_bytes(d[:8], "little") & 0x7FFFFFFFFFFFFFFF or 1
    access = int.from_bytes(d[8:16], "little") & 0x7FFFFFFFFFFFFFFF
    seed = int(media["seed"]) if "seed" in media else int.from_bytes(d[16:24], "little")
    w, h = int(media.get("w", 1280)), int(media.get("h", 720))
    path = _existing(media.get("path"))
    thumb_path = _existing(media.get("thumb_path"))
    if kind == "photo":
        if path is not None:
            size = os.path.getsize(path)
            return FileSpec(fid, access, "photo", "image/jpeg", seed, w, h, size, False, False,
                            channel_id, message_id, path)  # fmt: skip
        size = photo_sizes(seed, w, h)[2]
        return FileSpec(fid, access, "photo", "image/jpeg", seed, w, h, size, False, False,
                        channel_id, message_id)  # fmt: skip
    default_mime = {"video": "video/mp4", "audio": "audio/mpeg", "voice": "audio/ogg",
                    "gif": "video/mp4"}.get(kind, "application/octet-stream")  # fmt: skip
    mime = str(media.get("mime_type", default_mime))
    video = kind in ("video", "gif") or mime.startswith("video/")
    if path is not None:
        return FileSpec(fid, access, "document", mime, seed, w, h, os.path.getsize(path), video,
                        thumb_path is not None, channel_id, message_id, path,
                        thumb_path)  # fmt: skip
    size = int(media.get("size") or 1_000_000)
    return FileSpec(fid, access, "document", mime, seed, w, h, size, video, video,
                    channel_id, message_id)  # fmt: skip


def _existing(value: object) -> str | None:
    return str(value) if isinstance(value, str) and os.path.isfile(value) else None


@functools.lru_cache(maxsize=256)
def _file_photo(path: str, size_type: str) -> bytes:
    """An exported photo's size: the file itself ("y") or a JPEG of it
    scaled down ("m", "x")."""
    data = Path(path).read_bytes()
    if size_type == "y":
        return data
    try:
        img = Image.open(io.BytesIO(data)).convert("RGB")
    except Exception:  # not an image Pillow reads: its sizes are the file too
        return data
    side = dict(PHOTO_SIZES)[size_type]
    if max(img.width, img.height) <= side:
        return data  # no smaller size to make: Telegram keeps the upload as it is
    img = img.resize(_scaled(img.width, img.height, side))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return min(out.getvalue(), data, key=len)


def spec_photo(spec: FileSpec, size_type: str) -> bytes:
    """A photo's size (or a document's "m" thumbnail) of a spec."""
    if spec.kind == "document":
        if spec.thumb_path is not None:
            return Path(spec.thumb_path).read_bytes()
        return photo_bytes(spec.seed, spec.w, spec.h, size_type)
    if spec.path is not None:
        return _file_photo(spec.path, size_type)
    return photo_bytes(spec.seed, spec.w, spec.h, size_type)


def spec_photo_sizes(spec: FileSpec) -> tuple[int, int, int]:
    """Byte counts of sizes m, x, y of a spec's photo."""
    if spec.kind == "photo" and spec.path is not None:
        return (len(_file_photo(spec.path, "m")), len(_file_photo(spec.path, "x")), spec.size)
    if spec.kind == "document" and spec.thumb_path is not None:
        n = os.path.getsize(spec.thumb_path)
        return (n, n, n)
    return photo_sizes(spec.seed, spec.w, spec.h)


# -- bytes ---------------------------------------------------------------------


def _scaled(w: int, h: int, side: int) -> tuple[int, int]:
    if max(w, h) <= side:
        return w, h
    f = side / max(w, h)
    return max(1, round(w * f)), max(1, round(h * f))


@functools.lru_cache(maxsize=512)
def photo_bytes(seed: int, w: int, h: int, size_type: str) -> bytes:
    """The JPEG of a photo's size ``m``, ``x`` or ``y`` (deterministic)."""
    rng = random.Random(seed)
    w, h = max(1, min(w, 4096)), max(1, min(h, 4096))
    img = Image.new("RGB", (w, h), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    draw = ImageDraw.Draw(img)
    for _ in range(24):
        x, y = rng.randrange(w), rng.randrange(h)
        dx, dy = rng.randrange(w // 8 + 1, w // 2 + 2), rng.randrange(h // 8 + 1, h // 2 + 2)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if rng.random() < 0.5:
            draw.ellipse([x, y, x + dx, y + dy], fill=colour)
        else:
            draw.rectangle([x, y, x + dx, y + dy], fill=colour)
    if size_type != "y":
        side = dict(PHOTO_SIZES)[size_type]
        img = img.resize(_scaled(w, h, side))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


@functools.lru_cache(maxsize=65536)
def photo_sizes(seed: int, w: int, h: int) -> tuple[int, int, int]:
    """Byte counts of a photo's sizes m, x, y (kept longer than the bytes)."""
    return (
        len(photo_bytes(seed, w, h, "m")),
        len(photo_bytes(seed, w, h, "x")),
        len(photo_bytes(seed, w, h, "y")),
    )


CHANNEL_PHOTO_SIDES = {"small": 160, "big": 640}
CHANNEL_PHOTO_TYPES = {"a": "small", "c": "big"}  # the Photo's size types


def channel_photo_bytes(seed: int, which: str) -> bytes:
    """The JPEG of a channel photo's ``small`` or ``big`` size (deterministic)."""
    side = CHANNEL_PHOTO_SIDES[which]
    return photo_bytes(seed ^ 0x5EED_C4A7, side, side, "y")


def channel_photo_files(photo: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The truth of a channel photo: ``{"big"|"small": {"size", "sha256"}}``."""
    if not photo:
        return {}
    out = {}
    for which in ("big", "small"):
        data = channel_photo_bytes(int(photo["seed"]), which)
        out[which] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    return out


def _mp4_header(size: int) -> bytes:
    ftyp = struct.pack(">I4s4sI", 24, b"ftyp", b"mp42", 0) + b"mp42isom"
    return ftyp + struct.pack(">I4s", size - len(ftyp), b"mdat")


def _block(spec: FileSpec, index: int) -> bytes:
    data = random.Random(f"{spec.seed}:{index}").randbytes(BLOCK)
    if index == 0:
        head = _mp4_header(spec.size) if spec.video else b""
        data = head + data[len(head) :]
    return data


def document_range(spec: FileSpec, offset: int, limit: int) -> bytes:
    """Bytes ``offset .. offset+limit`` of a document (clipped to its size)."""
    end = min(offset + limit, spec.size)
    if offset >= end:
        return b""
    if spec.path is not None:
        with open(spec.path, "rb") as f:
            f.seek(offset)
            return f.read(end - offset)
    parts: list[bytes] = []
    for index in range(offset // BLOCK, (end - 1) // BLOCK + 1):
        block = _block(spec, index)
        lo = max(offset - index * BLOCK, 0)
        hi = min(end - index * BLOCK, BLOCK)
        parts.append(block[lo:hi])
    return b"".join(parts)


def iter_document(spec: FileSpec) -> Iterator[bytes]:
    """Every byte of a document, block by block."""
    for offset in range(0, spec.size, BLOCK):
        yield document_range(spec, offset, BLOCK)


def file_bytes(spec: FileSpec, thumb_size: str) -> bytes | None:
    """A photo size's or a document thumbnail's bytes (None: no such size)."""
    if spec.kind == "photo":
        if thumb_size in ("m", "x", "y"):
            return spec_photo(spec, thumb_size)
        return None
    if thumb_size == "m" and spec.thumb:
        return spec_photo(spec, "m")
    return None


@functools.lru_cache(maxsize=4096)
def _document_sha(spec: FileSpec) -> str:
    h = hashlib.sha256()
    for block in iter_document(spec):
        h.update(block)
    return h.hexdigest()


def files_of(spec: FileSpec) -> list[dict[str, Any]]:
    """Every downloadable file of a spec with its SHA-256 (for the truth):
    ``role`` "file" for the full file (a photo's largest size), "thumb" for
    the preview a client shows (size ``m``), "size" for the other sizes."""
    out: list[dict[str, Any]] = []
    if spec.kind == "photo":
        for t, role in (("y", "file"), ("x", "size"), ("m", "thumb")):
            data = spec_photo(spec, t)
            out.append({"role": role, "thumb_size": t, "mime": "image/jpeg", "size": len(data),
                        "sha256": hashlib.sha256(data).hexdigest()})  # fmt: skip
        return out
    out.append({"role": "file", "thumb_size": "", "mime": spec.mime, "size": spec.size,
                "sha256": _document_sha(spec)})  # fmt: skip
    if spec.thumb:
        data = spec_photo(spec, "m")
        out.append({"role": "thumb", "thumb_size": "m", "mime": "image/jpeg", "size": len(data),
                    "sha256": hashlib.sha256(data).hexdigest()})  # fmt: skip
    return out


# -- TL constructors -------------------------------------------------------------


_serials = itertools.count(1)
"""Every file reference handed out has the next serial (process-wide, so a
reference issued after ``expire_references`` is never taken for an older one)."""


def file_reference(now: float | None = None) -> bytes:
    """A file reference handed out now: its issue time (ms) and serial."""
    ms = int((time.time() if now is None else now) * 1000)
    return struct.pack(">BQQ", 1, ms, next(_serials))


def _issued(ref: bytes) -> tuple[float, int] | None:
    """(issue time in seconds, serial) of a reference; None when not ours."""
    if len(ref) != 17 or ref[0] != 1:
        return None
    ms, serial = struct.unpack(">QQ", ref[1:])
    return int(ms) / 1000, int(serial)


def photo_tl(spec: FileSpec, date: datetime) -> types.Photo:
    """The ``Photo`` of a spec, each size with its real byte count."""
    sizes: list[Any] = [
        types.PhotoStrippedSize("i", b"\x01\x28\x28" + spec.seed.to_bytes(8, "little"))
    ]
    counts = spec_photo_sizes(spec)
    for (t, side), n in zip(PHOTO_SIZES, counts, strict=False):
        w, h = _scaled(spec.w, spec.h, side)
        sizes.append(types.PhotoSize(t, w, h, n))
    full = spec.size
    sizes.append(
        types.PhotoSizeProgressive("y", spec.w, spec.h, [full // 4 or 1, full // 2 or 1, full])
    )
    return types.Photo(
        id=spec.id,
        access_hash=spec.access_hash,
        file_reference=file_reference(),
        date=date,
        sizes=sizes,
        dc_id=2,
    )


def document_tl(spec: FileSpec, date: datetime, attributes: list[Any]) -> types.Document:
    """The ``Document`` of a spec (``attributes`` as the message's media says)."""
    thumbs: list[Any] | None = None
    if spec.thumb:
        w, h = _scaled(spec.w, spec.h, PHOTO_SIZES[0][1])
        thumbs = [types.PhotoSize("m", w, h, spec_photo_sizes(spec)[0])]
    return types.Document(
        id=spec.id,
        access_hash=spec.access_hash,
        file_reference=file_reference(),
        date=date,
        mime_type=spec.mime,
        size=spec.size,
        dc_id=2,
        attributes=attributes,
        thumbs=thumbs,
    )


# -- serving ---------------------------------------------------------------------


def check_range(offset: int, limit: int, precise: bool) -> None:
    """Telegram's offset/limit rules for upload.getFile (RpcFailure)."""
    if precise:
        if limit <= 0 or limit % KIB or limit > MIB:
            raise RpcFailure(400, "LIMIT_INVALID")
        if offset < 0:
            raise RpcFailure(400, "OFFSET_INVALID")
        return
    if limit <= 0 or limit % (4 * KIB) or MIB % limit:
        raise RpcFailure(400, "LIMIT_INVALID")
    if offset < 0 or offset % (4 * KIB) or offset // MIB != (offset + limit - 1) // MIB:
        raise RpcFailure(400, "OFFSET_INVALID")


class FileServer:
    """``upload.getFile`` over a World's messages.

    Files are found by id among the current media of every message (an index
    rebuilt when an id is not in it) and among media replaced by edits
    (``retire``): version 1's photo stays downloadable after an edit, with a
    reference that has not expired."""

    def __init__(self, world: World, *, reference_ttl: float = DEFAULT_TTL) -> None:
        self.world = world
        self.reference_ttl = reference_ttl
        self.expired_upto = 0  # references with a serial up to this one are expired
        self.migrated: dict[tuple[int, int], int] = {}
        self.served_bytes = 0
        self._index: dict[int, FileSpec] = {}
        self._retired: dict[int, FileSpec] = {}

    def expire_references(self) -> None:
        """Every file reference handed out so far expires now."""
        self.expired_upto = next(_serials)

    def migrate(self, channel_id: int, message_id: int, dc: int) -> None:
        """The message's files live on DC ``dc`` (FILE_MIGRATE_<dc> elsewhere)."""
        self.migrated[(channel_id, message_id)] = dc

    def retire(self, channel_id: int, msg: EmulatedMessage) -> None:
        """Keep the message's current media servable after an edit replaces it."""
        if msg.media:
            spec = spec_of(channel_id, msg.id, msg.media)
            if spec is not None:
                self._retired[spec.id] = spec

    def _find(self, file_id: int) -> tuple[FileSpec, bool] | None:
        """(spec, current) for a file id; current False for a retired file."""
        spec = self._index.get(file_id)
        if spec is None:
            self._index = {}
            for ch in self.world.channels.values():
                for m in ch.messages.values():
                    if m.media:
                        s = spec_of(ch.id, m.id, m.media)
                        if s is not None:
                            self._index[s.id] = s
            spec = self._index.get(file_id)
        if spec is not None:
            return spec, True
        old = self._retired.get(file_id)
        return (old, False) if old is not None else None

    def get_file(self, req: functions.upload.GetFileRequest, dc: int) -> types.upload.File:
        """Answer one upload.getFile from a key authorised on DC ``dc``."""
        check_range(int(req.offset), int(req.limit), bool(req.precise))
        loc = req.location
        if isinstance(loc, types.InputPeerPhotoFileLocation):
            return self._peer_photo(req, loc)
        if isinstance(loc, types.InputPhotoFileLocation) and self._channel_photo(int(loc.id)):
            return self._full_channel_photo(req, loc)
        if isinstance(loc, types.InputPhotoFileLocation):
            kind = "photo"
        elif isinstance(loc, types.InputDocumentFileLocation):
            kind = "document"
        else:
            raise RpcFailure(400, "LOCATION_INVALID")
        found = self._find(int(loc.id))
        if found is None or found[0].kind != kind or found[0].access_hash != loc.access_hash:
            raise RpcFailure(400, "FILE_ID_INVALID")
        spec, current = found
        home = self.migrated.get((spec.channel_id, spec.message_id), 2)
        if home != dc:
            raise RpcFailure(303, f"FILE_MIGRATE_{home}")
        if not loc.file_reference:
            raise RpcFailure(400, "FILE_REFERENCE_EMPTY")
        issued = _issued(bytes(loc.file_reference))
        now = time.time()
        if (
            issued is None
            or issued[1] <= self.expired_upto
            or now - issued[0] > self.reference_ttl
            or (current and self._deleted(spec))
        ):
            raise RpcFailure(400, "FILE_REFERENCE_EXPIRED")
        offset, limit = int(req.offset), int(req.limit)
        thumb = str(loc.thumb_size or "")
        if spec.kind == "document" and thumb == "":
            data = document_range(spec, offset, limit)
            ftype: Any = types.storage.FileMp4() if spec.video else types.storage.FileUnknown()
        else:
            whole = file_bytes(spec, thumb)
            if whole is None:
                raise RpcFailure(400, "LOCATION_INVALID")
            data = whole[offset : offset + limit]
            ftype = types.storage.FileJpeg()
        self.served_bytes += len(data)
        return types.upload.File(type=ftype, mtime=int(now), bytes=data)

    def _channel_photo(self, photo_id: int) -> tuple[int, int] | None:
        """(channel id, seed) of the channel whose current photo is ``photo_id``."""
        for ch in self.world.channels.values():
            if ch.photo and int(ch.photo["id"]) == photo_id:
                return ch.id, int(ch.photo["seed"])
        return None

    def _photo_answer(self, req: functions.upload.GetFileRequest, data: bytes) -> Any:
        offset, limit = int(req.offset), int(req.limit)
        chunk = data[offset : offset + limit]
        self.served_bytes += len(chunk)
        return types.upload.File(type=types.storage.FileJpeg(), mtime=int(time.time()), bytes=chunk)

    def _peer_photo(
        self, req: functions.upload.GetFileRequest, loc: types.InputPeerPhotoFileLocation
    ) -> Any:
        """A peer's current profile photo (big or small), as Telegram serves it."""
        peer = loc.peer
        if not isinstance(peer, types.InputPeerChannel):
            raise RpcFailure(400, "PEER_ID_INVALID")
        ch = self.world.checked(int(peer.channel_id), int(peer.access_hash))
        if not ch.photo or int(ch.photo["id"]) != int(loc.photo_id):
            raise RpcFailure(400, "PHOTO_ID_INVALID")
        which = "big" if loc.big else "small"
        return self._photo_answer(req, channel_photo_bytes(int(ch.photo["seed"]), which))

    def _full_channel_photo(
        self, req: functions.upload.GetFileRequest, loc: types.InputPhotoFileLocation
    ) -> Any:
        """A size (``a`` small, ``c`` big) of a channel's full ``Photo``."""
        found = self._channel_photo(int(loc.id))
        assert found is not None
        if int(loc.access_hash) != int(loc.id) & 0x7FFFFFFFFFFFFFFF:
            raise RpcFailure(400, "FILE_ID_INVALID")
        if not loc.file_reference:
            raise RpcFailure(400, "FILE_REFERENCE_EMPTY")
        issued = _issued(bytes(loc.file_reference))
        if (
            issued is None
            or issued[1] <= self.expired_upto
            or time.time() - issued[0] > self.reference_ttl
        ):
            raise RpcFailure(400, "FILE_REFERENCE_EXPIRED")
        which = CHANNEL_PHOTO_TYPES.get(str(loc.thumb_size or ""))
        if which is None:
            raise RpcFailure(400, "LOCATION_INVALID")
        return self._photo_answer(req, channel_photo_bytes(found[1], which))

    def _deleted(self, spec: FileSpec) -> bool:
        ch = self.world.channels.get(spec.channel_id)
        msg = ch.messages.get(spec.message_id) if ch is not None else None
        return msg is None or msg.deleted

    def truth(self, channel_id: int, msg: EmulatedMessage) -> list[dict[str, Any]]:
        """The files of a message's current media with their SHA-256."""
        if not msg.media:
            return []
        spec = spec_of(channel_id, msg.id, msg.media)
        return [] if spec is None else files_of(spec)

    def annotate(self, truth: dict[str, Any]) -> dict[str, Any]:
        """Add ``files`` (role, thumb_size, mime, size, sha256) to every
        message of a truth dump whose media has files, and ``retired_files``
        (media replaced by edits) to its channel."""
        for ch_out in truth.get("channels", []):
            ch = self.world.channels.get(ch_out["id"])
            if ch is None:
                continue
            for m_out in ch_out.get("messages", []):
                msg = ch.messages.get(m_out["id"])
                if msg is not None and msg.media:
                    m_out["files"] = self.truth(ch.id, msg)
            if ch.photo:
                ch_out["photo_files"] = channel_photo_files(ch.photo)
            retired = [s for s in self._retired.values() if s.channel_id == ch.id]
            if retired:
                ch_out["retired_files"] = [
                    {"message_id": s.message_id, "files": files_of(s)}
                    for s in sorted(retired, key=lambda s: (s.message_id, s.id))
                ]
        return truth
