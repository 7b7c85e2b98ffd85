"""Polls, pins, service messages and channel metadata changes of the emulated world.

What Telegram does, and so the emulator:

* A poll is a message whose media is ``messageMediaPoll(poll, results)``.
  Votes change the results without a pts: members are pushed
  ``updateMessagePoll(poll_id, results)``; the message read again (history,
  ``channels.getMessages``) carries the current results. Closing a poll is
  an edit of its message (one pts, ``updateEditChannelMessage``).
* Pinning takes a pts (``updatePinnedChannelMessages`` pushed, and returned
  by ``getChannelDifference``), sets the message's ``pinned`` flag and posts a
  ``messageService(action=messageActionPinMessage)`` replying to the pinned
  post; unpinning only takes the pts and clears the flag.
* A new title posts ``messageActionChatEditTitle``, a new photo
  ``messageActionChatEditPhoto`` (a service message, one pts each); both,
  and a new description (``about``, read with ``channels.getFullChannel``),
  push ``updateChannel``.

In the world, a poll lives in the message's ``media`` dict (``type = "poll"``,
``question``, ``answers``, ``votes``, ``closed``, ``multiple``, ``quiz``,
``public``), a service message is an ``EmulatedMessage`` with ``action``
set, and the channel's photo is ``EmulatedChannel.photo`` (``{"id", "seed"}``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from telethon.tl import types

if TYPE_CHECKING:
    from telewatch.emulator.world import EmulatedChannel, EmulatedMessage, World


def message_tl(channel: EmulatedChannel, msg: EmulatedMessage) -> Any:
    """world.message_tl (imported late: world imports this module)."""
    from telewatch.emulator.world import message_tl as build

    return build(channel, msg)


def poll_id(channel_id: int, message_id: int) -> int:
    """The deterministic poll id of a channel's poll message."""
    return channel_id * 1_000_000 + message_id


def poll_spec(media: dict[str, Any], where: str) -> dict[str, Any]:
    """A checked poll media dict (question, 2..10 answers, votes per answer).

    Raises ValueError naming ``where`` and the problem."""
    question = media.get("question")
    answers = media.get("answers")
    if not isinstance(question, str) or not question:
        raise ValueError(f"{where}: a poll needs a non-empty question")
    if (
        not isinstance(answers, list)
        or not 2 <= len(answers) <= 10
        or not all(isinstance(a, str) and a for a in answers)
    ):
        raise ValueError(f"{where}: a poll needs 2 to 10 non-empty answers")
    votes = media.get("votes") or [0] * len(answers)
    if (
        not isinstance(votes, list)
        or len(votes) != len(answers)
        or not all(isinstance(v, int) and v >= 0 for v in votes)
    ):
        raise ValueError(f"{where}: poll votes must be one count >= 0 per answer")
    return {
        "type": "poll",
        "question": question,
        "answers": list(answers),
        "votes": list(votes),
        "closed": bool(media.get("closed", False)),
        "multiple": bool(media.get("multiple", False)),
        "quiz": bool(media.get("quiz", False)),
        "public": bool(media.get("public", False)),
    }


def _text(value: str) -> types.TextWithEntities:
    return types.TextWithEntities(text=value, entities=[])


def poll_tl(channel_id: int, message_id: int, media: dict[str, Any]) -> types.Poll:
    """The ``Poll`` constructor of a poll media dict."""
    return types.Poll(
        id=poll_id(channel_id, message_id),
        question=_text(str(media["question"])),
        answers=[
            types.PollAnswer(text=_text(str(a)), option=bytes([i]))
            for i, a in enumerate(media["answers"])
        ],
        hash=0,
        closed=bool(media.get("closed")) or None,
        public_voters=bool(media.get("public")) or None,
        multiple_choice=bool(media.get("multiple")) or None,
        quiz=bool(media.get("quiz")) or None,
    )


def poll_results_tl(media: dict[str, Any]) -> types.PollResults:
    """``PollResults`` with every answer's voters and the total.

    Multiple-choice polls count a voter once in the total; the emulator's
    total is the sum for single-choice polls and the largest count otherwise."""
    votes = [int(v) for v in media.get("votes") or []]
    total = max(votes, default=0) if media.get("multiple") else sum(votes)
    return types.PollResults(
        results=[
            types.PollAnswerVoters(option=bytes([i]), voters=v, recent_voters=[])
            for i, v in enumerate(votes)
        ],
        total_voters=total,
    )


