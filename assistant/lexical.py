"""BM25 over jieba terms, derived from the chunks in the vector store.

The index is never a second source of truth: it is rebuilt from the store's contents
whenever the store changes. Scoring is Okapi BM25 (Robertson & Zaragoza 2009, "The
Probabilistic Relevance Framework: BM25 and Beyond"), with k1 = 1.5 and b = 0.75, and the
non-negative idf ``ln(1 + (N - df + 0.5) / (df + 0.5))`` used by Lucene.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
from scipy import sparse

from assistant.core.text import Tokenizer

log = logging.getLogger(__name__)


class TermCounts(NamedTuple):
    """One text's bag of terms: ``ids`` (distinct vocabulary ids, ascending, int32), their
    ``counts`` (float32, same length) and ``length``, the number of terms in all."""

    ids: np.ndarray
    counts: np.ndarray
    length: int


def term_counts(words: Sequence[str], vocab: dict[str, int]) -> TermCounts:
    """``words`` (a text's terms, :meth:`assistant.core.text.Tokenizer.terms`) as a bag of ids in ``vocab``;
    new terms are added to ``vocab``."""
    ids = np.fromiter((vocab.setdefault(t, len(vocab)) for t in words), dtype=np.int32, count=len(words))
    distinct, counts = np.unique(ids, return_counts=True)
    return TermCounts(distinct.astype(np.int32), counts.astype(np.float32), len(words))


class BagBlock(NamedTuple):
    """Several texts' bags stacked: ``ids`` and ``counts`` concatenated, ``sizes`` (distinct
    terms per text, int64) and ``lengths`` (terms per text, int64)."""

    ids: np.ndarray
    counts: np.ndarray
    sizes: np.ndarray
    lengths: np.ndarray


def stack_bags(bags: Sequence[TermCounts]) -> BagBlock:
    """The bags of several texts as one block, in order."""
    return BagBlock(
        np.concatenate([b.ids for b in bags]) if bags else np.zeros(0, dtype=np.int32),
        np.concatenate([b.counts for b in bags]) if bags else np.zeros(0, dtype=np.float32),
        np.fromiter((len(b.ids) for b in bags), dtype=np.int64, count=len(bags)),
        np.fromiter((b.length for b in bags), dtype=np.int64, count=len(bags)),
    )


def stack_blocks(blocks: Sequence[BagBlock]) -> BagBlock:
    """Blocks stacked into one, in order (concatenation only)."""
    if not blocks:
        return stack_bags([])
    return BagBlock(*(np.concatenate([blk[i] for blk in blocks]) for i in range(4)))


class BM25Index:
    """Okapi BM25 over a fixed list of texts, stored as a sparse (terms × texts) weight matrix.

    Each query costs one sparse row gather and a sum, so it stays in milliseconds at
    100,000 chunks.

    Args:
        ids: one id per text.
        texts: the texts to index (same length as ``ids``).
        tokenizer: cuts the texts into terms.
        k1, b: BM25 parameters.
    """

    def __init__(
        self, ids: Sequence[str], texts: Sequence[str], tokenizer: Tokenizer, k1: float = 1.5, b: float = 0.75
    ):
        if len(ids) != len(texts):
            raise ValueError("ids and texts differ in length")
        vocab: dict[str, int] = {}
        bags = [term_counts(tokenizer.terms(text), vocab) for text in texts]
        self._build(ids, stack_bags(bags), vocab, k1, b)

    @classmethod
    def from_blocks(
        cls, ids: Sequence[str], blocks: Sequence[BagBlock], vocab: dict[str, int], k1: float = 1.5, b: float = 0.75
    ) -> "BM25Index":
        """An index over texts already turned into bags of vocabulary ids (:func:`term_counts`)
        and stacked in blocks (:func:`stack_bags`, one per document, say), whose texts are
        ``ids`` in order; a refresh re-tokenises nothing. ``vocab`` is copied: the caller may
        keep growing it."""
        index = cls.__new__(cls)
        index._build(ids, stack_blocks(blocks), dict(vocab), k1, b)
        return index

    def _build(self, ids: Sequence[str], bags: BagBlock, vocab: dict[str, int], k1: float, b: float) -> None:
        # Built without sorting: the stacked bags are the columns of a (terms × texts) matrix
        # already, and the row-major copy that queries need is one linear pass. At 100k chunks
        # this is what a refresh costs, so it matters (bench.scale).
        n_docs = len(bags.lengths)
        if len(ids) != n_docs:
            raise ValueError("ids and term lists differ in length")
        self.ids = list(ids)
        self.vocab = vocab
        indptr = np.zeros(n_docs + 1, dtype=np.int64)
        np.cumsum(bags.sizes, out=indptr[1:])
        tf = sparse.csc_matrix((bags.counts, bags.ids, indptr), shape=(len(vocab), n_docs)).tocsr()
        df = np.diff(tf.indptr).astype(np.float32)
        self.idf = np.log1p((n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        lengths = bags.lengths.astype(np.float32)
        avg = float(lengths.mean()) if n_docs else 0.0
        norm = (k1 * (1 - b + b * lengths / avg) if avg else np.full(n_docs, k1)).astype(np.float32)
        # In place, float32 throughout: at 100k chunks each temporary array here is about
        # 40 MB, and this runs while the previous index still serves.
        weight = norm[tf.indices].astype(np.float32, copy=False)
        weight += tf.data
        np.divide(tf.data * np.float32(k1 + 1), weight, out=weight)
        weight *= np.repeat(self.idf, np.diff(tf.indptr))
        self._weights = sparse.csr_matrix((weight, tf.indices, tf.indptr), shape=tf.shape)

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


class TermCache:
    """The jieba terms of texts already tokenised, kept in SQLite so that a restart re-tokenises
    nothing it has seen.

    Keys are SHA-1 digests of the text; values the terms joined by U+001F. The cache belongs
    to one tokenizer (``fingerprint``: :attr:`assistant.core.text.Tokenizer.fingerprint`); opened
    with another, it starts empty. It is only ever a shortcut: when the file cannot be read
    or written (locked by another process for over 30 s, damaged), terms are made afresh
    and a warning is logged.

    Args:
        path: the SQLite file (created when missing).
        fingerprint: the tokenizer's fingerprint.
    """

    def __init__(self, path: Path, fingerprint: str):
        import sqlite3

        self._db = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Used by one thread at a time (the searcher's build lock), not always the same one.
            db = sqlite3.connect(path, timeout=30, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS terms (key TEXT PRIMARY KEY, terms TEXT NOT NULL)")
            db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
            row = db.execute("SELECT value FROM meta WHERE name = 'tokenizer'").fetchone()
            if row is None or row[0] != fingerprint:
                db.execute("DELETE FROM terms")
                db.execute("INSERT OR REPLACE INTO meta VALUES ('tokenizer', ?)", (fingerprint,))
            db.commit()
            self._db = db
        except sqlite3.Error as exc:
            log.warning("%s: term cache unusable (%s); terms are made afresh", path, exc)
        self._path = path

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def get_many(self, keys: Sequence[str]) -> dict[str, list[str]]:
        """Cached terms for those of ``keys`` that are cached."""
        import sqlite3

        found: dict[str, list[str]] = {}
        if self._db is None:
            return found
        try:
            for start in range(0, len(keys), 900):  # SQLite's limit on bound parameters
                part = list(keys[start : start + 900])
                marks = ",".join("?" * len(part))
                for key, joined in self._db.execute(f"SELECT key, terms FROM terms WHERE key IN ({marks})", part):
                    found[key] = joined.split("\x1f") if joined else []
        except sqlite3.Error as exc:
            log.warning("%s: term cache unreadable (%s)", self._path, exc)
        return found

    def put_many(self, items: dict[str, list[str]]) -> None:
        import sqlite3

        if self._db is None:
            return
        try:
            self._db.executemany("INSERT OR REPLACE INTO terms VALUES (?, ?)", [(k, "\x1f".join(v)) for k, v in items.items()])
            self._db.commit()
        except sqlite3.Error as exc:
            log.warning("%s: term cache not written (%s)", self._path, exc)
