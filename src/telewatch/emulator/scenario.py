"""Scenario files and Telegram Desktop exports, read into plain data.

A scenario (TOML or JSON, same structure; see docs/EMULATOR.md) declares
channels, their history (inline or a Desktop ``result.json``), a timeline of
actions at seconds from start, a speed factor, the account and the rate
model. :meth:`Scenario.load` validates it and raises ``ScenarioError`` with
one line naming the problem.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from telethon.tl import types
from telethon.tl.tlobject import TLObject

from telewatch.emulator import events

# Timeline actions and the arguments each one needs ("delete" needs "id" or "ids").
REQUIRED: dict[str, tuple[str, ...]] = {
    "post": ("channel",),
    "edit": ("channel", "id", "text"),
    "delete": ("channel",),
    "rename": ("channel",),
    "make_private": ("channel",),
    "disconnect": (),
    "flood": ("method", "seconds"),
    "gap": ("channel",),
    "too_long": ("channel",),
    "views": ("channel", "id", "views"),
    # emulator/events.py
    "vote": ("channel", "id", "votes"),
    "pin": ("channel", "id"),
    "unpin": ("channel", "id"),
    "title": ("channel", "title"),
    "about": ("channel", "about"),
    "photo": ("channel",),
    "ban": ("account",),
    "logout": ("account",),
    "comment": ("channel", "post", "user", "text"),
    "expire_file_references": (),
}
ACTIONS = set(REQUIRED)


def missing_args(kind: str, args: dict[str, Any]) -> list[str]:
    """The arguments a timeline step of this kind lacks (empty when complete)."""
    missing = [k for k in REQUIRED.get(kind, ()) if k not in args]
    if kind == "delete" and "id" not in args and "ids" not in args:
        missing.append("id")
    return missing


_ENTITY_TYPES: dict[str, Any] = {
    "bold": types.MessageEntityBold,
    "italic": types.MessageEntityItalic,
    "underline": types.MessageEntityUnderline,
    "strikethrough": types.MessageEntityStrike,
    "code": types.MessageEntityCode,
    "spoiler": types.MessageEntitySpoiler,
    "link": types.MessageEntityUrl,
    "url": types.MessageEntityUrl,
    "mention": types.MessageEntityMention,
    "hashtag": types.MessageEntityHashtag,
    "cashtag": types.MessageEntityCashtag,
    "bot_command": types.MessageEntityBotCommand,
    "email": types.MessageEntityEmail,
    "phone": types.MessageEntityPhone,
    "blockquote": types.MessageEntityBlockquote,
}


class ScenarioError(ValueError):
    """A scenario or export file that cannot be used; the message names the problem."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (Telegram's unit for entity offsets)."""
    return len(text.encode("utf-16-le")) // 2


def entity_from_dict(kind: str, offset: int, length: int, extra: dict[str, Any]) -> Any | None:
    """A TL ``MessageEntity*`` from a type name (Desktop export / scenario names)."""
    if kind == "text_link":
        return types.MessageEntityTextUrl(
            offset, length, url=str(extra.get("href") or extra.get("url", ""))
        )
    if kind == "pre":
        return types.MessageEntityPre(offset, length, language=str(extra.get("language", "")))
    if kind == "custom_emoji":
        return types.MessageEntityCustomEmoji(
            offset, length, document_id=int(extra.get("document_id", 0))
        )
    cls = _ENTITY_TYPES.get(kind)
    return cls(offset, length) if cls is not None else None


def entities_from_parts(parts: list[dict[str, Any]]) -> tuple[str, list[Any]]:
    """Text and TL entities from Desktop ``text_entities`` (offsets in UTF-16)."""
    text = ""
    entities: list[Any] = []
    for part in parts:
        chunk = str(part.get("text", ""))
        offset, length = utf16_len(text), utf16_len(chunk)
        entity = entity_from_dict(str(part.get("type", "plain")), offset, length, part)
        if entity is not None and length:
            entities.append(entity)
        text += chunk
    return text, entities


@dataclass
class HistoryMessage:
    """One message to preload (from a scenario or a Desktop export)."""

    id: int | None
    text: str
    date: datetime
    entities: list[Any] = field(default_factory=list)
    media: dict[str, Any] | None = None
    fwd_from: tuple[int, int] | None = None
    fwd_name: str | None = None
    reply_to: int | None = None
    grouped_id: int | None = None
    views: int | None = None
    forwards: int | None = None
    edit_date: datetime | None = None
    reactions: dict[str, int] = field(default_factory=dict)
    # Comments under the post in the channel's discussion group: each
    # {user, text, date, reply_to_comment?} (index of an earlier comment of this post).
    comments: list[dict[str, Any]] = field(default_factory=list)


