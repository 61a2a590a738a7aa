"""Metric functions against hand-computed values, including ties and empty results."""

import math

import pytest

from eval.metrics import (
    article_matches,
    contains_all,
    fact_recall,
    hit_at_k,
    ndcg_at_k,
    percentile,
    reciprocal_rank,
    source_matches,
)


def test_hit_at_k():
    ranked = [False, False, True, False]
    assert [hit_at_k(ranked, k) for k in (1, 2, 3, 10)] == [0.0, 0.0, 1.0, 1.0]
    assert hit_at_k([], 5) == 0.0


def test_reciprocal_rank():
    assert reciprocal_rank([False, True, True]) == 0.5
    assert reciprocal_rank([False] * 10 + [True], k=10) == 0.0
    assert reciprocal_rank([]) == 0.0


def test_ndcg_hand_computed():
    # relevant at ranks 1 and 3, two relevant in all: DCG = 1 + 1/log2(4) = 1.5; IDCG = 1 + 1/log2(3)
    assert ndcg_at_k([True, False, True], 10, 2) == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
    # one relevant, found at rank 2: 1/log2(3)
    assert ndcg_at_k([False, True], 10, 1) == pytest.approx(1 / math.log2(3))
    assert ndcg_at_k([True], 10, 0) == 0.0
    assert ndcg_at_k([], 10, 1) == 0.0
    # ties in relevance: two relevant at ranks 1-2 out of two is perfect
    assert ndcg_at_k([True, True, False], 10, 2) == pytest.approx(1.0)


def test_percentile_nearest_rank():
    assert percentile([5, 1, 3, 2, 4], 50) == 3
    assert percentile([1, 2, 3, 4], 50) == 2
    assert percentile([1, 2, 3, 4], 95) == 4
    assert percentile([], 95) == 0.0


def test_fact_matching_ignores_white_space_and_width():
    assert contains_all("每人每月 1309\n元", ["1309元"])
    assert contains_all("ＡＢＣ１２３", ["ABC123"])
    assert not contains_all("任何文字", [])
    assert fact_recall("24个月，12个月", ["24个月", "18个月"]) == 0.5
    assert fact_recall("anything", []) == 1.0


def test_source_and_article_matching():
    assert source_matches("gz_dibao_2025.pdf", ["corpus/txt/gz_dibao_2025.txt"])
    assert source_matches("gz_dibao_2025_webpage.pdf", ["corpus/txt/gz_dibao_2025.txt"])
    assert not source_matches("gz_dibao_2025x.txt", ["corpus/txt/gz_dibao_2025.txt"])
    assert article_matches("第十四条,第十五条", ["第十五条"])
    assert not article_matches("第二十条", ["第十条"])
    assert not article_matches("", ["第十条"])
