"""Telegram Desktop JSON exports (``result.json``) → archive events.

``iter_export`` streams one export: a small incremental parser of our own
finds the top-level ``messages`` array and decodes one message at a time
with the C JSON scanner, so memory stays bounded by the largest single
message, not the file (a 2 GB export needs a few MB). ``import_paths``
writes each file in one transaction: all of it or nothing.

Export facts relied on: ``date`` is local time without offset, so the UTC
truth is ``date_unixtime``; ``text`` is a string or an array of strings and
``{"type", "text"}`` objects; ``text_entities`` lists every run (``plain``
included) whose texts concatenate to the plain text. Desktop exports carry
no public username: it comes from ``--username`` or from the folder name in
the ``channels/<username>/result.json`` layout.
"""

from __future__ import annotations

import json
import logging
import math
import multiprocessing
import os
import re
import signal
import time
import uuid
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from queue import Empty, Full
from typing import IO, Any, TypeVar

from telewatch import __version__
from telewatch.models import (
    CaptureStarted,
    Channel,
    ChannelActionSeen,
    ChannelSeen,
    Engagement,
    Entity,
    Event,
    ForwardOrigin,
    Media,
    MediaKind,
    Poll,
    PollSeen,
    Post,
    PostDeleted,
    PostSeen,
    UserError,
)
from telewatch.sources.export_events import export_action, export_poll
from telewatch.sources.export_media import ExportMedia, MediaSummary
from telewatch.store import media as media_store
from telewatch.store.db import Connection, is_disk_full, iso, write_transaction
from telewatch.store.importing import ImportSession, live_count, live_ids_between
from telewatch.store.writer import PreparedPost, apply_events, prepare_fields, write_prepared

ExportItem = ChannelSeen | PostSeen
log = logging.getLogger("telewatch.import")
_T = TypeVar("_T")
USERNAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
CHUNK_CHARS = 1 << 18
MAX_MESSAGE_CHARS = 64 << 20  # one message larger than this is not an export
BATCH = 2000
QUEUE_BATCHES = 4  # prepared batches in flight between parser and writer
# Files from this size are parsed in a forked child process (where fork exists).
PARALLEL_MIN_BYTES = int(os.environ.get("TELEWATCH_IMPORT_PARALLEL_BYTES", 8 << 20))

_WS = re.compile(r"[ \t\n\r]*")
_decoder = json.JSONDecoder()


class ExportError(UserError):
    """The file is not a readable Telegram Desktop export (message names the
    file and the line/column)."""


class ImportStopped(Exception):
    """The import was asked to stop (``stopping``: SIGTERM, SIGINT) between
    two batches: the file being imported was rolled back (``post``: how many
    of its posts had been read), the ``files_done`` before it stay imported.
    The same import run again resumes: what is archived is not written twice."""

    def __init__(self, path: Path, post: int, files_done: int) -> None:
        super().__init__(f"import stopped at file {path}, post {post}")
        self.path = path
        self.post = post
        self.files_done = files_done


class _Stream:
    """A growing window over a text file with line/column bookkeeping."""

    def __init__(self, fh: IO[str], path: Path) -> None:
        self.fh = fh
        self.path = path
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.lines_before = 0  # newlines in text already dropped from buf
        self.chars_before = 0
        self.chunk = CHUNK_CHARS

    def where(self, pos: int | None = None) -> str:
        p = self.pos if pos is None else pos
        line = self.lines_before + self.buf.count("\n", 0, p) + 1
        col = p - self.buf.rfind("\n", 0, p)
        if self.buf.rfind("\n", 0, p) < 0 and self.lines_before:
            col = p + 1  # column count restarts at the window start; close enough
        return f"line {line}, column {col}"

    def fail(self, what: str, pos: int | None = None) -> ExportError:
        return ExportError(f"{self.path}: {what} at {self.where(pos)}")

    def more(self) -> bool:
        """Read another chunk; False at end of file."""
        if self.eof:
            return False
        if self.pos > 0:
            dropped = self.buf[: self.pos]
            self.lines_before += dropped.count("\n")
            self.chars_before += len(dropped)
            self.buf = self.buf[self.pos :]
            self.pos = 0
        try:
            data = self.fh.read(self.chunk)
        except UnicodeDecodeError as err:
            raise ExportError(
                f"{self.path}: not UTF-8 text ({err.reason}) after {self.where(len(self.buf))}"
            ) from None
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def skip_ws(self) -> None:
        while True:
            m = _WS.match(self.buf, self.pos)
            assert m is not None
            self.pos = m.end()
            if self.pos < len(self.buf) or not self.more():
                return

    def peek(self) -> str:
        self.skip_ws()
        return self.buf[self.pos] if self.pos < len(self.buf) else ""

    def expect(self, ch: str, what: str) -> None:
        got = self.peek()
        if got != ch:
            if not got:
                raise self.fail(f"file ends early (truncated export?), expected {what}")
            raise self.fail(f"expected {what}, found {got!r}")
        self.pos += 1

    def value(self) -> Any:
        """Decode one JSON value at the cursor, reading more as needed."""
        return self.value_and_text()[0]

    def value_and_text(self) -> tuple[Any, str]:
        """Decode one JSON value at the cursor; also its exact text in the file."""
        self.skip_ws()
        self.chunk = CHUNK_CHARS
        while True:
            try:
                obj, end = _decoder.raw_decode(self.buf, self.pos)
            except RecursionError:
                # A "nesting bomb" ([[[[…]]]]): no export nests this deep.
                raise self.fail("JSON nested too deeply (not a Telegram export)") from None
            except json.JSONDecodeError as err:
                # Incomplete only if the error is at the end of what we have.
                if not self.eof and self._incomplete(err):
                    pending = len(self.buf) - self.pos
                    if pending > MAX_MESSAGE_CHARS:
                        raise self.fail("a single JSON value larger than 64 MB") from None
                    if pending > self.chunk // 2:
                        # One value bigger than our window: grow the reads with it.
                        self.chunk = min(self.chunk * 2, 16 << 20)
                    if self.more():
                        continue
                if self.eof and self._incomplete(err):
                    raise self.fail("file ends early (truncated export?)", err.pos) from None
                raise self.fail(f"invalid JSON ({err.msg})", err.pos) from None
            # A number at the very end of the buffer may continue in the next chunk.
            if (
                end == len(self.buf)
                and not self.eof
                and not isinstance(obj, dict | list | str)
                and self.more()
            ):
                continue
            text = self.buf[self.pos : end]
            self.pos = end
            return obj, text

    def _incomplete(self, err: json.JSONDecodeError) -> bool:
        # Unterminated strings report the string's start; any other error
        # within a few characters of the window's end (a cut literal such as
        # "tru", a missing delimiter) may just need more data.
        return err.msg.startswith("Unterminated string") or err.pos >= len(self.buf) - 8


