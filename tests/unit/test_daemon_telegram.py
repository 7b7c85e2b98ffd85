"""Telethon message → models.Post conversion (real Telethon TL objects)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from telethon import types

from telewatch.daemon.channel import RangeSet
from telewatch.models import UserError
from telewatch.sources.telegram import MalformedMessage, SessionLock, to_channel, to_post

CID = 1500000001
DATE = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def _msg(**kw: object) -> types.Message:
    base: dict[str, object] = {
        "id": 42,
        "peer_id": types.PeerChannel(CID),
        "date": DATE,
        "message": "hi",
    }
    base.update(kw)
    return types.Message(**base)  # type: ignore[arg-type]


def test_text_entities_keep_utf16_offsets_and_urls() -> None:
    """Entities keep Telegram's UTF-16 offsets; text_link carries its URL."""
    text = "🔥 breaking: السماوة"
    m = _msg(
        message=text,
        entities=[
            types.MessageEntityBold(offset=0, length=2),
            types.MessageEntityTextUrl(offset=3, length=8, url="https://example.org/a"),
            types.MessageEntityHashtag(offset=13, length=7),
        ],
    )
    p = to_post(m)
    assert p is not None
    assert p.text == text and p.channel_id == CID and p.message_id == 42
    assert [(e.type, e.offset, e.length) for e in p.entities] == [
        ("bold", 0, 2),
        ("text_link", 3, 8),
        ("hashtag", 13, 7),
    ]
    assert p.entities[1].url == "https://example.org/a"
    assert p.date == DATE


def test_forward_header_reply_album_and_engagement() -> None:
    """Forward origin, reply, album id, views/forwards/replies and reactions survive."""
    m = _msg(
        fwd_from=types.MessageFwdHeader(
            date=datetime(2024, 2, 29, 8, 0, tzinfo=UTC),
            from_id=types.PeerChannel(1500000009),
            channel_post=77,
        ),
        reply_to=types.MessageReplyHeader(reply_to_msg_id=40),
        grouped_id=99,
        views=1200,
        forwards=30,
        replies=types.MessageReplies(replies=4, replies_pts=1),
        reactions=types.MessageReactions(
            results=[
                types.ReactionCount(reaction=types.ReactionEmoji("👍"), count=12),
                types.ReactionCount(reaction=types.ReactionCustomEmoji(555), count=2),
            ]
        ),
        edit_date=datetime(2024, 3, 1, 13, 0, tzinfo=UTC),
        post_author="desk",
    )
    p = to_post(m)
    assert p is not None and p.forward is not None and p.engagement is not None
    assert (p.forward.channel_id, p.forward.message_id) == (1500000009, 77)
    assert p.reply_to == 40 and p.grouped_id == 99 and p.post_author == "desk"
    assert (p.engagement.views, p.engagement.forwards, p.engagement.replies) == (1200, 30, 4)
    assert p.engagement.reactions == (("👍", 12), ("custom:555", 2))
    assert p.edit_date == datetime(2024, 3, 1, 13, 0, tzinfo=UTC)


def test_media_summaries_for_photo_video_voice_and_webpage() -> None:
    """Media become summaries: kind, size, dimensions, duration, file name."""
    photo = types.Photo(
        id=7,
        access_hash=1,
        file_reference=b"",
        date=DATE,
        dc_id=2,
        sizes=[types.PhotoSize("m", 320, 240, 1000), types.PhotoSize("y", 1280, 960, 90000)],
    )
    p = to_post(_msg(media=types.MessageMediaPhoto(photo=photo)))
    assert p is not None and p.media is not None
    assert (p.media.kind, p.media.width, p.media.height, p.media.size) == (
        "photo",
        1280,
        960,
        90000,
    )

    video = types.Document(
        id=8,
        access_hash=1,
        file_reference=b"",
        date=DATE,
        mime_type="video/mp4",
        size=5_000_000,
        dc_id=2,
        attributes=[
            types.DocumentAttributeVideo(duration=12.5, w=640, h=360),
            types.DocumentAttributeFilename("clip.mp4"),
        ],
    )
    p = to_post(_msg(media=types.MessageMediaDocument(document=video)))
    assert p is not None and p.media is not None
    assert (p.media.kind, p.media.duration, p.media.file_name, p.media.mime) == (
        "video",
        12.5,
        "clip.mp4",
        "video/mp4",
    )

    voice = types.Document(
        id=9,
        access_hash=1,
        file_reference=b"",
        date=DATE,
        mime_type="audio/ogg",
        size=10,
        dc_id=2,
        attributes=[types.DocumentAttributeAudio(duration=3, voice=True)],
    )
    p = to_post(_msg(media=types.MessageMediaDocument(document=voice)))
    assert p is not None and p.media is not None and p.media.kind == "voice"


def test_service_messages_are_skipped_and_broken_ones_raise() -> None:
    """A service message is not a post; a message without date is malformed."""
    svc = types.MessageService(
        id=3,
        peer_id=types.PeerChannel(CID),
        date=DATE,
        action=types.MessageActionChatEditTitle("x"),
    )
    assert to_post(svc) is None
    with pytest.raises(MalformedMessage):
        to_post(_msg(date=None))
    with pytest.raises(MalformedMessage):
        to_post(_msg(entities=[types.MessageEntityBold(offset=-1, length=2)]))


def test_channel_conversion_uses_the_active_username() -> None:
    """A channel without a main username takes its first active one."""
    chat = types.Channel(
        id=CID,
        title="Rafidain",
        photo=types.ChatPhotoEmpty(),
        date=DATE,
        access_hash=777,
        username=None,
        usernames=[types.Username("old_one", active=False), types.Username("new_one", active=True)],
    )
    ch = to_channel(chat)
    assert ch is not None and (ch.username, ch.access_hash, ch.title) == (
        "new_one",
        777,
        "Rafidain",
    )


def test_range_set_merges_and_finds_the_lowest_hole() -> None:
    """Adjacent ranges merge; the first hole above a floor is found."""
    r = RangeSet([(1, 100), (201, 300)])
    assert r.first_hole(1) == 101
    r.add(101, 200)
    assert r.intervals() == [(1, 300)]
    assert r.first_hole(1) == 301 and r.first_hole(500) == 500
    r.add(400, 410)
    assert r.first_hole(350) == 350 and r.top == 410 and r.covers(405) and not r.covers(350)


def test_session_lock_refuses_a_second_process(tmp_path: Path) -> None:
    """Two holders of one session: the second gets a clear UserError."""
    a, b = SessionLock(tmp_path / "s.session"), SessionLock(tmp_path / "s.session")
    a.acquire()
    try:
        with pytest.raises(UserError, match="in use by another telewatch process"):
            b.acquire()
    finally:
        a.release()
    b.acquire()
    b.release()


def test_unexpected_field_shapes_become_malformed_not_crashes() -> None:
    """A message whose media has an impossible shape is reported as malformed."""
    doc = types.Document(
        id=8,
        access_hash=1,
        file_reference=b"",
        date=DATE,
        mime_type="video/mp4",
        size=1,
        dc_id=2,
        attributes=[types.DocumentAttributeVideo(duration=None, w=1, h=1)],  # type: ignore[arg-type]
    )
    with pytest.raises(MalformedMessage, match="message 42: TypeError"):
        to_post(_msg(media=types.MessageMediaDocument(document=doc)))
