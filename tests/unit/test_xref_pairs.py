"""Entity matches across scripts: no short function words, no dropped-consonant collisions."""

from __future__ import annotations

import pytest

from telewatch.xref.gazetteer import EntityMatcher, find_entities


@pytest.mark.parametrize(
    ("article", "post", "name"),
    [
        (
            "Syrian officials spoke in Diwaniya on Monday.",
            "قصف صاروخي دون ورود أنباء عن إصابات",
            "دون",
        ),
        (
            "Une délégation est arrivée à Téhéran mardi.",
            "وصول الوفد مع الاخرين الى المدينة",
            "الاخرين",
        ),
    ],
)
def test_function_words_do_not_match_names(article: str, post: str, name: str) -> None:
    """A Latin name never matches an Arabic function word ("without", "the others")."""
    matched = EntityMatcher(find_entities(article)).match(post)
    assert all(name not in words for words in matched.values()), matched


def test_real_cross_script_names_still_match() -> None:
    """Samawa ↔ السماوة and al-Tanf ↔ التنف are still found."""
    matched = EntityMatcher(find_entities("Convoy hit near Samawa; rockets at al-Tanf.")).match(
        "استهداف رتل في السماوة وقصف قاعدة التنف"
    )
    assert len(matched) == 2, matched


@pytest.mark.parametrize(
    ("article", "post", "surface"),
    [
        ("Floods hit Batumi on Wednesday.", "ბათუმი: ღამით ძლიერმა წვიმამ სახლი დატბორა", "ბათუმი"),
        ("Residents of Gori were detained.", "გორის მუნიციპალიტეტი: დააკავეს", "გორის"),
        ("A road near Kajaran was closed.", "Կապան: Քաջարանի ճանապարհին", "քաջարանի"),
        ("Teachers protested in Halabja.", "هەڵەبجە: خۆپیشاندانی مامۆستایان", "ههڵهبجه"),
        ("Workers protested in Vranje.", "Врање: протест радника", "врање"),
        ("A gas blast in Ganja.", "Gəncə: qaz partlayışı", "gəncə"),
    ],
)
def test_names_match_in_georgian_armenian_sorani_serbian_azerbaijani(
    article: str, post: str, surface: str
) -> None:
    """A place named in Latin letters is found in a post in Georgian (case ending
    stripped), Armenian, Sorani Kurdish, Serbian Cyrillic or Azerbaijani letters."""
    matched = EntityMatcher(find_entities(article)).match(post)
    assert surface in matched.values(), matched


def test_short_georgian_words_do_not_match_names() -> None:
    """A three-letter Georgian word («არს») is too short to stand for a Latin name (Ars)."""
    matched = EntityMatcher(find_entities("Officials met in Ars on Monday.")).match("ეს არს ასე")
    assert matched == {}, matched
