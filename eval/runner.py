"""Run a question set through one or more pipelines and score every question.

A pipeline is anything with ``name``, ``search(query, k) -> list[ScoredChunk]`` and an
``answerer`` with ``answer(query, hits) -> Answer``. Follow-up questions are searched with
:func:`assistant.query.contextualise`, as in the product.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from assistant.query import contextualise
from assistant.types import Answer, ScoredChunk
from eval.metrics import (
    article_matches,
    contains_all,
    fact_recall,
    hit_at_k,
    ndcg_at_k,
    percentile,
    reciprocal_rank,
    source_matches,
    source_stem,
    squash,
)
from eval.schema import Question

KS = (1, 3, 5, 10)
DEPTH = 10  # results scored per question


class Pipeline(Protocol):
    name: str
    answerer: Any

    def search(self, question: str, k: int) -> list[ScoredChunk]: ...


@dataclass
class HybridPipeline:
    """minsheng's own pipeline, over already-built services."""

    services: Any
    name: str = "minsheng"

    @property
    def answerer(self):
        return self.services.answerer

    def search(self, question: str, k: int) -> list[ScoredChunk]:
        return self.services.searcher.search(question, k)


@dataclass
class QuestionResult:
    """Everything measured for one question in one pipeline (one line of results.jsonl)."""

    id: str
    pipeline: str
    question: str
    topic: str
    phrasing: str
    answerable: bool
    follow_up: bool
    retrieved: list[dict[str, Any]]
    answer: str
    refused: bool
    metrics: dict[str, float | None]
    timings: dict[str, float]


def _ranked_docs(hits: Sequence[ScoredChunk]) -> list[str]:
    seen: dict[str, None] = {}
    for h in hits:
        seen.setdefault(source_stem(str(h.chunk.metadata.get("file_name", ""))), None)
    return list(seen)


def _first_only(flags: list[bool]) -> list[bool]:
    seen = False
    out = []
    for f in flags:
        out.append(f and not seen)
        seen = seen or f
    return out


def score(q: Question, hits: Sequence[ScoredChunk], answer: Answer) -> dict[str, float | None]:
    """Per-question metrics; retrieval and answer metrics are None for unanswerable questions.

    Keys: ``doc_hit@k`` (k in 1, 3, 5, 10), ``doc_mrr@10``, ``doc_ndcg@10``; ``article_hit@k``,
    ``article_mrr@10``, ``article_ndcg@10`` when articles are expected; ``evidence_hit@k``
    (a chunk in the first k holds every key fact) when key facts exist; ``fact_recall``,
    ``citations``, ``citations_correct``; ``refusal_correct`` always; ``unanswerable_refused``
    (1 when an unanswerable question was refused) or ``answerable_answered`` (1 when an
    answerable one was answered), so both sides of refusal accuracy show.
    """
    m: dict[str, float | None] = {"refusal_correct": float(answer.refused != q.answerable)}
    if not q.answerable:
        m["unanswerable_refused"] = float(answer.refused)
        return m
    m["answerable_answered"] = float(not answer.refused)
    docs = _ranked_docs(hits)
    # expected_sources are alternatives (copies of one text in several files or formats):
    # the first match is the relevant document, later copies add nothing.
    doc_rel = _first_only([source_matches(d, q.expected_sources) for d in docs])
    for k in KS:
        m[f"doc_hit@{k}"] = hit_at_k(doc_rel, k)
    m["doc_mrr@10"] = reciprocal_rank(doc_rel, DEPTH)
    m["doc_ndcg@10"] = ndcg_at_k(doc_rel, DEPTH, 1)
    if q.expected_articles:
        art_rel = [
            source_matches(str(h.chunk.metadata.get("file_name", "")), q.expected_sources)
            and article_matches(str(h.chunk.metadata.get("articles", "")), q.expected_articles)
            for h in hits
        ]
        for k in KS:
            m[f"article_hit@{k}"] = hit_at_k(art_rel, k)
        m["article_mrr@10"] = reciprocal_rank(art_rel, DEPTH)
        m["article_ndcg@10"] = ndcg_at_k(art_rel, DEPTH, len(q.expected_articles))
    if q.key_facts:
        evidence = [contains_all(h.chunk.text, q.key_facts) for h in hits]
        for k in KS:
            m[f"evidence_hit@{k}"] = hit_at_k(evidence, k)
        m["fact_recall"] = 0.0 if answer.refused else fact_recall(answer.text, q.key_facts)
    # A citation is correct when its chunk holds the quoted sentence (support) and is on
    # topic: from an expected source, or holding one of the key facts.
    correct = 0
    for c in answer.citations:
        supported = squash(c.quote.rstrip("…")) in squash(c.chunk.text)
        on_topic = source_matches(str(c.chunk.metadata.get("file_name", "")), q.expected_sources) or any(
            contains_all(c.chunk.text, [f]) for f in q.key_facts
        )
        correct += int(supported and on_topic)
    m["citations"] = float(len(answer.citations))
    m["citations_correct"] = float(correct)
    return m


