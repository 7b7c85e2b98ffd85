"""Atom 1.0 feeds of archived posts, written with feedgen.

One entry per post: ``id`` is stable for the post (``urn:telewatch:post:
<channel id>:<message id>``), so an edit updates the entry instead of adding
one; ``link`` is the t.me link; ``published`` is the Telegram publication
time; ``updated`` is the archive's newest capture of the post (its latest
version, or the deletion when it came later). A post Telegram deleted keeps
its entry with ``[deleted]`` in the title, the category ``deleted`` and the
detection time in the content; an edited one says ``[edited]`` and its
version count. Categories also carry the alert hit kinds (``hit:new`` …).

Archived text is hostile: characters XML 1.0 cannot carry (C0 controls
other than tab/newline/CR, lone surrogates, U+FFFE/U+FFFF) become U+FFFD,
and the text goes into the content as escaped HTML (``type="html"``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import quote

from feedgen.feed import FeedGenerator

from telewatch import __version__
from telewatch.store.db import Connection
from telewatch.store.entries import FeedEntry, alert_entries, channel_entries, post_entries
from telewatch.store.queries import search

_INVALID_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_TITLE_CHARS = 90


def xml_safe(text: str) -> str:
    """``text`` with every character XML 1.0 forbids replaced by U+FFFD."""
    return _INVALID_XML.sub("\ufffd", text)


def _dt(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def entry_id(channel_id: int, message_id: int) -> str:
    """The Atom id of a post's entry (stable across edits and renames)."""
    return f"urn:telewatch:post:{channel_id}:{message_id}"


def _channel_label(e: FeedEntry) -> str:
    if e.channel_title and e.username:
        return f"{e.channel_title} (@{e.username})"
    return e.channel_title or (f"@{e.username}" if e.username else str(e.channel_id))


def _title(e: FeedEntry) -> str:
    first = next((ln.strip() for ln in e.text.splitlines() if ln.strip()), "")
    if not first:
        first = f"[{e.media_kind}]" if e.media_kind else "(no text)"
    if len(first) > _TITLE_CHARS:
        first = first[: _TITLE_CHARS - 1] + "…"
    marks = ""
    if e.deleted_at:
        marks += "[deleted] "
    if e.version_count > 1:
        marks += "[edited] "
    return f"{marks}{e.channel_title or e.username or e.channel_id}: {first}"


def _content(e: FeedEntry) -> str:
    body = html.escape(e.text).replace("\n", "<br/>\n") if e.text else ""
    facts = [
        f"Channel: {html.escape(_channel_label(e))}",
        f"Published on Telegram: {e.date}",
        f"Captured by the archive: {e.first_seen}",
    ]
    if e.forward_from:
        facts.append(f"Forwarded from: {html.escape(e.forward_from)}")
    if e.media_kind:
        facts.append(f"Media: {html.escape(e.media_kind)}")
    if e.version_count > 1:
        facts.append(
            f"Edited: {e.version_count} versions archived, latest captured {e.captured_at}"
        )
    if e.deleted_at:
        facts.append(f"DELETED on Telegram: detected {e.deleted_at} (the archive keeps the post)")
    if e.hit_kinds:
        facts.append(f"Alert hits: {', '.join(e.hit_kinds)}")
    facts.append(f'<a href="{html.escape(e.url)}">{html.escape(e.url)}</a>')
    return (f"<p>{body}</p>\n" if body else "") + "<p>" + "<br/>\n".join(facts) + "</p>"


def build_feed(
    entries: Sequence[FeedEntry],
    *,
    feed_id: str,
    title: str,
    subtitle: str | None = None,
    self_url: str | None = None,
    now: datetime | None = None,
) -> bytes:
    """The Atom document (UTF-8 bytes) for ``entries`` in the given order.

    ``feed_id`` must be stable for the feed (``urn:telewatch:…``); ``updated``
    is the newest entry's, or ``now`` for an empty feed."""
    fg = FeedGenerator()
    fg.id(xml_safe(feed_id))
    fg.title(xml_safe(title))
    if subtitle:
        fg.subtitle(xml_safe(subtitle))
    fg.author({"name": "telewatch archive"})
    fg.generator("telewatch", version=__version__)
    if self_url:
        fg.link(href=xml_safe(self_url), rel="self", type="application/atom+xml")
    newest = max((e.updated for e in entries), default=None)
    fg.updated(_dt(newest) if newest else (now or datetime.now(UTC)).replace(microsecond=0))
    for e in entries:
        fe = fg.add_entry(order="append")
        fe.id(entry_id(e.channel_id, e.message_id))
        fe.title(xml_safe(_title(e)))
        fe.link(href=xml_safe(e.url), rel="alternate", type="text/html")
        fe.author({"name": xml_safe(_channel_label(e))})
        fe.published(_dt(e.date))
        fe.updated(_dt(e.updated))
        fe.content(xml_safe(_content(e)), type="html")
        cats = [{"term": f"hit:{k}", "label": f"alert hit: {k}"} for k in e.hit_kinds]
        if e.deleted_at:
            cats.append({"term": "deleted", "label": "deleted on Telegram"})
        if e.version_count > 1:
            cats.append({"term": "edited", "label": "edited"})
        if cats:
            fe.category(cats)
    out: bytes = fg.atom_str(pretty=True)
    return out


def alert_feed(
    conn: Connection, rule: str, *, limit: int = 50, self_url: str | None = None
) -> bytes:
    """The feed of alert rule ``rule``: the posts it fired on, most recently hit first."""
    return build_feed(
        alert_entries(conn, rule, limit),
        feed_id=f"urn:telewatch:alert:{quote(rule, safe='')}",
        title=f"telewatch alert: {rule}",
        subtitle=f"Posts the alert rule {rule!r} fired on (new, edited, deleted)",
        self_url=self_url,
    )


def channel_feed(
    conn: Connection,
    channel_id: int,
    label: str,
    *,
    limit: int = 50,
    self_url: str | None = None,
) -> bytes:
    """The feed of one channel: its newest posts as archived."""
    return build_feed(
        channel_entries(conn, channel_id, limit),
        feed_id=f"urn:telewatch:channel:{channel_id}",
        title=f"telewatch archive: {label}",
        subtitle=f"Posts of {label} as the archive captured them, edits and deletions included",
        self_url=self_url,
    )


def search_feed(
    conn: Connection, query: str, *, limit: int = 50, self_url: str | None = None
) -> bytes:
    """The feed of a full-text search (``telewatch search`` rules), best first.
    Raises UserError for a query with no words."""
    hits = search(conn, query, limit=limit)
    return build_feed(
        post_entries(conn, [(h.channel_id, h.message_id) for h in hits]),
        feed_id=f"urn:telewatch:search:{quote(query, safe='')}",
        title=f"telewatch search: {query}",
        subtitle=f"Archived posts matching {query!r}",
        self_url=self_url,
    )
