"""xref and trace measured on the development data set (real archive, real import)."""

from __future__ import annotations

from pathlib import Path

from telewatch.xref.evaluate import eval_trace, eval_xref


def test_xref_recall_and_no_link_on_negatives(xref_dev: Path) -> None:
    """Recall@1 >= 0.9, Recall@5 = 1.0 without --semantic; no negative article gets a link,
    and every link is a cited post."""
    scores = eval_xref(xref_dev)
    assert scores.references == 35
    assert scores.recall_at_1 >= 0.9
    assert scores.recall_at_5 == 1.0
    assert scores.negatives == 3
    assert scores.negatives_without_link == 3
    assert scores.link_precision == 1.0


def test_trace_pairs_and_origins(xref_dev: Path) -> None:
    """Trace finds forwards, copies and paraphrases with pair F1 >= 0.9 and every origin,
    from the origin and from each copy or paraphrase."""
    scores = eval_trace(xref_dev)
    assert scores.f1 >= 0.9
    assert scores.precision >= 0.95
    assert scores.origin_accuracy == 1.0
