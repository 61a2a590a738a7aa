"""Generative answers through any LangChain chat model (an OpenAI-compatible server by default).

The model only sees the retrieved chunks, each with the rest of its article, inside
``<sources>`` delimiters, as data. It is never asked when nothing relevant was retrieved: the
honest refusal is returned instead. Its reply is checked sentence by sentence
(:func:`supported`): every ``[n]`` must name a source it was given and that source must
contain the sentence's figures and most of its words. Sentences that fail are dropped and
listed in :attr:`Answer.flagged`; a reply left without any supported, cited sentence is
replaced by the extractive answer, so an unchecked claim never reaches the user.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from assistant.answering import ExtractiveAnswerer
from assistant.core.injection import addresses_assistant, withhold
from assistant.prompts import Prompts
from assistant.query import turn_text
from assistant.core.text import Tokenizer, after_overlap, normalise, sentences
from assistant.core.types import Answer, Chunk, Citation, ScoredChunk

log = logging.getLogger(__name__)

_MARKER = re.compile(r"\[(\d{1,2})\]")
_DELIMITER = re.compile(r"</?\s*sources?\b[^>]*>", re.IGNORECASE)
# Figures a claim must share with its source: amounts, shares, durations, counts, dates.
_FIGURE = re.compile(r"\d+(?:\.\d+)?")
_CLAIM_END = re.compile(r"(?<=[。！？!?；;])|\n+")
#: Share of a sentence's key terms its cited sources must contain (see :func:`supported`).
MIN_SUPPORT = 0.5


def article_text(hit: ScoredChunk) -> str:
    """The hit's chunk joined with its neighbours (same article) in document order, with the
    overlap neighbouring chunks share written once, and any sentence that gives orders to an
    AI assistant replaced by :data:`assistant.core.injection.WITHHELD` (so the model never reads
    it, and a reply that repeats it finds no support)."""
    parts = sorted([hit.chunk, *hit.neighbours], key=lambda c: c.meta.chunk_index)
    text = ""
    for chunk in parts:
        piece = after_overlap(text, chunk.text)
        text = f"{text}{piece}" if not text or piece != chunk.text or text.endswith("\n") else f"{text}\n{piece}"
    return withhold(text)


def format_sources(hits: Sequence[ScoredChunk]) -> str:
    """Numbered sources for the prompt, each with its article whole; a delimiter inside
    document text is neutralised."""
    blocks = []
    for n, hit in enumerate(hits, start=1):
        meta = hit.chunk.meta
        head = " ".join(v for v in (meta.title, meta.issuer, meta.doc_number, meta.article, meta.date, meta.region) if v)
        if meta.replaced_by:
            head += f"（{meta.replaced_note()}）"
        body = _DELIMITER.sub(" ", article_text(hit))
        blocks.append(f"[{n}] {_DELIMITER.sub(' ', withhold(head))}\n{body}")
    return "\n\n".join(blocks)


def supported(claim: str, sources: Sequence[str], tokenizer: Tokenizer) -> bool:
    """Whether ``sources`` (the texts a sentence cites) back ``claim``.

    Every figure of the claim must appear in a source, and at least :data:`MIN_SUPPORT` of
    its key terms (jieba terms without function words) must occur in them.
    """
    hay = normalise("\n".join(sources))
    digits = re.sub(r"[,，\s]", "", hay)
    if any(f not in digits for f in _FIGURE.findall(normalise(_MARKER.sub("", claim)))):
        return False
    terms = tokenizer.query_terms(_MARKER.sub("", claim))
    if not terms:
        return True
    return sum(t in hay for t in terms) / len(terms) >= MIN_SUPPORT


def _supporting_sentence(claim: str, chunk: Chunk, tokenizer: Tokenizer) -> str:
    """The sentence of ``chunk`` sharing most terms with ``claim`` (what a user checks)."""
    wanted = set(tokenizer.query_terms(_MARKER.sub("", claim)))
    options = [s for s in sentences(chunk.text) if len(s) >= 6 and not addresses_assistant(s)] or [chunk.text.strip()]
    best = max(options, key=lambda s: (len(wanted & set(tokenizer.query_terms(s))), -options.index(s)))
    return best[:180]


class GenerativeAnswerer:
    """Answers with a chat model, grounded in and citing the retrieved chunks.

    Args:
        chat_model: any LangChain chat model (``ChatOpenAI`` against vLLM, Ollama, llama.cpp's
            server, or ``ChatLlamaCpp`` over a local GGUF file).
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

    def answer(self, question: str, hits: Sequence[ScoredChunk], focus: str | None = None) -> Answer:
        """Ask the model about the relevant ``hits``; without asking it, refuse when none is
        relevant or none states what is asked, and give another year's figure as such.

        ``question`` is the standalone question (a follow-up already rewritten); ``focus``, the
        follow-up as typed, decides what is asked (:meth:`ExtractiveAnswerer.read`).
        """
        relevant, verdict = self._verdict(question, hits, focus)
        if verdict is not None:
            return verdict
        reply = self.chat_model.invoke(self.messages(question, relevant))
        return self.check(question, str(reply.content), relevant)

    def _verdict(
        self, question: str, hits: Sequence[ScoredChunk], focus: str | None
    ) -> tuple[list[ScoredChunk], Answer | None]:
        """(relevant hits, None) when the model may answer; else ([], the extractive
        answerer's refusal or labelled neighbour). The model is asked only when the evidence
        holds what the question asks for: a topic match is not enough."""
        relevant, refusal = self.extractive.select(question, hits, focus)
        if refusal is not None:
            return [], refusal
        judged = self.extractive.answer(question, hits, focus)
        if judged.status != "answered":
            return [], judged
        return relevant, None

    def stream(self, question: str, hits: Sequence[ScoredChunk], focus: str | None = None) -> Iterator[Answer]:
        """Partial answers as the model writes (``partial=True``, growing text), then the
        checked final answer, which may differ: unsupported sentences are dropped."""
        relevant, verdict = self._verdict(question, hits, focus)
        if verdict is not None:
            yield verdict
            return
        text = ""
        for piece in self.chat_model.stream(self.messages(question, relevant)):
            delta = str(piece.content or "")
            if delta:
                text += delta
                yield Answer(question=question, text=text, partial=True)
        yield self.check(question, text, relevant)

    def check(self, question: str, reply: str, hits: Sequence[ScoredChunk]) -> Answer:
        """The model's ``reply`` as an :class:`Answer`: citations checked sentence by sentence,
        renumbered in order of first use, each with the source sentence that supports it."""
        texts = [article_text(h) for h in hits]
        kept: list[str] = []
        flagged: list[str] = []
        cited: list[int] = []
        claims: dict[int, str] = {}
        for sentence in (s for s in _CLAIM_END.split(reply.strip()) if s and s.strip()):
            marks = [int(n) for n in _MARKER.findall(sentence)]
            valid = [n for n in dict.fromkeys(marks) if 1 <= n <= len(hits)]
            bare = _MARKER.sub("", sentence).strip()
            if marks and (not valid or not supported(bare, [texts[n - 1] for n in valid], self.extractive.tokenizer)):
                flagged.append(bare)
                continue
            if not marks and _FIGURE.search(bare):
                flagged.append(bare)  # an uncited figure cannot be checked
                continue
            for n in valid:
                if n not in cited:
                    cited.append(n)
                    claims[n] = bare
            kept.append(sentence if len(valid) == len(marks) else _strip_invalid(sentence, len(hits)))
        if not cited:
            fallback = self.extractive.answer(question, hits)
            fallback.flagged = flagged
            return fallback
        renumber = {old: new for new, old in enumerate(cited, start=1)}
        text = _MARKER.sub(lambda m: f"[{renumber[int(m.group(1))]}]", "".join(_join(kept)))
        citations = [
            Citation(n=renumber[old], chunk=hits[old - 1].chunk,
                     quote=_supporting_sentence(claims[old], hits[old - 1].chunk, self.extractive.tokenizer), score=hits[old - 1].score)
            for old in cited
        ]
        return Answer(question=question, text=text.strip(), citations=citations, flagged=flagged)


