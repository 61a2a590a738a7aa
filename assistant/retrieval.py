"""Hybrid retrieval: dense search in Chroma plus jieba BM25, fused by reciprocal rank fusion.

Reciprocal rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009): a chunk's fused score is
the sum over retrievers of ``1 / (k + rank)``, rank counted from 1; k = 60 in the paper.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant.filters import SearchFilters
from assistant.asks import LONG_QUESTION
from assistant.query import TermMap, years_in
from assistant.core.regions import chunk_regions, regions_in, with_provinces
from assistant.reranking import CrossEncoderReranker
from assistant.core.keyword import KeywordIndex, phrase_form
from assistant.core.store import ChromaStore
from assistant.core.scripts import SCRIPT_TYPE
from assistant.core.text import normalise, to_simplified
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

    BM25 runs on the keyword index (:class:`~assistant.core.keyword.KeywordIndex`, tantivy
    on disk), which follows the collection through its change journal: this process's
    writes show at once, other processes' within the index's ``refresh_seconds``.

    On top of the fused ranking:

    - chunks holding verbatim a phrase of the query (a quoted string or 《title》, a 文号, or
      the whole query; :func:`exact_phrases`) count as a third ranking, or, for a lookup
      (``exact_first``: hotline staff paste names and 文号), come before all others;
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
        keyword: the keyword index over the same collection (its tokenizer cuts queries).
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
    """

    #: Chunks on each side of a result read to find its neighbours: more than
    #: ``neighbour_chars`` (2,400) of chunks of 320 characters ever hold.
    NEIGHBOUR_WINDOW = 12
    #: Filters whose passing documents are kept (hotline date ranges vary).
    MAX_FILTERS = 32

    def __init__(
        self,
        store: ChromaStore,
        keyword: KeywordIndex,
        fetch_k: int = 30,
        rrf_k: int = 60,
        term_map: TermMap | None = None,
        max_per_document: int = 3,
        neighbour_chars: int = 2400,
        sibling_depth: int = 10,
        reranker: CrossEncoderReranker | None = None,
    ):
        self.store = store
        self.keyword = keyword
        self.tokenizer = keyword.tokenizer
        self.term_map = term_map
        self.fetch_k = fetch_k
        self.rrf_k = rrf_k
        self.max_per_document = max_per_document
        self.neighbour_chars = neighbour_chars
        self.sibling_depth = sibling_depth
        self.reranker = reranker
        self._passing: dict[tuple[SearchFilters, int], frozenset[str]] = {}

    def term_idf(self, term: str) -> float:
        """idf of ``term`` among the indexed chunks, ``ln(1 + (N - df + 0.5) / (df + 0.5))``
        (BM25's, as tantivy scores it); a term no chunk holds gets the highest.

        Cheap (counts are cached per index state): the answerer asks for every question
        term of every candidate.
        """
        n = len(self.keyword)
        if not n:
            return 0.0
        df = self.keyword.doc_freq(term)
        return float(np.log1p((n - df + 0.5) / (df + 0.5)))

    def knows(self, term: str) -> bool:
        """Whether any indexed chunk holds ``term`` among its search terms."""
        return self.keyword.doc_freq(term) > 0

    def sources_passing(self, filters: SearchFilters) -> frozenset[str]:
        """The documents (``source``) that pass ``filters``: every filter is about a
        document, so it is judged on each document's first chunk (the last
        :attr:`MAX_FILTERS` answers kept until the index changes)."""
        documents = self.keyword.documents
        # The index's generation, not the table's id(): a new table may reuse a freed one's id.
        key = (filters, self.keyword.generation)
        if key not in self._passing:
            if len(self._passing) >= self.MAX_FILTERS or any(k[1] != key[1] for k in self._passing):
                self._passing.clear()
            self._passing[key] = frozenset(
                source for source, md in documents.items() if filters.accepts(Chunk(id="", text="", metadata=md))
            )
        return self._passing[key]

    def search(
        self, question: str, k: int, filters: SearchFilters | None = None, exact_first: bool = False, scripts: bool = False
    ) -> list[ScoredChunk]:
        """The ``k`` best chunks for ``question``, best first, with per-retriever evidence.

        Args:
            filters: only chunks whose documents pass them are searched (None = all).
            exact_first: chunks holding a phrase of the query verbatim (:func:`exact_phrases`)
                come before all others, as a lookup by name or 文号 wants; otherwise they count
                as one more ranking in the fusion, as a question wants (a resident's
                《失业保险条例》 is answered by that regulation more than by every text citing it).
            scripts: answer scripts (答复口径) may be returned, as the hotline lookup wants; an
                answer quotes policy texts only, and a script answers through
                :class:`assistant.scripts.ScriptBook`, which checks it is in force.
        """
        self.keyword.refresh()
        if not len(self.keyword):
            return []
        sources = self.sources_passing(filters) if filters else None
        if sources is not None and not sources:
            return []
        vector = self.store.embed_query(to_simplified(question))
        dense = self.store.nearest(vector, self.fetch_k, sources=sources)
        lexical_query = self.term_map.expand(question) if self.term_map is not None else question
        lexical = self.keyword.search(self.tokenizer.query_terms(lexical_query), self.fetch_k, sources)
        exact = self._exact(question, sources)
        rankings = [[c.id for c, _ in dense], [c.id for c, _ in lexical]]
        fused = reciprocal_rank_fusion(rankings + ([] if exact_first else [[c.id for c in exact]]), self.rrf_k)
        found: dict[str, ScoredChunk] = {}
        for rank, (chunk, cos) in enumerate(dense, start=1):
            found[chunk.id] = ScoredChunk(chunk, fused[chunk.id], dense_score=cos, dense_rank=rank)
        for rank, (chunk, score) in enumerate(lexical, start=1):
            hit = found.setdefault(chunk.id, ScoredChunk(chunk, fused[chunk.id]))
            hit.lexical_score, hit.lexical_rank = score, rank
        for chunk in exact:
            hit = found.setdefault(chunk.id, ScoredChunk(chunk, fused[chunk.id] if not exact_first else 0.0))
            if exact_first:
                hit.score += 1.0  # above any fused score (at most 3 / (rrf_k + 1))
        asked = regions_in(question)
        if asked:
            wanted = with_provinces(asked)
            for hit in found.values():
                if chunk_regions(hit.chunk) & wanted:
                    hit.score += 1.0 / (self.rrf_k + 1)
        ranked = sorted(found.values(), key=lambda s: (-s.score, s.chunk.id))
        if not scripts:
            ranked = [h for h in ranked if h.chunk.metadata.get("doc_type") != SCRIPT_TYPE]
        ranked = _prefer_in_force(ranked, years_in(question), 1.0 / (self.rrf_k + 1))
        if self.reranker is not None:
            ranked = self.reranker.rerank(question, ranked)
        candidates = ranked
        ranked = _spread(ranked, k, self.max_per_document)
        # A chunk only BM25 found still gets its cosine: the answerer's relevance check needs
        # it, and many near-duplicate chunks can push the right one out of the dense list.
        missing = [h.chunk.id for h in ranked if h.dense_score is None]
        for cid, cos in self.store.cosines(vector, missing).items():
            found[cid].dense_score = cos
        # A keyword hit the collection no longer holds (deleted since the index was brought
        # up to date) has no vector, and is not returned.
        ranked = [h for h in ranked if h.dense_score is not None]
        for hit in ranked:
            hit.neighbours = self.neighbours(hit.chunk)
        if len(question) >= LONG_QUESTION:
            _add_siblings(ranked, candidates[: self.sibling_depth])
        return ranked

    def _exact(self, question: str, sources: frozenset[str] | None) -> list[Chunk]:
        """Chunks holding a phrase of :func:`exact_phrases` verbatim, the first phrase's first."""
        out: dict[str, Chunk] = {}
        for phrase in exact_phrases(question):
            for candidate in _heads(phrase):
                found = self.keyword.containing(candidate, self.fetch_k, sources)
                for chunk, _ in found:
                    out.setdefault(chunk.id, chunk)
                if found:
                    break
        return list(out.values())

    def neighbours(self, chunk: Chunk) -> list[Chunk]:
        """The other chunks of ``chunk``'s article, then the chunks around it in its file
        (the next article often goes on with the matter: 受理, then 审核, then 审批), nearest
        first, up to ``neighbour_chars``; returned in document order."""
        window = self.keyword.around(chunk.meta.source, chunk.meta.chunk_index, self.NEIGHBOUR_WINDOW)
        key = section_key(chunk)
        article = [c for c in window if section_key(c) == key] if key[1] != "file" else []
        picked: list[Chunk] = []
        used = 0
        for group in (article, window):
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