# --------------------------------------------------------------------------
# Message conversion
# --------------------------------------------------------------------------


# Telegram's first public release was in August 2013: an earlier date is
# not a Telegram date. A capture may run a little ahead of the clock.
MIN_UNIXTIME = 1356998400  # 2013-01-01T00:00:00Z
CLOCK_SKEW_S = 86400
MAX_ID = 2**63 - 1  # ids are signed 64-bit in SQLite and in Telegram's TL layer
MAX_COUNT = 2**53  # sizes, dimensions, counters: exact in JSON doubles


def _check_unixtime(value: Any, name: str) -> int:
    """``value`` (an int or a string of digits, as exports write it) as a
    Unix time within Telegram's lifetime; ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{name} is {type(value).__name__}, expected a Unix time")
    if isinstance(value, str) and (not value.isascii() or not value.isdigit() or len(value) > 12):
        raise ValueError(f"{name} {value[:40]!r} is not a Unix time")
    when = int(value)
    latest = int(time.time()) + CLOCK_SKEW_S
    if not MIN_UNIXTIME <= when <= latest:
        raise ValueError(f"{name} {when} is outside Telegram's lifetime (2013 to now)")
    return when


def _check_count(msg: dict[str, Any], name: str) -> None:
    value = msg.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise ValueError(f"{name} {_short(value)} is not a whole number from 0 to 2**53")


def _check_str(msg: dict[str, Any], name: str) -> None:
    value = msg.get(name)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{name} is {type(value).__name__}, expected text")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


_STR_FIELDS = (
    "author", "mime_type", "file_name", "photo", "file", "forwarded_from",
    "forwarded_from_id", "media_type", "date", "thumbnail",
)  # fmt: skip
_COUNT_FIELDS = ("width", "height", "photo_file_size", "file_size")


def validate_message(msg: dict[str, Any]) -> None:
    """Check the fields of one export message that the archive stores
    against Telegram's own limits (ids, dates, sizes, types), so that
    nothing stored can later crash a reader. Raises ValueError naming the
    field and the problem."""
    for name in _STR_FIELDS:
        _check_str(msg, name)
    for name in _COUNT_FIELDS:
        _check_count(msg, name)
    if "date_unixtime" in msg:
        _check_unixtime(msg["date_unixtime"], "date_unixtime")
    elif "date" in msg:
        try:
            when = datetime.fromisoformat(msg["date"])
        except ValueError:
            raise ValueError(f"date {_short(msg['date'])} is not an ISO time") from None
        _check_unixtime(int(when.replace(tzinfo=UTC).timestamp()), "date")
    else:
        raise ValueError("no date_unixtime or date")
    if msg.get("edited_unixtime"):
        _check_unixtime(msg["edited_unixtime"], "edited_unixtime")
    dur = msg.get("duration_seconds")
    if dur is not None and (
        isinstance(dur, bool)
        or not isinstance(dur, int | float)
        or not math.isfinite(dur)
        or not 0 <= dur <= MAX_COUNT
    ):
        raise ValueError(f"duration_seconds {_short(dur)} is not a finite number of seconds")
    reply = msg.get("reply_to_message_id")
    if reply is not None and (
        isinstance(reply, bool) or not isinstance(reply, int) or not 0 < reply <= MAX_ID
    ):
        raise ValueError(f"reply_to_message_id {_short(reply)} is not a message id")
    text = msg.get("text", "")
    if not isinstance(text, str | list):
        raise ValueError(f"text is {type(text).__name__}, expected text or a list of runs")
    runs = msg.get("text_entities")
    for run in runs if runs is not None else (text if isinstance(text, list) else ()):
        if isinstance(run, str):
            continue
        if not isinstance(run, dict):
            raise ValueError(f"a text run is {type(run).__name__}, expected an object")
        for key in ("text", "type", "href"):
            if run.get(key) is not None and not isinstance(run[key], str):
                raise ValueError(f"a text run's {key} is {type(run[key]).__name__}, expected text")
    reactions = msg.get("reactions")
    if isinstance(reactions, list):
        for r in reactions:
            if not isinstance(r, dict):
                raise ValueError(f"a reaction is {type(r).__name__}, expected an object")
            _check_count(r, "count")
            for key in ("emoji", "document_id", "type"):
                _check_str(r, key)


def _utf16_len(s: str) -> int:
    if s.isascii():
        return len(s)
    return len(s.encode("utf-16-le")) // 2


def _text_and_entities(msg: dict[str, Any]) -> tuple[str, tuple[Entity, ...]]:
    runs = msg.get("text_entities")
    if runs is None:
        raw = msg.get("text", "")
        if isinstance(raw, str):
            return raw, ()
        runs = [{"type": "plain", "text": r} if isinstance(r, str) else r for r in raw]
    if not isinstance(runs, list):
        raise ValueError("text_entities is not a list")
    parts: list[str] = []
    entities: list[Entity] = []
    offset = 0
    for run in runs:
        text = run.get("text", "")
        if not isinstance(text, str):
            raise ValueError("an entity's text is not a string")
        kind = run.get("type", "plain")
        n = _utf16_len(text)
        if kind != "plain" and n:
            url = run.get("href")
            entities.append(Entity(type=str(kind), offset=offset, length=n, url=url))
        parts.append(text)
        offset += n
    return "".join(parts), tuple(entities)


def _file_name(value: Any) -> str | None:
    if not isinstance(value, str) or value.startswith("(File not included"):
        return None
    return os.path.basename(value) or None


_MEDIA_TYPES: dict[str, MediaKind] = {
    "video_file": "video",
    "video_message": "video",
    "voice_message": "voice",
    "audio_file": "audio",
    "sticker": "sticker",
    "animation": "animation",
}


def _media(msg: dict[str, Any]) -> Media | None:
    if "photo" in msg:
        return Media(
            kind="photo",
            size=msg.get("photo_file_size"),
            width=msg.get("width"),
            height=msg.get("height"),
            file_name=_file_name(msg.get("photo")),
        )
    if "file" in msg or "media_type" in msg:
        kind = _MEDIA_TYPES.get(str(msg.get("media_type", "")), "document")
        dur = msg.get("duration_seconds")
        return Media(
            kind=kind,
            mime=msg.get("mime_type"),
            size=msg.get("file_size"),
            duration=float(dur) if dur is not None else None,
            width=msg.get("width"),
            height=msg.get("height"),
            file_name=msg.get("file_name") or _file_name(msg.get("file")),
        )
    if "poll" in msg:
        return Media(kind="poll")
    if "location_information" in msg:
        return Media(kind="geo")
    if "contact_information" in msg:
        return Media(kind="contact")
    return None


def _epoch(value: Any) -> datetime:
    return datetime.fromtimestamp(int(value), UTC)


def _date(msg: dict[str, Any]) -> datetime:
    if "date_unixtime" in msg:
        return _epoch(msg["date_unixtime"])
    # Old exports without unixtime: the local time is all there is; keep it as UTC.
    return datetime.fromisoformat(str(msg["date"])).replace(tzinfo=UTC)


def _forward(msg: dict[str, Any]) -> ForwardOrigin | None:
    name = msg.get("forwarded_from")
    fid = msg.get("forwarded_from_id")
    if name is None and fid is None:
        return None
    cid = None
    if isinstance(fid, str) and fid.startswith("channel") and fid[7:].isdigit():
        cid = int(fid[7:])
    return ForwardOrigin(channel_id=cid, name=name)


def _reactions(msg: dict[str, Any]) -> Engagement | None:
    rs = msg.get("reactions")
    if not isinstance(rs, list) or not rs:
        return None
    out = []
    for r in rs:
        key = r.get("emoji") or r.get("document_id") or r.get("type")
        if key is not None and isinstance(r.get("count"), int):
            out.append((str(key), r["count"]))
    return Engagement(reactions=tuple(out)) if out else None


def _message_id(msg: dict[str, Any]) -> int:
    mid = msg["id"]
    if isinstance(mid, bool) or not isinstance(mid, int) or not 0 < mid <= MAX_ID:
        raise ValueError(f"id {_short(mid)} is not a message id (1 to 2**63-1)")
    validate_message(msg)
    return mid


def _reply_to(msg: dict[str, Any]) -> int | None:
    reply = msg.get("reply_to_message_id")
    return reply if isinstance(reply, int) else None


def message_to_post(msg: dict[str, Any], channel_id: int) -> Post:
    """One export message (``"type": "message"``) as a Post. Raises
    ValueError/KeyError/TypeError for a malformed message."""
    mid = _message_id(msg)
    text, entities = _text_and_entities(msg)
    edited = msg.get("edited_unixtime")
    return Post(
        channel_id=channel_id,
        message_id=mid,
        date=_date(msg),
        text=text,
        entities=entities,
        media=_media(msg),
        reply_to=_reply_to(msg),
        forward=_forward(msg),
        edit_date=_epoch(edited) if edited else None,
        post_author=msg.get("author"),
        engagement=_reactions(msg),
    )


def _epoch_iso(value: Any) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(value)))


def message_to_prepared(
    msg: dict[str, Any],
    channel_id: int,
    seen: str,
    raw: bytes | None = None,
    capture_id: str | None = None,
) -> PreparedPost:
    """``prepare_post(PostSeen(message_to_post(msg, channel_id), ...))``
    without the intermediate objects (the bulk import path); ``raw`` is the
    message's JSON text as exported (the evidentiary copy). Raises
    ValueError/KeyError/TypeError for a malformed message."""
    mid = _message_id(msg)
    text, entities = _text_and_entities(msg)
    edited = msg.get("edited_unixtime")
    unix = msg.get("date_unixtime")
    return prepare_fields(
        channel_id,
        mid,
        _epoch_iso(unix) if unix is not None else iso(_date(msg)),
        text,
        entities,
        _media(msg),
        seen,
        _epoch_iso(edited) if edited else None,
        "import",
        reply_to=_reply_to(msg),
        forward=_forward(msg),
        post_author=msg.get("author"),
        engagement=_reactions(msg),
        raw=raw,
        raw_format="export-json" if raw is not None else None,
        capture_id=capture_id,
    )


def username_for(path: Path, username: str | None = None) -> str | None:
    """``username`` (validated, '@' stripped) or, for the layout
    ``channels/<username>/result.json``, the folder name when valid."""
    if username:
        u = username.lstrip("@")
        if not USERNAME_RE.fullmatch(u):
            raise UserError(
                f"--username {username!r} is not a Telegram username (5-32 letters, digits, _)"
            )
        return u
    folder = path.resolve().parent
    if folder.parent.name == "channels" and USERNAME_RE.fullmatch(folder.name):
        return folder.name
    return None


class ExportReader:
    """Iterator over one export's events: ChannelSeen first, then one
    PostSeen(source="import") per message. Counts ``messages`` and
    ``service`` (skipped service messages) as it goes; ``position`` is the
    number of characters read so far."""

    def __init__(
        self, path: Path, *, username: str | None = None, capture_id: str | None = None
    ) -> None:
        self.path = Path(path)
        self.capture_id = capture_id  # the import's capture session (CaptureStarted.id)
        self.username = username_for(self.path, username)
        self.messages = 0
        self.service = 0
        self.skipped = 0  # malformed polls and service messages (counted, not imported)
        # Polls ((message id, Poll)) and service messages read since the last
        # ``take_extras`` (sources/export_events.py).
        self.extras: list[tuple[int, Poll] | ChannelActionSeen] = []
        self.channel: Channel | None = None
        self.seen_at = datetime.now(UTC).replace(microsecond=0)
        self._fh: IO[str] | None = None
        self._it: Iterator[ExportItem] | None = None
        self._end = 0

    @property
    def position(self) -> int:
        """Bytes of the file consumed so far (for progress)."""
        if self._fh is None:
            return 0
        if self._fh.closed:
            return self._end
        return int(self._fh.buffer.tell())  # type: ignore[attr-defined]

    def __iter__(self) -> Iterator[ExportItem]:
        return self

    def __next__(self) -> ExportItem:
        if self._it is None:
            self._it = self._items(self._post_seen)
        return next(self._it)

    def take_extras(self) -> list[tuple[int, Poll] | ChannelActionSeen]:
        """The polls and service messages read since the last call."""
        out, self.extras = self.extras, []
        return out

    def _extras_of(self, msg: dict[str, Any], channel_id: int) -> None:
        """Keep a message's poll or a service message's action (a malformed
        one is counted in ``skipped``, never fatal)."""
        try:
            if msg.get("type", "message") == "message":
                self.extras.append((int(msg["id"]), export_poll(msg)))
            else:
                self.extras.append(export_action(msg, channel_id, self.seen_at))
        except (KeyError, ValueError, TypeError, OverflowError) as err:
            self.skipped += 1
            log.warning(
                "skipped a malformed %s in %s: %s",
                "poll" if "poll" in msg else "service message",
                self.path,
                err,
            )

    def _post_seen(self, msg: dict[str, Any], channel_id: int, raw: str) -> PostSeen:
        return PostSeen(
            message_to_post(msg, channel_id),
            self.seen_at,
            source="import",
            raw=raw.encode(),
            raw_format="export-json",
            capture_id=self.capture_id,
        )

    def prepared(self) -> Iterator[ChannelSeen | PreparedPost]:
        """Like iterating, but posts come as store PreparedPost values (the
        import path: no intermediate Post objects)."""
        seen = iso(self.seen_at)
        cap = self.capture_id
        return self._items(
            lambda msg, cid, raw: message_to_prepared(msg, cid, seen, raw.encode(), cap)
        )

    def _items(
        self, convert: Callable[[dict[str, Any], int, str], _T]
    ) -> Iterator[ChannelSeen | _T]:
        try:
            fh = open(self.path, encoding="utf-8")  # noqa: SIM115 - closed in finally
        except OSError as err:
            raise UserError(f"cannot read export {self.path}: {err.strerror}") from None
        self._fh = fh
        try:
            yield from self._parse(_Stream(fh, self.path), convert)
        finally:
            self._end = int(fh.buffer.tell())  # type: ignore[attr-defined]
            fh.close()

    def _parse(
        self, s: _Stream, convert: Callable[[dict[str, Any], int, str], _T]
    ) -> Iterator[ChannelSeen | _T]:
        s.more()
        if s.buf.startswith("\ufeff"):
            s.pos = 1
        s.expect("{", "a JSON object (a Telegram Desktop result.json)")
        header: dict[str, Any] = {}
        first = True
        while True:
            if s.peek() == "}":
                s.pos += 1
                break
            if not first:
                s.expect(",", "',' or '}'")
            first = False
            key_pos = s.pos
            key = s.value()
            if not isinstance(key, str):
                raise s.fail("expected a key", key_pos)
            s.expect(":", "':'")
            if key != "messages":
                header[key] = s.value()
                continue
            self.channel = self._channel(header, s)
            yield ChannelSeen(self.channel, self.seen_at)
            yield from self._messages(s, self.channel.id, convert)
        if self.channel is None:
            raise s.fail('no "messages" list: not a single-chat Telegram Desktop export')
        s.skip_ws()
        if s.pos < len(s.buf):
            raise s.fail("unexpected data after the export's closing brace")

    def _channel(self, header: dict[str, Any], s: _Stream) -> Channel:
        cid = header.get("id")
        if isinstance(cid, bool) or not isinstance(cid, int) or not 0 < cid <= MAX_ID:
            raise s.fail(
                'no channel "id" before "messages": not a single-chat Telegram Desktop export'
            )
        title = header.get("name")
        if isinstance(title, str) and len(title) > 4096:
            title = title[:4096]  # Telegram allows 128 characters
        return Channel(
            id=cid, title=title if isinstance(title, str) else None, username=self.username
        )

    def _messages(
        self, s: _Stream, channel_id: int, convert: Callable[[dict[str, Any], int, str], _T]
    ) -> Iterator[_T]:
        s.expect("[", "'[' (the messages list)")
        if s.peek() == "]":
            s.pos += 1
            return
        while True:
            at = s.pos
            msg, raw = s.value_and_text()
            if not isinstance(msg, dict):
                raise s.fail("a message is not a JSON object", at)
            kind = msg.get("type", "message")
            if kind == "message":
                try:
                    item = convert(msg, channel_id, raw)
                except (KeyError, ValueError, TypeError, AttributeError) as err:
                    what = f"missing field {err}" if isinstance(err, KeyError) else str(err)
                    raise s.fail(
                        f"malformed message {_short(msg.get('id'))} ({what}); nothing imported"
                        " from this file",
                        at,
                    ) from None
                self.messages += 1
                if "poll" in msg:
                    self._extras_of(msg, channel_id)
                yield item
            else:
                self.service += 1
                if kind == "service":
                    self._extras_of(msg, channel_id)
            nxt = s.peek()
            if nxt == ",":
                s.pos += 1
            elif nxt == "]":
                s.pos += 1
                return
            elif not nxt:
                raise s.fail("file ends early (truncated export?), expected ',' or ']'")
            else:
                raise s.fail(f"expected ',' or ']' after a message, found {nxt!r}")


def iter_export(path: Path, *, username: str | None = None) -> Iterator[ExportItem]:
    """Stream one export's events (see ExportReader, which also counts)."""
    return ExportReader(path, username=username)


