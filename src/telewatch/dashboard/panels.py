"""The main screen's three panels: channels, live feed, alerts.

Panels only render what the app hands them (``store.feed`` rows); they never
touch the database, so they never block the UI.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import DataTable

from telewatch.dashboard.rtl import preview
from telewatch.store.feed import AlertCounter, AlertHit, ChannelRow, FeedItem

SPARK = "▁▂▃▄▅▆▇█"

STATE_STYLE = {
    "live": "bold green",
    "backfilling": "cyan",
    "polling": "blue",
    "flood_wait": "bold yellow",
    "private": "bold red",
    "error": "bold red",
    "renamed": "magenta",
    "duplicate": "dim",
    "stopped": "dim",
    "pending": "dim",
    "resolving": "dim",
    "archived": "dim",
}

KIND_MARK = {
    "new": ("● new", "green"),
    "edit": ("✎ edited", "bold yellow"),
    "delete": ("✖ deleted", "bold red"),
}


def sparkline(values: tuple[int, ...] | list[int]) -> str:
    """One block character per value, scaled to the largest (empty hours are '▁')."""
    top = max(values, default=0)
    if top == 0:
        return SPARK[0] * len(values)
    return "".join(SPARK[min(len(SPARK) - 1, round(v / top * (len(SPARK) - 1)))] for v in values)


def age(then: datetime | None, now: datetime) -> str:
    """A short age: ``12s``, ``5m``, ``3h``, ``2d``; ``—`` when unknown."""
    if then is None:
        return "—"
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def state_text(row: ChannelRow, now: datetime) -> Text:
    """The channel's state; a flood wait counts down to when it ends."""
    st = row.status
    label = st.state.replace("_", "-")
    if st.state == "flood_wait" and st.flood_until is not None:
        left = max(0, int((st.flood_until - now).total_seconds()))
        label = f"flood-wait {left}s"
    return Text(label, style=STATE_STYLE.get(st.state, ""))


def backfill_text(row: ChannelRow) -> Text:
    """``done``, a percentage of the target, or the count archived so far;
    once done, the full sweep's pass (``done · sweep 66%``) when it has run."""
    st = row.status
    if st.backfill_done:
        text = Text("done", style="green")
        if st.sweep_progress is not None:
            text.append(f" · sweep {int(st.sweep_progress * 100)}%", style="dim")
        return text
    if st.backfill_progress is not None:
        return Text(f"{int(st.backfill_progress * 100)}% ({st.posts})", style="cyan")
    if st.posts:
        return Text(f"{st.posts}…", style="cyan")
    return Text("—", style="dim")


class ChannelsPanel(DataTable[object]):
    """Watched channels: state, last post age, posts in 24 h with a sparkline, backfill."""

    BORDER_TITLE = "Channels"

    def on_mount(self) -> None:
        """Set up the columns."""
        self.cursor_type = "row"
        self.zebra_stripes = False
        for label, key in (
            ("Channel", "name"),
            ("State", "state"),
            ("Last", "last"),
            ("24h", "n24"),
            ("Posts/hour, 24 h", "spark"),
            ("Backfill", "backfill"),
            ("Err", "errors"),
        ):
            self.add_column(label, key=key)

    def show(self, rows: list[ChannelRow], now: datetime) -> None:
        """Replace the rows, keeping the cursor on the same channel."""
        selected = self.selected_key()
        self.clear()
        for r in rows:
            self.add_row(
                Text(preview(r.name, 28)),
                state_text(r, now),
                age(r.status.last_post_at, now),
                Text(str(r.posts_24h), justify="right"),
                Text(sparkline(r.hourly), style="cyan"),
                backfill_text(r),
                Text(
                    str(r.status.errors), style="red" if r.status.errors else "dim", justify="right"
                ),
                key=r.key,
            )
        keys = [r.key for r in rows]
        if selected in keys:
            self.move_cursor(row=keys.index(selected), animate=False)

    def selected_key(self) -> str | None:
        """The watch-list key of the highlighted channel, if any."""
        if self.row_count == 0:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value


