"""``[media]``: sizes, defaults, per-channel overrides and the policy's answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from telewatch.config import load_settings, parse_size
from telewatch.models import UserError


def _load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "telewatch.toml"
    path.write_text(text)
    return load_settings(path)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (1234, 1234),
        ("20 MB", 20_000_000),
        ("512 KiB", 524_288),
        ("2GiB", 2 << 30),
        ("1.5 mb", 1_500_000),
        ("7", 7),
    ],
)
def test_sizes_are_bytes_or_texts(value: object, expected: int) -> None:
    assert parse_size(value) == expected


@pytest.mark.parametrize("value", ["twenty", "-1", "5 XB", True, 1.5, -3, 2**60])
def test_bad_sizes_are_refused(value: object) -> None:
    with pytest.raises(ValueError):
        parse_size(value)


def test_newcomer_defaults(tmp_path: Path) -> None:
    s = _load(tmp_path, "")
    p = s.media.policy()  # type: ignore[attr-defined]
    assert p.kinds == ("photo", "video") and p.thumbnails
    assert p.wants("photo", 3_000_000) is None
    assert p.wants("video", 15_000_000) is None
    assert "max_file_size" in (p.wants("video", 200_000_000) or "")
    assert "not in [media] kinds" in (p.wants("document", 10) or "")


def test_channel_overrides_replace_only_their_keys(tmp_path: Path) -> None:
    s = _load(
        tmp_path,
        '[media]\nmax_file_size = "5 MB"\nthumbnails = false\n'
        '[[channels]]\nusername = "big_files"\n'
        'media = { kinds = ["photo", "video", "document"], max_file_size = "200 MB" }\n',
    )
    entry = s.channels[0]  # type: ignore[attr-defined]
    p = s.media.policy(entry.media)  # type: ignore[attr-defined]
    assert p.kinds == ("photo", "video", "document")
    assert p.max_file_size == 200_000_000
    assert p.thumbnails is False  # not overridden: [media]'s
    assert p.wants("document", 150_000_000) is None
    assert s.media.policy().max_file_size == 5_000_000  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[media]\nmax_file_size = "lots"\n', "media.max_file_size"),
        ('[media]\nkinds = ["photo", "hologram"]\n', "media.kinds"),
        ("[media]\nconcurrency = 0\n", "media.concurrency"),
        ("[media]\nbackoff = nan\n", "media.backoff"),
        (
            '[[channels]]\nusername = "abcd"\nmedia = { max_file_size = "x" }\n',
            "channels[0].media.max_file_size",
        ),
    ],
)
def test_bad_media_keys_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(UserError, match=key.replace("[", r"\[").replace("]", r"\]")):
        _load(tmp_path, text)
