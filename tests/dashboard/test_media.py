"""The dashboard and media: the feed marks posts with media, the post detail lists each
version's files, and `o` opens the newest stored one in the system viewer."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from telewatch.dashboard.app import make_app
from telewatch.dashboard.screens import PostScreen
from telewatch.sources.desktop_export import import_paths
from telewatch.store import media
from tests.dashboard.helpers import until
from tests.fixtures.media import ALPHA_ID, MediaExports, sha256


def _screen_text(app: object) -> str:
    return "".join(
        s.text
        for strip in app.screen._compositor.render_strips()  # type: ignore[attr-defined]
        for s in strip
    )


@pytest.fixture
def media_archive(tmp_path: Path, media_exports: MediaExports) -> Path:
    db = tmp_path / "a.db"
    import_paths(db, [media_exports.alpha, media_exports.beta])
    return db


@pytest.fixture
def recorder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in system viewer (TELEWATCH_OPENER) that writes its argument to a file."""
    out = tmp_path / "opened.txt"
    script = tmp_path / "viewer.py"
    script.write_text(f"import sys\nopen({str(out)!r}, 'w').write(sys.argv[1])\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("TELEWATCH_OPENER", f"{sys.executable} {script}")
    return out


async def test_feed_marks_posts_with_media(media_archive: Path) -> None:
    """Rows of posts with a photo, video or document say so; a text post does not."""
    app = make_app(media_archive, live=False, title="media")
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.pause()
        text = _screen_text(app)
    assert "[photo] Crater at the bridge" in text
    assert "[video] Convoy on the highway" in text
    assert "[document]" in text
    assert "No media here" in text and "] No media here" not in text


async def test_detail_lists_media_and_o_opens_the_file(
    media_archive: Path, media_exports: MediaExports, recorder: Path
) -> None:
    """The detail of the video post lists the file and its thumbnail with hash and
    size; `o` runs the viewer on the stored video file."""
    app = make_app(media_archive, live=False, title="media")
    async with app.run_test(size=(140, 50)) as pilot:
        await until(pilot, lambda: app.loaded)
        screen = PostScreen(ALPHA_ID, 2)
        await app.push_screen(screen)
        await until(pilot, lambda: screen.post is not None)
        await pilot.pause()
        text = _screen_text(app)
        assert f"v1 video: {sha256(media_exports.video)[:16]}…" in text
        assert f"v1 video thumbnail: {sha256(media_exports.thumb)[:16]}…" in text
        assert "o opens the newest stored file" in text
        await pilot.press("o")
        await until(pilot, lambda: recorder.exists() and recorder.read_text() != "")
    opened = Path(recorder.read_text())
    assert opened.read_bytes() == media_exports.video
    assert opened.is_relative_to(media.default_root(media_archive))


async def test_o_on_a_post_without_stored_media_says_so(
    media_archive: Path, recorder: Path
) -> None:
    """The photo left out of the export: shown as not in export; `o` opens nothing."""
    app = make_app(media_archive, live=False, title="media")
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: app.loaded)
        screen = PostScreen(ALPHA_ID, 4)
        await app.push_screen(screen)
        await until(pilot, lambda: screen.post is not None)
        await pilot.pause()
        assert "v1 photo: not in export (not included in export)" in _screen_text(app)
        await pilot.press("o")
        await pilot.pause(0.3)
    assert not recorder.exists()


async def test_a_viewer_that_cannot_start_is_reported(
    media_archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TELEWATCH_OPENER naming no program: a notification, the dashboard keeps running."""
    monkeypatch.setenv("TELEWATCH_OPENER", os.fspath(Path("/nonexistent/viewer")))
    app = make_app(media_archive, live=False, title="media")
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: app.loaded)
        screen = PostScreen(ALPHA_ID, 1)
        await app.push_screen(screen)
        await until(pilot, lambda: screen.post is not None)
        await pilot.press("o")
        await until(pilot, lambda: any("cannot start the viewer" in str(n.message)
                                       for n in app._notifications))  # fmt: skip
        assert isinstance(app.screen, PostScreen)
