"""Names as other languages spell them: Hungarian, Czech, Croatian and Polish
transcriptions of a title, the channel words of those languages, a flapped
Indic letter spelled d, Yoruba ṣ, names with marks and no consonants, and a
place name with the case ending of the article's language (xref.names,
xref.citations, xref.gazetteer)."""

from __future__ import annotations

import unicodedata

import pytest

from telewatch.xref.candidates import ChannelInfo
from telewatch.xref.citations import extract_citations
from telewatch.xref.gazetteer import EntityMatcher, find_entities, load_gazetteer
from telewatch.xref.names import name_key, readings, same_name, same_name_read

_CHANNELS = [
    ChannelInfo(1, "uzgen_times", "Жаңы Заман Жаңылыктары"),
    ChannelInfo(2, "zakho_live", "Dengê Çiya"),
    ChannelInfo(3, "cuttack_now", "ଓଡ଼ିଶା ଖବର"),
    ChannelInfo(4, "odesa_live", "Odesa Live"),
]


def _cited(article: str) -> list[int | None]:
    return [c.channel_id for c in extract_citations(article, _CHANNELS) if c.kind == "name"]


@pytest.mark.parametrize(
    "article",
    [
        # Hungarian: dzs = j, zs = zh, s = sh; the name before the channel word.
        "Tűz ütött ki — közölte a kirgiz nyelvű Dzsani Zaman Dzsangiliktari Telegram-csatorna.",
        "a Dzsani Zaman Dzsangiliktari nevű Telegram-csatornán olvasható",
        # Croatian and Czech: dž = j; the name after or between the words.
        "javio je Telegram kanal Džani Zaman Džangiliktari.",
        "uvedl kanál Džany Zaman Džangyliktary na Telegramu.",
        # Polish: dż = j (and the name between "kanał" and "na Telegramie").
        "podał kanał Dżany Zaman Dżangyliktary na Telegramie.",
    ],
)
def test_a_transcription_in_the_articles_language_cites_the_cyrillic_title(article: str) -> None:
    assert _cited(article) == [1]


def test_a_hungarian_or_french_spelling_of_kurmanji_cites_its_title() -> None:
    """Kurmanji ç is ch: the Hungarian "Dengé Csija" (cs = ch, j = y) and
    the French "Denguê Tchiya" are Dengê Çiya."""
    assert _cited("írta a Dengé Csija Telegram-csatorna.") == [2]
    assert _cited("selon la chaîne Telegram Denguê Tchiya.") == [2]


def test_the_readings_find_no_channel_in_an_unrelated_name() -> None:
    assert _cited("közölte a Szegedi Hírek Telegram-csatorna.") == [None]
    assert _cited("javio je Telegram kanal Zagrebačke Vijesti.") == [None]


def test_readings_are_the_name_first_and_only_what_its_letters_call_for() -> None:
    assert readings("Odesa Live") == ("Odesa Live",)
    assert readings("Dzsangiliktari")[1] == "jangiliktari"
    assert readings("Džangiliktari")[1] == "yangiliktari".replace("y", "j", 1)
    assert "shchetsin" in readings("Szczecin")
    assert same_name("Tüstük", "Түштүк", strict=True) == 0.0
    assert same_name_read("Tüstük Dzsangiliktari", "Түштүк Жаңылыктары", strict=True) > 0.9


def test_a_flapped_letter_is_spelled_d_as_well_as_r() -> None:
    """ଓଡ଼ିଶା romanises "orisha"; the press writes Odisha."""
    assert _cited("kertoo orijankielinen Telegram-kanava Odisha Khabar.") == [3]
    assert _cited("reported the Telegram channel Odisha Khobor.") == [3]
    assert _cited("reported the Telegram channel Orisha Khobor.") == [3]


