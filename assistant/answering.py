"""The offline answerer: quotes the retrieved sentences that best answer the question.

No LLM is needed. The answer is made only of sentences taken from the retrieved chunks,
each followed by the ``[n]`` of its source, so every statement can be checked; when the
retrieved chunks are not relevant enough the answer is an honest refusal that points to
the 12345 hotline.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant.injection import addresses_assistant
from assistant.prompts import Prompts
from assistant.regions import applies_to, chunk_regions, districts_in, regions_in, with_provinces
from assistant.text import after_overlap, normalise, query_terms, sentences
from assistant.types import Answer, Chunk, Citation, ScoredChunk

_LIST_MARK = re.compile(r"^(?:[#>*\-•]+\s*|\d+[.、)]\s*)")
# What kind of answer a question wants, and what a sentence offers. A question about money
# is answered by a sentence with an amount or a standard, one about time by a duration,
# one about "how" by a procedure; conditions and materials come as lists.
_ASKS_MONEY = re.compile(r"多少钱|钱|金额|标准|补贴多少|交多少|领多少|报销多少|付多少|多少元|比例|费率|限额|额度")
_ASKS_TIME = re.compile(r"多久|多长|几个月|几年|几天|期限|时间|什么时候|哪天")
_ASKS_COUNT = re.compile(r"多少(?:项|个|家|类|件|次|名)|几(?:项|个|家|类|件|次|名)")
_ASKS_HOW = re.compile(r"怎么|怎样|如何|流程|手续|步骤|在哪|去哪")
_ASKS_LIST = re.compile(r"条件|材料|资料|哪些|什么人|谁能|谁可以|范围|情形")
_MONEY = re.compile(r"[\d.]+\s*(?:元|万元|亿元|%|％)")
_COUNT_UNIT = re.compile(r"(?:多少|几)(项|个|家|类|件|次|名|户|人|所|套)")
_MONEY_RULE = re.compile(r"标准|低于|高于|不超过|不低于")
_TIME = re.compile(r"[\d一二三四五六七八九十两]+\s*(?:个月|年|天|日|个工作日|周)")
_COUNT = re.compile(r"[\d一二三四五六七八九十百两]+\s*(?:项|类|件|名|户|个(?!月|工作日))")
_PROCEDURE = re.compile(r"申请|办理|提交|登录|APP|app|窗口|大厅|线上|网上|备案|材料|携带")
# Questions that can only be answered with a figure, and the figure each needs: a money
# question needs an amount in 元 (a percentage answers only a question about a share), a
# duration question a duration, a count question a count. A policy that covers the topic
# without the figure does not answer such a question.
_FIGURE_ASKS = (
    ("金额", re.compile(r"多少钱|多少元|几元|多少块|(?:标准|补贴|费用|价格|租金|金额|工资|钱)(?:是|为|有)?多少|[交领拿付花补]多少"),
     re.compile(r"[\d.,，一二三四五六七八九十百千万亿两]+\s*(?:元|块)")),
    ("比例", re.compile(r"(?:比例|费率|百分之)(?:是|为)?多少"), re.compile(r"[\d.]+\s*[%％]|百分之")),
    ("天数或期限", re.compile(r"多少天|几天|多久|多长时间|几个月|几年|多少个月|多少年|[几多少]个?工作日"), _TIME),
    ("数量", _ASKS_COUNT, _COUNT),
)
# Lines that name a document rather than say anything about the question.
_BOILERPLATE = re.compile(r"^《[^》]+》[^。]{0,40}(号|日|发布)[）)]?。?$|^本页为摘要|^以上内容摘自")
_MIN_SENTENCE = 6  # characters; shorter pieces are headings or list stubs, not answers
_MAX_SENTENCE = 180  # characters shown of one quoted sentence


@dataclass(frozen=True)
class RelevancePolicy:
    """When retrieved text counts as an answer rather than a near miss.

    A chunk is relevant when its cosine similarity to the question reaches ``strong``, or
    reaches ``threshold`` while the chunk also contains at least ``min_coverage`` of the
    question's key terms (weighted by BM25 idf), or is BM25's first result and among the dense
    retriever's first ``agreement_rank``. Chunks more than ``spread`` below the best
    chunk's cosine are not quoted. The defaults were calibrated for multilingual-e5-small,
    whose cosines are compressed (unrelated text scores about 0.83-0.86, matching text
    0.89-0.95), on the team's questions (``eval/questions``; ``tests/test_answers.py``).
    """

    threshold: float = 0.85
    strong: float = 0.90
    min_coverage: float = 0.34
    spread: float = 0.03
    agreement_rank: int = 3


def wanted_figure(question: str) -> str:
    """The kind of figure a question can only be answered with (金额, 比例, 天数或期限,
    数量), or "" when it asks for none."""
    text = normalise(question)
    return next((kind for kind, ask, _ in _FIGURE_ASKS if ask.search(text)), "")


def _clean(sentence: str) -> str:
    """A sentence as quoted: at most ``_MAX_SENTENCE`` characters, shortened at a clause
    boundary (，；：) so that no figure or condition is cut in half."""
    s = sentence.strip()
    if len(s) > _MAX_SENTENCE:
        cut = max(s.rfind(mark, 0, _MAX_SENTENCE) for mark in "，；：,;:")
        s = (s[: cut + 1] if cut >= _MAX_SENTENCE // 2 else s[: _MAX_SENTENCE - 1]) + "…"
    return s


_END = ("。", "！", "？", "；", "!", "?", ";", "：", ":")


def completed_text(hit: ScoredChunk) -> str:
    """The hit's chunk text, its last sentence completed from the next chunk of the same
    article when the chunk boundary cut it ("…低于1549元（低保特困家庭需连续享受" + "城市最低…")."""
    text = hit.chunk.text.rstrip()
    if not text or text.endswith(_END):
        return text
    index = int(hit.chunk.metadata.get("chunk_index", 0) or 0)
    following = next((n for n in hit.neighbours if int(n.metadata.get("chunk_index", 0) or 0) == index + 1), None)
    if following is None:
        return text
    rest = after_overlap(text, following.text)
    if rest == following.text:
        return text  # no shared overlap: the split fell between sections, not inside a sentence
    m = re.search(r"[。！？；!?;\n]", rest)
    return text + (rest[: m.end()] if m else rest[:_MAX_SENTENCE]).rstrip()


def _statements(text: str) -> list[str]:
    """Sentences of ``text``, cleaned; a sentence ending in a colon keeps the list it introduces."""
    out: list[str] = []
    pending = ""
    for raw in sentences(text):
        s = _LIST_MARK.sub("", raw.strip()).strip()
        if pending:
            s = pending + s
            pending = ""
        # "…如下：" opens a list whose items end in "；": keep them together.
        if s.endswith(("：", ":", "；", ";")) and ("：" in s or ":" in s) and len(s) < _MAX_SENTENCE:
            pending = s
            continue
        out.append(_clean(s))
    if pending:
        out.append(_clean(pending))
    return out


class ExtractiveAnswerer:
    """Builds an :class:`~assistant.types.Answer` from retrieved chunks without an LLM.

    Args:
        prompts: templates ``extractive_answer`` (variable ``points``) and ``refusal``
            (``question``, ``hotline``).
        term_weight: idf of a term in the index (BM25), used to weigh question terms.
        policy: relevance thresholds.
        hotline: number named in refusals.
        max_points: most sentences quoted in one answer.
        per_source: most sentences quoted from one chunk.
        list_points: most items quoted when the question asks for a list (conditions, materials).
        synonyms: official terms that stand for an everyday question term (see
            :meth:`assistant.query.TermMap.alternatives`); text containing one covers the term.
    """

    def __init__(
        self,
        prompts: Prompts,
        term_weight: Callable[[str], float],
        policy: RelevancePolicy = RelevancePolicy(),
        hotline: str = "12345",
        max_points: int = 3,
        per_source: int = 2,
        list_points: int = 6,
        synonyms: Callable[[str], tuple[str, ...]] | None = None,
    ):
        self.prompts = prompts
        self.synonyms = synonyms or (lambda term: ())
        self.term_weight = term_weight
        self.policy = policy
        self.hotline = hotline
        self.max_points = max_points
        self.per_source = per_source
        self.list_points = list_points

    def coverage(self, question: str, text: str) -> float:
        """Share (0..1) of the question's idf-weighted terms that occur in ``text``, a term
        also counting as present when one of its official :attr:`synonyms` is."""
        terms = query_terms(question)
        if not terms:
            return 0.0
        hay = normalise(text)
        weights = [(t, max(self.term_weight(t), 1e-6)) for t in terms]
        total = sum(w for _, w in weights)
        return sum(w for t, w in weights if self._has(t, hay)) / total

    def _has(self, term: str, hay: str) -> bool:
        """Whether normalised text ``hay`` contains ``term`` or one of its official synonyms."""
        return term in hay or any(s in hay for s in self.synonyms(term))

    def is_relevant(self, question: str, hit: ScoredChunk) -> bool:
        """Whether ``hit`` answers ``question`` well enough to be quoted (see :class:`RelevancePolicy`)."""
        cos = hit.dense_score if hit.dense_score is not None else 0.0
        if cos >= self.policy.strong:
            return True
        if cos < self.policy.threshold:
            return False
        # Both retrievers put it first: BM25 (with the official terms of the question's
        # everyday words) and the dense model agree, though the question's own words are not there.
        if hit.lexical_rank == 1 and hit.dense_rank is not None and hit.dense_rank <= self.policy.agreement_rank:
            return True
        return self.coverage(question, hit.chunk.context_text()) >= self.policy.min_coverage

    def empty_question(self) -> Answer:
        """What an empty question gets: a prompt to ask one (no retrieval, nothing cited)."""
        return Answer(question="", text=self.prompts.render("empty_question"), refused=True)

    def refusal(self, question: str) -> Answer:
        """The honest "not in the knowledge base" answer."""
        text = self.prompts.render("refusal", question=question.strip()[:60], hotline=self.hotline)
        return Answer(question=question, text=text, refused=True)

    def select(self, question: str, hits: Sequence[ScoredChunk]) -> tuple[list[ScoredChunk], Answer | None]:
        """The hits an answer may use, or the refusal to give instead.

        Drops hits that are not relevant (:meth:`is_relevant`) or far below the best one, and,
        when the question names a region, hits from documents of other regions: another
        city's figures must never pass for the one asked about.

        Returns:
            (hits, None) when something can be said, else ([], refusal answer).
        """
        relevant = [h for h in hits if self.is_relevant(question, h)]
        if not relevant:
            return [], self.refusal(question)
        # A chunk far below the best match is a near miss on another topic, even when it
        # shares a word with the question.
        best = max(h.dense_score or 0.0 for h in relevant)
        # Other retrieved chunks of a relevant document are about the same matter: they may
        # hold the rest of the answer in the document's own words.
        sources = {h.chunk.metadata.get("source") for h in relevant}
        relevant = [
            h
            for h in hits
            if (h in relevant or (h.chunk.metadata.get("source") in sources and (h.dense_score or 0.0) >= self.policy.threshold))
            and (h.dense_score or 0.0) >= best - self.policy.spread
        ]
        asked = regions_in(question)
        if asked:
            # A figure (低保标准, 补贴金额, 延长产假) is set by each region: only the region's
            # own documents, or its province's, can give it.
            if wanted_figure(question):
                wanted = with_provinces(asked)
                in_region = [h for h in relevant if chunk_regions(h.chunk) & wanted]
            else:
                in_region = [h for h in relevant if applies_to(h.chunk, asked)]
            if not in_region:
                others = sorted({r for h in relevant for r in chunk_regions(h.chunk) or {"未注明地区的文件"}})
                districts = districts_in(question)
                named = sorted(asked - set(districts.values())) + [f"{city}{d}" for d, city in sorted(districts.items())]
                text = self.prompts.render(
                    "region_refusal", region="、".join(named), others="、".join(others), hotline=self.hotline
                )
                return [], Answer(question=question, text=text, refused=True)
            relevant = in_region
        return relevant, None

    def answer(self, question: str, hits: Sequence[ScoredChunk], focus: str | None = None) -> Answer:
        """Answer ``question`` from ``hits`` (best first), or refuse when none is usable.

        Args:
            focus: for a follow-up, the question as the user typed it, while ``question`` is
                the search text with the earlier topic (:func:`assistant.query.contextualise`).
                Relevance is judged on ``question``; what kind of answer is wanted, and which
                sentences answer it, on ``focus`` first (its terms weigh three times more).
        """
        relevant, refusal = self.select(question, hits)
        if refusal is not None:
            return refusal
        terms = query_terms(question)
        weights = {t: max(self.term_weight(t), 1e-6) for t in terms}
        searched = question
        if focus and focus != question:
            for t in query_terms(focus):
                weights[t] = 3 * max(self.term_weight(t), 1e-6)
            question = focus
        total = sum(weights.values()) or 1.0
        wants = [
            (pattern, offer, bonus)
            for ask, offer, bonus in (
                (_ASKS_MONEY, _MONEY, 0.15),
                (_ASKS_MONEY, _MONEY_RULE, 0.05),
                (_ASKS_TIME, _TIME, 0.15),
                (_ASKS_COUNT, _COUNT, 0.1),
                (_ASKS_HOW, _PROCEDURE, 0.1),
            )
            if (pattern := ask.search(question))
        ]
        list_word = _ASKS_LIST.search(question)
        wants_list = bool(list_word)
        relevant = list(relevant)
        if wanted_figure(question):
            # The figure asked for is often in the next chunk of the same article or section.
            seen = {h.chunk.id for h in relevant}
            for hit in list(relevant):
                for n in hit.neighbours:
                    if n.id not in seen:
                        seen.add(n.id)
                        relevant.append(ScoredChunk(n, hit.score, dense_score=hit.dense_score))
        candidates = []  # (score, coverage, hit index, position, sentence)
        for i, hit in enumerate(relevant):
            context = normalise(hit.chunk.context_text().split("\n", 1)[0])
            context_cover = sum(w for t, w in weights.items() if self._has(t, context)) / total
            title = hit.chunk.title.strip()
            text = completed_text(hit)
            # One check per chunk; only a chunk holding a planted instruction (left by an
            # index built before ingest removed them) is checked sentence by sentence.
            planted = addresses_assistant(text)
            for pos, s in enumerate(_statements(text)):
                # A planted instruction is data, never a point; the title line only names
                # the document, the citation already shows it.
                if len(s) < _MIN_SENTENCE or _BOILERPLATE.search(s) or s == title or (planted and addresses_assistant(s)):
                    continue
                hay = normalise(s)
                # The heading often names what a sentence is about ("能领多少"), so it counts too.
                cover = 0.75 * sum(w for t, w in weights.items() if self._has(t, hay)) / total + 0.25 * context_cover
                # Earlier hits and earlier sentences break ties: a policy states its rule
                # before its details.
                score = cover + 0.05 / (i + 1) - 0.001 * pos
                for _, offer, bonus in wants:
                    if offer.search(s):
                        score += bonus
                candidates.append((score, cover, i, pos, s))
        # For a list question, the chunk whose heading names the list ("申请条件") is the answer.
        headed = []
        if list_word:
            headed = [i for i, h in enumerate(relevant) if list_word.group(0) in str(h.chunk.metadata.get("heading", ""))]
        chosen = self._choose(candidates, wants_list, prefer=headed)
        if not chosen:
            # Relevant by meaning but no shared words: quote the top chunk's opening.
            first = [c for c in candidates if c[2] == 0][:1]
            chosen = first
        if not chosen:
            return self.refusal(question)
        regions = regions_in(searched)
        subject = {t: w for t, w in weights.items() if t not in regions and not t.isdigit()}
        # A figure may come from a sentence that names the question's subject, or from a
        # chunk that covers the question as a whole (the sentence after "备案申请" that
        # says "2个工作日内").
        covering = {i for i, h in enumerate(relevant) if self.coverage(searched, h.chunk.context_text()) >= self.policy.min_coverage}
        chosen, missing = self._with_figure(
            question, chosen, candidates, lambda c: c[2] in covering or any(t in normalise(c[4]) for t in subject)
        )
        if missing:
            titles = "、".join(dict.fromkeys(f"《{relevant[c[2]].chunk.title}》" for c in chosen))
            text = self.prompts.render("figure_missing", titles=titles, what=missing, hotline=self.hotline)
            return Answer(question=question, text=text, refused=True)
        citations: dict[int, Citation] = {}
        points = []
        # Best document first; within a document, points keep the document's own order, so a
        # list of conditions reads as the policy wrote it.
        def doc(c: tuple) -> str:
            return str(relevant[c[2]].chunk.metadata.get("source", ""))

        def place(c: tuple) -> int:
            return int(relevant[c[2]].chunk.metadata.get("chunk_index", 0) or 0)

        first_rank: dict[str, int] = {}
        for rank, c in enumerate(chosen):
            first_rank.setdefault(doc(c), rank)
        labels = self._region_labels([relevant[c[2]] for c in chosen]) if not regions_in(searched) else {}
        for c in sorted(chosen, key=lambda c: (first_rank[doc(c)], place(c), c[3])):
            i, s = c[2], c[4]
            if i not in citations:
                hit = relevant[i]
                citations[i] = Citation(n=len(citations) + 1, chunk=hit.chunk, quote=s, score=hit.score)
            label = labels.get(relevant[i].chunk.id, "")
            points.append(f"{len(points) + 1}. {label}{s}[{citations[i].n}]")
        notes = self.notes(searched, [c.chunk for c in citations.values()])
        text = self.prompts.render("extractive_answer", points="\n".join([*notes, *points]))
        return Answer(question=question, text=text, citations=list(citations.values()), notes=notes)

    @staticmethod
    def _region_labels(hits: Sequence[ScoredChunk]) -> dict[str, str]:
        """chunk id -> "【上海】" when the hits come from two or more regions (a question that
        names none, answered from several regions' rules), else {}."""
        named = {h.chunk.id: "、".join(sorted(chunk_regions(h.chunk))) or "未注明地区" for h in hits}
        if len(set(named.values())) < 2:
            return {}
        return {cid: f"【{name}】" for cid, name in named.items()}

    def notes(self, question: str, cited: Sequence[Chunk]) -> list[str]:
        """What the user must know about the cited sources.

        - The question names a region but only national (or region-less) rules are cited:
          say the region's own rules are not in the knowledge base.
        - A cited document has been replaced by a newer version (it was kept because the
          question asks about an earlier year, or the newer version lacks the passage).
        """
        out = []
        asked = regions_in(question)
        if asked and cited and not any(chunk_regions(c) & with_provinces(asked) for c in cited):
            out.append(f"注意：知识库里没有找到{'、'.join(sorted(asked))}的专门规定，以下是全国性规定，当地可能另有规定。")
        for title, newer in dict.fromkeys(
            (c.title, str(c.metadata.get("replaced_by"))) for c in cited if c.metadata.get("replaced_by")
        ):
            out.append(f"注意：《{title}》的这一版本已被{newer}替代，以下引用的是旧版本。")
        return out

    @staticmethod
    def _with_figure(
        question: str, chosen: list[tuple], candidates: Sequence[tuple], on_subject: Callable[[tuple], bool]
    ) -> tuple[list[tuple], str]:
        """Make sure a question that asks for a figure gets the sentence stating it.

        When no chosen sentence states the kind of figure the question asks for, the best
        candidate that does and is about the question (``on_subject``, given the candidate)
        is put first.
        Returns (sentences, "") or, when no sentence states the figure, (sentences, the kind
        of figure missing).
        """
        kind = wanted_figure(question)
        if not kind:
            return chosen, ""
        figure = next(f for k, _, f in _FIGURE_ASKS if k == kind)
        if kind == "数量":
            # "多少个老旧小区、惠及多少户" is answered by a count of 个 or 户, not of 项.
            units = "".join(sorted(set(_COUNT_UNIT.findall(normalise(question)))))
            if units:
                # (?!\1): "一个个承诺" is not a count.
                figure = re.compile(rf"[\d一二三四五六七八九十百千万两]+\s*([{re.escape(units)}])(?!\1)")
        if any(figure.search(c[4]) and on_subject(c) for c in chosen):
            return chosen, ""
        stating = sorted((c for c in candidates if figure.search(c[4]) and on_subject(c)), key=lambda c: -c[0])
        if not stating:
            return chosen, kind
        return [stating[0], *chosen[: max(0, len(chosen) - 1)]], ""

    def _choose(self, candidates: list[tuple], wants_list: bool = False, prefer: Sequence[int] = ()) -> list[tuple]:
        """The sentences to quote, best first.

        A question about conditions or materials gets the whole list of one chunk (up to
        ``list_points`` items): the first chunk in ``prefer`` (those whose heading names the
        list), else the best one. Leaving out one condition misleads more than a long answer.
        """
        chosen: list[tuple] = []
        seen: set[str] = set()
        per_hit: dict[int, int] = {}
        ranked = sorted(candidates, key=lambda c: -c[0])
        if wants_list and ranked and ranked[0][1] > 0:
            top = prefer[0] if prefer else ranked[0][2]
            items = sorted((c for c in candidates if c[2] == top), key=lambda c: c[3])
            return items[: self.list_points]
        for cand in ranked:
            score, cover, i, _, s = cand
            if cover <= 0:
                break
            key = normalise(s)
            if key in seen or per_hit.get(i, 0) >= self.per_source:
                continue
            # A weak sentence after a strong one adds noise, not information.
            if chosen and cover < 0.5 * chosen[0][1]:
                continue
            chosen.append(cand)
            seen.add(key)
            per_hit[i] = per_hit.get(i, 0) + 1
            if len(chosen) >= self.max_points:
                break
        return chosen
