"""The knowledge base as documents: list, upload, delete, re-index (admin tab and HTTP API).

A document is one ingested file. Its id is the ``doc_id`` its chunks carry (a hash of the
file's bytes), so a URL never contains a file path. Uploads are written only under
``upload_dir``, under their own base name, whatever name the client sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from assistant.core.store import ChromaStore
from assistant.core.types import ChunkMeta
from assistant.core.versions import version_date, version_key
from ingest.changes import ArticleChange, compare
from ingest.loaders import SUPPORTED_SUFFIXES, LoadError
from ingest.manifest import Manifest
from ingest.pipeline import FileResult, Ingestor

#: Largest upload accepted, in bytes (a long regulation PDF with scans is a few MB).
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
_UNSAFE = re.compile(r"[^\w.\-（）()《》〔〕\u4e00-\u9fff]+")


class DocumentError(ValueError):
    """A bad upload or an unknown document; the message names the file or id."""


@dataclass
class DocumentInfo:
    """One document as listed: manifest row plus the metadata of its chunks."""

    id: str
    source: str
    file_name: str
    title: str
    status: str
    chunks: int
    pages: int
    error: str
    issuer: str = ""
    doc_number: str = ""
    date: str = ""
    region: str = ""
    replaced_by: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Comparison:
    """新旧对照 of two versions of one policy: ``old`` and ``new`` (id, title, date, file),
    then every article (:func:`ingest.changes.compare`), and how many were added, removed
    and changed."""

    old: dict[str, str]
    new: dict[str, str]
    articles: list[ArticleChange]

    def counts(self) -> dict[str, int]:
        return {s: sum(a.status == s for a in self.articles) for s in ("added", "removed", "changed", "unchanged")}

    def to_dict(self) -> dict[str, Any]:
        return {"old": self.old, "new": self.new, "counts": self.counts(), "articles": [a.to_dict() for a in self.articles]}


class DocumentService:
    """Lists and changes the documents of one index.

    Args:
        store: the vector store (for chunk metadata).
        manifest: the ingest manifest (for status, errors, chunk counts).
        ingestor: adds and removes documents.
        upload_dir: where uploaded files are kept (created on first upload).
        cut: text -> its words, for marking changed words in a 新旧对照 (None: characters).
    """

    def __init__(self, store: ChromaStore, manifest: Manifest, ingestor: Ingestor, upload_dir: Path,
                 cut: Callable[[str], list[str]] | None = None):
        self.cut = cut
        self.store = store
        self.manifest = manifest
        self.ingestor = ingestor
        self.upload_dir = upload_dir

    def list(self) -> list[DocumentInfo]:
        """Every document the manifest knows, indexed ones first, then by title."""
        meta: dict[str, dict[str, Any]] = {}
        for _, md in self.store.all_metadata(where={"chunk_index": 0}):  # one chunk per document
            meta.setdefault(str(md.get("source", "")), md)
        out = [_info(rec, meta.get(rec.source, {})) for rec in self.manifest.all()]
        return sorted(out, key=lambda d: (d.status != "indexed", d.title))

    def get(self, doc_id: str) -> DocumentInfo:
        """The document with ``doc_id``.

        Raises:
            DocumentError: no such document.
        """
        md = self.store.first_metadata({"doc_id": doc_id})
        rec = self.manifest.get(str(md.get("source", ""))) if md else None
        if rec is None:  # a document without chunks (failed, duplicate) is listed by its file hash
            rec = next((r for r in self.manifest.all() if r.content_hash[:16] == doc_id), None)
        if rec is None:
            raise DocumentError(f"no document with id {doc_id!r}")
        return _info(rec, md or {})

    def upload(self, name: str, data: bytes) -> FileResult:
        """Keep an uploaded file under ``upload_dir`` and ingest it.

        Only the base name of ``name`` is used, with characters other than letters, digits,
        Chinese characters, ``._-`` and brackets replaced by ``_``. A different file already
        kept under that name is not overwritten: the new one becomes ``name-2.ext``...

        Raises:
            DocumentError: empty, too large, or of an unsupported type (names the file).
        """
        base = _UNSAFE.sub("_", Path(name.replace("\\", "/")).name)
        suffix = Path(base).suffix
        # No hidden files and no bare dots: "....md" is kept as "upload.md".
        stem = base[: len(base) - len(suffix)].strip("._") or "upload"
        # File systems allow 255 bytes a name: room is left for the suffix and a "-N".
        while len((stem + suffix).encode("utf-8")) > 240:
            stem = stem[:-1]
        safe = stem + suffix
        if Path(safe).suffix.lower() not in SUPPORTED_SUFFIXES:
            raise DocumentError(f"{name}: unsupported file type (use {', '.join(sorted(SUPPORTED_SUFFIXES))})")
        if not data:
            raise DocumentError(f"{name}: empty file")
        if len(data) > MAX_UPLOAD_BYTES:
            raise DocumentError(f"{name}: {len(data)} bytes is over the {MAX_UPLOAD_BYTES} byte limit")
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        target = (self.upload_dir / safe).resolve()
        if self.upload_dir.resolve() not in target.parents:
            raise DocumentError(f"{name}: not a plain file name")
        # Another file uploaded under the same name is another document: keep both. The file
        # is created exclusively, so two uploads racing for one name cannot overwrite each other.
        stem, suffix, n = target.stem, target.suffix, 1
        while True:
            try:
                with target.open("xb") as fh:
                    fh.write(data)
                break
            except FileExistsError:
                if target.read_bytes() == data:
                    break  # the same file again: the same document
                n += 1
                target = target.with_name(f"{stem}-{n}{suffix}")
        return self.ingestor.ingest([target]).files[0]

    def delete(self, doc_id: str) -> DocumentInfo:
        """Remove a document from the index (an uploaded file is deleted too).

        Raises:
            DocumentError: no such document.
        """
        doc = self.get(doc_id)
        self.ingestor.remove(doc.source)
        path = Path(doc.source)
        if self.upload_dir.resolve() in path.resolve().parents and path.exists():
            path.unlink()
        return doc

    def versions(self, doc_id: str) -> list[dict[str, Any]]:
        """Every indexed version of the policy ``doc_id`` is one of (itself included), oldest
        first, as first-chunk metadata (:func:`assistant.core.versions.version_key` decides).

        Raises:
            DocumentError: no such document.
        """
        md = self.store.first_metadata({"doc_id": doc_id})
        if md is None:
            raise DocumentError(f"no document with id {doc_id!r}")
        key = version_key(md)
        heads = {str(m.get("doc_id")): m for _, m in self.store.all_metadata(where={"chunk_index": 0})}
        return sorted((m for m in heads.values() if version_key(m) == key), key=version_date)

    def changes(self, doc_id: str) -> Comparison:
        """新旧对照 for ``doc_id``: against the version that replaced it, or, for the version
        in force, against the one it replaced.

        Raises:
            DocumentError: no such document, no other version, or a version's file is gone
                (the message says which).
        """
        versions = self.versions(doc_id)
        if len(versions) < 2:
            raise DocumentError(f"document {doc_id!r} has no other version")
        at = next(n for n, m in enumerate(versions) if m.get("doc_id") == doc_id)
        old, new = (versions[at], versions[at + 1]) if at + 1 < len(versions) else (versions[at - 1], versions[at])
        return Comparison(_version(old), _version(new), compare(self._text(old), self._text(new), self.cut))

    def _text(self, md: dict[str, Any]) -> str:
        path = Path(str(md.get("source", "")))
        if not path.exists():
            raise DocumentError(f"{path}: the file is gone; re-ingest it to compare versions")
        try:
            return self.ingestor.loader.load(path).text
        except LoadError as exc:
            raise DocumentError(str(exc)) from None

    def reindex(self, doc_id: str) -> FileResult:
        """Read a document's file again and replace its chunks.

        Raises:
            DocumentError: no such document, or its file is gone.
        """
        doc = self.get(doc_id)
        path = Path(doc.source)
        if not path.exists():
            raise DocumentError(f"{doc.source}: the file is gone; delete the document instead")
        self.ingestor.remove(doc.source)
        return self.ingestor.ingest([path]).files[0]


def _version(md: dict[str, Any]) -> dict[str, str]:
    meta = ChunkMeta.from_flat(md)
    return {"id": meta.doc_id, "title": meta.title, "date": meta.date, "effective_date": meta.effective_date,
            "file_name": meta.file_name, "replaced_by": meta.replaced_by}


def _info(rec, md: dict[str, Any]) -> DocumentInfo:
    """A manifest row and one of its chunks' metadata as a :class:`DocumentInfo`."""
    meta = ChunkMeta.from_flat(md)
    return DocumentInfo(
        id=meta.doc_id or rec.content_hash[:16],
        source=rec.source,
        file_name=Path(rec.source).name,
        title=meta.title or rec.title or Path(rec.source).stem,
        status=rec.status,
        chunks=rec.chunks,
        pages=rec.pages,
        error=rec.error,
        issuer=meta.issuer,
        doc_number=meta.doc_number,
        date=meta.date,
        region=meta.region,
        replaced_by=meta.replaced_by,
    )
