"""Read .txt, .md, .pdf, .docx and .html files into pages of text plus the metadata they state.

Each loader returns a :class:`LoadedDocument`; anything unreadable raises
:class:`LoadError` with a one-line reason, so a batch can report it and go on.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from assistant.core.text import to_simplified
from ingest.ocr import PageReader
from ingest.pdf import PdfError, read_pdf
from ingest.structure import HEADER_LINE

#: Largest file read, in bytes: the longest policy PDFs with scanned pages are tens of MB; a
#: bigger file is not a policy document and would only hold memory.
MAX_FILE_BYTES = 100 * 2**20
#: Most bytes a DOCX may unpack to, and most times larger than the file it may grow: Word
#: documents compress text about 3-10 times; a zip bomb, thousands of times.
MAX_DOCX_UNPACKED = 200 * 2**20
MAX_DOCX_RATIO = 200

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".pdf", ".docx", ".html", ".htm")


class LoadError(ValueError):
    """A file could not be read; the message is one line that names the file."""


class EmptyDocument(LoadError):
    """The file is readable but holds no text (zero bytes, a blank scan): skipped, not an error.

    ``pages`` and ``ocr_pages`` say how much was read before that was clear.
    """

    def __init__(self, message: str, pages: int = 0, ocr_pages: int = 0):
        super().__init__(message)
        self.pages = pages
        self.ocr_pages = ocr_pages


@dataclass
class LoadedDocument:
    """A file's text and metadata.

    Attributes:
        path: the file.
        pages: (page number from 1, text) for PDFs; a single (0, text) for text files.
        metadata: title, issuer (发文机关), doc_number (文号), date, region, topic,
            source_url... as found in front matter or the file's header lines.
        content_hash: SHA-256 of the file's bytes (hex).
        page_count: pages in a PDF, 0 for other files.
        ocr_pages: pages whose text came from OCR.
    """

    path: Path
    pages: list[tuple[int, str]]
    metadata: dict[str, Any] = field(default_factory=dict)
    content_hash: str = ""
    page_count: int = 0
    ocr_pages: int = 0

    @property
    def text(self) -> str:
        return "\n".join(t for _, t in self.pages)


# Front matter keys in English or Chinese, mapped to the metadata names used everywhere.
_KEY_ALIASES = {
    "title": "title", "标题": "title",
    "issuer": "issuer", "发文机关": "issuer", "来源": "issuer",
    "doc_number": "doc_number", "文号": "doc_number",
    "date": "date", "成文日期": "date", "日期": "date",
    "published": "published", "发布日期": "published",
    "effective_date": "effective_date", "施行日期": "effective_date",
    "region": "region", "地区": "region",
    "topic": "topic", "主题": "topic",
    "source_url": "source_url", "原文网址": "source_url", "url": "source_url",
    "source_title": "source_title",
    "doc_type": "doc_type", "类型": "doc_type",
    "script": "script",  # an answer script (答复口径) as JSON, assistant.core.scripts
}


def _plain(value: Any) -> str:
    if isinstance(value, (date, datetime)):
        return value.isoformat()[:10]
    return "" if value is None else str(value).strip()


def _decode(path: Path, raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(raw).best()
        if best is None:
            raise LoadError(f"{path}: cannot detect the text encoding") from None
        text = str(best)
    # Control characters (NUL, BEL, ESC …) carry no text; tabs, line and page breaks stay.
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _front_matter(path: Path, text: str) -> tuple[dict[str, Any], str]:
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---", 4)
    if end < 0:
        return {}, text
    try:
        data = yaml.safe_load(text[4:end]) or {}
    except yaml.YAMLError as exc:
        raise LoadError(f"{path}: front matter is not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise LoadError(f"{path}: front matter must be key: value lines")
    meta = {_KEY_ALIASES[k]: _plain(v) for k, v in data.items() if k in _KEY_ALIASES and _plain(v)}
    body = text[end + 4 :].lstrip("-").lstrip("\n")
    return meta, body


def _header_lines(text: str) -> tuple[dict[str, str], str]:
    """Metadata from a leading block of ``标题：…``/``发布日期：…`` lines (official web page
    exports), and the text without that block (it is metadata, not content to search).

    A URL wrapped onto the next lines (printed pages) belongs to the block.
    """
    meta: dict[str, str] = {}
    lines = text.split("\n")
    end = 0
    in_url = False
    for i, line in enumerate(lines[:12]):
        stripped = line.strip()
        # Labels may be written in traditional characters (標題：, 發佈日期：); values stay as written.
        m = HEADER_LINE.match(to_simplified(stripped[:8]) + stripped[8:])
        if m:
            if m.group(2).strip():
                meta.setdefault(_KEY_ALIASES[m.group(1)], stripped[m.start(2):].strip())
            in_url = m.group(1) == "原文网址"
            end = i + 1
        elif not stripped or (in_url and re.fullmatch(r"[\x21-\x7e]+", stripped)):
            if meta:
                end = i + 1
        else:
            break
    for key in ("date", "published"):
        if key in meta:
            meta[key] = meta[key][:10]
    return meta, ("\n".join(lines[end:]) if meta else text)


def guess_title(text: str) -> str:
    """First non-empty line, without Markdown marks; a following ``——subtitle`` line is appended."""
    lines = [ln.strip().lstrip("#").strip() for ln in text.split("\n") if ln.strip()]
    if not lines:
        return ""
    title = lines[0][:80]
    if len(lines) > 1 and lines[1].startswith("——"):
        title += lines[1][:60]
    return title


def load_text(path: Path, raw: bytes) -> LoadedDocument:
    text = _decode(path, raw)
    meta, body = _front_matter(path, text)
    header, body = _header_lines(body)
    for k, v in header.items():
        meta.setdefault(k, v)
    if not body.strip():
        raise EmptyDocument(f"{path}: no text found")
    meta.setdefault("title", guess_title(body) or path.stem)
    return LoadedDocument(path, [(0, body)], meta)


def _pdf_title(title: str) -> str:
    """The PDF's own title, unless it is a tool's placeholder; a web site's name suffix dropped."""
    title = re.sub(r"\s*[-|_–—]\s*[^-|_–—]*(?:网站|门户|政府网)\s*$", "", title.strip())
    if not title or re.match(r"(?i)^(untitled|无标题|microsoft word|document\d*$|\S+\.(docx?|pdf|wps)$)", title):
        return ""
    return title


