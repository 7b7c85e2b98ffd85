"""CLI commands (evidence area): ``anchor`` and ``evidence``; ``verify``
lives with the archive commands (cli/archive.py)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click

from telewatch.cli import AppContext, main
from telewatch.models import UserError
from telewatch.store.db import connect, write_transaction
from telewatch.store.queries import get_post, resolve_post_ref
from telewatch.store.writer import apply_events


@main.command("anchor", short_help="Timestamp the chain head with RFC 3161 authorities.")
@click.option(
    "--tsa",
    "tsas",
    multiple=True,
    metavar="URL",
    help="Authority to ask (default: [evidence] tsa).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@click.pass_obj
def anchor_cmd(app: AppContext, tsas: tuple[str, ...], as_json: bool) -> None:
    """Timestamp the chain head with RFC 3161 authorities and keep each token.

    Every authority in [evidence] tsa (or --tsa) is asked; each token is
    checked against [evidence] tsa_roots and stored in the archive, where
    `telewatch verify` checks it again. Exit 1 when no authority gave one."""
    from telewatch.evidence.tsa import anchor_head, load_roots

    ev = app.settings().evidence
    urls = list(tsas) or list(ev.tsa)
    if not urls:
        raise UserError(
            'no time-stamping authority: set [evidence] tsa = ["https://…"] in the config'
            " or pass --tsa URL"
        )
    roots = load_roots(ev.tsa_roots)
    conn = connect(app.db_path, readonly=False)
    try:
        attempts = anchor_head(conn, urls, roots, timeout=ev.timeout)
        if not attempts:
            raise UserError(f"archive {app.db_name} has no chain records yet: nothing to anchor")
        events = [a.event for a in attempts if a.event is not None]
        if events:
            with write_transaction(conn):
                st = apply_events(conn, events, ())
            if st.errors:
                raise UserError(f"cannot store the tokens ({st.reasons[0]})")
    finally:
        conn.close()
    if as_json:
        out = [
            {"tsa": a.tsa, "seq": a.seq, "hash": a.hash, "stored": a.event is not None,
             "gen_time": a.event.gen_time.isoformat()[:19] + "Z" if a.event else None,
             "problem": a.problem}
            for a in attempts
        ]  # fmt: skip
        click.echo(json.dumps(out, indent=2))
    else:
        for a in attempts:
            if a.event is not None:
                click.echo(
                    f"anchored record {a.seq} ({a.hash}) with {a.tsa}:"
                    f" token of {a.event.gen_time.isoformat()[:19]}Z stored"
                    + ("" if roots else " (not checked: set [evidence] tsa_roots)")
                )
            else:
                click.echo(f"{a.tsa}: no token ({a.problem})", err=True)
    if not any(a.event for a in attempts):
        click.get_current_context().exit(1)


@main.command("evidence", short_help="Write a self-checking evidence bundle for posts.")
@click.argument("post_refs", nargs=-1, required=True, metavar="CHANNEL/ID...")
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="The bundle to write (a .zip).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def evidence_cmd(app: AppContext, post_refs: tuple[str, ...], output: Path, as_json: bool) -> None:
    """Write an evidence bundle for posts: every version with its raw
    payload, the chain records and hashes up to an anchored head, the RFC
    3161 tokens and trust roots, a verify.py anyone can run with plain
    Python (no telewatch), and a README.txt saying what it proves."""
    from telewatch.evidence.bundle import PostRef, write_bundle

    roots = app.settings().evidence.tsa_roots
    conn = connect(app.db_path)
    refs: list[PostRef] = []
    for text in post_refs:
        channel, mid = resolve_post_ref(conn, text)
        detail = get_post(conn, channel.id, mid)
        if detail is None:
            raise UserError(f"{channel.label}/{mid} is not in the archive")
        if all((r.channel_id, r.message_id) != (channel.id, mid) for r in refs):
            refs.append(PostRef(channel.id, mid, f"{channel.label}/{mid}", detail.url))
    if not output.parent.is_dir():
        raise UserError(f"cannot write {output}: folder {output.parent} does not exist")
    summary = write_bundle(conn, refs, output, roots)
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(summary), default=str, indent=2))
        return
    click.echo(
        f"wrote {output}: {summary.posts} post(s), {summary.versions} version(s),"
        f" chain records {summary.from_seq}..{summary.to_seq}, {summary.anchors} RFC 3161 token(s)"
    )
    if not summary.anchored:
        click.echo(
            "note: no anchor covers these records yet (run `telewatch anchor` first for a"
            " timestamped bundle)",
            err=True,
        )
    click.echo(f"check it: unzip {output.name} && cd evidence && python3 -I verify.py")
