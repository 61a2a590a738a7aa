"""A bounded load test on loopback: simulated users ask and search through the HTTP API while
an ingest runs in the same server process.

Starts the full app (API + page) over a temporary index of ``knowledge/``. Then, for
``--seconds``, ``--users`` threads each loop: POST /api/ask or /api/search (alternating, with
questions from the team set), think 0.5-1.5 s, and repeat. Meanwhile, documents from
``--ingest`` are ingested through the same services. Prints requests served, errors (any
non-200 status or exception), p50/p95 latency per route, and the process's peak RSS. The
reference in the same run is one user alone, before the load and the ingest start.

    .venv/bin/python -m bench.load [--users 20] [--seconds 120] [--ingest ../shared/corpus/txt]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from assistant.core import offline

offline.apply()  # before any library that could reach the network is imported
from assistant.core.settings import PROJECT_ROOT, Settings
from bench.report import Report


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--ingest", type=Path, default=PROJECT_ROOT.parent / "shared" / "corpus" / "txt")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    report = Report("load", "Load: simulated users over HTTP while an ingest runs")
    out = report.line

    from ui.services import build_services
    from ui.background import BackgroundServer
    from ui.api import create_server

    questions = [json.loads(line)["question"] for line in (PROJECT_ROOT / "eval/questions/team.jsonl").open(encoding="utf-8")]
    with tempfile.TemporaryDirectory(prefix="minsheng-load-") as tmp:
        services = build_services(Settings(data_dir=Path(tmp)))
        services.ingestor.ingest([PROJECT_ROOT / "knowledge"])
        services.warm_up()
        with BackgroundServer(create_server(services)) as url:
            # Reference: one user alone, no ingest, for a quarter of the time.
            alone = _users(url, 1, min(30.0, args.seconds / 4), questions, args.seed)
            ingest_result: dict[str, object] = {}

            def ingest() -> None:
                t0 = time.perf_counter()
                report = services.ingestor.ingest([args.ingest])
                ingest_result.update(report.totals(), seconds=round(time.perf_counter() - t0, 1))

            ingester = threading.Thread(target=ingest)
            ingester.start()
            loaded = _users(url, args.users, args.seconds, questions, args.seed)
            ingester.join()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out(f"{args.users} users for {args.seconds:.0f} s on loopback, ingest of {args.ingest} running alongside")
    out(f"ingest: {ingest_result}")
    out("| route | users | requests | p50 ms | p95 ms | max ms |")
    out("|---|---|---|---|---|---|")
    for label, (latencies, _) in (("1 (alone)", alone), (str(args.users), loaded)):
        for route, values in latencies.items():
            out(f"| {route} | {label} | {len(values)} | {_percentile(values, 50):.0f} | {_percentile(values, 95):.0f} | {max(values or [0]):.0f} |")
    errors = alone[1] + loaded[1]
    served = sum(len(v) for v in loaded[0].values()) + sum(len(v) for v in alone[0].values())
    ask_ratio = statistics.median(loaded[0]["/api/ask"] or [0]) / max(statistics.median(alone[0]["/api/ask"] or [1]), 1e-9)
    out(f"requests served: {served}, errors: {len(errors)}, peak RSS of the process: {peak_mb:.0f} MB, "
          f"median ask under load / alone: {ask_ratio:.1f}x")
    for line in errors[:10]:
        out("  " + line)
    report.save()
    return 1 if errors else 0


def _users(url: str, users: int, seconds: float, questions: list[str], seed: int) -> tuple[dict[str, list[float]], list[str]]:
    """Run ``users`` threads for ``seconds``; returns (latencies in ms per route, errors)."""
    latencies: dict[str, list[float]] = {"/api/ask": [], "/api/search": []}
    errors: list[str] = []
    stop = time.perf_counter() + seconds
    lock = threading.Lock()

    def user(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        route_no = n
        while time.perf_counter() < stop:
            route = "/api/ask" if route_no % 2 == 0 else "/api/search"
            route_no += 1
            q = rng.choice(questions)
            body = {"question": q} if route == "/api/ask" else {"query": q, "k": 10}
            req = urllib.request.Request(url + route, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
            t0 = time.perf_counter()
            try:
                with urllib.request.urlopen(req, timeout=60) as resp:
                    resp.read()
                    ok = resp.status == 200
            except Exception as exc:  # noqa: BLE001 - every failure counts as an error
                ok = False
                with lock:
                    errors.append(f"{route}: {type(exc).__name__}: {exc}")
            if ok:
                with lock:
                    latencies[route].append((time.perf_counter() - t0) * 1000)
            time.sleep(rng.uniform(0.5, 1.5))

    threads = [threading.Thread(target=user, args=(n,)) for n in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors


if __name__ == "__main__":
    raise SystemExit(main())