def run_pipeline(
    pipeline: Pipeline,
    questions: Sequence[Question],
    top_k: int,
    progress: Callable[[], None] | None = None,
) -> list[QuestionResult]:
    """Search (depth 10) and answer (top ``top_k``) every question; returns one result each."""
    results = []
    for q in questions:
        query = contextualise(q.question, [t.model_dump() for t in q.history])
        t0 = time.perf_counter()
        hits = pipeline.search(query, DEPTH)
        t1 = time.perf_counter()
        answer = pipeline.answerer.answer(query, hits[:top_k])
        t2 = time.perf_counter()
        timings = {"retrieval": (t1 - t0) * 1000, "answer": (t2 - t1) * 1000, "total": (t2 - t0) * 1000}
        retrieved = [
            {
                "rank": i,
                "file_name": h.chunk.metadata.get("file_name", ""),
                "article": h.chunk.metadata.get("article", ""),
                "page": h.chunk.metadata.get("page", 0),
                "score": round(h.score, 5),
            }
            for i, h in enumerate(hits, start=1)
        ]
        results.append(
            QuestionResult(
                id=q.id,
                pipeline=pipeline.name,
                question=q.question,
                topic=q.topic,
                phrasing=q.phrasing,
                answerable=q.answerable,
                follow_up=q.is_follow_up,
                retrieved=retrieved,
                answer=answer.text,
                refused=answer.refused,
                metrics=score(q, hits, answer),
                timings=timings,
            )
        )
        if progress:
            progress()
    return results


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def summarise(results: Sequence[QuestionResult]) -> dict[str, Any]:
    """Aggregate one pipeline's results.

    Retrieval and answer metrics are means over the questions they apply to; citation precision
    is micro-averaged over all citations; refusal accuracy is over every question; latencies are
    nearest-rank p50/p95 in milliseconds.
    """
    out: dict[str, Any] = {"questions": len(results), "answerable": sum(r.answerable for r in results)}
    keys = sorted({k for r in results for k, v in r.metrics.items() if v is not None} - {"citations", "citations_correct"})
    for key in keys:
        out[key] = _mean([r.metrics[key] for r in results if r.metrics.get(key) is not None])
    cited = sum(r.metrics.get("citations") or 0 for r in results)
    correct = sum(r.metrics.get("citations_correct") or 0 for r in results)
    out["citation_precision"] = correct / cited if cited else None
    for stage in ("retrieval", "answer", "total"):
        values = [r.timings[stage] for r in results]
        out[f"{stage}_p50_ms"] = percentile(values, 50)
        out[f"{stage}_p95_ms"] = percentile(values, 95)
    return out


BREAKDOWN_METRICS = ("doc_hit@5", "doc_mrr@10", "fact_recall", "refusal_correct")


def breakdown(results: Sequence[QuestionResult], attribute: str) -> dict[str, dict[str, Any]]:
    """Per value of ``attribute`` (``topic``, ``phrasing``): n and the mean of the main metrics."""
    groups: dict[str, list[QuestionResult]] = defaultdict(list)
    for r in results:
        groups[str(getattr(r, attribute))].append(r)
    table = {}
    for value, rs in sorted(groups.items()):
        row: dict[str, Any] = {"n": len(rs)}
        for key in BREAKDOWN_METRICS:
            row[key] = _mean([r.metrics[key] for r in rs if r.metrics.get(key) is not None])
        table[value] = row
    return table


def to_json_line(result: QuestionResult) -> dict[str, Any]:
    return asdict(result)


@dataclass
class RunSummary:
    """The whole run: per-pipeline summaries and breakdowns, plus run facts."""

    pipelines: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_topic: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    by_phrasing: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
