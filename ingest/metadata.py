"""Document metadata found in the text itself: 文号, dates, region, document type.

What a file states about itself (front matter, header lines) wins over what is guessed here,
and a sidecar ``SOURCES.tsv`` wins over both (see :func:`sidecar_metadata`).
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from assistant.core.regions import regions_in
from ingest.structure import ARTICLE, CN_HEADING

# 文号 in the two common bracket styles (穗府办规〔2024〕13号, 徐住保办发[2017]6号) and
# decree numbers (国务院令第258号, 广州市人民政府令第179号).
_DOC_NUMBER = re.compile(
    r"[\u4e00-\u9fa5]{1,10}[〔\[［(（]\s*(?:19|20)\d{2}\s*[〕\]］)）]\s*\d{1,4}\s*号"
    r"|(?:国务院|[\u4e00-\u9fa5]{2,8}人民政府|[\u4e00-\u9fa5]{2,8}部)令\s*第\s*\d{1,4}\s*号"
)
# Words that stand before a 文号 in running text but are not part of it.
_LEAD_WORDS = re.compile(r"^(?:依据|根据|按照|参照|印发|转发|见|据|按)+")
_DATE = re.compile(r"((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
# The date a notice was signed (a line holding only the date, under the issuer's name) and
# the date a secretariat printed it ("…秘书处2021年12月6日印发").
_SIGNED = re.compile(r"^\s*" + _DATE.pattern + r"\s*$", re.MULTILINE)
_PRINTED = re.compile(_DATE.pattern + r"\s*印发\s*$", re.MULTILINE)
_EFFECTIVE = re.compile(r"自\s*((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*起\s*(?:施行|执行|实施)")
_TYPES = (
    ("政策解读/综述", ("综述", "解读", "回眸", "成效")),
    ("办事指南/问答", ("问答", "问题解答", "常见问题", "指引", "指南", "须知", "流程", "请查收", "办理")),
    ("通知公告", ("通知", "通告", "公告", "公示")),
    ("法律法规", ("条例", "法（", "法(")),
    ("规范性文件", ("办法", "细则", "规定", "意见", "方案", "标准", "清单")),
)


def _iso(m: re.Match) -> str:
    return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"


def doc_type(title: str) -> str:
    """Document type from its title; the first rule that matches wins ("" when none)."""
    if re.search(r"(?<!办)法$", title.strip()):
        return "法律法规"
    for name, words in _TYPES:
        if any(w in title for w in words):
            return name
    return ""


_LAW_STEP = re.compile(r"通过|修订|修正|修改|公布|发布")


def _law_date(text: str) -> str:
    """Date of a law's current text: the last 通过/修订/修正/公布 line of the preamble a
    law opens with ("2018年10月26日 第十三届全国人大常委会…修正"), before its first
    chapter or article; "" when the text has no such preamble."""
    found = ""
    for line in text.split("\n")[:20]:
        stripped = line.strip().lstrip("#").strip()
        if CN_HEADING.match(stripped) or ARTICLE.match(stripped):
            break
        m = _DATE.match(stripped)
        if m and _LAW_STEP.search(stripped) and "施行" not in stripped:
            found = _iso(m)
    return found


def _cited(line: str, m: re.Match) -> bool:
    """A 文号 quoted as a reference: in brackets, after a 《title》, or after 根据/依据."""
    before = line[: m.start()]
    return bool(re.search(r"[（(]$|》$|[（(][^）)]*$", before)) or bool(re.match(r"(?:依据|根据|按照|参照|见|据)", m.group(0)))


def _own_doc_number(title: str, head: str) -> str:
    """The document's own 文号: in its title, else a line holding only it, else the first
    one in the head that is not a reference to another document ("" when none)."""
    m = _DOC_NUMBER.search(title)
    if m:
        return _LEAD_WORDS.sub("", m.group(0))
    own: list[tuple[bool, str]] = []
    for line in head.splitlines():
        for m in _DOC_NUMBER.finditer(line):
            if not _cited(line, m):
                own.append((line.strip() == m.group(0), _LEAD_WORDS.sub("", m.group(0))))
    standalone = [n for alone, n in own if alone]
    return (standalone or [n for _, n in own] or [""])[0]


def extract_metadata(text: str, title: str, published: str = "") -> dict[str, Any]:
    """Metadata guessed from the first part of ``text`` and the ``title``.

    Returns keys that were found among: ``doc_number`` (文号), ``date`` (ISO: for a law the
    date of its latest 通过/修订/公布, else the date a notice was signed, else printed
    (…印发), else ``published`` (the 发布日期 a web page states), else the first date in the
    head),
    ``effective_date`` (施行日期, from "自…起施行"), ``region`` (names in the
    title, "、"-joined), ``doc_type``.
    """
    # Spaces go, line breaks stay: a 文号 is matched within one line, so the end of the
    # line before it cannot be read as part of the issuing body's abbreviation.
    head = re.sub(r"令\s*\n\s*第", "令第", re.sub(r"[ \t\u3000]+", "", text[:1500]))
    out: dict[str, Any] = {}
    number = _own_doc_number(re.sub(r"\s+", "", title), head)
    if number:
        out["doc_number"] = number
    # A date in running text ("自2026年3月1日起") is a guess of last resort: a stated
    # publication date is better.
    m = _SIGNED.search(text) or _PRINTED.search(text)
    date = _law_date(text) or (_iso(m) if m else "") or published
    if not date:
        m = _DATE.search(re.sub(r"\s+", "", head))
        date = _iso(m) if m else ""
    if date:
        out["date"] = date
    m = _EFFECTIVE.search(re.sub(r"\s+", "", text))
    if m:
        out["effective_date"] = _iso(m)
    regions = regions_in(title)
    if regions:
        out["region"] = "、".join(sorted(regions))
    kind = doc_type(title)
    if kind:
        out["doc_type"] = kind
    return out


# Column names of the sidecar files in use, mapped to metadata keys.
_SIDECAR_COLUMNS = {
    "title": "title",
    "issuing_body": "issuer",
    "issuer": "issuer",
    "date": "date",
    "doc_number": "doc_number",
    "region": "region",
    "kind": "doc_type",
    "source": "source_url",
}


@lru_cache(maxsize=64)
def _read_sidecar(path: Path, mtime: float) -> dict[str, dict[str, str]]:
    rows: dict[str, dict[str, str]] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            name = (row.get("file") or "").strip()
            if not name:
                continue
            md = {}
            for column, key in _SIDECAR_COLUMNS.items():
                value = (row.get(column) or "").strip()
                if value and not value.startswith("("):  # "(raw HTML of …)" notes are not titles
                    md[key] = value
            if "date" in md:
                m = re.match(r"\d{4}-\d{2}-\d{2}", md["date"])
                if m:
                    md["date"] = m.group(0)
                else:
                    del md["date"]
            rows[name] = md
    return rows


def sidecar_metadata(path: Path) -> dict[str, str]:
    """Metadata for ``path`` from the nearest ``SOURCES.tsv`` in its folder or above.

    The sidecar is tab-separated with a header row; column ``file`` holds the path relative to
    the sidecar's folder, and ``title``, ``issuing_body``/``issuer``, ``date``, ``doc_number``,
    ``region``, ``kind`` and ``source`` are used when present. Returns {} when no row matches.
    """
    path = path.resolve()
    for folder in path.parents:
        sidecar = folder / "SOURCES.tsv"
        if sidecar.is_file():
            try:
                rows = _read_sidecar(sidecar, sidecar.stat().st_mtime)
            except (OSError, csv.Error, UnicodeDecodeError):
                return {}
            return dict(rows.get(path.relative_to(folder).as_posix(), {}))
        if (folder / ".git").exists():
            break
    return {}
