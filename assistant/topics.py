"""The 主题 of a resident's question, for grouping knowledge gaps by topic.

The policy files rarely state a topic, and a refused question's nearest document is by
definition one that did not answer it, so its topic says little. Instead a question takes the
topic of its nearest labelled examples: the team's tuning questions, each with the topic its
writer gave it (``assistant/data/topic_examples.tsv``, written by ``python -m eval.topics``,
which also prints the accuracy: 0.876 leave-one-out over 732 examples, 0.825 on the blind
set of 154 it never saw). A question far from every example is outside these topics
(:data:`OUTSIDE`).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from assistant.core.text import to_simplified

EXAMPLES = Path(__file__).with_name("data") / "topic_examples.tsv"
#: Examples that vote; 3 gave the best leave-one-out accuracy over the examples (1: 0.872,
#: 3: 0.876, 5: 0.865, 9: 0.847).
K = 3
#: A question no example is this close to (cosine) is outside the examples' topics and gets
#: :data:`OTHER`: 95 % of the examples have another example at least this close (the 5th
#: percentile, printed by ``python -m eval.topics``), while "美国签证怎么办理" or
#: "宠物狗怎么办狗证" reach 0.89.
OUTSIDE = 0.916
OTHER = "其他"


def load_examples(path: Path = EXAMPLES) -> list[tuple[str, str]]:
    """(question, topic) pairs from the TSV ``path``.

    Raises:
        ValueError: a line without a question and a topic (naming the file and line).
    """
    pairs = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        question, _, topic = line.partition("\t")
        if not question.strip() or not topic.strip():
            raise ValueError(f"{path.name}: line {n}: want a question and a topic separated by a tab")
        pairs.append((question.strip(), topic.strip()))
    return pairs


class TopicClassifier:
    """k-nearest-neighbour topics over the labelled examples, by the embedding model.

    Args:
        embed_query: question -> unit vector (the default embedding model); the examples are
            embedded on first use (about 10 ms each on 2 cores).
        cache_dir: optional folder where their vectors are kept, in a file named by a digest
            of ``model`` and the examples, so the examples are embedded once per model and
            example set rather than once per process.
        model: the embedding model's name (part of the cache file's digest).
        examples: (question, topic) pairs instead of the packaged ones.
        k: examples that vote.
        outside: least cosine to the nearest example for a topic other than :data:`OTHER`.
    """

    def __init__(self, embed_query: Callable[[str], list[float]], cache_dir: Path | None = None, model: str = "",
                 examples: Sequence[tuple[str, str]] | None = None, k: int = K, outside: float = OUTSIDE):
        self.embed_query = embed_query
        self.cache_dir = cache_dir
        self.model = model
        self.examples = list(examples) if examples is not None else load_examples()
        self.k = k
        self.outside = outside
        self._matrix: np.ndarray | None = None

    @property
    def topics(self) -> list[str]:
        """Every topic the examples name, the most frequent first, and :data:`OTHER`."""
        named = [t for t, _ in Counter(t for _, t in self.examples).most_common()]
        return named if OTHER in named else [*named, OTHER]

    def topic_of(self, vector: np.ndarray) -> str:
        """The topic of the question (or mean of questions) with vector ``vector``; :data:`OTHER`
        when no example is at least :data:`OUTSIDE` close."""
        similarities = self._vectors() @ (vector / (np.linalg.norm(vector) or 1.0))
        if not len(similarities) or float(similarities.max()) < self.outside:
            return OTHER
        return self.vote(similarities, [t for _, t in self.examples], self.k)

    @staticmethod
    def vote(similarities: np.ndarray, topics: Sequence[str], k: int) -> str:
        """The topic with the largest summed similarity among the ``k`` most similar examples."""
        votes: Counter = Counter()
        for i in np.argsort(-similarities)[:k]:
            votes[topics[i]] += float(similarities[i])
        return votes.most_common(1)[0][0] if votes else ""

    def _vectors(self) -> np.ndarray:
        """The examples' vectors, (n, dim) float32: from the cache file, else embedded now."""
        if self._matrix is None:
            questions = [q for q, _ in self.examples]
            digest = hashlib.sha256("\n".join([self.model, *questions]).encode("utf-8")).hexdigest()[:16]
            cached = self.cache_dir / f"topic_vectors-{digest}.npy" if self.cache_dir is not None else None
            if cached is not None and cached.exists():
                self._matrix = np.load(cached)
            else:
                self._matrix = np.asarray([self.embed_query(to_simplified(q)) for q in questions], dtype=np.float32)
                if cached is not None:
                    cached.parent.mkdir(parents=True, exist_ok=True)
                    np.save(cached, self._matrix)
        return self._matrix
