"""The version pass: after each change to the store, which document replaces which is
recorded again on the chunks (``replaced_by``, ``replaced_on``; the rules are
:mod:`assistant.core.versions`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from assistant.core.store import ChromaStore
from assistant.core.types import Chunk
from assistant.core.versions import changed_chunks, differs, replacements


class VersionPass:
    """Keeps the version fields of ``store``'s chunks true.

    Attributes:
        written: sources written since the pass last ran; the ingestor adds to it.
    """

    def __init__(self, store: ChromaStore):
        self.store = store
        self.written: set[str] = set()

    @contextmanager
    def kept(self, always: bool = False) -> Iterator[None]:
        """After a change to the store (or ``always``), record again which documents replace
        which (:mod:`assistant.core.versions`); a run that wrote nothing costs nothing.

        The usual pass reads one chunk per document (its first) plus every chunk of the
        documents written in this run, not the whole collection, whose full read grows with
        it (2.5 s at 13k chunks). ``always`` (after an interrupted run, when a document's chunks may
        disagree among themselves) reads and checks every chunk.
        """
        before = self.store.version
        self.written = set()
        yield
        if always:
            changed = changed_chunks(self.store.all_metadata())
        elif self.store.version != before:
            heads = {str(md.get("source", "")): md for _, md in self.store.all_metadata(where={"chunk_index": 0})}
            wanted = replacements(heads)
            # Chunks written in this run carry no version fields yet, whatever their head says.
            check = [src for src, md in heads.items() if src in self.written or differs(md, wanted[src])]
            changed = changed_chunks(self.store.metadata_of(check), wanted)
        else:
            return
        # Each document's first chunk last: the usual pass judges a document by it, so a pass
        # cut short leaves that chunk stale too, and the next pass finishes the document.
        changed.sort(key=lambda item: item[1].get("chunk_index") == 0)
        self.store.update_metadata([Chunk(cid, "", md) for cid, md in changed])