# --------------------------------------------------------------------------
# Import into the archive
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class FileSummary:
    """What importing one export did."""

    path: Path
    channel_id: int
    username: str | None
    title: str | None
    messages: int
    service: int
    new_posts: int
    new_versions: int
    # Polls and service messages not imported because they were malformed.
    skipped: int = 0
    # Archived posts inside this export's id range that it no longer has:
    # deleted since the archive captured them (tombstones, method "import").
    found_deleted: int = 0
    # Deletions the export implies but that were NOT recorded: more than
    # MASS_DELETION_SHARE of the channel's live archived posts (and more than
    # MASS_DELETION_MIN) looks like a partial or crafted export.
    held_deletions: int = 0
    live_posts: int = 0  # the channel's archived, not deleted posts when gaps were judged
    # Inferred deletions withdrawn because this export has the post.
    revived: int = 0
    media: MediaSummary | None = None  # the export's media files (sources/export_media.py)

    @property
    def unchanged(self) -> int:
        """Messages already archived with the same content."""
        return self.messages - self.new_versions


@dataclass
class ImportSummary:
    """Per-file summaries of one ``import_paths`` call, in order."""

    files: list[FileSummary] = field(default_factory=list)

    @property
    def messages(self) -> int:
        """Messages read across all files (service messages excluded)."""
        return sum(f.messages for f in self.files)

    @property
    def new_posts(self) -> int:
        """Posts the archive did not have before."""
        return sum(f.new_posts for f in self.files)

    @property
    def new_versions(self) -> int:
        """Versions written (first versions of new posts included)."""
        return sum(f.new_versions for f in self.files)

    @property
    def found_deleted(self) -> int:
        """Archived posts the exports show as deleted since (tombstones written)."""
        return sum(f.found_deleted for f in self.files)

    @property
    def held_deletions(self) -> int:
        """Deletions implied but not recorded (too many: see FileSummary)."""
        return sum(f.held_deletions for f in self.files)

    @property
    def revived(self) -> int:
        """Inferred deletions withdrawn: the exports have those posts."""
        return sum(f.revived for f in self.files)


