"""BM25 over jieba terms, derived from the chunks in the vector store.

The index is never a second source of truth: it is rebuilt from the store's contents
whenever the store changes. Scoring is Okapi BM25 (Robertson & Zaragoza 2009, "The
Probabilistic Relevance Framework: BM25 and Beyond"), with k1 = 1.5 and b = 0.75, and the
non-negative idf ``ln(1 + (N - df + 0.5) / (df + 0.5))`` used by Lucene.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse

from assistant.text import terms


def term_ids_of(text: str, vocab: dict[str, int]) -> np.ndarray:
    """The jieba terms of ``text`` as ids in ``vocab`` (new terms are added to it)."""
    return np.fromiter((vocab.setdefault(t, len(vocab)) for t in terms(text)), dtype=np.int32)


class BM25Index:
    """Okapi BM25 over a fixed list of texts, stored as a sparse (terms × texts) weight matrix.

    Each query costs one sparse row gather and a sum, so it stays in milliseconds at
    100,000 chunks.

    Args:
        ids: one id per text.
        texts: the texts to index (same length as ``ids``).
        k1, b: BM25 parameters.
    """

    def __init__(self, ids: Sequence[str], texts: Sequence[str], k1: float = 1.5, b: float = 0.75):
        if len(ids) != len(texts):
            raise ValueError("ids and texts differ in length")
        vocab: dict[str, int] = {}
        term_ids = [term_ids_of(text, vocab) for text in texts]
        self._build(ids, term_ids, vocab, k1, b)

    @classmethod
    def from_term_ids(
        cls, ids: Sequence[str], term_ids: Sequence[np.ndarray], vocab: dict[str, int], k1: float = 1.5, b: float = 0.75
    ) -> "BM25Index":
        """An index over texts already turned into vocabulary ids (:func:`term_ids_of`), so a
        refresh re-tokenises nothing. ``vocab`` is copied: the caller may keep growing it."""
        index = cls.__new__(cls)
        index._build(ids, term_ids, dict(vocab), k1, b)
        return index

    def _build(self, ids: Sequence[str], term_ids: Sequence[np.ndarray], vocab: dict[str, int], k1: float, b: float) -> None:
        if len(ids) != len(term_ids):
            raise ValueError("ids and term lists differ in length")
        self.ids = list(ids)
        self.vocab = vocab
        n_docs = len(term_ids)
        lengths = np.fromiter((len(t) for t in term_ids), dtype=np.int64, count=n_docs)
        rows = np.concatenate(term_ids) if n_docs else np.zeros(0, dtype=np.int32)
        cols = np.repeat(np.arange(n_docs, dtype=np.int32), lengths)
        tf = sparse.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(vocab), n_docs)
        )
        tf.sum_duplicates()
        df = np.diff(tf.indptr).astype(np.float32)
        self.idf = np.log1p((n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        lengths = lengths.astype(np.float32)
        avg = float(lengths.mean()) if n_docs else 0.0
        norm = k1 * (1 - b + b * lengths / avg) if avg else np.full(n_docs, k1, dtype=np.float32)
        tf = tf.tocoo()
        w = tf.data * (k1 + 1) / (tf.data + norm[tf.col]) * self.idf[tf.row]
        self._weights = sparse.csr_matrix((w.astype(np.float32), (tf.row, tf.col)), shape=tf.shape)

    def __len__(self) -> int:
        return len(self.ids)

    def term_idf(self, term: str) -> float:
        """idf of ``term`` in this index; a term no text contains gets the highest idf."""
        i = self.vocab.get(term)
        if i is None:
            return float(np.log1p((len(self.ids) + 0.5) / 0.5)) if self.ids else 0.0
        return float(self.idf[i])

    def search(self, query_terms: Sequence[str], k: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        """The ``k`` best texts for ``query_terms`` as (id, BM25 score), best first; score > 0 only.

        Args:
            mask: booleans, one per text in ``ids`` order; only texts marked True are returned.
        """
        rows = [self.vocab[t] for t in dict.fromkeys(query_terms) if t in self.vocab]
        if not rows or k <= 0:
            return []
        scores = np.asarray(self._weights[rows].sum(axis=0)).ravel()
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        nz = np.flatnonzero(scores > 0)
        if nz.size == 0:
            return []
        top = nz[np.argsort(-scores[nz], kind="stable")[:k]]
        return [(self.ids[j], float(scores[j])) for j in top]
