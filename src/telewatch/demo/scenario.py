"""The bundled demo scenario: fictional Arabic, Persian, Russian and English
channels (``scenario.json`` beside this module), turned into an emulator
scenario (docs/EMULATOR.md format) relative to the moment the demo starts.

The bundled file holds history with ages (``ago_minutes``), a scripted
opening — a post, its edit, a forward between channels, a FloodWait, a
deletion and a dropped connection within the first 40 seconds — and a pool
of live posts replayed every few seconds afterwards, with an edit and a
deletion now and then, so the dashboard keeps moving for as long as it runs.
Message ids are assigned here (history from 1, then in posting order), the
same way the emulator numbers them, so scripted edits and deletions name
real messages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

from telewatch.models import AlertRule

LANG_OF = {
    "rafidain_watch": "ar",
    "khabar_fori": "fa",
    "vesti_polesya": "ru",
    "harbour_monitor": "en",
}


@dataclass(frozen=True)
class DemoChannel:
    """A demo channel as the daemon's config names it."""

    id: int
    username: str
    title: str
    mode: str
    comments: bool = False  # has a discussion group whose comments are archived


@dataclass(frozen=True)
class DemoScenario:
    """What ``build`` produces: the emulator scenario and the matching config pieces."""

    emulator: dict[str, Any]
    channels: tuple[DemoChannel, ...]
    alerts: tuple[AlertRule, ...]
    scripted_until: float  # seconds (at speed 1) by which the edit, forward and deletion happened