def import_paths(
    db: Path,
    paths: Sequence[Path],
    *,
    username: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    record_mass_deletions: bool = False,
    media_root: Path | None = None,
    stopping: Callable[[], bool] | None = None,
) -> ImportSummary:
    """Import Telegram Desktop exports into the archive at ``db`` (created
    or migrated as needed).

    Each file is one transaction: a truncated or invalid file raises
    UserError naming the file and line/column, and the archive (content and
    hash chain) is exactly as before that file; files before it stay
    imported. Re-importing an export changes nothing; changed text adds
    versions. ``username`` applies to a single file only. ``progress`` is
    called with (bytes done, bytes total) over all files.

    Posts missing from inside an export's id range are recorded as deleted
    (method ``import``), unless they are more than MASS_DELETION_SHARE of
    the channel's live archived posts and more than MASS_DELETION_MIN: then
    they are counted in ``held_deletions`` and not recorded unless
    ``record_mass_deletions``.

    The files the messages name (``photo``, ``file``, ``thumbnail``, relative
    to the export's folder) are stored in the media store at ``media_root``
    (default: ``media/`` beside the archive) and their placeholders recorded
    as not in the export (sources/export_media.py); a path leading outside
    the folder is a UserError and that file is not imported.

    ``stopping`` (the CLI's SIGTERM/SIGINT) is asked between two batches of
    posts: once it says True, the current file's transaction is rolled back
    and ImportStopped raised (a file whose posts are all written is finished
    first); the files before it stay imported."""
    paths = [Path(p) for p in paths]
    if username and len(paths) > 1:
        raise UserError("--username names one channel: import one file at a time with it")
    for p in paths:
        if p.is_dir():
            inner = p / "result.json"
            hint = f"import {inner}" if inner.is_file() else "give the result.json inside it"
            raise UserError(f"export {p} is a folder, not an export file; {hint}")
        if not p.is_file():
            raise UserError(f"export {p} does not exist or is not a file")
    for p in paths:
        # Parse up to each file's first message before creating or opening
        # anything: a file that is not an export leaves no archive behind.
        _check_start(p, username)
    total = sum(p.stat().st_size for p in paths)
    summary = ImportSummary()
    done = 0
    # The store's import session: a large page cache and, when nobody else
    # has the archive open, bulk mode (store/importing.py, SCHEMA.md).
    # None: a PostgreSQL archive without [media] root (ExportMedia fails at a file).
    root = media_store.optional_root(db, media_root)
    with ImportSession(db) as session:
        for p in paths:
            if stopping is not None and stopping():
                raise ImportStopped(p, 0, len(summary.files))
            try:
                summary.files.append(
                    _import_one(
                        session.conn,
                        p,
                        username,
                        done,
                        total,
                        progress,
                        record_mass_deletions,
                        root,
                        stopping,
                    )
                )
            except _Stopped as stop:
                raise ImportStopped(p, stop.post, len(summary.files)) from None
            done += p.stat().st_size
            if progress:
                progress(done, total)
    return summary


