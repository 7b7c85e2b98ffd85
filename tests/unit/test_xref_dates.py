"""Dates and times in articles resolved to UTC windows (xref.dates)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from telewatch.xref.dates import extract_dates

BAGHDAD = ZoneInfo("Asia/Baghdad")
KYIV = ZoneInfo("Europe/Kyiv")


def _one(text: str, published: str, tz: ZoneInfo = BAGHDAD) -> tuple[datetime, datetime]:
    found = extract_dates(text, datetime.fromisoformat(published), tz)
    assert found, f"no date found in {text!r}"
    return found[0].start, found[0].end


def test_french_weekday_morning_is_same_day_tuesday() -> None:
    """ "mardi matin" published on a Tuesday is that Tuesday's morning, Baghdad time."""
    start, end = _one("ont été visés mardi matin", "2022-03-01T16:45:00+03:30")
    assert start == datetime(2022, 3, 1, 2, 0, tzinfo=UTC)
    assert end == datetime(2022, 3, 1, 9, 0, tzinfo=UTC)


def test_english_late_on_weekday_across_month_boundary() -> None:
    """ "late on Monday" published Tuesday 1 March is Monday 28 February evening."""
    start, end = _one("was attacked late on Monday", "2022-03-01T09:10:00+03:00")
    assert start.date().isoformat() == "2022-02-28"
    assert start.astimezone(BAGHDAD).hour == 18
    assert end.astimezone(BAGHDAD).day == 1


def test_last_weekday_on_that_weekday_is_a_week_back() -> None:
    """ "last Thursday" written on a Thursday is the Thursday before."""
    start, _ = _one("It happened last Thursday.", "2022-03-03T12:00:00+03:00")
    assert start.astimezone(BAGHDAD).date().isoformat() == "2022-02-24"


def test_day_month_without_year_across_year_boundary() -> None:
    """ "30 décembre" published on 2 January belongs to the previous year."""
    start, _ = _one("le 30 décembre au soir", "2023-01-02T10:00:00+01:00")
    local = start.astimezone(BAGHDAD)
    assert (local.year, local.month, local.day, local.hour) == (2022, 12, 30, 16)


def test_outlet_zone_decides_the_day_event_zone_the_hours() -> None:
    """Published late Monday in New York = Tuesday in Baghdad: "today" is Tuesday there."""
    start, end = _one("Earlier today a rocket fell.", "2022-02-28T20:00:00-05:00")
    assert start.astimezone(BAGHDAD).date().isoformat() == "2022-03-01"
    assert end - start == end.astimezone(UTC) - start.astimezone(UTC)


def test_russian_yesterday_evening() -> None:
    """ "вчера вечером" is the previous evening in the event's zone."""
    start, end = _one("вчера вечером обстреляли город", "2023-01-01T10:00:00+03:00")
    assert start.astimezone(BAGHDAD) == datetime(2022, 12, 31, 16, 0, tzinfo=BAGHDAD)
    assert end.astimezone(BAGHDAD) == datetime(2023, 1, 1, 0, 0, tzinfo=BAGHDAD)


def test_ukrainian_night_is_the_night_before_the_day() -> None:
    """ "у суботу вночі" covers the small hours of Saturday (Kyiv time)."""
    start, end = _one("У суботу вночі атакували місто", "2023-12-30T15:00:00+02:00", KYIV)
    assert start.astimezone(KYIV) == datetime(2023, 12, 29, 18, 0, tzinfo=KYIV)
    assert end.astimezone(KYIV) == datetime(2023, 12, 30, 7, 0, tzinfo=KYIV)


def test_arabic_morning_of_tuesday() -> None:
    """ "صباح الثلاثاء" is Tuesday morning."""
    start, _ = _one("وقع الهجوم صباح الثلاثاء", "2022-03-02T10:00:00+03:00")
    assert start.astimezone(BAGHDAD) == datetime(2022, 3, 1, 5, 0, tzinfo=BAGHDAD)


def test_persian_weekday_with_zwnj() -> None:
    """ "سه‌شنبه" (with a zero-width non-joiner) is Tuesday, not Saturday (شنبه)."""
    start, _ = _one("روز سه‌شنبه", "2022-03-02T10:00:00+03:30")
    assert start.astimezone(BAGHDAD).date().isoformat() == "2022-03-01"


def test_french_night_span_between_two_days() -> None:
    """ "dans la nuit de mercredi à jeudi" runs from Wednesday evening to Thursday morning."""
    start, end = _one("dans la nuit de mercredi à jeudi", "2022-03-03T12:00:00+01:00")
    assert start.astimezone(BAGHDAD) == datetime(2022, 3, 2, 18, 0, tzinfo=BAGHDAD)
    assert end.astimezone(BAGHDAD).date().isoformat() == "2022-03-03"


def test_clock_time_narrows_to_the_hour() -> None:
    """ "shortly before 21:00 local time" gives a window that ends just after 21:00."""
    found = extract_dates(
        "On Thursday the channel reported shortly before 21:00 local time.",
        datetime.fromisoformat("2022-03-04T10:00:00+03:00"),
        BAGHDAD,
    )
    clock = [m for m in found if "21" in m.text]
    assert clock
    assert clock[0].end.astimezone(BAGHDAD) == datetime(2022, 3, 3, 21, 10, tzinfo=BAGHDAD)
    assert (clock[0].end - clock[0].start).total_seconds() <= 2 * 3600


def test_without_publication_time_only_absolute_dates() -> None:
    """With no publication time, weekdays are dropped and absolute dates kept."""
    found = extract_dates("On Tuesday, 1 March 2022, a convoy was hit.", None, BAGHDAD)
    assert [m.start.astimezone(BAGHDAD).date().isoformat() for m in found] == ["2022-03-01"]
