"""Dates and times in articles, resolved to UTC windows.

Articles say "mardi matin", "late on Monday", "hier soir", "dans la nuit de
mercredi à jeudi", "Thursday 3 March", "shortly after 22:30 local time",
"вчера вечером", "صباح الثلاثاء", "سه‌شنبه". Each becomes a ``DateMention``:
a window ``[start, end)`` in UTC, computed in the *event's* time zone (the
zone of the places the article is about; the outlet's own zone only decides
which calendar day "today" is).

Rules (contract):
* A weekday means the most recent such day on or before the publication day
  (the publication day itself included); "last <weekday>" on that weekday
  means a week earlier.
* A day and month without a year take the latest year that does not put the
  date after publication (so "30 décembre" published on 2 January is the
  previous year).
* Parts of the day, local time: early 03–09, morning 05–12, late morning
  09–13, noon 11–15, afternoon 12–19, evening 16–24, night 18–06 next day,
  "late on <day>" 18–03. "Night" with a day is the night after it in
  English and French ("Thursday night"), the night before it in Russian,
  Ukrainian ("в субботу ночью"), Arabic ("ليلة الخميس") and Persian ("شب جمعه"):
  18:00 the day before to 07:00. A clock time narrows the window to ±1 h (±1.5 h on
  the side "shortly before/after" points to).
* Without a publication time nothing relative can be resolved: absolute
  dates are still returned, relative ones are dropped and ``resolved`` says so.
* Solar Hijri dates (Iran, Afghanistan) are day-and-month mentions like any
  other, under the same rules: "۱۰ اسفند", "دهم اسفند ۱۴۰۲", "پنجشنبه ۱۰
  اسفند ۱۴۰۲", "۱۴۰۲/۱۲/۱۰", "۱۰/۱۲/۱۴۰۲"; without a year, the latest Solar
  year that does not put the date after publication. A numeric date whose
  year is 1300–1500 is Solar Hijri, never Gregorian. Afghan zodiac month
  names ("۱۰ حوت") are common words too ("اسد", "میزان", "عقرب"), so they
  need a year or a weekday / "روز" / "تاریخ" before the day. Days that do not
  exist (31 Esfand, 30 Esfand of a common year) are not dates. Conversion uses
  the 33-year arithmetic leap rule.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from telewatch.text import normalize
from telewatch.xref.calendars import gregorian_to_solar, solar_to_gregorian

_WEEKDAYS: dict[str, int] = {}
for _idx, _names in enumerate(
    [
        "monday lundi montag lunes lunedì lunedi segunda-feira segunda_feira maandag mandag måndag poniedziałek poniedziałku poniedziałki pondělí pazartesi dilluns понедельник понеділок понеділка الاثنين الإثنين اثنين دوشنبه",
        "tuesday mardi dienstag martes martedì martedi terça-feira terca-feira terça_feira dinsdag tirsdag tisdag wtorek wtorku úterý salı dimarts вторник вторника вівторок вівторка الثلاثاء ثلاثاء سه‌شنبه سهشنبه سه_شنبه",
        "wednesday mercredi mittwoch miércoles miercoles mercoledì mercoledi quarta-feira quarta_feira woensdag onsdag środa środę środy středa středu çarşamba dimecres среда среду середа середу الأربعاء الاربعاء اربعاء چهارشنبه",
        "thursday jeudi donnerstag jueves giovedì giovedi quinta-feira quinta_feira donderdag torsdag czwartek czwartku čtvrtek perşembe dijous четверг четверга четвер четверга الخميس خميس پنجشنبه پنج‌شنبه",
        "friday vendredi freitag viernes venerdì venerdi sexta-feira sexta_feira vrijdag fredag piątek piątku pátek cuma пятница пятницу п'ятниця п'ятницю пʼятниця пʼятницю п’ятниця п’ятницю пятниця пятницю الجمعة جمعه جمعة",
        "saturday samedi samstag sonnabend sábado sabado sabato zaterdag lørdag lördag sobota sobotę soboty sobotu cumartesi dissabte суббота субботу субота суботу السبت سبت شنبه",
        "sunday dimanche sonntag domingo domenica zondag søndag söndag niedziela niedzielę niedzieli neděle neděli pazar_günü diumenge воскресенье неділя неділю الأحد الاحد احد یکشنبه یک‌شنبه",
    ]
):
    for _n in _names.split():
        _WEEKDAYS[normalize(_n.replace("_", " "))] = _idx

_MONTHS: dict[str, int] = {}
for _idx, _names in enumerate(
    [
        "january jan janvier januar jänner enero gennaio janeiro januari styczeń stycznia ledna leden ocak gener января январь січня січень يناير كانون_الثاني ژانویه",
        "february feb février fevrier februar febrero febbraio fevereiro februari luty lutego února únor şubat febrer февраля февраль лютого лютий فبراير شباط فوریه",
        "march mar mars märz marzo março maart marts marca března březen mart març марта март березня березень مارس آذار اذار",
        "april apr avril abril aprile kwietnia duben dubna nisan апреля апрель квітня квітень أبريل ابريل نيسان آوریل",
        "may mai mayo maggio maio mei maj maja května květen mayıs maig мая май травня травень مايو أيار ايار مه",
        "june jun juin juni junio giugno junho czerwca června červen haziran juny июня июнь червня червень يونيو حزيران ژوئن",
        "july jul juillet juli julio luglio julho lipca července červenec temmuz juliol июля июль липня липень يوليو تموز ژوئیه",
        "august aug août aout agosto augustus augusti sierpnia srpna srpen ağustos agost августа август серпня серпень أغسطس اغسطس آب اوت",
        "september sep sept septembre septiembre setiembre settembre setembro września září eylül setembre сентября сентябрь вересня вересень سبتمبر أيلول ايلول سپتامبر",
        "october oct octobre oktober octubre ottobre outubro października října říjen ekim octubre октября октябрь жовтня жовтень أكتوبر اكتوبر تشرين_الأول اکتبر",
        "november nov novembre noviembre novembro listopada listopadu listopad kasım ноября ноябрь листопада листопад نوفمبر تشرين_الثاني نوامبر",
        "december dec décembre decembre dezember diciembre dicembre dezembro grudnia prosince prosinec aralık desembre декабря декабрь грудня грудень ديسمبر كانون_الأول دسامبر",
    ]
):
    for _n in _names.split():
        _MONTHS[normalize(_n.replace("_", " "))] = _idx + 1

WEEKDAY_NAMES = frozenset(_WEEKDAYS)
MONTH_NAMES = frozenset(k for k in _MONTHS if len(k) > 3)  # not "mar", "may"-like short forms

# Relative days: offset from the reference (publication) day.
_RELATIVE: dict[str, int] = {
    normalize(k): v
    for k, v in {
        "today": 0,
        "tonight": 0,
        "this morning": 0,
        "this afternoon": 0,
        "this evening": 0,
        "aujourd'hui": 0,
        "ce matin": 0,
        "cet après-midi": 0,
        "ce soir": 0,
        "cette nuit": 0,
        "сегодня": 0,
        "сьогодні": 0,
        "اليوم": 0,
        "امروز": 0,
        "امشب": 0,
        "heute": 0,
        "hoy": 0,
        "yesterday": -1,
        "gestern": -1,
        "ayer": -1,
        "anoche": -1,
        "vorgestern": -2,
        "anteayer": -2,
        # Italian, Portuguese, Dutch, Danish and Norwegian, Swedish, Polish,
        # Czech, Turkish, Catalan.
        "oggi": 0,
        "stamattina": 0,
        "stasera": 0,
        "stanotte": 0,
        "ieri": -1,
        "l'altro ieri": -2,
        "hoje": 0,
        "esta manhã": 0,
        "esta noite": 0,
        "ontem": -1,
        "anteontem": -2,
        "vandaag": 0,
        "vanochtend": 0,
        "vanmorgen": 0,
        "vanavond": 0,
        "vannacht": 0,
        "gisteren": -1,
        "eergisteren": -2,
        "i dag": 0,
        "idag": 0,
        "i morges": 0,
        "i morse": 0,
        "i aften": 0,
        "i kveld": 0,
        "i kväll": 0,
        "i nat": 0,
        "i natt": 0,
        "i går": -1,
        "igår": -1,
        "i aftes": -1,
        "i forgårs": -2,
        "i förrgår": -2,
        "dziś": 0,
        "dzisiaj": 0,
        "wczoraj": -1,
        "przedwczoraj": -2,
        "dnes": 0,
        "včera": -1,
        "předevčírem": -2,
        "bugün": 0,
        "dün": -1,
        "avui": 0,
        "aquest matí": 0,
        "aquesta nit": 0,
        "ahir": -1,
        "abans-d'ahir": -2,
        "last night": -1,
        "hier": -1,
        "la veille": -1,
        "вчера": -1,
        "вчора": -1,
        "учора": -1,
        "أمس": -1,
        "امس": -1,
        "البارحة": -1,
        "دیروز": -1,
        "دیشب": -1,
        "day before yesterday": -2,
        "avant-hier": -2,
        "позавчера": -2,
        "позавчора": -2,
        "أول أمس": -2,
        "اول امس": -2,
        "پریروز": -2,
    }.items()
}
_PARTS: dict[str, str] = {
    normalize(k): v
    for k, v in {
        "early": "early",
        "tôt": "early",
        "aube": "early",
        "dawn": "early",
        "рано": "early",
        "на рассвете": "early",
        "фجر": "early",
        "فجر": "early",
        "الفجر": "early",
        "سحر": "early",
        # German and Spanish ("am Dienstagabend", "el martes por la tarde").
        "frühmorgens": "early",
        "madrugada": "early",
        "am morgen": "morning",
        "morgens": "morning",
        "por la mañana": "morning",
        "de la mañana": "morning",
        "vormittag": "late_morning",
        "vormittags": "late_morning",
        "mittag": "noon",
        "mittags": "noon",
        "mediodía": "noon",
        "nachmittag": "afternoon",
        "nachmittags": "afternoon",
        "por la tarde": "afternoon",
        "de la tarde": "afternoon",
        "abend": "evening",
        "abends": "evening",
        "nacht": "night",
        "nachts": "night",
        "por la noche": "night",
        "noche": "night",
        "late morning": "late_morning",
        "fin de matinée": "late_morning",
        "early afternoon": "early_afternoon",
        "début d'après-midi": "early_afternoon",
        "late afternoon": "late_afternoon",
        "fin d'après-midi": "late_afternoon",
        "late evening": "night",
        "fin de soirée": "night",
        "tard dans la soirée": "night",
        "début de soirée": "evening",
        "early evening": "evening",
        "mid-morning": "late_morning",
        "milieu de matinée": "late_morning",
        "morning": "morning",
        "matin": "morning",
        "matinée": "morning",
        "утром": "morning",
        "утра": "morning",
        "утро": "morning",
        "вранці": "morning",
        "зранку": "morning",
        "ранку": "morning",
        "صباح": "morning",
        "صباحا": "morning",
        "صبح": "morning",
        "noon": "noon",
        "midday": "noon",
        "midi": "noon",
        "полдень": "noon",
        "опівдні": "noon",
        "ظهر": "noon",
        "ظهرا": "noon",
        "الظهر": "noon",
        "afternoon": "afternoon",
        "après-midi": "afternoon",
        "днем": "afternoon",
        "днём": "afternoon",
        "вдень": "afternoon",
        "после обеда": "afternoon",
        "пополудні": "afternoon",
        "بعد الظهر": "afternoon",
        "عصر": "afternoon",
        "بعدازظهر": "afternoon",
        "evening": "evening",
        "soir": "evening",
        "soirée": "evening",
        "вечером": "evening",
        "вечер": "evening",
        "вечора": "evening",
        "ввечері": "evening",
        "увечері": "evening",
        "مساء": "evening",
        "مساءا": "evening",
        "مساء اليوم": "evening",
        "night": "night",
        "nuit": "night",
        "ночью": "night_before",
        "ночь": "night_before",
        "вночі": "night_before",
        "уночі": "night_before",
        "ночі": "night_before",
        "ليلا": "night",
        "ليلة": "night_before",
        "الليلة": "night",
        "ليل": "night",
        "شب": "night_before",
        "late": "late",
        "tard": "late",
        "поздно": "late",
        "пізно": "late",
        "tonight": "evening",
        "ce soir": "evening",
        "cette nuit": "night",
        "last night": "night",
        "دیشب": "night",
        "امشب": "night",
        # Persian news wording ("بامداد امروز": in the small hours today).
        "بامداد": "early",
        "سپیده‌دم": "early",
        "سپیده دم": "early",
        "صبحگاه": "morning",
        "صبحگاهان": "morning",
        "پیش از ظهر": "late_morning",
        "قبل از ظهر": "late_morning",
        "نیمروز": "noon",
        "بعد از ظهر": "afternoon",
        "غروب": "evening",
        "شامگاه": "evening",
        "شامگاهان": "evening",
        "نیمه‌شب": "night",
        "نیمه شب": "night",
        # Italian, Portuguese, Dutch, Danish/Norwegian, Swedish, Polish,
        # Czech, Turkish, Catalan.
        "mattina": "morning",
        "mattino": "morning",
        "in mattinata": "morning",
        "pomeriggio": "afternoon",
        "in serata": "evening",
        "di sera": "evening",
        "la sera": "evening",
        "notte": "night",
        "nella notte": "night_before",
        "manhã": "morning",
        "de manhã": "morning",
        "à tarde": "afternoon",
        "de tarde": "afternoon",
        "à noite": "night",
        "de noite": "night",
        "ochtend": "morning",
        "'s ochtends": "morning",
        "'s middags": "afternoon",
        "avond": "evening",
        "'s avonds": "evening",
        "'s nachts": "night",
        "morgenen": "morning",
        "om morgenen": "morning",
        "formiddag": "late_morning",
        "formiddagen": "late_morning",
        "förmiddag": "late_morning",
        "förmiddagen": "late_morning",
        "eftermiddag": "afternoon",
        "eftermiddagen": "afternoon",
        "ettermiddag": "afternoon",
        "ettermiddagen": "afternoon",
        "aften": "evening",
        "aftenen": "evening",
        "kveld": "evening",
        "kvelden": "evening",
        "kväll": "evening",
        "kvällen": "evening",
        "morgon": "morning",
        "morgonen": "morning",
        "natten": "night",
        "om natten": "night",
        "rano": "morning",
        "ráno": "morning",
        "przed południem": "late_morning",
        "po południu": "afternoon",
        "wieczorem": "evening",
        "wieczór": "evening",
        "w nocy": "night_before",
        "dopoledne": "late_morning",
        "odpoledne": "afternoon",
        "večer": "evening",
        "v noci": "night_before",
        "sabahı": "morning",
        "öğleden sonra": "afternoon",
        "akşam": "evening",
        "akşamı": "evening",
        "gece": "night",
        "gecesi": "night",
        "al matí": "morning",
        "matí": "morning",
        "a la tarda": "afternoon",
        "tarda": "afternoon",
        "al vespre": "evening",
        "vespre": "evening",
        "a la nit": "night",
        "nit": "night",
        "matinada": "early",
        # Arabic and the other languages' words for the same hours.
        "الضحى": "late_morning",
        "ضحى": "late_morning",
        "منتصف الليل": "night",
        "midnight": "night",
        "overnight": "night",
        "minuit": "night",
        "полночь": "night",
        "в полночь": "night",
        "опівночі": "night",
    }.items()
}
# Local hours [start, end) of each part of the day (end may pass midnight).
_PART_HOURS: dict[str, tuple[float, float]] = {
    "early": (3, 9),
    "morning": (5, 12),
    "late_morning": (9, 13),
    "noon": (11, 15),
    "afternoon": (12, 19),
    "early_afternoon": (12, 16),
    "late_afternoon": (15, 19),
    "evening": (16, 24),
    "night": (18, 30),
    "night_before": (-6, 7),
    "late": (18, 27),
    "day": (0, 24),
}
# Parts of a day whose events a channel reports the next morning.
_LATE_PARTS = frozenset({"evening", "night", "late"})
_LAST = {
    normalize(w)
    for w in (
        "last",
        "dernier",
        "dernière",
        "прошлый",
        "прошлую",
        "минулого",
        "scorso",
        "passado",
        "passada",
        "afgelopen",
        "sidste",
        "forrige",
        "förra",
        "ostatni",
        "minulý",
        "geçen",
        "passat",
    )
}


def _alternation(keys: list[str]) -> str:
    return "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))


_B = r"(?<![\w])"  # word boundary that works for Arabic and Cyrillic
_E = r"(?![\w])"
_MONTH_RE = _alternation(list(_MONTHS))
_ABS_DMY = re.compile(
    _B
    + r"(\d{1,2})(?:er|st|nd|rd|th|-?го|-?е|\.)?\s+(?:de\s+|d['’]|di\s+)?("
    + _MONTH_RE
    + r")"
    + _E
    + r"(?:\s*,?\s*(\d{4}))?"
)
_ABS_MDY = re.compile(
    _B + r"(" + _MONTH_RE + r")\s+(\d{1,2})(?:st|nd|rd|th)?" + _E + r"(?:\s*,?\s*(\d{4}))?"
)
# "du jeudi 5 au mercredi 11 février", "from 5 to 11 February", "vom 5. bis
# 11. Februar", "del 5 al 11 de febrero", "5–11 лютого": the first day takes
# the month (and year) of the second.
_RANGE_DMY = re.compile(
    _B
    + r"(\d{1,2})\.?\s*(?:-|–|au|à|to|until|till|bis|zum|al|a|til|do|až|–)\s*(?:(?:"
    + _alternation(list(_WEEKDAYS))
    + r")\s+)?(\d{1,2})\.?\s+(?:de\s+|d['’]|di\s+)?("
    + _MONTH_RE
    + r")"
    + _E
    + r"(?:\s*,?\s*(\d{4}))?"
)
_ISO = re.compile(_B + r"(\d{4})-(\d{2})-(\d{2})" + _E)
_NUMERIC = re.compile(_B + r"(\d{1,2})[./](\d{1,2})[./](\d{4}|\d{2})" + _E)
_WEEKDAY_RE = re.compile(_B + r"(" + _alternation(list(_WEEKDAYS)) + r")" + _E)
_RELATIVE_RE = re.compile(_B + r"(" + _alternation(list(_RELATIVE)) + r")" + _E)
_PART_RE = re.compile(_B + r"(" + _alternation(list(_PARTS)) + r")" + _E)
_CLOCK = re.compile(_B + r"(\d{1,2})(?::|h\s?|\s?h\s?)(\d{2})?" + r"(?!\d)(?:\s*(gmt|utc))?")
# Other ways outlets write a time: "kl. 15.14", "klokken 12", "um 21.38 Uhr",
# "om 15.00 uur", "alle ore 9", "o godz. 7.30", "saat 14.00", "1755 GMT".
_CLOCK_WORD = re.compile(
    _B
    + r"(?:(kl\.?|klokken|klockan|kello|ore|godz\.?|godzinie|saat)\s+)?"
    + r"(\d{1,2})(?:[.:](\d{2}))?(?!\d)(?:\s*(uhr|uur|u|h|t)(?![\w]))?(?:\s*(gmt|utc))?"
)
_CLOCK_MILITARY = re.compile(_B + r"([01]\d|2[0-3])([0-5]\d)\s*(gmt|utc|z)" + _E)
# "klokken 12 dansk tid", "13 Uhr deutscher Zeit", "à 14h heure de Paris":
# a country's own time, named after the clock time.
_HOME_ZONES = {
    "dansk": "Europe/Copenhagen",
    "norsk": "Europe/Oslo",
    "svensk": "Europe/Stockholm",
    "hollandsk": "Europe/Amsterdam",
    "deutscher": "Europe/Berlin",
    "italiana": "Europe/Rome",
    "francesa": "Europe/Paris",
    "española": "Europe/Madrid",
    "peninsular": "Europe/Madrid",
    "heure de paris": "Europe/Paris",
    "heure française": "Europe/Paris",
    "heure de france": "Europe/Paris",
    "hora de madrid": "Europe/Madrid",
    "hora local de madrid": "Europe/Madrid",
}
# Written offsets: these name the offset itself, summer or not.
_FIXED_ZONES = {"mez": 1, "cet": 1, "mesz": 2, "cest": 2}
_HOME_TIME = re.compile(
    r"\s*(?:hora\s+)?("
    + _alternation([*_HOME_ZONES, *_FIXED_ZONES])
    + r")(?:\s+(?:tid|zeit|time))?"
    + _E
)


def _home_zone(s: str, pos: int) -> tzinfo | None:
    """The zone a country's time named right after a clock time stands for."""
    m = _HOME_TIME.match(s, pos)
    if m is None:
        return None
    if m[1] in _FIXED_ZONES:
        return timezone(timedelta(hours=_FIXED_ZONES[m[1]]))
    return ZoneInfo(_HOME_ZONES[m[1]])


