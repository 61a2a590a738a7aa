"""What stored answer scripts (答复口径) cost each answer: full-answer latency over the team
questions with no script stored, then with a script set's scripts stored, in one process
over one index (a warm-up pass first, so neither side pays for cold caches).

The scripts are stored through the product and deleted again at the end.

    .venv/bin/python -m bench.scripts --data-dir DATA [--set eval/questions/scripts-team.jsonl] [--questions 200]
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date
from pathlib import Path

from assistant.core import offline

offline.apply()  # before any library that could reach the network is imported
from assistant.core.settings import PROJECT_ROOT, Settings
from bench.report import Report
from bench.scale import _pct

QUESTIONS = PROJECT_ROOT / "eval" / "questions" / "team.jsonl"


def _answer_ms(services, questions: list[str]) -> list[float]:
    out = []
    for q in questions:
        services.embeddings.forget_queries()  # each answer embeds its question, as a new one would
        t = time.perf_counter()
        services.assistant.ask(q)
        out.append((time.perf_counter() - t) * 1000)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="an index of ../shared/corpus and corpus-laws")
    parser.add_argument("--set", type=Path, default=PROJECT_ROOT / "eval" / "questions" / "scripts-team.jsonl")
    parser.add_argument("--questions", type=int, default=200, help="team questions timed")
    args = parser.parse_args(argv)
    from eval.scripts import ScriptItem, store_scripts
    from ui.services import build_services

    services = build_services(Settings(data_dir=args.data_dir))
    services.warm_up()
    questions = [json.loads(line)["question"] for line in QUESTIONS.open(encoding="utf-8")][: args.questions]
    _answer_ms(services, questions)  # warm-up pass
    without = _answer_ms(services, questions)
    stored: dict[str, str] = {}
    try:
        stored, _ = store_scripts(services, ScriptItem.load(args.set), date.today(), approver="bench")
        services.assistant.ask(questions[0])  # reads the scripts in
        with_scripts = _answer_ms(services, questions)
    finally:
        for script_id in stored.values():
            services.scripts.delete(script_id)
    report = Report("scripts", "Answer latency with answer scripts stored")
    out = report.line
    out(f"index: {args.data_dir} ({services.store.count():,} chunks); {len(questions)} team questions, one pass each after a warm-up pass")
    out("")
    out("| scripts stored | full answer p50 / p95 ms |")
    out("|---|---|")
    out(f"| none | {_pct(without, 50):.0f} / {_pct(without, 95):.0f} |")
    out(f"| {len(stored)} ({args.set.name}) | {_pct(with_scripts, 50):.0f} / {_pct(with_scripts, 95):.0f} |")
    out("")
    out(f"ratio of medians: {_pct(with_scripts, 50) / _pct(without, 50):.2f}")
    report.save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
