"""Screens over the main one: post detail, search, and the key help."""

from __future__ import annotations

import difflib
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, cast

from rich.console import Group, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from telewatch.dashboard.comments import hit_labels, render_thread
from telewatch.dashboard.panels import Palette
from telewatch.dashboard.post_events import render_post_events
from telewatch.dashboard.rtl import has_rtl, has_unsafe, preview, truncate, wrapped
from telewatch.models import UserError
from telewatch.store import comments
from telewatch.store import media as media_store
from telewatch.store.comments import Comment, CommentHit
from telewatch.store.db import DatabaseError
from telewatch.store.feed import PostHistory, parse_iso, post_history
from telewatch.store.queries import SearchHit, resolve_channel, search
from telewatch.text import printable

if TYPE_CHECKING:
    from telewatch.dashboard.app import TelewatchApp

_WORDS = re.compile(r"\S+|\s+")


def word_diff(old: str, new: str, palette: Palette | None = None) -> Text:
    """``new`` with the words removed since ``old`` as ``[-removed-]`` (struck, error
    colour) and the added ones as ``{+added+}`` (bold, success colour): the markers make
    the diff read without colour. Both texts are made ``printable`` first."""
    a = _WORDS.findall(printable(old))
    b = _WORDS.findall(printable(new))
    removed = Style(strike=True) + (palette.bad if palette else Style(color="red"))
    added = Style(bold=True) + (palette.ok if palette else Style(color="green"))
    out = Text()
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append("".join(a[i1:i2]))
            continue
        if op in ("delete", "replace"):
            out.append(_marked("[-", a[i1:i2], "-]"), style=removed)
        if op in ("insert", "replace"):
            out.append(_marked("{+", b[j1:j2], "+}"), style=added)
    return out


def _marked(opening: str, words: list[str], closing: str) -> str:
    # Keep the spaces around a changed run outside its markers: "a [-b-] c", not "a[- b -]c".
    run = "".join(words)
    core = run.strip()
    if not core:
        return run
    lead = run[: len(run) - len(run.lstrip())]
    trail = run[len(run.rstrip()) :]
    return f"{lead}{opening}{core}{closing}{trail}"


def media_summary(media: dict[str, object]) -> str:
    """A readable media line: ``photo 1280×720, 179 KB``, ``video 0:42, 1920×1080,
    12.3 MB (video/mp4)``, ``document "report.pdf", 245 KB (application/pdf)``."""
    kind = str(media.get("kind") or "media")
    parts: list[str] = []
    name = media.get("file_name")
    if name:
        parts.append(f'"{preview(str(name), 40)}"')
    duration = media.get("duration")
    if isinstance(duration, int | float) and duration > 0:
        minutes, seconds = divmod(round(duration), 60)
        hours, minutes = divmod(minutes, 60)
        parts.append(
            f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
        )
    width, height = media.get("width"), media.get("height")
    if isinstance(width, int) and isinstance(height, int) and width and height:
        parts.append(f"{width}×{height}")
    size = media.get("size")
    if isinstance(size, int) and size > 0:
        parts.append(file_size(size))
    line = kind + (" " + ", ".join(parts) if parts else "")
    mime = media.get("mime")
    default_mime = {"photo": "image/jpeg"}.get(kind)
    if mime and mime != default_mime:
        line += f" ({preview(str(mime), 40)})"
    return line


def media_files_text(files: tuple[dict[str, object], ...], palette: Palette) -> Text:
    """One line per media reference of the post: version, kind and role, then the
    stored file's hash and size, or why there is no file (not in the export, lost…)."""
    out = Text()
    stored = False
    for f in files:
        what = f"v{f['version']} {printable(str(f['kind'] or 'media'))}"
        what += " thumbnail" if f["role"] == "thumb" else ""
        out.append(f"  {what}: ", style=palette.muted)
        if f["state"] == "stored":
            stored = True
            size = f["size"] if isinstance(f["size"], int) else 0
            out.append(f"{str(f['sha256'])[:16]}…  {file_size(size)}", style=palette.info)
            if f.get("mime"):
                out.append(f"  {preview(str(f['mime']), 30)}", style=palette.muted)
        else:
            reason = f" ({preview(str(f['reason']), 50)})" if f.get("reason") else ""
            out.append(f"{str(f['state']).replace('_', ' ')}{reason}", style=palette.warn)
        out.append("\n")
    if stored:
        out.append("  o opens the newest stored file in the system viewer", style=palette.muted)
    else:
        out.rstrip()
    return out