class _Stopped(BaseException):
    """``_import_one`` stopped between two batches (rolled back); ``post``:
    how many of the file's posts had been read."""

    def __init__(self, post: int) -> None:
        super().__init__(post)
        self.post = post


def _check_start(path: Path, username: str | None) -> None:
    """Parse ``path`` up to its first message (or its empty message list);
    raises ExportError/UserError as a full import would."""
    items = ExportReader(path, username=username).prepared()
    try:
        for item in items:
            if not isinstance(item, ChannelSeen):
                break
    finally:
        if isinstance(items, Generator):
            items.close()


# Messages between the parsing side and the writing side of an import:
# ("channel", ChannelSeen) | ("posts", [PreparedPost], bytes read)
# | ("done", messages, service) | ("error", one-line message).
_Msg = tuple[Any, ...]


def _produce(path: Path, username: str | None, capture_id: str | None) -> Iterator[_Msg]:
    """Parse one export and prepare its posts (the CPU-heavy half)."""
    reader = ExportReader(path, username=username, capture_id=capture_id)
    batch: list[PreparedPost] = []
    try:
        for item in reader.prepared():
            if isinstance(item, ChannelSeen):
                yield ("channel", item)
                continue
            batch.append(item)
            if len(batch) >= BATCH:
                yield ("posts", batch, reader.position)
                yield ("extras", reader.take_extras())
                batch = []
        yield ("posts", batch, reader.position)
        yield ("extras", reader.take_extras())
        yield ("done", reader.messages, reader.service, reader.skipped)
    except UserError as err:
        yield ("error", str(err))


