"""Citations, places/actors and event terms in articles (xref.citations, gazetteer, terms)."""

from __future__ import annotations

import pytest

from telewatch.xref.candidates import ChannelInfo
from telewatch.xref.citations import extract_citations
from telewatch.xref.gazetteer import EntityMatcher, find_entities
from telewatch.xref.terms import concepts, numbers

CHANNELS = [
    ChannelInfo(1, "ria_news", "РИА Новости"),
    ChannelInfo(2, "sabreen_s1", "صابرين نيوز"),
    ChannelInfo(3, "furat_flash", "Furat Flash"),
]


def test_links_handles_and_missing_channels() -> None:
    """t.me links and @handles resolve to archived channels or are reported missing."""
    cites = extract_citations("See t.me/furat_flash/45282 and @rybar_en.", CHANNELS)
    link = next(c for c in cites if c.kind == "link")
    assert (link.channel_id, link.message_id) == (3, 45282)
    handle = next(c for c in cites if c.kind == "handle")
    assert handle.username == "rybar_en"
    assert handle.channel_id is None


def test_channel_names_in_other_scripts() -> None:
    """ "RIA Novosti" finds «РИА Новости»; "Sabereen" finds «صابرين نيوز»."""
    cites = extract_citations(
        "According to RIA Novosti, and to the Sabereen channel on Telegram, it happened.",
        CHANNELS,
    )
    assert {c.channel_id for c in cites if c.kind == "name"} == {1, 2}


def test_vague_citations_in_several_languages() -> None:
    """Plural "Telegram channels" in en/fr/ru/ar are vague citations."""
    for text in (
        "according to several Iraqi Telegram channels",
        "selon des chaînes Telegram irakiennes",
        "сообщили российские телеграм-каналы",
        "ذكرت قنوات على تلغرام",
    ):
        kinds = [c.kind for c in extract_citations(text, CHANNELS)]
        assert kinds == ["vague"], text


def test_named_channel_not_in_archive_is_reported() -> None:
    """A channel named after "Telegram channel" that is not archived has no id."""
    cites = extract_citations("said the Telegram channel Sabah News Iraq.", CHANNELS)
    missing = [c for c in cites if c.kind == "name" and c.channel_id is None]
    assert missing and missing[0].text.startswith("Sabah")


def test_places_and_actors_across_scripts() -> None:
    """Gazetteer finds cities, provinces, bases and groups and matches them in Arabic posts."""
    ents = find_entities(
        "A convoy was hit at Samawa, in Muthanna, and Daech fighters near Ain al-Asad."
    )
    kinds = {e.surface: e.kind for e in ents}
    assert kinds["Samawa"] == "city"
    assert kinds["Muthanna"] == "place"
    assert kinds["Daech"] == "group"
    assert kinds["Ain al-Asad"] == "base"
    hits = EntityMatcher(ents).match("استهداف رتل بالسماوة في محافظة المثنى قرب قاعدة عين الأسد")
    assert len(hits) == 3


def test_unknown_names_match_by_name_key() -> None:
    """A small place missing from the gazetteer still matches its Arabic spelling."""
    ents = find_entities("The launcher was found in the Radwaniyah area.")
    hits = EntityMatcher(ents).match("العثور على منصة الإطلاق في منطقة الرضوانية")
    assert any("رضوانيه" in w for w in hits.values())


def test_capitalised_names_in_every_cased_alphabet() -> None:
    """Greek, extended Latin and Cyrillic capitals start a name, and a
    word written with combining marks (a decomposed Yoruba name) is one
    word."""
    greek = {e.surface for e in find_entities("Η φωτιά ξέσπασε στο Όγιο, κοντά στο Ιλόριν.")}
    assert {"Όγιο", "Ιλόριν"} <= greek
    decomposed = "Ọ̀yọ́".replace("Ọ̀", "O\u0323\u0300")  # NFD: O, dot below, grave
    assert decomposed in {e.surface for e in find_entities(f"Fire at {decomposed} market.")}
    assert "Łódź" in {e.surface for e in find_entities("A fire broke out in Łódź on Monday.")}


def test_world_countries_in_many_languages_and_no_namesakes_beside_them() -> None:
    """Every country is known by its CLDR names (Nigeria in Greek, Spanish,
    Finnish...); an article naming only countries whose towns the gazetteer
    does not hold gets no town of another country that a name is merely
    spelled like, and its zone is that country's."""
    from telewatch.xref.gazetteer import load_gazetteer
    from telewatch.xref.rank import _event_tz

    for text in ("Φωτιά στη Νιγηρία.", "Incendio en Nigeria.", "Tulipalo Nigeriassa Nigeria."):
        ids = {i for e in find_entities(text) for i in e.ids}
        assert "country:ng" in ids, text
    assert load_gazetteer().entry("country:ng").timezone == "Africa/Lagos"
    # Mysore is no Egypt (Misr) although their skeletons agree: countries
    # match as written only.
    assert all("country:eg" not in e.ids for e in find_entities("A leopard in Mysore."))
    text = "Kidnappers were arrested near Oyo and Bogadi, in the south-west of Nigeria."
    ents = find_entities(text)
    by = {e.surface: e for e in ents}
    assert by["Bogadi"].ids == ()  # not Baghdad
    assert _event_tz(ents, None)[1] == "Africa/Lagos"
    # In an article about Iraq the same spelling still finds Baghdad.
    iraq = {e.surface: e for e in find_entities("A rocket hit Bogadi, in Iraq, on Monday.")}
    assert iraq["Bogadi"].ids