def _strip_invalid(sentence: str, n_hits: int) -> str:
    return _MARKER.sub(lambda m: m.group(0) if 1 <= int(m.group(1)) <= n_hits else "", sentence)


def _join(kept: Sequence[str]) -> list[str]:
    # Sentences were split after their end mark, so they join back without a separator;
    # a line of its own keeps its line break.
    return [s if s.endswith(("。", "！", "？", "!", "?", "；", ";")) else s + "\n" for s in kept]


class LlmRewriter:
    """Rewrites a follow-up into a standalone question with the chat model (prompt
    ``rewrite_question``: ``history``, ``question``).

    A question without earlier user turns is returned as it is, without a call. When the
    model fails or replies with something that is not one question (empty, several lines,
    over 200 characters), the rule-based :func:`assistant.query.contextualise` is used.

    Args:
        chat_model: any LangChain chat model.
        prompts: the prompt folder.
        fallback: the rule-based rewrite used when the model fails (``contextualise`` with
            the service's tokenizer).
        turns: how many earlier turns the model sees (the latest ones).
    """

    def __init__(
        self,
        chat_model: BaseChatModel,
        prompts: Prompts,
        fallback: Callable[[str, Sequence[object]], str],
        turns: int = 6,
    ):
        self.chat_model = chat_model
        self.prompts = prompts
        self.turns = turns
        self.fallback = fallback

    def __call__(self, question: str, history: Sequence[object] = ()) -> str:
        earlier = [(role, content.strip()) for role, content in map(turn_text, history) if content.strip()]
        if not any(role == "user" for role, _ in earlier):
            return question
        lines = "\n".join(f"{'居民' if role == 'user' else '助手'}：{_DELIMITER.sub(' ', content)[:300]}" for role, content in earlier[-self.turns:])
        prompt = self.prompts.render("rewrite_question", history=lines, question=question)
        try:
            reply = str(self.chat_model.invoke([HumanMessage(prompt)]).content).strip()
        except Exception as exc:  # a down LLM must not stop the answer: the rules still work
            log.warning("question rewrite failed (%s); using the rule-based follow-up", exc)
            return self.fallback(question, history)
        if not reply or "\n" in reply or len(reply) > 200:
            return self.fallback(question, history)
        return reply
