"""What changed between two versions of a policy (新旧对照): article by article, with the
changed words marked.

Articles are the 第X条 units of each text (:data:`ingest.structure.ARTICLE`); a text with
fewer than two articles (a notice, a FAQ) is compared paragraph by paragraph. An amendment
often inserts or deletes articles and renumbers the rest, so articles are paired by their
content, not their number: first the order-keeping pairing (dynamic programming, as in
sequence alignment) with the largest total similarity, then, among what is left, the most
alike pairs in any order (an article moved to another chapter); only pairs at least
:data:`SAME_ARTICLE` alike may pair. Words are then compared with
:class:`difflib.SequenceMatcher`, word by word when a word cutter is given (a replaced
phrase shows as one phrase out and one in), else character by character.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from ingest.structure import ARTICLE, CN_HEADING, MD_HEADING

#: Least similarity (Dice coefficient of character pairs, 0..1) for an old and a new article
#: to count as one article changed, rather than one removed and another added. Read from
#: the version pairs of ../shared/corpus-laws: amended articles of 上海市社会救助条例 2018 →
#: 2024 score 0.88-0.97, of 慈善法 0.63 and up, of the much rewritten 妇女权益保障法 0.57
#: and up; two different articles of one regulation score up to about 0.6, so a few
#: near-threshold pairs may go either way.
SAME_ARTICLE = 0.5


@dataclass
class Segment:
    """A run of text in a changed article: ``op`` is ``equal``, ``insert`` (new words) or
    ``delete`` (words the new version dropped)."""

    op: str
    text: str


@dataclass
class ArticleChange:
    """One article of the comparison.

    Attributes:
        status: ``added``, ``removed``, ``changed`` or ``unchanged``.
        old_label / new_label: 第X条 (or 第N段) in each version; "" where it has none.
        old_text / new_text: the article's text in each version.
        segments: for ``changed``, the new text with the old one's differences marked.
    """

    status: str
    old_label: str = ""
    new_label: str = ""
    old_text: str = ""
    new_text: str = ""
    segments: list[Segment] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def split_articles(text: str) -> list[tuple[str, str]]:
    """(label, text) of each 第X条 of ``text``, in order; headings (章/节, markdown) and any
    preamble are left out. With fewer than two articles, the non-empty paragraphs instead,
    labelled 第1段, 第2段 ..."""
    articles: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        match = ARTICLE.match(stripped)
        if match:
            articles.append((match.group(1), [stripped]))
        elif CN_HEADING.match(stripped) or MD_HEADING.match(stripped) or stripped.startswith("<!--"):
            if articles:
                articles.append(("", []))  # a heading ends the article before it
        elif articles and articles[-1][0]:
            articles[-1][1].append(stripped)
    units = [(label, "\n".join(lines)) for label, lines in articles if label]
    if len(units) >= 2:
        return units
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip() and not MD_HEADING.match(p.strip())]
    return [(f"第{n}段", p) for n, p in enumerate(paragraphs, start=1)]


def _pairs(text: str) -> set[str]:
    body = ARTICLE.sub("", text)  # the number says nothing about the content
    return {body[i : i + 2] for i in range(len(body) - 1)}


def similarity(a: str, b: str) -> float:
    """Dice coefficient of the two texts' character pairs (article numbers left out), 0..1."""
    pa, pb = _pairs(a), _pairs(b)
    if not pa or not pb:
        return 1.0 if a.strip() == b.strip() else 0.0
    return 2 * len(pa & pb) / (len(pa) + len(pb))


def _align(old: list[str], new: list[str]) -> list[tuple[int | None, int | None]]:
    """Order-keeping pairing of ``old`` and ``new`` with the largest total similarity; pairs
    under :data:`SAME_ARTICLE` are not made. Returns (old index or None, new index or None)
    in document order. O(len(old) * len(new)) similarity computations."""
    sims = [[similarity(o, n) for n in new] for o in old]
    rows, cols = len(old), len(new)
    best = [[0.0] * (cols + 1) for _ in range(rows + 1)]
    for i in range(rows - 1, -1, -1):
        for j in range(cols - 1, -1, -1):
            take = sims[i][j] + best[i + 1][j + 1] if sims[i][j] >= SAME_ARTICLE else -1.0
            best[i][j] = max(take, best[i + 1][j], best[i][j + 1])
    out: list[tuple[int | None, int | None]] = []
    i = j = 0
    while i < rows or j < cols:
        if i < rows and j < cols and sims[i][j] >= SAME_ARTICLE and best[i][j] == sims[i][j] + best[i + 1][j + 1]:
            out.append((i, j))
            i, j = i + 1, j + 1
        elif j >= cols or (i < rows and best[i][j] == best[i + 1][j]):
            out.append((i, None))
            i += 1
        else:
            out.append((None, j))
            j += 1
    return out


def _pair_moved(pairs: list[tuple[int | None, int | None]], sims) -> list[tuple[int | None, int | None]]:
    """``pairs`` with the most alike unpaired old and new articles paired too, best first
    (similarity at least :data:`SAME_ARTICLE`); a moved article keeps its new place."""
    removed = [i for i, j in pairs if j is None]
    added = [j for i, j in pairs if i is None]
    candidates = sorted(((sims(i, j), i, j) for i in removed for j in added), reverse=True)
    moved: dict[int, int] = {}
    for score, i, j in candidates:
        if score < SAME_ARTICLE:
            break
        if i not in moved and j not in moved.values():
            moved[i] = j
    by_new = {j: i for i, j in moved.items()}
    out: list[tuple[int | None, int | None]] = []
    for i, j in pairs:
        if j is None and i in moved:
            continue
        out.append((by_new[j], j) if i is None and j in by_new else (i, j))
    return out


def word_changes(old: str, new: str, cut: Callable[[str], list[str]] | None = None) -> list[Segment]:
    """``new`` as runs of equal, inserted and deleted text against ``old`` (deleted runs sit
    where they were dropped). The article numbers are compared too.

    Args:
        cut: text -> its words, joining back to the text; None compares characters.
    """
    a, b = (cut(old), cut(new)) if cut is not None else (list(old), list(new))
    segments = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            segments.append(Segment("equal", "".join(b[b0:b1])))
            continue
        if op in ("delete", "replace"):
            segments.append(Segment("delete", "".join(a[a0:a1])))
        if op in ("insert", "replace"):
            segments.append(Segment("insert", "".join(b[b0:b1])))
    return segments


def compare(old_text: str, new_text: str, cut: Callable[[str], list[str]] | None = None) -> list[ArticleChange]:
    """The article-by-article comparison of two versions' texts (module docstring), in the
    order of the new text with removed articles where they stood; ``cut`` as for
    :func:`word_changes`."""
    old, new = split_articles(old_text), split_articles(new_text)
    pairs = _align([t for _, t in old], [t for _, t in new])
    pairs = _pair_moved(pairs, lambda i, j: similarity(old[i][1], new[j][1]))
    out = []
    for i, j in pairs:
        if j is None:
            out.append(ArticleChange("removed", old_label=old[i][0], old_text=old[i][1]))
        elif i is None:
            out.append(ArticleChange("added", new_label=new[j][0], new_text=new[j][1]))
        else:
            (ol, ot), (nl, nt) = old[i], new[j]
            body_same = ARTICLE.sub("", ot) == ARTICLE.sub("", nt)
            change = ArticleChange("unchanged" if body_same else "changed", ol, nl, ot, nt)
            if not body_same:
                change.segments = word_changes(ot, nt, cut)
            out.append(change)
    return out
