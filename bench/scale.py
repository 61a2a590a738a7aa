"""Speed at scale, side by side with the naive LangChain pipeline in the same run.

Two corpora:

- ``shared``: ../shared/corpus + ../shared/corpus-laws (about 400 documents).
- ``large``: ``shared`` plus ``--copies`` (7) synthetic copies of corpus-laws, about
  100,000 chunks; ``province``: the same with 80 copies, about 1,000,000 chunks (a
  province's normative documents across its cities and districts). A copy's title carries a tag (``（河北省汇编第3辑）``), so each copy is a
  document of its own with its own title, like the near-identical regulations of many
  regions; its text is the original's. The copies are generated once under
  ``~/.cache/minsheng/bench/`` (never inside the project).

  2 cores embed about 6 chunks of corpus-laws per second (the run measures it), so the
  84,000 copied chunks would take about four hours. A copy's vectors are derived instead: the
  vector of the same text without the tag (from the vector cache, else the model), turned
  by seeded Gaussian noise to cosine 0.97 with it, so no two copies share a vector and
  every copy lies near its original, as real near-duplicates do. Questions are embedded
  by the model as always.

For each pipeline the run measures, from an empty index: ingest throughput (chunks/s), an
unchanged re-ingest (median of ``--repeats``); then, in a fresh process over the built index:
cold start to the first answer, warm latency p50/p95 of retrieval alone and of a full
extractive answer over the team questions, and the peak RSS of that serving process.
Passage vectors go through the vector cache (``--cold`` turns it off for the first ingest);
the report says which, and gives the model's own throughput alongside.

    .venv/bin/python -m bench.scale --corpus shared [--cold] [--repeats 3]
    .venv/bin/python -m bench.scale --corpus large [--copies 7]
    .venv/bin/python -m bench.scale --corpus province [--copies 80] [--no-naive]
    .venv/bin/python -m bench.scale --corpus large --prepare   # only generate and embed once
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from assistant.core import offline

offline.apply()  # before any library that could reach the network is imported
from assistant.core.settings import PROJECT_ROOT, Settings, default_cache_dir
from assistant.core.types import Chunk
from bench.report import Report, median_seconds

SHARED = PROJECT_ROOT.parent / "shared"
QUESTIONS = PROJECT_ROOT / "eval" / "questions" / "team.jsonl"


def _provinces() -> list[str]:
    rows = (PROJECT_ROOT / "assistant" / "core" / "data" / "regions.tsv").read_text("utf-8").splitlines()
    names = [r.split("\t") for r in rows if r and not r.startswith("#")]
    return sorted({p for name, p in names if name == p})


#: A copy's title tag; what the copy's vectors are derived from is the text without it.
_COPY_TAG = re.compile(r"（[^（）]*汇编第\d+辑）")
#: Cosine between a copy's vector and its original's (see the module docstring).
COPY_COSINE = 0.97


def generate_large(dest: Path, copies: int) -> list[Path]:
    """Write ``copies`` tagged copies of every corpus-laws document under ``dest`` (skipped
    when already there); returns the copy folders."""
    sources = sorted(p for p in (SHARED / "corpus-laws").rglob("*.md") if p.name != "README.md")
    provinces = _provinces()
    folders = []
    for n in range(1, copies + 1):
        folder = dest / f"copy-{n}"
        folders.append(folder)
        done = folder / ".complete"
        if done.exists():
            continue
        folder.mkdir(parents=True, exist_ok=True)
        for i, src in enumerate(sources):
            tag = f"（{provinces[(i + n * 7) % len(provinces)]}汇编第{n}辑）"
            text = re.sub(r"^# (.+)$", lambda m: f"# {m.group(1)}{tag}", src.read_text("utf-8"), count=1, flags=re.MULTILINE)
            (folder / f"{i:04d}-{src.name}").write_text(text, encoding="utf-8")
        done.write_text("")
    return folders


class CopyVectors:
    """Passage vectors for the large corpus: real ones, except that a synthetic copy's are
    derived from its original's (module docstring). Wraps ``embed_documents``.

    Args:
        embed: the real ``embed_documents`` (texts -> unit vectors).
        cosine: cosine between a copy's vector and the one it is derived from.
    """

    def __init__(self, embed, cosine: float = COPY_COSINE):
        self._embed = embed
        # For a unit vector v and noise g, cos(v, v + g) is about 1 / sqrt(1 + |g|^2).
        self._noise_norm2 = 1 / cosine**2 - 1

    def __call__(self, texts: list[str]) -> list[list[float]]:
        import numpy as np

        plain = [_COPY_TAG.sub("", t) for t in texts]
        vectors = np.asarray(self._embed(plain), dtype=np.float64)
        for i, (text, base) in enumerate(zip(texts, plain)):
            if text != base:
                rng = np.random.default_rng(int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little"))
                noise = rng.standard_normal(vectors.shape[1]) * np.sqrt(self._noise_norm2 / vectors.shape[1])
                v = vectors[i] + noise
                vectors[i] = v / np.linalg.norm(v)
        return vectors.tolist()


#: Synthetic corpora and their default number of copies of corpus-laws (about 12,400 chunks each).
SYNTHETIC = {"large": 7, "province": 80}


def disk_mb(path: Path) -> float:
    """Size of the file ``path``, or of the files under the folder ``path``, in MB (0 when absent)."""
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20 if path.exists() else 0.0


def corpus_paths(name: str, copies: int | None) -> list[Path]:
    paths = [SHARED / "corpus", SHARED / "corpus-laws"]
    if name in SYNTHETIC:
        paths += generate_large(default_cache_dir() / "bench" / "large-v2", copies or SYNTHETIC[name])
    return paths


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM, not ru_maxrss: Linux carries ru_maxrss
    over exec, so a child started by a large parent would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_parts_mb() -> dict[str, float]:
    """This process's resident memory now, split: ``anon_mb`` (its own heap: the model,
    Python objects) and ``file_mb`` (pages of mapped files: the model file, the keyword
    index's segments; page cache the kernel can take back under pressure)."""
    parts = {"RssAnon": "anon_mb", "RssFile": "file_mb"}
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key = line.split(":")[0]
        if key in parts:
            out[parts[key]] = int(line.split()[1]) / 1024
    return out


def probe(pipeline: str, data: Path, rounds: int) -> dict[str, float]:
    """Run in a fresh process: time to first answer, then warm latencies and peak RSS."""
    t0 = time.perf_counter()
    questions = [json.loads(line)["question"] for line in QUESTIONS.open(encoding="utf-8")]
    from ui.services import build_services

    services = build_services(Settings(data_dir=data))
    if pipeline == "minsheng":
        services.assistant.ask(questions[0])
        search = lambda q: services.searcher.search(q, services.settings.top_k)  # noqa: E731
        answer = services.assistant.ask
    else:
        from eval.baseline import NaivePipeline

        s = services.settings
        naive = NaivePipeline.from_settings(s, services.embeddings, data / "naive")
        search = lambda q: naive.search(q, s.top_k)  # noqa: E731
        answer = lambda q: naive.answerer.answer(q, naive.search(q, s.top_k))  # noqa: E731
        answer(questions[0])
    cold = time.perf_counter() - t0
    retrieval, full = [], []
    for _ in range(rounds):  # rounds=0: only the cold start is wanted
        for q in questions:
            # Each timed call embeds its question: the question vectors the model keeps
            # (retrieval's, reused by the answerer) must not carry over from the other call.
            services.embeddings.forget_queries()
            t = time.perf_counter()
            search(q)
            retrieval.append((time.perf_counter() - t) * 1000)
            services.embeddings.forget_queries()
            t = time.perf_counter()
            answer(q)
            full.append((time.perf_counter() - t) * 1000)
    after_change = 0.0
    if pipeline == "minsheng" and rounds:
        # A write to one document (its metadata rewritten as is, as an edit would) makes the
        # next search bring the keyword index up to date first.
        some = services.store.collection.get(limit=1, include=["metadatas"])["metadatas"][0]["source"]
        services.store.update_metadata(services.store.chunks_of([some]))
        t = time.perf_counter()
        search(questions[1])
        after_change = (time.perf_counter() - t) * 1000
    return {
        "cold_s": cold,
        "after_change_ms": after_change,
        "retrieval_p50": _pct(retrieval, 50) if retrieval else 0.0, "retrieval_p95": _pct(retrieval, 95) if retrieval else 0.0,
        "answer_p50": _pct(full, 50) if full else 0.0, "answer_p95": _pct(full, 95) if full else 0.0,
        "rss_mb": _peak_rss_mb(),
        **_rss_parts_mb(),
        "queries": len(retrieval),
    }


def _probe_in_child(pipeline: str, data: Path, rounds: int, env: dict[str, str] | None = None) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.scale", "--probe", pipeline, "--data-dir", str(data), "--rounds", str(rounds)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=True, env=env,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=["shared", *SYNTHETIC], default="shared")
    parser.add_argument("--copies", type=int, help="synthetic copies of corpus-laws (large: 7, province: 80)")
    parser.add_argument("--repeats", type=int, default=3, help="unchanged re-ingests timed (median)")
    parser.add_argument("--rounds", type=int, default=2, help="passes over the team questions when timing queries")
    parser.add_argument("--cold", action="store_true", help="embed everything (vector cache off) in the first ingest")
    parser.add_argument("--no-naive", action="store_true")
    parser.add_argument("--keep", type=Path, help="build the index in this folder and keep it (for bench.instance)")
    parser.add_argument("--prepare", action="store_true", help="only generate the corpus and fill the vector cache")
    parser.add_argument("--probe", choices=["minsheng", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        print(json.dumps(probe(args.probe, args.data_dir, args.rounds)))
        return 0

    from ui.services import build_services
    from eval.baseline import NaivePipeline

    paths = corpus_paths(args.corpus, args.copies)
    report = Report(f"scale-{args.corpus}", f"Speed at scale: {args.corpus} corpus, minsheng against the naive pipeline")
    out = report.line
    rows: dict[str, dict[str, str]] = {"minsheng": {}, "naive": {}}
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
    folder = contextlib.nullcontext(str(args.keep)) if args.keep else tempfile.TemporaryDirectory(prefix="minsheng-scale-")
    with folder as tmp:
        data = Path(tmp)
        settings = Settings(data_dir=data, embedding_cache=not args.cold)
        services = build_services(settings)
        services.embeddings.load()
        services.embeddings.embed_query("预热")
        if args.corpus in SYNTHETIC:
            services.embeddings.embed_documents = CopyVectors(services.embeddings.embed_documents)
        first = services.ingestor.ingest(paths)
        t = first.totals()
        out(f"ingest: {first.summary()}")
        sample = services.store.collection.get(limit=32, include=["documents", "metadatas"])
        texts = [Chunk(i, d, m).context_text() for i, d, m in zip(sample["ids"], sample["documents"], sample["metadatas"])]
        started = time.perf_counter()
        services.embeddings.load().embed_documents(texts)  # the model itself, no cache
        out(f"model throughput: {len(texts) / (time.perf_counter() - started):.1f} chunks/s "
            f"({len(texts)} stored chunks embedded without the vector cache)")
        if args.prepare:
            naive = NaivePipeline.from_settings(settings, services.embeddings, data / "naive")
            out(f"naive ingest: {naive.ingest(paths).seconds:.0f} s; vectors are cached for later runs")
            return 0
        vectors = "all embedded" if args.cold else "vector cache on"
        if args.corpus in SYNTHETIC:
            vectors += "; copies' vectors derived"
        assert settings.chroma_path and settings.keyword_path
        sizes = (f"on disk: Chroma {disk_mb(settings.chroma_path):,.0f} MB, keyword index {disk_mb(settings.keyword_path):,.0f} MB "
                 f"({disk_mb(settings.keyword_path) * 2**20 / max(1, t['chunks']):,.0f} bytes a chunk), "
                 f"manifest {disk_mb(settings.manifest_path):,.1f} MB")
        out(sizes)
        rows["minsheng"]["chunks"] = f"{t['chunks']:,}"
        rows["minsheng"]["ingest"] = f"{t['seconds']:.0f} s, {t['chunks'] / t['seconds']:.0f} chunks/s ({vectors})"
        rows["minsheng"]["re-ingest"] = f"{median_seconds(lambda: services.ingestor.ingest(paths), args.repeats):.2f} s"
        if not args.no_naive:
            naive = NaivePipeline.from_settings(settings, services.embeddings, data / "naive")
            nrep = naive.ingest(paths)
            n = naive.store.count()
            rows["naive"]["chunks"] = f"{n:,}"
            rows["naive"]["ingest"] = f"{nrep.seconds:.0f} s, {n / nrep.seconds:.0f} chunks/s ({vectors})"
            rows["naive"]["re-ingest"] = f"{median_seconds(lambda: naive.ingest(paths), max(1, args.repeats // 2)):.2f} s"
        services = None  # the probes open the index in their own processes
        for name in ("minsheng", "naive") if not args.no_naive else ("minsheng",):
            p = _probe_in_child(name, data, args.rounds)
            # minsheng tokenises every chunk once, on its first start; a restart reads the terms back.
            again = _probe_in_child(name, data, 0) if name == "minsheng" else p
            rows[name].update(
                cold=f"{p['cold_s']:.1f} s, restart {again['cold_s']:.1f} s" if name == "minsheng" else f"{p['cold_s']:.1f} s",
                retrieval=f"{p['retrieval_p50']:.0f} / {p['retrieval_p95']:.0f}",
                answer=f"{p['answer_p50']:.0f} / {p['answer_p95']:.0f}",
                rss=f"{p['rss_mb']:,.0f} MB",
                raw=p,
            )
    out(f"corpus: {', '.join(str(p) for p in paths)}")
    out("")
    out("| pipeline | chunks | ingest from empty | unchanged re-ingest | cold start to first answer | retrieval p50 / p95 ms | full answer p50 / p95 ms | peak RSS serving |")
    out("|---|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        if r:
            out(f"| {name} | {r['chunks']} | {r['ingest']} | {r['re-ingest']} | {r['cold']} | {r['retrieval']} | {r['answer']} | {r['rss']} |")
    m = rows["minsheng"]["raw"]
    out("")
    out(f"first retrieval after a one-document change (keyword index brought up to date): "
        f"{m['after_change_ms']:,.0f} ms")
    if rows["naive"]:
        nv = rows["naive"]["raw"]
        out(f"retrieval p95 ratio minsheng / naive: {m['retrieval_p95'] / nv['retrieval_p95']:.2f}x; "
            f"p50 ratio {m['retrieval_p50'] / nv['retrieval_p50']:.2f}x ({m['queries']} queries each, warm)")
    report.save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
