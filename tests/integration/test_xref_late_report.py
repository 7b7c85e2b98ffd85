"""A night's event reported the next afternoon: both rankers put the cited
channel's post first, hours after the cited night, and xref shows it as a
lead (``suggest``), never as a link (xref.rank, AGREED_SUGGEST_TIME)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from telewatch.sources.desktop_export import import_paths
from tests.fixtures.xref import write_export, xref_text

WAT = timezone(timedelta(hours=1))  # West Africa Time


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An invented Hausa channel: a market fire "last night" posted on
    Tuesday at 14:40, and other posts of Monday and Tuesday."""
    root = tmp_path_factory.mktemp("late")
    posts = [
        (
            61101,
            datetime(2026, 3, 9, 17, 30, tzinfo=WAT),
            "Wata mota ta kife a kan hanyar Kaduna zuwa Abuja kusa da Jere, mutum 2 sun ji rauni.",
        ),
        (
            61102,
            datetime(2026, 3, 9, 21, 56, tzinfo=WAT),
            "Hatsarin mota a kan hanyar Saminaka: mutum 14 sun jikkata.",
        ),
        (
            61103,
            datetime(2026, 3, 10, 9, 36, tzinfo=WAT),
            "Gobara ta ƙone wani gida a Kachia, an ceto mutum 3.",
        ),
        (
            61104,
            datetime(2026, 3, 10, 14, 40, tzinfo=WAT),
            "Gobara ta lalata shaguna fiye da 60 a babbar kasuwar Zonkwa a daren jiya. "
            "Shugaban kasuwar ya ce an yi asarar kayayyaki na kimanin Naira miliyan 70.",
        ),
        (
            61105,
            datetime(2026, 3, 10, 16, 5, tzinfo=WAT),
            "Farashin buhun masara ya tashi a kasuwar Zaria.",
        ),
    ]
    path = write_export(root, "kaduna_gobe", "Labaran Kaduna Gobe", 1600006101, posts)
    db = root / "archive.db"
    import_paths(db, [path])
    return db


ARTICLE = (
    "Un incendie a détruit dans la nuit de lundi à mardi plus de soixante boutiques du "
    "grand marché de Zonkwa, dans l'État de Kaduna, au Nigeria, selon la chaîne Telegram "
    "« Labaran Kaduna Gobe ». Les pertes sont estimées à 70 millions de nairas."
)


def test_the_next_afternoons_report_of_a_night_is_a_lead(archive: Path) -> None:
    res = xref_text(archive, ARTICLE, "2026-03-10T18:30:00+01:00")
    top = res.matches[0]
    assert top.post.message_id == 61104
    assert top.confidence == "suggest"
    t = top.evidence["time"]
    assert isinstance(t, dict) and t["hours_outside_window"] > 5
    assert not any(m.confidence == "link" for m in res.matches)


def test_a_report_two_days_after_the_night_is_not(archive: Path) -> None:
    """The same post two days after the cited night is too late to be shown
    on the rankers' agreement alone."""
    article = ARTICLE.replace("lundi à mardi", "samedi à dimanche")
    res = xref_text(archive, article, "2026-03-10T18:30:00+01:00")
    assert all(m.post.message_id != 61104 for m in res.matches)
