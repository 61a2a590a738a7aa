"""The offline answerer: quotes the retrieved sentences that best answer the question.

No LLM is needed. The answer is made only of sentences taken from the retrieved chunks,
each followed by the ``[n]`` of its source, so every statement can be checked; when the
retrieved chunks are not relevant enough the answer is an honest refusal that points to
the 12345 hotline.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING

from assistant.asks import HOW_ASKED, Ask, FIGURE_SLOTS, Slot, asked_parts, asks_as_before, closing_provision, read_question, slots_stated, versions_named, years_in
from assistant.quantities import fit
from assistant.evidence import is_clutter, is_title_line, years_of
from assistant.core.injection import addresses_assistant
from assistant.prompts import Prompts
from assistant.core.regions import applies_to, chunk_regions, districts_in, with_provinces
from assistant.core.text import Tokenizer, normalise, to_simplified
from assistant.core.types import Answer, Chunk, ScoredChunk
from assistant.citing import AnswerWriter
from assistant.sentences import (
    MIN_SENTENCE,
    Candidate,
    Pool,
    Sentence,
    TermWeights,
    completed_text,
    share,
    sharpened_by,
    statements,
)

if TYPE_CHECKING:
    from assistant.core.settings import Settings

#: What a sentence's bracket on a quantity the question states adds to its score: it holds the
#: question's value (times 1 for a bracket closed at both ends, 0.25 for an open one); it does not, and a figure is asked (another bracket's figure); it does
#: not, and the question asks yes/no or a condition (the bracket says why not).
BRACKET_FITS = 0.12
BRACKET_OTHER_FIGURE = -0.08
BRACKET_SPEAKS = 0.04

#: What a closing provision ("本办法自…起施行", "…同时废止") loses when the question is not
#: about validity: it names the document's own dates and numbers, never a rule's content.
CLOSING_PENALTY = 0.2

#: What stating the first slot asked adds to a sentence's score. A figure decides an answer;
#: a place, a consequence or a list marks the right sentence less surely; nearly every rule
#: "fills" a yes/no question (可以, 应当, 不得), so that says little.
SLOT_BONUS = {
    **{slot: 0.2 for slot in FIGURE_SLOTS},
    **{slot: 0.08 for slot in (Slot.CHANNEL, Slot.CONSEQUENCE, Slot.LIST, Slot.ELIGIBILITY, Slot.PROCEDURE)},
    Slot.YESNO: 0.03,
    Slot.META: 0.0,
}


@dataclass(frozen=True)
class RelevancePolicy:
    """When a retrieved chunk is about the question, and when a sentence is about its subject.

    A chunk is about the question when its cosine similarity plus ``cover_weight`` times the
    share of the question's topic terms it holds (idf-weighted, :meth:`ExtractiveAnswerer.weights`)
    reaches ``strong``, its cosine is at least ``threshold``, and it holds at least
    ``min_topic`` of those terms unless its cosine alone reaches ``sure``; or when its cosine
    is at least ``threshold`` and both retrievers rank it first. Whether it answers
    is decided after, sentence by sentence (:meth:`ExtractiveAnswerer.answer`): a chunk on the
    topic that states no figure of the kind asked, or another year's, does not. A sentence is
    about the question's subject when it holds ``subject`` of the topic terms, or its heading
    or chunk holds ``min_coverage``. Chunks more than ``spread`` below the best chunk's cosine
    are not quoted.

    The defaults were calibrated for multilingual-e5-small, whose cosines are compressed
    (unrelated text about 0.83-0.86, matching text 0.89-0.95), on the tuning questions
    (``eval/questions/team.jsonl``): the combined bar lets 0.99 of the answerable questions
    through with a chunk of the expected document for 0.92 of them, where cosine alone at 0.90
    let 0.90 and 0.83 through. Near misses score as high as answers on both measures (median
    best cosine 0.914 against 0.913-0.936), which is why answerability is judged on evidence.
    ``min_topic_short`` applies to a short question asked on its own (no story, no earlier
    turns): on the tuning set (704) raising it from 0.1 to 0.2 handled 0.800 -> 0.826 of the
    near misses for 0.950 -> 0.940 of the answerable ones answered (0.15: 0.806, 0.948;
    0.25: 0.836, 0.930).
    ``threshold`` 0.875: questions outside the knowledge base (签证, 驾照, 个人所得税, 高考志愿)
    score 0.84-0.889 against their nearest chunk, in ``knowledge/`` and in the shared corpora,
    while the expected chunk of only 1 of the 59 tuning narratives scores below 0.875.
    """

    threshold: float = 0.875
    strong: float = 0.90
    min_coverage: float = 0.34
    spread: float = 0.03
    sure: float = 0.92
    cover_weight: float = 0.15
    min_topic: float = 0.1
    min_topic_short: float = 0.2
    subject: float = 0.2

    @classmethod
    def from_settings(cls, settings: "Settings") -> "RelevancePolicy":
        """The thresholds ``settings`` sets (``score_threshold``, ``score_threshold_strong``,
        ``min_term_coverage``); the rest keep their defaults. The one mapping from settings to
        policy, for the product, the evaluation's baseline and the benchmarks."""
        return cls(threshold=settings.score_threshold, strong=settings.score_threshold_strong, min_coverage=settings.min_term_coverage)


