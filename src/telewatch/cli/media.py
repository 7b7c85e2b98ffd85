"""CLI commands (media area): ``telewatch media status|fetch|verify``
(docs/DAEMON.md, "Media")."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from telewatch.cli import AppContext, main
from telewatch.models import Event, MediaProgress, MediaQueued, MediaStored, UserError
from telewatch.store import media as store
from telewatch.store.db import connect, write_transaction
from telewatch.store.queries import ChannelRow, resolve_post_ref
from telewatch.store.writer import apply_events
from telewatch.text import json_printable, printable


@main.group("media", short_help="The media archive: status, fetch a post's files, verify.")
def media() -> None:
    """The files posts carry (photos, videos, documents), stored by SHA-256
    under the media root ([media] root, default media/ beside the archive; a
    PostgreSQL archive needs it set)."""


def _root(app: AppContext) -> Path:
    return store.default_root(app.db_path, app.settings().media.root)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return f"{n} B"


@media.command("status", short_help="Queued, stored, lost and skipped files; disk used vs budget.")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_obj
def status_cmd(app: AppContext, as_json: bool) -> None:
    """References by state, bytes stored (each distinct file once) against
    [media] total_budget and each channel's against channel_budget, and why
    media was lost."""
    settings = app.settings().media
    root = _root(app)  # first: a PostgreSQL archive without [media] root is one error line
    conn = connect(app.db_path)
    st = store.status(conn)
    names = store.channel_usernames(conn)
    if as_json:
        click.echo(
            json_printable(
                json.dumps(
                    {
                        "root": str(root),
                        "states": st.states,
                        "files": st.files,
                        "bytes_stored": st.bytes_stored,
                        "bytes_queued": st.bytes_queued,
                        "total_budget": settings.total_budget,
                        "channels": {str(k): v for k, v in st.per_channel.items()},
                        "channel_budget": settings.channel_budget,
                        "lost_reasons": st.lost_reasons,
                    },
                    ensure_ascii=False,
                    indent=2,
                )
            )
        )
        return
    s = st.states
    click.echo(
        f"references: {s['stored']} stored, {s['queued']} queued, {s['lost']} lost,"
        f" {s['skipped']} skipped, {s['not_in_export']} not in export"
    )
    budget = f" of {_size(settings.total_budget)}" if settings.total_budget else " (no budget)"
    click.echo(
        f"files: {st.files} distinct, {_size(st.bytes_stored)}{budget};"
        f" {_size(st.bytes_queued)} queued; in {printable(str(root), multiline=False)}"
    )
    for cid, n in sorted(st.per_channel.items(), key=lambda kv: -kv[1])[:20]:
        name = f"@{names[cid]}" if cid in names else str(cid)
        cap = f" of {_size(settings.channel_budget)}" if settings.channel_budget else ""
        click.echo(f"  {printable(name, multiline=False):<32} {_size(n)}{cap}")
    for reason, n in sorted(st.lost_reasons.items(), key=lambda kv: -kv[1]):
        click.echo(f"lost: {n} × {printable(reason, multiline=False)}")


@media.command("verify", short_help="Re-hash every stored file (exit 1 if one changed).")
@click.pass_obj
def verify_cmd(app: AppContext) -> None:
    """Re-hash every file of the media store: a file missing, or whose bytes
    no longer have its SHA-256, is named. Exit 0 intact, 1 changed."""
    root = _root(app)
    conn = connect(app.db_path)
    check = store.verify_files(conn, root)
    for problem in check.problems or []:
        click.echo(f"CHANGED: {printable(problem, multiline=False)}", err=True)
    if not check.ok:
        click.get_current_context().exit(1)
    click.echo(f"ok: {check.files} files re-hashed ({_size(check.bytes)}), all intact")


@media.command("fetch", short_help="Download POST's files now, ignoring the policy.")
@click.argument("post_ref", metavar="CHANNEL/ID")
@click.pass_obj
def fetch_cmd(app: AppContext, post_ref: str) -> None:
    """Download the media of POST (CHANNEL/ID, a t.me link) now, whatever
    [media] says (a skipped or lost file too). While the daemon runs (it
    holds the session), the files are queued for it instead."""
    from telewatch.sources.telegram import SessionLock

    settings = app.settings()
    _root(app)  # the files go there: a PostgreSQL archive needs [media] root
    conn = connect(app.db_path)
    channel, message_id = resolve_post_ref(conn, post_ref)
    refs = store.find_ref(conn, channel.id, message_id)
    conn.close()
    label = printable(f"{channel.label}/{message_id}", multiline=False)
    if not refs:
        raise UserError(
            f"{label} has no media in the archive (not archived yet, or a post without a file)"
        )
    todo = [r for r in refs if r.state != "stored"]
    if not todo:
        click.echo(f"{label}: every file is already stored")
        return
    lock = SessionLock(settings.telegram.session)
    try:
        lock.acquire()
    except UserError:
        _write(app.db_path, [_requeue(r) for r in todo])
        click.echo(f"{label}: {len(todo)} file(s) queued; the running daemon downloads them")
        return
    try:
        events, states = asyncio.run(_fetch_now(settings, app.db_path, channel, todo))
    finally:
        lock.release()
    _write(app.db_path, [_requeue(r) for r in todo if r.state in ("skipped", "lost")] + events)
    failed = [
        f"{r.role}: {_last_error(events, r) or state}"
        for r, state in zip(todo, states, strict=True)
        if state != "stored"
    ]
    stored = [e for e in events if isinstance(e, MediaStored)]
    for e in stored:
        click.echo(f"{label} {e.role}: stored {e.sha256} ({_size(e.size)})")
    if failed:
        raise UserError(
            f"{label}: could not download {'; '.join(printable(f, multiline=False) for f in failed)}"
        )


def _requeue(ref: store.MediaRef) -> MediaQueued:
    return MediaQueued(
        ref.channel_id, ref.message_id, "thumb" if ref.role == "thumb" else "file",
        datetime.now(UTC), kind=ref.kind, mime=ref.mime, size=ref.size, file_id=ref.file_id,
        file_unique_id=ref.file_unique_id, version_no=ref.version_no, force=True,
    )  # fmt: skip


def _last_error(events: list[Event], ref: store.MediaRef) -> str | None:
    for e in reversed(events):
        if isinstance(e, MediaProgress) and (e.message_id, e.role) == (ref.message_id, ref.role):
            return e.error
    return None


def _write(db: Path, events: list[Any]) -> None:
    """Apply events in one short transaction (like ``channels add``)."""
    conn = connect(db, readonly=False)
    try:
        with write_transaction(conn):
            st = apply_events(conn, events, [])
    finally:
        conn.close()
    if st.errors:
        raise UserError(f"the archive refused the result: {st.reasons[0]}")


async def _fetch_now(
    settings: Any, db: Path, channel: ChannelRow, refs: list[store.MediaRef]
) -> tuple[list[Event], list[str]]:
    from telewatch.daemon.media import MediaDownloader
    from telewatch.daemon.pacing import Scheduler
    from telewatch.sources.telegram import SourceError, TelegramSource

    if channel.access_hash is None:
        raise UserError(
            f"{channel.label} was only imported, never read from Telegram: its files cannot be"
            " fetched (watch it with `telewatch channels add` first)"
        )
    logging.getLogger("telewatch.telethon").addHandler(logging.NullHandler())
    logging.getLogger("telewatch.telethon").propagate = False
    tg, d = settings.telegram, settings.daemon
    source = TelegramSource(
        tg.session, tg.api_id, tg.api_hash.get_secret_value(),
        proxy=tg.proxy.get_secret_value() if tg.proxy else None,
        flood_sleep_threshold=tg.flood_sleep_threshold,
    )  # fmt: skip
    events: list[Event] = []

    async def put(ev: Event) -> None:
        events.append(ev)

    scheduler = Scheduler(d.budgets, scale=d.rate_scale, max_flood_wait=d.max_flood_wait)
    try:
        try:
            await source.connect()
            if not await source.is_authorized():
                raise UserError("the session is not logged in; run `telewatch login`")
        except SourceError as err:
            raise UserError(f"cannot reach Telegram ({err}); check the network") from None
        source.remember(channel.id, channel.access_hash)
        dl = MediaDownloader(settings.media, settings.channels, db, source, scheduler, put,
                             Counter(), scale=d.rate_scale)  # fmt: skip
        states = [await dl.download(r, force=True) for r in refs]
    finally:
        scheduler.close()
        await source.close()
    return events, states
