"""sources/export_media.py: which export paths are read, and the skip texts."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telewatch.sources.export_media import ExportMediaError, media_fields, resolve, skip_reason
from tests.fixtures.media import PLACEHOLDER, PLACEHOLDER_SIZE, PLACEHOLDER_UNAVAILABLE

_PARTS = st.sampled_from(["..", ".", "photos", "a.jpg", "", "/", "\\", "C:", "~", "é", "\x00"])


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_PARTS, min_size=1, max_size=6).map("/".join) | st.text(max_size=40))
def test_resolve_never_leaves_the_folder(tmp_path: Path, value: str) -> None:
    """Whatever the path text, resolve() either names a regular file inside the
    export folder or raises ExportMediaError (one line)."""
    folder = tmp_path / "export"
    (folder / "photos").mkdir(parents=True, exist_ok=True)
    (folder / "photos" / "a.jpg").write_bytes(b"x")
    (tmp_path / "a.jpg").write_bytes(b"outside")
    try:
        got = resolve(folder, value, "m")
    except ExportMediaError as err:
        assert "\n" not in str(err)
        return
    assert got.is_file() and got.is_relative_to(folder.resolve())


def test_skip_texts_and_their_reasons() -> None:
    """Telegram Desktop's three skip texts (also with a name before them) map to reasons."""
    assert skip_reason(PLACEHOLDER) == "not included in export"
    assert skip_reason(PLACEHOLDER_SIZE) == "over the export's size limit"
    assert skip_reason(PLACEHOLDER_UNAVAILABLE) == "unavailable when exported"
    assert skip_reason("clip.mp4 " + PLACEHOLDER) == "not included in export"
    assert skip_reason("photos/photo_1.jpg") is None


@pytest.mark.parametrize(
    ("msg", "expected"),
    [
        ({"photo": "photos/p.jpg", "photo_file_size": 10}, [("file", "photo", "image/jpeg", 10)]),
        (
            {"file": "video_files/v.mp4", "media_type": "video_file", "mime_type": "video/mp4",
             "thumbnail": "video_files/v.mp4_thumb.jpg"},
            [("file", "video", "video/mp4", None), ("thumb", "video", "image/jpeg", None)],
        ),
        ({"file": "files/a.ogg", "media_type": "voice_message"}, [("file", "voice", None, None)]),
        ({"file": "files/r.pdf", "mime_type": "application/pdf", "file_size": True},
         [("file", "document", "application/pdf", None)]),
        ({"thumbnail": "x.jpg"}, []),
        ({"text": "no media"}, []),
    ],
)  # fmt: skip
def test_media_fields(msg: dict[str, object], expected: list[tuple[object, ...]]) -> None:
    """Which files a message names, of what kind; odd sizes are unknown, not trusted."""
    assert [(f.role, f.kind, f.mime, f.size) for f in media_fields(msg)] == expected
