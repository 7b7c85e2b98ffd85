"""Dates and times in articles resolved to UTC windows (xref.dates)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telewatch.xref.calendars import (
    gregorian_to_solar,
    solar_is_leap,
    solar_month_days,
    solar_to_gregorian,
)
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


def test_english_night_not_yet_begun_at_publication_is_the_night_before() -> None:
    """ "On Friday night" published Friday noon is the night into Friday (it
    cannot be the coming night); published Saturday it stays Friday evening
    into Saturday."""
    start, end = _one("On Friday night drones attacked", "2024-02-16T12:00:00+00:00", KYIV)
    assert start.astimezone(KYIV) == datetime(2024, 2, 15, 18, 0, tzinfo=KYIV)
    assert end.astimezone(KYIV) == datetime(2024, 2, 16, 7, 0, tzinfo=KYIV)
    start, end = _one("On Friday night drones attacked", "2024-02-17T12:00:00+00:00", KYIV)
    assert start.astimezone(KYIV) == datetime(2024, 2, 16, 18, 0, tzinfo=KYIV)
    assert end.astimezone(KYIV) == datetime(2024, 2, 17, 6, 0, tzinfo=KYIV)


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


# --------------------------------------------------------------------------
# Solar Hijri (Jalali) calendar and dates.
# --------------------------------------------------------------------------

TEHRAN = ZoneInfo("Asia/Tehran")
KABUL = ZoneInfo("Asia/Kabul")
# Tuesday 5 March 2024 = 15 Esfand 1402, noon in Tehran.
PUB_ESFAND_1402 = "2024-03-05T12:00:00+03:30"


def _local_days(text: str, published: str | None, tz: ZoneInfo = TEHRAN) -> list[str]:
    """ISO local start dates of every mention found in ``text``."""
    when = datetime.fromisoformat(published) if published else None
    return [m.start.astimezone(tz).date().isoformat() for m in extract_dates(text, when, tz)]


@pytest.mark.parametrize(
    ("solar", "gregorian"),
    [
        ((1403, 1, 1), date(2024, 3, 20)),
        ((1402, 1, 1), date(2023, 3, 21)),
        ((1404, 1, 1), date(2025, 3, 21)),
        ((1403, 12, 30), date(2025, 3, 20)),
        ((1402, 12, 29), date(2024, 3, 19)),
        ((1402, 12, 10), date(2024, 2, 29)),
        ((1405, 9, 4), date(2026, 11, 25)),
        ((1300, 1, 1), date(1921, 3, 21)),
        ((1357, 11, 22), date(1979, 2, 11)),
    ],
)
def test_solar_to_gregorian_fixed_points(solar: tuple[int, int, int], gregorian: date) -> None:
    """Well-known Solar Hijri dates convert to their Gregorian days and back."""
    assert solar_to_gregorian(*solar) == gregorian
    assert gregorian_to_solar(gregorian) == solar


def test_solar_leap_years_give_esfand_thirty() -> None:
    """1399 and 1403 are leap years (Esfand has 30 days), 1402 and 1404 are not."""
    assert [solar_is_leap(y) for y in (1399, 1402, 1403, 1404)] == [True, False, True, False]
    assert solar_month_days(1403, 12) == 30
    assert solar_month_days(1402, 12) == 29
    assert solar_month_days(1402, 1) == 31
    assert solar_month_days(1402, 7) == 30


@pytest.mark.parametrize(
    ("year", "month", "day"),
    [(1402, 12, 31), (1403, 12, 31), (1402, 12, 30), (1402, 7, 32), (1402, 13, 1), (1402, 1, 0)],
)
def test_solar_days_that_do_not_exist_raise(year: int, month: int, day: int) -> None:
    """31 Esfand, 30 Esfand of a common year, 32 Mehr, month 13 and day 0 are ValueErrors."""
    with pytest.raises(ValueError):
        solar_to_gregorian(year, month, day)


def test_every_solar_day_1300_to_1500_follows_the_previous_one() -> None:
    """Each valid day of 1300–1500 is the Gregorian day after its predecessor and round-trips."""
    expected = solar_to_gregorian(1300, 1, 1)
    for year in range(1300, 1501):
        assert solar_to_gregorian(year, 1, 1) == expected
        for month in range(1, 13):
            for day in range(1, solar_month_days(year, month) + 1):
                assert solar_to_gregorian(year, month, day) == expected
                assert gregorian_to_solar(expected) == (year, month, day)
                expected += timedelta(days=1)
    assert expected == solar_to_gregorian(1501, 1, 1)


@given(
    st.integers(min_value=1300, max_value=1500),
    st.integers(min_value=1, max_value=12),
    st.integers(min_value=1, max_value=31),
)
def test_solar_round_trip_or_value_error(year: int, month: int, day: int) -> None:
    """Solar → Gregorian → Solar is the identity; only days past the month's end raise."""
    if day > solar_month_days(year, month):
        with pytest.raises(ValueError):
            solar_to_gregorian(year, month, day)
    else:
        assert gregorian_to_solar(solar_to_gregorian(year, month, day)) == (year, month, day)


