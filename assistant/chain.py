"""Retrieval and answering composed as a LangChain runnable, and the :class:`Assistant` service.

``build_chain(retriever, answerer)`` takes ``{"question": str, "history"?: list}`` and returns
an :class:`~assistant.types.Answer`. The retriever is any LangChain ``BaseRetriever`` whose
Documents carry minsheng's score metadata, so LangChain users can swap or reuse either piece.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda

from assistant.query import contextualise
from assistant.retrieval import from_document
from assistant.types import Answer, ScoredChunk

#: Turns (question, earlier turns) into the text to search: rule-based
#: :func:`~assistant.query.contextualise` by default, an LLM rewrite when one is configured.
Rewriter = Callable[[str, Sequence[Any]], str]


#: Longest question answered, in characters: a resident's question, even with its story, fits
#: in a few hundred; a longer text is a pasted document, and would only dilute the search.
MAX_QUESTION = 1000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_question(question: str | None) -> str:
    """``question`` without control characters (NUL included) and surrounding blanks."""
    return _CONTROL.sub("", question or "").strip()


def too_long(question: str) -> Answer:
    """The reply to a question over :data:`MAX_QUESTION` characters (nothing is searched)."""
    text = f"问题太长了（{len(question)}字）。请用{MAX_QUESTION}字以内说明您想了解的政策问题，例如：“异地就医怎么结算？”"
    return Answer(question=question[:MAX_QUESTION], text=text, refused=True)


class Answerer(Protocol):
    """What the chain needs of an answerer (extractive or generative)."""

    def answer(self, question: str, hits: Sequence[ScoredChunk], focus: str | None = None) -> Answer: ...

    def refusal(self, question: str) -> Answer: ...

    def empty_question(self) -> Answer: ...


def _retrieve(retriever: BaseRetriever, rewrite: Rewriter, inputs: dict[str, Any]) -> dict[str, Any]:
    question = str(inputs["question"])
    t0 = time.perf_counter()
    query = rewrite(question, inputs.get("history") or ())
    t1 = time.perf_counter()
    docs = retriever.invoke(query)
    return {
        "question": question,
        "query": query,
        "hits": [from_document(d) for d in docs],
        "timings": {"rewrite": (t1 - t0) * 1000, "retrieval": (time.perf_counter() - t1) * 1000},
    }


def _finish(result: Answer, state: dict[str, Any], t0: float) -> Answer:
    result.question = state["question"]
    result.query = state["query"]
    result.retrieved = list(state["hits"])
    result.timings = {**state["timings"], "answer": (time.perf_counter() - t0) * 1000}
    return result


def _focus(state: dict[str, Any]) -> str | None:
    return state["question"] if state["query"] != state["question"] else None


def build_chain(
    retriever: BaseRetriever, answerer: Answerer, rewrite: Rewriter = contextualise
) -> Runnable[dict[str, Any], Answer]:
    """``{"question", "history"?} -> rewrite -> retrieve -> answer -> Answer`` with per-stage
    timings in ms.

    ``history`` (earlier turns, oldest first) only shapes the search text of follow-ups
    (``rewrite``, :func:`assistant.query.contextualise` by default).
    """

    def answer(state: dict[str, Any]) -> Answer:
        t0 = time.perf_counter()
        return _finish(answerer.answer(state["query"], state["hits"], focus=_focus(state)), state, t0)

    retrieve = RunnableLambda(lambda inputs: _retrieve(retriever, rewrite, inputs))
    return retrieve.with_config(run_name="retrieve") | RunnableLambda(answer).with_config(run_name="answer")


class Assistant:
    """Answers questions: the service every entry point (CLI, web, evaluation) calls.

    Args:
        retriever: any LangChain retriever returning minsheng's scored Documents.
        answerer: extractive or generative; a generative one can also stream.
        rewrite: makes the search text of a follow-up (see :data:`Rewriter`).
    """

    def __init__(self, retriever: BaseRetriever, answerer: Answerer, rewrite: Rewriter = contextualise):
        self.retriever = retriever
        self.answerer = answerer
        self.rewrite = rewrite
        self.chain = build_chain(retriever, answerer, rewrite)

    def ask(self, question: str, history: Sequence[Any] = ()) -> Answer:
        """Answer one question, given earlier turns (``{"role", "content"}``, oldest first).

        An empty question gets a prompt to ask one, and one over :data:`MAX_QUESTION` characters
        a request to shorten it, both without retrieval. Control characters are removed.
        """
        question = clean_question(question)
        if not question:
            return self.answerer.empty_question()
        if len(question) > MAX_QUESTION:
            return too_long(question)
        t0 = time.perf_counter()
        answer = self.chain.invoke({"question": question, "history": list(history)})
        answer.timings["total"] = (time.perf_counter() - t0) * 1000
        return answer

    def stream(self, question: str, history: Sequence[Any] = ()) -> Iterator[Answer]:
        """Like :meth:`ask`, but yields partial answers (``partial=True``) while an LLM writes,
        then the final, checked answer. An extractive answerer yields the final answer only."""
        question = clean_question(question)
        if not question:
            yield self.answerer.empty_question()
            return
        if len(question) > MAX_QUESTION:
            yield too_long(question)
            return
        t0 = time.perf_counter()
        state = _retrieve(self.retriever, self.rewrite, {"question": question, "history": list(history)})
        t1 = time.perf_counter()
        stream = getattr(self.answerer, "stream", None)
        if stream is None:
            answers: Iterator[Answer] = iter([self.answerer.answer(state["query"], state["hits"], focus=_focus(state))])
        else:
            answers = stream(state["query"], state["hits"])
        for answer in answers:
            if answer.partial:
                yield answer
                continue
            answer = _finish(answer, state, t1)
            answer.timings["total"] = (time.perf_counter() - t0) * 1000
            yield answer