_BEFORE = re.compile(r"(before|avant|до|قبل|پیش از|shortly before|peu avant)\s*$")
_AFTER = re.compile(r"(after|après|после|після|بعد|پس از)\s*$")
_NIGHT_SPAN = re.compile(
    _B
    + r"(?:nuit|night|ночь|ніч|ليلة|شب|nit|notte|noite|nacht|nat|natt|natten|nocy|noci)"
    + r"\s+(?:de|du|of|from|со|с|з|зі|del|di|da|van|fra|från|ze|z|ve)?\s*("
    + _alternation(list(_WEEKDAYS))
    + r")\s+(?:à|au|to|into|на|до|-|–|و|a|al|alla|para|op|til|till|mot|na)\s*("
    + _alternation(list(_WEEKDAYS))
    + r")"
    + _E
)
# "overnight into Monday", "in der Nacht zu Montag": the night before that day.
_NIGHT_INTO = re.compile(
    _B
    + r"(?:overnight|night|nacht|natten|natt|nat)\s+(?:into|to|zu|zum|auf|auf den|til|till|mot|naar|op)\s+("
    + _alternation(list(_WEEKDAYS))
    + r")"
    + _E
)
# German writes the part of the day into the weekday ("Dienstagabend").
_GERMAN_COMPOUND = re.compile(
    r"(?<![\w])(montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonnabend|sonntag)"
    r"(morgen|vormittag|mittag|nachmittag|abend|nacht)(?![\w])"
)
# A full stop after a day number ("13. oktober") or "kl." ends no sentence.
_SENTENCE = re.compile(r"(?<=[.!?؟\n])(?<!\b\d\.)(?<!\b\d\d\.)(?<!\bkl\.)\s+")
# "Le lendemain matin", "the next day", "am nächsten Tag": the day after the
# last day the article named (wire copy chains events that way).
_NEXT_DAY_WORDS = [
    "le lendemain",
    "au lendemain",
    "the next day",
    "the following day",
    "next morning",
    "the next morning",
    "the following morning",
    "am nächsten tag",
    "am folgenden tag",
    "am nächsten morgen",
    "tags darauf",
    "al día siguiente",
    "a la mañana siguiente",
    "на следующий день",
    "наутро",
    "наступного дня",
    "il giorno dopo",
    "l'indomani",
    "la mattina dopo",
    "no dia seguinte",
    "na manhã seguinte",
    "de volgende dag",
    "de dag erna",
    "de volgende ochtend",
    "dagen efter",
    "dagen etter",
    "næste dag",
    "neste dag",
    "næste morgen",
    "neste morgen",
    "morgenen efter",
    "morgenen etter",
    "nästa dag",
    "morgonen efter",
    "następnego dnia",
    "nazajutrz",
    "druhý den",
    "následující den",
    "nazítří",
    "ertesi gün",
    "ertesi sabah",
    "l'endemà",
]
_NEXT_DAY = re.compile(
    _B + r"(" + _alternation([normalize(w) for w in _NEXT_DAY_WORDS]) + r")" + _E
)

