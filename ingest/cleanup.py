"""Clean the text layer of PDF pages: what a printed page adds and a reader ignores.

A PDF stores lines, not paragraphs. Policy PDFs add running headers and footers, page
numbers, and (when a web page was printed) the site's menus and footer. These functions
take pages as (page number, text) and give them back cleaned, page numbers unchanged.
"""

from __future__ import annotations

import re
from collections import Counter

from ingest.structure import starts_block

_PAGE_NUMBER = re.compile(
    r"^[\s\-—–－]*(?:第\s*)?[0-9０-９]{1,4}(?:\s*页)?(?:\s*[/／]\s*(?:共\s*)?[0-9０-９]{1,4}\s*页?)?[\s\-—–－]*$"
)
# Menus of a printed government web page: "• 首页", "• · 市民政局", a lone "•" or "------".
_MENU_ITEM = re.compile(r"^\s*(?:[•·▪●◆■]\s*)+[^。；，：:]{0,16}$|^\s*[-=_*·•]{3,}\s*$")
# Site furniture that shows up in printed pages of Chinese government sites: the footer's
# registration marks never occur in a policy; the other words only in short lines.
_SITE_FOOTER = re.compile(r"版权所有|网站标识码|ICP\s*备|公网安备|主办单位[：:]|承办单位[：:]")
_WEB_CHROME = re.compile(
    r"联系我们|扫一扫|返回顶部|关闭窗口|打印本页|【打印】|分享到|当前位置|网站地图|无障碍|适老化|字号[：:]|您好|您的位置"
)
# Two full-width spaces inside a line indent a new paragraph when they follow the end of a
# sentence or precede an outline number; elsewhere they pad a label ("文\u3000\u3000号").
_PARAGRAPH_INDENT = re.compile(
    r"(?<=[。：；！？:;])\u3000{2,}|\u3000{2,}(?=[一二三四五六七八九十]{1,3}、|[（(][一二三四五六七八九十0-9]{1,3}[)）]|第[一二三四五六七八九十百]+条)"
)
_WRAP_END = re.compile(r"[。！？!?]$")
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
_SPACE_CJK_DIGIT = re.compile(r"(?<=[\u4e00-\u9fff（《“])[ \t]+(?=[0-9])|(?<=[0-9%])[ \t]+(?=[\u4e00-\u9fff）》”])")


def display_width(line: str) -> float:
    """Width of a line in CJK character cells: CJK and full-width forms count 1, others 0.5."""
    return sum(1.0 if _CJK.match(c) else 0.5 for c in line)


def is_page_number(line: str) -> bool:
    """True for lines that only number the page: ``2``, ``- 3 -``, ``第 3 页``, ``3/10``."""
    return bool(_PAGE_NUMBER.match(line)) and bool(line.strip())


def is_web_chrome(line: str) -> bool:
    """True for menu items and site furniture of a printed web page (short lines only)."""
    stripped = line.strip()
    if _MENU_ITEM.match(stripped):
        return True
    if _SITE_FOOTER.search(stripped) and len(stripped) <= 160:
        return True
    return len(stripped) <= 40 and bool(_WEB_CHROME.search(stripped))


def running_lines(pages: list[list[str]], edge: int = 2, share: float = 0.6) -> set[str]:
    """Lines repeated at the top or bottom of most pages (running headers and footers).

    Args:
        pages: each page as its list of lines.
        edge: how many lines at each end of a page are candidates.
        share: fraction of pages (0-1) a line must appear on; needs at least 3 pages.

    Returns:
        The lines to drop, with digits replaced by ``#`` so "第 3 页" matches "第 4 页".
    """
    if len(pages) < 3:
        return set()
    counts: Counter[str] = Counter()
    for lines in pages:
        body = [ln.strip() for ln in lines if ln.strip()]
        counts.update({_digits(ln) for ln in body[:edge] + body[-edge:]})
    return {ln for ln, n in counts.items() if n >= share * len(pages) and len(ln) <= 60}


def _digits(line: str) -> str:
    return re.sub(r"[0-9０-９]+", "#", line.strip())


