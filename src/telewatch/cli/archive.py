"""CLI commands (archive area): ``import``, ``search``, ``show``, ``export``,
``verify``. Reading commands take ``--json`` (one JSON document on stdout)."""

from __future__ import annotations

import csv
import dataclasses
import difflib
import json
import os
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import click

from telewatch.cli import AppContext, main
from telewatch.models import UserError
from telewatch.store.chain import verify as verify_chain
from telewatch.store.db import ArchiveCorrupt, check_integrity, connect
from telewatch.store.queries import (
    EXPORT_FIELDS,
    PostDetail,
    export_rows,
    get_post,
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
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if dt else "-"


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
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--username", help="The channel's public username (one file only).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option(
    "--record-deletions",
    is_flag=True,
    help="Record deletions even when an export implies more than 10% of a channel deleted.",
)
@click.pass_obj
def import_cmd(
    app: AppContext,
    paths: tuple[Path, ...],
    username: str | None,
    quiet: bool,
    as_json: bool,
    record_deletions: bool,
) -> None:
    """Import Telegram Desktop JSON exports (result.json) into the archive.

    Each file is imported completely or not at all; importing the same
    export again adds nothing; a later export with changed text adds
    versions, and archived posts missing from inside its message range are
    recorded as deleted (the archive keeps them) -- unless that would be more
    than 10% of the channel (and more than 10 posts), which a partial export
    also looks like: then they are only reported, and --record-deletions
    records them. A post recorded deleted that way and seen again later is
    revived (recorded). For the layout channels/<username>/result.json the
    folder name is taken as the username."""
    show_bar = not quiet and not as_json and sys.stderr.isatty()
    with _progress(show_bar) as progress:
        from telewatch.sources.desktop_export import import_paths

        summary = import_paths(
            app.db_path,
            list(paths),
            username=username,
            progress=progress,
            record_mass_deletions=record_deletions,
        )
    for f in summary.files:
        if f.held_deletions and not quiet:
            share = 100 * f.held_deletions / max(f.live_posts, 1)
            click.echo(
                click.style("WARNING", fg="red", bold=True)
                + f": {f.path} would mark {f.held_deletions} of {f.live_posts} archived posts"
                f" of channel {f.username or f.channel_id} deleted ({share:.0f}%); NOT recorded."
                " A partial or crafted export looks like this; if the export is complete,"
                " import it again with --record-deletions",
                err=True,
            )
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
                "held_deletions": summary.held_deletions,
                "revived": summary.revived,
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
            + (
                f", {f.revived} posts recorded deleted before are alive (revived)"
                if f.revived
                else ""
            )
            + (f", {f.held_deletions} implied deletions NOT recorded" if f.held_deletions else "")
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


def _print_detail(d: PostDetail) -> None:
    click.echo(
        click.style(f"{d.channel.label}/{d.message_id}", bold=True) + f"  {d.channel.title or ''}"
    )
    click.echo(f"published  {_when(d.date)}")
    if d.url:
        click.echo(f"link       {d.url}")
    if d.forward:
        f = d.forward
        origin = f.name or (str(f.channel_id) if f.channel_id else "?")
        extra = f"/{f.message_id}" if f.message_id else ""
        click.echo(f"forwarded  from {origin}{extra}" + (f" ({_when(f.date)})" if f.date else ""))
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
        for change, at, source in d.deletion.changes:
            label = "REVIVED" if change == "revived" else "DELETED"
            how = "seen alive" if change == "revived" else "deleted again"
            click.echo(
                click.style(label, fg="green" if change == "revived" else "red", bold=True)
                + f"    {how} {_when(at)} (via {source})"
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
    type=click.Path(path_type=Path, allow_dash=True),
    help="File to write, replaced only once complete (default or '-': stdout).",
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
    if output is not None and str(output) == "-":
        output = None
    if output is not None:
        _refuse_archive_target(output, app.db_path)
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
        n = _write_atomically(output, lambda fh: _write_rows(fh, fmt, rows))
        click.echo(f"exported {n} posts to {output}", err=True)


_SIDECARS = ("", "-wal", "-shm", "-journal")


def _refuse_archive_target(output: Path, db: Path) -> None:
    """UserError when ``output`` is (resolves to, or is a hard link of) the
    archive or one of its SQLite sidecar files: writing there destroys it."""
    target = output.resolve()
    base = db.resolve()
    for suffix in _SIDECARS:
        side = Path(f"{base}{suffix}")
        same = target == side
        if not same and target.exists() and side.exists():
            a, b = target.stat(), side.stat()
            same = (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
        if same:
            what = "the archive" if not suffix else f"the archive's {suffix[1:]} file"
            raise UserError(
                f"--output {output} is {what} {side}; exporting there would destroy it:"
                " choose another file"
            )


def _write_atomically(output: Path, write: Callable[[IO[str]], int]) -> int:
    """Write through a temporary file in ``output``'s folder and rename it
    over ``output`` only once complete: an export that fails half way (a
    full disk, Ctrl-C) leaves whatever was there before."""
    folder = output.parent if str(output.parent) else Path(".")
    if output.is_dir():
        raise UserError(f"--output {output} is a folder; name a file in it")
    if not folder.is_dir():
        raise UserError(f"--output {output}: folder {folder} does not exist")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=folder)
    except OSError as err:
        raise UserError(f"cannot write --output {output}: {err.strerror}") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            n = write(fh)
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644 & ~_umask())
        os.replace(tmp, output)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise UserError(
            f"cannot write --output {output}: {err.strerror or err}; nothing was replaced"
        ) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return n


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


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
    """Check the file with SQLite's integrity check, then recompute the
    archive's hash chain; exit 1 naming the first problem found."""
    try:
        conn = connect(app.db_path)
        check_integrity(conn, app.db_path, quick=False)
        result = verify_chain(conn)
    except ArchiveCorrupt as err:
        if as_json:
            _dump({"archive": app.db_path, "ok": False, "problem": str(err)})
        else:
            click.echo(f"DAMAGED: {err}", err=True)
        click.get_current_context().exit(1)
    except sqlite3.DatabaseError as err:
        # Damage the integrity check did not reach (it stops at 5 problems).
        if as_json:
            _dump({"archive": app.db_path, "ok": False, "problem": str(err)})
        else:
            click.echo(f"DAMAGED: archive {app.db_path}: {err}", err=True)
        click.get_current_context().exit(1)
    if as_json:
        _dump({"archive": app.db_path, **dataclasses.asdict(result)})
    elif result.ok:
        click.echo(
            f"ok: {app.db_path}: {result.records} chain records verified"
            f" ({result.versions} versions, {result.deletions} deletions), file intact"
        )
    else:
        click.echo(f"TAMPERED: {app.db_path}: {result.problem}", err=True)
    if not result.ok:
        click.get_current_context().exit(1)
