"""Metadata filters for search: region, topic, in force, date range.

Hotline staff narrow a search to one city's rules, one topic, what is in force, or a period;
the same filters restrict both retrievers (BM25 and dense), so fusion never ranks a chunk the
filter excludes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from assistant.core.regions import NATIONAL, chunk_regions, with_provinces
from assistant.core.text import normalise
from assistant.core.types import Chunk
from assistant.core.versions import in_force


@dataclass(frozen=True)
class SearchFilters:
    """What a chunk's document must satisfy to be searched.

    Attributes:
        regions: region names (北京, 广州 …); a document matches when it is about one of them
            or its province, or is national. Empty = any region.
        national: with ``regions``, whether national documents (全国) also match.
        topic: a word that the document's ``topic``, ``doc_type`` or title must contain
            (simplified, case-folded); "" = any topic.
        in_force: only documents in force on ``on`` (see :func:`assistant.core.versions.in_force`).
        date_from / date_to: ISO dates (inclusive) that the document date must lie between;
            a document without a date is excluded when either is set.
        on: the day "in force" refers to; None = today.
    """

    regions: frozenset[str] = field(default_factory=frozenset)
    national: bool = True
    topic: str = ""
    in_force: bool = False
    date_from: str = ""
    date_to: str = ""
    on: date | None = None

    def __bool__(self) -> bool:
        return bool(self.regions or self.topic or self.in_force or self.date_from or self.date_to)

    def accepts(self, chunk: Chunk) -> bool:
        """Whether ``chunk``'s document passes every filter."""
        md: Mapping[str, Any] = chunk.metadata
        if self.regions:
            have = chunk_regions(chunk)
            wanted = with_provinces(set(self.regions))
            if not (have & wanted or (self.national and (not have or NATIONAL in have))):
                return False
        if self.topic:
            hay = normalise(f"{md.get('topic', '')} {md.get('doc_type', '')} {md.get('title', '')}")
            if normalise(self.topic) not in hay:
                return False
        if self.in_force and not in_force(md, self.on):
            return False
        if self.date_from or self.date_to:
            day = str(md.get("date") or "")
            if not day or (self.date_from and day < self.date_from) or (self.date_to and day > self.date_to):
                return False
        return True
