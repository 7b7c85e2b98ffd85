"""Telegram through Telethon: the only telewatch module that imports Telethon.

Two halves:

* Pure conversion (``to_post``, ``to_channel``, ``to_entities``, ...): a
  Telethon ``Message`` becomes a ``models.Post`` with a media summary, the
  forward header, entities (offsets in UTF-16 units, as Telegram sends them)
  and engagement (views, forwards, replies, reactions). A message that cannot
  be converted raises ``MalformedMessage``; service messages give None.
* ``TelegramSource``: one connected client and one method per Telegram
  request the daemon makes. Every method issues exactly **one** request, so
  the daemon's scheduler can budget them; errors are translated into the
  exceptions below (never Telethon's), FloodWaits included: the client is
  built with ``flood_sleep_threshold`` from the config (0 by default), so a
  FloodWait reaches the caller as ``FloodWait(seconds)``.

The session file holds the account's auth key: it is created with mode 0600,
locked against a second process (``SessionLock``) and never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import copy
import fcntl
import hashlib
import logging
import os
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import telethon
from telethon import TelegramClient, errors, events, types
from telethon.extensions import BinaryReader
from telethon.sessions import SQLiteSession
from telethon.tl import functions
from telethon.tl.alltlobjects import LAYER

from telewatch import __version__
from telewatch.models import (
    CaptureStarted,
    Channel,
    ChannelActionSeen,
    ChannelPhoto,
    CommentAuthor,
    Discussion,
    Engagement,
    Entity,
    Event,
    ForwardOrigin,
    Media,
    MediaKind,
    PinChanged,
    Poll,
    PollAnswer,
    PollResults,
    PollResultsSeen,
    Post,
    UserError,
)

log = logging.getLogger("telewatch.telegram")

HISTORY_LIMIT = 100
"""Messages per getHistory page (Telegram's maximum)."""


# --------------------------------------------------------------------------
# Errors the daemon handles (Telethon's never leak out of this module).
# --------------------------------------------------------------------------


class SourceError(Exception):
    """Base of every error a TelegramSource method raises."""


class FloodWait(SourceError):
    """Telegram asked us to wait ``seconds`` before repeating this method."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"flood wait of {seconds:.0f} s")
        self.seconds = seconds


class ChannelUnavailable(SourceError):
    """The channel cannot be read: ``reason`` is ``private`` (turned private,
    banned us, or we lack access) or ``invalid`` (unknown id/access hash)."""

    def __init__(self, channel_id: int | None, reason: str) -> None:
        super().__init__(f"channel {channel_id} is {reason}")
        self.channel_id = channel_id
        self.reason = reason


class UsernameUnknown(SourceError):
    """No public channel has this username (renamed, deleted or a typo)."""


class JoinRefused(SourceError):
    """Telegram refused channels.joinChannel: the account has joined as many
    channels as it may (CHANNELS_TOO_MUCH, 500 on Telegram)."""


class NotAuthorized(SourceError):
    """The session is not logged in (run ``telewatch login``)."""


class Disconnected(SourceError):
    """The connection dropped while the request was in flight; retry later."""


class MalformedMessage(SourceError):
    """A message whose fields make no sense; the daemon logs and counts it."""


# --------------------------------------------------------------------------
# Conversion
# --------------------------------------------------------------------------

_ENTITY_NAMES: dict[type[Any], str] = {
    types.MessageEntityBold: "bold",
    types.MessageEntityItalic: "italic",
    types.MessageEntityCode: "code",
    types.MessageEntityPre: "pre",
    types.MessageEntityUrl: "link",
    types.MessageEntityTextUrl: "text_link",
    types.MessageEntityMention: "mention",
    types.MessageEntityMentionName: "mention_name",
    types.MessageEntityHashtag: "hashtag",
    types.MessageEntityCashtag: "cashtag",
    types.MessageEntityBotCommand: "bot_command",
    types.MessageEntityEmail: "email",
    types.MessageEntityPhone: "phone",
    types.MessageEntityUnderline: "underline",
    types.MessageEntityStrike: "strikethrough",
    types.MessageEntitySpoiler: "spoiler",
    types.MessageEntityBlockquote: "blockquote",
    types.MessageEntityCustomEmoji: "custom_emoji",
    types.MessageEntityBankCard: "bank_card",
}


def _aware(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def to_entities(raw: Sequence[Any] | None) -> tuple[Entity, ...]:
    """Telethon entities → models.Entity, offsets kept in UTF-16 units."""
    out = []
    for e in raw or ():
        name = _ENTITY_NAMES.get(type(e), "unknown")
        url = getattr(e, "url", None) if name == "text_link" else None
        if (
            not isinstance(e.offset, int)
            or not isinstance(e.length, int)
            or e.offset < 0
            or e.length < 0
        ):
            raise MalformedMessage(f"entity {name} has offset {e.offset!r} length {e.length!r}")
        out.append(Entity(type=name, offset=e.offset, length=e.length, url=url))
    return tuple(out)


def _document_media(doc: Any) -> Media:
    kind: MediaKind = "document"
    duration: float | None = None
    width = height = None
    file_name = None
    for a in getattr(doc, "attributes", None) or ():
        if isinstance(a, types.DocumentAttributeFilename):
            file_name = a.file_name
        elif isinstance(a, types.DocumentAttributeVideo):
            kind = "video" if kind == "document" else kind
            duration, width, height = float(a.duration), a.w, a.h
        elif isinstance(a, types.DocumentAttributeAudio):
            kind = "voice" if a.voice else "audio"
            duration = float(a.duration)
        elif isinstance(a, types.DocumentAttributeSticker):
            kind = "sticker"
        elif isinstance(a, types.DocumentAttributeAnimated):
            kind = "animation"
        elif isinstance(a, types.DocumentAttributeImageSize):
            width, height = a.w, a.h
    return Media(
        kind=kind,
        mime=getattr(doc, "mime_type", None),
        size=getattr(doc, "size", None),
        duration=duration,
        width=width,
        height=height,
        file_unique_id=f"doc:{doc.id}" if getattr(doc, "id", None) is not None else None,
        file_name=file_name,
    )


def to_media(media: Any) -> Media | None:
    """A summary of a message's media (the file is never downloaded)."""
    if media is None or isinstance(media, types.MessageMediaEmpty):
        return None
    if isinstance(media, types.MessageMediaPhoto):
        photo = media.photo
        width = height = size = None
        for s in getattr(photo, "sizes", None) or ():
            w, h = getattr(s, "w", None), getattr(s, "h", None)
            if w is not None and (width is None or w > width):
                width, height = w, h
                size = getattr(s, "size", None) or (
                    max(s.sizes) if getattr(s, "sizes", None) else None
                )
        return Media(
            kind="photo",
            mime="image/jpeg",
            size=size,
            width=width,
            height=height,
            file_unique_id=f"photo:{photo.id}" if getattr(photo, "id", None) is not None else None,
        )
    if isinstance(media, types.MessageMediaDocument):
        if media.document is None:
            return Media(kind="document")
        return _document_media(media.document)
    if isinstance(media, types.MessageMediaWebPage):
        return Media(kind="webpage")
    if isinstance(media, types.MessageMediaPoll):
        return Media(kind="poll")
    if isinstance(
        media, types.MessageMediaGeo | types.MessageMediaGeoLive | types.MessageMediaVenue
    ):
        return Media(kind="geo")
    if isinstance(media, types.MessageMediaContact):
        return Media(kind="contact")
    return Media(kind="other")


def _tl_text(value: Any) -> str:
    """A TextWithEntities (layer 200+) or a plain str as text."""
    text = getattr(value, "text", value)
    return text if isinstance(text, str) else ""


def to_poll_results(results: Any, closed: bool) -> PollResults:
    """A TL ``PollResults`` (``min``: counts may be absent) as models.PollResults."""
    voters = tuple(
        sorted(
            (bytes(r.option).hex(), int(r.voters))
            for r in getattr(results, "results", None) or ()
            if getattr(r, "voters", None) is not None
        )
    )
    total = getattr(results, "total_voters", None)
    return PollResults(closed=closed, total_voters=total, voters=voters)


def to_poll(media: Any) -> Poll | None:
    """A ``MessageMediaPoll`` as models.Poll (definition + current results)."""
    if not isinstance(media, types.MessageMediaPoll) or not isinstance(media.poll, types.Poll):
        return None
    poll = media.poll
    return Poll(
        poll_id=int(poll.id),
        question=_tl_text(poll.question),
        answers=tuple(PollAnswer(bytes(a.option).hex(), _tl_text(a.text)) for a in poll.answers),
        multiple=bool(poll.multiple_choice),
        quiz=bool(poll.quiz),
        public_voters=bool(poll.public_voters),
        results=to_poll_results(media.results, bool(poll.closed)),
    )


def _safe_poll(media: Any, channel_id: int, message_id: int) -> Poll | None:
    """``to_poll``, except that a poll that cannot be read is logged and left
    out: the post itself is still archived (its media kind says poll)."""
    try:
        return to_poll(media)
    except Exception as err:
        log.warning(
            "unreadable poll", extra={"channel": channel_id, "message_id": message_id,
                                      "reason": f"{type(err).__name__}: {err}"},
        )  # fmt: skip
        return None


def to_channel_photo(photo: Any) -> ChannelPhoto | None:
    """``Channel.photo`` as models.ChannelPhoto (the thumbnail bytes hashed,
    nothing downloaded); None when the constructor carries no photo field."""
    if isinstance(photo, types.ChatPhotoEmpty):
        return ChannelPhoto(None)
    if isinstance(photo, types.ChatPhoto):
        thumb = photo.stripped_thumb
        return ChannelPhoto(
            int(photo.photo_id),
            photo.dc_id,
            hashlib.sha256(thumb).hexdigest() if thumb else None,
        )
    return None


def to_action(msg: Any, channel_id: int, seen_at: datetime) -> ChannelActionSeen | None:
    """A channel's ``MessageService`` as models.ChannelActionSeen (None otherwise)."""
    if not isinstance(msg, types.MessageService):
        return None
    date = _aware(msg.date)
    if date is None or not isinstance(msg.id, int) or msg.id <= 0:
        return None
    action = msg.action
    value: str | None = None
    target: int | None = None
    if isinstance(action, types.MessageActionPinMessage):
        kind = "pin"
        target = getattr(msg.reply_to, "reply_to_msg_id", None)
    elif isinstance(action, types.MessageActionChatEditTitle):
        kind, value = "title", action.title
    elif isinstance(action, types.MessageActionChatEditPhoto):
        kind, value = "photo", str(getattr(action.photo, "id", "")) or None
    elif isinstance(action, types.MessageActionChatDeletePhoto):
        kind = "photo_removed"
    else:
        kind, value = "other", type(action).__name__
    return ChannelActionSeen(channel_id, msg.id, date, kind, seen_at, value, target)


def to_update_event(update: Any, seen_at: datetime) -> tuple[int | None, Event] | None:
    """A pushed update about polls, pins or service messages as
    (channel id or None, event); None for other updates."""
    if isinstance(update, types.UpdateNewChannelMessage) and isinstance(
        update.message, types.MessageService
    ):
        peer = update.message.peer_id
        if not isinstance(peer, types.PeerChannel):
            return None
        ev = to_action(update.message, peer.channel_id, seen_at)
        return (peer.channel_id, ev) if ev is not None else None
    if isinstance(update, types.UpdatePinnedChannelMessages):
        pin = PinChanged(
            update.channel_id,
            tuple(update.messages),
            bool(update.pinned),
            seen_at,
            "push",
            pts=update.pts,
        )
        return update.channel_id, pin
    if isinstance(update, types.UpdateMessagePoll):
        peer = update.peer
        cid = peer.channel_id if isinstance(peer, types.PeerChannel) else None
        known = isinstance(update.poll, types.Poll)
        closed = bool(update.poll.closed) if known else False
        results = to_poll_results(update.results, closed)
        return cid, PollResultsSeen(int(update.poll_id), results, seen_at, "live", known)
    return None


def _reactions(raw: Any) -> tuple[tuple[str, int], ...]:
    out = []
    for rc in getattr(raw, "results", None) or ():
        r = rc.reaction
        if isinstance(r, types.ReactionEmoji):
            key = r.emoticon
        elif isinstance(r, types.ReactionCustomEmoji):
            key = f"custom:{r.document_id}"
        elif isinstance(r, types.ReactionPaid):
            key = "paid"
        else:
            continue
        out.append((key, int(rc.count)))
    return tuple(out)


def to_engagement(msg: Any) -> Engagement | None:
    """Views/forwards/replies/reactions, or None when the message has none."""
    views, forwards = getattr(msg, "views", None), getattr(msg, "forwards", None)
    replies_obj = getattr(msg, "replies", None)
    replies = getattr(replies_obj, "replies", None) if replies_obj is not None else None
    reactions = _reactions(getattr(msg, "reactions", None))
    if views is None and forwards is None and replies is None and not reactions:
        return None
    return Engagement(views=views, forwards=forwards, replies=replies, reactions=reactions)


def _forward(fwd: Any) -> ForwardOrigin | None:
    if fwd is None:
        return None
    origin = fwd.from_id
    channel_id = origin.channel_id if isinstance(origin, types.PeerChannel) else None
    return ForwardOrigin(
        channel_id=channel_id,
        name=fwd.from_name or getattr(fwd, "post_author", None),
        message_id=fwd.channel_post,
        date=_aware(fwd.date),
    )


def to_post(
    msg: Any,
    channel_id: int | None = None,
    *,
    users: dict[int, Any] | None = None,
    authors: bool = True,
) -> Post | None:
    """A Telethon message → models.Post; None for service/empty messages.
    Raises MalformedMessage when required fields are missing or invalid
    (any conversion failure: one odd message must never wedge a channel).

    A message of a group (not a broadcast post) gets its ``discussion``
    (thread, author from ``users`` of the answer or the message's sender);
    ``authors=False`` leaves the author out, and out of the raw copy too."""
    try:
        return _to_post(msg, channel_id, users or {}, authors)
    except MalformedMessage:
        raise
    except Exception as err:
        raise MalformedMessage(
            f"message {getattr(msg, 'id', '?')}: {type(err).__name__}: {err}"
        ) from None


def _to_post(msg: Any, channel_id: int | None, users: dict[int, Any], authors: bool) -> Post | None:
    if isinstance(msg, types.MessageService | types.MessageEmpty):
        return None
    if not isinstance(msg, types.Message):
        raise MalformedMessage(f"unexpected message type {type(msg).__name__}")
    peer = msg.peer_id
    cid = peer.channel_id if isinstance(peer, types.PeerChannel) else channel_id
    if cid is None:
        raise MalformedMessage(f"message {msg.id} has no channel peer")
    if not isinstance(msg.id, int) or msg.id <= 0:
        raise MalformedMessage(f"message id {msg.id!r} in channel {cid}")
    date = _aware(msg.date)
    if date is None:
        raise MalformedMessage(f"message {cid}/{msg.id} has no date")
    text = msg.message if isinstance(msg.message, str) else ""
    reply = msg.reply_to
    disc = None if msg.post else _discussion(msg, users, authors)
    if disc is not None and not authors and msg.from_id is not None:
        msg = copy.copy(msg)  # the evidentiary copy keeps no user id either
        msg.from_id = None
    return Post(
        channel_id=cid,
        message_id=msg.id,
        date=date,
        text=text,
        entities=to_entities(msg.entities),
        media=to_media(msg.media),
        grouped_id=msg.grouped_id,
        reply_to=getattr(reply, "reply_to_msg_id", None) if reply is not None else None,
        forward=_forward(msg.fwd_from),
        edit_date=_aware(msg.edit_date),
        post_author=msg.post_author,
        engagement=to_engagement(msg),
        poll=_safe_poll(msg.media, cid, msg.id),
        pinned=bool(msg.pinned),
        raw=_tl_bytes(msg),
        discussion=disc,
    )


def _discussion(msg: Any, users: dict[int, Any], authors: bool) -> Discussion | None:
    """A group message's place in a discussion: a discussion copy (its
    forward header names the channel post it was saved from) or a comment (a
    user's reply inside a thread); None for other group messages."""
    fwd = msg.fwd_from
    saved = getattr(fwd, "saved_from_peer", None) if fwd is not None else None
    if isinstance(saved, types.PeerChannel) and getattr(fwd, "saved_from_msg_id", None):
        return Discussion(channel_id=saved.channel_id, post_message_id=int(fwd.saved_from_msg_id))
    reply = msg.reply_to
    top = getattr(reply, "reply_to_top_id", None) or getattr(reply, "reply_to_msg_id", None)
    if top is None:
        return None
    author = None
    sender = msg.from_id
    if authors and isinstance(sender, types.PeerUser):
        user = users.get(sender.user_id) or getattr(msg, "_sender", None)
        if not isinstance(user, types.User) or user.id != sender.user_id:
            user = None
        name = (
            " ".join(p for p in (user.first_name, user.last_name) if p) or None
            if user is not None
            else None
        )
        author = CommentAuthor(sender.user_id, name, user.username if user is not None else None)
    return Discussion(thread=int(top), author=author)


def _users(answer: Any) -> dict[int, Any]:
    """The answer's users by id (authors of group messages)."""
    return {u.id: u for u in getattr(answer, "users", None) or [] if isinstance(u, types.User)}


def _tl_bytes(msg: Any) -> bytes | None:
    """The message's TL serialisation (``bytes(msg)``), the evidentiary copy;
    None if Telethon cannot serialise it (never fails the capture)."""
    try:
        return bytes(msg)
    except Exception:
        return None


def decode_raw(data: bytes) -> str:
    """A stored TL payload as Telethon's readable form of the object.
    Raises ValueError when the bytes are not a TL object of this layer."""
    try:
        obj = BinaryReader(data).tgread_object()
    except Exception as err:
        raise ValueError(f"not a TL object of layer {LAYER}: {type(err).__name__}") from None
    return str(obj.stringify())


def capture_started(account: str, clock_offset_s: float) -> CaptureStarted:
    """The capture-log entry of a session: account, versions, API layer and
    the clock offset (Telegram's server time minus ours, which Telethon
    learns from the server's msg_ids)."""
    return CaptureStarted(
        id=str(uuid.uuid4()),
        started_at=datetime.now(UTC).replace(microsecond=0),
        source="telegram",
        account=account,
        telewatch_version=__version__,
        telethon_version=telethon.__version__,
        api_layer=LAYER,
        clock_offset_ms=round(clock_offset_s * 1000),
    )


def _before(msg: Any, when: datetime) -> bool:
    d = _aware(getattr(msg, "date", None))
    return d is None or d < when


def to_channel(chat: Any, about: str | None = None) -> Channel | None:
    """A Telethon Channel → models.Channel (None for other chat types and
    for ChannelForbidden, which has no username or access to read)."""
    if not isinstance(chat, types.Channel):
        return None
    username = chat.username
    if username is None:
        for u in getattr(chat, "usernames", None) or ():
            if u.active:
                username = u.username
                break
    if username is None and not getattr(chat, "min", False):
        username = ""  # a full constructor without username: it has none (store: removal)
    return Channel(
        id=chat.id,
        title=chat.title,
        username=username,
        about=about,
        access_hash=chat.access_hash,
        subscribers=getattr(chat, "participants_count", None),
        photo=to_channel_photo(getattr(chat, "photo", None)),
    )


# --------------------------------------------------------------------------
# Session file
# --------------------------------------------------------------------------


def session_base(path: Path) -> str:
    """Telethon appends ``.session``; give it the path without the suffix."""
    s = str(path)
    return s[: -len(".session")] if s.endswith(".session") else s


def session_file(path: Path) -> Path:
    """The file Telethon actually writes for a configured session path."""
    return Path(session_base(path) + ".session")


def secure_session(path: Path) -> None:
    """Make the session file (and its journal, if any) readable by us only."""
    f = session_file(path)
    for p in (f, Path(str(f) + "-journal")):
        if p.exists():
            os.chmod(p, 0o600)


class SessionLock:
    """An exclusive lock on ``<session>.lock`` so that two processes never
    open the same session (which would corrupt its update state)."""

    def __init__(self, path: Path) -> None:
        self.session = session_file(path)
        self.path = Path(str(self.session) + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise UserError naming the session."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise UserError(
                f"session {self.session} is in use by another telewatch process; stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        """Drop the lock (idempotent)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _proxy(url: str | None) -> dict[str, Any] | None:
    if not url:
        return None
    u = urlparse(url)
    return {
        "proxy_type": u.scheme,
        "addr": u.hostname,
        "port": u.port,
        "username": unquote(u.username) if u.username else None,
        "password": unquote(u.password) if u.password else None,
        "rdns": True,
    }


# --------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """One getHistory answer. ``ids`` holds every message id returned
    (service messages included, ascending); ``full`` is True when the page
    came back with the requested number of messages (more may follow)."""

    posts: list[Post]
    ids: list[int]
    malformed: list[tuple[int, str]]
    channels: list[Channel]
    full: bool
    count: int | None
    pts: int | None = None
    """The channel's pts in the answer (it never decreases on Telegram)."""
    actions: tuple[ChannelActionSeen, ...] = ()
    """The service messages on the page (title, photo, pin...)."""


@dataclass(frozen=True, slots=True)
class MessagesAnswer:
    """A getMessages answer: ``found`` by id, ``missing`` ids Telegram no
    longer has (deleted), ``malformed`` (id, reason)."""

    found: dict[int, Post]
    missing: list[int]
    malformed: list[tuple[int, str]]
    channels: list[Channel]
    pts: int | None = None
    """The channel's pts in the answer (it never decreases on Telegram)."""


@dataclass(frozen=True, slots=True)
class ChannelDifference:
    """One ``updates.getChannelDifference`` answer, converted.

    ``pts``: the channel's pts after this answer (store it with the events);
    ``final``: no more to fetch; ``too_long``: Telegram skipped the gap
    (``posts`` then holds only the newest messages: the caller must repair
    and reconcile); ``posts`` new messages and ``edits`` edited ones (current
    content), ``deleted`` ids, ``channels`` seen in the answer."""

    pts: int
    final: bool
    too_long: bool
    posts: list[Post]
    edits: list[Post]
    deleted: list[int]
    malformed: list[tuple[int, str]]
    channels: list[Channel]
    events: tuple[Event, ...] = ()
    """Service messages and pin updates of the answer, in pts order."""


@dataclass(frozen=True, slots=True)
class Dialog:
    """A joined channel from ``messages.getDialogs``: the channel (with its
    access hash and current username), its pts and its newest message id."""

    channel: Channel
    pts: int | None
    top_id: int
    date: datetime | None
    folder: int


PostHandler = Callable[[Post | None, int, int, bool, str | None], Awaitable[None]]
"""``(post, channel_id, message_id, edited, malformed_reason)``."""
DeleteHandler = Callable[[int, list[int]], Awaitable[None]]
ChannelHandler = Callable[[int], Awaitable[None]]
ReconnectHandler = Callable[[], Awaitable[None]]
EventHandler = Callable[[int | None, Event], Awaitable[None]]
"""``(channel_id or None, event)`` for pushed pins, service messages, poll results."""


Gate = Callable[[str], Awaitable[None]]
"""``gate(method)`` returns when a request of ``method`` may be sent."""

_OURS: contextvars.ContextVar[bool] = contextvars.ContextVar("telewatch_ours", default=False)
"""Set while a TelegramSource method sends its (already paced) request."""

# Requests Telethon's own update handling sends by itself: paced through the
# gate too, so that they share the daemon's budgets instead of drawing
# FloodWaits on the daemon's own requests (Telegram counts both).
_INTERNAL = {
    functions.updates.GetChannelDifferenceRequest: "updates.GetChannelDifference",
    functions.updates.GetDifferenceRequest: "updates.GetDifference",
}


class _Client(TelegramClient):  # type: ignore[misc]
    """TelegramClient that tells us when its automatic reconnection finished,
    because every reconnect must be followed by gap repair, and that paces
    the requests its update handling makes by itself through ``gate``."""

    on_reconnected: ReconnectHandler | None = None
    gate: Gate | None = None

    async def _call(self, sender: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        method = _INTERNAL.get(type(request))
        if method is not None and self.gate is not None and not _OURS.get():
            await self.gate(method)
        return await super()._call(sender, request, *args, **kwargs)

    async def _handle_auto_reconnect(self) -> None:
        await super()._handle_auto_reconnect()
        if self.on_reconnected is not None:
            await self.on_reconnected()


def _translate(err: BaseException, channel_id: int | None = None) -> SourceError:
    if isinstance(err, errors.FloodWaitError | errors.FloodPremiumWaitError):
        return FloodWait(float(err.seconds))
    if isinstance(err, errors.FloodError):
        return FloodWait(float(getattr(err, "seconds", 30) or 30))
    if isinstance(
        err, errors.ChannelPrivateError | errors.ChannelBannedError | errors.ChatForbiddenError
    ):
        return ChannelUnavailable(channel_id, "private")
    if isinstance(
        err, errors.ChannelInvalidError | errors.PeerIdInvalidError | errors.ChannelIdInvalidError
    ):
        return ChannelUnavailable(channel_id, "invalid")
    if isinstance(err, errors.UsernameNotOccupiedError | errors.UsernameInvalidError):
        return UsernameUnknown(str(err))
    if isinstance(err, errors.ChannelsTooMuchError):
        return JoinRefused("CHANNELS_TOO_MUCH: the account has joined as many channels as it may")
    if isinstance(err, errors.AuthKeyUnregisteredError | errors.UnauthorizedError):
        return NotAuthorized("the session is not logged in; run `telewatch login`")
    if isinstance(
        err, ConnectionError | asyncio.IncompleteReadError | OSError | asyncio.TimeoutError
    ):
        return Disconnected(type(err).__name__)
    if isinstance(err, errors.RPCError):
        return SourceError(f"{type(err).__name__}: {err}")
    return SourceError(f"{type(err).__name__}: {err}")


class TelegramSource:
    """One Telethon client on a persistent SQLiteSession, with ``catch_up``
    so that updates missed while offline are delivered after connecting.

    Handlers registered with ``on_*`` receive live pushes; the request
    methods each make one request and raise only SourceError subclasses."""

    def __init__(
        self,
        session: Path,
        api_id: int,
        api_hash: str,
        *,
        proxy: str | None = None,
        flood_sleep_threshold: int = 0,
        catch_up: bool = True,
        request_timeout: float = 10.0,
    ) -> None:
        self.session_path = session
        self.user_id: int | None = None  # the account's Telegram user id, set by me()
        session.parent.mkdir(parents=True, exist_ok=True)
        existed = session_file(session).exists()
        old_umask = os.umask(0o077)  # the session is created 0600, never briefly readable
        try:
            self._session = SQLiteSession(session_base(session))
        finally:
            os.umask(old_umask)
        if existed:
            secure_session(session)
        self.client = _Client(
            self._session,
            api_id or 1,
            api_hash or "0" * 32,
            proxy=_proxy(proxy),
            flood_sleep_threshold=flood_sleep_threshold,
            catch_up=catch_up,
            timeout=request_timeout,
            request_retries=1,
            connection_retries=3,
            retry_delay=1,
            auto_reconnect=True,
            sequential_updates=True,
            receive_updates=True,
            base_logger="telewatch.telethon",
        )
        self._inputs: dict[int, types.InputChannel] = {}
        # Capture comment authors (user id, name, username); off for data protection.
        self.comment_authors = True
        # Files Telegram said live on another DC (FILE_MIGRATE_X): file id → DC.
        self.file_dcs: dict[str, int] = {}

    # -- lifecycle --------------------------------------------------------

    async def connect(self) -> None:
        """Connect; raises Disconnected when the server cannot be reached."""
        try:
            await self.client.connect()
        except (TimeoutError, OSError, ConnectionError) as err:
            raise Disconnected(str(err) or type(err).__name__) from None
        secure_session(self.session_path)

    async def is_authorized(self) -> bool:
        """Whether the session belongs to a logged-in account."""
        try:
            return bool(await self.client.is_user_authorized())
        except Exception as err:
            raise _translate(err) from None

    def is_connected(self) -> bool:
        """Whether the client is currently connected."""
        return bool(self.client.is_connected())

    def link_up(self) -> bool:
        """Whether requests can go out right now. Unlike ``is_connected``
        (True from ``connect()`` until the client gives up), this is False
        from the moment the connection drops, while Telethon reconnects."""
        if not self.client.is_connected():
            return False
        sender = getattr(self.client, "_sender", None)
        transport = getattr(sender, "_transport_connected", None)
        return bool(transport()) if callable(transport) else True

    @property
    def disconnected(self) -> asyncio.Future[None]:
        """Resolves when the client gives up reconnecting (or is closed)."""
        fut: asyncio.Future[None] = self.client.disconnected
        return fut

    async def close(self, timeout: float = 2.0) -> None:
        """Disconnect and save the session (update state included). Waits at
        most ``timeout`` seconds for Telethon's disconnect, so that a stalled
        connection never holds up a shutdown; the session is saved either way."""
        with contextlib.suppress(Exception):  # TimeoutError included
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can lose
            # a cancellation of the caller (CPython gh-86296).
            async with asyncio.timeout(timeout):
                await self.client.disconnect()
        with contextlib.suppress(Exception):
            self._session.save()
        secure_session(self.session_path)

    def clock_offset(self) -> float:
        """Seconds Telegram's server clock is ahead of ours (0 before any reply)."""
        sender = getattr(self.client, "_sender", None)
        state = getattr(sender, "_state", None)
        return float(getattr(state, "time_offset", 0) or 0)

    async def me(self) -> str:
        """A display string for the logged-in account (never the phone)."""
        try:
            me = await self.client.get_me()
        except Exception as err:
            raise _translate(err) from None
        if me is None:
            raise NotAuthorized("the session is not logged in; run `telewatch login`")
        self.user_id = int(me.id)
        name = " ".join(p for p in (me.first_name, me.last_name) if p) or "account"
        return f"{name} (@{me.username})" if me.username else f"{name} (id {me.id})"

    # -- live handlers ----------------------------------------------------

    def on_post(self, handler: PostHandler) -> None:
        """Call ``handler`` for every pushed new or edited channel message."""

        async def new(event: events.NewMessage.Event) -> None:
            await self._dispatch_message(handler, event.message, edited=False)

        async def edit(event: events.MessageEdited.Event) -> None:
            await self._dispatch_message(handler, event.message, edited=True)

        self.client.add_event_handler(new, events.NewMessage())
        self.client.add_event_handler(edit, events.MessageEdited())

    async def _dispatch_message(self, handler: PostHandler, msg: Any, edited: bool) -> None:
        peer = getattr(msg, "peer_id", None)
        if not isinstance(peer, types.PeerChannel):
            return
        try:
            post = to_post(msg, authors=self.comment_authors)
        except MalformedMessage as err:
            await handler(None, peer.channel_id, int(getattr(msg, "id", 0) or 0), edited, str(err))
            return
        if post is not None:
            await handler(post, post.channel_id, post.message_id, edited, None)

    def on_deleted(self, handler: DeleteHandler) -> None:
        """Call ``handler(channel_id, ids)`` for pushed channel deletions."""

        async def deleted(event: events.MessageDeleted.Event) -> None:
            cid = event.chat_id
            if cid is None:
                return  # non-channel deletions carry no chat: not ours
            bare = int(str(-cid)[3:]) if cid < 0 and str(-cid).startswith("100") else cid
            await handler(bare, list(event.deleted_ids))

        self.client.add_event_handler(deleted, events.MessageDeleted())

    def on_channel_changed(self, handler: ChannelHandler) -> None:
        """Call ``handler(channel_id)`` when Telegram says a channel changed
        (``updateChannel``: renamed, turned private, we were removed...)."""

        async def raw(update: Any) -> None:
            if isinstance(update, types.UpdateChannel):
                await handler(update.channel_id)

        self.client.add_event_handler(raw, events.Raw(types.UpdateChannel))

    def on_channel_event(self, handler: EventHandler) -> None:
        """Call ``handler(channel_id or None, event)`` for pushed service
        messages, pin changes and poll results (to_update_event)."""

        async def raw(update: Any) -> None:
            try:
                got = to_update_event(update, datetime.now(UTC).replace(microsecond=0))
            except Exception as err:  # one odd update is logged, never the connection's end
                log.warning("unreadable update", extra={"reason": f"{type(err).__name__}: {err}"})
                return
            if got is not None:
                await handler(*got)

        self.client.add_event_handler(
            raw,
            events.Raw(
                [
                    types.UpdateNewChannelMessage,
                    types.UpdatePinnedChannelMessages,
                    types.UpdateMessagePoll,
                ]
            ),
        )

    def on_reconnected(self, handler: ReconnectHandler) -> None:
        """Call ``handler()`` after every automatic reconnection."""
        self.client.on_reconnected = handler

    # -- requests (one each) ---------------------------------------------

    def remember(self, channel_id: int, access_hash: int) -> None:
        """Address ``channel_id`` by id from now on (hash from the archive)."""
        self._inputs[channel_id] = types.InputChannel(channel_id, access_hash)

    def _input(self, channel_id: int) -> types.InputChannel:
        hit = self._inputs.get(channel_id)
        if hit is None:
            raise ChannelUnavailable(channel_id, "invalid")
        return hit

    def _peer(self, channel_id: int) -> types.InputPeerChannel:
        ic = self._input(channel_id)
        return types.InputPeerChannel(ic.channel_id, ic.access_hash)

    def pace_internal(self, gate: Gate) -> None:
        """Make Telethon's own update requests (channel and account
        differences) wait for ``gate(method)`` before they are sent."""
        self.client.gate = gate

    async def _call(self, request: Any, channel_id: int | None = None) -> Any:
        token = _OURS.set(True)
        try:
            return await self.client(request)
        except SourceError:
            raise
        except Exception as err:
            raise _translate(err, channel_id) from None
        finally:
            _OURS.reset(token)

    def _channels(self, chats: Sequence[Any]) -> list[Channel]:
        out = []
        for c in chats:
            ch = to_channel(c)
            if ch is not None:
                out.append(ch)
                if ch.access_hash is not None:
                    self.remember(ch.id, ch.access_hash)
        return out

    async def resolve(self, username: str) -> tuple[Channel, bool]:
        """contacts.resolveUsername → (channel, joined). Raises UsernameUnknown
        when the name is free or not a channel."""
        r = await self._call(functions.contacts.ResolveUsernameRequest(username=username))
        peer = r.peer
        if not isinstance(peer, types.PeerChannel):
            raise UsernameUnknown(f"@{username} is not a channel")
        for c in r.chats:
            if getattr(c, "id", None) == peer.channel_id:
                if isinstance(c, types.ChannelForbidden):
                    raise ChannelUnavailable(c.id, "private")
                ch = to_channel(c)
                if ch is not None:
                    self._channels([c])
                    return ch, not c.left
        raise UsernameUnknown(f"@{username}: no channel in the answer")

    async def channel(self, channel_id: int) -> tuple[Channel, bool]:
        """channels.getChannels by id → (channel, joined). Raises
        ChannelUnavailable(private) for a ChannelForbidden answer."""
        r = await self._call(
            functions.channels.GetChannelsRequest(id=[self._input(channel_id)]), channel_id
        )
        for c in r.chats:
            if getattr(c, "id", None) == channel_id:
                if isinstance(c, types.ChannelForbidden):
                    raise ChannelUnavailable(channel_id, "private")
                ch = to_channel(c)
                if ch is not None:
                    self._channels([c])
                    return ch, not c.left
        raise ChannelUnavailable(channel_id, "invalid")

    async def about(self, channel_id: int) -> Channel:
        """channels.getFullChannel → the channel with its ``about`` text."""
        return (await self.full(channel_id))[0]

    async def full(self, channel_id: int) -> tuple[Channel, int | None]:
        """channels.getFullChannel → (the channel with its ``about`` text,
        the channel's current pts)."""
        r = await self._call(
            functions.channels.GetFullChannelRequest(channel=self._input(channel_id)), channel_id
        )
        about = getattr(r.full_chat, "about", None)
        pts = getattr(r.full_chat, "pts", None)
        for c in r.chats:
            if getattr(c, "id", None) == channel_id:
                ch = to_channel(c, about=about)
                if ch is not None:
                    self._channels([c])
                    return ch, pts
        raise ChannelUnavailable(channel_id, "invalid")

    async def linked(self, channel_id: int) -> tuple[Channel | None, Channel | None]:
        """channels.getFullChannel → (the channel with its ``about``, its linked
        discussion group or None). The group's access hash is remembered, so
        it can be read by id from now on."""
        r = await self._call(
            functions.channels.GetFullChannelRequest(channel=self._input(channel_id)), channel_id
        )
        about = getattr(r.full_chat, "about", None)
        linked = getattr(r.full_chat, "linked_chat_id", None)
        channel = group = None
        for c in r.chats:
            if isinstance(c, types.ChannelForbidden):
                continue
            if getattr(c, "id", None) == channel_id:
                channel = to_channel(c, about=about)
            elif linked is not None and getattr(c, "id", None) == linked:
                group = to_channel(c)
        self._channels([c for c in r.chats if not isinstance(c, types.ChannelForbidden)])
        return channel, group

    async def difference(self, channel_id: int, pts: int, limit: int = 100) -> ChannelDifference:
        """updates.getChannelDifference from ``pts`` (one request), raw: the
        edits and deletions it carries are returned, not left to Telethon's
        update handling (which drops those made while it was disconnected)."""
        req = functions.updates.GetChannelDifferenceRequest(
            channel=self._input(channel_id),
            filter=types.ChannelMessagesFilterEmpty(),
            pts=max(1, pts),
            limit=limit,
            force=True,
        )
        r = await self._call(req, channel_id)
        bad: list[tuple[int, str]] = []
        chans = self._channels(getattr(r, "chats", None) or [])
        if isinstance(r, types.updates.ChannelDifferenceEmpty):
            return ChannelDifference(r.pts, True, False, [], [], [], bad, chans)
        now = datetime.now(UTC).replace(microsecond=0)
        if isinstance(r, types.updates.ChannelDifferenceTooLong):
            posts = [
                p
                for m in sorted(r.messages, key=lambda m: getattr(m, "id", 0))
                if not isinstance(m, types.MessageEmpty)
                and (p := _convert(m, channel_id, bad, _users(r), self.comment_authors)) is not None
            ]
            acts = _actions(r.messages, channel_id, now)
            dpts = getattr(r.dialog, "pts", None) or pts
            return ChannelDifference(dpts, True, True, posts, [], [], bad, chans, acts)
        new: list[Post] = []
        extra: list[Event] = list(_actions(r.new_messages, channel_id, now))
        for m in sorted(r.new_messages, key=lambda m: getattr(m, "id", 0)):
            if isinstance(m, types.MessageEmpty):
                continue
            p = _convert(m, channel_id, bad, _users(r), self.comment_authors)
            if p is not None:
                new.append(p)
        edits: list[Post] = []
        deleted: list[int] = []
        for u in r.other_updates:
            if isinstance(u, types.UpdateEditChannelMessage | types.UpdateNewChannelMessage):
                m = u.message
                peer = getattr(m, "peer_id", None)
                if isinstance(peer, types.PeerChannel) and peer.channel_id != channel_id:
                    continue
                if isinstance(m, types.MessageEmpty):
                    continue
                p = _convert(m, channel_id, bad, _users(r), self.comment_authors)
                if p is not None:
                    (edits if isinstance(u, types.UpdateEditChannelMessage) else new).append(p)
            elif isinstance(u, types.UpdateDeleteChannelMessages) and u.channel_id == channel_id:
                deleted.extend(int(i) for i in u.messages)
            elif isinstance(u, types.UpdatePinnedChannelMessages) and u.channel_id == channel_id:
                got = to_update_event(u, now)
                if got is not None:
                    extra.append(got[1])
        return ChannelDifference(
            r.pts, bool(r.final), False, new, edits, deleted, bad, chans, tuple(extra)
        )

    async def dialogs(
        self,
        *,
        folder: int = 0,
        offset_date: datetime | None = None,
        offset_id: int = 0,
        offset_peer: tuple[int, int] | None = None,
        limit: int = 100,
    ) -> tuple[list[Dialog], bool]:
        """One messages.getDialogs page of ``folder`` (0 main, 1 archived):
        (the channel dialogs on it, whether more pages follow). Page on with
        the last dialog's ``date``, ``top_id`` and ``(channel id, access hash)``."""
        peer: Any = (
            types.InputPeerChannel(*offset_peer)
            if offset_peer is not None
            else types.InputPeerEmpty()
        )
        r = await self._call(
            functions.messages.GetDialogsRequest(
                offset_date=offset_date,
                offset_id=offset_id,
                offset_peer=peer,
                limit=limit,
                hash=0,
                folder_id=folder,
            )
        )
        if isinstance(r, types.messages.DialogsNotModified):
            return [], False
        chats = {getattr(c, "id", None): c for c in r.chats}
        dates = {
            (getattr(getattr(m, "peer_id", None), "channel_id", None), m.id): _aware(
                getattr(m, "date", None)
            )
            for m in r.messages
            if not isinstance(m, types.MessageEmpty)
        }
        out: list[Dialog] = []
        for d in r.dialogs:
            if not isinstance(d, types.Dialog) or not isinstance(d.peer, types.PeerChannel):
                continue
            chat = chats.get(d.peer.channel_id)
            if chat is None or getattr(chat, "left", False):
                continue
            ch = to_channel(chat)
            if ch is None:
                continue
            self._channels([chat])
            out.append(
                Dialog(
                    ch,
                    d.pts,
                    d.top_message,
                    dates.get((ch.id, d.top_message)),
                    folder,
                )
            )
        more = isinstance(r, types.messages.DialogsSlice) and len(r.dialogs) >= limit
        return out, more

    async def join(self, channel_id: int) -> None:
        """channels.joinChannel (pushed updates start after this)."""
        await self._call(
            functions.channels.JoinChannelRequest(channel=self._input(channel_id)), channel_id
        )

    async def history(
        self, channel_id: int, from_id: int, limit: int = HISTORY_LIMIT
    ) -> HistoryPage:
        """The ``limit`` oldest messages with id >= ``from_id``, ascending (the
        request ``iter_messages(reverse=True, min_id=from_id - 1)`` makes)."""
        r = await self._get_history(
            channel_id, offset_id=max(1, from_id), add_offset=-limit, limit=limit
        )
        return self._page(r, channel_id, limit, lambda m: m.id >= from_id)

    async def newest(self, channel_id: int, skip: int = 0) -> HistoryPage:
        """The newest message after skipping ``skip`` newer ones, i.e. the
        (skip+1)-th newest (one-message page; ``count`` = total posts)."""
        r = await self._get_history(channel_id, add_offset=skip, limit=1)
        return self._page(r, channel_id, 1, lambda m: True)

    async def before(self, channel_id: int, when: datetime) -> HistoryPage:
        """The newest message published before ``when`` (one-message page)."""
        r = await self._get_history(channel_id, offset_date=when, limit=1)
        return self._page(r, channel_id, 1, lambda m: _before(m, when))

    async def _get_history(
        self,
        channel_id: int,
        *,
        limit: int,
        offset_id: int = 0,
        offset_date: datetime | None = None,
        add_offset: int = 0,
    ) -> Any:
        """messages.getHistory with the given offsets (no id bounds, no hash)."""
        req = functions.messages.GetHistoryRequest(
            peer=self._peer(channel_id),
            offset_id=offset_id,
            offset_date=offset_date,
            add_offset=add_offset,
            limit=limit,
            max_id=0,
            min_id=0,
            hash=0,
        )
        return await self._call(req, channel_id)

    def _page(
        self, r: Any, channel_id: int, limit: int, keep: Callable[[Any], bool]
    ) -> HistoryPage:
        if isinstance(r, types.messages.MessagesNotModified):
            return HistoryPage([], [], [], [], False, r.count)
        msgs = [m for m in r.messages if not isinstance(m, types.MessageEmpty)]
        full = len(r.messages) >= limit
        posts: list[Post] = []
        ids: list[int] = []
        bad: list[tuple[int, str]] = []
        for m in sorted((m for m in msgs if keep(m)), key=lambda m: m.id):
            ids.append(m.id)
            p = _convert(m, channel_id, bad, _users(r), self.comment_authors)
            if p is not None:
                posts.append(p)
        return HistoryPage(
            posts,
            ids,
            bad,
            self._channels(r.chats),
            full,
            getattr(r, "count", None),
            getattr(r, "pts", None),
            _actions(
                [m for m in msgs if keep(m)], channel_id, datetime.now(UTC).replace(microsecond=0)
            ),
        )

    async def file_chunk(self, file_id: str, reference: bytes, offset: int, limit: int) -> bytes:
        """upload.getFile: ``limit`` bytes of a file (``RemoteFile.file_id``)
        from ``offset``, fewer at its end. Raises FileReferenceExpired,
        FileMigrate, FileUnavailable, FloodWait, Disconnected."""
        token = _OURS.set(True)
        try:
            return await _file_chunk(self, file_id, reference, offset, limit)
        finally:
            _OURS.reset(token)

    async def messages(self, channel_id: int, ids: Sequence[int]) -> MessagesAnswer:
        """channels.getMessages for up to 100 ids: present ones and the ids
        Telegram answers with MessageEmpty (deleted)."""
        if len(ids) > HISTORY_LIMIT:
            raise ValueError("at most 100 ids per request")
        req = functions.channels.GetMessagesRequest(
            channel=self._input(channel_id), id=[types.InputMessageID(i) for i in ids]
        )
        r = await self._call(req, channel_id)
        found: dict[int, Post] = {}
        bad: list[tuple[int, str]] = []
        returned: set[int] = set()
        for m in r.messages:
            if isinstance(m, types.MessageEmpty):
                continue
            returned.add(m.id)
            p = _convert(m, channel_id, bad, _users(r), self.comment_authors)
            if p is not None:
                found[p.message_id] = p
        missing = [i for i in ids if i not in returned]
        return MessagesAnswer(found, missing, bad, self._channels(r.chats), getattr(r, "pts", None))


def _actions(
    msgs: Sequence[Any], channel_id: int, seen_at: datetime
) -> tuple[ChannelActionSeen, ...]:
    """The service messages among ``msgs``, as events, by id (one that
    cannot be read is logged and skipped, never the page)."""
    out: list[ChannelActionSeen] = []
    for m in msgs:
        try:
            a = to_action(m, channel_id, seen_at)
        except Exception as err:
            log.warning(
                "unreadable service message",
                extra={"channel": channel_id, "message_id": getattr(m, "id", None),
                       "reason": f"{type(err).__name__}: {err}"},
            )  # fmt: skip
            continue
        if a is not None:
            out.append(a)
    return tuple(sorted(out, key=lambda a: a.message_id))


def _convert(
    msg: Any,
    channel_id: int,
    bad: list[tuple[int, str]],
    users: dict[int, Any] | None = None,
    authors: bool = True,
) -> Post | None:
    """``to_post``, except that a malformed message is appended to ``bad``
    as (id, reason) and gives None instead of raising."""
    try:
        return to_post(msg, channel_id, users=users, authors=authors)
    except MalformedMessage as err:
        bad.append((msg.id, str(err)))
        return None


async def login(
    session: Path,
    api_id: int,
    api_hash: str,
    phone: Callable[[], str],
    code: Callable[[], str],
    password: Callable[[], str],
    proxy: str | None = None,
) -> tuple[str, bool]:
    """Log in interactively (phone, code, then the 2FA password if the
    account has one) and save the session 0600. Returns (who is logged in,
    whether the session was logged in already: then nothing is asked)."""
    src = TelegramSource(session, api_id, api_hash, proxy=proxy, catch_up=False)
    try:
        try:
            await src.connect()
        except Disconnected as err:
            if proxy:
                u = urlparse(proxy)
                raise UserError(
                    f"login failed: cannot reach Telegram through the proxy {u.hostname}:{u.port}"
                    f" ({err}); check [telegram].proxy: host, port, user and password"
                ) from None
            raise UserError(
                f"login failed: cannot reach Telegram ({err}); check the network"
                " or set [telegram].proxy"
            ) from None
        already = await src.is_authorized()
        if not already:
            try:
                number = phone()
                await src.client.send_code_request(number)
                try:
                    await src.client.sign_in(phone=number, code=code())
                except errors.SessionPasswordNeededError:
                    await src.client.sign_in(password=password())
            except errors.PhoneCodeInvalidError:
                raise UserError("the login code is wrong; run `telewatch login` again") from None
            except errors.PhoneNumberInvalidError:
                raise UserError(
                    "the phone number is not valid; use the international form +<country><number>"
                ) from None
            except errors.ApiIdInvalidError:
                raise UserError(
                    "Telegram refused telegram.api_id/api_hash (API_ID_INVALID): put the ones "
                    "from https://my.telegram.org in the config (the example's only work with "
                    "`telewatch emulator serve`)"
                ) from None
            except errors.PasswordHashInvalidError:
                raise UserError("the 2FA password is wrong; run `telewatch login` again") from None
            except errors.RPCError as err:
                raise UserError(f"login failed: {type(err).__name__}") from None
        return await src.me(), already
    except SourceError as err:
        raise UserError(f"login failed: {err}") from None
    finally:
        await src.close()


# --------------------------------------------------------------------------
# Media files (daemon/media.py): what a message's media is made of, and
# upload.getFile.
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """One downloadable file of a message's media: the full file (``role``
    "file": a photo's largest size, a document) or its preview ("thumb").

    ``kind`` is the download policy's kind (photo, video, document, audio,
    voice, sticker, round, animation); ``file_id`` the file's location
    without its file reference (``photo|document:id:access_hash:dc:size``,
    stored in the archive); ``file_unique_id`` the media's id as in the
    post's media summary; ``reference`` the expiring file reference this
    copy of the message carried."""

    role: str
    kind: str
    mime: str | None
    size: int | None
    file_id: str
    file_unique_id: str
    reference: bytes


class FileReferenceExpired(SourceError):
    """The file reference expired (or its message is gone): re-fetch the
    message (``messages``) for a fresh one."""


class FileMigrate(SourceError):
    """The file lives on another DC (``dc``) and that DC refused us."""

    def __init__(self, dc: int, why: str) -> None:
        super().__init__(f"the file lives on DC {dc}: {why}")
        self.dc = dc


class FileUnavailable(SourceError):
    """Telegram does not know this file (FILE_ID_INVALID, LOCATION_INVALID)."""


def _photo_size_bytes(s: Any) -> int:
    if isinstance(s, types.PhotoSizeProgressive):
        return int(max(s.sizes or [0]))
    return int(getattr(s, "size", 0) or 0)


def _downloadable_sizes(sizes: Sequence[Any] | None) -> list[Any]:
    return [
        s
        for s in sizes or ()
        if isinstance(s, types.PhotoSize | types.PhotoSizeProgressive) and _photo_size_bytes(s)
    ]


def _thumb(sizes: list[Any], full: Any | None) -> Any | None:
    """The preview a client shows: size 'm' when there, else the smallest."""
    rest = [s for s in sizes if s is not full]
    for s in rest:
        if s.type == "m":
            return s
    return min(rest, key=_photo_size_bytes) if rest else None


def media_files(media: Any) -> list[RemoteFile]:
    """The files of a Telethon ``MessageMedia`` (file first, then thumb)."""
    out: list[RemoteFile] = []
    if isinstance(media, types.MessageMediaPhoto) and isinstance(media.photo, types.Photo):
        p = media.photo
        sizes = _downloadable_sizes(p.sizes)
        if not sizes:
            return out
        full = max(sizes, key=_photo_size_bytes)
        uid = f"photo:{p.id}"
        for role, s in (("file", full), ("thumb", _thumb(sizes, full))):
            if s is not None:
                fid = f"photo:{p.id}:{p.access_hash}:{p.dc_id}:{s.type}"
                out.append(RemoteFile(role, "photo", "image/jpeg", _photo_size_bytes(s), fid, uid,
                                      bytes(p.file_reference or b"")))  # fmt: skip
        return out
    if isinstance(media, types.MessageMediaDocument) and isinstance(media.document, types.Document):
        d = media.document
        summary = _document_media(d)
        kind: str = summary.kind
        for a in d.attributes or ():
            if isinstance(a, types.DocumentAttributeVideo) and a.round_message:
                kind = "round"
        uid = f"doc:{d.id}"
        ref = bytes(d.file_reference or b"")
        out.append(RemoteFile("file", kind, d.mime_type, int(d.size),
                              f"document:{d.id}:{d.access_hash}:{d.dc_id}:", uid, ref))  # fmt: skip
        thumbs = _downloadable_sizes(d.thumbs)
        if thumbs:
            t = max(thumbs, key=_photo_size_bytes)
            out.append(RemoteFile("thumb", kind, "image/jpeg", _photo_size_bytes(t),
                                  f"document:{d.id}:{d.access_hash}:{d.dc_id}:{t.type}", uid,
                                  ref))  # fmt: skip
    return out


def remote_files(raw: bytes | None) -> list[RemoteFile]:
    """The files of a message given as its TL bytes (``Post.raw``); [] when
    it has none or the bytes are not a message of this layer."""
    if not raw:
        return []
    try:
        msg = BinaryReader(raw).tgread_object()
    except Exception:
        return []
    return media_files(getattr(msg, "media", None))


def channel_photo_file_id(channel_id: int, photo_id: int, dc_id: int | None) -> str:
    """The telewatch file id of a channel's current profile photo (big size),
    downloaded with ``file_chunk`` (an ``InputPeerPhotoFileLocation``, no
    file reference needed)."""
    return f"chatphoto:{int(channel_id)}:{int(photo_id)}:{dc_id or 0}:big"


def _location(file_id: str, reference: bytes, source: TelegramSource) -> Any:
    kind, fid, access, _dc, size = file_id.split(":", 4)
    if kind == "chatphoto":  # fid: the channel, access: the photo id
        return types.InputPeerPhotoFileLocation(
            peer=source._peer(int(fid)),
            photo_id=int(access),
            big=size == "big" or None,
        )
    if kind == "photo":
        return types.InputPhotoFileLocation(int(fid), int(access), reference, size)
    if kind == "document":
        return types.InputDocumentFileLocation(int(fid), int(access), reference, size)
    raise ValueError(f"not a telewatch file id: {file_id!r}")


async def _file_chunk(
    source: TelegramSource, file_id: str, reference: bytes, offset: int, limit: int
) -> bytes:
    """``limit`` bytes of a file from ``offset`` (upload.getFile); fewer at
    its end. A file on another DC is fetched there, through an exported
    authorisation, as Telegram asks (FILE_MIGRATE_X)."""
    req = functions.upload.GetFileRequest(_location(file_id, reference, source), offset, limit)
    client = source.client
    dc = source.file_dcs.get(file_id)
    try:
        if dc is None:
            r = await client(req)
        else:
            sender = await client._borrow_exported_sender(dc)
            try:
                r = await client._call(sender, req)
            finally:
                await client._return_exported_sender(sender)
    except errors.FileMigrateError as err:
        if dc is not None:
            raise FileMigrate(err.new_dc, "moved again") from None
        source.file_dcs[file_id] = err.new_dc
        try:
            return await _file_chunk(source, file_id, reference, offset, limit)
        except FileMigrate:
            raise
        except SourceError as inner:
            raise FileMigrate(err.new_dc, str(inner)) from None
    except (errors.FileReferenceExpiredError, errors.FilerefUpgradeNeededError):
        raise FileReferenceExpired(file_id) from None
    except errors.RPCError as err:
        name = type(err).__name__
        if "FileReference" in name:
            raise FileReferenceExpired(file_id) from None
        if isinstance(
            err,
            errors.FileIdInvalidError | errors.LocationInvalidError | errors.PhotoIdInvalidError,
        ):
            raise FileUnavailable(f"{name}: {err}") from None
        raise _translate(err) from None
    except Exception as err:
        raise _translate(err) from None
    if not isinstance(r, types.upload.File):
        raise FileUnavailable(f"upload.getFile answered {type(r).__name__} (CDN files unsupported)")
    return bytes(r.bytes)
