"""Archive benchmarks: import rate, search latency, bytes per post.

* Import: a generated Telegram Desktop export (IMPORT_POSTS multilingual
  posts) through ``import_paths`` into a fresh archive (parsing, FTS,
  versions and hash chain included), against a plain ``sqlite3``
  ``executemany`` of the same rows into a bare table, in the same run.
* Check: seconds of SQLite's quick_check / integrity_check on the search
  archive (``python -m bench store:check``).
* Search: p50/p95/max of ``queries.search`` over an archive of SEARCH_POSTS
  generated posts (Arabic, Persian, Russian, English, French), built once
  and cached under CACHE (delete the directory to rebuild).

Environment: TELEWATCH_BENCH_POSTS (default 1,000,000) sizes the search
archive, TELEWATCH_BENCH_IMPORT (default 200,000) the import export.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import sqlite3
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

from telewatch.sources.desktop_export import ExportReader, import_paths
from telewatch.store.db import connect
from telewatch.store.queries import search

CACHE = Path(os.environ.get("TELEWATCH_BENCH_CACHE", "/tmp/telewatch-bench"))
SEARCH_POSTS = int(os.environ.get("TELEWATCH_BENCH_POSTS", "1000000"))
IMPORT_POSTS = int(os.environ.get("TELEWATCH_BENCH_IMPORT", "200000"))
EPOCH = 1_640_995_200  # 2022-01-01T00:00:00Z

_VOCAB_TEXT = {
    "ar": (
        "قوات الاحتلال الأمريكي رتل للدعم اللوجستي استهداف بعبوة ناسفة على الطريق الدولي"
        " في مصادر محلية أفادت بأن الانفجار وقع صباح اليوم قرب مدينة وأسفر عن أضرار مادية"
        " دون خسائر بشرية المقاومة الإسلامية بيان رسمي خلية الإعلام الأمني وزارة الداخلية"
        " الحشد الشعبي الجيش العراقي طائرات مسيرة قصف مواقع تنظيم داعش الإرهابي اعتقال"
        " متهمين أسعار الدولار ارتفاع الذهب السوق المحلية الطقس غائم جزئيا درجات الحرارة"
        " الزائرين الكاظمية المقدسة حكومة البرلمان الانتخابات رئيس الوزراء عاجل صور فيديو"
    ),
    "fa": (
        "نیروهای آمریکایی کاروان لجستیک حمله بمب کنار جاده منابع عراقی گزارش دادند انفجار"
        " امروز صبح نزدیک شهر خسارت مالی تلفات جانی گروه های مقاومت بیانیه رسمی وزارت کشور"
        " عراق ایران قیمت دلار طلا بازار تهران زائران اربعین کربلا نجف دولت مجلس انتخابات"
        " فوری خبر گزارش پهپاد پایگاه هوایی موشک آژیر خطر بیمارستان مصدوم جان باختند"
    ),
    "ru": (
        "американский конвой подорван на трассе возле города по данным местных источников"
        " взрыв произошёл утром пострадавших нет военные заявили министерство обороны"
        " сообщает агентство беспилотник атаковал базу ракета упала на территории аэропорта"
        " курс доллара вырос рынок цены на хлеб правительство парламент выборы срочно"
        " Самаре Москве Киеве Багдаде Ираке Сирии переговоры в Вене"
    ),
    "en": (
        "a US logistics convoy was hit by a roadside bomb on the international highway near"
        " the city according to local sources the blast happened this morning with no"
        " casualties security media cell statement ministry of interior militia drone strike"
        " rocket landed inside the base sirens sounded airport prices dollar rate rose"
        " market government parliament election breaking news report officials said"
    ),
    "fr": (
        "un convoi logistique américain a été visé par un engin explosif sur l'autoroute"
        " internationale près de la ville selon des sources locales l'explosion a eu lieu ce"
        " matin sans faire de victimes communiqué officiel ministère de l'intérieur frappe"
        " de drone roquette tombée dans la base sirènes aéroport prix du dollar marché"
        " gouvernement parlement élections dernière minute chaînes Telegram irakiennes"
    ),
}
_VOCAB = {lang: text.split() for lang, text in _VOCAB_TEXT.items()}
_PLACES = {
    "ar": ["السماوة", "بالسماوة", "الديوانية", "بغداد", "ببغداد", "الرمادي", "الفلوجة", "كركوك",
           "السّماوة", "الناصرية", "البصرة", "الموصل", "سنجار", "الرطبة", "الحويجة"],
    "fa": ["سماوه", "دیوانیه", "بغداد", "کربلا", "نجف", "کوت", "تهران", "مشهد", "اصفهان"],
    "ru": ["Самара", "Самаре", "Москва", "Киев", "Багдад", "Харьков", "Одесса", "Донецк"],
    "en": ["Samawa", "Diwaniyah", "Diwaniya's", "Baghdad", "Ramadi", "Fallujah", "Kirkuk",
           "Basra", "Mosul", "Sinjar", "Nasiriyah"],
    "fr": ["Samawa", "Diwaniya", "Bagdad", "Ramadi", "Falloujah", "Kirkouk", "Bassora", "Mossoul"],
}  # fmt: skip
_LANGS = ["ar", "ar", "ar", "fa", "fa", "ru", "en", "en", "fr"]
QUERIES = [
    "السماوة", "الديوانية عبوة", "بغداد", "قوات الاحتلال رتل", "سماوه", "کاروان آمریکایی",
    "Самара", "конвой Самаре", "Samawa convoy", "Diwaniya", "Baghdad airport rocket",
    "convoi Samawa", "sirènes aéroport", "Kirkuk drone", "الحويجة", "dollar rate",
]  # fmt: skip


CHANNELS = 5  # the search archive spreads its posts over this many channels


def generate_posts(n: int, seed: int = 7) -> Iterator[tuple[int, int, str]]:
    """(message id, unix time, text) of ``n`` realistic multilingual posts."""
    rnd = random.Random(seed)
    t = EPOCH
    for i in range(1, n + 1):
        lang = rnd.choice(_LANGS)
        words = _VOCAB[lang]
        places = _PLACES[lang]
        parts = [rnd.choice(words) for _ in range(rnd.randint(18, 60))]
        for _ in range(rnd.randint(1, 3)):
            parts.insert(rnd.randrange(len(parts)), rnd.choice(places))
        t += rnd.randint(5, 120)
        yield i, t, " ".join(parts)


def write_export(path: Path, n: int, channel_id: int = 1_900_000_001, seed: int = 7) -> None:
    """A Telegram Desktop export with ``n`` generated posts."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps({"name": "Bench", "type": "public_channel", "id": channel_id})[:-1])
        fh.write(', "messages": [\n')
        for i, (mid, ts, text) in enumerate(generate_posts(n, seed)):
            msg = {"id": mid, "type": "message", "date": "", "date_unixtime": str(ts),
                   "from": "Bench", "from_id": f"channel{channel_id}", "text": text,
                   "text_entities": [{"type": "plain", "text": text}]}  # fmt: skip
            fh.write(("," if i else "") + json.dumps(msg, ensure_ascii=False) + "\n")
        fh.write("]}\n")


