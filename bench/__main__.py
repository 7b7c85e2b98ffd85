"""Run every benchmark: each ``bench/bench_*.py`` module has ``main() -> None``
that prints its figures. ``python -m bench NAME...`` runs only those;
``NAME:PART,PART`` passes the parts to a module whose ``main`` takes them
(``python -m bench daemon:rss``)."""

from __future__ import annotations

import importlib
import os
import platform
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = sorted(p.stem for p in here.glob("bench_*.py"))
    wanted: list[tuple[str, list[str]]] = []
    for arg in argv:
        name, _, parts = arg.partition(":")
        name = name if name.startswith("bench_") else f"bench_{name}"
        wanted.append((name, [p for p in parts.split(",") if p]))
    wanted = wanted or [(n, []) for n in names]
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} "
        f"python {platform.python_version()} cpus={os.cpu_count()}"
    )
    for name, parts in wanted:
        if name not in names:
            print(f"error: no benchmark {name!r}; have: {', '.join(names)}", file=sys.stderr)
            return 2
        print(f"\n== {name}")
        t0 = time.perf_counter()
        module = importlib.import_module(f"bench.{name}")
        if parts:
            module.main(parts)
        else:
            module.main()
        print(f"({name} took {time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
