"""Linked discussion groups: comments under channel posts, as Telegram has them.

A broadcast channel may have a linked discussion group (a megagroup); both
carry the other's id in ``linked_chat_id``. Every post of the channel gets
its *discussion copy* in the group: a group message sent as the channel,
with ``fwd_from`` naming the post (``channel_post``, ``saved_from_peer``,
``saved_from_msg_id``). Comments are group messages written by users that
reply to the copy (``reply_to_msg_id`` = copy id) or to another comment of
the thread (``reply_to_msg_id`` = that comment, ``reply_to_top_id`` = copy
id). The post's ``replies`` counts the thread's live comments and carries
``comments=True`` and the group's ``channel_id``.

The group is an ordinary :class:`~telewatch.emulator.world.EmulatedChannel`
with its own pts log, so history, ``getChannelDifference``, pushes and
``channels.getMessages`` work on it unchanged. Plain data, no networking.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telethon.tl import types

from telewatch.emulator.world import EmulatedChannel, EmulatedMessage, RpcFailure, World


@dataclass
class EmulatedUser:
    """A user who comments (never the logged-in account)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    access_hash: int = 0

    def tl(self) -> types.User:
        """The ``User`` constructor sent with the messages it wrote."""
        return types.User(
            id=self.id,
            access_hash=self.access_hash or (self.id * 7919) & 0x7FFFFFFFFFFFFFFF,
            first_name=self.first_name,
            last_name=self.last_name,
            username=self.username,
        )


def add_user(
    world: World,
    user_id: int,
    first_name: str,
    *,
    last_name: str | None = None,
    username: str | None = None,
) -> EmulatedUser:
    """Create (or replace) a commenting user."""
    if user_id <= 0:
        raise ValueError(f"user id must be positive, got {user_id}")
    user = EmulatedUser(user_id, first_name, last_name, username.lstrip("@") if username else None)
    world.users[user_id] = user
    return user


def link(world: World, channel: EmulatedChannel, group: EmulatedChannel) -> None:
    """Make ``group`` (a megagroup) the discussion group of ``channel``."""
    if channel.megagroup or not group.megagroup:
        raise ValueError(
            f"a discussion group links a broadcast channel to a megagroup"
            f" ({channel.id} → {group.id})"
        )
    channel.linked_chat_id = group.id
    group.linked_chat_id = channel.id


def group_of(world: World, channel: EmulatedChannel) -> EmulatedChannel | None:
    """The discussion group of a broadcast channel, or None."""
    if channel.megagroup or channel.linked_chat_id is None:
        return None
    return world.channels.get(channel.linked_chat_id)


def copy_of(group: EmulatedChannel, post_id: int) -> EmulatedMessage | None:
    """The discussion copy of the linked channel's post ``post_id``, or None."""
    for msg in group.messages.values():
        if msg.channel_post == post_id:
            return msg
    return None


def add_copy(
    world: World, channel: EmulatedChannel, post: EmulatedMessage, *, log: bool = True
) -> EmulatedMessage | None:
    """Put the discussion copy of ``post`` into the channel's group (None
    when the channel has none); the copy holds the post's text and media."""
    group = group_of(world, channel)
    if group is None:
        return None
    copy = world.add_message(
        group,
        post.text,
        date=post.date,
        log=log,
        entities=list(post.entities),
        media=post.media,
        channel_post=post.id,
    )
    post.replies = post.replies or 0  # counted from zero once it can have comments
    return copy


def thread_top(group: EmulatedChannel, reply_to: int) -> EmulatedMessage:
    """The discussion copy a reply to ``reply_to`` belongs to; raises
    ``KeyError`` when ``reply_to`` is not a live message of a thread."""
    msg = group.messages.get(reply_to)
    if msg is None or msg.deleted:
        raise KeyError(f"group {group.id} has no message {reply_to}")
    if msg.channel_post is not None:
        return msg
    if msg.thread is None:
        raise KeyError(f"message {reply_to} of group {group.id} is in no comment thread")
    top = group.messages.get(msg.thread)
    if top is None:
        raise KeyError(f"thread {msg.thread} of group {group.id} is gone")
    return top


