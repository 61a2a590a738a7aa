"""Retrieval and answering composed as a LangChain runnable.

``build_chain(retriever, answerer)`` takes ``{"question": str}`` and returns an
:class:`~assistant.types.Answer`. The retriever is any LangChain ``BaseRetriever`` whose
Documents carry minsheng's score metadata, so LangChain users can swap or reuse either piece.
"""

from __future__ import annotations

import time
from typing import Any

from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda

from collections.abc import Sequence
from typing import Protocol

from assistant.query import contextualise
from assistant.retrieval import from_document
from assistant.types import Answer, ScoredChunk


class Answerer(Protocol):
    """What the chain needs of an answerer (extractive or generative)."""

    def answer(self, question: str, hits: Sequence[ScoredChunk], focus: str | None = None) -> Answer: ...

    def refusal(self, question: str) -> Answer: ...

    def empty_question(self) -> Answer: ...


def build_chain(retriever: BaseRetriever, answerer: Answerer) -> Runnable[dict[str, Any], Answer]:
    """``{"question", "history"?} -> retrieve -> answer -> Answer`` with per-stage timings in ms.

    ``history`` (earlier turns, oldest first) only shapes the search text of follow-ups; see
    :func:`assistant.query.contextualise`.
    """

    def retrieve(inputs: dict[str, Any]) -> dict[str, Any]:
        question = str(inputs["question"])
        query = contextualise(question, inputs.get("history") or ())
        t0 = time.perf_counter()
        docs = retriever.invoke(query)
        return {
            "question": question,
            "query": query,
            "documents": docs,
            "timings": {"retrieval": (time.perf_counter() - t0) * 1000},
        }

    def answer(state: dict[str, Any]) -> Answer:
        t0 = time.perf_counter()
        focus = state["question"] if state["query"] != state["question"] else None
        result = answerer.answer(state["query"], [from_document(d) for d in state["documents"]], focus=focus)
        result.question = state["question"]
        result.timings = {**state["timings"], "answer": (time.perf_counter() - t0) * 1000}
        return result

    return RunnableLambda(retrieve).with_config(run_name="retrieve") | RunnableLambda(answer).with_config(run_name="answer")


class Assistant:
    """Answers questions: the service every entry point (CLI, web, evaluation) calls.

    Args:
        chain: the runnable from :func:`build_chain`.
        answerer: makes the refusal for an empty question.
    """

    def __init__(self, chain: Runnable[dict[str, Any], Answer], answerer: Answerer):
        self.chain = chain
        self._answerer = answerer

    def ask(self, question: str, history: Sequence[Any] = ()) -> Answer:
        """Answer one question, given earlier turns (``{"role", "content"}``, oldest first).

        An empty question gets a prompt to ask one, without retrieval.
        """
        question = (question or "").strip()
        if not question:
            return self._answerer.empty_question()
        t0 = time.perf_counter()
        answer = self.chain.invoke({"question": question, "history": list(history)})
        answer.timings["total"] = (time.perf_counter() - t0) * 1000
        return answer
