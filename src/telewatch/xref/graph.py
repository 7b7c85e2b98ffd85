"""The archive as a channel network for Gephi (``telewatch graph``).

Nodes are channels; a directed edge ``u → v`` of one ``kind`` says content
or attention went from ``u`` to ``v``, aggregated over the period:

* ``forward``: ``v`` forwarded posts of ``u`` (forward header: by id, or by
  display name for Desktop exports, matched to an archived channel's title);
* ``copy`` / ``near-copy``: ``v`` re-published a post of ``u`` without a
  forward header (xref.provenance.copy_pairs: the detector ``trace`` uses);
* ``mention``: ``u``'s posts link to ``t.me/v`` or mention ``@v``.

Each edge has ``weight`` (posts), ``first`` and ``last`` (publication times
of the first and last such post, UTC). Forward origins and mentioned
usernames that are not archived channels are nodes too (``archived`` false).
Self-loops (a channel's own signature, forwards of its own posts) are left
out. The period (``since`` inclusive, ``until`` exclusive) applies to the
dates of the forwarding, copying or mentioning posts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, Any, Literal

import networkx as nx

from telewatch.store import graph as queries
from telewatch.xref.candidates import iso, parse_iso, posts_in_window
from telewatch.xref.provenance import Signatures, copy_pairs

GraphFormat = Literal["gexf", "graphml"]
COPY_WINDOW = timedelta(hours=24)
"""A copy is published within this time of its source (as in ``trace``)."""
_SLICE = timedelta(days=3)


@dataclass
class _Edge:
    weight: int = 0
    first: str = ""
    last: str = ""

    def add(self, n: int, first: str, last: str) -> None:
        self.weight += n
        self.first = min(self.first, first) if self.first else first
        self.last = max(self.last, last)


@dataclass
class GraphSummary:
    """What ``build_graph`` found, for the command's one-line report."""

    nodes: int = 0
    archived: int = 0
    edges: dict[str, int] = field(default_factory=dict)


def _channel_node(c: queries.GraphChannel) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "label": c.title or (f"@{c.username}" if c.username else str(c.id)),
        "archived": True,
        "channel_id": str(c.id),
        "posts": c.posts,
    }
    for key, value in (
        ("username", c.username),
        ("title", c.title),
        ("subscribers", c.subscribers),
        ("lang", c.lang),
    ):
        if value is not None:
            attrs[key] = value
    return attrs


def build_graph(
    conn: Any,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> nx.MultiDiGraph:
    """The channel network of the archive behind ``conn`` (a read-only
    connection) for posts dated in ``[since, until)``; see the module doc."""
    lo = None if since is None else iso(since)
    hi = None if until is None else iso(until)
    g = nx.MultiDiGraph()
    chans = queries.channels(conn, lo, hi)
    for c in chans:
        g.add_node(str(c.id), **_channel_node(c))
    by_name = queries.usernames(conn)
    by_title = queries.titles(conn)
    edges: dict[tuple[str, str, str], _Edge] = {}

    def edge(u: str, v: str, kind: str, n: int, first: str, last: str) -> None:
        if u != v:
            edges.setdefault((u, v, kind), _Edge()).add(n, first, last)

    for r in queries.forwards(conn, lo, hi):
        if r.target_id is not None:
            src = str(r.target_id)
            if src not in g:
                g.add_node(src, label=str(r.target_id), archived=False, channel_id=src)
        elif r.target_name in by_title:
            src = str(by_title[r.target_name])
        else:
            name = r.target_name or "?"
            src = f"name:{name}"
            if src not in g:
                g.add_node(src, label=name, archived=False, title=name)
        edge(src, str(r.channel_id), "forward", r.posts, r.first, r.last)

    for r in queries.mentions(conn, lo, hi):
        name = r.target_name or ""
        if name in by_name:
            dst = str(by_name[name])
        else:
            dst = f"@{name}"
            if dst not in g:
                g.add_node(dst, label=dst, archived=False, username=name)
        edge(str(r.channel_id), dst, "mention", r.posts, r.first, r.last)

    span = queries.date_range(conn, lo, hi)
    if span is not None:
        sigs = Signatures(conn)
        start, end = parse_iso(span[0]), parse_iso(span[1]) + timedelta(seconds=1)
        t = start
        total = max(1, int((end - start) / _SLICE) + 1)
        done = 0
        while t < end:
            t_end = min(t + _SLICE, end)
            # (discussion groups' messages are never in the pool: posts_in_window)
            pool = posts_in_window(conn, t - COPY_WINDOW, t_end, limit=10**9)
            for pair in copy_pairs(pool, sigs, window=COPY_WINDOW, targets=(t, t_end)):
                when = iso(pair.copy.date)
                edge(
                    str(pair.source.channel_id),
                    str(pair.copy.channel_id),
                    pair.kind,
                    1,
                    when,
                    when,
                )
            t = t_end
            done += 1
            if progress is not None:
                progress(done, total)

    for (u, v, kind), e in sorted(edges.items()):
        g.add_edge(
            u, v, key=kind, kind=kind, label=kind, weight=e.weight, first=e.first, last=e.last
        )
    return g


def summarize(g: nx.MultiDiGraph) -> GraphSummary:
    """Node and edge counts by kind."""
    s = GraphSummary(nodes=g.number_of_nodes())
    s.archived = sum(1 for _, a in g.nodes(data=True) if a.get("archived"))
    for _, _, kind in g.edges(data="kind"):
        s.edges[str(kind)] = s.edges.get(str(kind), 0) + 1
    return s


def write_graph(g: nx.MultiDiGraph, fmt: GraphFormat, out: IO[bytes]) -> None:
    """Write ``g`` as GEXF 1.2 or GraphML (networkx's writers) to a binary stream."""
    if fmt == "gexf":
        nx.write_gexf(g, out)
    elif fmt == "graphml":
        nx.write_graphml(g, out)
    else:  # pragma: no cover - the CLI offers only these
        raise ValueError(f"unknown graph format {fmt!r}")
