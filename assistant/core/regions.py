"""Which region a question or a document is about.

Names come from ``assistant/core/data/regions.tsv`` (provincial-level divisions and larger cities,
each with its province). A document that names no region, or is national (中华人民共和国,
国务院, 全国人大), applies everywhere.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from assistant.core.types import Chunk

NATIONAL = "全国"
_DATA = Path(__file__).with_name("data") / "regions.tsv"
_NATIONAL_MARKS = ("中华人民共和国", "国务院", "全国人民代表大会", "全国人大", NATIONAL)


@lru_cache(maxsize=1)
def _table() -> tuple[dict[str, str], re.Pattern]:
    provinces: dict[str, str] = {}
    for line in _DATA.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, province = line.split("\t")
            provinces[name.strip()] = province.strip()
    # Longest names first, so 呼和浩特 is not read as something shorter.
    pattern = re.compile("|".join(sorted(map(re.escape, provinces), key=len, reverse=True)))
    return provinces, pattern


def regions_in(text: str) -> set[str]:
    """Region names (without 省/市) that occur in ``text``."""
    _, pattern = _table()
    return set(pattern.findall(text or ""))


def with_provinces(regions: set[str]) -> set[str]:
    """``regions`` plus the province of each city: a province's rules apply in its cities."""
    provinces, _ = _table()
    return regions | {provinces[r] for r in regions if r in provinces}


def most_specific(regions: set[str]) -> set[str]:
    """``regions`` without the provinces of cities also in it: {广东, 广州} -> {广州} (a
    document of 广东省广州市 is Guangzhou's)."""
    provinces, _ = _table()
    return regions - {provinces[r] for r in regions if provinces.get(r, r) != r}


def chunk_regions(chunk: Chunk) -> set[str]:
    """Regions a chunk's document is about: {全国} for national documents, empty when unknown."""
    md = chunk.metadata
    stated = str(md.get("region", ""))
    if NATIONAL in stated:
        return {NATIONAL}
    found = regions_in(stated) or regions_in(f"{md.get('title', '')} {md.get('issuer', '')}")
    if found:
        return found
    head = f"{md.get('title', '')} {md.get('issuer', '')}"
    return {NATIONAL} if any(m in head for m in _NATIONAL_MARKS) else set()


def applies_to(chunk: Chunk, asked: set[str]) -> bool:
    """Whether a chunk's document governs the regions a question ``asked`` about."""
    regions = chunk_regions(chunk)
    return not regions or NATIONAL in regions or bool(regions & with_provinces(asked))


def districts_in(text: str) -> dict[str, str]:
    """Districts and counties named right after a known city or province: "济南历下区" ->
    {"历下区": "济南"}, "广州市天河区" -> {"天河区": "广州"}. A district's rules are its
    city's, so retrieval and answers work at city level and only name the district."""
    _, pattern = _table()
    found: dict[str, str] = {}
    for m in re.finditer(f"({pattern.pattern})(?:省|市)?([\u4e00-\u9fff]{{1,3}}?[区县])", text or ""):
        found[m.group(2)] = m.group(1)
    return found
