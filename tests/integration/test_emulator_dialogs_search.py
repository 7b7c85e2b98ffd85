"""Plain Telethon against the emulator: dialogs with folders and paging,
dialog filters and messages.search, served as Telegram serves them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from telethon import functions, types

from telewatch.emulator import Emulator
from tests.fixtures.emulator import EMU_CHANNEL, EMU_USERNAME, ClientFactory

BASE = 1500002000
START = datetime(2024, 1, 1, tzinfo=UTC)


def _channels(emu: Emulator, n: int) -> list[int]:
    """n joined channels, channel k's only post at START + k minutes."""
    ids = []
    for k in range(n):
        cid = BASE + k
        emu.add_channel(cid, f"dlg_chan_{k}", f"Dialog {k}")
        emu.post(cid, f"post of {k}", date=START + timedelta(minutes=k), push=False)
        emu.join(cid)
        ids.append(cid)
    return ids


async def test_iter_dialogs_pages_through_every_joined_channel_newest_first(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    """Telethon's iter_dialogs gets all 250 joined channels exactly once, newest
    top message first, in pages of at most 100 (offset_date/offset_id/offset_peer)."""
    ids = _channels(emulator, 250)
    client = await telethon_client()
    before = emulator.stats["requests"].get("messages.GetDialogs", 0)
    got = [d.entity.id async for d in client.iter_dialogs()]
    assert got == ids[::-1]
    assert emulator.stats["requests"]["messages.GetDialogs"] - before == 3
    total = await client.get_dialogs(limit=10)
    assert total.total == 250 and len(total) == 10


async def test_archived_channels_are_listed_in_folder_1_only(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    """A channel moved to the archive folder shows with folder_id=1 and not in the main list."""
    ids = _channels(emulator, 5)
    emulator.set_folder(ids[2], 1)
    client = await telethon_client()
    main = [d.entity.id async for d in client.iter_dialogs(folder=0)]
    archived = [d.entity.id async for d in client.iter_dialogs(folder=1)]
    assert archived == [ids[2]]
    assert ids[2] not in main and len(main) == 4
    filters = await client(functions.messages.GetDialogFiltersRequest())
    assert [type(f) for f in filters.filters] == [types.DialogFilterDefault]


async def test_search_finds_words_and_pinned_posts_with_paging(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    """messages.search: a query matches word prefixes case-insensitively, with
    the total count and offset paging; the pinned filter returns pinned posts only."""
    mids = [
        emulator.post(
            EMU_CHANNEL,
            f"Bridge report {k}" if k % 3 == 0 else f"other news {k}",
            date=START + timedelta(minutes=k),
        )
        for k in range(150)
    ]
    emulator.pin(EMU_CHANNEL, mids[7])
    emulator.pin(EMU_CHANNEL, mids[30])
    client = await telethon_client()
    channel = await client.get_entity(EMU_USERNAME)
    found = [m.id async for m in client.iter_messages(channel, search="bridg", wait_time=0)]
    assert found == [m for k, m in enumerate(mids) if k % 3 == 0][::-1]
    page = await client(
        functions.messages.SearchRequest(
            peer=channel,
            q="BRIDGE",
            filter=types.InputMessagesFilterEmpty(),
            min_date=None,
            max_date=None,
            offset_id=0,
            add_offset=0,
            limit=10,
            max_id=0,
            min_id=0,
            hash=0,
        )
    )
    assert page.count == 50 and len(page.messages) == 10
    pinned = [
        m.id
        async for m in client.iter_messages(
            channel, filter=types.InputMessagesFilterPinned(), wait_time=0
        )
    ]
    assert pinned == [mids[30], mids[7]]
    nothing = [m.id async for m in client.iter_messages(channel, search="absent", wait_time=0)]
    assert nothing == []
