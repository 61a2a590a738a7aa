"""The question-set format (JSONL) and its validation.

One JSON object per line::

    {"id": "a001", "question": "失业保险金最长可以领多少个月？", "history": [],
     "answerable": true, "expected_sources": ["corpus/txt/law_shiye_baoxian_tiaoli_1999.txt"],
     "expected_articles": ["第十七条"], "key_facts": ["24个月"],
     "region": "全国", "topic": "失业保险", "phrasing": "official", "kind": "factual"}

- ``history``: earlier turns ``{"role": "user"|"assistant", "content": str}`` for follow-ups.
- ``expected_sources``: files that answer the question; a retrieved chunk matches one when its
  file name has the same stem (so ``x.txt`` also matches ``x.pdf`` and ``x_webpage.pdf``).
- ``expected_articles``: 第X条 that answer it, [] when the source has no articles.
- ``key_facts``: strings a correct answer must contain, copied exactly from the source.
- unanswerable questions (``answerable: false``) have empty source, article and fact lists.
- ``kind``: what sort of question it is (:data:`KINDS`); every metric is also reported per kind.
  Left out, it is derived: ``follow_up`` with a history, ``near_miss`` when unanswerable,
  ``narrative`` for a colloquial question of 30 characters or more, else ``factual``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

TOPICS = (
    "医疗保障", "失业保险", "就业创业", "社会救助", "住房保障", "养老服务", "养老保险", "生育保障",
    "残疾人", "老年人权益", "劳动权益", "妇女儿童", "教育", "交通", "城市建设", "消费者权益", "综述", "其他",
)

#: Kinds of question, each reported apart because each fails in its own way:
#: ``factual`` short, in the documents' words; ``region_version`` where the region or the
#: version in force decides the answer; ``narrative`` a resident's situation in everyday words,
#: then the ask; ``follow_up`` a turn that only makes sense after the earlier ones;
#: ``hotline`` a terse lookup (a title and 第几条, a 文号, a term); ``near_miss`` close to a
#: document but not answered by any (another year or city, a detail no document states).
KINDS = ("factual", "region_version", "narrative", "follow_up", "hotline", "near_miss")
#: Characters from which a colloquial question without a kind counts as a narrative.
NARRATIVE_CHARS = 30


class QuestionSetError(ValueError):
    """A question file is unreadable or has invalid lines; the message lists each as file:line: reason."""


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: str = Field(min_length=1)


class Question(BaseModel):
    """One evaluation question; see the module docstring for the fields."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=40)
    question: str = Field(min_length=1, max_length=2000)
    history: list[Turn] = Field(default_factory=list)
    answerable: bool
    expected_sources: list[str] = Field(default_factory=list)
    expected_articles: list[str] = Field(default_factory=list)
    key_facts: list[str] = Field(default_factory=list)
    region: str = ""
    topic: str
    phrasing: Literal["official", "colloquial"]
    kind: Literal[KINDS] = ""  # type: ignore[valid-type]  # "" = derived, see the module docstring

    @model_validator(mode="after")
    def _consistent(self) -> "Question":
        if self.topic not in TOPICS:
            raise ValueError(f"topic '{self.topic}' is not one of {', '.join(TOPICS)}")
        if self.answerable and not self.expected_sources:
            raise ValueError("an answerable question needs expected_sources")
        if not self.answerable and (self.expected_sources or self.expected_articles or self.key_facts):
            raise ValueError("an unanswerable question must have empty expected_sources, expected_articles and key_facts")
        if not self.kind:
            self.kind = _derived_kind(self)
        if self.kind == "near_miss" and self.answerable:
            raise ValueError("kind near_miss is for unanswerable questions")
        if self.kind == "follow_up" and not self.history:
            raise ValueError("kind follow_up needs a history")
        return self

    @property
    def is_follow_up(self) -> bool:
        return bool(self.history)


def _derived_kind(q: Question) -> str:
    if q.history:
        return "follow_up"
    if not q.answerable:
        return "near_miss"
    if q.phrasing == "colloquial" and len(q.question) >= NARRATIVE_CHARS:
        return "narrative"
    return "factual"


def load_questions(path: Path) -> list[Question]:
    """Read and validate a JSONL question set.

    Raises:
        QuestionSetError: unreadable file, or one line per invalid entry (bad JSON, missing or
            wrong field, duplicate id), all reported together.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionSetError(f"{path}: cannot read question set ({exc})") from None
    questions: list[Question] = []
    problems: list[str] = []
    seen: set[str] = set()
    for no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            q = Question.model_validate(json.loads(line))
        except json.JSONDecodeError as exc:
            problems.append(f"{path}:{no}: not valid JSON ({exc.msg})")
            continue
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"]) or "entry"
                problems.append(f"{path}:{no}: {where}: {err['msg']}")
            continue
        if q.id in seen:
            problems.append(f"{path}:{no}: id: duplicate id '{q.id}'")
            continue
        seen.add(q.id)
        questions.append(q)
    if problems:
        raise QuestionSetError("\n".join(problems))
    if not questions:
        raise QuestionSetError(f"{path}: no questions")
    return questions


def facts_not_in_sources(questions: list[Question], root: Path) -> list[str]:
    """Key facts that occur verbatim in none of their question's text sources.

    Sources are read under ``root`` (the folder that holds ``corpus/``, ``corpus-laws/``,
    ``seed/``, or the project for ``knowledge/`` paths); only ``.txt`` and ``.md`` files are
    compared (PDF, DOCX and HTML copies carry the same text with other line breaks).

    Returns:
        one line per problem, ``id: fact`` or ``id: source missing``; [] when all hold.
    """
    problems = []
    for q in questions:
        texts = []
        for source in q.expected_sources:
            path = root / source
            if path.suffix not in (".txt", ".md"):
                continue
            if not path.is_file():
                problems.append(f"{q.id}: {source}: source missing")
                continue
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
        problems += [f"{q.id}: {fact}" for fact in q.key_facts if not any(fact in t for t in texts)]
    return problems
