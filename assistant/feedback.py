"""Residents' thumbs up/down on answers, kept in SQLite for the team to review.

Personal data is redacted before anything is written (:func:`assistant.privacy.redact`), and
rows older than the retention period are deleted whenever feedback is stored.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from assistant.privacy import redact

#: Longest comment kept, in characters.
MAX_COMMENT = 1000


class FeedbackStore:
    """Feedback rows in the SQLite file ``path`` (created on first use; thread-safe).

    Each row: id, time (UTC ISO), rating (+1 helpful / -1 not), question, answer, comment,
    all text redacted.

    Args:
        path: the SQLite file.
        retention_days: rows older than this many days are deleted (0 = keep nothing old:
            each new row removes every earlier day's rows).
    """

    def __init__(self, path: Path, retention_days: int = 180):
        self.retention_days = retention_days
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS feedback (id INTEGER PRIMARY KEY, at TEXT NOT NULL, rating INTEGER NOT NULL,"
                " question TEXT NOT NULL, answer TEXT NOT NULL, comment TEXT NOT NULL DEFAULT '')"
            )
        self.purge()

    def purge(self, now: datetime | None = None) -> int:
        """Delete rows older than the retention period; returns how many went."""
        cutoff = ((now or datetime.now(timezone.utc)) - timedelta(days=self.retention_days)).isoformat(timespec="seconds")
        with self._lock, self._db:
            return self._db.execute("DELETE FROM feedback WHERE at < ?", (cutoff,)).rowcount

    def add(self, question: str, answer: str, rating: int, comment: str = "") -> int:
        """Store one judgement; returns its id.

        Raises:
            ValueError: ``rating`` is not +1 or -1.
        """
        if rating not in (1, -1):
            raise ValueError(f"rating must be 1 or -1, got {rating!r}")
        at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._lock, self._db:
            cur = self._db.execute(
                "INSERT INTO feedback (at, rating, question, answer, comment) VALUES (?, ?, ?, ?, ?)",
                (at, rating, redact(question), redact(answer), redact((comment or "")[:MAX_COMMENT])),
            )
            row = int(cur.lastrowid)
        self.purge()
        return row

    def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest rows, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, at, rating, question, answer, comment FROM feedback ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [dict(zip(("id", "at", "rating", "question", "answer", "comment"), r)) for r in rows]
