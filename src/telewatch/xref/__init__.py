"""Cross-referencing: from an article to the posts it cites, and from a post
to its copies (docs/XREF.md).

Entry points: ``rank.cross_reference(conn, article)`` (``article.read_article``
reads a file, HTML, URL or stdin), ``provenance.trace(conn, channel_id,
message_id)`` and ``evaluate.eval_xref`` / ``eval_trace``. Reads use a
``store.db.connect`` connection; the only writes are the embeddings cache
(``--semantic``) and the watch list (``--watch``), both in ``candidates``.
"""

from __future__ import annotations
