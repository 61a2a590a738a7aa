"""The naive baseline pipeline: what a first LangChain tutorial would build.

LangChain's ``RecursiveCharacterTextSplitter`` with its default settings (chunk_size 4000,
chunk_overlap 200), dense-only top-k from Chroma, the same embedding model. Answers use
minsheng's extractive answerer with equal term weights (the baseline has no BM25), so the
comparison isolates chunking and retrieval.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_text_splitters import RecursiveCharacterTextSplitter

from assistant.answering import ExtractiveAnswerer, RelevancePolicy
from assistant.core.embeddings import LazyEmbeddings
from assistant.prompts import Prompts
from assistant.query import contextualise
from assistant.core.settings import Settings
from assistant.core.store import ChromaStore, open_client
from assistant.core.types import Answer, Chunk, ScoredChunk
from assistant.core.text import Tokenizer
from ingest.loaders import LoadError, load_file
from ingest.pipeline import IngestReport, FileResult, expand_paths


class NaivePipeline:
    """Naive RAG over its own collection in ``index_dir``.

    Args:
        embeddings: the same model the main pipeline uses.
        index_dir: folder for the baseline's Chroma collection.
        prompts / policy / hotline: for the shared extractive answerer.
        top_k: chunks each answer is given.
    """

    name = "naive"

    def __init__(
        self, embeddings: LazyEmbeddings, index_dir: Path, prompts: Prompts, policy: RelevancePolicy, hotline: str, top_k: int = 4
    ):
        self.top_k = top_k
        self.store = ChromaStore(open_client(index_dir), "naive", embeddings, str(index_dir))
        self.splitter = RecursiveCharacterTextSplitter()  # the defaults, on purpose
        # A tutorial chain has no term map: jieba's own dictionary only.
        self.tokenizer = Tokenizer()
        self.answerer = ExtractiveAnswerer(prompts, self.tokenizer, term_weight=lambda term: 1.0, policy=policy, hotline=hotline)

    @classmethod
    def from_settings(cls, settings: Settings, embeddings: LazyEmbeddings, index_dir: Path) -> "NaivePipeline":
        """The baseline as the product's ``settings`` configure the shared parts: prompts,
        relevance thresholds, hotline and ``top_k``."""
        return cls(
            embeddings,
            index_dir,
            Prompts(settings.prompts_dir),
            RelevancePolicy.from_settings(settings),
            settings.hotline,
            top_k=settings.top_k,
        )

    def ingest(self, paths: list[Path]) -> IngestReport:
        """Load every file, split with the defaults, embed and store; errors are reported per file.

        Like LangChain's ``Chroma.from_documents``, every new chunk is written in one call
        (which the store cuts into its largest batches)."""
        started = time.perf_counter()
        files, problems = expand_paths(paths)
        report = IngestReport(files=list(problems))
        pending: list[Chunk] = []
        seen: set[str] = set()
        for path in files:
            try:
                doc = load_file(path)
            except LoadError as exc:
                report.files.append(FileResult(str(path), "error", detail=str(exc)))
                continue
            base = {k: v for k, v in doc.metadata.items() if v}
            base.update(source=str(path.resolve()), file_name=path.name, doc_id=doc.content_hash[:16])
            # Title kept under another key: the baseline embeds the raw chunk text only.
            base["doc_title"] = base.pop("title", "")
            chunks = []
            for i, text in enumerate(self.splitter.split_text(doc.text)):
                cid = hashlib.sha256(f"{doc.content_hash}\x1f{i}\x1f{text}".encode()).hexdigest()[:32]
                chunks.append(Chunk(cid, text, {**base, "chunk_index": i, "page": 0}))
            stored = self.store.existing_ids([c.id for c in chunks])
            new = [c for c in chunks if c.id not in stored and c.id not in seen]  # a copy's chunks: once
            seen.update(c.id for c in new)
            pending += new
            report.files.append(FileResult(str(path), "added" if new else "unchanged", len(new)))
        self.store.add(pending)
        report.seconds = time.perf_counter() - started
        return report

    def search(self, question: str, k: int) -> list[ScoredChunk]:
        """Dense top-k: (chunk, cosine) from Chroma, nothing else."""
        return [
            ScoredChunk(chunk, score=cos, dense_score=cos, dense_rank=rank)
            for rank, (chunk, cos) in enumerate(self.store.query(question, k), start=1)
        ]

    def ask(self, question: str, history: Sequence[Any] = ()) -> Answer:
        """Answer like a tutorial chain: the follow-up joined to the earlier question, dense
        top-k, the extractive answerer; the answer records the chunks it was given."""
        t0 = time.perf_counter()
        query = contextualise(question, history, tokenizer=self.tokenizer)
        hits = self.search(query, self.top_k)
        t1 = time.perf_counter()
        answer = self.answerer.answer(query, hits)
        answer.retrieved = hits
        answer.timings = {"retrieval": (t1 - t0) * 1000, "answer": (time.perf_counter() - t1) * 1000}
        return answer
