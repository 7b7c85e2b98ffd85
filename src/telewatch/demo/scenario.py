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
        demo_channels.append(DemoChannel(int(ch["id"]), ch["username"], ch["title"], ch["mode"]))

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
        emulator={"channels": channels, "timeline": timeline, "autostart": True},
        channels=tuple(demo_channels),
        alerts=alerts,
        scripted_until=scripted_until,
    )
