"""Repair after an interrupted ingest: the manifest and the store brought back into
agreement, and a check that they agree."""

from __future__ import annotations

import logging

from assistant.core.store import ChromaStore
from ingest.manifest import Manifest

log = logging.getLogger(__name__)


class Repair:
    """Compares and mends the manifest's rows and the store's chunks."""

    def __init__(self, store: ChromaStore, manifest: Manifest):
        self.store = store
        self.manifest = manifest

    def recover(self, full: bool = False) -> list[str]:
        """Bring the manifest and the store back into agreement after an interrupted run.

        A ``pending`` row whose new chunks all made it is marked indexed; otherwise its
        chunks are removed with the row, so the file counts as new next time. With ``full``
        (the previous run did not finish) the whole store is compared with the manifest:
        chunks of no indexed row are deleted, and rows missing chunks are dropped.

        Returns:
            The sources that were repaired.
        """
        repaired: list[str] = []
        pending = [r for r in self.manifest.all() if r.status == "pending"]
        if not pending and not full:
            return repaired
        stored = self.store.ids_by_source()
        for rec in pending:
            have = stored.get(rec.source, set())
            if have == set(rec.pending_ids):
                rec.status, rec.chunk_ids, rec.pending_ids, rec.error = "indexed", rec.pending_ids, [], ""
                self.manifest.put(rec)
            else:
                self.store.delete(have)
                self.manifest.remove([rec.source])
                stored.pop(rec.source, None)
            repaired.append(rec.source)
        if full:
            rows = {r.source: r for r in self.manifest.all()}
            for source, ids in stored.items():
                rec = rows.get(source)
                expected = set(rec.chunk_ids) if rec else set()
                if ids == expected:
                    continue
                self.store.delete(ids - expected)
                if rec and not expected <= ids:
                    self.store.delete(ids & expected)
                    self.manifest.remove([source])
                repaired.append(source)
            for source, rec in rows.items():
                if rec.chunk_ids and source not in stored:
                    self.manifest.remove([source])
                    repaired.append(source)
        if repaired:
            log.warning("repaired %d document(s) left by an interrupted ingest", len(repaired))
        return sorted(set(repaired))

    def problems(self) -> list[str]:
        """Where the manifest and the store disagree, one line each; [] when they agree.

        Checks: no chunk of a source the manifest does not know (orphans); each known
        source's stored chunks are exactly its recorded ids; no row left pending; an indexed
        row has chunks; no chunk position of one file stored twice (old and new versions mixed).
        """
        out = []
        metadata = self.store.all_metadata()  # one scan serves both checks below
        stored: dict[str, set[str]] = {}
        for cid, md in metadata:
            stored.setdefault(str(md.get("source", "")), set()).add(cid)
        rows = {r.source: r for r in self.manifest.all()}
        for source, ids in stored.items():
            if source not in rows:
                out.append(f"{source}: {len(ids)} orphan chunks")
            elif set(rows[source].chunk_ids) != ids:
                out.append(f"{source}: store has {len(ids)} chunks, manifest records {len(rows[source].chunk_ids)}")
        for source, rec in rows.items():
            if rec.status == "pending":
                out.append(f"{source}: left pending")
            elif rec.status == "indexed" and not (rec.chunk_ids and stored.get(source) == set(rec.chunk_ids)):
                out.append(f"{source}: indexed without its chunks")
        seen: set[tuple[str, object]] = set()
        for _, md in metadata:
            key = (str(md.get("source", "")), md.get("chunk_index"))
            if key in seen:  # two versions of one file interleaved: old chunks left behind
                out.append(f"{key[0]}: chunk {key[1]} stored twice")
            seen.add(key)
        return out