# --------------------------------------------------------------------------
# Solar Hijri (Jalali) dates, Iranian and Afghan (conversion: calendars.py).
# --------------------------------------------------------------------------

# Written years in this range mark a numeric date as Solar Hijri (1921–2122 CE);
# Gregorian news dates never carry them.
_SOLAR_YEARS = range(1300, 1501)


# Iranian month names, then the Afghan (Dari) zodiac names, 1..12 each.
_SOLAR_MONTHS: dict[str, int] = {}
_DARI_MONTHS: dict[str, int] = {}
for _table, _rows in (
    (
        _SOLAR_MONTHS,
        "فروردین|اردیبهشت|خرداد|تیر|مرداد امرداد|شهریور|مهر|آبان|آذر|دی|بهمن|اسفند",
    ),
    (_DARI_MONTHS, "حمل|ثور|جوزا جوزاء جوزای|سرطان|اسد|سنبله|میزان|عقرب|قوس|جدی|دلو|حوت"),
):
    for _idx, _names in enumerate(_rows.split("|")):
        for _n in _names.split():
            _table[normalize(_n)] = _idx + 1

# Ordinal day words: "دهم اسفند", "بیست و دوم بهمن", "سی‌ام دی".
_ORDINAL_UNITS = {
    normalize(w): i + 1
    for i, w in enumerate(["یکم", "دوم", "سوم", "چهارم", "پنجم", "ششم", "هفتم", "هشتم", "نهم"])
}
_ORDINAL_TENS = {normalize("بیست"): 20, normalize("سی"): 30}
_ORDINALS = {
    **_ORDINAL_UNITS,
    **{
        normalize(w): n
        for w, n in {
            "اول": 1,
            "دهم": 10,
            "یازدهم": 11,
            "دوازدهم": 12,
            "سیزدهم": 13,
            "چهاردهم": 14,
            "پانزدهم": 15,
            "شانزدهم": 16,
            "هفدهم": 17,
            "هجدهم": 18,
            "هیجدهم": 18,
            "هژدهم": 18,
            "نوزدهم": 19,
            "بیستم": 20,
            "سی‌ام": 30,
            "سی ام": 30,
            "سیام": 30,
        }.items()
    },
}
_ORDINAL_COMPOUND = re.compile(
    "("
    + _alternation(list(_ORDINAL_TENS))
    + r")\s*و\s*("
    + _alternation(list(_ORDINAL_UNITS))
    + ")"
)
_SOLAR_DAY_RE = (
    r"(?P<day>\d{1,2}|" + _ORDINAL_COMPOUND.pattern + "|" + _alternation(list(_ORDINALS)) + ")"
)
_SOLAR_DMY = re.compile(
    _B
    + r"(?P<core>"
    + _SOLAR_DAY_RE
    + r"\s+(?P<month>"
    + _alternation([*_SOLAR_MONTHS, *_DARI_MONTHS])
    + r")(?:\s*ماه)?"
    + _E
    + r")(?:[\s,]*(?:سال\s+)?(?P<year>\d{4})"
    + _E
    + ")?"
)
# Dari month names are also words ("اسد" lion/Assad, "میزان" level, "قوس" arc,
# "عقرب" scorpion): besides the day they need a year, or a weekday / "روز" /
# "تاریخ" right before the day.
_DARI_CONTEXT = re.compile(
    "(?:"
    + _alternation([*_WEEKDAYS, *(normalize(w) for w in ("روز", "تاریخ", "بتاریخ", "مورخ"))])
    + r")[\s,:]*$"
)
# "تیر" is also a shot, bullet or arrow ("۳ تیر شلیک شد": three shots were
# fired): like the Dari names it needs a year, a weekday / "روز" / "تاریخ"
# before the day, or "ماه" after it ("۳ تیرماه").
_WORD_MONTHS = frozenset({normalize("تیر")})
_MAH = normalize("ماه")
# "نیمه‌ی دوم اسفند" (second half of Esfand), "دهه اول فروردین", "هفته اول
# مهر": an ordinal after these counts halves, decades or weeks, not days.
_NOT_A_DAY_ORDINAL = re.compile(
    "(?:" + _alternation([normalize(w) for w in ("نیمه", "دهه", "هفته")]) + r")(?:\s*ي)?\s*$"
)
_SOLAR_YMD = re.compile(_B + r"(\d{4})([/.-])(\d{1,2})\2(\d{1,2})" + _E)
_SOLAR_DMY_NUM = re.compile(_B + r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})" + _E)


