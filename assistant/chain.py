"""The question pipeline: :class:`Assistant` cleans a question, rewrites a follow-up, searches
and answers, in one function every entry point calls. LangChain users get it as a runnable
(:func:`as_runnable`); the search is a LangChain retriever too
(:class:`~assistant.retrieval.HybridRetriever`).
"""

from __future__ import annotations

import re
import time
from datetime import date
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from langchain_core.runnables import Runnable, RunnableLambda

from assistant.query import contextualise
from assistant.scripts import ScriptBook
from assistant.core.types import Answer, ScoredChunk

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
    """What the question pipeline needs of an answerer (extractive or generative).

    ``question`` is the search text (for a follow-up, with the earlier topic) and ``focus``
    the turn as typed when the two differ (:func:`assistant.query.contextualise`).
    """

    def answer(self, question: str, hits: Sequence[ScoredChunk], focus: str | None = None) -> Answer: ...

    def stream(self, question: str, hits: Sequence[ScoredChunk], focus: str | None = None) -> Iterator[Answer]:
        """Partial answers (``partial=True``) while it writes, then the final one."""
        ...

    def refusal(self, question: str) -> Answer: ...

    def empty_question(self) -> Answer: ...


class Searcher(Protocol):
    """What the question pipeline needs of a search: the ``k`` best chunks, best first."""

    def search(self, question: str, k: int) -> list[ScoredChunk]: ...


class Assistant:
    """Answers questions: the one question pipeline (clean → rewrite → search → answer) that
    every entry point calls, the CLI, the API, the chat page and the evaluation alike.

    Args:
        searcher: the hybrid search (:class:`~assistant.retrieval.HybridSearcher`).
        answerer: extractive or generative.
        rewrite: makes the search text of a follow-up (see :data:`Rewriter`).
        k: chunks each answer is given.
        revisions: cited chunks' metadata -> the recent revisions to mention
            (:func:`assistant.core.versions.cited_revisions`); None mentions none.
        scripts: approved answer scripts (答复口径); one in force that matches the question
            answers it instead of the policy search (None: scripts are not used).
        today: the date scripts are judged on (tests fix it).

    For LangChain users, :attr:`chain` is the same pipeline as a runnable, and
    :class:`~assistant.retrieval.HybridRetriever` the search as a retriever: adapters over
    this path, not a second one.
    """

    def __init__(self, searcher: Searcher, answerer: Answerer, rewrite: Rewriter = contextualise, k: int = 4,
                 revisions: Callable[[list[dict[str, Any]]], list[dict[str, str]]] | None = None,
                 scripts: ScriptBook | None = None, today: Callable[[], date] = date.today):
        self.searcher = searcher
        self.scripts = scripts
        self.today = today
        self.revisions = revisions
        self.answerer = answerer
        self.rewrite = rewrite
        self.k = k

    def ask(self, question: str, history: Sequence[Any] = ()) -> Answer:
        """Answer one question, given earlier turns (``{"role", "content"}``, oldest first).

        An empty question gets a prompt to ask one, and one over :data:`MAX_QUESTION` characters
        a request to shorten it, both without retrieval. Control characters are removed.
        ``timings`` gives milliseconds for rewrite, retrieval, answer and total.
        """
        return next(self._run(question, history, streaming=False))

    def stream(self, question: str, history: Sequence[Any] = ()) -> Iterator[Answer]:
        """Like :meth:`ask`, but yields partial answers (``partial=True``) while an LLM writes,
        then the final, checked answer. An extractive answerer yields the final answer only."""
        return self._run(question, history, streaming=True)

    def _run(self, question: str, history: Sequence[Any], streaming: bool) -> Iterator[Answer]:
        question = clean_question(question)
        if not question:
            yield self.answerer.empty_question()
            return
        if len(question) > MAX_QUESTION:
            yield too_long(question)
            return
        t0 = time.perf_counter()
        query = self.rewrite(question, list(history))
        t1 = time.perf_counter()
        match = self.scripts.match(query, self.today(), turn=question) if self.scripts is not None else None
        if match is not None:
            answer = self.scripts.answer(match, question)
            answer.query = query
            answer.timings = {"rewrite": (t1 - t0) * 1000, "script": (time.perf_counter() - t1) * 1000}
            answer.timings["total"] = (time.perf_counter() - t0) * 1000
            yield answer
            return
        hits = self.searcher.search(query, self.k)
        t2 = time.perf_counter()
        focus = question if query != question else None
        if streaming:
            answers = self.answerer.stream(query, hits, focus)
        else:
            answers = iter([self.answerer.answer(query, hits, focus)])
        for answer in answers:
            if answer.partial:
                yield answer
                continue
            done = time.perf_counter()
            answer.question, answer.query, answer.retrieved = question, query, list(hits)
            if self.revisions is not None and answer.citations:
                answer.revisions = self.revisions([c.chunk.metadata for c in answer.citations])
            answer.timings = {
                "rewrite": (t1 - t0) * 1000,
                "retrieval": (t2 - t1) * 1000,
                "answer": (done - t2) * 1000,
                "total": (done - t0) * 1000,
            }
            yield answer

    @property
    def chain(self) -> Runnable[dict[str, Any], Answer]:
        """This pipeline as a LangChain runnable: ``{"question", "history"?} -> Answer``."""
        return as_runnable(self)


def as_runnable(assistant: Assistant) -> Runnable[dict[str, Any], Answer]:
    """LangChain adapter over :meth:`Assistant.ask`."""
    return RunnableLambda(lambda inputs: assistant.ask(str(inputs["question"]), inputs.get("history") or ())).with_config(
        run_name="minsheng"
    )
