"""Solar Hijri (Jalali, Persian) calendar arithmetic, stdlib only.

The official calendar of Iran and Afghanistan starts each year at the March
equinox (1 Farvardin / Hamal); months 1–6 have 31 days, 7–11 have 30, and the
last (Esfand / Hut) 29, or 30 in a leap year. Leap years follow the 33-year
arithmetic rule (eight leap years per 33, at fixed places in the cycle),
which agrees with the equinox-based calendar over the years news articles
use; the tests pin it to well-known dates (Nowruz 1300 = 21 March 1921,
Nowruz 1403 = 20 March 2024, 30 Esfand 1403 = 20 March 2025, …). Far from
the present the rule and the astronomical calendar part ways by a day now
and then.
"""

from __future__ import annotations

from datetime import date

# The 33-year arithmetic rule: a year is leap when its remainder modulo 33 is
# one of these. It agrees with the official (equinox-based) calendar for the
# years articles use; the fixed points in the tests pin it down.
_SOLAR_LEAP_REMAINDERS = (1, 5, 9, 13, 17, 22, 26, 30)


def solar_is_leap(year: int) -> bool:
    """Whether Solar Hijri ``year`` has 366 days (Esfand 30), by the 33-year rule."""
    return year % 33 in _SOLAR_LEAP_REMAINDERS


def solar_month_days(year: int, month: int) -> int:
    """Days in ``month`` (1 = Farvardin … 12 = Esfand) of Solar Hijri ``year``."""
    if not 1 <= month <= 12:
        raise ValueError(f"Solar Hijri month must be 1..12, not {month}")
    if month <= 6:
        return 31
    if month <= 11:
        return 30
    return 30 if solar_is_leap(year) else 29


def _solar_leaps_before(year: int) -> int:
    """Leap years among Solar Hijri years 1 .. year - 1."""
    cycles, rest = divmod(year - 1, 33)
    return 8 * cycles + sum(1 for r in _SOLAR_LEAP_REMAINDERS if r <= rest)


def _solar_days_before(year: int) -> int:
    """Days from 1 Farvardin of year 1 to 1 Farvardin of ``year``."""
    return 365 * (year - 1) + _solar_leaps_before(year)


# Anchor: Nowruz 1403 fell on 20 March 2024; every other year is counted from it.
_SOLAR_EPOCH = date(2024, 3, 20).toordinal() - _solar_days_before(1403)


def _solar_new_year(year: int) -> int:
    """Proleptic Gregorian ordinal of 1 Farvardin ``year``."""
    return _SOLAR_EPOCH + _solar_days_before(year)


def solar_to_gregorian(year: int, month: int, day: int) -> date:
    """The Gregorian date of Solar Hijri ``day`` ``month`` ``year``.

    Raises ``ValueError`` for a day that does not exist (32 Mehr, 31 Esfand,
    30 Esfand of a common year) or a year outside 1..9000, like ``date()``."""
    if not 1 <= year <= 9000:
        raise ValueError(f"Solar Hijri year out of range: {year}")
    if not 1 <= day <= solar_month_days(year, month):
        raise ValueError(f"no day {day} in Solar Hijri month {month} of {year}")
    before = (month - 1) * 31 if month <= 7 else 186 + (month - 7) * 30
    return date.fromordinal(_solar_new_year(year) + before + day - 1)


def gregorian_to_solar(day: date) -> tuple[int, int, int]:
    """``(year, month, day)`` in the Solar Hijri calendar; inverse of ``solar_to_gregorian``."""
    ordinal = day.toordinal()
    year = day.year - 621  # Nowruz falls on 19–22 March of Gregorian year + 621
    if ordinal < _solar_new_year(year):
        year -= 1
    offset = ordinal - _solar_new_year(year)
    if offset < 186:
        return year, offset // 31 + 1, offset % 31 + 1
    return year, (offset - 186) // 30 + 7, (offset - 186) % 30 + 1
