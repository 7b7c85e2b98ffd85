"""sources.telegram's conversions of polls, pins, service messages and channel
photos from Telethon's TL objects, odd ones included (issue 14)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from telethon.tl import types

from telewatch.models import ChannelActionSeen, PinChanged, PollResultsSeen
from telewatch.sources.telegram import (
    to_action,
    to_channel_photo,
    to_poll,
    to_post,
    to_update_event,
)

NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)
PEER = types.PeerChannel(1500000001)


def _poll(**kw: object) -> types.Poll:
    return types.Poll(
        id=42,
        question=types.TextWithEntities("Which?", []),
        answers=[
            types.PollAnswer(types.TextWithEntities("A", []), b"\x00"),
            types.PollAnswer(types.TextWithEntities("B", []), b"\x01"),
        ],
        hash=0,
        **kw,  # type: ignore[arg-type]
    )


def test_poll_with_results_and_min_results() -> None:
    media = types.MessageMediaPoll(
        poll=_poll(closed=True, multiple_choice=True),
        results=types.PollResults(
            results=[types.PollAnswerVoters(b"\x01", voters=4, recent_voters=[]),
                     types.PollAnswerVoters(b"\x00", voters=2, recent_voters=[])],
            total_voters=5,
        ),
    )  # fmt: skip
    poll = to_poll(media)
    assert poll is not None and poll.question == "Which?" and poll.multiple
    assert [a.text for a in poll.answers] == ["A", "B"]
    assert poll.results.closed and poll.results.total_voters == 5
    assert poll.results.voters == (("00", 2), ("01", 4))
    # min results (Telegram hides counts until one votes): no counts, no total
    hidden = to_poll(types.MessageMediaPoll(poll=_poll(), results=types.PollResults(min=True)))
    assert (
        hidden is not None and hidden.results.voters == () and hidden.results.total_voters is None
    )
    assert to_poll(types.MessageMediaPhoto()) is None


def test_a_post_with_an_unreadable_poll_is_still_archived() -> None:
    bad = types.MessageMediaPoll(poll=_poll(), results=types.PollResults())
    bad.poll.answers = None  # type: ignore[assignment]  # what a broken layer could hand over
    msg = types.Message(id=7, peer_id=PEER, date=NOW, message="vote", media=bad, pinned=True)
    post = to_post(msg)
    assert post is not None and post.poll is None and post.media is not None
    assert post.media.kind == "poll" and post.pinned is True


def test_service_messages() -> None:
    pin = types.MessageService(
        id=9, peer_id=PEER, date=NOW, action=types.MessageActionPinMessage(),
        reply_to=types.MessageReplyHeader(reply_to_msg_id=7),
    )  # fmt: skip
    assert to_action(pin, 1500000001, NOW) == ChannelActionSeen(
        1500000001, 9, NOW, "pin", NOW, None, 7
    )
    title = types.MessageService(
        id=10, peer_id=PEER, date=NOW, action=types.MessageActionChatEditTitle("New")
    )
    assert to_action(title, 1500000001, NOW) == ChannelActionSeen(
        1500000001, 10, NOW, "title", NOW, "New", None
    )
    other = types.MessageService(
        id=11, peer_id=PEER, date=NOW, action=types.MessageActionHistoryClear()
    )
    got = to_action(other, 1500000001, NOW)
    assert got is not None and (got.action, got.value) == ("other", "MessageActionHistoryClear")
    assert to_post(title) is None  # service messages are not posts


def test_updates() -> None:
    pin = types.UpdatePinnedChannelMessages(1500000001, [3, 4], pts=20, pts_count=1)
    assert to_update_event(pin, NOW) == (
        1500000001,
        PinChanged(1500000001, (3, 4), False, NOW, "push", pts=20),
    )
    results = types.PollResults(
        results=[types.PollAnswerVoters(b"\x00", voters=1, recent_voters=[])], total_voters=1
    )
    got = to_update_event(types.UpdateMessagePoll(poll_id=42, results=results), NOW)
    assert got is not None and got[0] is None
    ev = got[1]
    assert isinstance(ev, PollResultsSeen) and not ev.closed_known and ev.poll_id == 42
    closed = to_update_event(
        types.UpdateMessagePoll(poll_id=42, results=results, peer=PEER, poll=_poll(closed=True)),
        NOW,
    )
    assert closed is not None and closed[0] == 1500000001
    assert isinstance(closed[1], PollResultsSeen) and closed[1].closed_known
    assert closed[1].results.closed
    assert to_update_event(types.UpdateChannel(1500000001), NOW) is None


def test_channel_photo() -> None:
    assert to_channel_photo(types.ChatPhotoEmpty()).photo_id is None  # type: ignore[union-attr]
    thumb = b"\x01\x28\x28abc"
    photo = to_channel_photo(types.ChatPhoto(photo_id=99, dc_id=4, stripped_thumb=thumb))
    assert photo is not None and (photo.photo_id, photo.dc_id) == (99, 4)
    assert photo.thumb_sha256 == hashlib.sha256(thumb).hexdigest()
    assert to_channel_photo(types.ChatPhoto(photo_id=99, dc_id=4)).thumb_sha256 is None  # type: ignore[union-attr]
    assert to_channel_photo(None) is None
