"""The topic examples the knowledge-gap review classifies by, and how well they do.

``python -m eval.topics`` rewrites ``assistant/data/topic_examples.tsv`` from the tuning set
(eval/questions/team.jsonl: each question with the 主题 its writer gave it, 综述 left out
because it names a kind of document, not a subject), then prints the classifier's accuracy:
leave-one-out over the examples (how k was chosen) and on a set it never saw (``--check``,
default the blind set).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from assistant.core.embeddings import LazyEmbeddings
from assistant.core.settings import Settings
from assistant.topics import EXAMPLES, TopicClassifier, load_examples

QUESTIONS = Path(__file__).with_name("questions")


def labelled(path: Path) -> list[tuple[str, str]]:
    """(question, topic) of every item of the JSONL question set ``path`` that has a topic
    other than 综述 and stands alone: a follow-up turn ("去哪里申请？") names no topic of
    its own."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(r["question"], r["topic"]) for r in rows if r.get("topic") and r["topic"] != "综述" and not r.get("history")]


def write_examples(pairs: list[tuple[str, str]], path: Path = EXAMPLES) -> int:
    """Write ``pairs`` as the TSV the classifier reads (one question and topic a line,
    duplicates dropped); returns the number written."""
    unique = list(dict.fromkeys((q.replace("\t", " ").replace("\n", " "), t) for q, t in pairs))
    path.write_text("".join(f"{q}\t{t}\n" for q, t in unique), encoding="utf-8")
    return len(unique)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, default=QUESTIONS / "team.jsonl")
    parser.add_argument("--check", type=Path, default=QUESTIONS / "blind.jsonl")
    args = parser.parse_args(argv)
    print(f"{write_examples(labelled(args.train))} examples written to {EXAMPLES}")
    # The model as the composition root sets it up, without opening an index.
    embeddings = LazyEmbeddings.from_settings(Settings())
    examples = load_examples()
    vectors = np.asarray([embeddings.embed_query(q) for q, _ in examples], dtype=np.float32)
    similarities = vectors @ vectors.T
    np.fill_diagonal(similarities, -1.0)
    nearest = similarities.max(axis=1)
    print("nearest other example, cosine percentiles 1/5/10/50:",
          " / ".join(f"{np.percentile(nearest, p):.3f}" for p in (1, 5, 10, 50)))
    for k in (1, 3, 5, 9):
        hits = 0
        for i, vector in enumerate(vectors):
            rest = np.delete(np.arange(len(examples)), i)
            topic = TopicClassifier.vote(vectors[rest] @ vector, [examples[j][1] for j in rest], k)
            hits += topic == examples[i][1]
        print(f"leave-one-out, k={k}: {hits / len(examples):.3f} of {len(examples)}")
    check = labelled(args.check)
    classifier = TopicClassifier(embeddings.embed_query)
    right = sum(classifier.topic_of(np.asarray(embeddings.embed_query(q), dtype=np.float32)) == t for q, t in check)
    print(f"{args.check.name}, k={classifier.k}: {right / len(check):.3f} of {len(check)}")


if __name__ == "__main__":
    main()
