"""The emulated Telegram world: channels, their messages and per-channel pts logs.

Plain Python state, no networking. Every change to a channel's messages
(new, edit, delete) appends one event to that channel's pts log, exactly as
Telegram numbers channel updates; pushes and ``getChannelDifference`` are both
answered from this log. Messages are never removed: a deletion marks them, so
:meth:`World.truth` can report what was deleted.

TL objects are built with Telethon's own classes, so the wire format always
matches the installed Telethon layer.
"""

from __future__ import annotations

import bisect
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from telethon.tl import types

from telewatch.emulator import events

# The one emulated account (every session logs in as this user).
SELF_USER_ID = 777000001


class RpcFailure(Exception):
    """A Telegram RPC error to send back to the caller (e.g. 400 CHANNEL_INVALID)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message


@dataclass
class EmulatedMessage:
    """One channel post as the server stores it (current version only)."""

    id: int
    date: datetime
    text: str
    entities: list[Any] = field(default_factory=list)
    media: dict[str, Any] | None = None
    fwd_from: tuple[int, int] | None = None
    fwd_date: datetime | None = None
    grouped_id: int | None = None
    reply_to: int | None = None
    views: int | None = None
    forwards: int | None = None
    replies: int | None = None
    reactions: dict[str, int] = field(default_factory=dict)
    edit_date: datetime | None = None
    post_author: str | None = None
    pinned: bool = False
    deleted: bool = False
    # A service message (emulator/events.py): {"type": "pin"|"title"|"photo"|..., ...}.
    action: dict[str, Any] | None = None
    # Discussion groups (emulator/discussion.py): the commenting user, the
    # thread's top message (the discussion copy of a channel post) and, on a
    # discussion copy, the id of the channel post it copies.
    from_user: int | None = None
    thread: int | None = None
    channel_post: int | None = None


@dataclass
class PtsEvent:
    """One entry of a channel's update log (pts numbering, one per change)."""

    pts: int
    kind: (
        str  # "new" | "edit" | "delete" | "join" (the account joined; no content) | "pin" | "unpin"
    )
    message_ids: tuple[int, ...]
    wall_time: float


@dataclass
class EmulatedChannel:
    """A broadcast channel (or megagroup) with its history and pts log."""

    id: int
    access_hash: int
    username: str | None
    title: str
    about: str = ""
    subscribers: int = 0
    megagroup: bool = False
    private: bool = False
    created: datetime = field(default_factory=lambda: datetime(2015, 1, 1, tzinfo=UTC))
    messages: dict[int, EmulatedMessage] = field(default_factory=dict)
    log: list[PtsEvent] = field(default_factory=list)
    last_id: int = 0
    # Ids of messages not deleted, ascending (ids only ever grow, so appends keep it sorted).
    live: list[int] = field(default_factory=list)
    # pts starts above 0: Telegram never hands out pts 0 (PERSISTENT_TIMESTAMP_EMPTY).
    base_pts: int = 1
    old_usernames: set[str] = field(default_factory=set)
    # Dialog folder of the account's chat list: 0 main, 1 archive.
    folder: int = 0
    # Profile photo {"id", "seed"} (emulator/events.py) or None.
    photo: dict[str, Any] | None = None
    # A broadcast channel's discussion group, or a group's channel (both ways, as Telegram).
    linked_chat_id: int | None = None

    @property
    def pts(self) -> int:
        """The channel's current pts (the last event's, or the base)."""
        return self.log[-1].pts if self.log else self.base_pts

    def append_event(self, kind: str, ids: Sequence[int]) -> PtsEvent:
        """Record one change; returns the event with its new pts."""
        event = PtsEvent(self.pts + 1, kind, tuple(ids), time.time())
        self.log.append(event)
        return event

    def live_ids_desc(self) -> list[int]:
        """Ids of messages not deleted, newest first."""
        return self.live[::-1]

    def mark_deleted(self, message_id: int) -> None:
        """Mark one message deleted (it stays in ``messages`` for the truth)."""
        msg = self.messages[message_id]
        if not msg.deleted:
            msg.deleted = True
            at = bisect.bisect_left(self.live, message_id)
            if at < len(self.live) and self.live[at] == message_id:
                del self.live[at]

    def tl(self, *, left: bool = True) -> types.TypeChat:
        """The ``Channel`` constructor (or ``ChannelForbidden`` when private)."""
        if self.private:
            return types.ChannelForbidden(
                id=self.id,
                access_hash=self.access_hash,
                title=self.title,
                broadcast=not self.megagroup,
                megagroup=self.megagroup,
            )
        return types.Channel(
            id=self.id,
            title=self.title,
            photo=events.chat_photo_tl(self.photo),
            date=self.created,
            broadcast=not self.megagroup,
            megagroup=self.megagroup,
            left=left,
            access_hash=self.access_hash,
            username=self.username,
            participants_count=self.subscribers or None,
        )

    def input_peer(self) -> types.InputPeerChannel:
        """The ``InputPeerChannel`` a client would use (for dumps and tests)."""
        return types.InputPeerChannel(self.id, self.access_hash)


