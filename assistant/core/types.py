"""Data types shared by ingest, retrieval, answering and the user interfaces."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


#: Characters of title and heading path put before a chunk's text for embedding: with the
#: default 320-character chunks this keeps the whole under e5's 512-token window, Chinese
#: text taking at most about one token per character in its tokenizer.
MAX_CONTEXT_HEAD = 150


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

    @property
    def title(self) -> str:
        return str(self.metadata.get("title") or self.metadata.get("file_name") or "")

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
        md = self.chunk.metadata
        parts = [f"《{self.chunk.title}》"]
        for key in ("issuer", "doc_number", "article"):
            if md.get(key):
                parts.append(str(md[key]))
        if md.get("page"):
            parts.append(f"第{md['page']}页")
        if md.get("date"):
            parts.append(str(md["date"]))
        if md.get("effective_date") and md.get("effective_date") != md.get("date"):
            parts.append(f"{md['effective_date']}起施行")
        if md.get("replaced_by"):
            parts.append(f"（已被{md['replaced_by']}替代）")
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
            "timings_ms": self.timings,
        }

    def sources_text(self) -> str:
        """Numbered source list, one source per line with its quoted sentence."""
        lines = []
        for c in self.citations:
            lines.append(f"[{c.n}] {c.label()}")
            lines.append(f"    “{c.quote}”")
        return "\n".join(lines)