# A sentence that goes on with the one before it.
_REFERS_BACK = re.compile(r"^(?:前款|前项|前述|上述|该|其中|但|但是|同时|此外|另外|对|其|(?:\d+|[一二三四五六七八九十]+)周岁以上)")

# The question words of an asked phrase: what is left names the list ("哪些材料" -> "材料").
_QUESTION_WORDS = re.compile(r"^(?:有什么|什么样的|什么|哪些|哪几|哪|啥|多少|要不要|需要)")



def _tells_more(ask: Ask, question: str, focus: str | None) -> bool:
    """Whether a question comes with more than its asking words: a story, or earlier turns
    of a conversation (a follow-up is searched with them, so its typed words are few)."""
    return ask.is_long or bool(focus and focus != question)


def _issued_year(chunk: Chunk) -> int | None:
    """The year of the document version a chunk belongs to (its ``date`` metadata, e.g.
    "2022-06-01"), or None when the document is undated."""
    m = re.match(r"((?:19|20)\d{2})", chunk.meta.date)
    return int(m.group(1)) if m else None


def _articles(chunk: Chunk) -> set[str]:
    """The articles (第X条) a chunk holds, from its ``article`` and ``articles`` metadata."""
    found = {chunk.meta.article} | {a.strip() for a in chunk.meta.articles.split(",")}
    return {a for a in found if a}




