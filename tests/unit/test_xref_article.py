"""Reading articles: text, HTML with metadata, URLs offline (xref.article)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from telewatch.models import UserError
from telewatch.xref.article import guess_language, read_article
from telewatch.xref.fetch import FetchLimits

HTML = """<!doctype html><html lang="fr"><head><title>Irak</title>
<meta property="article:published_time" content="2022-03-01T16:45:00+03:30"></head>
<body><article><h1>Deux convois visés en Irak</h1>
<p>Deux convois logistiques de l'armée américaine ont été visés mardi matin dans le sud de
l'Irak, selon la chaîne Telegram Rafidain Watch, qui fait état d'une attaque à Samawa.</p>
<p>D'après cette chaîne, un premier convoi transportant du matériel a été la cible d'un engin
explosif sur la route internationale, dans la province de Muthanna.</p></article>
<footer>Abonnez-vous</footer></body></html>"""


def test_html_main_text_and_published_time(tmp_path: Path) -> None:
    """An HTML file gives its main text, language and the meta publication time."""
    path = tmp_path / "a.html"
    path.write_text(HTML, "utf-8")
    art = read_article(str(path))
    assert "Rafidain Watch" in art.text
    assert art.language == "fr"
    assert art.published == datetime.fromisoformat("2022-03-01T16:45:00+03:30")


def test_published_option_overrides_the_page(tmp_path: Path) -> None:
    """--published wins over the page's metadata."""
    path = tmp_path / "a.html"
    path.write_text(HTML, "utf-8")
    when = datetime.fromisoformat("2022-03-02T08:00:00-05:00")
    assert read_article(str(path), when).published == when


def test_unreachable_url_is_a_clear_error() -> None:
    """A URL that cannot be fetched raises a one-line UserError naming it."""
    with pytest.raises(UserError, match=r"could not fetch http://127\.0\.0\.1:9/"):
        read_article("http://127.0.0.1:9/article", limits=FetchLimits(allow_local=True))


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    """A missing article file raises UserError."""
    with pytest.raises(UserError, match="article file not found"):
        read_article(str(tmp_path / "nope.txt"))


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("The channel said that the convoy was hit on the highway.", "en"),
        ("La chaîne a rapporté que le convoi a été visé sur la route.", "fr"),
        ("استهداف رتل للدعم اللوجستي في محافظة الديوانية", "ar"),
        ("کاروان لجستیک آمریکا در استان قادسیه هدف قرار گرفت", "fa"),
        ("Беспилотники атаковали аэродром, сообщил губернатор.", "ru"),
        ("Шахеди атакували Харків, повідомили в міській раді.", "uk"),
        # Latin-script article languages, by their own function words.
        ("Three people were killed and the road was closed, the channel said.", "en"),
        ("Trois personnes ont été tuées dans la nuit, selon la chaîne.", "fr"),
        ("Drei Menschen kamen ums Leben, siebzehn wurden in ein Krankenhaus gebracht.", "de"),
        ("Tres personas murieron y diecisiete resultaron heridas, según el canal.", "es"),
        ("Tre persone sono morte nella notte, secondo il canale della città.", "it"),
        ("Três pessoas morreram e os feridos foram levados para o hospital.", "pt"),
        ("Drie mensen zijn omgekomen, volgens het kanaal werd de weg afgesloten.", "nl"),
        ("To mennesker blev dræbt, og vejen er ikke åben, ifølge kanalen.", "da"),
        ("Tre personer dog och vägen är inte öppen, enligt kanalen.", "sv"),
        ("Trzy osoby zginęły, według kanału droga nie jest przejezdna.", "pl"),
        ("Tři lidé zemřeli, podle kanálu byla silnice uzavřena.", "cs"),
        ("Üç kişi öldü ve yol kapandı, kanala göre bir saat sonra açıldı.", "tr"),
        ("Tres persones han mort i els ferits van ser traslladats, segons el canal.", "ca"),
    ],
)
def test_language_guess(text: str, lang: str) -> None:
    """The project's languages are told apart, fourteen Latin-script ones
    among them."""
    assert guess_language(text) == lang


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        # Languages without a function-word list here, and close pairs.
        (
            "Tűz ütött ki a városi piacon hétfőről keddre virradó éjjel, a tűzoltók három "
            "óra alatt oltották el a lángokat, senki sem sérült meg.",
            "hu",
        ),
        (
            "Kaksi turistia hukkui tiistaina uidessaan meressä, ja hengenpelastajat "
            "pelastivat kolmannen nuoren miehen, kertoo kanava.",
            "fi",
        ),
        (
            "Policija je u utorak ujutro uhitila trojicu muškaraca nakon pljačke "
            "benzinske postaje u središtu grada, javlja portal.",
            "hr",
        ),
        (
            "Polisi menangkap lima tersangka pada hari Jumat setelah kebakaran di pasar "
            "tradisional, menurut laporan kanal tersebut.",
            "id",
        ),
        (
            "Un incendiu a izbucnit marți dimineață într-o piață din centrul orașului, "
            "iar pompierii au intervenit cu patru autospeciale.",
            "ro",
        ),
        (
            "Τρεις άνθρωποι τραυματίστηκαν την Τρίτη σε τροχαίο στην εθνική οδό, "
            "σύμφωνα με το κανάλι.",
            "el",
        ),
        (
            "Трима души са ранени при катастрофа на пътя за Пловдив във вторник, "
            "съобщиха от полицията.",
            "bg",
        ),
        ("पुणे में मंगलवार सुबह भारी बारिश से कई सड़कें बंद हो गईं और यातायात प्रभावित हुआ।", "hi"),
        ("Trzy osoby zginęły, według kanału droga nie jest przejezdna.", "pl"),
        ("Three people were killed on Tuesday, the channel said, and the road was closed.", "en"),
    ],
)
def test_an_articles_language_beyond_the_function_word_lists(text: str, lang: str) -> None:
    """The language identifier names what the function words cannot: the
    date words, case endings and spellings of that language then apply."""
    assert guess_language(text) == lang