def test_yoruba_s_with_a_dot_below_is_sh() -> None:
    assert name_key("Ògbómọ̀ṣọ́") == name_key("Ogbomosho")
    nfd = unicodedata.normalize("NFD", "Ṣàgámù")
    assert name_key(nfd) == name_key("Shagamu")


def test_a_name_with_no_consonant_skeleton_meets_its_marked_spelling() -> None:
    """ "Oyo" has no consonants to compare: its letters are, marks dropped."""
    matcher = EntityMatcher(find_entities("The police in Oyo arrested five men."))
    post = unicodedata.normalize("NFD", "Àwọn ọlọ́pàá ìpínlẹ̀ Ọ̀yọ́ ti mú afurasí márùn-ún.")
    assert matcher.match(post) == {"name:oyo": "ọ̀yọ́"}
    assert matcher.match("Àwọn ọlọ́pàá ìpínlẹ̀ Ọ̀ṣun ti mú afurasí márùn-ún.") == {}


def test_a_case_ending_of_the_articles_language_leaves_the_known_place() -> None:
    g = load_gazetteer()
    debrecen = g.ids("debrecen")
    assert debrecen
    found = find_entities("Tűz ütött ki Debrecenben kedden.", lang="hu")
    assert [e.ids[0] in debrecen for e in found if e.ids] == [True]
    assert not any(set(e.ids) & debrecen for e in find_entities("Tűz ütött ki Debrecenben."))


def test_an_unknown_inflected_name_is_matched_in_posts_by_its_stem() -> None:
    """Finnish "Swargadwarin lähellä" (near Swargadwar): the post writes the
    name uninflected."""
    found = find_entities("Turisti hukkui Swargadwarin lähellä tiistaina.", lang="fi")
    assert any("Swargadwar" in e.stems for e in found)
    assert EntityMatcher(found).match("Tourist drowned near Swargadwar beach") != {}
    assert (
        EntityMatcher(find_entities("Turisti hukkui Swargadwarin lähellä.")).match(
            "Tourist drowned near Swargadwar beach"
        )
        == {}
    )


def test_a_translated_title_shares_a_place_spelled_with_its_gemination() -> None:
    """തൃശ്ശൂർ romanises "trishshur": the press's Thrissur is the same word,
    so a translated title naming it is a lead to that channel."""
    from telewatch.xref.citations import PARTIAL_NAME

    channels = [*_CHANNELS, ChannelInfo(5, "trichur_times", "തൃശ്ശൂർ ടൈംസ്")]
    found = [
        (c.channel_id, c.similarity)
        for c in extract_citations("lapor kanal Telegram Kabar Thrissur Hari Ini.", channels)
        if c.kind == "name"
    ]
    assert found == [(5, PARTIAL_NAME)]


def test_ch_is_kh_in_the_transcriptions_that_write_it_so() -> None:
    """Polish, Czech and German write х as ch: "Chaberlere" is хәбәрләре;
    a sentence-case title between "kanál" and "na Telegramu" is whole."""
    channels = [ChannelInfo(7, "bilyar_live", "Төбәк хәбәрләре"), *_CHANNELS]
    named = [
        c.channel_id
        for article in (
            "podał tatarskojęzyczny kanał Tobek Chaberlere na Telegramie.",
            "oznámil tatarský kanál Töbäk chäbärläre na Telegramu.",
        )
        for c in extract_citations(article, channels)
        if c.kind == "name"
    ]
    assert named == [7, 7]
    assert "tobek khaberlere" in readings("Tobek Chaberlere")
    assert readings("Deutsche Nachrichten")[0] == "Deutsche Nachrichten"


def test_an_attribute_number_is_not_a_count() -> None:
    from telewatch.xref.terms import attribute_numbers

    assert attribute_numbers("Un vieil immeuble de trois étages s'est effondré", "fr") == {"3"}
    assert attribute_numbers("a 5-storey block; prices up 12 %") == {"5"}
    assert attribute_numbers("sechs Stunden lang, vier Jahre Haft, 3 Tote", "de") == set()
