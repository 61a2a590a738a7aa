"""Residents' thumbs up/down on answers and the questions the assistant refused, kept for
the team to review (:mod:`assistant.gaps` groups them): in a SQLite file
(:class:`FeedbackStore`), or, for instances on several machines, in a collection of the
Chroma server they share (:class:`SharedFeedbackStore`).

Personal data is redacted before anything is written (:func:`assistant.privacy.redact`), and
rows older than the retention period are deleted whenever a row is stored.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

from assistant.core.text import to_simplified
from assistant.privacy import redact, without_personal

#: Longest comment kept, in characters.
MAX_COMMENT = 1000


class FeedbackStore:
    """Feedback rows in the SQLite file ``path`` (thread-safe). The file is opened when first
    used and created only when the first row is stored: a command that takes no feedback
    (ingest, ask, eval) writes nothing.

    Each feedback row: id, time (UTC ISO), rating (+1 helpful / -1 not), question, answer,
    comment; each refusal row: id, time, question, topic (of the nearest document found, ""
    when none). All text is redacted.

    Args:
        path: the SQLite file.
        retention_days: rows older than this many days are deleted (0 = keep nothing old:
            each new row removes every earlier day's rows).
    """

    def __init__(self, path: Path, retention_days: int = 180):
        self.path = path
        self.retention_days = retention_days
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _db(self, create: bool = True) -> sqlite3.Connection | None:
        """The open connection; opened (and the file created, when ``create``) on first use.
        None when the file does not exist and ``create`` is false. Call with the lock held."""
        if self._conn is None:
            if not create and not self.path.exists():
                return None
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Instances of one machine may share the file: wait for another's write rather
            # than fail, and let readers go on while one writes (WAL).
            self._conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=10.0)
            self._conn.execute("PRAGMA journal_mode=WAL")
            with self._conn:
                self._conn.execute(
                    "CREATE TABLE IF NOT EXISTS feedback (id INTEGER PRIMARY KEY, at TEXT NOT NULL, rating INTEGER NOT NULL,"
                    " question TEXT NOT NULL, answer TEXT NOT NULL, comment TEXT NOT NULL DEFAULT '')"
                )
                self._conn.execute(
                    "CREATE TABLE IF NOT EXISTS refusals (id INTEGER PRIMARY KEY, at TEXT NOT NULL, question TEXT NOT NULL,"
                    " topic TEXT NOT NULL DEFAULT '')"
                )
                # Question vectors for grouping gaps, so each distinct question is embedded once.
                self._conn.execute("CREATE TABLE IF NOT EXISTS question_vectors (question TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        return self._conn

    def purge(self, now: datetime | None = None) -> int:
        """Delete rows older than the retention period; returns how many went (0 without a file)."""
        cutoff = ((now or datetime.now(timezone.utc)) - timedelta(days=self.retention_days)).isoformat(timespec="seconds")
        with self._lock:
            db = self._db(create=False)
            if db is None:
                return 0
            with db:
                gone = db.execute("DELETE FROM feedback WHERE at < ?", (cutoff,)).rowcount
                gone += db.execute("DELETE FROM refusals WHERE at < ?", (cutoff,)).rowcount
                if gone:  # a question no longer recorded keeps no vector either
                    db.execute("DELETE FROM question_vectors WHERE question NOT IN (SELECT question FROM refusals)"
                               " AND question NOT IN (SELECT question FROM feedback)")
                return gone

    def add(self, question: str, answer: str, rating: int, comment: str = "") -> int:
        """Store one judgement; returns its id.

        Raises:
            ValueError: ``rating`` is not +1 or -1.
        """
        _check_rating(rating)
        at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._lock, self._db() as db:
            cur = db.execute(
                "INSERT INTO feedback (at, rating, question, answer, comment) VALUES (?, ?, ?, ?, ?)",
                (at, rating, redact(question), redact(answer), redact(comment or "")[:MAX_COMMENT]),
            )
            row = int(cur.lastrowid)
        self.purge()
        return row

    def add_refusal(self, question: str, topic: str = "", at: datetime | None = None) -> int:
        """Store a question the assistant refused (redacted); returns its id. ``at`` defaults
        to now (UTC)."""
        when = (at or datetime.now(timezone.utc)).isoformat(timespec="seconds")
        with self._lock, self._db() as db:
            row = int(db.execute("INSERT INTO refusals (at, question, topic) VALUES (?, ?, ?)",
                                 (when, redact(question), topic)).lastrowid)
        self.purge()
        return row

    def unanswered(self, since: str = "", until: str = "") -> list[dict[str, Any]]:
        """Refused questions and thumbs-down answers with ``since`` <= date <= ``until`` (ISO
        dates, "" = open), oldest first: {``at``, ``question``, ``kind`` ("refused" or
        "thumbs_down"), ``topic``, ``comment``}."""
        low, high = since or "0000", (until or "9999") + "T99"
        with self._lock:
            db = self._db(create=False)
            if db is None:
                return []
            refused = db.execute("SELECT at, question, 'refused', topic, '' FROM refusals WHERE at >= ? AND at <= ?",
                                 (low, high)).fetchall()
            disliked = db.execute("SELECT at, question, 'thumbs_down', '', comment FROM feedback WHERE rating < 0"
                                  " AND at >= ? AND at <= ?", (low, high)).fetchall()
        # Redacted again on the way out: rows stored before a pattern was added get it too.
        rows = [{"at": at, "question": redact(question), "kind": kind, "topic": topic, "comment": redact(comment)}
                for at, question, kind, topic, comment in refused + disliked]
        return sorted(rows, key=lambda r: r["at"])

    def vectors(self, questions: list[str]) -> dict[str, bytes]:
        """Stored vectors (float32 bytes) of those ``questions`` that have one."""
        with self._lock:
            db = self._db(create=False)
            if db is None or not questions:
                return {}
            out = {}
            for start in range(0, len(questions), 500):
                part = questions[start : start + 500]
                marks = ",".join("?" * len(part))
                out.update(db.execute(f"SELECT question, vector FROM question_vectors WHERE question IN ({marks})", part).fetchall())
            return out

    def keep_vectors(self, vectors: dict[str, bytes]) -> None:
        """Store question vectors (float32 bytes) for later groupings."""
        if not vectors:
            return
        with self._lock, self._db() as db:
            db.executemany("INSERT OR REPLACE INTO question_vectors (question, vector) VALUES (?, ?)", list(vectors.items()))

    def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest rows, newest first."""
        with self._lock:
            db = self._db(create=False)
            if db is None:
                return []
            rows = db.execute(
                "SELECT id, at, rating, question, answer, comment FROM feedback ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [{"id": i, "at": at, "rating": rating, "question": redact(q), "answer": redact(a), "comment": redact(c)}
                for i, at, rating, q, a, c in rows]


#: Characters of an answer kept with a thumbs-down in the shared store (Chroma metadata).
MAX_ANSWER = 4000


class SharedFeedbackStore:
    """The same records as :class:`FeedbackStore`, kept in a collection of the Chroma server
    the instances share (``<collection>_feedback``), so that every instance on every machine
    records to, and every admin tab shows, one set of knowledge gaps.

    Each record is one thumbs up/down or one refusal: the redacted question as the document,
    its vector (the embedding model, as gaps are grouped by) as the embedding, and ``kind``
    ("thumbs" or "refused"), ``at`` (UTC ISO), ``ts`` (epoch seconds), ``rating`` (0 for a
    refusal), ``answer``, ``comment``, ``topic`` and ``qkey`` (a hash of the question) as
    metadata. All text is redacted before it leaves the process.

    Args:
        client: the Chroma client of the index (an ``HttpClient`` in a deployment).
        name: the collection's name.
        embed_query: question -> unit vector.
        retention_days: records older than this many days are deleted when one is added.
    """

    def __init__(self, client: Any, name: str, embed_query: Any, retention_days: int = 180):
        self.client = client
        self.name = name
        self.embed_query = embed_query
        self.retention_days = retention_days
        self._collection: Any = None
        self._cache: dict[str, bytes] = {}  # vectors embedded by the gaps of questions recorded without one
        self._lock = threading.Lock()
        self.path = f"{name} (shared collection)"

    @property
    def collection(self) -> Any:
        if self._collection is None:
            # No embedding function: every record brings its own vector, and none is fetched.
            self._collection = self.client.get_or_create_collection(
                self.name, embedding_function=None, metadata={"hnsw:space": "cosine", "minsheng": "feedback"})
        return self._collection

    def _record(self, kind: str, question: str, at: datetime, rating: int = 0, answer: str = "", comment: str = "",
                topic: str = "") -> int:
        question = redact(question)
        number = time.time_ns() // 1000
        vector = list(map(float, self.embed_query(to_simplified(without_personal(question)))))
        self.collection.add(ids=[f"{kind}-{number}"], documents=[question], embeddings=[vector], metadatas=[{
            "kind": kind, "at": at.isoformat(timespec="seconds"), "ts": int(at.timestamp()), "rating": rating,
            "answer": redact(answer)[:MAX_ANSWER], "comment": redact(comment or "")[:MAX_COMMENT], "topic": topic,
            "qkey": _key(question)}])
        self.purge()
        return number

    def add(self, question: str, answer: str, rating: int, comment: str = "") -> int:
        """As :meth:`FeedbackStore.add`."""
        _check_rating(rating)
        return self._record("thumbs", question, datetime.now(timezone.utc), rating, answer, comment)

    def add_refusal(self, question: str, topic: str = "", at: datetime | None = None) -> int:
        """Store a refused question (redacted); returns its id. ``at`` defaults to now (UTC)."""
        return self._record("refused", question, at or datetime.now(timezone.utc), topic=topic)

    def _get(self, where: dict[str, Any], include: list[str]) -> Any:
        return self.collection.get(where=where, include=include)

    def unanswered(self, since: str = "", until: str = "") -> list[dict[str, Any]]:
        """As :meth:`FeedbackStore.unanswered`."""
        low = int(datetime.fromisoformat(since).replace(tzinfo=timezone.utc).timestamp()) if since else 0
        high = int((datetime.fromisoformat(until).replace(tzinfo=timezone.utc) + timedelta(days=1)).timestamp()) - 1 if until else 2**62
        got = self._get({"$and": [{"ts": {"$gte": low}}, {"ts": {"$lte": high}}]}, ["documents", "metadatas"])
        rows = []
        for question, md in zip(got["documents"], got["metadatas"]):
            if md["kind"] == "refused" or md["rating"] < 0:
                rows.append({"at": md["at"], "question": redact(question), "kind": "refused" if md["kind"] == "refused" else "thumbs_down",
                             "topic": md.get("topic", ""), "comment": redact(md.get("comment", ""))})
        return sorted(rows, key=lambda r: r["at"])

    def vectors(self, questions: list[str]) -> dict[str, bytes]:
        """Vectors (float32 bytes) of those ``questions`` that have one: recorded questions
        bring theirs; others were kept by :meth:`keep_vectors` in this process."""
        out = {q: self._cache[q] for q in questions if q in self._cache}
        keys = {_key(q): q for q in questions if q not in out}
        wanted = list(keys)
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            got = self._get({"qkey": {"$in": part}}, ["embeddings", "metadatas"])
            for vector, md in zip(got["embeddings"], got["metadatas"]):
                out[keys[md["qkey"]]] = np.asarray(vector, dtype=np.float32).tobytes()
        return out

    def keep_vectors(self, vectors: dict[str, bytes]) -> None:
        """Keep vectors of questions that came without one, for this process."""
        with self._lock:
            self._cache.update(vectors)

    def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest thumbs up/down, newest first."""
        got = self._get({"kind": "thumbs"}, ["documents", "metadatas"])
        # Ids count microseconds: newer is larger, also within one second.
        rows = sorted(zip(got["ids"], got["documents"], got["metadatas"]), key=lambda r: -int(r[0].split("-", 1)[1]))[:limit]
        return [{"id": int(i.split("-", 1)[1]), "at": md["at"], "rating": md["rating"], "question": redact(q),
                 "answer": redact(md.get("answer", "")), "comment": redact(md.get("comment", ""))} for i, q, md in rows]

    def purge(self, now: datetime | None = None) -> int:
        """Delete records older than the retention period; returns how many went."""
        cutoff = int(((now or datetime.now(timezone.utc)) - timedelta(days=self.retention_days)).timestamp())
        old = self.collection.get(where={"ts": {"$lt": cutoff}}, include=[])["ids"]
        if old:
            self.collection.delete(ids=old)
        return len(old)


def _check_rating(rating: int) -> None:
    if rating not in (1, -1):
        raise ValueError(f"rating must be 1 or -1, got {rating!r}")


def _key(question: str) -> str:
    return hashlib.sha1(question.encode("utf-8")).hexdigest()[:16]
