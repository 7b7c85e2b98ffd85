"""CLI commands (archive area): ``import``, ``search``, ``show``, ``export``,
``verify``. Reading commands take ``--json`` (one JSON document on stdout)."""

from __future__ import annotations

import csv
import dataclasses
import difflib
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from telewatch.cli import AppContext, channels, main
from telewatch.cli.comments import print_hits, print_thread, thread_json
from telewatch.cli.output import refuse_archive_target, write_atomically
from telewatch.models import UserError
from telewatch.store import comments
from telewatch.store import media as media_store
from telewatch.store.anchors import anchor_count
from telewatch.store.chain import raw_digest as chain_digest
from telewatch.store.chain import verify as verify_chain
from telewatch.store.db import ArchiveCorrupt, DatabaseError, check_integrity, connect, iso
from telewatch.store.queries import (
    EXPORT_FIELDS,
    PostDetail,
    export_rows,
    get_post,
    list_channels,
    post_url,
    resolve_channel,
    resolve_post_ref,
    search,
)
from telewatch.text import json_printable, printable, quoted

if TYPE_CHECKING:
    from telewatch.sources import export_media


def _json_default(obj: Any) -> Any:
    if isinstance(obj, datetime):
        return obj.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(obj, Path):
        return str(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    raise TypeError(f"cannot encode {type(obj).__name__}")


def _dump(obj: Any) -> None:
    # Lossless, but with the characters a terminal would act on (C1, bidi
    # overrides, lone surrogates) as \u escapes: archived text is hostile.
    click.echo(json_printable(json.dumps(obj, default=_json_default, ensure_ascii=False, indent=2)))


def _line(text: str) -> str:
    """Archived or user-given text for one line of terminal output."""
    return printable(text, multiline=False)


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
        return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    except ValueError:
        raise UserError(
            f"{quoted(value)} is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+HH:MM]"
        ) from None
    except OverflowError:
        # 9999-12-31 as an end is the day after it; 0001-01-01T00:00+01:00 is before year 1.
        raise UserError(
            f"{quoted(value)} is outside the dates this archive can hold (years 1-9999)"
        ) from None


def _window(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    """``--since``/``--until`` as a half-open UTC window; refuses an empty one."""
    lo, hi = parse_when(since), parse_when(until, end=True)
    if lo is not None and hi is not None and hi <= lo:
        raise UserError(
            f"--since {since} is not before --until {until}: nothing can match; swap them?"
        )
    return lo, hi


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


def _media_line(m: export_media.MediaSummary | None) -> str:
    """The media part of an import's summary line."""
    if m is None or not (m.stored or m.not_in_export or m.missing):
        return ""
    return (
        f"; media: {m.stored} files ({m.copied} new to the store, {m.bytes_copied} bytes,"
        f" {m.hashed} images hashed)"
        + (f", {m.not_in_export} not included in the export" if m.not_in_export else "")
        + (f", {m.missing} missing from the export folder" if m.missing else "")
    )


@main.command("import", short_help="Import Telegram Desktop exports (result.json).")
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
    folder name is taken as the username.

    SIGTERM or Ctrl-C stops the import cleanly: the file being imported is
    rolled back, the files before it stay imported, one line says where it
    stopped, and the exit code is 143 (SIGTERM) or 130 (SIGINT); the same
    command run again resumes. A second signal stops at once (the file is
    rolled back all the same)."""
    from telewatch.sources.desktop_export import ImportStopped, import_paths

    show_bar = not quiet and not as_json and sys.stderr.isatty()
    try:
        with _stop_signals() as stopped, _progress(show_bar) as progress:
            summary = import_paths(
                app.db_path,
                list(paths),
                username=username,
                progress=progress,
                record_mass_deletions=record_deletions,
                media_root=app.settings().media.root,
                stopping=lambda: bool(stopped),
            )
    except ImportStopped as stop:  # after the bar is gone
        click.echo(
            f"import stopped at file {printable(str(stop.path), multiline=False)},"
            f" post {stop.post} (that file rolled back, {stop.files_done} file(s) before it"
            " imported); run the same command again to resume",
            err=True,
        )
        click.get_current_context().exit(128 + stopped[0])
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
                "archive": app.db_name,
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
        name = _line(f"@{f.username}" if f.username else (f.title or str(f.channel_id)))
        click.echo(
            f"{f.path}: {name} ({f.channel_id}): {f.messages} messages"
            f" ({f.service} service messages), {f.new_posts} new posts,"
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
            + (f", {f.skipped} malformed polls/service messages skipped" if f.skipped else "")
            + _media_line(f.media)
        )
    click.echo(
        f"imported {summary.messages} messages from {len(summary.files)} file(s) into"
        f" {app.db_name}: {summary.new_posts} new posts, {summary.new_versions} versions written"
        + (f", {summary.found_deleted} deletions found" if summary.found_deleted else "")
    )


# --------------------------------------------------------------------------
# search
# --------------------------------------------------------------------------


@contextmanager
def _stop_signals() -> Iterator[list[int]]:
    """SIGTERM and SIGINT noted (the list gets the signal number) instead of
    killing the process or raising mid-statement: the import stops between
    two batches. A second one raises KeyboardInterrupt at once."""
    got: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        if got:
            raise KeyboardInterrupt
        got.append(signum)

    old = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield got
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


@main.command("search")
@click.argument("query", required=False)
@click.option("--channel", "channel_ref", help="@username, username or numeric id.")
@click.option("--since", help="Posts published at or after (YYYY-MM-DD or ISO time, UTC).")
@click.option("--until", help="Posts published before (a bare date includes that day).")
@click.option(
    "--limit",
    default=20,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Show at most this many hits.",
)
@click.option(
    "--raw", is_flag=True, help='QUERY is FTS5 syntax (AND, OR, NOT, NEAR, "phrase", x*).'
)
@click.option(
    "--media",
    "media_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Find posts carrying this picture/file instead: same bytes first, then look-alikes.",
)
@click.option(
    "--distance",
    default=10,
    show_default=True,
    type=click.IntRange(0, 24),
    help="With --media: largest perceptual-hash distance (bits of 64) of a look-alike.",
)
@click.option("--json", "as_json", is_flag=True, help="Print hits as JSON.")
@click.option(
    "--comments",
    "in_comments",
    is_flag=True,
    help="Search comments from linked discussion groups instead of posts.",
)
@click.pass_obj
def search_cmd(
    app: AppContext,
    query: str | None,
    channel_ref: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    raw: bool,
    media_file: Path | None,
    distance: int,
    as_json: bool,
    in_comments: bool,
) -> None:
    """Full-text search of the archive, best matches first (BM25).

    Words are matched after normalisation (diacritics, Arabic letter forms,
    clitics and inflections), so السماوة also finds السّماوة and بالسماوة.
    Every version is searched: a post edited since is found by its earlier
    words, and the hit says which version had them.

    With --media FILE (and no QUERY): the posts whose archived media is that
    file (same SHA-256), then those whose picture looks the same
    (perceptual-hash distance up to --distance: re-encoded, rescaled,
    lightly cropped copies), nearest first."""
    if (query is None) == (media_file is None):
        raise UserError("give a QUERY to search words, or --media FILE to search by a picture")
    lo, hi = _window(since, until)
    conn = connect(app.db_path)
    channel_id = resolve_channel(conn, channel_ref).id if channel_ref is not None else None
    if in_comments:
        if query is None:
            raise UserError("--comments searches words: give a QUERY (--media is for posts)")
        found = comments.search_comments(
            conn, query, channel_id=channel_id, since=lo, until=hi, limit=limit, raw=raw
        )
        if as_json:
            _dump([{**dataclasses.asdict(h.comment), "url": h.url} for h in found])
        elif not found:
            click.echo("no matching comments", err=True)
        else:
            print_hits(found)
        return
    if media_file is not None:
        _search_media(conn, media_file, channel_id, lo, hi, limit, distance, as_json)
        return
    assert query is not None
    hits = search(
        conn,
        query,
        channel_id=channel_id,
        since=lo,
        until=hi,
        limit=limit,
        raw=raw,
        # A discussion group's messages are comments: searched with --comments.
        exclude_channels=() if channel_id is not None else comments.group_ids(conn),
    )
    if as_json:
        _dump([dataclasses.asdict(h) for h in hits])
        return
    if not hits:
        click.echo("no matches", err=True)
        return
    for h in hits:
        who = _line(f"@{h.username}" if h.username else (h.channel_title or str(h.channel_id)))
        flags = (" [deleted]" if h.deleted else "") + (
            f" [{h.version_count} versions]" if h.version_count > 1 else ""
        )
        if h.matched_version is not None:
            flags += f" [words found in version {h.matched_version}, edited since]"
        click.echo(click.style(f"{who}/{h.message_id}", bold=True) + f"  {_when(h.date)}{flags}")
        click.echo("  " + _highlight(h.snippet, h.highlights))
        if h.url:
            click.echo(f"  {_line(h.url)}")


def _search_media(
    conn: Any,
    path: Path,
    channel_id: int | None,
    lo: datetime | None,
    hi: datetime | None,
    limit: int,
    distance: int,
    as_json: bool,
) -> None:
    """``search --media``: exact file first, then perceptual neighbours."""
    from telewatch.store import media_match, phash

    try:
        sha, _ = media_store.hash_file(path)
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror}") from None
    h = phash.compute(path)
    found = media_match.hits(
        conn,
        media_match.matches_of_file(conn, sha, h, distance, limit=limit * 4),
        channel_id=channel_id,
        since=iso(lo) if lo else None,
        until=iso(hi) if hi else None,
    )[:limit]
    if as_json:
        _dump(
            {
                "file": {"sha256": sha, "phash": phash.to_hex(h) if h is not None else None},
                "hits": [
                    {
                        "channel_id": f.match.item.channel_id,
                        "username": f.username,
                        "message_id": f.match.item.message_id,
                        "version": f.match.item.version_no,
                        "date": f.date,
                        "url": post_url(f.username, f.match.item.message_id),
                        "match": "same-file" if f.match.exact else "perceptual",
                        "phash_distance": f.match.distance,
                        "sha256": f.match.item.sha256,
                        "role": f.match.item.role,
                        "kind": f.match.item.kind,
                        "deleted": f.deleted_at is not None,
                    }
                    for f in found
                ],
            }
        )
        return
    if h is None:
        click.echo(f"{path} is not an image telewatch can read: only identical files are found")
    if not found:
        click.echo("no post carries this file or a picture like it", err=True)
        return
    for f in found:
        it = f.match.item
        who = _line(f"@{f.username}" if f.username else (f.title or str(it.channel_id)))
        how = "same file" if f.match.exact else f"looks alike, pHash distance {f.match.distance}/64"
        flags = " [deleted]" if f.deleted_at else ""
        click.echo(
            click.style(f"{who}/{it.message_id}", bold=True)
            + f"  {f.date}  {how}  ({it.kind or 'media'} {it.role}, v{it.version_no},"
            f" {it.sha256[:16]}…){flags}"
        )
        click.echo("  " + _line(f.text[:160].replace("\n", " ")))
        url = post_url(f.username, it.message_id)
        if url:
            click.echo(f"  {_line(url)}")


def _highlight(snippet: str, spans: tuple[tuple[int, int], ...]) -> str:
    out: list[str] = []
    pos = 0
    for a, b in spans:
        out.append(_line(snippet[pos:a]))
        out.append(click.style(_line(snippet[a:b]), fg="yellow", bold=True))
        pos = b
    out.append(_line(snippet[pos:]))
    return "".join(out)


# --------------------------------------------------------------------------
# show
# --------------------------------------------------------------------------


def word_diff(old: str, new: str) -> str:
    """``old`` → ``new`` as words with ``[-removed-]`` and ``{+added+}``,
    terminal-safe (``printable``)."""
    a, b = printable(old).split(), printable(new).split()
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


@main.command("show", short_help="One post with every version, deletion and forward.")
@click.argument("post_ref", metavar="CHANNEL/ID")
@click.option("--json", "as_json", is_flag=True, help="Print the post and its history as JSON.")
@click.option("--raw", is_flag=True, help="Print each version's raw payload as captured, decoded.")
@click.pass_obj
def show_cmd(app: AppContext, post_ref: str, as_json: bool, raw: bool) -> None:
    """One post with every version (word diff), deletion, forward origin and
    engagement. CHANNEL is @username, username or numeric id; a t.me link works too."""
    conn = connect(app.db_path)
    channel, message_id = resolve_post_ref(conn, post_ref)
    detail = get_post(conn, channel.id, message_id)
    if detail is None:
        raise UserError(f"{channel.label}/{message_id} is not in the archive")
    if raw:
        _print_raw(conn, channel.id, message_id, f"{channel.label}/{message_id}", as_json)
        return
    from telewatch.cli.events import post_events, print_post_events

    # A PostgreSQL archive without [media] root: paths relative to the store.
    root = media_store.optional_root(app.db_path, app.settings().media.root)
    files = _media_of(conn, root, channel.id, message_id)
    thread = comments.thread(conn, channel.id, message_id)
    if as_json:
        _dump(
            {
                **dataclasses.asdict(detail),
                **post_events(conn, channel.id, message_id),
                "comments": thread_json(thread),
                "media_files": files,
            }
        )
        return
    _print_detail(detail, files)
    print_post_events(conn, channel.id, message_id)  # poll and pins
    print_thread(thread)


def _media_of(conn: Any, root: Path | None, cid: int, mid: int) -> list[dict[str, Any]]:
    """Every media reference of a post (each version's file and thumbnail),
    with the absolute path of a stored file (relative to the media store
    when ``root`` is not known: a PostgreSQL archive without [media] root)."""
    from telewatch.xref.media import post_media

    out = []
    for entry in post_media(conn, cid, mid):
        rel = entry.get("path")
        where = (str(root / str(rel)) if root else str(rel)) if rel else None
        out.append({**entry, "path": where})
    return out


def _print_raw(conn: Any, cid: int, mid: int, label: str, as_json: bool) -> None:
    """Each version's raw payload: the export's JSON object pretty-printed,
    or Telethon's readable form of the TL message (control characters of
    the archived text are escaped: it is untrusted input for a terminal)."""
    from telewatch.sources.telegram import decode_raw
    from telewatch.store.evidence import post_versions

    out = []
    for v in post_versions(conn, cid, mid):
        if v.raw is None:
            decoded = None
        elif v.raw_format == "export-json":
            try:
                decoded = json.dumps(json.loads(v.raw), ensure_ascii=False, indent=2)
            except ValueError:
                decoded = repr(v.raw)
        else:
            try:
                decoded = decode_raw(v.raw)
            except ValueError as err:
                decoded = f"({err}) {v.raw.hex()}"
        out.append({"version_no": v.version_no, "format": v.raw_format,
                    "sha256": chain_digest(v.raw) if v.raw else None, "decoded": decoded})  # fmt: skip
    if as_json:
        _dump(out)
        return
    for o in out:
        click.echo(click.style(f"── {label} version {o['version_no']}", bold=True), nl=False)
        if o["decoded"] is None:
            click.echo("  (no raw payload: captured before telewatch kept them)")
            continue
        click.echo(f"  raw {o['format']} sha256 {o['sha256']}")
        click.echo(printable(str(o["decoded"])))


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


def _print_detail(d: PostDetail, files: list[dict[str, Any]] | None = None) -> None:
    # Every field below may come from a hostile channel or export: each line
    # goes through printable() before it reaches the terminal.
    click.echo(
        click.style(_line(f"{d.channel.label}/{d.message_id}"), bold=True)
        + _line(f"  {d.channel.title or ''}")
    )
    click.echo(f"published  {_when(d.date)}")
    if d.url:
        click.echo(_line(f"link       {d.url}"))
    if d.forward:
        f = d.forward
        origin = _forward_origin(d)
        extra = f" post {f.message_id}" if f.message_id else ""
        click.echo(
            _line(f"forwarded  from {origin}{extra}" + (f" ({_when(f.date)})" if f.date else ""))
        )
        src = d.forward_channel
        if src is not None and src.username and f.message_id:
            click.echo(_line(f"original   {post_url(src.username, f.message_id)}"))
    if d.reply_to:
        click.echo(f"reply to   {d.reply_to}")
    if d.media:
        m = d.media
        size = f", {m.width}x{m.height}" if m.width and m.height else ""
        click.echo(_line(f"media      {m.kind}{f' {m.mime}' if m.mime else ''}{size}"))
    if d.deletion:
        alive = (
            f"last seen {_when(d.deletion.last_seen_alive)}, " if d.deletion.last_seen_alive else ""
        )
        click.echo(
            click.style("DELETED", fg="red", bold=True)
            + _line(f"    {alive}found gone {_when(d.deletion.detected_at)} ({d.deletion.method})")
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
            _line(
                f"engagement {last.views or 0} views, {last.forwards or 0} forwards,"
                f" {last.replies or 0} replies {reactions} ({len(d.engagement)} samples,"
                f" last {_when(last.sampled_at)})"
            )
        )
    prev = None
    for v in d.versions:
        edit = f", edited {_when(v.edit_date)}" if v.edit_date else ""
        click.echo(
            click.style(f"\n── version {v.version_no}", bold=True)
            + _line(f" (captured {_when(v.captured_at)} via {v.source}{edit})")
        )
        click.echo(printable(v.text) if prev is None else word_diff(prev.text, v.text))
        if prev is not None and prev.media != v.media:
            click.echo(_line(f"(media changed: {prev.media.kind if prev.media else 'none'} → "
                       f"{v.media.kind if v.media else 'none'})"))  # fmt: skip
        for entry in files or ():
            if entry["version"] == v.version_no:
                click.echo(_line(_media_entry(entry)))
        prev = v


def _media_entry(f: dict[str, Any]) -> str:
    """One media line of ``show``: kind and role, then hash, size and path
    when stored, else the state and its reason."""
    what = f"{f['kind'] or 'media'}{' thumbnail' if f['role'] == 'thumb' else ''}"
    if f["state"] == "stored":
        return f"  media {what}: sha256 {f['sha256']}  {f['size']} bytes  {f['path']}"
    reason = f" ({f['reason']})" if f.get("reason") else ""
    return f"  media {what}: {str(f['state']).replace('_', ' ')}{reason}"


# --------------------------------------------------------------------------
# export
# --------------------------------------------------------------------------


@main.command("export", short_help="Export posts as JSON lines or CSV.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv"]),
    default=None,
    help="jsonl (default): one JSON object per line; csv: a header row, then one row per post.",
)
@click.option(
    "--excel",
    is_flag=True,
    help="CSV for Excel: UTF-8 with a byte-order mark (Arabic/Cyrillic stay readable), CRLF.",
)
@click.option(
    "--csv-raw",
    is_flag=True,
    help="Keep CSV cells starting with = + - @ tab or CR as they are (default: prefix ').",
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
@click.option(
    "--comments",
    "of_comments",
    is_flag=True,
    help="Export comments (with post_message_id and thread) instead of posts.",
)
@click.pass_obj
def export_cmd(
    app: AppContext,
    fmt: str,
    channel_ref: str | None,
    since: str | None,
    until: str | None,
    output: Path | None,
    excel: bool,
    csv_raw: bool,
    of_comments: bool,
) -> None:
    """Export one record per post (latest text, version count, deletion,
    forward origin, views ...) as JSON lines or CSV; fields in docs/SCHEMA.md.

    In CSV a cell starting with = + - @ (or tab, CR) is prefixed with ' so that
    a spreadsheet shows it as text instead of running it as a formula
    (--csv-raw keeps it as archived)."""
    if excel and fmt == "jsonl":
        raise UserError("--excel writes CSV; drop --format jsonl or --excel")
    if csv_raw and fmt == "jsonl":
        raise UserError("--csv-raw is for CSV; drop --format jsonl or --csv-raw")
    fmt = fmt or ("csv" if excel or csv_raw else "jsonl")
    if output is not None and str(output) == "-":
        output = None
    style = CsvStyle(excel=excel, raw=csv_raw, terminal=output is None and sys.stdout.isatty())
    if output is not None:
        refuse_archive_target(output, app.db_path)
    lo, hi = _window(since, until)
    conn = connect(app.db_path)
    channel_id = resolve_channel(conn, channel_ref).id if channel_ref is not None else None
    fields = comments.EXPORT_FIELDS if of_comments else EXPORT_FIELDS
    what = "comments" if of_comments else "posts"
    if of_comments:
        rows = comments.export_rows(conn, channel_id=channel_id, since=lo, until=hi)
    else:
        groups = () if channel_id is not None else comments.group_ids(conn)
        rows = export_rows(conn, channel_id=channel_id, since=lo, until=hi, exclude_channels=groups)
    if output is None:
        try:
            _write_rows(sys.stdout, fmt, rows, style, fields)
        except BrokenPipeError:
            # `telewatch export | head`: the reader left; that is not an error.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            click.get_current_context().exit(0)
    else:
        n = write_atomically(output, lambda fh: _write_rows(fh, fmt, rows, style, fields))
        click.echo(f"exported {n} {what} to {output}", err=True)


@dataclasses.dataclass(frozen=True)
class CsvStyle:
    """How CSV cells are written: ``excel`` adds a UTF-8 byte-order mark
    (Excel otherwise reads UTF-8 as the local code page and garbles Arabic),
    ``raw`` keeps formula-like cells unescaped."""

    excel: bool = False
    raw: bool = False
    terminal: bool = False
    """Written to a terminal: control characters are shown (text.printable)."""


# OWASP "CSV injection": a cell starting with one of these is a formula (or
# becomes one) in Excel, LibreOffice and Google Sheets.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_CHARS = frozenset(_FORMULA_START)


def _write_rows(
    fh: IO[str],
    fmt: str,
    rows: Iterator[dict[str, Any]],
    style: CsvStyle | None = None,
    fields: Sequence[str] = EXPORT_FIELDS,
) -> int:
    n = 0
    st = style or CsvStyle()
    if fmt == "csv":
        if st.excel:
            fh.write("\ufeff")
        writer = csv.DictWriter(fh, fieldnames=list(fields), lineterminator="\r\n")
        writer.writeheader()
        for r in rows:
            if not st.raw:
                # A string cell starting like a formula gets a leading ' (shown as
                # text, never evaluated); numbers are never prefixed. In place:
                # export_rows yields a fresh dict per post.
                for k, v in r.items():
                    if type(v) is str and v[:1] in _FORMULA_CHARS:
                        r[k] = "'" + v
            if "media" in r:  # the stored files, compact JSON
                r["media"] = json.dumps(r.get("media") or [], separators=(",", ":"))
            for k, v in r.items():  # list fields (poll answers, counts) as JSON text
                if isinstance(v, list):
                    r[k] = json.dumps(v, ensure_ascii=False)
            if st.terminal:
                r = {k: printable(v) if isinstance(v, str) else v for k, v in r.items()}
            writer.writerow(r)
            n += 1
    else:
        for r in rows:
            # Lossless; C1 controls, bidi overrides and lone surrogates as \u escapes.
            fh.write(json_printable(json.dumps(r, ensure_ascii=False)) + "\n")
            n += 1
    fh.flush()
    return n


# --------------------------------------------------------------------------
# channels archived
# --------------------------------------------------------------------------


@channels.command("archived", short_help="List the channels in the archive (not the watch list).")
@click.option("--json", "as_json", is_flag=True, help="Print the channels as JSON.")
@click.pass_obj
def channels_archived(app: AppContext, as_json: bool) -> None:
    """List every channel the archive holds posts or metadata of, whether it
    came from the daemon or from `telewatch import`, with its post count and
    newest post. The watch list (what the daemon follows) is `channels list`."""
    conn = connect(app.db_path)
    try:
        rows = list_channels(conn)
    finally:
        conn.close()
    if as_json:
        _dump(
            [
                {
                    "id": c.id,
                    "username": c.username,
                    "title": c.title,
                    "posts": c.posts,
                    "last_post": c.last_post,
                    "first_seen": c.first_seen,
                }
                for c in rows
            ]
        )
        return
    if not rows:
        click.echo(
            f"the archive {app.db_name} has no channels yet; `telewatch import` an export "
            "or run the daemon"
        )
        return
    click.echo(f"{'channel':<28} {'id':>13} {'posts':>7}  {'last post':<20} title")
    for c in rows:
        label = f"@{c.username}" if c.username else "-"
        click.echo(
            f"{_clean(label)[:28]:<28} {c.id:>13} {c.posts or 0:>7}  {_when(c.last_post):<20} "
            f"{_clean(c.title or '')}"
        )


def _clean(text: str) -> str:
    """Archived text for one terminal line: control characters (escape
    sequences a hostile channel title could carry) become spaces."""
    return "".join(" " if (ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0) else ch for ch in text)


# --------------------------------------------------------------------------
# verify
# --------------------------------------------------------------------------


@main.command("verify", short_help="Check the archive's hash chain (exit 1 if tampered).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--expect-head",
    "expect_head",
    metavar="HASH",
    help="A head written down earlier (verify --json, an anchor): fail unless the chain has it.",
)
@click.option("--media", "check_media", is_flag=True, help="Also re-hash every stored media file.")
@click.pass_obj
def verify_cmd(app: AppContext, as_json: bool, expect_head: str | None, check_media: bool) -> None:
    """Check the archive's evidence: SQLite's integrity check of the file, recompute the hash chain, check every
    fact shown (posts, channels, engagement, deletions, raw payloads) against
    its chained record, and check every stored RFC 3161 token against
    [evidence] tsa_roots; with --media, re-hash every file of the media
    store (a file missing or replaced is named). Exit 0 verified, 1 tampered
    (names the first bad record), 2 could not check."""
    from telewatch.evidence.tsa import check_anchors, load_roots

    if expect_head is not None and not _is_hash(expect_head):
        raise UserError(
            f"--expect-head {expect_head!r} is not a chain hash: give the 64 hex digits"
            " printed as `head` by `telewatch verify --json`"
        )
    roots_paths = app.settings().evidence.tsa_roots
    roots = load_roots(roots_paths)
    try:
        conn = connect(app.db_path)
        check_integrity(conn, app.db_path, quick=False)
    except ArchiveCorrupt as err:
        if as_json:
            _dump({"archive": app.db_name, "status": "damaged", "ok": False, "problem": str(err)})
        else:
            click.echo(f"DAMAGED: {err}", err=True)
        click.get_current_context().exit(1)
    try:
        result = verify_chain(conn, expect_head)
        tokens = check_anchors(conn, roots) if roots else []
        stored = anchor_count(conn)
        files = (
            media_store.verify_files(
                conn, media_store.default_root(app.db_path, app.settings().media.root)
            )
            if check_media
            else None
        )
    except DatabaseError as err:
        if as_json:
            _dump({"archive": app.db_name, "status": "error", "ok": False, "problem": str(err)})
        click.echo(f"error: could not check {app.db_name}: {err}", err=True)
        click.get_current_context().exit(2)
    bad_token = next((t for t in tokens if not t.ok), None)
    ok = result.ok and bad_token is None
    problem = result.problem
    if result.ok and bad_token is not None:
        problem = f"anchor {bad_token.anchor_id} from {bad_token.tsa}: {bad_token.problem}"
    if files is not None and not files.ok and files.problems:
        ok = False
        more = len(files.problems) - 1
        problem = problem or (files.problems[0] + (f" (and {more} more)" if more else ""))
    anchored = max((t.seq for t in tokens if t.ok), default=0)
    if as_json:
        _dump(
            {
                "archive": app.db_name,
                "status": "verified" if ok else "tampered",
                "ok": ok,
                "problem": problem,
                "seq": result.seq,
                "head": {"hash": result.head, "records": result.records, "at": result.at},
                "records": result.records,
                "versions": result.versions,
                "deletions": result.deletions,
                "channel_records": result.channels,
                "engagement_samples": result.samples,
                "capture_sessions": result.captures,
                "raw_payloads": result.raw_payloads,
                "media_records": result.media,
                "media_files": None
                if files is None
                else {"checked": files.files, "bytes": files.bytes, "problems": files.problems},
                "migrated_records": result.migrated,
                "event_records": result.events,
                "expected_head": None
                if expect_head is None
                else {"hash": expect_head.lower(), "found": bool(result.expected),
                      "records_after": result.after_expected},
                "anchors": [dataclasses.asdict(t) for t in tokens],
                "anchors_unchecked": stored if not roots else 0,
                "anchored_upto": anchored,
            }
        )  # fmt: skip
    elif ok:
        click.echo(
            f"ok: {app.db_name}: {result.records} chain records verified"
            f" ({result.versions} versions, {result.deletions} deletions,"
            f" {result.channels} channels, {result.samples} engagement samples,"
            f" {result.captures} capture sessions, {result.raw_payloads} raw payloads,"
            f" {result.events} poll/pin/channel event records, {result.media} media records)"
        )
        if files is not None:
            click.echo(f"media: {files.files} files re-hashed ({files.bytes} bytes), all intact")
        click.echo(f"head: {result.head} (record {result.records}, chained {result.at or '-'})")
        if expect_head is not None:
            click.echo(f"expected head found; {result.after_expected} records chained after it")
        if tokens:
            click.echo(
                f"anchors: {len(tokens)} RFC 3161 token(s) verified against tsa_roots;"
                f" records 1..{anchored} anchored"
                + (
                    f", {result.records - anchored} newer not yet"
                    if anchored < result.records
                    else ""
                )
            )
        elif stored:
            click.echo(
                f"anchors: {stored} token(s) NOT checked: set [evidence] tsa_roots to the"
                " authorities' root certificates",
                err=True,
            )
        else:
            click.echo("anchors: none (run `telewatch anchor` with [evidence] tsa configured)")
    else:
        click.echo(
            f"TAMPERED: {app.db_name}: {printable(problem or '', multiline=False)}", err=True
        )
        for extra in (files.problems or [])[1:] if files is not None else []:
            click.echo(f"  also: {printable(extra, multiline=False)}", err=True)
    if not ok:
        click.get_current_context().exit(1)


def _is_hash(value: str) -> bool:
    v = value.strip().lower()
    return len(v) == 64 and all(c in "0123456789abcdef" for c in v)
