"""Orchestrates ``minsheng eval``: build indexes, run pipelines, score, write, compare."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from assistant.core.settings import Settings
from eval.report import got_worse, load_run, write_run
from eval.runner import HybridPipeline, QuestionResult, RunSummary, breakdown, run_pipeline, summarise
from eval.schema import Question, load_questions


def evaluate(
    settings: Settings,
    questions_path: Path,
    build_services: Callable[[Settings], Any],
    corpus: Sequence[Path] = (),
    baseline: str | None = None,
    out_dir: Path | None = None,
    compare: Path | None = None,
    limit: int | None = None,
    progress: Callable[[str, int], Callable[[], None]] | None = None,
    log: Callable[[str], None] = print,
) -> tuple[Path, RunSummary, list[QuestionResult], list[dict[str, Any]], RunSummary | None]:
    """Run the question set; returns (run folder, summary, results, questions that got worse, earlier summary).

    With ``corpus``, both pipelines index it into a temporary folder first (passage vectors
    come from the shared vector cache when present); without it, minsheng's configured index
    is used and no baseline can run.

    Args:
        build_services: the composition root (:func:`ui.services.build_services`): the
            services measured are the ones the product builds from ``settings``.

    Raises:
        QuestionSetError: the question file is invalid.
        ValueError: a baseline was asked for without a corpus, or an unknown baseline.
        FileNotFoundError: ``compare`` is not a run folder.
    """
    from eval.baseline import NaivePipeline

    questions: list[Question] = load_questions(questions_path)
    if limit:
        questions = questions[:limit]
    if baseline not in (None, "naive"):
        raise ValueError(f"unknown baseline '{baseline}' (available: naive)")
    if baseline and not corpus:
        raise ValueError("--baseline needs --corpus: the baseline indexes the corpus its own way")
    previous, previous_results = load_run(compare) if compare else (None, [])
    out_dir = out_dir or settings.data_dir / "eval" / datetime.now().strftime("%Y%m%d-%H%M%S")

    with tempfile.TemporaryDirectory(prefix="minsheng-eval-") as tmp:
        run_settings = settings.with_data_dir(Path(tmp)) if corpus else settings
        services = build_services(run_settings)
        pipelines: list[Any] = [HybridPipeline(services)]
        facts: dict[str, Any] = {
            "date": datetime.now().isoformat(timespec="seconds"),
            "questions": f"{questions_path} ({len(questions)})",
            "embedding model": settings.embedding_model,
            "chunk size / overlap": f"{settings.chunk_size} / {settings.chunk_overlap}",
            "top k": f"{settings.top_k} (retrieval metrics @k are over these chunks, the ones each answer was given)",
        }
        if corpus:
            t0 = time.perf_counter()
            report = services.ingestor.ingest(list(corpus))
            facts["corpus"] = ", ".join(str(c) for c in corpus)
            facts["minsheng index"] = f"{services.store.count()} chunks, {report.summary()}"
            log(f"minsheng index: {report.summary()}")
            if baseline == "naive":
                naive = NaivePipeline.from_settings(settings, services.embeddings, Path(tmp) / "naive")
                nrep = naive.ingest(list(corpus))
                facts["naive index"] = f"{naive.store.count()} chunks, {nrep.summary()}"
                log(f"naive index: {nrep.summary()}")
                pipelines.append(naive)
            facts["indexing seconds"] = round(time.perf_counter() - t0, 1)
        services.warm_up()

        results: list[QuestionResult] = []
        summary = RunSummary(facts=facts)
        for pipe in pipelines:
            tick = progress(pipe.name, len(questions)) if progress else None
            rs = run_pipeline(pipe, questions, tick)
            results += rs
            summary.pipelines[pipe.name] = summarise(rs)
            summary.by_kind[pipe.name] = breakdown(rs, "kind")
            summary.by_topic[pipe.name] = breakdown(rs, "topic")
            summary.by_phrasing[pipe.name] = breakdown(rs, "phrasing")
    worse = got_worse(results, previous_results) if compare else []
    write_run(out_dir, summary, results, previous, worse)
    return out_dir, summary, results, worse, previous