def load_pdf(path: Path, raw: bytes, password: str | None = None, ocr: PageReader | None = None) -> LoadedDocument:
    """Pages of a PDF with their numbers, cleaned; scanned pages read by ``ocr`` (see :mod:`ingest.pdf`)."""
    try:
        pages, info, ocr_pages = read_pdf(path, raw, password, ocr)
    except PdfError as exc:
        raise LoadError(str(exc)) from None
    if not any(t.strip() for _, t in pages):
        how = "OCR read nothing" if ocr_pages else ("a scan needs OCR, which is off" if ocr is None else "")
        raise EmptyDocument(f"{path}: no text found" + (f" ({how})" if how else ""), len(pages), ocr_pages)
    first = next(i for i, (_, t) in enumerate(pages) if t.strip())
    meta, rest = _header_lines(pages[first][1])
    pages[first] = (pages[first][0], rest)
    first_text = next((t for _, t in pages if t.strip()), "")
    meta.setdefault("title", _pdf_title(info.get("title", "")) or guess_title(first_text) or path.stem)
    return LoadedDocument(path, pages, meta, page_count=len(pages), ocr_pages=ocr_pages)


_BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "table", "ul", "ol", "blockquote", "pre"}
_HEADINGS = {"h1": "#", "h2": "##", "h3": "###", "h4": "####"}


def load_html(path: Path, raw: bytes) -> LoadedDocument:
    """The main content of a web page: navigation, scripts and styles removed (readability-lxml).

    Paragraphs become lines, headings become Markdown headings (so sections keep their
    path), table cells are joined with " | " row by row. Scripts never reach the text.
    """
    import lxml.html
    from readability import Document

    text = _decode(path, raw)
    try:
        page = Document(text)
        tree = lxml.html.fromstring(page.summary(html_partial=True))
        title = page.short_title()
    except Exception as exc:  # noqa: BLE001 - lxml/readability raise several types
        raise LoadError(f"{path}: cannot parse HTML ({type(exc).__name__})") from None
    for bad in tree.xpath("//script|//style|//noscript|//template"):
        bad.drop_tree()
    for cell in tree.xpath("//td|//th"):
        cell.tail = " | " + (cell.tail or "")
    for el in tree.iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag in _HEADINGS and (el.text_content() or "").strip():
            heading = re.sub(r"\s+", " ", el.text_content()).strip()
            for child in list(el):
                el.remove(child)
            el.text = f"\n{_HEADINGS[el.tag]} {heading}\n"
        elif el.tag in _BLOCKS:
            el.tail = "\n" + (el.tail or "")
    body = tree.text_content()
    lines = [re.sub(r"[ \t\u3000]+", " ", ln).strip(" |") for ln in body.split("\n")]
    body = "\n".join(ln for ln in lines if ln)
    if not body.strip():
        raise EmptyDocument(f"{path}: no text found in the page")
    meta, body = _header_lines(body)
    # A <title> is plain text to the parser, so markup written inside it survives as text.
    title = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>", "", title or "")
    title = re.sub(r"\s+", " ", re.sub(r"<[^>]*>", "", title)).strip()
    meta.setdefault("title", title or guess_title(body) or path.stem)
    return LoadedDocument(path, [(0, body)], meta)


