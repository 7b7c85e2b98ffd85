"""Polls, pins, service messages and channel photos as plain Telethon sees them
(emulator/events.py): what Telegram sends, pushed and in differences."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from telethon import events, functions, types

from telewatch.emulator import Emulator, Scenario
from telewatch.emulator.scenario import ScenarioError
from tests.fixtures.emulator import EMU_CHANNEL, EMU_USERNAME, ClientFactory

POLL = {"type": "poll", "question": "Which bridge?", "answers": ["North", "South"]}


async def _until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def test_poll_pin_title_photo_pushed_and_read_back(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    client = await telethon_client()
    await client.get_me()
    channel = await client.get_entity(EMU_USERNAME)
    await client(functions.channels.JoinChannelRequest(channel))
    raw: list[Any] = []
    client.add_event_handler(lambda u: raw.append(u) or asyncio.sleep(0), events.Raw())

    mid = emulator.post(EMU_CHANNEL, "Vote!", media=POLL)
    # (the first post after joining reaches Telethon through a short
    # difference, whose other_updates Telethon drops: start after it)
    await _until(lambda: any(isinstance(u, types.UpdateNewChannelMessage) for u in raw))
    emulator.vote(EMU_CHANNEL, mid, [3, 1])
    emulator.pin_post(EMU_CHANNEL, mid)
    emulator.set_title(EMU_CHANNEL, "Emu News Now")
    emulator.set_photo(EMU_CHANNEL, 5)
    emulator.vote(EMU_CHANNEL, mid, [4, 1], closed=True)

    def kinds() -> list[str]:
        return [type(u).__name__ for u in raw]

    await _until(
        lambda: (
            kinds().count("UpdateMessagePoll") == 2
            and "UpdatePinnedChannelMessages" in kinds()
            and kinds().count("UpdateNewChannelMessage") == 4
        )
    )
    polls = [u for u in raw if isinstance(u, types.UpdateMessagePoll)]
    assert [[r.voters for r in u.results.results] for u in polls] == [[3, 1], [4, 1]]
    assert polls[0].poll is None and polls[1].poll is not None and polls[1].poll.closed
    pins = [u for u in raw if isinstance(u, types.UpdatePinnedChannelMessages)]
    assert len(pins) == 1 and pins[0].pinned and pins[0].messages == [mid]
    actions = [
        type(u.message.action).__name__
        for u in raw
        if isinstance(u, types.UpdateNewChannelMessage)
        and isinstance(u.message, types.MessageService)
    ]
    assert actions == [
        "MessageActionPinMessage",
        "MessageActionChatEditTitle",
        "MessageActionChatEditPhoto",
    ]
    assert kinds().count("UpdateChannel") >= 2

    # Read back: the poll with its results, the pinned flag, the service
    # messages in history, the photo on the channel and in getFullChannel.
    msg = (await client(functions.channels.GetMessagesRequest(channel, [mid]))).messages[0]
    assert msg.pinned and isinstance(msg.media, types.MessageMediaPoll)
    assert msg.media.poll.closed and msg.media.results.total_voters == 5
    assert msg.media.poll.question.text == "Which bridge?"
    history = await client.get_messages(channel, limit=10)
    assert sum(isinstance(m, types.MessageService) for m in history) == 3
    full = await client(functions.channels.GetFullChannelRequest(channel))
    assert full.full_chat.pinned_msg_id == mid
    assert isinstance(full.full_chat.chat_photo, types.Photo)
    chat = full.chats[0]
    assert chat.title == "Emu News Now" and isinstance(chat.photo, types.ChatPhoto)
    assert chat.photo.stripped_thumb

    truth = next(c for c in emulator.truth()["channels"] if c["id"] == EMU_CHANNEL)
    assert truth["pinned"] == [mid] and truth["photo"] == chat.photo.photo_id
    assert [s["type"] for s in truth["service"]] == ["pin", "title", "photo"]
    poll = next(m for m in truth["messages"] if m["id"] == mid)["poll"]
    assert poll == {"question": "Which bridge?", "answers": ["North", "South"],
                    "votes": [4, 1], "closed": True}  # fmt: skip


async def test_unpin_while_away_comes_back_in_the_difference(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    """Pins take a pts: a client that asks getChannelDifference gets
    updatePinnedChannelMessages in other_updates and the pin service message
    in new_messages."""
    mid = emulator.post(EMU_CHANNEL, "to pin", push=False)
    pts = emulator.world.channel(EMU_CHANNEL).pts
    emulator.pin_post(EMU_CHANNEL, mid, push=False)
    emulator.pin_post(EMU_CHANNEL, mid, pinned=False, push=False)
    client = await telethon_client()
    channel = await client.get_input_entity(EMU_USERNAME)
    diff = await client(
        functions.updates.GetChannelDifferenceRequest(
            channel=channel, filter=types.ChannelMessagesFilterEmpty(), pts=pts, limit=100
        )
    )
    pins = [u for u in diff.other_updates if isinstance(u, types.UpdatePinnedChannelMessages)]
    assert [(bool(u.pinned), u.messages) for u in pins] == [(True, [mid]), (False, [mid])]
    service = [m for m in diff.new_messages if isinstance(m, types.MessageService)]
    assert len(service) == 1 and service[0].reply_to.reply_to_msg_id == mid


def test_scenario_steps_and_bad_polls() -> None:
    sc = Scenario.from_dict(
        {
            "channels": [{"id": 1500000301, "username": "scen_polls"}],
            "timeline": [
                {"at": 1, "action": "post", "channel": 1500000301, "text": "p", "media": POLL},
                {"at": 2, "action": "vote", "channel": 1500000301, "id": 1, "votes": [1, 2]},
                {"at": 3, "action": "pin", "channel": 1500000301, "id": 1},
                {"at": 4, "action": "title", "channel": 1500000301, "title": "T"},
                {"at": 5, "action": "about", "channel": 1500000301, "about": "A"},
                {"at": 6, "action": "photo", "channel": 1500000301, "seed": 3},
                {"at": 7, "action": "unpin", "channel": 1500000301, "id": 1},
            ],
        }
    )
    assert [a.kind for a in sc.timeline][1:] == ["vote", "pin", "title", "about", "photo", "unpin"]
    with pytest.raises(ScenarioError, match="2 to 10 non-empty answers"):
        Scenario.from_dict(
            {
                "channels": [{"id": 1500000301}],
                "timeline": [
                    {
                        "at": 1,
                        "action": "post",
                        "channel": 1500000301,
                        "media": {"type": "poll", "question": "Q", "answers": ["only one"]},
                    },
                ],
            }
        )
    with pytest.raises(ScenarioError, match="needs votes"):
        Scenario.from_dict(
            {"timeline": [{"at": 1, "action": "vote", "channel": 1500000301, "id": 1}]}
        )


async def test_state_file_keeps_polls_pins_service_messages_and_photo(
    emulator: Emulator, tmp_path: Path
) -> None:
    mid = emulator.post(EMU_CHANNEL, "poll", media=POLL, push=False)
    emulator.vote(EMU_CHANNEL, mid, [2, 7], push=False)
    emulator.pin_post(EMU_CHANNEL, mid, push=False)
    emulator.set_title(EMU_CHANNEL, "Renamed", push=False)
    emulator.set_photo(EMU_CHANNEL, 4, push=False)
    before = emulator.truth()
    path = tmp_path / "world.json"
    emulator.save_state(path)
    async with Emulator() as other:
        other.load_state(path)
        assert other.truth() == before
        ch = other.world.channel(EMU_CHANNEL)
        assert isinstance(ch.tl().photo, types.ChatPhoto)
