"""Residents' thumbs up/down on answers, kept in SQLite for the team to review."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

#: Longest comment kept, in characters.
MAX_COMMENT = 1000


class FeedbackStore:
    """Feedback rows in the SQLite file ``path`` (created on first use; thread-safe).

    Each row: id, time (UTC ISO), rating (+1 helpful / -1 not), question, answer, comment.
    """

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS feedback (id INTEGER PRIMARY KEY, at TEXT NOT NULL, rating INTEGER NOT NULL,"
                " question TEXT NOT NULL, answer TEXT NOT NULL, comment TEXT NOT NULL DEFAULT '')"
            )

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
                (at, rating, question, answer, (comment or "")[:MAX_COMMENT]),
            )
            return int(cur.lastrowid)

    def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest rows, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, at, rating, question, answer, comment FROM feedback ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [dict(zip(("id", "at", "rating", "question", "answer", "comment"), r)) for r in rows]
