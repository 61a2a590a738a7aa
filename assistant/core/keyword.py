"""Keyword search on tantivy: BM25 over jieba terms, exact phrases, and each chunk's text and
metadata, on disk, memory-mapped.

The index is derived from the Chroma collection and kept in step with it through the
collection's change journal (:class:`~assistant.core.store.Journal`): a sync re-indexes only
the documents written since the journal point the index records, and everything when the
journal cannot tell. Every process (an ingest, each serving instance) keeps its own copy in
its data folder; the copy is a cache that can always be rebuilt from the collection.

Crash safety: the journal point is written (atomically, by rename) only after tantivy has
committed the documents it covers, so a killed process leaves the index at or behind its
point, never ahead; re-indexing a document is idempotent (delete by source, add again).

Fields per chunk: ``id``, ``source`` (raw strings), ``chunk_index`` (integer), ``lead``
("1" on a document's first chunk: one row per document, for filters), ``terms`` (the
chunk's jieba search terms, pre-tokenised: tantivy scores them with BM25), ``grams`` (the
chunk's characters in overlapping pairs, with positions: a phrase query of a name's pairs
finds it verbatim, however jieba would cut it) and ``record`` (the chunk's text and
metadata as JSON, stored only).

tantivy: https://github.com/quickwit-oss/tantivy (BM25 with k1 = 1.2, b = 0.75).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tantivy

from assistant.core.store import ChromaStore, Journal
from assistant.core.text import Tokenizer, normalise
from assistant.core.types import Chunk

log = logging.getLogger(__name__)

#: Version of the fields and of what goes into them; an index of another version is rebuilt.
SCHEMA_VERSION = 1

#: Brackets that the same 文号 is typed with (〔2024〕, [2024], ［2024］, (2024), 【2024】):
#: one form for matching.
_BRACKETS = str.maketrans({"〔": "(", "〕": ")", "[": "(", "]": ")", "【": "(", "】": ")", "（": "(", "）": ")"})
_SPACE = re.compile(r"\s+")


def phrase_form(text: str) -> str:
    """``text`` as exact matching compares it: :func:`~assistant.core.text.normalise`d,
    without whitespace, with one form of bracket."""
    return _SPACE.sub("", normalise(text).translate(_BRACKETS))


def char_pairs(text: str) -> list[str]:
    """Overlapping character pairs of ``text``'s :func:`phrase_form` ("低保标准" -> 低保,
    保标, 标准); one character gives itself."""
    form = phrase_form(text)
    if len(form) < 2:
        return [form] if form else []
    return [form[i : i + 2] for i in range(len(form) - 1)]


@dataclass(frozen=True)
class Point:
    """The journal point (``epoch``, ``seq``) an index reflects, and the fields' version."""

    epoch: str = ""
    seq: int = 0
    schema: int = SCHEMA_VERSION


