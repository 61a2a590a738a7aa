"""Citation building: the answer's text and numbered sources, from the sentences chosen.

:class:`AnswerWriter` turns the quotes the extractive answerer chose into an
:class:`~assistant.core.types.Answer`: an opening line for a figure or yes/no question
(:func:`direct_line`), the quotes with ``[n]`` markers, best document first, and what the
user must know about the sources (another region's rules, a replaced version). It also
writes the three answers that are not plain answers: a figure the documents do not state,
another year's figure, and a document's own 文号/发文机关/施行日期.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from assistant.asks import FIGURE_SLOTS, Ask, Slot, filler
from assistant.core.regions import NATIONAL, chunk_regions, most_specific, with_provinces
from assistant.core.text import normalise
from assistant.core.types import Answer, Chunk, Citation, ScoredChunk
from assistant.evidence import is_clutter
from assistant.prompts import Prompts
from assistant.quantities import is_condition
from assistant.sentences import MAX_SENTENCE, Candidate, Pool, statements

#: Slots answered with one line before the quotes ("广州：65周岁以上免费乘坐…[1]").
DIRECT_SLOTS = FIGURE_SLOTS | {Slot.YESNO}

# "第二十八条 " before a quoted clause: the citation names the article.
_ARTICLE_LEAD = re.compile(r"^第[零〇一二两三四五六七八九十百千\d]+条\s*")


class AnswerWriter:
    """Writes answers from chosen sentences.

    Args:
        prompts: templates ``extractive_answer``, ``figure_missing`` and ``neighbour_year``.
        hotline: the number refusals point to.
    """

    def __init__(self, prompts: Prompts, hotline: str):
        self.prompts = prompts
        self.hotline = hotline

    def compose(self, ask: Ask, shown: str, chosen: list[Candidate], evidence: Candidate, pool: Pool) -> Answer:
        """The answer text: an opening line for a figure or yes/no question, then the quotes,
        best document first and each document's sentences in its own order."""
        citations: dict[int, Citation] = {}

        def cite(c: Candidate) -> int:
            if c.hit not in citations:
                hit = pool.hits[c.hit]
                citations[c.hit] = Citation(n=len(citations) + 1, chunk=hit.chunk, quote=c.text, score=hit.score)
            return citations[c.hit].n

        def doc(c: Candidate) -> str:
            return pool.hits[c.hit].chunk.meta.source

        def place(c: Candidate) -> int:
            return pool.hits[c.hit].chunk.meta.chunk_index

        first_rank: dict[str, int] = {}
        for rank, c in enumerate(chosen):
            first_rank.setdefault(doc(c), rank)
        ordered = sorted(chosen, key=lambda c: (first_rank[doc(c)], place(c), c.pos))
        lead = ""
        if ask.slots and ask.slots[0] in DIRECT_SLOTS:
            lead = direct_line(ask.slots[0], evidence, pool.hits[evidence.hit].chunk, cite, ask.count_units)
        labels = {} if ask.regions else region_labels([pool.hits[c.hit] for c in chosen])
        points = [f"{n}. {labels.get(pool.hits[c.hit].chunk.id, '')}{c.text}[{cite(c)}]" for n, c in enumerate(ordered, start=1)]
        cited = [citations[i].chunk for i in sorted(citations, key=lambda i: citations[i].n)]
        notes = self.notes(set(ask.regions), cited)
        if not ask.regions and not labels:
            whose = most_specific({r for c in cited for r in chunk_regions(c)})
            if len(whose) == 1 and NATIONAL not in whose:
                notes.append(f"以下是{whose.pop()}的规定。")
        text = self.prompts.render("extractive_answer", lead=lead, points="\n".join([*notes, *points]))
        ordered_citations = sorted(citations.values(), key=lambda c: c.n)
        return Answer(question=shown, text=text, citations=ordered_citations, notes=notes)

    def figure_missing(self, shown: str, slot: Slot, chosen: list[Candidate], pool: Pool) -> Answer:
        """The refusal for a question whose documents are found but state no figure of the
        kind asked: it names them and quotes the sentence closest to the question, so that a
        hotline operator sees what the documents do say (often who sets the figure)."""
        best = chosen[0]
        hit = pool.hits[best.hit]
        titles = "、".join(dict.fromkeys(f"《{pool.hits[c.hit].chunk.title}》" for c in chosen))
        text = self.prompts.render(
            "figure_missing", titles=titles, what=slot.value, said=f"{best.text}[1]", hotline=self.hotline
        )
        citation = Citation(n=1, chunk=hit.chunk, quote=best.text, score=hit.score)
        return Answer(question=shown, text=text, citations=[citation], refused=True)

    def neighbour_year(self, ask: Ask, shown: str, evidence: Candidate, hit: ScoredChunk, have: list[int]) -> Answer:
        """The figure of another year, said to be of that year: the knowledge base holds the
        standard of ``have``, not of the year asked."""
        asked = "、".join(f"{y}年" for y in sorted(ask.years))
        held = "、".join(f"{y}年" for y in have)
        # "2024年的金额" names a figure; a yes/no or a procedure is just "规定".
        what = ask.slots[0].value if ask.slots and ask.slots[0] in FIGURE_SLOTS else "规定"
        citation = Citation(n=1, chunk=hit.chunk, quote=evidence.text, score=hit.score)
        text = self.prompts.render(
            "neighbour_year", have=held, asked=asked, what=what, quote=f"{evidence.text}[1]", hotline=self.hotline
        )
        return Answer(
            question=shown, text=text, citations=[citation], neighbour=f"问的是{asked}，知识库只收录了{held}的{what}"
        )

    def from_metadata(self, shown: str, best: ScoredChunk) -> Answer | None:
        """A question about a document's 文号, 发文机关, 施行日期 or validity, answered from the
        metadata of the document it names (``best``); None when that metadata does not hold
        what is asked."""
        meta = best.chunk.meta
        facts = []
        for value, name in ((meta.doc_number, "文号"), (meta.issuer, "发文机关"), (meta.date, "发布日期"), (meta.effective_date, "施行日期")):
            if value:
                facts.append(f"{name}：{value}")
        if meta.replaced_by:
            facts.append(f"状态：{meta.replaced_note()}")
        elif facts:
            facts.append("状态：知识库中没有更新的版本")
        if not any(f.startswith(("文号", "发文机关", "施行日期")) for f in facts):
            return None
        sentences_ = [s for s in statements(best.chunk.text) if not is_clutter(s)]
        number = meta.doc_number
        quote = next((s for s in sentences_ if number and number in s), sentences_[0] if sentences_ else best.chunk.title)
        citation = Citation(n=1, chunk=best.chunk, quote=quote, score=best.score)
        lead = f"简要回答：《{best.chunk.title}》{'；'.join(facts)}[1]\n\n"
        text = self.prompts.render("extractive_answer", lead=lead, points=f"1. {quote}[1]")
        return Answer(question=shown, text=text, citations=[citation])

    def notes(self, asked: set[str], cited: Sequence[Chunk]) -> list[str]:
        """What the user must know about the cited sources.

        - The question names regions (``asked``) but only national (or region-less) rules are cited:
          say the region's own rules are not in the knowledge base.
        - A cited document has been replaced by a newer version (it was kept because the
          question asks about an earlier year, or the newer version lacks the passage).
        """
        out = []
        if asked and cited and not any(chunk_regions(c) & with_provinces(asked) for c in cited):
            out.append(f"注意：知识库里没有找到{'、'.join(sorted(asked))}的专门规定，以下是全国性规定，当地可能另有规定。")
        for title, note in dict.fromkeys((c.title, c.meta.replaced_note()) for c in cited if c.meta.replaced_by):
            out.append(f"注意：《{title}》的这一版本{note}，以下引用的是旧版本。")
        return out


