"""How Chinese policy text marks its structure: 编/章/节, 第X条, outlines and FAQ pairs.

Rules follow the drafting conventions of 《党政机关公文格式》(GB/T 9704-2012, 7.3.3:
structural levels are numbered 一、 then （一） then 1. then （1）) and of laws and
regulations (编/章/节/条/款/项, articles numbered 第X条, items （一）).
"""

from __future__ import annotations

import re

CN_NUM = "零〇一二三四五六七八九十百千两0-9０-９"
#: An article line: "第十条 …"; group 1 is "第十条".
ARTICLE = re.compile(rf"^\s*(第[{CN_NUM}]+条)")
#: A 编/章/节 heading line; group 1 is "第三章", group 2 the level word, group 3 the title.
CN_HEADING = re.compile(rf"^\s*(第[{CN_NUM}]+([编章节]))\s*(\S.*)?$")
MD_HEADING = re.compile(r"^(#{1,6})\s+(\S.*)$")

# Outline levels of GB/T 9704: 一、 （一） 1. （1）; also 1、 and circled ①.
_OUTLINE = [
    (1, re.compile(r"^\s*([一二三四五六七八九十]{1,3})、")),
    (2, re.compile(r"^\s*[（(]([一二三四五六七八九十]{1,3})[）)]")),
    (3, re.compile(r"^\s*([0-9０-９]{1,2})[.．、](?![0-9０-９])")),
    (4, re.compile(r"^\s*[（(]([0-9０-９]{1,2})[）)]|^\s*([①-⑳])")),
]
# A FAQ question: "问：…", "Q：…", "1.…吗？", or a line that is itself a question.
FAQ_QUESTION = re.compile(r"^\s*(?:问[：:]|[QＱ][0-9０-９]*[：:.、]|【问】|提问[：:])")
FAQ_ANSWER = re.compile(r"^\s*(?:答[：:]|[AＡ][0-9０-９]*[：:.、]|【答】|回答[：:])")
_QUESTION_END = re.compile(r"[？?]\s*$")
#: A ``key：value`` header line of an official web page export (标题：…, 发布日期：…).
HEADER_LINE = re.compile(r"^(标题|发布日期|成文日期|来源|原文网址|文号|发文机关)[：:]\s*(.*)$")


def outline_level(line: str) -> int:
    """Outline level of a line (1 for 一、, 2 for （一）, 3 for 1., 4 for （1）/①), else 0."""
    for level, pattern in _OUTLINE:
        if pattern.match(line):
            return level
    return 0


def is_question(line: str) -> bool:
    """True for a FAQ question line: marked 问：/Q：, or a short line ending in a question mark."""
    stripped = line.strip()
    if FAQ_QUESTION.match(stripped):
        return True
    return len(stripped) <= 80 and bool(_QUESTION_END.search(stripped)) and not FAQ_ANSWER.match(stripped)


def starts_block(line: str) -> bool:
    """True when a line opens a new unit (article, heading, outline item, FAQ line, ``key：value`` header).

    Used to decide that a line is not the continuation of the previous one.
    """
    stripped = line.strip()
    return bool(
        ARTICLE.match(stripped)
        or CN_HEADING.match(stripped)
        or MD_HEADING.match(stripped)
        or outline_level(stripped)
        or FAQ_QUESTION.match(stripped)
        or FAQ_ANSWER.match(stripped)
        or HEADER_LINE.match(stripped)
    )