def _stamp(value: Any, where: str) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ScenarioError(f"{where}: date {value!r} is not ISO 8601") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ScenarioError(f"{where}: date {value!r} is not ISO 8601 or a unix time")


def _exported(base: Path | None, rel: object) -> str | None:
    """The absolute path of a file the export includes (Desktop writes a
    placeholder text in parentheses for files it left out)."""
    if base is None or not isinstance(rel, str) or not rel or rel.startswith("("):
        return None
    path = (base / rel).resolve()
    if not path.is_relative_to(base.resolve()) or not path.is_file():
        return None
    return str(path)


def _media_from_export(raw: dict[str, Any], base: Path | None = None) -> dict[str, Any] | None:
    """The emulator's media dict of an export message; files the export
    includes (``photo``, ``file``, ``thumbnail``, relative to ``base``) are
    served as they are (emulator/media.py)."""
    media = _media_fields(raw)
    if media is not None:
        path = _exported(base, raw.get("photo") if "photo" in raw else raw.get("file"))
        if path is not None:
            media["path"] = path
        thumb = _exported(base, raw.get("thumbnail"))
        if thumb is not None and "photo" not in raw:
            media["thumb_path"] = thumb
    return media


def _media_fields(raw: dict[str, Any]) -> dict[str, Any] | None:
    if "photo" in raw:
        photo: dict[str, Any] = {
            "type": "photo",
            "w": int(raw.get("width", 1280)),
            "h": int(raw.get("height", 720)),
        }
        if raw.get("photo_file_size"):
            photo["size"] = int(raw["photo_file_size"])
        return photo
    if "file" in raw or "media_type" in raw:
        kind = {
            "video_file": "video",
            "animation": "gif",
            "voice_message": "voice",
            "audio_file": "audio",
            "video_message": "video",
            "sticker": "document",
        }.get(str(raw.get("media_type", "")), "document")
        media: dict[str, Any] = {
            "type": kind,
            "mime_type": raw.get("mime_type", "application/octet-stream"),
        }
        if raw.get("duration_seconds") is not None:
            media["duration"] = raw["duration_seconds"]
        for src, dst in (("width", "w"), ("height", "h"), ("file_size", "size")):
            if raw.get(src) is not None:
                media[dst] = raw[src]
        name = str(raw.get("file_name") or raw.get("file") or "")
        if name and not name.startswith("("):
            media["file_name"] = name.rsplit("/", 1)[-1]
        return media
    return None


@dataclass
class ExportedChannel:
    """A Telegram Desktop channel export: id, name and its messages (service ones skipped)."""

    id: int
    title: str
    messages: list[HistoryMessage]


