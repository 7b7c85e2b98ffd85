"""The download policy's decisions (daemon/media.py ``events_for``) on real
TL messages (built by the emulator, converted by sources.telegram)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from telewatch.config import ChannelEntry, MediaOverride, MediaSettings
from telewatch.daemon.media import MediaDownloader, _Usage
from telewatch.daemon.pacing import Scheduler
from telewatch.emulator.world import World, message_tl
from telewatch.models import DifferenceApplied, MediaQueued, PostSeen
from telewatch.sources.telegram import to_post

CID = 1500000901


def _seen(world: World, mid: int) -> PostSeen:
    ch = world.channel(CID)
    post = to_post(message_tl(ch, ch.messages[mid]))
    assert post is not None
    return PostSeen(post, datetime.now(UTC), "live")


def _downloader(tmp_path: Path, settings: MediaSettings, channels: list[Any]) -> MediaDownloader:
    async def put(ev: object) -> None:
        raise AssertionError("events_for only decides")

    return MediaDownloader(
        settings, channels, tmp_path / "tw.db", None,  # type: ignore[arg-type]
        Scheduler({}), put, Counter(),  # type: ignore[arg-type]
    )  # fmt: skip


def _world() -> World:
    w = World()
    ch = w.add_channel(CID, "policy_chan", "Policy")
    w.add_message(ch, "photo", media={"type": "photo", "seed": 1})
    w.add_message(ch, "big video", media={"type": "video", "size": 50_000_000})
    w.add_message(ch, "pdf", media={"type": "document", "mime_type": "application/pdf", "size": 10})
    w.add_message(ch, "video", media={"type": "video", "size": 4_000_000})
    return w


def _decisions(events: list[MediaQueued]) -> dict[tuple[int, str], str | None]:
    return {(e.message_id, e.role): e.reason if e.state == "skipped" else None for e in events}


def test_defaults_photos_videos_under_the_cap_thumbnails_always(tmp_path: Path) -> None:
    w = _world()
    dl = _downloader(tmp_path, MediaSettings(), [])
    got = _decisions([q for mid in (1, 2, 3, 4) for q in dl.events_for(_seen(w, mid))])
    assert got[(1, "file")] is None and got[(1, "thumb")] is None
    assert "max_file_size" in (got[(2, "file")] or "") and got[(2, "thumb")] is None
    assert "not in [media] kinds" in (got[(3, "file")] or "")
    assert got[(4, "file")] is None


def test_channel_override_and_budgets(tmp_path: Path) -> None:
    w = _world()
    entry = ChannelEntry(username="policy_chan", media=MediaOverride(kinds=["document"]))
    dl = _downloader(tmp_path, MediaSettings(channel_budget=5_000_000), [entry])
    dl._names = {CID: "policy_chan"}
    got = _decisions([q for mid in (1, 3) for q in dl.events_for(_seen(w, mid))])
    assert "not in [media] kinds" in (got[(1, "file")] or "")
    assert got[(3, "file")] is None
    # The channel already uses 4.5 MB of its 5 MB: a 4 MB video no longer fits.
    dl2 = _downloader(tmp_path, MediaSettings(channel_budget=5_000_000), [])
    dl2._usage = _Usage(4_500_000, {CID: 4_500_000})
    got = _decisions(dl2.events_for(_seen(w, 4)))
    assert "channel's media budget" in (got[(4, "file")] or "")
    assert got[(4, "thumb")] is None  # the preview is kept anyway


def test_files_inside_a_difference_follow_it(tmp_path: Path) -> None:
    w = _world()
    dl = _downloader(tmp_path, MediaSettings(), [])
    diff = DifferenceApplied(CID, 10, (_seen(w, 1), _seen(w, 3)))
    roles = [(q.message_id, q.role) for q in dl.events_for(diff)]
    assert roles == [(1, "file"), (1, "thumb"), (3, "file")]