def add_comment(
    world: World,
    channel: EmulatedChannel,
    post_id: int,
    user_id: int,
    text: str,
    *,
    reply_to: int | None = None,
    date: datetime | None = None,
    log: bool = True,
    message_id: int | None = None,
) -> tuple[EmulatedChannel, EmulatedMessage]:
    """A comment by ``user_id`` under the channel's post ``post_id`` (or, with
    ``reply_to``, replying to that comment of the same thread); returns
    (group, comment). Raises ``KeyError`` naming what is missing."""
    group = group_of(world, channel)
    if group is None:
        raise KeyError(f"channel {channel.id} has no discussion group")
    if user_id not in world.users:
        raise KeyError(f"no user {user_id} in the emulator (declare it under [[users]])")
    post = world.live_message(channel, post_id)
    copy = copy_of(group, post_id)
    if copy is None or copy.deleted:
        raise KeyError(f"post {channel.id}/{post_id} has no discussion copy")
    target = copy.id
    if reply_to is not None:
        if thread_top(group, reply_to).id != copy.id:
            raise KeyError(f"comment {reply_to} is not under post {channel.id}/{post_id}")
        target = reply_to
    msg = world.add_message(
        group,
        text,
        date=date,
        log=log,
        message_id=message_id,
        from_user=user_id,
        reply_to=target,
        thread=copy.id,
    )
    post.replies = (post.replies or 0) + 1
    copy.replies = post.replies
    return group, msg


def comment_deleted(world: World, group: EmulatedChannel, msg: EmulatedMessage) -> None:
    """Keep the post's reply counter right after a comment was deleted."""
    if msg.thread is None or group.linked_chat_id is None:
        return
    copy = group.messages.get(msg.thread)
    channel = world.channels.get(group.linked_chat_id)
    if copy is None or copy.channel_post is None or channel is None:
        return
    post = channel.messages.get(copy.channel_post)
    if post is not None and post.replies:
        post.replies -= 1
        copy.replies = post.replies


def thread_messages(group: EmulatedChannel, top_id: int) -> list[int]:
    """Live ids of the thread of discussion copy ``top_id``, ascending."""
    return [
        i
        for i in group.live
        if group.messages[i].thread == top_id and group.messages[i].from_user is not None
    ]


def resolve_thread(
    world: World, ch: EmulatedChannel, msg_id: int
) -> tuple[EmulatedChannel, EmulatedMessage]:
    """(group, discussion copy) for ``messages.getReplies``/``getDiscussionMessage``
    on a channel post or on a group message; ``MSG_ID_INVALID`` otherwise."""
    if not ch.megagroup:
        group = group_of(world, ch)
        post = ch.messages.get(msg_id)
        if group is None or post is None or post.deleted:
            raise RpcFailure(400, "MSG_ID_INVALID")
        copy = copy_of(group, msg_id)
        if copy is None or copy.deleted:
            raise RpcFailure(400, "MSG_ID_INVALID")
        return group, copy
    try:
        return ch, thread_top(ch, msg_id)
    except KeyError:
        raise RpcFailure(400, "MSG_ID_INVALID") from None


def replies(
    group: EmulatedChannel,
    top_id: int,
    *,
    offset_id: int,
    offset_date: datetime | None,
    add_offset: int,
    limit: int,
    max_id: int,
    min_id: int,
) -> tuple[list[EmulatedMessage], int]:
    """Page through a thread like ``messages.getReplies``: newest first,
    ``offset_id``/``offset_date`` start strictly below/before, ``add_offset``
    shifts (negative pages towards newer), ``limit`` ≤ 100, exclusive
    ``min_id``/``max_id``; returns (page, count of the thread's comments)."""
    ids = thread_messages(group, top_id)
    total = len(ids)
    within = [i for i in ids if (min_id <= 0 or i > min_id) and (max_id <= 0 or i < max_id)]
    desc = within[::-1]
    skipped = 0
    if offset_id > 0:
        skipped = sum(1 for i in desc if i >= offset_id)
    elif offset_date is not None and offset_date.timestamp() > 0:
        stamp = offset_date.timestamp()
        skipped = sum(1 for i in desc if group.messages[i].date.timestamp() >= stamp)
    limit = max(0, min(limit, 100))
    start = max(skipped + add_offset, 0)
    end = min(max(skipped + add_offset + limit, 0), len(desc))
    return [group.messages[i] for i in desc[start:end]], total


def users_for(world: World, msgs: Iterable[EmulatedMessage]) -> list[Any]:
    """``User`` constructors of the authors of ``msgs`` (each once)."""
    seen: dict[int, Any] = {}
    for m in msgs:
        uid = m.from_user
        if uid is not None and uid not in seen and not m.deleted:
            user = world.users.get(uid)
            if user is not None:
                seen[uid] = user.tl()
    return list(seen.values())
