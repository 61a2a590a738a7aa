"""Passage vectors already computed, in one SQLite file: float32 values keyed by the SHA-256 of
the text, per model and prefix (``namespace``).

LangChain's ``CacheBackedEmbeddings`` does the caching; this module gives it a byte store in
one file and a compact encoding (384 float32 values are 1,536 bytes, against about 8.4 KB as
the JSON file per vector that ``LocalFileStore`` kept: 13,183 files for the shared corpora).
A folder of that older cache is read once into the file and then deleted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from langchain_core.stores import ByteStore

log = logging.getLogger(__name__)


class SqliteByteStore(ByteStore):
    """A LangChain ``ByteStore`` in one SQLite file (WAL, so several processes can share it).

    Keys are strings, stored as given; values bytes. Thread-safe.

    Args:
        path: the database file (created with its folder).
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            # Large pages (set before the first table; ignored after): a 4 kB page holds two
            # 1.5 kB vectors and leaves a fifth of itself empty, a 16 kB page nine.
            db.execute("PRAGMA page_size=16384")
            db.execute("PRAGMA journal_mode=WAL")
            # A rowid table, not WITHOUT ROWID: values of 1.5 kB would leave most of each
            # page of a WITHOUT ROWID b-tree empty (4.7 kB a vector, measured).
            db.execute("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL)")
            self._db = db
        return self._db

    def mget(self, keys: Sequence[str]) -> list[bytes | None]:
        with self._lock:
            db = self._conn()
            found: dict[str, bytes] = {}
            for start in range(0, len(keys), 500):  # SQLite's bound-parameter limit
                part = list(keys[start : start + 500])
                marks = ",".join("?" * len(part))
                found.update(db.execute(f"SELECT key, value FROM kv WHERE key IN ({marks})", part).fetchall())
        return [found.get(k) for k in keys]

    def mset(self, key_value_pairs: Sequence[tuple[str, bytes]]) -> None:
        with self._lock:
            db = self._conn()
            with db:
                db.executemany("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", list(key_value_pairs))

    def mdelete(self, keys: Sequence[str]) -> None:
        with self._lock:
            db = self._conn()
            with db:
                db.executemany("DELETE FROM kv WHERE key = ?", [(k,) for k in keys])

    def yield_keys(self, *, prefix: str | None = None) -> Iterator[str]:
        with self._lock:
            rows = self._conn().execute("SELECT key FROM kv ORDER BY key").fetchall()
        for (key,) in rows:
            if prefix is None or key.startswith(prefix):
                yield key

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def encode_vector(vector: Sequence[float]) -> bytes:
    """``vector`` as little-endian float32 bytes (4 bytes a value)."""
    return np.asarray(vector, dtype="<f4").tobytes()


def decode_vector(raw: bytes) -> list[float]:
    """The inverse of :func:`encode_vector`."""
    return np.frombuffer(raw, dtype="<f4").astype(float).tolist()


def text_key(namespace: str, text: str) -> str:
    """The cache key of ``text``: its namespace, then the SHA-256 of the text in hex (the
    layout of ``LocalFileStore``'s paths, so older entries migrate by name)."""
    return namespace + hashlib.sha256(text.encode("utf-8")).hexdigest()


def migrate_folder(folder: Path, store: SqliteByteStore, batch: int = 2000) -> int:
    """Copy every vector of an older ``LocalFileStore`` cache ``folder`` (``<namespace>/<sha256
    hex>`` files holding JSON lists) into ``store``, then delete the folder.

    Returns:
        how many vectors were copied (unreadable files are skipped and logged).
    """
    if not folder.is_dir():
        return 0
    moved = 0
    pairs: list[tuple[str, bytes]] = []
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        try:
            vector = json.loads(path.read_bytes())
        except (OSError, ValueError) as exc:
            log.warning("vector cache: skipped %s (%s)", path, exc)
            continue
        pairs.append((path.relative_to(folder).as_posix(), encode_vector(vector)))
        if len(pairs) >= batch:
            store.mset(pairs)
            moved, pairs = moved + len(pairs), []
    store.mset(pairs)
    moved += len(pairs)
    shutil.rmtree(folder, ignore_errors=True)
    log.info("vector cache: %d vectors moved from %s into %s", moved, folder, store.path)
    return moved