def read_export(path: Path) -> ExportedChannel:
    """Parse a Desktop ``result.json`` of one channel; raises ScenarioError."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"export {path} not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ScenarioError(f"export {path} is not readable JSON: {err}") from None
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        raise ScenarioError(
            f"export {path} has no 'messages' list (is it a single-chat result.json?)"
        )
    raw_id = data.get("id")
    if not isinstance(raw_id, int):
        raise ScenarioError(f"export {path} has no numeric channel 'id'")
    # Desktop writes bare ids for channels; older exports use the -100 prefixed form.
    channel_id = raw_id if raw_id > 0 else int(str(raw_id).removeprefix("-100"))
    out: list[HistoryMessage] = []
    for raw in data["messages"]:
        if raw.get("type") != "message":
            continue
        where = f"{path} message {raw.get('id')}"
        if "date_unixtime" in raw:
            date = datetime.fromtimestamp(int(raw["date_unixtime"]), UTC)
        else:
            date = _stamp(raw.get("date"), where)
        parts = raw.get("text_entities")
        if isinstance(parts, list):
            text, entities = entities_from_parts(parts)
        else:
            body = raw.get("text", "")
            text = (
                body
                if isinstance(body, str)
                else "".join(p if isinstance(p, str) else str(p.get("text", "")) for p in body)
            )
            entities = []
        edited = raw.get("edited_unixtime")
        out.append(
            HistoryMessage(
                id=int(raw["id"]),
                text=text,
                date=date,
                entities=entities,
                media=_media_from_export(raw, Path(path).parent),
                fwd_name=raw.get("forwarded_from"),
                reply_to=raw.get("reply_to_message_id"),
                edit_date=datetime.fromtimestamp(int(edited), UTC) if edited else None,
            )
        )
    out.sort(key=lambda m: m.id or 0)
    return ExportedChannel(
        id=channel_id, title=str(data.get("name") or f"channel {channel_id}"), messages=out
    )


@dataclass
class ChannelSpec:
    """A channel declared by a scenario."""

    id: int
    username: str | None
    title: str
    about: str = ""
    access_hash: int | None = None
    subscribers: int = 0
    megagroup: bool = False
    joined: bool = False
    export: Path | None = None
    history: list[HistoryMessage] = field(default_factory=list)
    discussion: int | None = None  # id of the megagroup linked as discussion group


@dataclass
class Action:
    """One timeline step: ``kind`` at ``at`` seconds from start, with its arguments."""

    at: float
    kind: str
    args: dict[str, Any]


@dataclass
class Scenario:
    """Everything an emulator run starts from; see docs/EMULATOR.md for the file format."""

    channels: list[ChannelSpec] = field(default_factory=list)
    timeline: list[Action] = field(default_factory=list)
    speed: float = 1.0
    autostart: bool = False
    rate: dict[str, Any] = field(default_factory=dict)
    account: dict[str, Any] = field(default_factory=dict)
    difference_depth: int = 1000
    source: Path | None = None
    users: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> Scenario:
        """Read a ``.toml`` or ``.json`` scenario; relative export paths resolve beside it."""
        path = Path(path)
        try:
            raw_text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ScenarioError(f"scenario {path} not found") from None
        try:
            data = json.loads(raw_text) if path.suffix == ".json" else tomllib.loads(raw_text)
        except (json.JSONDecodeError, tomllib.TOMLDecodeError) as err:
            raise ScenarioError(f"scenario {path} does not parse: {err}") from None
        return cls.from_dict(data, base=path.parent, source=path)

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], *, base: Path | None = None, source: Path | None = None
    ) -> Scenario:
        """Build a scenario from already-parsed TOML/JSON data; raises ScenarioError."""
        name = str(source or "scenario")
        known = {
            "channels",
            "timeline",
            "speed",
            "autostart",
            "rate",
            "account",
            "difference_depth",
            "users",
        }
        unknown = set(data) - known
        if unknown:
            raise ScenarioError(
                f"{name}: unknown top-level keys {sorted(unknown)} (allowed: {sorted(known)})"
            )
        scenario = cls(
            speed=float(data.get("speed", 1.0)),
            autostart=bool(data.get("autostart", False)),
            rate=dict(data.get("rate", {})),
            account=dict(data.get("account", {})),
            difference_depth=int(data.get("difference_depth", 1000)),
            source=source,
        )
        if scenario.speed <= 0:
            raise ScenarioError(f"{name}: speed must be positive, got {scenario.speed}")
        for n, raw in enumerate(data.get("users", [])):
            if not isinstance(raw, dict) or not isinstance(raw.get("id"), int) or raw["id"] <= 0:
                raise ScenarioError(f"{name} users[{n}]: a user needs a positive integer 'id'")
            scenario.users.append(dict(raw))
        for n, raw in enumerate(data.get("channels", [])):
            scenario.channels.append(_channel_spec(raw, f"{name} channels[{n}]", base))
        ids = {c.id: c for c in scenario.channels}
        users = {u["id"] for u in scenario.users}
        for c in scenario.channels:
            if c.discussion is None:
                if any(m.comments for m in c.history):
                    raise ScenarioError(
                        f"{name}: channel {c.id} has comments but no 'discussion' group"
                    )
                continue
            group = ids.get(c.discussion)
            if group is None or not group.megagroup or c.megagroup:
                raise ScenarioError(
                    f"{name}: channel {c.id}'s discussion {c.discussion} must be a megagroup"
                    " declared among the channels (megagroup = true)"
                )
            for m in c.history:
                if m.comments and m.id is None:
                    raise ScenarioError(
                        f"{name}: a history message of {c.id} with comments needs an 'id'"
                    )
                for k, cm in enumerate(m.comments):
                    if cm.get("user") not in users:
                        raise ScenarioError(
                            f"{name}: comment {k} of {c.id}/{m.id}: user {cm.get('user')!r}"
                            " is not declared under users"
                        )
        for n, raw in enumerate(data.get("timeline", [])):
            where = f"{name} timeline[{n}]"
            if not isinstance(raw, dict) or "at" not in raw or "action" not in raw:
                raise ScenarioError(f"{where}: each step needs 'at' (seconds) and 'action'")
            kind = str(raw["action"])
            if kind not in ACTIONS:
                raise ScenarioError(f"{where}: unknown action {kind!r} (one of {sorted(ACTIONS)})")
            args = {k: v for k, v in raw.items() if k not in ("at", "action")}
            missing = missing_args(kind, args)
            if missing:
                raise ScenarioError(f"{where}: action {kind!r} needs {', '.join(missing)}")
            if kind == "post" and args.get("media"):
                args["media"] = _checked_media(args["media"], where)
            scenario.timeline.append(Action(float(raw["at"]), kind, args))
        scenario.timeline.sort(key=lambda a: a.at)
        return scenario


def _checked_media(raw: Any, where: str) -> dict[str, Any] | None:
    """A message's media dict; a poll is checked (emulator/events.py)."""
    if not raw:
        return None
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: media must be a table, got {raw!r}")
    if raw.get("type") == "poll":
        try:
            return events.poll_spec(raw, where)
        except ValueError as err:
            raise ScenarioError(str(err)) from None
    return dict(raw)