def section_key(chunk: Chunk) -> tuple[str, str]:
    """(source, "article:第X条") for a chunk inside one article, else (source, "file"): the
    chunks that share it are read together."""
    article = chunk.meta.article
    if article and "至" not in article:
        return chunk.meta.source, "article:" + article
    # Without a single article, the neighbours are the chunks next to it in the file.
    return chunk.meta.source, "file"


#: 文号 as written on a document: issuer's short name, year in brackets, number ("穗府办规〔2024〕3号").
_DOC_NUMBER = re.compile(r"[\u4e00-\u9fff]{1,12}[〔\[［(（【]\d{4}[〕\]］)）】]\s*第?\s*\d{1,5}\s*号")
#: Quoted spans: Chinese and ASCII quotes, corner brackets, book-title marks.
_QUOTED = re.compile(r"“([^”]{2,})”|\"([^\"]{2,})\"|「([^」]{2,})」|『([^』]{2,})』|《([^》]{2,})》")
#: Shortest whole query tried as a phrase: shorter ones ("低保") are in thousands of chunks.
MIN_EXACT_QUERY = 4
#: Longest whole query tried as a phrase (a pasted article).
MAX_EXACT_QUERY = 200


def _heads(phrase: str) -> list[str]:
    """``phrase``, and for a 文号 the same with ever fewer characters before its bracket (down
    to two): where the issuer's short name starts is not marked ("按穗府办规〔2019〕13号")."""
    if not _DOC_NUMBER.fullmatch(phrase):
        return [phrase]
    bracket = next(i for i, ch in enumerate(phrase) if ch in "〔[［(（【")
    return [phrase[i:] for i in range(0, max(1, bracket - 1))]


