"""Retrieval and answer metrics, as pure functions over ranked relevance judgements.

Definitions (Manning, Raghavan & Schütze, "Introduction to Information Retrieval", ch. 8;
Järvelin & Kekäläinen 2002 for nDCG):

- hit@k: 1 if any of the first k results is relevant, else 0.
- reciprocal rank@k: 1 / rank of the first relevant result within k, 0 if none.
- nDCG@k with binary gains: DCG = Σ rel_i / log2(i + 1) over ranks i = 1..k, divided by the
  DCG of an ideal ranking of ``n_relevant`` relevant results (capped at k).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence


def hit_at_k(relevant: Sequence[bool], k: int) -> float:
    """1.0 if any of ``relevant[:k]`` is True."""
    return 1.0 if any(relevant[:k]) else 0.0


def reciprocal_rank(relevant: Sequence[bool], k: int = 10) -> float:
    """1 / (1-based rank of the first True within k), or 0.0."""
    for i, rel in enumerate(relevant[:k], start=1):
        if rel:
            return 1.0 / i
    return 0.0


def ndcg_at_k(relevant: Sequence[bool], k: int, n_relevant: int) -> float:
    """Binary-gain nDCG@k; ``n_relevant`` is how many relevant items exist (0 gives 0.0)."""
    ideal_n = min(n_relevant, k)
    if ideal_n <= 0:
        return 0.0
    dcg = sum(1.0 / math.log2(i + 1) for i, rel in enumerate(relevant[:k], start=1) if rel)
    idcg = sum(1.0 / math.log2(i + 1) for i in range(1, ideal_n + 1))
    return dcg / idcg


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of ``values``; 0.0 for an empty list."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


_SPACE = re.compile(r"\s+")


def squash(text: str) -> str:
    """Text compared for facts: NFKC, no white space (PDF line breaks must not hide a fact)."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text))


def contains_all(text: str, facts: Sequence[str]) -> bool:
    """True when every fact occurs in ``text`` (after :func:`squash`); False for no facts."""
    if not facts:
        return False
    hay = squash(text)
    return all(squash(f) in hay for f in facts)


def fact_recall(text: str, facts: Sequence[str]) -> float:
    """Share of ``facts`` found in ``text``; 1.0 when there are no facts to find."""
    if not facts:
        return 1.0
    hay = squash(text)
    return sum(1 for f in facts if squash(f) in hay) / len(facts)


def source_stem(name: str) -> str:
    """File name without folders and suffix: ``corpus/txt/a_b.txt`` -> ``a_b``."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[0] if "." in base else base


def source_matches(file_name: str, expected: Sequence[str]) -> bool:
    """Whether a retrieved file is one of the expected sources.

    Stems must be equal, or the retrieved stem must extend an expected one after ``_``
    (``gz_dibao_2025_webpage.pdf`` is a rendering of ``gz_dibao_2025.txt``).
    """
    stem = source_stem(file_name)
    for e in expected:
        es = source_stem(e)
        if stem == es or stem.startswith(es + "_"):
            return True
    return False


def article_matches(articles: str, expected: Sequence[str]) -> bool:
    """Whether a chunk's comma-separated ``articles`` (``第十四条,第十五条``) include an expected one."""
    if not articles or not expected:
        return False
    have = {a.strip() for a in articles.split(",")}
    return any(e.strip() in have for e in expected)