def media_to_open(files: tuple[dict[str, object], ...]) -> dict[str, object] | None:
    """The file ``o`` opens: the newest version's stored file, else its
    thumbnail, else the newest stored file of any version."""
    stored = [f for f in files if f["state"] == "stored" and f.get("path")]
    if not stored:
        return None
    return max(stored, key=lambda f: (int(cast(int, f["version"])), f["role"] == "file"))


def file_size(n: int) -> str:
    """Bytes for people: ``812 B``, ``179 KB``, ``12.3 MB``, ``1.4 GB`` (powers of 1024)."""
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1024
        if value < 1024 or unit == "TB":
            break
    return f"{value:.0f} {unit}" if unit == "KB" or value >= 100 else f"{value:.1f} {unit}"


def _when(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S UTC") if dt else "—"


def _body(text: str, width: int) -> Text:
    """Post text wrapped to ``width``; RTL paragraphs in visual order, right-aligned."""
    out = Text()
    for line, rtl in wrapped(text or "(no text)", width):
        out.append(line.rjust(width) if rtl else line)
        out.append("\n")
    out.rstrip()
    return out


def render_history(post: PostHistory, width: int, palette: Palette | None = None) -> RenderableType:
    """The whole post detail: header, every version (diffed against the previous), deletion,
    forward origin, media and engagement history. Every archived string is made
    ``printable``; colours come from ``palette`` (the theme's), plain without one."""
    pal = palette or Palette.plain()
    parts: list[RenderableType] = []
    head = Text()
    head.append(preview(post.channel, 40), style="bold")
    head.append(f"  #{post.message_id}", style=pal.muted)
    head.append(f"  posted {_when(post.posted_at)}")
    if post.lang:
        head.append(f"  lang {printable(post.lang)}", style=pal.muted)
    head.append("\n")
    head.append(printable(post.url), style=pal.info + Style(underline=True))
    if post.watched:
        head.append("  ★ watched as evidence", style=pal.rule)
    parts.append(head)
    if post.deleted_at is not None:
        parts.append(
            Text(
                f"✖ DELETED — detected {_when(post.deleted_at)}"
                + (f" by {printable(post.deletion_method)}" if post.deletion_method else ""),
                style=pal.bad,
            )
        )
    else:
        parts.append(Text("present on Telegram at the last check", style=pal.ok))
    if post.forward_from:
        fwd = Text(f"↪ forwarded from {preview(post.forward_from, 60)}", style=pal.accent)
        if post.forward_message_id:
            fwd.append(f" #{post.forward_message_id}")
        if post.forward_date:
            fwd.append(f" (originally {_when(post.forward_date)})")
        if post.forward_url:
            fwd.append(f"  {printable(post.forward_url)}", style=pal.info)
        parts.append(fwd)
    if post.media:
        parts.append(Text(f"media: {media_summary(post.media)}", style=pal.info))
    parts.extend(render_post_events(post, pal))  # pinned state and poll
    if post.media_files:
        parts.append(media_files_text(post.media_files, pal))
    if any(has_unsafe(v.text) for v in post.versions) or has_unsafe(post.channel):
        parts.append(
            Text(
                "⚠ the archived text holds control or bidi-override characters; they are "
                "shown as symbols (␛, <U+202E>), not obeyed (telewatch show --json has the exact text)",
                style=pal.warn,
            )
        )
    parts.append(Text(f"{len(post.versions)} version(s)", style="bold underline"))
    previous: str | None = None
    for v in post.versions:
        title = Text(f"v{v.version_no}", style=pal.warn if v.version_no > 1 else "bold")
        title.append(f"  captured {_when(v.captured_at)} ({printable(v.source)})", style=pal.muted)
        if v.edit_date:
            title.append(f"  edited {_when(v.edit_date)}", style=pal.warn)
        parts.append(title)
        if previous is None or has_rtl(v.text) or has_rtl(previous):
            # A word diff interleaves words; in RTL text that would be reordered line by
            # line, so show the full version text instead (changes are in the next line).
            parts.append(_body(v.text, width))
            if previous is not None:
                removed = set(previous.split()) - set(v.text.split())
                added = set(v.text.split()) - set(previous.split())
                change = Text("  changes:", style=pal.muted)
                for w in sorted(removed):
                    change.append(" ")
                    change.append("−" + preview(w, 40), style=Style(strike=True) + pal.bad)
                for w in sorted(added):
                    change.append(" ")
                    change.append("+" + preview(w, 40), style=Style(bold=True) + pal.ok)
                parts.append(change)
        else:
            parts.append(word_diff(previous, v.text, pal))
        previous = v.text
    if post.engagement:
        table = Table(title="engagement", title_justify="left", expand=False, box=None)
        for col in ("sampled", "views", "forwards", "replies", "reactions"):
            table.add_column(col)
        for e in post.engagement[-12:]:
            table.add_row(
                _when(e.sampled_at),
                "" if e.views is None else str(e.views),
                "" if e.forwards is None else str(e.forwards),
                "" if e.replies is None else str(e.replies),
                printable(" ".join(f"{k}{n}" for k, n in e.reactions.items())),
            )
        parts.append(table)
    return Group(*(p for part in parts for p in (part, Text(""))))


@dataclass
class PostLoaded(Message):
    """A post's history was read from the archive (None: not archived)."""

    post: PostHistory | None
    error: str | None = None
    thread: list[Comment] | None = None


class PostScreen(Screen[None]):
    """Every version of one post with word diffs, deletion, forward, media, engagement."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "app.pop_screen", "Back"),
        Binding("y", "copy_link", "Copy t.me link"),
        Binding("o", "open_media", "Open media"),
        Binding("r", "reload", "Reload"),
        Binding("c", "toggle_comments", "Comments"),
    ]

    def __init__(self, channel_id: int, message_id: int) -> None:
        super().__init__()
        self.channel_id = channel_id
        self.message_id = message_id
        self.post: PostHistory | None = None
        self.error: str | None = None
        self.thread: list[Comment] = []
        self.show_comments = True

    def action_toggle_comments(self) -> None:
        """Show or hide the comments under the post."""
        self.show_comments = not self.show_comments
        self._show_post()

    def compose(self) -> ComposeResult:
        """A scrolling body and the footer."""
        yield Header()
        with VerticalScroll(id="post-scroll"):
            yield Static(Text("loading…", style="dim"), id="post-body")
        yield Footer()

    def on_mount(self) -> None:
        """Read the post in a worker; redraw it in a new theme's colours."""
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._show_post())
        self.action_reload()

    def action_reload(self) -> None:
        """Read the post again (it may have been edited meanwhile)."""
        self._load()

    @work(thread=True, exclusive=True, group="post")
    def _load(self) -> None:
        app: TelewatchApp = self.app  # type: ignore[assignment]
        try:
            with app.reader() as conn:
                post = post_history(conn, self.channel_id, self.message_id)
                thread = comments.thread(conn, self.channel_id, self.message_id)
        except (DatabaseError, UserError) as err:
            self.post_message(PostLoaded(None, error=str(err)))
            return
        self.post_message(PostLoaded(post, thread=thread))

    def on_post_loaded(self, message: PostLoaded) -> None:
        """Show the post."""
        self.post = message.post
        self.error = message.error
        self.thread = message.thread or []
        self._show_post()

    def _show_post(self) -> None:
        body = self.query_one("#post-body", Static)
        palette = Palette.of(self.app)
        if self.error is not None:
            body.update(
                Text(f"cannot read the archive: {self.error} (r retries)", style=palette.bad)
            )
            return
        if self.post is None:
            body.update(Text(f"post {self.channel_id}/{self.message_id} is not in the archive"))
            return
        self.sub_title = printable(self.post.url)
        width = max(30, self.size.width - 4)
        history = render_history(self.post, width, palette)
        if self.show_comments and self.thread:
            history = Group(history, render_thread(self.thread, width, palette))
        body.update(history)

    def action_copy_link(self) -> None:
        """Copy the post's t.me link to the clipboard."""
        if self.post is None:
            return
        self.app.copy_to_clipboard(self.post.url)
        self.notify(f"copied {self.post.url}")

    def action_open_media(self) -> None:
        """Open the post's newest stored media file with the system viewer
        (``TELEWATCH_OPENER``, else ``open`` on macOS, ``xdg-open`` elsewhere)."""
        app: TelewatchApp = self.app  # type: ignore[assignment]
        chosen = media_to_open(self.post.media_files) if self.post else None
        if chosen is None:
            self.notify("this post has no stored media file", severity="warning")
            return
        if app.media_root is None:
            self.notify(media_store.NO_ROOT, severity="error")
            return
        path = app.media_root / str(chosen["path"])
        if not path.is_file():
            self.notify(f"missing from the media store: {path}", severity="error")
            return
        self._open(path)

    @work(thread=True, group="open")
    def _open(self, path: Path) -> None:
        try:
            code = open_with_viewer(path)
        except OSError as err:
            self.app.call_from_thread(
                self.notify,
                f"cannot start the viewer ({err.strerror}); set TELEWATCH_OPENER",
                severity="error",
            )
            return
        if code != 0:
            self.app.call_from_thread(
                self.notify, f"the viewer exited with status {code}", severity="warning"
            )