@given(st.dates(min_value=date(1921, 3, 21), max_value=date(2122, 3, 20)))
def test_gregorian_round_trip_through_solar(day: date) -> None:
    """Gregorian → Solar → Gregorian is the identity over Solar years 1300–1500."""
    assert solar_to_gregorian(*gregorian_to_solar(day)) == day


def test_persian_day_month_without_year_is_a_whole_local_day() -> None:
    """ "۱۰ اسفند" published on 15 Esfand 1402 is 29 February 2024, midnight to midnight in Tehran."""
    start, end = _one("این ویدیو ۱۰ اسفند منتشر شد", PUB_ESFAND_1402, TEHRAN)
    assert start == datetime(2024, 2, 29, 0, 0, tzinfo=TEHRAN)
    assert end == datetime(2024, 3, 1, 0, 0, tzinfo=TEHRAN)


@pytest.mark.parametrize(
    "text",
    [
        "۱۰ اسفند ۱۴۰۲",
        "١٠ اسفند ١٤٠٢",
        "10 اسفند 1402",
        "۱۰ اسفند‌ماه ۱۴۰۲",
        "۱۰ اسفند سال ۱۴۰۲",
        "دهم اسفند ۱۴۰۲",
        "۱۴۰۲/۱۲/۱۰",
        "۱۰/۱۲/۱۴۰۲",
        "1402-12-10",
    ],
)
def test_persian_date_forms_and_digit_systems(text: str) -> None:
    """Persian, Arabic-Indic and ASCII digits, ordinal words and numeric forms give 10 Esfand 1402."""
    assert _local_days(f"حمله در {text} رخ داد", PUB_ESFAND_1402) == ["2024-02-29"]


def test_persian_date_with_year_needs_no_publication_time() -> None:
    """A Solar date with a year is absolute; without a year and publication time it is dropped."""
    assert _local_days("۱۰ اسفند ۱۴۰۲", None) == ["2024-02-29"]
    assert _local_days("۱۰ اسفند", None) == []


def test_persian_weekday_before_the_date_does_not_add_a_mention() -> None:
    """ "پنجشنبه ۱۰ اسفند ۱۴۰۲" is the date only, not also the latest Thursday before publication."""
    assert _local_days("پنج‌شنبه ۱۰ اسفند ۱۴۰۲", "2024-03-20T12:00:00+03:30") == ["2024-02-29"]


def test_persian_ordinal_words() -> None:
    """Ordinal days: "بیست و دوم بهمن", "سی‌ام دی", "اول فروردین"."""
    assert _local_days("بیست و دوم بهمن ۱۴۰۲", None) == ["2024-02-11"]
    assert _local_days("سی‌ام دی ۱۴۰۲", None) == ["2024-01-20"]
    assert _local_days("روز اول فروردین ۱۴۰۳", None) == ["2024-03-20"]


def test_persian_ordinal_of_half_or_week_is_not_a_day() -> None:
    """ "نیمه‌ی دوم اسفند" (second half of Esfand) and "هفته اول مهر" are not dates."""
    assert _local_days("در نیمه‌ی دوم اسفند و هفته اول مهر", PUB_ESFAND_1402) == []


