"""The emulator's --state file round-trips the world exactly."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from telethon.tl import types

from telewatch.emulator import Emulator
from telewatch.emulator.state import StateError


async def test_state_file_restores_channels_messages_logs_and_keys(tmp_path: Path) -> None:
    """Saved and loaded into a new emulator: same truth, pts logs, entities, joined
    channels, auth keys and timeline position."""
    emu = Emulator()
    emu.add_channel(1500000991, "kept_world", "Kept", about="a", subscribers=7)
    ch = emu.world.channel(1500000991)
    when = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    emu.world.add_message(
        ch,
        "bold and linked",
        date=when,
        entities=[
            types.MessageEntityBold(offset=0, length=4),
            types.MessageEntityTextUrl(offset=9, length=6, url="https://example.org"),
        ],
        media={"type": "photo", "w": 10, "h": 20},
        views=5,
    )
    emu.world.add_message(ch, "to be deleted", date=when)
    emu.delete(1500000991, [2], push=False)
    emu.edit(1500000991, 1, "bold and linked, edited", push=False)
    emu.world.joined.add(1500000991)
    emu.timeline_next = 3
    async with emu:
        emu.write_session(tmp_path / "a.session")
    emu.save_state(tmp_path / "world.json")

    again = Emulator()
    again.load_state(tmp_path / "world.json")
    assert again.truth() == emu.truth()
    a, b = emu.world.channel(1500000991), again.world.channel(1500000991)
    assert [(e.pts, e.kind, e.message_ids) for e in a.log] == [
        (e.pts, e.kind, e.message_ids) for e in b.log
    ]
    assert b.pts == a.pts and b.live == a.live == [1] and b.access_hash == a.access_hash
    assert b.messages[1].entities == a.messages[1].entities
    assert again.world.joined == {1500000991} and again.timeline_next == 3
    assert {k: v.key for k, v in again._keys.items()} == {k: v.key for k, v in emu._keys.items()}


def test_a_file_that_is_not_a_state_file_is_refused(tmp_path: Path) -> None:
    """Loading some other JSON names the file and what it is not."""
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"channels": []}), encoding="utf-8")
    with pytest.raises(StateError, match="is not an emulator state file"):
        Emulator().load_state(path)
