"""xref on channels named by a translated title, and the event's time zone
from the cited channel's script, on a small real archive (xref.rank)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from telewatch.sources.desktop_export import import_paths
from telewatch.xref.citations import PARTIAL_NAME
from tests.fixtures.xref import write_export, xref_text

ULAANBAATAR = timezone(timedelta(hours=8))
BANGKOK = timezone(timedelta(hours=7))
SOFIA = timezone(timedelta(hours=2))
IST = timezone(timedelta(hours=5, minutes=30))


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Mongolian channel (a bus crash at Zuunkharaa and other posts) and a
    Thai one (a river level at Chiang Mai at 07:40 local)."""
    root = tmp_path_factory.mktemp("languages")
    mn = [
        (
            29111,
            datetime(2025, 10, 15, 9, 5, tzinfo=ULAANBAATAR),
            "Дархан хотод үнэ нэмэгдлээ: 1 литр сүү 3200 төгрөг.",
        ),
        (
            29112,
            datetime(2025, 10, 15, 18, 20, tzinfo=ULAANBAATAR),
            "Улаанбаатар-Дархан чиглэлийн замд Зуунхараа орчимд автобус суудлын машинтай "
            "мөргөлдөж 2 хүн нас барж, 9 хүн гэмтэв.",
        ),
        (
            29113,
            datetime(2025, 10, 15, 20, 0, tzinfo=ULAANBAATAR),
            "Сэлэнгэ аймагт маргааш цас орно.",
        ),
    ]
    th = [
        (
            15117,
            datetime(2024, 9, 12, 7, 40, tzinfo=BANGKOK),
            "เชียงใหม่: ระดับน้ำปิงที่สถานี P.1 สะพานนวรัฐ สูง 3.8 เมตร เทศบาลแจกกระสอบทราย 5,000 ใบ",
        ),
        (
            15118,
            datetime(2024, 9, 12, 9, 54, tzinfo=BANGKOK),
            "แม่ริม: ไฟไหม้บ้านเรือนประชาชน เสียหาย 14 หลัง",
        ),
    ]
    bg = [
        (
            35111,
            datetime(2026, 2, 4, 9, 10, tzinfo=SOFIA),
            "Пловдив: ремонт на бул. Марица до края на месеца.",
        ),
        (
            35112,
            datetime(2026, 2, 4, 11, 0, tzinfo=SOFIA),
            "РЗИ обяви грипна епидемия в община Асеновград от 5 до 11 февруари: "
            "312 болни на 10 000 души, учениците са във грипна ваканция.",
        ),
    ]
    hi = [
        (5313, datetime(2024, 5, 15, 8, 3, tzinfo=IST), "पूर्णिया: बिजली कटौती ३ घंटे तक रहेगी।"),
    ]
    paths = [
        write_export(root, "selenge_medee", "Дархан-Сэлэнгийн шуурхай мэдээ", 1600000703, mn),
        write_export(root, "chiangmai_khao", "ข่าวเชียงใหม่ด่วน", 1600000403, th),
        write_export(root, "filipopol_novini", "Пловдивски бързи новини", 1600000804, bg),
        write_export(root, "bihar_khabar_live", "बिहार खबर लाइव", 1600000304, hi),
    ]
    path = root / "languages.db"
    import_paths(path, paths)
    return path


CRASH = (
    "To mennesker blev dræbt og 9 såret, da en bus onsdag kørte ind i en personbil på "
    "landevejen mellem Ulan Bator og Darkhan ved Zuunkharaa, skriver Telegram-kanalen {}."
)