def _produce_into(
    path: Path, username: str | None, capture_id: str | None, queue: Any, parent: int
) -> None:
    """Child-process entry point: run ``_produce`` into a queue. Exits as
    soon as the parent (pid ``parent``) is gone, e.g. killed with SIGKILL:
    nobody would read the queue, and an orphan would block on it forever.
    The parent's signal handlers (forked) are dropped: SIGINT (Ctrl-C reaches
    the whole process group) is the parent's to handle, and SIGTERM ends
    the child (the parent's ``terminate``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)

    def put(msg: _Msg) -> None:
        while True:
            try:
                queue.put(msg, timeout=0.5)
                return
            except Full:
                if os.getppid() != parent:
                    os._exit(1)

    try:
        for msg in _produce(path, username, capture_id):
            if msg[0] == "posts":
                # Plain tuples pickle about twice as fast as NamedTuples.
                msg = ("posts", [tuple(p) for p in msg[1]], msg[2])
            put(msg)
    except BaseException as err:  # reported to the parent, never silently lost
        put(("error", f"{path}: {type(err).__name__}: {err}"))


def _produced_elsewhere(path: Path, username: str | None, capture_id: str | None) -> Iterator[_Msg]:
    """``_produce`` run in a child process: parsing and preparing overlap
    with the parent's SQLite writes (two cores for large imports)."""
    # fork: the child needs nothing but this module's code and the queue,
    # and unlike spawn it does not re-run the caller's __main__ (a script
    # calling import_paths at top level would otherwise start itself again).
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue(maxsize=QUEUE_BATCHES)
    proc = ctx.Process(
        target=_produce_into, args=(path, username, capture_id, queue, os.getpid()), daemon=True
    )
    proc.start()
    try:
        while True:
            try:
                msg = queue.get(timeout=1.0)
            except Empty:
                if not proc.is_alive():
                    raise UserError(
                        f"{path}: the import's parser process died (exit code {proc.exitcode})"
                    ) from None
                continue
            if msg[0] == "posts":
                msg = ("posts", [PreparedPost._make(t) for t in msg[1]], msg[2])
            yield msg
            if msg[0] in ("done", "error"):
                return
    finally:
        if proc.is_alive():
            proc.terminate()
        proc.join(timeout=10)
        queue.close()
        queue.join_thread()