@pytest.mark.parametrize(
    ("a", "b", "value"),
    [
        ("480 tūkst. pakelių", "480.000 cajetillas", "480000"),
        ("480 тыс. пачек", "480,000 packs", "480000"),
        ("1,9 mln. eurų", "1,9 millones de euros", "1900000"),
        ("12 млн сом", "12 millió szom", "12000000"),
        ("2,5 Mio. Euro", "2.5 million euros", "2500000"),
        ("1,5 тыс. человек", "1.500 personas", "1500"),
    ],
)
def test_digits_before_a_scale_word_meet_the_full_number(a: str, b: str, value: str) -> None:
    """A number in digits before "thousand" or "million" in any of many
    languages, abbreviated or not, is also the full number: a post's
    "480 tūkst." meets an article's "480.000"."""
    assert value in numbers(a) & numbers(b)


def test_event_terms_across_languages() -> None:
    """The same event terms are found in English, Arabic, Persian, Russian and Ukrainian."""
    assert {"convoy", "explosive_device"} <= set(concepts("a roadside bomb hit a convoy"))
    assert {"convoy", "explosive_device"} <= set(concepts("استهداف رتل بعبوة ناسفة"))
    assert {"convoy", "explosive_device"} <= set(concepts("بمب کنار جاده‌ای در مسیر کاروان"))
    assert "drone" in concepts("беспилотники атаковали аэродром")
    assert "drone" in concepts("шахеди атакували місто")


def test_numbers_survive_digit_systems() -> None:
    """Arabic-Indic and Persian digits and thousand separators give the same numbers."""
    assert numbers("٤٠٬٠٠٠ دينار") == {"40000"}
    assert numbers("۱۴ زخمی") == {"14"}
    assert numbers("40,000 dinars on 3 March 2022 at 21:00") == {"40000", "3"}


def test_number_words_meet_digits() -> None:
    """ "three" / «سبعة» / «сім» count as the numbers 3 / 7 / 7."""
    assert numbers("wounding three people") == {"3"}
    assert numbers("إصابة سبعة أشخاص") == {"7"}
    assert numbers("сім людей поранені") == {"7"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Trente-cinq patients évacués", {"35"}),
        ("dix-huit boutiques", {"18"}),
        ("soixante-dix-sept morts", {"77"}),
        ("quatre-vingt-treize", {"93"}),
        ("vingt et un blessés", {"21"}),
        ("thirty five people, forty-two homes", {"35", "42"}),
        ("two hundred and fifty", {"250"}),
        ("treinta y cinco casas, veinticinco heridos", {"35", "25"}),
        ("fünfunddreißig Menschen, zwölf Kilogramm", {"35", "12"}),
        ("тридцать пять человек", {"35"}),
        ("خمسة وعشرين شخصا", {"25"}),
        ("between five and thirty", {"5", "30"}),
        ("once again one or two", set()),
        # Italian, Portuguese, Dutch, Danish, Swedish, Polish, Czech, Turkish, Catalan.
        ("diciassette feriti, trenta case", {"17", "30"}),
        ("dezassete feridos, vinte e cinco casas", {"17", "25"}),
        ("vijfentwintig doden, achttien gewonden", {"25", "18"}),
        ("femogtyve døde og sytten sårede", {"25", "17"}),
        ("sju döda och tjugo skadade", {"7", "20"}),
        ("piętnastu rannych, trzech zabitych", {"15", "3"}),
        ("sedmnáct zraněných, pět mrtvých", {"17", "5"}),
        ("yedi kişi öldü, yirmi yaralı", {"7", "20"}),
        ("vint-i-cinc ferits i disset morts", {"25", "17"}),
        # Thousands: a unit before the word for thousand.
        ("cinco mil sacos, fem tusind kroner, trois mille personnes", {"5000", "3000"}),
        # Words that are common words elsewhere are no numbers.
        ("a fire broke out; ni l'un ni l'autre; the set; sei gewarnt", set()),
    ],
)
def test_compound_number_words(text: str, expected: set[str]) -> None:
    """Number words in the article languages, compounds included, meet the post's digits."""
    assert numbers(text) == expected