def viewer_command() -> list[str]:
    """The command that opens a file in the system viewer: ``TELEWATCH_OPENER``
    (split like a shell would), else ``open`` on macOS, else ``xdg-open``."""
    configured = os.environ.get("TELEWATCH_OPENER", "").strip()
    if configured:
        return shlex.split(configured)
    return ["open"] if sys.platform == "darwin" else ["xdg-open"]


def open_with_viewer(path: Path, timeout: float = 60.0) -> int | None:
    """Run the viewer on ``path``, detached from the terminal (no input, output
    discarded, own session); its exit status (None when still running after
    ``timeout``: a viewer that stays open). OSError when it cannot start."""
    proc = subprocess.Popen(
        [*viewer_command(), str(path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


@dataclass
class SearchFinished(Message):
    """Full-text results for ``query`` (``error`` set when the query is invalid)."""

    query: str
    hits: list[SearchHit]
    error: str | None = None
    comments: list[CommentHit] | None = None  # set when comments were searched


class SearchScreen(Screen[None]):
    """A search box with results as you type, filtered by channel and date range."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("down", "focus_results", "Results", show=False),
        Binding("ctrl+t", "toggle_comments", "Posts/comments"),
    ]
    in_comments = False

    def action_toggle_comments(self) -> None:
        """Search comments from discussion groups instead of posts (and back)."""
        self.in_comments = not self.in_comments
        box = self.query_one("#search-query", Input)
        box.placeholder = (
            "search comments (ctrl+t: posts)…"
            if self.in_comments
            else "search the archive (any language)…"
        )
        self._changed()

    def compose(self) -> ComposeResult:
        """Query, channel filter, date range, results table."""
        yield Header()
        yield Input(placeholder="search the archive (any language)…", id="search-query")
        with Horizontal(id="search-filters"):
            yield Input(placeholder="channel (@name or id)", id="search-channel")
            yield Input(placeholder="since YYYY-MM-DD", id="search-since")
            yield Input(placeholder="until YYYY-MM-DD", id="search-until")
        yield Static("", id="search-status")
        table: DataTable[object] = DataTable(id="search-results", cursor_type="row")
        yield table
        yield Footer()

    def on_mount(self) -> None:
        """Columns, and the cursor in the query box."""
        table = self.query_one("#search-results", DataTable)
        for label, key in (
            ("Date (UTC)", "date"),
            ("Channel", "channel"),
            ("Post", "post"),
            ("State", "state"),
            ("Match", "match"),
        ):
            table.add_column(label, key=key)
        self.query_one("#search-query", Input).focus()
        self.hits: dict[str, SearchHit] = {}
        self.comment_hits: dict[str, CommentHit] = {}
        self.finished_query: str | None = None

    @on(Input.Changed)
    def _changed(self) -> None:
        self._run_search(
            self.query_one("#search-query", Input).value,
            self.query_one("#search-channel", Input).value,
            self.query_one("#search-since", Input).value,
            self.query_one("#search-until", Input).value,
        )

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_focus_results()

    def action_focus_results(self) -> None:
        """Move to the results."""
        self.query_one("#search-results", DataTable).focus()

    @work(thread=True, exclusive=True, group="search")
    def _run_search(self, query: str, channel: str, since: str, until: str) -> None:
        query = query.strip()
        if not query:
            self.post_message(SearchFinished(query, []))
            return
        app: TelewatchApp = self.app  # type: ignore[assignment]
        try:
            with app.reader() as conn:
                channel_id = None
                if channel.strip():
                    channel_id = resolve_channel(conn, channel.strip()).id
                if self.in_comments:
                    found = comments.search_comments(
                        conn,
                        query,
                        channel_id=channel_id,
                        since=_date(since, "since"),
                        until=_date(until, "until"),
                        limit=200,
                    )
                    self.post_message(SearchFinished(query, [f.hit for f in found], comments=found))
                    return
                hits = search(
                    conn,
                    query,
                    channel_id=channel_id,
                    since=_date(since, "since"),
                    until=_date(until, "until"),
                    limit=200,
                    exclude_channels=() if channel_id is not None else comments.group_ids(conn),
                )
        except (DatabaseError, UserError) as err:
            self.post_message(SearchFinished(query, [], error=str(err)))
            return
        self.post_message(SearchFinished(query, list(hits)))

    def on_search_finished(self, message: SearchFinished) -> None:
        """Show the results of the latest query."""
        if message.query != self.query_one("#search-query", Input).value.strip():
            return  # a newer query is on its way
        self.finished_query = message.query
        status = self.query_one("#search-status", Static)
        table = self.query_one("#search-results", DataTable)
        table.clear()
        self.hits = {}
        self.comment_hits = {}
        palette = Palette.of(self.app)
        if message.error:
            status.update(Text(printable(message.error), style=palette.bad))
            return
        what = "comment(s)" if message.comments is not None else "result(s)"
        status.update(
            Text(
                f"{len(message.hits)} {what} for {printable(message.query)!r} (times in UTC)",
                style=palette.muted,
            )
            if message.query
            else ""
        )
        if message.comments is not None:
            self._show_comments(message.comments, palette)
            return
        for i, hit in enumerate(message.hits):
            key = f"hit:{i}"
            self.hits[key] = hit
            mark = Text("✖ deleted", style=palette.bad) if hit.deleted else Text("")
            if hit.version_count > 1:
                mark.append(f" ✎ v{hit.version_count}", style=palette.warn)
            if hit.matched_version is not None:
                mark.append(f" (words in v{hit.matched_version})", style=palette.warn)
            table.add_row(
                hit.date.strftime("%Y-%m-%d %H:%M"),
                Text(preview(hit.channel_title or hit.username or str(hit.channel_id), 20)),
                Text(f"#{hit.message_id}", style=palette.muted),
                mark,
                snippet_text(hit, max(30, self.size.width - 62)),
                key=key,
            )

    def _show_comments(self, found: list[CommentHit], palette: Palette) -> None:
        table = self.query_one("#search-results", DataTable)
        for i, ch in enumerate(found):
            key = f"comment:{i}"
            self.comment_hits[key] = ch
            post, author = hit_labels(ch)
            mark = Text("✖ deleted", style=palette.bad) if ch.hit.deleted else Text("")
            if ch.comment.versions > 1:
                mark.append(f" ✎ v{ch.comment.versions}", style=palette.warn)
            table.add_row(
                ch.hit.date.strftime("%Y-%m-%d %H:%M"),
                Text(post),
                Text(author, style=palette.muted),
                mark,
                snippet_text(ch.hit, max(30, self.size.width - 62)),
                key=key,
            )

    @on(DataTable.RowSelected, "#search-results")
    def _open(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value or ""
        found = self.comment_hits.get(key)
        if found is not None:
            # The post the comment belongs to, with its thread.
            cid, pid = found.comment.channel_id, found.comment.post_message_id
            if cid is not None and pid is not None:
                self.app.push_screen(PostScreen(cid, pid))
            return
        hit = self.hits.get(key)
        if hit is not None:
            self.app.push_screen(PostScreen(hit.channel_id, hit.message_id))


def snippet_text(hit: SearchHit, width: int) -> Text:
    """The hit's snippet cut to ``width`` cells with the matched words highlighted
    (right-to-left snippets are reordered for display; their highlights are dropped,
    since reordering moves the words)."""
    if has_rtl(hit.snippet) or has_unsafe(hit.snippet):
        # (Highlight offsets are into the raw snippet; removing characters would move them.)
        return Text(preview(hit.snippet, width), style="strike dim" if hit.deleted else "")
    cut = truncate(hit.snippet, width)
    text = Text(cut, style="strike dim" if hit.deleted else "")
    for a, b in hit.highlights:
        if a < len(cut):
            text.stylize("bold reverse", a, min(b, len(cut)))
    return text


def _date(text: str, name: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        dt = parse_iso(text if "T" in text else text + "T00:00:00Z")
    except ValueError:
        raise UserError(f"{name}: {text!r} is not a date; use YYYY-MM-DD") from None
    return dt


KEYS = [
    ("Main screen", ""),
    ("/", "search the archive (results as you type)"),
    ("enter", "open the highlighted post / alert hit"),
    ("p", "pause or resume following the live feed"),
    (
        "d",
        "the daemons sharing the archive (host, account, channels held, heartbeat,"
        " alive/stale) and who holds the highlighted channel",
    ),
    ("tab / shift+tab", "move between panels"),
    ("↑ ↓ PgUp PgDn", "move in a panel"),
    ("?", "this help"),
    ("q", "quit"),
    ("Post detail", ""),
    ("y", "copy the post's t.me link"),
    ("r", "reload the post"),
    ("c", "show or hide the comments under the post"),
    ("escape / q", "back"),
    ("Daemons", ""),
    ("r", "read the daemons again (also every 2 s)"),
    ("escape / q / d", "back"),
    ("Search", ""),
    ("tab", "query → channel → since → until → results"),
    ("ctrl+t", "search comments (discussion groups) instead of posts, and back"),
    ("enter", "from a box: go to the results; on a result: open the post"),
    ("escape", "back"),
    ("Anywhere", ""),
    ("ctrl+p", "command palette: change theme (light or dark), quit…"),
    ("Mouse", "click a row to highlight it, click again to open; wheel scrolls"),
]

LEGEND = [
    ("Reading the screen", ""),
    ("times", "all in UTC (the header shows the current UTC time)"),
    ("● ✎ ✖", "new post · edit (a new version) · deletion"),
    ("↪ from", "a forward, with the channel it came from"),
    ("Posts 24h", "posts in the last 24 h, one block per hour (per 2–4 h when narrow)"),
    ("Hits", "total, then ● new ✎ edit ✖ delete"),
    ("[-old-] {+new+}", "words removed and added by an edit"),
]


class HelpScreen(ModalScreen[None]):
    """Every key of every screen, and how to read the screen."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "app.pop_screen", "Close")
    ]

    def compose(self) -> ComposeResult:
        """A titled, scrollable box with the keys and the legend."""
        palette = Palette.of(self.app)
        table = Table(box=None, show_header=False, padding=(0, 2))
        table.add_column(style=palette.info + Style(bold=True), no_wrap=True)
        table.add_column()
        for i, (key, what) in enumerate(KEYS + LEGEND):
            if what:
                table.add_row(key, what)
            else:
                if i:
                    table.add_row("", "")
                table.add_row(Text(key, style="bold underline"), "")
        table.add_row("", "")
        table.add_row("", Text("escape, q or ? closes this help", style="bold"))
        body = VerticalScroll(Static(table, id="help-text"), id="help-body")
        body.border_title = "telewatch — keys"
        body.border_subtitle = "escape closes"
        yield body
