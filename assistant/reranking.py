"""An optional cross-encoder reranker over the fused candidates.

Off by default, since no cross-encoder ships inside a package and the machines reach no model
hub. ``MINSHENG_RERANKER_MODEL`` names a local sentence-transformers ``CrossEncoder`` folder
(for example a copy of BAAI/bge-reranker-base made on a machine with internet). The model
reads each (question, chunk) pair together, which ranks better than comparing two separate
vectors but costs one forward pass per candidate: about 20-40 ms a pair for a base model on
2 CPU cores, hence only the first ``top_n`` fused candidates are reranked.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from assistant.core.types import ScoredChunk


class CrossEncoderReranker:
    """Reorders hits by a cross-encoder's relevance score (loaded on first use).

    Args:
        model_path: a local CrossEncoder folder.
        top_n: how many of the best fused candidates are scored; the rest keep their order
            after them.
        device: torch device.
        batch_size: pairs per forward pass.

    Raises:
        FileNotFoundError: ``model_path`` is not a folder (raised at construction, so a wrong
            setting fails at start-up, not at the first question).
    """

    def __init__(self, model_path: Path, top_n: int = 20, device: str = "cpu", batch_size: int = 16):
        if not Path(model_path).is_dir():
            raise FileNotFoundError(f"MINSHENG_RERANKER_MODEL: no model folder at {model_path}")
        self.model_path = Path(model_path)
        self.top_n = top_n
        self.device = device
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    def model(self):
        """The loaded ``sentence_transformers.CrossEncoder``."""
        with self._lock:
            if self._model is None:
                from sentence_transformers import CrossEncoder

                self._model = CrossEncoder(str(self.model_path), device=self.device, local_files_only=True)
            return self._model

    def scores(self, question: str, texts: Sequence[str]) -> list[float]:
        """One relevance score per text (higher = more relevant; the model's own scale)."""
        if not texts:
            return []
        pairs = [(question, t) for t in texts]
        return [float(s) for s in self.model().predict(pairs, batch_size=self.batch_size, show_progress_bar=False)]

    def rerank(self, question: str, hits: Sequence[ScoredChunk]) -> list[ScoredChunk]:
        """``hits`` with the first ``top_n`` sorted by the cross-encoder (ties keep fused order);
        each scored hit gets ``rerank_score``."""
        head, tail = list(hits[: self.top_n]), list(hits[self.top_n :])
        for hit, score in zip(head, self.scores(question, [h.chunk.context_text() for h in head])):
            hit.rerank_score = score
        order = sorted(range(len(head)), key=lambda i: (-(head[i].rerank_score or 0.0), i))
        return [head[i] for i in order] + tail
