"""Structure-aware splitting of Chinese policy text into chunks.

Policy documents are organised in 编/章/节 and articles (第X条), notices in outlines
(一、 （一） 1.), guides in question/answer pairs. The splitter keeps the heading path of
every chunk (headings, outline titles, the FAQ question), cuts between articles before it
cuts inside one, and inside an article between sentences (。！？), then clauses (；，).
Within those boundaries the packing is langchain's ``RecursiveCharacterTextSplitter``.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from assistant.core.types import Chunk
from ingest.loaders import LoadedDocument
from ingest.structure import ARTICLE, CN_HEADING, CN_NUM, MD_HEADING, is_question, outline_level

_ARTICLE_LINES = re.compile(ARTICLE.pattern, re.MULTILINE)
_CN_LEVEL = {"编": 1, "章": 2, "节": 3}
# Heading levels: 编/章/节 1-3, Markdown # 4-9, outline titles 11-14, a FAQ question 20.
_OUTLINE_BASE = 10
_QUESTION_LEVEL = 20
_LIST_ITEM_END = re.compile(r"[。；，：;,:]$")

#: Part of every chunk id: bump it when splitting or chunk metadata change, so that the next
#: ingest replaces chunks made by the old rules instead of keeping them as "unchanged".
SPLITTER_VERSION = 4
#: Chunk metadata that changes with edits elsewhere in the file; not part of the chunk id.
_SHIFTING = ("doc_id", "chunk_index")

# Boundaries from strongest to weakest; all zero-width or line breaks, so no text is lost.
SEPARATORS = [
    rf"\n(?=\s*第[{CN_NUM}]+条)",
    r"\n\s*\n",
    r"\n",
    r"(?<=[。！？!?])",
    r"(?<=[；;])",
    r"(?<=[，,、：:])",
    "",
]


@dataclass
class _Section:
    heading: str
    start: int  # offset of the section body in the document text
    text: str


def _heading(line: str) -> tuple[int, str] | None:
    """(level, title) when ``line`` is a heading: Markdown, 第X编/章/节, a short outline title
    (一、基本条件 — not an item ending in 。；), or a FAQ question."""
    stripped = line.strip()
    m = MD_HEADING.match(stripped)
    if m:
        title = m.group(2).strip()
        cn = CN_HEADING.match(title)
        level = _CN_LEVEL[cn.group(2)] if cn else len(m.group(1)) + 3
        return level, title
    m = CN_HEADING.match(stripped)
    if m and len(stripped) <= 40 and not ARTICLE.match(stripped):
        return _CN_LEVEL[m.group(2)], re.sub(r"\s+", " ", stripped)
    if ARTICLE.match(stripped):
        return None
    level = outline_level(stripped)
    question = is_question(stripped)
    # A numbered question (一、…能领多久？) is an outline title; a case or sub-question under
    # it nests below instead of replacing it.
    if level and (question and len(stripped) <= 80 or len(stripped) <= 30 and not _LIST_ITEM_END.search(stripped)):
        return _OUTLINE_BASE + level, stripped
    if question:
        return _QUESTION_LEVEL, stripped
    return None


def sections(text: str) -> Iterator[_Section]:
    """Cut ``text`` at headings (Markdown ``#`` lines and 第X编/章/节 lines).

    Yields sections whose ``heading`` is the path of headings above them, joined by " › ".
    """
    stack: list[tuple[int, str]] = []
    pos = 0
    body_start = 0
    for line in text.splitlines(keepends=True):
        found = _heading(line)
        if found:
            if text[body_start:pos].strip():
                yield _Section(" › ".join(t for _, t in stack), body_start, text[body_start:pos])
            level, title = found
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, title))
            body_start = pos + len(line)
        pos += len(line)
    if text[body_start:].strip():
        yield _Section(" › ".join(t for _, t in stack), body_start, text[body_start:])


class PolicySplitter:
    """Split a :class:`LoadedDocument` into :class:`Chunk` objects.

    Args:
        chunk_size: largest chunk in characters.
        chunk_overlap: characters repeated between neighbouring chunks of one section.

    Chunk metadata: ``heading`` (path), ``article`` (第X条, or 第X条至第Y条 when a chunk
    holds several short articles), ``articles`` (every article it touches, comma-separated),
    ``page``/``page_end`` for PDFs, ``chunk_index``.
    Chunk ids hash the chunk's text and its metadata (source, heading, article, page, ...)
    but not the file's hash or the chunk's position: an unchanged file always yields the
    same ids, and an edit changes the ids of the chunks it touched only.
    """

    def __init__(self, chunk_size: int = 320, chunk_overlap: int = 40):
        self.chunk_size = chunk_size
        #: Changes whenever the same file would be split differently (see the manifest).
        self.fingerprint = f"{SPLITTER_VERSION}:{chunk_size}:{chunk_overlap}"
        self._splitter = RecursiveCharacterTextSplitter(
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            separators=SEPARATORS,
            is_separator_regex=True,
            keep_separator="start",
            strip_whitespace=True,
        )

    def split(self, doc: LoadedDocument, base_metadata: dict) -> list[Chunk]:
        """Chunks of ``doc``, each with ``base_metadata`` plus its own position metadata."""
        text = ""
        page_starts: list[int] = []
        page_numbers: list[int] = []
        for number, page_text in doc.pages:
            page_starts.append(len(text))
            page_numbers.append(number)
            text += page_text.rstrip("\n") + "\n"

        def page_at(offset: int) -> int:
            return page_numbers[max(0, bisect.bisect_right(page_starts, offset) - 1)]

        chunks: list[Chunk] = []
        seen: set[tuple[str, str]] = set()
        for sec in sections(text):
            articles = [(m.start(), m.group(1)) for m in _ARTICLE_LINES.finditer(sec.text)]
            cursor = 0
            for piece in self._splitter.split_text(sec.text):
                local = sec.text.find(piece, max(0, cursor - self.chunk_size))
                if local < 0:
                    local = cursor
                cursor = local + len(piece)
                inside = [name for off, name in articles if local <= off < cursor]
                before = [name for off, name in articles if off < local]
                if inside and not piece.lstrip().startswith(inside[0]) and before:
                    inside.insert(0, before[-1])
                elif not inside and before:
                    inside = [before[-1]]
                article = inside[0] if len(inside) == 1 else (f"{inside[0]}至{inside[-1]}" if inside else "")
                if (sec.heading, piece) in seen:
                    continue  # a repeated passage adds nothing to search (800k chars of one phrase, say)
                seen.add((sec.heading, piece))
                md = dict(base_metadata)
                md.update(
                    heading=sec.heading,
                    article=article,
                    articles=",".join(inside),
                    heading_path=" › ".join(p for p in (sec.heading, article) if p),
                    chunk_index=len(chunks),
                )
                if page_numbers[0] > 0:
                    md["page"] = page_at(sec.start + local)
                    md["page_end"] = page_at(sec.start + cursor - 1)
                else:
                    md["page"] = 0
                # The id leaves out what shifts when another part of the file changes (its
                # hash, the chunk's position), so an edit rewrites only the chunks it touched.
                stable = sorted((k, v) for k, v in md.items() if k not in _SHIFTING)
                key = json.dumps([SPLITTER_VERSION, piece, stable], ensure_ascii=False, default=str)
                digest = hashlib.sha256(key.encode()).hexdigest()
                chunks.append(Chunk(id=digest[:32], text=piece, metadata=md))
        return chunks