class FeedPanel(DataTable[object]):
    """Live feed of archived changes, newest at the bottom; follows the end unless paused."""

    BORDER_TITLE = "Live feed"
    MAX_ROWS = 2000

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.follow = True
        self.items: dict[str, FeedItem] = {}
        self._post_rows: dict[tuple[int, int], list[str]] = {}
        self._order: list[str] = []

    def on_mount(self) -> None:
        """Set up the columns."""
        for label, key in (
            ("Time", "time"),
            ("Change", "kind"),
            ("Channel", "channel"),
            ("Post", "post"),
            ("Lang", "lang"),
            ("Text", "text"),
        ):
            self.add_column(label, key=key)

    def _text_width(self) -> int:
        # From the terminal's width, not the panel's: the first rows can arrive before the
        # panel is laid out, and the same screen must always cut previews the same way.
        return max(20, self.app.size.width - 58)

    def add_items(self, items: list[FeedItem]) -> None:
        """Append changes (oldest first); a deletion strikes through the post's earlier rows."""
        width = self._text_width()
        for item in items:
            if item.key in self.items:
                continue
            mark, style = KIND_MARK[item.kind]
            if item.kind == "edit":
                mark = f"✎ edit v{item.version_no}"
            text = Text(preview(item.text, width) or "(no text)")
            if item.deleted or item.kind == "delete":
                text.stylize("strike dim")
            self.add_row(
                item.at.strftime("%H:%M:%S"),
                Text(mark, style=style),
                Text(preview(item.channel, 18)),
                Text(f"#{item.message_id}", style="dim"),
                Text(item.lang or "", style="dim"),
                text,
                key=item.key,
            )
            self.items[item.key] = item
            self._order.append(item.key)
            post = (item.channel_id, item.message_id)
            if item.kind == "delete":
                for key in self._post_rows.get(post, []):
                    self.update_cell(
                        key, "text", Text(preview(self.items[key].text, width), style="strike dim")
                    )
            self._post_rows.setdefault(post, []).append(item.key)
        self._trim()
        if self.follow and self.row_count:
            self.move_cursor(row=self.row_count - 1, animate=False)

    def _trim(self) -> None:
        while len(self._order) > self.MAX_ROWS:
            key = self._order.pop(0)
            item = self.items.pop(key)
            self.remove_row(key)
            post = (item.channel_id, item.message_id)
            keys = self._post_rows.get(post, [])
            if key in keys:
                keys.remove(key)
            if not keys:
                self._post_rows.pop(post, None)

    def action_toggle_follow(self) -> None:
        """Stop or resume following new changes."""
        self.follow = not self.follow
        self.border_subtitle = "" if self.follow else "paused (p to follow)"
        if self.follow and self.row_count:
            self.move_cursor(row=self.row_count - 1, animate=False)

    def selected_item(self) -> FeedItem | None:
        """The change under the cursor."""
        if self.row_count == 0:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return self.items.get(row_key.value or "")


class AlertsPanel(DataTable[object]):
    """Alert rules with hit counters by kind, then the latest hits."""

    BORDER_TITLE = "Alerts"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.hits: dict[str, AlertHit] = {}

    def on_mount(self) -> None:
        """Set up the columns."""
        for label, key in (("Rule / hit", "rule"), ("Hits", "n"), ("Last", "last")):
            self.add_column(label, key=key)

    def show(self, counters: list[AlertCounter], hits: list[AlertHit], now: datetime) -> None:
        """Replace the content: one row per rule (hits: total, new/edit/delete), then the
        latest hits, newest first."""
        selected = self.cursor_row
        self.clear()
        self.hits = {}
        if not counters:
            self.add_row(Text("no alert hits yet", style="dim"), "", "", key="none")
        for c in counters:
            self.add_row(
                Text(c.rule, style="bold magenta"),
                Text(f"{c.total} {c.new}/{c.edit}/{c.delete}" + (f" ✗{c.dead}" if c.dead else "")),
                age(c.last_at, now),
                key=f"rule:{c.rule}",
            )
        # The panel is a third of the terminal (see the app's CSS); sized from the terminal
        # so that the cut does not depend on whether layout has happened yet.
        width = max(12, self.app.size.width // 3 - 24)
        for h in hits:
            key = f"hit:{h.id}"
            mark, style = KIND_MARK[h.kind]
            self.add_row(
                Text.assemble(
                    (mark.split()[0] + " ", style), preview(h.excerpt or h.channel, width)
                ),
                Text(preview(h.rule, 9), style="magenta"),
                age(h.hit_at, now),
                key=key,
            )
            self.hits[key] = h
        if 0 < selected < self.row_count:
            self.move_cursor(row=selected, animate=False)