def poll_media_tl(
    channel_id: int, message_id: int, media: dict[str, Any]
) -> types.MessageMediaPoll:
    """``MessageMediaPoll`` of a poll message."""
    return types.MessageMediaPoll(
        poll=poll_tl(channel_id, message_id, media), results=poll_results_tl(media)
    )


def photo_thumb(seed: int) -> bytes:
    """The deterministic small image of a channel photo (stripped-thumb bytes)."""
    return b"\x01\x28\x28" + hashlib.sha256(f"telewatch-photo-{seed}".encode()).digest()


def chat_photo_tl(photo: dict[str, Any] | None) -> types.TypeChatPhoto:
    """``Channel.photo``: ``ChatPhoto`` with its stripped thumb, or empty."""
    if not photo:
        return types.ChatPhotoEmpty()
    return types.ChatPhoto(
        photo_id=int(photo["id"]), dc_id=2, stripped_thumb=photo_thumb(int(photo["seed"]))
    )


def photo_tl(photo: dict[str, Any] | None, date: datetime) -> types.TypePhoto:
    """The full ``Photo`` (getFullChannel's ``chat_photo``, the edit-photo
    action): sizes ``a`` (small) and ``c`` (big) with their real byte counts
    and a fresh file reference, downloadable (emulator/media.py)."""
    from telewatch.emulator import media

    if not photo:
        return types.PhotoEmpty(id=0)
    pid = int(photo["id"])
    seed = int(photo["seed"])
    return types.Photo(
        id=pid,
        access_hash=pid & 0x7FFFFFFFFFFFFFFF,
        file_reference=media.file_reference(),
        date=date,
        sizes=[
            types.PhotoStrippedSize("i", photo_thumb(seed)),
            types.PhotoSize("a", 160, 160, len(media.channel_photo_bytes(seed, "small"))),
            types.PhotoSize("c", 640, 640, len(media.channel_photo_bytes(seed, "big"))),
        ],
        dc_id=2,
    )


def service_tl(channel: EmulatedChannel, msg: EmulatedMessage) -> types.MessageService:
    """The ``MessageService`` of a service message of the world."""
    action = msg.action or {}
    kind = action.get("type")
    tl_action: Any
    reply = None
    if kind == "pin":
        tl_action = types.MessageActionPinMessage()
        reply = types.MessageReplyHeader(reply_to_msg_id=int(action["message_id"]))
    elif kind == "title":
        tl_action = types.MessageActionChatEditTitle(title=str(action["title"]))
    elif kind == "photo":
        tl_action = types.MessageActionChatEditPhoto(photo=photo_tl(action.get("photo"), msg.date))
    elif kind == "photo_removed":
        tl_action = types.MessageActionChatDeletePhoto()
    else:
        tl_action = types.MessageActionEmpty()
    return types.MessageService(
        id=msg.id,
        peer_id=types.PeerChannel(channel.id),
        date=msg.date,
        action=tl_action,
        post=not channel.megagroup or None,
        reply_to=reply,
    )


def pinned_ids(channel: EmulatedChannel) -> list[int]:
    """Ids of the channel's pinned, live messages, ascending."""
    return sorted(i for i, m in channel.messages.items() if m.pinned and not m.deleted)


def truth_of(channel: EmulatedChannel) -> dict[str, Any]:
    """The channel's events part of the truth dump: about, photo, pinned ids
    and its service messages (which are not in ``messages``)."""
    return {
        "about": channel.about,
        "photo": int(channel.photo["id"]) if channel.photo else None,
        "pinned": pinned_ids(channel),
        "service": [
            {"id": m.id, "date": m.date.isoformat(), **(m.action or {})}
            for m in sorted(channel.messages.values(), key=lambda m: m.id)
            if m.action is not None
        ],
    }


def poll_truth(msg: EmulatedMessage) -> dict[str, Any] | None:
    """A poll message's question, answers, votes and closed flag (else None)."""
    media = msg.media
    if not media or media.get("type") != "poll":
        return None
    return {
        "question": media["question"],
        "answers": list(media["answers"]),
        "votes": list(media["votes"]),
        "closed": bool(media.get("closed")),
    }


