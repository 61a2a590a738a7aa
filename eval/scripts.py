"""How well answer scripts (答复口径) are matched: a script set names, per item, a script
(phrasings, answer, basis document and article, region), residents' paraphrases that must
get it, and near misses that must not get any script.

Each script is stored through the product's own service into the index, every question is
asked through :meth:`assistant.chain.Assistant.ask` (the path of ``/api/ask``), and the
scripts are deleted again at the end, so the index is left as it was.

Reported: the share of paraphrases answered by their own script (hit rate), by another
script (wrong script), and of near misses answered by their item's script (false use: the
worst outcome, since a script's wording replaces the policy search) or by another item's
script (which may be right, a near miss of one item being another item's question: read
those rows).

    minsheng eval-scripts --set eval/questions/scripts-blind.jsonl [--data-dir DATA] [--out FILE]
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from assistant.core.scripts import ScriptError
from assistant.core.settings import PROJECT_ROOT

#: Where an item's ``source`` (e.g. "corpus/txt/x.txt") is read from.
SHARED = PROJECT_ROOT.parent / "shared"


@dataclass
class ScriptItem:
    """One line of a script set (fields as the module docstring says)."""

    id: str
    source: str
    article: str
    region: str
    questions: list[str]
    answer: str
    paraphrases: list[str]
    near_misses: list[str]

    @classmethod
    def load(cls, path: Path) -> list["ScriptItem"]:
        """Items of the JSONL file ``path``.

        Raises:
            ValueError: a line that is not JSON or lacks a field (names the line).
        """
        items = []
        for n, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                items.append(cls(**{k: data[k] for k in cls.__dataclass_fields__}))
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{n}: not a script item ({exc})") from None
        return items


@dataclass
class ScriptRun:
    """Outcomes, one row per question: item, kind (paraphrase / near_miss), question, the
    script id used (or None), and whether that is right."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        para = [r for r in self.rows if r["kind"] == "paraphrase"]
        near = [r for r in self.rows if r["kind"] == "near_miss"]
        return {
            "items": len({r["item"] for r in self.rows}),
            "paraphrases": len(para),
            "hit_rate": sum(r["used"] == r["expected"] for r in para) / max(1, len(para)),
            "wrong_script": sum(r["used"] not in (None, r["expected"]) for r in para) / max(1, len(para)),
            "near_misses": len(near),
            "false_use": sum(r["used"] is not None and r["used"] == r["own"] for r in near) / max(1, len(near)),
            "other_script": sum(r["used"] is not None and r["used"] != r["own"] for r in near) / max(1, len(near)),
        }


def indexed_id(services: Any, source: str) -> str | None:
    """The indexed id of ``source`` (relative to ../shared); for a file the index holds as
    a copy of another (the same text in another format), that one's."""
    path = str((SHARED / source).resolve())
    record = services.ingestor.manifest.get(path)
    if record is not None and record.duplicate_of:
        path = record.duplicate_of
    head = services.store.first_metadata({"source": path})
    return str(head["doc_id"]) if head else None


def store_scripts(services: Any, items: list[ScriptItem], today: date, approver: str = "评测") -> tuple[dict[str, str], list[str]]:
    """Save each item's script through the product, in force from yesterday for a year.

    Returns:
        (item id -> script id, one line per item not stored: its source is not in the index,
        or a wording of it is already another item's).
    """
    stored, skipped = {}, []
    for item in items:
        doc_id = indexed_id(services, item.source)
        if doc_id is None:
            skipped.append(f"{item.id}: {item.source} is not in the index")
            continue
        try:
            stored[item.id] = services.scripts.save({
                "questions": item.questions, "answer": item.answer, "region": item.region, "approver": approver,
                "basis": [{"doc_id": doc_id, "article": item.article}],
                "approved_on": (today - timedelta(days=1)).isoformat(), "valid_until": (today + timedelta(days=365)).isoformat(),
            }).id
        except ScriptError as exc:
            # Sets written apart can give two items the same wording ("广州低保标准是多少"),
            # which the product keeps to one script.
            skipped.append(f"{item.id}: {exc}")
    return stored, skipped


def run(services: Any, items: list[ScriptItem], today: date | None = None) -> ScriptRun:
    """Store every item's script, ask every question, delete the scripts (module docstring)."""
    result, stored = ScriptRun(), {}
    try:
        stored, result.skipped = store_scripts(services, items, today or date.today())
        for item in items:
            if item.id not in stored:
                continue
            for kind, questions in (("paraphrase", item.paraphrases), ("near_miss", item.near_misses)):
                for question in questions:
                    answer = services.assistant.ask(question)
                    used = answer.script["id"] if answer.script else None
                    result.rows.append({"item": item.id, "kind": kind, "question": question, "used": used, "own": stored[item.id],
                                        "expected": stored[item.id] if kind == "paraphrase" else None,
                                        "cosine": answer.script["cosine"] if answer.script else None})
    finally:
        for script_id in stored.values():
            services.scripts.delete(script_id)
    return result
