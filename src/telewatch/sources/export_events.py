"""Polls and service messages of a Telegram Desktop export (result.json),
as the facts the daemon records for them (docs/EXPORTS.md, "Importing").

Telegram Desktop writes a poll message's ``"poll"`` as ``{"question",
"closed", "total_voters", "answers": [{"text", "voters", "chosen"}]}``
(``chosen``: the exporting account's own vote, not archived), and a service
message as ``{"type": "service", "id", "date", "date_unixtime", "actor",
"actor_id", "action", ...}`` with the action's fields: ``pin_message``
(``message_id``: the pinned post), ``edit_group_title`` (``title``),
``edit_group_photo`` (the photo's file fields; no photo id),
``delete_group_photo``; every other action (``create_channel``, …) is kept
as ``other`` with the action's name as its value, as the daemon keeps an
unknown ``MessageService`` action.

An export carries neither Telegram's poll id nor the answers' option bytes:
an imported poll has poll id 0 and its answers are keyed by their position
(``00``, ``01``, …). Its results are one sample with source ``import``.
Anything malformed raises ValueError (the importer counts it as one skipped
fact; the message's post, if any, is still imported).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from telewatch.models import ChannelActionSeen, Poll, PollAnswer, PollResults

MAX_ID = 2**31 - 1
MAX_COUNT = 2**53
MAX_ANSWERS = 12  # Telegram allows 2..10 answers (12 for premium accounts)
MAX_TEXT = 4096
EXPORT_POLL_ID = 0
"""The poll id of an imported poll (exports do not carry Telegram's)."""

_ACTIONS = {
    "pin_message": "pin",
    "edit_group_title": "title",
    "edit_group_photo": "photo",
    "delete_group_photo": "photo_removed",
}


def _text(value: Any, what: str) -> str:
    """An export text field: a string, or a list of runs (strings or {"text"})."""
    if isinstance(value, list):
        parts = []
        for run in value:
            if isinstance(run, str):
                parts.append(run)
            elif isinstance(run, dict) and isinstance(run.get("text"), str):
                parts.append(run["text"])
            else:
                raise ValueError(f"{what} has a run that is not text")
        value = "".join(parts)
    if not isinstance(value, str):
        raise ValueError(f"{what} is {type(value).__name__}, expected text")
    if len(value) > MAX_TEXT:
        raise ValueError(f"{what} is longer than {MAX_TEXT} characters")
    return value


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise ValueError(f"{what} {value!r} is not a count")
    return value


def export_poll(msg: dict[str, Any]) -> Poll:
    """The ``Poll`` (definition and results) of an export message's ``"poll"``."""
    raw = msg.get("poll")
    if not isinstance(raw, dict):
        raise ValueError("poll is not an object")
    question = _text(raw.get("question"), "poll question")
    if not question:
        raise ValueError("poll has an empty question")
    answers = raw.get("answers")
    if not isinstance(answers, list) or not 2 <= len(answers) <= MAX_ANSWERS:
        raise ValueError(f"poll needs 2 to {MAX_ANSWERS} answers")
    closed = raw.get("closed", False)
    if not isinstance(closed, bool):
        raise ValueError("poll closed is not true/false")
    total = raw.get("total_voters")
    out: list[PollAnswer] = []
    voters: list[tuple[str, int]] = []
    for i, a in enumerate(answers):
        if not isinstance(a, dict):
            raise ValueError(f"poll answer {i} is not an object")
        option = f"{i:02x}"
        out.append(PollAnswer(option, _text(a.get("text"), f"poll answer {i}")))
        voters.append((option, _count(a.get("voters", 0), f"poll answer {i} voters")))
    return Poll(
        poll_id=EXPORT_POLL_ID,
        question=question,
        answers=tuple(out),
        results=PollResults(
            closed, None if total is None else _count(total, "poll total_voters"), tuple(voters)
        ),
    )


def _date(msg: dict[str, Any]) -> datetime:
    unix = msg.get("date_unixtime")
    if unix is not None:
        try:
            seconds = float(unix)
        except (TypeError, ValueError):
            raise ValueError(f"date_unixtime {unix!r} is not a time") from None
        if not math.isfinite(seconds) or not 0 < seconds < 2**32:
            raise ValueError(f"date_unixtime {unix!r} is not a time")
        return datetime.fromtimestamp(int(seconds), UTC)
    date = msg.get("date")
    if not isinstance(date, str):
        raise ValueError("no date_unixtime or date")
    try:
        when = datetime.fromisoformat(date)
    except ValueError:
        raise ValueError(f"date {date[:40]!r} is not an ISO time") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def export_action(msg: dict[str, Any], channel_id: int, seen_at: datetime) -> ChannelActionSeen:
    """The ``ChannelActionSeen`` of an export's service message."""
    mid = msg.get("id")
    if isinstance(mid, bool) or not isinstance(mid, int) or not 0 < mid <= MAX_ID:
        raise ValueError(f"service message id {mid!r} is not a message id")
    name = msg.get("action")
    if not isinstance(name, str) or not name or len(name) > 100:
        raise ValueError(f"service message {mid} has no action")
    action = _ACTIONS.get(name, "other")
    value: str | None = None
    target: int | None = None
    if action == "pin":
        target = msg.get("message_id")
        if isinstance(target, bool) or not isinstance(target, int) or not 0 < target <= MAX_ID:
            raise ValueError(f"service message {mid}: pinned message_id {target!r} is not an id")
    elif action == "title":
        value = _text(msg.get("title"), f"service message {mid} title")
    elif action == "other":
        value = name
    return ChannelActionSeen(channel_id, mid, _date(msg), action, seen_at, value, target)