def _ordinal_day(word: str) -> int | None:
    """The day number an ordinal word ("دهم", "بيست و دوم") or digits stand for."""
    if word.isdigit():
        return int(word)
    m = _ORDINAL_COMPOUND.fullmatch(word)
    if m:
        return _ORDINAL_TENS[m[1]] + _ORDINAL_UNITS[m[2]]
    return _ORDINALS.get(word)


def _solar_year_for(day: int, month: int, ref: date | None) -> int | None:
    """Solar Hijri twin of ``_year_for``: the latest year not after publication."""
    if ref is None:
        return None
    this_year = gregorian_to_solar(ref)[0]
    for year in (this_year, this_year - 1):
        try:
            d = solar_to_gregorian(year, month, day)
        except ValueError:
            continue
        if d <= ref + timedelta(days=1):
            return year
    return this_year - 1


@dataclass(frozen=True, slots=True)
class DateMention:
    """A date/time expression and the UTC window it stands for."""

    text: str
    start: datetime
    end: datetime
    weight: float
    position: int
    reported_by: datetime | None = None
    """For an evening or a night: the next day's early afternoon (local),
    by which a channel has posted what happened ("last night …")."""

    def to_json(self) -> dict[str, object]:
        """JSON form used by ``xref --json``."""
        return {
            "text": self.text,
            "start": self.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end": self.end.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "weight": round(self.weight, 2),
        }


