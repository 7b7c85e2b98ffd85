"""CLI commands (daemon area): ``login``, ``run``, ``status`` and
``channels add|remove|list`` (the watch list a running daemon follows)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from telewatch.cli import AppContext, channels, main
from telewatch.models import UserError
from telewatch.text import json_printable, printable


def _settings(app: AppContext) -> Any:
    s = app.settings()
    if app.db_override is not None:
        s = s.model_copy(update={"storage": s.storage.model_copy(update={"db": app.db_override})})
    return s


_WHERE = (
    "The config is --config FILE, else ./telewatch.toml, else ~/.config/telewatch/telewatch.toml "
    "(TELEWATCH_<SECTION>__<KEY> variables override it); the session file is its "
    "telegram.session (default data/telewatch.session)."
)


def _config_source(app: AppContext) -> Path | None:
    from telewatch.config import default_config_path

    return app.config_path or default_config_path()


def _require_account(app: AppContext, s: Any) -> None:
    """UserError naming where settings were looked for when api_id/api_hash are missing."""
    tg = s.telegram
    if tg.api_id and tg.api_hash.get_secret_value():
        return
    from telewatch.config import config_candidates

    source = _config_source(app)
    if source is None:
        looked = " and ".join(
            f"./{p} (in {Path.cwd()})" if not p.is_absolute() else str(p)
            for p in config_candidates()
        )
        raise UserError(
            f"no config file: looked for {looked}; copy config/telewatch.example.toml to "
            "./telewatch.toml (or pass --config FILE) and set telegram.api_id and api_hash"
        )
    raise UserError(
        f"{source}: telegram.api_id and telegram.api_hash are required; "
        "get them at https://my.telegram.org"
    )


def _emulator_hint(session: Path, err: UserError) -> UserError:
    """``err`` about an unreachable Telegram, told better when the session is the
    local emulator's (a newcomer switching to real Telegram, or the emulator is down)."""
    from telewatch.emulator.server import session_address
    from telewatch.sources.telegram import session_file

    addr = session_address(session)
    if "cannot reach Telegram" not in str(err) or addr is None:
        return err
    if addr[0] not in ("127.0.0.1", "::1", "localhost"):
        return err
    return UserError(
        f"session {session_file(session)} belongs to a local emulator at {addr[0]}:{addr[1]}, "
        "which is not running: start `telewatch emulator serve`, or for real Telegram set "
        "telegram.session to a new file"
    )


@main.command(help=f"Log in to Telegram and save the session file (mode 0600). {_WHERE}")
@click.option("--phone", help="Phone number in international form (+<country><number>).")
@click.option("--code", help="The login code Telegram sent (prompted when omitted).")
@click.option("--password", help="The 2FA password, if the account has one (prompted when needed).")
@click.pass_obj
def login(app: AppContext, phone: str | None, code: str | None, password: str | None) -> None:
    from telewatch.sources.telegram import SessionLock, session_file
    from telewatch.sources.telegram import login as do_login

    s = _settings(app)
    _require_account(app, s)
    tg = s.telegram
    # Telethon logs every failed connection attempt; `login` reports the outcome
    # in one line instead (the daemon, `run`, logs them properly).
    logging.getLogger("telewatch.telethon").addHandler(logging.NullHandler())
    logging.getLogger("telewatch.telethon").propagate = False
    lock = SessionLock(tg.session)
    lock.acquire()
    try:
        who, already = asyncio.run(
            do_login(
                tg.session,
                tg.api_id,
                tg.api_hash.get_secret_value(),
                phone=lambda: phone or click.prompt("Phone number (+<country><number>)"),
                code=lambda: code or click.prompt("Login code"),
                password=lambda: password or click.prompt("2FA password", hide_input=True),
                proxy=tg.proxy.get_secret_value() if tg.proxy else None,
            )
        )
    except UserError as err:
        raise _emulator_hint(tg.session, err) from None
    finally:
        lock.release()
    if already:
        click.echo(
            printable(
                f"already logged in as {who} (session {session_file(tg.session)}); "
                "to log in again, move that file away first",
                multiline=False,
            )
        )
    else:
        click.echo(
            printable(
                f"logged in as {who}; session saved to {session_file(tg.session)}", multiline=False
            )
        )


