"""trace in a language pair the dev set does not have (Russian origin,
Ukrainian rewrite hours later), on an archive written for this test."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from telewatch.store import db
from telewatch.xref.provenance import trace
from tests.fixtures.xref import KYIV, MSK, write_export

RU, UA = 1_700_000_001, 1_700_000_002


@pytest.fixture(scope="module")
def ru_ua_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Russian channel and a Ukrainian one that rewrites it ten hours later."""
    from telewatch.sources.desktop_export import import_paths

    root = tmp_path_factory.mktemp("ru-ua")
    sig_ru = "\n\n⚡ Сводка Юга | подписаться"
    sig_ua = "\n\n🔵 Харків онлайн"
    ru = write_export(
        root,
        "svodka_yuga",
        "Сводка Юга",
        RU,
        [
            (
                400,
                datetime(2024, 5, 10, 7, 5, tzinfo=MSK),
                "Погода: в Ростове до +24, без осадков." + sig_ru,
            ),
            (
                401,
                datetime(2024, 5, 10, 8, 40, tzinfo=MSK),
                "Губернатор Гладков: над Шебекино ночью сбиты два беспилотника, "
                "повреждена линия электропередачи, пострадавших нет." + sig_ru,
            ),
            (
                402,
                datetime(2024, 5, 10, 12, 0, tzinfo=MSK),
                "Курс доллара на Мосбирже вырос до 92 рублей." + sig_ru,
            ),
        ],
    )
    ua = write_export(
        root,
        "kharkiv_online",
        "Харків онлайн",
        UA,
        [
            (
                900,
                datetime(2024, 5, 10, 9, 0, tzinfo=KYIV),
                "У Харкові відкрили оновлений сквер біля метро." + sig_ua,
            ),
            (
                901,
                datetime(2024, 5, 10, 17, 55, tzinfo=KYIV),
                "Російські пабліки пишуть, що над Шебекіно вночі збили два безпілотники; "
                "за словами Гладкова, пошкоджено ЛЕП." + sig_ua,
            ),
        ],
    )
    path = root / "archive.db"
    import_paths(path, [ru, ua])
    return path


def test_trace_from_a_late_rewrite_finds_the_earlier_origin(ru_ua_archive: Path) -> None:
    """Tracing the Ukrainian rewrite reports the Russian post as origin and the rewrite in its spread."""
    conn = db.connect(ru_ua_archive)
    try:
        from_copy = trace(conn, UA, 901)
        from_origin = trace(conn, RU, 401)
    finally:
        conn.close()
    assert (from_copy.origin.channel_id, from_copy.origin.message_id) == (RU, 401)
    spread = {(s.post.channel_id, s.post.message_id): s.kind for s in from_origin.spread}
    assert spread == {(RU, 401): "origin", (UA, 901): "paraphrase"}