def test_persian_date_without_year_across_nowruz() -> None:
    """ "۲۵ اسفند" is 1402's on Nowruz 1403, but 1401's when published on 15 Esfand 1402."""
    assert _local_days("۲۵ اسفند", "2024-03-20T12:00:00+03:30") == ["2024-03-15"]
    assert _local_days("۲۵ اسفند", PUB_ESFAND_1402) == ["2023-03-16"]


def test_persian_date_spelling_variants() -> None:
    """Arabic ya/kaf and a ZWNJ-less spelling still name the month (اردیبهشت)."""
    assert _local_days("۱۰ ارديبهشت ۱۴۰۳", None) == ["2024-04-29"]
    assert _local_days("۱۰ اردیبهشت ۱۴۰۳", None) == ["2024-04-29"]


def test_persian_date_with_parts_of_day_and_time_zone() -> None:
    """ "صبح ۱۰ اسفند" is that morning in Tehran; "شب ۱۰ اسفند" the night before it."""
    start, end = _one("صبح ۱۰ اسفند", PUB_ESFAND_1402, TEHRAN)
    assert (start, end) == (
        datetime(2024, 2, 29, 1, 30, tzinfo=UTC),
        datetime(2024, 2, 29, 8, 30, tzinfo=UTC),
    )
    start, end = _one("شب ۱۰ اسفند", PUB_ESFAND_1402, TEHRAN)
    assert start == datetime(2024, 2, 28, 18, 0, tzinfo=TEHRAN)
    assert end == datetime(2024, 2, 29, 7, 0, tzinfo=TEHRAN)


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("بامداد ۱۰ اسفند", (3, 9)),
        ("غروب ۱۰ اسفند", (16, 24)),
        ("شامگاه ۱۰ اسفند", (16, 24)),
        ("بعد از ظهر ۱۰ اسفند", (12, 19)),
        ("پیش از ظهر ۱۰ اسفند", (9, 13)),
    ],
)
def test_persian_news_parts_of_day(text: str, hours: tuple[int, int]) -> None:
    """Persian newsroom words for parts of the day ("بامداد", "غروب", "شامگاه",
    "بعد از ظهر", "پیش از ظهر") narrow the day to their hours, Tehran time."""
    start, end = _one(text, PUB_ESFAND_1402, TEHRAN)
    assert start == datetime(2024, 2, 29, hours[0], 0, tzinfo=TEHRAN)
    assert end == datetime(2024, 2, 29, 0, 0, tzinfo=TEHRAN) + timedelta(hours=hours[1])


def test_solar_mention_matches_its_gregorian_twin() -> None:
    """A Solar date and the same Gregorian date get identical windows and weights."""
    published = datetime.fromisoformat(PUB_ESFAND_1402)
    solar = extract_dates("ساعت ۲۲:۳۰ پنجشنبه ۱۰ اسفند", published, TEHRAN)
    gregorian = extract_dates("à 22:30, jeudi 29 février", published, TEHRAN)
    assert [(m.start, m.end, m.weight) for m in solar] == [
        (m.start, m.end, m.weight) for m in gregorian
    ]
    assert len(solar) == 2


@pytest.mark.parametrize(
    "text", ["۳۱ اسفند ۱۴۰۲", "۳۰ اسفند ۱۴۰۲", "۳۲ مهر", "۱۴۰۲/۱۲/۳۰", "1402-13-01"]
)
def test_solar_days_that_do_not_exist_are_ignored(text: str) -> None:
    """Impossible Solar dates give no mention, and never a Gregorian year 1402 either."""
    assert _local_days(text, PUB_ESFAND_1402) == []


def test_esfand_thirty_of_a_leap_year() -> None:
    """ "۳۰ اسفند ۱۴۰۳" exists (1403 is leap): 20 March 2025."""
    assert _local_days("۳۰ اسفند ۱۴۰۳", None) == ["2025-03-20"]


