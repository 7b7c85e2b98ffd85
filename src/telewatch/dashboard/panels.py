"""The main screen's three panels: channels, live feed, alerts.

Panels only render what the app hands them (``store.feed`` rows); they never
touch the database, so they never block the UI.

Layout contract: every column has a width computed from the terminal's width
(``layout``), never from the content, so that a long state (a flood-wait
countdown), a long title or a large count cannot push a column out of sight or
bring up a horizontal scrollbar. What does not fit a cell is cut with ``…``.
Widths are computed from the terminal (``app.size``), not from the panel, because
the first rows can arrive before the panel is laid out.

Colours come from the Textual theme (``Palette``: the theme's text colours for
success, warning, error…, which are chosen to read on that theme's background),
so the dashboard reads on dark and light themes alike; the panels redraw when the
theme changes.

Adding a column: add it to the panel's ``columns()`` with a fixed width (or take
it from the flexible one) and a cell in ``show``.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import App
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from telewatch.dashboard.rtl import preview
from telewatch.store.feed import AlertCounter, AlertHit, ChannelRow, FeedItem

SPARK = "▁▂▃▄▅▆▇█"

# Semantic role of each channel state (colours come from the theme, see Palette).
STATE_ROLE = {
    "live": "ok",
    "backfilling": "info",
    "polling": "info",
    "flood_wait": "warn",
    "private": "bad",
    "error": "bad",
    "disconnected": "bad",
    "reconnecting": "warn",
    "renamed": "accent",
    "duplicate": "muted",
    "stopped": "muted",
    "pending": "muted",
    "resolving": "muted",
    "archived": "muted",
}

KIND_MARK = {
    "new": ("● new", "ok"),
    "edit": ("✎ edited", "warn"),
    "delete": ("✖ deleted", "bad"),
}

# The alerts panel is at least ALERTS_MIN wide and takes what the channels panel does
# not need at its widest (CHANNELS_FULL: 28-cell names, one sparkline block per hour).
ALERTS_MIN = 32
CHANNELS_FULL = 97


@dataclass(frozen=True, slots=True)
class Palette:
    """Rich styles for the dashboard's semantic roles, taken from a Textual theme's
    text colours (``$text-success`` …), which that theme makes readable on its own
    background; ``muted`` is dim text."""

    ok: Style
    warn: Style
    bad: Style
    info: Style
    accent: Style
    rule: Style
    muted: Style

    def __getitem__(self, role: str) -> Style:
        style: Style = getattr(self, role)
        return style

    @classmethod
    def plain(cls) -> Palette:
        """Bold, strike and dim only: no colour at all (readable on any background)."""
        bold = Style(bold=True)
        return cls(ok=Style(), warn=bold, bad=bold, info=Style(), accent=Style(), rule=bold,
                   muted=Style(dim=True))  # fmt: skip

    @classmethod
    def of(cls, app: App[object]) -> Palette:
        """The palette of ``app``'s current theme."""
        v = app.get_css_variables()

        def colour(name: str, fallback: str) -> Style:
            value = v.get(name, "")
            return Style(color=value if value.startswith("#") else fallback)

        return cls(
            ok=colour("text-success", "green"),
            warn=colour("text-warning", "yellow") + Style(bold=True),
            bad=colour("text-error", "red") + Style(bold=True),
            info=colour("text-primary", "blue"),
            accent=colour("text-accent", "magenta"),
            rule=colour("text-secondary", "magenta") + Style(bold=True),
            muted=Style(dim=True),
        )


def sparkline(values: tuple[int, ...] | list[int]) -> str:
    """One block character per value, scaled to the largest (empty hours are '▁')."""
    top = max(values, default=0)
    if top == 0:
        return SPARK[0] * len(values)
    return "".join(SPARK[min(len(SPARK) - 1, round(v / top * (len(SPARK) - 1)))] for v in values)