@main.command(
    short_help="Run the daemon in the foreground.",
    help="Run the daemon in the foreground (SIGTERM/SIGINT stop it, SIGHUP reloads the "
    f"config). {_WHERE} It logs the session and archive it uses when it starts.",
)
@click.pass_obj
def run(app: AppContext) -> None:
    # Until the daemon's own handlers are installed, a SIGTERM means "nothing
    # started yet": exit cleanly instead of dying from the signal.
    signal.signal(signal.SIGTERM, _exit_now)
    from telewatch.daemon import install_signal_handlers, run_daemon

    settings = _settings(app)
    _require_account(app, settings)
    if settings.media.enabled:
        from telewatch.store import media as media_store

        # Before connecting anything: a PostgreSQL archive needs [media] root.
        media_store.default_root(settings.storage.db, settings.media.root)

    def reload() -> Any:
        return _settings(app)

    async def go() -> int:
        stop, reload_event = asyncio.Event(), asyncio.Event()
        install_signal_handlers(stop, reload_event)
        code = await run_daemon(
            settings, stop, reload=reload, reload_event=reload_event, config=_config_source(app)
        )
        # Everything is committed and closed. asyncio.run's own teardown
        # would now gather every task left behind by a bounded stop and join
        # the default executor's threads, both without a bound (Python 3.11):
        # exit here instead.
        logging.getLogger("telewatch.daemon").info("daemon stopped; exiting")
        _exit_at_once(code)
        return code  # not reached

    try:
        code = asyncio.run(go())
    except UserError as err:
        raise _emulator_hint(settings.telegram.session, err) from None
    # The event loop is closed (its tasks cancelled, its threads joined):
    # with "stop requested" and "stopped", this tells where a slow stop went.
    logging.getLogger("telewatch.daemon").info("event loop closed; exiting")
    _exit_at_once(code)


