"""Read scanned PDF pages: render with PDFium (pypdfium2), recognise with RapidOCR.

RapidOCR (rapidocr-onnxruntime) ships the PP-OCRv4 Chinese detection and recognition
models inside its wheel, so OCR works offline with nothing to download. It is imported
only when a page needs it, and the model is loaded once per :class:`RapidOcr` instance.

Recognised lines come back as boxes; :func:`lines_to_text` turns them into paragraphs the
way a reader would: a line that runs to the right margin continues on the next line.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Protocol

from ingest.structure import starts_block


@dataclass(frozen=True)
class OcrLine:
    """One recognised line: its text and box in pixels (left, top, right, bottom)."""

    text: str
    left: float
    top: float
    right: float
    bottom: float

    @property
    def height(self) -> float:
        return self.bottom - self.top


class PageReader(Protocol):
    """Anything that turns a page image into recognised lines."""

    def read(self, image: Any) -> list[OcrLine]:
        """``image`` is an RGB ``numpy`` array (height, width, 3); lines in reading order."""
        ...


class RapidOcr:
    """PP-OCRv4 through RapidOCR, loaded on first use (≈0.6 s) and shared by threads.

    Args:
        min_score: lines recognised with a lower confidence (0-1) are dropped; RapidOCR's
            own default ``text_score`` is 0.5.
    """

    def __init__(self, min_score: float = 0.5):
        self.min_score = min_score
        self._engine = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._engine is None:
                from rapidocr_onnxruntime import RapidOCR

                self._engine = RapidOCR()
        return self._engine

    def read(self, image: Any) -> list[OcrLine]:
        engine = self._load()
        with self._lock:  # onnxruntime sessions already use every core
            result, _ = engine(image)
        lines = []
        for box, text, score in result or []:
            if float(score) < self.min_score or not str(text).strip():
                continue
            xs = [p[0] for p in box]
            ys = [p[1] for p in box]
            lines.append(OcrLine(str(text).strip(), min(xs), min(ys), max(xs), max(ys)))
        return lines


#: Rendering resolution. 200 dpi reads 10.5-pt body text reliably; RapidOCR shrinks any
#: image whose long side exceeds 2,000 px (its ``max_side_len``), so pages are rendered
#: no larger than that instead of being rendered big and shrunk.
RENDER_DPI = 200
MAX_SIDE_PX = 2000


def render_page(page: Any) -> Any:
    """A pypdfium2 page as an RGB numpy array, at most ``MAX_SIDE_PX`` on its long side."""
    width, height = page.get_size()  # PDF points, 1/72 inch
    scale = min(RENDER_DPI / 72, MAX_SIDE_PX / max(width, height, 1))
    bitmap = page.render(scale=scale)
    try:
        return bitmap.to_numpy()[:, :, :3].copy()
    finally:
        bitmap.close()


def lines_to_text(lines: list[OcrLine]) -> str:
    """Join recognised lines into paragraphs, one per output line.

    A line whose right edge comes within two character widths of the page's text margin
    was wrapped by the page width, so the next line continues it; a shorter line ends its
    paragraph, and so does a line before one that opens a new unit (第X条, 一、, ...).
    Character width is taken as the line height (CJK glyphs are square).
    """
    if not lines:
        return ""
    ordered = lines  # RapidOCR already returns boxes top to bottom, left to right
    margin = sorted(ln.right for ln in ordered)[int(0.9 * (len(ordered) - 1))]
    paragraphs: list[str] = []
    current = ""
    for line in ordered:
        if current and starts_block(line.text):
            paragraphs.append(current)
            current = ""
        current += line.text
        if line.right < margin - 2 * line.height:
            paragraphs.append(current)
            current = ""
    if current:
        paragraphs.append(current)
    return "\n".join(paragraphs)
