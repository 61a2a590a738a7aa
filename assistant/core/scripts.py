"""答复口径: a hotline's approved answer to a frequent question, as data.

A script names the questions it answers (several phrasings), the answer text, its policy
basis (indexed documents and their articles), its region, who approved it and when, and
until when it may be used. It is stored as a document of its own type (:data:`SCRIPT_TYPE`)
in the same collection as the policies: a markdown file (:meth:`AnswerScript.to_markdown`)
whose front matter carries the script as JSON, ingested, versioned and deleted like any
document. :meth:`AnswerScript.from_metadata` reads it back from a chunk's metadata.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import date
from typing import Any, Mapping

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

#: ``doc_type`` of a script's chunks.
SCRIPT_TYPE = "答复口径"
#: Chunk metadata key holding the script as JSON.
SCRIPT_KEY = "script"
_ID = re.compile(r"^[0-9a-f]{12}$")
_DOC_ID = re.compile(r"^[0-9a-f]{16}$")


class ScriptError(ValueError):
    """A script that cannot be stored; the message names the field (``questions[1]``,
    ``basis[0].doc_id``...) and, for an imported file, the line."""


class Basis(BaseModel):
    """One policy a script rests on: an indexed document and, optionally, one of its 条."""

    doc_id: str = Field(description="the document's id, as /api/documents lists it")
    article: str = Field(default="", description="第X条 of that document; empty: the document as a whole")

    @field_validator("doc_id")
    @classmethod
    def _doc_id(cls, value: str) -> str:
        if not _DOC_ID.match(value):
            raise ValueError("must be a document id (16 hex characters)")
        return value

    @field_validator("article")
    @classmethod
    def _article(cls, value: str) -> str:
        value = value.strip()
        if value and not re.fullmatch(r"第[零〇一二三四五六七八九十百千两0-9]+条", value):
            raise ValueError("must be one article, such as 第十条")
        return value


class AnswerScript(BaseModel):
    """An approved answer script (答复口径)."""

    id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12], description="12 hex characters; new scripts get one")
    questions: list[str] = Field(min_length=1, max_length=20, description="phrasings of the question it answers")
    answer: str = Field(min_length=1, max_length=2000)
    basis: list[Basis] = Field(min_length=1, max_length=10)
    region: str = Field(default="", max_length=40, description="e.g. 广州; empty: any")
    approver: str = Field(min_length=1, max_length=40)
    approved_on: date
    valid_until: date

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("must be 12 hex characters")
        return value

    @field_validator("questions")
    @classmethod
    def _questions(cls, value: list[str]) -> list[str]:
        cleaned = [q.strip() for q in value]
        for n, q in enumerate(cleaned):
            if not 2 <= len(q) <= 200:
                raise ValueError(f"question {n + 1} must be 2 to 200 characters")
        return list(dict.fromkeys(cleaned))

    @field_validator("answer", "approver", "region")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @model_validator(mode="after")
    def _dates(self) -> "AnswerScript":
        if self.valid_until < self.approved_on:
            raise ValueError("is before approved_on")
        return self

    @classmethod
    def parse(cls, data: Any, where: str = "") -> "AnswerScript":
        """Validate ``data`` (a mapping).

        Raises:
            ScriptError: one line naming the first bad field (and ``where``, e.g. "line 3").
        """
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"]).lstrip(".")
            field = field or ("valid_until" if "approved_on" in first["msg"] else "script")
            message = first["msg"].removeprefix("Value error, ")
            raise ScriptError(f"{where + ': ' if where else ''}{field}: {message}") from None

    def title(self) -> str:
        """The document title of the script: 热线答复口径：<first phrasing>."""
        return f"热线答复口径：{self.questions[0]}"

    def in_date(self, today: date) -> bool:
        """Approved by ``today`` and not past its valid-until date."""
        return self.approved_on <= today <= self.valid_until

    def to_markdown(self) -> str:
        """The file stored and ingested: front matter (type, title, region, date, the script as
        JSON) and a body of the questions and the answer, which is what search reads."""
        data = json.dumps(self.model_dump(mode="json"), ensure_ascii=False)
        head = {"doc_type": SCRIPT_TYPE, "title": self.title(), "region": self.region, "date": self.approved_on.isoformat(),
                "issuer": self.approver, SCRIPT_KEY: data}
        lines = ["---", *(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in head.items() if v), "---", ""]
        lines += [f"问：{q}" for q in self.questions]
        lines += ["", f"答：{self.answer}", ""]
        # Its own line keeps two scripts with the same wording two documents: the ingest
        # would take the second for a copy of the first and index it once.
        lines += [f"（答复口径{self.id}，审核：{self.approver}，{self.approved_on.isoformat()}，有效期至{self.valid_until.isoformat()}）", ""]
        return "\n".join(lines)

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any]) -> "AnswerScript | None":
        """The script a chunk of its document carries, or None for any other chunk (or a
        script stored by a version that wrote another form)."""
        if metadata.get("doc_type") != SCRIPT_TYPE or not metadata.get(SCRIPT_KEY):
            return None
        try:
            return cls.model_validate_json(str(metadata[SCRIPT_KEY]))
        except ValidationError:
            return None