def _exit_at_once(code: int) -> None:
    """Exit without the interpreter's teardown. Everything the daemon owns is
    committed and closed by now (archive, session, sockets); what is left is
    CPython freeing every module, which took 7 s of a SIGTERM on a loaded
    2-core machine (bench/bench_stop.py, after "event loop closed"): a stop
    is bounded by the daemon's own budget, not by that."""
    for name in ("telewatch", ""):
        for h in logging.getLogger(name).handlers:
            with contextlib.suppress(Exception):
                h.flush()
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def _exit_now(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _fmt_age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    if s < 172800:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def status(app: AppContext, as_json: bool) -> None:
    """Show the daemon's heartbeat and every watched channel's state."""
    from telewatch.store.db import connect
    from telewatch.store.leases import daemons, leases, roles
    from telewatch.store.status import channel_statuses, daemon_status
    from telewatch.store.webhooks import summaries

    conn = connect(app.db_path, readonly=True)
    try:
        run_ = daemon_status(conn)
        rows = channel_statuses(conn)
        hooks = summaries(conn)
        ttl = _lease_ttl(app)
        pool = daemons(conn, ttl)  # several daemons on PostgreSQL
        held = {lease.key: lease for lease in leases(conn, ttl)}
        role_holders = {r.role: r.holder for r in roles(conn)}  # webhooks, anchor
    finally:
        conn.close()
    now = datetime.now(UTC)
    by_id = {d.id: d for d in pool}

    def holder(key: str) -> dict[str, Any] | None:
        lease = held.get(key)
        if lease is None or lease.holder is None:
            return None
        d = by_id.get(lease.holder)
        return {
            "daemon": lease.holder,
            "account_id": lease.account_id,
            "host": d.host if d is not None else None,
            "expires_at": _iso(datetime.fromtimestamp(lease.expires, UTC))
            if lease.expires is not None
            else None,
        }

    def blocked_until(key: str) -> float | None:
        """Free because every live account's resolution of it is parked."""
        lease = held.get(key)
        return None if lease is None else lease.blocked_until

    if as_json:
        out = {
            "daemon": None
            if run_ is None
            else {
                "pid": run_.pid,
                "version": run_.version,
                "running": not run_.is_stale,
                "started_at": _iso(run_.started_at),
                "beat_at": _iso(run_.beat_at),
                "uptime": run_.uptime,
                "connected": _connection(run_)[0],
                "disconnected_since": _connection(run_)[1],
                "counters": run_.counters,
            },
            "channels": [
                {
                    "key": r.key,
                    "channel_id": r.channel_id,
                    "username": r.username,
                    "title": r.title,
                    "mode": r.mode,
                    "state": r.state,
                    "detail": r.detail,
                    "flood_until": _iso(r.flood_until),
                    "last_post_at": _iso(r.last_post_at),
                    "lag": r.lag,
                    "posts": r.posts,
                    "backfill_done": r.backfill_done,
                    "backfill_progress": r.backfill_progress,
                    "errors": r.errors,
                    "sweep": {
                        "checked": r.sweep_checked,
                        "total": r.sweep_total,
                        "progress": r.sweep_progress,
                        "last_pass_at": _iso(r.sweep_last_pass_at),
                        "passes": r.sweep_passes,
                    },
                    "held_by": holder(r.key),
                    "blocked_until": (
                        None
                        if (b := blocked_until(r.key)) is None
                        else _iso(datetime.fromtimestamp(b, UTC))
                    ),
                }
                for r in rows
            ],
            "webhooks": [dataclasses.asdict(h) for h in hooks],
            "daemons": [
                {
                    "id": d.id,
                    "host": d.host,
                    "account_id": d.account_id,
                    "account": d.account,
                    "pid": d.pid,
                    "running": d.live,
                    "started_at": _iso(datetime.fromtimestamp(d.started_at, UTC)),
                    "heartbeat_at": _iso(datetime.fromtimestamp(d.heartbeat, UTC)),
                    "stopped_at": None
                    if d.stopped_at is None
                    else _iso(datetime.fromtimestamp(d.stopped_at, UTC)),
                    "channels_held": d.held,
                    "roles": sorted(r for r, h in role_holders.items() if h == d.id),
                }
                for d in pool
            ],
        }
        click.echo(json_printable(json.dumps(out, ensure_ascii=False, indent=2)))
        return
    if run_ is None:
        click.echo("daemon: never ran on this archive")
    else:
        state = (
            "running"
            if not run_.is_stale
            else ("stopped" if run_.stopped else "not running (stale heartbeat)")
        )
        connected, since = _connection(run_)
        if not run_.is_stale and connected is False:
            state += (
                f", DISCONNECTED from Telegram since {since[11:] if since else '?'} (reconnecting)"
            )
        click.echo(
            f"daemon: {state}, pid {run_.pid}, version {run_.version}, up {_fmt_age(run_.uptime)}, "
            f"last beat {_fmt_age((now - run_.beat_at).total_seconds())} ago"
        )
        shown = {
            k: v
            for k, v in run_.counters.items()
            if "/" not in k and k not in ("stopped", "disconnected_since")
        }
        if shown:
            click.echo("  " + ", ".join(f"{k} {v}" for k, v in sorted(shown.items())))
    for d in pool:
        beat = _fmt_age(now.timestamp() - d.heartbeat)
        click.echo(
            f"daemon {d.id[:8]} on {printable(d.host, multiline=False)}: account "
            f"{printable(d.account, multiline=False)} (id {d.account_id}), pid {d.pid}, "
            f"{'running' if d.live else 'stopped' if d.stopped_at else 'not renewing'}, "
            f"{d.held} channels held, last heartbeat {beat} ago"
            + "".join(f", runs the {r}" for r, h in sorted(role_holders.items()) if h == d.id)
        )
    for h in hooks:
        click.echo(
            f"webhook {h.rule} → {h.url_masked}: {h.delivered} delivered, {h.waiting} waiting,"
            f" {h.retrying} retrying, {h.dead} dead"
            + (f" (last {h.last_status})" if h.last_status else "")
        )
    if not rows:
        click.echo("no channels on the watch list; add one with `telewatch channels add @name`")
        return
    click.echo(
        f"{'channel':<28} {'state':<12} {'posts':>7} {'last post':>9} {'backfill':>8} "
        f"{'sweep':>9} {'errors':>6}  detail"
    )
    for r in rows:
        state = r.state
        if r.state == "flood_wait" and r.flood_until is not None:
            state = f"flood {_fmt_age((r.flood_until - now).total_seconds())}"
        prog = "-" if r.backfill_progress is None else f"{r.backfill_progress * 100:.0f}%"
        last = _fmt_age(None if r.last_post_at is None else (now - r.last_post_at).total_seconds())
        label = printable(r.label, multiline=False)
        who = holder(r.key)
        wait = blocked_until(r.key)
        held_by = (
            ""
            if not pool
            else f"[account {who['account_id']}] "
            if who
            else f"[blocked until {_iso(datetime.fromtimestamp(wait, UTC))}] "
            if wait is not None
            else "[unheld] "
        )
        click.echo(
            f"{label[:28]:<28} {state:<12} {r.posts:>7} {last:>9} {prog:>8} "
            f"{_sweep_cell(r, now):>9} {r.errors:>6}  {held_by}"
            + printable(r.detail or "", multiline=False)
        )
    click.echo(
        "sweep: share of the current pass re-checking every archived post for edits and "
        "deletions (after a complete pass: how long ago it ended)"
    )


def _lease_ttl(app: AppContext) -> float:
    """[daemon] lease_ttl of the config (its default without one): how long
    a daemon that stopped renewing still counts as running."""
    from telewatch.config import DaemonSettings

    try:
        return float(app.settings().daemon.lease_ttl)
    except UserError:
        return float(DaemonSettings().lease_ttl)


def _sweep_cell(r: Any, now: datetime) -> str:
    """The sweep column: '42%' during a pass, 'done 3h' after one, '-' before any."""
    if r.sweep_checked == 0 and r.sweep_last_pass_at is not None:
        return f"done {_fmt_age((now - r.sweep_last_pass_at).total_seconds())}"
    p = r.sweep_progress
    return "-" if p is None else f"{p * 100:.0f}%"


def _connection(run_: Any) -> tuple[bool | None, str | None]:
    """(connected to Telegram, since when not) from a heartbeat's counters;
    (None, None) from a daemon too old to say."""
    if "connected" not in run_.counters:
        return None, None
    since = run_.counters.get("disconnected_since")
    at = None if since is None else _iso(datetime.fromtimestamp(since, UTC))
    return bool(run_.counters["connected"]), at


def _ref(text: str) -> tuple[str | None, int | None]:
    from telewatch.config import parse_channel_ref

    try:
        return parse_channel_ref(text)
    except ValueError as err:
        raise UserError(str(err)) from None


def _write_conn(db: Path) -> Any:
    from telewatch.store.db import connect, migrate

    migrate(db)
    return connect(db, readonly=False)


@channels.command("add")
@click.argument("channel")
@click.option(
    "--mode",
    type=click.Choice(["join", "poll"]),
    default="join",
    show_default=True,
    help="join: pushed updates; poll: read without joining.",
)
@click.option(
    "--backfill",
    default="all",
    show_default=True,
    help='"all", a date YYYY-MM-DD or a number of recent posts.',
)
@click.pass_obj
def channels_add(app: AppContext, channel: str, mode: str, backfill: str) -> None:
    """Add CHANNEL (@name, t.me link or id) to the watch list."""
    from telewatch.config import parse_backfill
    from telewatch.store import watchlist

    username, cid = _ref(channel)
    try:
        depth = parse_backfill(backfill)
    except ValueError as err:
        raise UserError(f"--backfill: {err}") from None
    conn = _write_conn(app.db_path)
    try:
        e = watchlist.add(conn, username, cid, "poll" if mode == "poll" else "join", depth, "cli")
    finally:
        conn.close()
    click.echo(
        f"watching {e.label} (mode {e.mode}, backfill {e.backfill}); a running daemon picks it up within 10 s"
    )


@channels.command("remove")
@click.argument("channel")
@click.pass_obj
def channels_remove(app: AppContext, channel: str) -> None:
    """Stop watching CHANNEL (its archive is kept)."""
    from telewatch.store import watchlist

    username, cid = _ref(channel)
    conn = _write_conn(app.db_path)
    try:
        e = watchlist.find(conn, username, cid)
        if e is None:
            raise UserError(f"{channel} is not on the watch list; see `telewatch channels list`")
        watchlist.remove(conn, e.key)
    finally:
        conn.close()
    click.echo(f"stopped watching {e.label}; its archive is kept")


@channels.command("list", short_help="List the watch list (what the daemon follows).")
@click.option("--all", "show_all", is_flag=True, help="Include removed entries.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def channels_list(app: AppContext, show_all: bool, as_json: bool) -> None:
    """List the watch list: the channels the daemon follows (config entries
    are merged in when it starts). `channels archived` lists what the archive holds."""
    from telewatch.store import watchlist
    from telewatch.store.db import connect

    if not app.db_exists:
        entries: list[Any] = []
    else:
        conn = connect(app.db_path, readonly=True)
        try:
            entries = watchlist.all_entries(conn) if show_all else watchlist.active_entries(conn)
        finally:
            conn.close()
    if as_json:
        click.echo(
            json.dumps(
                [_entry_dict(e) for e in entries],
                indent=2,
            )
        )
        return
    if not entries:
        click.echo(
            "the watch list is empty; add a channel with `telewatch channels add @name`"
            " (`telewatch channels archived` lists the channels already in the archive)"
        )
        return
    for e in entries:
        removed = f"  removed {e.removed_at}" if e.removed_at else ""
        click.echo(f"{e.label:<30} {e.mode:<5} backfill {e.backfill:<10} from {e.origin}{removed}")


def _entry_dict(e: Any) -> dict[str, Any]:
    return {
        k: getattr(e, k)
        for k in (
            "key",
            "username",
            "channel_id",
            "mode",
            "backfill",
            "origin",
            "added_at",
            "removed_at",
        )
    }