class EventsMixin:
    """The ``Emulator`` methods of this module (the emulator class inherits them).

    Needs ``self.world`` and ``self._push(channel, update, ...)`` from it."""

    world: World
    _push: Callable[..., None]

    def _service(self, ch: EmulatedChannel, action: dict[str, Any], *, push: bool) -> int:
        msg = self.world.add_message(ch, "", date=datetime.now(UTC), action=action)
        self._push(
            ch,
            types.UpdateNewChannelMessage(message=service_tl(ch, msg), pts=ch.pts, pts_count=1),
            push=push,
        )
        return msg.id

    def vote(
        self,
        channel_id: int,
        message_id: int,
        votes: Sequence[int],
        *,
        closed: bool | None = None,
        push: bool = True,
    ) -> None:
        """Set a poll's vote counts (one per answer) and, with ``closed``, close
        or reopen it. Votes take no pts (as on Telegram): ``updateMessagePoll``
        is pushed. Closing is an edit of the message (``messages.editMessage``
        with the poll closed): one pts, ``updateEditChannelMessage`` with the
        closed poll, then ``updateMessagePoll`` with the poll."""
        ch = self.world.channel(channel_id)
        msg = self.world.live_message(ch, message_id)
        media = msg.media
        if not media or media.get("type") != "poll":
            raise KeyError(f"message {channel_id}/{message_id} is not a poll")
        counts = [int(v) for v in votes]
        if len(counts) != len(media["answers"]) or any(v < 0 for v in counts):
            raise ValueError(f"poll {channel_id}/{message_id} needs one count >= 0 per answer")
        media["votes"] = counts
        changed_state = closed is not None and bool(closed) != bool(media.get("closed"))
        if closed is not None:
            media["closed"] = bool(closed)
        if changed_state:
            ch.append_event("edit", (msg.id,))
            self._push(
                ch,
                types.UpdateEditChannelMessage(
                    message=message_tl(ch, msg), pts=ch.pts, pts_count=1
                ),
                push=push,
            )
        update = types.UpdateMessagePoll(
            poll_id=poll_id(ch.id, msg.id),
            results=poll_results_tl(media),
            peer=types.PeerChannel(ch.id),
            msg_id=msg.id,
            poll=poll_tl(ch.id, msg.id, media) if changed_state else None,
        )
        self._push(ch, update, push=push)

    def pin_post(
        self, channel_id: int, message_id: int, *, pinned: bool = True, push: bool = True
    ) -> None:
        """Pin (or unpin) a post as Telegram does: one pts with
        ``updatePinnedChannelMessages``, and, for a pin, a pin service message."""
        ch = self.world.channel(channel_id)
        msg = self.world.live_message(ch, message_id)
        if msg.action is not None:
            raise ValueError(f"message {channel_id}/{message_id} is a service message")
        msg.pinned = pinned
        ch.append_event("pin" if pinned else "unpin", (message_id,))
        self._push(
            ch,
            types.UpdatePinnedChannelMessages(
                channel_id=ch.id, messages=[message_id], pts=ch.pts, pts_count=1, pinned=pinned
            ),
            push=push,
        )
        if pinned:
            self._service(ch, {"type": "pin", "message_id": message_id}, push=push)

    def set_title(self, channel_id: int, title: str, *, push: bool = True) -> int:
        """Rename the channel's title: a title service message (returns its id)
        and ``updateChannel``."""
        if not title:
            raise ValueError("a channel title cannot be empty")
        ch = self.world.channel(channel_id)
        ch.title = title
        mid = self._service(ch, {"type": "title", "title": title}, push=push)
        self._push(ch, types.UpdateChannel(channel_id=ch.id), push=push)
        return mid

    def set_about(self, channel_id: int, about: str, *, push: bool = True) -> None:
        """Change the description (getFullChannel's ``about``); ``updateChannel``."""
        ch = self.world.channel(channel_id)
        ch.about = about
        self._push(ch, types.UpdateChannel(channel_id=ch.id), push=push)

    def set_photo(self, channel_id: int, seed: int | None, *, push: bool = True) -> int:
        """Set the channel photo to the deterministic image ``seed`` (None:
        remove it): a service message (returns its id) and ``updateChannel``."""
        ch = self.world.channel(channel_id)
        if seed is None:
            ch.photo = None
            action: dict[str, Any] = {"type": "photo_removed"}
        else:
            ch.photo = {"id": poll_id(ch.id, 900_000 + int(seed) % 100_000), "seed": int(seed)}
            action = {"type": "photo", "photo": dict(ch.photo)}
        mid = self._service(ch, action, push=push)
        self._push(ch, types.UpdateChannel(channel_id=ch.id), push=push)
        return mid