def bucket(hourly: tuple[int, ...], blocks: int) -> list[int]:
    """24 hourly counts summed into ``blocks`` equal buckets (24 must divide evenly)."""
    per = max(1, len(hourly) // blocks)
    return [sum(hourly[i : i + per]) for i in range(0, len(hourly), per)]


def compact(n: int) -> str:
    """A count in at most 4 cells: ``999``, ``9999``, ``12k``, ``1.2M``."""
    if n < 10_000:
        return str(n)
    if n < 1_000_000:
        return f"{n // 1000}k"
    if n < 10_000_000:
        return f"{n / 1_000_000:.1f}M"
    return f"{n // 1_000_000}M"


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


def countdown(seconds: int) -> str:
    """A countdown in at most 5 cells: ``42s``, ``4m05s``, ``42m``, ``1h02m``, ``2d03h``."""
    seconds = max(0, seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"


def state_text(row: ChannelRow, now: datetime, palette: Palette | None = None) -> Text:
    """The channel's state; a flood wait counts down to when it ends."""
    st = row.status
    label = st.state.replace("_", "-")
    if st.state == "flood_wait" and st.flood_until is not None:
        label = f"flood-wait {countdown(int((st.flood_until - now).total_seconds()))}"
    role = STATE_ROLE.get(st.state)
    style = palette[role] if palette is not None and role else ""
    return Text(label, style=style)


def backfill_text(row: ChannelRow, width: int, palette: Palette) -> Text:
    """``done``, a percentage of the target (with the count when it fits), or the count
    archived so far."""
    st = row.status
    if st.backfill_done:
        text = Text("done", style=palette.ok)
        if st.sweep_progress is not None and width >= 16:
            text.append(f" · sweep {int(st.sweep_progress * 100)}%", style=palette.muted)
        return text
    if st.backfill_progress is not None:
        pct = f"{int(st.backfill_progress * 100)}%"
        full = f"{pct} ({compact(st.posts)})"
        return Text(full if len(full) <= width else pct, style=palette.info)
    if st.posts:
        return Text(f"{compact(st.posts)}…", style=palette.info)
    return Text("—", style=palette.muted)


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its key, header and content width in cells."""

    key: str
    label: str
    width: int


class Panel(DataTable[object]):
    """A DataTable whose columns are sized by ``columns()`` from the terminal width.

    Cells have no padding of their own; every column but the last is one cell wider than
    its content (the gap), and the first starts after one blank cell."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open post"),
        Binding("tab", "app.focus_next", "Next panel"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False, cell_padding=0)
        self.layout_width = 0
        self.palette: Palette | None = None

    # The two hooks each panel defines (Textual's metaclass rules out ABCMeta,
    # so abstractmethod documents them and mypy checks the overrides).
    @abstractmethod
    def columns_for(self, width: int) -> list[Column]:
        """The columns at a terminal ``width``."""

    @abstractmethod
    def relayout(self) -> None:
        """Recompute the columns for a new terminal width or theme and redraw."""

    def cells(self) -> list[Column]:
        """The current columns (for cutting cell content)."""
        return self.columns_for(self.layout_width)

    def setup_columns(self) -> bool:
        """(Re)create the columns for the terminal's width; True when they changed."""
        width = self.app.size.width
        palette = Palette.of(self.app)
        if width == self.layout_width and palette == self.palette and self.columns:
            return False
        self.layout_width = width
        self.palette = palette
        self.clear(columns=True)
        cols = self.columns_for(width)
        for i, col in enumerate(cols):
            gap = 0 if i == len(cols) - 1 else 1
            lead = " " if i == 0 else ""
            self.add_column(Text(lead + col.label), key=col.key, width=col.width + gap + len(lead))
        return True

    def cell(self, i: int, text: Text | str, *, right: bool = False) -> Text:
        """``text`` cut to column ``i``'s width (a leading blank on the first column)."""
        col = self.cells()[i]
        out = text if isinstance(text, Text) else Text(text)
        if out.cell_len > col.width:
            out = out.copy()
            out.truncate(col.width, overflow="ellipsis")
        if right:
            out = Text(" " * (col.width - out.cell_len)) + out
        return Text(" ") + out if i == 0 else out


class ChannelsPanel(Panel):
    """Watched channels: state, last post age, posts in 24 h with a sparkline, backfill,
    errors."""

    BORDER_TITLE = "Channels"

    STATE_W = 16  # "flood-wait 1h02m"
    LAST_W = 4
    COUNT_W = 4
    BACKFILL_W = 8
    ERR_W = 3
    NAME_MIN = 14
    NAME_MAX = 28

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.shown: list[ChannelRow] = []
        self.now: datetime | None = None

    def inner_width(self, width: int) -> int:
        """Cells inside the panel's border and scrollbar gutter at terminal ``width``."""
        return width - alerts_width(width) - 3

    def spark_blocks(self, width: int) -> int:
        """Blocks in the sparkline: one per hour when there is room, else per 2, 3, 4 h."""
        fixed = self.STATE_W + self.LAST_W + self.COUNT_W + 1 + self.BACKFILL_W + self.ERR_W
        room = self.inner_width(width) - 6 - fixed  # 1 leading blank + 5 gaps
        for blocks in (24, 12, 8, 6):
            if room - blocks >= self.NAME_MIN:
                return blocks
        return 6

    def columns_for(self, width: int) -> list[Column]:
        """Channel (the rest, 14–28 cells), State, Last, Posts in 24 h, Backfill, Err."""
        blocks = self.spark_blocks(width)
        fixed = self.STATE_W + self.LAST_W + self.COUNT_W + 1 + blocks
        fixed += self.BACKFILL_W + self.ERR_W
        name = max(8, min(self.NAME_MAX, self.inner_width(width) - 6 - fixed))
        return [
            Column("name", "Channel", name),
            Column("state", "State", self.STATE_W),
            Column("last", "Last", self.LAST_W),
            Column("posts", "Posts 24h", self.COUNT_W + 1 + blocks),
            Column("backfill", "Backfill", self.BACKFILL_W),
            Column("errors", "Err", self.ERR_W),
        ]

    def on_mount(self) -> None:
        """Set up the columns."""
        self.setup_columns()

    def relayout(self) -> None:
        """Recompute the columns for a new terminal width or theme and redraw."""
        if self.setup_columns() and self.now is not None:
            self.show(self.shown, self.now)

    def show(self, rows: list[ChannelRow], now: datetime) -> None:
        """Replace the rows, keeping the cursor on the same channel."""
        self.shown, self.now = rows, now
        self.setup_columns()
        palette = self.palette or Palette.of(self.app)
        selected = self.selected_key()
        self.clear()
        cols = self.cells()
        blocks = cols[3].width - self.COUNT_W - 1
        for r in rows:
            errors = r.status.errors
            posts = Text(compact(r.posts_24h).rjust(self.COUNT_W) + " ")
            posts.append(sparkline(bucket(r.hourly, blocks)), style=palette.info)
            self.add_row(
                self.cell(0, preview(r.name, cols[0].width)),
                self.cell(1, state_text(r, now, palette)),
                self.cell(2, age(r.status.last_post_at, now)),
                self.cell(3, posts),
                self.cell(4, backfill_text(r, self.BACKFILL_W, palette)),
                self.cell(
                    5,
                    Text(compact(errors), style=palette.bad if errors else palette.muted),
                    right=True,
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


def alerts_width(width: int) -> int:
    """The alerts panel's outer width at terminal ``width`` (see ALERTS_MIN)."""
    return max(ALERTS_MIN, width - CHANNELS_FULL)


def feed_time(at: datetime, now: datetime) -> str:
    """A capture time in UTC: ``HH:MM:SS`` on the current UTC day, else ``MM-DD HH:MM``."""
    if at.date() == now.date():
        return at.strftime("%H:%M:%S")
    return at.strftime("%m-%d %H:%M")


class FeedPanel(Panel):
    """Live feed of archived changes, newest at the bottom; follows the end unless paused."""

    BORDER_TITLE = "Live feed"
    MAX_ROWS = 2000

    TIME_W = 11
    CHANGE_W = 10
    POST_W = 8
    LANG_W = 4

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.follow = True
        self.items: dict[str, FeedItem] = {}
        self._post_rows: dict[tuple[int, int], list[str]] = {}
        self._order: list[str] = []
        self.now: datetime | None = None

    def columns_for(self, width: int) -> list[Column]:
        """Time (UTC), Change, Channel (12–20 cells), Post, Lang, Text (the rest)."""
        content = width - 3 - 6  # border, gutter, leading blank and 5 gaps
        fixed = self.TIME_W + self.CHANGE_W + self.POST_W + self.LANG_W
        channel = max(12, min(20, (content - fixed) // 4))
        return [
            Column("time", "Time (UTC)", self.TIME_W),
            Column("kind", "Change", self.CHANGE_W),
            Column("channel", "Channel", channel),
            Column("post", "Post", self.POST_W),
            Column("lang", "Lang", self.LANG_W),
            Column("text", "Text", max(20, content - fixed - channel)),
        ]

    def on_mount(self) -> None:
        """Set up the columns."""
        self.setup_columns()

    def relayout(self) -> None:
        """Recompute the columns for a new terminal width or theme and redraw every row."""
        if not self.setup_columns():
            return
        items = [self.items[k] for k in self._order]
        self.items, self._post_rows, self._order = {}, {}, []
        self._add(items)

    def _text(self, item: FeedItem, width: int, palette: Palette, struck: bool) -> Text:
        out = Text()
        if item.forward_from:
            label = f"↪ from {preview(item.forward_from, max(8, width // 3))}"
            out.append(label + " ", style=palette.accent)
        if item.media_kind:
            out.append(f"[{preview(item.media_kind, 12)}] ", style=palette.info)
        body = Text(preview(item.text, max(8, width - out.cell_len)) or "(no text)")
        if struck:
            body.stylize("strike dim")
        out.append_text(body)
        return out

    def add_items(self, items: list[FeedItem], now: datetime | None = None) -> None:
        """Append changes (oldest first); a deletion strikes through the post's earlier rows."""
        if now is not None:
            self.now = now
        self.setup_columns()
        self._add(items)

    def _add(self, items: list[FeedItem]) -> None:
        palette = self.palette or Palette.of(self.app)
        cols = self.cells()
        width = cols[5].width
        for item in items:
            if item.key in self.items:
                continue
            mark, role = KIND_MARK[item.kind]
            if item.kind == "edit":
                mark = f"✎ edit v{item.version_no}"
            struck = item.deleted or item.kind == "delete"
            self.add_row(
                self.cell(0, feed_time(item.at, self.now or item.at)),
                self.cell(1, Text(mark, style=palette[role])),
                self.cell(2, preview(item.channel, cols[2].width)),
                self.cell(3, Text(f"#{item.message_id}", style=palette.muted)),
                self.cell(4, Text(item.lang or "", style=palette.muted)),
                self.cell(5, self._text(item, width, palette, struck)),
                key=item.key,
            )
            self.items[item.key] = item
            self._order.append(item.key)
            post = (item.channel_id, item.message_id)
            if item.kind == "delete":
                for key in self._post_rows.get(post, []):
                    self.update_cell(
                        key, "text", self.cell(5, self._text(self.items[key], width, palette, True))
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


class AlertsPanel(Panel):
    """Alert rules with hit counters by kind, then the latest hits."""

    BORDER_TITLE = "Alerts"

    HITS_W = 10  # "7 ●5 ✎1 ✖1"
    LAST_W = 4

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.hits: dict[str, AlertHit] = {}
        self.counters: list[AlertCounter] = []
        self.now: datetime | None = None

    def columns_for(self, width: int) -> list[Column]:
        """Rule / hit (the rest), Hits, Last."""
        content = alerts_width(width) - 3 - 3  # border, gutter, leading blank, 2 gaps
        hits = self.HITS_W if content < 40 else self.HITS_W + 6  # room for 3-digit counts
        return [
            Column("rule", "Rule / hit", max(8, content - hits - self.LAST_W)),
            Column("n", "Hits", hits),
            Column("last", "Last", self.LAST_W),
        ]

    def on_mount(self) -> None:
        """Set up the columns."""
        self.setup_columns()

    def relayout(self) -> None:
        """Recompute the columns for a new terminal width or theme and redraw."""
        if self.setup_columns() and self.now is not None:
            self.show(self.counters, list(self.hits.values()), self.now)

    def show(self, counters: list[AlertCounter], hits: list[AlertHit], now: datetime) -> None:
        """Replace the content: one row per rule (hits: total, then ● new ✎ edit ✖ delete),
        then the latest hits, newest first."""
        self.counters, self.now = counters, now
        self.setup_columns()
        palette = self.palette or Palette.of(self.app)
        selected = self.cursor_row
        self.clear()
        self.hits = {}
        cols = self.cells()
        if not counters:
            self.add_row(
                self.cell(0, Text("no alert hits yet", style=palette.muted)), "", "", key="none"
            )
        for c in counters:
            n = Text(f"{compact(c.total)} ")
            for mark, count, role in (
                ("●", c.new, "ok"),
                ("✎", c.edit, "warn"),
                ("✖", c.delete, "bad"),
            ):
                n.append(f"{mark}{compact(count)}", style=palette[role] if count else palette.muted)
                n.append(" ")
            n.rstrip()
            if c.dead:
                n.append(f" ✗{compact(c.dead)}", style=palette.bad)
            self.add_row(
                self.cell(0, Text(c.rule, style=palette.rule)),
                self.cell(1, n),
                self.cell(2, age(c.last_at, now)),
                key=f"rule:{c.rule}",
            )
        for h in hits:
            key = f"hit:{h.id}"
            mark, role = KIND_MARK[h.kind]
            self.add_row(
                self.cell(
                    0,
                    Text.assemble(
                        (mark.split()[0] + " ", palette[role]),
                        preview(h.excerpt or h.channel, cols[0].width - 2),
                    ),
                ),
                self.cell(1, Text(preview(h.rule, cols[1].width), style=palette.accent)),
                self.cell(2, age(h.hit_at, now)),
                key=key,
            )
            self.hits[key] = h
        if 0 < selected < self.row_count:
            self.move_cursor(row=selected, animate=False)
