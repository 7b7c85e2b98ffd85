"""How comments look in the terminal: ``show``'s thread and ``search --comments``.

Every archived string goes through ``text.printable`` (comments are written
by anyone)."""

from __future__ import annotations

import dataclasses
from typing import Any

import click

from telewatch.store.comments import Comment, CommentHit
from telewatch.text import printable

INDENT = "  "


def _when(c: Comment) -> str:
    return c.date.strftime("%Y-%m-%d %H:%M:%SZ")


def _flags(c: Comment) -> str:
    out = ""
    if c.versions > 1:
        out += f" [{c.versions} versions]"
    if c.deleted_at is not None:
        out += f" [deleted, detected {c.deleted_at}]"
    return out


def print_thread(comments: list[Comment], total: int | None = None) -> None:
    """The comments under a post, each reply indented under what it answers."""
    if not comments:
        return
    click.echo()
    head = f"comments ({len(comments)})"
    if total is not None and total != len(comments):
        head += f", Telegram counted {total}"
    click.echo(click.style(head, bold=True))
    for c in comments:
        pad = INDENT * (c.depth + 1)
        who = printable(c.author, multiline=False)
        click.echo(
            pad + click.style(f"#{c.message_id} {who}", bold=True) + f"  {_when(c)}{_flags(c)}"
        )
        for line in (c.text or "").splitlines() or [""]:
            click.echo(pad + INDENT + printable(line))


def thread_json(comments: list[Comment]) -> list[dict[str, Any]]:
    """The thread as JSON-ready dicts (dates as ISO text)."""
    out = []
    for c in comments:
        d = dataclasses.asdict(c)
        d["date"] = c.date.isoformat()
        out.append(d)
    return out


def print_hits(hits: list[CommentHit]) -> None:
    """``search --comments`` hits: the comment, its author and its post."""
    for h in hits:
        c = h.comment
        channel = f"@{h.username}" if h.username else str(c.channel_id)
        label = printable(
            f"{channel}/{c.post_message_id} comment #{c.message_id} by {c.author}",
            multiline=False,
        )
        click.echo(click.style(label, bold=True) + f"  {_when(c)}{_flags(c)}")
        click.echo(INDENT + printable(h.hit.marked("[", "]")))
        if h.url:
            click.echo(INDENT + printable(h.url))