def _import_one(
    conn: Connection,
    path: Path,
    username: str | None,
    done: int,
    total: int,
    progress: Callable[[int, int], None] | None,
    record_mass_deletions: bool = False,
    media_root: Path | None = None,
    stopping: Callable[[], bool] | None = None,
) -> FileSummary:
    username = username_for(path, username)
    media = ExportMedia(path, media_root)
    big = (
        path.stat().st_size >= PARALLEL_MIN_BYTES
        and (os.cpu_count() or 1) > 1
        and "fork" in multiprocessing.get_all_start_methods()
    )
    capture = CaptureStarted(
        id=str(uuid.uuid4()),
        started_at=datetime.now(UTC).replace(microsecond=0),
        source=f"import:{path.name}",
        telewatch_version=__version__,
    )
    source = (
        _produced_elsewhere(path, username, capture.id)
        if big
        else _produce(path, username, capture.id)
    )
    channel: Channel | None = None
    new_posts = new_versions = messages = service = found_deleted = held = live = revived = 0
    skipped = extras_skipped = read = 0
    gaps = _Gaps()
    try:
        with write_transaction(conn):
            for msg in source:
                if stopping is not None and stopping():
                    raise _Stopped(read)  # rolls this file back
                kind = msg[0]
                if kind == "channel":
                    channel = msg[1].channel
                    st = apply_events(conn, [msg[1]], ())
                    if st.errors:
                        raise UserError(f"{path}: cannot import ({st.reasons[0]})")
                elif kind == "posts":
                    written = write_prepared(conn, msg[1], ())
                    new_posts += written.posts_new
                    new_versions += written.versions
                    if media is not None:
                        media.add_batch(conn, msg[1])
                    revived += written.revived
                    gaps.add(p.message_id for p in msg[1])
                    read += len(msg[1])
                    if progress:
                        progress(done + msg[2], total)
                elif kind == "extras":
                    assert channel is not None
                    extras_skipped += import_extras(conn, channel.id, msg[1])
                elif kind == "error":
                    if stopping is not None and stopping():
                        raise _Stopped(read)  # the parser was stopped by the same signal
                    raise UserError(msg[1])
                else:
                    messages, service, skipped = msg[1], msg[2], msg[3]
            if channel is not None:
                found_deleted, held, live = _tombstone_gaps(
                    conn, channel.id, gaps, record_mass_deletions
                )
            if new_versions:
                # The file's capture session, chained after the versions that name
                # it (an import that adds nothing leaves no trace).
                st = apply_events(conn, [capture], ())
                if st.errors:
                    raise UserError(f"{path}: cannot record the capture ({st.reasons[0]})")
            if media is not None:
                media.finish()  # the new files into the store, then the rows they back
    except BaseException as err:
        if isinstance(err, UserError) and stopping is not None and stopping():
            # The parser child died of the same SIGTERM (sent to the group).
            raise _Stopped(read) from None
        if is_disk_full(err):
            raise UserError(
                f"disk full while importing {path}; nothing was written from this file"
                " (free some space and import it again)"
            ) from None
        raise
    finally:
        if isinstance(source, Generator):
            source.close()
    assert channel is not None
    return FileSummary(
        path=path,
        channel_id=channel.id,
        username=channel.username,
        title=channel.title,
        messages=messages,
        service=service,
        skipped=skipped + extras_skipped,
        new_posts=new_posts,
        new_versions=new_versions,
        found_deleted=found_deleted,
        held_deletions=held,
        live_posts=live,
        revived=revived,
        media=media.summary if media is not None else None,
    )