def test_four_digit_count_after_the_month_is_not_its_year() -> None:
    """ "۱۰ اسفند ۱۲۰۰ نفر" (1200 people) keeps 10 Esfand with the year inferred."""
    found = extract_dates("۱۰ اسفند ۱۲۰۰ نفر", datetime.fromisoformat(PUB_ESFAND_1402), TEHRAN)
    assert [m.text for m in found] == ["10 اسفند"]
    assert found[0].start.astimezone(TEHRAN).date() == date(2024, 2, 29)


def test_dari_month_with_year_or_weekday_in_kabul_time() -> None:
    """Afghan "پنجشنبه ۱۰ حوت ۱۴۰۲" and "روز ۲۸ اسد" are dates, in Kabul time."""
    start, end = _one("پنجشنبه، ۱۰ حوت ۱۴۰۲", PUB_ESFAND_1402, KABUL)
    assert (start, end) == (
        datetime(2024, 2, 29, 0, 0, tzinfo=KABUL),
        datetime(2024, 3, 1, 0, 0, tzinfo=KABUL),
    )
    assert _local_days("سالروز استقلال، روز ۲۸ اسد", PUB_ESFAND_1402, KABUL) == ["2023-08-19"]


def test_dari_month_words_with_a_number_alone_are_not_dates() -> None:
    """Lions, scorpions and "میزان" (level) next to counts do not become Dari dates."""
    text = "باغ وحش ۲ اسد و ۱۲ عقرب دارد و میزان ۱۰ درصد بالا رفت؛ ۳ قوس دیده شد."
    assert _local_days(text, PUB_ESFAND_1402, KABUL) == []


def test_tir_is_a_month_only_with_a_year_context_or_mah() -> None:
    """ "۳ تیر شلیک شد" (three shots) is no date; "۳ تیر ۱۴۰۲", "روز ۳ تیر" and
    "۳ تیرماه" / "۳ تیر ماه" are 3 Tir (24 June 2023)."""
    tehran = TEHRAN
    assert _local_days("در درگیری ۳ تیر شلیک شد", PUB_ESFAND_1402, tehran) == []
    for text in ("۳ تیر ۱۴۰۲", "روز ۳ تیر", "۳ تیرماه", "۳ تیر ماه گذشته"):
        assert _local_days(text, PUB_ESFAND_1402, tehran) == ["2023-06-24"], text


_SOLAR_TOKENS = [
    "۰",
    "۳",
    "۳۱",
    "۳۲",
    "۱۴۰۲",
    "۱۲۹۹",
    "1501",
    "/",
    "-",
    ".",
    "،",
    " ",
    "اسفند",
    "مهر",
    "حوت",
    "اسد",
    "ماه",
    "سال",
    "دهم",
    "بیست و",
    "یکم",
    "سی‌ام",
    "نیمه",
    "روز",
    "پنجشنبه",
    "صبح",
    "شب",
    "ساعت",
    "۲۲:۳۰",
    "\u200c",
]


@given(st.lists(st.sampled_from(_SOLAR_TOKENS), max_size=14))
def test_solar_like_noise_never_crashes(tokens: list[str]) -> None:
    """Any mix of Solar date fragments yields well-formed mentions and never raises."""
    published = datetime.fromisoformat(PUB_ESFAND_1402)
    for m in extract_dates("".join(tokens), published, TEHRAN):
        assert m.start < m.end


@pytest.mark.parametrize(
    "text",
    [
        "Mardi soir, une manifestation. Le lendemain matin, des inondations.",
        "A protest on Tuesday evening. The next morning, floods.",
        "Am Dienstagabend eine Kundgebung. Am nächsten Morgen Überschwemmungen.",
        "El martes por la tarde, una protesta. A la mañana siguiente, inundaciones.",
    ],
)
def test_next_day_is_the_day_after_the_last_day_named(text: str) -> None:
    """ "le lendemain matin" after "mardi" lies on Wednesday (local), not Tuesday."""
    found = extract_dates(text, datetime.fromisoformat("2022-03-04T10:00:00+03:00"), BAGHDAD)
    assert len(found) == 2, [(d.text, d.start) for d in found]
    nxt = found[1]
    assert nxt.start.astimezone(BAGHDAD).date() == date(2022, 3, 2)
    assert nxt.end <= datetime(2022, 3, 3, 0, 0, tzinfo=BAGHDAD)


