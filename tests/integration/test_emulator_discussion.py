"""Linked discussion groups in the emulator, read by real Telethon over TCP:
linked_chat_id, discussion copies, comments with threads, getReplies paging,
getDiscussionMessage, pushes of comments to a client that joined the group."""

from __future__ import annotations

import asyncio
from typing import Any

from telethon import events
from telethon.tl import functions, types

from telewatch.emulator import Emulator
from tests.fixtures.emulator import EMU_CHANNEL, EMU_USERNAME, ClientFactory

GROUP = 1500000102
ALICE, BOB = 900001, 900002


def _discussion(emu: Emulator) -> None:
    emu.add_channel(GROUP, None, "Emu News chat", megagroup=True)
    emu.add_user(ALICE, "Alice", last_name="A", username="alice_a")
    emu.add_user(BOB, "Bob")
    emu.link_discussion(EMU_CHANNEL, GROUP)


async def _replies(client: Any, peer: Any, msg_id: int, **kw: Any) -> Any:
    args: dict[str, Any] = dict(
        offset_id=0, offset_date=None, add_offset=0, limit=100, max_id=0, min_id=0, hash=0
    )
    args.update(kw)
    return await client(functions.messages.GetRepliesRequest(peer=peer, msg_id=msg_id, **args))


async def test_comments_threads_and_paging(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    _discussion(emulator)
    post = emulator.post(EMU_CHANNEL, "the post")
    other = emulator.post(EMU_CHANNEL, "another post")
    ids = [emulator.comment(EMU_CHANNEL, post, ALICE if k % 2 else BOB, f"c{k}") for k in range(7)]
    reply = emulator.comment(EMU_CHANNEL, post, ALICE, "answer to c1", reply_to=ids[1])
    emulator.comment(EMU_CHANNEL, other, BOB, "under the other post")
    emulator.edit(GROUP, ids[2], "c2 edited")
    emulator.delete(GROUP, [ids[3]])

    client = await telethon_client()
    channel = await client.get_input_entity(EMU_USERNAME)
    full = await client(functions.channels.GetFullChannelRequest(channel=channel))
    assert full.full_chat.linked_chat_id == GROUP
    group_chat = next(c for c in full.chats if c.id == GROUP)
    assert group_chat.megagroup and group_chat.access_hash

    msgs = await client.get_messages(channel, ids=[post])
    assert msgs[0].replies.comments and msgs[0].replies.channel_id == GROUP
    assert msgs[0].replies.replies == 7  # 8 comments, one deleted

    ans = await _replies(client, channel, post)
    got = [m.id for m in ans.messages]
    live = [i for i in [*ids, reply] if i != ids[3]]
    assert got == sorted(live, reverse=True) and ans.count == 7
    by_id = {m.id: m for m in ans.messages}
    assert by_id[ids[2]].message == "c2 edited" and by_id[ids[2]].edit_date is not None
    assert by_id[reply].reply_to.reply_to_msg_id == ids[1]
    assert by_id[reply].reply_to.reply_to_top_id is not None
    top = by_id[ids[0]].reply_to.reply_to_msg_id
    assert by_id[reply].reply_to.reply_to_top_id == top
    assert by_id[ids[1]].from_id == types.PeerUser(ALICE)
    users = {u.id: u for u in ans.users}
    assert users[ALICE].username == "alice_a" and users[BOB].first_name == "Bob"

    # Telegram's paging: offset_id exclusive, add_offset, limit, min_id/max_id exclusive.
    page = await _replies(client, channel, post, offset_id=live[4], limit=2)
    assert [m.id for m in page.messages] == sorted(live[:4], reverse=True)[:2]
    # The first comment older than live[2] is live[1]; two newer than that: live[3].
    page = await _replies(client, channel, post, offset_id=live[2], add_offset=-2, limit=3)
    assert [m.id for m in page.messages] == [live[3], live[2], live[1]]
    page = await _replies(client, channel, post, min_id=live[1], max_id=live[5])
    assert [m.id for m in page.messages] == sorted(live[2:5], reverse=True)

    # The thread is also reached through the group and the copy's id.
    group = types.InputPeerChannel(GROUP, group_chat.access_hash)
    disc = await client(functions.messages.GetDiscussionMessageRequest(peer=channel, msg_id=post))
    copy = disc.messages[0]
    assert copy.id == top and copy.fwd_from.saved_from_msg_id == post
    assert copy.fwd_from.saved_from_peer == types.PeerChannel(EMU_CHANNEL)
    assert disc.max_id == max(live)
    same = await _replies(client, group, copy.id)
    assert [m.id for m in same.messages] == got
    via_comment = await _replies(client, group, reply)
    assert [m.id for m in via_comment.messages] == got


async def test_joined_group_gets_comment_pushes(
    emulator: Emulator, telethon_client: ClientFactory
) -> None:
    _discussion(emulator)
    post = emulator.post(EMU_CHANNEL, "the post")
    client = await telethon_client()
    seen: asyncio.Queue[Any] = asyncio.Queue()
    client.add_event_handler(lambda e: seen.put_nowait(("new", e.message)), events.NewMessage())
    client.add_event_handler(lambda e: seen.put_nowait(("edit", e.message)), events.MessageEdited())
    client.add_event_handler(
        lambda e: seen.put_nowait(("delete", list(e.deleted_ids))), events.MessageDeleted()
    )
    hash_ = emulator.world.channel(GROUP).access_hash
    group = types.InputChannel(GROUP, hash_)
    await client(functions.channels.JoinChannelRequest(group))
    await client.get_me()
    pts = emulator.world.channel(GROUP).pts
    cid = emulator.comment(EMU_CHANNEL, post, ALICE, "live comment")
    kind, msg = await asyncio.wait_for(seen.get(), 10)
    assert kind == "new" and msg.id == cid and msg.message == "live comment"
    assert msg.from_id == types.PeerUser(ALICE)
    emulator.edit(GROUP, cid, "live comment, edited")
    kind, msg = await asyncio.wait_for(seen.get(), 10)
    assert kind == "edit" and msg.message == "live comment, edited"
    emulator.delete(GROUP, [cid])
    kind, gone = await asyncio.wait_for(seen.get(), 10)
    assert kind == "delete" and gone == [cid]
    assert emulator.world.channel(GROUP).pts == pts + 3

    # getChannelDifference on the group covers the three changes: a comment
    # posted, edited and deleted within the range is not sent at all.
    diff = await client(
        functions.updates.GetChannelDifferenceRequest(
            channel=group, filter=types.ChannelMessagesFilterEmpty(), pts=pts, limit=100
        )
    )
    assert diff.pts == pts + 3
    assert diff.new_messages == [] and diff.other_updates == []


def test_truth_includes_comments(emulator: Emulator) -> None:
    _discussion(emulator)
    post = emulator.post(EMU_CHANNEL, "p")
    first = emulator.comment(EMU_CHANNEL, post, ALICE, "c")
    emulator.comment(EMU_CHANNEL, post, BOB, "r", reply_to=first)
    truth = {c["id"]: c for c in emulator.truth()["channels"]}
    assert truth[EMU_CHANNEL]["linked_chat_id"] == GROUP
    msgs = truth[GROUP]["messages"]
    assert [m["channel_post"] for m in msgs] == [post, None, None]
    assert [m["from_user"] for m in msgs] == [None, ALICE, BOB]
    assert msgs[2]["reply_to"] == first and msgs[2]["thread"] == msgs[0]["id"]


async def test_bundled_demo_has_a_channel_with_comments() -> None:
    """The demo's @harbour_monitor has a discussion group: comments in its
    history (one a reply) and, in the opening script, a comment, a reply to
    it and an edit of it; the demo config asks for them."""
    from datetime import UTC, datetime

    from telewatch.demo.scenario import build
    from telewatch.emulator.scenario import Scenario

    demo = build(datetime(2026, 12, 1, 12, 0, tzinfo=UTC), duration=60)
    assert [c.username for c in demo.channels if c.comments] == ["harbour_monitor"]
    scenario = Scenario.from_dict(demo.emulator)
    async with Emulator(scenario) as emu:
        for action in scenario.timeline:
            if action.at <= demo.scripted_until:
                await emu.apply(action)
        truth = {c["id"]: c for c in emu.truth()["channels"]}
    harbour = next(c for c in truth.values() if c["username"] == "harbour_monitor")
    group = truth[harbour["linked_chat_id"]]
    comments = [m for m in group["messages"] if m["from_user"] is not None]
    copies = [m for m in group["messages"] if m["channel_post"] is not None]
    assert len(copies) == len(harbour["messages"])
    texts = {m["text"]: m for m in comments}
    assert len(comments) == 6
    quay = texts["I am at the quay: smoke over berth 4, three ambulances arriving"]
    assert quay["edit_date"] is not None
    assert texts["Which side of berth 4? The grain silos?"]["reply_to"] == quay["id"]
    assert texts["Gulf Star left at 02:10, the pilot boat confirms"]["reply_to"] == next(
        m["id"] for m in comments if m["text"].startswith("One of them")
    )


def test_scenario_comment_mistakes_are_one_line_errors() -> None:
    """A comment by an undeclared user, under a post without id, or in a channel
    without a discussion group: ScenarioError naming it, before anything runs."""
    import pytest

    from telewatch.emulator.scenario import Scenario, ScenarioError

    def scenario(user: int, *, post_id: int | None = 1, discussion: bool = True) -> dict[str, Any]:
        channel: dict[str, Any] = {
            "id": 1500000301,
            "username": "chan_x",
            "history": [
                {
                    "id": post_id,
                    "date": "2024-01-01T00:00:00Z",
                    "text": "p",
                    "comments": [{"user": user, "text": "c", "date": "2024-01-01T00:01:00Z"}],
                }
            ],
        }
        if discussion:
            channel["discussion"] = 1500000302
        group = {"id": 1500000302, "title": "chat", "megagroup": True}
        return {"users": [{"id": 5, "first_name": "U"}], "channels": [channel, group]}

    Scenario.from_dict(scenario(5))
    with pytest.raises(ScenarioError, match="user 6 is not declared"):
        Scenario.from_dict(scenario(6))
    with pytest.raises(ScenarioError, match="with comments needs an 'id'"):
        Scenario.from_dict(scenario(5, post_id=None))
    with pytest.raises(ScenarioError, match="no 'discussion' group"):
        Scenario.from_dict(scenario(5, discussion=False))
