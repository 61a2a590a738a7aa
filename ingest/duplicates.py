"""Copies of one document under several file names: indexed once.

Two files are copies when their bytes are equal (``content_hash``) or, read, their text is
(``text_hash``: whitespace dropped, traditional characters made simplified, so the same
text in another encoding, format or script counts). Of two copies, the one a
``SOURCES.tsv`` row describes is indexed; otherwise the one indexed first stays and the
other is recorded as a duplicate of it, with no chunks of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from assistant.core.store import ChromaStore
from ingest.manifest import DocumentRecord, Manifest
from ingest.metadata import sidecar_metadata


class Duplicates:
    """Finds a file's indexed copy and records which of the two is indexed.

    Args:
        store: chunks of a copy that gives way are deleted here.
        manifest: rows of both copies.
        write_waiting: writes the documents that wait to be stored (the ingestor's staged
            batch), called when the copy found is one of them, so that the manifest knows
            it as indexed before it is compared.
        waiting: whether a content or text hash belongs to a document waiting to be stored.
    """

    def __init__(self, store: ChromaStore, manifest: Manifest, write_waiting: Callable[[], None],
                 waiting: Callable[[str], bool]):
        self.store = store
        self.manifest = manifest
        self.write_waiting = write_waiting
        self.waiting = waiting

    def twin(self, source: str, digest: str, column: str) -> DocumentRecord | None:
        """The indexed document other than ``source`` whose ``column`` (``content_hash`` or
        ``text_hash``) is ``digest``. One whose file is gone (renamed, moved) is removed
        instead, so the file at hand takes its place, and None is returned."""
        if self.waiting(digest):
            self.write_waiting()
        twin = self.manifest.indexed_with_hash(digest, other_than=source, column=column)
        if twin and not Path(twin.source).exists():
            self.store.delete(set(twin.chunk_ids) | set(twin.pending_ids))
            self.manifest.remove([twin.source])
            return None
        return twin

    @staticmethod
    def outranks(sidecar: dict, twin: DocumentRecord) -> bool:
        """Whether a file with ``sidecar`` metadata is indexed instead of its copy ``twin``:
        it is when a SOURCES.tsv row describes it and none describes the twin."""
        return bool(sidecar) and not sidecar_metadata(Path(twin.source))

    def record(self, path: Path, twin: DocumentRecord, hashes: tuple[str, str], fingerprint: str,
               old_ids: set[str], what: str) -> str:
        """Record ``path`` as a copy of ``twin`` (its earlier chunks, ``old_ids``, deleted).

        Args:
            hashes: the file's (content hash, text hash or "" when it was not read).
            what: "content" or "text", the kind of sameness, for the message.

        Returns:
            The one-line message for the report.
        """
        detail = f"{path}: same {what} as {Path(twin.source).name}; not indexed twice"
        self.store.delete(old_ids)
        content_hash, text_hash = hashes
        self.manifest.put(DocumentRecord(str(path.resolve()), content_hash, fingerprint, "duplicate",
                                         duplicate_of=twin.source, error=detail, text_hash=text_hash))
        return detail

    def demote(self, twin: DocumentRecord, winner: Path) -> None:
        """``twin`` gives way to ``winner`` (same content, better described): its chunks go."""
        self.store.delete(set(twin.chunk_ids))
        twin.status, twin.chunk_ids, twin.duplicate_of = "duplicate", [], str(winner.resolve())
        twin.error = f"{Path(twin.source).name}: same content as {winner.name}, which SOURCES.tsv describes; not indexed twice"
        self.manifest.put(twin)

    def still_a_copy(self, rec: DocumentRecord) -> bool:
        """Whether ``rec``, recorded as a duplicate, still copies a document that is indexed
        and whose file exists (else the file must be read again)."""
        original = self.manifest.get(rec.duplicate_of) if rec.status == "duplicate" and rec.duplicate_of else None
        if original is None or original.status != "indexed" or not Path(original.source).exists():
            return False
        return original.content_hash == rec.content_hash or bool(rec.text_hash and original.text_hash == rec.text_hash)