def _attributes(media: dict[str, Any]) -> list[Any]:
    kind = str(media.get("type", "document"))
    default_mime = {"video": "video/mp4", "audio": "audio/mpeg", "voice": "audio/ogg"}.get(
        kind, "application/octet-stream"
    )
    mime = str(media.get("mime_type", default_mime))
    attributes: list[Any] = []
    if kind in ("video", "gif") or mime.startswith("video/"):
        attributes.append(
            types.DocumentAttributeVideo(
                duration=float(media.get("duration", 10)),
                w=int(media.get("w", 1280)),
                h=int(media.get("h", 720)),
                supports_streaming=True,
            )
        )
    elif kind in ("audio", "voice") or mime.startswith("audio/"):
        attributes.append(
            types.DocumentAttributeAudio(
                duration=int(media.get("duration", 10)), voice=kind == "voice"
            )
        )
    if media.get("file_name"):
        attributes.append(types.DocumentAttributeFilename(str(media["file_name"])))
    return attributes


def media_tl(msg: EmulatedMessage, channel_id: int) -> types.TypeMessageMedia | None:
    """A message's ``MessageMediaPhoto`` or ``MessageMediaDocument``, whose
    files ``upload.getFile`` serves (emulator/media.py), with a fresh file
    reference."""
    from telewatch.emulator import media as files  # media imports this module

    media = msg.media
    if not media:
        return None
    kind = str(media.get("type", "photo"))
    if kind == "poll":
        return events.poll_media_tl(channel_id, msg.id, media)
    spec = files.spec_of(channel_id, msg.id, media)
    if kind == "photo" and spec is not None:
        return types.MessageMediaPhoto(photo=files.photo_tl(spec, msg.date))
    if kind == "webpage":
        url = str(media.get("url", "https://example.org/"))
        return types.MessageMediaWebPage(webpage=types.WebPageEmpty(id=msg.id, url=url))
    assert spec is not None
    return types.MessageMediaDocument(
        document=files.document_tl(spec, msg.date, _attributes(media)),
        video=kind == "video" or None,
    )


def message_tl(channel: EmulatedChannel, msg: EmulatedMessage) -> types.TypeMessage:
    """The ``Message`` constructor a client receives (``MessageEmpty`` if deleted)."""
    peer = types.PeerChannel(channel.id)
    if msg.deleted:
        return types.MessageEmpty(id=msg.id, peer_id=peer)
    if msg.action is not None:
        return events.service_tl(channel, msg)
    fwd = None
    if msg.fwd_from is not None:
        fwd = types.MessageFwdHeader(
            date=msg.fwd_date or msg.date,
            from_id=types.PeerChannel(msg.fwd_from[0]),
            channel_post=msg.fwd_from[1] or None,  # 0: origin post unknown (Desktop exports)
        )
    reactions = None
    if msg.reactions:
        reactions = types.MessageReactions(
            results=[
                types.ReactionCount(reaction=types.ReactionEmoji(emoticon=e), count=n)
                for e, n in sorted(msg.reactions.items(), key=lambda kv: -kv[1])
            ],
            can_see_list=False,
        )
    # views and forwards share one TL flag: send both or neither.
    has_counts = msg.views is not None or msg.forwards is not None
    from_id: Any = None if not channel.megagroup else types.PeerChannel(channel.id)
    if msg.from_user is not None:
        from_id = types.PeerUser(msg.from_user)
    elif msg.channel_post is not None and channel.linked_chat_id is not None:
        # A discussion copy is sent as the linked channel, forwarded from its post.
        from_id = types.PeerChannel(channel.linked_chat_id)
        fwd = types.MessageFwdHeader(
            date=msg.date,
            from_id=types.PeerChannel(channel.linked_chat_id),
            channel_post=msg.channel_post,
            saved_from_peer=types.PeerChannel(channel.linked_chat_id),
            saved_from_msg_id=msg.channel_post,
        )
    reply_to = None
    if msg.reply_to:
        top = msg.thread if msg.thread is not None and msg.thread != msg.reply_to else None
        reply_to = types.MessageReplyHeader(reply_to_msg_id=msg.reply_to, reply_to_top_id=top)
    return types.Message(
        id=msg.id,
        peer_id=peer,
        date=msg.date,
        message=msg.text,
        out=False,
        post=not channel.megagroup,
        from_id=from_id,
        fwd_from=fwd,
        reply_to=reply_to,
        media=media_tl(msg, channel.id),
        entities=list(msg.entities) or None,
        views=(msg.views or 0) if has_counts else None,
        forwards=(msg.forwards or 0) if has_counts else None,
        replies=replies_tl(channel, msg),
        edit_date=msg.edit_date,
        edit_hide=None,
        post_author=msg.post_author,
        grouped_id=msg.grouped_id,
        reactions=reactions,
        pinned=msg.pinned or None,
    )


