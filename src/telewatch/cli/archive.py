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
    resolve_channel,
    resolve_post_ref,
    search,
)
from telewatch.text import json_printable, printable, quoted


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
        name = _line(f"@{f.username}" if f.username else (f.title or str(f.channel_id)))
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
    lo, hi = _window(since, until)
    conn = connect(app.db_path)
    channel_id = resolve_channel(conn, channel_ref).id if channel_ref is not None else None
    hits = search(
        conn,
        query,
        channel_id=channel_id,
        since=lo,
        until=hi,
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
        origin = f.name or (str(f.channel_id) if f.channel_id else "?")
        extra = f"/{f.message_id}" if f.message_id else ""
        click.echo(
            _line(f"forwarded  from {origin}{extra}" + (f" ({_when(f.date)})" if f.date else ""))
        )
    if d.reply_to:
        click.echo(f"reply to   {d.reply_to}")
    if d.media:
        m = d.media
        size = f", {m.width}x{m.height}" if m.width and m.height else ""
        click.echo(_line(f"media      {m.kind}{f' {m.mime}' if m.mime else ''}{size}"))
    if d.deletion:
        click.echo(
            click.style("DELETED", fg="red", bold=True)
            + _line(f"    detected {_when(d.deletion.detected_at)} ({d.deletion.method})")
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
        prev = v


# --------------------------------------------------------------------------
# export
# --------------------------------------------------------------------------


@main.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv"]),
    default=None,
    help="jsonl (default) or csv.",
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
    excel: bool,
    csv_raw: bool,
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
    style = CsvStyle(excel=excel, raw=csv_raw, terminal=output is None and sys.stdout.isatty())
    lo, hi = _window(since, until)
    conn = connect(app.db_path)
    channel_id = resolve_channel(conn, channel_ref).id if channel_ref is not None else None
    rows = export_rows(conn, channel_id=channel_id, since=lo, until=hi)
    if output is None:
        try:
            _write_rows(sys.stdout, fmt, rows, style)
        except BrokenPipeError:
            # `telewatch export | head`: the reader left; that is not an error.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            click.get_current_context().exit(0)
    else:
        with output.open("w", encoding="utf-8", newline="") as fh:
            n = _write_rows(fh, fmt, rows, style)
        click.echo(f"exported {n} posts to {output}", err=True)


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
    fh: IO[str], fmt: str, rows: Iterator[dict[str, Any]], style: CsvStyle | None = None
) -> int:
    n = 0
    st = style or CsvStyle()
    if fmt == "csv":
        if st.excel:
            fh.write("\ufeff")
        writer = csv.DictWriter(fh, fieldnames=list(EXPORT_FIELDS), lineterminator="\r\n")
        writer.writeheader()
        for r in rows:
            if not st.raw:
                # A string cell starting like a formula gets a leading ' (shown as
                # text, never evaluated); numbers are never prefixed. In place:
                # export_rows yields a fresh dict per post.
                for k, v in r.items():
                    if type(v) is str and v[:1] in _FORMULA_CHARS:
                        r[k] = "'" + v
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
