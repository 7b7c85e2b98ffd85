"""The daemons screen (key ``d``): every daemon sharing a PostgreSQL archive
(host, account, channels held, last heartbeat, alive/stale/stopped, pool
roles) and which account holds the channel highlighted on the main screen.

It reads the same store functions as ``telewatch status`` (``store.leases``:
``daemons``, ``leases``, ``roles``) in a worker thread, every status
interval. Ages are measured on the database server's clock, as the leases
are, so a reader whose clock is off still tells alive from stale. On SQLite
(one daemon archives every channel) it says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, ClassVar, cast

from rich.console import Group, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from telewatch.dashboard.panels import Palette, age
from telewatch.dashboard.rtl import visual
from telewatch.models import UserError
from telewatch.store import leases as pool_store
from telewatch.store.db import Connection, DatabaseError, is_postgres
from telewatch.text import printable

if TYPE_CHECKING:
    from telewatch.dashboard.app import TelewatchApp


@dataclass(frozen=True)
class Pool:
    """What the screen shows: the registered daemons, every lease by key, the
    roles, and the server's time they were read at."""

    daemons: list[pool_store.Daemon]
    leases: dict[str, pool_store.Lease]
    roles: list[pool_store.Role]
    now: float


@dataclass
class PoolRead(Message):
    """The pool as read (None: a SQLite archive, no pool), or why it could not be."""

    pool: Pool | None
    error: str | None = None


def read_pool(c: Connection, ttl: float) -> Pool | None:
    """The pool of the archive behind ``c`` (None on SQLite)."""
    if not is_postgres(c):
        return None
    return Pool(
        daemons=pool_store.daemons(c, ttl),
        leases={lease.key: lease for lease in pool_store.leases(c, ttl)},
        roles=pool_store.roles(c),
        now=pool_store.server_time(c),
    )


def _ago(seconds: float) -> str:
    """``12s ago``, ``5m ago``…: the dashboard's own ``age`` (panels.py)."""
    now = datetime.now(UTC)
    return f"{age(now - timedelta(seconds=max(0.0, seconds)), now)} ago"