def import_extras(
    conn: Connection, channel_id: int, extras: Sequence[tuple[int, Poll] | ChannelActionSeen]
) -> int:
    """Write an export's polls (definition and one results sample, source
    ``import``) and service messages (channel actions; a pin one also a pin
    event) through the store functions the daemon uses; idempotent. Returns
    how many were skipped as malformed."""
    actions = [e for e in extras if isinstance(e, ChannelActionSeen)]
    polls = [e for e in extras if not isinstance(e, ChannelActionSeen)]
    skipped = 0
    if actions:
        skipped += apply_events(conn, actions, ()).errors
    if polls:
        seen = datetime.now(UTC).replace(microsecond=0)
        skipped += apply_events(conn, [PollSeen(channel_id, mid, poll, seen)
                                       for mid, poll in polls], ()).errors  # fmt: skip
    return skipped


class _Gaps:
    """Message-id gaps of one export, read in order. Telegram Desktop writes
    a chat's messages in ascending id order, service messages included, so
    an id missing between two exported ones was deleted before the export
    (or is a service message, which the archive never holds). Out of order
    ids make the gaps meaningless: then none is reported."""

    def __init__(self) -> None:
        self.ranges: list[tuple[int, int]] = []
        self.last: int | None = None
        self.ordered = True

    def add(self, ids: Iterable[int]) -> None:
        for mid in ids:
            if self.last is not None:
                if mid <= self.last:
                    self.ordered = False
                elif mid > self.last + 1:
                    self.ranges.append((self.last + 1, mid - 1))
            self.last = mid if self.last is None else max(self.last, mid)


MASS_DELETION_SHARE = 0.10
MASS_DELETION_MIN = 10


def _tombstone_gaps(
    conn: Connection, channel_id: int, gaps: _Gaps, record_mass: bool
) -> tuple[int, int, int]:
    """Tombstone (method "import") the archived, not yet deleted posts of
    ``channel_id`` that fall in the export's gaps. Returns (recorded, held
    back, live posts of the channel before). Posts before the export's
    first or after its last message are not judged (an export may cover a
    date range only). More than MASS_DELETION_SHARE of the live posts (and
    more than MASS_DELETION_MIN) are held back unless ``record_mass``: a
    partial or crafted export (its first id and 99999999) would otherwise
    mark everything between deleted."""
    if not gaps.ordered or not gaps.ranges:
        return 0, 0, 0
    now = datetime.now(UTC).replace(microsecond=0)
    events: list[Event] = []
    for lo, hi in gaps.ranges:
        for mid in live_ids_between(conn, channel_id, lo, hi):
            events.append(PostDeleted(channel_id, mid, now, "import"))
    if not events:
        return 0, 0, 0
    live = live_count(conn, channel_id)
    # `live` counts this export's own posts too: the share is of everything archived.
    if (
        not record_mass
        and len(events) > MASS_DELETION_MIN
        and len(events) > MASS_DELETION_SHARE * live
    ):
        return 0, len(events), live
    stats = apply_events(conn, events, ())
    if stats.errors:
        raise UserError(f"cannot record deletions ({stats.reasons[0]})")
    return stats.deletions, 0, live
