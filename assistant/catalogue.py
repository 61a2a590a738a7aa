"""What a serving process knows of the collection for keyword search: every chunk, grouped
by document, with its BM25 bag of terms (:class:`Catalogue`), and the BM25 index and lookups
built from one state of it (:class:`Snapshot`) that searches read while the next is built.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assistant.core.text import Tokenizer
from assistant.core.types import Chunk
from assistant.filters import SearchFilters
from assistant.lexical import BagBlock, BM25Index, TermCache, stack_bags, term_counts


@dataclass
class Snapshot:
    """BM25 index and chunk catalogue built from one state of the collection: journal point
    (``epoch``, ``seq``) and this process's write counter (``version``)."""

    epoch: str
    seq: int
    version: int
    bm25: BM25Index
    chunks: dict[str, Chunk]
    sections: dict[tuple[str, str], list[Chunk]]
    masks: dict[SearchFilters, np.ndarray] = field(default_factory=dict)

    #: Filters whose masks are kept; hotline date ranges vary, and each mask is one byte a chunk.
    MAX_MASKS = 32

    def mask(self, filters: SearchFilters) -> np.ndarray:
        """Booleans in ``bm25.ids`` order: which chunks pass ``filters`` (the last
        :attr:`MAX_MASKS` filters cached)."""
        if filters not in self.masks:
            if len(self.masks) >= self.MAX_MASKS:
                self.masks.pop(next(iter(self.masks)))
            self.masks[filters] = np.fromiter(
                (filters.accepts(self.chunks[cid]) for cid in self.bm25.ids), dtype=bool, count=len(self.bm25)
            )
        return self.masks[filters]


class Catalogue:
    """The collection's chunks as this process knows them, grouped by document, with each
    document's BM25 bags of term ids, so a change to one document reads (or makes) the terms
    of that document only.

    Kept lean, since it holds every chunk: terms live only stacked per document, and the
    metadata strings the chunks of a document repeat (source, title, region, dates) are
    shared.
    """

    #: Chunks whose terms are read from the cache (or made) at a time: as lists of strings,
    #: the terms of a 400-character chunk take about 18 kB, nearly 2 GB for 100k chunks.
    TERM_SLICE = 1000

    def __init__(self, tokenizer: Tokenizer, cache: TermCache | None = None) -> None:
        self.tokenizer = tokenizer
        self.cache = cache
        self.vocab: dict[str, int] = {}
        self.by_source: dict[str, list[Chunk]] = {}
        #: each document's chunks' bags of terms, stacked in chunk order: a refresh joins
        #: one block per document instead of one array per chunk
        self.blocks: dict[str, BagBlock] = {}
        self.sections: dict[str, dict[tuple[str, str], list[Chunk]]] = {}

    def load(self, chunks: Sequence[Chunk]) -> None:
        """Start over from every chunk of the collection. The vocabulary starts over too
        (terms of texts gone since would otherwise stay in it for good); terms come back from
        the term cache (without one, they are made again)."""
        before = self.vocab, self.by_source, self.blocks, self.sections
        self.vocab, self.by_source, self.blocks, self.sections = {}, {}, {}, {}
        try:
            self._add(chunks)
        except BaseException:  # a half-built catalogue would serve a fraction of the corpus
            self.vocab, self.by_source, self.blocks, self.sections = before
            raise

    def replace(self, sources: set[str], chunks: Sequence[Chunk]) -> None:
        """Make documents ``sources`` hold exactly ``chunks`` (none: the document is gone)."""
        for source in sources:
            self.by_source.pop(source, None)
            self.blocks.pop(source, None)
            self.sections.pop(source, None)
        self._add(chunks)

    def _add(self, chunks: Sequence[Chunk]) -> None:
        grouped: dict[str, list[Chunk]] = {}
        for c in chunks:
            _share_strings(c.metadata)
            grouped.setdefault(c.meta.source, []).append(c)
        batch: list[tuple[str, list[Chunk]]] = []
        size = 0
        for source, group in grouped.items():
            batch.append((source, group))
            size += len(group)
            if size >= self.TERM_SLICE:
                self._index(batch)
                batch, size = [], 0
                release_freed_memory()  # only loads this large leave much behind
        self._index(batch)
        if len(chunks) >= self.TERM_SLICE:
            release_freed_memory()

    def _index(self, documents: list[tuple[str, list[Chunk]]]) -> None:
        """Terms (from the cache, else made and cached), blocks and sections of ``documents``."""
        texts = [[c.context_text() for c in group] for _, group in documents]
        keys = [[TermCache.key(t) for t in per_doc] for per_doc in texts]
        wanted = [k for per_doc in keys for k in per_doc]
        cached = self.cache.get_many(wanted) if self.cache and wanted else {}
        made: dict[str, list[str]] = {}
        for (source, group), per_doc, doc_keys in zip(documents, texts, keys):
            bags = []
            for text, key in zip(per_doc, doc_keys):
                found = cached.get(key, made.get(key))
                if found is None:
                    found = made[key] = self.tokenizer.terms(text)
                bags.append(term_counts(found, self.vocab))
            self.by_source[source] = group
            self.blocks[source] = stack_bags(bags)
            self.sections[source] = sections(group)
        if self.cache and made:
            self.cache.put_many(made)

    def snapshot(self, epoch: str, seq: int, version: int) -> Snapshot:
        everything = [c for group in self.by_source.values() for c in group]
        return Snapshot(
            epoch=epoch, seq=seq, version=version,
            bm25=BM25Index.from_blocks([c.id for c in everything], [self.blocks[s] for s in self.by_source], self.vocab),
            chunks={c.id: c for c in everything},
            sections={key: group for per_source in self.sections.values() for key, group in per_source.items()},
        )


def release_freed_memory() -> None:
    """Give memory freed by the C allocator back to the system now (glibc's ``malloc_trim``;
    elsewhere nothing). Loading 100k chunks frees many small objects between the ones it
    keeps, and without this the process kept about 280 MB it no longer used (measured at
    99,359 chunks)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim():
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def _share_strings(metadata: dict[str, Any]) -> None:
    """Make ``metadata``'s keys and string values the interned copies, in place: every chunk
    of a document repeats its source, title, region and dates, and Chroma hands each chunk
    copies of its own."""
    items = [(sys.intern(k), sys.intern(v) if isinstance(v, str) else v) for k, v in metadata.items()]
    metadata.clear()
    metadata.update(items)


def section_key(chunk: Chunk) -> tuple[str, str]:
    md = chunk.metadata
    article = str(md.get("article") or "")
    if article and "至" not in article:
        return str(md.get("source", "")), "article:" + article
    # Without a single article, the neighbours are the chunks next to it in the file.
    return str(md.get("source", "")), "file"


def sections(chunks: Sequence[Chunk]) -> dict[tuple[str, str], list[Chunk]]:
    """Chunks grouped by (source, article) and by (source, "file"), each group in document order."""
    groups: dict[tuple[str, str], list[Chunk]] = {}
    for c in chunks:
        source = str(c.metadata.get("source", ""))
        groups.setdefault((source, "file"), []).append(c)
        key = section_key(c)
        if key[1] != "file":
            groups.setdefault(key, []).append(c)
    for group in groups.values():
        # Over every chunk of the collection: the flat value, not the typed metadata that
        # a chunk keeps once read (memory grows with the collection).
        group.sort(key=lambda c: int(c.metadata.get("chunk_index") or 0))
    return {key: group for key, group in groups.items() if len(group) > 1}