def test_next_day_needs_a_day_before_it() -> None:
    """Without an earlier day, "the next day" resolves to nothing (no guess)."""
    found = extract_dates(
        "The next day, floods.", datetime.fromisoformat("2022-03-04T10:00:00+03:00"), BAGHDAD
    )
    assert found == []


# Published Friday 4 March 2022, 10:00 in Baghdad: Wednesday is 2 March.
@pytest.mark.parametrize(
    "text",
    [
        "Mercoledì in serata un incendio.",
        "Na quarta-feira à noite, um incêndio.",
        "Woensdagavond een brand. 's avonds op woensdag.",
        "Onsdag aften brændte det.",
        "I onsdags kväll brann det; onsdag kväll.",
        "W środę wieczorem wybuchł pożar.",
        "Ve středu večer vypukl požár.",
        "Çarşamba akşamı yangın çıktı.",
        "Dimecres al vespre, un incendi.",
    ],
)
def test_weekday_and_evening_in_more_article_languages(text: str) -> None:
    """Wednesday evening (or night) in Italian, Portuguese, Dutch, Danish,
    Swedish, Polish, Czech, Turkish and Catalan is 2 March from 16:00 (or
    18:00) local."""
    found = extract_dates(text, datetime.fromisoformat("2022-03-04T10:00:00+03:00"), BAGHDAD)
    days = [d for d in found if d.start.astimezone(BAGHDAD).date() == date(2022, 3, 2)]
    assert days, [(d.text, d.start) for d in found]
    assert any(d.start.astimezone(BAGHDAD).hour in (16, 18) for d in days), [
        (d.text, d.start) for d in found
    ]


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("Il 13 ottobre a Roma.", 13),
        ("A 13 de outubro em Lisboa.", 13),
        ("Op 13 oktober in Utrecht.", 13),
        ("Den 13. oktober i Aarhus skete det.", 13),
        ("13 października w Krakowie.", 13),
        ("Dne 13. října v Brně.", 13),
        ("13 Ekim'de Ankara'da.", 13),
        ("El 13 d'octubre a Girona.", 13),
    ],
)
def test_day_and_month_in_more_languages(text: str, day: int) -> None:
    """A day and month name in eight more languages, "13." and "d'" included."""
    start, _ = _one(text, "2025-10-20T10:00:00+02:00", ZoneInfo("Europe/Paris"))
    assert start.astimezone(ZoneInfo("Europe/Paris")).date() == date(2025, 10, day)


@pytest.mark.parametrize(
    ("text", "utc_hour", "utc_minute"),
    [
        ("Torsdag klokken 15.14 GMT rystede jorden.", 15, 14),
        ("Am Donnerstag um 21.38 Uhr UTC bebte die Erde.", 21, 38),
        ("Thursday at 1755 GMT the quake struck.", 17, 55),
        # A country's time named after it: Danish summer time (+02:00), MEZ
        # (+01:00 as written), Paris time; whatever the publication's offset.
        ("Torsdag klokken 12 dansk tid kørte en bus ind i en bil.", 10, 0),
        ("Am Donnerstag um 13 Uhr MEZ stand der Verkehr still.", 12, 0),
        ("Jeudi à 14h heure de Paris, le trafic a repris.", 12, 0),
        # No zone: the event's (Baghdad, +03:00).
        ("Giovedì alle ore 9 a Bassora.", 6, 0),
        ("Donderdag om 15.00 uur in Basra.", 12, 0),
    ],
)
def test_clock_times_written_the_other_ways(text: str, utc_hour: int, utc_minute: int) -> None:
    """kl./klokken, "21.38 Uhr", "1755 GMT", "ore 9", "15.00 uur" and
    "dansk tid" narrow Thursday 16 October 2025 to an hour around the time."""
    found = extract_dates(text, datetime.fromisoformat("2025-10-16T18:00:00+00:00"), BAGHDAD)
    clock = [d for d in found if (d.end - d.start) <= timedelta(hours=2)]
    assert clock, [(d.text, d.start) for d in found]
    mid = clock[0].start + (clock[0].end - clock[0].start) / 2
    assert mid == datetime(2025, 10, 16, utc_hour, utc_minute, tzinfo=UTC), clock[0]


