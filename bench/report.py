"""Benchmark output: printed as it comes, and kept as a Markdown report under bench/results/.

Each report starts with what makes its figures comparable: date, commit, machine (cores and
memory) and the command that produced it.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=RESULTS.parent, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=RESULTS.parent,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return out.stdout.strip() + (" (with uncommitted changes)" if dirty else "") or "unknown"
    except OSError:
        return "unknown"


def _memory_gib() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return 0.0


def median_seconds(fn, repeats: int) -> float:
    """Median wall time of ``repeats`` calls of ``fn``, in seconds."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


class Report:
    """Lines of a benchmark's output; :meth:`line` prints one and keeps it.

    Args:
        name: file name under bench/results/ without ``.md`` (e.g. ``load``).
        title: the report's heading.
    """

    def __init__(self, name: str, title: str):
        self.name, self.title = name, title
        self.lines: list[str] = []

    def line(self, text: str = "") -> None:
        print(text, flush=True)
        self.lines.append(text)

    def save(self) -> Path:
        """Write bench/results/<name>.md (replacing the last run's) and return its path."""
        RESULTS.mkdir(exist_ok=True)
        head = [
            f"# {self.title}",
            "",
            f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
            f"- commit: {_commit()}",
            f"- machine: {os.cpu_count()} cores, {_memory_gib():.0f} GiB, Python {sys.version.split()[0]}",
            f"- command: `{' '.join(['python -m bench.' + Path(sys.argv[0]).stem, *sys.argv[1:]])}`",
            "",
        ]
        # Table rows stay as they are (after a blank line); other lines end in a line break.
        body: list[str] = []
        for ln in self.lines:
            if ln.startswith("|") and body and body[-1] and not body[-1].startswith("|"):
                body.append("")
            body.append(ln if ln.startswith("|") or not ln else ln + "  ")
        path = RESULTS / f"{self.name}.md"
        path.write_text("\n".join(head + body) + "\n", encoding="utf-8")
        print(f"written: {path}")
        return path
