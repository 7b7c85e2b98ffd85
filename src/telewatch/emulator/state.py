"""The emulated world on disk (``telewatch emulator serve --state FILE``).

A restarted emulator that loads its state is the same server to its clients:
the same channels, access hashes, messages (deleted ones still marked), pts
logs, the account's joined channels and the auth keys it knows, and how far
its scenario's timeline had played. So a daemon that kept running beside it
sees nothing but a dropped connection.

The file is JSON (``"format": "telewatch-emulator-state"``), written
atomically (temporary file + rename), never half-written. TL entities are
kept as the hex of their TL serialisation, so they round-trip exactly with
the installed Telethon.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from telethon.extensions import BinaryReader

from telewatch.emulator.discussion import add_user
from telewatch.emulator.methods import KeyState
from telewatch.emulator.transport import auth_key_id
from telewatch.emulator.world import EmulatedChannel, EmulatedMessage, PtsEvent, World

FORMAT = "telewatch-emulator-state"
VERSION = 1


class StateError(ValueError):
    """The state file cannot be read back (not one, another version, damaged)."""


def dump(world: World, keys: dict[int, KeyState], timeline_next: int) -> dict[str, Any]:
    """The world, the known auth keys and the timeline position as JSON data."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "timeline_next": timeline_next,
        "joined": sorted(world.joined),
        "users": [
            [u.id, u.first_name, u.last_name, u.username]
            for u in sorted(world.users.values(), key=lambda u: u.id)
        ],
        "keys": [
            {"key": k.key.hex(), "authorized": k.authorized}
            | ({"account": k.account} if k.account != 1 else {})
            for k in sorted(keys.values(), key=lambda k: k.key)
        ],
        "channels": [_channel(ch) for ch in sorted(world.channels.values(), key=lambda c: c.id)],
    }


def save(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` atomically (readers see the old or the new file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def load(path: Path) -> dict[str, Any]:
    """Read a state file; raises StateError naming the problem."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise StateError(f"{path}: cannot read the emulator state ({err})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StateError(f"{path} is not an emulator state file (written by --state)")
    if data.get("version") != VERSION:
        raise StateError(
            f"{path}: emulator state version {data.get('version')}, expected {VERSION}"
        )
    return data


def restore(data: dict[str, Any], world: World, keys: dict[int, KeyState]) -> int:
    """Replace ``world``'s channels and ``keys`` with the saved ones; returns the
    timeline position (index of the next action to play)."""
    try:
        world.channels = {int(c["id"]): _unchannel(c) for c in data["channels"]}
        world.joined = {int(i) for i in data["joined"]}
        for uid, first, last, username in data.get("users", []):
            add_user(world, int(uid), str(first), last_name=last, username=username)
        keys.clear()
        for k in data["keys"]:
            key = bytes.fromhex(k["key"])
            keys[auth_key_id(key)] = KeyState(
                key=key, authorized=bool(k["authorized"]), account=int(k.get("account", 1))
            )
        return int(data.get("timeline_next", 0))
    except (KeyError, TypeError, ValueError) as err:
        raise StateError(f"the emulator state is damaged ({type(err).__name__}: {err})") from None


# -- channels and messages -------------------------------------------------------


def _channel(ch: EmulatedChannel) -> dict[str, Any]:
    return {
        "id": ch.id,
        "access_hash": ch.access_hash,
        "username": ch.username,
        "title": ch.title,
        "about": ch.about,
        "subscribers": ch.subscribers,
        "megagroup": ch.megagroup,
        "private": ch.private,
        "created": ch.created.isoformat(),
        "last_id": ch.last_id,
        "base_pts": ch.base_pts,
        "old_usernames": sorted(ch.old_usernames),
        "photo": ch.photo,
        "linked_chat_id": ch.linked_chat_id,
        "log": [[e.pts, e.kind, list(e.message_ids), e.wall_time] for e in ch.log],
        "messages": [_message(m) for m in sorted(ch.messages.values(), key=lambda m: m.id)],
    }


def _unchannel(c: dict[str, Any]) -> EmulatedChannel:
    ch = EmulatedChannel(
        id=int(c["id"]),
        access_hash=int(c["access_hash"]),
        username=c["username"],
        title=str(c["title"]),
        about=str(c["about"]),
        subscribers=int(c["subscribers"]),
        megagroup=bool(c["megagroup"]),
        private=bool(c["private"]),
        created=datetime.fromisoformat(c["created"]),
        last_id=int(c["last_id"]),
        base_pts=int(c["base_pts"]),
        old_usernames=set(c["old_usernames"]),
        photo=c.get("photo"),
        linked_chat_id=c.get("linked_chat_id"),
    )
    ch.log = [
        PtsEvent(int(p), str(k), tuple(int(i) for i in ids), float(t)) for p, k, ids, t in c["log"]
    ]
    for m in c["messages"]:
        msg = _unmessage(m)
        ch.messages[msg.id] = msg
    ch.live = sorted(i for i, m in ch.messages.items() if not m.deleted)
    return ch


_DATES = ("date", "fwd_date", "edit_date")


def _message(m: EmulatedMessage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": m.id,
        "text": m.text,
        "entities": [bytes(e).hex() for e in m.entities],
        "media": m.media,
        "fwd_from": list(m.fwd_from) if m.fwd_from else None,
        "grouped_id": m.grouped_id,
        "reply_to": m.reply_to,
        "views": m.views,
        "forwards": m.forwards,
        "replies": m.replies,
        "reactions": m.reactions,
        "post_author": m.post_author,
        "pinned": m.pinned,
        "deleted": m.deleted,
        "action": m.action,
        "from_user": m.from_user,
        "thread": m.thread,
        "channel_post": m.channel_post,
    }
    for name in _DATES:
        value = getattr(m, name)
        out[name] = value.isoformat() if value is not None else None
    return out


def _unmessage(m: dict[str, Any]) -> EmulatedMessage:
    dates = {n: datetime.fromisoformat(m[n]) if m[n] else None for n in _DATES}
    date = dates.pop("date")
    assert date is not None
    return EmulatedMessage(
        id=int(m["id"]),
        date=date,
        text=str(m["text"]),
        entities=[BinaryReader(bytes.fromhex(h)).tgread_object() for h in m["entities"]],
        media=m["media"],
        fwd_from=(int(m["fwd_from"][0]), int(m["fwd_from"][1])) if m["fwd_from"] else None,
        grouped_id=m["grouped_id"],
        reply_to=m["reply_to"],
        views=m["views"],
        forwards=m["forwards"],
        replies=m["replies"],
        reactions=dict(m["reactions"]),
        post_author=m["post_author"],
        pinned=bool(m.get("pinned", False)),
        deleted=bool(m["deleted"]),
        action=m.get("action"),
        fwd_date=dates["fwd_date"],
        edit_date=dates["edit_date"],
        from_user=m.get("from_user"),
        thread=m.get("thread"),
        channel_post=m.get("channel_post"),
    )
