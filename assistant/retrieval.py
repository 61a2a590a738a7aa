"""Hybrid retrieval: dense search in Chroma plus jieba BM25, fused by reciprocal rank fusion.

Reciprocal rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009): a chunk's fused score is
the sum over retrievers of ``1 / (k + rank)``, rank counted from 1; k = 60 in the paper.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant.filters import SearchFilters
from assistant.asks import LONG_QUESTION
from assistant.catalogue import Catalogue, Snapshot, section_key
from assistant.lexical import BM25Index, TermCache
from assistant.query import TermMap, years_in
from assistant.core.regions import chunk_regions, regions_in, with_provinces
from assistant.reranking import CrossEncoderReranker
from assistant.core.store import ChromaStore, Journal
from assistant.core.text import Tokenizer, normalise, to_simplified
from assistant.core.types import Chunk, ScoredChunk
from assistant.core.versions import REPLACED_BY, REPLACED_ON, version_key


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
    """Dense + BM25 search over one :class:`ChromaStore`, fused by reciprocal rank fusion.

    The BM25 index and a catalogue of the chunks are derived from the collection: read whole
    on first use, then kept in step document by document from the collection's change
    journal (:class:`~assistant.core.store.Journal`). Writes by this process show at once; writes
    by other processes sharing a Chroma server within ``refresh_seconds`` (or
    :attr:`BUILD_SHARE` times the last update's duration, when that is longer).

    On top of the fused ranking:

    - a question that names a region ranks that region's documents (and its province's) as
      if one more retriever had put them first;
    - a chunk of a replaced version is dropped when its newer version is also a candidate,
      unless the question asks about a year before the replacement (:mod:`assistant.core.versions`);
    - one document (copies and versions of a title count as one) gives at most
      ``max_per_document`` of the ``k`` results while other documents have candidates;
    - each result carries its neighbours: the other chunks of the same article (or, outside
      articles, the chunks next to it), so an answer can see the article whole; for a long
      question, also its document's next best candidates (``sibling_depth``).

    Args:
        store: the vector store.
        tokenizer: cuts chunks and queries into BM25 terms.
        fetch_k: candidates taken from each retriever before fusion.
        rrf_k: the RRF constant.
        term_map: adds official terms to the BM25 query of everyday questions (外地看病 →
            异地就医). The dense query stays the question as asked: the model already
            relates everyday and official words, and added terms would pull its vector off.
        max_per_document: most results from one document (0 = no limit).
        neighbour_chars: most characters of neighbouring chunks attached to one result.
        sibling_depth: for a long question, each result also carries up to
            :data:`SIBLINGS` more chunks of its own document found among the first
            ``sibling_depth`` fused candidates (0 = none): a story often lands on the right
            document but another of its articles, and the per-document cap keeps the one
            that answers out of the ``k``.
        reranker: reorders the best fused candidates with a cross-encoder (optional).
        refresh_seconds: how often, at most, a search reads the journal for other
            processes' writes (one metadata read).
        term_cache: keeps chunk texts' terms across restarts (None: in memory only).
    """

    #: Seconds between checks that the collection holds as many chunks as the snapshot.
    COUNT_CHECK_SECONDS = 30.0
    #: Other processes' writes are looked for at most once per this many times the last
    #: update took: bringing the index up to date costs O(chunks) (about 0.2 s at 12k chunks,
    #: ``bench.scale``), and while another process ingests for minutes a serving process
    #: should spend at most a fifth of a core on it.
    BUILD_SHARE = 4.0

    def __init__(
        self,
        store: ChromaStore,
        tokenizer: Tokenizer,
        fetch_k: int = 30,
        rrf_k: int = 60,
        term_map: TermMap | None = None,
        max_per_document: int = 3,
        neighbour_chars: int = 2400,
        sibling_depth: int = 10,
        reranker: CrossEncoderReranker | None = None,
        refresh_seconds: float = 1.0,
        term_cache: TermCache | None = None,
    ):
        self.store = store
        self.tokenizer = tokenizer
        self.term_map = term_map
        self.fetch_k = fetch_k
        self.rrf_k = rrf_k
        self.max_per_document = max_per_document
        self.neighbour_chars = neighbour_chars
        self.sibling_depth = sibling_depth
        self.reranker = reranker
        self.refresh_seconds = refresh_seconds
        self._build_lock = threading.Lock()
        self._snap: Snapshot | None = None
        self._catalogue = Catalogue(tokenizer, term_cache)
        self._checked_at = 0.0
        self._counted_at = 0.0
        self._suspect: tuple[str, int] | None = None
        self._reload_all = False
        self._last_build = 0.0

    def _news(self, snap: "Snapshot") -> Journal | None:
        """The journal when the collection changed since ``snap`` was built, else None."""
        if self.store.version != snap.version:
            return self.store.last_journal  # this process wrote: no need to ask
        now = time.monotonic()
        if now - self._checked_at < max(self.refresh_seconds, self.BUILD_SHARE * self._last_build):
            return None
        self._checked_at = now
        journal = self.store.journal()
        if (journal.epoch, journal.seq) != (snap.epoch, snap.seq):
            return journal
        if now - self._counted_at >= self.COUNT_CHECK_SECONDS:
            # Safety net for a write the journal missed (a writer killed between its write
            # and its journal entry, two writers racing on the entry): the counts disagree.
            # A count that disagrees twice in a row with no journal entry in between is not
            # an ingest still under way.
            self._counted_at = now
            point = (journal.epoch, journal.seq)
            if self.store.count() == len(snap.bm25):
                self._suspect = None
            elif self._suspect != point:
                self._suspect = point
            else:
                self._reload_all, self._suspect = True, None
                return journal
        return None

    def _snapshot(self) -> "Snapshot":
        """The lexical index and chunk catalogue for the collection's current content.

        One thread brings them up to date at a time, re-reading only the documents the
        journal names (everything when it cannot tell); meanwhile other searches use the
        previous snapshot rather than wait (during an ingest the store changes with every file).
        """
        snap = self._snap
        news = self._news(snap) if snap is not None else None
        if snap is not None and news is None:
            return snap
        if snap is not None and not self._build_lock.acquire(blocking=False):
            return snap
        if snap is None:
            self._build_lock.acquire()
        try:
            current = self._snap
            if current is not snap and current is not None:
                return current  # another thread finished a build meanwhile
            # The journal _news just read is current; a first build reads it here.
            version, journal = self.store.version, news if news is not None else self.store.journal()
            changed = None if snap is None or self._reload_all else journal.since(snap.epoch, snap.seq)
            self._reload_all = False
            if changed is not None and not changed and snap is not None:
                self._snap = replace(snap, epoch=journal.epoch, seq=journal.seq, version=version)
                return self._snap
            started = time.monotonic()
            if changed is None:
                self._catalogue.load(self.store.all_chunks())
            else:
                self._catalogue.replace(changed, self.store.chunks_of(sorted(changed)))
            self._snap = self._catalogue.snapshot(journal.epoch, journal.seq, version)
            self._checked_at = time.monotonic()
            if changed is not None:
                self._last_build = self._checked_at - started
            return self._snap
        finally:
            self._build_lock.release()

    def lexical_index(self) -> BM25Index:
        """The BM25 index, refreshed if the store changed since it was built."""
        return self._snapshot().bm25

    def term_idf(self, term: str) -> float:
        """idf of ``term`` in the BM25 index as last refreshed (by the latest search).

        Cheap: the answerer asks for every question term of every candidate, so this must
        not ask the store whether it changed each time.
        """
        snap = self._snap or self._snapshot()
        return snap.bm25.term_idf(term)

    def knows(self, term: str) -> bool:
        """Whether any indexed text holds ``term`` (as last refreshed; cheap)."""
        snap = self._snap or self._snapshot()
        return term in snap.bm25.vocab

    def search(self, question: str, k: int, filters: SearchFilters | None = None) -> list[ScoredChunk]:
        """The ``k`` best chunks for ``question``, best first, with per-retriever evidence.

        Args:
            filters: only chunks whose documents pass them are searched (None = all).
        """
        snap = self._snapshot()
        bm25 = snap.bm25
        if len(bm25) == 0:
            return []
        mask = snap.mask(filters) if filters else None
        allowed = [bm25.ids[j] for j in np.flatnonzero(mask)] if mask is not None else None
        if allowed is not None and not allowed:
            return []
        vector = self.store.embed_query(to_simplified(question))
        dense = self.store.nearest(vector, self.fetch_k, ids=allowed)
        lexical_query = self.term_map.expand(question) if self.term_map is not None else question
        lexical = bm25.search(self.tokenizer.query_terms(lexical_query), self.fetch_k, mask=mask)
        fused = reciprocal_rank_fusion([[c.id for c, _ in dense], [cid for cid, _ in lexical]], self.rrf_k)
        found: dict[str, ScoredChunk] = {}
        for rank, (chunk, cos) in enumerate(dense, start=1):
            found[chunk.id] = ScoredChunk(chunk, fused[chunk.id], dense_score=cos, dense_rank=rank)
        for rank, (cid, score) in enumerate(lexical, start=1):
            hit = found.get(cid)
            if hit is None:
                chunk = snap.chunks.get(cid)
                if chunk is None:
                    continue
                hit = found[cid] = ScoredChunk(chunk, fused[cid])
            hit.lexical_score, hit.lexical_rank = score, rank
        asked = regions_in(question)
        if asked:
            wanted = with_provinces(asked)
            for hit in found.values():
                if chunk_regions(hit.chunk) & wanted:
                    hit.score += 1.0 / (self.rrf_k + 1)
        ranked = sorted(found.values(), key=lambda s: (-s.score, s.chunk.id))
        ranked = _prefer_in_force(ranked, years_in(question))
        if self.reranker is not None:
            ranked = self.reranker.rerank(question, ranked)
        candidates = ranked
        ranked = _spread(ranked, k, self.max_per_document)
        # A chunk only BM25 found still gets its cosine: the answerer's relevance check needs
        # it, and many near-duplicate chunks can push the right one out of the dense list.
        missing = [h.chunk.id for h in ranked if h.dense_score is None]
        for cid, cos in self.store.cosines(vector, missing).items():
            found[cid].dense_score = cos
        # A lexical hit from a snapshot older than the store may have been deleted since:
        # the store has no vector for it, and it is not returned.
        ranked = [h for h in ranked if h.dense_score is not None]
        for hit in ranked:
            hit.neighbours = self.neighbours(hit.chunk, snap)
        if len(question) >= LONG_QUESTION:
            _add_siblings(ranked, candidates[: self.sibling_depth])
        return ranked

    def neighbours(self, chunk: Chunk, snap: "Snapshot | None" = None) -> list[Chunk]:
        """The other chunks of ``chunk``'s article, then the chunks around it in its file
        (the next article often goes on with the matter: 受理, then 审核, then 审批), nearest
        first, up to ``neighbour_chars``; returned in document order."""
        snap = snap or self._snapshot()
        article = snap.sections.get(section_key(chunk), []) if section_key(chunk)[1] != "file" else []
        document = snap.sections.get((chunk.meta.source, "file"), [])
        picked: list[Chunk] = []
        used = 0
        for group in (article, document):
            at = next((i for i, c in enumerate(group) if c.id == chunk.id), None)
            if at is None:
                continue
            for i in sorted((i for i in range(len(group)) if i != at), key=lambda i: (abs(i - at), -i)):
                if any(group[i].id == p.id for p in picked):
                    continue
                if used + len(group[i].text) > self.neighbour_chars:
                    break
                used += len(group[i].text)
                picked.append(group[i])
        return sorted(picked, key=lambda c: c.meta.chunk_index)


def _prefer_in_force(ranked: list[ScoredChunk], years: set[int]) -> list[ScoredChunk]:
    """Drop chunks of replaced versions whose newer version is also ranked, unless the
    question asks about a year before the replacement."""
    current = {version_key(h.chunk.metadata) for h in ranked if not h.chunk.metadata.get(REPLACED_BY)}
    out = []
    for hit in ranked:
        md = hit.chunk.metadata
        replaced_on = str(md.get(REPLACED_ON) or "")
        if replaced_on and version_key(md) in current:
            if not years or min(years) >= int(replaced_on[:4]):
                continue
        out.append(hit)
    return out


#: Most chunks of its own document a result of a long question carries beyond its neighbours.
#: Tuning 633 (depth 10): stories' key fact 0.495 -> 0.505 with 2, the same with 3; at any
#: question length near misses handled fell 0.890 -> 0.862, for long questions alone not at all.
SIBLINGS = 2


def _add_siblings(results: list[ScoredChunk], candidates: Sequence[ScoredChunk]) -> None:
    """Attach to each result, after its neighbours, up to :data:`SIBLINGS` chunks of the same
    document (copies and versions count as one) from ``candidates`` that no result shows."""
    shown = {h.chunk.id for h in results} | {n.id for h in results for n in h.neighbours}
    for hit in results:
        key = version_key(hit.chunk.metadata)
        more = [c.chunk for c in candidates if c.chunk.id not in shown and version_key(c.chunk.metadata) == key][:SIBLINGS]
        shown |= {c.id for c in more}
        hit.neighbours = hit.neighbours + more


def _spread(ranked: list[ScoredChunk], k: int, per_document: int) -> list[ScoredChunk]:
    """The first ``k`` of ``ranked`` with at most ``per_document`` per document (title and
    region; 0 = no limit), topped up in rank order when too few documents were found. A
    passage whose text an earlier result already has (a copy of the document) is skipped."""
    per_document = per_document or k
    taken: list[ScoredChunk] = []
    held: list[ScoredChunk] = []
    counts: dict[tuple[str, str], int] = {}
    texts: set[str] = set()
    for hit in ranked:
        text = normalise(hit.chunk.text)
        if text in texts:
            continue  # the same passage in another copy of the document
        texts.add(text)
        key = version_key(hit.chunk.metadata)
        if counts.get(key, 0) < per_document:
            counts[key] = counts.get(key, 0) + 1
            taken.append(hit)
            if len(taken) == k:
                return taken
        else:
            held.append(hit)
    chosen = {id(h) for h in taken + held[: k - len(taken)]}
    return [h for h in ranked if id(h) in chosen]


def to_document(hit: ScoredChunk) -> Document:
    """A LangChain ``Document`` carrying the chunk's metadata plus its scores."""
    md: dict[str, Any] = dict(hit.chunk.metadata)
    md.update(
        neighbours=[{"id": c.id, "text": c.text, "metadata": c.metadata} for c in hit.neighbours],
        rrf_score=hit.score,
        dense_score=hit.dense_score,
        lexical_score=hit.lexical_score,
        dense_rank=hit.dense_rank,
        lexical_rank=hit.lexical_rank,
        rerank_score=hit.rerank_score,
    )
    return Document(id=hit.chunk.id, page_content=hit.chunk.text, metadata=md)


class HybridRetriever(BaseRetriever):
    """LangChain retriever over :class:`HybridSearcher`; returns ``k`` Documents, best first.

    ``k`` is set on construction and may be given per call, as LangChain's standard retriever
    tests expect: ``retriever.invoke(question, k=1)``.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    searcher: HybridSearcher
    k: int = 4
    filters: SearchFilters | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        return [to_document(h) for h in self.searcher.search(query, self.k if k is None else k, self.filters)]
