"""Sentences as evidence: which sentences of the retrieved chunks may be quoted, what they
state, and which year they speak for.

A sentence is evidence for an answer when it is about the question's topic, states what the
question asks for (:mod:`assistant.asks`), and speaks for the year and region asked. Web-page
clutter (menus, "【一图读懂】", "发布日期：…", "来源：…") and a document's title line say nothing
about any question and are never quoted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.core.text import normalise

# Labels of a web page's furniture, as government sites print them above and below the text.
_PAGE_LABEL = re.compile(
    r"^(?:标题|发布日期|发布时间|发布机构|发文日期|来源|信息来源|原文网址|原文链接|网址|浏览次数|点击数|阅读数|访问量|字号|分享到|打印|扫一扫|"
    r"相关链接|相关阅读|相关文件|责任编辑|编辑|审核|校对|附件下载|上一篇|下一篇)\s*[:：]"
)
_BRACKETED = re.compile(r"【[^】]{0,40}】")
_DATE_ONLY = re.compile(r"^[\d\s\-/.:年月日时分秒]+$")
# A line that is only a document number ("劳社部发[2008]3号", "穗府办规〔2021〕19号") or a
# markup comment ("<!-- INFO END -->"): metadata and markup, not a rule.
_NUMBER_ONLY = re.compile(r"^[\u4e00-\u9fff]{1,10}[〔\[［(（]\s*\d{4}\s*[〕\]］)）]\s*第?\d+号$")
_MARKUP = re.compile(r"^(?:<!--.*|.*-->)$")
_HEADLINE = re.compile(r"^[^，,。；;：:]{0,14}[！!]+$")
# A byline or subtitle: "青海日报记者 贾泓", "——2024年青海省重点民生实事工程综述".
_BYLINE = re.compile(r"^(?:[\u4e00-\u9fff]{0,8}(?:记者|通讯员|特约撰稿|编辑)\s*[\u4e00-\u9fff·]{2,8}(?:\s+[\u4e00-\u9fff·]{2,4})*$|[—－\-]{1,2}[^，。；]{4,40}$)")


def is_clutter(sentence: str) -> bool:
    """Whether ``sentence`` is web-page furniture rather than policy text: a page label
    ("来源：…"), a line of bracketed links ("【文字解读】【一图读懂】"), a bare date, a short
    exclaimed headline ("好消息来了！"), a bare document number or a markup comment."""
    s = sentence.strip()
    if _PAGE_LABEL.match(s) or _DATE_ONLY.match(s) or _HEADLINE.match(s) or _BYLINE.match(s):
        return True
    if _NUMBER_ONLY.match(s) or _MARKUP.match(s):
        return True
    if "【" in s:
        rest = _BRACKETED.sub("", s).strip(" |·•-—")
        return len(rest) < 6
    return False


def is_title_line(sentence: str, title: str) -> bool:
    """Whether ``sentence`` only names the document: its title, or the title in 《》 with at most
    a 文号 or date after it."""
    s = _BRACKETED.sub("", normalise(sentence)).strip("。.！!？?；; ")
    t = normalise(title).strip("。.！!？?；; ")
    if not t:
        return False
    if s == t or s == f"《{t}》":
        return True
    return s.startswith((t, f"《{t}》")) and len(s) - len(t) <= 24 and not re.search(r"[,，。；;]", s[len(t):])


_YEAR_BOUND = re.compile(r"((?:19|20)\d{2})\s*(?:年度|年(?!\s*\d{1,2}\s*月)(?!起|开始|以来|以后|后|底))")
_YEAR_START = re.compile(r"((?:19|20)\d{2})\s*年(?:\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?)?\s*(?:起|开始|以来|以后|后)")


@dataclass(frozen=True)
class YearSpan:
    """The years a text speaks for: ``bound`` those it is the standard or report of ("2025年
    城乡最低生活保障标准", "2026年度"), ``start`` those from which it applies ("2025年12月1日起")."""

    bound: frozenset[int] = frozenset()
    start: frozenset[int] = frozenset()

    def covers(self, years: frozenset[int] | set[int]) -> bool:
        """Whether the text speaks for every year in ``years``: a text bound to no year (a
        standing rule) speaks for all; one bound to years speaks for those, and from its
        start year on when it has one."""
        if not years or not self.bound:
            return True
        if years <= self.bound:
            return True
        return bool(self.start) and min(years) >= max(self.start) and max(self.start) >= max(self.bound)


def years_of(*texts: str) -> YearSpan:
    """The :class:`YearSpan` of some texts together (a sentence with its title and heading)."""
    bound: set[int] = set()
    start: set[int] = set()
    for text in texts:
        t = normalise(text)
        start |= {int(y) for y in _YEAR_START.findall(t)}
        bound |= {int(y) for y in _YEAR_BOUND.findall(t)}
    return YearSpan(frozenset(bound - start), frozenset(start))



