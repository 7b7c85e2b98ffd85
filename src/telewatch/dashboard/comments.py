"""Comments in the dashboard: a post's thread under its history, and the
rows of a comment search. Untrusted text goes through ``text.printable``
(and the right-to-left helpers of ``dashboard.rtl``)."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from telewatch.dashboard.panels import Palette
from telewatch.dashboard.rtl import preview, wrapped
from telewatch.store.comments import Comment, CommentHit
from telewatch.text import printable


def render_thread(thread: list[Comment], width: int, palette: Palette) -> RenderableType:
    """The comments under a post, replies indented under what they answer."""
    if not thread:
        return Text("no comments archived (c hides this)", style=palette.muted)
    parts: list[RenderableType] = [
        Text(f"Comments ({len(thread)})  (c hides them)", style=palette.rule)
    ]
    for c in thread:
        pad = "  " * c.depth
        head = Text(pad)
        head.append(printable(c.author), style=palette.info)
        head.append(f"  #{c.message_id}  {c.date:%Y-%m-%d %H:%M}", style=palette.muted)
        if c.versions > 1:
            head.append(f"  ✎ v{c.versions}", style=palette.warn)
        if c.deleted_at is not None:
            head.append("  ✖ deleted", style=palette.bad)
        parts.append(head)
        style = "strike dim" if c.deleted_at is not None else ""
        for line, rtl in wrapped(c.text or "", max(20, width - len(pad) - 2)):
            text = Text(pad + "  " + line, style=style)
            if rtl:
                text.justify = "right"
            parts.append(text)
    return Group(*parts)


def hit_labels(hit: CommentHit) -> tuple[str, str]:
    """(channel/post, author) cells of a comment search row."""
    c = hit.comment
    channel = f"@{hit.username}" if hit.username else str(c.channel_id)
    return preview(f"{channel}/{c.post_message_id}", 24), preview(c.author, 20)