def exact_phrases(query: str) -> list[str]:
    """What of ``query`` a chunk may hold verbatim: its quoted spans and 《titles》, its 文号,
    and the whole query (between :data:`MIN_EXACT_QUERY` and :data:`MAX_EXACT_QUERY`
    characters, whitespace aside), in that order, without repeats."""
    found = [next(g for g in m.groups() if g) for m in _QUOTED.finditer(query)]
    found += [m.group(0) for m in _DOC_NUMBER.finditer(query)]
    whole = phrase_form(query)
    if MIN_EXACT_QUERY <= len(whole) <= MAX_EXACT_QUERY:
        found.append(query)
    out: dict[str, str] = {}
    for phrase in found:
        out.setdefault(phrase_form(phrase), phrase)
    return [p for form, p in out.items() if len(form) >= 2]


def _prefer_in_force(ranked: list[ScoredChunk], years: set[int], bonus: float) -> list[ScoredChunk]:
    """Drop chunks of replaced versions whose newer version is also ranked, unless the
    question asks about a year before the replacement; when it asks only about years before
    it, the version then in force gains ``bonus`` (as if one more retriever had put it first:
    both versions say nearly the same, and the one that governed the year asked must not
    lose its place to the newer by a hair of score)."""
    current = {version_key(h.chunk.metadata) for h in ranked if not h.chunk.metadata.get(REPLACED_BY)}
    out = []
    for hit in ranked:
        md = hit.chunk.metadata
        replaced_on = str(md.get(REPLACED_ON) or "")
        if replaced_on and version_key(md) in current:
            if not years or min(years) >= int(replaced_on[:4]):
                continue
            if max(years) < int(replaced_on[:4]):
                hit.score += bonus
        out.append(hit)
    return sorted(out, key=lambda s: (-s.score, s.chunk.id))


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