def _channel_spec(raw: Any, where: str, base: Path | None) -> ChannelSpec:
    if not isinstance(raw, dict) or "id" not in raw:
        raise ScenarioError(f"{where}: a channel needs at least an 'id'")
    export = raw.get("export")
    export_path = None
    if export:
        export_path = Path(export)
        if not export_path.is_absolute() and base is not None:
            export_path = base / export_path
    username = raw.get("username")
    spec = ChannelSpec(
        id=int(raw["id"]),
        username=str(username).lstrip("@") if username else None,
        title=str(raw.get("title") or username or f"channel {raw['id']}"),
        about=str(raw.get("about", "")),
        access_hash=int(raw["access_hash"]) if raw.get("access_hash") is not None else None,
        subscribers=int(raw.get("subscribers", 0)),
        megagroup=bool(raw.get("megagroup", False)),
        joined=bool(raw.get("joined", False)),
        export=export_path,
        discussion=int(raw["discussion"]) if raw.get("discussion") is not None else None,
    )
    for n, msg in enumerate(raw.get("history", [])):
        at = f"{where} history[{n}]"
        if not isinstance(msg, dict) or "date" not in msg:
            raise ScenarioError(f"{at}: a history message needs a 'date'")
        fwd = msg.get("fwd_from")
        spec.history.append(
            HistoryMessage(
                id=int(msg["id"]) if msg.get("id") is not None else None,
                text=str(msg.get("text", "")),
                date=_stamp(msg["date"], at),
                entities=entity_list(msg.get("entities", []), at),
                media=_checked_media(msg.get("media"), at),
                fwd_from=(int(fwd[0]), int(fwd[1])) if fwd else None,
                reply_to=msg.get("reply_to"),
                grouped_id=msg.get("grouped_id"),
                views=msg.get("views"),
                forwards=msg.get("forwards"),
                edit_date=_stamp(msg["edit_date"], at) if msg.get("edit_date") else None,
                reactions={str(k): int(v) for k, v in dict(msg.get("reactions", {})).items()},
                comments=_comments(msg.get("comments", []), at),
            )
        )
    return spec


def _comments(raw: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise ScenarioError(f"{where}: 'comments' must be a list")
    out: list[dict[str, Any]] = []
    for k, c in enumerate(raw):
        at = f"{where} comments[{k}]"
        if not isinstance(c, dict) or "user" not in c or "date" not in c:
            raise ScenarioError(f"{at}: a comment needs 'user', 'text' and 'date'")
        ref = c.get("reply_to_comment")
        if ref is not None and (not isinstance(ref, int) or not 0 <= ref < k):
            raise ScenarioError(f"{at}: reply_to_comment must index an earlier comment")
        out.append(
            {
                "user": c["user"],
                "text": str(c.get("text", "")),
                "date": _stamp(c["date"], at),
                "reply_to_comment": ref,
            }
        )
    return out


def entity_list(raw: Any, where: str) -> list[Any]:
    """TL entities from scenario dicts ``{type, offset, length, url?}`` or TL objects."""
    out: list[Any] = []
    for item in raw or []:
        if isinstance(item, TLObject):
            out.append(item)
            continue
        if not isinstance(item, dict) or "type" not in item:
            raise ScenarioError(f"{where}: entity {item!r} needs type, offset, length")
        entity = entity_from_dict(
            str(item["type"]), int(item.get("offset", 0)), int(item.get("length", 0)), item
        )
        if entity is None:
            raise ScenarioError(f"{where}: unknown entity type {item['type']!r}")
        out.append(entity)
    return out
