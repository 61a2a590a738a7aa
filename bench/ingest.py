"""Time ingest on the shared corpus, side by side with the naive pipeline.

Prints: seconds, chunks and chunks/s for the whole corpus from an empty index (vector cache
off, so every chunk is embedded); pages/s for the text PDFs (minsheng's loader with
clean-up, against bare pypdf text extraction); seconds per page for OCR; and seconds for an
unchanged re-ingest (median of ``--repeats``), against the naive pipeline, which has no
manifest and reads, splits and looks up every file again.

    .venv/bin/python -m bench.ingest [--corpus ../shared/corpus] [--repeats 5] [--no-naive]
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path

from assistant.core import offline

offline.apply()  # before any library that could reach the network is imported
from assistant.core.settings import PROJECT_ROOT, Settings
from bench.report import median_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=PROJECT_ROOT.parent / "shared" / "corpus")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-naive", action="store_true", help="Skip the naive pipeline's runs.")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        raise SystemExit(f"corpus folder not found: {args.corpus}")

    from pypdf import PdfReader

    from ui.services import build_services
    from eval.baseline import NaivePipeline
    from ingest.loaders import load_file
    from ingest.pdf import needs_ocr

    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="minsheng-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", embedding_cache=False)
        services = build_services(settings)
        services.embeddings.load()
        services.embeddings.embed_query("预热")

        report = services.ingestor.ingest([args.corpus])
        t = report.totals()
        rows.append(("full ingest, empty index", f"{t['seconds']:.1f} s", f"{t['chunks']} chunks, {t['chunks'] / t['seconds']:.1f} chunks/s",
                     f"{t['files']} files, {t['pages']} pages, {t['ocr_pages']} OCR pages, {t['error']} errors, {t['skipped']} skipped"))

        naive = None
        if not args.no_naive:
            naive = NaivePipeline.from_settings(settings, services.embeddings, Path(tmp) / "naive")
            nrep = naive.ingest([args.corpus])
            n_chunks = naive.store.count()
            rows.append(("  naive: full ingest", f"{nrep.seconds:.1f} s", f"{n_chunks} chunks, {n_chunks / nrep.seconds:.1f} chunks/s",
                         "RecursiveCharacterTextSplitter defaults (4000 chars), no OCR"))

        reingest = median_seconds(lambda: services.ingestor.ingest([args.corpus]), args.repeats)
        rows.append(("unchanged re-ingest", f"{reingest:.2f} s", "median", f"of {args.repeats} runs; target < 5 s"))
        if naive is not None:
            naive_re = median_seconds(lambda: naive.ingest([args.corpus]), max(1, args.repeats // 2))
            rows.append(("  naive: unchanged re-ingest", f"{naive_re:.2f} s", f"ratio {naive_re / reingest:.0f}x", "reads and splits every file again"))

        text_pdfs = []
        for pdf in sorted(args.corpus.rglob("*.pdf")):
            try:
                reader = PdfReader(pdf)
                if reader.is_encrypted or not any(not needs_ocr(p.extract_text() or "") for p in reader.pages):
                    continue
            except Exception:  # noqa: BLE001 - bad inputs are not text PDFs
                continue
            text_pdfs.append((pdf, len(reader.pages)))
        pages = sum(n for _, n in text_pdfs)
        ours = median_seconds(lambda: [load_file(p) for p, _ in text_pdfs], args.repeats)
        bare = median_seconds(
            lambda: [[pg.extract_text() for pg in PdfReader(io.BytesIO(p.read_bytes())).pages] for p, _ in text_pdfs], args.repeats
        )
        rows.append(("text PDFs: load + clean-up", f"{pages / ours:.1f} pages/s", f"{ours:.2f} s median",
                     f"{len(text_pdfs)} PDFs, {pages} pages"))
        rows.append(("  bare pypdf extract_text", f"{pages / bare:.1f} pages/s", f"ratio {ours / bare:.2f}x", "no clean-up"))

        scans = [p for p in sorted(args.corpus.rglob("*.pdf")) if "scan" in p.name]
        ocr_pages = 0
        t0 = time.perf_counter()
        for scan in scans:
            try:
                ocr_pages += services.ingestor.loader.load(scan).ocr_pages
            except Exception:  # noqa: BLE001 - a blank scan has no text: still timed
                ocr_pages += 1
        ocr_s = time.perf_counter() - t0
        if ocr_pages:
            rows.append(("OCR (render + RapidOCR)", f"{ocr_s / ocr_pages:.1f} s/page", f"{ocr_pages} pages",
                         ", ".join(p.name for p in scans)))

    width = max(len(r[0]) for r in rows)
    print(f"ingest benchmark: {args.corpus}")
    for name, a, b, c in rows:
        print(f"{name:<{width}}  {a:>14}  {b:<28}  {c}")


if __name__ == "__main__":
    main()