def _window(day: date, part: str, tz: tzinfo) -> tuple[datetime, datetime]:
    lo, hi = _PART_HOURS[part]
    base = datetime.combine(day, time(0), tzinfo=tz)
    start = base + timedelta(hours=lo)
    end = base + timedelta(hours=hi)
    return start.astimezone(UTC), end.astimezone(UTC)


ANNOUNCED_AHEAD = timedelta(days=60)


def _year_for(day: int, month: int, ref: date | None) -> int | None:
    """The year of a day and month written without one: the latest not after
    publication, unless the day comes within ``ANNOUNCED_AHEAD`` after it
    (schools closed "until 11 February", written on 4 February)."""
    if ref is None:
        return None
    for year in (ref.year, ref.year + 1):
        try:
            d = date(year, month, day)
        except ValueError:
            continue
        if ref + timedelta(days=1) < d <= ref + ANNOUNCED_AHEAD:
            return year
    for year in (ref.year, ref.year - 1):
        try:
            d = date(year, month, day)
        except ValueError:
            continue
        if d <= ref + timedelta(days=1):
            return year
    return ref.year - 1


def _weekday_before(ref: date, weekday: int, strictly: bool) -> date:
    delta = (ref.weekday() - weekday) % 7
    if delta == 0 and strictly:
        delta = 7
    return ref - timedelta(days=delta)


