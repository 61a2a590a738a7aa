"""Which documents are earlier versions of another one, and whether a document is in force.

Two indexed documents are versions of one regulation when they have the same title (after
version notes such as "(2018-11-22)" or "（2024年修订）" are removed, in simplified
characters) and the same region. The latest is in force; each earlier one records, in the
metadata of all its chunks, ``replaced_by`` (the newer title and date) and ``replaced_on``
(when the newer version took effect, :func:`taking_effect`).

A version without any date is taken to be older than a dated one: collections such as
LawRefBook keep earlier texts without their preamble, and the dated file of a pair is the
amended one. Two versions with the same date are not ordered (neither replaces the other).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from assistant.core.text import normalise

#: Metadata keys this module writes.
REPLACED_BY = "replaced_by"
REPLACED_ON = "replaced_on"

_VERSION_NOTE = re.compile(r"[（(][^（）()]*(?:\d{4}|修订|修正|修改|试行|暂行)[^（）()]*[）)]")
_SPACE = re.compile(r"\s+")


def version_key(metadata: Mapping[str, Any]) -> tuple[str, str]:
    """(title without version notes or the 中华人民共和国 prefix, region) of a chunk's
    document; equal keys = versions (or copies) of one text."""
    title = _VERSION_NOTE.sub("", str(metadata.get("title") or "")).removeprefix("中华人民共和国")
    region = str(metadata.get("region") or "")
    # A national law is the same law whether or not its copy says 全国.
    return normalise(_SPACE.sub("", title)), "" if region == "全国" else region


def version_date(metadata: Mapping[str, Any]) -> str:
    """The date that orders versions: the document date (for a law, its latest 通过/修订/修正),
    else its 施行日期, else "". An amended law keeps the original 施行日期 in its text, so that
    date cannot order versions."""
    return str(metadata.get("date") or metadata.get("effective_date") or "")


def taking_effect(metadata: Mapping[str, Any]) -> str:
    """When a version took effect: its 施行日期 when that is later than its date (a new text
    that takes effect later), else its date."""
    day = version_date(metadata)
    effective = str(metadata.get("effective_date") or "")
    return effective if effective > day else day


def replacements(documents: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """What replaced each document.

    Args:
        documents: source -> metadata of one of its chunks (``title``, ``region``, ``date``,
            ``effective_date``).

    Returns:
        source -> {``replaced_by``: "title（date）", ``replaced_on``: ISO date} for every
        document that has a newer version, and {``replaced_by``: "", ``replaced_on``: ""}
        for the others.
    """
    groups: dict[tuple[str, str], list[str]] = {}
    for doc_id, md in documents.items():
        key = version_key(md)
        if key[0]:
            groups.setdefault(key, []).append(doc_id)
    out = {doc_id: {REPLACED_BY: "", REPLACED_ON: ""} for doc_id in documents}
    for members in groups.values():
        if len(members) < 2:
            continue
        ordered = sorted(members, key=lambda d: version_date(documents[d]))
        latest = ordered[-1]
        newest_date = version_date(documents[latest])
        if not newest_date:
            continue
        md = documents[latest]
        label = f"{md.get('title', '')}（{newest_date}）"
        for doc_id in ordered[:-1]:
            if version_date(documents[doc_id]) < newest_date:
                out[doc_id] = {REPLACED_BY: label, REPLACED_ON: taking_effect(md)}
    return out


def in_force(metadata: Mapping[str, Any], on: date | None = None) -> bool:
    """Whether a chunk's document is in force on ``on`` (default today): this version had
    taken effect by then (:func:`taking_effect`) and was not yet replaced."""
    day = (on or date.today()).isoformat()
    started = taking_effect(metadata)
    if started and started > day:
        return False
    replaced_on = str(metadata.get(REPLACED_ON) or "")
    return not (replaced_on and replaced_on <= day)


def differs(metadata: Mapping[str, Any], target: Mapping[str, str]) -> bool:
    """Whether a chunk's stored version fields differ from ``target`` (absent counts as "")."""
    return any(str(metadata.get(k) or "") != v for k, v in target.items())


def changed_chunks(chunks: Iterable[tuple[str, dict[str, Any]]], wanted: Mapping[str, Mapping[str, str]] | None = None,
                   ) -> list[tuple[str, dict[str, Any]]]:
    """(id, new metadata) for each chunk whose version fields must change.

    Args:
        chunks: (chunk id, metadata) of stored chunks; ``source`` names its document.
        wanted: source -> version fields (:func:`replacements`); by default computed from
            ``chunks``, which must then hold every stored chunk.
    """
    chunks = list(chunks)
    if wanted is None:
        documents: dict[str, Mapping[str, Any]] = {}
        for _, md in chunks:
            documents.setdefault(str(md.get("source", "")), md)
        wanted = replacements(documents)
    out = []
    for cid, md in chunks:
        target = wanted.get(str(md.get("source", "")))
        if target is not None and differs(md, target):
            out.append((cid, {**md, **target}))
    return out


class VersionGroups:
    """The versions of each indexed policy, from a document table that a generation counter
    dates (:class:`assistant.core.keyword.KeywordIndex`: ``documents``, ``generation``);
    regrouped only when the table changed (about 10k documents at 1M chunks).

    Args:
        table: has ``documents`` (source -> first-chunk metadata) and ``generation``.
    """

    def __init__(self, table: Any):
        self.table = table
        self._generation = -1
        self._groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}

    def of(self, metadata: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """Every version of ``metadata``'s policy (itself included), oldest first."""
        documents = self.table.documents  # brings the table up to date before its generation is read
        if self._generation != self.table.generation:
            groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
            for md in documents.values():
                key = version_key(md)
                if key[0]:
                    groups.setdefault(key, []).append(md)
            self._groups = {k: sorted(v, key=version_date) for k, v in groups.items() if len(v) > 1}
            self._generation = self.table.generation
        return self._groups.get(version_key(metadata), [metadata])


def recent_revision(versions: Sequence[Mapping[str, Any]], doc_id: str, today: date, days: int = 365) -> dict[str, str] | None:
    """When the policy ``doc_id`` is a version of was revised within ``days`` before ``today``:
    {``doc_id``, ``title``, ``on`` (the date the newer version took effect), ``cited`` ("old"
    when ``doc_id`` is the replaced version, "new" when it is the revision)}; else None.

    Args:
        versions: the policy's versions, oldest first (:meth:`VersionGroups.of`).
    """
    at = next((n for n, md in enumerate(versions) if md.get("doc_id") == doc_id), None)
    if at is None or len(versions) < 2:
        return None
    # The replaced version is dated by its successor; the newest by itself (it has a predecessor).
    newer = versions[at + 1] if at + 1 < len(versions) else versions[at]
    on = taking_effect(newer)
    start = date.fromordinal(today.toordinal() - days).isoformat()
    if not (on and start <= on <= today.isoformat()):
        return None
    return {"doc_id": doc_id, "title": str(versions[at].get("title", "")), "on": on,
            "cited": "old" if at + 1 < len(versions) else "new"}


def cited_revisions(groups: VersionGroups, cited: Iterable[Mapping[str, Any]], today: date | None = None) -> list[dict[str, str]]:
    """:func:`recent_revision` of each cited document (chunk metadata, ``doc_id`` once each)
    that has one, in citation order; ``today`` defaults to the date today."""
    out, seen = [], set()
    for md in cited:
        doc_id = str(md.get("doc_id") or "")
        if doc_id and doc_id not in seen:
            seen.add(doc_id)
            found = recent_revision(groups.of(md), doc_id, today or date.today())
            if found:
                out.append(found)
    return out
