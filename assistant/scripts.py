"""Answer scripts (答复口径) on the question path: which stored script, if any, answers a
question, which scripts may no longer be used, and the answer a script gives.

A script is used only while it is in force: approved, not past its valid-until date, and
every policy it rests on still indexed and not replaced by a newer version. The others are
listed for review (:meth:`ScriptBook.review`).

A question matches a script phrasing when all of these hold (:meth:`ScriptBook.match`):

- the embedding model puts them close (cosine at least :data:`MATCH_COSINE`);
- they ask for the same kind of answer (slots: amount, procedure, period... of
  :func:`assistant.asks.read_question`; a bare "多少" goes with any figure) about the same years, and the quantities they state
  do not differ ("交了3年" against "交了6年");
- the regions agree: a question naming a region matches only a script for that region (or
  its province), and a phrasing naming another region never;
- they are about the same things, by either of two signs:

  - words: at least :data:`MATCH_COVERAGE` of the question's topic terms (of its asking
    clause, for a long question), weighted by idf, occur in the script's phrasings or
    answer, and as much of the phrasing's occur in the question (:func:`_held`: an
    official wording from the term map, or part of a longer word, counts). This keeps a
    script on "低保边缘家庭认定标准" from answering "低保标准是多少";
  - meaning: the script's answer is nearer the question than any indexed chunk (those of
    the documents it rests on and the nearest of the whole collection), by at least
    :data:`MATCH_MARGIN` (the embedding model). A question about another figure or step
    of the same policy, or about another policy, is nearer the chunk that states it.

The cosine alone does not separate a neighbour: over the team question set, pairs about
one document but different facts reach cosine 0.92 in a third of cases ("低保标准是多少"
and "低保怎么申请"); the slot, region, year, quantity and term checks are what tell them
apart, and they are the reason a script answers less often than its cosine would allow. A
wrong script answer is worse than the ordinary answer, which the question still gets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from assistant.asks import FIGURE_SLOTS, Ask, Slot, read_question
from assistant.core.regions import regions_in, with_provinces
from assistant.core.scripts import SCRIPT_TYPE, AnswerScript
from assistant.core.store import ChromaStore
from assistant.core.text import Tokenizer, normalise, to_simplified
from assistant.core.types import Answer, Chunk, Citation, ChunkMeta
from assistant.prompts import Prompts
from assistant.sentences import statements

#: Least cosine (the default embedding model, query to query) between a question and a
#: script phrasing. Over the team set's questions (eval/questions/team.jsonl), two
#: questions with the same expected answer are at 0.90 or above in 95 % of pairs.
MATCH_COSINE = 0.90
#: Least idf-weighted share of the question's topic terms found in the script's text, and
#: of the phrasing's found in the question (module docstring).
MATCH_COVERAGE = 0.7
#: Least lead of the script answer's cosine to the question over the best chunk of its
#: basis documents. Both figures were read from the script tuning set
#: (eval/questions/scripts-team.jsonl, 22 scripts): of the questions that pass the cosine,
#: slot, year, quantity and region checks, "words or meaning" at 0.7 / 0.02 keeps 29 of 63
#: paraphrases and 2 of 23 near misses; words alone at 0.7 keeps 14 and 1.
MATCH_MARGIN = 0.02


@dataclass
class ScriptMatch:
    """A script that answers a question: the phrasing it matched and their cosine."""

    script: AnswerScript
    phrasing: str
    cosine: float


class ScriptBook:
    """The stored scripts, read from the keyword index's document table (first chunk of each
    document), re-read when that table changes.

    Args:
        table: has ``documents`` (source -> first-chunk metadata) and ``generation``
            (:class:`assistant.core.keyword.KeywordIndex`).
        store: the collection (basis chunks to cite).
        embed_query: question -> unit vector (the retrieval's, whose question vectors are kept).
        tokenizer: reads questions.
        term_weight: term -> idf (:meth:`assistant.retrieval.HybridSearcher.term_idf`).
        prompts: the ``script_answer`` template.
        synonyms: term -> its official wordings (:meth:`assistant.query.TermMap.alternatives`).
        embed_passages: texts -> unit passage vectors (a script's answer, compared as chunks are).
    """

    def __init__(self, table: Any, store: ChromaStore, embed_query: Callable[[str], list[float]], tokenizer: Tokenizer,
                 term_weight: Callable[[str], float], prompts: Prompts,
                 synonyms: Callable[[str], tuple[str, ...]] | None = None,
                 embed_passages: Callable[[list[str]], list[list[float]]] | None = None):
        self.synonyms = synonyms or (lambda term: ())
        self.embed_passages = embed_passages
        self.table = table
        self.store = store
        self.embed_query = embed_query
        self.tokenizer = tokenizer
        self.term_weight = term_weight
        self.prompts = prompts
        self._generation = -1
        self._scripts: list[AnswerScript] = []
        self._heads: dict[str, Mapping[str, Any]] = {}
        self._asks: dict[tuple[str, int], Ask] = {}
        self._vectors: dict[str, Any] = {}
        self._ids: dict[tuple[str, int], list[str]] = {}

    def _load(self) -> None:
        documents = self.table.documents  # brings the table up to date first
        if self._generation == self.table.generation:
            return
        scripts = {}
        heads: dict[str, Mapping[str, Any]] = {}
        for md in documents.values():
            heads[str(md.get("doc_id", ""))] = md
            script = AnswerScript.from_metadata(md)
            if script is not None:
                scripts[script.id] = script
        self._scripts = sorted(scripts.values(), key=lambda s: s.questions[0])
        self._heads = heads
        self._generation = self.table.generation

    def all(self) -> list[AnswerScript]:
        """Every stored script, by first phrasing."""
        self._load()
        return list(self._scripts)

    def problems(self, script: AnswerScript, today: date) -> list[str]:
        """Why ``script`` may not be used on ``today`` ([] when it may)."""
        self._load()
        out = []
        if today > script.valid_until:
            out.append(f"已过有效期（{script.valid_until.isoformat()}）")
        if today < script.approved_on:
            out.append(f"审核日期（{script.approved_on.isoformat()}）还未到")
        for basis in script.basis:
            head = self._heads.get(basis.doc_id)
            if head is None:
                out.append(f"依据文件 {basis.doc_id} 已不在知识库中")
                continue
            meta = ChunkMeta.from_flat(head)
            if meta.replaced_by:
                out.append(f"依据《{meta.title}》{meta.replaced_note()}")
        return out

    def review(self, today: date) -> list[tuple[AnswerScript, list[str]]]:
        """Scripts that may not be used on ``today``, each with its reasons."""
        return [(s, p) for s in self.all() if (p := self.problems(s, today))]

    def match(self, question: str, today: date, turn: str | None = None) -> ScriptMatch | None:
        """The script in force that answers ``question`` (module docstring), else None. Costs
        nothing while no script is in force.

        Args:
            turn: the turn as typed when ``question`` is a follow-up rewritten with the earlier
                topic: what it asks for is the turn's ("那要去哪里申请？" after a question on
                amounts asks where, not how much).
        """
        usable = [s for s in self.all() if not self.problems(s, today)]
        if not usable:
            return None
        ask = self._read(question, today.year)
        rivals: list[float] = []  # the collection's nearest policy chunks, looked up once per question
        if turn is not None and turn != question:
            typed = self._read(turn, today.year)
            ask = replace(ask, slots=typed.slots)
        q = self._vector(question)
        best: ScriptMatch | None = None
        for script in usable:
            if not self._region_fits(ask, script):
                continue
            for phrasing in script.questions:
                cosine = sum(a * b for a, b in zip(q, self._vector(phrasing)))
                if cosine < MATCH_COSINE or (best is not None and cosine <= best.cosine):
                    continue
                read = self._read(phrasing, today.year)
                if self._same_kind(ask, read) and (self._same_words(ask, read, script) or self._nearest_answer(q, script, rivals)):
                    best = ScriptMatch(script, phrasing, cosine)
        return best

    def answer(self, match: ScriptMatch, question: str) -> Answer:
        """The script's answer: its label, approver and dates, its text, then a sentence of
        each policy it rests on as a numbered citation."""
        script = match.script
        citations = []
        for basis in script.basis:
            found = self._basis_quote(basis.doc_id, basis.article, script.answer)
            if found is not None:
                chunk, quote = found
                citations.append(Citation(n=len(citations) + 1, chunk=chunk, quote=quote))
        points = "\n".join(f"{c.n}. {c.quote}[{c.n}]" for c in citations)
        # A script is one region's answer: a question that names none is told whose it is.
        label = f"【热线答复口径·{script.region}】" if script.region else "【热线答复口径】"
        text = self.prompts.render("script_answer", label=label, approver=script.approver, approved_on=script.approved_on.isoformat(),
                                   valid_until=script.valid_until.isoformat(), answer=script.answer, points=points)
        return Answer(question=question, text=text, citations=citations, script={
            "id": script.id, "label": SCRIPT_TYPE, "approver": script.approver, "approved_on": script.approved_on.isoformat(),
            "valid_until": script.valid_until.isoformat(), "answer": script.answer, "matched": match.phrasing,
            "cosine": round(match.cosine, 4),
        })

    # -- matching --------------------------------------------------------------------------

    def _read(self, text: str, year: int) -> Ask:
        key = (text, year)
        if key not in self._asks:
            if len(self._asks) > 10_000:
                self._asks.clear()
            self._asks[key] = read_question(text, year, self.tokenizer)
        return self._asks[key]

    def _vector(self, text: str) -> list[float]:
        vector = self._vectors.get(text)
        if vector is None:
            vector = self.embed_query(to_simplified(text))
            if len(self._vectors) > 10_000:
                self._vectors.clear()
            self._vectors[text] = vector
        return vector

    @staticmethod
    def _region_fits(ask: Ask, script: AnswerScript) -> bool:
        if not ask.regions:
            return True
        return bool(regions_in(script.region) & with_provinces(set(ask.regions)))

    @staticmethod
    def _same_kind(asked: Ask, phrasing: Ask) -> bool:
        """Same slots, years, stated quantities and regions (module docstring)."""
        if not _slots_agree(set(asked.slots), set(phrasing.slots)) or asked.years != phrasing.years:
            return False
        if asked.quantities and phrasing.quantities and set(asked.quantities) != set(phrasing.quantities):
            return False
        return not (asked.regions and phrasing.regions
                    and not (with_provinces(set(asked.regions)) & with_provinces(set(phrasing.regions))))

    def _same_words(self, asked: Ask, phrasing: Ask, script: AnswerScript) -> bool:
        script_text = normalise(" ".join([*script.questions, script.answer]))
        # A long question's story names things the script need not (住院, 老公...): what it
        # asks is in its asking clause.
        terms = asked.clause_terms if asked.is_long else asked.topic_terms
        return (self._coverage(terms, script_text) >= MATCH_COVERAGE
                and self._coverage(phrasing.topic_terms, normalise(asked.text)) >= MATCH_COVERAGE)

    def _nearest_answer(self, question_vector: list[float], script: AnswerScript, rivals: list[float]) -> bool:
        """Whether the script's answer is nearer the question than every chunk of its basis
        documents and the nearest chunks of the collection, by :data:`MATCH_MARGIN`.
        ``rivals``: the latter's cosines, filled on first use and kept by the caller."""
        if self.embed_passages is None:
            return False
        key = "\x00answer\x00" + script.answer
        answer = self._vectors.get(key)
        if answer is None:
            answer = self._vectors[key] = self.embed_passages([to_simplified(script.answer)])[0]
        ids = self._basis_ids(script)
        nearest = max(self.store.cosines(question_vector, ids).values(), default=-1.0)
        if not rivals:
            # Scripts are documents too: only policy chunks count as rivals.
            rivals.extend(cos for chunk, cos in self.store.nearest(question_vector, 5) if chunk.metadata.get("doc_type") != SCRIPT_TYPE)
        nearest = max([nearest, *rivals])
        return sum(a * b for a, b in zip(question_vector, answer)) >= nearest + MATCH_MARGIN

    def _basis_ids(self, script: AnswerScript) -> list[str]:
        key = (script.id, self._generation)
        if key not in self._ids:
            sources = [str(self._heads[b.doc_id]["source"]) for b in script.basis if b.doc_id in self._heads]
            if len(self._ids) > 1000:
                self._ids.clear()
            self._ids[key] = [cid for cid, _ in self.store.metadata_of(sources)]
        return self._ids[key]

    def _coverage(self, terms: tuple[str, ...], text: str) -> float:
        """idf-weighted share of ``terms`` that ``text`` holds (:func:`_held`). One-character
        terms are left out: they are mostly what is asked, not what about ("多少钱",
        "每个月"), and the cosine already weighs them."""
        terms = tuple(t for t in terms if len(t) > 1)
        if not terms:
            return 1.0
        weights = {t: self.term_weight(t) for t in terms}
        total = sum(weights.values()) or 1.0
        return sum(w * _held(t, text, self.synonyms(t)) for t, w in weights.items()) / total

    # -- citing ----------------------------------------------------------------------------

    def _basis_quote(self, doc_id: str, article: str, answer: str) -> tuple[Chunk, str] | None:
        """The chunk and sentence a basis is cited by: of the article named, else of the whole
        document, the sentence closest to the script's answer by shared character pairs
        (a notice or guide has no articles, and its first sentence seldom bears the answer)."""
        head = self._heads.get(doc_id)
        if head is None:
            return None
        chunks = sorted(self.store.chunks_of([str(head["source"])]), key=lambda c: c.meta.chunk_index)
        if article:
            holding = [c for c in chunks if article in (c.meta.articles or c.meta.article).split(",")]
            chunks = holding or chunks
        if not chunks:
            return None
        quotes = [(chunk, _closest_sentence(chunk.text, answer)) for chunk in chunks]
        return max(quotes, key=lambda pair: _pairs_shared(pair[1], answer))


def _held(term: str, text: str, official: tuple[str, ...] = ()) -> float:
    """How much of ``term`` ``text`` holds, 0..1: all of it when the term or an official
    wording of it occurs; else, for a term of three or more characters, the share of its
    character pairs that occur ("失业金" in a text on 失业保险金: 失业 yes, 业金 no, 0.5),
    since everyday words shorten and recombine official ones."""
    if term in text or any(a in text for a in official):
        return 1.0
    if len(term) < 3:
        return 0.0
    pairs = [term[i : i + 2] for i in range(len(term) - 1)]
    return sum(p in text for p in pairs) / len(pairs)


def _slots_agree(a: set[Slot], b: set[Slot]) -> bool:
    """Whether two questions ask for the same kind of answer: the same slots, a bare number
    ("每月多少") against a kind of figure ("多少钱"), or the same kind of figure asked along
    with something else ("比例是怎么规定的", "比例是20%吗")."""
    if a == b:
        return True
    if not (a and b):
        return False
    if (a == {Slot.NUMBER} and b <= FIGURE_SLOTS) or (b == {Slot.NUMBER} and a <= FIGURE_SLOTS):
        return True
    figures_a, figures_b = a & FIGURE_SLOTS, b & FIGURE_SLOTS
    return bool(figures_a) and figures_a == figures_b


def _closest_sentence(text: str, answer: str) -> str:
    """The sentence of ``text`` closest to ``answer`` by shared character pairs (:func:`_pairs_shared`)."""
    sentences = statements(text) or [text.strip()]
    return max(sentences, key=lambda s: _pairs_shared(s, answer))


def _pairs_shared(sentence: str, answer: str) -> float:
    """Dice coefficient of the two texts' sets of character pairs, 0..1: a long sentence
    (a notice's source line) does not win by its length alone."""
    mine = {sentence[i : i + 2] for i in range(len(sentence) - 1)}
    theirs = {answer[i : i + 2] for i in range(len(answer) - 1)}
    return 2 * len(mine & theirs) / (len(mine) + len(theirs) or 1)
