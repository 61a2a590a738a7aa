"""Data types shared by ingest, retrieval, answering and the user interfaces."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any


#: Characters of title and heading path put before a chunk's text for embedding: with the
#: default 320-character chunks this keeps the whole under e5's 512-token window, Chinese
#: text taking at most about one token per character in its tokenizer.
MAX_CONTEXT_HEAD = 150


@dataclass(frozen=True, slots=True)
class ChunkMeta:
    """A chunk's metadata, typed. Chroma stores it as a flat dict of str/int/float
    (:meth:`from_flat`, :meth:`to_flat`); a key it does not know is kept in ``extra``.

    Attributes:
        doc_id: the document's id (first 16 hex characters of its file's SHA-256).
        source: the file's resolved path; file_name: its base name.
        title, issuer (发文机关), doc_number (文号), date (发布日期), effective_date (施行日期),
            region, topic, doc_type, source_url, published: as stated by the file, its
            sidecar row or read from its text ("" when unknown).
        page, page_end: 1-based page numbers (0 = a format without pages).
        heading: the path of headings above the chunk; article: 第X条 (or a range, 第八条至第十条);
            articles: every 条 the chunk touches, comma-separated; heading_path: heading › article.
        chunk_index: the chunk's place in its document (0-based).
        replaced_by, replaced_on: the newer version's "title（date）" and its date, for a
            document a newer version replaced (:mod:`assistant.core.versions`).
    """

    doc_id: str = ""
    source: str = ""
    file_name: str = ""
    title: str = ""
    issuer: str = ""
    doc_number: str = ""
    date: str = ""
    effective_date: str = ""
    region: str = ""
    topic: str = ""
    doc_type: str = ""
    source_url: str = ""
    published: str = ""
    page: int = 0
    page_end: int = 0
    heading: str = ""
    article: str = ""
    articles: str = ""
    heading_path: str = ""
    chunk_index: int = 0
    replaced_by: str = ""
    replaced_on: str = ""
    extra: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def from_flat(cls, flat: Mapping[str, Any]) -> "ChunkMeta":
        """Read Chroma's flat dict; missing or empty values take the defaults."""
        values: dict[str, Any] = {}
        for name, is_int in _META_FIELDS.items():
            value = flat.get(name)
            if value is None or value == "":
                continue
            values[name] = int(value or 0) if is_int else str(value)
        extra = tuple(sorted((k, v) for k, v in flat.items() if k not in _META_FIELDS))
        return cls(**values, extra=extra)

    def to_flat(self) -> dict[str, Any]:
        """Chroma's flat dict: every known field that is set, then ``extra``."""
        flat = {name: getattr(self, name) for name in _META_FIELDS if getattr(self, name) not in ("", 0)}
        flat.update(self.extra)
        return flat

    def replaced_note(self, named: bool = True) -> str:
        """The wording of a replaced version, the one place it is written: "已被《…》（2024-12-31）替代"
        (``named``) or "已被替代"; "" for a version in force."""
        if not self.replaced_by:
            return ""
        return f"已被{self.replaced_by}替代" if named else "已被替代"


#: ChunkMeta's stored fields (``extra`` aside), each with whether Chroma holds it as an int.
_META_FIELDS = {f.name: f.type in ("int", int) for f in fields(ChunkMeta) if f.name != "extra"}


@dataclass(frozen=True)
class Chunk:
    """One indexed piece of a document.

    Attributes:
        id: content-hash id (32 hex characters), stable across re-runs.
        text: the text shown to users and quoted in answers.
        metadata: flat str/int/float values (Chroma's rule): ``doc_id``, ``source``,
            ``file_name``, ``title``, ``page``/``page_end`` (1-based, 0 = no pages),
            ``heading`` (the path of headings, outline titles or the FAQ question above it),
            ``article`` (第X条), ``heading_path`` (heading › article), ``chunk_index`` and, when known, ``issuer``
            (发文机关), ``doc_number`` (文号), ``date``, ``region``, ``topic``, ``source_url``.
    """

    id: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def meta(self) -> ChunkMeta:
        """The metadata, typed (read once per chunk)."""
        return ChunkMeta.from_flat(self.metadata)

    @property
    def title(self) -> str:
        return self.meta.title or self.meta.file_name

    def context_text(self) -> str:
        """Text used for embedding and BM25: title and heading path, then the chunk text, in
        simplified characters (a traditional-character document is found by simplified questions).

        The article (第X条) joins the path when the chunk continues an article without
        repeating its number. The path is capped at ``MAX_CONTEXT_HEAD`` characters so
        that chunk plus path stay inside the embedding model's window.
        """
        from assistant.core.text import to_simplified

        parts = [self.title, str(self.metadata.get("heading", ""))]
        article = str(self.metadata.get("article", ""))
        if article and "至" not in article and not self.text.lstrip().startswith(article):
            parts.append(article)
        head = " › ".join(p for p in parts if p)[:MAX_CONTEXT_HEAD]
        return to_simplified(f"{head}\n{self.text}" if head else self.text)



