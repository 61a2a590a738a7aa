"""Knowledge gaps: what residents asked that the knowledge base could not answer (refusals)
or answered badly (thumbs down), grouped by similar question, for the admin to act on.

Questions are grouped by the embedding model: each question joins the group whose mean
vector is nearest, if its cosine is at least :data:`GAP_COSINE`, else starts a new group.
A group's topic is that of its mean vector by :class:`assistant.topics.TopicClassifier`
(the nearest labelled tuning questions).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import numpy as np

from assistant.core.text import to_simplified
from assistant.feedback import FeedbackStore, SharedFeedbackStore
from assistant.privacy import without_personal
from assistant.topics import TopicClassifier

#: Least cosine (the default embedding model, query to query) for a question to join a
#: group. Over the team question set (eval/questions/team.jsonl), 84 % of pairs of
#: questions with the same expected answer reach it, and 0.4 % of pairs about different
#: documents do.
GAP_COSINE = 0.93
#: Phrasings kept per group (the count covers them all).
MAX_QUESTIONS = 20


@dataclass
class GapGroup:
    """Similar unanswered questions.

    Attributes:
        id: 12 hex characters, from the group's first question.
        questions: distinct phrasings, first seen first (at most :data:`MAX_QUESTIONS`).
        count: questions in the group; refused / thumbs_down: of which each kind.
        first_seen, last_seen: UTC ISO times.
        topic: 主题 (see the module docstring), one of :attr:`Gaps.topics`.
        comments: residents' comments on thumbs-down answers.
    """

    id: str
    questions: list[str]
    count: int = 0
    refused: int = 0
    thumbs_down: int = 0
    first_seen: str = ""
    last_seen: str = ""
    topic: str = ""
    comments: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Gaps:
    """Groups the feedback store's refusals and thumbs-down answers.

    Args:
        feedback: where they are recorded.
        embed_query: question -> unit vector (the default embedding model).
        classifier: gives each group its topic; by default the packaged examples' (their
            vectors embedded in each process).
    """

    def __init__(self, feedback: FeedbackStore | SharedFeedbackStore, embed_query: Callable[[str], list[float]],
                 classifier: TopicClassifier | None = None):
        self.feedback = feedback
        self.embed_query = embed_query
        self.classifier = classifier or TopicClassifier(embed_query)

    @property
    def topics(self) -> list[str]:
        """The topics a group can have, the most frequent among the examples first."""
        return self.classifier.topics

    def groups(self, since: str = "", until: str = "", topic: str = "") -> list[GapGroup]:
        """Groups of the questions recorded from ``since`` to ``until`` (ISO dates, "" =
        open), newest group (by last seen) first; only those of ``topic`` when given.

        Raises:
            ValueError: ``since`` or ``until`` is not a date, ``until`` is before ``since``,
                or ``topic`` is not one of :attr:`topics` (the message starts with the
                parameter's name).
        """
        since, until = check_period(since, until)
        topic = (topic or "").strip()
        if topic and topic not in self.topics:
            raise ValueError(f"topic: {topic!r} is not one of {'、'.join(self.topics)}")
        rows = self.feedback.unanswered(since, until)
        vectors = self._vectors([r["question"] for r in rows])
        groups: list[GapGroup] = []
        sums: list[np.ndarray] = []
        for row in rows:
            vector = vectors[row["question"]]
            best, best_cos = -1, GAP_COSINE
            for n, total in enumerate(sums):
                cos = float(vector @ total) / float(np.linalg.norm(total))
                if cos >= best_cos:
                    best, best_cos = n, cos
            if best < 0:
                groups.append(GapGroup(id=hashlib.sha1(row["question"].encode()).hexdigest()[:12], questions=[], first_seen=row["at"]))
                sums.append(np.zeros_like(vector))
            group = groups[best]
            sums[best] = sums[best] + vector
            group.count += 1
            group.refused += row["kind"] == "refused"
            group.thumbs_down += row["kind"] == "thumbs_down"
            group.last_seen = row["at"]
            if row["question"] not in group.questions and len(group.questions) < MAX_QUESTIONS:
                group.questions.append(row["question"])
            if row["comment"]:
                group.comments.append(row["comment"])
        for group, total in zip(groups, sums):
            group.topic = self.classifier.topic_of(total)
        chosen = [g for g in groups if not topic or g.topic == topic]
        return sorted(chosen, key=lambda g: g.last_seen, reverse=True)

    def _vectors(self, questions: list[str]) -> dict[str, np.ndarray]:
        """Unit vectors of ``questions``: stored ones, the rest embedded now (about 10 ms each
        on 2 cores) and stored, so a long period's gaps are grouped without the model."""
        distinct = list(dict.fromkeys(questions))
        stored = {q: np.frombuffer(v, dtype=np.float32) for q, v in self.feedback.vectors(distinct).items()}
        new = {q: np.asarray(self.embed_query(to_simplified(without_personal(q))), dtype=np.float32)
               for q in distinct if q not in stored}
        self.feedback.keep_vectors({q: v.tobytes() for q, v in new.items()})
        return {**stored, **new}

    def csv(self, since: str = "", until: str = "", topic: str = "") -> str:
        """:meth:`groups` as CSV (UTF-8 text with a header row; phrasings joined by " | ")."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["id", "主题", "次数", "拒答", "差评", "首次出现", "最近出现", "问题", "意见"])
        for g in self.groups(since, until, topic):
            writer.writerow([_cell(v) for v in (g.id, g.topic, g.count, g.refused, g.thumbs_down, g.first_seen, g.last_seen,
                                                " | ".join(g.questions), " | ".join(g.comments))])
        return out.getvalue()


def check_period(since: str, until: str) -> tuple[str, str]:
    """``since`` and ``until`` stripped, once checked to be ISO dates (YYYY-MM-DD) or "" and
    in order.

    Raises:
        ValueError: naming the parameter ("since: not a date (YYYY-MM-DD): '上周'").
    """
    since, until = (since or "").strip(), (until or "").strip()
    for name, value in (("since", since), ("until", until)):
        if value:
            try:
                date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"{name}: not a date (YYYY-MM-DD): {value!r}") from None
    if since and until and until < since:
        raise ValueError(f"until: {until} is before since ({since})")
    return since, until


def _cell(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text: a resident's words starting with = + - @ (or
    a tab or carriage return) would otherwise run as a formula (OWASP, CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