class KeywordIndex:
    """The collection's chunks in a tantivy index at ``path``, kept in step with ``store``.

    Args:
        path: folder of the index (created; rebuilt when its fields are of another version).
        store: the collection the index derives from.
        tokenizer: cuts chunk texts and queries into terms (its fingerprint is part of the
            point: an index cut by another dictionary is rebuilt, so every process writing
            one index folder must use the same term map).
        refresh_seconds: how often, at most, :meth:`refresh` reads the journal for other
            processes' writes (one metadata read).
        writer_heap: bytes tantivy buffers before writing a segment (its minimum is 15 MB).

    Thread-safe: searches run on the current searcher while one thread syncs.
    """

    #: Documents read from the collection at a time in a full rebuild.
    REBUILD_DOCUMENTS = 200
    #: Seconds between checks that the index holds as many chunks as the collection.
    COUNT_CHECK_SECONDS = 30.0

    def __init__(self, path: Path, store: ChromaStore, tokenizer: Tokenizer, refresh_seconds: float = 1.0,
                 writer_heap: int = 64_000_000):
        self.path = Path(path)
        self.store = store
        self.tokenizer = tokenizer
        self.refresh_seconds = refresh_seconds
        self.writer_heap = writer_heap
        self._lock = threading.RLock()
        self._index: tantivy.Index | None = None
        self._searcher: tantivy.Searcher | None = None
        self._point = Point()
        self._version = -1  # the store's write counter when this process last synced
        self._checked_at = float("-inf")
        self._counted_at = 0.0
        self._suspect: tuple[str, int] | None = None
        self._documents: dict[str, dict[str, Any]] = {}
        #: bumped at every reload: what was derived from the index before is stale
        self.generation = 0
        self._doc_freq: dict[str, int] = {}

    # -- opening -----------------------------------------------------------------------------

    def _schema(self) -> tantivy.Schema:
        b = tantivy.SchemaBuilder()
        b.add_text_field("id", stored=True, tokenizer_name="raw")
        b.add_text_field("source", stored=True, tokenizer_name="raw")
        b.add_integer_field("chunk_index", stored=True, indexed=True, fast=True)
        b.add_text_field("lead", tokenizer_name="raw")
        b.add_text_field("terms", index_option="freq")
        b.add_text_field("grams", index_option="position")
        b.add_bytes_field("record", stored=True)
        return b.build()

    @property
    def _point_file(self) -> Path:
        return self.path / "point.json"

    def _fingerprint(self) -> str:
        return self.tokenizer.fingerprint

    def _read_point(self) -> Point:
        try:
            data = json.loads(self._point_file.read_text(encoding="utf-8"))
            if data.get("tokenizer") != self._fingerprint():
                return Point(schema=-1)
            return Point(str(data["epoch"]), int(data["seq"]), int(data["schema"]))
        except (OSError, ValueError, KeyError, TypeError):
            return Point(schema=-1)

    def _write_point(self, point: Point) -> None:
        tmp = self._point_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"epoch": point.epoch, "seq": point.seq, "schema": point.schema,
                                   "tokenizer": self._fingerprint()}), encoding="utf-8")
        os.replace(tmp, self._point_file)
        self._point = point

    def _open(self) -> tantivy.Index:
        if self._index is None:
            with self._lock:
                if self._index is None:
                    self._open_now()
        assert self._index is not None
        return self._index

    def _open_now(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        point = self._read_point()
        if point.schema != SCHEMA_VERSION:
            # Another version of the fields or another dictionary: start over.
            for old in self.path.iterdir():
                if old.is_file():
                    old.unlink()
            point = Point(schema=-1)
        self._index = tantivy.Index(self._schema(), path=str(self.path), reuse=True)
        self._point = point
        self._reload()

    def _reload(self, changed: set[str] | None = None, point: Point | None = None, keep: bool = True) -> None:
        """Search what was last committed; the document table is read again for the
        ``changed`` sources only (all when None).

        The table is also kept in ``heads.sqlite`` beside the index, stamped with the journal
        ``point`` it matches (default: the index's): a start whose point matches reads it
        from there. Reading it from the index instead touches a stored record in nearly
        every block of the document store, about half of the index's pages at 1M chunks,
        which then count in the process's memory. ``keep`` False leaves the file alone (a
        process reading what another one writes)."""
        index = self._index
        assert index is not None
        index.reload()
        searcher = index.searcher()
        point = point or self._point
        heads = _Heads(self.path / "heads.sqlite")
        if changed is None:
            documents = heads.load(point) if searcher.num_docs else {}
            if documents is None:
                documents = self._leads(searcher, None)
                if keep:
                    heads.replace(documents, point)
        else:
            documents = {s: md for s, md in self._documents.items() if s not in changed}
            fresh = self._leads(searcher, changed) if changed else {}
            documents.update(fresh)
            if keep:
                heads.update(changed, fresh, point)
        self._searcher, self._documents, self._doc_freq = searcher, documents, {}
        self.generation += 1

    def _leads(self, searcher: tantivy.Searcher, sources: set[str] | None) -> dict[str, dict[str, Any]]:
        """source -> first-chunk metadata, from the stored records (of ``sources``; all when None)."""
        index = self._index
        assert index is not None
        leads = tantivy.Query.term_query(index.schema, "lead", "1")
        if sources is not None:
            leads = tantivy.Query.boolean_query([
                (tantivy.Occur.Must, leads),
                (tantivy.Occur.Must, tantivy.Query.term_set_query(index.schema, "source", sorted(sources))),
            ])
        out: dict[str, dict[str, Any]] = {}
        if searcher.num_docs:
            for _, address in searcher.search(leads, limit=searcher.num_docs, count=False).hits:
                record = json.loads(bytes(searcher.doc(address)["record"][0]))
                out[str(record["metadata"].get("source", ""))] = record["metadata"]
        return out

    # -- keeping in step ---------------------------------------------------------------------

    def refresh(self) -> None:
        """Bring the index up to date if the collection changed: at once for this process's
        writes, within ``refresh_seconds`` for other processes'. Another thread already
        syncing is not waited for."""
        self._open()
        if not self._lock.acquire(blocking=False):
            return
        try:
            journal = self._news()
            if journal is not None:
                self._sync(journal)
        finally:
            self._lock.release()

    def sync(self) -> None:
        """Bring the index up to date with the collection now (after an ingest's write)."""
        self._open()
        with self._lock:
            self._version = self.store.version
            self._sync(self.store.journal())

    def _news(self) -> Journal | None:
        """The journal when the collection may have changed since the index's point, else None."""
        point = self._point
        if self.store.version != self._version:
            self._version = self.store.version
            return self.store.journal()
        now = time.monotonic()
        if now - self._checked_at < self.refresh_seconds:
            return None
        self._checked_at = now
        journal = self.store.journal()
        if (journal.epoch, journal.seq) != (point.epoch, point.seq) or point.schema != SCHEMA_VERSION:
            return journal
        if now - self._counted_at >= self.COUNT_CHECK_SECONDS:
            # A write the journal missed (a writer killed between its write and its journal
            # entry) shows as counts that disagree twice in a row at one journal point.
            self._counted_at = now
            here = (journal.epoch, journal.seq)
            if self.store.count() == len(self):
                self._suspect = None
            elif self._suspect != here:
                self._suspect = here
            else:
                self._suspect = None
                self._point = Point(schema=-1)  # forces a full rebuild
                return journal
        return None

    def _sync(self, journal: Journal) -> None:
        point = self._point
        changed = journal.since(point.epoch, point.seq) if point.schema == SCHEMA_VERSION else None
        if changed is not None and not changed:
            if (journal.epoch, journal.seq) != (point.epoch, point.seq):
                new = Point(journal.epoch, journal.seq)
                _Heads(self.path / "heads.sqlite").restamp(point, new)
                self._write_point(new)
            return
        index = self._open()
        try:
            writer = index.writer(heap_size=self.writer_heap, num_threads=1)
        except ValueError as exc:
            # Another process on this data folder holds the writer and keeps the index in
            # step: read what it committed.
            log.info("keyword index %s is being written by another process (%s)", self.path, exc)
            self._point = self._read_point()
            self._reload(keep=False)
            return
        started = time.monotonic()
        if changed is None:
            writer.delete_all_documents()
            # Whole documents at a time, so that each document's first chunk is known.
            sources = sorted(self.store.ids_by_source())
            for start in range(0, len(sources), self.REBUILD_DOCUMENTS):
                self._add(writer, self.store.chunks_of(sources[start : start + self.REBUILD_DOCUMENTS]))
        else:
            for source in sorted(changed):
                writer.delete_documents_by_term("source", source)
            self._add(writer, self.store.chunks_of(sorted(changed)))
        writer.commit()
        writer.wait_merging_threads()
        new = Point(journal.epoch, journal.seq)
        # The document table first, the point last: a crash between them leaves the table
        # stamped with a point the index does not claim, and the next start reads it afresh.
        self._reload(changed, point=new)
        self._write_point(new)
        log.info("keyword index: %s in %.2f s (%d chunks)",
                 "rebuilt" if changed is None else f"{len(changed)} documents re-indexed", time.monotonic() - started, len(self))

    def _add(self, writer: tantivy.IndexWriter, chunks: Sequence[Chunk]) -> None:
        """Add ``chunks`` (whole documents) to ``writer``."""
        first: dict[str, int] = {}
        for c in chunks:
            at = c.meta.chunk_index
            first[c.meta.source] = min(at, first.get(c.meta.source, at))
        for c in chunks:
            doc = tantivy.Document()
            doc.add_text("id", c.id)
            doc.add_text("source", c.meta.source)
            doc.add_integer("chunk_index", c.meta.chunk_index)
            if c.meta.chunk_index == first[c.meta.source]:
                doc.add_text("lead", "1")
            text = c.context_text()
            doc.add_pre_tokenized_text("terms", _pre_tokenized(self.tokenizer.terms(text)))
            doc.add_pre_tokenized_text("grams", _pre_tokenized(char_pairs(text)))
            doc.add_bytes("record", json.dumps({"id": c.id, "text": c.text, "metadata": c.metadata},
                                               ensure_ascii=False).encode("utf-8"))
            writer.add_document(doc)

    # -- reading -----------------------------------------------------------------------------

    def __len__(self) -> int:
        self._open()
        return self._searcher.num_docs if self._searcher is not None else 0

    def ids(self) -> set[str]:
        """Every indexed chunk id (reads every stored record: for checks, not for serving)."""
        self._open()
        searcher = self._searcher
        if searcher is None or not searcher.num_docs:
            return set()
        hits = searcher.search(tantivy.Query.all_query(), limit=searcher.num_docs, count=False).hits
        return {str(searcher.doc(address)["id"][0]) for _, address in hits}

    @property
    def documents(self) -> dict[str, dict[str, Any]]:
        """Each indexed document (``source``) with the metadata of its first chunk."""
        self._open()
        return self._documents

    def doc_freq(self, term: str) -> int:
        """How many chunks hold ``term`` among their search terms."""
        self._open()
        found = self._doc_freq.get(term)
        if found is None:
            found = self._doc_freq[term] = self._searcher.doc_freq("terms", term) if self._searcher else 0
        return found

    def search(self, terms: Iterable[str], k: int, sources: Iterable[str] | None = None) -> list[tuple[Chunk, float]]:
        """The ``k`` chunks with the highest BM25 score for ``terms``, as (chunk, score), best
        first; only chunks holding at least one term; among ``sources`` when given."""
        index = self._open()
        wanted = list(dict.fromkeys(t for t in terms if t))
        if not wanted or k <= 0:
            return []
        query = tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(index.schema, "terms", t, index_option="freq")) for t in wanted]
        )
        return self._hits(self._within(query, sources), k)

    def containing(self, phrase: str, k: int, sources: Iterable[str] | None = None) -> list[tuple[Chunk, float]]:
        """Up to ``k`` chunks whose text (with title and headings) holds ``phrase`` verbatim
        (:func:`phrase_form` on both sides), best first by tantivy's phrase score."""
        index = self._open()
        pairs = char_pairs(phrase)
        if not pairs or k <= 0:
            return []
        if len(pairs) == 1:
            query = tantivy.Query.term_query(index.schema, "grams", pairs[0])
        else:
            query = tantivy.Query.phrase_query(index.schema, "grams", pairs)
        return self._hits(self._within(query, sources), k)

    def around(self, source: str, chunk_index: int, window: int) -> list[Chunk]:
        """The chunks of ``source`` whose index is within ``window`` of ``chunk_index``, in order."""
        index = self._open()
        query = tantivy.Query.boolean_query([
            (tantivy.Occur.Must, tantivy.Query.term_query(index.schema, "source", source)),
            (tantivy.Occur.Must, tantivy.Query.range_query(index.schema, "chunk_index", tantivy.FieldType.Integer,
                                                           chunk_index - window, chunk_index + window)),
        ])
        found = [chunk for chunk, _ in self._hits(query, 2 * window + 1)]
        return sorted(found, key=lambda c: c.meta.chunk_index)

    def _within(self, query: tantivy.Query, sources: Iterable[str] | None) -> tantivy.Query:
        if sources is None:
            return query
        index = self._open()
        return tantivy.Query.boolean_query([
            (tantivy.Occur.Must, query),
            (tantivy.Occur.Must, tantivy.Query.term_set_query(index.schema, "source", sorted(sources))),
        ])

    def _hits(self, query: tantivy.Query, k: int) -> list[tuple[Chunk, float]]:
        searcher = self._searcher
        if searcher is None or not searcher.num_docs:
            return []
        out = []
        for score, address in searcher.search(query, limit=k, count=False).hits:
            record = json.loads(bytes(searcher.doc(address)["record"][0]))
            out.append((Chunk(id=record["id"], text=record["text"], metadata=record["metadata"]), float(score)))
        return out


