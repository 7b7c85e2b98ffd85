"""``telewatch migrate --to``: copy the archive into PostgreSQL or back (store.copy)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from telewatch.cli import AppContext, main


def _shown(address: Path) -> str:
    from telewatch.store import db, pg

    url = db.pg_address(address)
    return pg.masked(url) if url is not None else str(address)


@main.command("migrate", short_help="Copy the archive into PostgreSQL or back to a file.")
@click.option(
    "--to",
    "target",
    required=True,
    type=click.Path(path_type=Path),
    help="The copy: a postgresql://user@host/db address, or a SQLite file path.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option(
    "--batch",
    "batch_rows",
    type=click.IntRange(1, 1_000_000),
    default=5000,
    show_default=True,
    help="Rows per transaction (an interrupted copy resumes after the last one).",
)
@click.pass_obj
def migrate_cmd(app: AppContext, target: Path, quiet: bool, as_json: bool, batch_rows: int) -> None:
    """Copy the archive (--db) into TARGET, chain included: a SQLite file
    into a PostgreSQL database (postgresql://…), or PostgreSQL back into a
    file. Run it again after an interruption and it continues where it
    stopped. Afterwards the copy is verified: its hash chain recomputed and
    its head compared with the source's (exit 1 if they differ)."""
    from telewatch.cli.archive import _progress
    from telewatch.store.chain import head, verify
    from telewatch.store.copy import copy_archive
    from telewatch.store.db import connect

    source = app.db_path
    with _progress(not quiet and not as_json) as update:
        res = copy_archive(source, target, progress=update, batch_rows=batch_rows)
    src = connect(source)
    try:
        src_head = head(src).hash
    finally:
        src.close()
    dst = connect(target)
    try:
        check = verify(dst)
    finally:
        dst.close()
    same = check.ok and check.head == src_head
    summary = {
        "source": app.db_name,
        "target": _shown(target),
        "rows_copied": sum(res.copied.values()),
        "rows_already_there": res.already,
        "rows": res.total,
        "search_entries": res.fts_rows,
        "head": check.head,
        "source_head": src_head,
        "verified": check.ok,
        "ok": same,
    }
    if as_json:
        click.echo(json.dumps(summary))
    elif same:
        click.echo(
            f"copied {summary['rows_copied']} rows ({res.already} already there) from"
            f" {summary['source']} to {summary['target']}; verified {check.records} chain"
            f" records, head {check.head} (same as the source)"
        )
    else:
        why = check.problem if not check.ok else f"head {check.head} != source {src_head}"
        click.echo(f"error: the copy in {summary['target']} does not verify: {why}", err=True)
    if not same:
        click.get_current_context().exit(1)
