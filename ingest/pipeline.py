"""Ingest files into the store: load, split, embed only what is new, report every file.

Idempotent: chunk ids are content hashes, so re-running on unchanged files embeds nothing.
A changed file has its new chunks added before its old ones are removed, so a crash in
between leaves extra chunks rather than a missing document. One bad file never stops the
batch; its one-line reason lands in the report.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from assistant.store import ChromaStore
from ingest.loaders import SUPPORTED_SUFFIXES, LoadError, load_file
from ingest.metadata import extract_metadata, sidecar_metadata
from ingest.splitting import PolicySplitter

log = logging.getLogger(__name__)


@dataclass
class FileResult:
    """Outcome for one file: ``status`` is added, updated, unchanged, duplicate, skipped or error."""

    path: str
    status: str
    chunks: int = 0
    detail: str = ""


@dataclass
class IngestReport:
    """Everything one ingest run did, file by file."""

    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def chunks_added(self) -> int:
        return sum(f.chunks for f in self.files if f.status in ("added", "updated"))

    @property
    def errors(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "error"]

    def summary(self) -> str:
        parts = [f"{len(self.files)} files"]
        for status in ("added", "updated", "unchanged", "duplicate", "skipped", "error"):
            if self.count(status):
                parts.append(f"{self.count(status)} {status}")
        parts.append(f"{self.chunks_added} chunks embedded")
        parts.append(f"{self.seconds:.1f} s")
        return ", ".join(parts)


def expand_paths(paths: Iterable[Path]) -> tuple[list[Path], list[FileResult]]:
    """Files to ingest under ``paths`` (folders recursively), sorted.

    In folders, hidden entries and README files (they describe the folder, not a policy)
    are passed over silently, and files of unsupported types are reported as skipped.
    A file named explicitly is always tried.

    Returns:
        (files, problems): a path that does not exist becomes an error result.
    """
    files: list[Path] = []
    problems: list[FileResult] = []
    for p in paths:
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if not f.is_file() or any(part.startswith(".") for part in f.relative_to(p).parts):
                    continue
                if f.stem.lower() == "readme":
                    continue
                if f.suffix.lower() in SUPPORTED_SUFFIXES:
                    files.append(f)
                else:
                    problems.append(
                        FileResult(str(f), "skipped", detail=f"{f}: unsupported file type '{f.suffix or '(none)'}'")
                    )
        elif p.is_file():
            files.append(p)
        else:
            problems.append(FileResult(str(p), "error", detail=f"{p}: no such file or folder"))
    return files, problems


class Ingestor:
    """Loads, splits and stores documents.

    Args:
        store: where chunks go.
        splitter: turns a loaded document into chunks.
    """

    def __init__(self, store: ChromaStore, splitter: PolicySplitter):
        self.store = store
        self.splitter = splitter

    def ingest(
        self,
        paths: Iterable[Path],
        rebuild: bool = False,
        progress: Callable[[FileResult], None] | None = None,
        password: str | None = None,
    ) -> IngestReport:
        """Ingest files and folders; ``rebuild`` empties the collection first; ``password``
        opens encrypted PDFs.

        Never raises for a bad file: each outcome is in the returned report.
        """
        started = time.perf_counter()
        if rebuild:
            self.store.reset()
        files, problems = expand_paths(paths)
        report = IngestReport(files=list(problems))
        if progress:
            for result in problems:
                progress(result)
        for path in files:
            result = self._ingest_one(path, password)
            if result.status == "error":
                log.info("%s", result.detail)
            report.files.append(result)
            if progress:
                progress(result)
        report.seconds = time.perf_counter() - started
        return report

    def _ingest_one(self, path: Path, password: str | None = None) -> FileResult:
        source = str(path.resolve())
        try:
            doc = load_file(path, password)
        except LoadError as exc:
            return FileResult(source, "error", detail=str(exc))
        # Priority, lowest first: guessed from the text, stated by the file, the sidecar.
        stated = {k: v for k, v in doc.metadata.items() if v}
        base = extract_metadata(doc.text, str(stated.get("title", "")))
        base.update(stated)
        base.update(sidecar_metadata(path))
        base.update(source=source, file_name=path.name, doc_id=doc.content_hash[:16])
        chunks = self.splitter.split(doc, base)
        if not chunks:
            return FileResult(source, "error", detail=f"{path}: no text found")
        new_ids = [c.id for c in chunks]
        old_ids = set(self.store.ids_where({"source": source}))
        if old_ids == set(new_ids):
            return FileResult(source, "unchanged", len(chunks))
        present = self.store.existing_ids(new_ids) - old_ids
        if present:
            other = self.store.collection.get(ids=[next(iter(present))], include=["metadatas"])["metadatas"][0]
            return FileResult(source, "duplicate", 0, f"{path}: same content as {other.get('file_name', '?')}; not indexed twice")
        to_add = [c for c in chunks if c.id not in old_ids]
        self.store.add(to_add)
        self.store.delete(old_ids - set(new_ids))
        return FileResult(source, "updated" if old_ids else "added", len(to_add))
