"""Storing answer scripts (答复口径): create or replace, list, delete, export and import.

Each script is a file ``<folder>/<id>.md`` (:meth:`AnswerScript.to_markdown`) ingested like
any document, so it is in the collection, the keyword index and the manifest, and a
rebuild reads it again (the ingestor's kept folders). Its policy basis must name indexed
documents and articles they hold: a basis is chosen from the index, never free text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from assistant.core.scripts import SCRIPT_TYPE, AnswerScript, ScriptError
from assistant.core.store import ChromaStore
from assistant.core.types import ChunkMeta
from ingest.pipeline import Ingestor

#: Largest export file accepted on import, in bytes (a hotline keeps hundreds of scripts, a
#: few kB each).
MAX_IMPORT_BYTES = 10 * 1024 * 1024


class ScriptService:
    """The scripts of one index.

    Args:
        store: the collection (to check a basis and to list scripts).
        ingestor: writes and removes the script documents.
        folder: where script files are kept (created on first write).
    """

    def __init__(self, store: ChromaStore, ingestor: Ingestor, folder: Path):
        self.store = store
        self.ingestor = ingestor
        self.folder = folder

    def list(self) -> list[AnswerScript]:
        """Every stored script, in the order of their first phrasing."""
        found = (AnswerScript.from_metadata(md) for _, md in self.store.all_metadata(where={"doc_type": SCRIPT_TYPE}))
        unique = {s.id: s for s in found if s is not None}
        return sorted(unique.values(), key=lambda s: s.questions[0])

    def get(self, script_id: str) -> AnswerScript:
        """The stored script ``script_id``.

        Raises:
            ScriptError: no such script.
        """
        for script in self.list():
            if script.id == script_id:
                return script
        raise ScriptError(f"id: no script {script_id!r}")

    def save(self, data: Any) -> AnswerScript:
        """Validate ``data`` (a mapping or a script), check its basis against the index, write
        its file and ingest it; a script with a stored id replaces that one.

        Raises:
            ScriptError: a bad field, or a basis that is not in the index (names the field).
        """
        script = data if isinstance(data, AnswerScript) else AnswerScript.parse(data)
        self.check_basis(script)
        self.check_unique(script, self.list())
        self._write([script])
        return script

    @staticmethod
    def check_unique(script: AnswerScript, stored: list[AnswerScript], where: str = "") -> None:
        """Raise :class:`ScriptError` when another stored script already has one of this
        script's phrasings: one question gets one approved answer (to renew a script, save
        it with its id)."""
        prefix = f"{where}: " if where else ""
        for other in stored:
            if other.id == script.id:
                continue
            for n, question in enumerate(script.questions):
                if question in other.questions:
                    raise ScriptError(f"{prefix}questions[{n}]: already in script {other.id}; "
                                      "send that id to replace it, or delete it first")

    def check_basis(self, script: AnswerScript, where: str = "") -> None:
        """Raise :class:`ScriptError` unless every basis names an indexed document (not
        another script) and, when given, an article of it."""
        prefix = f"{where}: " if where else ""
        for n, basis in enumerate(script.basis):
            head = self.store.first_metadata({"doc_id": basis.doc_id})
            if head is None or head.get("doc_type") == SCRIPT_TYPE:
                raise ScriptError(f"{prefix}basis[{n}].doc_id: no indexed document {basis.doc_id!r}")
            if basis.article and basis.article not in self.articles(basis.doc_id):
                title = head.get("title", basis.doc_id)
                raise ScriptError(f"{prefix}basis[{n}].article: 《{title}》 has no {basis.article}")

    def articles(self, doc_id: str) -> list[str]:
        """The 条 an indexed document holds, in document order ([] for an unknown id)."""
        head = self.store.first_metadata({"doc_id": doc_id})
        if head is None:
            return []
        chunks = sorted(self.store.metadata_of([str(head["source"])]), key=lambda item: int(item[1].get("chunk_index", 0)))
        seen: dict[str, None] = {}
        for _, md in chunks:
            meta = ChunkMeta.from_flat(md)
            for article in (meta.articles or meta.article).split(","):
                if article.strip() and "至" not in article:
                    seen.setdefault(article.strip())
        return list(seen)

    def delete(self, script_id: str) -> AnswerScript:
        """Remove a script from the index and its file.

        Raises:
            ScriptError: no such script.
        """
        script = self.get(script_id)
        path = self._path(script)
        self.ingestor.remove(str(path.resolve()))
        path.unlink(missing_ok=True)
        return script

    def export(self) -> str:
        """Every script, one JSON object a line (the form :meth:`import_lines` reads)."""
        return "".join(json.dumps(s.model_dump(mode="json"), ensure_ascii=False) + "\n" for s in self.list())

    def import_lines(self, text: str) -> list[AnswerScript]:
        """Store the scripts of an export (JSON lines). Every line is checked before any is
        written, so a bad file changes nothing.

        Raises:
            ScriptError: a line that is not JSON or not a valid script ("line 3: basis[0].doc_id: ...").
        """
        scripts: list[AnswerScript] = []
        stored = self.list()
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ScriptError(f"line {n}: not JSON ({exc.msg})") from None
            script = AnswerScript.parse(data, where=f"line {n}")
            self.check_basis(script, where=f"line {n}")
            self.check_unique(script, [*stored, *scripts], where=f"line {n}")
            scripts.append(script)
        if not scripts:
            raise ScriptError("file: no scripts in it")
        self._write(scripts)
        return scripts

    def _path(self, script: AnswerScript) -> Path:
        return self.folder / f"{script.id}.md"

    def _write(self, scripts: Iterable[AnswerScript]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for script in scripts:
            path = self._path(script)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(script.to_markdown(), encoding="utf-8")
            tmp.replace(path)
            paths.append(path)
        report = self.ingestor.ingest(paths)
        refused = [f for f in report.files if f.status not in ("added", "updated", "unchanged")]
        for result in refused:  # a file left behind would be read in by the next rebuild
            Path(result.path).unlink(missing_ok=True)
        if refused:
            raise ScriptError(f"script: not indexed ({refused[0].status}): {refused[0].detail}")
