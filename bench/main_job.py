"""Time the main job: build the model folder, index knowledge/, answer questions warm.

Compares the hybrid pipeline with the naive baseline (dense-only top-k over the same
collection) in the same run, and prints medians, p95s and their ratio.

    .venv/bin/python -m bench.main_job [--repeats 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from assistant.core import offline

offline.apply()  # before any library that could reach the network is imported
from assistant.core.settings import PROJECT_ROOT, Settings

QUESTIONS = [
    "异地就医怎么结算",
    "2024年青海省实施了多少项民生实事工程",
    "失业了每个月能领多少钱",
    "广州低保标准是多少",
    "老人坐公交要钱吗",
    "生育津贴怎么申请",
    "公租房怎么申请",
    "长护险报销多少",
    "美国签证怎么办理",
    "城乡居民医保学生交多少钱",
]


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="passes over the question list")
    args = parser.parse_args()

    from assistant.core.e5_folder import build_folder
    from ui.services import build_services

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        build_folder(Path(tmp) / "e5")
        build_s = time.perf_counter() - t0

        # No vector cache: indexing is timed with real embedding work.
        settings = Settings(data_dir=Path(tmp) / "data", embedding_cache=False)
        services = build_services(settings)
        t0 = time.perf_counter()
        services.embeddings.load()
        load_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        report = services.ingestor.ingest([PROJECT_ROOT / "knowledge"])
        ingest_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = services.ingestor.ingest([PROJECT_ROOT / "knowledge"])
        reingest_s = time.perf_counter() - t0
        services.warm_up()

        hybrid, naive, answer = [], [], []
        for _ in range(args.repeats):
            for q in QUESTIONS:
                t0 = time.perf_counter()
                services.searcher.search(q, settings.top_k)
                hybrid.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                services.store.query(q, settings.top_k)  # dense top-k only, as the naive pipeline does
                naive.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                services.assistant.ask(q)
                answer.append((time.perf_counter() - t0) * 1000)

    print(f"model folder build        {build_s:8.1f} s")
    print(f"model load (first use)    {load_s:8.1f} s")
    print(f"index knowledge/          {ingest_s:8.1f} s  ({report.chunks_added} chunks, {len(report.files)} files)")
    print(f"re-index unchanged        {reingest_s:8.2f} s  ({again.chunks_added} chunks embedded)")
    print(f"{'warm, ms':26} {'median':>8} {'p95':>8}   n={len(hybrid)}")
    for name, xs in (("naive dense top-k", naive), ("hybrid retrieval", hybrid), ("full extractive answer", answer)):
        print(f"{name:26} {statistics.median(xs):8.1f} {_p(xs, 0.95):8.1f}")
    print(f"hybrid / naive (median)   {statistics.median(hybrid) / statistics.median(naive):8.2f}x")


if __name__ == "__main__":
    main()
