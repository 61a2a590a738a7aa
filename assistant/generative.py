"""Generative answers through any LangChain chat model (an OpenAI-compatible server by default).

The model only sees the retrieved chunks, inside ``<sources>`` delimiters, as data. It is never
asked when nothing relevant was retrieved: the honest refusal is returned instead. Every
``[n]`` in its reply must name a chunk it was given; other markers are removed, and a reply
left without any valid citation is replaced by the extractive answer, so an uncited claim never
reaches the user.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from assistant.answering import ExtractiveAnswerer
from assistant.prompts import Prompts
from assistant.text import sentences
from assistant.types import Answer, Citation, ScoredChunk

_MARKER = re.compile(r"\[(\d{1,2})\]")
_DELIMITER = re.compile(r"</?\s*sources?\b[^>]*>", re.IGNORECASE)


def format_sources(hits: Sequence[ScoredChunk]) -> str:
    """Numbered sources for the prompt; a delimiter inside document text is neutralised."""
    blocks = []
    for n, hit in enumerate(hits, start=1):
        md = hit.chunk.metadata
        head = " ".join(str(md[k]) for k in ("title", "doc_number", "article", "date") if md.get(k))
        body = _DELIMITER.sub(" ", hit.chunk.text)
        blocks.append(f"[{n}] {head}\n{body}")
    return "\n\n".join(blocks)


class GenerativeAnswerer:
    """Answers with a chat model, grounded in and citing the retrieved chunks.

    Args:
        chat_model: any LangChain chat model (``ChatOpenAI`` against vLLM, Ollama, ...).
        prompts: templates ``answer_system`` (``hotline``) and ``answer_user`` (``sources``, ``question``).
        extractive: decides relevance, makes refusals and the fallback answer.
    """

    def __init__(self, chat_model: BaseChatModel, prompts: Prompts, extractive: ExtractiveAnswerer):
        self.chat_model = chat_model
        self.prompts = prompts
        self.extractive = extractive

    def messages(self, question: str, hits: Sequence[ScoredChunk]) -> list:
        """The system and user messages sent to the model."""
        return [
            SystemMessage(self.prompts.render("answer_system", hotline=self.extractive.hotline)),
            HumanMessage(self.prompts.render("answer_user", sources=format_sources(hits), question=question)),
        ]

    def refusal(self, question: str) -> Answer:
        return self.extractive.refusal(question)

    def empty_question(self) -> Answer:
        return self.extractive.empty_question()

    def answer(self, question: str, hits: Sequence[ScoredChunk]) -> Answer:
        """Ask the model about the relevant ``hits``; refuse without asking when none is relevant."""
        relevant, refusal = self.extractive.select(question, hits)
        if refusal is not None:
            return refusal
        reply = self.chat_model.invoke(self.messages(question, relevant))
        text = str(reply.content).strip()
        used = sorted({int(n) for n in _MARKER.findall(text) if 1 <= int(n) <= len(relevant)})
        if not used:
            return self.extractive.answer(question, relevant)
        renumber = {old: new for new, old in enumerate(used, start=1)}

        def fix(m: re.Match) -> str:
            n = int(m.group(1))
            return f"[{renumber[n]}]" if n in renumber else ""

        text = _MARKER.sub(fix, text)
        citations = []
        for old in used:
            chunk = relevant[old - 1].chunk
            quote = next(iter(sentences(chunk.text)), chunk.text.strip())[:180]
            citations.append(Citation(n=renumber[old], chunk=chunk, quote=quote, score=relevant[old - 1].score))
        return Answer(question=question, text=text, citations=citations)
