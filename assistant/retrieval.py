"""Hybrid retrieval: dense search in Chroma plus jieba BM25, fused by reciprocal rank fusion.

Reciprocal rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009): a chunk's fused score is
the sum over retrievers of ``1 / (k + rank)``, rank counted from 1; k = 60 in the paper.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant.lexical import BM25Index
from assistant.query import TermMap
from assistant.store import ChromaStore
from assistant.text import query_terms, to_simplified
from assistant.types import Chunk, ScoredChunk


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int = 60) -> dict[str, float]:
    """Fuse ranked id lists: score(id) = Σ 1/(k + rank), rank from 1.

    Returns:
        id -> fused score, for every id in any list (ties keep both ids).
    """
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, cid in enumerate(ranking, start=1):
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (k + rank)
    return fused


class HybridSearcher:
    """Dense + BM25 search over one :class:`ChromaStore`.

    The BM25 index is built from the store's chunks on first use and rebuilt whenever the
    store's content changes (its write counter or its chunk count moves), so it never
    drifts from the collection.

    Args:
        store: the vector store.
        fetch_k: candidates taken from each retriever before fusion.
        rrf_k: the RRF constant.
        term_map: adds official terms to the BM25 query of everyday questions (外地看病 →
            异地就医). The dense query stays the question as asked: the model already
            relates everyday and official words, and added terms would pull its vector off.
    """

    def __init__(self, store: ChromaStore, fetch_k: int = 30, rrf_k: int = 60, term_map: TermMap | None = None):
        self.store = store
        self.term_map = term_map
        self.fetch_k = fetch_k
        self.rrf_k = rrf_k
        self._lock = threading.Lock()
        self._bm25: BM25Index | None = None
        self._chunks: dict[str, Chunk] = {}
        self._state: tuple[int, int] | None = None

    def lexical_index(self) -> BM25Index:
        """The BM25 index, refreshed if the store changed since it was built."""
        state = (self.store.version, self.store.count())
        with self._lock:
            if self._bm25 is None or state != self._state:
                chunks = self.store.all_chunks()
                self._chunks = {c.id: c for c in chunks}
                self._bm25 = BM25Index([c.id for c in chunks], [c.context_text() for c in chunks])
                self._state = state
            return self._bm25

    def term_idf(self, term: str) -> float:
        """idf of ``term`` in the BM25 index as last refreshed (by the latest search).

        Cheap: the answerer asks for every question term of every candidate, so this must
        not ask the store whether it changed each time.
        """
        index = self._bm25 if self._bm25 is not None else self.lexical_index()
        return index.term_idf(term)

    def search(self, question: str, k: int) -> list[ScoredChunk]:
        """The ``k`` best chunks for ``question``, best first, with per-retriever evidence."""
        bm25 = self.lexical_index()
        if len(bm25) == 0:
            return []
        vector = self.store.embed_query(to_simplified(question))
        dense = self.store.nearest(vector, self.fetch_k)
        lexical_query = self.term_map.expand(question) if self.term_map is not None else question
        lexical = bm25.search(query_terms(lexical_query), self.fetch_k)
        fused = reciprocal_rank_fusion([[c.id for c, _ in dense], [cid for cid, _ in lexical]], self.rrf_k)
        found: dict[str, ScoredChunk] = {}
        for rank, (chunk, cos) in enumerate(dense, start=1):
            found[chunk.id] = ScoredChunk(chunk, fused[chunk.id], dense_score=cos, dense_rank=rank)
        for rank, (cid, score) in enumerate(lexical, start=1):
            hit = found.get(cid)
            if hit is None:
                chunk = self._chunks.get(cid)
                if chunk is None:
                    continue
                hit = found[cid] = ScoredChunk(chunk, fused[cid])
            hit.lexical_score, hit.lexical_rank = score, rank
        ranked = sorted(found.values(), key=lambda s: (-s.score, s.chunk.id))[:k]
        # A chunk only BM25 found still gets its cosine: the answerer's relevance check needs
        # it, and many near-duplicate chunks can push the right one out of the dense list.
        missing = [h.chunk.id for h in ranked if h.dense_score is None]
        for cid, cos in self.store.cosines(vector, missing).items():
            found[cid].dense_score = cos
        return ranked


def to_document(hit: ScoredChunk) -> Document:
    """A LangChain ``Document`` carrying the chunk's metadata plus its scores."""
    md: dict[str, Any] = dict(hit.chunk.metadata)
    md.update(
        rrf_score=hit.score,
        dense_score=hit.dense_score,
        lexical_score=hit.lexical_score,
        dense_rank=hit.dense_rank,
        lexical_rank=hit.lexical_rank,
    )
    return Document(id=hit.chunk.id, page_content=hit.chunk.text, metadata=md)


_SCORE_KEYS = ("rrf_score", "dense_score", "lexical_score", "dense_rank", "lexical_rank")


def from_document(doc: Document) -> ScoredChunk:
    """Inverse of :func:`to_document`."""
    md = dict(doc.metadata)
    scores = {k: md.pop(k, None) for k in _SCORE_KEYS}
    return ScoredChunk(
        Chunk(id=doc.id or "", text=doc.page_content, metadata=md),
        score=scores["rrf_score"] or 0.0,
        dense_score=scores["dense_score"],
        lexical_score=scores["lexical_score"],
        dense_rank=scores["dense_rank"],
        lexical_rank=scores["lexical_rank"],
    )


class HybridRetriever(BaseRetriever):
    """LangChain retriever over :class:`HybridSearcher`; returns ``k`` Documents, best first."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    searcher: HybridSearcher
    k: int = 4

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [to_document(h) for h in self.searcher.search(query, self.k)]
