"""CLI commands (archive area): ``import``, ``search``, ``show``, ``export``,
``verify``. Reading commands take ``--json`` (one JSON document on stdout)."""

from __future__ import annotations

import csv
import dataclasses
import difflib
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import click

from telewatch.cli import AppContext, main
from telewatch.models import UserError
from telewatch.store.chain import verify as verify_chain
from telewatch.store.db import connect
from telewatch.store.queries import (
    EXPORT_FIELDS,
    PostDetail,
    export_rows,
    get_post,
    post_url,
    resolve_channel,
    resolve_post_ref,
    search,
)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, datetime):
        return obj.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(obj, Path):
        return str(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    raise TypeError(f"cannot encode {type(obj).__name__}")


def _dump(obj: Any) -> None:
    click.echo(json.dumps(obj, default=_json_default, ensure_ascii=False, indent=2))


def parse_when(value: str | None, *, end: bool = False) -> datetime | None:
    """``YYYY-MM-DD`` or ISO 8601 (naive = UTC) → aware UTC datetime. A bare
    date used as an end (``--until``) means the end of that day."""
    if value is None:
        return None
    v = value.strip()
    try:
        if len(v) == 10:
            d = date.fromisoformat(v)
            start = datetime(d.year, d.month, d.day, tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(
            f"{value!r} is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+HH:MM]"
        ) from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _when(dt: datetime | None) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if dt else "-"


# --------------------------------------------------------------------------
# import
# --------------------------------------------------------------------------


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task("importing", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


@main.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--username", help="The channel's public username (one file only).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def import_cmd(
    app: AppContext, paths: tuple[Path, ...], username: str | None, quiet: bool, as_json: bool
) -> None:
    """Import Telegram Desktop JSON exports (result.json) into the archive.

    Each file is imported completely or not at all; importing the same
    export again adds nothing; a later export with changed text adds
    versions, and archived posts missing from inside its message range are
    recorded as deleted (the archive keeps them). For the layout
    channels/<username>/result.json the folder name is taken as the username."""
    show_bar = not quiet and not as_json and sys.stderr.isatty()
    with _progress(show_bar) as progress:
        from telewatch.sources.desktop_export import import_paths

        summary = import_paths(app.db_path, list(paths), username=username, progress=progress)
    if as_json:
        _dump(
            {
                "archive": app.db_path,
                "files": [
                    {**dataclasses.asdict(f), "unchanged": f.unchanged} for f in summary.files
                ],
                "messages": summary.messages,
                "new_posts": summary.new_posts,
                "new_versions": summary.new_versions,
                "found_deleted": summary.found_deleted,
            }
        )
        return
    if quiet:
        return
    for f in summary.files:
        name = f"@{f.username}" if f.username else (f.title or str(f.channel_id))
        click.echo(
            f"{f.path}: {name} ({f.channel_id}): {f.messages} messages"
            f" ({f.service} service skipped), {f.new_posts} new posts,"
            f" {f.new_versions - f.new_posts} new versions of known posts, {f.unchanged} unchanged"
            + (
                f", {f.found_deleted} archived posts deleted since (not in this export)"
                if f.found_deleted
                else ""
            )
        )
    click.echo(
        f"imported {summary.messages} messages from {len(summary.files)} file(s) into"
        f" {app.db_path}: {summary.new_posts} new posts, {summary.new_versions} versions written"
        + (f", {summary.found_deleted} deletions found" if summary.found_deleted else "")
    )


# --------------------------------------------------------------------------
# search
# --------------------------------------------------------------------------


@main.command("search")
@click.argument("query")
@click.option("--channel", "channel_ref", help="@username, username or numeric id.")
@click.option("--since", help="Posts published at or after (YYYY-MM-DD or ISO time, UTC).")
@click.option("--until", help="Posts published before (a bare date includes that day).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@click.option(
    "--raw", is_flag=True, help='QUERY is FTS5 syntax (AND, OR, NOT, NEAR, "phrase", x*).'
)
@click.option("--json", "as_json", is_flag=True, help="Print hits as JSON.")
@click.pass_obj
def search_cmd(
    app: AppContext,
    query: str,
    channel_ref: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    raw: bool,
    as_json: bool,
) -> None:
    """Full-text search of the archive, best matches first (BM25).

    Words are matched after normalisation (diacritics, Arabic letter forms,
    clitics and inflections), so السماوة also finds السّماوة and بالسماوة.
    Every version is searched: a post edited since is found by its earlier
    words, and the hit says which version had them."""
    conn = connect(app.db_path)
    channel_id = resolve_channel(conn, channel_ref).id if channel_ref else None
    hits = search(
        conn,
        query,
        channel_id=channel_id,
        since=parse_when(since),
        until=parse_when(until, end=True),
        limit=limit,
        raw=raw,
    )
    if as_json:
        _dump([dataclasses.asdict(h) for h in hits])
        return
    if not hits:
        click.echo("no matches", err=True)
        return
    for h in hits:
        who = f"@{h.username}" if h.username else (h.channel_title or str(h.channel_id))
        flags = (" [deleted]" if h.deleted else "") + (
            f" [{h.version_count} versions]" if h.version_count > 1 else ""
        )
        if h.matched_version is not None:
            flags += f" [words found in version {h.matched_version}, edited since]"
        click.echo(click.style(f"{who}/{h.message_id}", bold=True) + f"  {_when(h.date)}{flags}")
        click.echo("  " + _highlight(h.snippet, h.highlights))
        if h.url:
            click.echo(f"  {h.url}")


def _highlight(snippet: str, spans: tuple[tuple[int, int], ...]) -> str:
    out: list[str] = []
    pos = 0
    for a, b in spans:
        out.append(snippet[pos:a])
        out.append(click.style(snippet[a:b], fg="yellow", bold=True))
        pos = b
    out.append(snippet[pos:])
    return "".join(out)


# --------------------------------------------------------------------------
# show
# --------------------------------------------------------------------------


def word_diff(old: str, new: str) -> str:
    """``old`` → ``new`` as words with ``[-removed-]`` and ``{+added+}``."""
    a, b = old.split(), new.split()
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.extend(a[i1:i2])
            continue
        if op in ("delete", "replace"):
            out.append(click.style("[-" + " ".join(a[i1:i2]) + "-]", fg="red"))
        if op in ("insert", "replace"):
            out.append(click.style("{+" + " ".join(b[j1:j2]) + "+}", fg="green"))
    return " ".join(out)


@main.command("show")
@click.argument("post_ref", metavar="CHANNEL/ID")
@click.option("--json", "as_json", is_flag=True, help="Print the post and its history as JSON.")
@click.pass_obj
def show_cmd(app: AppContext, post_ref: str, as_json: bool) -> None:
    """One post with every version (word diff), deletion, forward origin and
    engagement. CHANNEL is @username, username or numeric id; a t.me link works too."""
    conn = connect(app.db_path)
    channel, message_id = resolve_post_ref(conn, post_ref)
    detail = get_post(conn, channel.id, message_id)
    if detail is None:
        raise UserError(f"{channel.label}/{message_id} is not in the archive")
    if as_json:
        _dump(dataclasses.asdict(detail))
        return
    _print_detail(detail)


def _forward_origin(d: PostDetail) -> str:
    """A forward's origin for people: an archived channel by title and @username with its
    id (``مرصد الرافدين (@rafidain_watch, id 1500000101)``), else the name Telegram gave,
    else the bare id."""
    f = d.forward
    assert f is not None
    src = d.forward_channel
    if src is not None and (src.title or src.username):
        names = [n for n in (src.title, f"@{src.username}" if src.username else None) if n]
        main, rest = names[0], names[1:]
        return f"{main} ({', '.join([*rest, f'id {src.id}'])})"
    if f.name:
        return f.name + (f" (id {f.channel_id})" if f.channel_id else "")
    return f"channel {f.channel_id} (not in the archive)" if f.channel_id else "?"


def _print_detail(d: PostDetail) -> None:
    click.echo(
        click.style(f"{d.channel.label}/{d.message_id}", bold=True) + f"  {d.channel.title or ''}"
    )
    click.echo(f"published  {_when(d.date)}")
    if d.url:
        click.echo(f"link       {d.url}")
    if d.forward:
        f = d.forward
        origin = _forward_origin(d)
        extra = f" post {f.message_id}" if f.message_id else ""
        click.echo(f"forwarded  from {origin}{extra}" + (f" ({_when(f.date)})" if f.date else ""))
        src = d.forward_channel
        if src is not None and src.username and f.message_id:
            click.echo(f"original   {post_url(src.username, f.message_id)}")
    if d.reply_to:
        click.echo(f"reply to   {d.reply_to}")
    if d.media:
        m = d.media
        size = f", {m.width}x{m.height}" if m.width and m.height else ""
        click.echo(f"media      {m.kind}{f' {m.mime}' if m.mime else ''}{size}")
    if d.deletion:
        click.echo(
            click.style("DELETED", fg="red", bold=True)
            + f"    detected {_when(d.deletion.detected_at)} ({d.deletion.method})"
        )
    if d.engagement:
        last = d.engagement[-1]
        reactions = " ".join(f"{k} {v}" for k, v in last.reactions.items())
        click.echo(
            f"engagement {last.views or 0} views, {last.forwards or 0} forwards,"
            f" {last.replies or 0} replies {reactions} ({len(d.engagement)} samples,"
            f" last {_when(last.sampled_at)})"
        )
    prev = None
    for v in d.versions:
        edit = f", edited {_when(v.edit_date)}" if v.edit_date else ""
        click.echo(
            click.style(f"\n── version {v.version_no}", bold=True)
            + f" (captured {_when(v.captured_at)} via {v.source}{edit})"
        )
        click.echo(v.text if prev is None else word_diff(prev.text, v.text))
        if prev is not None and prev.media != v.media:
            click.echo(f"(media changed: {prev.media.kind if prev.media else 'none'} → "
                       f"{v.media.kind if v.media else 'none'})")  # fmt: skip
        prev = v


# --------------------------------------------------------------------------
# export
# --------------------------------------------------------------------------


@main.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True
)
@click.option("--channel", "channel_ref", help="@username, username or numeric id.")
@click.option("--since", help="Posts published at or after (YYYY-MM-DD or ISO time, UTC).")
@click.option("--until", help="Posts published before (a bare date includes that day).")
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    help="File to write (default: stdout).",
)
@click.pass_obj
def export_cmd(
    app: AppContext,
    fmt: str,
    channel_ref: str | None,
    since: str | None,
    until: str | None,
    output: Path | None,
) -> None:
    """Export one record per post (latest text, version count, deletion,
    forward origin, views ...) as JSON lines or CSV; fields in docs/SCHEMA.md."""
    conn = connect(app.db_path)
    channel_id = resolve_channel(conn, channel_ref).id if channel_ref else None
    rows = export_rows(
        conn, channel_id=channel_id, since=parse_when(since), until=parse_when(until, end=True)
    )
    if output is None:
        try:
            _write_rows(sys.stdout, fmt, rows)
        except BrokenPipeError:
            # `telewatch export | head`: the reader left; that is not an error.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            click.get_current_context().exit(0)
    else:
        with output.open("w", encoding="utf-8", newline="") as fh:
            n = _write_rows(fh, fmt, rows)
        click.echo(f"exported {n} posts to {output}", err=True)


def _write_rows(fh: IO[str], fmt: str, rows: Iterator[dict[str, Any]]) -> int:
    n = 0
    if fmt == "csv":
        writer = csv.DictWriter(fh, fieldnames=list(EXPORT_FIELDS))
        writer.writeheader()
        for r in rows:
            writer.writerow(r)
            n += 1
    else:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
            n += 1
    fh.flush()
    return n


# --------------------------------------------------------------------------
# verify
# --------------------------------------------------------------------------


@main.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def verify_cmd(app: AppContext, as_json: bool) -> None:
    """Recompute the archive's hash chain; exit 1 naming the first record that
    does not match."""
    conn = connect(app.db_path)
    result = verify_chain(conn)
    if as_json:
        _dump({"archive": app.db_path, **dataclasses.asdict(result)})
    elif result.ok:
        click.echo(
            f"ok: {app.db_path}: {result.records} chain records verified"
            f" ({result.versions} versions, {result.deletions} deletions)"
        )
    else:
        click.echo(f"TAMPERED: {app.db_path}: {result.problem}", err=True)
    if not result.ok:
        click.get_current_context().exit(1)