class ExtractiveAnswerer:
    """Builds an :class:`~assistant.core.types.Answer` from retrieved chunks without an LLM.

    An answer stands on evidence: a quoted sentence must be about the question's topic and,
    when the question asks for a figure, a time limit, a number or an address, state it
    (:mod:`assistant.asks`), for the year and region asked (:mod:`assistant.evidence`).
    Otherwise the answer is a refusal that says what is missing, or, when the knowledge base
    holds the same figure for another year, that figure labelled as such.

    Args:
        prompts: templates ``extractive_answer`` (``lead``, ``points``), ``refusal``
            (``question``, ``hotline``), ``region_refusal``, ``figure_missing`` and
            ``neighbour_year``.
        tokenizer: cuts questions into terms (the one the index was searched with).
        term_weight: idf of a term in the index (BM25), used to weigh question terms.
        policy: relevance thresholds.
        hotline: number named in refusals.
        max_points: most sentences quoted in one answer.
        per_source: most sentences quoted from one chunk.
        list_points: most items quoted when the question asks for a list (conditions, materials).
        synonyms: official terms that stand for an everyday question term (see
            :meth:`assistant.query.TermMap.alternatives`); text containing one covers the term.
        this_year: the current year (今年 in a question); a function so a long-running server
            moves into the new year.
        similarity: cosine of the question to sentences by the embedding model
            (:class:`assistant.core.embeddings.SentenceSimilarity`); None scores sentences by their
            words alone.
        shortlist: sentences whose meaning is compared with the question's (the best by
            words, and the best that state what is asked).
        specificity: for a question, a factor per term saying how much the word can name a
            topic (:meth:`assistant.specificity.TermSpecificity.of`); None counts all alike.
    """

    def __init__(
        self,
        prompts: Prompts,
        tokenizer: Tokenizer,
        term_weight: Callable[[str], float],
        policy: RelevancePolicy = RelevancePolicy(),
        hotline: str = "12345",
        max_points: int = 3,
        per_source: int = 2,
        list_points: int = 6,
        synonyms: Callable[[str], tuple[str, ...]] | None = None,
        this_year: Callable[[], int] = lambda: date.today().year,
        similarity: Callable[[str, Sequence[str]], list[float]] | None = None,
        shortlist: int = 8,
        specificity: Callable[[str], Callable[[str], float]] | None = None,
    ):
        self.prompts = prompts
        self.tokenizer = tokenizer
        self.writer = AnswerWriter(prompts, hotline)
        self.synonyms = synonyms or (lambda term: ())
        self.term_weight = term_weight
        self.policy = policy
        self.hotline = hotline
        self.max_points = max_points
        self.per_source = per_source
        self.list_points = list_points
        self.this_year = this_year
        self.similarity = similarity
        self.shortlist = shortlist
        self.specificity = specificity

    # -- reading the question -------------------------------------------------------------

    def read(self, question: str, focus: str | None = None) -> Ask:
        """The question read (:func:`assistant.asks.read_question`). For a follow-up,
        ``focus`` is what the user typed and ``question`` the search text with the earlier
        turn: the slots come from the typed words, and years, regions and topic terms the
        typed words leave out come from the conversation."""
        return self._read(question, focus)[0]

    def _read(self, question: str, focus: str | None) -> tuple[Ask, Ask | None]:
        """(the question read with its conversation, the typed follow-up read alone or None)."""
        year = self.this_year()
        searched = read_question(question, year, self.tokenizer)
        if not focus or focus == question:
            return searched, None
        typed = read_question(focus, year, self.tokenizer)
        if set(typed.slots) <= {Slot.YESNO} and asks_as_before(focus):
            # "那在读小学的孩子呢？" after "大人一年要交多少钱？" asks the same about another
            # subject: what is asked, and how, is the earlier turn's.
            typed = replace(typed, **{name: getattr(searched, name) for name in HOW_ASKED})
        return replace(
            typed,
            years=typed.years or searched.years,
            regions=typed.regions or searched.regions,
            topic_terms=tuple(dict.fromkeys(typed.topic_terms + searched.topic_terms)),
            clause_terms=tuple(dict.fromkeys(typed.clause_terms + searched.clause_terms)),
            clause=f"{searched.clause} {typed.clause}" if typed.clause not in searched.clause else searched.clause,
            quantities=typed.quantities or searched.quantities,
        ), typed

    def weights(self, ask: Ask, focus: Ask | None = None) -> TermWeights:
        """How much each topic term of ``ask`` counts when judging whether a text is about the
        question: its idf in the index.

        A term no indexed text contains (a word of the resident's story, or a subject the
        knowledge base lacks) counts as much as the median known term: enough that a question
        mostly about something the knowledge base never mentions is not covered, but not so
        much that one unusual word outweighs the rest. Single characters, and unknown parts of
        a longer term (jieba's search mode cuts 低保户 into 低保, 保户 and 低保户) are left out.
        In a long question the terms of the asking clause are the core; the story's terms add
        at half weight when a text holds them and are not missed when it does not. The terms
        the user typed in a follow-up (``focus``) count twice, since the new turn says what is
        wanted now.
        """
        unknown = self.term_weight("\uffff")  # the idf the index gives a term it has never seen
        terms = [t for t in ask.topic_terms if len(t) > 1]
        known = {}
        for t in terms:
            w = self.term_weight(t)
            if w >= unknown:  # unknown itself; an everyday phrase counts as its official terms do
                w = max((self.term_weight(o) for o in self.synonyms(t)), default=unknown)
            if w < unknown:
                known[t] = w
        ordinary = statistics.median(known.values()) if known else 1.0
        weights = {}
        for t in terms:
            if t in known:
                weights[t] = max(known[t], 1e-6)
            elif not any(t != other and t in other for other in terms):
                weights[t] = ordinary
        if self.specificity is not None:
            factor = self.specificity(ask.text)
            weights = {t: w * factor(t) for t, w in weights.items()}
        for t in focus.topic_terms if focus else ():
            if t in weights:
                weights[t] *= 2
        clause = set(ask.clause_terms)
        core = {t: w for t, w in weights.items() if t in clause}
        if not core:
            return TermWeights(weights)
        return TermWeights(core, {t: 0.5 * w for t, w in weights.items() if t not in clause})

    def _cover(self, weights: TermWeights, hay: str) -> float:
        return share(weights, self._held(weights, hay))

    def _held(self, weights: TermWeights, hay: str) -> frozenset[str]:
        """The terms of ``weights`` that normalised text ``hay`` holds (or a synonym of)."""
        return frozenset(t for part in (weights.core, weights.story) for t in part if self._has(t, hay))

    def _has(self, term: str, hay: str) -> bool:
        """Whether normalised text ``hay`` contains ``term`` or one of its official synonyms."""
        return term in hay or any(s in hay for s in self.synonyms(term))

    # -- which chunks may answer -----------------------------------------------------------

    def _relevant(self, weights: TermWeights, hit: ScoredChunk, story: bool = True) -> bool:
        """Whether ``hit`` is about the question (see :class:`RelevancePolicy`)."""
        p = self.policy
        cos = hit.dense_score if hit.dense_score is not None else 0.0
        if cos < p.threshold:
            return False
        # Both retrievers put it first: BM25 (with the official terms of everyday words) and
        # the dense model agree, though the question's words are mostly not the text's.
        if hit.lexical_rank == 1 and hit.dense_rank == 1:
            return True
        cover = self._cover(weights, normalise(hit.chunk.context_text()))
        # A short question's words are chosen: a text holding little of them is about
        # something else, however close its cosine (个税专项附加扣除 and 赡养老人's duties).
        least = p.min_topic if story else p.min_topic_short
        return cos + p.cover_weight * cover >= p.strong and (cover >= least or cos >= p.sure)

    def empty_question(self) -> Answer:
        """What an empty question gets: a prompt to ask one (no retrieval, nothing cited)."""
        return Answer(question="", text=self.prompts.render("empty_question"), refused=True)

    def refusal(self, question: str) -> Answer:
        """The honest "not in the knowledge base" answer."""
        text = self.prompts.render("refusal", question=question.strip()[:60], hotline=self.hotline)
        return Answer(question=question, text=text, refused=True)

    def select(
        self, question: str, hits: Sequence[ScoredChunk], focus: str | None = None
    ) -> tuple[list[ScoredChunk], Answer | None]:
        """The hits an answer may use, or the refusal to give instead.

        Drops hits that are not about the question or far below the best one, and, when the
        question names a region, hits from documents of other regions: another city's figures
        must never pass for the one asked about.

        Returns:
            (hits, None) when something can be said, else ([], refusal answer).
        """
        ask = self.read(question, focus)
        return self._select(ask, hits, focus or question, story=_tells_more(ask, question, focus))

    def _select(
        self, ask: Ask, hits: Sequence[ScoredChunk], shown: str, story: bool = True
    ) -> tuple[list[ScoredChunk], Answer | None]:
        weights = self.weights(ask)
        relevant = [h for h in hits if self._relevant(weights, h, story=story)]
        if not relevant:
            return [], self.refusal(shown)
        # A chunk far below the best match is a near miss on another topic, even when it
        # shares a word with the question.
        best = max(h.dense_score or 0.0 for h in relevant)
        # Other retrieved chunks of a relevant document are about the same matter: they may
        # hold the rest of the answer in the document's own words.
        sources = {h.chunk.meta.source for h in relevant}
        relevant = [
            h
            for h in hits
            if (h in relevant or (h.chunk.meta.source in sources and (h.dense_score or 0.0) >= self.policy.threshold))
            and (h.dense_score or 0.0) >= best - self.policy.spread
        ]
        asked = set(ask.regions)
        if asked:
            # A figure (低保标准, 补贴金额, 延长产假) is set by each region: only the region's
            # own documents, or its province's, can give it.
            if ask.figure_slots:
                wanted = with_provinces(asked)
                in_region = [h for h in relevant if chunk_regions(h.chunk) & wanted]
            else:
                in_region = [h for h in relevant if applies_to(h.chunk, asked)]
            if not in_region:
                others = sorted({r for h in relevant for r in chunk_regions(h.chunk) or {"未注明地区的文件"}})
                districts = districts_in(shown)
                named = sorted(asked - set(districts.values())) + [f"{city}{d}" for d, city in sorted(districts.items())]
                text = self.prompts.render(
                    "region_refusal", region="、".join(named), others="、".join(others), hotline=self.hotline
                )
                return [], Answer(question=shown, text=text, refused=True)
            relevant = in_region
        return relevant, None

    # -- which sentences answer ------------------------------------------------------------

    def candidates(self, ask: Ask, weights: TermWeights, pool: Pool) -> list[Candidate]:
        """Every sentence of the pool's chunks that may be quoted, scored.

        The score adds: the share of topic terms in the sentence, each term weighed by idf
        and by how few of the pool's sentences hold it (:meth:`_sharpened`), or 0.7 of the
        previous sentence's, or 0.6 of its article's first (0.6), and in its chunk's headings (0.25, the
        heading often names what a sentence is about: "能领多少");
        :data:`SLOT_BONUS` when it states the first slot asked and 0.03 for each other; the
        bracket bonus when it sets a condition on an age, period or area the question states
        (:data:`BRACKET_FITS`, :mod:`assistant.quantities`); a little for
        the chunk's rank (earlier retrieved first, neighbours after the chunk they came with);
        and a little for an early place in the chunk (a policy states its rule before its
        details).
        """
        figure_first = bool(ask.slots) and ask.slots[0] in FIGURE_SLOTS
        read = list(self._sentences_of(ask, weights, pool))
        held = [self._held(weights, r.norm) for r in read]
        sharp = sharpened_by(weights, held)
        out = []
        lead = previous = (0.0, 0.0)
        for r, has in zip(read, held):
            # (share of the terms by idf, by the pool's sharpened weights)
            own = (share(weights, has), share(sharp, has))
            if r.first:
                lead = previous = (0.0, 0.0)
            # A sentence speaks of what the sentence before it, or its article's first
            # sentence, named: "逾期不改正的，处五万元以上十万元以下的罚款" after the
            # rule it enforces, "（一）在校学生：…413元" under "个人缴费标准如下".
            cover, cover_sharp = (max(o, 0.7 * p, 0.6 * f) for o, p, f in zip(own, previous, lead))
            lead = tuple(f if not r.first and f else o for f, o in zip(lead, own))
            previous = own
            filled = slots_stated(ask, r.text)
            # Words rank sentences by the terms that tell them apart (tuning 633: all facts
            # 0.649 counting terms by idf alone, 0.655 by the pool's sharpened weights).
            score = 0.6 * cover_sharp + 0.25 * r.context + 0.06 / (1 + r.rank) - 0.002 * r.pos + r.echo
            if ask.slots and ask.slots[0] in filled:
                score += SLOT_BONUS[ask.slots[0]]
            score += 0.03 * len(filled - {ask.slots[0]} if ask.slots else filled)
            if closing_provision(ask, r.norm):
                score -= CLOSING_PENALTY
            # A rule whose bracket holds the age, period or area the question states is
            # the one that applies ("一年以上不满三年的" for a two-year contract); another
            # bracket's figure is not the one asked, though for a yes/no it says why not.
            fits = fit(ask.quantities, r.text)
            if fits is not None:
                score += BRACKET_FITS * fits if fits else (BRACKET_OTHER_FIGURE if figure_first else BRACKET_SPEAKS)
            if ask.years:
                # A figure of the year asked beats the same figure of another year.
                span = years_of(r.text, r.heading_line)
                score += 0.1 if span.bound & ask.years else (-0.15 if not span.covers(ask.years) else 0.0)
            out.append(Candidate(r.hit, r.pos, r.text, cover, r.context, filled, score, own=own[0]))
        return out

    def _sentences_of(self, ask: Ask, weights: TermWeights, pool: Pool) -> Iterator["Sentence"]:
        """The quotable sentences of the pool's chunks in order, with what the score needs
        from their chunk (heading cover, heading echo, rank)."""
        for i, hit in enumerate(pool.hits):
            title = hit.chunk.title.strip()
            heading_line = hit.chunk.context_text().split("\n", 1)[0]
            # The heading path, not the title: a document's title names all its chunks alike
            # and cannot tell which part of it is about the question.
            context = self._cover(weights, normalise(heading_line.removeprefix(title)))
            # A heading that asks what the question asks ("能领多少", an FAQ's question) marks
            # the sentences under it as the answer's place.
            heading = normalise(hit.chunk.meta.heading)
            echo = 0.1 if any(len(a) >= 2 and normalise(a) in heading for a in ask.asked_spans) else 0.0
            text = completed_text(hit)
            rank = pool.parent[i] + (0.5 if i >= pool.retrieved else 0.0)
            # One check per chunk; only a chunk holding a planted instruction (left by an
            # index built before ingest removed them) is checked sentence by sentence.
            planted = addresses_assistant(text)
            first = True
            for pos, s in enumerate(statements(text)):
                if len(s) < MIN_SENTENCE or is_clutter(s) or is_title_line(s, title) or (planted and addresses_assistant(s)):
                    continue
                yield Sentence(i, pos, first, s, normalise(s), heading_line, context, echo, rank)
                first = False

    def _sharpened(self, weights: TermWeights, sentences: Sequence[str]) -> TermWeights:
        """``weights`` with each term scaled down by the share of the pool's sentences that
        hold it: a term every candidate shares (the benefit the whole document is about)
        cannot tell the sentence that answers from its neighbours, while one few hold (人均
        建筑面积 among a rent subsidy's rules) can. The pool's own document frequency, as
        idf is the index's."""
        return sharpened_by(weights, [self._held(weights, s) for s in sentences])

    #: Most a sentence's score moves by its meaning: the sentence closest to the question in
    #: meaning keeps its score, one MEANING_SPAN of cosine below it loses this much.
    MEANING_WEIGHT = 0.15
    MEANING_SPAN = 0.03
    #: Share of the question's topic terms in the best sentence from which a short question
    #: is judged by its words alone.
    WORDS_SUFFICE = 0.3

    def _weigh_meaning(self, question: str, ask: Ask, cands: list[Candidate]) -> None:
        """Move the scores of a short list of candidates by how close each is in meaning to
        the question (:attr:`similarity`), so that a sentence saying the same thing in other
        words ("在校学生" for "孩子读小学") can beat one that only repeats the question's words.
        Candidates outside the list lose the full :attr:`MEANING_WEIGHT`."""
        if self.similarity is None or not cands:
            return
        # Meaning costs about 10 ms a sentence and, on questions in the documents' own words,
        # orders sentences worse than the words do (tuning set: fact recall 0.80 by words,
        # 0.71 with meaning, on short factual questions); it earns its cost when the words
        # fail: a story told in everyday words, or no sentence holding much of the question.
        if not ask.is_long and max(c.cover for c in cands) >= self.WORDS_SUFFICE:
            return
        ranked = sorted(cands, key=lambda c: -c.score)
        listed = ranked[: self.shortlist]
        if ask.slots:
            listed += [c for c in ranked[self.shortlist :] if ask.slots[0] in c.filled][:2]
        sims = self.similarity(question, [c.text for c in listed])
        best = max(sims)
        chosen = {id(c) for c in listed}
        for c, sim in zip(listed, sims):
            c.meaning = sim
            c.score += self.MEANING_WEIGHT * max(-1.0, (sim - best) / self.MEANING_SPAN)
        for c in cands:
            if id(c) not in chosen:
                c.score -= self.MEANING_WEIGHT

    def _about_subject(self, cands: Sequence[Candidate]) -> list[Candidate]:
        """The candidates that speak about the question's subject (:meth:`_on_subject`),
        judged against the best of ``cands``."""
        best_cover = max((c.cover for c in cands), default=0.0)
        best_meaning = max((c.meaning for c in cands if c.meaning is not None), default=None)
        return [c for c in cands if self._on_subject(c, best_cover, best_meaning)]

    def _on_subject(self, c: Candidate, best_cover: float, best_meaning: float | None) -> bool:
        """Whether a sentence speaks about the question's subject: it names a good part of it
        (``subject``, or nearly as much as the sentence that names most; a sentence inherits
        from the one before it, see :meth:`candidates`), its heading covers the question, or
        it is the sentence closest to the question in meaning. A resident's story adds words
        no policy uses, so what counts is relative. (A chunk that covers the question as a
        whole is not enough: a fact sheet's 提醒 on penalties shares its chunk with the benefit.)"""
        p = self.policy
        if c.cover >= p.subject or (c.cover > 0 and c.cover >= 0.75 * best_cover):
            return True
        if c.context >= p.min_coverage:
            return True
        return c.meaning is not None and best_meaning is not None and c.meaning >= best_meaning - 0.005

    @staticmethod
    def _says_it_otherwise(ask: Ask, c: Candidate, cands: Sequence[Candidate]) -> bool:
        """Whether a sentence sharing no word with the question still answers it: it states
        the first thing asked and is the closest of all in meaning ("补贴标准为每人每次就餐费用的
        四分之一" for "老人食堂吃一顿政府帮出多少钱", in a chunk already judged on the topic)."""
        if c.meaning is None or not ask.slots or ask.slots[0] not in c.filled or ask.slots[0] is Slot.YESNO:
            return False
        return c.meaning >= max(x.meaning for x in cands if x.meaning is not None) - 1e-9

    def _stating(self, slot: Slot, cands: Sequence[Candidate], first: Candidate) -> Candidate | None:
        """The best sentence that states ``slot`` and is about the question's subject; the
        sentence the answer would quote first (``first``) is about it by definition."""
        if slot in first.filled:
            return first
        stating = [c for c in self._about_subject(cands) if slot in c.filled]
        return max(stating, key=lambda c: c.score) if stating else None

    def _choose(self, ask: Ask, cands: list[Candidate], pool: Pool) -> list[Candidate]:
        """The sentences to quote, best first.

        A question about conditions or materials gets the whole list of one chunk (up to
        ``list_points`` items): the chunk whose heading names what is asked ("申请条件"), else
        the best one. Leaving out one condition misleads more than a long answer.
        """
        ranked = sorted(cands, key=lambda c: -c.score)
        if not ranked or (ranked[0].cover + ranked[0].context <= 0 and not self._says_it_otherwise(ask, ranked[0], cands)):
            return []
        holding = {c.hit for c in cands if set(ask.articles) & _articles(pool.hits[c.hit].chunk)}
        if holding:
            # "社会救助暂行办法 第十一条": the article named, as written, of the document whose
            # title the question names (other laws have a 第十一条 too), from its first line.
            asked = normalise(ask.text)
            top = max(holding, key=lambda i: (normalise(pool.hits[i].chunk.title) in asked, -i))
            items = sorted((c for c in cands if c.hit == top), key=lambda c: c.pos)
            start = next((n for n, c in enumerate(items) if c.text.startswith(ask.articles)), 0)
            return items[start : start + self.list_points]
        if Slot.LIST in ask.slots or (Slot.ELIGIBILITY in ask.slots and not ask.figure_slots):
            wanted = [w for w in (_QUESTION_WORDS.sub("", p) for p in ask.asked_spans) if len(w) >= 2]
            named = [c.hit for c in ranked if any(w in pool.hits[c.hit].chunk.meta.heading for w in wanted)]
            top = named[0] if named else ranked[0].hit
            items = sorted((c for c in cands if c.hit == top), key=lambda c: c.pos)
            # The list starts where the chunk starts speaking of the matter: an opening
            # (a review's title lines, a notice's preamble) is not one of its items.
            start = next((i for i, c in enumerate(items) if c.cover > 0 or Slot.LIST in c.filled), 0)
            return items[start : start + self.list_points]
        chosen: list[Candidate] = []
        seen: set[str] = set()
        per_hit: dict[int, int] = {}
        for c in ranked:
            key = normalise(c.text)
            if key in seen or per_hit.get(c.hit, 0) >= self.per_source:
                continue
            # A weak sentence after a strong one adds noise, not information.
            if chosen and c.score < 0.6 * chosen[0].score:
                break
            chosen.append(c)
            seen.add(key)
            per_hit[c.hit] = per_hit.get(c.hit, 0) + 1
            if len(chosen) >= self.max_points:
                break
        return chosen

    # -- the answer ------------------------------------------------------------------------

    def answer(self, question: str, hits: Sequence[ScoredChunk], focus: str | None = None) -> Answer:
        """Answer ``question`` from ``hits`` (best first), or refuse when none is usable.

        Args:
            focus: for a follow-up, the question as the user typed it, while ``question`` is
                the search text with the earlier topic (:func:`assistant.query.contextualise`).
        """
        shown = focus or question
        ask, typed = self._read(question, focus)
        relevant, refusal = self._select(ask, hits, shown, story=_tells_more(ask, question, focus))
        if refusal is not None:
            return refusal
        weights = self.weights(ask, typed)
        if Slot.META in ask.slots:
            meta = self.writer.from_metadata(shown, max(relevant, key=lambda h: self._cover(weights, normalise(h.chunk.title))))
            if meta is not None:
                return meta
        pool = Pool.of(relevant)
        cands = self.candidates(ask, weights, pool)
        self._weigh_meaning(to_simplified(question), ask, cands)
        chosen = self._choose(ask, cands, pool)
        if not chosen:
            return self.refusal(shown)
        evidence = chosen[0]
        for slot in ask.figure_slots:
            stating = self._stating(slot, cands, chosen[0])
            if stating is None:
                if slot == ask.figure_slots[0]:
                    return self.writer.figure_missing(shown, slot, chosen, pool)
                continue
            if slot == ask.figure_slots[0]:
                evidence = stating
            if stating not in chosen:
                chosen = [stating, *chosen[: self.max_points - 1]] if slot == ask.figure_slots[0] else [*chosen[: self.max_points - 1], stating]
        chosen = self._with_other_asks(ask, chosen, cands)
        hit = pool.hits[evidence.hit]
        span = years_of(evidence.text, hit.chunk.title, hit.chunk.meta.heading)
        if ask.years and not span.covers(ask.years):
            return self.writer.neighbour_year(ask, shown, evidence, hit, sorted(span.bound))
        issued = _issued_year(hit.chunk)
        asked_now = years_in(ask.clause, self.this_year()) | versions_named(ask.text)
        if asked_now and not (span.bound or span.start) and issued and max(asked_now) < issued:
            # A text that names no year of its own speaks from its date on: asked about a
            # year before it (an older version, a past standard), it can only be given as
            # the later text it is.
            return self.writer.neighbour_year(replace(ask, years=frozenset(asked_now)), shown, evidence, hit, [issued])
        chosen = self._with_sequel(ask, evidence, chosen, cands)
        chosen = self._with_each_part(shown, weights, chosen, cands)
        return self.writer.compose(ask, shown, chosen, evidence, pool)

    def stream(self, question: str, hits: Sequence[ScoredChunk], focus: str | None = None) -> Iterator[Answer]:
        """The answer as a stream of one: an extractive answer has no partial text."""
        yield self.answer(question, hits, focus)

    def _with_other_asks(self, ask: Ask, chosen: list[Candidate], cands: Sequence[Candidate]) -> list[Candidate]:
        """The quotes with, for each further thing the question asks ("要准备哪些材料，在哪里办？"
        asks for a list and a place), the best sentence on the subject that states it, when no
        quote does yet. Figures are seen to by :meth:`answer`; a yes/no is no further ask."""
        for slot in ask.slots[1:]:
            if slot in FIGURE_SLOTS or slot is Slot.YESNO or any(slot in c.filled for c in chosen):
                continue
            stating = self._stating(slot, [c for c in cands if c not in chosen], chosen[0])
            if stating is not None and stating not in chosen:
                chosen = [*chosen, stating]
        return chosen

    #: Sentences compared in meaning with each separate ask of a question.
    PART_SHORTLIST = 10

    def _with_each_part(self, shown: str, weights: TermWeights, chosen: list[Candidate], cands: Sequence[Candidate]) -> list[Candidate]:
        """The quotes with, for each separate thing the question asks ("办下来能用几年？到期了
        怎么弄？"), the sentence closest in meaning to that part, when no quote is closer.

        Only sentences on the question's subject that state the part's slot compete (any on
        the subject when the part asks yes or no or names no slot): the whole question's words
        chose the subject, the part's meaning chooses what is said about it ("有效期届满前一个
        月内…办理续期手续" for "到期了怎么弄"). Tuning 897: all key facts 0.657 -> 0.665, no
        question lost.
        """
        parts = asked_parts(shown)
        if not parts or self.similarity is None:
            return chosen
        on_subject = self._about_subject(cands)
        subject_ids = {id(c) for c in on_subject}
        others = [(c, normalise(c.text)) for c in cands if id(c) not in subject_ids]
        added: list[Candidate] = []
        for part, slots in parts:
            said = normalise(part)
            own_terms = [t for terms in (weights.core, weights.story) for t in terms if t in said]
            about = on_subject + [c for c, norm in others if any(self._has(t, norm) for t in own_terms)]
            if slots and slots[0] is not Slot.YESNO:
                competing = [c for c in about if slots[0] in c.filled]
            else:
                competing = about
            listed = sorted(competing, key=lambda c: -c.score)[: self.PART_SHORTLIST]
            listed += [c for c in chosen if c not in listed]
            sims = self.similarity(to_simplified(part), [c.text for c in listed])
            closest = max(zip(sims, listed), key=lambda x: x[0])[1]
            if closest not in chosen and closest not in added:
                added.append(closest)
        return [*chosen, *added]

    def _with_sequel(self, ask: Ask, evidence: Candidate, chosen: list[Candidate], cands: Sequence[Candidate]) -> list[Candidate]:
        """The quotes with the sentences around the evidence in its chunk that belong with it:
        the one before when the evidence names its subject only through it, the one after when
        it goes on with it (refers back, "前款", "上述"; states what was asked too; speaks of
        the same subject). A policy states a rule, then its figure or its exception
        ("…按最低工资标准的百分之九十按月计发。" then "目前发放标准为每月2250元。"); quoting one
        without the other misleads."""
        before = len(chosen)
        same = {c.pos: c for c in cands if c.hit == evidence.hit}
        prev, nxt = same.get(evidence.pos - 1), same.get(evidence.pos + 1)
        at = chosen.index(evidence) if evidence in chosen else 0
        # The evidence names its subject only through the sentence before it ("目前发放标准为
        # 每月2250元" after "失业保险金按照…计发"): quote that sentence first.
        if prev is not None and prev not in chosen and evidence.own < 0.5 * prev.own:
            chosen = [*chosen[:at], prev, *chosen[at:]]
            at += 1
        if nxt is not None and nxt not in chosen:
            goes_on = (
                _REFERS_BACK.match(nxt.text)
                or bool(ask.slots and ask.slots[0] in nxt.filled and ask.slots[0] in evidence.filled)
                or nxt.cover >= 0.8 * evidence.cover > 0
            )
            if goes_on:
                chosen = [*chosen[: at + 1], nxt, *chosen[at + 1 :]]
        keep = {id(evidence), id(prev), id(nxt)}
        while len(chosen) > max(self.max_points, before):
            drop = next((c for c in reversed(chosen) if id(c) not in keep), chosen[-1])
            chosen.remove(drop)
        return chosen
