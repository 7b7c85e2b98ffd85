"""Cross-referencing: from an article to the posts it cites, and from a post
to its copies (docs/XREF.md).

Entry points: ``rank.cross_reference(conn, article)`` (``article.read_article``
reads a file, HTML, URL or stdin), ``provenance.trace(conn, channel_id,
message_id)`` and ``evaluate.eval_xref`` / ``eval_trace``. Reads use a
``store.db.connect`` connection; the SQL of ``candidates`` and
``provenance`` is ``store.xref``. The only writes are the embeddings cache
(``semantic`` → ``store.embeddings``) and the watch list (``--watch``,
``candidates.add_to_watchlist`` → ``store.watchlist``).
"""

from __future__ import annotations
