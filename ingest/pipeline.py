"""Ingest files into the store: load, split, embed only what is new, report every file.

Idempotent: the manifest (:mod:`ingest.manifest`) remembers each file's fingerprint (its
bytes, its sidecar metadata and the splitter's rules), so an unchanged file is passed over
without being read again, and chunk ids are content hashes, so nothing is embedded twice.
A changed file has its new chunks added before its old ones are removed, and its manifest
row says ``pending`` meanwhile, so a crash at any point is repaired by the next run. One bad
file never stops the batch; its one-line reason lands in the report.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from assistant.core.injection import RULES_FINGERPRINT, instructions_in, strip_instructions
from assistant.core.store import WRITE_BATCH, ChromaStore
from assistant.core.text import to_simplified
from assistant.core.types import Chunk
from ingest.duplicates import Duplicates
from ingest.loaders import MAX_FILE_BYTES, SUPPORTED_SUFFIXES, DocumentLoader, EmptyDocument, LoadedDocument, LoadError
from ingest.manifest import DocumentRecord, Manifest
from ingest.metadata import extract_metadata, sidecar_metadata
from ingest.repair import Repair
from ingest.splitting import PolicySplitter
from ingest.version_pass import VersionPass

log = logging.getLogger(__name__)


@dataclass
class FileResult:
    """Outcome for one file.

    ``status`` is added, updated, unchanged, duplicate, skipped (no text, unsupported type)
    or error; ``chunks`` is how many chunks the file has in the index (0 for a duplicate),
    ``written`` how many of them this run wrote to the store (their vectors come from the
    vector cache when the same text was embedded before).
    """

    path: str
    status: str
    chunks: int = 0
    detail: str = ""
    pages: int = 0
    ocr_pages: int = 0
    written: int = 0
    seconds: float = 0.0
    #: Source of an indexed copy this file took the place of (not part of the report).
    replaced: str = ""


@dataclass
class IngestReport:
    """Everything one ingest run did, file by file, plus what recovery and pruning did."""

    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0
    pruned: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def chunks_added(self) -> int:
        return sum(f.written for f in self.files)

    @property
    def errors(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "error"]

    def totals(self) -> dict[str, float | int]:
        """The run in figures: files, pages, OCR pages, chunks (of these files, in the index),
        chunks written, files per status, pruned, recovered, seconds."""
        out: dict[str, float | int] = {
            "files": len(self.files),
            "pages": sum(f.pages for f in self.files),
            "ocr_pages": sum(f.ocr_pages for f in self.files),
            "chunks": sum(f.chunks for f in self.files),
            "written": self.chunks_added,
        }
        for status in ("added", "updated", "unchanged", "duplicate", "skipped", "error"):
            out[status] = self.count(status)
        out["pruned"] = len(self.pruned)
        out["recovered"] = len(self.recovered)
        out["seconds"] = round(self.seconds, 2)
        return out

    def to_dict(self) -> dict:
        """JSON-ready report: ``totals`` and one entry per file."""
        return {
            "totals": self.totals(),
            "files": [{k: v for k, v in asdict(f).items() if k != "replaced"} for f in self.files],
            "pruned": self.pruned,
            "recovered": self.recovered,
        }

    def summary(self) -> str:
        t = self.totals()
        parts = [f"{t['files']} files"]
        for status in ("added", "updated", "unchanged", "duplicate", "skipped", "error", "pruned"):
            if t[status]:
                parts.append(f"{t[status]} {status}")
        parts.append(f"{t['chunks']} chunks ({t['written']} written)")
        if t["ocr_pages"]:
            parts.append(f"{t['ocr_pages']} OCR pages")
        parts.append(f"{self.seconds:.1f} s")
        return ", ".join(parts)


def expand_paths(paths: Iterable[Path]) -> tuple[list[Path], list[FileResult]]:
    """Files to ingest under ``paths`` (folders recursively), sorted.

    In folders, hidden entries and README files (they describe the folder, not a policy)
    are passed over silently, and files of unsupported types are reported as skipped.
    A file named explicitly is always tried.

    Returns:
        (files, problems): a path that does not exist becomes an error result; a file
        reached twice is listed once.
    """
    files: list[Path] = []
    problems: list[FileResult] = []
    for p in paths:
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if not f.is_file() or any(part.startswith(".") for part in f.relative_to(p).parts):
                    continue
                if f.stem.lower() == "readme" or f.name == "SOURCES.tsv":
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
    # A file named twice (a folder and a file in it, a link to a listed file) is ingested once.
    seen: set[Path] = set()
    files = [f for f in files if not (f.resolve() in seen or seen.add(f.resolve()))]
    return files, problems


Progress = Callable[[FileResult, int, int], None]


@dataclass
class _Staged:
    """A document whose chunks wait to be written with others (see ``Ingestor._flush``)."""

    record: DocumentRecord  # already in the manifest as ``pending``
    to_add: list[Chunk]
    kept: list[Chunk]  # stored already; their metadata is rewritten
    stale: set[str]  # ids of the old version to delete


class Ingestor:
    """Loads, splits and stores documents, keeping the manifest and the store in agreement.

    Args:
        store: where chunks go.
        splitter: turns a loaded document into chunks.
        manifest: one row per document file.
        loader: reads files (OCR for scanned PDFs when it has an OCR engine).
        write_batch: chunks of several files are written together once this many wait
            (Chroma writes few large calls much faster than many small ones, see
            :data:`assistant.core.store.WRITE_BATCH`); each file's row stays ``pending`` until its
            chunks are in, so a crash loses at most one batch of work, repaired next run.
        after_write: called after each batch is written and when a call that wrote returns
            (the keyword index's sync: it reads from the collection's journal what changed).
        kept: folders the product itself writes documents to (uploads, answer scripts): a
            rebuild reads them again with the paths it is given, so they survive it.
    """

    def __init__(self, store: ChromaStore, splitter: PolicySplitter, manifest: Manifest, loader: DocumentLoader,
                 write_batch: int = WRITE_BATCH, after_write: Callable[[], None] | None = None,
                 kept: Sequence[Path] = ()):
        self.store = store
        self.kept = list(kept)
        self.after_write = after_write or (lambda: None)
        self.splitter = splitter
        self.manifest = manifest
        self.loader = loader
        self.write_batch = write_batch
        self._staged: list[_Staged] = []
        self._staged_hashes: set[str] = set()  # content and text hashes of staged documents
        self.versions = VersionPass(store)
        self.repair = Repair(store, manifest)
        self.duplicates = Duplicates(store, manifest, self._flush, lambda digest: digest in self._staged_hashes)
        # One ingest at a time per process (the web app's uploads and the CLI share this).
        self._lock = threading.RLock()

    def ingest(
        self,
        paths: Iterable[Path],
        rebuild: bool = False,
        progress: Progress | None = None,
        password: str | None = None,
        prune: bool = False,
    ) -> IngestReport:
        """Ingest files and folders.

        Args:
            paths: files and folders.
            rebuild: empty the collection and the manifest first.
            progress: called after each file with (result, files done, files in total).
            password: opens encrypted PDFs.
            prune: first remove documents whose files no longer exist.

        Never raises for a bad file: each outcome is in the returned report. Concurrent
        calls run one after the other.
        """
        with self._lock:
            try:
                return self._ingest(list(paths), rebuild, progress, password, prune)
            finally:
                self.after_write()

    def _ingest(self, paths: list[Path], rebuild: bool, progress: Progress | None, password: str | None,
                prune: bool) -> IngestReport:
        started = time.perf_counter()
        run_id, clean = self.manifest.start_run()
        # An unfinished previous run may have stopped before recording versions.
        with self.versions.kept(always=not clean):
            report = self._ingest_files(paths, rebuild, progress, password, prune, clean)
        self.manifest.finish_run(run_id)
        report.seconds = time.perf_counter() - started
        return report

    def _ingest_files(self, paths: list[Path], rebuild: bool, progress: Progress | None, password: str | None,
                      prune: bool, clean: bool) -> IngestReport:
        report = IngestReport()
        if rebuild:
            self.store.reset()
            self.manifest.clear()
            paths = [*paths, *(folder for folder in self.kept if folder.is_dir() and folder not in paths)]
        else:
            report.recovered = self.repair.recover(full=not clean)
        if prune:
            report.pruned = self._prune()
        files, problems = expand_paths(paths)
        total = len(files) + len(problems)
        waiting: list[FileResult] = []  # outcomes reported once their chunks are written

        def settle(results: list[FileResult]) -> None:
            for result in results:
                for earlier in report.files:  # a copy indexed earlier in this run gave way
                    if result.replaced and earlier.path == result.replaced:
                        earlier.status, earlier.chunks, earlier.written = "duplicate", 0, 0
                        earlier.detail = (f"{earlier.path}: same content as {Path(result.path).name}, "
                                          "which SOURCES.tsv describes; not indexed twice")
                if result.status == "error":
                    log.info("%s", result.detail)
                report.files.append(result)
                if progress:
                    progress(result, len(report.files), total)

        settle(problems)
        try:
            for path in files:
                t0 = time.perf_counter()
                try:
                    result = self._ingest_one(path, password)
                except Exception:
                    self._flush()  # the files before this one are sound: keep them
                    raise
                result.seconds = round(time.perf_counter() - t0, 3)
                waiting.append(result)
                if not self._staged or sum(len(s.to_add) + len(s.kept) for s in self._staged) >= self.write_batch:
                    self._flush()
                    settle(waiting)
                    waiting = []
            self._flush()
            settle(waiting)
        finally:
            # Left only by an exception: those rows stay pending and recover() repairs them.
            self._staged, self._staged_hashes = [], set()
        return report

    def _stage(self, staged: _Staged) -> None:
        self._staged.append(staged)
        self._staged_hashes |= {staged.record.content_hash, staged.record.text_hash}

    def _flush(self) -> None:
        """Write the chunks of every staged document, then mark their rows indexed."""
        staged, self._staged, self._staged_hashes = self._staged, [], set()
        if not staged:
            return
        # Kept chunks' metadata first: recover() takes a row whose new ids are all stored as
        # complete, so the ids must not all be there before every chunk is right.
        self.store.update_metadata([c for s in staged for c in s.kept])
        self.store.add([c for s in staged for c in s.to_add])
        self.store.delete(set().union(*(s.stale for s in staged)))
        self.versions.written |= {s.record.source for s in staged}
        for s in staged:
            s.record.status, s.record.chunk_ids, s.record.pending_ids = "indexed", s.record.pending_ids, []
            self.manifest.put(s.record)
        self.after_write()

    def recover(self, full: bool = False) -> list[str]:
        """See :meth:`ingest.repair.Repair.recover`."""
        with self._lock:
            try:
                return self.repair.recover(full)
            finally:
                self.after_write()

    def problems(self) -> list[str]:
        """See :meth:`ingest.repair.Repair.problems`."""
        return self.repair.problems()

    def prune(self) -> list[str]:
        """Remove documents whose files no longer exist; returns their sources."""
        with self._lock:
            try:
                with self.versions.kept():
                    return self._prune()
            finally:
                self.after_write()

    def _prune(self) -> list[str]:
        gone = [r for r in self.manifest.all() if not Path(r.source).exists()]
        for rec in gone:
            self.store.delete(set(rec.chunk_ids) | set(rec.pending_ids))
            self.manifest.remove([rec.source])
        return [r.source for r in gone]

    def remove(self, source: str) -> bool:
        """Remove one document (by its resolved path) from the index and the manifest.

        Returns:
            False when nothing was known about ``source``.
        """
        with self._lock:
            try:
                with self.versions.kept():
                    return self._remove(source)
            finally:
                self.after_write()

    def _remove(self, source: str) -> bool:
        rec = self.manifest.get(source)
        ids = set(self.store.ids_where({"source": source}))
        if rec:
            ids |= set(rec.chunk_ids) | set(rec.pending_ids)
        self.store.delete(ids)
        self.manifest.remove([source])
        return bool(rec or ids)

    def _fingerprint(self, content_hash: str, sidecar: dict) -> str:
        key = json.dumps([content_hash, self.splitter.fingerprint, RULES_FINGERPRINT, sorted(sidecar.items())],
                         ensure_ascii=False)
        return hashlib.sha256(key.encode()).hexdigest()

    def _as_before(self, rec: DocumentRecord, fingerprint: str) -> FileResult | None:
        """The result for a file the manifest already holds with this ``fingerprint``, when
        nothing needs doing (indexed, skipped, or a copy of a document still indexed); None
        when it must be read again."""
        if rec.fingerprint != fingerprint:
            return None
        if rec.status == "indexed":
            return FileResult(rec.source, "unchanged", rec.chunks, pages=rec.pages, ocr_pages=rec.ocr_pages)
        if rec.status == "skipped":
            return FileResult(rec.source, "skipped", 0, rec.error, pages=rec.pages, ocr_pages=rec.ocr_pages)
        if self.duplicates.still_a_copy(rec):
            return FileResult(rec.source, "duplicate", 0, rec.error)
        return None

    def _ingest_one(self, path: Path, password: str | None = None) -> FileResult:
        source = str(path.resolve())
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                return FileResult(source, "error", detail=f"{path}: {size} bytes is over the {MAX_FILE_BYTES // 2**20} MB limit")
            raw = path.read_bytes()
        except OSError as exc:
            return FileResult(source, "error", detail=f"{path}: cannot read ({exc.strerror})")
        content_hash = hashlib.sha256(raw).hexdigest()
        sidecar = sidecar_metadata(path)
        fingerprint = self._fingerprint(content_hash, sidecar)
        rec = self.manifest.get(source)
        known = self._as_before(rec, fingerprint) if rec else None
        if known is not None:
            return known
        old_ids = set(rec.chunk_ids) if rec else set(self.store.ids_where({"source": source}))
        twin = self.duplicates.twin(source, content_hash, "content_hash")
        if twin and not self.duplicates.outranks(sidecar, twin):
            detail = self.duplicates.record(path, twin, (content_hash, ""), fingerprint, old_ids, "content")
            return FileResult(source, "duplicate", 0, detail)
        try:
            doc = self.loader.load(path, password, raw=raw)
        except EmptyDocument as exc:
            self.store.delete(old_ids)
            self.manifest.put(DocumentRecord(source, content_hash, fingerprint, "skipped", error=str(exc),
                                             pages=exc.pages, ocr_pages=exc.ocr_pages))
            return FileResult(source, "skipped", 0, str(exc), exc.pages, exc.ocr_pages)
        except LoadError as exc:
            # An unreadable new version leaves the last good chunks in place, recorded with the
            # error; without a fingerprint, the next run tries the file again (with a password, say).
            self.manifest.put(DocumentRecord(source, content_hash, "", "error", chunk_ids=sorted(old_ids), error=str(exc)))
            return FileResult(source, "error", len(old_ids), str(exc))
        # The same text in another encoding, format or script (traditional) is the same document.
        text_hash = hashlib.sha256(re.sub(r"\s+", "", to_simplified(doc.text)).encode()).hexdigest()
        # Orders addressed to an AI assistant are not policy: they are left out of the index
        # (the original file keeps them), so they sway neither search nor answers.
        planted = instructions_in(doc.text)
        if planted:
            doc.pages = [(n, strip_instructions(t)) for n, t in doc.pages]
        text_twin = None if twin else self.duplicates.twin(source, text_hash, "text_hash")
        if text_twin and not self.duplicates.outranks(sidecar, text_twin):
            detail = self.duplicates.record(path, text_twin, (content_hash, text_hash), fingerprint, old_ids, "text")
            return FileResult(source, "duplicate", 0, detail)
        twin = twin or text_twin
        base = _document_metadata(doc, sidecar, source=source, file_name=path.name, doc_id=content_hash[:16])
        chunks = self.splitter.split(doc, base)
        record = DocumentRecord(
            source, content_hash, fingerprint, "pending", pages=doc.page_count, ocr_pages=doc.ocr_pages,
            title=str(base.get("title", "")), text_hash=text_hash,
        )
        if not chunks:
            self.store.delete(old_ids)
            record.status, record.error = "skipped", f"{path}: no text found"
            self.manifest.put(record)
            return FileResult(source, "skipped", 0, record.error, doc.page_count, doc.ocr_pages)
        new_ids = [c.id for c in chunks]
        record.chunk_ids, record.pending_ids = sorted(old_ids), new_ids
        self.manifest.put(record)
        to_add = [c for c in chunks if c.id not in old_ids]
        # Kept chunks get their metadata rewritten: their file hash and position moved with the edit.
        kept = [c for c in chunks if c.id in old_ids] if to_add or old_ids != set(new_ids) else []
        self._stage(_Staged(record, to_add, kept, old_ids - set(new_ids)))
        if twin:
            self._flush()
            self.duplicates.demote(twin, path)
        status = "unchanged" if not to_add and old_ids == set(new_ids) else ("updated" if old_ids else "added")
        detail = f"{path}: indexed instead of its copy {Path(twin.source).name} (SOURCES.tsv describes this one)" if twin else ""
        if planted and status != "unchanged":
            note = _planted_note(path, planted)
            log.warning("%s", note)
            detail = f"{detail}; {note}" if detail else note
        return FileResult(source, status, len(chunks), detail, doc.page_count, doc.ocr_pages, written=len(to_add),
                          replaced=twin.source if twin else "")


def _document_metadata(doc: LoadedDocument, sidecar: dict[str, Any], **fixed: Any) -> dict[str, Any]:
    """A document's metadata; by priority, lowest first: guessed from the text, stated by
    the file, the sidecar (SOURCES.tsv), then ``fixed`` (source, file name, id)."""
    stated = {k: v for k, v in doc.metadata.items() if v}
    base = extract_metadata(doc.text, str(stated.get("title", "")), str(stated.get("published", "")))
    base.update(stated)
    base.update(sidecar)
    base.update(fixed)
    return base


def _planted_note(path: Path, planted: list[str]) -> str:
    """The report line for a file whose sentences giving orders to an AI were left out."""
    return (f"{path}: {len(planted)} sentence(s) give orders to an AI assistant, e.g. "
            f"\"{planted[0][:40]}\"; left out of the index (the original file keeps them)")
