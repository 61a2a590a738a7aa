"""The ingest manifest: one SQLite row per document file, next to the Chroma index.

It records what each file was when last ingested (content hash, fingerprint, chunk ids,
pages, status, last error), so an unchanged folder is recognised without reading a
single document, duplicates are found by content hash, and ``--prune`` knows which
documents to drop.

Crash safety: a document's row is written as ``pending`` (with the ids about to be
written) before Chroma is touched, and marked ``indexed`` only after Chroma holds exactly
the new chunks. Every chunk in Chroma therefore belongs to a row, and a run that finds
``pending`` rows or an unfinished previous run repairs them (see
:meth:`ingest.pipeline.Ingestor.recover`).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    source        TEXT PRIMARY KEY,
    content_hash  TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    status        TEXT NOT NULL,
    chunk_ids     TEXT NOT NULL DEFAULT '[]',
    pending_ids   TEXT NOT NULL DEFAULT '[]',
    chunks        INTEGER NOT NULL DEFAULT 0,
    pages         INTEGER NOT NULL DEFAULT 0,
    ocr_pages     INTEGER NOT NULL DEFAULT 0,
    title         TEXT NOT NULL DEFAULT '',
    duplicate_of  TEXT NOT NULL DEFAULT '',
    error         TEXT NOT NULL DEFAULT '',
    updated_at    TEXT NOT NULL,
    text_hash     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS documents_hash ON documents (content_hash);
CREATE INDEX IF NOT EXISTS documents_text_hash ON documents (text_hash);
CREATE TABLE IF NOT EXISTS runs (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    started   TEXT NOT NULL,
    finished  TEXT
);
"""

#: Document statuses: chunks in the index (indexed), none because another file has the
#: same bytes (duplicate), none because the file holds no text (skipped), none because it
#: failed (error), or being written (pending).
STATUSES = ("indexed", "duplicate", "skipped", "error", "pending")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class DocumentRecord:
    """One manifest row. ``chunk_ids`` are the ids in Chroma when ``status`` is indexed;
    ``content_hash`` hashes the file's bytes, ``text_hash`` the text read from it."""

    source: str
    content_hash: str
    fingerprint: str
    status: str
    chunk_ids: list[str] = field(default_factory=list)
    pending_ids: list[str] = field(default_factory=list)
    pages: int = 0
    ocr_pages: int = 0
    title: str = ""
    duplicate_of: str = ""
    error: str = ""
    updated_at: str = ""
    text_hash: str = ""

    @property
    def chunks(self) -> int:
        return len(self.chunk_ids)


class Manifest:
    """The SQLite manifest at ``path`` (created on first use; safe to share between threads).

    Raises:
        sqlite3.DatabaseError: the file exists but is not a SQLite database.
    """

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(documents)")}
        if columns and "text_hash" not in columns:  # manifests written before text hashes
            self._db.execute("ALTER TABLE documents ADD COLUMN text_hash TEXT NOT NULL DEFAULT ''")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def _row(self, row: tuple) -> DocumentRecord:
        (source, content_hash, fingerprint, status, chunk_ids, pending_ids, _chunks, pages, ocr_pages, title,
         duplicate_of, error, updated_at, text_hash) = row
        return DocumentRecord(
            source, content_hash, fingerprint, status, json.loads(chunk_ids), json.loads(pending_ids),
            pages, ocr_pages, title, duplicate_of, error, updated_at, text_hash,
        )

    def get(self, source: str) -> DocumentRecord | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM documents WHERE source = ?", (source,)).fetchone()
        return self._row(row) if row else None

    def all(self) -> list[DocumentRecord]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM documents ORDER BY source").fetchall()
        return [self._row(r) for r in rows]

    def indexed_with_hash(self, content_hash: str, other_than: str, column: str = "content_hash") -> DocumentRecord | None:
        """An indexed document under another path whose bytes (or, with ``column="text_hash"``,
        whose text) hash to ``content_hash``, if any."""
        if column not in ("content_hash", "text_hash"):
            raise ValueError(f"unknown hash column {column!r}")
        with self._lock:
            row = self._db.execute(
                f"SELECT * FROM documents WHERE {column} = ? AND status = 'indexed' AND source != ? ORDER BY source LIMIT 1",
                (content_hash, other_than),
            ).fetchone()
        return self._row(row) if row else None

    def duplicates_of(self, source: str) -> list[DocumentRecord]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM documents WHERE duplicate_of = ?", (source,)).fetchall()
        return [self._row(r) for r in rows]

    def put(self, record: DocumentRecord) -> None:
        """Insert or replace ``record`` (committed when this returns)."""
        record.updated_at = _now()
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    record.source, record.content_hash, record.fingerprint, record.status,
                    json.dumps(record.chunk_ids), json.dumps(record.pending_ids), len(record.chunk_ids),
                    record.pages, record.ocr_pages, record.title, record.duplicate_of, record.error, record.updated_at,
                    record.text_hash,
                ),
            )

    def remove(self, sources: Iterable[str]) -> None:
        with self._lock:
            self._db.executemany("DELETE FROM documents WHERE source = ?", [(s,) for s in sources])

    def clear(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM documents")

    def start_run(self) -> tuple[int, bool]:
        """Record a run's start. Returns (run id, whether the previous run ended cleanly)."""
        with self._lock:
            last = self._db.execute("SELECT finished FROM runs ORDER BY id DESC LIMIT 1").fetchone()
            cur = self._db.execute("INSERT INTO runs (started) VALUES (?)", (_now(),))
            return int(cur.lastrowid), last is None or last[0] is not None

    def finish_run(self, run_id: int) -> None:
        with self._lock:
            self._db.execute("UPDATE runs SET finished = ? WHERE id = ?", (_now(), run_id))
            self._db.execute("DELETE FROM runs WHERE id < ?", (run_id,))
