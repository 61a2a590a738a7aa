"""Kill ingest with SIGKILL at random points, again and again, and check that every following
normal run leaves the manifest, Chroma and the keyword index in agreement.

Each round edits one document (so there is work to do), starts ``minsheng ingest`` in a child
process on a copy of a corpus folder outside the project, kills it after a random delay
(uniform over the time such a run takes, so kills land during start-up, reading, embedding,
writing and bookkeeping alike), then runs a normal ingest and checks
:meth:`ingest.pipeline.Ingestor.problems`. Rounds go on until ``--kills`` SIGKILLs have landed
(a round whose child finished before its kill does not count). Prints one line per round and
the totals, and writes bench/results/crash.md.

    .venv/bin/python -m bench.crash [--kills 20] [--corpus ../shared/corpus/txt] [--seed 1]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from assistant.core import offline

offline.apply()  # before any library that could reach the network is imported
from assistant.core.settings import PROJECT_ROOT, Settings
from bench.report import Report


def _pending(manifest: Path) -> int:
    try:
        with sqlite3.connect(manifest) as db:
            return db.execute("SELECT count(*) FROM documents WHERE status = 'pending'").fetchone()[0]
    except sqlite3.Error:
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20, help="rounds go on until this many SIGKILLs landed")
    parser.add_argument("--max-rounds", type=int, default=60)
    parser.add_argument("--corpus", type=Path, default=PROJECT_ROOT.parent / "shared" / "corpus" / "txt")
    parser.add_argument("--files", type=int, default=8, help="files of the corpus folder used")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    results = Report("crash", "Crash safety: SIGKILL during ingest, then a normal run")
    out = results.line
    rng = random.Random(args.seed)

    from ui.services import build_services

    with tempfile.TemporaryDirectory(prefix="minsheng-crash-") as tmp:
        docs = Path(tmp) / "docs"
        docs.mkdir()
        for path in sorted(args.corpus.glob("*.txt"))[: args.files]:
            shutil.copy(path, docs / path.name)
        data = Path(tmp) / "data"
        # The vector cache is off so that each run really embeds, and kills land mid-write.
        env = dict(os.environ, MINSHENG_DATA_DIR=str(data), MINSHENG_EMBEDDING_CACHE="false")
        settings = Settings(data_dir=data, embedding_cache=False)
        model = build_services(settings).embeddings.load()

        def fresh_services():
            # A child process wrote the folder: open it anew, as a separate process would
            # (Chroma keeps one client per folder and process), with the model loaded once.
            from chromadb.api.client import SharedSystemClient

            SharedSystemClient.clear_system_cache()
            svc = build_services(settings)
            svc.embeddings._impl = model
            return svc
        command = [sys.executable, "-m", "ui.cli", "ingest", str(docs)]

        t0 = time.perf_counter()
        subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        full_run = time.perf_counter() - t0
        out(f"one full ingest in a fresh process: {full_run:.1f} s ({len(list(docs.iterdir()))} files)")
        # A round re-indexes one edited file: kills are spread over the time that takes.
        sample = sorted(docs.iterdir())[0]
        with sample.open("a", encoding="utf-8") as fh:
            fh.write("\n补充说明：用于测量一轮所需时间。\n")
        t0 = time.perf_counter()
        subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        round_run = time.perf_counter() - t0
        out(f"one round (one edited file) in a fresh process: {round_run:.1f} s")
        killed = pending_kills = recovered = failures = 0
        services = fresh_services()
        round_no = 0
        while killed < args.kills and round_no < args.max_rounds:
            round_no += 1
            target = rng.choice(sorted(docs.iterdir()))
            with target.open("a", encoding="utf-8") as fh:
                fh.write(f"\n补充说明第{round_no}条：本段用于崩溃恢复测试，第{rng.randint(1, 10**6)}号。\n")
            delay = rng.uniform(0.5, round_run)
            services = None  # the parent holds no client while the child writes
            proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.perf_counter() + delay
            while time.perf_counter() < deadline and proc.poll() is None:
                time.sleep(0.05)
            was_running = proc.poll() is None
            pending = _pending(settings.manifest_path) if was_running else 0
            if was_running:
                proc.send_signal(signal.SIGKILL)
                killed += 1
                pending_kills += bool(pending)
            proc.wait()
            services = fresh_services()
            report = services.ingestor.ingest([docs])
            recovered += len(report.recovered)
            problems = services.ingestor.problems()
            # The keyword index follows the collection: after a normal run they hold the same chunks.
            in_keyword, in_store = services.searcher.keyword.ids(), set(services.store.collection.get(include=[])["ids"])
            if in_keyword != in_store:
                problems.append(f"keyword index and collection disagree on {len(in_keyword ^ in_store)} chunks")
            failures += bool(problems) or bool(report.errors)
            state = "killed" if was_running else "finished first"
            out(
                f"round {round_no:2d}: {state:14s} after {delay:5.1f} s, pending rows at kill {pending}, "
                f"repaired {len(report.recovered)}, problems {len(problems)}"
            )
            for line in problems[:5]:
                out(f"    {line}")
        out(
            f"\n{round_no} rounds: {killed} SIGKILLs ({pending_kills} with a document half written), "
            f"{recovered} documents repaired by the next run, {failures} rounds ending in disagreement; "
            f"{services.store.count()} chunks, {len(services.ingestor.manifest.all())} manifest rows"
        )
        results.save()
        return 1 if failures or killed < args.kills else 0


if __name__ == "__main__":
    raise SystemExit(main())
