"""Candidate sentences: the pool of chunks an answer may quote, cut into the sentences it
may quote, and the weights of the question's terms that score them.

A sentence is quoted as written, shortened at a clause when long (:func:`clean_sentence`);
one cut by the chunk boundary is completed from the next chunk (:func:`completed_text`);
web-page furniture and title lines are left to the answerer to drop.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.asks import Slot
from assistant.core.text import after_overlap, sentences
from assistant.core.types import ScoredChunk

LIST_MARK = re.compile(r"^(?:[#>*\-•]+\s*|\d+[.、)]\s*)")
MIN_SENTENCE = 6  # characters; shorter pieces are headings or list stubs, not answers
MAX_SENTENCE = 180  # characters shown of one quoted sentence


@dataclass(frozen=True)
class Sentence:
    """A quotable sentence of the pool, with what its score needs from its chunk."""

    hit: int
    pos: int
    first: bool  # the first quotable sentence of its chunk
    text: str
    norm: str
    heading_line: str
    context: float
    echo: float
    rank: float


# "根据《…通知》（粤财社〔2026〕19号）要求，": the authority a sentence cites before it says anything.
_PREAMBLE = re.compile(r"^(?:根据|按照|依据|依照)《[^》]{2,80}》[^，。；]{0,40}(?:要求|规定|精神|部署)?，")


def clean_sentence(sentence: str) -> str:
    """A sentence as quoted: at most ``MAX_SENTENCE`` characters, shortened at a clause
    boundary (，；：) so that no figure or condition is cut in half. A long sentence loses the
    citation of its authority first ("根据《…》要求，")."""
    s = sentence.strip()
    if len(s) > MAX_SENTENCE:
        s = _PREAMBLE.sub("", s)
    if len(s) > MAX_SENTENCE:
        cut = max(s.rfind(mark, 0, MAX_SENTENCE) for mark in "，；：,;:")
        s = (s[: cut + 1] if cut >= MAX_SENTENCE // 2 else s[: MAX_SENTENCE - 1]) + "…"
    return s


_END = ("。", "！", "？", "；", "!", "?", ";", "：", ":")


def completed_text(hit: ScoredChunk) -> str:
    """The hit's chunk text, its last sentence completed from the next chunk of the same
    article when the chunk boundary cut it ("…低于1549元（低保特困家庭需连续享受" + "城市最低…")."""
    text = hit.chunk.text.rstrip()
    if not text or text.endswith(_END):
        return text
    index = hit.chunk.meta.chunk_index
    following = next((n for n in hit.neighbours if n.meta.chunk_index == index + 1), None)
    if following is None:
        return text
    rest = after_overlap(text, following.text)
    if rest == following.text:
        return text  # no shared overlap: the split fell between sections, not inside a sentence
    m = re.search(r"[。！？；!?;\n]", rest)
    return text + (rest[: m.end()] if m else rest[:MAX_SENTENCE]).rstrip()


def statements(text: str) -> list[str]:
    """Sentences of ``text``, cleaned; a sentence ending in a colon keeps the list it introduces."""
    out: list[str] = []
    pending = ""
    for raw in sentences(text):
        s = LIST_MARK.sub("", raw.strip()).strip()
        if pending:
            s = pending + s
            pending = ""
        # "…如下：" opens a list whose items end in "；": keep them together.
        if s.endswith(("：", ":", "；", ";")) and ("：" in s or ":" in s) and len(s) < MAX_SENTENCE:
            pending = s
            continue
        out.append(clean_sentence(s))
    if pending:
        out.append(clean_sentence(pending))
    return out


@dataclass(frozen=True)
class TermWeights:
    """How much each topic term of a question counts (idf): ``core`` the terms of what it asks,
    ``story`` the rest of a long question's terms, which add when a text holds them."""

    core: dict[str, float]
    story: dict[str, float] = field(default_factory=dict)


@dataclass
class Candidate:
    """A sentence that could be quoted, and the evidence for quoting it.

    Attributes:
        hit: index of its chunk in the answer's pool (retrieved chunks, then their neighbours).
        pos: its place in the chunk (0 = first).
        text: the sentence as it would be quoted.
        cover: share (0..1) of the question's idf-weighted topic terms in the sentence.
        context: the same share in the chunk's title and heading path.
        filled: the question's slots the sentence states (:func:`assistant.asks.fills`).
        score: rank among the candidates (higher first), see :meth:`ExtractiveAnswerer.candidates`.
        meaning: cosine similarity to the question by the embedding model, for the short list
            compared (:meth:`ExtractiveAnswerer._weigh_meaning`), else None.
        own: the share of topic terms in the sentence itself (``cover`` may be inherited).
    """

    hit: int
    pos: int
    text: str
    cover: float
    context: float
    filled: frozenset[Slot]
    score: float = 0.0
    meaning: float | None = None
    own: float = 0.0


@dataclass
class Pool:
    """The chunks an answer may quote: the relevant retrieved ones first, then the other chunks
    of their articles (``parent`` gives the retrieved chunk each one came with)."""

    hits: list[ScoredChunk]
    parent: list[int]
    retrieved: int

    @classmethod
    def of(cls, relevant: Sequence[ScoredChunk]) -> "Pool":
        hits, parent = list(relevant), list(range(len(relevant)))
        seen = {h.chunk.id for h in hits}
        for i, hit in enumerate(relevant):
            for n in hit.neighbours:
                if n.id not in seen:
                    seen.add(n.id)
                    hits.append(ScoredChunk(n, hit.score, dense_score=hit.dense_score))
                    parent.append(i)
        return cls(hits, parent, len(relevant))



def share(weights: TermWeights, held: frozenset[str]) -> float:
    """Share (0..1) of the question's core term weight that the terms ``held`` make up; the
    story's terms add to it but are not missed."""
    total = sum(weights.core.values())
    if not total:
        return 0.0
    found = sum(w for t, w in weights.core.items() if t in held) + sum(w for t, w in weights.story.items() if t in held)
    return min(1.0, found / total)


def sharpened_by(weights: TermWeights, held: Sequence[frozenset[str]]) -> TermWeights:
    """``weights`` with each term scaled by the share of sentences (their ``held`` terms) that
    lack it (:meth:`ExtractiveAnswerer._sharpened`)."""
    if not held:
        return weights

    def scale(part: dict[str, float]) -> dict[str, float]:
        return {t: w * (1 - sum(t in h for h in held) / len(held)) for t, w in part.items()}

    return TermWeights(scale(weights.core), scale(weights.story))