@pytest.mark.parametrize(
    "text",
    [
        "Donnerstag: ein Beben der Stärke 4.1 und 2.5 Millionen Schaden.",
        "Torsdag: 12 døde og 3.5 procent.",
        "Giovedì 12 persone e 15.30 euro.",
    ],
)
def test_a_decimal_number_is_no_clock_time(text: str) -> None:
    """ "4.1", "2.5", "3.5", "15.30 euro" without kl./Uhr/GMT are numbers:
    only the day is found."""
    found = extract_dates(text, datetime.fromisoformat("2025-10-16T20:00:00+02:00"), BAGHDAD)
    assert found and all((d.end - d.start) > timedelta(hours=2) for d in found), [
        (d.text, d.start, d.end) for d in found
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Les écoles sont fermées du jeudi 5 au mercredi 11 février.",
        "Schools are closed from 5 to 11 February.",
        "Die Schulen bleiben vom 5. bis 11. Februar geschlossen.",
        "Las escuelas cierran del 5 al 11 de febrero.",
    ],
)
def test_a_day_range_gives_its_first_day_the_month_of_its_last(text: str) -> None:
    """ "du jeudi 5 au mercredi 11 février" is 5 and 11 February; written on
    4 February, both are this year's (announced), not last year's."""
    found = extract_dates(text, datetime.fromisoformat("2026-02-04T17:00:00+01:00"), KYIV)
    days = sorted({d.start.astimezone(KYIV).date() for d in found})
    assert days == [date(2026, 2, 5), date(2026, 2, 11)], [(d.text, d.start) for d in found]


def test_a_day_month_soon_after_publication_is_this_year() -> None:
    """ "11 février" written on 4 February is a week ahead; "28 janvier" is
    last week; "20 décembre" is last December."""
    pub = datetime.fromisoformat("2026-02-04T17:00:00+01:00")
    for text, day in (
        ("jusqu'au 11 février", date(2026, 2, 11)),
        ("le 28 janvier", date(2026, 1, 28)),
        ("le 20 décembre", date(2025, 12, 20)),
    ):
        found = extract_dates(text, pub, KYIV)
        assert found[0].start.astimezone(KYIV).date() == day, text


LAGOS = ZoneInfo("Africa/Lagos")


@pytest.mark.parametrize(
    ("text", "lang", "day", "part_hours"),
    [
        # Greek (genitive and accusative weekday, CLDR's "το πρωί").
        ("Ένας άνθρωπος σκοτώθηκε την Τρίτη το πρωί στο Όγιο.", "el", 9, (5, 12)),
        ("Η φωτιά ξέσπασε το βράδυ της Δευτέρας.", "el", 8, (18, 6)),
        # Finnish: the essive CLDR gives ("tiistaina") and an inflection of
        # the stand-alone name it does not ("maanantain").
        ("Kaksi turistia hukkui tiistaina aamulla meressä.", "fi", 9, (5, 12)),
        ("Maanantain tulipalo tuhosi 22 vaatekauppaa.", "fi", 8, None),
        # Romanian, Hungarian (suffixed "kedden"), Indonesian, Albanian
        # (CLDR's "e hënë", the noun inflected).
        ("Un incendiu a izbucnit marți dimineața la Bitola.", "ro", 9, (5, 12)),
        ("A tűz kedden délután ütött ki.", "hu", 9, (12, 19)),
        ("Kebakaran terjadi pada hari Senin di Surabaya.", "id", 8, None),
        ("Zjarri shpërtheu të hënën në Prizren.", "sq", 8, None),
    ],
)
def test_dates_in_languages_the_tables_do_not_cover_read_with_cldr(
    text: str, lang: str, day: int, part_hours: tuple[int, int] | None
) -> None:
    """An article in a language the hand-written tables lack is read with
    CLDR's weekday, month, relative-day and day-period words for it
    (data/date_words.json), inflected forms included: the weekday before
    publication (Wednesday 10 June 2026), the part of day when CLDR names it."""
    published = datetime(2026, 6, 10, 17, 0, tzinfo=UTC)
    found = extract_dates(text, published, LAGOS, lang=lang)
    assert found, text
    start, end = found[0].start.astimezone(LAGOS), found[0].end.astimezone(LAGOS)
    assert start.date() == date(2026, 6, day), (text, found)
    if part_hours is not None:
        assert (start.hour, end.hour) == part_hours, (text, found)
    else:
        assert end - start == timedelta(days=1), (text, found)