def test_hostile_article_files_are_one_line_errors(tmp_path: Path) -> None:
    """Binary, non-UTF-8 and oversized article files raise one-line UserErrors."""
    binary = tmp_path / "a.html"
    binary.write_bytes(b"<html>\x00\x01\x02\xff" * 100)
    with pytest.raises(UserError, match="is a binary file, not an article"):
        read_article(str(binary))
    arabic = tmp_path / "ar.txt"
    arabic.write_bytes("قناة رافدين ووتش".encode("cp1256"))
    with pytest.raises(UserError, match=r"is not UTF-8 text \(byte 0\); convert it first"):
        read_article(str(arabic))
    big = tmp_path / "big.txt"
    big.write_text("x" * 5000, "utf-8")
    with pytest.raises(UserError, match="5,000 bytes, more than --max-bytes 4,096"):
        read_article(str(big), limits=FetchLimits(max_bytes=4096))


def test_deeply_nested_html_is_read(tmp_path: Path) -> None:
    """100,000 nested <div>s (an HTML bomb) still give the article's text, quickly."""
    n = 100_000
    page = tmp_path / "nested.html"
    page.write_text(
        "<html><body><article><p>Deux convois ont été visés à Samawa selon Rafidain Watch.</p>"
        + "<div>" * n
        + "x"
        + "</div>" * n
        + "</article></body></html>",
        "utf-8",
    )
    art = read_article(str(page))
    assert "Samawa" in art.text


def test_eval_counts_a_post_under_the_language_its_script_names() -> None:
    """Per-language figures: a Lao, Burmese or Telugu post is post:lo,
    post:my, post:te (not und); a Devanagari post stays hi by its letters,
    and a Latin post the article guess's language."""
    from telewatch.xref.evaluate import post_language

    assert post_language("ໄຟໄໝ້ເຮືອນ 3 ຫຼັງ ຢູ່ປາກເຊ") == "lo"
    assert post_language("ပုသိမ်မြို့တွင် မိုးရွာသည်") == "my"
    assert post_language("గుంటూరులో నిన్న వర్షం") == "te"
    assert post_language("पुणे में कल बारिश") == "hi"
    assert post_language("the fire was put out and the road was open") == "en"
