"""CLI commands of the dashboard area: ``dash``, ``demo``, ``alerts``, ``watch-post``."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from telewatch.cli import AppContext, FiniteFloatRange, main
from telewatch.models import AlertRule, UserError
from telewatch.store import alerts as alert_store
from telewatch.store import feed
from telewatch.store.db import connect
from telewatch.text import json_printable, printable

_POST_REF = re.compile(r"^(?P<channel>.+?)/(?P<id>\d+)/?(?:\?.*)?$")


@main.command(short_help="Open the live dashboard (read-only).")
@click.pass_obj
def dash(obj: AppContext) -> None:
    """Open the live dashboard on the archive (read-only; run the daemon beside it)."""
    from telewatch.dashboard.app import make_app

    settings = obj.settings()
    app = make_app(obj.db_path, media_root=settings.media.root, lease_ttl=settings.daemon.lease_ttl)
    code = app.run()
    raise SystemExit(code or 0)


def _rules(obj: AppContext) -> tuple[AlertRule, ...]:
    if obj.config_path is None:
        from telewatch.config import default_config_path

        if default_config_path() is None:
            return ()
    rules: tuple[AlertRule, ...] = obj.settings().alert_rules()
    return rules


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else feed.iso(dt)


@main.command("alerts", short_help="Alert rules, their hit counts and the latest hits.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option(
    "--hits",
    "n_hits",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="How many of the latest hits to list.",
)
@click.option("--rule", default=None, help="Only this rule's hits.")
@click.pass_obj
def alerts_cmd(obj: AppContext, as_json: bool, n_hits: int, rule: str | None) -> None:
    """Alert rules from the config with their hit counters, and the latest hits."""
    rules = _rules(obj)
    conn = feed.open_reader(obj.db_path)
    try:
        counters = {c.rule: c for c in feed.alert_counters(conn)}
        hits = feed.alert_hits(conn, limit=n_hits, rule=rule) if n_hits else []
    finally:
        conn.close()
    names = [r.name for r in rules] + sorted(
        n for n in counters if n not in {r.name for r in rules}
    )
    if rule is not None and rule not in names:
        raise UserError(f"no alert rule named {rule!r}; rules: {', '.join(names) or 'none'}")
    by_name = {r.name: r for r in rules}
    if as_json:
        out: dict[str, Any] = {
            "rules": [
                {
                    "name": name,
                    "configured": name in by_name,
                    "keywords": list(by_name[name].keywords) if name in by_name else [],
                    "regex": by_name[name].regex if name in by_name else None,
                    "channels": list(by_name[name].channels) if name in by_name else [],
                    "on": list(by_name[name].on) if name in by_name else [],
                    "hits": {
                        "total": counters[name].total if name in counters else 0,
                        "new": counters[name].new if name in counters else 0,
                        "edit": counters[name].edit if name in counters else 0,
                        "delete": counters[name].delete if name in counters else 0,
                    },
                    "last_hit_at": _iso(counters[name].last_at) if name in counters else None,
                }
                for name in names
            ],
            "hits": [
                {
                    **{k: v for k, v in asdict(h).items() if k != "hit_at"},
                    "hit_at": feed.iso(h.hit_at),
                    "url": feed.tme_url(h.channel_id, h.message_id, h.username),
                }
                for h in hits
            ],
        }
        click.echo(json_printable(json.dumps(out, ensure_ascii=False, indent=2)))
        return
    if not names:
        click.echo("no alert rules: add [[alerts]] tables to the config (docs/DASHBOARD.md)")
        return
    click.echo(f"{'RULE':<24} {'HITS':>6} {'NEW':>5} {'EDIT':>5} {'DEL':>5}  LAST HIT / MATCHES")
    for name in names:
        c = counters.get(name)
        r = by_name.get(name)
        what = ""
        if r is not None:
            terms = list(r.keywords) + ([f"/{r.regex}/"] if r.regex else [])
            what = ", ".join(terms) or "every post"
            if r.channels:
                what += " in " + ", ".join(r.channels)
            if tuple(r.on) != ("new", "edit", "delete"):
                what += " on " + "/".join(r.on)
        elif name == alert_store.WATCHED_RULE:
            what = "edits and deletions of posts marked with watch-post"
        else:
            what = "(no longer in the config)"
        last = _iso(c.last_at) if c else None
        click.echo(
            printable(
                f"{name:<24} {c.total if c else 0:>6} {c.new if c else 0:>5} "
                f"{c.edit if c else 0:>5} {c.delete if c else 0:>5}  {last or '—'}  {what}",
                multiline=False,
            )
        )
    if hits:
        click.echo("")
        click.echo("latest hits:")
        for h in hits:
            excerpt = " ".join(h.excerpt.split())[:70]
            click.echo(
                printable(
                    f"  {feed.iso(h.hit_at)}  {h.rule:<16} {h.kind:<6} "
                    f"{feed.tme_url(h.channel_id, h.message_id, h.username)}  {excerpt}",
                    multiline=False,
                )
            )


def parse_post_ref(text: str) -> tuple[str | None, int | None, int]:
    """``CHANNEL/ID`` (``@name/12``, ``name/12``, ``https://t.me/name/12``,
    ``t.me/c/1500000001/12``, ``1500000001/12``) → ``(username, channel_id, message_id)``.
    Raises UserError."""
    from telewatch.config import MAX_ID, parse_channel_ref

    m = _POST_REF.match(text.strip())
    if m is None:
        raise UserError(
            f"{text!r} is not CHANNEL/ID; write it like @channel/123 or a t.me post link"
        )
    try:
        username, channel_id = parse_channel_ref(m.group("channel"))
    except ValueError as err:
        raise UserError(f"{text!r}: {err}") from None
    message_id = int(m.group("id"))
    if not 0 < message_id <= MAX_ID:
        raise UserError(f"{text!r}: message id {m.group('id')[:30]} is not an id (1..{MAX_ID})")
    return username, channel_id, message_id


@main.command("watch-post", short_help="Alert when POST is edited or deleted (evidence).")
@click.argument("post", required=False)
@click.option("--note", default=None, help="Why this post matters (shown in the list).")
@click.option("--remove", is_flag=True, help="Stop watching the post.")
@click.option("--list", "list_", is_flag=True, help="List the watched posts.")
@click.pass_obj
def watch_post(
    obj: AppContext, post: str | None, note: str | None, remove: bool, list_: bool
) -> None:
    """Mark POST (CHANNEL/ID or a t.me link) as evidence: an alert fires when it is edited
    or deleted."""
    if list_:
        conn = feed.open_reader(obj.db_path)
        try:
            rows = alert_store.watched_posts(conn)
            for w in rows:
                ch = feed.find_channel(conn, None, w.channel_id)
                url = feed.tme_url(w.channel_id, w.message_id, ch[1] if ch else None)
                click.echo(
                    printable(
                        f"{url}  since {w.added_at}" + (f"  {w.note}" if w.note else ""),
                        multiline=False,
                    )
                )
            if not rows:
                click.echo("no watched posts; mark one with `telewatch watch-post @channel/123`")
        finally:
            conn.close()
        return
    if post is None:
        raise UserError("name the post to watch, e.g. `telewatch watch-post @channel/123`")
    username, channel_id, message_id = parse_post_ref(post)
    conn = connect(obj.db_path, readonly=False)
    try:
        found = feed.find_channel(conn, username, channel_id)
        if found is None:
            raise UserError(
                f"channel {'@' + username if username else channel_id} is not in the archive; "
                "add it with `telewatch channels add` and let the daemon archive it first"
            )
        cid, uname = found
        url = feed.tme_url(cid, message_id, uname)
        if remove:
            if alert_store.unwatch_post(conn, cid, message_id):
                click.echo(f"no longer watching {url}")
            else:
                raise UserError(f"{url} was not watched; see `telewatch watch-post --list`")
            return
        if not feed.post_exists(conn, cid, message_id):
            raise UserError(
                f"{url} is not in the archive; check the id (telewatch search) "
                "or wait until the daemon has archived it"
            )
        at = feed.iso(datetime.now(UTC))
        if alert_store.watch_post(conn, cid, message_id, note, at):
            click.echo(f"watching {url}: an alert fires when it is edited or deleted")
        else:
            click.echo(f"already watching {url}")
    finally:
        conn.close()


@main.command(short_help="Try it: emulator, real daemon and dashboard together.")
@click.option(
    "--headless", is_flag=True, help="No dashboard: run for --duration seconds, print a summary."
)
@click.option(
    "--duration",
    type=FiniteFloatRange(min=1),
    default=60.0,
    show_default=True,
    help="Seconds to run with --headless.",
)
@click.option(
    "--dir",
    "data_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Keep the demo's archive, session and config here (default: a temporary directory).",
)
@click.option(
    "--speed",
    type=FiniteFloatRange(min=0.1),
    default=1.0,
    show_default=True,
    help="Scenario time multiplier (2 = twice as fast).",
)
def demo(headless: bool, duration: float, data_dir: Path | None, speed: float) -> None:
    """Run the bundled scenario: a local Telegram emulator, the real daemon and the dashboard.

    Needs no Telegram account. Quit the dashboard with q; everything stops cleanly."""
    from telewatch.demo.runner import run_demo

    raise SystemExit(run_demo(headless=headless, duration=duration, data_dir=data_dir, speed=speed))
