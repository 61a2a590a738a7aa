"""The Chroma collection that holds chunks, their vectors and metadata.

The collection records which embedding model built it (``embedding_model``) and the vector
length (``embedding_dim``); opening it with another model raises
:class:`EmbeddingMismatchError` instead of returning nonsense neighbours. The embedding
function is always passed explicitly, so Chroma never falls back to its own downloaded model.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import chromadb
from chromadb.errors import NotFoundError
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings as ChromaEmbeddings
from chromadb.utils.embedding_functions import register_embedding_function

from assistant.core.embeddings import LazyEmbeddings
from assistant.core.types import Chunk


class EmbeddingMismatchError(RuntimeError):
    """The index was built with another embedding model or dimension than configured."""


@register_embedding_function
class ChromaEmbeddingAdapter(EmbeddingFunction[Documents]):
    """Chroma embedding function backed by minsheng's :class:`LazyEmbeddings`.

    Documents get the passage prefix, queries the query prefix, as e5 requires.
    """

    def __init__(self, embeddings: LazyEmbeddings):
        self._embeddings = embeddings

    def __call__(self, input: Documents) -> ChromaEmbeddings:
        return self._embeddings.embed_documents(list(input))  # type: ignore[return-value]

    def embed_query(self, input: Documents) -> ChromaEmbeddings:
        return [self._embeddings.embed_query(t) for t in input]  # type: ignore[misc]

    @staticmethod
    def name() -> str:
        return "minsheng"

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"

    def get_config(self) -> dict[str, Any]:
        return {"model": self._embeddings.model_name}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> "ChromaEmbeddingAdapter":
        # Chroma calls this to check the config round-trips; minsheng itself always passes
        # its own adapter. Lazy, so nothing is loaded here.
        from assistant.core.settings import default_cache_dir

        return ChromaEmbeddingAdapter(LazyEmbeddings(str(config.get("model", "")), default_cache_dir()))

    def validate_config_update(self, old_config: dict[str, Any], new_config: dict[str, Any]) -> None:
        return None


def open_client(path: Path | None = None, url: str | None = None) -> chromadb.ClientAPI:
    """A Chroma client with telemetry off: an ``HttpClient`` for the server at ``url``
    (http or https; the port defaults to Chroma's 8000, or 443 for https), else an embedded
    ``PersistentClient`` under ``path``.

    Raises:
        ValueError: neither given, or ``url`` is not an http(s) address.
    """
    settings = chromadb.config.Settings(anonymized_telemetry=False, allow_reset=True)
    if url:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/"):
            raise ValueError(f"MINSHENG_CHROMA_URL: expected an address like http://127.0.0.1:8000, got {url!r}")
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname  # IPv6 literal
        port = parts.port or (443 if parts.scheme == "https" else 8000)
        return chromadb.HttpClient(host=host, port=port, ssl=parts.scheme == "https", settings=settings)
    if path is None:
        raise ValueError("open_client needs a folder or a server address")
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=settings)


#: Collection metadata key of the change journal (see :class:`Journal`).
JOURNAL_KEY = "minsheng_journal"
#: Writes the journal remembers; a reader further behind reloads everything.
JOURNAL_LENGTH = 200
#: Documents the journal names at most, over all its writes: it is rewritten on every write
#: and read every second by each serving process, so it stays small (about 100 bytes each).
#: A reader behind by more documents than this reloads, which then costs about the same.
JOURNAL_SOURCES = 2000
#: Chunks per write call. Chroma's cost per call is mostly fixed (a commit, a merge of its
#: full-text index), so few large calls beat many small ones. Measured here (bench notes in
#: ``bench/results/scale-large.md``): 8,192 chunks of 320 characters took 33.5 s in calls of
#: 256, 24.3 s in calls of 1,024 and 23.0 s in calls of 4,096.
WRITE_BATCH = 1024


@dataclass(frozen=True)
class Journal:
    """Which documents (``source``) the last writes touched, kept in the collection's metadata.

    Every process that shares a Chroma server reads it to keep its lexical index in step
    with the collection, re-reading only the documents written since it last looked. It says
    only *which* documents changed; their chunks are read from the collection itself.

    Attributes:
        epoch: random id of this collection's life; a rebuilt collection starts a new one.
        seq: number of writes recorded so far.
        recent: (seq, sources) of the last writes, oldest first: at most :data:`JOURNAL_LENGTH`
            of them, naming at most :data:`JOURNAL_SOURCES` documents in all.
    """

    epoch: str = ""
    seq: int = 0
    recent: tuple[tuple[int, tuple[str, ...]], ...] = ()

    @classmethod
    def parse(cls, raw: object) -> "Journal":
        """The journal stored as JSON; an absent or unreadable one is the empty journal."""
        try:
            data = json.loads(str(raw)) if raw else {}
            return cls(str(data["epoch"]), int(data["seq"]), tuple((int(n), tuple(src)) for n, src in data["recent"]))
        except (ValueError, KeyError, TypeError):
            return cls()

    def dumps(self) -> str:
        return json.dumps({"epoch": self.epoch, "seq": self.seq, "recent": [[n, list(src)] for n, src in self.recent]},
                          ensure_ascii=False)

    def after(self, sources: Iterable[str]) -> "Journal":
        """This journal with one more write, touching ``sources``."""
        seq = self.seq + 1
        recent = (*self.recent, (seq, tuple(sorted(set(sources)))))[-JOURNAL_LENGTH:]
        while len(recent) > 1 and sum(len(src) for _, src in recent) > JOURNAL_SOURCES:
            recent = recent[1:]
        return Journal(self.epoch or uuid.uuid4().hex, seq, recent)

    def since(self, epoch: str, seq: int) -> set[str] | None:
        """Sources written after point (``epoch``, ``seq``), or None when this journal cannot
        tell (another epoch, or the point fell out of :attr:`recent`): reload everything."""
        if epoch != self.epoch or seq > self.seq:
            return None
        if seq == self.seq:
            return set()
        if not self.recent or self.recent[0][0] > seq + 1:
            return None
        return {src for n, sources in self.recent if n > seq for src in sources}


def _sources(chunks: Iterable[Chunk]) -> set[str]:
    return {str(c.metadata.get("source", "")) for c in chunks}


class ChromaStore:
    """Chunks in one Chroma collection, embedded with one model.

    Args:
        client: a Chroma client (embedded ``PersistentClient`` or ``HttpClient``).
        collection_name: collection to use (created on first use).
        embeddings: the model that embeds chunks and questions.
        location: shown in error messages (the index folder or server address).
    """

    def __init__(self, client: chromadb.ClientAPI, collection_name: str, embeddings: LazyEmbeddings, location: str):
        self._client = client
        self._name = collection_name
        self._embeddings = embeddings
        self._ef = ChromaEmbeddingAdapter(embeddings)
        self._location = location
        self._collection = None
        self._max_batch: int | None = None  # the server's limit per call, asked once
        #: bumped on every write in this process; readers use it to refresh derived indexes
        self.version = 0
        #: the journal as this process last wrote or read it
        self.last_journal = Journal()

    @property
    def location(self) -> str:
        """The index folder or the Chroma server's address."""
        return self._location

    @property
    def model_name(self) -> str:
        return self._embeddings.model_name

    def _rebuild_hint(self) -> str:
        return (
            f"rebuild it with `minsheng ingest --rebuild PATH...` or delete {self._location}, "
            "or set MINSHENG_EMBEDDING_MODEL back to the model that built it"
        )

    @property
    def collection(self):
        if self._collection is None:
            col = self._client.get_or_create_collection(
                self._name,
                embedding_function=self._ef,
                metadata={"embedding_model": self.model_name, "hnsw:space": "cosine"},
            )
            built_with = (col.metadata or {}).get("embedding_model")
            if built_with != self.model_name:
                raise EmbeddingMismatchError(
                    f"index '{self._name}' at {self._location} was built with embedding model "
                    f"'{built_with}', but the configured model is '{self.model_name}': {self._rebuild_hint()}"
                )
            self._collection = col
            self.last_journal = Journal.parse((col.metadata or {}).get(JOURNAL_KEY))
        return self._collection

    def journal(self) -> Journal:
        """The change journal as stored now: one read of the collection's metadata (a round
        trip when the collection is on a server)."""
        try:
            col = self._client.get_collection(self._name, embedding_function=self._ef)
        except NotFoundError:
            return Journal()  # no collection yet, or it was deleted: nothing recorded
        if self._collection is not None and self._collection.id != col.id:
            # Another process rebuilt the collection: the handle held here is to the old one.
            self._collection = None
        return Journal.parse((col.metadata or {}).get(JOURNAL_KEY))

    def _record(self, sources: Iterable[str]) -> None:
        """Note a write touching ``sources`` in the journal, for this and other processes."""
        self._collection = None  # read the metadata as stored, not as this process last saw it
        col = self.collection
        md = dict(col.metadata or {})
        md.pop("hnsw:space", None)  # fixed at creation; Chroma refuses to modify it
        journal = Journal.parse(md.get(JOURNAL_KEY)).after(sources)
        md[JOURNAL_KEY] = journal.dumps()
        col.modify(metadata=md)
        self.last_journal = journal
        self.version += 1

    def reset(self) -> None:
        """Delete the collection and everything in it."""
        try:
            self._client.delete_collection(self._name)
        except Exception:  # noqa: BLE001 - absent collection: nothing to delete
            pass
        self._collection = None
        self.last_journal = Journal()
        self.version += 1

    def count(self) -> int:
        return self.collection.count()

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        """The subset of ``ids`` already stored."""
        if not ids:
            return set()
        return set(self.collection.get(ids=list(ids), include=[])["ids"])

    def _check_dimension(self, dim: int) -> None:
        col = self.collection
        md = dict(col.metadata or {})
        recorded = md.get("embedding_dim")
        if recorded is None:
            md["embedding_dim"] = dim
            md.pop("hnsw:space", None)  # fixed at creation; Chroma refuses to modify it
            col.modify(metadata=md)
        elif int(recorded) != dim:
            raise EmbeddingMismatchError(
                f"index '{self._name}' at {self._location} holds {recorded}-dimensional vectors, "
                f"but '{self.model_name}' makes {dim}-dimensional ones: {self._rebuild_hint()}"
            )

    def add(self, chunks: Sequence[Chunk], batch_size: int = 64, write_batch: int = WRITE_BATCH) -> int:
        """Embed and store ``chunks``; returns how many were written.

        Vectors are computed ``batch_size`` chunks at a time (the model's batch) and written
        ``write_batch`` at a time (see :data:`WRITE_BATCH`), capped by the server's own limit.

        Raises:
            EmbeddingMismatchError: vectors of another length than the index holds.
        """
        chunks = list({c.id: c for c in chunks}.values())  # Chroma refuses an id twice in one call
        if self._max_batch is None:
            self._max_batch = self._client.get_max_batch_size()
        write_batch = max(1, min(write_batch, self._max_batch))
        for start in range(0, len(chunks), write_batch):
            batch = chunks[start : start + write_batch]
            vectors: list[list[float]] = []
            for i in range(0, len(batch), batch_size):
                vectors += self._embeddings.embed_documents([c.context_text() for c in batch[i : i + batch_size]])
            self._check_dimension(len(vectors[0]))
            self.collection.upsert(
                ids=[c.id for c in batch],
                documents=[c.text for c in batch],
                metadatas=[c.metadata for c in batch],
                embeddings=vectors,
            )
        if chunks:
            self._record(_sources(chunks))
        return len(chunks)

    def update_metadata(self, chunks: Sequence[Chunk], batch_size: int = 500) -> None:
        """Rewrite the metadata of stored ``chunks`` (same ids, same text), without re-embedding."""
        for start in range(0, len(chunks), batch_size):
            batch = list(chunks[start : start + batch_size])
            self.collection.update(ids=[c.id for c in batch], metadatas=[c.metadata for c in batch])
        if chunks:
            self._record(_sources(chunks))

    def delete(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        if ids:
            sources = set()
            for start in range(0, len(ids), 5000):
                found = self.collection.get(ids=ids[start : start + 5000], include=["metadatas"])
                sources |= {str((md or {}).get("source", "")) for md in found["metadatas"]}
            self.collection.delete(ids=ids)
            self._record(sources)

    def chunks_of(self, sources: Sequence[str], batch: int = 50) -> list[Chunk]:
        """Every stored chunk (text and metadata) of the documents ``sources``."""
        return [Chunk(id=cid, text=doc or "", metadata=dict(md or {}))
                for res in self._of_sources(sources, ["documents", "metadatas"], batch)
                for cid, doc, md in zip(res["ids"], res["documents"], res["metadatas"])]

    def metadata_of(self, sources: Sequence[str], batch: int = 50) -> list[tuple[str, dict[str, Any]]]:
        """(id, metadata) of every stored chunk of the documents ``sources``."""
        return [(cid, dict(md or {}))
                for res in self._of_sources(sources, ["metadatas"], batch)
                for cid, md in zip(res["ids"], res["metadatas"])]

    def _of_sources(self, sources: Sequence[str], include: list[str], batch: int):
        sources = list(sources)
        for start in range(0, len(sources), batch):
            part = sources[start : start + batch]
            yield self.collection.get(where={"source": part[0]} if len(part) == 1 else {"source": {"$in": part}},
                                      include=include)

    def ids_where(self, where: dict[str, Any]) -> list[str]:
        """Ids of the chunks whose metadata match a Chroma ``where`` filter."""
        return list(self.collection.get(where=where, include=[])["ids"])

    def first_metadata(self, where: dict[str, Any]) -> dict[str, Any] | None:
        """Metadata of one chunk matching a Chroma ``where`` filter, or None."""
        res = self.collection.get(where=where, limit=1, include=["metadatas"])
        return dict(res["metadatas"][0] or {}) if res["ids"] else None

    def embed_query(self, text: str) -> list[float]:
        """The question vector (query prefix applied), checked against the index's dimension.

        Raises:
            EmbeddingMismatchError: the vector's length differs from the index's.
        """
        vector = self._embeddings.embed_query(text)
        recorded = (self.collection.metadata or {}).get("embedding_dim")
        if recorded is not None and int(recorded) != len(vector):
            self._check_dimension(len(vector))
        return vector

    def nearest(self, vector: list[float], n: int, sources: Collection[str] | None = None) -> list[tuple[Chunk, float]]:
        """The ``n`` chunks nearest to ``vector`` as (chunk, cosine similarity), best first.

        Args:
            sources: search only the chunks of these documents (a filter's result); None = all.
        """
        if sources is not None and not sources:
            return []
        where = None
        if sources is not None:
            where = {"source": next(iter(sources))} if len(sources) == 1 else {"source": {"$in": sorted(sources)}}
        # Chroma returns fewer than n_results when fewer exist, so no count (a round trip
        # to a server) is needed first.
        res = self.collection.query(
            query_embeddings=[vector],
            n_results=n,
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        out = []
        for cid, doc, md, dist in zip(res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0]):
            out.append((Chunk(id=cid, text=doc or "", metadata=dict(md or {})), 1.0 - float(dist)))
        return out

    def cosines(self, vector: list[float], ids: Sequence[str]) -> dict[str, float]:
        """Cosine similarity of ``vector`` to the stored vectors of ``ids`` (unit vectors: a dot product)."""
        if not ids:
            return {}
        import numpy as np

        res = self.collection.get(ids=list(ids), include=["embeddings"])
        q = np.asarray(vector, dtype=np.float32)
        return {cid: float(np.asarray(emb, dtype=np.float32) @ q) for cid, emb in zip(res["ids"], res["embeddings"])}

    def query(self, text: str, n: int) -> list[tuple[Chunk, float]]:
        """The ``n`` chunks nearest to ``text`` as (chunk, cosine similarity), best first.

        Raises:
            EmbeddingMismatchError: the question vector's length differs from the index's.
        """
        if self.count() == 0:
            return []
        return self.nearest(self.embed_query(text), n)

    def _scan(self, include: list[str], page_size: int = 5000, where: dict[str, Any] | None = None):
        """Every stored record (matching ``where``) in pages of ``page_size``: yields Chroma ``get`` results."""
        offset = 0
        while True:
            res = self.collection.get(where=where, include=include, limit=page_size, offset=offset)
            yield res
            if len(res["ids"]) < page_size:
                return
            offset += page_size

    def all_chunks(self, page_size: int = 5000) -> list[Chunk]:
        """Every stored chunk (text and metadata, no vectors), in pages of ``page_size``."""
        return [
            Chunk(id=cid, text=doc or "", metadata=dict(md or {}))
            for res in self._scan(["documents", "metadatas"], page_size)
            for cid, doc, md in zip(res["ids"], res["documents"], res["metadatas"])
        ]

    def all_metadata(self, page_size: int = 5000, where: dict[str, Any] | None = None) -> list[tuple[str, dict[str, Any]]]:
        """(id, metadata) of every stored chunk, or of those matching a Chroma ``where``
        filter (one scan, no vectors or text)."""
        return [
            (cid, dict(md or {}))
            for res in self._scan(["metadatas"], page_size, where)
            for cid, md in zip(res["ids"], res["metadatas"])
        ]

    def ids_by_source(self, page_size: int = 5000) -> dict[str, set[str]]:
        """Every stored chunk id grouped by its ``source`` metadata (one scan, no vectors or text)."""
        out: dict[str, set[str]] = {}
        for res in self._scan(["metadatas"], page_size):
            for cid, md in zip(res["ids"], res["metadatas"]):
                out.setdefault(str((md or {}).get("source", "")), set()).add(cid)
        return out