@dataclass
class _Day:
    day: date
    span: tuple[int, int]
    text: str
    end_day: date | None = None  # for night spans


def _find_days(s: str, ref: date | None) -> list[_Day]:
    """Day expressions in normalised text ``s`` (absolute first, then relative)."""
    out: list[_Day] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= x or a >= y for x, y in taken)

    def add(d: _Day) -> None:
        out.append(d)
        taken.append(d.span)

    for m in _NIGHT_SPAN.finditer(s):
        if ref is None:
            continue
        d2 = _weekday_before(ref, _WEEKDAYS[m.group(2)], strictly=False)
        d1 = d2 - timedelta(days=(d2.weekday() - _WEEKDAYS[m.group(1)]) % 7 or 1)
        add(_Day(d1, m.span(), m.group(0), end_day=d2))
    for m in _NIGHT_INTO.finditer(s):
        if ref is None or not free(*m.span()):
            continue
        d2 = _weekday_before(ref, _WEEKDAYS[m.group(1)], strictly=False)
        add(_Day(d2 - timedelta(days=1), m.span(), m.group(0), end_day=d2))
    for rx, (yg, mg, dg) in ((_SOLAR_YMD, (1, 3, 4)), (_SOLAR_DMY_NUM, (4, 3, 1))):
        for m in rx.finditer(s):
            if int(m[yg]) not in _SOLAR_YEARS or not free(*m.span()):
                continue
            try:
                solar = solar_to_gregorian(int(m[yg]), int(m[mg]), int(m[dg]))
            except ValueError:
                continue
            add(_Day(solar, m.span(), m.group(0)))
    for m in _ISO.finditer(s):
        # A 13xx/14xx year is Solar Hijri (handled above), never Gregorian.
        if int(m[1]) in _SOLAR_YEARS or not free(*m.span()):
            continue
        try:
            add(_Day(date(int(m[1]), int(m[2]), int(m[3])), m.span(), m.group(0)))
        except ValueError:
            continue
    for m in _NUMERIC.finditer(s):
        if not free(*m.span()):
            continue
        y = int(m[3]) + (2000 if len(m[3]) == 2 else 0)
        if y in _SOLAR_YEARS:
            continue
        try:
            add(_Day(date(y, int(m[2]), int(m[1])), m.span(), m.group(0)))
        except ValueError:
            continue
    for m in _RANGE_DMY.finditer(s):
        if not free(*m.span()):
            continue
        first_dd, last_dd, mm = int(m[1]), int(m[2]), _MONTHS[m[3]]
        year = int(m[4]) if m[4] else _year_for(last_dd, mm, ref)
        if year is None or first_dd >= last_dd:
            continue
        try:
            first, last = date(year, mm, first_dd), date(year, mm, last_dd)
        except ValueError:
            continue
        add(_Day(first, (m.start(1), m.end(1)), f"{m.group(0)} (first day)"))
        add(_Day(last, (m.end(1), m.end()), f"{m.group(0)} (last day)"))
    for rx, dgroup, mgroup in ((_ABS_DMY, 1, 2), (_ABS_MDY, 2, 1)):
        for m in rx.finditer(s):
            if not free(*m.span()):
                continue
            dd, mm = int(m[dgroup]), _MONTHS[m[mgroup]]
            year = int(m[3]) if m[3] else _year_for(dd, mm, ref)
            if year is None:
                continue
            try:
                add(_Day(date(year, mm, dd), m.span(), m.group(0)))
            except ValueError:
                continue
    for m in _SOLAR_DMY.finditer(s):
        day, name = _ordinal_day(m["day"]), m["month"]
        written = int(m["year"]) if m["year"] and int(m["year"]) in _SOLAR_YEARS else None
        # A four-digit number outside the Solar years is not the date's year
        # ("۱۰ اسفند ۱۲۰۰ نفر": 1200 people), so the mention stops at the month.
        end = m.end() if written is not None else m.end("core")
        if day is None or not free(m.start(), end):
            continue
        if not m["day"].isdigit() and _NOT_A_DAY_ORDINAL.search(
            s[max(0, m.start() - 10) : m.start()]
        ):
            continue
        if (
            (name in _DARI_MONTHS or name in _WORD_MONTHS)
            and written is None
            and not _DARI_CONTEXT.search(s[max(0, m.start() - 24) : m.start()])
            and not (name in _WORD_MONTHS and _MAH in s[m.start() : end + 4])
        ):
            continue
        month = _SOLAR_MONTHS.get(name) or _DARI_MONTHS[name]
        year = written if written is not None else _solar_year_for(day, month, ref)
        if year is None:
            continue
        try:
            solar = solar_to_gregorian(year, month, day)
        except ValueError:
            continue
        add(_Day(solar, (m.start(), end), s[m.start() : end]))
    if ref is None:
        return out
    for m in _RELATIVE_RE.finditer(s):
        if free(*m.span()):
            add(_Day(ref + timedelta(days=_RELATIVE[m[1]]), m.span(), m.group(0)))
    for m in _WEEKDAY_RE.finditer(s):
        a, b = m.span()
        # "Saturday 26 February": the absolute date right after wins.
        if not free(a, b) or not free(a, b + 4) or not free(max(0, a - 4), b):
            continue
        before = s[max(0, a - 12) : a].split()
        strictly = bool(before) and before[-1] in _LAST
        add(_Day(_weekday_before(ref, _WEEKDAYS[m[1]], strictly), m.span(), m.group(0)))
    out.sort(key=lambda d: d.span[0])
    return out


def _part_near(s: str, a: int, b: int) -> tuple[str, str] | None:
    """The part of day written within a few words of the day expression."""
    best: tuple[int, str, str] | None = None
    for m in _PART_RE.finditer(s, max(0, a - 30), min(len(s), b + 30)):
        dist = a - m.end() if m.end() <= a else m.start() - b
        if dist < 0 and not (m.start() >= a and m.end() <= b):
            continue
        dist = max(dist, 0)
        if best is None or dist < best[0]:
            best = (dist, _PARTS[m[1]], m[1])
    if best is None:
        return None
    part = best[1]
    # "fin de matinée" / "late morning" are parts themselves; bare "late" + day.
    return part, best[2]