def bundled() -> dict[str, Any]:
    """The bundled scenario data (package file ``telewatch/demo/scenario.json``)."""
    text = resources.files("telewatch.demo").joinpath("scenario.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def build(now: datetime, *, duration: float = 3600.0) -> DemoScenario:
    """The emulator scenario for a demo starting at ``now`` whose timeline lasts at least
    ``duration`` seconds (scenario time, before the speed factor)."""
    data = bundled()
    ids: dict[str, int] = {}
    next_id: dict[str, int] = {}
    channels: list[dict[str, Any]] = []
    demo_channels: list[DemoChannel] = []
    discussion: dict[int, int] = {}  # channel id -> its discussion group's id
    for ch in data["channels"]:
        history = []
        for n, msg in enumerate(sorted(ch["history"], key=lambda m: -m["ago_minutes"]), start=1):
            entry: dict[str, Any] = {
                "id": n,
                "text": msg["text"],
                "date": (now - timedelta(minutes=msg["ago_minutes"])).isoformat(),
                "views": msg.get("views"),
                "forwards": max(1, (msg.get("views") or 0) // 200),
            }
            if msg.get("media"):
                entry["media"] = msg["media"]
            if msg.get("comments"):
                entry["comments"] = [
                    {
                        "user": c["user"],
                        "text": c["text"],
                        "date": (now - timedelta(minutes=c["ago_minutes"])).isoformat(),
                        "reply_to_comment": c.get("reply_to_comment"),
                    }
                    for c in msg["comments"]
                ]
            history.append(entry)
        next_id[ch["username"]] = len(history) + 1
        ids[ch["username"]] = int(ch["id"])
        channels.append(
            {
                "id": ch["id"],
                "username": ch["username"],
                "title": ch["title"],
                "about": ch["about"],
                "subscribers": ch["subscribers"],
                "history": history,
            }
        )
        group = ch.get("discussion")
        if group is not None:
            channels[-1]["discussion"] = int(group["id"])
            channels.append({"id": group["id"], "title": group["title"], "megagroup": True})
            discussion[ids[ch["username"]]] = int(group["id"])
        demo_channels.append(
            DemoChannel(
                int(ch["id"]), ch["username"], ch["title"], ch["mode"], comments=group is not None
            )
        )

    timeline: list[dict[str, Any]] = []
    keyed: dict[str, tuple[str, int, str]] = {}  # key -> (username, message id, text)
    keyed_media: dict[str, dict[str, Any]] = {}  # key -> {"media": …} of a keyed post

    def post(at: float, username: str, text: str, **extra: Any) -> int:
        mid = next_id[username]
        next_id[username] += 1
        timeline.append(
            {"at": at, "action": "post", "channel": ids[username], "text": text, **extra}
        )
        return mid

    scripted_until = 0.0
    for step in data["script"]:
        at = float(step["at"])
        scripted_until = max(scripted_until, at)
        kind = step["action"]
        if kind == "post":
            extra = {"media": step["media"]} if step.get("media") else {}
            mid = post(at, step["channel"], step["text"], **extra)
            if step.get("key"):
                keyed[step["key"]] = (step["channel"], mid, step["text"])
                keyed_media[step["key"]] = extra
        elif kind == "edit":
            username, mid, _ = keyed[step["key"]]
            timeline.append(
                {
                    "at": at,
                    "action": "edit",
                    "channel": ids[username],
                    "id": mid,
                    "text": step["text"],
                }
            )
            keyed[step["key"]] = (username, mid, step["text"])
        elif kind == "forward":
            username, mid, text = keyed[step["from_key"]]
            # A forward carries the original's media (the same picture).
            post(at, step["channel"], text, fwd_from=[ids[username], mid],
                 **keyed_media.get(step["from_key"], {}))  # fmt: skip
        elif kind == "delete":
            username, mid, _ = keyed[step["key"]]
            timeline.append({"at": at, "action": "delete", "channel": ids[username], "id": mid})
        elif kind in ("pin", "unpin", "vote"):
            username, mid, _ = keyed[step["key"]]
            extra = {"votes": step["votes"]} if kind == "vote" else {}
            timeline.append(
                {"at": at, "action": kind, "channel": ids[username], "id": mid, **extra}
            )
            if kind == "pin":
                next_id[username] += 1  # Telegram posts a pin service message
        elif kind == "title":
            timeline.append(
                {
                    "at": at,
                    "action": "title",
                    "channel": ids[step["channel"]],
                    "title": step["title"],
                }
            )
            next_id[step["channel"]] += 1  # and a title service message
        elif kind == "comment":
            username, mid, _ = keyed[step["key"]]
            comment: dict[str, Any] = {
                "at": at,
                "action": "comment",
                "channel": ids[username],
                "post": mid,
                "user": step["user"],
                "text": step["text"],
            }
            for name in ("comment_key", "reply_to"):
                if step.get(name):
                    comment["_" + name] = step[name]
            timeline.append(comment)
        elif kind == "edit_comment":
            timeline.append({"at": at, "action": "edit", "_comment_key": step["comment_key"],
                             "text": step["text"]})  # fmt: skip
        else:  # flood, disconnect: passed through as the emulator spells them
            timeline.append({"at": at, **{k: v for k, v in step.items() if k != "key"}})

    pool = data["live"]
    every = float(data["loop_every"])
    at = float(data["loop_start"])
    n = 0
    recent: list[tuple[str, int, str]] = []
    while at <= duration:
        item = pool[n % len(pool)]
        stamp = (now + timedelta(seconds=at)).strftime("%H:%M:%S")
        text = item["text"].replace("{time}", stamp)
        mid = post(at, item["channel"], text)
        recent.append((item["channel"], mid, text))
        n += 1
        if n % int(data["loop_edit_every"]) == 0 and len(recent) >= 2:
            username, emid, etext = recent[-2]
            suffix = data["edit_suffix"][LANG_OF[username]]
            timeline.append(
                {
                    "at": at + every / 2,
                    "action": "edit",
                    "channel": ids[username],
                    "id": emid,
                    "text": etext + suffix,
                }
            )
        if n % int(data["loop_delete_every"]) == 0 and len(recent) >= 3:
            username, did, _ = recent[-3]
            timeline.append(
                {"at": at + every * 0.75, "action": "delete", "channel": ids[username], "id": did}
            )
        at += every

    timeline.sort(key=lambda s: s["at"])
    _number_comments(timeline, channels, discussion)
    alerts = tuple(
        AlertRule(
            name=a["name"],
            keywords=tuple(a.get("keywords", ())),
            regex=a.get("regex"),
            channels=tuple(a.get("channels", ())),
            on=tuple(a.get("on", ("new", "edit", "delete"))),
        )
        for a in data["alerts"]
    )
    return DemoScenario(
        emulator={
            "channels": channels,
            "timeline": timeline,
            "autostart": True,
            "users": data.get("users", []),
        },
        channels=tuple(demo_channels),
        alerts=alerts,
        scripted_until=scripted_until,
    )


def _number_comments(
    timeline: list[dict[str, Any]], channels: list[dict[str, Any]], discussion: dict[int, int]
) -> None:
    """Give the script's comments their ids in the discussion group, in play
    order: the group holds a discussion copy of every post of its channel
    (history first, then each timeline post) and every comment, numbered as
    they come; replies and comment edits then name the ids."""
    next_id: dict[int, int] = {}
    for ch in channels:
        group = discussion.get(int(ch["id"]))
        if group is not None:
            history = ch["history"]
            next_id[group] = 1 + len(history) + sum(len(m.get("comments", [])) for m in history)
    named: dict[str, tuple[int, int]] = {}  # comment key -> (group, id)
    for step in timeline:
        group = discussion.get(int(step.get("channel", 0)))
        if step["action"] == "post" and group is not None:
            next_id[group] += 1
        elif step["action"] == "comment" and group is not None:
            reply = step.pop("_reply_to", None)
            if reply is not None:
                step["reply_to"] = named[reply][1]
            key = step.pop("_comment_key", None)
            if key is not None:
                named[key] = (group, next_id[group])
            next_id[group] += 1
        elif step["action"] == "edit" and "_comment_key" in step:
            group, mid = named[step.pop("_comment_key")]
            step["channel"], step["id"] = group, mid