def replies_tl(channel: EmulatedChannel, msg: EmulatedMessage) -> types.MessageReplies | None:
    """A message's ``replies`` field. A post of a channel with a discussion
    group always carries it (``comments`` and the group's ``channel_id``);
    other messages only when counted."""
    if not channel.megagroup and channel.linked_chat_id is not None:
        return types.MessageReplies(
            replies=msg.replies or 0,
            replies_pts=channel.pts,
            comments=True,
            channel_id=channel.linked_chat_id,
        )
    if msg.replies is None:
        return None
    return types.MessageReplies(replies=msg.replies, replies_pts=channel.pts)


def self_user(
    *, phone: str, first_name: str = "Emulated", username: str | None = "emulated"
) -> types.User:
    """The logged-in account as ``User`` with ``is_self``."""
    return types.User(
        id=SELF_USER_ID,
        is_self=True,
        access_hash=0x5E1F5E1F,
        first_name=first_name,
        last_name="User",
        username=username,
        phone=phone.lstrip("+"),
        status=types.UserStatusOnline(expires=datetime.fromtimestamp(time.time() + 300, UTC)),
    )


class World:
    """All channels of the emulated server plus the account's joined set."""

    def __init__(self) -> None:
        self.channels: dict[int, EmulatedChannel] = {}
        self.joined: set[int] = set()
        # Users that wrote comments (emulator/discussion.py), by id.
        self.users: dict[int, Any] = {}
        self._rng = random.Random(0x7E1E)

    # -- lookup ----------------------------------------------------------------

    def channel(self, channel_id: int) -> EmulatedChannel:
        """The channel with this id; raises ``KeyError`` naming it when unknown."""
        try:
            return self.channels[channel_id]
        except KeyError:
            raise KeyError(f"no channel with id {channel_id} in the emulator") from None

    def by_username(self, username: str) -> EmulatedChannel | None:
        """Case-insensitive current-username lookup (old usernames do not match)."""
        wanted = username.lstrip("@").lower()
        for ch in self.channels.values():
            if ch.username and ch.username.lower() == wanted and not ch.private:
                return ch
        return None

    def access_hash_of(self, ch: EmulatedChannel) -> int:
        """The channel's access hash for the account this world serves (each
        account has its own: emulator/accounts.py); the first account's is
        ``ch.access_hash``."""
        return ch.access_hash

    def checked(self, channel_id: int, access_hash: int) -> EmulatedChannel:
        """Resolve an ``InputChannel`` like Telegram: wrong hash → CHANNEL_INVALID,
        private → CHANNEL_PRIVATE."""
        ch = self.channels.get(channel_id)
        if ch is None or self.access_hash_of(ch) != access_hash:
            raise RpcFailure(400, "CHANNEL_INVALID")
        if ch.private:
            raise RpcFailure(400, "CHANNEL_PRIVATE")
        return ch

    # -- mutation --------------------------------------------------------------

    def add_channel(
        self,
        channel_id: int,
        username: str | None,
        title: str,
        *,
        about: str = "",
        access_hash: int | None = None,
        subscribers: int = 0,
        megagroup: bool = False,
    ) -> EmulatedChannel:
        """Create a channel; an existing id is replaced only if it has no messages."""
        if channel_id <= 0:
            raise ValueError(f"channel id must be a positive bare id, got {channel_id}")
        old = self.channels.get(channel_id)
        if old is not None and old.messages:
            raise ValueError(f"channel {channel_id} already exists with messages")
        if access_hash is None:
            access_hash = self._rng.getrandbits(63)
        ch = EmulatedChannel(
            id=channel_id,
            access_hash=access_hash,
            username=username.lstrip("@") if username else None,
            title=title,
            about=about,
            subscribers=subscribers,
            megagroup=megagroup,
        )
        self.channels[channel_id] = ch
        return ch

    def add_message(
        self,
        ch: EmulatedChannel,
        text: str,
        *,
        date: datetime | None = None,
        message_id: int | None = None,
        log: bool = True,
        **fields: Any,
    ) -> EmulatedMessage:
        """Append a message with the next id (or ``message_id`` if larger than the last).

        ``log=False`` adds history without a pts event (used for preloaded history,
        which Telegram would have numbered long ago)."""
        if message_id is None:
            message_id = ch.last_id + 1
        elif message_id <= ch.last_id:
            raise ValueError(
                f"message id {message_id} in channel {ch.id} is not above the last id {ch.last_id}"
            )
        when = date or datetime.now(UTC)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        msg = EmulatedMessage(
            id=message_id, date=when.astimezone(UTC).replace(microsecond=0), text=text
        )
        for key, value in fields.items():
            setattr(msg, key, value)
        if msg.fwd_from is not None and msg.fwd_date is None:
            origin = self.channels.get(msg.fwd_from[0])
            src = origin.messages.get(msg.fwd_from[1]) if origin else None
            msg.fwd_date = src.date if src else msg.date
        ch.messages[message_id] = msg
        ch.last_id = message_id
        if not msg.deleted:
            ch.live.append(message_id)
        if log:
            ch.append_event("new", (message_id,))
        else:
            ch.base_pts += 1
        return msg

    def live_message(self, ch: EmulatedChannel, message_id: int) -> EmulatedMessage:
        """A message that exists and is not deleted; raises ``KeyError`` otherwise."""
        msg = ch.messages.get(message_id)
        if msg is None or msg.deleted:
            raise KeyError(f"channel {ch.id} has no message {message_id}")
        return msg

    # -- reading ---------------------------------------------------------------

    def history(
        self,
        ch: EmulatedChannel,
        *,
        offset_id: int,
        offset_date: datetime | None,
        add_offset: int,
        limit: int,
        max_id: int,
        min_id: int,
    ) -> tuple[list[EmulatedMessage], int]:
        """Page through history like ``messages.getHistory``; returns (page, total count).

        The list is newest first. ``offset_id``/``offset_date`` pick the first
        message strictly older than them, ``add_offset`` shifts that start
        (negative values page towards newer messages), ``limit`` ≤ 100, and
        ``min_id``/``max_id`` are exclusive bounds."""
        limit = max(0, min(limit, 100))
        live = ch.live
        total = len(live)
        lo = bisect.bisect_right(live, min_id) if min_id > 0 else 0
        hi = bisect.bisect_left(live, max_id) if max_id > 0 else total
        hi = max(hi, lo)
        # Work on the filtered list newest first: desc[k] == live[hi - 1 - k].
        skipped = 0  # how many filtered messages are at or after the offset
        if offset_id > 0:
            skipped = hi - min(hi, max(lo, bisect.bisect_left(live, offset_id)))
        elif offset_date is not None and offset_date.timestamp() > 0:
            # Telethon sends "no date" as 0, which arrives as the Unix epoch.
            stamp = offset_date if offset_date.tzinfo else offset_date.replace(tzinfo=UTC)
            while skipped < hi - lo and ch.messages[live[hi - 1 - skipped]].date >= stamp:
                skipped += 1
        start = max(skipped + add_offset, 0)
        end = min(max(skipped + add_offset + limit, 0), hi - lo)
        return [ch.messages[live[hi - 1 - k]] for k in range(start, end)], total

    def search(
        self,
        ch: EmulatedChannel,
        match: Callable[[EmulatedMessage], bool],
        *,
        offset_id: int,
        add_offset: int,
        limit: int,
        max_id: int,
        min_id: int,
        min_date: datetime | None,
        max_date: datetime | None,
    ) -> tuple[list[EmulatedMessage], int]:
        """Like ``messages.search`` in one channel: the live messages that
        ``match`` within the exclusive id bounds and the date bounds, newest
        first, paged like history (``offset_id`` exclusive, ``add_offset``,
        ``limit`` ≤ 100); returns (page, count of all matches)."""

        def _ts(d: datetime | None) -> float:
            if d is None:
                return 0.0
            return (d if d.tzinfo else d.replace(tzinfo=UTC)).timestamp()

        lo_d, hi_d = _ts(min_date), _ts(max_date)
        hits = [
            m
            for i in reversed(ch.live)
            if (min_id <= 0 or i > min_id)
            and (max_id <= 0 or i < max_id)
            and (m := ch.messages[i])
            and (lo_d <= 0 or m.date.timestamp() >= lo_d)
            and (hi_d <= 0 or m.date.timestamp() <= hi_d)
            and match(m)
        ]
        skipped = sum(1 for m in hits if m.id >= offset_id) if offset_id > 0 else 0
        limit = max(0, min(limit, 100))
        start = max(skipped + add_offset, 0)
        end = min(max(skipped + add_offset + limit, 0), len(hits))
        return hits[start:end], len(hits)

    def dialogs(self, folder: int) -> list[tuple[EmulatedChannel, int, datetime]]:
        """The account's joined, readable channels in ``folder`` as
        (channel, top message id, its date), in Telegram's dialog order:
        newest top message first (a channel without posts by its creation)."""
        out: list[tuple[EmulatedChannel, int, datetime]] = []
        for cid in self.joined:
            ch = self.channels.get(cid)
            if ch is None or ch.private or ch.folder != folder:
                continue
            top = ch.live[-1] if ch.live else 0
            date = ch.messages[top].date if top else ch.created
            out.append((ch, top, date))
        out.sort(key=lambda d: (d[2], d[1], d[0].id), reverse=True)
        return out

    def truth(self) -> dict[str, Any]:
        """The world as the ``--dump-state`` JSON shape (every message, deleted
        ones marked; service messages under ``service``, emulator/events.py)."""
        out: list[dict[str, Any]] = []
        for ch in sorted(self.channels.values(), key=lambda c: c.id):
            out.append(
                {
                    "id": ch.id,
                    "access_hash": ch.access_hash,
                    "username": ch.username,
                    "title": ch.title,
                    "private": ch.private,
                    "pts": ch.pts,
                    **events.truth_of(ch),
                    "linked_chat_id": ch.linked_chat_id,
                    "messages": [
                        {
                            "id": m.id,
                            "date": m.date.isoformat(),
                            "text": m.text,
                            "edit_date": m.edit_date.isoformat() if m.edit_date else None,
                            "deleted": m.deleted,
                            "views": m.views,
                            "forwards": m.forwards,
                            "grouped_id": m.grouped_id,
                            "fwd_from": list(m.fwd_from) if m.fwd_from else None,
                            "media": m.media.get("type", "photo") if m.media else None,
                            "pinned": m.pinned,
                            "poll": events.poll_truth(m),
                            "from_user": m.from_user,
                            "reply_to": m.reply_to,
                            "thread": m.thread,
                            "channel_post": m.channel_post,
                        }
                        for m in sorted(ch.messages.values(), key=lambda m: m.id)
                        if m.action is None
                    ],
                }
            )
        return {"channels": out}

    def events_after(self, ch: EmulatedChannel, pts: int) -> list[PtsEvent]:
        """Log events with pts greater than ``pts``, oldest first."""
        if not ch.log or pts >= ch.pts:
            return []
        # The log is dense: event pts values are consecutive.
        first = ch.log[0].pts
        return ch.log[max(pts + 1 - first, 0) :]

    def chats_for(self, channels: Iterable[EmulatedChannel]) -> list[types.TypeChat]:
        """Distinct ``Channel`` constructors, with forward origins that exist."""
        seen: dict[int, types.TypeChat] = {}
        for ch in channels:
            if ch.id not in seen:
                seen[ch.id] = ch.tl(left=ch.id not in self.joined)
        return list(seen.values())

    def forward_origins(
        self, ch: EmulatedChannel, msgs: Iterable[EmulatedMessage]
    ) -> list[EmulatedChannel]:
        """The channel plus every known channel its messages were forwarded from."""
        out = [ch]
        for m in msgs:
            if m.fwd_from is not None:
                origin = self.channels.get(m.fwd_from[0])
                if origin is not None:
                    out.append(origin)
        return out
