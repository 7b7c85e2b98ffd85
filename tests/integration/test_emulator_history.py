"""Plain Telethon against the emulator: connect, resolve, history, messages, media."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telethon import TelegramClient, functions, types
from telethon.errors import ChannelInvalidError

from telewatch.emulator import Emulator
from telewatch.emulator.world import World
from tests.fixtures.emulator import EMU_CHANNEL, EMU_USERNAME, ClientFactory


def _fill(emu: Emulator, n: int) -> list[int]:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    return [emu.post(EMU_CHANNEL, f"post {i}", date=start + timedelta(minutes=i)) for i in range(n)]


async def test_get_me_resolve_and_history_both_directions(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    """get_me, @username resolution and iter_messages both ways return exactly the history, 100 per request."""
    ids = _fill(emulator, 250)
    client = await telethon_client()
    me = await client.get_me()
    assert me is not None and me.is_self
    channel = await client.get_entity(EMU_USERNAME)
    assert channel.id == EMU_CHANNEL and channel.title == "Emu News"
    before = emulator.stats["requests"].get("messages.GetHistory", 0)
    newest_first = [m.id async for m in client.iter_messages(channel, limit=None, wait_time=0)]
    assert newest_first == ids[::-1]
    assert emulator.stats["requests"]["messages.GetHistory"] - before == 3
    oldest_first = [
        m.id
        async for m in client.iter_messages(
            channel, reverse=True, min_id=ids[99], limit=None, wait_time=0
        )
    ]
    assert oldest_first == ids[100:]
    texts = [m.text async for m in client.iter_messages(channel, limit=3, offset_id=ids[10])]
    assert texts == ["post 9", "post 8", "post 7"]


async def test_history_paging_matches_telegram_offsets(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    """GetHistory honours offset_id, add_offset, min_id, max_id and offset_date like Telegram."""
    ids = _fill(emulator, 30)
    client = await telethon_client()
    peer = await client.get_input_entity(EMU_USERNAME)

    async def page(**kw: int | datetime | None) -> list[int]:
        args: dict[str, int | datetime | None] = {
            "offset_id": 0,
            "offset_date": None,
            "add_offset": 0,
            "limit": 5,
            "max_id": 0,
            "min_id": 0,
            "hash": 0,
        }
        args.update(kw)
        result = await client(functions.messages.GetHistoryRequest(peer=peer, **args))
        assert result.count == 30
        return [m.id for m in result.messages]

    assert await page() == ids[::-1][:5]
    assert await page(offset_id=ids[10]) == [ids[9], ids[8], ids[7], ids[6], ids[5]]
    assert await page(offset_id=ids[10], add_offset=-5) == [
        ids[14],
        ids[13],
        ids[12],
        ids[11],
        ids[10],
    ]
    assert await page(min_id=ids[26]) == [ids[29], ids[28], ids[27]]
    assert await page(max_id=ids[3]) == [ids[2], ids[1], ids[0]]
    assert await page(offset_date=datetime(2024, 1, 1, 0, 2, tzinfo=UTC)) == [ids[1], ids[0]]


async def test_deleted_message_is_none_and_truth_marks_it(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    """get_messages(ids=...) gives None for a deleted post; the truth keeps it marked deleted."""
    ids = _fill(emulator, 3)
    emulator.delete(EMU_CHANNEL, [ids[1]])
    client = await telethon_client()
    channel = await client.get_entity(EMU_USERNAME)
    got = await client.get_messages(channel, ids=ids)
    assert got[0].text == "post 0" and got[1] is None and got[2].text == "post 2"
    truth = {m["id"]: m for m in emulator.truth()["channels"][0]["messages"]}
    assert truth[ids[1]]["deleted"] is True and truth[ids[0]]["deleted"] is False


async def test_forwards_media_albums_reactions(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    """Forward headers, photo/video stubs, albums (grouped_id), views and reactions reach Telethon intact."""
    emulator.add_channel(1500000102, "emu_origin", "Origin")
    origin = emulator.post(1500000102, "original report")
    fwd = emulator.post(EMU_CHANNEL, "", fwd_from=(1500000102, origin), views=50)
    photo = emulator.post(
        EMU_CHANNEL, "album", media={"type": "photo", "w": 800, "h": 600}, grouped_id=77
    )
    video = emulator.post(
        EMU_CHANNEL,
        "",
        media={
            "type": "video",
            "mime_type": "video/mp4",
            "size": 12345,
            "duration": 9,
            "w": 640,
            "h": 360,
            "file_name": "clip.mp4",
        },
        grouped_id=77,
    )
    emulator.set_views(EMU_CHANNEL, photo, 900, forwards=12)
    emulator.set_reactions(EMU_CHANNEL, photo, {"👍": 5, "🔥": 2})
    client = await telethon_client()
    channel = await client.get_entity(EMU_USERNAME)
    msgs = {m.id: m async for m in client.iter_messages(channel, limit=10)}
    header = msgs[fwd].fwd_from
    assert isinstance(header.from_id, types.PeerChannel) and header.from_id.channel_id == 1500000102
    assert header.channel_post == origin and msgs[fwd].views == 50
    assert (
        msgs[photo].photo is not None
        and max(s.w for s in msgs[photo].photo.sizes if hasattr(s, "w")) == 800
    )
    assert msgs[photo].views == 900 and msgs[photo].forwards == 12
    assert {r.reaction.emoticon: r.count for r in msgs[photo].reactions.results} == {
        "👍": 5,
        "🔥": 2,
    }
    doc = msgs[video].document
    assert doc.mime_type == "video/mp4" and doc.size == 12345
    assert msgs[video].file.name == "clip.mp4" and msgs[video].file.duration == 9
    assert msgs[photo].grouped_id == msgs[video].grouped_id == 77


async def test_wrong_access_hash_is_channel_invalid(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    """A channel addressed with a wrong access_hash answers CHANNEL_INVALID, like Telegram."""
    client = await telethon_client()
    bad = types.InputPeerChannel(EMU_CHANNEL, 12345)
    with pytest.raises(ChannelInvalidError):
        await client(functions.messages.GetHistoryRequest(bad, 0, None, 0, 10, 0, 0, 0))


def _reference_page(
    ids_desc: list[int], offset_id: int, add_offset: int, limit: int, max_id: int, min_id: int
) -> list[int]:
    # The documented messages.getHistory semantics, written the slow, obvious way.
    ids = [i for i in ids_desc if (not max_id or i < max_id) and (not min_id or i > min_id)]
    start = next((n for n, i in enumerate(ids) if i < offset_id), len(ids)) if offset_id else 0
    start += add_offset
    return ids[max(start, 0) : max(start + min(limit, 100), 0)]


@settings(max_examples=300, deadline=None)
@given(
    deleted=st.sets(st.integers(1, 60), max_size=20),
    offset_id=st.integers(0, 70),
    add_offset=st.integers(-120, 60),
    limit=st.integers(0, 120),
    max_id=st.integers(0, 70),
    min_id=st.integers(0, 70),
)
def test_history_paging_matches_reference(
    deleted: set[int], offset_id: int, add_offset: int, limit: int, max_id: int, min_id: int
) -> None:
    """World.history pages exactly like the reference messages.getHistory semantics, deletions included."""
    world = World()
    ch = world.add_channel(1, "x_chan", "X")
    for n in range(60):
        world.add_message(ch, f"m{n}")
    for i in deleted:
        ch.mark_deleted(i)
    page, total = world.history(
        ch,
        offset_id=offset_id,
        offset_date=None,
        add_offset=add_offset,
        limit=limit,
        max_id=max_id,
        min_id=min_id,
    )
    expected = _reference_page(ch.live_ids_desc(), offset_id, add_offset, limit, max_id, min_id)
    assert [m.id for m in page] == expected
    assert total == 60 - len(deleted)


async def test_many_clients_at_once(emulator: Emulator, telethon_client: ClientFactory) -> None:
    """Ten Telethon clients, each with its own auth key, are served concurrently with the same history."""
    ids = _fill(emulator, 20)
    clients = await asyncio.gather(*(telethon_client() for _ in range(10)))

    # One account: resolving the username ten times would hit its scarce budget, so address by id.
    peer = types.InputPeerChannel(EMU_CHANNEL, emulator.truth()["channels"][0]["access_hash"])

    async def newest(client: TelegramClient) -> list[int]:
        return [m.id for m in await client.get_messages(peer, limit=20)]

    pages = await asyncio.gather(*(newest(c) for c in clients))
    assert pages == [ids[::-1]] * 10
    assert emulator.stats["clients"] == 10


async def test_ping_and_gzipped_request(emulator: Emulator, telethon_client: ClientFactory) -> None:
    """A ping gets its pong, and a large (gzip-packed) GetMessages request is answered in full."""
    ids = _fill(emulator, 5)
    client = await telethon_client()
    pong = await client(functions.PingRequest(ping_id=4242))
    assert pong.ping_id == 4242
    channel = await client.get_input_entity(EMU_USERNAME)
    wanted = list(range(1, 100))  # ~1.2 KB of InputMessageID: Telethon gzips it
    got = await client.get_messages(channel, ids=wanted)
    assert [m.id for m in got if m is not None] == ids
    assert sum(1 for m in got if m is None) == len(wanted) - len(ids)
