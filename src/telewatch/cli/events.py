"""CLI (channel events): ``channels show`` (a channel's history of title,
username, about and photo changes, service messages and pins) and the poll
and pin section of ``show`` (store/events.py)."""

from __future__ import annotations

import json
from typing import Any

import click

from telewatch.cli import AppContext, channels
from telewatch.store import events, photo_files
from telewatch.store import media as media_store
from telewatch.store.db import Connection, connect
from telewatch.store.queries import resolve_channel
from telewatch.text import json_printable, printable


def _line(text: str) -> str:
    return printable(text).replace("\n", " ")


def _when(at: str | None) -> str:
    return at.replace("T", " ").rstrip("Z") if at else "-"


@channels.command("show", short_help="A channel's fields and its history of changes and pins.")
@click.argument("channel_ref", metavar="CHANNEL")
@click.option("--json", "as_json", is_flag=True, help="Print the channel and its history as JSON.")
@click.pass_obj
def channels_show(app: AppContext, channel_ref: str, as_json: bool) -> None:
    """The archived channel's current fields, then every change the archive
    saw, oldest first: title, username, about and photo changes (with the
    time telewatch captured them), service messages (with Telegram's time)
    and posts pinned or unpinned (and how: push, service message or the
    post's pinned flag). Channel photos downloaded into the media store are
    listed with their path, sha256 and size. CHANNEL is @username, username, id or a t.me link."""
    conn = connect(app.db_path)
    try:
        ch = resolve_channel(conn, channel_ref)
        history = events.channel_history(conn, ch.id)
        pinned = events.pinned_now(conn, ch.id)
        photo = events.current_photo(conn, ch.id)
        files = photo_files.of_channel(conn, ch.id)
    finally:
        conn.close()
    # A PostgreSQL archive without [media] root: paths relative to the store.
    root = media_store.optional_root(app.db_path, app.settings().media.root) if files else None
    if as_json:
        doc = {
            "id": ch.id,
            "username": ch.username,
            "title": ch.title,
            "about": ch.about,
            "subscribers": ch.subscribers,
            "pinned": pinned,
            "photo": None if photo is None else {"photo_id": photo[0], "thumb_sha256": photo[1]},
            "photo_files": [
                {
                    "photo_id": f.photo_id,
                    "captured_at": f.captured_at,
                    "stored_at": f.stored_at,
                    "path": str(root / f.path) if root else f.path,
                    "sha256": f.sha256,
                    "size": f.size,
                    "mime": f.mime,
                }
                for f in files
            ],
            "history": [
                {
                    "at": e.at,
                    "what": e.what,
                    "old": e.old,
                    "new": e.new,
                    "captured_at": e.captured_at,
                    "how": e.how,
                    "message_id": e.message_id,
                }
                for e in history
            ],
        }
        click.echo(json_printable(json.dumps(doc, ensure_ascii=False, indent=2)))
        return
    click.echo(click.style(_line(f"{ch.label}  {ch.title or ''}"), bold=True))
    click.echo(f"id         {ch.id}")
    if ch.about:
        click.echo(_line(f"about      {ch.about}"))
    if ch.subscribers is not None:
        click.echo(f"members    {ch.subscribers}")
    click.echo(f"pinned     {', '.join(f'post {i}' for i in pinned) or 'none'}")
    if photo is not None:
        shown = f"photo {photo[0]}" if photo[0] is not None else "none (removed)"
        click.echo(f"photo      {shown}" + (f" (thumb sha256 {photo[1]})" if photo[1] else ""))
    for f in files:
        where = root / f.path if root else f.path
        click.echo(_line(f"photo file photo {f.photo_id} (captured {_when(f.captured_at)}):"
                         f" {where}  sha256 {f.sha256}  {f.size} bytes"))  # fmt: skip
    if not history:
        click.echo("history    no changes seen yet")
        return
    click.echo(f"\n{'when (UTC)':<20} {'what':<22} change")
    for e in history:
        change = f"{e.old} → {e.new}" if e.old is not None else (e.new or "(removed)")
        captured = f"  [captured {_when(e.captured_at)} via {e.how}]"
        click.echo(_line(f"{_when(e.at):<20} {e.what:<22} {change}{captured}"))


def post_events(conn: Connection, channel_id: int, message_id: int) -> dict[str, Any]:
    """The poll (with every sample) and pin history of a post, for ``show --json``."""
    poll = events.poll_of(conn, channel_id, message_id)
    return {
        "poll": None
        if poll is None
        else {
            "question": poll.question,
            "answers": list(poll.answers),
            "multiple": poll.multiple,
            "quiz": poll.quiz,
            "public_voters": poll.public_voters,
            "samples": [
                {
                    "sampled_at": s.sampled_at,
                    "closed": s.closed,
                    "total_voters": s.total_voters,
                    "counts": list(s.counts),
                    "source": s.source,
                }
                for s in poll.samples
            ],
        },
        "pins": [
            {
                "pinned": p.pinned,
                "detected_at": p.detected_at,
                "method": p.method,
                "event_date": p.event_date,
            }
            for p in events.pin_history(conn, channel_id, message_id)
        ],
    }


def print_post_events(conn: Connection, channel_id: int, message_id: int) -> None:
    """The poll and pin lines of ``show``."""
    pins = events.pin_history(conn, channel_id, message_id)
    if pins:
        state = "PINNED" if pins[-1].pinned else "not pinned"
        steps = ", ".join(
            f"{'pinned' if p.pinned else 'unpinned'} {_when(p.event_date or p.detected_at)}"
            f" ({p.method})"
            for p in pins
        )
        click.echo(f"pinned     {state}: {steps}")
    poll = events.poll_of(conn, channel_id, message_id)
    if poll is None:
        return
    kind = ", ".join(
        k
        for k, on in (("multiple choice", poll.multiple), ("quiz", poll.quiz),
                      ("public voters", poll.public_voters))
        if on
    )  # fmt: skip
    click.echo(
        click.style("\n── poll", bold=True)
        + _line(f" {poll.question}")
        + (f" ({kind})" if kind else "")
    )
    last = poll.samples[-1] if poll.samples else None
    for i, answer in enumerate(poll.answers):
        n = last.counts[i] if last else 0
        click.echo(_line(f"  {n:>7}  {answer}"))
    if last is not None:
        state = "closed" if last.closed else "open"
        total = last.total_voters if last.total_voters is not None else "?"
        click.echo(
            f"  {state}, {total} voters as of {_when(last.sampled_at)} ({len(poll.samples)} samples)"
        )
    for s in poll.samples:
        counts = " / ".join(str(c) for c in s.counts)
        state = "closed" if s.closed else "open"
        click.echo(f"  sample {_when(s.sampled_at)}  {counts}  {state} ({s.source})")