@dataclass
class ScoredChunk:
    """A retrieved chunk with the evidence for its rank.

    Attributes:
        chunk: the chunk.
        score: reciprocal-rank-fusion score (sum of 1/(k + rank)); higher is better.
        dense_score: cosine similarity to the question in [-1, 1], or None when only BM25 found it.
        lexical_score: BM25 score (>= 0), or None when only dense search found it.
        dense_rank / lexical_rank: 1-based ranks in each retriever's list, or None.
        neighbours: other chunks of the same article or section, in document order.
        rerank_score: the cross-encoder's score when a reranker is configured, else None.
    """

    chunk: Chunk
    score: float
    dense_score: float | None = None
    lexical_score: float | None = None
    dense_rank: int | None = None
    lexical_rank: int | None = None
    neighbours: list[Chunk] = field(default_factory=list)
    rerank_score: float | None = None


@dataclass(frozen=True)
class Citation:
    """Source ``[n]`` of an answer: the chunk it points to and the sentence quoted from it."""

    n: int
    chunk: Chunk
    quote: str
    score: float = 0.0

    def label(self) -> str:
        """One-line description: title, 发文机关, 文号, article, page, date, 施行日期 and
        replacement (whichever are known), e.g.
        "《上海市社会救助条例》 上海 第十条 2024-12-31 （已被…替代）"."""
        meta = self.chunk.meta
        parts = [f"《{self.chunk.title}》", *(v for v in (meta.issuer, meta.doc_number, meta.article) if v)]
        if meta.page:
            parts.append(f"第{meta.page}页")
        if meta.date:
            parts.append(meta.date)
        if meta.effective_date and meta.effective_date != meta.date:
            parts.append(f"{meta.effective_date}起施行")
        if meta.replaced_by:
            parts.append(f"（{meta.replaced_note()}）")
        return " ".join(parts)


@dataclass
class Answer:
    """What the assistant says to one question.

    Attributes:
        question: the question as asked.
        text: the answer, with ``[n]`` markers that index ``citations``.
        citations: the sources, numbered from 1.
        refused: True when the knowledge base holds nothing relevant (``text`` then says so).
        timings: milliseconds per stage, e.g. ``{"retrieval": 41.2, "answer": 3.1}``.
        flagged: sentences of a generated reply left out because their citation did not
            support them.
        partial: True for the growing text of a streamed answer before it is checked.
        notes: what the user should know about the sources (another region's rules, a
            replaced version), shown with the answer.
        query: the text that was searched (a follow-up with its earlier topic, or rewritten).
        neighbour: when the answer gives what the knowledge base holds for another year or
            region than the one asked, what differs ("问的是2027年，知识库只收录了2025年的"),
            else "". Such an answer is neither a plain answer nor a refusal (:attr:`status`).
        retrieved: the chunks the answer was made from, best first (what evaluation scores).
        revisions: cited documents revised within the last year, each {``doc_id``, ``title``,
            ``on``, ``cited``: "old"/"new"} (:func:`assistant.core.versions.recent_revision`);
            the page links each to its 新旧对照.
        script: when an approved answer script (答复口径) gave the answer: its ``id``,
            ``label`` (答复口径), ``approver``, ``approved_on``, ``valid_until``, its ``answer``
            text, the phrasing it ``matched`` and the ``cosine``; else None.
    """

    question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    refused: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    flagged: list[str] = field(default_factory=list)
    partial: bool = False
    notes: list[str] = field(default_factory=list)
    query: str = ""
    neighbour: str = ""
    retrieved: list[ScoredChunk] = field(default_factory=list, repr=False)
    revisions: list[dict[str, str]] = field(default_factory=list)
    script: dict[str, Any] | None = None

    @property
    def status(self) -> str:
        """``refused`` (nothing relevant, or not what was asked), ``neighbour`` (the nearest the
        knowledge base holds, labelled as such) or ``answered``."""
        if self.refused:
            return "refused"
        return "neighbour" if self.neighbour else "answered"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: answer text, refusal flag, search text, notes, flagged sentences,
        citations (label, quote, chunk id and the chunk's metadata) and timings in ms."""
        return {
            "question": self.question,
            "answer": self.text,
            "refused": self.refused,
            "status": self.status,
            "neighbour": self.neighbour,
            "query": self.query,
            "notes": self.notes,
            "flagged": self.flagged,
            "citations": [
                {"n": c.n, "label": c.label(), "quote": c.quote, "chunk_id": c.chunk.id, **dict(sorted(c.chunk.metadata.items()))}
                for c in self.citations
            ],
            "revisions": [{**r, "changes_url": f"/documents/{r['doc_id']}/changes"} for r in self.revisions],
            "script": self.script,
            "timings_ms": self.timings,
        }

    def sources_text(self) -> str:
        """Numbered source list, one source per line with its quoted sentence."""
        lines = []
        for c in self.citations:
            lines.append(f"[{c.n}] {c.label()}")
            lines.append(f"    “{c.quote}”")
        return "\n".join(lines)