def direct_line(slot: Slot, evidence: Candidate, chunk: Chunk, cite: Callable[[Candidate], int], units: str = "") -> str:
    """"广州：65周岁以上老年人…免费乘坐…[1]": the clause of the evidence sentence that
    states what was asked, with the region whose rule it is."""
    found = filler(slot, evidence.text, units)
    clauses = [c for c in re.split(r"(?<=[，；：,;:])", evidence.text) if c.strip()]
    at = next((i for i, c in enumerate(clauses) if found and found in normalise(c)), None)
    if at is None:
        clause = evidence.text
    else:
        # A clause ending in 的 is a rule's condition ("劳动合同期限不满六个月的，"): it is
        # said with its consequence, and a consequence with its condition.
        start, end = at, at + 1
        if is_condition(clauses[at]) and end < len(clauses):
            end += 1
        elif at > 0 and is_condition(clauses[at - 1]):
            start -= 1
        clause = "".join(clauses[start:end])
    clause = _ARTICLE_LEAD.sub("", clause.strip()).rstrip("，；：,;:")
    if len(clause) < 8 and len(evidence.text) <= MAX_SENTENCE:
        clause = evidence.text.rstrip("。；;")
    regions = sorted(most_specific(chunk_regions(chunk) - {NATIONAL}))
    where = f"{'、'.join(regions)}：" if regions else ""
    return f"简要回答：{where}{clause}[{cite(evidence)}]\n\n"


def region_labels(hits: Sequence[ScoredChunk]) -> dict[str, str]:
    """chunk id -> "【上海】" when the hits come from two or more regions (a question that
    names none, answered from several regions' rules), else {}."""
    named = {h.chunk.id: "、".join(sorted(most_specific(chunk_regions(h.chunk)))) or "未注明地区" for h in hits}
    if len(set(named.values())) < 2:
        return {}
    return {cid: f"【{name}】" for cid, name in named.items()}
