"""The gazetteer index cache: where it is written, and that a missing or
unwritable cache directory still works."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from telewatch.xref.gazetteer import find_entities, load_gazetteer


@pytest.fixture
def fresh_gazetteer() -> Iterator[None]:
    """Forget the process-wide index before and after the test."""
    load_gazetteer.cache_clear()
    yield
    load_gazetteer.cache_clear()


def test_index_is_written_to_the_chosen_cache_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_gazetteer: None
) -> None:
    """TELEWATCH_CACHE_DIR receives the index, and a second process-wide load reuses it."""
    monkeypatch.setenv("TELEWATCH_CACHE_DIR", str(tmp_path / "cache"))
    assert [e.kind for e in find_entities("A convoy was hit near Samawa.")] == ["city"]
    files = list((tmp_path / "cache").glob("gazetteer-*.sqlite"))
    assert len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    load_gazetteer.cache_clear()
    assert find_entities("Sirens at Ain al-Asad")[0].kind == "base"
    assert files[0].stat().st_mtime_ns == stamp


def test_unwritable_cache_dir_builds_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_gazetteer: None
) -> None:
    """A cache dir that cannot be created still gives a working gazetteer and writes nothing."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be")
    monkeypatch.setenv("TELEWATCH_CACHE_DIR", str(blocker / "cache"))
    found = find_entities("Тревога в Белгороде, a drone over Kharkiv")
    assert {e.kind for e in found} == {"city"}
    assert blocker.read_text() == "a file where the cache directory should be"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-dir"]
