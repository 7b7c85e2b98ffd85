"""The post detail's pinned state and poll (store/events.py), as Rich renderables."""

from __future__ import annotations

from datetime import datetime

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from telewatch.dashboard.panels import Palette
from telewatch.store.feed import PostHistory
from telewatch.text import printable


def _when(at: str | None) -> str:
    if not at:
        return "-"
    return datetime.strptime(at, "%Y-%m-%dT%H:%M:%SZ").strftime("%Y-%m-%d %H:%M:%S UTC")


def render_post_events(post: PostHistory, pal: Palette) -> list[RenderableType]:
    """A line for the pin state (with its changes) and the poll with its newest
    results and a table of the samples over time. Every archived string is
    made ``printable``."""
    parts: list[RenderableType] = []
    if post.pins:
        last = post.pins[-1]
        line = Text(
            "PINNED" if last.pinned else "not pinned (was pinned)",
            style=pal.accent if last.pinned else pal.muted,
        )
        for p in post.pins:
            line.append(
                f"  {'pinned' if p.pinned else 'unpinned'} {_when(p.event_date or p.detected_at)}"
                f" ({p.method})",
                style=pal.muted,
            )
        parts.append(line)
    poll = post.poll
    if poll is None:
        return parts
    last_sample = poll.samples[-1] if poll.samples else None
    head = Text("poll: ", style="bold")
    head.append(printable(poll.question), style="bold")
    if last_sample is not None:
        state = "closed" if last_sample.closed else "open"
        total = "?" if last_sample.total_voters is None else str(last_sample.total_voters)
        head.append(f"  {state}, {total} voters", style=pal.muted)
    parts.append(head)
    top = max(last_sample.counts, default=0) if last_sample else 0
    for i, answer in enumerate(poll.answers):
        n = last_sample.counts[i] if last_sample else 0
        bar = "█" * (round(20 * n / top) if top else 0)
        row = Text(f"  {n:>6} ", style="bold")
        row.append(bar.ljust(20), style=pal.info)
        row.append(f" {printable(answer)}")
        parts.append(row)
    if len(poll.samples) > 1:
        table = Table(title="poll results over time", title_justify="left", box=None)
        table.add_column("sampled")
        for answer in poll.answers:
            # Text, not str: a header string would be read as Rich markup.
            table.add_column(Text(printable(answer, multiline=False)[:16]))
        table.add_column("state")
        for s in poll.samples[-12:]:
            table.add_row(
                _when(s.sampled_at), *(str(c) for c in s.counts), "closed" if s.closed else "open"
            )
        parts.append(table)
    return parts