# --------------------------------------------------------------------------
# Languages the tables above do not cover: CLDR's words (data/date_words.json,
# made by tools/make_date_words.py) read into the English the tables know.
# --------------------------------------------------------------------------

_CLDR_WORD = re.compile(r"\w+")
_CLDR_STEM_MIN = 4  # a word longer than a CLDR word by 1-3 letters is that
_CLDR_SUFFIX_MAX = 3  # word inflected ("tiistain", "Τρίτης", "kedden")


def _fold(s: str) -> str:
    """Accents dropped (``Τρίτη`` and ``Τρίτης``, ``szerdán`` and ``szerda``
    compare on their letters)."""
    return "".join(c for c in unicodedata.normalize("NFD", s) if not unicodedata.combining(c))


@dataclass(frozen=True, slots=True)
class _Lexicon:
    words: dict[str, str]  # folded CLDR word → the English the tables read
    phrases: tuple[tuple[str, str], ...]  # folded phrases of several words, longest first

    def english(self, token: str) -> str | None:
        hit = self.words.get(token)
        if hit is not None:
            return hit
        for cut in range(1, _CLDR_SUFFIX_MAX + 1):
            stem = token[:-cut]
            if len(stem) < _CLDR_STEM_MIN:
                break
            hit = self.words.get(stem)
            if hit is not None:
                return hit
        return None


# The English names, first in each line of the tables above.
_ENGLISH_WEEKDAYS = tuple(next(k for k, v in _WEEKDAYS.items() if v == i) for i in range(7))
_ENGLISH_MONTHS = tuple(next(k for k, v in _MONTHS.items() if v == i) for i in range(1, 13))
_ENGLISH_RELATIVE = {"-2": "vorgestern", "-1": "yesterday", "0": "today"}


@lru_cache(maxsize=1)
def _cldr_raw() -> dict[str, dict[str, object]]:
    """data/date_words.json's languages not covered by the hand-written
    tables (a language is covered when the weekday table knows five of its
    seven weekday names), by code."""
    raw = json.loads(
        resources.files("telewatch.data").joinpath("date_words.json").read_text("utf-8")
    )
    known = {_fold(k) for k in _WEEKDAYS}
    out: dict[str, dict[str, object]] = {}
    for lang, d in raw["languages"].items():
        names = [_fold(normalize(forms[-1])) for forms in d["weekdays"]]
        if sum(n in known for n in names) < 5:
            out[lang] = d
    return out


@lru_cache(maxsize=128)
def _cldr_lexicon(lang: str) -> _Lexicon:
    """The CLDR date words of one uncovered language (``_cldr_raw``)."""
    d: dict[str, Any] = _cldr_raw()[lang]
    pairs: list[tuple[str, str]] = []
    for i, forms in enumerate(d["weekdays"]):
        pairs += [(f, _ENGLISH_WEEKDAYS[i]) for f in forms]
        # Albanian "e hënë": the noun alone too ("të hënën").
        pairs += [
            (f.split()[-1], _ENGLISH_WEEKDAYS[i])
            for f in forms
            if " " in f and len(f.split()[-1]) >= _CLDR_STEM_MIN
        ]
    for i, forms in enumerate(d["months"]):
        pairs += [(f, _ENGLISH_MONTHS[i]) for f in forms]
    for k, forms in d["relative"].items():
        pairs += [(f, _ENGLISH_RELATIVE[k]) for f in forms if k in _ENGLISH_RELATIVE]
    for part, forms in d["periods"].items():
        for f in forms:
            pairs.append((f, part))
            # "το πρωί": the noun alone too ("Τρίτη πρωί").
            tail = f.split()[-1]
            if " " in f and len(tail) >= _CLDR_STEM_MIN:
                pairs.append((tail, part))
    words: dict[str, str] = {}
    phrases: dict[str, str] = {}
    for form, english in pairs:
        key = _fold(normalize(form))
        if len(key) < 2 or key.isdigit():
            continue
        (phrases if " " in key else words).setdefault(key, english)
    return _Lexicon(words, tuple(sorted(phrases.items(), key=lambda kv: -len(kv[0]))))


@lru_cache(maxsize=8)  # asked twice per article (its zone's notes, its dates)
def cldr_language(text: str, lang: str | None) -> str | None:
    """The CLDR language to read ``text``'s dates in: ``lang`` when the
    tables do not cover it, else (``lang`` unknown or ``und``) the uncovered
    language whose date words the text uses most (two at least); None when
    the tables cover ``lang`` or no language fits."""
    uncovered = _cldr_raw()
    if lang and lang != "und":
        return lang if lang in uncovered else None
    tokens = [_fold(t) for t in _CLDR_WORD.findall(normalize(text[:4000]))]
    best, hits = None, 1
    for code in uncovered:
        lex = _cldr_lexicon(code)
        n = sum(1 for t in tokens if lex.english(t) is not None)
        if n > hits:
            best, hits = code, n
    return best


def _in_english(s: str, lex: _Lexicon) -> str:
    """Normalised sentence ``s`` with its CLDR date words in English,
    each padded to the word's length so positions move little."""
    s = _fold(s)
    for phrase, english in lex.phrases:
        if phrase in s:
            s = re.sub(rf"(?<!\w){re.escape(phrase)}(?!\w)", english.ljust(len(phrase)), s)

    def word(m: re.Match[str]) -> str:
        # The first part of a compound is no date ("dél-kirgizisztáni",
        # south-Kyrgyz, is no noon).
        if s[m.end() : m.end() + 1] == "-":
            return m.group(0)
        english = lex.english(m.group(0))
        return m.group(0) if english is None else english.ljust(len(m.group(0)))

    return _CLDR_WORD.sub(word, s)


