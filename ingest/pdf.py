"""PDF loading: the text layer through pypdf, scanned or garbled pages through OCR.

A page is sent to OCR when its text layer holds fewer than ``MIN_TEXT_CHARS`` visible
characters or when more than ``MAX_ODD_SHARE`` of them are characters a Chinese policy
text does not contain (U+FFFD, private-use code points, control characters, Latin-1
letters: what fonts without a ToUnicode map extract as).
"""

from __future__ import annotations

import io
import logging
import unicodedata
from pathlib import Path
from typing import Any

from ingest.cleanup import clean_pdf_pages
from ingest.ocr import PageReader, lines_to_text, render_page

# pypdf logs a warning for each oddity of a broken file; the one-line LoadError that names
# the file is what users need, so its chatter is kept to real errors.
logging.getLogger("pypdf").setLevel(logging.ERROR)

MIN_TEXT_CHARS = 10
MAX_ODD_SHARE = 0.3


class PdfError(ValueError):
    """The PDF cannot be opened: damaged, not a PDF, encrypted without the right password."""


def _odd(char: str) -> bool:
    code = ord(char)
    return (
        char == "\ufffd"
        or 0xE000 <= code <= 0xF8FF
        or 0x80 <= code <= 0x24F
        or unicodedata.category(char) in ("Cc", "Co", "Cs", "Cn")
    )


def needs_ocr(text: str) -> bool:
    """True when a page's extracted text is missing or mostly garbage."""
    visible = [c for c in text if not c.isspace()]
    if len(visible) < MIN_TEXT_CHARS:
        return True
    return sum(map(_odd, visible)) / len(visible) > MAX_ODD_SHARE


def _reason(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text or type(exc).__name__


def read_pdf(
    path: Path, raw: bytes, password: str | None = None, ocr: PageReader | None = None
) -> tuple[list[tuple[int, str]], dict[str, Any], int]:
    """Text of each page of a PDF, cleaned.

    Args:
        path: for messages only.
        raw: the file's bytes.
        password: opens an encrypted PDF.
        ocr: reads pages that need it; ``None`` leaves them empty.

    Returns:
        (pages as (number from 1, text), PDF info title if any as ``{"title": …}``,
        number of pages read by OCR).

    Raises:
        PdfError: damaged, not a PDF, encrypted without (the right) password. The message
            is one line naming the file.
    """
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            if not password:
                raise PdfError(f"{path}: PDF is encrypted and needs a password (ingest --password)")
            if not reader.decrypt(password):
                raise PdfError(f"{path}: wrong password for the encrypted PDF")
        texts: list[str] = []
        for page in reader.pages:
            try:
                texts.append((page.extract_text() or "").replace("\x00", ""))
            except Exception:  # noqa: BLE001 - one unreadable page: try OCR, keep the rest
                texts.append("")
        title = getattr(reader.metadata, "title", None) if reader.metadata else None
    except PdfError:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types for broken files
        raise PdfError(f"{path}: damaged or not a PDF ({_reason(exc)})") from None

    ocr_done: set[int] = set()
    todo = [i for i, t in enumerate(texts) if needs_ocr(t)]
    if todo and ocr is not None:
        import pypdfium2 as pdfium

        try:
            document = pdfium.PdfDocument(raw, password=password)
        except Exception as exc:  # noqa: BLE001 - PDFium reports its own error types
            raise PdfError(f"{path}: PDF pages cannot be rendered for OCR ({_reason(exc)})") from None
        try:
            for i in todo:
                page = document[i]
                try:
                    image = render_page(page)
                finally:
                    page.close()
                texts[i] = lines_to_text(ocr.read(image))
                ocr_done.add(i + 1)
        finally:
            document.close()
    pages = clean_pdf_pages([(i, t) for i, t in enumerate(texts, start=1)], joined=ocr_done)
    return pages, ({"title": str(title).strip()} if title and str(title).strip() else {}), len(ocr_done)