def text_block_width(widths: list[float]) -> float:
    """Width of the text block, from the widths of a document's lines (display cells).

    Lines wrapped by the page all end near the right margin, so the block width is the
    largest width that at least a quarter of the longer lines (8+ cells) reach within two
    cells. Returns 0 when there are too few lines to tell.
    """
    long = sorted((w for w in widths if w >= 8), reverse=True)
    if len(long) < 3:
        return 0.0
    need = max(2, 0.25 * len(long))
    for w in long:
        if sum(1 for x in long if w - 2 <= x <= w) >= need:
            return w
    return 0.0


def _join(left: str, right: str) -> str:
    # English words broken by the width get their space back; numbers and Chinese do not.
    if re.match(r"[A-Za-z]", left[-1:]) and re.match(r"[A-Za-z]", right[:1]):
        return f"{left} {right}"
    return left + right


def join_wrapped(lines: list[str], full_width: float) -> list[str]:
    """Rejoin lines broken by the page width into paragraphs.

    A line is taken as wrapped when it reaches within two cells of ``full_width`` (the
    text block's width), does not end a sentence, and the next line does not start a new
    block (an article, an outline item such as 一、 or （一）, a heading).
    """
    out: list[str] = []
    carry = False
    for line in lines:
        text = line.strip()
        if not text:
            carry = False
            continue
        if carry and out and not starts_block(text):
            out[-1] = _join(out[-1], text)
        else:
            out.append(text)
        carry = display_width(text) >= full_width - 2 and not _WRAP_END.search(text)
    return out


def clean_pdf_pages(pages: list[tuple[int, str]], joined: set[int] = frozenset()) -> list[tuple[int, str]]:
    """Cleaned pages of one PDF, same page numbers, same order.

    ``joined`` holds the numbers of pages whose lines are already paragraphs (OCR output,
    joined by geometry); they are not re-wrapped.

    Steps: full-width indents inside a line start paragraphs; page numbers, running
    headers/footers and web-page menus are dropped; lines wrapped by the page width are
    joined (also across a page break, the continuation staying on the earlier page);
    spaces a PDF puts between Chinese and digits ("2021 年") are removed; a paragraph of
    30+ characters already seen earlier in the document (a printed page that repeats its
    content) is dropped.
    """
    split = [_PARAGRAPH_INDENT.sub("\n", text).split("\n") for _, text in pages]
    running = running_lines(split)
    chrome_lines = 0
    kept: list[list[str]] = []
    for lines in split:
        page = []
        for ln in lines:
            if is_web_chrome(ln):
                chrome_lines += 1
            elif ln.strip() and not is_page_number(ln) and _digits(ln) not in running:
                page.append(ln.rstrip())
        kept.append(page)
    wrapped = [number not in joined for number, _ in pages]
    # Pages of one PDF can differ (a printed web page and its print view), so each page
    # measures its own text block, falling back to the whole document's.
    doc_width = text_block_width([display_width(ln.strip()) for lines, w in zip(kept, wrapped) if w for ln in lines])
    widths = [text_block_width([display_width(ln.strip()) for ln in lines]) or doc_width for lines in kept]
    paragraphs_of = [
        join_wrapped(lines, width) if width and wrap else [ln.strip() for ln in lines]
        for lines, width, wrap in zip(kept, widths, wrapped)
    ]
    # A paragraph cut by the page break continues on the next page's first line.
    for i in range(len(paragraphs_of) - 1):
        here, nxt = paragraphs_of[i], paragraphs_of[i + 1]
        if here and nxt and wrapped[i] and widths[i] and display_width(_last_line_of(kept[i])) >= widths[i] - 2 and not _WRAP_END.search(here[-1]) and not starts_block(nxt[0]):
            here[-1] = _join(here[-1], nxt.pop(0))
    # A printed web page often repeats its content (a print view after the page); its
    # second copy is wrapped differently, so repeats are found as substrings.
    web_page = chrome_lines >= 3
    seen = ""
    result = []
    for (number, _), paragraphs in zip(pages, paragraphs_of):
        out = []
        for para in paragraphs:
            para = _SPACE_CJK_DIGIT.sub("", para)
            compact = re.sub(r"\s+", "", para)
            if web_page and len(compact) >= 20 and compact in seen:
                continue
            seen += compact + "\n"
            out.append(para)
        result.append((number, "\n".join(out)))
    return result


def _last_line_of(lines: list[str]) -> str:
    return lines[-1].strip() if lines else ""