def extract_dates(
    text: str,
    published: datetime | None,
    event_tz: tzinfo,
    lead_chars: int | None = None,
    attribution: re.Pattern[str] | None = None,
    lang: str | None = None,
) -> list[DateMention]:
    """Date/time mentions in ``text`` as UTC windows (see module docstring).

    ``published`` is aware (any zone) or None; ``event_tz`` is the zone of the
    places reported on. Mentions in the lead (first ``lead_chars``, default a
    third of the text) weigh 1.0, later ones 0.5 — unless their sentence
    matches ``attribution`` (it names the cited source: "the channel said on
    Thursday"), which makes them 1.0 too. ``lang`` (ISO 639-1, or None /
    ``und``) is the article's language: one the tables do not cover is read
    through CLDR's words for it (``_cldr_lexicon``)."""
    cldr = cldr_language(text, lang)
    lexicon = _cldr_lexicon(cldr) if cldr else None
    ref = published.astimezone(event_tz).date() if published else None
    lead = lead_chars if lead_chars is not None else max(200, len(text) // 3)
    mentions: list[DateMention] = []
    pos = 0
    last_day: date | None = None
    for sentence in _SENTENCE.split(text):
        offset = text.find(sentence, pos)
        pos = max(pos, offset)
        s = _GERMAN_COMPOUND.sub(r"\1 \2", normalize(sentence))
        # (The attribution's names are matched as written, before CLDR's
        # words are read into English without accents.)
        attributed = attribution is not None and attribution.search(s) is not None
        if lexicon is not None:
            s = _in_english(s, lexicon)
        days = _find_days(s, ref)
        if last_day is not None and ref is not None:
            for m in _NEXT_DAY.finditer(s):
                if all(m.end() <= d.span[0] or m.start() >= d.span[1] for d in days):
                    days.append(_Day(last_day + timedelta(days=1), m.span(), m.group(0)))
            days.sort(key=lambda d: d.span[0])
        for d in days:
            weight = 1.0 if offset + d.span[0] < lead or attributed else 0.5
            if d.end_day is not None:
                start, _ = _window(d.day, "night", event_tz)
                _, end = _window(d.end_day, "early", event_tz)
                mentions.append(DateMention(d.text, start, end, weight, offset + d.span[0]))
                last_day = d.end_day
                continue
            part = _part_near(s, *d.span)
            label = d.text if part is None else f"{d.text} ({part[1]})"
            start, end = _window(d.day, part[0] if part else "day", event_tz)
            if part is not None and part[0] == "night" and published and start > published:
                # "On Friday night …" written on Friday before the evening:
                # the night that had already passed, into Friday.
                start, end = _window(d.day, "night_before", event_tz)
            reported_by = None
            if part is not None and part[0] in _LATE_PARTS:
                reported_by = _window(d.day + timedelta(days=1), "early_afternoon", event_tz)[1]
                reported_by = max(reported_by, end)
            mentions.append(DateMention(label, start, end, weight, offset + d.span[0], reported_by))
            last_day = d.day
        if last_day is not None:
            # "Dans la matinée, …", "une mise à jour en début d'après-midi": a
            # part of day not attached to a day refers to the last day named.
            used = [(d.span[0] - 30, d.span[1] + 30) for d in days]
            for m in _PART_RE.finditer(s):
                alone = _PARTS[m[1]]
                if alone in ("early", "late") or any(a <= m.start() < b for a, b in used):
                    continue
                start, end = _window(last_day, alone, event_tz)
                w = 1.0 if attributed else 0.7
                mentions.append(DateMention(m[1], start, end, w, offset + m.start()))
        # Clock times narrow the window of the sentence's (or the last) day.
        day_for_clock = days[-1].day if days else last_day
        if day_for_clock is None:
            continue
        for m, hh, mm, zone_word in _clock_times(s):
            # GMT/UTC, a named country's time ("dansk tid"), else the event's.
            named = UTC if zone_word in ("gmt", "utc", "z") else _home_zone(s, m.end())
            zone: tzinfo = named or event_tz
            t = datetime.combine(day_for_clock, time(hh, mm), tzinfo=zone).astimezone(UTC)
            before_txt = s[max(0, m.start() - 20) : m.start()]
            lo, hi = timedelta(hours=1), timedelta(hours=1)
            if _BEFORE.search(before_txt):
                lo, hi = timedelta(hours=1.5), timedelta(minutes=10)
            elif _AFTER.search(before_txt):
                lo, hi = timedelta(minutes=10), timedelta(hours=1.5)
            weight = 1.0 if offset + m.start() < lead or attributed else 0.8
            mentions.append(DateMention(m.group(0), t - lo, t + hi, weight, offset + m.start()))
    return mentions


def _clock_times(s: str) -> list[tuple[re.Match[str], int, int, str | None]]:
    """Clock times in normalised sentence ``s``: (match, hour, minute, zone
    word or None), in order, none overlapping. "15.14" needs a word that makes
    it a time (kl., Uhr, uur, GMT…): "4.1" is a magnitude, "2.5" millions."""
    found: list[tuple[re.Match[str], int, int, str | None]] = []
    taken: list[tuple[int, int]] = []

    def add(m: re.Match[str], hh: int, mm: int, zone: str | None) -> None:
        if hh > 23 or mm > 59 or any(m.start() < b and a < m.end() for a, b in taken):
            return
        found.append((m, hh, mm, zone))
        taken.append(m.span())

    for m in _CLOCK_MILITARY.finditer(s):
        add(m, int(m[1]), int(m[2]), m[3])
    for m in _CLOCK.finditer(s):
        if m[2] is None and "h" not in m.group(0):
            continue
        add(m, int(m[1]), int(m[2] or 0), m[3])
    for m in _CLOCK_WORD.finditer(s):
        pre, unit, zone = m[1], m[4], m[5]
        if m[3] is None and not (pre or unit in ("uhr", "uur") or zone):
            continue  # a bare number
        if m[3] is not None and not (pre or unit or zone):
            continue  # "4.1", "2.5": numbers, not times
        if unit in ("u", "t") and not pre:
            continue
        add(m, int(m[2]), int(m[3] or 0), zone)
    found.sort(key=lambda f: f[0].start())
    return found


def default_window(
    published: datetime, days: float = 2.0, label: str = "(no date in the article)"
) -> DateMention:
    """The window used when an article names no date: the days before publication."""
    end = published.astimezone(UTC)
    return DateMention(label, end - timedelta(days=days), end, 0.5, -1)