class _Heads:
    """The document table (source -> first-chunk metadata) in a SQLite file, stamped with
    the journal point it matches (:meth:`KeywordIndex._reload`)."""

    def __init__(self, path: Path):
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.path))
        db.execute("CREATE TABLE IF NOT EXISTS heads (source TEXT PRIMARY KEY, metadata TEXT NOT NULL)")
        db.execute("CREATE TABLE IF NOT EXISTS stamp (one INTEGER PRIMARY KEY CHECK (one = 1), point TEXT NOT NULL)")
        return db

    @staticmethod
    def _stamp(point: Point) -> str:
        return json.dumps([point.epoch, point.seq, point.schema])

    def load(self, point: Point) -> dict[str, dict[str, Any]] | None:
        """The table if it is stamped with ``point``, else None."""
        if not self.path.exists() or point.schema != SCHEMA_VERSION:
            return None
        try:
            db = self._connect()
            try:
                row = db.execute("SELECT point FROM stamp").fetchone()
                if row is None or row[0] != self._stamp(point):
                    return None
                return {source: json.loads(md) for source, md in db.execute("SELECT source, metadata FROM heads")}
            finally:
                db.close()
        except (sqlite3.Error, ValueError):
            return None

    def restamp(self, old: Point, new: Point) -> None:
        """Move the stamp from ``old`` to ``new`` (nothing changed in between); a table
        stamped otherwise stays as it is."""
        if not self.path.exists():
            return
        try:
            db = self._connect()
            try:
                with db:
                    db.execute("UPDATE stamp SET point = ? WHERE point = ?", (self._stamp(new), self._stamp(old)))
            finally:
                db.close()
        except sqlite3.Error as exc:
            log.warning("keyword index: could not keep the document table in %s (%s)", self.path, exc)

    def replace(self, documents: dict[str, dict[str, Any]], point: Point) -> None:
        self._write(None, documents, point)

    def update(self, changed: set[str], fresh: dict[str, dict[str, Any]], point: Point) -> None:
        self._write(changed, fresh, point)

    def _write(self, changed: set[str] | None, rows: dict[str, dict[str, Any]], point: Point) -> None:
        try:
            db = self._connect()
            try:
                with db:
                    if changed is None:
                        db.execute("DELETE FROM heads")
                    else:
                        db.executemany("DELETE FROM heads WHERE source = ?", [(s,) for s in changed])
                    db.executemany("INSERT OR REPLACE INTO heads (source, metadata) VALUES (?, ?)",
                                   [(s, json.dumps(md, ensure_ascii=False)) for s, md in rows.items()])
                    db.execute("INSERT OR REPLACE INTO stamp (one, point) VALUES (1, ?)", (self._stamp(point),))
            finally:
                db.close()
        except sqlite3.Error as exc:  # the table is a cache: the next start reads the index instead
            log.warning("keyword index: could not keep the document table in %s (%s)", self.path, exc)


def _pre_tokenized(tokens: Sequence[str]) -> tantivy.PreTokenizedString:
    # Offsets are not used (nothing is highlighted from this index); positions are.
    return tantivy.PreTokenizedString("", [tantivy.Token(t, i, 0, 0) for i, t in enumerate(tokens)])