def load_docx(path: Path, raw: bytes) -> LoadedDocument:
    """Paragraphs and tables of a Word file, in document order (python-docx).

    Heading styles become Markdown headings; each table row becomes one line of cells
    joined with " | ", so tables stay readable as text.
    """
    import io
    import zipfile

    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError) as exc:
        raise LoadError(f"{path}: not a valid DOCX file ({type(exc).__name__})") from None
    if unpacked > MAX_DOCX_UNPACKED or unpacked > MAX_DOCX_RATIO * max(len(raw), 1):
        raise LoadError(f"{path}: unpacks to {unpacked} bytes from {len(raw)}; refused as a possible zip bomb")
    try:
        document = docx.Document(io.BytesIO(raw))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise LoadError(f"{path}: not a valid DOCX file ({type(exc).__name__})") from None
    except Exception as exc:  # noqa: BLE001 - python-docx raises many types for broken files
        raise LoadError(f"{path}: not a valid DOCX file ({type(exc).__name__})") from None
    lines: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            text = block.text.strip()
            if not text:
                continue
            style = (block.style.name if block.style is not None else "") or ""
            level = re.search(r"(?:Heading|标题)\s*(\d)", style)
            lines.append(f"{'#' * int(level.group(1))} {text}" if level else text)
        elif isinstance(block, Table):
            for row in block.rows:
                cells: list[str] = []
                for cell in row.cells:
                    value = re.sub(r"\s+", " ", cell.text).strip()
                    if value and (not cells or cells[-1] != value):  # merged cells repeat
                        cells.append(value)
                if cells:
                    lines.append(" | ".join(cells))
    body = "\n".join(lines)
    if not body.strip():
        raise EmptyDocument(f"{path}: no text found")
    meta, body = _header_lines(body)
    title = _plain(document.core_properties.title)
    meta.setdefault("title", title or guess_title(body) or path.stem)
    return LoadedDocument(path, [(0, body)], meta)


def load_file(
    path: Path, password: str | None = None, ocr: PageReader | None = None, raw: bytes | None = None
) -> LoadedDocument:
    """Read one file by its suffix; ``password`` opens encrypted PDFs, ``ocr`` reads scanned
    pages, ``raw`` is the file's bytes when the caller already read them.

    Raises:
        LoadError: unsupported type, empty, unreadable, encrypted or without text.
    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoadError(f"{path}: unsupported file type '{suffix or '(none)'}'")
    if raw is None:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise LoadError(f"{path}: cannot read ({exc.strerror})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise LoadError(f"{path}: {len(raw)} bytes is over the {MAX_FILE_BYTES // 2**20} MB limit")
    if not raw.strip():
        raise EmptyDocument(f"{path}: empty file")
    if suffix == ".pdf":
        doc = load_pdf(path, raw, password, ocr)
    else:
        loader = {".docx": load_docx, ".html": load_html, ".htm": load_html}.get(suffix, load_text)
        doc = loader(path, raw)
    doc.content_hash = hashlib.sha256(raw).hexdigest()
    return doc


class DocumentLoader:
    """Reads files for the ingest pipeline, with the OCR engine chosen by the composition root.

    Args:
        ocr: reads scanned or garbled PDF pages; ``None`` leaves such pages empty.
    """

    def __init__(self, ocr: PageReader | None = None):
        self.ocr = ocr

    def load(self, path: Path, password: str | None = None, raw: bytes | None = None) -> LoadedDocument:
        """See :func:`load_file`. Raises :class:`LoadError` (:class:`EmptyDocument` for no text)."""
        return load_file(path, password, self.ocr, raw)