def _hms(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M:%SZ")


def state_of(d: pool_store.Daemon) -> str:
    """``alive`` (renewed within lease_ttl), ``stale`` (silent longer: killed,
    cut off; its leases expire) or ``stopped`` (a clean stop)."""
    if d.stopped_at is not None:
        return "stopped"
    return "alive" if d.live else "stale"


def render_pool(
    pool: Pool | None, selected: tuple[str, str] | None, palette: Palette
) -> RenderableType:
    """The screen's body: the daemons table, the roles, the selected channel's holder."""
    if pool is None:
        return Text(
            "This archive is a SQLite file: one daemon archives every channel.\n"
            "Several daemons share an archive on PostgreSQL (docs/SCALE.md)."
        )
    # Fits 100 columns (border, padding and scrollbar included): at most 94 cells.
    table = Table(box=None, padding=(0, 1, 0, 0), header_style="bold", expand=False)
    table.add_column("Host", no_wrap=True, overflow="ellipsis", max_width=16)
    table.add_column("Account", no_wrap=True, overflow="ellipsis", max_width=22)
    table.add_column("PID", justify="right", no_wrap=True, min_width=7)
    table.add_column("Held", justify="right", no_wrap=True, min_width=4)
    table.add_column("Heartbeat", no_wrap=True, min_width=16)
    table.add_column("State", no_wrap=True, min_width=7)
    table.add_column("Roles", no_wrap=True, overflow="ellipsis", min_width=15)
    roles_of: dict[str, list[str]] = {}
    for r in pool.roles:
        if r.holder is not None:
            roles_of.setdefault(r.holder, []).append(r.role)
    style = {"alive": palette.ok, "stale": palette.bad, "stopped": palette.muted}
    order = {"alive": 0, "stale": 1, "stopped": 2}
    for d in sorted(pool.daemons, key=lambda d: order[state_of(d)]):
        st = state_of(d)
        # Text, not str: Rich reads a str cell as markup, and host and account
        # (a Telegram name anyone sets) come from the archive.
        table.add_row(
            Text(printable(d.host)),
            Text(f"{printable(d.account)} ({d.account_id})"),
            str(d.pid),
            str(d.held),
            f"{_hms(d.heartbeat)} {_ago(pool.now - d.heartbeat)}",
            Text(st, style=style[st]),
            Text(printable(" ".join(sorted(roles_of.get(d.id, []))) or "—")),
        )
    alive = sum(1 for d in pool.daemons if state_of(d) == "alive")
    held = sum(1 for lease in pool.leases.values() if lease.holder is not None)
    parts: list[RenderableType] = [
        Text(
            f"{alive} alive of {len(pool.daemons)} registered · "
            f"{held} of {len(pool.leases)} channels held",
            style="bold",
        ),
        Text(""),
        table if pool.daemons else Text("No daemon has registered yet.", style=palette.muted),
        Text(""),
    ]
    by_id = {d.id: d for d in pool.daemons}
    for r in pool.roles:
        holder = by_id.get(r.holder) if r.holder is not None else None
        who = (
            f"{printable(holder.account)} on {printable(holder.host)}, pid {holder.pid}"
            if holder is not None
            else "nobody (free until a daemon takes it)"
        )
        parts.append(Text(f"{printable(r.role)}: {who}"))
    parts.append(Text(""))
    parts.append(_selected(pool, selected, by_id, palette))
    return Group(*parts)


def _selected(
    pool: Pool,
    selected: tuple[str, str] | None,
    by_id: dict[str, pool_store.Daemon],
    palette: Palette,
) -> Text:
    if selected is None:
        return Text("No channel highlighted on the main screen.", style=palette.muted)
    key, name = selected
    out = Text("Selected channel ", style="bold")
    out.append(visual(printable(name)), style=palette.info + Style(bold=True))
    lease = pool.leases.get(key)
    if lease is not None and lease.holder is None and lease.blocked_until is not None:
        out.append(
            f": held by no daemon until {_hms(lease.blocked_until)} (every live account's"
            " username resolution is parked by a FloodWait)"
        )
        return out
    if lease is None or lease.holder is None:
        out.append(": held by no daemon (free or expired; the next lease round takes it)")
        return out
    d = by_id.get(lease.holder)
    if d is None:
        out.append(f": held by daemon {printable(str(lease.holder))}")
        return out
    out.append(
        f": held by account {printable(d.account)} ({d.account_id}) on {printable(d.host)},"
        f" pid {d.pid}"
    )
    if lease.expires is not None:
        out.append(f"; lease until {_hms(lease.expires)}")
    return out


class DaemonsScreen(Screen[None]):
    """Every daemon on the archive and the highlighted channel's holder (see
    the module doc); refreshed every status interval."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,d", "app.pop_screen", "Back"),
        Binding("r", "reload", "Reload"),
    ]

    def __init__(self, selected: tuple[str, str] | None) -> None:
        super().__init__()
        self.selected = selected
        self.pool: Pool | None = None
        self.reads = 0
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        """Header, the body, key footer."""
        yield Header()
        body = VerticalScroll(Static("reading the daemons…", id="daemons-text"), id="daemons")
        body.border_title = "Daemons sharing this archive"
        yield body
        yield Footer()

    def on_mount(self) -> None:
        """Read now, then every status interval while the app is live."""
        self.action_reload()
        app = cast("TelewatchApp", self.app)
        if app.live:
            self.set_interval(app.status_interval, self.action_reload)

    def action_reload(self) -> None:
        """Read the pool again (in a worker)."""
        self._read()

    @work(thread=True, exclusive=True, group="daemons")
    def _read(self) -> None:
        app = cast("TelewatchApp", self.app)
        try:
            with app.reader() as conn:
                pool = read_pool(conn, app.lease_ttl)
            self.post_message(PoolRead(pool))
        except (DatabaseError, UserError) as err:
            self.post_message(PoolRead(None, str(err)))

    def on_pool_read(self, message: PoolRead) -> None:
        """Redraw the body."""
        self.reads += 1
        self.error = message.error
        text = self.query_one("#daemons-text", Static)
        if message.error is not None:
            text.update(Text(f"⚠ cannot read the archive: {message.error}"))
            return
        self.pool = message.pool
        text.update(render_pool(message.pool, self.selected, Palette.of(self.app)))