def test_header_words_and_article_prefixed_names() -> None:
    """A capitalised common word after a "PLACE |" header is no place; "al-Qaim" is one."""
    found = find_entities(
        "NINEVEH | Police say a curfew is in force near al-Qaim after the police raid."
    )
    surfaces = [e.surface for e in found]
    assert "Police" not in surfaces
    assert "al-Qaim" in surfaces
    assert EntityMatcher(found).match("حظر تجوال في قضاء القائم")


def test_azerbaijani_schwa_in_a_loose_channel_name() -> None:
    """ "Gence Xeber" (ə written e) is «Gəncə Xəbər», whose username spells it ganja."""
    channels = [*CHANNELS, ChannelInfo(4, "ganja_xeber", "Gəncə Xəbər")]
    cites = extract_citations(
        "según el canal de Telegram Gence Xeber, dos personas fueron rescatadas.", channels
    )
    assert 4 in {c.channel_id for c in cites}


def test_german_nouns_after_a_determiner_are_no_places() -> None:
    """German capitalises nouns: "ein Bus", "ums Leben", "alle sieben Seeleute"
    are no places (geonames knows Batumi as BUS, and skeletons of Seeleute or
    Leben meet towns); the unknown places of the same text stay."""
    text = (
        "Auf der Fernstraße zwischen Jamnagar und Rajkot ist am Mittwoch nahe Dhrol ein Bus "
        "mit einem Lastwagen zusammengestoßen. Drei Menschen kamen ums Leben, die "
        "Küstenwache rettete alle sieben Seeleute vor Porbandar."
    )
    surfaces = {e.surface for e in find_entities(text)}
    assert {"Jamnagar", "Rajkot", "Dhrol", "Porbandar"} <= surfaces
    assert not surfaces & {"Bus", "Lastwagen", "Leben", "Seeleute", "Küstenwache", "Mittwoch"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Digits glued to words of scripts written without spaces, or Indic.
        ("國道1號北上彰化路段 釀5車連環撞 車流回堵約8公里", {"5", "8"}),
        ("５人が負傷", {"5"}),
        ("3명 사망, 14명 부상", {"3", "14"}),
        # Any script's digits are the same numbers as ASCII ones.
        ("৫টি দোকান পুড়ে গেছে", {"5"}),
        ("४०० जना विस्थापित", {"400"}),
        ("ಕೆಜಿಗೆ ರೂ.೨೮", {"28"}),
        # Still: the decimal part is no number, Latin "5km" is no bare number
        # (3.5 million is also the full number, as "3,500,000" would be).
        ("3.5 million; 5km away", {"3", "3500000"}),
    ],
)
def test_numbers_glued_to_words_and_in_every_script(text: str, expected: set[str]) -> None:
    """Han, kana, Hangul and Indic posts write digits onto their words and
    in their own digits; those are the article's numbers too."""
    assert numbers(text) == expected


def test_devanagari_postpositions_leave_the_name() -> None:
    """पोखराको ("of Pokhara") and सराङकोटबाट ("from Sarangkot") match the
    article's Pokhara and Sarangkot."""
    from telewatch.xref.names import strip_case_endings

    assert strip_case_endings("पोखराको")[-1] == "पोखरा"
    assert strip_case_endings("सराङकोटबाट")[-1] == "सराङकोट"
    assert strip_case_endings("फेवाताल") == ["फेवाताल"]
    ents = find_entities("A paraglider from Sarangkot fell in Pokhara.")
    hits = EntityMatcher([e for e in ents if e.surface == "Sarangkot"]).match(
        "पोखराको सराङकोटबाट उडेको एक प्याराग्लाइडर"
    )
    assert list(hits.values()) == ["सराङकोट"]


def test_a_number_word_of_one_language_is_read_only_in_a_text_of_it() -> None:
    """Spanish "once" is 11; in English (or a text of unknown language) it
    is a word."""
    assert numbers("rescató a once personas secuestradas", "es") == {"11"}
    assert numbers("rescató a once personas secuestradas") == set()
    assert numbers("once again they were freed", "en") == set()


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("Leégett huszonhat konténer és négy raktár, három óra alatt", "hu", {"26", "4", "3"}),
        ("kraj grada izgorjelo je trideset i dvije kuće, trojica ranjenih", "hr", {"32", "3"}),
        ("kolme pelastettiin ja kaksikymmentä loukkaantui", "fi", {"3", "20"}),
        ("douăzeci și cinci de case, trei morți", "ro", {"25", "3"}),
        ("τρεις νεκροί και είκοσι πέντε τραυματίες", "el", {"3", "25"}),
        # Hungarian "hat" (6) is an English word: read in Hungarian only.
        ("a man in a hat", "en", set()),
        ("Leégett hat ház", "hu", {"6"}),
    ],
)
def test_number_words_of_more_article_languages(text: str, lang: str, expected: set[str]) -> None:
    assert numbers(text, lang) == expected
