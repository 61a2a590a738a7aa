"""Run a question set through one or more pipelines and score every question.

A pipeline is anything with ``name`` and ``ask(question, history) -> Answer`` whose answer
records the chunks it was answered from (``Answer.retrieved``). For minsheng that is
:meth:`assistant.chain.Assistant.ask`, the function behind ``/api/ask``, the chat page and
``minsheng ask``: a number in ``summary.md`` is a number a resident gets. Retrieval metrics are
computed over the chunks the answer was given (``top_k``), not over a deeper list.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from assistant.core.types import Answer, ScoredChunk
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

#: Ranks at which hits are counted; "k" is every chunk the answer was given (``top_k``).
KS = (1, 3)


class Pipeline(Protocol):
    name: str

    def ask(self, question: str, history: Sequence[Any] = ()) -> Answer: ...


@dataclass
class HybridPipeline:
    """minsheng's own pipeline, over already-built services: the product's ``ask``."""

    services: Any
    name: str = "minsheng"

    def ask(self, question: str, history: Sequence[Any] = ()) -> Answer:
        return self.services.assistant.ask(question, history)


@dataclass
class QuestionResult:
    """Everything measured for one question in one pipeline (one line of results.jsonl).

    ``status`` is the answer's :attr:`~assistant.core.types.Answer.status`: answered, refused, or
    neighbour (a labelled answer about another year or region than the one asked).
    """

    id: str
    pipeline: str
    question: str
    topic: str
    phrasing: str
    kind: str
    answerable: bool
    follow_up: bool
    retrieved: list[dict[str, Any]]
    answer: str
    refused: bool
    status: str
    metrics: dict[str, float | None]
    timings: dict[str, float]


def _ranked_docs(hits: Sequence[ScoredChunk]) -> list[str]:
    seen: dict[str, None] = {}
    for h in hits:
        seen.setdefault(source_stem(h.chunk.meta.file_name), None)
    return list(seen)


def _first_only(flags: list[bool]) -> list[bool]:
    seen = False
    out = []
    for f in flags:
        out.append(f and not seen)
        seen = seen or f
    return out


def score(q: Question, answer: Answer) -> dict[str, float | None]:
    """Per-question metrics; retrieval and answer metrics are None for unanswerable questions.

    Retrieval is judged on ``answer.retrieved``, the chunks the answer was given, best first.

    Keys: ``doc_hit@1``, ``doc_hit@3``, ``doc_hit@k`` (any of the retrieved chunks),
    ``doc_mrr``, ``doc_ndcg``; ``article_…`` likewise when articles are expected;
    ``evidence_hit@…`` (a chunk holds every key fact) when key facts exist; ``fact_recall``
    (share of key facts in the answer text) and ``facts_all`` (1 when all are);
    ``citations``, ``citations_correct``; ``refusal_correct`` always: an answerable question
    must be answered, an unanswerable one refused or answered as a labelled neighbour (another
    year or region, said so); then ``unanswerable_handled`` and ``unanswerable_refused`` (strictly
    refused), or ``answerable_answered``.
    """
    status = answer.status
    if not q.answerable:
        handled = status in ("refused", "neighbour")
        return {"refusal_correct": float(handled), "unanswerable_handled": float(handled), "unanswerable_refused": float(status == "refused")}
    answered = status == "answered"
    m: dict[str, float | None] = {"refusal_correct": float(answered), "answerable_answered": float(answered)}
    hits = answer.retrieved
    depth = len(hits)
    docs = _ranked_docs(hits)
    # expected_sources are alternatives (copies of one text in several files or formats):
    # the first match is the relevant document, later copies add nothing.
    doc_rel = _first_only([source_matches(d, q.expected_sources) for d in docs])
    _ranked_metrics(m, "doc", doc_rel, depth, 1)
    if q.expected_articles:
        art_rel = [
            source_matches(h.chunk.meta.file_name, q.expected_sources)
            and article_matches(h.chunk.meta.articles, q.expected_articles)
            for h in hits
        ]
        _ranked_metrics(m, "article", art_rel, depth, len(q.expected_articles))
    if q.key_facts:
        evidence = [contains_all(h.chunk.text, q.key_facts) for h in hits]
        for k in KS:
            m[f"evidence_hit@{k}"] = hit_at_k(evidence, k)
        m["evidence_hit@k"] = hit_at_k(evidence, depth)
        m["fact_recall"] = 0.0 if answer.refused else fact_recall(answer.text, q.key_facts)
        m["facts_all"] = float(m["fact_recall"] == 1.0)
    # A citation is correct when its chunk holds the quoted sentence (support) and is on
    # topic: from an expected source, or holding one of the key facts.
    correct = 0
    for c in answer.citations:
        supported = squash(c.quote.rstrip("…")) in squash(c.chunk.text)
        on_topic = source_matches(c.chunk.meta.file_name, q.expected_sources) or any(
            contains_all(c.chunk.text, [f]) for f in q.key_facts
        )
        correct += int(supported and on_topic)
    m["citations"] = float(len(answer.citations))
    m["citations_correct"] = float(correct)
    return m


def _ranked_metrics(m: dict[str, float | None], prefix: str, relevant: list[bool], depth: int, n_relevant: int) -> None:
    for k in KS:
        m[f"{prefix}_hit@{k}"] = hit_at_k(relevant, k)
    m[f"{prefix}_hit@k"] = hit_at_k(relevant, depth)
    m[f"{prefix}_mrr"] = reciprocal_rank(relevant, depth)
    m[f"{prefix}_ndcg"] = ndcg_at_k(relevant, depth, n_relevant)


def run_pipeline(
    pipeline: Pipeline,
    questions: Sequence[Question],
    progress: Callable[[], None] | None = None,
) -> list[QuestionResult]:
    """Ask every question (with its history) through ``pipeline.ask``; one result each."""
    results = []
    for q in questions:
        t0 = time.perf_counter()
        answer = pipeline.ask(q.question, [t.model_dump() for t in q.history])
        total = (time.perf_counter() - t0) * 1000
        timings = {
            "retrieval": answer.timings.get("retrieval", 0.0),
            "answer": answer.timings.get("answer", 0.0),
            "total": total,
        }
        retrieved = [
            {
                "rank": i,
                "file_name": h.chunk.meta.file_name,
                "article": h.chunk.meta.article,
                "page": h.chunk.meta.page,
                "score": round(h.score, 5),
            }
            for i, h in enumerate(answer.retrieved, start=1)
        ]
        results.append(
            QuestionResult(
                id=q.id,
                pipeline=pipeline.name,
                question=q.question,
                topic=q.topic,
                phrasing=q.phrasing,
                kind=q.kind,
                answerable=q.answerable,
                follow_up=q.is_follow_up,
                retrieved=retrieved,
                answer=answer.text,
                refused=answer.refused,
                status=answer.status,
                metrics=score(q, answer),
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


#: The metrics shown per group in summary.md's breakdown tables (summary.json has them all).
BREAKDOWN_METRICS = (
    "doc_hit@k", "doc_mrr", "evidence_hit@k", "fact_recall", "facts_all", "answerable_answered",
    "unanswerable_handled", "refusal_correct", "citation_precision", "total_p95_ms",
)


def breakdown(results: Sequence[QuestionResult], attribute: str) -> dict[str, dict[str, Any]]:
    """Per value of ``attribute`` (``kind``, ``topic``, ``phrasing``): every metric of
    :func:`summarise` over that group's questions, with ``n`` the group's size."""
    groups: dict[str, list[QuestionResult]] = defaultdict(list)
    for r in results:
        groups[str(getattr(r, attribute))].append(r)
    table = {}
    for value, rs in sorted(groups.items()):
        row = summarise(rs)
        table[value] = {"n": row.pop("questions"), **row}
    return table


def to_json_line(result: QuestionResult) -> dict[str, Any]:
    return asdict(result)


@dataclass
class RunSummary:
    """The whole run: per-pipeline summaries and breakdowns, plus run facts."""

    pipelines: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_kind: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    by_topic: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    by_phrasing: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
