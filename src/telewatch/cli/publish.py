"""CLI commands (getting the archive out): ``graph`` (Gephi GEXF/GraphML)
and ``feed`` (Atom). Formats and fields: docs/EXPORTS.md."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import click

from telewatch.cli import AppContext, main
from telewatch.cli.archive import parse_when
from telewatch.cli.output import refuse_archive_target, write_bytes_atomically
from telewatch.models import UserError
from telewatch.store.db import connect


def _check_output(output: Path, db: Path, example: str) -> None:
    """Refuse a directory, a missing directory, or the archive or one of its
    sidecar files as the output (one line each)."""
    if output.is_dir():
        raise UserError(f"{output} is a directory; give a file name, e.g. -o {output / example}")
    if not output.resolve().parent.is_dir():
        raise UserError(f"directory {output.parent} does not exist; create it or choose another -o")
    refuse_archive_target(output, db)


def _format_for(output: str, fmt: str | None) -> str:
    if fmt is not None:
        return fmt
    if output == "-":
        return "gexf"
    suffix = Path(output).suffix.lower()
    if suffix in (".gexf", ".graphml"):
        return suffix[1:]
    raise UserError(
        f"cannot tell the format from {output!r}: use a .gexf or .graphml name or --format"
    )


@main.command(
    "graph", short_help="Write the channel network (forwards, copies, mentions) for Gephi."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["gexf", "graphml"]),
    default=None,
    help="Output format (default: from the -o file's extension; gexf for stdout).",
)
@click.option("--since", help="Only posts from this date (YYYY-MM-DD or ISO time, UTC).")
@click.option("--until", help="Only posts up to this date (a bare date includes that day).")
@click.option(
    "-o",
    "--output",
    required=True,
    help="File to write (.gexf or .graphml), or - for stdout.",
)
@click.pass_obj
def graph_cmd(
    app: AppContext, fmt: str | None, since: str | None, until: str | None, output: str
) -> None:
    """Write the channel network for Gephi: channels as nodes, weighted edges
    for forwards, copies, near-copies and mentions with first/last times."""
    db = app.db_path
    path = None if output == "-" else Path(output)
    if path is not None:
        _check_output(path, db, "network.gexf")
    fmt = _format_for(output, fmt)
    lo, hi = parse_when(since), parse_when(until, end=True)
    if lo is not None and hi is not None and lo >= hi:
        raise UserError(f"--since {since} is not before --until {until}")
    from telewatch.xref.graph import build_graph, summarize, write_graph

    conn = connect(db)
    try:
        g = build_graph(conn, lo, hi)
    finally:
        conn.close()
    if path is None:
        write_graph(g, fmt, sys.stdout.buffer)  # type: ignore[arg-type]
        sys.stdout.buffer.flush()
    else:
        buf = io.BytesIO()
        write_graph(g, fmt, buf)  # type: ignore[arg-type]
        write_bytes_atomically(path, buf.getvalue())
    s = summarize(g)
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(s.edges.items())) or "no edges"
    where = "stdout" if path is None else str(path)
    click.echo(
        f"wrote {s.nodes} nodes ({s.archived} archived channels) and {kinds} edges"
        f" as {fmt} to {where}",
        err=True,
    )


def _alert_names(app: AppContext) -> list[str]:
    try:
        settings: Any = app.settings()
    except UserError:
        if app.config_path is not None:
            raise
        return []
    return [a.name for a in settings.alerts]


@main.command("feed", short_help="Write an Atom feed of an alert rule, a search or a channel.")
@click.argument("alert", required=False)
@click.option("--search", "query", help="Feed of a full-text search instead of an alert rule.")
@click.option("--channel", "channel_ref", help="Feed of one channel (@name, id or t.me link).")
@click.option(
    "--limit",
    type=click.IntRange(1, 10000),
    default=50,
    show_default=True,
    help="Entries in the feed, newest first.",
)
@click.option("-o", "--output", default="-", help="File to write (default: stdout).")
@click.pass_obj
def feed_cmd(
    app: AppContext,
    alert: str | None,
    query: str | None,
    channel_ref: str | None,
    limit: int,
    output: str,
) -> None:
    """Write an Atom feed of an alert rule's hits (ALERT: a rule name from the
    config), of a search (--search) or of a channel (--channel)."""
    given = [x for x in (alert, query, channel_ref) if x is not None]
    if len(given) != 1:
        raise UserError(
            "give exactly one of: an alert rule name, --search QUERY or --channel @name"
        )
    db = app.db_path
    path = None if output == "-" else Path(output)
    if path is not None:
        _check_output(path, db, "feed.xml")
    from telewatch.publish.atom import alert_feed, channel_feed, search_feed
    from telewatch.store.entries import rule_names
    from telewatch.store.queries import resolve_channel

    conn = connect(db)
    try:
        if alert is not None:
            known = sorted(set(_alert_names(app)) | set(rule_names(conn)))
            if alert not in known:
                hint = ", ".join(known) if known else "none in the config or the archive"
                raise UserError(f"no alert rule {alert!r} (rules: {hint})")
            data, what = alert_feed(conn, alert, limit=limit), f"alert {alert!r}"
        elif query is not None:
            data, what = search_feed(conn, query, limit=limit), f"search {query!r}"
        else:
            assert channel_ref is not None
            ch = resolve_channel(conn, channel_ref)
            data, what = channel_feed(conn, ch.id, ch.label, limit=limit), ch.label
    finally:
        conn.close()
    if path is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        write_bytes_atomically(path, data)
        n = data.count(b"<entry>")
        click.echo(f"wrote an Atom feed of {what} ({n} entries) to {path}", err=True)