def test_a_translated_title_finds_the_post_but_never_links(archive: Path) -> None:
    """Cited by a Danish translation of its title, the channel is found by
    the place word its title shares, and its post ranks first as a
    suggestion; cited by its handle, the same post is a link."""
    res = xref_text(
        archive, CRASH.format("Darkhan-Selenge Hurtige Nyheder"), "2025-10-15T16:30:00+02:00"
    )
    named = [c for c in res.citations if c.channel_id is not None]
    assert [(c.username, c.similarity) for c in named] == [("selenge_medee", PARTIAL_NAME)]
    top = res.matches[0]
    assert (top.post.message_id, top.confidence) == (29112, "suggest")
    assert all(m.confidence != "link" for m in res.matches)

    res = xref_text(archive, CRASH.format("@selenge_medee"), "2025-10-15T16:30:00+02:00")
    top = res.matches[0]
    assert (top.post.message_id, top.confidence) == (29112, "link"), top.evidence


RIVER = (
    "O nível do rio Ping chegou aos 3,8 metros na estação P.1, junto à ponte Nawarat, em "
    "Chiang Mai, na manhã de quinta-feira, e a câmara municipal distribuiu cinco mil sacos "
    "de areia aos moradores, segundo o canal de Telegram Khao Chiang Mai Duan."
)


def test_the_cited_channels_script_gives_the_events_time_zone(archive: Path) -> None:
    """Chiang Mai is outside the gazetteer's regions; the cited channel writes
    Thai, so "quinta-feira de manhã" is Thursday morning in Bangkok (the post
    at 07:40 local lies inside it, and is linked)."""
    res = xref_text(archive, RIVER, "2024-09-12T09:40:00-03:00")
    assert (res.event_timezone, res.event_timezone_from) == ("Asia/Bangkok", "channel script")
    morning = next(d for d in res.dates if "quinta-feira" in d.text)
    assert morning.start == datetime(2024, 9, 11, 22, 0, tzinfo=UTC)
    top = res.matches[0]
    assert (top.post.message_id, top.confidence) == (15117, "link"), top.evidence
    assert top.evidence["time"]["hours_outside_window"] == 0.0


def test_without_a_single_zone_script_the_places_or_the_publication_decide(
    archive: Path,
) -> None:
    """A Mongolian (Cyrillic) channel tells no zone: the article's own offset
    stands in (no place of it is in the gazetteer's regions)."""
    res = xref_text(archive, CRASH.format("@selenge_medee"), "2025-10-15T16:30:00+02:00")
    assert res.event_timezone_from in ("places", "publication")


EPIDEMIC = (
    "Les autorités sanitaires ont déclaré une épidémie de grippe dans la commune "
    "d'Assenovgrad, au sud de Plovdiv, du jeudi 5 au mercredi 11 février, avec 312 malades "
    "pour 10 000 habitants, selon la chaîne Telegram « Plovdivski Barzi Novini »."
)


def test_an_announcement_of_later_days_is_found_in_the_days_before(archive: Path) -> None:
    """Every date of the article (5 to 11 February, written on the 4th) is
    after its publication: the post that announced it, before the article,
    is searched for and linked, and the note says why."""
    res = xref_text(archive, EPIDEMIC, "2026-02-04T17:00:00+01:00")
    assert {d.start.astimezone(SOFIA).day for d in res.dates} == {5, 11}
    assert any("after its publication" in n for n in res.notes)
    top = res.matches[0]
    assert (top.post.message_id, top.confidence) == (35112, "link"), top.evidence


def test_the_only_post_of_the_window_is_not_linked_for_agreeing_with_itself(
    archive: Path,
) -> None:
    """A bus crash in Purnia killing three, against the channel's one post of
    that morning (a power cut for ३ = 3 hours there): place, number, time and
    channel fit, and it is first of a dense ranking of one. A suggestion,
    never a link."""
    res = xref_text(
        archive,
        "A bus fell into a canal near Purnia on Wednesday morning, killing three passengers, "
        "the Telegram channel Bihar Khabar Live reported.",
        "2024-05-15T09:00:00+00:00",
    )
    assert [m.post.message_id for m in res.matches] == [5313]
    assert res.matches[0].confidence == "suggest", res.matches[0].evidence