def bench_import() -> None:
    """Import rate vs a bare executemany of the same rows."""
    export = CACHE / f"export-{IMPORT_POSTS}" / "result.json"
    if not export.exists():
        write_export(export, IMPORT_POSTS)
    size_mb = export.stat().st_size / 1e6

    db = CACHE / "import-bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    own0, kids0 = _cpu()
    t0 = time.perf_counter()
    summary = import_paths(db, [export])
    dt_import = time.perf_counter() - t0
    own1, kids1 = _cpu()
    assert summary.new_posts == IMPORT_POSTS, summary

    # Baseline: parse the same export to rows, then a bare executemany.
    t0 = time.perf_counter()
    rows = []
    for item in ExportReader(export):
        if hasattr(item, "post"):
            p = item.post  # type: ignore[union-attr]
            rows.append((p.channel_id, p.message_id, p.date.isoformat(), p.text))
    dt_parse = time.perf_counter() - t0
    bare = CACHE / "bare-bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{bare}{suffix}").unlink(missing_ok=True)
    conn = sqlite3.connect(bare, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE bare(channel_id INTEGER, message_id INTEGER, date TEXT, text TEXT)")
    t0 = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO bare VALUES (?,?,?,?)", rows)
    conn.execute("COMMIT")
    dt_bare = time.perf_counter() - t0
    conn.close()

    rate = IMPORT_POSTS / dt_import
    bare_rate = IMPORT_POSTS / dt_bare
    bare_parse_rate = IMPORT_POSTS / (dt_bare + dt_parse)
    print(f"import: {IMPORT_POSTS:,} posts ({size_mb:.0f} MB export) in {dt_import:.2f} s"
          f" = {rate:,.0f} posts/s (parse + FTS + versions + chain, one transaction)")  # fmt: skip
    print(f"bare executemany of the same rows: {bare_rate:,.0f} rows/s"
          f" (parse + bare insert: {bare_parse_rate:,.0f} rows/s)")  # fmt: skip
    # CPU seconds do not depend on what else runs on the machine: they show
    # which side of the import bounds it and what an idle machine could do.
    w_us = (own1 - own0) / IMPORT_POSTS * 1e6
    p_us = (kids1 - kids0) / IMPORT_POSTS * 1e6
    if p_us > 0:
        print(f"import CPU per post: writer process {w_us:.1f} us, parser process {p_us:.1f} us"
              f" (bound on 2 idle cores: {1e6 / max(w_us, p_us):,.0f} posts/s)")  # fmt: skip
    else:
        print(f"import CPU per post: {w_us:.1f} us (one process)")
    print(f"ratio import / bare executemany: {rate / bare_rate:.2f};"
          f" import / (parse + bare executemany): {rate / bare_parse_rate:.2f}")  # fmt: skip
    size = sum(Path(f"{db}{s}").stat().st_size for s in ("", "-wal") if Path(f"{db}{s}").exists())
    print(f"archive size: {size / 1e6:.1f} MB = {size / IMPORT_POSTS:,.0f} bytes/post"
          f" (export {export.stat().st_size / IMPORT_POSTS:,.0f} bytes/post)")  # fmt: skip
    # verify: recompute the chain and check every row and derived column.
    from telewatch.store.chain import verify

    conn = connect(db)
    t0 = time.perf_counter()
    result = verify(conn)
    dt_verify = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    conn.close()
    print(f"verify: {result.records:,} chain records in {dt_verify:.2f} s"
          f" = {result.records / dt_verify:,.0f} records/s (ok={result.ok}; peak RSS {peak:.0f} MB)")  # fmt: skip
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
        Path(f"{bare}{suffix}").unlink(missing_ok=True)


def _cpu() -> tuple[float, float]:
    """(CPU seconds of this process, of its finished children)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime


def bench_text(n: int = 50_000) -> None:
    """The text half of preparing a post (normalise, tokens, stems, language)."""
    from telewatch.text import analyze

    texts = [text for _, _, text in generate_posts(n, seed=13)]
    t0 = time.process_time()
    for text in texts:
        analyze(text)
    dt = time.process_time() - t0
    print(f"text analysis (index text + language): {dt / n * 1e6:.1f} us/post CPU")


def bench_writer(n: int = 50_000) -> None:
    """The daemon's path: PostSeen events through the asyncio Writer."""
    from datetime import UTC, datetime

    from telewatch.models import Post, PostSeen
    from telewatch.store.writer import Writer

    db = CACHE / "writer-bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    seen = datetime.now(UTC)
    events = [
        PostSeen(Post(1_900_000_201, mid, datetime.fromtimestamp(ts, UTC), text), seen, "live")
        for mid, ts, text in generate_posts(n, seed=11)
    ]

    async def run() -> float:
        t0 = time.perf_counter()
        async with Writer(db) as w:
            for ev in events:
                await w.put(ev)
            await w.flush()
        return time.perf_counter() - t0

    dt = asyncio.run(run())
    print(f"writer: {n:,} live PostSeen events through Writer (batches of 500, one thread"
          f" for SQLite) in {dt:.2f} s = {n / dt:,.0f} posts/s")  # fmt: skip
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def _search_archive() -> Path:
    db = CACHE / f"search-{SEARCH_POSTS}.db"
    if db.exists():
        _migrate_timed(db)  # a cache from an older telewatch
        return db
    per = SEARCH_POSTS // CHANNELS
    print(f"building the {SEARCH_POSTS:,}-post search archive (cached in {CACHE}) ...", flush=True)
    t0 = time.perf_counter()
    tmp = db.with_suffix(".building")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    for k in range(CHANNELS):
        export = CACHE / f"search-export-{k}" / "result.json"
        write_export(export, per, channel_id=1_900_000_101 + k, seed=100 + k)
        import_paths(tmp, [export])
        export.unlink()
        export.parent.rmdir()
    conn = sqlite3.connect(tmp)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    tmp.rename(db)
    print(f"built search archive in {time.perf_counter() - t0:.0f} s", flush=True)
    return db


def _migrate_timed(db: Path) -> None:
    """Bring a cached archive to the current schema, printing how long a
    migration took when one ran."""
    from telewatch.store.db import migrate
    from telewatch.store.schema import SCHEMA_VERSION

    conn = sqlite3.connect(db)
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    conn.close()
    if version < SCHEMA_VERSION:
        t0 = time.perf_counter()
        migrate(db)
        print(f"migrated cached {db.name} from schema {version} to {SCHEMA_VERSION}"
              f" in {time.perf_counter() - t0:.1f} s")  # fmt: skip


def _p95(times: list[float]) -> str:
    times = sorted(times)
    p95 = times[max(0, int(len(times) * 0.95) - 1)]
    return (
        f"p50 {statistics.median(times) * 1e3:.1f} ms, p95 {p95 * 1e3:.1f} ms,"
        f" max {times[-1] * 1e3:.1f} ms over {len(times)} queries"
    )


def bench_search() -> None:
    """Latency of typical searches (plain mode, limit 20) on the big archive:
    unfiltered, by channel, and in a 7-day window (xref's shape)."""
    from datetime import datetime, timedelta

    db = _search_archive()
    conn = connect(db)
    posts = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
    channels = [r[0] for r in conn.execute("SELECT id FROM channels ORDER BY id")]
    lo, hi = conn.execute("SELECT min(date), max(date) FROM posts").fetchone()
    start = datetime.fromisoformat(lo.replace("Z", "+00:00"))
    span = (datetime.fromisoformat(hi.replace("Z", "+00:00")) - start).days
    for q in QUERIES:  # warm the page cache once
        search(conn, q)
    plain: list[float] = []
    by_channel: list[float] = []
    windowed: list[float] = []
    per_query: dict[str, float] = {}
    for rep in range(3):
        for i, q in enumerate(QUERIES):
            t0 = time.perf_counter()
            hits = search(conn, q, limit=20)
            dt = time.perf_counter() - t0
            plain.append(dt)
            per_query[q] = max(per_query.get(q, 0.0), dt)
            assert hits, q
            t0 = time.perf_counter()
            search(conn, q, channel_id=channels[(i + rep) % len(channels)])
            by_channel.append(time.perf_counter() - t0)
            since = start + timedelta(days=(i * 7 + rep * 3) % max(1, span - 7))
            t0 = time.perf_counter()
            search(conn, q, since=since, until=since + timedelta(days=7))
            windowed.append(time.perf_counter() - t0)
    print(f"search on {posts:,} posts ({len(channels)} channels): {_p95(plain)}")
    slow = sorted(per_query.items(), key=lambda kv: -kv[1])[:3]
    print("  slowest: " + ", ".join(f"{q!r} {t * 1e3:.0f} ms" for q, t in slow))
    print(f"search --channel: {_p95(by_channel)}")
    print(f"search in a 7-day window: {_p95(windowed)}")
    size = db.stat().st_size
    print(f"search archive size: {size / 1e6:.0f} MB = {size / posts:,.0f} bytes/post")


def bench_check() -> None:
    """SQLite's quick_check (run before every write session: import, daemon
    start) and integrity_check (run by `telewatch verify`) on the search
    archive, cold page cache not forced (the file was just read or built)."""
    from telewatch.store.db import check_integrity

    db = _search_archive()
    size = db.stat().st_size
    for quick in (True, False):
        conn = connect(db)
        t0 = time.perf_counter()
        check_integrity(conn, db, quick=quick)
        took = time.perf_counter() - t0
        conn.close()
        name = "quick_check" if quick else "integrity_check"
        print(f"{name} on {SEARCH_POSTS:,} posts ({size / 2**20:.0f} MiB): {took:.1f} s")


def main(parts: list[str] | None = None) -> None:
    """Print the archive figures (see module docs); ``parts`` picks some of
    import, text, writer, search, check (``python -m bench store:check``)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    benches = {
        "import": bench_import,
        "text": bench_text,
        "writer": bench_writer,
        "search": bench_search,
        "check": bench_check,
    }
    for name in parts or list(benches):
        benches[name]()


if __name__ == "__main__":
    main()