def test_cldr_words_are_not_read_in_a_covered_language_or_without_evidence() -> None:
    """A Spanish article's "este" is no Hungarian evening, an article whose
    language is unknown is read in the uncovered language whose date words
    it uses at least twice, and a single stray word decides nothing."""
    from telewatch.xref.dates import cldr_language

    published = datetime(2026, 6, 10, 17, 0, tzinfo=UTC)
    es = extract_dates("El incendio de este martes en Oyo.", published, LAGOS, lang="es")
    assert [m.text for m in es] == ["martes"]
    assert cldr_language("El incendio de este martes en Oyo.", "es") is None
    assert cldr_language("Maanantain ja tiistain välisenä yönä syttyi tulipalo.", None) == "fi"
    assert cldr_language("Maanantain ja tiistain välisenä yönä syttyi tulipalo.", "und") == "fi"
    assert cldr_language("A visit to Kedden.", "und") is None
    # The first part of a Hungarian compound is no part of day: "dél-" is
    # "south-" there, "dél" alone noon.
    hu = extract_dates("A dél-kirgizisztáni Osban kedden tűz volt.", published, LAGOS, lang="hu")
    assert [m.text for m in hu] == ["tuesday"]
    fi = extract_dates("Palo syttyi maanantain ja tiistain välisenä yönä.", published, LAGOS)
    assert {m.start.astimezone(LAGOS).date() for m in fi} >= {date(2026, 6, 8), date(2026, 6, 9)}


def test_date_words_file_covers_every_language_it_lists() -> None:
    """data/date_words.json (tools/make_date_words.py) has seven weekdays and
    twelve months for every language, each with at least one name."""
    import json
    from importlib import resources

    raw = json.loads(
        resources.files("telewatch.data").joinpath("date_words.json").read_text("utf-8")
    )
    assert raw["source"].startswith("CLDR through Babel")
    assert len(raw["languages"]) >= 80
    for lang, d in raw["languages"].items():
        assert len(d["weekdays"]) == 7 and all(d["weekdays"]), lang
        assert len(d["months"]) == 12 and all(d["months"]), lang


def test_an_evening_is_reported_by_the_next_early_afternoon() -> None:
    """An evening ("Tuesday evening"): a channel posts it that evening or the next
    morning ("last night …"); such a post keeps half an in-window post's
    time score until 16:00 the next day, and decays as before after."""
    from telewatch.xref.rank import _time_score

    riga = ZoneInfo("Europe/Riga")
    found = extract_dates(
        "Police arrested three men on Tuesday evening in Jelgava.",
        datetime(2026, 11, 11, 15, 30, tzinfo=riga),
        riga,
    )
    (evening,) = [m for m in found if "evening" in m.text]
    assert evening.reported_by == datetime(2026, 11, 11, 16, 0, tzinfo=riga)
    morning = datetime(2026, 11, 11, 10, 30, tzinfo=riga)
    later = datetime(2026, 11, 11, 18, 0, tzinfo=riga)
    inside = datetime(2026, 11, 10, 20, 0, tzinfo=riga)
    assert _time_score(inside, [evening])[0] == pytest.approx(0.9)
    assert _time_score(morning, [evening])[0] == pytest.approx(0.45)
    assert _time_score(later, [evening])[0] < 0.1
    noon = extract_dates(
        "Police arrested three men on Tuesday at noon in Jelgava.",
        datetime(2026, 11, 11, 15, 30, tzinfo=riga),
        riga,
    )
    assert all(m.reported_by is None for m in noon)
