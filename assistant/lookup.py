"""Hotline lookup: filtered search with the matched terms, and the ticket note staff paste.

The note has the five parts a 12345 work order asks for: 问题 / 答复要点 / 政策依据与条款 /
办理渠道 / 有效期. Every line comes from the answer and its cited sources; nothing is made up.
"""

from __future__ import annotations

import re
from datetime import date
from dataclasses import dataclass, field

from assistant.filters import SearchFilters
from assistant.query import TermMap
from assistant.retrieval import HybridSearcher
from assistant.core.text import normalise
from assistant.core.types import Answer, Chunk
from assistant.core.scripts import AnswerScript
from assistant.core.versions import VersionGroups, in_force
from assistant.scripts import ScriptBook

_POINT = re.compile(r"^\d+\.\s*(.*?)(?:\[\d+\])*$")
_CHANNEL = re.compile(r"申请|办理|提交|登录|窗口|大厅|网上|线上|APP|小程序|公众号|热线|受理|服务中心|政务服务")


@dataclass
class LookupHit:
    """One search result: the chunk, its rank score and the query terms its text contains."""

    chunk: Chunk
    score: float
    terms: list[str] = field(default_factory=list)
    #: how many indexed versions the chunk's policy has (2+: a 新旧对照 exists)
    versions: int = 1
    #: for an answer script (答复口径): why it may not be used now ([] = in force); else None
    script_problems: list[str] | None = None


class Lookup:
    """Search and ticket notes for hotline staff.

    Args:
        searcher: the hybrid searcher (filters apply to both retrievers).
        term_map: everyday→official terms; their official terms count as matches too.
        hotline: the hotline named when no channel is found in the sources.
        versions: each policy's indexed versions (None: not counted).
        scripts: the answer scripts, whose results say whether each may be used.
    """

    def __init__(self, searcher: HybridSearcher, term_map: TermMap | None = None, hotline: str = "12345",
                 versions: VersionGroups | None = None, scripts: ScriptBook | None = None):
        self.searcher = searcher
        self.scripts = scripts
        self.versions = versions
        self.term_map = term_map
        self.hotline = hotline

    def search(self, query: str, filters: SearchFilters | None = None, k: int = 10) -> list[LookupHit]:
        """Up to ``k`` chunks for ``query``, best first, each with the query terms it contains
        (longest first, so a highlighter marks 失业保险金 before 保险)."""
        query = (query or "").strip()
        if not query:
            return []
        expanded = self.term_map.expand(query) if self.term_map is not None else query
        wanted = self.searcher.tokenizer.query_terms(expanded)
        out = []
        for hit in self.searcher.search(query, k, filters, exact_first=True, scripts=True):
            hay = normalise(hit.chunk.text)
            terms = sorted({t for t in wanted if len(t) > 1 and t in hay}, key=lambda t: (-len(t), t))
            count = len(self.versions.of(hit.chunk.metadata)) if self.versions is not None else 1
            script = AnswerScript.from_metadata(hit.chunk.metadata)
            problems = self.scripts.problems(script, date.today()) if script is not None and self.scripts is not None else None
            out.append(LookupHit(hit.chunk, hit.score, terms, count, problems))
        return out

    def ticket_note(self, answer: Answer) -> str:
        """The work-order note for ``answer`` as plain text (UTF-8, one part per heading)."""
        points = [m.group(1).strip() for line in answer.text.splitlines() if (m := _POINT.match(line.strip()))]
        if answer.script:
            points = [answer.script["answer"]]
        elif answer.refused or not points:
            points = [answer.text.strip().splitlines()[0] if answer.text.strip() else "知识库中没有相关规定。"]
        basis, validity = [], []
        for c in answer.citations:
            meta = c.chunk.meta
            parts = [f"《{c.chunk.title}》", *(v for v in (meta.doc_number, meta.article) if v)]
            basis.append(f"[{c.n}] {' '.join(parts)}：“{c.quote}”")
            state = meta.replaced_note() or ("现行有效" if in_force(c.chunk.metadata) else "已失效或已被替代")
            dates = "，".join(x for x in (f"发布日期{meta.date}" if meta.date else "", f"{meta.effective_date}起施行" if meta.effective_date else "") if x)
            validity.append(f"[{c.n}] {dates + '，' if dates else ''}{state}")
        channels = [p for p in points if _CHANNEL.search(p)]
        lines = ["问题：" + answer.question.strip()]
        if answer.script:
            s = answer.script
            lines.append(f"热线答复口径：审核人{s['approver']}，审核日期{s['approved_on']}，有效期至{s['valid_until']}（编号{s['id']}）")
        lines.append("答复要点：")
        lines += [f"{i}. {p}" for i, p in enumerate(points, start=1)]
        lines += ["政策依据与条款："] + (basis or ["无（知识库中没有找到相关规定）"])
        lines += ["办理渠道："] + (channels or [f"以主管部门公布的渠道为准，可拨打{self.hotline}政务服务便民热线咨询。"])
        lines += ["有效期："] + (validity or ["—"])
        lines += [revision_note(r) for r in answer.revisions]
        return "\n".join(lines)


def revision_text(revision: dict[str, str]) -> str:
    """What to say of a cited document revised within the last year
    (:attr:`Answer.revisions`): "《…》于2024-12-31修订，所引为修订后的新版本"."""
    which = "所引为修订前的旧版本" if revision["cited"] == "old" else "所引为修订后的新版本"
    return f"《{revision['title']}》于{revision['on']}修订，{which}"


def revision_note(revision: dict[str, str]) -> str:
    """The ticket note's line for a revision, naming the 新旧对照 page."""
    return f"注意：{revision_text(revision)}；新旧对照：/documents/{revision['doc_id']}/changes"
